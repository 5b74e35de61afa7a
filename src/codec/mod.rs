//! Codecs: the wire protocols a connection can speak. A codec turns a connection's
//! bytes into the core's [`Input`] and the core's [`Event`]s into bytes; the core knows
//! no protocol, and the loop only moves the bytes.
//!
//! Encoding happens once per event and codec, not per recipient: the server keeps one
//! [`Encoders`] for all connections, and a fan-out to a thousand parley clients shares
//! one [`Line`].

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
}

impl Codec {
    /// How many codecs there are: the size of a per-codec cache.
    pub const COUNT: usize = 1;

    /// Every codec, in index order.
    pub const ALL: [Codec; Codec::COUNT] = [Codec::Parley];

    /// A dense index, for per-codec caches.
    pub fn index(self) -> usize {
        match self {
            Codec::Parley => 0,
        }
    }

    /// The input state of a new connection speaking this protocol, with lines of at
    /// most `max_line` bytes.
    pub fn decoder(self, max_line: usize) -> Decoder {
        match self {
            Codec::Parley => Decoder::Parley(parley::Decoder::new(max_line)),
        }
    }
}

/// The result of one decoding step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// One unit of input, and how many bytes it used.
    Input(Input<'a>, usize),
    /// No complete unit yet. `used` bytes may be dropped; the rest must be presented
    /// again with more input.
    NeedMore {
        /// Bytes the decoder has finished with.
        used: usize,
    },
}

/// A connection's input state in its protocol. Cheap to clone, so the loop can work
/// with a copy while it hands input to the core.
#[derive(Debug, Clone)]
pub enum Decoder {
    /// parley's line framing and command grammar.
    Parley(parley::Decoder),
}

impl Decoder {
    /// Takes the next unit of input from the start of `bytes`.
    pub fn next<'a>(&mut self, bytes: &'a [u8]) -> Step<'a> {
        match self {
            Decoder::Parley(decoder) => decoder.next(bytes),
        }
    }
}

/// One encoder per codec, shared by every connection.
#[derive(Debug, Default)]
pub struct Encoders {
    parley: parley::Encoder,
}

impl Encoders {
    /// Encoders for every codec.
    pub fn new() -> Encoders {
        Encoders::default()
    }

    /// `event` in `codec`'s wire format.
    pub fn encode(&mut self, codec: Codec, event: &Event<'_>) -> Line {
        match codec {
            Codec::Parley => self.parley.encode(event),
        }
    }
}
