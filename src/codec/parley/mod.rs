//! parley's line protocol: `\n`-terminated UTF-8 lines, slash commands with aliases and
//! quoting, and one server line per event (`docs/PROTOCOL.md`).
//!
//! | module | job |
//! | --- | --- |
//! | [`framer`] | bytes to checked lines |
//! | [`grammar`] | a line to the core's [`Input`]: command words, aliases, quoting |
//! | [`encode`] | the core's events to server lines |
//! | [`help`] | the texts of `/help` and of usage errors |

pub mod encode;
pub mod framer;
pub mod grammar;
pub mod help;

pub use encode::Encoder;

use crate::codec::Step;
use crate::hub::Input;
use framer::{Frame, LineFramer};

/// A parley connection's input state: where its framing stands.
#[derive(Debug, Clone)]
pub struct Decoder {
    framer: LineFramer,
    max_line: usize,
}

impl Decoder {
    /// A decoder for lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Decoder {
        Decoder {
            framer: LineFramer::new(max_line),
            max_line,
        }
    }

    /// Takes the next line from the start of `bytes` and parses it.
    pub fn next<'a>(&mut self, bytes: &'a [u8]) -> Step<'a> {
        match self.framer.next_frame(bytes) {
            framer::Step::NeedMore { used } => Step::NeedMore { used },
            framer::Step::Frame(frame, used) => {
                let input = match frame {
                    Frame::Line(line) => grammar::parse(line),
                    Frame::TooLong => Input::TooLong {
                        limit: self.max_line,
                    },
                    Frame::BadText => Input::BadText,
                };
                Step::Input(input, used)
            }
        }
    }
}
