//! The event loop that drives every simulated client of a run.
//!
//! One mio poll, one thread. Clients are indexed by their token; reads go through one
//! shared 64 KiB buffer; a delivery costs a newline scan, a payload parse, one array
//! index into the receiver's expected-seq table and a histogram record. The run goes
//! through phases: setup (connect, name, join) -> warmup -> measured window -> drain ->
//! report, or the scenario's own variant (hold for idle, release for queue). Every
//! phase is bounded in time, so the run always ends by itself.

use std::io::{self, Read};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::args::{Config, Kind, Mode};
use crate::check::Verdict;
use crate::clock::{now_ns, ns};
use crate::conn::{self, Client, ConnectState, Reason, State};
use crate::error::Error;
use crate::progress::Progress;
use crate::queue::QueueRun;
use crate::scenario::{Plan, NONE};
use crate::stats::Stats;
use crate::sys::{self, Timer};
use crate::wire::{self, ServerLine};

/// Size of the shared read buffer: big reads keep the syscall count low at 500 MB/s.
const RBUF: usize = 64 * 1024;
/// Token of the open-loop timer.
const TIMER: Token = Token(usize::MAX - 1);
/// Reads of one socket per readiness event before other sockets get their turn.
const READS_PER_TURN: usize = 8;
/// Message bytes a `--max` sender generates per write.
const MAX_BATCH: usize = 64 * 1024;
/// Batches a `--max` sender writes per turn.
const BATCHES_PER_TURN: usize = 4;
/// Unsent output an open-loop sender may hold before messages are skipped (and counted).
const BACKLOG_CAP: usize = 8 << 20;
/// A server line longer than this is treated as a broken connection.
const MAX_LINE: usize = 64 << 20;
/// Longest poll sleep, so deadlines are noticed even without events.
const MAX_SLEEP_NS: u64 = 100_000_000;
/// How often the drain checks whether everything arrived.
const DRAIN_CHECK_NS: u64 = 20_000_000;
/// Receive buffer of clients that never read (slow scenario).
const STUCK_RCVBUF: usize = 16 * 1024;
/// Most open-loop messages emitted in one pass before polling again.
const SEND_BUDGET: usize = 100_000;

/// Phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Setup,
    Warmup,
    Measure,
    Drain { until: u64 },
    Hold { until: u64 },
    Release { until: u64 },
    Done,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Warmup => "warmup",
            Phase::Measure => "measure",
            Phase::Drain { .. } => "drain",
            Phase::Hold { .. } => "hold",
            Phase::Release { .. } => "release",
            Phase::Done => "done",
        }
    }
}

/// CPU and memory readings at the edges of the measured part of a run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// Wall clock at the start and end (process-clock ns).
    pub wall: (u64, u64),
    /// Loadgen user CPU ns at start and end.
    pub user: (u64, u64),
    /// Loadgen system CPU ns at start and end.
    pub sys: (u64, u64),
    /// Server CPU ns at start and end, with --server-pid.
    pub server: (Option<u64>, Option<u64>),
    /// CPU ns spent in polls that found nothing while spinning (`--spin`), at start
    /// and end: CPU that did no work.
    pub spin: (u64, u64),
}

/// Everything a finished run leaves for the report.
pub struct Outcome {
    /// The configuration.
    pub cfg: Config,
    /// The plan.
    pub plan: Plan,
    /// The clients, closed or not.
    pub clients: Vec<Client>,
    /// Counters and histograms.
    pub stats: Stats,
    /// Queue scenario findings.
    pub queue: Option<QueueRun>,
    /// CPU over the measured part.
    pub usage: Usage,
    /// First connect() call.
    pub first_start: u64,
    /// All clients set up (ready, queued or failed), or 0 if setup did not finish.
    pub setup_done_at: u64,
    /// Last client became ready.
    pub last_ready_at: u64,
    /// Setup did not finish in time.
    pub setup_timed_out: bool,
    /// The drain saw every sent message arrive.
    pub drain_complete: bool,
    /// When sending stopped and when the drain ended.
    pub drain_span: (u64, u64),
    /// Server RSS before connecting, after setup, and at the end.
    pub server_rss: (Option<u64>, Option<u64>, Option<u64>),
    /// Things worth telling that are not counters (first connect errors, ...).
    pub notes: Vec<String>,
}

/// The event loop and all client state.
pub struct Driver {
    cfg: Config,
    plan: Plan,
    poll: Poll,
    clients: Vec<Client>,
    stats: Stats,
    rbuf: Vec<u8>,
    prefix: Vec<u8>,
    /// Per client: what precedes the message text (`/msg <partner> ` for pairs).
    send_prefix: Vec<Vec<u8>>,
    /// Message text length (`--size` minus the newline).
    text_len: usize,
    room_created: Vec<bool>,
    room_waiting: Vec<Vec<u32>>,
    timer: Option<Timer>,
    timer_due: u64,
    /// Scheduled time of the next open-loop message.
    next_due: u64,
    phase: Phase,
    setup_deadline: u64,
    next_connect: usize,
    inflight: usize,
    settled: usize,
    ready_now: usize,
    open: usize,
    first_start: u64,
    last_ready_at: u64,
    setup_done_at: u64,
    setup_timed_out: bool,
    sending: bool,
    stuck_active: bool,
    sched_base: u64,
    sched_k: u64,
    sched_interval: f64,
    sched_behind: bool,
    again: Vec<u32>,
    touched: Vec<u32>,
    queue: Option<QueueRun>,
    usage: Usage,
    /// When a poll last returned events (for `--spin`).
    last_event_at: u64,
    /// CPU ns spent in empty spinning polls so far.
    spun_ns: u64,
    /// This thread's CPU clock when the current run of empty spinning polls began.
    /// Spinning is timed per run rather than per poll: the thread's clock is a system
    /// call, and reading it around every poll would triple the cost of spinning.
    spin_stretch_from: Option<u64>,
    server_rss: (Option<u64>, Option<u64>, Option<u64>),
    drain_check_at: u64,
    drain_complete: bool,
    stuck_pending: bool,
    drain_span: (u64, u64),
    notes: Vec<String>,
    progress: Progress,
}

impl Driver {
    /// Prepares a run: raises the open-file limit, creates the poll and the clients.
    pub fn new(cfg: Config, plan: Plan) -> Result<Driver, Error> {
        let n = cfg.clients;
        let wanted = n as u64 + 128;
        let got = sys::raise_nofile(wanted).map_err(|e| Error::io("getrlimit", e))?;
        if got < wanted {
            return Err(Error::FdLimit { wanted, got });
        }
        let poll = Poll::new().map_err(|e| Error::io("creating the poll", e))?;
        let mut timer = None;
        if cfg.kind.has_traffic() {
            if let Mode::Rate(_) = cfg.mode {
                sys::set_timer_slack(1_000);
                let t = Timer::new().map_err(|e| Error::io("timerfd_create", e))?;
                poll.registry()
                    .register(&mut SourceFd(&t.raw_fd()), TIMER, Interest::READABLE)
                    .map_err(|e| Error::io("registering the timer", e))?;
                timer = Some(t);
            }
        }
        let prefix = cfg.prefix.as_bytes().to_vec();
        let clients = (0..n)
            .map(|i| {
                let role = plan.roles[i];
                let slots = if role.group == NONE {
                    0
                } else {
                    plan.groups[role.group as usize].senders.len()
                };
                Client::new(role, slots)
            })
            .collect();
        let mut clients: Vec<Client> = clients;
        for g in &plan.groups {
            let readers = g
                .members
                .iter()
                .filter(|&&m| !plan.roles[m as usize].stuck)
                .count() as u64;
            for &s in &g.senders {
                let me = u64::from(!plan.roles[s as usize].stuck);
                clients[s as usize].receivers = readers - me;
            }
        }
        let mut send_prefix = vec![Vec::new(); n];
        for g in plan.groups.iter().filter(|g| !g.room) {
            for &s in &g.senders {
                if let Some(&partner) = g.members.iter().find(|&&m| m != s) {
                    send_prefix[s as usize] =
                        format!("/msg {}{} ", cfg.prefix, partner).into_bytes();
                }
            }
        }
        let groups = plan.groups.len();
        let queue =
            (cfg.kind == Kind::Queue).then(|| QueueRun::new(n, cfg.batch, cfg.release_rate));
        let server_rss = (cfg.server_pid.and_then(sys::rss_bytes), None, None);
        let progress = Progress::new(cfg.progress);
        Ok(Driver {
            text_len: cfg.size - 1,
            cfg,
            plan,
            poll,
            clients,
            stats: Stats::new(),
            rbuf: vec![0; RBUF],
            prefix,
            send_prefix,
            room_created: vec![false; groups],
            room_waiting: vec![Vec::new(); groups],
            timer,
            timer_due: 0,
            next_due: 0,
            phase: Phase::Setup,
            setup_deadline: 0,
            next_connect: 0,
            inflight: 0,
            settled: 0,
            ready_now: 0,
            open: 0,
            first_start: 0,
            last_ready_at: 0,
            setup_done_at: 0,
            setup_timed_out: false,
            sending: false,
            stuck_active: false,
            sched_base: 0,
            sched_k: 0,
            sched_interval: 0.0,
            sched_behind: false,
            again: Vec::new(),
            touched: Vec::new(),
            queue,
            usage: Usage::default(),
            last_event_at: 0,
            spun_ns: 0,
            spin_stretch_from: None,
            server_rss,
            drain_check_at: 0,
            drain_complete: false,
            stuck_pending: false,
            drain_span: (0, 0),
            notes: Vec::new(),
            progress,
        })
    }

    /// Runs the scenario to its end.
    pub fn run(mut self) -> Result<Outcome, Error> {
        let mut events = Events::with_capacity(4096);
        let start = now_ns();
        self.setup_deadline = start + ns(self.cfg.timeout);
        if self.cfg.kind == Kind::JoinStorm {
            self.usage_start(start);
        }
        loop {
            let now = now_ns();
            if self.phase == Phase::Setup {
                self.start_connects(now);
            }
            self.advance(now);
            if self.phase == Phase::Done {
                break;
            }
            if self.sending && self.timer.is_some() {
                self.send_due(now);
            }
            self.flush_touched();
            self.run_again();
            if let Some(q) = self.queue.as_ref() {
                if q.begun && matches!(self.phase, Phase::Release { .. }) {
                    self.release_step(now_ns());
                }
            }
            let before = now_ns();
            let timeout = self.poll_timeout(before);
            // A poll is spinning when only --spin made its timeout zero.
            let spinning = timeout.is_zero()
                && before < self.last_event_at + ns(self.cfg.spin)
                && self.again.is_empty()
                && !self.sched_behind;
            if !spinning {
                self.end_spin_stretch();
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(Error::io("poll", e));
                }
            }
            if !events.is_empty() {
                self.end_spin_stretch();
                self.last_event_at = now_ns();
            } else if spinning && self.spin_stretch_from.is_none() {
                self.spin_stretch_from = Some(sys::thread_cpu_ns());
            }
            for (k, ev) in events.iter().enumerate() {
                // A full batch of events can take a while to handle: do not let due
                // open-loop sends wait for the end of it.
                if k % 64 == 63 && self.sending && self.timer.is_some() {
                    let now = now_ns();
                    if now >= self.next_due {
                        self.send_due(now);
                        self.flush_touched();
                    }
                }
                let t = ev.token();
                if t == TIMER {
                    if let Some(timer) = &self.timer {
                        timer.clear();
                    }
                    self.timer_due = 0;
                    continue;
                }
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let writable = ev.is_writable() || ev.is_error();
                let closing = ev.is_read_closed() || ev.is_error();
                self.on_event(t.0, readable, writable, closing);
            }
            let now = now_ns();
            let phase = self.phase.name();
            self.progress
                .tick(now, phase, self.open, self.ready_now, &self.stats);
        }
        self.progress.clear();
        if self.plan.stuck() > 0 {
            self.drain_stuck();
        }
        Ok(Outcome {
            cfg: self.cfg,
            plan: self.plan,
            clients: self.clients,
            stats: self.stats,
            queue: self.queue,
            usage: self.usage,
            first_start: self.first_start,
            setup_done_at: self.setup_done_at,
            last_ready_at: self.last_ready_at,
            setup_timed_out: self.setup_timed_out,
            drain_complete: self.drain_complete,
            drain_span: self.drain_span,
            server_rss: self.server_rss,
            notes: self.notes,
        })
    }

    fn note(&mut self, s: String) {
        // A flood of identical failures must not flood the report.
        if self.notes.len() < 20 && !self.notes.contains(&s) {
            self.notes.push(s);
        }
    }

    // ---- phases -------------------------------------------------------------------

    /// Closes the current run of empty spinning polls, if any, adding its CPU time.
    fn end_spin_stretch(&mut self) {
        if let Some(from) = self.spin_stretch_from.take() {
            self.spun_ns += sys::thread_cpu_ns().saturating_sub(from);
        }
    }

    fn usage_start(&mut self, now: u64) {
        self.end_spin_stretch();
        let (u, s) = sys::self_cpu_ns();
        self.usage.wall.0 = now;
        self.usage.user.0 = u;
        self.usage.sys.0 = s;
        self.usage.server.0 = self.cfg.server_pid.and_then(sys::proc_cpu_ns);
        self.usage.spin.0 = self.spun_ns;
    }

    fn usage_end(&mut self, now: u64) {
        self.end_spin_stretch();
        let (u, s) = sys::self_cpu_ns();
        self.usage.wall.1 = now;
        self.usage.user.1 = u;
        self.usage.sys.1 = s;
        self.usage.server.1 = self.cfg.server_pid.and_then(sys::proc_cpu_ns);
        self.usage.spin.1 = self.spun_ns;
    }

    fn advance(&mut self, now: u64) {
        match self.phase {
            Phase::Setup => {
                let n = self.clients.len();
                if self.next_connect == n && self.settled == n {
                    self.setup_done_at = now;
                    self.server_rss.1 = self.cfg.server_pid.and_then(sys::rss_bytes);
                    self.after_setup(now);
                } else if now >= self.setup_deadline {
                    self.setup_timed_out = true;
                    let msg = format!(
                        "setup did not finish within {:?}: {} of {} clients settled",
                        self.cfg.timeout, self.settled, n
                    );
                    self.note(msg);
                    let silent = self
                        .clients
                        .iter()
                        .filter(|c| c.state == State::AwaitHello)
                        .count();
                    if silent > 0 {
                        self.note(format!(
                            "{silent} clients connected but never got HELLO: the server's accept queue probably overflowed (listen backlog; the handshake completed by a SYN cookie never reached it); lower --concurrency"
                        ));
                    }
                    self.usage_end(now);
                    self.phase = Phase::Done;
                }
            }
            Phase::Warmup => {
                if now >= self.stats.win_start {
                    self.usage_start(now);
                    self.phase = Phase::Measure;
                    self.advance(now);
                }
            }
            Phase::Measure => {
                if now >= self.stats.win_end {
                    self.usage_end(now);
                    self.sending = false;
                    self.drain_span.0 = now;
                    self.drain_check_at = now;
                    self.phase = Phase::Drain {
                        until: now + ns(self.cfg.drain),
                    };
                }
            }
            Phase::Drain { until } => {
                if now >= self.drain_check_at {
                    self.drain_check_at = now + DRAIN_CHECK_NS;
                    // Output still queued in the loadgen is not in flight yet.
                    let unsent = self.plan.schedule.iter().any(|&s| {
                        let c = &self.clients[s as usize];
                        c.state != State::Closed && c.pending() > 0
                    });
                    if !unsent && self.all_delivered() {
                        self.drain_complete = true;
                    }
                    // In the slow scenario, also give the server the time to drop the
                    // non-readers, so that the readers see the LEAVE notices.
                    self.stuck_pending = self
                        .clients
                        .iter()
                        .any(|c| c.role.stuck && c.state != State::Closed && c.left.is_none());
                }
                if (self.drain_complete && !self.stuck_pending) || now >= until {
                    self.drain_span.1 = now;
                    self.phase = Phase::Done;
                }
            }
            Phase::Hold { until } => {
                if now >= until {
                    self.usage_end(now);
                    self.server_rss.2 = self.cfg.server_pid.and_then(sys::rss_bytes);
                    self.phase = Phase::Done;
                }
            }
            Phase::Release { until } => {
                let finished = self.queue_finished();
                if finished || now >= until {
                    if !finished {
                        self.note("not every queued client was admitted and named in time".into());
                    }
                    self.usage_end(now);
                    self.phase = Phase::Done;
                }
            }
            Phase::Done => {}
        }
    }

    fn after_setup(&mut self, now: u64) {
        match self.cfg.kind {
            Kind::JoinStorm => {
                self.usage_end(now);
                self.phase = Phase::Done;
            }
            Kind::Idle => {
                self.usage_start(now);
                self.phase = Phase::Hold {
                    until: now + ns(self.cfg.duration),
                };
            }
            Kind::Queue => {
                let queued: Vec<(u32, u64)> = self
                    .clients
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.state == State::Queued)
                    .map(|(i, c)| (i as u32, c.queue_pos))
                    .collect();
                let pool: Vec<u32> = self
                    .clients
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.state == State::Ready)
                    .map(|(i, _)| i as u32)
                    .collect();
                if queued.is_empty() {
                    self.note(
                        "nobody was queued: --clients must exceed the server's --max-clients"
                            .into(),
                    );
                }
                if let Some(q) = self.queue.as_mut() {
                    q.begin(&queued, pool, now);
                }
                self.usage_start(now);
                self.phase = Phase::Release {
                    until: now + ns(self.cfg.timeout),
                };
            }
            Kind::Fanout | Kind::Rooms | Kind::Private | Kind::Slow => self.start_traffic(now),
        }
    }

    fn start_traffic(&mut self, now: u64) {
        self.stats.win_start = now + ns(self.cfg.warmup);
        self.stats.win_end = self.stats.win_start + ns(self.cfg.duration);
        self.sending = true;
        self.stuck_active = true;
        self.sched_base = now;
        self.sched_k = 0;
        match self.cfg.mode {
            Mode::Rate(r) => {
                self.sched_interval = 1e9 / r;
                self.stats.record_sent_latency = true;
            }
            Mode::Max => {
                let senders = self.plan.schedule.clone();
                for s in senders {
                    self.push_again(s as usize);
                }
            }
        }
        self.phase = Phase::Warmup;
        self.advance(now);
    }

    fn queue_finished(&self) -> bool {
        let Some(q) = self.queue.as_ref() else {
            return true;
        };
        // Cheap test first: this runs on every loop turn of the release phase.
        if q.admitted + q.departed < q.order.len() as u64 {
            return false;
        }
        // Everyone who queued is in and named, and everyone told to quit is gone (so the
        // disconnect counts are complete).
        q.order.iter().all(|&i| {
            let s = self.clients[i as usize].state;
            s == State::Ready || s == State::Closed
        }) && self
            .clients
            .iter()
            .all(|c| !c.quitting || c.state == State::Closed)
    }

    fn release_step(&mut self, now: u64) {
        let Some(q) = self.queue.as_mut() else {
            return;
        };
        let want = q.releases_due(now);
        let mut victims = Vec::new();
        for _ in 0..want {
            let Some(v) = q.pool.pop() else {
                break;
            };
            victims.push(v);
        }
        q.released += victims.len() as u64;
        for v in victims {
            let v = v as usize;
            let c = &mut self.clients[v];
            if c.state == State::Closed {
                continue;
            }
            c.quitting = true;
            c.out.extend_from_slice(b"/quit\n");
            self.flush(v);
        }
    }

    /// Every live reader has received everything its senders sent.
    fn all_delivered(&self) -> bool {
        for (i, c) in self.clients.iter().enumerate() {
            if c.state == State::Closed || c.role.stuck || c.role.group == NONE {
                continue;
            }
            let g = &self.plan.groups[c.role.group as usize];
            for (slot, &s) in g.senders.iter().enumerate() {
                if s as usize != i && c.seq.next(slot) < self.clients[s as usize].sent {
                    return false;
                }
            }
        }
        true
    }

    fn poll_timeout(&self, now: u64) -> std::time::Duration {
        if !self.again.is_empty()
            || self.sched_behind
            || now < self.last_event_at + ns(self.cfg.spin)
        {
            return std::time::Duration::ZERO;
        }
        let mut until = now + MAX_SLEEP_NS;
        let mut consider = |t: u64| until = until.min(t);
        match self.phase {
            Phase::Setup => consider(self.setup_deadline),
            Phase::Warmup => consider(self.stats.win_start),
            Phase::Measure => consider(self.stats.win_end),
            Phase::Drain { until } => {
                consider(until);
                consider(self.drain_check_at);
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
        std::time::Duration::from_nanos(until.saturating_sub(now))
    }

    // ---- connections --------------------------------------------------------------

    fn start_connects(&mut self, now: u64) {
        let n = self.clients.len();
        while self.next_connect < n && self.inflight < self.cfg.concurrency {
            let i = self.next_connect;
            self.next_connect += 1;
            if self.first_start == 0 {
                self.first_start = now;
            }
            let src = match self.cfg.sources.len() {
                0 => None,
                k => Some(self.cfg.sources[i % k]),
            };
            // A non-reading client gets a small buffer so it backs the server up soon.
            let rcvbuf = if self.clients[i].role.stuck {
                STUCK_RCVBUF
            } else {
                self.cfg.rcvbuf
            };
            self.inflight += 1;
            self.clients[i].times.start = now;
            let mut stream = match conn::connect(self.cfg.addr, src, rcvbuf) {
                Ok(s) => s,
                Err(e) => {
                    self.note(format!("connect failed: {e}"));
                    self.close(i, Reason::ConnectFailed);
                    continue;
                }
            };
            if let Err(e) = self.poll.registry().register(
                &mut stream,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                self.note(format!("registering a socket failed: {e}"));
                self.close(i, Reason::ConnectFailed);
                continue;
            }
            let c = &mut self.clients[i];
            c.stream = Some(stream);
            c.state = State::Connecting;
            self.open += 1;
        }
    }

    /// Marks a client as done with setup (ready, queued or failed) exactly once.
    fn settle(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if !c.settled {
            c.settled = true;
            self.settled += 1;
            self.inflight -= 1;
        }
    }

    fn close(&mut self, i: usize, why: Reason) {
        let c = &mut self.clients[i];
        if c.state == State::Closed {
            return;
        }
        let was = c.state;
        // The server's own word for it (BYE) is more precise than what the socket saw.
        let reason = c.bye.unwrap_or(why);
        if let Some(mut s) = c.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
            self.open -= 1;
        }
        if c.role.slot != NONE {
            // Messages that never fully left cannot be delivered: do not count them as
            // sent, or receivers would be blamed for losing them.
            let unsent = c.unsent_lines().min(c.sent);
            c.sent -= unsent;
            self.stats.sent -= unsent.min(self.stats.sent);
        }
        c.out = Vec::new();
        c.out_pos = 0;
        c.carry = Vec::new();
        c.state = State::Closed;
        if was == State::Ready {
            self.ready_now -= 1;
        }
        let expected = c.quitting
            || c.role.stuck
            || (self.cfg.kind == Kind::Queue && reason == Reason::ServerFull);
        self.stats.disconnect(reason.name(), expected);
        if was == State::Queued {
            if let Some(q) = self.queue.as_mut() {
                q.on_departed(i as u32);
            }
        }
        self.settle(i);
    }

    fn io_reason(e: &io::Error) -> Reason {
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Reason::Reset,
            _ => Reason::SocketError,
        }
    }

    fn push_again(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if !c.again {
            c.again = true;
            self.again.push(i as u32);
        }
    }

    fn run_again(&mut self) {
        if self.again.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.again);
        for &i in &list {
            let i = i as usize;
            self.clients[i].again = false;
            if self.clients[i].state == State::Closed {
                continue;
            }
            self.read(i, true);
            self.pump(i);
        }
        // Reuse the allocation when nothing was re-queued meanwhile.
        if self.again.is_empty() {
            self.again = list;
            self.again.clear();
        }
    }

    /// Handles readiness of client `i`; `closing` when the event already reported the
    /// end of the stream or an error, which a short read alone would not show.
    fn on_event(&mut self, i: usize, readable: bool, writable: bool, closing: bool) {
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        match c.state {
            State::Closed | State::NotStarted => {}
            State::Connecting => {
                let Some(stream) = c.stream.as_ref() else {
                    return;
                };
                match conn::connect_state(stream) {
                    ConnectState::Pending => {}
                    ConnectState::Failed(e) => {
                        self.note(format!("connect failed: {e}"));
                        self.close(i, Reason::ConnectFailed);
                    }
                    ConnectState::Done => {
                        let now = now_ns();
                        c.times.connected = now;
                        c.state = State::AwaitHello;
                        let took = now.saturating_sub(c.times.start);
                        self.stats.connect.saturating_record(took);
                        self.read(i, closing);
                        self.flush(i);
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

    // ---- reading ------------------------------------------------------------------

    /// Reads what client `i` has. With `to_end` it reads until the socket says
    /// EAGAIN or end of stream; otherwise a short read ends the turn.
    fn read(&mut self, i: usize, to_end: bool) {
        for _ in 0..READS_PER_TURN {
            let c = &mut self.clients[i];
            if c.state == State::Closed || (c.role.stuck && self.stuck_active) {
                return;
            }
            let Some(stream) = c.stream.as_mut() else {
                return;
            };
            let off = c.carry.len();
            if off > RBUF / 2 {
                if !self.read_long(i) {
                    return;
                }
                continue;
            }
            match stream.read(&mut self.rbuf[off..]) {
                Ok(0) => {
                    self.close(i, Reason::Eof);
                    return;
                }
                Ok(n) => {
                    let now = now_ns();
                    self.stats.bytes(now, n);
                    // The partial line goes in front of the new bytes.
                    self.rbuf[..off].copy_from_slice(&c.carry);
                    c.carry.clear();
                    let buf = std::mem::take(&mut self.rbuf);
                    let end = off + n;
                    let used = self.lines(i, &buf[..end], now);
                    let c = &mut self.clients[i];
                    if used < end && c.state != State::Closed {
                        c.carry.extend_from_slice(&buf[used..end]);
                    }
                    self.rbuf = buf;
                    // A short read means the socket is empty: on Linux any later data
                    // raises a new edge, so skip the read that would only say EAGAIN.
                    // Not so for an end of stream that came with the same edge: the
                    // event said so (`to_end`), and the next read returns it.
                    if end < RBUF && !to_end {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.close(i, Self::io_reason(&e));
                    return;
                }
            }
        }
        // Turn used up with data left: come back without waiting for a new edge.
        self.push_again(i);
    }

    /// Reads while a long line is being assembled in the client's carry; `false` when
    /// there is nothing more to read now (or the client closed).
    fn read_long(&mut self, i: usize) -> bool {
        let c = &mut self.clients[i];
        let Some(stream) = c.stream.as_mut() else {
            return false;
        };
        let off = c.carry.len();
        c.carry.resize(off + RBUF, 0);
        let res = stream.read(&mut c.carry[off..]);
        match res {
            Ok(0) => {
                c.carry.truncate(off);
                self.close(i, Reason::Eof);
                false
            }
            Ok(n) => {
                c.carry.truncate(off + n);
                let now = now_ns();
                self.stats.bytes(now, n);
                let buf = std::mem::take(&mut c.carry);
                let used = self.lines(i, &buf, now);
                let c = &mut self.clients[i];
                if c.state != State::Closed {
                    c.carry = buf;
                    c.carry.drain(..used);
                    if c.carry.len() > MAX_LINE {
                        self.note("a server line exceeded 64 MiB".into());
                        self.close(i, Reason::SocketError);
                        return false;
                    }
                }
                true
            }
            Err(e) => {
                c.carry.truncate(off);
                match e.kind() {
                    io::ErrorKind::WouldBlock => false,
                    io::ErrorKind::Interrupted => true,
                    _ => {
                        self.close(i, Self::io_reason(&e));
                        false
                    }
                }
            }
        }
    }

    /// Handles every complete line in `buf`; returns the bytes consumed.
    fn lines(&mut self, i: usize, buf: &[u8], now: u64) -> usize {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', buf) {
            self.on_line(i, &buf[start..nl], now);
            start = nl + 1;
            if self.clients[i].state == State::Closed {
                return buf.len();
            }
        }
        start
    }

    fn on_line(&mut self, i: usize, line: &[u8], now: u64) {
        match wire::parse_line(line) {
            ServerLine::Msg { text, .. } | ServerLine::Priv { text, .. } => {
                self.on_payload(i, text, now)
            }
            ServerLine::Hello => self.on_hello(i, now),
            ServerLine::Queued { pos } => self.on_queued(i, pos, now),
            ServerLine::Welcome | ServerLine::Other => {}
            ServerLine::Join { room, name } => {
                if wire::name_id(&self.prefix, name) == Some(i as u64) {
                    self.on_self_join(i, room, now);
                }
            }
            ServerLine::Leave { room, name, reason } => {
                let id = wire::name_id(&self.prefix, name);
                let me = id == Some(i as u64);
                match id {
                    // The last confirmation of a member's setup.
                    Some(_)
                        if me
                            && room == b"lobby"
                            && reason == b"left"
                            && self.clients[i].state == State::Joining =>
                    {
                        self.make_ready(i, now);
                    }
                    // Our own clients leave lobby during setup: only departures the
                    // server decided (sendq, timeout, ...) say something about it.
                    Some(id) if !me && (id as usize) < self.clients.len() && reason != b"left" => {
                        let other = &mut self.clients[id as usize];
                        if other.left.is_none() {
                            other.left = Some((Reason::from_bye(reason), now));
                        }
                    }
                    _ => {}
                }
            }
            ServerLine::Ping { token } => {
                let c = &mut self.clients[i];
                c.out.extend_from_slice(b"/pong ");
                c.out.extend_from_slice(token);
                c.out.push(b'\n');
                self.flush(i);
            }
            ServerLine::Err { code } => {
                self.stats.error(code);
                let state = self.clients[i].state;
                if matches!(
                    state,
                    State::AwaitHello | State::Naming | State::WaitRoom | State::Joining
                ) {
                    let msg = format!("setup refused: ERR {}", String::from_utf8_lossy(code));
                    self.note(msg);
                    self.close(i, Reason::SetupRefused);
                }
            }
            ServerLine::Bye { reason } => {
                self.clients[i].bye = Some(Reason::from_bye(reason));
            }
        }
    }

    /// The hot path: one delivered test message.
    #[inline]
    fn on_payload(&mut self, i: usize, text: &[u8], now: u64) {
        let Some(p) = wire::parse_payload(text) else {
            self.stats.garbled += 1;
            return;
        };
        let c = &mut self.clients[i];
        let g = c.role.group;
        if g == NONE {
            self.stats.misrouted += 1;
            return;
        }
        let senders = &self.plan.groups[g as usize].senders;
        let slot = p.slot as usize;
        if slot >= senders.len() || u64::from(senders[slot]) != p.sender || p.sender == i as u64 {
            self.stats.misrouted += 1;
            return;
        }
        match c.seq.observe(slot, p.seq) {
            Verdict::InOrder => {}
            Verdict::Gap(_) => self.stats.gap_events += 1,
            Verdict::Reordered => self.stats.reordered += 1,
            Verdict::Duplicate => {
                self.stats.duplicates += 1;
                return;
            }
        }
        self.stats.delivery(now, &p);
        let snd = &mut self.clients[p.sender as usize];
        snd.acked += 1;
        if snd.window_full && self.window_open(p.sender as usize, 2) {
            // Half the window has drained: let the sender go on.
            self.clients[p.sender as usize].window_full = false;
            self.push_again(p.sender as usize);
        }
    }

    /// Whether `--max` sender `s` may send, keeping its in-flight count under
    /// window/`divisor` (the divisor gives hysteresis when reopening).
    #[inline]
    fn window_open(&self, s: usize, divisor: u64) -> bool {
        let w = self.cfg.window;
        let c = &self.clients[s];
        if w == 0 || c.receivers == 0 {
            return true;
        }
        // In flight per average receiver: sent - acked/receivers, kept in integers.
        c.sent * c.receivers < c.acked + w * c.receivers / divisor
    }

    // ---- setup steps --------------------------------------------------------------

    fn on_hello(&mut self, i: usize, now: u64) {
        let c = &mut self.clients[i];
        match c.state {
            State::AwaitHello => {}
            State::Queued => {
                let waited = now.saturating_sub(c.times.queued);
                self.stats.queue_wait.saturating_record(waited);
                if let Some(q) = self.queue.as_mut() {
                    q.on_admitted(i as u32, now);
                }
            }
            _ => return,
        }
        let c = &mut self.clients[i];
        c.times.hello = now;
        c.state = State::Naming;
        let took = now.saturating_sub(c.times.start);
        self.stats.admission.saturating_record(took);
        c.out.extend_from_slice(b"/name ");
        c.out.extend_from_slice(&self.prefix);
        c.out.extend_from_slice(i.to_string().as_bytes());
        c.out.push(b'\n');
        self.flush(i);
    }

    fn on_queued(&mut self, i: usize, pos: u64, now: u64) {
        let c = &mut self.clients[i];
        match c.state {
            State::AwaitHello => {
                if self.cfg.kind != Kind::Queue {
                    self.note(
                        "the server queued clients: it is full (raise its --max-clients)".into(),
                    );
                    self.close(i, Reason::Queued);
                    return;
                }
                c.queue_pos = pos;
                c.last_pos = pos;
                c.last_queued_at = now;
                c.times.queued = now;
                c.state = State::Queued;
                self.settle(i);
            }
            State::Queued => {
                let (prev_pos, prev_at) = (c.last_pos, c.last_queued_at);
                c.last_pos = pos;
                c.last_queued_at = now;
                if let Some(q) = self.queue.as_mut() {
                    q.on_update(prev_pos, prev_at, pos, now);
                }
            }
            _ => {}
        }
    }

    fn room_name(&self, g: usize) -> Vec<u8> {
        format!("{}r{}", self.cfg.prefix, g).into_bytes()
    }

    fn on_self_join(&mut self, i: usize, room: &[u8], now: u64) {
        let c = &self.clients[i];
        let g = c.role.group;
        if room == b"lobby" {
            if c.state != State::Naming {
                return;
            }
            let c = &mut self.clients[i];
            c.times.named = now;
            let took = now.saturating_sub(c.times.start);
            self.stats.named.saturating_record(took);
            if g == NONE || !self.plan.groups[g as usize].room {
                self.make_ready(i, now);
                return;
            }
            let g = g as usize;
            let creator = self.plan.groups[g].members[0] as usize == i;
            if creator || self.room_created[g] {
                self.send_join(i, g, creator);
            } else {
                self.clients[i].state = State::WaitRoom;
                self.room_waiting[g].push(i as u32);
            }
        } else if g != NONE
            && c.state == State::Joining
            && self.plan.groups[g as usize].members[0] as usize == i
            && wire::room_id(&self.prefix, room) == Some(u64::from(g))
        {
            // The room exists now: let the members who waited for it in.
            let g = g as usize;
            self.room_created[g] = true;
            for w in std::mem::take(&mut self.room_waiting[g]) {
                if self.clients[w as usize].state == State::WaitRoom {
                    self.send_join(w as usize, g, false);
                }
            }
        }
    }

    /// Joins (or creates) the group's room and leaves lobby, so that the client's plain
    /// lines go to the room and lobby chatter of other clients does not reach it.
    fn send_join(&mut self, i: usize, g: usize, create: bool) {
        let room = self.room_name(g);
        let c = &mut self.clients[i];
        c.out
            .extend_from_slice(if create { b"/create " } else { b"/join " });
        c.out.extend_from_slice(&room);
        c.out.extend_from_slice(b"\n/leave lobby\n");
        c.state = State::Joining;
        self.flush(i);
    }

    fn make_ready(&mut self, i: usize, now: u64) {
        let c = &mut self.clients[i];
        c.state = State::Ready;
        c.times.ready = now;
        let took = now.saturating_sub(c.times.start);
        self.stats.ready.saturating_record(took);
        self.ready_now += 1;
        self.last_ready_at = now;
        self.settle(i);
        if let Some(q) = self.queue.as_mut() {
            if q.begun {
                q.pool.push(i as u32);
            }
        }
    }

    // ---- writing ------------------------------------------------------------------

    fn flush(&mut self, i: usize) {
        match self.clients[i].flush() {
            Ok(_) => {}
            Err(e) => self.close(i, Self::io_reason(&e)),
        }
    }

    fn flush_touched(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.touched);
        for &s in &list {
            self.clients[s as usize].touched = false;
            self.flush(s as usize);
        }
        self.touched = list;
        self.touched.clear();
    }

    /// Appends one message from sender `s`; `false` if it was not sent.
    #[inline]
    fn send_one(&mut self, s: usize, sched: u64, now: u64) -> bool {
        let c = &mut self.clients[s];
        if c.state != State::Ready {
            return false;
        }
        if c.pending() > BACKLOG_CAP {
            self.stats.backlog_skipped += 1;
            return false;
        }
        let p = wire::Payload {
            sender: s as u64,
            slot: u64::from(c.role.slot),
            seq: c.sent,
            sched_ns: sched,
            sent_ns: now,
        };
        wire::write_message(&mut c.out, &self.send_prefix[s], &p, self.text_len);
        c.sent += 1;
        self.stats.sent += 1;
        if self.stats.in_window(sched) {
            c.sent_in_window += 1;
            self.stats.sent_window += 1;
        }
        true
    }

    /// Open loop: sends every message whose scheduled time has come, stamped with that
    /// time, however late the loop is (no coordinated omission), then arms the timer
    /// for the next one.
    fn send_due(&mut self, now: u64) {
        let n = self.plan.schedule.len();
        self.sched_behind = false;
        let mut budget = SEND_BUDGET;
        loop {
            let due = self.sched_base + (self.sched_k as f64 * self.sched_interval) as u64;
            if due >= self.stats.win_end {
                return;
            }
            if due > now {
                self.next_due = due;
                if self.timer_due != due {
                    self.timer_due = due;
                    if let Some(t) = &self.timer {
                        if let Err(e) = t.arm_in(due - now) {
                            self.note(format!("arming the send timer failed: {e}"));
                        }
                    }
                }
                return;
            }
            if budget == 0 {
                self.sched_behind = true;
                return;
            }
            if budget == SEND_BUDGET {
                // Sending is work, not waiting.
                self.end_spin_stretch();
            }
            budget -= 1;
            let s = self.plan.schedule[(self.sched_k % n as u64) as usize] as usize;
            self.sched_k += 1;
            if self.send_one(s, due, now) {
                if self.stats.in_window(due) {
                    self.stats.send_lag.saturating_record(now - due);
                }
                let c = &mut self.clients[s];
                if !c.touched {
                    c.touched = true;
                    self.touched.push(s as u32);
                }
            }
        }
    }

    /// Closed loop (`--max`): keeps a sender's socket full while sending is on.
    fn pump(&mut self, i: usize) {
        if !self.sending || self.cfg.mode != Mode::Max {
            return;
        }
        let per_batch = (MAX_BATCH / self.cfg.size).max(1);
        for _ in 0..BATCHES_PER_TURN {
            let c = &mut self.clients[i];
            if c.state != State::Ready || c.role.slot == NONE {
                return;
            }
            if c.pending() > 0 {
                match c.flush() {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        self.close(i, Self::io_reason(&e));
                        return;
                    }
                }
            }
            if !self.window_open(i, 1) {
                // Wait for deliveries to come back (see on_payload).
                self.clients[i].window_full = true;
                return;
            }
            let now = now_ns();
            for _ in 0..per_batch {
                if !self.window_open(i, 1) {
                    break;
                }
                self.send_one(i, now, now);
            }
            match self.clients[i].flush() {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.close(i, Self::io_reason(&e));
                    return;
                }
            }
        }
        // Still writable after its turn: continue after the others had theirs.
        self.push_again(i);
    }

    // ---- the end --------------------------------------------------------------------

    /// Reads what the non-reading clients were sent, to learn whether the server
    /// dropped them: end of stream means dropped; a `BYE` names the reason.
    fn drain_stuck(&mut self) {
        let deadline = now_ns() + 2_000_000_000;
        for i in 0..self.clients.len() {
            if !self.clients[i].role.stuck || self.clients[i].state == State::Closed {
                continue;
            }
            loop {
                let c = &mut self.clients[i];
                let Some(stream) = c.stream.as_mut() else {
                    break;
                };
                match stream.read(&mut self.rbuf) {
                    Ok(0) => {
                        self.close(i, Reason::Eof);
                        break;
                    }
                    Ok(n) => {
                        if let Some(at) = memchr::memmem::rfind(&self.rbuf[..n], b"BYE ") {
                            let word = wire::split_field(&self.rbuf[at + 4..n]).0;
                            c.bye = Some(Reason::from_bye(word));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.close(i, Self::io_reason(&e));
                        break;
                    }
                }
                if now_ns() > deadline {
                    break;
                }
            }
        }
    }
}
