//! Rate limits, sans-IO, for two users:
//!
//! - flood control: each connection may send `--flood-burst` lines at once and
//!   `--flood-rate` lines per second after that. A line beyond it is not dropped: the
//!   loop stops reading the connection until [`Pace::take`] says when it may go on, so
//!   the flooder's lines wait, in order, in its own socket, and it slows only itself;
//! - the loop's small writes to the members of big fan-outs (`--fanout-write-rate`):
//!   beyond it those members' lines wait, in order, to go out together.
//!
//! The rule is the generic cell rate algorithm: one instant per paced thing (when it
//! would be "caught up"), no counters to refill and no timer while it keeps within
//! its rate.

use std::time::{Duration, Instant};

/// A rate and a burst: `--flood-rate` and `--flood-burst` for flood control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Lines (or writes) per second after the burst (0: no limit).
    pub rate: u32,
    /// Lines that may come at once.
    pub burst: u32,
}

impl RateLimit {
    /// Whether the limit applies.
    pub fn is_on(&self) -> bool {
        self.rate > 0
    }

    /// Time one line costs.
    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.rate.max(1)
    }

    /// How far ahead of time a connection may be: a burst's worth, less the line that
    /// is being let through.
    fn tolerance(&self) -> Duration {
        self.interval() * self.burst.saturating_sub(1)
    }
}

/// One paced thing's state: a connection's for flood control.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// When the connection's lines so far would have been spent at the full rate
    /// (none: no line yet).
    caught_up: Option<Instant>,
}

impl Pace {
    /// Counts one line at `now` if `limits` allow it; otherwise returns when the next
    /// line may be taken (the line waits and does not count).
    pub fn take(&mut self, limits: RateLimit, now: Instant) -> Result<(), Instant> {
        if !limits.is_on() {
            return Ok(());
        }
        let caught_up = self.caught_up.map_or(now, |at| at.max(now));
        let earliest = caught_up
            .checked_sub(limits.tolerance())
            .unwrap_or(caught_up);
        if earliest > now {
            return Err(earliest);
        }
        self.caught_up = Some(caught_up + limits.interval());
        Ok(())
    }

    /// Counts `lines` more at `now` whatever the limits allow: the next line waits
    /// until they are paid for.
    pub fn charge(&mut self, lines: u32, limits: RateLimit, now: Instant) {
        if !limits.is_on() || lines == 0 {
            return;
        }
        let caught_up = self.caught_up.map_or(now, |at| at.max(now));
        self.caught_up = Some(caught_up + limits.interval() * lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_A_SECOND: RateLimit = RateLimit {
        rate: 10,
        burst: 20,
    };

    /// Lines taken at `now` until the first refusal; returns them and the refusal.
    fn drain(pace: &mut Pace, limits: RateLimit, now: Instant) -> (usize, Instant) {
        let mut taken = 0;
        loop {
            match pace.take(limits, now) {
                Ok(()) => taken += 1,
                Err(at) => return (taken, at),
            }
        }
    }

    #[test]
    fn a_burst_goes_at_once_then_lines_go_at_the_rate() {
        let start = Instant::now();
        let mut pace = Pace::default();
        let (taken, next) = drain(&mut pace, TEN_A_SECOND, start);
        assert_eq!(taken, 20);
        assert_eq!(next, start + Duration::from_millis(100));
        // Not before the time it named; exactly one at it.
        assert!(pace
            .take(TEN_A_SECOND, next - Duration::from_millis(1))
            .is_err());
        let (taken, after) = drain(&mut pace, TEN_A_SECOND, next);
        assert_eq!(taken, 1);
        assert_eq!(after, next + Duration::from_millis(100));
        // A sender that keeps trying gets one line every 100 ms, and no more.
        let mut at = after;
        for _ in 0..100 {
            let (taken, next) = drain(&mut pace, TEN_A_SECOND, at);
            assert_eq!((taken, next), (1, at + Duration::from_millis(100)));
            at = next;
        }
    }

    #[test]
    fn a_quiet_connection_earns_back_its_burst_and_no_more() {
        let start = Instant::now();
        let mut pace = Pace::default();
        drain(&mut pace, TEN_A_SECOND, start);
        let (taken, _) = drain(&mut pace, TEN_A_SECOND, start + Duration::from_secs(60));
        assert_eq!(
            taken, 20,
            "a minute's silence buys one burst, not 600 lines"
        );
    }

    #[test]
    fn rate_zero_is_off() {
        let off = RateLimit { rate: 0, burst: 1 };
        let mut pace = Pace::default();
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(pace.take(off, now).is_ok());
        }
    }

    #[test]
    fn a_burst_of_one_paces_every_line() {
        let one = RateLimit { rate: 4, burst: 1 };
        let start = Instant::now();
        let mut pace = Pace::default();
        let (taken, next) = drain(&mut pace, one, start);
        assert_eq!((taken, next), (1, start + Duration::from_millis(250)));
    }

    #[test]
    fn a_charge_makes_the_next_line_wait_until_it_is_paid_for() {
        let now = Instant::now();
        let mut pace = Pace::default();
        pace.take(TEN_A_SECOND, now).unwrap();
        // 38 lines more: 3.9 s of lines, less the burst's 1.9 s, and the next waits 2 s.
        pace.charge(38, TEN_A_SECOND, now);
        let at = pace.take(TEN_A_SECOND, now).unwrap_err();
        assert_eq!(at, now + Duration::from_secs(2));
        assert_eq!(pace.take(TEN_A_SECOND, at), Ok(()));
        let off = RateLimit { rate: 0, burst: 0 };
        pace.charge(1000, off, now);
        assert_eq!(pace.take(off, now), Ok(()), "no flood control, no charge");
    }
}
