//! How long the poll loop's turns take: a count of turns by length and the longest.
//!
//! A client waits for the turn under way to end before its input is read, so the length
//! of a turn is the latency the loop adds for everyone. The loop records each turn's
//! length here and logs the figures when it stops (see `parley-server`'s log), which
//! tells an operator, or a load test, whether the per-turn limits held under the load
//! of the day. Recording is a comparison and an increment: no clock is read here.

use std::fmt;
use std::time::Duration;

/// The turn lengths [`TurnStats`] counts turns above, shortest first.
pub const TURN_THRESHOLDS: [Duration; 3] = [
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(100),
];

/// Counts of the loop's turns by length, and the longest one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnStats {
    /// Turns recorded, from the poll's return to the end of the turn's work.
    pub turns: u64,
    /// Turns longer than each of [`TURN_THRESHOLDS`], in its order.
    pub over: [u64; TURN_THRESHOLDS.len()],
    /// The longest turn.
    pub longest: Duration,
}

impl TurnStats {
    /// Counts a turn that took `length`.
    pub fn record(&mut self, length: Duration) {
        self.turns += 1;
        for (count, threshold) in self.over.iter_mut().zip(TURN_THRESHOLDS) {
            if length > threshold {
                *count += 1;
            }
        }
        self.longest = self.longest.max(length);
    }
}

impl fmt::Display for TurnStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} loop turns", self.turns)?;
        for (count, threshold) in self.over.iter().zip(TURN_THRESHOLDS) {
            write!(f, ", {count} over {threshold:?}")?;
        }
        write!(f, ", longest {:.2?}", self.longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_counted_above_each_threshold_and_the_longest_kept() {
        let mut stats = TurnStats::default();
        for micros in [50, 999, 1_001, 12_000, 250_000, 3_000] {
            stats.record(Duration::from_micros(micros));
        }
        assert_eq!(stats.turns, 6);
        assert_eq!(stats.over, [4, 2, 1]);
        assert_eq!(stats.longest, Duration::from_millis(250));
    }

    #[test]
    fn a_turn_exactly_at_a_threshold_is_not_over_it() {
        let mut stats = TurnStats::default();
        stats.record(Duration::from_millis(1));
        assert_eq!(stats.over, [0, 0, 0]);
        assert_eq!(stats.longest, Duration::from_millis(1));
    }

    #[test]
    fn the_log_line_names_every_count() {
        let mut stats = TurnStats::default();
        stats.record(Duration::from_micros(1_500));
        assert_eq!(
            stats.to_string(),
            "1 loop turns, 1 over 1ms, 0 over 10ms, 0 over 100ms, longest 1.50ms"
        );
    }
}
