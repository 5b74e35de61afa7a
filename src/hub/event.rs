//! What the core tells clients, as typed values: the core's output.
//!
//! A codec turns each event into its protocol's bytes. Events borrow from the core's
//! state, so producing one allocates nothing; the server encodes a fan-out's event once
//! per codec in use and shares the bytes among the recipients.

use super::command::Verb;

/// One thing a client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Admitted: choose a name.
    Hello,
    /// Waiting in the queue at `position` (1 is next).
    Queued {
        /// The place in the queue.
        position: usize,
    },
    /// Named: the client is `name`.
    Welcome {
        /// The name taken.
        name: &'a str,
        /// Named users online, the new one included (IRC's LUSERS tells it).
        users: usize,
    },
    /// A message to a room.
    Msg {
        /// The room.
        room: &'a str,
        /// The sender.
        from: &'a str,
        /// The message.
        text: &'a str,
        /// Sent as a notice, which no program should answer (IRC's `NOTICE`).
        notice: bool,
    },
    /// A private message.
    Private {
        /// The sender.
        from: &'a str,
        /// The recipient, as the core spells its name (the sender itself gets one with
        /// echo on: see [`Input::Echo`](super::Input::Echo)).
        to: &'a str,
        /// The message.
        text: &'a str,
        /// Sent as a notice, which no program should answer (IRC's `NOTICE`).
        notice: bool,
    },
    /// A message to everyone.
    Broadcast {
        /// The sender.
        from: &'a str,
        /// The message.
        text: &'a str,
    },
    /// `name` joined `room`.
    Join {
        /// The room.
        room: &'a str,
        /// Who joined.
        name: &'a str,
    },
    /// `name` left `room`.
    Leave {
        /// The room.
        room: &'a str,
        /// Who left.
        name: &'a str,
        /// Why.
        reason: LeaveReason,
        /// The quit message (only with [`LeaveReason::Quit`]).
        text: &'a str,
    },
    /// Users of a room (`*` for everyone): `count` in all, the first of them listed.
    Users {
        /// The room, or `*`.
        room: &'a str,
        /// How many there are in all.
        count: usize,
        /// The listed names, in list order.
        names: &'a [&'a str],
    },
    /// The rooms: `count` in all, the first of them listed with their member counts.
    Rooms {
        /// How many rooms there are.
        count: usize,
        /// Listed rooms with their member counts, in list order.
        rooms: &'a [(&'a str, usize)],
    },
    /// The client's post was stored as `id`.
    Posted {
        /// The room.
        room: &'a str,
        /// The new post's id.
        id: u64,
    },
    /// A post's header: a new post, or one line of a listing.
    Post(PostHeader<'a>),
    /// A listing of `count` posts follows.
    List {
        /// The room.
        room: &'a str,
        /// How many posts follow.
        count: usize,
    },
    /// A post's body.
    Body {
        /// The room.
        room: &'a str,
        /// The post id.
        id: u64,
        /// The body.
        text: &'a str,
    },
    /// `count` old messages of `room` follow.
    History {
        /// The room.
        room: &'a str,
        /// How many follow.
        count: usize,
    },
    /// A room message from before, with its time.
    Old {
        /// When, in seconds since the Unix epoch.
        unix_secs: u64,
        /// The room.
        room: &'a str,
        /// The sender.
        from: &'a str,
        /// The message.
        text: &'a str,
    },
    /// A private message stored while its recipient was offline, with its time.
    OldPrivate {
        /// When, in seconds since the Unix epoch.
        unix_secs: u64,
        /// The sender.
        from: &'a str,
        /// The message.
        text: &'a str,
    },
    /// The client's account `name` was created, or its password changed.
    Registered {
        /// The account.
        name: &'a str,
    },
    /// The client's account `name` was deleted.
    Unregistered {
        /// The account.
        name: &'a str,
    },
    /// The client's private message was stored for `user`, who is offline.
    Offline {
        /// The recipient, as its account spells it.
        user: &'a str,
    },
    /// A user is now called `new`.
    Nick {
        /// The name until now.
        old: &'a str,
        /// The new name.
        new: &'a str,
    },
    /// The server checks that the client is alive.
    Ping {
        /// The token to answer with.
        token: u64,
    },
    /// The answer to the client's ping.
    Pong {
        /// The client's token.
        token: &'a str,
    },
    /// Help on every command, or on one.
    Help(Option<Verb>),
    /// A command was refused.
    Error(Error),
    /// The server closes the connection.
    Bye(ByeReason),
}

/// A post as a listing or a notice shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostHeader<'a> {
    /// The room.
    pub room: &'a str,
    /// The post id.
    pub id: u64,
    /// Who posted it.
    pub author: &'a str,
    /// When, in seconds since the Unix epoch.
    pub unix_secs: u64,
    /// The subject.
    pub subject: &'a str,
}

/// A refusal: its code, and what helps a person put it right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// The error.
    pub code: ErrorCode,
    /// Detail for the error's text.
    pub detail: Detail,
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Error {
        Error {
            code,
            detail: Detail::None,
        }
    }
}

/// What an error's text can add to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Nothing.
    None,
    /// The usage of the command that was refused.
    Usage(Verb),
    /// A limit in bytes that was exceeded.
    Limit(usize),
    /// The longest subject a post may have, in bytes.
    Subject(usize),
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A command word that is no command.
    UnknownCommand,
    /// Missing, extra or empty arguments, or broken quoting.
    BadArgs,
    /// The command needs a name first.
    NotNamed,
    /// Naming after naming.
    AlreadyNamed,
    /// Not a valid user name.
    BadName,
    /// The name belongs to someone else.
    NameTaken,
    /// No user by that name.
    NoSuchUser,
    /// Not a valid room name.
    BadRoomName,
    /// No room by that name.
    NoSuchRoom,
    /// Creating a room that exists.
    RoomExists,
    /// The command needs membership of the room (or a current room).
    NotInRoom,
    /// Joining a room already joined.
    AlreadyInRoom,
    /// No visible post with that id.
    NoSuchPost,
    /// A rooms limit would be exceeded.
    LimitReached,
    /// The line was longer than the line limit.
    LineTooLong,
    /// The line was not UTF-8 or held control characters.
    BadText,
    /// Only quitting and pings work while waiting in the queue.
    Queued,
    /// The change could not be stored (disk full, I/O error); nothing changed.
    StoreFailed,
    /// Only accounts may take a name here (`--require-login`).
    LoginRequired,
    /// The name is a registered account: log in to use it.
    NameRegistered,
    /// An unknown account or a wrong password: one code for both.
    BadLogin,
    /// Too many failed password checks from this address, or too many checks waiting.
    Throttled,
    /// Passwords may not travel in clear from this address.
    TlsRequired,
    /// Accounts cannot be created, changed or deleted on this server.
    RegistrationClosed,
    /// The caller is logged in to an account already.
    AlreadyRegistered,
    /// The caller is not logged in to an account.
    NotRegistered,
    /// The password is too short, or is the name.
    WeakPassword,
}

/// Why someone left a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// Left the room.
    Left,
    /// Left the server.
    Quit,
    /// The connection dropped.
    Disconnected,
    /// No answer to a ping.
    Timeout,
    /// Too much unread output.
    Sendq,
}

impl LeaveReason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Quit => "quit",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::Timeout => "timeout",
            LeaveReason::Sendq => "sendq",
        }
    }
}

/// Why the server closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByeReason {
    /// The client asked to quit.
    Quit,
    /// No name in time, or no answer to a ping.
    Timeout,
    /// Too much unread output.
    Sendq,
    /// Neither a slot nor a place in the queue.
    ServerFull,
    /// The client's address holds as many connections as it may.
    AddressLimit,
    /// The server is stopping.
    Shutdown,
}
