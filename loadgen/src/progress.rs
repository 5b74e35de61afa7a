//! The live progress line on stderr, shown only when stderr is a terminal, so logs and
//! pipes get just the final report.

use std::io::Write;

use crate::report::{human_ns, human_num};
use crate::stats::Stats;

const EVERY_NS: u64 = 1_000_000_000;

/// State of the progress line.
pub struct Progress {
    enabled: bool,
    next: u64,
    last_at: u64,
    last_sent: u64,
    last_delivered: u64,
    shown: bool,
}

impl Progress {
    /// A progress line that prints only when `enabled`.
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            next: 0,
            last_at: 0,
            last_sent: 0,
            last_delivered: 0,
            shown: false,
        }
    }

    /// When the next update is due, if the line is shown at all.
    pub fn next_at(&self) -> Option<u64> {
        self.enabled.then_some(self.next)
    }

    /// Redraws the line if a second has passed.
    pub fn tick(&mut self, now: u64, phase: &str, open: usize, ready: usize, s: &Stats) {
        if !self.enabled || now < self.next {
            return;
        }
        let dt = (now - self.last_at).max(1) as f64 / 1e9;
        let msgs = (s.sent - self.last_sent.min(s.sent)) as f64 / dt;
        let dels = (s.delivered - self.last_delivered.min(s.delivered)) as f64 / dt;
        let p99 = if s.latency.is_empty() {
            "-".to_string()
        } else {
            human_ns(s.latency.value_at_quantile(0.99))
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K[{phase}] conns {open} ready {ready} | msgs/s {} deliveries/s {} | p99 {p99} | gaps {} dup {} reord {}",
            human_num(msgs.round()),
            human_num(dels.round()),
            s.gap_events,
            s.duplicates,
            s.reordered,
        );
        let _ = err.flush();
        self.shown = true;
        self.last_at = now;
        self.last_sent = s.sent;
        self.last_delivered = s.delivered;
        self.next = now + EVERY_NS;
    }

    /// Erases the line before the report is printed.
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}
