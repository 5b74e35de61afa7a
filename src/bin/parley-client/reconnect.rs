//! When to try again after the connection is lost: exponential backoff with jitter,
//! and the countdown text shown meanwhile.
//!
//! The first attempt comes [`FIRST_DELAY`] after the loss, each later one twice as
//! long after the previous one, up to [`MAX_DELAY`]; every delay is then moved by up
//! to [`JITTER`] either way, so that the clients of a restarted server do not all
//! come back in the same instant. The schedule starts again once the client is back
//! in (named and in its rooms), not merely connected: a server that accepts and then
//! turns us away (`BYE server-full`) is tried less and less often.

use std::time::{Duration, SystemTime};

/// The wait before the first attempt.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);

/// The longest wait between two attempts (before jitter).
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// How far each delay may move, as a fraction of it, either way.
pub const JITTER: f64 = 0.25;

/// A source of uniform numbers in `[0, 1)`; injected so tests are deterministic.
pub trait Random {
    /// The next number in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

/// xorshift64*: plenty for spreading reconnections, with no dependency.
pub struct XorShift(u64);

impl XorShift {
    /// Seeded from the clock and the process id, so two clients started together
    /// still draw different delays.
    pub fn seeded() -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
        // Zero is the one state xorshift never leaves.
        XorShift(seed.max(1))
    }
}

impl Random for XorShift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        // The top 53 bits make an exact f64 in [0, 1).
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The attempts made since the client was last fully back.
#[derive(Debug, Default)]
pub struct Backoff {
    /// Attempts scheduled so far.
    attempts: u32,
}

impl Backoff {
    /// A schedule at its start.
    pub fn new() -> Backoff {
        Backoff::default()
    }

    /// The delay before the next attempt; counts it.
    pub fn next_delay(&mut self, random: &mut dyn Random) -> Duration {
        let base = FIRST_DELAY
            .checked_mul(1u32 << self.attempts.min(16))
            .map_or(MAX_DELAY, |d| d.min(MAX_DELAY));
        self.attempts = self.attempts.saturating_add(1);
        let factor = 1.0 + JITTER * (2.0 * random.unit() - 1.0);
        base.mul_f64(factor)
    }

    /// Attempts scheduled so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Back in: the next loss starts from [`FIRST_DELAY`] again.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// Whole seconds left, rounded up: what a countdown shows.
pub fn seconds_left(left: Duration) -> u64 {
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

/// `reconnecting in 4 s (attempt 2; last try: Connection refused)`, or `reconnecting
/// now (...)` at zero.
pub fn countdown_text(seconds: u64, attempt: u32, last_error: Option<&str>) -> String {
    let when = match seconds {
        0 => "now".to_owned(),
        s => format!("in {s} s"),
    };
    match last_error {
        None => format!("reconnecting {when} (attempt {attempt})"),
        Some(e) => format!("reconnecting {when} (attempt {attempt}; last try: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays back fixed numbers.
    struct Fixed(Vec<f64>);

    impl Random for Fixed {
        fn unit(&mut self) -> f64 {
            self.0.remove(0)
        }
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new();
        // 0.5 is the middle: no jitter.
        let mut middle = Fixed(vec![0.5; 10]);
        let delays: Vec<f64> = (0..8)
            .map(|_| secs(backoff.next_delay(&mut middle)))
            .collect();
        assert_eq!(delays, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        assert_eq!(backoff.attempts(), 8);
        backoff.reset();
        assert_eq!(backoff.attempts(), 0);
        assert_eq!(secs(backoff.next_delay(&mut middle)), 1.0);
    }

    #[test]
    fn jitter_moves_each_delay_by_at_most_a_quarter() {
        let mut backoff = Backoff::new();
        let mut edges = Fixed(vec![0.0, 0.999_999, 0.75, 0.25]);
        let d = |b: &mut Backoff, r: &mut Fixed| secs(b.next_delay(r));
        assert_eq!(d(&mut backoff, &mut edges), 0.75);
        assert!((d(&mut backoff, &mut edges) - 2.5).abs() < 1e-5);
        assert_eq!(d(&mut backoff, &mut edges), 4.5);
        assert_eq!(d(&mut backoff, &mut edges), 7.0);
    }

    #[test]
    fn many_attempts_never_overflow() {
        let mut backoff = Backoff::new();
        let mut random = XorShift(42);
        for _ in 0..1000 {
            let d = secs(backoff.next_delay(&mut random));
            assert!((0.75..=37.5).contains(&d), "{d}");
        }
    }

    #[test]
    fn the_random_source_is_uniformish() {
        let mut random = XorShift(7);
        let draws: Vec<f64> = (0..10_000).map(|_| random.unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_ne!(XorShift::seeded().0, 0);
    }

    #[test]
    fn countdown() {
        assert_eq!(seconds_left(Duration::from_millis(3_200)), 4);
        assert_eq!(seconds_left(Duration::from_secs(3)), 3);
        assert_eq!(seconds_left(Duration::ZERO), 0);
        assert_eq!(
            countdown_text(4, 1, None),
            "reconnecting in 4 s (attempt 1)"
        );
        assert_eq!(
            countdown_text(0, 3, Some("Connection refused")),
            "reconnecting now (attempt 3; last try: Connection refused)"
        );
    }
}
