//! The open-loop (`--rate`) send schedule: message k is due at `start + k/rate`,
//! whatever the server does, and a nanosecond timerfd wakes the loop for it. The abuse
//! scenario paces its attack lines (`--attack-rate`) with a second one.

use std::io;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::error::Error;
use crate::sys::{self, Timer};

/// Token of the open-loop timer.
pub const TIMER: Token = Token(usize::MAX - 1);
/// Token of the abuse scenario's timer for its paced lines.
pub const ATTACK_TIMER: Token = Token(usize::MAX - 2);

/// Timer slack asked of the kernel, in nanoseconds: the default 50 µs would show up
/// as send lag in the latency figures.
const TIMER_SLACK_NS: u64 = 1_000;

/// Where the schedule stands and the timer that wakes the loop for its next message.
pub struct OpenLoop {
    timer: Timer,
    /// The time the timer is armed for (0: not armed), so it is armed once per due time.
    timer_due: u64,
    /// Scheduled time of the next open-loop message.
    pub next_due: u64,
    /// When the schedule started.
    base: u64,
    /// Index of the next message.
    k: u64,
    /// Nanoseconds between two messages.
    interval: f64,
    /// A send pass stopped at its budget with messages still due: poll without
    /// sleeping and come back.
    pub behind: bool,
}

impl OpenLoop {
    /// Creates the timer and registers it with the loop's poll under `token`.
    pub fn new(registry: &Registry, token: Token) -> Result<OpenLoop, Error> {
        sys::set_timer_slack(TIMER_SLACK_NS);
        let timer = Timer::new().map_err(|e| Error::io("timerfd_create", e))?;
        registry
            .register(&mut SourceFd(&timer.raw_fd()), token, Interest::READABLE)
            .map_err(|e| Error::io("registering the timer", e))?;
        Ok(OpenLoop {
            timer,
            timer_due: 0,
            next_due: 0,
            base: 0,
            k: 0,
            interval: 0.0,
            behind: false,
        })
    }

    /// Starts the schedule at `now` with `rate` messages (or lines) per second in total.
    pub fn start(&mut self, now: u64, rate: f64) {
        self.base = now;
        self.k = 0;
        self.interval = 1e9 / rate;
    }

    /// Scheduled time of the next message.
    #[inline]
    pub fn due(&self) -> u64 {
        self.base + (self.k as f64 * self.interval) as u64
    }

    /// Takes the next message off the schedule; returns its index.
    #[inline]
    pub fn take(&mut self) -> u64 {
        let k = self.k;
        self.k += 1;
        k
    }

    /// Arms the timer for `due` (unless it already is), `now` being the present.
    pub fn arm(&mut self, due: u64, now: u64) -> io::Result<()> {
        self.next_due = due;
        if self.timer_due == due {
            return Ok(());
        }
        self.timer_due = due;
        self.timer.arm_in(due - now)
    }

    /// The timer fired: consume its expiry so it can be armed again.
    pub fn on_timer(&mut self) {
        self.timer.clear();
        self.timer_due = 0;
    }
}
