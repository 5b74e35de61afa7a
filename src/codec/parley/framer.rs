//! Sans-IO framing of client input into lines.
//!
//! The framer is pull-based: the connection hands it the bytes it holds and takes one
//! [`Frame`] at a time, so it can stop between two lines (when the client must pause)
//! and keep the rest for later. Every `\n`-terminated line yields exactly one frame:
//! a valid line, or the reason it was refused. An overlong line is refused as soon as
//! it is known to be too long and the rest of it is skipped up to its `\n`, so the
//! buffer never holds more than one line's worth of a client's bytes.

/// One unit of client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete, valid line without its line ending.
    Line(&'a str),
    /// The line is longer than the limit (answered with `ERR line-too-long`).
    TooLong,
    /// The line is not UTF-8 or holds a control character (answered with `ERR bad-text`).
    BadText,
}

/// The result of one framing step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A frame, and how many input bytes it used.
    Frame(Frame<'a>, usize),
    /// No complete frame yet. `used` bytes (of an overlong line being skipped) may be
    /// dropped; the rest must be kept and presented again with more input.
    NeedMore {
        /// Bytes the framer has finished with.
        used: usize,
    },
}

/// Splits a byte stream into lines of at most `max_line` bytes, line ending included.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_line: usize,
    /// IRC's formatting codes and CTCP's `\x01` pass (the IRC codec strips them).
    formatting: bool,
    /// Inside an overlong line that was already answered: skip to its `\n`.
    skipping: bool,
}

impl LineFramer {
    /// A framer for lines of at most `max_line` bytes, counting the `\n` (and `\r`).
    pub fn new(max_line: usize) -> LineFramer {
        LineFramer {
            max_line,
            formatting: false,
            skipping: false,
        }
    }

    /// A framer for IRC: as [`LineFramer::new`], but IRC's formatting codes (bold,
    /// colours, ...) and CTCP's `\x01` pass, for the IRC codec to strip or read.
    pub fn irc(max_line: usize) -> LineFramer {
        LineFramer {
            formatting: true,
            ..LineFramer::new(max_line)
        }
    }

    /// Takes the next frame from the start of `input`.
    pub fn next_frame<'a>(&mut self, input: &'a [u8]) -> Step<'a> {
        let newline = input.iter().position(|&b| b == b'\n');
        if self.skipping {
            return match newline {
                Some(end) => {
                    self.skipping = false;
                    // The overlong line was answered already; its end is silent.
                    self.next_after_skip(input, end + 1)
                }
                None => Step::NeedMore { used: input.len() },
            };
        }
        match newline {
            Some(end) if end < self.max_line => Step::Frame(
                check_text(strip_cr(&input[..end]), self.formatting),
                end + 1,
            ),
            Some(end) => Step::Frame(Frame::TooLong, end + 1),
            None if input.len() >= self.max_line => {
                // Even a lone `\n` now would make the line too long: answer at once.
                self.skipping = true;
                Step::Frame(Frame::TooLong, input.len())
            }
            None => Step::NeedMore { used: 0 },
        }
    }

    fn next_after_skip<'a>(&mut self, input: &'a [u8], skipped: usize) -> Step<'a> {
        match self.next_frame(&input[skipped..]) {
            Step::Frame(frame, used) => Step::Frame(frame, skipped + used),
            Step::NeedMore { used } => Step::NeedMore {
                used: skipped + used,
            },
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Checks that `line` is UTF-8 without control characters (TAB is allowed).
fn check_text(line: &[u8], formatting: bool) -> Frame<'_> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Frame::BadText;
    };
    if has_control(line, formatting) {
        Frame::BadText
    } else {
        Frame::Line(text)
    }
}

/// C0 controls but TAB, DEL, and C1 controls (U+0080..U+009F, encoded `C2 80`..`C2 9F`).
/// Works on bytes of valid UTF-8, where `C2` can only be a lead byte. With
/// `formatting`, IRC's formatting codes and `\x01` are no controls.
fn has_control(line: &[u8], formatting: bool) -> bool {
    // Nearly every line has none of these bytes: one pass the compiler vectorises.
    if !line.iter().any(|&b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return false;
    }
    line.iter().enumerate().any(|(i, &b)| match b {
        b'\t' => false,
        0x01..=0x04 | 0x0f | 0x11 | 0x16 | 0x1d..=0x1f if formatting => false,
        0x00..=0x1f | 0x7f => true,
        0xc2 => matches!(line.get(i + 1), Some(0x80..=0x9f)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Owned copy of a frame, to compare runs over different chunkings.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Line(String),
        TooLong,
        BadText,
    }

    /// Feeds `input` in the given chunk sizes, keeping leftovers as a connection would.
    fn frames(max_line: usize, input: &[u8], chunks: &[usize]) -> Vec<Owned> {
        let mut framer = LineFramer::new(max_line);
        let mut held: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut rest = input;
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
            held.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            let mut pos = 0;
            loop {
                match framer.next_frame(&held[pos..]) {
                    Step::Frame(frame, used) => {
                        assert!(used > 0, "a frame must consume input");
                        pos += used;
                        out.push(match frame {
                            Frame::Line(text) => Owned::Line(text.to_owned()),
                            Frame::TooLong => Owned::TooLong,
                            Frame::BadText => Owned::BadText,
                        });
                    }
                    Step::NeedMore { used } => {
                        pos += used;
                        break;
                    }
                }
            }
            held.drain(..pos);
            assert!(held.len() < max_line, "held {} bytes", held.len());
        }
        out
    }

    fn line(text: &str) -> Owned {
        Owned::Line(text.to_owned())
    }

    #[test]
    fn splits_lines_and_drops_cr_before_newline() {
        let got = frames(64, b"hello\r\nworld\n\n  \n", &[100]);
        assert_eq!(
            got,
            vec![line("hello"), line("world"), line(""), line("  ")]
        );
    }

    #[test]
    fn partial_line_waits_for_its_newline() {
        assert_eq!(frames(64, b"abc", &[1]), vec![]);
        assert_eq!(frames(64, b"abc\nde", &[1]), vec![line("abc")]);
    }

    #[test]
    fn limit_counts_the_line_ending() {
        // 8 bytes with `\n` fit a limit of 8; 9 do not; `\r\n` counts both bytes.
        assert_eq!(frames(8, b"1234567\n", &[100]), vec![line("1234567")]);
        assert_eq!(
            frames(8, b"12345678\nok\n", &[100]),
            vec![Owned::TooLong, line("ok")]
        );
        assert_eq!(frames(8, b"123456\r\n", &[100]), vec![line("123456")]);
        assert_eq!(
            frames(8, b"1234567\r\nok\n", &[100]),
            vec![Owned::TooLong, line("ok")]
        );
    }

    #[test]
    fn overlong_line_is_refused_once_then_skipped() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nnext\n");
        for chunk in [1, 7, 64, 2000] {
            assert_eq!(
                frames(16, &input, &[chunk]),
                vec![Owned::TooLong, line("next")],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn control_characters_and_bad_utf8_are_bad_text() {
        for bad in [
            &b"nul\x00\n"[..],
            b"esc\x1b[31m\n",
            b"del\x7f\n",
            b"bare\rcr\n",
            "c1\u{85}\n".as_bytes(),
            b"\xff\xfe\n",
            b"half \xe2\x82\n",
        ] {
            assert_eq!(frames(64, bad, &[100]), vec![Owned::BadText], "{bad:?}");
        }
        assert_eq!(frames(64, b"tab\there\n", &[100]), vec![line("tab\there")]);
        // Format characters (bidi marks) and other scripts are text, not controls.
        let ok = "שלום \u{200f}é\u{a0}\n";
        assert_eq!(
            frames(64, ok.as_bytes(), &[100]),
            vec![line(&ok[..ok.len() - 1])]
        );
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_frame_the_same(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(0xc2u8), Just(0x85u8), any::<u8>()],
                0..600,
            ),
            chunks in proptest::collection::vec(1usize..40, 1..8),
            max_line in 1usize..50,
        ) {
            let whole = frames(max_line, &input, &[usize::MAX]);
            let chunked = frames(max_line, &input, &chunks);
            prop_assert_eq!(&whole, &chunked);
            // Every terminated line answers exactly once; an unterminated overlong tail
            // answers once too; nothing else does.
            let terminated = input.iter().filter(|&&b| b == b'\n').count();
            let tail = input.len() - input.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let expected = terminated + usize::from(tail >= max_line);
            prop_assert_eq!(whole.len(), expected);
            for frame in &whole {
                if let Owned::Line(text) = frame {
                    prop_assert!(text.len() < max_line);
                    prop_assert!(!text.chars().any(|c| c.is_control() && c != '\t'));
                }
            }
        }
    }
}
