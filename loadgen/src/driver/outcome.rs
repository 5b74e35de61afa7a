//! What a finished run hands to the report: the clients and counters, the times and
//! readings taken at the edges of its phases, and the notes gathered on the way.

use crate::abuse::AbuseRun;
use crate::args::Config;
use crate::board::BoardRun;
use crate::conn::Client;
use crate::login_storm::LoginStormRun;
use crate::queue::QueueRun;
use crate::scenario::Plan;
use crate::stats::Stats;

/// Most notes kept: a flood of distinct failures must not bury the report.
const MAX_NOTES: usize = 20;

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
    /// Board scenario findings.
    pub board: Option<BoardRun>,
    /// Login storm findings.
    pub login_storm: Option<LoginStormRun>,
    /// Abuse findings.
    pub abuse: Option<AbuseRun>,
    /// CPU over the measured part.
    pub usage: Usage,
    /// When setup began and ended.
    pub setup: SetupTimes,
    /// How the drain after sending ended.
    pub drain: DrainResult,
    /// The server's memory at the edges of the run.
    pub server_rss: ServerRss,
    /// Things worth telling that are not counters (first connect errors, ...).
    pub notes: Vec<String>,
}

#[cfg(test)]
impl Outcome {
    /// A run of `cfg` and `plan` in which nothing has happened yet: tests of the report
    /// fill in what they need.
    pub fn before_start(cfg: Config, plan: Plan) -> Outcome {
        Outcome {
            clients: super::conns::clients_for(&plan),
            board: (cfg.kind == crate::args::Kind::Board).then(|| BoardRun::new(&plan)),
            login_storm: (cfg.kind == crate::args::Kind::LoginStorm).then(|| {
                let first = plan.roles.iter().position(|r| r.account).unwrap_or(0);
                LoginStormRun::new(first, plan.accounts())
            }),
            abuse: (cfg.kind == crate::args::Kind::Abuse).then(|| AbuseRun::new(&cfg, &plan)),
            cfg,
            plan,
            stats: Stats::new(),
            queue: None,
            usage: Usage::default(),
            setup: SetupTimes::default(),
            drain: DrainResult::default(),
            server_rss: ServerRss::default(),
            notes: Vec::new(),
        }
    }
}

/// When setup began and ended, in process-clock nanoseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SetupTimes {
    /// First connect() call.
    pub first_start: u64,
    /// All clients set up (ready, queued or failed), or 0 if setup did not finish.
    pub done_at: u64,
    /// Last client became ready.
    pub last_ready_at: u64,
    /// Setup did not finish in time.
    pub timed_out: bool,
}

/// How the drain after sending ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct DrainResult {
    /// The drain saw every sent message arrive.
    pub complete: bool,
    /// When sending stopped and when the drain ended.
    pub span: (u64, u64),
}

/// The server's resident memory (with `--server-pid`), read where the run can tell
/// what it holds: before any client, once all are set up, and at the end of a hold.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServerRss {
    /// Before connecting.
    pub before: Option<u64>,
    /// After setup.
    pub after_setup: Option<u64>,
    /// At the end of the idle scenario's hold.
    pub end: Option<u64>,
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
    /// CPU ns of the server's store thread at start and end, with --server-pid: what
    /// keeping boards and history costs.
    pub server_store: (Option<u64>, Option<u64>),
    /// CPU ns of the server's password hashing threads together at start and end, with
    /// --server-pid: what the logins cost.
    pub server_hash: (Option<u64>, Option<u64>),
    /// CPU ns spent in polls that found nothing while spinning (`--spin`), at start
    /// and end: CPU that did no work.
    pub spin: (u64, u64),
}

/// Notes for the report, each said once.
#[derive(Debug, Default)]
pub struct Notes(Vec<String>);

impl Notes {
    /// Adds `s` unless it is already there or the list is full: a flood of identical
    /// failures must not flood the report.
    pub fn add(&mut self, s: String) {
        if self.0.len() < MAX_NOTES && !self.0.contains(&s) {
            self.0.push(s);
        }
    }

    /// The notes, in the order they came.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}
