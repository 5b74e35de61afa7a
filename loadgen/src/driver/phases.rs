//! The phases of a run and the moves between them: setup -> warmup -> measured
//! window -> drain -> done, or the scenario's own variant (hold for idle, release for
//! queue, the storm between the window and the drain for the login storm, the attack
//! there for abuse). Every phase has a deadline, so a run always ends by itself.

use crate::args::Kind;
use crate::clock::ns;
use crate::conn::State;

use super::outcome::DrainResult;
use super::Driver;

/// How often the drain checks whether everything arrived.
const DRAIN_CHECK_NS: u64 = 20_000_000;

/// Phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting, naming, joining.
    Setup,
    /// Traffic before the window, not measured.
    Warmup,
    /// The measured window (login storm: the baseline, with no logins).
    Measure,
    /// Login storm: every account logging in while the bystanders go on chatting.
    Storm {
        /// When the storm gives up on logins still without an answer.
        until: u64,
    },
    /// Abuse: the attack, while the bystanders go on chatting (its end is the
    /// attack's own, see [`AbuseRun`](crate::abuse::AbuseRun)).
    Attack,
    /// Sending stopped; waiting for messages on their way.
    Drain {
        /// When the drain gives up.
        until: u64,
    },
    /// Idle: holding the connections.
    Hold {
        /// When the hold ends.
        until: u64,
    },
    /// Queue: freeing slots and watching admissions.
    Release {
        /// When the release gives up.
        until: u64,
    },
    /// The run is over.
    Done,
}

impl Phase {
    /// The phase's name for the progress line.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Warmup => "warmup",
            Phase::Measure => "measure",
            Phase::Storm { .. } => "storm",
            Phase::Attack => "attack",
            Phase::Drain { .. } => "drain",
            Phase::Hold { .. } => "hold",
            Phase::Release { .. } => "release",
            Phase::Done => "done",
        }
    }
}

/// The current phase and the drain's bookkeeping.
pub struct Timeline {
    /// Where the run is.
    pub phase: Phase,
    /// When the drain next checks whether everything arrived.
    pub drain_check_at: u64,
    /// Some non-reading client has not been dropped yet.
    stuck_pending: bool,
    /// How the drain ended.
    pub drain: DrainResult,
}

impl Timeline {
    /// A run in setup.
    pub fn new() -> Timeline {
        Timeline {
            phase: Phase::Setup,
            drain_check_at: 0,
            stuck_pending: false,
            drain: DrainResult::default(),
        }
    }
}

impl Driver {
    /// Moves to the next phase when the current one is over.
    pub(super) fn advance(&mut self, now: u64) {
        match self.timeline.phase {
            Phase::Setup => self.advance_setup(now),
            Phase::Warmup => {
                if now >= self.measure.stats.win_start {
                    self.measure.usage_start(now);
                    self.timeline.phase = Phase::Measure;
                    self.advance(now);
                }
            }
            Phase::Measure => {
                if now >= self.measure.stats.win_end {
                    match self.cfg.kind {
                        Kind::LoginStorm => self.begin_storm(now),
                        Kind::Abuse => self.begin_attack(now),
                        _ => {
                            self.measure.usage_end(now);
                            self.start_drain(now);
                        }
                    }
                }
            }
            Phase::Storm { until } => self.advance_storm(now, until),
            Phase::Attack => self.advance_attack(now),
            Phase::Drain { until } => self.advance_drain(now, until),
            Phase::Hold { until } => {
                if now >= until {
                    self.measure.usage_end(now);
                    self.measure.server_rss.end = self.measure.server_rss_now();
                    self.timeline.phase = Phase::Done;
                }
            }
            Phase::Release { until } => {
                let finished = self.queue_finished();
                if finished || now >= until {
                    if !finished {
                        self.notes
                            .add("not every queued client was admitted and named in time".into());
                    }
                    self.measure.usage_end(now);
                    self.timeline.phase = Phase::Done;
                }
            }
            Phase::Done => {}
        }
    }

    /// Sending stops; the drain waits, at most `--drain`, for what is on its way.
    pub(super) fn start_drain(&mut self, now: u64) {
        self.traffic.sending = false;
        self.timeline.drain.span.0 = now;
        self.timeline.drain_check_at = now;
        self.timeline.phase = Phase::Drain {
            until: now + ns(self.cfg.drain),
        };
    }

    /// Setup ends when every client settled, or gives up at its deadline.
    fn advance_setup(&mut self, now: u64) {
        let n = self.setup.clients;
        if self.setup.next_connect == n && self.setup.settled == n {
            self.setup.times.done_at = now;
            self.measure.server_rss.after_setup = self.measure.server_rss_now();
            self.after_setup(now);
        } else if now >= self.setup.deadline {
            self.setup.times.timed_out = true;
            let msg = format!(
                "setup did not finish within {:?}: {} of {} clients settled",
                self.cfg.timeout, self.setup.settled, n
            );
            self.notes.add(msg);
            let silent = self
                .conns
                .clients
                .iter()
                .filter(|c| c.state == State::AwaitHello)
                .count();
            if silent > 0 {
                self.notes.add(format!(
                    "{silent} clients connected but never got HELLO: the server's accept queue probably overflowed (listen backlog; the handshake completed by a SYN cookie never reached it); lower --concurrency"
                ));
            }
            self.measure.usage_end(now);
            self.timeline.phase = Phase::Done;
        }
    }

    /// The drain ends when every message arrived (and, in the slow scenario, every
    /// non-reader was dropped), or at `--drain`.
    fn advance_drain(&mut self, now: u64, until: u64) {
        if now >= self.timeline.drain_check_at {
            self.timeline.drain_check_at = now + DRAIN_CHECK_NS;
            // Output still queued in the loadgen is not in flight yet.
            let unsent = self.plan.schedule.iter().any(|&s| {
                let c = &self.conns.clients[s as usize];
                c.state != State::Closed && c.pending() > 0
            });
            if !unsent && self.all_arrived() {
                self.timeline.drain.complete = true;
            }
            // In the slow scenario, also give the server the time to drop the
            // non-readers, so that the readers see the LEAVE notices.
            self.timeline.stuck_pending = self
                .conns
                .clients
                .iter()
                .any(|c| c.role.stuck && c.state != State::Closed && c.left.is_none());
        }
        if (self.timeline.drain.complete && !self.timeline.stuck_pending) || now >= until {
            self.timeline.drain.span.1 = now;
            self.timeline.phase = Phase::Done;
        }
    }

    /// Every client is set up: what comes next depends on the scenario.
    fn after_setup(&mut self, now: u64) {
        match self.cfg.kind {
            Kind::JoinStorm => {
                self.measure.usage_end(now);
                self.timeline.phase = Phase::Done;
            }
            Kind::Idle => {
                self.measure.usage_start(now);
                self.timeline.phase = Phase::Hold {
                    until: now + ns(self.cfg.duration),
                };
            }
            Kind::Queue => self.begin_release(now),
            Kind::Abuse => {
                self.start_witness();
                self.start_traffic(now);
            }
            Kind::Fanout
            | Kind::Rooms
            | Kind::Private
            | Kind::Slow
            | Kind::Board
            | Kind::LoginStorm => self.start_traffic(now),
        }
    }
}
