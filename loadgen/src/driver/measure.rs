//! The run's own measurements: the counters and histograms, CPU and memory at the
//! edges of the measured part, and the CPU that `--spin` burns without doing work.

use crate::args::Config;
use crate::clock::ns;
use crate::stats::Stats;
use crate::sys;

use super::outcome::{ServerRss, Usage};

/// Accounting of `--spin`: when the loop last had work and how much CPU the empty
/// polls after it took.
pub struct SpinMeter {
    /// `--spin` in nanoseconds: how long after the last event polls do not sleep.
    window_ns: u64,
    /// When a poll last returned events.
    pub last_event_at: u64,
    /// CPU ns spent in empty spinning polls so far.
    spun_ns: u64,
    /// This thread's CPU clock when the current run of empty spinning polls began.
    /// Spinning is timed per run rather than per poll: the thread's clock is a system
    /// call, and reading it around every poll would triple the cost of spinning.
    stretch_from: Option<u64>,
}

impl SpinMeter {
    /// A meter for `--spin` of `window_ns`.
    fn new(window_ns: u64) -> SpinMeter {
        SpinMeter {
            window_ns,
            last_event_at: 0,
            spun_ns: 0,
            stretch_from: None,
        }
    }

    /// Whether `now` is still inside the spin after the last event.
    #[inline]
    pub fn within(&self, now: u64) -> bool {
        now < self.last_event_at + self.window_ns
    }

    /// Closes the current run of empty spinning polls, if any, adding its CPU time.
    pub fn end_stretch(&mut self) {
        if let Some(from) = self.stretch_from.take() {
            self.spun_ns += sys::thread_cpu_ns().saturating_sub(from);
        }
    }

    /// Takes note of a poll's result: events end a stretch of spinning; an empty
    /// spinning poll begins one unless one is already open.
    pub fn after_poll(&mut self, had_events: bool, spinning: bool) {
        if had_events {
            self.end_stretch();
            self.last_event_at = crate::clock::now_ns();
        } else if spinning && self.stretch_from.is_none() {
            self.stretch_from = Some(sys::thread_cpu_ns());
        }
    }
}

/// Everything the run measures about itself and the server.
pub struct Measure {
    /// Counters and histograms.
    pub stats: Stats,
    /// CPU over the measured part.
    pub usage: Usage,
    /// `--spin` accounting.
    pub spin: SpinMeter,
    /// The server's memory.
    pub server_rss: ServerRss,
    /// The server's pid, for /proc readings.
    server_pid: Option<u32>,
}

impl Measure {
    /// Starts measuring; reads the server's memory before any client connects.
    pub fn new(cfg: &Config) -> Measure {
        Measure {
            stats: Stats::new(),
            usage: Usage::default(),
            spin: SpinMeter::new(ns(cfg.spin)),
            server_rss: ServerRss {
                before: cfg.server_pid.and_then(sys::rss_bytes),
                ..ServerRss::default()
            },
            server_pid: cfg.server_pid,
        }
    }

    /// The server's resident memory now, with `--server-pid`.
    pub fn server_rss_now(&self) -> Option<u64> {
        self.server_pid.and_then(sys::rss_bytes)
    }

    /// Reads CPU at the start of the measured part.
    pub fn usage_start(&mut self, now: u64) {
        self.spin.end_stretch();
        let (u, s) = sys::self_cpu_ns();
        self.usage.wall.0 = now;
        self.usage.user.0 = u;
        self.usage.sys.0 = s;
        self.usage.server.0 = self.server_pid.and_then(sys::proc_cpu_ns);
        self.usage.server_store.0 = self.server_pid.and_then(sys::store_cpu_ns);
        self.usage.server_hash.0 = self.server_pid.and_then(sys::hash_cpu_ns);
        self.usage.spin.0 = self.spin.spun_ns;
    }

    /// Reads CPU at the end of the measured part.
    pub fn usage_end(&mut self, now: u64) {
        self.spin.end_stretch();
        let (u, s) = sys::self_cpu_ns();
        self.usage.wall.1 = now;
        self.usage.user.1 = u;
        self.usage.sys.1 = s;
        self.usage.server.1 = self.server_pid.and_then(sys::proc_cpu_ns);
        self.usage.server_store.1 = self.server_pid.and_then(sys::store_cpu_ns);
        self.usage.server_hash.1 = self.server_pid.and_then(sys::hash_cpu_ns);
        self.usage.spin.1 = self.spin.spun_ns;
    }
}
