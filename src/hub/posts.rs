//! Bulletin boards: posting, listing what a member may see, and reading a post.

use std::time::Instant;

use super::board::Post;
use super::session::Me;
use super::{Effects, ErrorCode, Event, Hub, PostHeader, Reply};

impl Hub {
    /// `/post`: stores a post, confirms it to its author and shows its header to the
    /// room's other members.
    pub(super) fn post(
        &mut self,
        me: &Me,
        room: &str,
        subject: &str,
        body: &str,
        now: Instant,
        out: &mut impl Effects,
    ) -> Reply {
        let room = self.member_room(me.id, room)?;
        let unix_secs = self.unix_secs(now);
        let retain = self.limits.board_retain;
        let room = &mut self.rooms[room];
        let id = room.board.add(&me.name, unix_secs, subject, body, retain);
        out.send(
            me.id,
            &Event::Posted {
                room: &room.name,
                id,
            },
        );
        let notice = Event::Post(PostHeader {
            room: &room.name,
            id,
            author: &me.name,
            unix_secs,
            subject,
        });
        let others = room.members.iter().copied().filter(|&c| c != me.id);
        out.send_each(others, &notice);
        Ok(())
    }

    /// `/list`: the posts of a board that `me` may see.
    pub(super) fn list_posts(&self, me: &Me, room: Option<&str>, out: &mut impl Effects) -> Reply {
        let room = self.named_or_current(me.id, room)?;
        let first_visible = self.first_visible(me, room)?;
        let room = &self.rooms[room];
        let posts = room.board.visible_from(first_visible);
        let count = posts.len();
        out.send(
            me.id,
            &Event::List {
                room: &room.name,
                count,
            },
        );
        for post in posts {
            out.send(me.id, &Event::Post(header(&room.name, post)));
        }
        Ok(())
    }

    /// `/read`: one post, header and body.
    pub(super) fn read_post(&self, me: &Me, room: &str, id: &str, out: &mut impl Effects) -> Reply {
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
        out.send(me.id, &Event::Post(header(&room.name, post)));
        out.send(
            me.id,
            &Event::Body {
                room: &room.name,
                id: post.id,
                text: &post.body,
            },
        );
        Ok(())
    }

    fn first_visible(&self, me: &Me, room: super::rooms::RoomId) -> Result<u64, ErrorCode> {
        self.membership(me.id, room)
            .map(|m| m.first_visible)
            .ok_or(ErrorCode::NotInRoom)
    }
}

fn header<'a>(room: &'a str, post: &'a Post) -> PostHeader<'a> {
    PostHeader {
        room,
        id: post.id,
        author: &post.author,
        unix_secs: post.unix_secs,
        subject: &post.subject,
    }
}
