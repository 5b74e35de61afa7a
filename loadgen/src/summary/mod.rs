//! Turns a finished run into the report: figures, checks, and the list of problems
//! that decides pass or fail. A problem in the server is never smoothed over here:
//! loss, duplicates, reordering, unexpected disconnects and ERR lines all fail the run.
//!
//! Each section of the report has its own module, which builds the section and adds
//! what it found wrong to the [`Findings`]; [`summarize`] puts them in order.

mod abuse;
mod board;
mod bystanders;
mod errors;
mod idle;
mod join_storm;
mod login_storm;
mod queue;
mod resources;
mod setup;
mod share;
mod slow;
mod traffic;
mod verdict;

use crate::args::{Kind, Protocol};
use crate::driver::Outcome;
use crate::report::{Obj, Val};

/// The report and its verdict.
pub struct Summary {
    /// Title line for the table.
    pub title: String,
    /// The report tree.
    pub report: Obj,
    /// No problems were found.
    pub passed: bool,
}

/// What the sections found: problems, which fail the run, and notes, which only
/// inform. Both keep the order in which the sections added them.
#[derive(Default)]
pub struct Findings {
    problems: Obj,
    notes: Vec<String>,
}

impl Findings {
    /// A problem: the run fails.
    fn problem(&mut self, key: &str, text: impl Into<String>) {
        self.problems.text(key, text);
    }

    /// A problem when `count` is not zero, told as "<count> <what>".
    fn flag(&mut self, key: &str, count: u64, what: &str) {
        if count > 0 {
            self.problem(key, format!("{count} {what}"));
        }
    }

    /// Something worth telling that does not fail the run.
    fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// `count` per second over `span_ns` (0 over an empty span).
fn per_s(count: u64, span_ns: u64) -> f64 {
    if span_ns == 0 {
        0.0
    } else {
        count as f64 / secs(span_ns)
    }
}

/// How the clients connected: `tcp`, or `tls` (with the name the server's certificate
/// was checked against).
fn transport_name(o: &Outcome) -> String {
    match &o.cfg.tls {
        None => "tcp".to_string(),
        Some(t) => format!("tls (server name {})", t.server_name.to_str()),
    }
}

/// What the clients spoke, and with a mix, how many of each to which address.
fn protocol_text(o: &Outcome) -> String {
    let cfg = &o.cfg;
    match cfg.protocol {
        Protocol::Parley | Protocol::Irc => cfg.protocol.name().to_string(),
        Protocol::Mixed => {
            let irc = o.plan.irc_clients();
            format!(
                "mixed: {irc} IRC clients to {}, {} parley clients to {}, in the same rooms",
                cfg.irc_addr,
                o.plan.roles.len() - irc,
                cfg.addr
            )
        }
    }
}

/// Builds the report of a finished run.
pub fn summarize(o: &Outcome) -> Summary {
    let mut f = Findings::default();
    let mut report = Obj::new();
    report
        .text("scenario", o.cfg.kind.name())
        .text("server", o.cfg.addr.to_string())
        .text("transport", transport_name(o))
        .text("protocol", protocol_text(o));
    let counts = setup::SetupCounts::of(o);
    report.obj("setup", setup::section(o, &counts));
    setup::check(o, &counts, &mut f);
    if o.cfg.kind.has_traffic() {
        let delivery = traffic::Delivery::of(o);
        report.obj("traffic", traffic::section(o, &mut f));
        report.obj("checks", traffic::checks_section(&o.stats, &delivery));
        traffic::check(&o.stats, &delivery, &mut f);
    }
    scenario_section(o, &counts, &mut report, &mut f);
    report.obj("errors_by_code", errors::by_code(&o.stats));
    report.obj(
        "disconnects_by_reason",
        errors::disconnects_by_reason(&o.stats),
    );
    report.int("unexpected_disconnects", o.stats.unexpected_disconnects);
    errors::check(
        &o.stats,
        login_storm::excused_errors(o),
        o.cfg.protocol,
        &mut f,
    );
    report.obj("resources", resources::section(o, &mut f));
    if let Some(notes) = notes_section(&o.notes, &f.notes) {
        report.obj("notes", notes);
    }
    let checks = verdict::checks(o, &counts);
    if let Some(targets) = verdict::section(&checks) {
        report.obj("targets", targets);
    }
    let passed = f.problems.0.is_empty();
    report.obj("problems", f.problems);
    report.put("passed", Val::Bool(passed));
    Summary {
        title: verdict::title(o, passed, &checks),
        report,
        passed,
    }
}

/// The section only this scenario has, if any, with its problems.
fn scenario_section(o: &Outcome, counts: &setup::SetupCounts, report: &mut Obj, f: &mut Findings) {
    match o.cfg.kind {
        Kind::JoinStorm => {
            report.obj("join_storm", join_storm::section(o, counts.named));
        }
        Kind::Idle => {
            report.obj("idle", idle::section(o, counts.ready));
        }
        Kind::Queue => {
            if let Some(q) = &o.queue {
                report.obj("queue", queue::section(q, &o.stats));
                queue::check(o, q, f);
            }
        }
        Kind::Slow => {
            let fate = slow::StuckFate::of(o);
            report.obj("slow", slow::section(o, &fate));
            slow::check(&fate, f);
        }
        Kind::Board => {
            if let Some(b) = &o.board {
                let tally = board::Tally::of(o, b);
                report.obj("board", board::section(o, b, f));
                report.obj("checks", board::checks_section(o, b, &tally));
                board::check(o, b, &tally, f);
            }
        }
        Kind::LoginStorm => {
            if let Some(ls) = &o.login_storm {
                report.obj("login_storm", login_storm::section(o, ls));
                login_storm::check(o, ls, f);
            }
        }
        Kind::Abuse => {
            if let Some(ab) = &o.abuse {
                report.obj("abuse", abuse::section(o, ab));
                abuse::check(ab, f);
            }
        }
        Kind::Fanout | Kind::Rooms | Kind::Private => {}
    }
}

/// The `notes` section, numbered: the run's own notes first, then the report's.
fn notes_section(run: &[String], found: &[String]) -> Option<Obj> {
    let mut notes = Obj::new();
    for (i, text) in run.iter().chain(found).enumerate() {
        notes.text(&format!("{}", i + 1), text.clone());
    }
    (!notes.0.is_empty()).then_some(notes)
}
