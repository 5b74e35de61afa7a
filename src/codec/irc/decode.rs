//! A connection's IRC state and its input: registration (`NICK`, `USER`, `PASS`),
//! capability negotiation, SASL, and IRC commands turned into the core's input.
//!
//! IRC asks more of a codec than parley's lines do. Registration is a conversation the
//! gateway holds by itself (`CAP`, `AUTHENTICATE`) and hands to the core only when it
//! is complete and the client has been admitted; one line can mean several inputs
//! (`JOIN #a,#b`); and some inputs follow from what the core said (the names that
//! follow a join). So the decoder keeps inputs that follow (`Follow`), which it hands
//! out before reading more, and watches the events its client is sent
//! ([`Decoder::observe`]).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;

use zeroize::{Zeroize, Zeroizing};

use super::encode::{Encoder, MAX_LINE};
use super::message::Message;
use super::sasl::{self, MAX_PAYLOAD};
use super::{Caps, Context, View};
use crate::codec::parley::framer::{self, Frame, LineFramer};
use crate::codec::parley::grammar;
use crate::codec::{Line, Observed, Step};
use crate::hub::names::{is_valid_name, SERVICE};
use crate::hub::{Command, Event, Input, LeaveReason, Secret, UsersOf, Verb};

/// The longest `CAP REQ` list granted, in bytes: the `ACK` repeats it, and must fit in
/// one IRC line with its head.
const MAX_CAP_REQUEST: usize = 400;

/// Input that follows from a line already read, or from an event.
#[derive(Debug)]
enum Follow {
    /// Registration is complete: name the client (or log it in with `PASS`).
    Register,
    /// A SASL login to try.
    Login(sasl::Plain),
    /// `echo-message` was turned on or off.
    Echo(bool),
    /// The names of a channel just joined.
    Names(String),
}

/// A password, or a payload that holds one: wiped when dropped, never printed.
struct Hidden(Zeroizing<String>);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where SASL stands.
#[derive(Debug, Default)]
enum Sasl {
    /// Not started, or over.
    #[default]
    Idle,
    /// `AUTHENTICATE PLAIN` came; the payload is being collected.
    Payload(Hidden),
    /// A login waits for the client to be admitted.
    Ready(sasl::Plain),
}

/// One IRC connection's state.
#[derive(Debug)]
pub struct Decoder {
    framer: LineFramer,
    max_line: usize,
    /// The nick given, and once registered the name the core knows.
    nick: String,
    /// The client sent `NICK` before registration was over.
    nick_given: bool,
    user_given: bool,
    password: Option<Hidden>,
    sasl: Sasl,
    negotiating: bool,
    caps: Caps,
    /// The core sent `HELLO`: registration may be handed to it.
    admitted: bool,
    /// Registration was handed to the core, which has not answered yet.
    submitted: bool,
    /// The core named the client.
    registered: bool,
    /// A SASL login's welcome waits for `CAP END`, with the user count for LUSERS.
    welcome_held: Option<usize>,
    context: Context,
    target: String,
    follow: VecDeque<Follow>,
    /// Targets of the current line already handed out (`JOIN #a,#b`).
    cursor: usize,
    /// The user whose `QUIT` this client was sent last, until it is seen again.
    last_quit: String,
}

/// The result of reading one line.
enum Read<'a> {
    Input(Input<'a>),
    Answer(Line),
    Nothing,
}

impl Decoder {
    /// The state of a new connection, with lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Decoder {
        Decoder {
            framer: LineFramer::irc(max_line),
            max_line,
            nick: String::new(),
            nick_given: false,
            user_given: false,
            password: None,
            sasl: Sasl::Idle,
            negotiating: false,
            caps: Caps::default(),
            admitted: false,
            submitted: false,
            registered: false,
            welcome_held: None,
            context: Context::None,
            target: String::new(),
            follow: VecDeque::new(),
            cursor: 0,
            last_quit: String::new(),
        }
    }

    /// The client's nick as numerics name it: `*` before registration.
    fn shown_nick(&self) -> &str {
        if self.registered {
            &self.nick
        } else {
            "*"
        }
    }

    /// What the encoder needs to know of this client.
    pub fn view(&self) -> View<'_> {
        View {
            nick: self.shown_nick(),
            caps: self.caps,
            context: self.context,
            target: &self.target,
            welcome_held: self.welcome_held.is_some(),
        }
    }

    /// Which shared encoding `event` can use for this client: the lines that fan out
    /// depend only on whether the client asked for `server-time`.
    pub fn shared_form(&self, event: &Event<'_>) -> Option<usize> {
        match event {
            // A client's own join is followed by its topic numeric.
            Event::Join { name, .. } if *name == self.nick => None,
            Event::Msg { .. }
            | Event::Broadcast { .. }
            | Event::Join { .. }
            | Event::Leave { .. }
            | Event::Nick { .. } => Some(usize::from(self.caps.has(Caps::SERVER_TIME))),
            _ => None,
        }
    }

    /// Watches an event sent to this client: its name, its admission and its joins
    /// change what the decoder does next.
    pub fn observe(&mut self, event: &Event<'_>) -> Observed {
        let mut observed = Observed::default();
        match *event {
            Event::Hello => {
                self.admitted = true;
                match std::mem::take(&mut self.sasl) {
                    Sasl::Ready(login) => self.follow.push_back(Follow::Login(login)),
                    other => {
                        self.sasl = other;
                        self.try_register();
                    }
                }
                observed.read = self.has_follow_up();
            }
            Event::Welcome { name, users } => {
                self.nick.clear();
                self.nick.push_str(name);
                self.registered = true;
                self.submitted = false;
                self.password = None;
                if self.negotiating {
                    self.welcome_held = Some(users);
                    observed.hold = true;
                }
            }
            Event::Join { room, name } if self.registered && name == self.nick => {
                self.follow.push_back(Follow::Names(room.to_owned()));
                observed.read = self.has_follow_up();
            }
            Event::Leave { name, reason, .. } if reason != LeaveReason::Left => {
                // A user who quits leaves its rooms one after another, with nothing
                // else in between: the second of two such leaves in a row is the same
                // departure.
                observed.skip = name == self.last_quit;
                self.last_quit.clear();
                self.last_quit.push_str(name);
                return observed;
            }
            Event::Nick { old, new } if old == self.nick => {
                self.nick.clear();
                self.nick.push_str(new);
            }
            Event::Error(_) if matches!(self.context, Context::Register | Context::Sasl) => {
                // Refused: the client may try again with another nick or password.
                self.submitted = false;
                if self.context == Context::Sasl {
                    // A failed SASL login leaves the guest registration it may also
                    // have asked for.
                    self.try_register();
                    observed.read = self.has_follow_up();
                }
            }
            _ => {}
        }
        self.last_quit.clear();
        observed
    }

    /// Takes the next unit of input: input that follows from before, or the next line
    /// of `bytes`. Text is cleaned of IRC's formatting codes in place.
    pub fn next<'a>(&mut self, bytes: &'a mut [u8]) -> Step<'a> {
        if let Some(input) = self.next_follow() {
            return Step::Input(input, 0);
        }
        let (len, used) = match self.framer.next_frame(bytes) {
            framer::Step::NeedMore { used } => return Step::NeedMore { used },
            framer::Step::Frame(Frame::Line(line), used) => (line.len(), used),
            framer::Step::Frame(Frame::TooLong, used) => {
                self.context = Context::None;
                return Step::Input(
                    Input::TooLong {
                        limit: self.max_line,
                    },
                    used,
                );
            }
            framer::Step::Frame(Frame::BadText, used) => {
                self.context = Context::None;
                return Step::Input(Input::BadText, used);
            }
        };
        let line = &mut bytes[..len];
        match self.line(line) {
            Read::Input(input) if self.cursor > 0 => Step::Input(input, 0),
            Read::Input(input) => Step::Input(input, used),
            Read::Answer(answer) => Step::Answer {
                line: answer,
                used,
                release: false,
            },
            Read::Nothing
                if self.welcome_held.is_some()
                    && !self.negotiating
                    && self.nick_given
                    && self.user_given =>
            {
                // `CAP END`, `NICK` and `USER` after a SASL login: the welcome goes out
                // now, ahead of what was held behind it.
                let users = self.welcome_held.take().unwrap_or(0);
                Step::Answer {
                    line: Encoder::new().welcome_line(&self.nick, users),
                    used,
                    release: true,
                }
            }
            Read::Nothing => Step::Input(Input::Blank, used),
        }
    }

    /// True when input waits to be handed out without more bytes.
    pub fn has_follow_up(&self) -> bool {
        match self.follow.front() {
            None => false,
            // The names of a channel wait for a held welcome.
            Some(Follow::Names(_)) => self.welcome_held.is_none(),
            Some(_) => true,
        }
    }

    fn next_follow(&mut self) -> Option<Input<'static>> {
        if !self.has_follow_up() {
            return None;
        }
        Some(match self.follow.pop_front()? {
            Follow::Register => {
                self.submitted = true;
                let name = Cow::Owned(self.nick.clone());
                self.set_context(Context::Register, &name);
                match self.password.take() {
                    Some(password) => Input::Command(
                        Verb::Login,
                        Ok(Command::Login {
                            name,
                            password: Secret(Cow::Owned(password.0.to_string())),
                        }),
                    ),
                    None => Input::Command(Verb::Name, Ok(Command::Name(name))),
                }
            }
            Follow::Login(login) => {
                self.submitted = true;
                self.set_context(Context::Sasl, "");
                Input::Command(
                    Verb::Login,
                    Ok(Command::Login {
                        name: Cow::Owned(login.name.clone()),
                        password: Secret(Cow::Owned(login.password.to_string())),
                    }),
                )
            }
            Follow::Echo(on) => Input::Echo(on),
            Follow::Names(room) => {
                let target = format!("#{room}");
                self.set_context(Context::Names, &target);
                Input::Command(
                    Verb::Users,
                    Ok(Command::Users(UsersOf::Members(Cow::Owned(room)))),
                )
            }
        })
    }

    fn set_context(&mut self, context: Context, target: &str) {
        self.context = context;
        self.target.clear();
        self.target.push_str(target);
    }

    /// Hands registration to the core once it is complete and the client admitted.
    fn try_register(&mut self) {
        if self.admitted
            && !self.registered
            && !self.submitted
            && !self.negotiating
            && self.user_given
            && !self.nick.is_empty()
            && !self.follow.iter().any(|f| matches!(f, Follow::Register))
        {
            self.follow.push_back(Follow::Register);
        }
    }

    fn numeric(&self, number: &str, rest: &str) -> Read<'static> {
        Read::Answer(Encoder::new().numeric_line(self.shown_nick(), number, rest))
    }

    /// One line, without its line ending.
    fn line<'a>(&mut self, line: &'a mut [u8]) -> Read<'a> {
        let Some(message) = Message::parse(line) else {
            return Read::Nothing;
        };
        let mut command = [0u8; 16];
        let word = &line[message.command.clone()];
        let n = word.len().min(command.len());
        command[..n].copy_from_slice(&word[..n]);
        command[..n].make_ascii_uppercase();
        let command = std::str::from_utf8(&command[..n]).unwrap_or("");
        if !matches!(command, "JOIN" | "PART") {
            // Only a channel list is read more than once.
            self.cursor = 0;
        }
        if matches!(command, "PASS" | "AUTHENTICATE") {
            // What a password line is worth is taken now; its bytes go, whatever the
            // answer.
            let read = self.password_line(command, line, &message);
            line.zeroize();
            return read;
        }
        self.command(command, line, &message)
    }

    /// `PASS` and `AUTHENTICATE`, whose lines carry passwords.
    fn password_line(&mut self, command: &str, line: &[u8], message: &Message) -> Read<'static> {
        if line.len() - message.tags.len() > MAX_LINE - 2 {
            return self.numeric("417", ":Input line was too long");
        }
        if command == "AUTHENTICATE" {
            return self.authenticate(line, message);
        }
        if self.registered {
            return self.numeric("462", ":You may not reregister");
        }
        let Some(range) = message.param(0) else {
            return self.numeric("461", "PASS :Not enough parameters");
        };
        let password = String::from_utf8_lossy(&line[range]).into_owned();
        self.password = Some(Hidden(Zeroizing::new(password)));
        Read::Nothing
    }

    /// One command, its word in capitals.
    fn command<'a>(&mut self, command: &str, line: &'a mut [u8], message: &Message) -> Read<'a> {
        if line.len() - message.tags.len() > MAX_LINE - 2 {
            return self.numeric("417", ":Input line was too long");
        }
        let before = matches!(
            command,
            "CAP" | "NICK" | "USER" | "PASS" | "AUTHENTICATE" | "PING" | "PONG" | "QUIT"
        );
        // A SASL login's welcome waits for CAP END, and so does everything else.
        if (!self.registered || self.welcome_held.is_some()) && !before {
            return self.numeric("451", ":You have not registered");
        }
        if self.welcome_held.is_some() && matches!(command, "NICK" | "USER") {
            // Registration as the client sees it is not over (irssi sends NICK and USER
            // after CAP END): the welcome waits for both, and the account's name is the
            // nick it brings, whatever the client asks for now.
            if command == "NICK" {
                self.nick_given = true;
            } else {
                self.user_given = true;
            }
            return Read::Nothing;
        }
        match command {
            "CAP" => self.cap(line, message),
            "NICK" => self.nick(line, message),
            "USER" => {
                if self.registered {
                    return self.numeric("462", ":You may not reregister");
                }
                if message.len() < 4 {
                    return self.numeric("461", "USER :Not enough parameters");
                }
                self.user_given = true;
                self.try_register();
                Read::Nothing
            }
            "PING" => match message.param(0) {
                Some(range) => {
                    self.set_context(Context::None, "");
                    let token = as_str(line, range);
                    Read::Input(command_input(Verb::Ping, Command::Ping(Some(token.into()))))
                }
                None => self.numeric("409", ":No origin specified"),
            },
            "PONG" => Read::Input(command_input(Verb::Pong, Command::Pong)),
            "QUIT" => {
                self.set_context(Context::None, "");
                let text = match message.param(0).map(|range| clean_text(line, range)) {
                    Some(Ok((line, range))) => Some(as_str(line, range)),
                    _ => None,
                };
                Read::Input(command_input(Verb::Quit, Command::Quit(text)))
            }
            "JOIN" | "PART" => self.channels(command, line, message),
            "PRIVMSG" | "NOTICE" => self.message(command, line, message),
            "NAMES" => match message.param(0) {
                Some(range) => {
                    let target = first_target(as_str(line, range));
                    self.set_context(Context::Names, target);
                    Read::Input(members_of(target))
                }
                None => self.numeric("366", "* :End of /NAMES list."),
            },
            "LIST" => {
                // `LIST #a,#b` lists those channels only.
                let channels = message.param(0).map_or("", |range| as_str(line, range));
                self.set_context(Context::List, channels);
                Read::Input(command_input(Verb::Rooms, Command::Rooms))
            }
            "WHO" => match message.param(0) {
                Some(range) => {
                    let mask = as_str(line, range);
                    self.set_context(Context::Who, mask);
                    if mask.starts_with('#') {
                        Read::Input(members_of(mask))
                    } else {
                        Read::Input(command_input(
                            Verb::Users,
                            Command::Users(UsersOf::One(mask.into())),
                        ))
                    }
                }
                None => self.numeric("315", "* :End of /WHO list."),
            },
            "WHOIS" => match message.param(message.len().saturating_sub(1)) {
                Some(range) => {
                    let nick = first_target(as_str(line, range));
                    self.set_context(Context::Whois, nick);
                    Read::Input(command_input(
                        Verb::Users,
                        Command::Users(UsersOf::One(nick.into())),
                    ))
                }
                None => self.numeric("431", ":No nickname given"),
            },
            "LUSERS" => {
                self.set_context(Context::Lusers, "");
                Read::Input(command_input(
                    Verb::Users,
                    Command::Users(UsersOf::Everyone),
                ))
            }
            "MOTD" => Read::Answer(Encoder::new().motd_line(&self.nick)),
            "AWAY" => match message.param(0).filter(|range| !range.is_empty()) {
                Some(_) => self.numeric("306", ":You have been marked as being away"),
                None => self.numeric("305", ":You are no longer marked as being away"),
            },
            "TOPIC" => match message.param(0) {
                None => self.numeric("461", "TOPIC :Not enough parameters"),
                Some(range) if message.len() == 1 => {
                    let channel = as_str(line, range);
                    self.set_context(Context::Topic, channel);
                    Read::Input(members_of(channel))
                }
                Some(range) => {
                    let channel = as_str(line, range);
                    self.numeric("482", &format!("{channel} :Topics are not supported here"))
                }
            },
            "MODE" => self.mode(line, message),
            // No operators: whoever kicks is not one (or the channel does not exist).
            "KICK" => match message.param(0).filter(|_| message.len() >= 2) {
                Some(range) => {
                    let channel = as_str(line, range);
                    self.set_context(Context::Kick, channel);
                    Read::Input(members_of(channel))
                }
                None => self.numeric("461", "KICK :Not enough parameters"),
            },
            "USERHOST" => self.numeric("302", ":"),
            _ => {
                let word = as_str(line, message.command.clone());
                self.numeric("421", &format!("{word} :Unknown command"))
            }
        }
    }

    fn cap<'a>(&mut self, line: &'a [u8], message: &Message) -> Read<'a> {
        let sub = message
            .param(0)
            .map(|range| as_str(line, range).to_ascii_uppercase())
            .unwrap_or_default();
        let nick = if self.registered {
            self.nick.clone()
        } else {
            "*".into()
        };
        let reply = |text: String| Read::Answer(Line::from_bytes(text.as_bytes()));
        match sub.as_str() {
            "LS" => {
                if !self.registered {
                    self.negotiating = true;
                }
                let v302 = message
                    .param(1)
                    .is_some_and(|range| as_str(line, range).parse::<u32>().unwrap_or(0) >= 302);
                let list: Vec<String> = Caps::NAMES
                    .iter()
                    .map(|&(name, _)| match name {
                        "sasl" if v302 => "sasl=PLAIN".to_owned(),
                        _ => name.to_owned(),
                    })
                    .collect();
                reply(format!(
                    ":{} CAP {nick} LS :{}\r\n",
                    super::SERVER_NAME,
                    list.join(" ")
                ))
            }
            "LIST" => {
                let list: Vec<&str> = Caps::NAMES
                    .iter()
                    .filter(|&&(_, bit)| self.caps.has(bit))
                    .map(|&(name, _)| name)
                    .collect();
                reply(format!(
                    ":{} CAP {nick} LIST :{}\r\n",
                    super::SERVER_NAME,
                    list.join(" ")
                ))
            }
            "REQ" => {
                if !self.registered {
                    self.negotiating = true;
                }
                let asked = message.param(1).map_or("", |range| as_str(line, range));
                if asked.len() > MAX_CAP_REQUEST {
                    // Too long to repeat in a reply: refused, as IRC refuses a request
                    // with any capability it cannot grant.
                    return self.numeric("410", "REQ :Too many capabilities requested");
                }
                let mut caps = self.caps;
                for word in asked.split(' ').filter(|w| !w.is_empty()) {
                    let (off, name) = match word.strip_prefix('-') {
                        Some(name) => (true, name),
                        None => (false, word),
                    };
                    let Some(bit) = Caps::named(name) else {
                        return reply(format!(
                            ":{} CAP {nick} NAK :{asked}\r\n",
                            super::SERVER_NAME
                        ));
                    };
                    if off {
                        caps.0 &= !bit;
                    } else {
                        caps.0 |= bit;
                    }
                }
                let echo = caps.has(Caps::ECHO_MESSAGE);
                if echo != self.caps.has(Caps::ECHO_MESSAGE) {
                    // One echo setting waits at most: the last.
                    self.follow.retain(|f| !matches!(f, Follow::Echo(_)));
                    self.follow.push_back(Follow::Echo(echo));
                }
                self.caps = caps;
                reply(format!(
                    ":{} CAP {nick} ACK :{asked}\r\n",
                    super::SERVER_NAME
                ))
            }
            "END" => {
                self.negotiating = false;
                self.try_register();
                Read::Nothing
            }
            _ => {
                let sub = if sub.is_empty() { "*".to_owned() } else { sub };
                self.numeric("410", &format!("{sub} :Invalid CAP command"))
            }
        }
    }

    fn authenticate(&mut self, line: &[u8], message: &Message) -> Read<'static> {
        // A client may try SASL without requesting the capability, as long as it was
        // offered (irctest and some bots do).
        if self.registered {
            return self.numeric("907", ":You have already authenticated using SASL");
        }
        let Some(range) = message.param(0) else {
            return self.numeric("461", "AUTHENTICATE :Not enough parameters");
        };
        let word = as_str(line, range);
        if word == "*" {
            self.sasl = Sasl::Idle;
            return self.numeric("906", ":SASL authentication aborted");
        }
        match &mut self.sasl {
            Sasl::Idle | Sasl::Ready(_) => {
                if !word.eq_ignore_ascii_case("PLAIN") {
                    let mut answer = Encoder::new();
                    let nick = self.shown_nick();
                    let mut text = answer
                        .numeric_line(nick, "904", ":SASL authentication failed")
                        .to_vec();
                    text.extend_from_slice(&answer.numeric_line(
                        nick,
                        "908",
                        "PLAIN :are available SASL mechanisms",
                    ));
                    return Read::Answer(Line::from_bytes(&text));
                }
                // Room for the largest payload at once: growing would leave copies
                // of the password behind, unwiped.
                let room = String::with_capacity(MAX_PAYLOAD + sasl::CHUNK);
                self.sasl = Sasl::Payload(Hidden(Zeroizing::new(room)));
                Read::Answer(Line::from_bytes(b"AUTHENTICATE +\r\n"))
            }
            Sasl::Payload(payload) => {
                if word != "+" && payload.0.len() + word.len() <= MAX_PAYLOAD {
                    payload.0.push_str(word);
                } else if word != "+" {
                    self.sasl = Sasl::Idle;
                    return self.numeric("905", ":SASL message too long");
                }
                if payload.0.len() > MAX_PAYLOAD {
                    self.sasl = Sasl::Idle;
                    return self.numeric("905", ":SASL message too long");
                }
                // A chunk of 400 bytes means more follows.
                if word.len() == sasl::CHUNK {
                    return Read::Nothing;
                }
                let result = sasl::plain(&payload.0);
                self.sasl = Sasl::Idle;
                match result {
                    Ok(login) if self.admitted => {
                        self.follow.push_back(Follow::Login(login));
                        Read::Nothing
                    }
                    Ok(login) => {
                        self.sasl = Sasl::Ready(login);
                        Read::Nothing
                    }
                    Err(_) => self.numeric("904", ":SASL authentication failed"),
                }
            }
        }
    }

    fn nick<'a>(&mut self, line: &'a [u8], message: &Message) -> Read<'a> {
        let Some(range) = message.param(0).filter(|range| !range.is_empty()) else {
            return self.numeric("431", ":No nickname given");
        };
        let nick = as_str(line, range);
        if self.registered {
            self.set_context(Context::Nick, nick);
            return Read::Input(command_input(Verb::Nick, Command::Nick(nick.into())));
        }
        if !is_valid_name(nick) {
            return self.numeric("432", &format!("{nick} :Erroneous nickname"));
        }
        if nick.eq_ignore_ascii_case(SERVICE) {
            return self.numeric("433", &format!("{nick} :Nickname is already in use"));
        }
        self.nick.clear();
        self.nick.push_str(nick);
        self.nick_given = true;
        self.try_register();
        Read::Nothing
    }

    fn mode<'a>(&mut self, line: &'a [u8], message: &Message) -> Read<'a> {
        let Some(range) = message.param(0) else {
            return self.numeric("461", "MODE :Not enough parameters");
        };
        let target = as_str(line, range);
        let change = message.param(1).map(|range| as_str(line, range));
        match (target.starts_with('#'), change) {
            (true, None) => self.numeric("324", &format!("{target} +")),
            (true, Some(modes)) if modes.trim_start_matches('+') == "b" => {
                self.numeric("368", &format!("{target} :End of channel ban list"))
            }
            (true, Some(_)) => self.numeric(
                "482",
                &format!("{target} :Channel modes are not supported here"),
            ),
            (false, _) if target.eq_ignore_ascii_case(&self.nick) => self.numeric("221", "+"),
            (false, _) => self.numeric("502", ":Can't change mode for other users"),
        }
    }

    /// `JOIN` and `PART`: one input per channel of the list, the line read again for
    /// each.
    fn channels<'a>(&mut self, command: &str, line: &'a [u8], message: &Message) -> Read<'a> {
        let Some(range) = message.param(0) else {
            return self.numeric("461", &format!("{command} :Not enough parameters"));
        };
        let list = as_str(line, range);
        let mut targets = list.split(',').filter(|t| !t.is_empty());
        let Some(channel) = targets.nth(self.cursor) else {
            self.cursor = 0;
            return Read::Nothing;
        };
        let more = targets.next().is_some();
        self.cursor = if more { self.cursor + 1 } else { 0 };
        let (context, verb) = if command == "JOIN" {
            (Context::Join, Verb::Join)
        } else {
            (Context::Part, Verb::Leave)
        };
        self.set_context(context, channel);
        Read::Input(room_input(channel, verb, |room| {
            if verb == Verb::Join {
                Command::Enter(room)
            } else {
                Command::Leave(Some(room))
            }
        }))
    }

    /// `PRIVMSG` and `NOTICE`: to a channel, a nick, everyone (`$*`) or the service.
    fn message<'a>(&mut self, command: &str, line: &'a mut [u8], message: &Message) -> Read<'a> {
        let notice = command == "NOTICE";
        let context = if notice {
            Context::Notice
        } else {
            Context::Privmsg
        };
        let Some(target) = message.param(0) else {
            self.set_context(context, "");
            return if notice {
                Read::Nothing
            } else {
                self.numeric("411", ":No recipient given (PRIVMSG)")
            };
        };
        self.set_context(context, as_str(line, target.clone()));
        if self.target.contains(',') {
            return self.numeric("407", &format!("{} :Too many recipients", self.target));
        }
        let Some(text) = message.param(1).filter(|range| !range.is_empty()) else {
            return if notice {
                Read::Nothing
            } else {
                self.numeric("412", ":No text to send")
            };
        };
        if self.target.eq_ignore_ascii_case(SERVICE) {
            if notice {
                return Read::Nothing;
            }
            self.set_context(Context::Service, "");
            // Commands to the service carry text into rooms and boards: cleaned as any.
            let kept = strip_formatting(&mut line[text.clone()]);
            let text = text.start..text.start + kept;
            if has_controls(&line[text.clone()]) {
                return Read::Input(Input::BadText);
            }
            return service(line, text);
        }
        let (line, text) = match clean_text(line, text) {
            Ok(clean) => clean,
            Err(Clean::Ctcp) => return Read::Nothing,
            Err(Clean::BadText) => return Read::Input(Input::BadText),
        };
        if text.is_empty() {
            return if notice {
                Read::Nothing
            } else {
                self.numeric("412", ":No text to send")
            };
        }
        let text = as_str(line, text);
        let target = as_str(line, target);
        Read::Input(if let Some(room) = target.strip_prefix('#') {
            if !is_valid_name(room) {
                return Read::Input(Input::Command(
                    Verb::Say,
                    Err(crate::hub::ArgError::BadRoomName),
                ));
            }
            command_input(
                Verb::Say,
                Command::Say {
                    room: room.into(),
                    text,
                    notice,
                },
            )
        } else if target.starts_with('$') {
            command_input(Verb::Broadcast, Command::Broadcast(text))
        } else if is_valid_name(target) {
            command_input(
                Verb::Msg,
                Command::Msg {
                    to: target.into(),
                    text,
                    notice,
                },
            )
        } else {
            Input::Command(Verb::Msg, Err(crate::hub::ArgError::BadName))
        })
    }
}

/// Why a message's text was not passed on.
enum Clean {
    /// A CTCP request other than `ACTION`: nothing to pass on.
    Ctcp,
    /// Control characters beyond IRC's formatting codes.
    BadText,
}

/// Strips IRC formatting codes from the text at `range` in place and turns a CTCP
/// `ACTION` into `* text`; returns the line, frozen, with the range of the clean text.
fn clean_text(line: &mut [u8], range: Range<usize>) -> Result<(&[u8], Range<usize>), Clean> {
    let mut range = range;
    if line[range.clone()].first() == Some(&0x01) {
        let inner = &line[range.start + 1..range.end];
        let inner_len = inner.len() - usize::from(inner.last() == Some(&0x01));
        const ACTION: &[u8] = b"ACTION ";
        if !inner[..inner_len].starts_with(ACTION) {
            return Err(Clean::Ctcp);
        }
        // "\x01ACTION waves\x01" becomes "* waves": the two bytes before the action's
        // text take the star and the space.
        let text_start = range.start + 1 + ACTION.len();
        line[text_start - 2] = b'*';
        line[text_start - 1] = b' ';
        range = text_start - 2..range.start + 1 + inner_len;
    }
    if !line[range.clone()].iter().any(|&b| b < 0x20 || b == 0x7f) {
        // Nearly always: nothing to strip and nothing to refuse.
        return Ok((line, range));
    }
    let kept = strip_formatting(&mut line[range.clone()]);
    let range = range.start..range.start + kept;
    if has_controls(&line[range.clone()]) {
        return Err(Clean::BadText);
    }
    Ok((line, range))
}

/// Control characters that are left once formatting codes are gone: CTCP's `\x01`
/// where it has no place, and anything else parley text may not hold.
fn has_controls(text: &[u8]) -> bool {
    text.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f)
}

/// Removes IRC's formatting codes (bold, colours and their arguments, italics, ...)
/// from `text` in place; returns the length of what is left.
fn strip_formatting(text: &mut [u8]) -> usize {
    let digits = |text: &[u8], at: usize, hex: bool, max: usize| {
        text[at.min(text.len())..]
            .iter()
            .take(max)
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count()
    };
    let (mut read, mut write) = (0, 0);
    while read < text.len() {
        match text[read] {
            0x02 | 0x0f | 0x11 | 0x16 | 0x1d | 0x1e | 0x1f => read += 1,
            code @ (0x03 | 0x04) => {
                let (hex, max) = if code == 0x04 { (true, 6) } else { (false, 2) };
                read += 1;
                let n = digits(text, read, hex, max);
                read += n;
                if n > 0 && text.get(read) == Some(&b',') {
                    let m = digits(text, read + 1, hex, max);
                    if m > 0 {
                        read += 1 + m;
                    }
                }
            }
            byte => {
                text[write] = byte;
                write += 1;
                read += 1;
            }
        }
    }
    write
}

/// A message to the service nick: a parley command, with or without its slash.
fn service(line: &mut [u8], text: Range<usize>) -> Read<'_> {
    if text.is_empty() {
        return Read::Input(Input::Blank);
    }
    let start = if line[text.start] == b'/' {
        text.start
    } else {
        // The byte before the text (its colon, or a space) becomes the slash.
        line[text.start - 1] = b'/';
        text.start - 1
    };
    let line: &[u8] = line;
    match std::str::from_utf8(&line[start..text.end]) {
        Ok(command) => Read::Input(grammar::parse(command)),
        Err(_) => Read::Input(Input::BadText),
    }
}

/// The first of a comma-separated list.
fn first_target(list: &str) -> &str {
    list.split(',').next().unwrap_or(list)
}

fn as_str(line: &[u8], range: Range<usize>) -> &str {
    std::str::from_utf8(&line[range]).unwrap_or("")
}

fn command_input(verb: Verb, command: Command<'_>) -> Input<'_> {
    Input::Command(verb, Ok(command))
}

/// The members of `channel`'s room, in no order (`NAMES`, `WHO`; and `TOPIC` and
/// `KICK`, whose answers say whether the room exists).
fn members_of(channel: &str) -> Input<'_> {
    room_input(channel, Verb::Users, |room| {
        Command::Users(UsersOf::Members(room))
    })
}

/// A command on the channel `channel`: its room, or `bad-room-name` for what cannot be
/// a channel of parley's.
fn room_input<'a>(
    channel: &'a str,
    verb: Verb,
    command: impl FnOnce(Cow<'a, str>) -> Command<'a>,
) -> Input<'a> {
    match channel.strip_prefix('#') {
        Some(room) if is_valid_name(room) => Input::Command(verb, Ok(command(room.into()))),
        _ => Input::Command(verb, Err(crate::hub::ArgError::BadRoomName)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What one step made of `line`: the input as `Debug` text, an answer's text, or
    /// `NeedMore`; and the bytes used.
    fn step(decoder: &mut Decoder, line: &str) -> (String, usize) {
        let mut bytes = line.as_bytes().to_vec();
        describe(decoder.next(&mut bytes))
    }

    fn describe(step: Step<'_>) -> (String, usize) {
        match step {
            Step::Input(input, used) => (format!("{input:?}"), used),
            Step::Answer { line, used, .. } => (String::from_utf8_lossy(&line).into_owned(), used),
            Step::NeedMore { used } => ("NeedMore".into(), used),
        }
    }

    /// Input that follows without more bytes.
    fn follow(decoder: &mut Decoder) -> String {
        describe(decoder.next(&mut [])).0
    }

    fn admitted() -> Decoder {
        let mut decoder = Decoder::new(4096);
        decoder.observe(&Event::Hello);
        decoder
    }

    #[test]
    fn registration_waits_for_nick_user_and_admission() {
        let mut decoder = Decoder::new(4096);
        assert_eq!(step(&mut decoder, "NICK al\r\n").0, "Blank");
        assert_eq!(step(&mut decoder, "USER al 0 * :Al\r\n").0, "Blank");
        assert!(!decoder.has_follow_up(), "not admitted yet");
        let observed = decoder.observe(&Event::Hello);
        assert!(observed.read);
        assert_eq!(follow(&mut decoder), r#"Command(Name, Ok(Name("al")))"#);
        assert_eq!(follow(&mut decoder), "NeedMore");
    }

    #[test]
    fn cap_holds_registration_until_end_and_echo_follows_req() {
        let mut decoder = admitted();
        let (ls, used) = step(&mut decoder, "CAP LS 302\r\n");
        assert!(ls.contains(" LS :sasl=PLAIN server-time"), "{ls}");
        assert_eq!(used, 12);
        step(&mut decoder, "NICK al\r\n");
        step(&mut decoder, "USER al 0 * :Al\r\n");
        assert!(!decoder.has_follow_up(), "still negotiating");
        let (ack, _) = step(&mut decoder, "CAP REQ :echo-message\r\n");
        assert!(ack.ends_with("ACK :echo-message\r\n"), "{ack}");
        assert_eq!(follow(&mut decoder), "Echo(true)");
        assert_eq!(step(&mut decoder, "CAP END\r\n").0, "Blank");
        assert_eq!(follow(&mut decoder), r#"Command(Name, Ok(Name("al")))"#);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Any bytes, registered or not: the decoder never panics, and every step
        /// either uses bytes, hands out a follow-up (at most a few in a row), or waits
        /// for more.
        #[test]
        fn any_input_is_decoded_without_panics_or_stalls(
            registered_first in proptest::bool::ANY,
            chunks in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::num::u8::ANY, 0..80),
                    proptest::sample::select(vec![
                        b"JOIN #a,,#b,#c\r\n".to_vec(),
                        b"PRIVMSG parley :\x01ACTION x\r\n".to_vec(),
                        b"PRIVMSG #r :\x01\x01\r\n".to_vec(),
                        b"PRIVMSG parley \r\n".to_vec(),
                        b"AUTHENTICATE PLAIN\r\nAUTHENTICATE =\r\n".to_vec(),
                        b"CAP REQ :sasl -echo-message\r\nCAP END\r\n".to_vec(),
                        b"@a :b c\r\n:only-prefix\r\n@tags-only\r\n".to_vec(),
                    ]),
                ],
                1..12,
            ),
        ) {
            let mut decoder = if registered_first { registered() } else { admitted() };
            let mut held: Vec<u8> = Vec::new();
            for chunk in chunks {
                held.extend_from_slice(&chunk);
                let mut idle_steps = 0;
                loop {
                    let (used, more) = match decoder.next(&mut held) {
                        Step::NeedMore { used } => (used, false),
                        Step::Input(_, used) | Step::Answer { used, .. } => (used, true),
                    };
                    held.drain(..used);
                    if !more {
                        break;
                    }
                    idle_steps = if used == 0 { idle_steps + 1 } else { 0 };
                    proptest::prop_assert!(idle_steps < 16, "no progress");
                }
            }
        }
    }

    fn quit(name: &str) -> Event<'_> {
        Event::Leave {
            room: "r",
            name,
            reason: LeaveReason::Quit,
            text: "",
        }
    }

    #[test]
    fn one_quit_per_departure_and_every_departure_told() {
        let mut decoder = registered();
        assert!(!decoder.observe(&quit("bo")).skip);
        assert!(decoder.observe(&quit("bo")).skip, "bo's second room");
        // Someone else takes the name and quits in turn: that is news.
        decoder.observe(&Event::Nick {
            old: "cy",
            new: "bo",
        });
        assert!(!decoder.observe(&quit("bo")).skip);
    }

    #[test]
    fn a_failed_sasl_login_falls_back_to_registering_as_a_guest() {
        // Everything sent at once while waiting in the queue.
        let mut decoder = Decoder::new(4096);
        for line in [
            "CAP REQ :sasl\r\n",
            "AUTHENTICATE PLAIN\r\n",
            "AUTHENTICATE AGFsAHNlY3JldDE=\r\n",
            "NICK al\r\n",
            "USER al 0 * :Al\r\n",
            "CAP END\r\n",
        ] {
            step(&mut decoder, line);
        }
        assert!(decoder.observe(&Event::Hello).read);
        assert!(follow(&mut decoder).starts_with("Command(Login"));
        let refused = decoder.observe(&Event::Error(crate::hub::ErrorCode::BadLogin.into()));
        assert!(refused.read);
        assert_eq!(follow(&mut decoder), r#"Command(Name, Ok(Name("al")))"#);
    }

    #[test]
    fn nothing_but_registration_while_a_welcome_is_held() {
        let mut decoder = admitted();
        step(&mut decoder, "CAP REQ :sasl\r\n");
        step(&mut decoder, "AUTHENTICATE PLAIN\r\n");
        step(&mut decoder, "AUTHENTICATE AGFsAHNlY3JldDE=\r\n");
        follow(&mut decoder);
        decoder.observe(&Event::Welcome {
            name: "al",
            users: 1,
        });
        assert_eq!(
            step(&mut decoder, "PRIVMSG parley :help\r\n").0,
            ":irc.parley 451 al :You have not registered\r\n"
        );
        // A client may still send its NICK and USER (irssi does, after 903).
        assert_eq!(step(&mut decoder, "NICK root\r\n").0, "Blank");
        assert_eq!(step(&mut decoder, "USER root 0 * :r\r\n").0, "Blank");
        // Lines read while nothing is handed out (as when the client is held): the
        // echo settings do not pile up.
        for _ in 0..10 {
            for line in ["CAP REQ :echo-message", "CAP REQ :-echo-message"] {
                decoder.line(&mut line.as_bytes().to_vec());
            }
        }
        assert!(
            matches!(
                decoder.follow.iter().collect::<Vec<_>>()[..],
                [Follow::Echo(false)]
            ),
            "one echo setting waits, the last: {:?}",
            decoder.follow
        );
    }

    #[test]
    fn sasl_payloads_and_cap_requests_are_bounded() {
        let mut decoder = admitted();
        step(&mut decoder, "AUTHENTICATE PLAIN\r\n");
        let chunk = format!("AUTHENTICATE {}\r\n", "A".repeat(sasl::CHUNK));
        let mut answer = String::new();
        for _ in 0..=MAX_PAYLOAD / sasl::CHUNK {
            answer = step(&mut decoder, &chunk).0;
        }
        assert_eq!(answer, ":irc.parley 905 * :SASL message too long\r\n");
        let long = format!("CAP REQ :{}\r\n", "sasl ".repeat(100));
        assert_eq!(
            step(&mut decoder, &long).0,
            ":irc.parley 410 * REQ :Too many capabilities requested\r\n"
        );
    }

    #[test]
    fn lines_that_carry_passwords_are_wiped_in_the_input() {
        let mut decoder = admitted();
        let mut bytes = b"PASS :s3cret pass\r\nNICK al\r\n".to_vec();
        let Step::Input(Input::Blank, used) = decoder.next(&mut bytes) else {
            panic!("PASS is kept for registration");
        };
        assert_eq!(used, 19);
        assert!(bytes[..17].iter().all(|&b| b == 0), "{bytes:?}");
        assert_eq!(&bytes[19..], b"NICK al\r\n", "the next line is untouched");
        step(&mut decoder, "CAP REQ :sasl\r\n");
        step(&mut decoder, "AUTHENTICATE PLAIN\r\n");
        let mut payload = b"AUTHENTICATE AGFsAHNlY3JldDE=\r\n".to_vec();
        decoder.next(&mut payload);
        assert!(payload[..29].iter().all(|&b| b == 0), "{payload:?}");
    }

    #[test]
    fn a_sasl_welcome_is_held_until_cap_end() {
        let mut decoder = admitted();
        step(&mut decoder, "CAP REQ :sasl\r\n");
        assert_eq!(
            step(&mut decoder, "AUTHENTICATE PLAIN\r\n").0,
            "AUTHENTICATE +\r\n"
        );
        // "\0al\0secret1"
        step(&mut decoder, "AUTHENTICATE AGFsAHNlY3JldDE=\r\n");
        assert_eq!(
            follow(&mut decoder),
            r#"Command(Login, Ok(Login { name: "al", password: *** }))"#
        );
        let observed = decoder.observe(&Event::Welcome {
            name: "al",
            users: 1,
        });
        assert!(observed.hold, "what follows the welcome waits");
        assert!(decoder.view().welcome_held);
        decoder.observe(&Event::Join {
            room: "lobby",
            name: "al",
        });
        assert!(!decoder.has_follow_up(), "the names wait for the welcome");
        // The client ends negotiation and only then registers (irssi's order).
        assert_eq!(step(&mut decoder, "CAP END\r\n").0, "Blank");
        assert_eq!(step(&mut decoder, "NICK al\r\n").0, "Blank");
        let mut bytes = b"USER al 0 * :Al\r\n".to_vec();
        let Step::Answer { line, release, .. } = decoder.next(&mut bytes) else {
            panic!("registration's end answers with the welcome");
        };
        assert!(release);
        assert!(String::from_utf8_lossy(&line).starts_with(":irc.parley 001 al "));
        assert_eq!(
            follow(&mut decoder),
            r#"Command(Users, Ok(Users(Members("lobby"))))"#
        );
    }

    fn registered() -> Decoder {
        let mut decoder = admitted();
        step(&mut decoder, "NICK al\r\n");
        step(&mut decoder, "USER al 0 * :Al\r\n");
        follow(&mut decoder);
        decoder.observe(&Event::Welcome {
            name: "al",
            users: 1,
        });
        decoder
    }

    #[test]
    fn a_channel_list_is_one_input_per_channel_and_names_follow_joins() {
        let mut decoder = registered();
        let line = "JOIN #a,#b\r\n";
        assert_eq!(
            step(&mut decoder, line),
            (r#"Command(Join, Ok(Enter("a")))"#.into(), 0),
            "the line is read again"
        );
        decoder.observe(&Event::Join {
            room: "a",
            name: "al",
        });
        assert_eq!(
            follow(&mut decoder),
            r#"Command(Users, Ok(Users(Members("a"))))"#
        );
        assert_eq!(
            step(&mut decoder, line),
            (r#"Command(Join, Ok(Enter("b")))"#.into(), line.len())
        );
        assert_eq!(
            step(&mut decoder, "PART nohash\r\n").0,
            "Command(Leave, Err(BadRoomName))"
        );
    }

    #[test]
    fn text_loses_formatting_and_actions_become_text() {
        let mut decoder = registered();
        assert_eq!(
            step(
                &mut decoder,
                "PRIVMSG #r :\x02hi\x02 \x0304,12there\x03\r\n"
            )
            .0,
            r#"Command(Say, Ok(Say { room: "r", text: "hi there", notice: false }))"#
        );
        assert_eq!(
            step(&mut decoder, "PRIVMSG bo :\x01ACTION waves\x01\r\n").0,
            r#"Command(Msg, Ok(Msg { to: "bo", text: "* waves", notice: false }))"#
        );
        assert_eq!(
            step(&mut decoder, "PRIVMSG bo :\x01VERSION\x01\r\n").0,
            "Blank"
        );
        assert_eq!(step(&mut decoder, "PRIVMSG bo :\x07\r\n").0, "BadText");
        assert_eq!(
            step(&mut decoder, "PRIVMSG $* :all\r\n").0,
            r#"Command(Broadcast, Ok(Broadcast("all")))"#
        );
    }

    #[test]
    fn the_service_nick_takes_parley_commands_with_or_without_the_slash() {
        let mut decoder = registered();
        assert_eq!(
            step(&mut decoder, "PRIVMSG parley :read r 3\r\n").0,
            r#"Command(Read, Ok(Read { room: "r", id: "3" }))"#
        );
        assert_eq!(decoder.view().context, Context::Service);
        assert_eq!(
            step(&mut decoder, "PRIVMSG Parley /list\r\n").0,
            "Command(List, Ok(List(None)))"
        );
    }

    #[test]
    fn commands_before_registration_and_unknown_ones_are_answered_here() {
        let mut decoder = admitted();
        assert_eq!(
            step(&mut decoder, "JOIN #x\r\n").0,
            ":irc.parley 451 * :You have not registered\r\n"
        );
        assert_eq!(
            step(&mut decoder, "PING :t\r\n").0,
            r#"Command(Ping, Ok(Ping(Some("t"))))"#,
            "PING works before registration"
        );
        let mut decoder = registered();
        assert_eq!(
            step(&mut decoder, "FROB\r\n").0,
            ":irc.parley 421 al FROB :Unknown command\r\n"
        );
        let long = format!("PRIVMSG #r :{}\r\n", "x".repeat(520));
        assert_eq!(
            step(&mut decoder, &long).0,
            ":irc.parley 417 al :Input line was too long\r\n"
        );
        assert_eq!(step(&mut decoder, "\r\n").0, "Blank");
    }
}
