//! Events to parley lines: the only place that formats parley's wire text.
//!
//! Every event is encoded once into a shared, immutable [`Line`]; fanning it out to
//! many recipients clones a reference, never the bytes.

use std::io::Write as _;

use super::help;
use crate::codec::Line;
use crate::hub::{ByeReason, Detail, Error, ErrorCode, Event, LeaveReason, PostHeader, Verb};

/// The word of an error code on the wire.
pub fn error_word(code: ErrorCode) -> &'static str {
    match code {
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
        ErrorCode::StoreFailed => "store-failed",
        ErrorCode::LoginRequired => "login-required",
        ErrorCode::NameRegistered => "name-registered",
        ErrorCode::BadLogin => "bad-login",
        ErrorCode::Throttled => "throttled",
        ErrorCode::TlsRequired => "tls-required",
        ErrorCode::RegistrationClosed => "registration-closed",
        ErrorCode::AlreadyRegistered => "already-registered",
        ErrorCode::NotRegistered => "not-registered",
        ErrorCode::WeakPassword => "weak-password",
    }
}

/// A short explanation of an error code for people.
pub fn error_text(code: ErrorCode) -> &'static str {
    match code {
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
        ErrorCode::LimitReached => "a limit is reached: rooms, or messages waiting for that user",
        ErrorCode::LineTooLong => "line too long",
        ErrorCode::BadText => "lines must be UTF-8 text without control characters",
        ErrorCode::Queued => "you are waiting in the queue",
        ErrorCode::StoreFailed => "the server could not store that; nothing changed",
        ErrorCode::LoginRequired => {
            "this server is for accounts only; log in with /login <name> <password>"
        }
        ErrorCode::NameRegistered => {
            "that name is a registered account; log in with /login <name> <password>"
        }
        ErrorCode::BadLogin => "unknown name or wrong password",
        ErrorCode::Throttled => "too many attempts; wait a minute and try again",
        ErrorCode::TlsRequired => "passwords are accepted only over TLS here",
        ErrorCode::RegistrationClosed => "accounts cannot be created or changed on this server",
        ErrorCode::AlreadyRegistered => "you are logged in to an account",
        ErrorCode::NotRegistered => "you are not logged in to an account",
        ErrorCode::WeakPassword => "passwords need at least 8 characters and must not be your name",
    }
}

/// The word of a leave reason on the wire.
pub fn leave_word(reason: LeaveReason) -> &'static str {
    reason.as_str()
}

/// The word of a goodbye reason on the wire.
pub fn bye_word(reason: ByeReason) -> &'static str {
    match reason {
        ByeReason::Quit => "quit",
        ByeReason::Timeout => "timeout",
        ByeReason::Sendq => "sendq",
        ByeReason::ServerFull => "server-full",
        ByeReason::AddressLimit => "address-limit",
        ByeReason::Shutdown => "shutdown",
    }
}

fn bye_text(reason: ByeReason) -> &'static str {
    match reason {
        ByeReason::Quit => "goodbye",
        ByeReason::Timeout => "timed out",
        ByeReason::Sendq => "too much unread output",
        ByeReason::ServerFull => "the server and its queue are full; try again later",
        ByeReason::AddressLimit => "too many connections from your address",
        ByeReason::Shutdown => "the server is shutting down",
    }
}

/// The free text of `HELLO`: how to take a name, and how to stay connected by hand.
pub const HELLO_TEXT: &str =
    "welcome to parley; choose a name with /name <name>; answer PING <t> with /pong <t>";

/// Builds parley lines in a reusable scratch buffer, then freezes each into a [`Line`].
#[derive(Debug, Default)]
pub struct Encoder {
    scratch: Vec<u8>,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// The line (or lines, for help) that tell a client `event`.
    pub fn encode(&mut self, event: &Event<'_>) -> Line {
        self.scratch.clear();
        self.write(event);
        Line::from_bytes(&self.scratch)
    }

    fn write(&mut self, event: &Event<'_>) {
        match *event {
            Event::Hello => self.start("HELLO parley 1").text(HELLO_TEXT).end(),
            Event::Queued { position } => {
                let text = format!(
                    "We are dealing with a large number of users and you are number {position} in the queue"
                );
                self.start("QUEUED")
                    .number(position as u64)
                    .text(&text)
                    .end()
            }
            Event::Welcome { name, .. } => self
                .start("WELCOME")
                .field(name)
                .text("you are in lobby; /help lists the commands")
                .end(),
            Event::Msg {
                room, from, text, ..
            } => self.start("MSG").field(room).field(from).text(text).end(),
            Event::Private { from, text, .. } => self.start("PRIV").field(from).text(text).end(),
            Event::Broadcast { from, text } => self.start("BCAST").field(from).text(text).end(),
            Event::Join { room, name } => self.start("JOIN").field(room).field(name).end(),
            Event::Leave {
                room,
                name,
                reason,
                text,
            } => {
                self.start("LEAVE")
                    .field(room)
                    .field(name)
                    .field(leave_word(reason));
                // The text goes with `quit` only.
                if reason == LeaveReason::Quit {
                    self.text(text);
                }
                self.end()
            }
            Event::Users { room, count, names } => {
                self.start("USERS").field(room).number(count as u64);
                for name in names {
                    self.field(name);
                }
                self.end()
            }
            Event::Rooms { count, rooms } => {
                self.start("ROOMS").number(count as u64);
                for (name, members) in rooms {
                    let _ = write!(self.scratch, " {name}:{members}");
                }
                self.end()
            }
            Event::Posted { room, id } => self.start("POSTED").field(room).number(id).end(),
            Event::Post(PostHeader {
                room,
                id,
                author,
                unix_secs,
                subject,
            }) => self
                .start("POST")
                .field(room)
                .number(id)
                .field(author)
                .number(unix_secs)
                .text(subject)
                .end(),
            Event::List { room, count } => {
                self.start("LIST").field(room).number(count as u64).end()
            }
            Event::Body { room, id, text } => {
                self.start("BODY").field(room).number(id).text(text).end()
            }
            Event::History { room, count } => {
                self.start("HISTORY").field(room).number(count as u64).end()
            }
            Event::Old {
                unix_secs,
                room,
                from,
                text,
            } => self
                .start("OLD")
                .number(unix_secs)
                .field("MSG")
                .field(room)
                .field(from)
                .text(text)
                .end(),
            Event::OldPrivate {
                unix_secs,
                from,
                text,
            } => self
                .start("OLD")
                .number(unix_secs)
                .field("PRIV")
                .field(from)
                .text(text)
                .end(),
            Event::Registered { name } => self.start("REGISTERED").field(name).end(),
            Event::Unregistered { name } => self.start("UNREGISTERED").field(name).end(),
            Event::Offline { user } => self.start("OFFLINE").field(user).end(),
            Event::Nick { old, new } => self.start("NICK").field(old).field(new).end(),
            Event::Ping { token } => self.start("PING").number(token).end(),
            Event::Pong { token } => self.start("PONG").field(token).end(),
            Event::Help(None) => {
                for verb in Verb::ALL {
                    self.start("INFO").text(help::usage(verb)).end();
                }
            }
            Event::Help(Some(verb)) => {
                for line in help::topic_lines(verb) {
                    self.start("INFO").text(&line).end();
                }
            }
            Event::Error(error) => self.error(error),
            Event::Bye(reason) => self
                .start("BYE")
                .field(bye_word(reason))
                .text(bye_text(reason))
                .end(),
        }
    }

    fn error(&mut self, Error { code, detail }: Error) {
        self.start("ERR").field(error_word(code));
        match detail {
            Detail::None => self.text(error_text(code)),
            Detail::Usage(verb) => {
                let _ = write!(self.scratch, " usage: {}", help::synopsis(verb));
                self
            }
            Detail::Limit(bytes) => {
                let _ = write!(self.scratch, " {}: at most {bytes} bytes", error_text(code));
                self
            }
            Detail::Subject(bytes) => {
                let _ = write!(self.scratch, " a subject is at most {bytes} bytes");
                self
            }
        }
        .end()
    }

    /// Starts a line; lines of one event follow each other in the scratch buffer.
    fn start(&mut self, kind: &str) -> &mut Self {
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

    fn end(&mut self) {
        self.scratch.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(enc: &mut Encoder, event: Event<'_>) -> String {
        String::from_utf8(enc.encode(&event).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn free_text_is_last_and_empty_text_leaves_no_space() {
        let mut enc = Encoder::new();
        let msg = Event::Msg {
            room: "lobby",
            from: "al",
            text: "a  b ",
            notice: false,
        };
        assert_eq!(text(&mut enc, msg), "MSG lobby al a  b \n");
        let leave = |reason, text| Event::Leave {
            room: "rust",
            name: "bob",
            reason,
            text,
        };
        assert_eq!(
            text(&mut enc, leave(LeaveReason::Quit, "")),
            "LEAVE rust bob quit\n"
        );
        assert_eq!(
            text(&mut enc, leave(LeaveReason::Quit, "bye now")),
            "LEAVE rust bob quit bye now\n"
        );
        assert_eq!(
            text(&mut enc, leave(LeaveReason::Left, "ignored")),
            "LEAVE rust bob left\n"
        );
        let post = Event::Post(PostHeader {
            room: "r",
            id: 3,
            author: "al",
            unix_secs: 1700000000,
            subject: "",
        });
        assert_eq!(text(&mut enc, post), "POST r 3 al 1700000000\n");
    }

    #[test]
    fn lists_and_codes() {
        let mut enc = Encoder::new();
        let users = Event::Users {
            room: "*",
            count: 3,
            names: &["a", "b"],
        };
        assert_eq!(text(&mut enc, users), "USERS * 3 a b\n");
        let empty = Event::Users {
            room: "x",
            count: 0,
            names: &[],
        };
        assert_eq!(text(&mut enc, empty), "USERS x 0\n");
        let rooms = Event::Rooms {
            count: 2,
            rooms: &[("lobby", 3), ("Rust", 0)],
        };
        assert_eq!(text(&mut enc, rooms), "ROOMS 2 lobby:3 Rust:0\n");
        let error = Event::Error(ErrorCode::NoSuchPost.into());
        assert!(text(&mut enc, error).starts_with("ERR no-such-post "));
        let bye = Event::Bye(ByeReason::ServerFull);
        assert!(text(&mut enc, bye).starts_with("BYE server-full "));
        assert!(
            text(&mut enc, Event::Queued { position: 3 }).contains("you are number 3 in the queue")
        );
    }

    #[test]
    fn errors_name_the_usage_or_the_limit() {
        let mut enc = Encoder::new();
        let bad_args = Event::Error(Error {
            code: ErrorCode::BadArgs,
            detail: Detail::Usage(Verb::Msg),
        });
        assert_eq!(
            text(&mut enc, bad_args),
            "ERR bad-args usage: /msg <user> <text...>\n"
        );
        let too_long = Event::Error(Error {
            code: ErrorCode::LineTooLong,
            detail: Detail::Limit(4096),
        });
        assert_eq!(
            text(&mut enc, too_long),
            "ERR line-too-long line too long: at most 4096 bytes\n"
        );
    }

    #[test]
    fn help_is_one_info_line_per_command() {
        let mut enc = Encoder::new();
        let all = text(&mut enc, Event::Help(None));
        assert_eq!(all.lines().count(), Verb::ALL.len());
        assert!(all.lines().all(|line| line.starts_with("INFO /")));
        let hello = text(&mut enc, Event::Hello);
        assert!(hello.starts_with("HELLO parley 1 ") && hello.contains("/pong <t>"));
    }
}
