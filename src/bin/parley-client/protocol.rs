//! Parsing of server lines (PROTOCOL.md, "Server lines").
//!
//! Every line is `TYPE field field ... [text]`: fixed fields are single tokens
//! separated by exactly one space, and the free text is everything after exactly one
//! space following the last fixed field (it may hold spaces, or be absent when empty).
//! A line that does not fit its type's shape is kept as [`ServerLine::Unknown`] so it
//! is still shown (safely) instead of being lost.

/// The header of a board post (`POST <room> <id> <author> <unix-seconds> <subject...>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostHeader {
    /// The room whose board holds the post.
    pub room: String,
    /// The post's id within its room.
    pub id: u64,
    /// Who wrote it.
    pub author: String,
    /// When it was stored, in unix seconds (the server's clock).
    pub time: i64,
    /// The subject line.
    pub subject: String,
}

/// One line from the server, parsed by its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerLine {
    /// `HELLO parley 1 <text...>`: admitted; choose a name now.
    Hello {
        /// The server's name (`parley`).
        server: String,
        /// The protocol version (`1`).
        version: String,
        /// Greeting text.
        text: String,
    },
    /// `QUEUED <position> <text...>`: waiting for a free slot.
    Queued {
        /// 1-based place in the queue.
        position: u64,
        /// The server's explanation.
        text: String,
    },
    /// `WELCOME <name> <text...>`: the name is ours.
    Welcome {
        /// Our name as the server spells it.
        name: String,
        /// Greeting text.
        text: String,
    },
    /// `MSG <room> <from> <text...>`: a room message.
    Msg {
        /// The room it was written to.
        room: String,
        /// The sender.
        from: String,
        /// The message.
        text: String,
    },
    /// `PRIV <from> <text...>`: a private message to us.
    Priv {
        /// The sender.
        from: String,
        /// The message.
        text: String,
    },
    /// `BCAST <from> <text...>`: a message to everyone.
    Bcast {
        /// The sender.
        from: String,
        /// The message.
        text: String,
    },
    /// `JOIN <room> <name>`: somebody (maybe we) joined a room.
    Join {
        /// The room.
        room: String,
        /// Who joined.
        name: String,
    },
    /// `LEAVE <room> <name> <reason> <text...>`: somebody (maybe we) left a room.
    Leave {
        /// The room.
        room: String,
        /// Who left.
        name: String,
        /// `left`, `quit`, `disconnected`, `timeout` or `sendq`.
        reason: String,
        /// The quit message (only for `quit`).
        text: String,
    },
    /// `USERS <room> <count> <name>*`: members of a room, or everyone for `*`.
    Users {
        /// The room, or `*` for every named user.
        room: String,
        /// The total, which may exceed the names listed.
        count: u64,
        /// The names listed (at most the server's list limit).
        names: Vec<String>,
    },
    /// `ROOMS <count> <room>:<members>*`: the rooms and their member counts.
    Rooms {
        /// The total number of rooms.
        count: u64,
        /// Listed rooms with their member counts.
        rooms: Vec<(String, u64)>,
    },
    /// `POSTED <room> <id>`: our post was stored.
    Posted {
        /// The room.
        room: String,
        /// The new post's id.
        id: u64,
    },
    /// `POST ...`: a post header (new post, list line or `/read` head).
    Post(PostHeader),
    /// `LIST <room> <count>`: `count` `POST` lines follow.
    List {
        /// The room whose board is listed.
        room: String,
        /// How many `POST` lines follow.
        count: u64,
    },
    /// `BODY <room> <id> <text...>`: the body of the post just shown.
    Body {
        /// The room.
        room: String,
        /// The post's id.
        id: u64,
        /// The body text.
        text: String,
    },
    /// `HISTORY <room> <count>`: `count` `OLD ... MSG` lines follow, oldest first.
    History {
        /// The room whose messages follow.
        room: String,
        /// How many `OLD` lines follow.
        count: u64,
    },
    /// `OLD <unix-seconds> <line>`: a stored `MSG` or `PRIV` line, replayed as it
    /// was sent then.
    Old {
        /// When it was first sent, in unix seconds (the server's clock).
        time: i64,
        /// The line as it was sent then: a [`ServerLine::Msg`] or [`ServerLine::Priv`].
        line: Box<ServerLine>,
    },
    /// `NICK <old> <new>`: a user in one of our rooms (or we) changed name.
    Nick {
        /// The name before.
        old: String,
        /// The name now.
        new: String,
    },
    /// `REGISTERED <name>`: our account was created, or its password changed.
    Registered {
        /// The account, spelled as the server spells it.
        name: String,
    },
    /// `UNREGISTERED <name>`: our account was deleted; we stay online as a guest.
    Unregistered {
        /// The name, spelled as the server spells it.
        name: String,
    },
    /// `OFFLINE <user>`: our private message was stored for an offline account.
    Offline {
        /// Who gets it at their next login.
        user: String,
    },
    /// `PING <token>`: the server checks that we are alive.
    Ping {
        /// To be echoed in `/pong`.
        token: String,
    },
    /// `PONG <token>`: the answer to a `/ping`.
    Pong {
        /// The token we sent (`-` for none).
        token: String,
    },
    /// `INFO <text...>`: human-readable text.
    Info {
        /// The text.
        text: String,
    },
    /// `ERR <code> <text...>`: our last line was refused.
    Err {
        /// The machine-readable error code.
        code: String,
        /// The human explanation.
        text: String,
    },
    /// `BYE <reason> <text...>`: the server closes the connection.
    Bye {
        /// `quit`, `timeout`, `sendq`, `server-full` or `shutdown`.
        reason: String,
        /// The human explanation.
        text: String,
    },
    /// A type this client does not know, or a known type with a malformed field.
    Unknown {
        /// The whole line as received.
        raw: String,
    },
}

/// Walks the fixed fields of one line.
struct Fields<'a> {
    /// What is left after the fields taken so far; `None` once the line has ended.
    rest: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The next single-token field, or `None` if the line ended or the field is empty.
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let (field, after) = match rest.split_once(' ') {
            Some((field, after)) => (field, Some(after)),
            None => (rest, None),
        };
        self.rest = after;
        (!field.is_empty()).then_some(field)
    }

    /// The next field as a number.
    fn number<T: std::str::FromStr>(&mut self) -> Option<T> {
        self.next()?.parse().ok()
    }

    /// The free text: everything after the single space that followed the last field.
    fn text(self) -> String {
        self.rest.unwrap_or_default().to_owned()
    }

    /// The remaining space-separated tokens (for `<x>*` types).
    fn tokens(self) -> Vec<&'a str> {
        self.rest
            .unwrap_or_default()
            .split(' ')
            .filter(|t| !t.is_empty())
            .collect()
    }
}

impl ServerLine {
    /// Parses one line (without its `\n`).
    pub fn parse(line: &str) -> ServerLine {
        Self::parse_known(line).unwrap_or_else(|| ServerLine::Unknown {
            raw: line.to_owned(),
        })
    }

    /// Parses a line of a known type; `None` for unknown types and malformed lines.
    fn parse_known(line: &str) -> Option<ServerLine> {
        let (kind, rest) = match line.split_once(' ') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (line, None),
        };
        let mut f = Fields { rest };
        let s = |x: &str| x.to_owned();
        Some(match kind {
            "HELLO" => ServerLine::Hello {
                server: s(f.next()?),
                version: s(f.next()?),
                text: f.text(),
            },
            "QUEUED" => ServerLine::Queued {
                position: f.number()?,
                text: f.text(),
            },
            "WELCOME" => ServerLine::Welcome {
                name: s(f.next()?),
                text: f.text(),
            },
            "MSG" => ServerLine::Msg {
                room: s(f.next()?),
                from: s(f.next()?),
                text: f.text(),
            },
            "PRIV" => ServerLine::Priv {
                from: s(f.next()?),
                text: f.text(),
            },
            "BCAST" => ServerLine::Bcast {
                from: s(f.next()?),
                text: f.text(),
            },
            "JOIN" => ServerLine::Join {
                room: s(f.next()?),
                name: s(f.next()?),
            },
            "LEAVE" => ServerLine::Leave {
                room: s(f.next()?),
                name: s(f.next()?),
                reason: s(f.next()?),
                text: f.text(),
            },
            "USERS" => ServerLine::Users {
                room: s(f.next()?),
                count: f.number()?,
                names: f.tokens().into_iter().map(s).collect(),
            },
            "ROOMS" => {
                let count = f.number()?;
                let rooms = f
                    .tokens()
                    .into_iter()
                    .map(|t| {
                        let (room, members) = t.rsplit_once(':')?;
                        Some((s(room), members.parse().ok()?))
                    })
                    .collect::<Option<Vec<_>>>()?;
                ServerLine::Rooms { count, rooms }
            }
            "POSTED" => ServerLine::Posted {
                room: s(f.next()?),
                id: f.number()?,
            },
            "POST" => ServerLine::Post(PostHeader {
                room: s(f.next()?),
                id: f.number()?,
                author: s(f.next()?),
                time: f.number()?,
                subject: f.text(),
            }),
            "LIST" => ServerLine::List {
                room: s(f.next()?),
                count: f.number()?,
            },
            "BODY" => ServerLine::Body {
                room: s(f.next()?),
                id: f.number()?,
                text: f.text(),
            },
            "HISTORY" => ServerLine::History {
                room: s(f.next()?),
                count: f.number()?,
            },
            "OLD" => {
                let time = f.number()?;
                // The rest is a line of its own; kinds that may not be replayed (or
                // that this client does not know yet) keep the whole line raw.
                let line = Self::parse_known(f.rest?)?;
                if !matches!(line, ServerLine::Msg { .. } | ServerLine::Priv { .. }) {
                    return None;
                }
                ServerLine::Old {
                    time,
                    line: Box::new(line),
                }
            }
            "NICK" => ServerLine::Nick {
                old: s(f.next()?),
                new: s(f.next()?),
            },
            "REGISTERED" => ServerLine::Registered { name: s(f.next()?) },
            "UNREGISTERED" => ServerLine::Unregistered { name: s(f.next()?) },
            "OFFLINE" => ServerLine::Offline { user: s(f.next()?) },
            "PING" => ServerLine::Ping {
                token: s(f.next()?),
            },
            "PONG" => ServerLine::Pong {
                token: s(f.next()?),
            },
            "INFO" => ServerLine::Info { text: f.text() },
            "ERR" => ServerLine::Err {
                code: s(f.next()?),
                text: f.text(),
            },
            "BYE" => ServerLine::Bye {
                reason: s(f.next()?),
                text: f.text(),
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> ServerLine {
        ServerLine::parse(line)
    }

    #[test]
    fn free_text_follows_exactly_one_space() {
        assert_eq!(
            p("MSG lobby bob  two  spaces "),
            ServerLine::Msg {
                room: "lobby".into(),
                from: "bob".into(),
                text: " two  spaces ".into()
            }
        );
        assert_eq!(
            p("INFO"),
            ServerLine::Info {
                text: String::new()
            }
        );
        assert_eq!(
            p("WELCOME alice"),
            ServerLine::Welcome {
                name: "alice".into(),
                text: String::new()
            }
        );
    }

    #[test]
    fn every_known_type() {
        assert_eq!(
            p("HELLO parley 1 hi there"),
            ServerLine::Hello {
                server: "parley".into(),
                version: "1".into(),
                text: "hi there".into()
            }
        );
        assert_eq!(
            p("QUEUED 3 you are number 3"),
            ServerLine::Queued {
                position: 3,
                text: "you are number 3".into()
            }
        );
        assert_eq!(
            p("PRIV carol hey"),
            ServerLine::Priv {
                from: "carol".into(),
                text: "hey".into()
            }
        );
        assert_eq!(
            p("BCAST dave all"),
            ServerLine::Bcast {
                from: "dave".into(),
                text: "all".into()
            }
        );
        assert_eq!(
            p("JOIN rust bob"),
            ServerLine::Join {
                room: "rust".into(),
                name: "bob".into()
            }
        );
        assert_eq!(
            p("LEAVE rust bob quit see you"),
            ServerLine::Leave {
                room: "rust".into(),
                name: "bob".into(),
                reason: "quit".into(),
                text: "see you".into()
            }
        );
        assert_eq!(
            p("LEAVE rust bob timeout"),
            ServerLine::Leave {
                room: "rust".into(),
                name: "bob".into(),
                reason: "timeout".into(),
                text: String::new()
            }
        );
        assert_eq!(
            p("USERS * 3 alice bob"),
            ServerLine::Users {
                room: "*".into(),
                count: 3,
                names: vec!["alice".into(), "bob".into()]
            }
        );
        assert_eq!(
            p("USERS lobby 0"),
            ServerLine::Users {
                room: "lobby".into(),
                count: 0,
                names: vec![]
            }
        );
        assert_eq!(
            p("ROOMS 2 lobby:3 rust:0"),
            ServerLine::Rooms {
                count: 2,
                rooms: vec![("lobby".into(), 3), ("rust".into(), 0)]
            }
        );
        assert_eq!(
            p("POSTED rust 7"),
            ServerLine::Posted {
                room: "rust".into(),
                id: 7
            }
        );
        assert_eq!(
            p("POST rust 7 alice 1700000000 Hello world"),
            ServerLine::Post(PostHeader {
                room: "rust".into(),
                id: 7,
                author: "alice".into(),
                time: 1_700_000_000,
                subject: "Hello world".into()
            })
        );
        assert_eq!(
            p("LIST rust 2"),
            ServerLine::List {
                room: "rust".into(),
                count: 2
            }
        );
        assert_eq!(
            p("BODY rust 7 the body"),
            ServerLine::Body {
                room: "rust".into(),
                id: 7,
                text: "the body".into()
            }
        );
        assert_eq!(p("PING 42"), ServerLine::Ping { token: "42".into() });
        assert_eq!(p("PONG -"), ServerLine::Pong { token: "-".into() });
        assert_eq!(
            p("ERR name-taken That name is taken"),
            ServerLine::Err {
                code: "name-taken".into(),
                text: "That name is taken".into()
            }
        );
        assert_eq!(
            p("BYE shutdown Server going down"),
            ServerLine::Bye {
                reason: "shutdown".into(),
                text: "Server going down".into()
            }
        );
    }

    #[test]
    fn history_and_replayed_messages() {
        assert_eq!(
            p("HISTORY rust 3"),
            ServerLine::History {
                room: "rust".into(),
                count: 3
            }
        );
        assert_eq!(
            p("HISTORY rust 0"),
            ServerLine::History {
                room: "rust".into(),
                count: 0
            }
        );
        assert_eq!(
            p("OLD 1700000000 MSG rust alice hello  there "),
            ServerLine::Old {
                time: 1_700_000_000,
                line: Box::new(ServerLine::Msg {
                    room: "rust".into(),
                    from: "alice".into(),
                    text: "hello  there ".into()
                })
            }
        );
        assert_eq!(
            p("OLD 60 MSG rust alice"),
            ServerLine::Old {
                time: 60,
                line: Box::new(ServerLine::Msg {
                    room: "rust".into(),
                    from: "alice".into(),
                    text: String::new()
                })
            }
        );
        assert_eq!(
            p("OLD 1700000000 PRIV bob psst, you"),
            ServerLine::Old {
                time: 1_700_000_000,
                line: Box::new(ServerLine::Priv {
                    from: "bob".into(),
                    text: "psst, you".into()
                })
            }
        );
    }

    #[test]
    fn malformed_history_lines_are_kept_raw() {
        for raw in [
            "HISTORY",
            "HISTORY rust",
            "HISTORY rust many",
            "HISTORY rust -1",
            "HISTORY  3",
            "OLD",
            "OLD 1700000000",
            "OLD soon MSG rust alice hi",
            "OLD 1.5 MSG rust alice hi",
            "OLD 99999999999999999999 MSG rust alice hi",
            "OLD 1700000000 MSG",
            "OLD 1700000000 MSG rust",
            "OLD 1700000000 MSG rust  hi",
            "OLD 1700000000 PRIV",
            "OLD 1700000000  MSG rust alice hi",
            // Kinds this client does not know (yet), and lowercase ones.
            "OLD 1700000000 BCAST bob all",
            "OLD 1700000000 JOIN rust bob",
            "OLD 1700000000 msg rust alice hi",
            "OLD 1700000000 OLD 1 MSG rust alice hi",
        ] {
            assert_eq!(p(raw), ServerLine::Unknown { raw: raw.into() }, "{raw:?}");
        }
    }

    #[test]
    fn account_lines() {
        assert_eq!(
            p("NICK bob Robert"),
            ServerLine::Nick {
                old: "bob".into(),
                new: "Robert".into()
            }
        );
        assert_eq!(
            p("REGISTERED Alice"),
            ServerLine::Registered {
                name: "Alice".into()
            }
        );
        assert_eq!(
            p("UNREGISTERED Alice"),
            ServerLine::Unregistered {
                name: "Alice".into()
            }
        );
        assert_eq!(p("OFFLINE bob"), ServerLine::Offline { user: "bob".into() });
        for raw in ["NICK bob", "NICK", "REGISTERED", "OFFLINE", "UNREGISTERED "] {
            assert_eq!(p(raw), ServerLine::Unknown { raw: raw.into() }, "{raw:?}");
        }
    }

    #[test]
    fn unknown_and_malformed_lines_are_kept_raw() {
        for raw in [
            "FROB x y",
            "QUEUED many",
            "JOIN rust",
            "POST rust x a 1 s",
            "",
            "ROOMS 1 lobby",
        ] {
            assert_eq!(p(raw), ServerLine::Unknown { raw: raw.into() }, "{raw:?}");
        }
    }
}
