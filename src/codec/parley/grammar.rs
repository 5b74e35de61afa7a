//! Client lines to commands: command words, compatibility aliases, quoted arguments and
//! name rules.
//!
//! Parsing is split the way the protocol orders its errors: the command word is
//! recognised first (an unknown one is a value, [`Input::Unknown`]), and the arguments
//! are checked separately into a `Result`, so the chat core can answer `queued`,
//! `not-named` or `already-named` before it looks at the arguments.

use std::borrow::Cow;

use crate::hub::command::{Secret, MAX_PASSWORD_LEN};
use crate::hub::names::is_valid_name;
use crate::hub::{ArgError, Command, HelpTopic, Input, UsersOf, Verb};

/// The command word of `verb`, without its slash.
pub fn command_word(verb: Verb) -> &'static str {
    match verb {
        Verb::Name => "name",
        Verb::Users => "users",
        Verb::Msg => "msg",
        Verb::Broadcast => "broadcast",
        Verb::Rooms => "rooms",
        Verb::Create => "create",
        Verb::Join => "join",
        Verb::Leave => "leave",
        Verb::Say => "say",
        Verb::Post => "post",
        Verb::List => "list",
        Verb::Read => "read",
        Verb::History => "history",
        Verb::Help => "help",
        Verb::Ping => "ping",
        Verb::Pong => "pong",
        Verb::Quit => "quit",
        Verb::Login => "login",
        Verb::Register => "register",
        Verb::Passwd => "passwd",
        Verb::Unregister => "unregister",
        Verb::Nick => "nick",
    }
}

/// Where a command's room argument comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoomFrom {
    /// From the line, optional where the command allows it.
    Line,
    /// From the line and required, as in aliases like `/leave_group G`.
    LineRequired,
    /// Fixed to `lobby` (the `%join`-style aliases take no room).
    Lobby,
}

/// How a command word is to be read: which command, and how its room is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Form {
    verb: Verb,
    room: RoomFrom,
    /// Aliases take exactly the arguments shown: optional ones become fixed.
    exact: bool,
}

impl Form {
    const fn command(verb: Verb) -> Form {
        Form {
            verb,
            room: RoomFrom::Line,
            exact: false,
        }
    }

    const fn alias(verb: Verb, room: RoomFrom) -> Form {
        Form {
            verb,
            room,
            exact: true,
        }
    }
}

/// Looks up a slash command word (without the slash), case-insensitively.
fn slash_form(word: &str) -> Option<Form> {
    let lower = word.to_ascii_lowercase();
    if let Some(verb) = Verb::ALL.iter().find(|&&v| command_word(v) == lower) {
        return Some(Form::command(*verb));
    }
    let alias = match lower.as_str() {
        "create_group" => Form::alias(Verb::Create, RoomFrom::LineRequired),
        "join_group" => Form::alias(Verb::Join, RoomFrom::LineRequired),
        "leave_group" => Form::alias(Verb::Leave, RoomFrom::LineRequired),
        "group_msg" => Form::alias(Verb::Say, RoomFrom::LineRequired),
        _ => return None,
    };
    Some(alias)
}

/// Looks up a `%` alias word (with its `%`), case-insensitively.
fn percent_form(word: &str) -> Option<Form> {
    use RoomFrom::{LineRequired as G, Lobby};
    let form = match word.to_ascii_lowercase().as_str() {
        "%groups" => Form::alias(Verb::Rooms, G),
        "%groupjoin" => Form::alias(Verb::Join, G),
        "%groupleave" => Form::alias(Verb::Leave, G),
        "%groupusers" => Form::alias(Verb::Users, G),
        "%grouppost" => Form::alias(Verb::Post, G),
        "%grouplist" => Form::alias(Verb::List, G),
        "%groupmessage" => Form::alias(Verb::Read, G),
        "%join" => Form::alias(Verb::Join, Lobby),
        "%leave" => Form::alias(Verb::Leave, Lobby),
        "%users" => Form::alias(Verb::Users, Lobby),
        "%list" => Form::alias(Verb::List, Lobby),
        "%post" => Form::alias(Verb::Post, Lobby),
        "%message" => Form::alias(Verb::Read, Lobby),
        "%exit" => Form::alias(Verb::Quit, Lobby),
        _ => return None,
    };
    Some(form)
}

/// Finds the command a `/help` argument names: a command with or without its slash,
/// or an alias.
pub fn help_topic(word: &str) -> Option<Verb> {
    let form = if word.starts_with('%') {
        percent_form(word)
    } else {
        slash_form(word.strip_prefix('/').unwrap_or(word))
    };
    form.map(|f| f.verb)
}

/// The names of the aliases that stand for `verb`, for `/help`.
pub fn aliases_of(verb: Verb) -> &'static [&'static str] {
    match verb {
        Verb::Create => &["/create_group G"],
        Verb::Join => &["/join_group G", "%groupjoin G", "%join"],
        Verb::Leave => &["/leave_group G", "%groupleave G", "%leave"],
        Verb::Say => &["/group_msg G text"],
        Verb::Rooms => &["%groups"],
        Verb::Users => &["%groupusers G", "%users"],
        Verb::Post => &["%grouppost G S text", "%post S text"],
        Verb::List => &["%grouplist G", "%list"],
        Verb::Read => &["%groupmessage G id", "%message id"],
        Verb::Quit => &["%exit"],
        _ => &[],
    }
}

/// Classifies one client line (already checked to be valid text).
pub fn parse(line: &str) -> Input<'_> {
    if line.bytes().all(|b| b == b' ' || b == b'\t') {
        return Input::Blank;
    }
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let form = if let Some(after_slash) = word.strip_prefix('/') {
        if line.starts_with("//") {
            return Input::Text(&line[1..]);
        }
        match slash_form(after_slash) {
            Some(form) => form,
            None => return Input::Unknown,
        }
    } else if word.starts_with('%') {
        match percent_form(word) {
            Some(form) => form,
            None => return Input::Text(line),
        }
    } else {
        return Input::Text(line);
    };
    let args = parse_args(form, &mut Args::new(rest)).and_then(|command| {
        check_names(&command)?;
        Ok(command)
    });
    Input::Command(form.verb, args)
}

/// Reads the arguments of `form` from the line.
fn parse_args<'a>(form: Form, args: &mut Args<'a>) -> Result<Command<'a>, ArgError> {
    let room = |args: &mut Args<'a>| -> Result<Cow<'a, str>, ArgError> {
        match form.room {
            RoomFrom::Lobby => Ok(Cow::Borrowed("lobby")),
            _ => args.word(),
        }
    };
    let optional_room = |args: &mut Args<'a>| -> Result<Option<Cow<'a, str>>, ArgError> {
        match form.room {
            RoomFrom::Lobby => Ok(Some(Cow::Borrowed("lobby"))),
            RoomFrom::LineRequired => args.word().map(Some),
            RoomFrom::Line => args.optional_word(),
        }
    };
    let command = match form.verb {
        Verb::Name => Command::Name(args.word()?),
        Verb::Users => match optional_room(args)? {
            None => Command::Users(UsersOf::Current),
            Some(room) if room == "*" => Command::Users(UsersOf::Everyone),
            Some(room) => Command::Users(UsersOf::Room(room)),
        },
        Verb::Msg => Command::Msg {
            to: args.word()?,
            text: args.text()?,
            notice: false,
        },
        Verb::Broadcast => Command::Broadcast(args.text()?),
        Verb::Rooms => Command::Rooms,
        Verb::Create => Command::Create(room(args)?),
        Verb::Join => Command::Join(room(args)?),
        Verb::Leave => Command::Leave(optional_room(args)?),
        Verb::Say => Command::Say {
            room: room(args)?,
            text: args.text()?,
            notice: false,
        },
        Verb::Post => Command::Post {
            room: room(args)?,
            subject: args.word()?,
            body: args.text()?,
        },
        Verb::List => Command::List(optional_room(args)?),
        Verb::Read => Command::Read {
            room: room(args)?,
            id: args.word()?,
        },
        Verb::History => {
            let room = optional_room(args)?;
            let count = if room.is_some() {
                args.optional_word()?
            } else {
                None
            };
            Command::History { room, count }
        }
        Verb::Help => Command::Help(match args.optional_word()? {
            None => HelpTopic::All,
            Some(word) => help_topic(&word).map_or(HelpTopic::Unknown, HelpTopic::Verb),
        }),
        Verb::Ping => {
            let token = args.optional_word()?;
            if token.as_deref().is_some_and(|t| t.contains(' ')) {
                return Err(ArgError::BadArgs);
            }
            Command::Ping(token)
        }
        Verb::Pong => {
            args.word()?;
            Command::Pong
        }
        Verb::Login => Command::Login {
            name: args.word()?,
            password: args.password()?,
        },
        Verb::Register => {
            let mut first = args.password()?;
            match args.optional_word()? {
                None => Command::Register {
                    name: None,
                    password: first,
                },
                Some(password) => Command::Register {
                    // The first word was a name after all.
                    name: Some(std::mem::take(&mut first.0)),
                    password: checked_password(password)?,
                },
            }
        }
        Verb::Passwd => Command::Passwd {
            old: args.password()?,
            new: args.password()?,
        },
        Verb::Unregister => Command::Unregister {
            password: args.password()?,
        },
        Verb::Nick => Command::Nick(args.word()?),
        Verb::Quit if form.exact => Command::Quit(None),
        Verb::Quit => return Ok(Command::Quit(args.optional_text())),
    };
    args.end()?;
    Ok(command)
}

/// Checks that name arguments can be names at all.
fn check_names(command: &Command<'_>) -> Result<(), ArgError> {
    let user = |name: &str| {
        if is_valid_name(name) {
            Ok(())
        } else {
            Err(ArgError::BadName)
        }
    };
    let room = |name: &str| {
        if is_valid_name(name) {
            Ok(())
        } else {
            Err(ArgError::BadRoomName)
        }
    };
    match command {
        Command::Name(name)
        | Command::Msg { to: name, .. }
        | Command::Login { name, .. }
        | Command::Nick(name) => user(name),
        Command::Users(UsersOf::Room(name))
        | Command::Create(name)
        | Command::Join(name)
        | Command::Enter(name)
        | Command::Leave(Some(name))
        | Command::Say { room: name, .. }
        | Command::Post { room: name, .. }
        | Command::List(Some(name))
        // With a count, the core checks the room's name after it (a bad count is
        // bad-args, which comes first).
        | Command::History {
            room: Some(name),
            count: None,
        }
        | Command::Read { room: name, .. } => room(name),
        _ => Ok(()),
    }
}

/// A password argument: at most [`MAX_PASSWORD_LEN`] bytes.
fn checked_password(word: Cow<'_, str>) -> Result<Secret<'_>, ArgError> {
    if word.len() > MAX_PASSWORD_LEN {
        Err(ArgError::BadArgs)
    } else {
        Ok(Secret(word))
    }
}

/// A cursor over the arguments after the command word.
struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    fn new(rest: &'a str) -> Args<'a> {
        Args { rest }
    }

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start_matches(' ');
    }

    /// The next word, which must be there.
    fn word(&mut self) -> Result<Cow<'a, str>, ArgError> {
        self.optional_word()?.ok_or(ArgError::BadArgs)
    }

    /// The next word as a password.
    fn password(&mut self) -> Result<Secret<'a>, ArgError> {
        checked_password(self.word()?)
    }

    /// The next word, if any; a quoted word may hold spaces.
    fn optional_word(&mut self) -> Result<Option<Cow<'a, str>>, ArgError> {
        self.skip_spaces();
        if self.rest.is_empty() {
            return Ok(None);
        }
        let word = if self.rest.starts_with('"') {
            self.quoted()?
        } else {
            let end = self.rest.find(' ').unwrap_or(self.rest.len());
            let (word, rest) = self.rest.split_at(end);
            self.rest = rest;
            Cow::Borrowed(word)
        };
        if word.is_empty() {
            return Err(ArgError::BadArgs);
        }
        Ok(Some(word))
    }

    /// A word in double quotes, with `\"` and `\\` as its only escapes.
    fn quoted(&mut self) -> Result<Cow<'a, str>, ArgError> {
        let body = &self.rest[1..];
        let mut owned: Option<String> = None;
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let after = &body[i + 1..];
                    if !(after.is_empty() || after.starts_with(' ')) {
                        return Err(ArgError::BadArgs);
                    }
                    self.rest = after;
                    return Ok(owned.map_or(Cow::Borrowed(&body[..i]), Cow::Owned));
                }
                '\\' if matches!(body[i + 1..].chars().next(), Some('"' | '\\')) => {
                    let text = owned.get_or_insert_with(|| body[..i].to_owned());
                    let (_, escaped) = chars.next().expect("peeked");
                    text.push(escaped);
                }
                c => {
                    if let Some(text) = owned.as_mut() {
                        text.push(c);
                    }
                }
            }
        }
        Err(ArgError::BadArgs)
    }

    /// The rest of the line after the separating spaces, exactly as typed; not empty.
    fn text(&mut self) -> Result<&'a str, ArgError> {
        self.optional_text().ok_or(ArgError::BadArgs)
    }

    fn optional_text(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        let text = std::mem::take(&mut self.rest);
        (!text.is_empty()).then_some(text)
    }

    /// Only spaces may remain.
    fn end(&mut self) -> Result<(), ArgError> {
        self.skip_spaces();
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ArgError::BadArgs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command<'_> {
        match parse(line) {
            Input::Command(_, Ok(command)) => command,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn err(line: &str) -> ArgError {
        match parse(line) {
            Input::Command(_, Err(e)) => e,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn b(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }

    #[test]
    fn classifies_blank_plain_unknown_and_double_slash() {
        assert_eq!(parse(" \t "), Input::Blank);
        assert_eq!(parse("hello there"), Input::Text("hello there"));
        assert_eq!(parse("//me waves"), Input::Text("/me waves"));
        assert_eq!(parse("/frobnicate x"), Input::Unknown);
        assert_eq!(parse("%nonsense here"), Input::Text("%nonsense here"));
        assert_eq!(parse("/ hi"), Input::Unknown);
    }

    #[test]
    fn command_words_are_case_insensitive() {
        assert_eq!(
            ok("/MSG bob hi"),
            Command::Msg {
                to: b("bob"),
                text: "hi",
                notice: false,
            }
        );
        assert_eq!(ok("/Rooms"), Command::Rooms);
    }

    #[test]
    fn text_arguments_keep_the_line_as_typed() {
        assert_eq!(
            ok("/msg   bob   two  spaces  "),
            Command::Msg {
                to: b("bob"),
                text: "two  spaces  ",
                notice: false,
            }
        );
        assert_eq!(ok("/quit"), Command::Quit(None));
        assert_eq!(ok("/quit see you"), Command::Quit(Some("see you")));
        assert_eq!(err("/msg bob"), ArgError::BadArgs);
        assert_eq!(err("/msg bob    "), ArgError::BadArgs);
        assert_eq!(err("/broadcast"), ArgError::BadArgs);
    }

    #[test]
    fn quoted_words_hold_spaces_and_two_escapes() {
        assert_eq!(
            ok(r#"/post lobby "big news" body text"#),
            Command::Post {
                room: b("lobby"),
                subject: b("big news"),
                body: "body text"
            }
        );
        assert_eq!(
            ok(r#"/post lobby "say \"hi\" \\ \n" b"#),
            Command::Post {
                room: b("lobby"),
                subject: Cow::Owned(r#"say "hi" \ \n"#.to_owned()),
                body: "b"
            }
        );
        assert_eq!(ok(r#"/join "rust""#), Command::Join(b("rust")));
        assert_eq!(
            ok(r#"/post lobby it"s fine"#),
            Command::Post {
                room: b("lobby"),
                subject: b("it\"s"),
                body: "fine"
            }
        );
        assert_eq!(err(r#"/post lobby "open body"#), ArgError::BadArgs);
        assert_eq!(err(r#"/post lobby "a"b body"#), ArgError::BadArgs);
        assert_eq!(err(r#"/join """#), ArgError::BadArgs);
        assert_eq!(err(r#"/ping "a b""#), ArgError::BadArgs);
    }

    #[test]
    fn missing_and_extra_arguments_are_bad_args() {
        assert_eq!(err("/name"), ArgError::BadArgs);
        assert_eq!(err("/name a b"), ArgError::BadArgs);
        assert_eq!(err("/rooms now"), ArgError::BadArgs);
        assert_eq!(err("/read lobby"), ArgError::BadArgs);
        assert_eq!(err("/pong"), ArgError::BadArgs);
        assert_eq!(ok("/rooms   "), Command::Rooms);
    }

    #[test]
    fn bad_args_wins_over_bad_names() {
        assert_eq!(err("/msg b@d"), ArgError::BadArgs);
        assert_eq!(err("/msg b@d hi"), ArgError::BadName);
        assert_eq!(err("/join no/pe"), ArgError::BadRoomName);
        assert_eq!(err("/users no!"), ArgError::BadRoomName);
        assert_eq!(ok("/users *"), Command::Users(UsersOf::Everyone));
        assert_eq!(err(&format!("/name {}", "x".repeat(33))), ArgError::BadName);
        assert_eq!(
            ok(&format!("/name {}", "x".repeat(32))),
            Command::Name(Cow::Owned("x".repeat(32)))
        );
    }

    #[test]
    fn aliases_expand_and_take_exactly_their_arguments() {
        assert_eq!(ok("%JOIN"), Command::Join(b("lobby")));
        assert_eq!(err("%join g"), ArgError::BadArgs);
        assert_eq!(ok("%groupjoin g"), Command::Join(b("g")));
        assert_eq!(err("%groupjoin"), ArgError::BadArgs);
        assert_eq!(ok("/leave_group g"), Command::Leave(Some(b("g"))));
        assert_eq!(err("/leave_group"), ArgError::BadArgs);
        assert_eq!(ok("%groupusers g"), Command::Users(UsersOf::Room(b("g"))));
        assert_eq!(ok("%users"), Command::Users(UsersOf::Room(b("lobby"))));
        assert_eq!(ok("%groups"), Command::Rooms);
        assert_eq!(
            ok("%post news the body"),
            Command::Post {
                room: b("lobby"),
                subject: b("news"),
                body: "the body"
            }
        );
        assert_eq!(
            ok("%grouppost g s t u"),
            Command::Post {
                room: b("g"),
                subject: b("s"),
                body: "t u"
            }
        );
        assert_eq!(
            ok("%message 3"),
            Command::Read {
                room: b("lobby"),
                id: b("3")
            }
        );
        assert_eq!(
            ok("%groupmessage g 3"),
            Command::Read {
                room: b("g"),
                id: b("3")
            }
        );
        assert_eq!(ok("%list"), Command::List(Some(b("lobby"))));
        assert_eq!(ok("%grouplist g"), Command::List(Some(b("g"))));
        assert_eq!(ok("%leave"), Command::Leave(Some(b("lobby"))));
        assert_eq!(ok("%groupleave g"), Command::Leave(Some(b("g"))));
        assert_eq!(ok("%exit"), Command::Quit(None));
        assert_eq!(err("%exit now"), ArgError::BadArgs);
        assert_eq!(ok("/create_group g"), Command::Create(b("g")));
        assert_eq!(ok("/join_group g"), Command::Join(b("g")));
        assert_eq!(
            ok("/group_msg g hi all"),
            Command::Say {
                room: b("g"),
                text: "hi all",
                notice: false,
            }
        );
    }

    #[test]
    fn help_topics_accept_slash_bare_and_alias_forms() {
        assert_eq!(help_topic("msg"), Some(Verb::Msg));
        assert_eq!(help_topic("/MSG"), Some(Verb::Msg));
        assert_eq!(help_topic("%groups"), Some(Verb::Rooms));
        assert_eq!(help_topic("join_group"), Some(Verb::Join));
        assert_eq!(help_topic("nope"), None);
    }

    #[test]
    fn passwords_are_one_word_of_at_most_1024_bytes_and_never_printed() {
        let command = ok(r#"/login alice "pass word""#);
        assert_eq!(
            command,
            Command::Login {
                name: b("alice"),
                password: Secret(Cow::Owned("pass word".into()))
            }
        );
        assert!(!format!("{command:?}").contains("pass word"), "{command:?}");
        assert_eq!(
            err(&format!("/login a {}", "x".repeat(1025))),
            ArgError::BadArgs
        );
        assert!(matches!(
            ok(&format!("/unregister {}", "x".repeat(1024))),
            Command::Unregister { .. }
        ));
        assert!(matches!(
            ok("/register p"),
            Command::Register { name: None, .. }
        ));
        assert!(matches!(
            ok("/register b@d p"),
            Command::Register { name: Some(_), .. }
        ));
        assert_eq!(err("/register a b c"), ArgError::BadArgs);
        assert_eq!(err("/passwd only-one"), ArgError::BadArgs);
    }

    #[test]
    fn names_follow_the_rule() {
        assert!(is_valid_name("Alice_01-x"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name("é"));
        assert!(!is_valid_name("*"));
    }
}
