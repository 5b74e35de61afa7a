//! A connection's pending output: shared lines waiting to be written, sent with
//! vectored writes so one system call carries many lines.
//!
//! While a reply to the client's own command is being handed out (see
//! [`crate::reply`]), lines for it from elsewhere are held behind the reply, so that
//! the reply's lines stay together.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::mem::size_of;

use crate::codec::Line;

/// Lines handed to one `write_vectored` call at most.
pub const MAX_SLICES_PER_WRITE: usize = 128;

/// Memory a queued line costs beyond its bytes, counted against `--max-sendq`: its slot
/// in the queue, twice over because a queue grows by doubling. (A line's bytes are
/// counted in full for each recipient, though recipients share them.) Without it, a
/// flood of short lines to a client that never reads would hold far more than the
/// limit says.
pub const LINE_BOOKKEEPING: usize = 2 * size_of::<Line>();

/// Lines waiting for one connection, oldest first.
#[derive(Debug, Default)]
pub struct OutQueue {
    lines: VecDeque<Line>,
    /// Lines that came while a reply is being handed out: they follow it.
    held: VecDeque<Line>,
    /// A reply is being handed out: new lines go to `held`.
    holding: bool,
    /// Bytes of the front line already written.
    front_written: usize,
    /// Bytes still to write plus each line's bookkeeping, held lines included: the
    /// memory `--max-sendq` and `--soft-sendq` measure.
    pending: usize,
    /// The part of `pending` that is held behind a reply.
    held_pending: usize,
}

impl OutQueue {
    /// An empty queue (allocates nothing until used).
    pub fn new() -> OutQueue {
        OutQueue::default()
    }

    /// Appends a line, behind a reply being handed out if there is one; the bytes are
    /// shared, not copied.
    pub fn push(&mut self, line: &Line) {
        self.pending += line.len() + LINE_BOOKKEEPING;
        if self.holding {
            self.held_pending += line.len() + LINE_BOOKKEEPING;
            self.held.push_back(line.clone());
        } else {
            self.lines.push_back(line.clone());
        }
    }

    /// Appends a line of the reply being handed out, ahead of the lines held behind it.
    pub fn push_reply(&mut self, line: &Line) {
        self.pending += line.len() + LINE_BOOKKEEPING;
        self.lines.push_back(line.clone());
    }

    /// A reply is being handed out from now on: lines from elsewhere wait behind it.
    pub fn hold(&mut self) {
        self.holding = true;
    }

    /// The reply is out: the lines held behind it follow it.
    pub fn release(&mut self) {
        self.holding = false;
        if self.lines.is_empty() {
            std::mem::swap(&mut self.lines, &mut self.held);
        } else {
            self.lines.append(&mut self.held);
        }
        self.held = VecDeque::new();
        self.held_pending = 0;
    }

    /// Memory held for the connection's output: bytes still to write plus bookkeeping.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The part of [`OutQueue::pending`] that may be written now: not the lines held
    /// behind a reply, which wait for all of it.
    pub fn ready(&self) -> usize {
        self.pending - self.held_pending
    }

    /// Bytes still to write, held lines included (no bookkeeping).
    pub fn bytes(&self) -> usize {
        self.pending - (self.lines.len() + self.held.len()) * LINE_BOOKKEEPING
    }

    /// True when nothing is ready to write (lines may be held behind a reply that is
    /// still to come).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Forgets everything queued; returns the rest of a half-written front line, which
    /// must go out before anything else for the stream to stay line-aligned.
    pub fn discard(&mut self) -> Option<Line> {
        let front = self.lines.pop_front().filter(|_| self.front_written > 0);
        let rest = front.map(|line| Line::from_bytes(&line[self.front_written..]));
        *self = OutQueue::new();
        rest
    }

    /// Takes every queued line out, held ones last, for inspection in tests.
    #[cfg(test)]
    pub fn discard_all(&mut self) -> Vec<Line> {
        let mut lines: Vec<Line> = std::mem::take(&mut self.lines).into();
        lines.extend(std::mem::take(&mut self.held));
        *self = OutQueue::new();
        lines
    }

    /// Writes as much as one vectored write takes; returns the bytes written.
    pub fn write_to(&mut self, sink: &mut impl Write) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES_PER_WRITE];
        let mut count = 0;
        for (i, line) in self.lines.iter().take(MAX_SLICES_PER_WRITE).enumerate() {
            let skip = if i == 0 { self.front_written } else { 0 };
            slices[i] = IoSlice::new(&line[skip..]);
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        let written = sink.write_vectored(&slices[..count])?;
        self.advance(written);
        Ok(written)
    }

    fn advance(&mut self, mut written: usize) {
        self.pending -= written;
        while written > 0 {
            let front_left = self.lines[0].len() - self.front_written;
            if written < front_left {
                self.front_written += written;
                return;
            }
            written -= front_left;
            self.lines.pop_front();
            self.pending -= LINE_BOOKKEEPING;
            self.front_written = 0;
        }
        if self.lines.is_empty() && self.lines.capacity() > 64 {
            // A burst is over: give its memory back rather than hold it per idle client.
            self.lines = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::parley::Encoder;
    use crate::hub::Event;

    /// A sink that takes at most `limit` bytes per call.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut left = self.limit;
            for buf in bufs {
                let n = buf.len().min(left);
                self.got.extend_from_slice(&buf[..n]);
                left -= n;
            }
            Ok(self.limit - left)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_writes_resume_mid_line_and_keep_order() {
        let mut enc = Encoder::new();
        let mut q = OutQueue::new();
        let mut expected = Vec::new();
        for i in 0..300 {
            let line = enc.encode(&Event::Pong {
                token: &format!("line{i}"),
            });
            expected.extend_from_slice(&line);
            q.push(&line);
        }
        assert_eq!(q.pending(), expected.len() + 300 * LINE_BOOKKEEPING);
        assert_eq!(q.bytes(), expected.len());
        let mut sink = Trickle {
            got: Vec::new(),
            limit: 7,
        };
        while !q.is_empty() {
            q.write_to(&mut sink).unwrap();
            assert_eq!(q.bytes(), expected.len() - sink.got.len(), "mid-line too");
        }
        assert_eq!(sink.got, expected);
    }

    #[test]
    fn discard_keeps_only_the_rest_of_a_half_written_line() {
        let mut enc = Encoder::new();
        let mut q = OutQueue::new();
        q.push(&enc.encode(&Event::Pong { token: "first" }));
        q.push(&enc.encode(&Event::Pong { token: "second" }));
        let mut sink = Trickle {
            got: Vec::new(),
            limit: 3,
        };
        q.write_to(&mut sink).unwrap();
        let rest = q.discard().expect("front was half written");
        assert_eq!(&sink.got[..], b"PON");
        assert_eq!(&rest[..], b"G first\n");
        assert!(q.is_empty());
        assert_eq!(q.discard(), None);
    }

    #[test]
    fn lines_held_behind_a_reply_follow_it_and_every_line_counts_its_bookkeeping() {
        let mut enc = Encoder::new();
        let mut q = OutQueue::new();
        let line = |enc: &mut Encoder, token: &str| enc.encode(&Event::Pong { token });
        q.push(&line(&mut enc, "before"));
        q.hold();
        q.push(&line(&mut enc, "after"));
        q.push_reply(&line(&mut enc, "reply1"));
        q.push_reply(&line(&mut enc, "reply2"));
        let bytes = "PONG before\nPONG after\nPONG reply1\nPONG reply2\n".len();
        assert_eq!(q.pending(), bytes + 4 * LINE_BOOKKEEPING);
        assert_eq!(q.bytes(), bytes, "held lines are still to write");
        let held = "PONG after\n".len() + LINE_BOOKKEEPING;
        assert_eq!(q.ready(), q.pending() - held, "held lines are not ready");
        q.release();
        assert_eq!(q.ready(), q.pending(), "released, they are");
        let mut sink = Trickle {
            got: Vec::new(),
            limit: 1000,
        };
        while !q.is_empty() {
            q.write_to(&mut sink).unwrap();
        }
        assert_eq!(
            sink.got,
            b"PONG before\nPONG reply1\nPONG reply2\nPONG after\n"
        );
        assert_eq!(q.pending(), 0, "bookkeeping is given back with the lines");
    }
}
