//! The connections with output to write, in two lanes.
//!
//! A line to a big room is written to every member, a few microseconds a socket, and
//! the loop spreads that pass over several turns. Served strictly in the order output
//! arrived, a line to a room of five that arrives during such a pass would wait for
//! the rest of it: one busy big room would set everyone's latency. So output is listed
//! in one of two lanes, and each turn serves both:
//!
//! - [`Lane::Prompt`]: replies, private messages, notices and lines to rooms of at
//!   most [`PROMPT_FANOUT`] recipients, work that one turn finishes;
//! - [`Lane::Bulk`]: the recipients of bigger fan-outs, and connections continuing a
//!   backlog (a socket that was full, a write budget used up). Its small writes are
//!   paced by `--fanout-write-rate` ([`BulkPace`]).
//!
//! Each lane keeps arrival order, so nobody in it is overtaken by later output of the
//! same kind, and serving both every turn means neither can starve the other.
//!
//! A connection is in each lane at most once. Listed in the prompt lane while it waits
//! in the bulk one, it is written to by whichever entry comes first; the other entry
//! finds nothing left and is passed over.

use std::collections::VecDeque;
use std::time::Instant;

use crate::pacing::{Pace, RateLimit};

/// Fan-outs to at most this many recipients go to the prompt lane: one turn's flush
/// slice serves them whole.
pub const PROMPT_FANOUT: usize = 64;

/// A write to a bulk-lane connection with fewer bytes than this waiting is small, and
/// waits for `--fanout-write-rate`. A line to a big room is one small write and one
/// packet per member, each costing the machine about the same whatever it carries;
/// paced, a member's lines gather until a write is allowed or this many bytes wait,
/// so the packets of a busy big room are bounded by the rate plus its bytes over this.
pub const SMALL_WRITE: usize = 256;

/// Small writes to big fan-outs that may go at once before `--fanout-write-rate`
/// paces them: two milliseconds' worth at the default rate, so that a turn after the
/// poll's one-millisecond sleep can use what accrued meanwhile.
pub const FANOUT_WRITE_BURST: u32 = 32;

/// Which of the two lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Small work, served ahead of the bulk lane's backlog.
    Prompt,
    /// Big fan-outs and backlogs.
    Bulk,
}

/// A connection's place in the flush lanes (kept with the connection).
#[derive(Debug, Default, Clone, Copy)]
pub struct FlushMark {
    /// Output waits to be written.
    listed: bool,
    /// An entry for the connection is in the prompt lane.
    in_prompt: bool,
    /// An entry for the connection is in the bulk lane.
    in_bulk: bool,
}

impl FlushMark {
    /// Output waits to be written to the connection: its entries are not stale.
    pub fn is_listed(&self) -> bool {
        self.listed
    }

    /// The connection's entry in `lane` came up: true if it is to be written to now
    /// (it was not, since it was listed, through its other entry).
    pub fn take_turn(&mut self, lane: Lane) -> bool {
        match lane {
            Lane::Prompt => self.in_prompt = false,
            Lane::Bulk => self.in_bulk = false,
        }
        std::mem::take(&mut self.listed)
    }
}

/// The two lanes of connection keys with output to write.
#[derive(Debug, Default)]
pub struct FlushQueue {
    prompt: VecDeque<usize>,
    bulk: VecDeque<usize>,
}

impl FlushQueue {
    /// Lists `key` for a flush in `lane`. A connection already waiting keeps its
    /// place, except that prompt output moves it up into the prompt lane.
    pub fn list(&mut self, key: usize, mark: &mut FlushMark, lane: Lane) {
        let waiting = std::mem::replace(&mut mark.listed, true);
        match lane {
            Lane::Prompt if !mark.in_prompt => {
                mark.in_prompt = true;
                self.prompt.push_back(key);
            }
            Lane::Bulk if !waiting && !mark.in_bulk => {
                mark.in_bulk = true;
                self.bulk.push_back(key);
            }
            _ => {}
        }
    }

    /// The next key in `lane`; check it with [`FlushMark::take_turn`].
    pub fn pop(&mut self, lane: Lane) -> Option<usize> {
        self.lane(lane).pop_front()
    }

    /// The key whose entry in `lane` comes up next, left in place.
    pub fn front(&self, lane: Lane) -> Option<usize> {
        self.lane_ref(lane).front().copied()
    }

    /// Entries in `lane`, some perhaps passed over when they come up.
    pub fn len(&self, lane: Lane) -> usize {
        self.lane_ref(lane).len()
    }

    /// True when neither lane has an entry.
    pub fn is_empty(&self) -> bool {
        self.prompt.is_empty() && self.bulk.is_empty()
    }

    fn lane(&mut self, lane: Lane) -> &mut VecDeque<usize> {
        match lane {
            Lane::Prompt => &mut self.prompt,
            Lane::Bulk => &mut self.bulk,
        }
    }

    fn lane_ref(&self, lane: Lane) -> &VecDeque<usize> {
        match lane {
            Lane::Prompt => &self.prompt,
            Lane::Bulk => &self.bulk,
        }
    }
}

/// The pace of the bulk lane's small writes (`--fanout-write-rate`). When the next
/// write must wait, the lane waits with it, in order, and the loop sleeps until
/// [`BulkPace::waiting_until`].
#[derive(Debug)]
pub struct BulkPace {
    limit: RateLimit,
    pace: Pace,
    /// When the small write last refused may go.
    resume_at: Option<Instant>,
}

impl BulkPace {
    /// A pace of `rate` small writes a second after [`FANOUT_WRITE_BURST`] (0: none).
    pub fn new(rate: u32) -> BulkPace {
        BulkPace {
            limit: RateLimit {
                rate,
                burst: FANOUT_WRITE_BURST,
            },
            pace: Pace::default(),
            resume_at: None,
        }
    }

    /// Whether small writes are paced at all.
    pub fn is_on(&self) -> bool {
        self.limit.is_on()
    }

    /// Whether a write with `bytes` waiting may go at `now`: at once if it is not
    /// small, otherwise if the rate allows (and then it counts).
    pub fn allows(&mut self, bytes: usize, now: Instant) -> bool {
        if bytes >= SMALL_WRITE {
            return true;
        }
        match self.pace.take(self.limit, now) {
            Ok(()) => true,
            Err(at) => {
                self.resume_at = Some(at);
                false
            }
        }
    }

    /// When the lane may go on, if at `now` it is still waiting.
    pub fn waiting_until(&self, now: Instant) -> Option<Instant> {
        self.resume_at.filter(|&at| at > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pops `lane` to the end, returning the keys whose turn it was.
    fn served(queue: &mut FlushQueue, marks: &mut [FlushMark], lane: Lane) -> Vec<usize> {
        let mut keys = Vec::new();
        while let Some(key) = queue.pop(lane) {
            if marks[key].take_turn(lane) {
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn each_lane_keeps_arrival_order_and_lists_a_key_once() {
        let mut queue = FlushQueue::default();
        let mut marks = [FlushMark::default(); 4];
        for key in [2, 0, 2, 1] {
            queue.list(key, &mut marks[key], Lane::Bulk);
        }
        queue.list(3, &mut marks[3], Lane::Prompt);
        queue.list(3, &mut marks[3], Lane::Prompt);
        assert_eq!(queue.len(Lane::Bulk), 3);
        assert_eq!(served(&mut queue, &mut marks, Lane::Prompt), [3]);
        assert_eq!(served(&mut queue, &mut marks, Lane::Bulk), [2, 0, 1]);
        assert!(queue.is_empty());
        assert!(marks.iter().all(|mark| !mark.listed));
    }

    #[test]
    fn prompt_output_moves_a_waiting_connection_up_once() {
        let mut queue = FlushQueue::default();
        let mut marks = [FlushMark::default(); 3];
        for (key, mark) in marks.iter_mut().enumerate() {
            queue.list(key, mark, Lane::Bulk);
        }
        queue.list(2, &mut marks[2], Lane::Prompt);
        assert_eq!(queue.front(Lane::Prompt), Some(2));
        assert_eq!(queue.front(Lane::Bulk), Some(0), "front leaves the entry");
        assert_eq!(queue.front(Lane::Bulk), Some(0));
        assert_eq!(served(&mut queue, &mut marks, Lane::Prompt), [2]);
        assert!(!marks[2].is_listed(), "served through the prompt lane");
        assert!(marks[0].is_listed());
        // Its bulk entry finds nothing left, and is passed over.
        assert_eq!(served(&mut queue, &mut marks, Lane::Bulk), [0, 1]);
    }

    #[test]
    fn small_writes_go_in_a_burst_then_at_the_rate_and_big_ones_never_wait() {
        let start = Instant::now();
        let mut pace = BulkPace::new(1000);
        let small = SMALL_WRITE - 1;
        for _ in 0..FANOUT_WRITE_BURST {
            assert!(pace.allows(small, start));
        }
        assert!(!pace.allows(small, start));
        let resume = pace.waiting_until(start).expect("the lane waits");
        assert_eq!(resume, start + std::time::Duration::from_millis(1));
        assert!(pace.allows(SMALL_WRITE, start), "a full write goes at once");
        assert_eq!(
            pace.waiting_until(start),
            Some(resume),
            "and spends nothing"
        );
        assert_eq!(pace.waiting_until(resume), None, "the wait is over");
        assert!(pace.allows(small, resume));
        assert!(!pace.allows(small, resume), "one a millisecond");
    }

    #[test]
    fn rate_zero_never_waits() {
        let now = Instant::now();
        let mut pace = BulkPace::new(0);
        assert!(!pace.is_on());
        assert!((0..10_000).all(|_| pace.allows(1, now)));
        assert_eq!(pace.waiting_until(now), None);
    }

    #[test]
    fn a_stale_entry_keeps_its_place_rather_than_doubling() {
        let mut queue = FlushQueue::default();
        let mut marks = [FlushMark::default(); 2];
        queue.list(0, &mut marks[0], Lane::Bulk);
        queue.list(1, &mut marks[1], Lane::Bulk);
        queue.list(1, &mut marks[1], Lane::Prompt);
        assert_eq!(served(&mut queue, &mut marks, Lane::Prompt), [1]);
        // New bulk output for 1 while its old entry still waits: the old entry serves.
        queue.list(1, &mut marks[1], Lane::Bulk);
        assert_eq!(queue.len(Lane::Bulk), 2);
        assert_eq!(served(&mut queue, &mut marks, Lane::Bulk), [0, 1]);
    }
}
