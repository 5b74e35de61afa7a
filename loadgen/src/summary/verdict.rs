//! The verdict: PASS or FAIL on correctness, and beside it the documented performance
//! targets the run was checked against (see [`crate::targets`]).

use crate::args::{Kind, Protocol};
use crate::driver::Outcome;
use crate::report::Obj;
use crate::stats::LatSummary;
use crate::targets::{self, Check};

use super::setup::SetupCounts;
use super::{board, idle, join_storm, login_storm, per_s, slow, traffic};

/// Checks the run against the targets whose shape it has.
pub fn checks(o: &Outcome, counts: &SetupCounts) -> Vec<Check> {
    let s = &o.stats;
    targets::judge(&targets::Run {
        cfg: &o.cfg,
        senders: o.plan.schedule.len(),
        deliveries_per_s: per_s(s.delivered_window, traffic::window(s)),
        posted_per_s: board::posted_per_s(o),
        latency: LatSummary::of(&s.latency),
        time_to_all_named: join_storm::time_to_all_named(o),
        bytes_per_connection: idle::bytes_per_connection(o, counts.ready),
        per_reader_rate: slow::per_reader_rate(o),
        queue: o.queue.as_ref(),
        storm: login_storm::figures(o),
    })
}

/// The `targets` section: each target checked, met or missed; `None` when no target
/// applies to the run.
pub fn section(checks: &[Check]) -> Option<Obj> {
    if checks.is_empty() {
        return None;
    }
    let mut t = Obj::new();
    for c in checks {
        let verdict = if c.met { "met" } else { "missed" };
        t.text(c.key, format!("{verdict}: {}", c.text));
    }
    Some(t)
}

/// What PASS vouches for in each scenario, said beside it when targets are shown so
/// that a missed target is not read as a failed run.
fn pass_means(kind: Kind) -> &'static str {
    match kind {
        Kind::Fanout | Kind::Rooms | Kind::Private => "exactly-once, in order",
        Kind::Slow => "readers exactly-once, in order; non-readers dropped",
        Kind::Queue => "admitted in arrival order",
        Kind::JoinStorm | Kind::Idle => "every client set up",
        Kind::Board => "every post answered once, ids rising",
        Kind::LoginStorm => "every login answered; bystanders exactly-once, in order",
        Kind::Abuse => "bystanders exactly-once, in order",
    }
}

/// The table's first line: scenario, server, verdict, and the targets checked.
pub fn title(o: &Outcome, passed: bool, checks: &[Check]) -> String {
    let tls = if o.cfg.tls.is_some() { " (TLS)" } else { "" };
    let protocol = match o.cfg.protocol {
        Protocol::Parley => String::new(),
        Protocol::Irc => " (IRC)".to_string(),
        Protocol::Mixed => format!(" and IRC at {} (mixed)", o.cfg.irc_addr),
    };
    let head = format!(
        "parley-loadgen {} against {}{tls}{protocol}",
        o.cfg.kind.name(),
        o.cfg.addr
    );
    if checks.is_empty() {
        return format!("{head}: {}", if passed { "PASS" } else { "FAIL" });
    }
    let mut line = if passed {
        format!("{head}: PASS ({})", pass_means(o.cfg.kind))
    } else {
        format!("{head}: FAIL")
    };
    for met in [false, true] {
        let texts: Vec<&str> = checks
            .iter()
            .filter(|c| c.met == met)
            .map(|c| c.text.as_str())
            .collect();
        if texts.is_empty() {
            continue;
        }
        let plural = if texts.len() > 1 { "s" } else { "" };
        let verdict = if met { "met" } else { "missed" };
        line.push_str(&format!("; target{plural} {verdict}: {}", texts.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::args::{Cli, Config};
    use crate::driver::Outcome;
    use crate::report::{to_json, Val};
    use crate::scenario::Plan;
    use crate::summary::summarize;

    /// A run of `args` in which every client got ready and every message arrived
    /// `latency_ns` after it was sent.
    fn clean_run(args: &[&str], latency_ns: u64) -> Outcome {
        let mut v = vec!["parley-loadgen"];
        v.extend_from_slice(args);
        let cfg = Config::from_cli(Cli::try_parse_from(v).unwrap()).unwrap();
        let plan = Plan::build(&cfg).unwrap();
        let mut o = Outcome::before_start(cfg, plan);
        for c in &mut o.clients {
            c.times.ready = 1;
        }
        let s = &mut o.stats;
        s.win_start = 0;
        s.win_end = 1_000_000_000;
        s.delivered_window = 1_000;
        for _ in 0..1_000 {
            s.latency.saturating_record(latency_ns);
        }
        o
    }

    #[test]
    fn a_missed_target_is_told_beside_pass() {
        let o = clean_run(
            &["fanout", "--clients", "1000", "--rate", "2000"],
            7_000_000,
        );
        let s = summarize(&o);
        assert!(s.passed, "missing a target does not fail the run");
        assert_eq!(
            s.title,
            "parley-loadgen fanout against 127.0.0.1:7777: PASS (exactly-once, in order); \
             target missed: p99 7.0 ms > 5 ms; target met: p99.9 7.0 ms <= 20 ms"
        );
        let json = to_json(&s.report);
        assert!(
            json.contains(r#""targets":{"target_2_p99":"missed: p99 7.0 ms > 5 ms","#),
            "{json}"
        );
    }

    #[test]
    fn a_run_at_no_target_shape_reads_as_before() {
        let o = clean_run(&["fanout", "--clients", "300", "--rate", "2000"], 7_000_000);
        let s = summarize(&o);
        assert_eq!(
            s.title,
            "parley-loadgen fanout against 127.0.0.1:7777: PASS"
        );
        assert!(s.report.0.iter().all(|(k, _)| k != "targets"));
        assert!(matches!(s.report.0.last(), Some((k, Val::Bool(true))) if k == "passed"));
    }

    #[test]
    fn board_targets_are_told_beside_pass() {
        let mut o = clean_run(
            &[
                "board",
                "--clients",
                "100",
                "--rooms",
                "10",
                "--rate",
                "1000",
            ],
            12_000_000,
        );
        if let Some(b) = o.board.as_mut() {
            b.posted_window = 1_000;
        }
        let s = summarize(&o);
        assert!(s.passed, "{}", to_json(&s.report));
        assert_eq!(
            s.title,
            "parley-loadgen board against 127.0.0.1:7777: PASS (every post answered once, ids rising); \
             target missed: POSTED p99 12.0 ms > 10 ms"
        );
        let json = to_json(&s.report);
        assert!(
            json.contains(r#""board":{"posted":1000,"posted_per_s":1000,"posted_latency_from":"#),
            "{json}"
        );
        assert!(json.contains(r#""p99_us":12001.279"#), "{json}");
        assert!(
            json.contains(r#""targets":{"target_board_p99":"missed: POSTED p99 12.0 ms > 10 ms"}"#),
            "{json}"
        );
        let unanswered = clean_run(&["board", "--rate", "1000"], 1_000);
        let s = summarize(&unanswered);
        assert!(!s.passed, "nothing answered in the window is a failure");
        assert!(to_json(&s.report).contains(r#""nothing_posted":"#));
    }

    #[test]
    fn an_irc_run_says_what_it_spoke_and_meets_no_parley_target() {
        // The shape of target 2, which a parley run is judged against (see above).
        let shape = ["fanout", "--clients", "1000", "--rate", "2000"];
        let o = clean_run(&[&shape[..], &["--protocol", "irc"]].concat(), 7_000_000);
        let s = summarize(&o);
        assert_eq!(
            s.title,
            "parley-loadgen fanout against 127.0.0.1:7777 (IRC): PASS"
        );
        assert!(to_json(&s.report).contains(r#""protocol":"irc","#));
        let mixed = [
            &shape[..],
            &["--protocol", "mixed", "--irc-addr", "127.0.0.1:6667"],
        ]
        .concat();
        let s = summarize(&clean_run(&mixed, 7_000_000));
        assert_eq!(
            s.title,
            "parley-loadgen fanout against 127.0.0.1:7777 and IRC at 127.0.0.1:6667 (mixed): PASS"
        );
        let json = to_json(&s.report);
        assert!(
            json.contains(
                r#""protocol":"mixed: 500 IRC clients to 127.0.0.1:6667, 500 parley clients to 127.0.0.1:7777, in the same rooms""#
            ),
            "{json}"
        );
        assert!(!json.contains("targets"), "{json}");
        let parley = summarize(&clean_run(&shape, 7_000_000));
        assert!(to_json(&parley.report).contains(r#""protocol":"parley","#));
    }

    #[test]
    fn a_failed_run_keeps_fail_and_still_tells_the_targets() {
        let mut o = clean_run(
            &["fanout", "--clients", "1000", "--rate", "2000"],
            1_000_000,
        );
        o.stats.duplicates = 1;
        let s = summarize(&o);
        assert!(!s.passed);
        assert_eq!(
            s.title,
            "parley-loadgen fanout against 127.0.0.1:7777: FAIL; \
             targets met: p99 1.0 ms <= 5 ms, p99.9 1.0 ms <= 20 ms"
        );
    }
}
