//! Replies that are handed out as their requester reads them.
//!
//! A `/list` of a full board or a `/history` of long messages can be megabytes. The
//! core does not send such a reply line by line at once: it hands the server a
//! [`Reply`], a snapshot of what to say, and the server draws its events one at a time
//! while the client's output queue is short. Nothing is encoded ahead of the reader, so
//! a client that reads is never dropped for the size of a reply, and a client that
//! does not read holds only the snapshot. The snapshot shares the board's posts (a
//! reference each) and owns the messages the store read for `/history`.

use std::sync::Arc;

use super::board::Post;
use super::event::{Event, PostHeader};
use super::records::StoredMessage;

/// A reply to one command of one client: its events, drawn in order.
#[derive(Debug)]
pub struct Reply {
    what: Snapshot,
    /// Events drawn so far, the heading line included.
    drawn: usize,
}

#[derive(Debug)]
enum Snapshot {
    /// `LIST` and a `POST` line per post.
    Listing {
        room: Box<str>,
        posts: Vec<Arc<Post>>,
    },
    /// `HISTORY` and an `OLD` line per message.
    History {
        room: Box<str>,
        messages: Vec<StoredMessage>,
    },
}

impl Reply {
    /// A listing of `posts` in `room`.
    pub fn listing<'a>(room: &str, posts: impl Iterator<Item = &'a Arc<Post>>) -> Reply {
        Reply::new(Snapshot::Listing {
            room: room.into(),
            posts: posts.cloned().collect(),
        })
    }

    /// `room`'s old `messages`, oldest first.
    pub fn history(room: &str, messages: Vec<StoredMessage>) -> Reply {
        Reply::new(Snapshot::History {
            room: room.into(),
            messages,
        })
    }

    fn new(what: Snapshot) -> Reply {
        Reply { what, drawn: 0 }
    }

    /// Events not drawn yet.
    pub fn remaining(&self) -> usize {
        let items = match &self.what {
            Snapshot::Listing { posts, .. } => posts.len(),
            Snapshot::History { messages, .. } => messages.len(),
        };
        items + 1 - self.drawn
    }

    /// The next event of the reply, or `None` when it is complete.
    pub fn next_event(&mut self) -> Option<Event<'_>> {
        if self.remaining() == 0 {
            return None;
        }
        let at = self.drawn;
        self.drawn += 1;
        let event = match &self.what {
            Snapshot::Listing { room, posts } => match at.checked_sub(1) {
                None => Event::List {
                    room,
                    count: posts.len(),
                },
                Some(i) => {
                    let post = &posts[i];
                    Event::Post(PostHeader {
                        room,
                        id: post.id,
                        author: &post.author,
                        unix_secs: post.unix_secs,
                        subject: &post.subject,
                    })
                }
            },
            Snapshot::History { room, messages } => match at.checked_sub(1) {
                None => Event::History {
                    room,
                    count: messages.len(),
                },
                Some(i) => {
                    let message = &messages[i];
                    Event::Old {
                        unix_secs: message.unix_secs,
                        room,
                        from: &message.from,
                        text: &message.text,
                    }
                }
            },
        };
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: u64) -> Arc<Post> {
        Arc::new(Post {
            id,
            author: "al".into(),
            unix_secs: 7,
            subject: format!("s{id}").into(),
        })
    }

    #[test]
    fn a_listing_draws_its_heading_then_each_post_once() {
        let posts = [post(4), post(5)];
        let mut reply = Reply::listing("rust", posts.iter());
        assert_eq!(reply.remaining(), 3);
        assert_eq!(
            reply.next_event(),
            Some(Event::List {
                room: "rust",
                count: 2
            })
        );
        let ids: Vec<u64> = std::iter::from_fn(|| match reply.next_event()? {
            Event::Post(header) => Some(header.id),
            other => panic!("not a post: {other:?}"),
        })
        .collect();
        assert_eq!(ids, [4, 5]);
        assert_eq!(reply.remaining(), 0);
        assert_eq!(reply.next_event(), None);
        assert_eq!(
            Arc::strong_count(&posts[0]),
            2,
            "the listing shares the posts"
        );
    }

    #[test]
    fn an_empty_history_is_its_heading_alone() {
        let mut reply = Reply::history("rust", Vec::new());
        assert_eq!(
            reply.next_event(),
            Some(Event::History {
                room: "rust",
                count: 0
            })
        );
        assert_eq!(reply.next_event(), None);
    }
}
