//! Codecs: the wire protocols a connection can speak. A codec turns a connection's
//! bytes into the core's [`Input`] and the core's [`Event`]s into bytes; the core knows
//! no protocol, and the loop only moves the bytes.
//!
//! Encoding happens once per event and codec, not per recipient: the server keeps one
//! [`Encoders`] for all connections, and a fan-out to a thousand parley clients shares
//! one [`Line`]. IRC's fan-out lines depend on one more thing, whether the recipient
//! asked for `server-time`, so a fan-out to IRC clients is at most two encodings;
//! IRC's numerics name their recipient and are encoded for each.

pub mod irc;
pub mod parley;

use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use crate::hub::{Event, Input};

/// Encoded output: one or more complete lines of one protocol, shared among their
/// recipients by reference.
#[derive(Clone, PartialEq, Eq)]
pub struct Line(Rc<[u8]>);

impl Line {
    /// The bytes, line endings included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True when both hold the very same bytes (one encoding, shared).
    pub fn shares_bytes_with(&self, other: &Line) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// A line from bytes that are already wire text.
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

/// A wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// parley's own line protocol (`docs/PROTOCOL.md`).
    Parley,
    /// IRC, through the gateway (`docs/PROTOCOL.md`, "IRC gateway").
    Irc,
}

impl Codec {
    /// How many codecs there are: the size of a per-codec cache.
    pub const COUNT: usize = 2;

    /// Every codec, in index order.
    pub const ALL: [Codec; Codec::COUNT] = [Codec::Parley, Codec::Irc];

    /// A dense index, for per-codec caches.
    pub fn index(self) -> usize {
        match self {
            Codec::Parley => 0,
            Codec::Irc => 1,
        }
    }

    /// The state of a new connection speaking this protocol, with lines of at most
    /// `max_line` bytes.
    pub fn decoder(self, max_line: usize) -> Decoder {
        match self {
            Codec::Parley => Decoder::Parley(parley::Decoder::new(max_line)),
            Codec::Irc => Decoder::Irc(Box::new(irc::Decoder::new(max_line))),
        }
    }

    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Parley => "parley",
            Codec::Irc => "IRC",
        }
    }
}

/// The result of one decoding step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// One unit of input, and how many bytes it used.
    Input(Input<'a>, usize),
    /// The codec answers a line by itself (IRC's `CAP`, registration numerics): these
    /// lines go to the client, ahead of output held for it, and `used` bytes were
    /// read.
    Answer {
        /// The answer.
        line: Line,
        /// Bytes the decoder has finished with.
        used: usize,
        /// Output held behind this answer follows it now (IRC holds a SASL login's
        /// welcome until `CAP END`).
        release: bool,
    },
    /// No complete unit yet. `used` bytes may be dropped; the rest must be presented
    /// again with more input.
    NeedMore {
        /// Bytes the decoder has finished with.
        used: usize,
    },
}

/// A connection's state in its protocol: where its input stands, and for IRC what the
/// encoder needs to know of it.
#[derive(Debug)]
pub enum Decoder {
    /// parley's line framing and command grammar.
    Parley(parley::Decoder),
    /// IRC's framing, registration and commands.
    Irc(Box<irc::Decoder>),
}

impl Decoder {
    /// Takes the next unit of input from the start of `bytes` (IRC cleans text of
    /// formatting codes in place), or input that follows from before without reading.
    pub fn next<'a>(&mut self, bytes: &'a mut [u8]) -> Step<'a> {
        match self {
            Decoder::Parley(decoder) => decoder.next(bytes),
            Decoder::Irc(decoder) => decoder.next(bytes),
        }
    }

    /// True when input waits to be handed out without more bytes.
    pub fn has_follow_up(&self) -> bool {
        match self {
            Decoder::Parley(_) => false,
            Decoder::Irc(decoder) => decoder.has_follow_up(),
        }
    }

    /// Watches an event sent to this connection (IRC follows its client's nick and
    /// admission); says what the connection must do about it.
    pub fn observe(&mut self, event: &Event<'_>) -> Observed {
        match self {
            Decoder::Parley(_) => Observed::default(),
            Decoder::Irc(decoder) => decoder.observe(event),
        }
    }
}

/// What watching an event asks of the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// The decoder has input to hand out: read the connection.
    pub read: bool,
    /// Hold the output that follows until the decoder's next answer releases it (the
    /// welcome of a SASL login waits for `CAP END`).
    pub hold: bool,
    /// Send this client nothing for the event: it said so already (a user who quits
    /// leaves every room, and IRC's `QUIT` covers them all).
    pub skip: bool,
}

/// The encodings of one event made so far in a fan-out, for its other recipients.
#[derive(Debug, Default)]
pub struct Shared {
    parley: Option<Line>,
    /// By [`irc::Decoder::shared_form`].
    irc: [Option<Line>; 2],
    /// The last encoding made for one recipient alone.
    own: Option<Line>,
}

/// One encoder per codec, shared by every connection.
#[derive(Debug, Default)]
pub struct Encoders {
    parley: parley::Encoder,
    irc: irc::Encoder,
}

impl Encoders {
    /// Encoders for every codec.
    pub fn new() -> Encoders {
        Encoders::default()
    }

    /// The wall-clock time, for the lines that carry it (IRC's `server-time`).
    pub fn set_time(&mut self, unix_millis: u64) {
        self.irc.set_time(unix_millis);
    }

    /// `event` in `codec`'s wire format, for any recipient (the loop's goodbyes).
    pub fn encode(&mut self, codec: Codec, event: &Event<'_>) -> Line {
        match codec {
            Codec::Parley => self.parley.encode(event),
            Codec::Irc => self.irc.encode(event, &irc::View::ANYONE),
        }
    }

    /// `event` for the connection in `state`, shared with the other recipients of a
    /// fan-out through `shared` where the protocol allows. The line is lent: a queue
    /// takes its own reference, so a fan-out costs one per recipient.
    pub fn encode_for<'s>(
        &mut self,
        state: &Decoder,
        event: &Event<'_>,
        shared: &'s mut Shared,
    ) -> &'s Line {
        match state {
            Decoder::Parley(_) => shared
                .parley
                .get_or_insert_with(|| self.parley.encode(event)),
            Decoder::Irc(decoder) => {
                let view = decoder.view();
                match decoder.shared_form(event) {
                    Some(form) => {
                        shared.irc[form].get_or_insert_with(|| self.irc.encode(event, &view))
                    }
                    None => shared.own.insert(self.irc.encode(event, &view)),
                }
            }
        }
    }
}
