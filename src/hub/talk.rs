//! Messages: to a room, to one user, and to everyone.

use std::sync::Arc;
use std::time::Instant;

use super::rooms::RoomId;
use super::session::Me;
use super::{Effects, Event, Handled, Hub, StoredMessage, Write};

impl Hub {
    /// A message to a room `me` is in, for every other member, and for the room's
    /// history. Delivery does not wait for the history to be stored.
    pub(super) fn say(
        &self,
        me: &Me,
        room: RoomId,
        text: &str,
        notice: bool,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let room = &self.rooms[room];
        let event = Event::Msg {
            room: &room.name,
            from: &me.name,
            text,
            notice,
        };
        let echo = self.echoes(me);
        let others = room.members.iter().copied().filter(|&c| echo || c != me.id);
        out.send_each(others, &event);
        if self.limits.history > 0 {
            out.persist(Write::Message {
                room: Arc::clone(&room.name),
                message: self.record(me, text, now),
                keep: self.limits.history,
            });
        }
    }

    /// What `me` said at `now`, as the store keeps it.
    pub(super) fn record(&self, me: &Me, text: &str, now: Instant) -> StoredMessage {
        StoredMessage {
            unix_secs: self.unix_secs(now),
            from: Arc::clone(&me.name),
            text: text.to_owned(),
        }
    }

    /// `/msg`: a private message; for an offline account, stored until it logs in.
    pub(super) fn private(
        &mut self,
        me: &Me,
        to: &str,
        text: &str,
        notice: bool,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        let online = self
            .find_user(to)
            .ok()
            .filter(|&c| !self.sessions.user(c).is_some_and(|u| u.catching_up));
        let Some(to) = online else {
            return self.store_private(me, to, text, now, out);
        };
        let Some(to_name) = self.sessions.name_of(to) else {
            return Ok(());
        };
        let event = Event::Private {
            from: &me.name,
            to: to_name,
            text,
            notice,
        };
        out.send(to, &event);
        if self.echoes(me) && to != me.id {
            out.send(me.id, &event);
        }
        Ok(())
    }

    /// `/broadcast`: a message to every other named user.
    pub(super) fn broadcast(&self, me: &Me, text: &str, out: &mut impl Effects) {
        let event = Event::Broadcast {
            from: &me.name,
            text,
        };
        let echo = self.echoes(me);
        let others = self.names.values().copied().filter(|&c| echo || c != me.id);
        out.send_each(others, &event);
    }

    /// Whether `me` is sent its own messages too.
    fn echoes(&self, me: &Me) -> bool {
        self.sessions.get(me.id).is_some_and(|session| session.echo)
    }
}
