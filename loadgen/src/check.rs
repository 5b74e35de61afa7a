//! Exactly-once, in-order checking of one receiver's deliveries.
//!
//! Each receiver keeps, per sender slot of its group, the next sequence number it
//! expects. The common case (the expected message arrives) is one array index and one
//! increment. Anything else is recorded, never hidden:
//! - a jump ahead leaves a *gap*: those messages are missing for now;
//! - a message from inside a gap arrived late: it is *reordered* and leaves the gap;
//! - any other message below the expected number was already delivered: a *duplicate*.
//!
//! What is still missing at the end (open gaps plus the tail that never came) is the
//! loss. Gaps are kept in a small list that exists only once something went wrong.

/// Cap on remembered gaps per receiver; beyond it late arrivals from forgotten gaps
/// count as duplicates and `gaps_forgotten` says so.
const MAX_GAPS: usize = 4096;

/// What one delivery turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The expected next message.
    InOrder,
    /// Ahead of the expected one: this many messages before it are missing so far.
    Gap(u64),
    /// A message from an earlier gap: delivered, but out of order.
    Reordered,
    /// Already delivered before.
    Duplicate,
}

#[derive(Debug, Clone, Copy)]
struct Gap {
    slot: u32,
    from: u64,
    to: u64,
}

/// Sequence state of one receiver for all the senders it listens to.
#[derive(Debug, Default)]
pub struct SeqCheck {
    next: Box<[u64]>,
    gaps: Vec<Gap>,
    /// Gaps not remembered because the list was full.
    pub gaps_forgotten: u64,
}

impl SeqCheck {
    /// A checker for `slots` senders, expecting sequence 0 from each.
    pub fn new(slots: usize) -> SeqCheck {
        SeqCheck {
            next: vec![0; slots].into_boxed_slice(),
            gaps: Vec::new(),
            gaps_forgotten: 0,
        }
    }

    /// The next sequence number expected from `slot`.
    #[inline]
    pub fn next(&self, slot: usize) -> u64 {
        self.next[slot]
    }

    /// Records the arrival of `seq` from `slot` (which must be `< slots()`).
    #[inline]
    pub fn observe(&mut self, slot: usize, seq: u64) -> Verdict {
        let expected = self.next[slot];
        if seq == expected {
            self.next[slot] = seq + 1;
            return Verdict::InOrder;
        }
        self.observe_unusual(slot, expected, seq)
    }

    #[cold]
    fn observe_unusual(&mut self, slot: usize, expected: u64, seq: u64) -> Verdict {
        if seq > expected {
            self.next[slot] = seq + 1;
            if self.gaps.len() < MAX_GAPS {
                self.gaps.push(Gap {
                    slot: slot as u32,
                    from: expected,
                    to: seq,
                });
            } else {
                self.gaps_forgotten += 1;
            }
            return Verdict::Gap(seq - expected);
        }
        let found = self
            .gaps
            .iter()
            .position(|g| g.slot as usize == slot && g.from <= seq && seq < g.to);
        let Some(i) = found else {
            return Verdict::Duplicate;
        };
        let g = self.gaps[i];
        // Take `seq` out of the gap, splitting it in two when it was in the middle.
        match (seq == g.from, seq + 1 == g.to) {
            (true, true) => {
                self.gaps.swap_remove(i);
            }
            (true, false) => self.gaps[i].from = seq + 1,
            (false, true) => self.gaps[i].to = seq,
            (false, false) => {
                self.gaps[i].to = seq;
                if self.gaps.len() < MAX_GAPS {
                    self.gaps.push(Gap {
                        slot: g.slot,
                        from: seq + 1,
                        to: g.to,
                    });
                } else {
                    self.gaps_forgotten += 1;
                }
            }
        }
        Verdict::Reordered
    }

    /// Messages from `slot` still missing, given that its sender sent `sent` of them
    /// (sequence numbers `0..sent`): open gaps plus the tail never received.
    pub fn missing(&self, slot: usize, sent: u64) -> u64 {
        self.skipped(slot, sent) + self.not_arrived(slot, sent)
    }

    /// Messages from `slot` in open gaps: a later message from the same sender came,
    /// so (per-sender order being guaranteed) these are lost for good.
    pub fn skipped(&self, slot: usize, sent: u64) -> u64 {
        self.gaps
            .iter()
            .filter(|g| g.slot as usize == slot)
            .map(|g| g.to.min(sent).saturating_sub(g.from))
            .sum()
    }

    /// Messages from `slot` after the last one received: late or lost, nobody can
    /// tell yet.
    pub fn not_arrived(&self, slot: usize, sent: u64) -> u64 {
        sent.saturating_sub(self.next[slot])
    }

    /// Messages received from `slot` with sequence numbers the sender never sent.
    pub fn phantom(&self, slot: usize, sent: u64) -> u64 {
        self.next[slot].saturating_sub(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_delivery_is_complete() {
        let mut c = SeqCheck::new(3);
        for seq in 0..100 {
            for slot in 0..3 {
                assert_eq!(c.observe(slot, seq), Verdict::InOrder);
            }
        }
        for slot in 0..3 {
            assert_eq!(c.missing(slot, 100), 0);
        }
    }

    #[test]
    fn loss_in_the_middle_and_at_the_end_is_counted() {
        let mut c = SeqCheck::new(1);
        for seq in [0, 1, 2, 5, 6, 9] {
            c.observe(0, seq);
        }
        // 3, 4, 7, 8 missing inside; 10, 11 never came.
        assert_eq!(c.missing(0, 12), 6);
        assert_eq!(c.skipped(0, 12), 4);
        assert_eq!(c.not_arrived(0, 12), 2);
        assert_eq!(c.observe(0, 10), Verdict::InOrder);
        assert_eq!(c.missing(0, 12), 5);
    }

    #[test]
    fn a_gap_reports_its_size() {
        let mut c = SeqCheck::new(2);
        c.observe(1, 0);
        assert_eq!(c.observe(1, 4), Verdict::Gap(3));
        assert_eq!(c.next(1), 5);
        assert_eq!(c.missing(0, 0), 0);
    }

    #[test]
    fn duplicates_are_detected() {
        let mut c = SeqCheck::new(1);
        c.observe(0, 0);
        c.observe(0, 1);
        assert_eq!(c.observe(0, 1), Verdict::Duplicate);
        assert_eq!(c.observe(0, 0), Verdict::Duplicate);
        assert_eq!(c.missing(0, 2), 0);
    }

    #[test]
    fn reordering_is_detected_and_not_counted_as_loss() {
        let mut c = SeqCheck::new(1);
        c.observe(0, 0);
        assert_eq!(c.observe(0, 3), Verdict::Gap(2));
        assert_eq!(c.missing(0, 4), 2);
        // 2 then 1 arrive late: reordered, and they fill the gap.
        assert_eq!(c.observe(0, 2), Verdict::Reordered);
        assert_eq!(c.observe(0, 1), Verdict::Reordered);
        assert_eq!(c.missing(0, 4), 0);
        // A second copy of a late one is a duplicate.
        assert_eq!(c.observe(0, 1), Verdict::Duplicate);
    }

    #[test]
    fn late_arrival_in_middle_of_gap_splits_it() {
        let mut c = SeqCheck::new(1);
        c.observe(0, 0);
        c.observe(0, 10); // gap 1..10
        assert_eq!(c.observe(0, 5), Verdict::Reordered);
        assert_eq!(c.missing(0, 11), 8);
        assert_eq!(c.observe(0, 5), Verdict::Duplicate);
        assert_eq!(c.observe(0, 1), Verdict::Reordered);
        assert_eq!(c.observe(0, 9), Verdict::Reordered);
        assert_eq!(c.missing(0, 11), 6);
    }

    #[test]
    fn slots_are_independent() {
        let mut c = SeqCheck::new(2);
        c.observe(0, 0);
        c.observe(0, 2);
        assert_eq!(c.observe(1, 1), Verdict::Gap(1));
        assert_eq!(c.observe(1, 0), Verdict::Reordered);
        assert_eq!(c.observe(0, 1), Verdict::Reordered);
        assert_eq!(c.missing(0, 3), 0);
        assert_eq!(c.missing(1, 2), 0);
    }

    #[test]
    fn messages_beyond_what_was_sent_are_phantoms() {
        let mut c = SeqCheck::new(1);
        c.observe(0, 0);
        c.observe(0, 1);
        assert_eq!(c.phantom(0, 1), 1);
        assert_eq!(c.missing(0, 1), 0);
    }
}
