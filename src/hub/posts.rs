//! Bulletin boards: posting, listing what a member may see, and reading a post.

use std::sync::Arc;
use std::time::Instant;

use super::board::Post;
use super::names::is_valid_name;
use super::session::Me;
use super::{
    ClientId, Detail, Effects, Error, ErrorCode, Event, Handled, Hub, PostHeader, Reply, Request,
    StoredPost, Verb, Write,
};

/// Messages `/history` shows when no count is given (fewer if `--history` is lower).
pub const DEFAULT_HISTORY: usize = 50;

impl Hub {
    /// `/post`: asks the store to keep a post under the room's next id. The author
    /// hears `POSTED`, and the room's other members see the post, once it is committed
    /// ([`Hub::posted`]).
    pub(super) fn post(
        &mut self,
        me: &Me,
        room: &str,
        subject: &str,
        body: &str,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        let room = self.member_room(me.id, room)?;
        if subject.len() > self.limits.max_subject {
            return Err(Error {
                code: ErrorCode::BadArgs,
                detail: Detail::Subject(self.limits.max_subject),
            });
        }
        if let Some(owner) = self.owner(me.id) {
            if !self.post_rate.try_post(&owner, self.limits.post_rate, now) {
                return Err(ErrorCode::Throttled.into());
            }
        }
        let unix_secs = self.unix_secs(now);
        let retain = self.limits.board_retain;
        let room = &mut self.rooms[room];
        let post = StoredPost {
            id: room.board.reserve_id(),
            author: me.name.to_string(),
            unix_secs,
            subject: subject.to_owned(),
            body: body.to_owned(),
        };
        let write = Write::Post {
            room: Arc::clone(&room.name),
            post,
            retain,
        };
        out.request(me.id, Request::Store(write));
        Ok(())
    }

    /// A post is committed: it goes on its room's board (a room that went meanwhile
    /// comes back, as a room with posts does), its author (if still here) hears
    /// `POSTED`, and the room's other members see its header.
    pub(super) fn posted(
        &mut self,
        author: Option<ClientId>,
        room: &str,
        post: StoredPost,
        out: &mut impl Effects,
    ) {
        let room = match self.rooms.find(room) {
            Some(room) => room,
            None => self.rooms.create(room),
        };
        let retain = self.limits.board_retain;
        let room = &mut self.rooms[room];
        let (id, unix_secs) = (post.id, post.unix_secs);
        room.board.insert(from_stored(post), retain);
        if let Some(author) = author {
            out.send(
                author,
                &Event::Posted {
                    room: &room.name,
                    id,
                },
            );
        }
        let Some(stored) = room.board.get(id, 0) else {
            return;
        };
        let notice = Event::Post(PostHeader {
            room: &room.name,
            id,
            author: &stored.author,
            unix_secs,
            subject: &stored.subject,
        });
        let others = room.members.iter().copied().filter(|&c| Some(c) != author);
        out.send_each(others, &notice);
    }

    /// `/history`: the last messages of a room, read from the store. `count` is
    /// checked first (a bad count is `bad-args`, before any room check, the room's
    /// name included: the codec leaves that to this when a count is given).
    pub(super) fn history(
        &self,
        me: &Me,
        room: Option<&str>,
        count: Option<&str>,
        out: &mut impl Effects,
    ) -> Handled {
        let limit = self.limits.history;
        let usage = Error {
            code: ErrorCode::BadArgs,
            detail: Detail::Usage(Verb::History),
        };
        let count = match count {
            None => DEFAULT_HISTORY.min(limit),
            Some(text) => {
                let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                let count = digits.then(|| text.parse::<usize>().ok()).flatten();
                count.filter(|n| (1..=limit).contains(n)).ok_or(usage)?
            }
        };
        if room.is_some_and(|name| !is_valid_name(name)) {
            return Err(ErrorCode::BadRoomName.into());
        }
        let room = self.named_or_current(me.id, room)?;
        let name = &self.rooms[room].name;
        if count == 0 {
            out.reply(me.id, Reply::history(name, Vec::new()));
            return Ok(());
        }
        let request = Request::History {
            room: name.to_string(),
            count,
        };
        out.request(me.id, request);
        Ok(())
    }

    /// `/list`: the posts of a board that `me` may see.
    pub(super) fn list_posts(
        &self,
        me: &Me,
        room: Option<&str>,
        out: &mut impl Effects,
    ) -> Handled {
        let room = self.named_or_current(me.id, room)?;
        let first_visible = self.first_visible(me, room)?;
        let room = &self.rooms[room];
        let posts = room.board.visible_from(first_visible);
        out.reply(me.id, Reply::listing(&room.name, posts));
        Ok(())
    }

    /// `/read`: one post, header and body.
    pub(super) fn read_post(
        &self,
        me: &Me,
        room: &str,
        id: &str,
        out: &mut impl Effects,
    ) -> Handled {
        let room = self.member_room(me.id, room)?;
        let first_visible = self.first_visible(me, room)?;
        let room = &self.rooms[room];
        // Digits only: `+1` is not a post number.
        let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
        let post = digits
            .then(|| id.parse::<u64>().ok())
            .flatten()
            .and_then(|id| room.board.get(id, first_visible))
            .ok_or(ErrorCode::NoSuchPost)?;
        let request = Request::Post {
            room: room.name.to_string(),
            id: post.id,
        };
        out.request(me.id, request);
        Ok(())
    }

    /// The store read a post for `/read`: its header and body, or `no-such-post` if it
    /// left the board meanwhile.
    pub(super) fn read_reply(
        &self,
        client: ClientId,
        room: &str,
        post: Option<StoredPost>,
        out: &mut impl Effects,
    ) {
        let Some(post) = post else {
            out.send(client, &Event::Error(ErrorCode::NoSuchPost.into()));
            return;
        };
        let header = PostHeader {
            room,
            id: post.id,
            author: &post.author,
            unix_secs: post.unix_secs,
            subject: &post.subject,
        };
        out.send(client, &Event::Post(header));
        let body = Event::Body {
            room,
            id: post.id,
            text: &post.body,
        };
        out.send(client, &body);
    }

    fn first_visible(&self, me: &Me, room: super::rooms::RoomId) -> Result<u64, ErrorCode> {
        self.membership(me.id, room)
            .map(|m| m.first_visible)
            .ok_or(ErrorCode::NotInRoom)
    }
}

/// A stored post as the board holds it: its header.
pub(super) fn from_stored(post: StoredPost) -> Post {
    Post {
        id: post.id,
        author: post.author.into(),
        unix_secs: post.unix_secs,
        subject: post.subject.into(),
    }
}
