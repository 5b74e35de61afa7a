//! The `login_storm` section: the registrations, the logins of the storm (how fast,
//! with what latency, how many refused or lost), and the bystanders' latency without
//! and during the storm, with the ratio of their p99s.

use crate::driver::Outcome;
use crate::login_storm::LoginStormRun;
use crate::report::Obj;
use crate::stats::LatSummary;
use crate::targets::StormFigures;

use super::{bystanders, Findings};

/// The figures the login-storm targets are judged on; `None` before a storm.
pub fn figures(o: &Outcome) -> Option<StormFigures> {
    let ls = o.login_storm.as_ref().filter(|ls| ls.begun_at > 0)?;
    Some(StormFigures {
        logins_per_s: ls.logins_per_s(),
        baseline_p99: LatSummary::of(&o.stats.latency).p99,
        storm_p99: LatSummary::of(&ls.bystanders.latency).p99,
    })
}

/// `ERR` lines that do not fail the run: the refused logins, when the run was asked to
/// allow them (`--allow-failed-logins`).
pub fn excused_errors(o: &Outcome) -> u64 {
    match &o.login_storm {
        Some(ls) if o.cfg.allow_failed_logins => ls.refused,
        _ => 0,
    }
}

/// The `login_storm` section.
pub fn section(o: &Outcome, ls: &LoginStormRun) -> Obj {
    let cfg = &o.cfg;
    let mut m = Obj::new();
    m.int("accounts", ls.accounts() as u64)
        .int("registered", ls.registered)
        .lat("register_time", LatSummary::of(&ls.register_time))
        .int("bystanders", cfg.bystanders as u64)
        .text(
            "bystanders_chat_in",
            "a room of their own (no login's JOIN reaches them)",
        )
        .int("hash_workers", cfg.hash_workers as u64);
    if ls.begun_at == 0 {
        m.text("storm", "did not begin: setup did not finish");
        return m;
    }
    m.int("logins_sent", ls.sent)
        .int("logged_in", ls.logged_in)
        .int("logins_refused", ls.refused);
    let mut codes = Obj::new();
    for (code, k) in &ls.refused_by_code {
        codes.int(code, *k);
    }
    m.obj("refused_by_code", codes)
        .int("logins_lost", ls.lost)
        .int("logins_unanswered", ls.unanswered);
    match ls.span() {
        Some(span) => {
            m.ns("storm_time", span)
                .num("logins_per_s", ls.logins_per_s());
        }
        None => {
            m.text("storm_time", "no login was welcomed");
        }
    }
    if let Some(rate) = cfg.hash_rate {
        m.num("hash_rate", rate)
            .num("hash_capacity_per_s", rate * cfg.hash_workers as f64);
    }
    m.text("login_time_from", "/login written to WELCOME read")
        .lat("login_time", LatSummary::of(&ls.login_time));
    bystanders::latency_into(
        &mut m,
        &o.stats,
        &ls.bystanders,
        "storm",
        "from the first /login until every login was answered",
    );
    if let Some(cores) = bystanders::server_cores(&ls.baseline_usage) {
        m.num("baseline_server_cpu_cores", cores);
    }
    m
}

/// Login-storm problems: a login refused (unless allowed), lost or unanswered, and a
/// storm in which nobody logged in. A short storm is only noted.
pub fn check(o: &Outcome, ls: &LoginStormRun, f: &mut Findings) {
    if ls.begun_at == 0 {
        return;
    }
    if ls.refused > 0 {
        let codes: Vec<String> = ls
            .refused_by_code
            .iter()
            .map(|(code, k)| format!("{code} {k}"))
            .collect();
        let text = format!("{} logins were refused ({})", ls.refused, codes.join(", "));
        if o.cfg.allow_failed_logins {
            f.note(format!("{text}; allowed by --allow-failed-logins"));
        } else {
            f.problem("refused_logins", text);
        }
    }
    f.flag(
        "lost_logins",
        ls.lost,
        "logins lost: the connection closed (or could not be made) before an answer",
    );
    f.flag(
        "unanswered_logins",
        ls.unanswered,
        "logins had no answer when the storm gave up (--timeout)",
    );
    if ls.logged_in == 0 && ls.registered > 0 {
        f.problem("nobody_logged_in", "no login was welcomed");
    }
    bystanders::check_samples(
        &ls.bystanders,
        "storm",
        "more --clients or a higher --rate give more",
        f,
    );
}
