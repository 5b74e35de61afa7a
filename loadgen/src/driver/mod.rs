//! The event loop that drives every simulated client of a run.
//!
//! One mio poll, one thread. Clients are indexed by their token; reads go through one
//! shared 64 KiB buffer; a delivery costs a newline scan, a payload parse, one array
//! index into the receiver's expected-seq table and a histogram record. The run goes
//! through phases: setup (connect, name, join) -> warmup -> measured window -> drain ->
//! report, or the scenario's own variant (hold for idle, release for queue). Every
//! phase is bounded in time, so the run always ends by itself.
//!
//! The loop's state is kept in parts, each in its own module with the code that works
//! on it: the connection set ([`conns`]), setup progress ([`setup`]), the traffic and
//! its open-loop schedule ([`traffic`], [`open_loop`]), the phases ([`phases`], and
//! [`release`] for the queue scenario), what is read ([`reading`]), the board
//! scenario's answers and notices ([`board`]), the login storm's registrations and
//! logins ([`login_storm`]), the abuse scenario's attack ([`abuse`]), what IRC clients
//! say and hear ([`irc`]) and what is measured ([`measure`]). [`Outcome`] is what a
//! finished run hands to the report.

mod abuse;
mod board;
mod conns;
mod irc;
mod login_storm;
mod measure;
pub mod open_loop;
pub mod outcome;
mod phases;
mod reading;
mod release;
mod setup;
mod traffic;

use std::io;
use std::time::Duration;

use mio::{Events, Poll};

use crate::abuse::AbuseRun;
use crate::args::{Config, Kind, Mode};
use crate::board::BoardRun;
use crate::clock::{now_ns, ns};
use crate::conn::{self, ConnectState, Reason, State};
use crate::error::Error;
use crate::login_storm::LoginStormRun;
use crate::progress::Progress;
use crate::queue::QueueRun;
use crate::scenario::Plan;
use crate::sys;
use crate::tls::TlsClient;

pub use outcome::Outcome;

use abuse::Attacking;
use conns::Conns;
use measure::Measure;
use open_loop::{OpenLoop, ATTACK_TIMER, TIMER};
use outcome::Notes;
use phases::{Phase, Timeline};
use setup::Setup;
use traffic::Traffic;

/// Longest poll sleep, so deadlines are noticed even without events.
const MAX_SLEEP_NS: u64 = 100_000_000;
/// Events handled between two looks at the open-loop schedule: a full batch of events
/// can take a while, and due sends must not wait for the end of it.
const EVENTS_PER_SEND_CHECK: usize = 64;
/// Descriptors the loadgen needs besides one per client (poll, timer, stdio, ...).
const SPARE_FDS: u64 = 128;

/// The event loop and all client state.
pub struct Driver {
    /// The run's options.
    cfg: Config,
    /// Who does what.
    plan: Plan,
    /// The clients and the poll they are registered with.
    conns: Conns,
    /// How far setup has come.
    setup: Setup,
    /// Sending and the open-loop schedule.
    traffic: Traffic,
    /// The queue scenario's bookkeeping.
    queue: Option<QueueRun>,
    /// The board scenario's bookkeeping.
    board: Option<BoardRun>,
    /// The login storm's bookkeeping.
    login_storm: Option<LoginStormRun>,
    /// The abuse scenario's findings.
    abuse: Option<AbuseRun>,
    /// The abuse scenario's attack as the loop runs it.
    attacking: Option<Attacking>,
    /// The current phase and the drain.
    timeline: Timeline,
    /// Counters, histograms, CPU and memory.
    measure: Measure,
    /// Things to tell in the report.
    notes: Notes,
    /// The live progress line.
    progress: Progress,
}

impl Driver {
    /// Prepares a run: raises the open-file limit, creates the poll and the clients
    /// (which connect with TLS when `tls` is given).
    pub fn new(cfg: Config, plan: Plan, tls: Option<TlsClient>) -> Result<Driver, Error> {
        // Every client of the plan: in the login storm, the bystanders besides the
        // --clients accounts.
        let n = plan.roles.len();
        let wanted = n as u64 + SPARE_FDS;
        let got = sys::raise_nofile(wanted).map_err(|e| Error::io("getrlimit", e))?;
        if got < wanted {
            return Err(Error::FdLimit { wanted, got });
        }
        let poll = Poll::new().map_err(|e| Error::io("creating the poll", e))?;
        let open_loop = match cfg.mode {
            Mode::Rate(_) if cfg.kind.sends() => Some(OpenLoop::new(poll.registry(), TIMER)?),
            _ => None,
        };
        let traffic = Traffic::new(&cfg, &plan, open_loop);
        let setup = Setup::new(&cfg, &plan);
        let queue =
            (cfg.kind == Kind::Queue).then(|| QueueRun::new(n, cfg.batch, cfg.release_rate));
        let board = (cfg.kind == Kind::Board).then(|| BoardRun::new(&plan));
        let login_storm = (cfg.kind == Kind::LoginStorm).then(|| {
            let first = plan.roles.iter().position(|r| r.account).unwrap_or(n);
            LoginStormRun::new(first, plan.accounts())
        });
        let abuse = (cfg.kind == Kind::Abuse).then(|| AbuseRun::new(&cfg, &plan));
        let attacking = match cfg.abuse.as_ref() {
            Some(a) => Some(Attacking::new(a, poll.registry())?),
            None => None,
        };
        let conns = Conns::new(poll, &plan, tls);
        let measure = Measure::new(&cfg);
        let progress = Progress::new(cfg.progress);
        Ok(Driver {
            cfg,
            plan,
            conns,
            setup,
            traffic,
            queue,
            board,
            login_storm,
            abuse,
            attacking,
            timeline: Timeline::new(),
            measure,
            notes: Notes::default(),
            progress,
        })
    }

    /// Runs the scenario to its end.
    pub fn run(mut self) -> Result<Outcome, Error> {
        let mut events = Events::with_capacity(4096);
        let start = now_ns();
        self.setup.deadline = start + ns(self.cfg.timeout);
        if self.cfg.kind == Kind::JoinStorm {
            self.measure.usage_start(start);
        }
        loop {
            let now = now_ns();
            match self.timeline.phase {
                Phase::Setup => self.start_connects(now),
                Phase::Storm { .. } => self.start_logins(now),
                Phase::Attack => self.start_attackers(now),
                _ => {}
            }
            self.advance(now);
            if self.timeline.phase == Phase::Done {
                break;
            }
            if self.traffic.sending && self.traffic.open_loop.is_some() {
                self.send_due(now);
            }
            if self.timeline.phase == Phase::Attack {
                self.send_attack_due(now);
            }
            self.flush_touched();
            self.run_again();
            if let Some(q) = self.queue.as_ref() {
                if q.begun && matches!(self.timeline.phase, Phase::Release { .. }) {
                    self.release_step(now_ns());
                }
            }
            self.poll_once(&mut events)?;
            for (k, ev) in events.iter().enumerate() {
                if k % EVENTS_PER_SEND_CHECK == EVENTS_PER_SEND_CHECK - 1 {
                    self.send_if_due();
                }
                let t = ev.token();
                if t == TIMER {
                    if let Some(ol) = self.traffic.open_loop.as_mut() {
                        ol.on_timer();
                    }
                    continue;
                }
                if t == ATTACK_TIMER {
                    if let Some(ol) = self.attacking.as_mut().and_then(|at| at.pacer.as_mut()) {
                        ol.on_timer();
                    }
                    continue;
                }
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let writable = ev.is_writable() || ev.is_error();
                let closing = ev.is_read_closed() || ev.is_error();
                self.on_event(t.0, readable, writable, closing);
            }
            let now = now_ns();
            let phase = self.timeline.phase.name();
            self.progress.tick(
                now,
                phase,
                self.conns.open,
                self.conns.ready_now,
                &self.measure.stats,
            );
        }
        self.progress.clear();
        if self
            .conns
            .clients
            .iter()
            .any(|c| c.deaf && c.state != State::Closed)
        {
            self.drain_deaf();
        }
        self.finish_attack();
        Ok(self.into_outcome())
    }

    /// Waits for events (or spins, with `--spin`), accounting the CPU of empty spins.
    fn poll_once(&mut self, events: &mut Events) -> Result<(), Error> {
        let before = now_ns();
        let timeout = self.poll_timeout(before);
        // A poll is spinning when only --spin made its timeout zero.
        let spinning = timeout.is_zero()
            && self.measure.spin.within(before)
            && self.conns.again.is_empty()
            && !self.traffic.behind();
        if !spinning {
            self.measure.spin.end_stretch();
        }
        if let Err(e) = self.conns.poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Error::io("poll", e));
            }
        }
        self.measure.spin.after_poll(!events.is_empty(), spinning);
        Ok(())
    }

    /// Sends the open-loop messages that fell due while a batch of events was handled.
    fn send_if_due(&mut self) {
        let Some(ol) = self.traffic.open_loop.as_ref() else {
            return;
        };
        if !self.traffic.sending {
            return;
        }
        let now = now_ns();
        if now >= ol.next_due {
            self.send_due(now);
            self.flush_touched();
        }
    }

    /// How long the next poll may sleep: not at all with work left or while spinning,
    /// otherwise until the nearest deadline.
    fn poll_timeout(&self, now: u64) -> Duration {
        if !self.conns.again.is_empty() || self.traffic.behind() || self.measure.spin.within(now) {
            return Duration::ZERO;
        }
        let mut until = now + MAX_SLEEP_NS;
        let mut consider = |t: u64| until = until.min(t);
        match self.timeline.phase {
            Phase::Setup => consider(self.setup.deadline),
            Phase::Warmup => consider(self.measure.stats.win_start),
            Phase::Measure => consider(self.measure.stats.win_end),
            Phase::Drain { until } => {
                consider(until);
                consider(self.timeline.drain_check_at);
            }
            Phase::Storm { until } => consider(until),
            Phase::Attack => {
                if let Some(at) = self.attacking.as_ref() {
                    consider(at.next_wake());
                }
                if let Some(ab) = self.abuse.as_ref() {
                    if ab.window_started() {
                        consider(ab.window_end);
                    } else {
                        consider(ab.begun_at + ns(self.cfg.timeout));
                    }
                }
            }
            Phase::Hold { until } | Phase::Release { until } => {
                consider(until);
                if let Some(t) = self.queue.as_ref().and_then(|q| q.next_release_at()) {
                    consider(t);
                }
            }
            Phase::Done => {}
        }
        if let Some(t) = self.progress.next_at() {
            consider(t);
        }
        Duration::from_nanos(until.saturating_sub(now))
    }

    /// Whether client `i` connects after setup: a storm login's connect, or one during
    /// an attack, is not part of setup, whose figures it would blur.
    fn late(&self, i: usize) -> bool {
        self.login_storm
            .as_ref()
            .is_some_and(|ls| ls.in_login_round(i))
            || self.abuse.as_ref().is_some_and(|ab| ab.begun_at > 0)
    }

    /// Handles readiness of client `i`; `closing` when the event already reported the
    /// end of the stream or an error, which a short read alone would not show.
    fn on_event(&mut self, i: usize, readable: bool, writable: bool, closing: bool) {
        let late = self.late(i);
        let Some(c) = self.conns.clients.get_mut(i) else {
            return;
        };
        match c.state {
            State::Closed | State::NotStarted => {}
            State::Connecting => {
                let Some(stream) = c.stream.as_ref() else {
                    return;
                };
                match conn::connect_state(stream.socket()) {
                    ConnectState::Pending => {}
                    ConnectState::Failed(e) => {
                        self.notes.add(format!("connect failed: {e}"));
                        self.close(i, Reason::ConnectFailed);
                    }
                    ConnectState::Done => {
                        let now = now_ns();
                        c.times.connected = now;
                        c.state = State::AwaitHello;
                        if !late {
                            let took = now.saturating_sub(c.times.start);
                            self.measure.stats.connect.saturating_record(took);
                        }
                        if let Some(ab) = self.abuse.as_mut() {
                            ab.on_established(i);
                        }
                        if self.plan.roles[i].irc {
                            self.irc_register(i);
                        }
                        self.read(i, closing);
                        self.flush(i);
                        // An attacker that fills its socket starts as soon as it can.
                        self.pump(i);
                    }
                }
            }
            _ => {
                if readable {
                    self.read(i, closing);
                }
                if writable {
                    self.flush(i);
                    self.pump(i);
                }
            }
        }
    }

    /// Hands what the run found to the report.
    fn into_outcome(self) -> Outcome {
        Outcome {
            cfg: self.cfg,
            plan: self.plan,
            clients: self.conns.clients,
            stats: self.measure.stats,
            queue: self.queue,
            board: self.board,
            login_storm: self.login_storm,
            abuse: self.abuse,
            usage: self.measure.usage,
            setup: self.setup.times,
            drain: self.timeline.drain,
            server_rss: self.measure.server_rss,
            notes: self.notes.into_vec(),
        }
    }
}
