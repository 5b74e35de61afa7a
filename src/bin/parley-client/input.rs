//! What a line the user typed means to the client.
//!
//! The client sends every line exactly as typed (the server parses commands); this
//! module only works out what the client itself must do around it: show our own
//! message (the server does not echo it), wait for a room change before the next
//! prompt, remember a `/read` so its reply is shown as a post, or handle `/help`
//! and `/quit` locally.

/// The client's part in handling one typed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Blank: the server would ignore it, so it is not sent.
    Ignore,
    /// `/help` without arguments: the client lists the commands itself.
    Help,
    /// `/quit [message]` or `%exit`: send it, then wait for `BYE`.
    Quit,
    /// A message to a room: a plain line (`room` is `None`: the current room) or
    /// `/say`. Shown to us as soon as it is sent.
    RoomText {
        /// The room named in `/say`, or `None` for the current room.
        room: Option<String>,
        /// The message as the others will see it.
        text: String,
    },
    /// `/msg <user> <text>`: shown to us once the server has accepted it.
    Private {
        /// The recipient.
        to: String,
        /// The message.
        text: String,
    },
    /// `/broadcast <text>`: shown to us as soon as it is sent.
    Broadcast {
        /// The message.
        text: String,
    },
    /// A command that may change our rooms or name: the next prompt waits for the
    /// server's answer so that it shows the right room.
    Sync,
    /// `/read <room> <id>` (or an alias): its `POST` reply is shown as a post.
    Read {
        /// The room.
        room: String,
        /// The post id.
        id: u64,
    },
    /// Any other command: just send it.
    Send,
}

/// Works out the [`Plan`] for one typed line (without its newline).
pub fn plan(line: &str) -> Plan {
    if line.trim_matches([' ', '\t']).is_empty() {
        return Plan::Ignore;
    }
    if let Some(text) = line.strip_prefix("//") {
        // `//text` is the plain message `/text`.
        return Plan::RoomText {
            room: None,
            text: format!("/{text}"),
        };
    }
    let (first, rest) = split_command(line);
    let first = first.to_ascii_lowercase();
    if line.starts_with('/') {
        command_plan(&first[1..], rest)
    } else if line.starts_with('%') {
        alias_plan(&first, rest).unwrap_or_else(|| plain(line))
    } else {
        plain(line)
    }
}

/// A plain line: a message to the current room, exactly as typed.
fn plain(line: &str) -> Plan {
    Plan::RoomText {
        room: None,
        text: line.to_owned(),
    }
}

/// The plan for `/<name> <rest>`.
fn command_plan(name: &str, rest: &str) -> Plan {
    match name {
        "help" if rest.is_empty() => Plan::Help,
        "quit" => Plan::Quit,
        "join" | "create" | "leave" | "name" | "create_group" | "join_group" | "leave_group" => {
            Plan::Sync
        }
        "say" | "group_msg" => match target_and_text(rest) {
            Some((room, text)) => Plan::RoomText {
                room: Some(room),
                text: text.to_owned(),
            },
            None => Plan::Send,
        },
        "msg" => match target_and_text(rest) {
            Some((to, text)) => Plan::Private {
                to,
                text: text.to_owned(),
            },
            None => Plan::Send,
        },
        "broadcast" if !rest.is_empty() => Plan::Broadcast {
            text: rest.to_owned(),
        },
        "read" => read_plan(rest),
        _ => Plan::Send,
    }
}

/// The plan for a `%` alias, or `None` if the word is no alias (then the line is a
/// plain message).
fn alias_plan(word: &str, rest: &str) -> Option<Plan> {
    Some(match word {
        "%groupjoin" | "%groupleave" | "%join" | "%leave" => Plan::Sync,
        "%exit" => Plan::Quit,
        "%groupmessage" => read_plan(rest),
        "%message" => match parse_words(rest).as_deref() {
            Some([id]) => match id.parse() {
                Ok(id) => Plan::Read {
                    room: "lobby".to_owned(),
                    id,
                },
                Err(_) => Plan::Send,
            },
            _ => Plan::Send,
        },
        "%groups" | "%groupusers" | "%grouppost" | "%grouplist" | "%users" | "%list" | "%post" => {
            Plan::Send
        }
        _ => return None,
    })
}

/// `<room> <id>` of a read.
fn read_plan(rest: &str) -> Plan {
    match parse_words(rest).as_deref() {
        Some([room, id]) => match id.parse() {
            Ok(id) => Plan::Read {
                room: room.clone(),
                id,
            },
            Err(_) => Plan::Send,
        },
        _ => Plan::Send,
    }
}

/// Splits a line into its first word and the rest after the separating spaces.
fn split_command(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((first, rest)) => (first, rest.trim_start_matches(' ')),
        None => (line, ""),
    }
}

/// `<name> <text...>`: the first word (maybe quoted) and the rest after the spaces
/// that follow it, kept exactly as typed. `None` if either is missing.
fn target_and_text(rest: &str) -> Option<(String, &str)> {
    let (target, after) = word(rest)?;
    let text = after.trim_start_matches(' ');
    if after.len() == text.len() || text.is_empty() {
        // No separating space (or nothing after it): the server answers bad-args.
        return None;
    }
    Some((target, text))
}

/// All words of `text` (for fixed-argument commands), or `None` if the quoting is
/// broken.
fn parse_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut rest = text.trim_start_matches(' ');
    while !rest.is_empty() {
        let (w, after) = word(rest)?;
        words.push(w);
        rest = after.trim_start_matches(' ');
    }
    Some(words)
}

/// One argument word at the start of `text` as PROTOCOL.md defines it: up to the next
/// space, or in double quotes with `\"` and `\\` as the only escapes (any other
/// backslash is kept). Returns the word and what follows it; `None` for an empty
/// word, an unterminated quote or text right after a closing quote.
fn word(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find(' ').unwrap_or(text.len());
        return (end > 0).then(|| (text[..end].to_owned(), &text[end..]));
    };
    let mut out = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let after = &quoted[i + 1..];
                if !(after.is_empty() || after.starts_with(' ')) || out.is_empty() {
                    return None;
                }
                return Some((out, after));
            }
            '\\' => match chars.clone().next() {
                Some((_, e @ ('"' | '\\'))) => {
                    chars.next();
                    out.push(e);
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    None
}

/// Writes `text` as one argument word: as it is when it can be, else in double
/// quotes with `"` and `\\` escaped (so `bob smith` reaches the server as one
/// name, which it can then refuse as a bad name rather than as wrong arguments).
pub fn quote(text: &str) -> String {
    if !text.is_empty() && !text.contains(' ') && !text.starts_with('"') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room_text(room: Option<&str>, text: &str) -> Plan {
        Plan::RoomText {
            room: room.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    #[test]
    fn plain_lines_go_to_the_current_room_as_typed() {
        assert_eq!(plan("hello"), room_text(None, "hello"));
        assert_eq!(plan("  indented  "), room_text(None, "  indented  "));
        assert_eq!(plan("//slash"), room_text(None, "/slash"));
        assert_eq!(plan("%notanalias x"), room_text(None, "%notanalias x"));
        assert_eq!(plan("   "), Plan::Ignore);
        assert_eq!(plan(""), Plan::Ignore);
        assert_eq!(plan(" \t"), Plan::Ignore);
    }

    #[test]
    fn commands() {
        assert_eq!(plan("/help"), Plan::Help);
        assert_eq!(plan("/HELP"), Plan::Help);
        assert_eq!(plan("/help join"), Plan::Send);
        assert_eq!(plan("/quit"), Plan::Quit);
        assert_eq!(plan("/Quit bye all"), Plan::Quit);
        assert_eq!(plan("%exit"), Plan::Quit);
        for sync in [
            "/join rust",
            "/create x",
            "/leave",
            "/name bob",
            "/JOIN_GROUP g",
            "%join",
            "%groupleave g",
        ] {
            assert_eq!(plan(sync), Plan::Sync, "{sync}");
        }
        assert_eq!(plan("/users"), Plan::Send);
        assert_eq!(plan("/unknown thing"), Plan::Send);
        assert_eq!(plan("%groups"), Plan::Send);
    }

    #[test]
    fn messages_keep_their_text() {
        assert_eq!(
            plan("/say rust  hi  there "),
            room_text(Some("rust"), "hi  there ")
        );
        assert_eq!(plan("/group_msg g x"), room_text(Some("g"), "x"));
        assert_eq!(plan("/say \"rust\" hi"), room_text(Some("rust"), "hi"));
        assert_eq!(plan("/say rust"), Plan::Send);
        assert_eq!(plan("/say rust   "), Plan::Send);
        assert_eq!(
            plan("/msg bob psst"),
            Plan::Private {
                to: "bob".into(),
                text: "psst".into()
            }
        );
        assert_eq!(
            plan("/broadcast hi all"),
            Plan::Broadcast {
                text: "hi all".into()
            }
        );
        assert_eq!(plan("/broadcast"), Plan::Send);
    }

    #[test]
    fn reads() {
        let read = |room: &str, id| Plan::Read {
            room: room.into(),
            id,
        };
        assert_eq!(plan("/read rust 3"), read("rust", 3));
        assert_eq!(plan("/read  rust  3 "), read("rust", 3));
        assert_eq!(plan("%groupmessage g 2"), read("g", 2));
        assert_eq!(plan("%message 4"), read("lobby", 4));
        assert_eq!(plan("/read rust x"), Plan::Send);
        assert_eq!(plan("/read rust"), Plan::Send);
    }

    #[test]
    fn quoted_words() {
        assert_eq!(word("abc def"), Some(("abc".into(), " def")));
        assert_eq!(word("\"a b\" c"), Some(("a b".into(), " c")));
        assert_eq!(
            word(r#""say \"hi\" \\ \x" rest"#),
            Some((r#"say "hi" \ \x"#.into(), " rest"))
        );
        assert_eq!(word("\"open"), None);
        assert_eq!(word("\"a\"b"), None);
        assert_eq!(word("\"\" x"), None);
        assert_eq!(word("a\"b c"), Some(("a\"b".into(), " c")));
        assert_eq!(
            parse_words(" a  \"b c\" "),
            Some(vec!["a".into(), "b c".into()])
        );
    }

    #[test]
    fn quoting_round_trips() {
        for text in ["alice", "bob smith", "\"q", "a\\b \"c\""] {
            let quoted = quote(text);
            assert_eq!(word(&quoted), Some((text.to_owned(), "")), "{quoted}");
        }
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("bob smith"), "\"bob smith\"");
    }
}
