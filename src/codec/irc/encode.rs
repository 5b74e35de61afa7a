//! Events to IRC lines: the only place that formats the gateway's wire text.
//!
//! Unlike parley's lines, many IRC lines depend on their recipient: a numeric names
//! its recipient's nick, and an error's numeric depends on the command it answers. So
//! the encoder takes a [`View`] of the recipient. The lines that fan out (room
//! messages, joins, leaves, renames, broadcasts) do not depend on it beyond its
//! capabilities, and are encoded once per [`View::shared_form`] and shared.

use std::fmt::Write as _;

use super::{Caps, Context, View, SERVER_NAME, SERVICE_HOST};
use crate::codec::parley::encode::bye_word;
use crate::codec::parley::{self, help};
use crate::codec::Line;
use crate::hub::names::SERVICE;
use crate::hub::{ErrorCode, Event, LeaveReason, PostHeader, Verb};

/// The longest IRC line, its `\r\n` included, tags not counted (RFC 1459).
pub const MAX_LINE: usize = 512;

/// The version the welcome numerics name.
const VERSION: &str = concat!("parley-", env!("CARGO_PKG_VERSION"));

/// What `005` tells clients: parley's names, no channel modes and no prefixes.
pub const ISUPPORT: &str = "CASEMAPPING=ascii CHANTYPES=# CHANNELLEN=33 NICKLEN=32 \
     USERLEN=32 TOPICLEN=0 UTF8ONLY NETWORK=parley PREFIX=() CHANMODES=,,, MODES=0 \
     TARGMAX=PRIVMSG:1,NOTICE:1,JOIN:,PART:";

/// Builds IRC lines in a scratch buffer and freezes each event's lines into a [`Line`].
#[derive(Debug, Default)]
pub struct Encoder {
    scratch: String,
    /// The wall-clock time for `server-time` tags, in milliseconds since the epoch.
    unix_millis: u64,
    /// `unix_millis` as a tag value, cached while the time stays the same.
    time_tag: String,
    time_tag_of: u64,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// The time that `server-time` tags carry from now on.
    pub fn set_time(&mut self, unix_millis: u64) {
        self.unix_millis = unix_millis;
    }

    /// The lines that tell `event` to the recipient `view` describes; empty when the
    /// event means nothing to an IRC client.
    pub fn encode(&mut self, event: &Event<'_>, view: &View<'_>) -> Line {
        self.scratch.clear();
        self.write(event, view);
        Line::from_bytes(self.scratch.as_bytes())
    }

    fn write(&mut self, event: &Event<'_>, view: &View<'_>) {
        let me = view.nick;
        match *event {
            Event::Hello => {}
            Event::Queued { position } => {
                let text = format!(
                    "We are dealing with a large number of users and you are number {position} in the queue"
                );
                self.server_notice("*", &text);
            }
            Event::Welcome { name, users } => {
                if view.context == Context::Sasl {
                    self.sasl_success(name);
                }
                if !view.welcome_held {
                    self.welcome(name, users);
                }
            }
            Event::Msg {
                room,
                from,
                text,
                notice,
            } => {
                self.tags(view.caps, None);
                self.split(from, message_command(notice), Some('#'), room, text);
            }
            Event::Private {
                from,
                to,
                text,
                notice,
            } => {
                self.tags(view.caps, None);
                self.split(from, message_command(notice), None, to, text);
            }
            Event::Broadcast { from, text } => {
                self.tags(view.caps, None);
                self.split(from, "NOTICE", None, "$*", text);
            }
            Event::Join { room, name } => {
                self.tags(view.caps, None);
                self.user_prefix(name);
                let _ = write!(self.scratch, "JOIN #{room}");
                self.end();
                if name == me {
                    // RFC 2812: a join is followed by the topic, or that there is none.
                    self.numeric(me, "331", &format!("#{room} :No topic is set"));
                }
            }
            Event::Leave {
                room,
                name,
                reason,
                text,
            } => {
                self.tags(view.caps, None);
                self.user_prefix(name);
                match reason {
                    LeaveReason::Left => {
                        let _ = write!(self.scratch, "PART #{room}");
                    }
                    LeaveReason::Quit if text.is_empty() => self.scratch.push_str("QUIT :Quit"),
                    LeaveReason::Quit => {
                        let _ = write!(self.scratch, "QUIT :Quit: {text}");
                        self.cut_to_fit();
                    }
                    LeaveReason::Disconnected => self.scratch.push_str("QUIT :Connection closed"),
                    LeaveReason::Timeout => self.scratch.push_str("QUIT :Ping timeout"),
                    LeaveReason::Sendq => self.scratch.push_str("QUIT :Max SendQ exceeded"),
                }
                self.end();
            }
            Event::Nick { old, new } => {
                self.tags(view.caps, None);
                self.user_prefix(old);
                let _ = write!(self.scratch, "NICK :{new}");
                self.end();
            }
            Event::Users { room, count, names } => self.users(view, room, count, names),
            Event::Rooms { rooms, .. } => match view.context {
                Context::List => {
                    self.numeric(me, "321", "Channel :Users  Name");
                    let asked = |name: &str| {
                        view.target.is_empty()
                            || view.target.split(',').any(|channel| {
                                channel
                                    .strip_prefix('#')
                                    .is_some_and(|c| c.eq_ignore_ascii_case(name))
                            })
                    };
                    for (name, members) in rooms.iter().filter(|(name, _)| asked(name)) {
                        self.numeric(me, "322", &format!("#{name} {members} :"));
                    }
                    self.numeric(me, "323", ":End of /LIST");
                }
                _ => self.service_line(me, event),
            },
            Event::Old {
                unix_secs,
                room,
                from,
                text,
            } if view.caps.has(Caps::SERVER_TIME) => {
                self.tags(view.caps, Some(unix_secs * 1000));
                self.split(from, "PRIVMSG", Some('#'), room, text);
            }
            Event::OldPrivate {
                unix_secs,
                from,
                text,
            } if view.caps.has(Caps::SERVER_TIME) => {
                self.tags(view.caps, Some(unix_secs * 1000));
                self.split(from, "PRIVMSG", None, me, text);
            }
            Event::Ping { token } => {
                let _ = write!(self.scratch, "PING :{token}");
                self.end();
            }
            Event::Pong { token } => {
                let _ = write!(self.scratch, ":{SERVER_NAME} PONG {SERVER_NAME} :{token}");
                self.end();
            }
            Event::Help(topic) => self.help(me, topic),
            Event::Error(error) => self.error(view, error.code, event),
            Event::Bye(reason) => {
                // The contract's form: the reason in parley's words, in parentheses.
                let _ = write!(self.scratch, "ERROR :Closing link ({})", bye_word(reason));
                self.end();
            }
            Event::Posted { .. }
            | Event::Post(PostHeader { .. })
            | Event::List { .. }
            | Event::Body { .. }
            | Event::History { .. }
            | Event::Old { .. }
            | Event::OldPrivate { .. }
            | Event::Registered { .. }
            | Event::Unregistered { .. }
            | Event::Offline { .. } => self.service_line(me, event),
        }
    }

    /// `001` to `005`, LUSERS and the MOTD: a completed registration.
    pub fn welcome(&mut self, nick: &str, users: usize) {
        self.numeric(
            nick,
            "001",
            &format!(":Welcome to the parley IRC gateway, {nick}"),
        );
        self.numeric(
            nick,
            "002",
            &format!(":Your host is {SERVER_NAME}, running version {VERSION}"),
        );
        self.numeric(nick, "003", ":This server was created when it started");
        self.numeric(nick, "004", &format!("{SERVER_NAME} {VERSION} i n"));
        self.numeric(
            nick,
            "005",
            &format!("{ISUPPORT} :are supported by this server"),
        );
        self.lusers(nick, users);
        self.motd(nick);
    }

    /// The lines of a completed registration, as one [`Line`].
    pub fn welcome_line(&mut self, nick: &str, users: usize) -> Line {
        self.scratch.clear();
        self.welcome(nick, users);
        Line::from_bytes(self.scratch.as_bytes())
    }

    /// A numeric to `nick`, as one [`Line`] (the decoder's own answers).
    pub fn numeric_line(&mut self, nick: &str, number: &str, rest: &str) -> Line {
        self.scratch.clear();
        self.numeric(nick, number, rest);
        Line::from_bytes(self.scratch.as_bytes())
    }

    /// The MOTD, as one [`Line`].
    pub fn motd_line(&mut self, nick: &str) -> Line {
        self.scratch.clear();
        self.motd(nick);
        Line::from_bytes(self.scratch.as_bytes())
    }

    fn lusers(&mut self, nick: &str, users: usize) {
        self.numeric(
            nick,
            "251",
            &format!(":There are {users} users and 0 invisible on 1 servers"),
        );
        self.numeric(
            nick,
            "255",
            &format!(":I have {users} clients and 0 servers"),
        );
    }

    fn motd(&mut self, nick: &str) {
        self.numeric(
            nick,
            "375",
            &format!(":- {SERVER_NAME} Message of the day -"),
        );
        for text in [
            "- parley: rooms are channels, #lobby is everyone's.",
            "- Boards, history and accounts: /msg parley help",
        ] {
            self.numeric(nick, "372", &format!(":{text}"));
        }
        self.numeric(nick, "376", ":End of /MOTD command.");
    }

    /// `900` and `903`: SASL succeeded; the welcome waits for `CAP END`.
    fn sasl_success(&mut self, name: &str) {
        self.numeric(
            name,
            "900",
            &format!("{name}!{name}@{SERVICE_HOST} {name} :You are now logged in as {name}"),
        );
        self.numeric(name, "903", ":SASL authentication successful");
    }

    fn users(&mut self, view: &View<'_>, room: &str, count: usize, names: &[&str]) {
        let me = view.nick;
        match view.context {
            Context::Names => {
                let mut line = String::new();
                for name in names {
                    // `353`'s head and its CRLF, the nick and the room: the rest is names.
                    if !line.is_empty()
                        && 20 + SERVER_NAME.len() + me.len() + room.len() + line.len() + name.len()
                            > MAX_LINE
                    {
                        self.numeric(me, "353", &format!("= #{room} :{line}"));
                        line.clear();
                    }
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(name);
                }
                if !line.is_empty() {
                    self.numeric(me, "353", &format!("= #{room} :{line}"));
                }
                self.numeric(me, "366", &format!("#{room} :End of /NAMES list."));
            }
            Context::Who => {
                let mask = view.target;
                let channel = if room == "*" {
                    "*".to_owned()
                } else {
                    format!("#{room}")
                };
                for name in names {
                    if room == "*" && !name.eq_ignore_ascii_case(mask) {
                        continue;
                    }
                    self.numeric(
                        me,
                        "352",
                        &format!(
                            "{channel} {name} {SERVICE_HOST} {SERVER_NAME} {name} H :0 {name}"
                        ),
                    );
                }
                self.numeric(me, "315", &format!("{mask} :End of /WHO list."));
            }
            Context::Whois => {
                let target = view.target;
                match names.iter().find(|name| name.eq_ignore_ascii_case(target)) {
                    Some(name) => {
                        self.numeric(
                            me,
                            "311",
                            &format!("{name} {name} {SERVICE_HOST} * :{name}"),
                        );
                        self.numeric(me, "312", &format!("{name} {SERVER_NAME} :parley"));
                    }
                    None => self.numeric(me, "401", &format!("{target} :No such nick")),
                }
                self.numeric(me, "318", &format!("{target} :End of /WHOIS list."));
            }
            Context::Lusers => self.lusers(me, count),
            Context::Topic => self.numeric(me, "331", &format!("#{room} :No topic is set")),
            Context::Kick => {
                self.numeric(me, "482", &format!("#{room} :You're not channel operator"))
            }
            _ => self.service_line(me, &Event::Users { room, count, names }),
        }
    }

    fn help(&mut self, me: &str, topic: Option<Verb>) {
        let lines: Vec<String> = match topic {
            None => std::iter::once(
                "Send these to parley without the slash, e.g. /msg parley post <room> <subject> <body...>"
                    .to_owned(),
            )
            .chain(Verb::ALL.iter().map(|&verb| help::usage(verb).to_owned()))
            .collect(),
            Some(verb) => help::topic_lines(verb).collect(),
        };
        for line in lines {
            self.service_notice(me, &line);
        }
    }

    /// An error, as the numeric that answers the command it refused, or as a notice.
    fn error(&mut self, view: &View<'_>, code: ErrorCode, event: &Event<'_>) {
        let me = view.nick;
        let target = view.target;
        let numeric = match (view.context, code) {
            // IRC: nothing answers a NOTICE, and joining a channel twice is no error.
            (Context::Notice, _) | (Context::Join, ErrorCode::AlreadyInRoom) => return,
            (Context::Service, _) => return self.service_line(me, event),
            (_, ErrorCode::LineTooLong) => ("417", ":Input line was too long".to_owned()),
            (_, ErrorCode::BadText) => {
                let _ = write!(
                    self.scratch,
                    "FAIL * INVALID_UTF8 :Lines must be UTF-8 text without control characters"
                );
                return self.end();
            }
            (_, ErrorCode::UnknownCommand) => ("421", format!("{target} :Unknown command")),
            (_, ErrorCode::BadArgs) if view.context == Context::Privmsg => {
                ("412", ":No text to send".to_owned())
            }
            (_, ErrorCode::BadArgs) => (
                "461",
                format!("{} :Not enough parameters", view.context.command()),
            ),
            (_, ErrorCode::NotNamed) | (_, ErrorCode::Queued) => {
                ("451", ":You have not registered".to_owned())
            }
            (_, ErrorCode::AlreadyNamed) => ("462", ":You may not reregister".to_owned()),
            (Context::Register | Context::Nick, ErrorCode::BadName) => {
                ("432", format!("{target} :Erroneous nickname"))
            }
            (Context::Register | Context::Nick, ErrorCode::NameTaken) => {
                ("433", format!("{target} :Nickname is already in use"))
            }
            (Context::Register | Context::Nick, ErrorCode::NameRegistered) => (
                "433",
                format!("{target} :Nickname is a registered account; log in with SASL or PASS"),
            ),
            (Context::Nick, ErrorCode::AlreadyRegistered) => {
                ("400", "NICK :An account's name cannot change".to_owned())
            }
            (Context::Register, ErrorCode::LoginRequired) => (
                "464",
                ":This server is for accounts only; log in with SASL or PASS".to_owned(),
            ),
            (Context::Register, ErrorCode::BadLogin) => ("464", ":Password incorrect".to_owned()),
            // Whatever else refuses a registration must still end it, or the client
            // waits for a welcome that never comes.
            (Context::Register, other) => {
                ("464", format!(":{}", parley::encode::error_text(other)))
            }
            (Context::Sasl, _) => {
                if code != ErrorCode::BadLogin {
                    self.service_line(me, event);
                }
                ("904", ":SASL authentication failed".to_owned())
            }
            (Context::Privmsg, ErrorCode::NotInRoom) => {
                ("404", format!("{target} :Cannot send to channel"))
            }
            (
                Context::Privmsg,
                ErrorCode::NoSuchUser | ErrorCode::NoSuchRoom | ErrorCode::BadName,
            ) => ("401", format!("{target} :No such nick/channel")),
            // A list of a channel that is not there is an empty list.
            (Context::Who, _) => ("315", format!("{target} :End of /WHO list.")),
            (Context::Names, _) => ("366", format!("{target} :End of /NAMES list.")),
            (_, ErrorCode::BadRoomName | ErrorCode::NoSuchRoom) => {
                ("403", format!("{target} :No such channel"))
            }
            (_, ErrorCode::NotInRoom) => ("442", format!("{target} :You're not on that channel")),
            (Context::Join, ErrorCode::LimitReached) => (
                "405",
                format!("{target} :You have joined too many channels"),
            ),
            _ => return self.service_line(me, event),
        };
        let (number, rest) = numeric;
        self.numeric(me, number, &rest);
    }

    /// A server numeric to `nick`.
    fn numeric(&mut self, nick: &str, number: &str, rest: &str) {
        let _ = write!(self.scratch, ":{SERVER_NAME} {number} {nick} {rest}");
        self.cut_to_fit();
        self.end();
    }

    fn server_notice(&mut self, nick: &str, text: &str) {
        let _ = write!(self.scratch, ":{SERVER_NAME} NOTICE {nick} :{text}");
        self.cut_to_fit();
        self.end();
    }

    /// A notice from the service nick.
    fn service_notice(&mut self, nick: &str, text: &str) {
        let head = format!(":{SERVICE}!{SERVICE}@{SERVICE_HOST} NOTICE {nick} :");
        self.chunks(&head, text);
    }

    /// `event` as parley says it, in notices from the service nick: the board,
    /// history and account replies, which IRC has no lines for.
    fn service_line(&mut self, nick: &str, event: &Event<'_>) {
        let line = parley::Encoder::new().encode(event);
        let text = String::from_utf8_lossy(&line);
        for line in text.lines() {
            self.service_notice(nick, line);
        }
    }

    /// `@time=...` when the recipient asked for `server-time`: now, or `at_millis`.
    fn tags(&mut self, caps: Caps, at_millis: Option<u64>) {
        if !caps.has(Caps::SERVER_TIME) {
            return;
        }
        let millis = at_millis.unwrap_or(self.unix_millis);
        if at_millis.is_some() {
            let _ = write!(self.scratch, "@time={} ", iso_time(millis));
            return;
        }
        if self.time_tag.is_empty() || self.time_tag_of != millis {
            self.time_tag = iso_time(millis);
            self.time_tag_of = millis;
        }
        let _ = write!(self.scratch, "@time={} ", self.time_tag);
    }

    fn user_prefix(&mut self, nick: &str) {
        let _ = write!(self.scratch, ":{nick}!{nick}@{SERVICE_HOST} ");
    }

    /// `:from PRIVMSG target :text`, in as many lines as the text needs, each with the
    /// tags already written for the first.
    fn split(&mut self, from: &str, command: &str, sigil: Option<char>, target: &str, text: &str) {
        let line_start = self.scratch.rfind('\n').map_or(0, |n| n + 1);
        let tags_len = self.scratch.len() - line_start;
        let head_len = 2 * from.len()
            + SERVICE_HOST.len()
            + command.len()
            + usize::from(sigil.is_some())
            + target.len()
            // The colons, the bang, the at sign and the spaces.
            + 7;
        let text = if text.is_empty() { " " } else { text };
        let mut rest = text;
        let mut tags: Option<String> = None;
        while !rest.is_empty() {
            if rest.len() < text.len() {
                // A further piece: the first piece's tags again (rare: long lines).
                let tags = tags.get_or_insert_with(|| {
                    self.scratch[line_start..line_start + tags_len].to_owned()
                });
                self.scratch.push_str(tags);
            }
            let piece = first_piece(rest, MAX_LINE - 2 - head_len);
            rest = &rest[piece.len()..];
            self.scratch.push(':');
            self.scratch.push_str(from);
            self.scratch.push('!');
            self.scratch.push_str(from);
            self.scratch.push('@');
            self.scratch.push_str(SERVICE_HOST);
            self.scratch.push(' ');
            self.scratch.push_str(command);
            self.scratch.push(' ');
            if let Some(sigil) = sigil {
                self.scratch.push(sigil);
            }
            self.scratch.push_str(target);
            self.scratch.push_str(" :");
            self.scratch.push_str(piece);
            self.end();
        }
    }

    /// `head` then `text`, in as many lines as the text needs.
    fn chunks(&mut self, head: &str, text: &str) {
        let text = if text.is_empty() { " " } else { text };
        for piece in pieces(text, MAX_LINE - 2 - head.len()) {
            self.scratch.push_str(head);
            self.scratch.push_str(piece);
            self.end();
        }
    }

    /// Cuts the line being written to the IRC limit, at a character boundary.
    fn cut_to_fit(&mut self) {
        let start = self.scratch.rfind('\n').map_or(0, |n| n + 1);
        let mut end = start + (MAX_LINE - 2);
        if self.scratch.len() > end {
            while !self.scratch.is_char_boundary(end) {
                end -= 1;
            }
            self.scratch.truncate(end);
        }
    }

    fn end(&mut self) {
        self.scratch.push_str("\r\n");
    }
}

/// The longest start of `text` of at most `max` bytes (at least 4, so that one
/// character always fits) that ends at a character boundary.
fn first_piece(text: &str, max: usize) -> &str {
    let mut cut = text.len().min(max.max(4));
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// `text` in pieces of at most `max` bytes, cut at character boundaries.
fn pieces(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let piece = first_piece(rest, max);
        rest = &rest[piece.len()..];
        (!piece.is_empty()).then_some(piece)
    })
}

/// The IRC command of a message: `NOTICE` for a notice, which no program answers.
fn message_command(notice: bool) -> &'static str {
    if notice {
        "NOTICE"
    } else {
        "PRIVMSG"
    }
}

/// `2026-12-06T07:00:00.000Z` for a time in milliseconds since the epoch.
pub fn iso_time(unix_millis: u64) -> String {
    let secs = unix_millis / 1000;
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::calendar::civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        day_secs / 3600,
        day_secs / 60 % 60,
        day_secs % 60,
        unix_millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Detail;

    fn view(context: Context) -> View<'static> {
        View {
            nick: "al",
            caps: Caps::default(),
            context,
            target: "#x",
            welcome_held: false,
        }
    }

    fn text(enc: &mut Encoder, event: Event<'_>, view: &View<'_>) -> String {
        String::from_utf8(enc.encode(&event, view).to_vec()).unwrap()
    }

    #[test]
    fn room_messages_are_privmsgs_and_long_ones_are_split_at_characters() {
        let mut enc = Encoder::new();
        let msg = Event::Msg {
            room: "rust",
            from: "bob",
            text: "hi there",
            notice: false,
        };
        assert_eq!(
            text(&mut enc, msg, &view(Context::None)),
            ":bob!bob@parley PRIVMSG #rust :hi there\r\n"
        );
        let long = "é".repeat(400);
        let lines = text(
            &mut enc,
            Event::Msg {
                room: "rust",
                from: "bob",
                text: &long,
                notice: false,
            },
            &view(Context::None),
        );
        let lines: Vec<&str> = lines.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() + 2 <= MAX_LINE));
        let joined: String = lines
            .iter()
            .map(|l| l.split_once(" :").unwrap().1)
            .collect();
        assert_eq!(joined, long, "nothing is lost or cut inside a character");
    }

    #[test]
    fn server_time_is_a_tag_on_every_piece() {
        let mut enc = Encoder::new();
        enc.set_time(1_764_979_200_123);
        let mut v = view(Context::None);
        v.caps = Caps(Caps::SERVER_TIME);
        let out = text(
            &mut enc,
            Event::Join {
                room: "r",
                name: "bob",
            },
            &v,
        );
        assert_eq!(
            out,
            "@time=2025-12-06T00:00:00.123Z :bob!bob@parley JOIN #r\r\n"
        );
        let old = Event::Old {
            unix_secs: 0,
            room: "r",
            from: "bob",
            text: "then",
        };
        assert_eq!(
            text(&mut enc, old, &v),
            "@time=1970-01-01T00:00:00.000Z :bob!bob@parley PRIVMSG #r :then\r\n"
        );
    }

    #[test]
    fn errors_become_the_numeric_of_the_command() {
        let mut enc = Encoder::new();
        let err = |code: ErrorCode| Event::Error(code.into());
        assert_eq!(
            text(&mut enc, err(ErrorCode::NoSuchRoom), &view(Context::Part)),
            ":irc.parley 403 al #x :No such channel\r\n"
        );
        assert_eq!(
            text(&mut enc, err(ErrorCode::NotInRoom), &view(Context::Privmsg)),
            ":irc.parley 404 al #x :Cannot send to channel\r\n"
        );
        assert_eq!(
            text(&mut enc, err(ErrorCode::NotInRoom), &view(Context::Notice)),
            "",
            "a NOTICE is never answered"
        );
        let service = text(
            &mut enc,
            Event::Error(crate::hub::Error {
                code: ErrorCode::NoSuchPost,
                detail: Detail::None,
            }),
            &view(Context::Service),
        );
        assert!(service.starts_with(":parley!parley@parley NOTICE al :ERR no-such-post"));
    }

    #[test]
    fn every_close_says_why_in_parleys_words() {
        let mut enc = Encoder::new();
        let bye = |reason| Event::Bye(reason);
        assert_eq!(
            text(
                &mut enc,
                bye(crate::hub::ByeReason::Sendq),
                &view(Context::None)
            ),
            "ERROR :Closing link (sendq)\r\n"
        );
        assert_eq!(
            text(
                &mut enc,
                bye(crate::hub::ByeReason::ServerFull),
                &view(Context::None)
            ),
            "ERROR :Closing link (server-full)\r\n"
        );
    }

    #[test]
    fn names_are_cut_into_lines_that_fit() {
        let mut enc = Encoder::new();
        let names: Vec<String> = (0..200).map(|n| format!("user{n:04}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let out = text(
            &mut enc,
            Event::Users {
                room: "lobby",
                count: 200,
                names: &names,
            },
            &view(Context::Names),
        );
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| l.len() + 2 <= MAX_LINE));
        assert!(lines.last().unwrap().contains(" 366 al #lobby "));
        let listed: usize = lines
            .iter()
            .filter(|l| l.contains(" 353 "))
            .map(|l| l.split_once(" :").unwrap().1.split(' ').count())
            .sum();
        assert_eq!(listed, 200);
    }

    #[test]
    fn dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
    }
}
