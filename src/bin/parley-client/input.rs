//! What a line the user typed means to the client.
//!
//! The client sends every line exactly as typed (the server parses commands); this
//! module only works out what the client itself must do around it: show our own
//! message (the server does not echo it), wait for a room change before the next
//! prompt, remember a `/read` so its reply is shown as a post, or handle `/help`
//! and `/quit` locally.
//!
//! Lines are read with the server library's own grammar (`parley::codec::parley::grammar`:
//! command words, aliases, quoting; `parley::hub::names`: the name rule), so the client can never disagree with the
//! server about what a line is. This is the only module of the client that uses it:
//! the rest of the client asks here, so a move of that library module is a one-line
//! change below.

use parley::codec::parley::grammar;
use parley::hub::names::{is_valid_name, MAX_NAME_LEN};
use parley::hub::{ArgError, Command, HelpTopic, Input, Verb};

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
    /// `/name`: only useful before we have a name (afterwards the server refuses
    /// it); like [`Plan::Sync`] otherwise.
    Name,
    /// A command that may change our rooms: the next prompt waits for the server's
    /// answer so that it shows the right room.
    Sync,
    /// `/read <room> <id>` (or an alias): its `POST` reply is shown as a post.
    Read {
        /// The room.
        room: String,
        /// The post id.
        id: u64,
    },
    /// Any other command, or a `/word` that is none: just send it (the server
    /// answers).
    Send,
}

/// Works out the [`Plan`] for one typed line (without its newline).
pub fn plan(line: &str) -> Plan {
    match grammar::parse(line) {
        Input::Blank => Plan::Ignore,
        // Also `//text` (as `/text`) and `%` words that are no alias, whole.
        Input::Text(text) => Plan::RoomText {
            room: None,
            text: text.to_owned(),
        },
        Input::Command(verb, args) => command_plan(verb, args),
        // Unknown words, and what only framing reports (the server answers); parley's
        // grammar never asks for echo, which only IRC's codec does.
        Input::Unknown | Input::TooLong { .. } | Input::BadText | Input::Echo(_) => Plan::Send,
    }
}

/// The plan for a recognised command. Arguments the grammar refuses are sent all
/// the same, so that the server's error explains what is wrong.
fn command_plan(verb: Verb, args: Result<Command<'_>, ArgError>) -> Plan {
    match (verb, args) {
        (_, Ok(Command::Help(HelpTopic::All))) => Plan::Help,
        (_, Ok(Command::Quit(_))) => Plan::Quit,
        (Verb::Name, _) => Plan::Name,
        (Verb::Join | Verb::Create | Verb::Leave, _) => Plan::Sync,
        (_, Ok(Command::Say { room, text, .. })) => Plan::RoomText {
            room: Some(room.into_owned()),
            text: text.to_owned(),
        },
        (_, Ok(Command::Msg { to, text, .. })) => Plan::Private {
            to: to.into_owned(),
            text: text.to_owned(),
        },
        (_, Ok(Command::Broadcast(text))) => Plan::Broadcast {
            text: text.to_owned(),
        },
        // An id that is no number gets no-such-post: nothing to expect.
        (_, Ok(Command::Read { room, id })) => match id.parse() {
            Ok(id) => Plan::Read {
                room: room.into_owned(),
                id,
            },
            Err(_) => Plan::Send,
        },
        _ => Plan::Send,
    }
}

/// What a line typed while the client has no name yet means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameChoice {
    /// Nothing but spaces: ask again.
    Blank,
    /// A valid name, from `/name <name>` or a plain line: ask the server for it.
    Name(String),
    /// Not a name the server could accept; refused here with the code the server
    /// would give, and asked for again.
    Refused {
        /// The protocol's error code (`bad-name` or `bad-args`).
        code: &'static str,
        /// Why, for people.
        text: String,
    },
    /// Any other line: its plan as a command.
    Other(Plan),
}

/// Reads a line typed at the name prompt. As the protocol allows, a plain line is
/// taken whole as the name (without the spaces around it, which are easy to type by
/// mistake and cannot be part of a name).
pub fn name_choice(line: &str) -> NameChoice {
    match grammar::parse(line) {
        Input::Blank => NameChoice::Blank,
        Input::Text(text) => given_name(text.trim_matches([' ', '\t'])),
        Input::Command(Verb::Name, Ok(Command::Name(name))) => NameChoice::Name(name.into()),
        Input::Command(Verb::Name, Err(ArgError::BadArgs)) => NameChoice::Refused {
            code: "bad-args",
            text: "/name takes one name".to_owned(),
        },
        Input::Command(Verb::Name, _) => bad_name(),
        _ => NameChoice::Other(plan(line)),
    }
}

/// Checks a name given as it is (from the command line, or a plain line). Only
/// valid names are sent, and a valid name needs no quoting.
pub fn given_name(name: &str) -> NameChoice {
    if is_valid_name(name) {
        NameChoice::Name(name.to_owned())
    } else {
        bad_name()
    }
}

/// The refusal of something that cannot be a name.
fn bad_name() -> NameChoice {
    NameChoice::Refused {
        code: "bad-name",
        text: format!("a name is {}", name_rule()),
    }
}

/// What names may be, for people.
pub fn name_rule() -> String {
    format!("1 to {MAX_NAME_LEN} letters, digits, _ or -")
}

/// Commands of the protocol that the server library's grammar may not know yet (the
/// account commands and `/nick`): offered for completion and listed in the help all
/// the same. The client sends them as typed, apart from the passwords of the
/// account commands, which `account` handles.
pub const CLIENT_WORDS: [&str; 5] = ["/login", "/nick", "/passwd", "/register", "/unregister"];

/// The command words offered by Tab completion (`/join`, ...), sorted. `/pong` is
/// left out: the client answers the server's `PING`s by itself.
pub fn command_words() -> Vec<String> {
    let mut words: Vec<String> = Verb::ALL
        .iter()
        .filter(|verb| **verb != Verb::Pong)
        .map(|&verb| format!("/{}", grammar::command_word(verb)))
        .chain(CLIENT_WORDS.iter().map(|w| (*w).to_owned()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Which names make sense after a command word, for Tab completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameKinds {
    /// User names.
    pub users: bool,
    /// Room names.
    pub rooms: bool,
}

/// The kinds of names to complete in the arguments of the line whose first word is
/// `first` (a command word or alias, any case; anything else is a message, in which
/// any name may be mentioned).
pub fn name_kinds(first: &str) -> NameKinds {
    let verb = match grammar::parse(first) {
        Input::Command(verb, _) => Some(verb),
        _ => None,
    };
    let (users, rooms) = match verb {
        Some(Verb::Msg) => (true, false),
        Some(
            Verb::Join
            | Verb::Leave
            | Verb::Say
            | Verb::List
            | Verb::Read
            | Verb::Post
            | Verb::Users
            | Verb::History,
        ) => (false, true),
        _ => (true, true),
    };
    NameKinds { users, rooms }
}

/// Whether `word` is a command word or alias the server knows, in any case.
#[cfg(test)]
pub fn is_command_word(word: &str) -> bool {
    matches!(grammar::parse(word), Input::Command(..))
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
        // The server refuses this one (bad-args) instead of saying BYE.
        assert_eq!(plan("%exit now"), Plan::Send);
        for sync in [
            "/join rust",
            "/create x",
            "/leave",
            "/JOIN_GROUP g",
            "%join",
            "%groupleave g",
        ] {
            assert_eq!(plan(sync), Plan::Sync, "{sync}");
        }
        assert_eq!(plan("/name bob"), Plan::Name);
        assert_eq!(plan("/users"), Plan::Send);
        assert_eq!(plan("/unknown thing"), Plan::Send);
        // Sent as typed, whether or not the grammar knows it yet.
        assert_eq!(plan("/history"), Plan::Send);
        assert_eq!(plan("/history rust 5"), Plan::Send);
        assert_eq!(plan("/HISTORY  rust"), Plan::Send);
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
    fn names_at_the_name_prompt() {
        let name = |n: &str| NameChoice::Name(n.to_owned());
        assert_eq!(name_choice("alice"), name("alice"));
        assert_eq!(name_choice("  alice\t"), name("alice"));
        assert_eq!(name_choice("/name bob"), name("bob"));
        assert_eq!(name_choice("/NAME \"bob\""), name("bob"));
        assert_eq!(name_choice(" "), NameChoice::Blank);
        assert_eq!(name_choice("/quit"), NameChoice::Other(Plan::Quit));
        assert_eq!(name_choice("/help"), NameChoice::Other(Plan::Help));
        assert_eq!(name_choice("/users"), NameChoice::Other(Plan::Send));
        let code = |line: &str| match name_choice(line) {
            NameChoice::Refused { code, .. } => code,
            other => panic!("{line:?}: {other:?}"),
        };
        assert_eq!(code("alice smith"), "bad-name");
        assert_eq!(code("//alice"), "bad-name");
        assert_eq!(code("/name al!ce"), "bad-name");
        assert_eq!(code(&"x".repeat(MAX_NAME_LEN + 1)), "bad-name");
        assert_eq!(code("/name a b"), "bad-args");
        assert_eq!(code("/name"), "bad-args");
        assert_eq!(given_name("bob"), name("bob"));
        assert_eq!(given_name("/quit"), bad_name());
    }

    #[test]
    fn completion_words_and_argument_kinds() {
        let words = command_words();
        assert!(words.contains(&"/join".to_owned()));
        assert!(!words.contains(&"/pong".to_owned()));
        assert!(words.windows(2).all(|w| w[0] < w[1]), "{words:?}");
        let kinds = |users, rooms| NameKinds { users, rooms };
        assert_eq!(name_kinds("/MSG"), kinds(true, false));
        assert_eq!(name_kinds("/join"), kinds(false, true));
        assert_eq!(name_kinds("%groupjoin"), kinds(false, true));
        assert_eq!(name_kinds("/create"), kinds(true, true));
        assert_eq!(name_kinds("hello"), kinds(true, true));
        assert_eq!(name_kinds("/history"), kinds(false, true));
        assert_eq!(name_kinds("/History"), kinds(false, true));
        assert_eq!(name_kinds("/histories"), kinds(true, true));
        assert!(is_command_word("/join_group") && !is_command_word("/frob"));
    }
}
