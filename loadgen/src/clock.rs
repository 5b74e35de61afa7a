//! One monotonic clock for the whole process.
//!
//! Every client of the process stamps and checks messages against the same epoch, so a
//! send time written into a message by one simulated client can be compared with the
//! receive time seen by another without any clock translation.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Starts the clock; later calls keep the first epoch. Calling it early in `main` makes
/// timestamps small numbers, which keeps the message header short.
pub fn init() {
    EPOCH.get_or_init(Instant::now);
}

/// Nanoseconds since the process's epoch (monotonic, never goes back).
#[inline]
pub fn now_ns() -> u64 {
    // u64 nanoseconds last 584 years; the cast cannot truncate in practice.
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Whole nanoseconds of `secs` seconds, for turning durations into clock deadlines.
pub fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
