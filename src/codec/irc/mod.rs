//! The IRC gateway's protocol (RFC 1459/2812 and the IRCv3 capabilities it
//! advertises; `docs/PROTOCOL.md`, "IRC gateway"): IRC clients use the same core as
//! parley's own, as ordinary users.
//!
//! | module | job |
//! | --- | --- |
//! | [`message`] | IRC message syntax: tags, prefix, command, parameters |
//! | [`decode`] | a connection's IRC state: registration, capabilities, SASL, and lines to the core's input |
//! | [`encode`] | the core's events to IRC lines, per recipient where IRC needs it |
//! | [`sasl`] | SASL PLAIN's payload |
//!
//! Rooms are channels (`#lobby` is the lobby); board, history and account commands go
//! to the service nick `parley` and are answered in notices.

pub mod decode;
pub mod encode;
pub mod message;
pub mod sasl;

pub use decode::Decoder;
pub use encode::Encoder;

/// The server's name in numerics and server notices.
pub const SERVER_NAME: &str = "irc.parley";

/// The host every user's mask shows (`nick!nick@parley`): parley does not tell
/// users each other's addresses.
pub const SERVICE_HOST: &str = "parley";

/// The capabilities a client negotiated with `CAP REQ`, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps(pub u8);

impl Caps {
    /// `sasl`: logging in with SASL PLAIN before registration.
    pub const SASL: u8 = 1;
    /// `server-time`: lines carry the time they were sent as a tag.
    pub const SERVER_TIME: u8 = 2;
    /// `message-tags`: the client accepts tags (parley relays none of clients' own).
    pub const MESSAGE_TAGS: u8 = 4;
    /// `echo-message`: the client is sent its own messages too.
    pub const ECHO_MESSAGE: u8 = 8;
    /// `multi-prefix`: every prefix of a member in NAMES (parley has none).
    pub const MULTI_PREFIX: u8 = 16;

    /// Every capability, by its name in `CAP LS`.
    pub const NAMES: [(&'static str, u8); 5] = [
        ("sasl", Caps::SASL),
        ("server-time", Caps::SERVER_TIME),
        ("message-tags", Caps::MESSAGE_TAGS),
        ("echo-message", Caps::ECHO_MESSAGE),
        ("multi-prefix", Caps::MULTI_PREFIX),
    ];

    /// True when `cap` is on.
    pub fn has(self, cap: u8) -> bool {
        self.0 & cap != 0
    }

    /// The bit of the capability called `name`.
    pub fn named(name: &str) -> Option<u8> {
        Caps::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, bit)| bit)
    }
}

/// The command a connection's last input to the core came from: an error's numeric
/// depends on it, and so do the lines a user list becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Context {
    /// Nothing in particular.
    #[default]
    None,
    /// Registration: `NICK`, `USER` and perhaps `PASS`.
    Register,
    /// A SASL login.
    Sasl,
    /// `NICK` after registration.
    Nick,
    /// `JOIN`.
    Join,
    /// `PART`.
    Part,
    /// `PRIVMSG`.
    Privmsg,
    /// `NOTICE`: never answered.
    Notice,
    /// `NAMES`, or the names that follow a join.
    Names,
    /// `WHO`.
    Who,
    /// `WHOIS`.
    Whois,
    /// `LIST`.
    List,
    /// `LUSERS`.
    Lusers,
    /// `TOPIC`, asking for a channel's topic.
    Topic,
    /// `KICK`, which nobody may (there are no operators).
    Kick,
    /// A command for the service nick `parley`: answered by its notices.
    Service,
}

impl Context {
    /// The IRC command the context stands for, as numerics name it.
    pub fn command(self) -> &'static str {
        match self {
            Context::None | Context::Service => "*",
            Context::Register => "USER",
            Context::Sasl => "AUTHENTICATE",
            Context::Nick => "NICK",
            Context::Join => "JOIN",
            Context::Part => "PART",
            Context::Privmsg => "PRIVMSG",
            Context::Notice => "NOTICE",
            Context::Names => "NAMES",
            Context::Who => "WHO",
            Context::Whois => "WHOIS",
            Context::List => "LIST",
            Context::Lusers => "LUSERS",
            Context::Topic => "TOPIC",
            Context::Kick => "KICK",
        }
    }
}

/// What the encoder needs to know of a recipient.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Its nick, `*` before registration.
    pub nick: &'a str,
    /// Its capabilities.
    pub caps: Caps,
    /// The command its last input came from.
    pub context: Context,
    /// That command's target (channel, nick or mask), for numerics.
    pub target: &'a str,
    /// The welcome waits for `CAP END` (after a SASL login).
    pub welcome_held: bool,
}

impl View<'static> {
    /// Any recipient: no nick yet, no capabilities, no command answered (the loop's
    /// goodbyes, which go to every client alike).
    pub const ANYONE: View<'static> = View {
        nick: "*",
        caps: Caps(0),
        context: Context::None,
        target: "",
        welcome_held: false,
    };
}
