//! What the core stores and gets back: records of posts, room messages and rooms, and
//! the writes it asks the store for. Plain data, so that any store (SQLite today, a
//! shared one later) can keep them without the core knowing which. Names are shared
//! (`Arc<str>`): a room message's record costs the loop one allocation, its text.

use std::sync::Arc;

/// A stored post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPost {
    /// Its id in its room.
    pub id: u64,
    /// Who posted it.
    pub author: String,
    /// When, in seconds since the Unix epoch.
    pub unix_secs: u64,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
}

/// A stored room message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// When, in seconds since the Unix epoch.
    pub unix_secs: u64,
    /// Who said it.
    pub from: Arc<str>,
    /// What was said.
    pub text: String,
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    /// The name as its creator spelled it.
    pub name: String,
    /// The id the room's next post gets.
    pub next_post_id: u64,
    /// Its last posts, oldest first, without their bodies (empty here): a board keeps
    /// headers only, and `/read` asks the store for the body.
    pub posts: Vec<StoredPost>,
}

/// An account as stored: its name as first spelled, and its password's PHC hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    /// The name.
    pub name: String,
    /// The Argon2id hash of its password, as a PHC string.
    pub phc: String,
    /// Private messages waiting for it.
    pub waiting: usize,
}

/// One change to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A new post in `room`; the room keeps its last `retain` posts.
    Post {
        /// The room's name.
        room: Arc<str>,
        /// The post.
        post: StoredPost,
        /// Posts the room keeps.
        retain: usize,
    },
    /// A message in `room`; the room keeps its last `keep` messages.
    Message {
        /// The room's name.
        room: Arc<str>,
        /// The message.
        message: StoredMessage,
        /// Messages the room keeps.
        keep: usize,
    },
    /// `room` was removed (no members and no posts left): its history goes too.
    RoomRemoved {
        /// The room's name.
        room: Arc<str>,
    },
    /// The account `name` was created, or its password changed.
    Account {
        /// The account.
        name: Arc<str>,
        /// Its password's hash, as a PHC string.
        phc: Box<str>,
    },
    /// The account `name` was deleted, with the messages waiting for it.
    AccountRemoved {
        /// The account.
        name: Arc<str>,
    },
    /// A private message for the offline account `to`, until it logs in.
    Offline {
        /// The recipient.
        to: Arc<str>,
        /// The message.
        message: StoredMessage,
    },
    /// The messages waiting for `to`, up to and including number `through`, were
    /// handed to its connection.
    OfflineDelivered {
        /// The recipient.
        to: Arc<str>,
        /// The last message delivered.
        through: u64,
    },
}
