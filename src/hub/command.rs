//! What a client asks for, as typed values: the core's input.
//!
//! A codec turns its protocol's lines into these; the core never sees wire text. The
//! arguments arrive already checked in form (a codec knows its own quoting), or with
//! the reason they were refused, so the core can apply the protocol's order of errors
//! (`queued`, `not-named`, `already-named` before `bad-args`).

use std::borrow::Cow;

/// Which command a client asked for, before its arguments are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Choose a name.
    Name,
    /// List the users of a room, or everyone.
    Users,
    /// A private message.
    Msg,
    /// A message to every user.
    Broadcast,
    /// List the rooms.
    Rooms,
    /// Create a room and join it.
    Create,
    /// Join a room.
    Join,
    /// Leave a room.
    Leave,
    /// A message to a room.
    Say,
    /// A post on a room's board.
    Post,
    /// List a board's posts.
    List,
    /// Read a post.
    Read,
    /// A room's last messages.
    History,
    /// Help on the commands.
    Help,
    /// Ask the server for a `PONG`.
    Ping,
    /// Answer the server's `PING`.
    Pong,
    /// Leave the server.
    Quit,
    /// Log in to an account.
    Login,
    /// Create an account.
    Register,
    /// Change an account's password.
    Passwd,
    /// Delete an account.
    Unregister,
    /// Change a guest's name.
    Nick,
}

impl Verb {
    /// Every command, in the order help lists them.
    pub const ALL: [Verb; 22] = [
        Verb::Name,
        Verb::Login,
        Verb::Register,
        Verb::Passwd,
        Verb::Unregister,
        Verb::Nick,
        Verb::Users,
        Verb::Msg,
        Verb::Broadcast,
        Verb::Rooms,
        Verb::Create,
        Verb::Join,
        Verb::Leave,
        Verb::Say,
        Verb::Post,
        Verb::List,
        Verb::Read,
        Verb::History,
        Verb::Help,
        Verb::Ping,
        Verb::Pong,
        Verb::Quit,
    ];

    /// Commands whose line carries a password, whether or not it parsed: the loop wipes
    /// the bytes such a line arrived in.
    pub fn carries_password(self) -> bool {
        matches!(
            self,
            Verb::Login | Verb::Register | Verb::Passwd | Verb::Unregister
        )
    }

    /// Commands that a client may use before it has a name.
    pub fn allowed_unnamed(self) -> bool {
        matches!(
            self,
            Verb::Name
                | Verb::Login
                | Verb::Register
                | Verb::Help
                | Verb::Ping
                | Verb::Pong
                | Verb::Quit
        )
    }

    /// Commands that a client waiting in the queue may use.
    pub fn allowed_waiting(self) -> bool {
        matches!(self, Verb::Ping | Verb::Pong | Verb::Quit)
    }
}

/// The longest password, in bytes: a longer one is `bad-args`, so that nobody can make
/// a hashing worker read megabytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A password as typed: it prints as `***`, so that no `{:?}` of a command can put
/// one in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<'a>(pub Cow<'a, str>);

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A password a codec had to copy (IRC's `PASS` and SASL) is wiped when the command is
/// done with; one borrowed from the input is wiped with the input's bytes by the loop.
impl Drop for Secret<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(password) = &mut self.0 {
            zeroize::Zeroize::zeroize(password);
        }
    }
}

impl std::ops::Deref for Secret<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Whose names `/users` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsersOf<'a> {
    /// The current room.
    Current,
    /// Every named user.
    Everyone,
    /// The named room.
    Room(Cow<'a, str>),
    /// The named room's members in no particular order (IRC's `NAMES` and `WHO` have
    /// none): with more than `--list-limit` members, any of them, which costs no
    /// sorting of a big room at every join.
    Members(Cow<'a, str>),
    /// Whether the user of this name is online: a list of that user alone, or of
    /// nobody (IRC's `WHOIS` and `WHO <nick>`).
    One(Cow<'a, str>),
}

/// What help was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpTopic {
    /// Every command.
    All,
    /// One command.
    Verb(Verb),
    /// A topic that names no command.
    Unknown,
}

/// A command with arguments checked in form. Whether named users, rooms and posts exist
/// is for the core to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// Choose a name.
    Name(Cow<'a, str>),
    /// List users.
    Users(UsersOf<'a>),
    /// A private message.
    Msg {
        /// The recipient's name.
        to: Cow<'a, str>,
        /// The message, as typed.
        text: &'a str,
        /// A notice, which no program should answer (IRC's `NOTICE`).
        notice: bool,
    },
    /// A message to every user.
    Broadcast(&'a str),
    /// List the rooms.
    Rooms,
    /// Create a room.
    Create(Cow<'a, str>),
    /// Join a room.
    Join(Cow<'a, str>),
    /// Join a room, creating it first when there is none by that name (IRC's `JOIN`).
    Enter(Cow<'a, str>),
    /// Leave a room; `None` is the current room.
    Leave(Option<Cow<'a, str>>),
    /// A message to a room.
    Say {
        /// The room.
        room: Cow<'a, str>,
        /// The message, as typed.
        text: &'a str,
        /// A notice, which no program should answer (IRC's `NOTICE`).
        notice: bool,
    },
    /// A post.
    Post {
        /// The room.
        room: Cow<'a, str>,
        /// The subject.
        subject: Cow<'a, str>,
        /// The body, as typed.
        body: &'a str,
    },
    /// List a board; `None` is the current room.
    List(Option<Cow<'a, str>>),
    /// Read a post; the id is checked by the board (a non-number is `no-such-post`).
    Read {
        /// The room.
        room: Cow<'a, str>,
        /// The post id as typed.
        id: Cow<'a, str>,
    },
    /// A room's last messages; `None`: the current room, and the default count.
    History {
        /// The room.
        room: Option<Cow<'a, str>>,
        /// How many, as typed (checked by the core against `--history`).
        count: Option<Cow<'a, str>>,
    },
    /// Help.
    Help(HelpTopic),
    /// Ask for a `PONG` with this token.
    Ping(Option<Cow<'a, str>>),
    /// An answer to `PING`.
    Pong,
    /// Leave the server, with a message for the rooms.
    Quit(Option<&'a str>),
    /// Log in to the account `name`.
    Login {
        /// The account.
        name: Cow<'a, str>,
        /// Its password.
        password: Secret<'a>,
    },
    /// Create an account: the caller's own name when named (`name` is `None`), or
    /// `name` before naming. Which form fits is for the core to say; the name is not
    /// checked here, because the wrong form is `bad-args`, which comes first.
    Register {
        /// The name to register, in the form used before naming.
        name: Option<Cow<'a, str>>,
        /// The password.
        password: Secret<'a>,
    },
    /// Change the caller's account's password.
    Passwd {
        /// The password now.
        old: Secret<'a>,
        /// The password to be.
        new: Secret<'a>,
    },
    /// Delete the caller's account.
    Unregister {
        /// Its password.
        password: Secret<'a>,
    },
    /// Rename a guest.
    Nick(Cow<'a, str>),
}

/// Why a command's arguments were refused, in the protocol's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgError {
    /// Missing, extra or empty arguments, or broken quoting.
    BadArgs,
    /// An argument that cannot be a user name.
    BadName,
    /// An argument that cannot be a room name.
    BadRoomName,
}

/// One unit of client input, as a codec hands it to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Nothing to do (an empty line); it still shows the client is alive.
    Blank,
    /// A line longer than the limit of `limit` bytes.
    TooLong {
        /// The limit, for the error's text.
        limit: usize,
    },
    /// A line that is not valid text.
    BadText,
    /// A command word that names no command.
    Unknown,
    /// Plain text: a message to the current room, or the name of an unnamed client.
    Text(&'a str),
    /// A command, with its arguments checked or the reason they were refused.
    Command(Verb, Result<Command<'a>, ArgError>),
    /// Whether the client is sent its own messages too, as their other recipients see
    /// them (IRC's `echo-message`). Any phase; no answer.
    Echo(bool),
}
