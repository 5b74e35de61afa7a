//! Bookkeeping of the queue scenario: which clients waited in which order, how slots
//! are freed, and the checks on admission order and position updates. Pure logic; the
//! driver feeds it events and performs the releases it asks for.

use crate::scenario::NONE;

/// A position update closer than this to the previous one breaks "at most once per
/// second per client". The 100 ms margin absorbs the loadgen's own jitter in stamping
/// arrivals; the server checks its queue every 250 ms, so a real violation shows up
/// well below it.
pub const MIN_UPDATE_GAP_NS: u64 = 900_000_000;

/// The queue scenario's state and findings.
#[derive(Debug, Default)]
pub struct QueueRun {
    /// Releasing has begun (setup is over).
    pub begun: bool,
    /// Queued clients in the order of their first position.
    pub order: Vec<u32>,
    /// Per client: its index in `order`, or NONE.
    rank: Vec<u32>,
    /// Slots freed so far (clients told to quit).
    pub released: u64,
    /// Queued clients that left the queue on their own (they move everyone behind up).
    pub departed: u64,
    /// Queued clients admitted (`HELLO`).
    pub admitted: u64,
    /// Named clients that may be told to quit to free a slot.
    pub pool: Vec<u32>,
    /// Slots freed per step.
    pub batch: u64,
    /// Slots per second, or as soon as the previous batch is admitted.
    pub rate: Option<f64>,
    next_at: u64,
    /// Admissions that came before their turn.
    pub order_violations: u64,
    /// Admissions before any slot was freed.
    pub early_admissions: u64,
    /// First positions that do not form exactly 1..=queued.
    pub bad_first_positions: u64,
    /// Position updates after the first `QUEUED`.
    pub updates: u64,
    /// Updates closer than [`MIN_UPDATE_GAP_NS`] to the previous one.
    pub too_soon: u64,
    /// Updates repeating the previous position.
    pub unchanged: u64,
    /// Updates with a larger position than before.
    pub increased: u64,
    /// Smallest gap between two updates to one client (ns); `u64::MAX` when none.
    pub min_gap: u64,
    /// When releasing began and when the last queued client was admitted.
    pub began_at: u64,
    /// When the last queued client was admitted (0 until then).
    pub last_admitted_at: u64,
}

impl QueueRun {
    /// State for `clients` clients.
    pub fn new(clients: usize, batch: usize, rate: Option<f64>) -> QueueRun {
        QueueRun {
            rank: vec![NONE; clients],
            batch: batch as u64,
            rate,
            min_gap: u64::MAX,
            ..QueueRun::default()
        }
    }

    /// Starts the release phase with the queued clients and their first positions, and
    /// the admitted clients that can free slots.
    pub fn begin(&mut self, queued: &[(u32, u64)], pool: Vec<u32>, now: u64) {
        let mut q = queued.to_vec();
        q.sort_by_key(|&(id, pos)| (pos, id));
        for (expect, &(_, pos)) in (1u64..).zip(q.iter()) {
            if pos != expect {
                self.bad_first_positions += 1;
            }
        }
        self.order = q.iter().map(|&(id, _)| id).collect();
        for (r, &id) in self.order.iter().enumerate() {
            self.rank[id as usize] = r as u32;
        }
        self.pool = pool;
        self.begun = true;
        self.began_at = now;
        self.next_at = now;
    }

    /// Checks a position update against the previous one of the same client.
    pub fn on_update(&mut self, prev_pos: u64, prev_at: u64, pos: u64, now: u64) {
        self.updates += 1;
        let gap = now.saturating_sub(prev_at);
        self.min_gap = self.min_gap.min(gap);
        if gap < MIN_UPDATE_GAP_NS {
            self.too_soon += 1;
        }
        if pos == prev_pos {
            self.unchanged += 1;
        } else if pos > prev_pos {
            self.increased += 1;
        }
    }

    /// Records the admission of queued client `id`; `false` when it was out of turn.
    pub fn on_admitted(&mut self, id: u32, now: u64) -> bool {
        self.admitted += 1;
        self.last_admitted_at = now;
        if !self.begun {
            self.early_admissions += 1;
            return false;
        }
        let rank = self.rank[id as usize];
        // Client of rank r may be admitted only once r+1 places ahead of the queue's
        // end were freed: by our releases or by queued clients who left.
        if rank == NONE || u64::from(rank) >= self.released + self.departed {
            self.order_violations += 1;
            return false;
        }
        true
    }

    /// Records that queued (not yet admitted) client `id` is gone.
    pub fn on_departed(&mut self, id: u32) {
        if self.rank.get(id as usize).is_some_and(|&r| r != NONE) {
            self.departed += 1;
        }
    }

    /// How many slots to free now.
    pub fn releases_due(&mut self, now: u64) -> u64 {
        if !self.begun {
            return 0;
        }
        let total = self.order.len() as u64;
        let remaining = total.saturating_sub(self.released + self.departed);
        if remaining == 0 {
            return 0;
        }
        match self.rate {
            Some(rate) => {
                if now < self.next_at {
                    return 0;
                }
                self.next_at += (self.batch as f64 * 1e9 / rate) as u64;
            }
            None => {
                // Free the next batch only once the previous one is in, so that the
                // admission order is checked exactly (with --batch 1).
                if self.admitted < self.released {
                    return 0;
                }
            }
        }
        self.batch.min(remaining)
    }

    /// When the next paced release is due, if pacing.
    pub fn next_release_at(&self) -> Option<u64> {
        self.rate.map(|_| self.next_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_in_order_passes() {
        let mut q = QueueRun::new(10, 1, None);
        // Clients 5..10 were queued at positions 1..=5 in an order other than ids.
        q.begin(
            &[(7, 3), (5, 1), (6, 2), (9, 5), (8, 4)],
            vec![0, 1, 2, 3, 4],
            0,
        );
        assert_eq!(q.order, vec![5, 6, 7, 8, 9]);
        for id in 5..10 {
            assert_eq!(q.releases_due(0), 1);
            q.released += 1;
            assert_eq!(q.releases_due(0), 0, "waits for the admission");
            assert!(q.on_admitted(id, 0));
        }
        assert_eq!(q.order_violations, 0);
        assert_eq!(q.releases_due(0), 0);
    }

    #[test]
    fn out_of_turn_admission_is_a_violation() {
        let mut q = QueueRun::new(4, 1, None);
        q.begin(&[(2, 1), (3, 2)], vec![0, 1], 0);
        q.released = 1;
        assert!(!q.on_admitted(3, 0));
        assert_eq!(q.order_violations, 1);
    }

    #[test]
    fn first_positions_must_be_one_to_n() {
        let mut q = QueueRun::new(4, 1, None);
        q.begin(&[(2, 1), (3, 3)], vec![], 0);
        assert_eq!(q.bad_first_positions, 1);
    }

    #[test]
    fn position_updates_are_checked() {
        let mut q = QueueRun::new(1, 1, None);
        q.on_update(5, 0, 4, 1_000_000_000);
        q.on_update(4, 1_000_000_000, 4, 2_000_000_000);
        q.on_update(4, 2_000_000_000, 6, 2_300_000_000);
        assert_eq!(q.updates, 3);
        assert_eq!(q.unchanged, 1);
        assert_eq!(q.increased, 1);
        assert_eq!(q.too_soon, 1);
        assert_eq!(q.min_gap, 300_000_000);
    }

    #[test]
    fn departures_move_the_queue_up() {
        let mut q = QueueRun::new(5, 1, None);
        q.begin(&[(2, 1), (3, 2), (4, 3)], vec![0, 1], 0);
        q.on_departed(2);
        q.released = 1;
        assert!(q.on_admitted(3, 0));
        assert_eq!(q.order_violations, 0);
    }
}
