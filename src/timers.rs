//! Deadlines: a min-heap of `(when, what)` that yields the poll timeout.
//!
//! Entries are never cancelled in place. Their owner checks, when one fires, whether it
//! still applies (a connection that has gone, or whose deadline has moved, ignores it),
//! and moving a deadline later costs nothing until the old entry fires: a busy client
//! touches no timer per line. [`Deadlines::retain`] drops dead entries in bulk when the
//! owner knows many have piled up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Pending deadlines, earliest first.
#[derive(Debug)]
pub struct Deadlines<K: Ord> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
}

impl<K: Ord> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            heap: BinaryHeap::new(),
        }
    }
}

impl<K: Ord> Deadlines<K> {
    /// An empty set of deadlines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deadline `what` at `when`.
    pub fn schedule(&mut self, when: Instant, what: K) {
        self.heap.push(Reverse((when, what)));
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((when, _))| *when)
    }

    /// Removes and returns the earliest deadline that is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, what))| what)
    }

    /// Keeps only the deadlines for which `keep` says yes.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.heap.retain(|Reverse((_, what))| keep(what));
    }

    /// How many deadlines are pending, live or not.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_due_deadlines_in_time_order() {
        let t0 = Instant::now();
        let mut d = Deadlines::new();
        d.schedule(t0 + Duration::from_secs(3), 'c');
        d.schedule(t0 + Duration::from_secs(1), 'a');
        d.schedule(t0 + Duration::from_secs(2), 'b');
        assert_eq!(d.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(d.pop_due(t0), None);
        let now = t0 + Duration::from_secs(2);
        assert_eq!(d.pop_due(now), Some('a'));
        assert_eq!(d.pop_due(now), Some('b'));
        assert_eq!(d.pop_due(now), None);
        d.retain(|&k| k != 'c');
        assert!(d.is_empty());
    }
}
