//! The core's output: effects for the server to carry out.
//!
//! The core never writes to a socket, never blocks and never reads a clock. Whatever it
//! decides becomes an effect on an [`Effects`] runner: send an event to a client, close
//! a client, or run a [`Request`] away from the loop (on the disk or a hashing thread),
//! whose [`Completion`] comes back through [`Hub::complete`](super::Hub::complete) with
//! the time, like every other input.

use std::sync::Arc;

use super::event::Event;
use super::records::{StoredMessage, StoredPost, Write};
use super::reply::Reply;
use crate::password::{Credential, Password};

/// Names one connection for as long as it lives: a slot the server reuses, and a
/// generation that tells this connection from earlier and later holders of the slot.
/// A late completion or timer for a departed client carries an id that no longer
/// matches, and is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(
    /// The generation in the high half, the slot in the low half: one word, so that
    /// the comparisons a fan-out makes per recipient are one instruction each.
    u64,
);

impl ClientId {
    /// The id of the connection in `slot`, in its `generation`.
    pub fn new(slot: usize, generation: u32) -> ClientId {
        let slot = u32::try_from(slot).expect("fewer than 2^32 connections");
        ClientId(u64::from(generation) << 32 | u64::from(slot))
    }

    /// The slot, dense from 0: an index into per-connection tables.
    pub fn slot(self) -> usize {
        (self.0 & u64::from(u32::MAX)) as usize
    }

    /// The generation of the slot's holder.
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Ids order by slot, then generation, so that deadlines due at the same moment fire in
/// slot order.
impl Ord for ClientId {
    fn cmp(&self, other: &ClientId) -> std::cmp::Ordering {
        // Rotating brings the slot to the high half: one comparison, as for equality.
        self.0.rotate_left(32).cmp(&other.0.rotate_left(32))
    }
}

impl PartialOrd for ClientId {
    fn partial_cmp(&self, other: &ClientId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Work the core asks for outside the loop. The client's later input waits until the
/// work's [`Completion`] has been handed back, so a client's commands take effect in
/// the order it sent them.
#[derive(Debug)]
pub enum Request {
    /// Commit `Write`; the reply to the client waits for the commit.
    Store(Write),
    /// Read the last `count` messages of `room` (the store keeps them, not the core).
    History {
        /// The room, as the client will be told it.
        room: String,
        /// How many messages at most.
        count: usize,
    },
    /// Read post `id` of `room` with its body (boards keep headers only).
    Post {
        /// The room, as the client will be told it.
        room: String,
        /// The post.
        id: u64,
    },
    /// Password work for a hashing worker.
    Hash(HashJob),
    /// Read the private messages waiting for `account`, oldest first.
    Offline {
        /// The account.
        account: Arc<str>,
    },
    /// A round trip that does nothing (tests of the work path).
    #[cfg(test)]
    Echo(u64),
}

/// Password work: check a password, then (if the check passed, or there was none) hash
/// one. With `upgrade`, a password that checks but is held with older parameters or in
/// clear is hashed again with today's.
#[derive(Debug)]
pub struct HashJob {
    /// Rehash a checked password held with older parameters or in clear (accounts
    /// the server can update; not those of a users file).
    pub upgrade: bool,
    /// The password to check, against what (`None`: an unknown account, which still
    /// costs a full check so that it cannot be told from a wrong password).
    pub check: Option<(Option<Credential>, Password)>,
    /// A new password to hash.
    pub hash: Option<Password>,
}

/// What a [`HashJob`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// The check passed (true when there was none).
    pub verified: bool,
    /// The hash of the new password, or of the checked one if it needed upgrading.
    pub hash: Option<Box<str>>,
}

impl Request {
    /// The completion of this request when it could not be carried out at all.
    pub fn failed(self) -> Completion {
        match self {
            Request::Store(write) => Completion::StoreFailed(write),
            Request::History { .. } => Completion::HistoryFailed,
            Request::Post { .. } => Completion::PostFailed,
            Request::Hash(_) => Completion::HashRefused,
            Request::Offline { .. } => Completion::OfflineFailed,
            #[cfg(test)]
            Request::Echo(token) => Completion::Echo(token),
        }
    }
}

/// The result of a [`Request`], or of a [`Effects::persist`] that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The write is committed.
    Stored(Write),
    /// The write failed; nothing of it was stored.
    StoreFailed(Write),
    /// The messages asked for, oldest first.
    History {
        /// The room.
        room: String,
        /// The messages.
        messages: Vec<StoredMessage>,
    },
    /// The history could not be read.
    HistoryFailed,
    /// The post asked for, or `None` if the store no longer keeps it.
    Post {
        /// The room.
        room: String,
        /// The post, body included.
        post: Option<StoredPost>,
    },
    /// The post could not be read.
    PostFailed,
    /// A [`HashJob`] is done.
    Hashed(Hashed),
    /// The hashing workers' queue was full: the job was not run.
    HashRefused,
    /// The messages waiting for `account`, oldest first, each with its number.
    Offline {
        /// The account.
        account: Arc<str>,
        /// The messages and their numbers.
        messages: Vec<(u64, StoredMessage)>,
    },
    /// The waiting messages could not be read; they stay stored.
    OfflineFailed,
    /// The answer to [`Request::Echo`].
    #[cfg(test)]
    Echo(u64),
}

/// Carries out the core's effects.
pub trait Effects {
    /// Sends `event` to `to`.
    fn send(&mut self, to: ClientId, event: &Event<'_>);

    /// Sends one `event` to each of `to`: a fan-out, encoded once per protocol in use.
    fn send_each(&mut self, to: impl IntoIterator<Item = ClientId>, event: &Event<'_>) {
        for client in to {
            self.send(client, event);
        }
    }

    /// Sends `reply`, the answer to `to`'s own command, handed out as `to` reads it:
    /// lines for `to` from elsewhere follow the whole reply, and no further input of
    /// `to` may be handed to the core until the reply is out. (This default sends it
    /// at once, for runners that have no reader to wait for.)
    fn reply(&mut self, to: ClientId, mut reply: Reply) {
        while let Some(event) = reply.next_event() {
            self.send(to, &event);
        }
    }

    /// Sends `event`, a one-line answer to `to`'s own command that can be long (`USERS`,
    /// `ROOMS`, help): like a [`Reply`], it waits for the output already queued for `to`
    /// rather than push it over the limit, and costs flood control by its size.
    fn reply_line(&mut self, to: ClientId, event: &Event<'_>) {
        self.send(to, event);
    }

    /// The core is done with `client` and has forgotten it: send what is queued for it,
    /// then close the connection.
    fn close(&mut self, client: ClientId);

    /// Runs `request` for `client` away from the loop. Until its completion has been
    /// handed back, no further input of `client` may be handed to the core.
    fn request(&mut self, client: ClientId, request: Request);

    /// Stores `write` without anyone waiting for it (room history, removed rooms).
    fn persist(&mut self, write: Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_slot_and_generation_and_order_by_slot_first() {
        let id = ClientId::new(7, 42);
        assert_eq!((id.slot(), id.generation()), (7, 42));
        assert_ne!(
            id,
            ClientId::new(7, 43),
            "a new holder of the slot is another client"
        );
        // Deadlines due at once fire in id order: slot order, whatever the generations.
        assert!(ClientId::new(1, 11) < ClientId::new(2, 10));
        assert!(ClientId::new(2, 10) < ClientId::new(2, 11));
    }
}
