//! What the core knows of each connection: where it is in its life, and for a named
//! user, its name and rooms.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::effects::ClientId;
use super::rooms::RoomId;

/// Whether a connection's bytes are encrypted on their way: the core's only knowledge
/// of transports, for the password commands' `tls-required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Anyone on the path can read them, and the same protocol is served over TLS too.
    Clear,
    /// Anyone on the path can read them, and this protocol has no TLS door: passwords
    /// must come this way or not at all, so `tls-required` does not apply.
    ClearOnly,
    /// They travel inside a TLS session.
    Encrypted,
}

/// One connection the core knows.
#[derive(Debug)]
pub(super) struct Session {
    /// The connection's id, generation included.
    pub id: ClientId,
    /// Sequential connection number, for logs.
    pub serial: u64,
    /// Where the connection comes from: failed logins count by address.
    pub address: IpAddr,
    /// Whether its bytes are encrypted on their way.
    pub link: Link,
    pub phase: Phase,
    /// When the last unit of input arrived (or the connection opened).
    pub last_input: Instant,
    /// The client is sent its own messages too ([`Input::Echo`](super::Input::Echo)).
    pub echo: bool,
    /// A `PING` went out that no input has answered yet.
    pub ping_outstanding: bool,
    /// Timer entries in the heap that refer to this session.
    pub timers: u8,
}

/// Where a connection is in its life.
#[derive(Debug)]
pub(super) enum Phase {
    /// In the queue, waiting for a slot.
    Waiting(Waiting),
    /// Admitted, not named yet.
    Greeted,
    /// A named user.
    Named(User),
}

/// A place in the waiting queue.
#[derive(Debug)]
pub(super) struct Waiting {
    pub ticket: u64,
    /// The position last sent in `QUEUED`, and when.
    pub shown: usize,
    pub shown_at: Instant,
}

/// A named user.
#[derive(Debug)]
pub(super) struct User {
    /// Shared with each command's [`Me`], so a handler can name its caller without
    /// holding a borrow of the session table.
    pub name: Arc<str>,
    /// Rooms in the order they were joined: the last one is the current room.
    pub joined: Vec<Membership>,
    /// Logged in to the account of its name (otherwise a guest).
    pub account: bool,
    /// Logged in, and the messages that waited for the account are being read: private
    /// messages to it are stored behind them meanwhile.
    pub catching_up: bool,
}

/// A user's place in one room.
#[derive(Debug, Clone, Copy)]
pub(super) struct Membership {
    pub room: RoomId,
    /// Index of this user in the room's member array.
    pub slot: usize,
    /// The oldest post id this member may see.
    pub first_visible: u64,
}

/// The caller of a command that only named users may use: handed to those handlers so
/// that they need not look up (and could not fail to find) the user.
#[derive(Debug, Clone)]
pub(super) struct Me {
    pub id: ClientId,
    pub name: Arc<str>,
}

/// Every session, by slot.
#[derive(Debug, Default)]
pub(super) struct Sessions(Vec<Option<Session>>);

impl Sessions {
    /// The session of `id`, if it is still the holder of its slot.
    pub fn get(&self, id: ClientId) -> Option<&Session> {
        self.0
            .get(id.slot())?
            .as_ref()
            .filter(|session| session.id == id)
    }

    /// The session of `id`, if it is still the holder of its slot.
    pub fn get_mut(&mut self, id: ClientId) -> Option<&mut Session> {
        self.0
            .get_mut(id.slot())?
            .as_mut()
            .filter(|session| session.id == id)
    }

    /// Stores a new session in its slot, which must be free.
    pub fn insert(&mut self, session: Session) {
        let index = session.id.slot();
        if self.0.len() <= index {
            self.0.resize_with(index + 1, || None);
        }
        debug_assert!(self.0[index].is_none(), "slot reused while live");
        self.0[index] = Some(session);
    }

    /// Takes the session of `id` out.
    pub fn remove(&mut self, id: ClientId) -> Option<Session> {
        self.get(id)?;
        self.0[id.slot()].take()
    }

    /// The user `id`, if named.
    pub fn user(&self, id: ClientId) -> Option<&User> {
        match &self.get(id)?.phase {
            Phase::Named(user) => Some(user),
            _ => None,
        }
    }

    /// The user `id`, if named.
    pub fn user_mut(&mut self, id: ClientId) -> Option<&mut User> {
        match &mut self.get_mut(id)?.phase {
            Phase::Named(user) => Some(user),
            _ => None,
        }
    }

    /// The name of `id`, if named.
    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.user(id).map(|user| &*user.name)
    }

    /// The rooms `id` is in, in the order joined (none unless named).
    pub fn joined(&self, id: ClientId) -> &[Membership] {
        self.user(id).map_or(&[], |user| &user.joined)
    }
}
