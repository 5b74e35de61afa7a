//! Server lines: the only place that formats wire text.
//!
//! Every line is encoded once into a shared, immutable [`Line`]; fanning it out to many
//! recipients clones a reference, never the bytes.

use std::fmt;
use std::io::Write as _;
use std::ops::Deref;
use std::rc::Rc;

/// One encoded server line, `\n` included, shared among its recipients.
#[derive(Clone, PartialEq, Eq)]
pub struct Line(Rc<[u8]>);

impl Line {
    /// The line's bytes, `\n` included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A line from raw bytes that are already wire text.
    pub fn from_bytes(bytes: &[u8]) -> Line {
        Line(Rc::from(bytes))
    }
}

impl Deref for Line {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// Error codes of `ERR` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A `/word` that is no command.
    UnknownCommand,
    /// Missing, extra or empty arguments, or broken quoting.
    BadArgs,
    /// The command needs a name first.
    NotNamed,
    /// `/name` after naming.
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
    /// `/create` of a room that exists.
    RoomExists,
    /// The command needs membership of the room (or a current room).
    NotInRoom,
    /// `/join` of a room already joined.
    AlreadyInRoom,
    /// No visible post with that id.
    NoSuchPost,
    /// A rooms limit would be exceeded.
    LimitReached,
    /// The line was longer than `--max-line`.
    LineTooLong,
    /// The line was not UTF-8 or held control characters.
    BadText,
    /// Only `/quit`, `/ping` and `/pong` work while waiting in the queue.
    Queued,
}

impl ErrorCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownCommand => "unknown-command",
            ErrorCode::BadArgs => "bad-args",
            ErrorCode::NotNamed => "not-named",
            ErrorCode::AlreadyNamed => "already-named",
            ErrorCode::BadName => "bad-name",
            ErrorCode::NameTaken => "name-taken",
            ErrorCode::NoSuchUser => "no-such-user",
            ErrorCode::BadRoomName => "bad-room-name",
            ErrorCode::NoSuchRoom => "no-such-room",
            ErrorCode::RoomExists => "room-exists",
            ErrorCode::NotInRoom => "not-in-room",
            ErrorCode::AlreadyInRoom => "already-in-room",
            ErrorCode::NoSuchPost => "no-such-post",
            ErrorCode::LimitReached => "limit-reached",
            ErrorCode::LineTooLong => "line-too-long",
            ErrorCode::BadText => "bad-text",
            ErrorCode::Queued => "queued",
        }
    }

    /// A short explanation for people.
    pub fn text(self) -> &'static str {
        match self {
            ErrorCode::UnknownCommand => "no such command; try /help",
            ErrorCode::BadArgs => "wrong arguments; try /help <command>",
            ErrorCode::NotNamed => "choose a name first with /name <name>",
            ErrorCode::AlreadyNamed => "you already have a name",
            ErrorCode::BadName => "names are 1 to 32 of A-Z a-z 0-9 _ -",
            ErrorCode::NameTaken => "that name is in use",
            ErrorCode::NoSuchUser => "no user by that name",
            ErrorCode::BadRoomName => "room names are 1 to 32 of A-Z a-z 0-9 _ -",
            ErrorCode::NoSuchRoom => "no room by that name",
            ErrorCode::RoomExists => "that room exists already",
            ErrorCode::NotInRoom => "you are not in that room",
            ErrorCode::AlreadyInRoom => "you are in that room already",
            ErrorCode::NoSuchPost => "no such post",
            ErrorCode::LimitReached => "too many rooms",
            ErrorCode::LineTooLong => "line too long",
            ErrorCode::BadText => "lines must be UTF-8 text without control characters",
            ErrorCode::Queued => "you are waiting in the queue",
        }
    }
}

/// Why someone left a room, as carried by `LEAVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// `/leave`.
    Left,
    /// `/quit`.
    Quit,
    /// The connection dropped.
    Disconnected,
    /// No answer to `PING`.
    Timeout,
    /// Too much unread output.
    Sendq,
}

impl LeaveReason {
    /// The reason as written on the wire.
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

/// Why the server closes a connection, as carried by `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByeReason {
    /// The client asked with `/quit`.
    Quit,
    /// No name in time, or no answer to `PING`.
    Timeout,
    /// Too much unread output.
    Sendq,
    /// Neither a slot nor a place in the queue.
    ServerFull,
    /// The server is stopping.
    Shutdown,
}

impl ByeReason {
    /// The reason as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ByeReason::Quit => "quit",
            ByeReason::Timeout => "timeout",
            ByeReason::Sendq => "sendq",
            ByeReason::ServerFull => "server-full",
            ByeReason::Shutdown => "shutdown",
        }
    }

    fn text(self) -> &'static str {
        match self {
            ByeReason::Quit => "goodbye",
            ByeReason::Timeout => "timed out",
            ByeReason::Sendq => "too much unread output",
            ByeReason::ServerFull => "the server and its queue are full; try again later",
            ByeReason::Shutdown => "the server is shutting down",
        }
    }
}

/// Builds server lines in a reusable scratch buffer, then freezes each into a [`Line`].
#[derive(Debug, Default)]
pub struct Encoder {
    scratch: Vec<u8>,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    fn start(&mut self, kind: &str) -> &mut Self {
        self.scratch.clear();
        self.scratch.extend_from_slice(kind.as_bytes());
        self
    }

    fn field(&mut self, field: &str) -> &mut Self {
        self.scratch.push(b' ');
        self.scratch.extend_from_slice(field.as_bytes());
        self
    }

    fn number(&mut self, n: u64) -> &mut Self {
        // Writing to a Vec cannot fail.
        let _ = write!(self.scratch, " {n}");
        self
    }

    /// Free text ends a line; empty text leaves no trailing space.
    fn text(&mut self, text: &str) -> &mut Self {
        if !text.is_empty() {
            self.field(text);
        }
        self
    }

    fn finish(&mut self) -> Line {
        self.scratch.push(b'\n');
        Line(Rc::from(&self.scratch[..]))
    }

    /// `HELLO parley 1 <text>`
    pub fn hello(&mut self) -> Line {
        self.start("HELLO parley 1")
            .text("welcome to parley; choose a name with /name <name>")
            .finish()
    }

    /// `QUEUED <position> <text>`
    pub fn queued(&mut self, position: usize) -> Line {
        let text = format!(
            "We are dealing with a large number of users and you are number {position} in the queue"
        );
        self.start("QUEUED")
            .number(position as u64)
            .text(&text)
            .finish()
    }

    /// `WELCOME <name> <text>`
    pub fn welcome(&mut self, name: &str) -> Line {
        self.start("WELCOME")
            .field(name)
            .text("you are in lobby; /help lists the commands")
            .finish()
    }

    /// `MSG <room> <from> <text>`
    pub fn msg(&mut self, room: &str, from: &str, text: &str) -> Line {
        self.start("MSG")
            .field(room)
            .field(from)
            .text(text)
            .finish()
    }

    /// `PRIV <from> <text>`
    pub fn private(&mut self, from: &str, text: &str) -> Line {
        self.start("PRIV").field(from).text(text).finish()
    }

    /// `BCAST <from> <text>`
    pub fn broadcast(&mut self, from: &str, text: &str) -> Line {
        self.start("BCAST").field(from).text(text).finish()
    }

    /// `JOIN <room> <name>`
    pub fn join(&mut self, room: &str, name: &str) -> Line {
        self.start("JOIN").field(room).field(name).finish()
    }

    /// `LEAVE <room> <name> <reason> [text]`; the text goes with `quit` only.
    pub fn leave(&mut self, room: &str, name: &str, reason: LeaveReason, text: &str) -> Line {
        self.start("LEAVE")
            .field(room)
            .field(name)
            .field(reason.as_str());
        if reason == LeaveReason::Quit {
            self.text(text);
        }
        self.finish()
    }

    /// `USERS <room> <count> <name>*`
    pub fn users<'n>(
        &mut self,
        room: &str,
        count: usize,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Line {
        self.start("USERS").field(room).number(count as u64);
        for name in names {
            self.field(name);
        }
        self.finish()
    }

    /// `ROOMS <count> <room>:<members>*`
    pub fn rooms<'n>(
        &mut self,
        count: usize,
        rooms: impl IntoIterator<Item = (&'n str, usize)>,
    ) -> Line {
        self.start("ROOMS").number(count as u64);
        for (name, members) in rooms {
            let _ = write!(self.scratch, " {name}:{members}");
        }
        self.finish()
    }

    /// `POSTED <room> <id>`
    pub fn posted(&mut self, room: &str, id: u64) -> Line {
        self.start("POSTED").field(room).number(id).finish()
    }

    /// `POST <room> <id> <author> <unix-seconds> <subject>`
    pub fn post(&mut self, room: &str, id: u64, author: &str, unix: u64, subject: &str) -> Line {
        self.start("POST")
            .field(room)
            .number(id)
            .field(author)
            .number(unix)
            .text(subject)
            .finish()
    }

    /// `LIST <room> <count>`
    pub fn list(&mut self, room: &str, count: usize) -> Line {
        self.start("LIST").field(room).number(count as u64).finish()
    }

    /// `BODY <room> <id> <text>`
    pub fn body(&mut self, room: &str, id: u64, text: &str) -> Line {
        self.start("BODY")
            .field(room)
            .number(id)
            .text(text)
            .finish()
    }

    /// `PING <token>`
    pub fn ping(&mut self, token: u64) -> Line {
        self.start("PING").number(token).finish()
    }

    /// `PONG <token>`
    pub fn pong(&mut self, token: &str) -> Line {
        self.start("PONG").field(token).finish()
    }

    /// `INFO <text>`
    pub fn info(&mut self, text: &str) -> Line {
        self.start("INFO").text(text).finish()
    }

    /// `ERR <code> <text>`
    pub fn error(&mut self, code: ErrorCode) -> Line {
        self.start("ERR")
            .field(code.as_str())
            .text(code.text())
            .finish()
    }

    /// `BYE <reason> <text>`
    pub fn bye(&mut self, reason: ByeReason) -> Line {
        self.start("BYE")
            .field(reason.as_str())
            .text(reason.text())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: Line) -> String {
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn free_text_is_last_and_empty_text_leaves_no_space() {
        let mut enc = Encoder::new();
        assert_eq!(
            text(enc.msg("lobby", "al", "a  b ")),
            "MSG lobby al a  b \n"
        );
        assert_eq!(
            text(enc.leave("rust", "bob", LeaveReason::Quit, "")),
            "LEAVE rust bob quit\n"
        );
        assert_eq!(
            text(enc.leave("rust", "bob", LeaveReason::Quit, "bye now")),
            "LEAVE rust bob quit bye now\n"
        );
        assert_eq!(
            text(enc.leave("rust", "bob", LeaveReason::Left, "ignored")),
            "LEAVE rust bob left\n"
        );
        assert_eq!(
            text(enc.post("r", 3, "al", 1700000000, "")),
            "POST r 3 al 1700000000\n"
        );
    }

    #[test]
    fn lists_and_codes() {
        let mut enc = Encoder::new();
        assert_eq!(text(enc.users("*", 3, ["a", "b"])), "USERS * 3 a b\n");
        assert_eq!(text(enc.users("x", 0, [])), "USERS x 0\n");
        assert_eq!(
            text(enc.rooms(2, [("lobby", 3), ("Rust", 0)])),
            "ROOMS 2 lobby:3 Rust:0\n"
        );
        assert!(text(enc.error(ErrorCode::NoSuchPost)).starts_with("ERR no-such-post "));
        assert!(text(enc.bye(ByeReason::ServerFull)).starts_with("BYE server-full "));
        assert!(text(enc.queued(3)).contains("you are number 3 in the queue"));
    }
}
