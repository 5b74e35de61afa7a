//! Turns a finished run into the report: figures, checks, and the list of problems
//! that decides pass or fail. A problem in the server is never smoothed over here:
//! loss, duplicates, reordering, unexpected disconnects and ERR lines all fail the run.

use crate::args::{Kind, Mode};
use crate::conn::{Reason, State};
use crate::driver::Outcome;
use crate::report::{Obj, Val};
use crate::scenario::NONE;
use crate::stats::LatSummary;

/// The report and its verdict.
pub struct Summary {
    /// Title line for the table.
    pub title: String,
    /// The report tree.
    pub report: Obj,
    /// No problems were found.
    pub passed: bool,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn per_s(count: u64, span_ns: u64) -> f64 {
    if span_ns == 0 {
        0.0
    } else {
        count as f64 / secs(span_ns)
    }
}

/// How evenly the senders' messages were spread over the measured window. A server can
/// deliver every message and still starve some senders: their messages then wait in
/// TCP, and those generated before the window never show in its latency figures.
struct SenderShare {
    min: u64,
    max: u64,
    mean: f64,
}

impl SenderShare {
    /// A slowest sender below this fraction of the mean counts as starved.
    const STARVED_BELOW: f64 = 0.1;

    /// `None` without senders or without a message in the window. A sender the server
    /// disconnected early counts as slow too; the disconnect itself fails the run.
    fn of(o: &Outcome) -> Option<Self> {
        let counts = || {
            o.plan
                .schedule
                .iter()
                .map(|&s| o.clients[s as usize].sent_in_window)
        };
        let (min, max) = (counts().min()?, counts().max()?);
        let mean = counts().sum::<u64>() as f64 / o.plan.schedule.len() as f64;
        (mean > 0.0).then_some(SenderShare { min, max, mean })
    }

    fn starved(&self) -> bool {
        (self.min as f64) < self.mean * Self::STARVED_BELOW
    }
}

/// Builds the report of a finished run.
pub fn summarize(o: &Outcome) -> Summary {
    let cfg = &o.cfg;
    let s = &o.stats;
    let mut problems = Obj::new();
    let mut report = Obj::new();
    report
        .text("scenario", cfg.kind.name())
        .text("server", cfg.addr.to_string());

    // ---- setup ------------------------------------------------------------------
    let n = o.clients.len() as u64;
    let count =
        |f: &dyn Fn(&crate::conn::Client) -> bool| o.clients.iter().filter(|c| f(c)).count() as u64;
    let connected = count(&|c| c.times.connected > 0);
    let admitted = count(&|c| c.times.hello > 0);
    let named = count(&|c| c.times.named > 0);
    let ready = count(&|c| c.times.ready > 0);
    let queued = count(&|c| c.queue_pos > 0);
    let refused_full = count(&|c| c.times.ready == 0 && c.bye == Some(Reason::ServerFull));
    let mut setup = Obj::new();
    setup.int("clients", n).int("connected", connected);
    if cfg.kind == Kind::Queue {
        setup.int("queued", queued).int("server_full", refused_full);
    }
    setup
        .int("admitted", admitted)
        .int("named", named)
        .int("ready", ready);
    let sources = match cfg.sources.as_slice() {
        [] => "kernel's choice".to_string(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}-{last} ({})", cfg.sources.len()),
    };
    setup
        .text("sources", sources)
        .int("concurrency", cfg.concurrency as u64);
    if o.last_ready_at > 0 {
        setup.ns("time_to_all_ready", o.last_ready_at - o.first_start);
    }
    if o.setup_done_at > 0 {
        setup.ns("setup_time", o.setup_done_at - o.first_start);
    }
    setup
        .lat("connect_time", LatSummary::of(&s.connect))
        .lat("admission_time", LatSummary::of(&s.admission))
        .lat("named_time", LatSummary::of(&s.named))
        .lat("ready_time", LatSummary::of(&s.ready));
    report.obj("setup", setup);
    if o.setup_timed_out {
        problems.text(
            "setup",
            format!("setup did not finish within {:?}", cfg.timeout),
        );
    }
    let not_ready = n
        - ready
        - if cfg.kind == Kind::Queue {
            refused_full
        } else {
            0
        };
    if not_ready > 0 {
        problems.text("not_ready", format!("{not_ready} clients never got ready"));
    }

    let mut notes_extra: Vec<String> = Vec::new();

    // ---- traffic and the exactly-once checks -------------------------------------
    let window = s.win_end.saturating_sub(s.win_start);
    if cfg.kind.has_traffic() {
        let mut lost = 0u64;
        let mut not_arrived = 0u64;
        let mut undelivered_closed = 0u64;
        let mut phantom = 0u64;
        let mut forgotten = 0u64;
        for (i, c) in o.clients.iter().enumerate() {
            if c.role.group == NONE || c.role.stuck {
                continue;
            }
            forgotten += c.seq.gaps_forgotten;
            let g = &o.plan.groups[c.role.group as usize];
            for (slot, &snd) in g.senders.iter().enumerate() {
                if snd as usize == i {
                    continue;
                }
                let sent = o.clients[snd as usize].sent;
                if c.state == State::Closed {
                    undelivered_closed += c.seq.missing(slot, sent);
                } else {
                    lost += c.seq.skipped(slot, sent);
                    not_arrived += c.seq.not_arrived(slot, sent);
                    phantom += c.seq.phantom(slot, sent);
                }
            }
        }
        let mut t = Obj::new();
        match cfg.mode {
            Mode::Rate(r) => t.text("mode", format!("open loop, {r} msg/s in total")),
            Mode::Max if cfg.window > 0 => t.text(
                "mode",
                format!(
                    "closed loop (--max), as fast as TCP takes, at most {} in flight per sender",
                    cfg.window
                ),
            ),
            Mode::Max => t.text("mode", "closed loop (--max), as fast as TCP takes"),
        };
        t.int("senders", o.plan.schedule.len() as u64)
            .int("receivers", o.plan.readers() as u64)
            .int("groups", o.plan.groups.len() as u64)
            .int("size_bytes", cfg.size as u64)
            .ns("warmup", crate::clock::ns(cfg.warmup))
            .ns("window", window)
            .int("messages", s.sent_window)
            .num("messages_per_s", per_s(s.sent_window, window));
        if let Some(share) = SenderShare::of(o) {
            t.int("slowest_sender_messages", share.min)
                .int("fastest_sender_messages", share.max);
            if share.starved() {
                notes_extra.push(format!(
                    "senders were served unevenly: the slowest sent {} messages in the window and the fastest {} (a mean of {:.0}); messages a starved sender generated before the window are not in the latency figures",
                    share.min, share.max, share.mean
                ));
            }
        }
        t.int("deliveries", s.delivered_window)
            .num("deliveries_per_s", per_s(s.delivered_window, window))
            .num("mb_in_per_s", per_s(s.bytes_in_window, window) / 1e6)
            .int("messages_total", s.sent)
            .int("deliveries_total", s.delivered);
        match cfg.mode {
            Mode::Rate(_) => {
                t.text(
                    "latency_from",
                    "scheduled send time (open loop: no coordinated omission)",
                )
                .lat("latency", LatSummary::of(&s.latency))
                .lat("latency_from_actual_send", LatSummary::of(&s.latency_sent))
                .lat("send_lag", LatSummary::of(&s.send_lag));
            }
            Mode::Max => {
                t.text(
                    "latency_from",
                    "generation time of the sender's batch (includes queueing in TCP)",
                )
                .lat("latency", LatSummary::of(&s.latency));
            }
        }
        t.put("drain_complete", Val::Bool(o.drain_complete))
            .ns("drain_time", o.drain_span.1.saturating_sub(o.drain_span.0));
        report.obj("traffic", t);

        let mut chk = Obj::new();
        chk.int("lost", lost)
            .int("not_arrived", not_arrived)
            .int("duplicates", s.duplicates)
            .int("reordered", s.reordered)
            .int("gap_events", s.gap_events)
            .int("garbled", s.garbled)
            .int("misrouted", s.misrouted)
            .int("phantom", phantom)
            .int("undelivered_to_disconnected", undelivered_closed)
            .int("gaps_forgotten", forgotten)
            .int("send_backlog_skipped", s.backlog_skipped);
        report.obj("checks", chk);
        let mut flag = |key: &str, v: u64, what: &str| {
            if v > 0 {
                problems.text(key, format!("{v} {what}"));
            }
        };
        flag(
            "lost",
            lost,
            "messages skipped: a later message from the same sender arrived instead",
        );
        flag(
            "not_arrived",
            not_arrived,
            "messages had not arrived when the drain ended (late or lost)",
        );
        flag("duplicates", s.duplicates, "messages arrived twice");
        flag("reordered", s.reordered, "messages arrived out of order");
        flag(
            "garbled",
            s.garbled,
            "message lines did not carry our payload",
        );
        flag(
            "misrouted",
            s.misrouted,
            "messages reached a client they were not for",
        );
        flag("phantom", phantom, "messages arrived that were never sent");
        flag(
            "backlog",
            s.backlog_skipped,
            "open-loop messages skipped: the server did not take them (sender backlog full)",
        );
        if s.delivered_window == 0 {
            problems.text(
                "nothing_delivered",
                "no message was delivered in the window",
            );
        }
    }

    // ---- scenario extras ------------------------------------------------------------
    match cfg.kind {
        Kind::JoinStorm => {
            let last_named = o.clients.iter().map(|c| c.times.named).max().unwrap_or(0);
            let mut j = Obj::new();
            if named == n && last_named > 0 {
                let span = last_named - o.first_start;
                j.ns("time_to_all_named", span)
                    .num("named_per_s", per_s(named, span));
            } else {
                j.text(
                    "time_to_all_named",
                    format!("not all named ({named} of {n})"),
                );
            }
            report.obj("join_storm", j);
        }
        Kind::Idle => {
            let mut m = Obj::new();
            if o.setup_done_at > 0 {
                m.ns("held", o.usage.wall.1.saturating_sub(o.usage.wall.0));
            }
            let open_at_end = count(&|c| c.state == State::Ready);
            m.int("open_at_end", open_at_end);
            match o.server_rss {
                (Some(before), Some(after), end) => {
                    m.int("server_rss_before", before)
                        .int("server_rss_after_setup", after);
                    if let Some(e) = end {
                        m.int("server_rss_end", e);
                    }
                    let per = (after as f64 - before as f64) / ready.max(1) as f64;
                    m.num("server_bytes_per_connection", per.round());
                }
                _ if cfg.server_pid.is_none() => {
                    m.text("server_rss", "give --server-pid to measure");
                }
                _ => {
                    m.text("server_rss", "not measured: setup did not finish");
                }
            }
            report.obj("idle", m);
        }
        Kind::Queue => {
            if let Some(q) = &o.queue {
                let mut m = Obj::new();
                m.int("queued", q.order.len() as u64)
                    .int("released", q.released)
                    .int("admitted_from_queue", q.admitted)
                    .int("left_queue", q.departed)
                    .int("batch", q.batch)
                    .int("order_violations", q.order_violations)
                    .int("early_admissions", q.early_admissions)
                    .int("bad_first_positions", q.bad_first_positions)
                    .int("position_updates", q.updates)
                    .int("updates_too_soon", q.too_soon)
                    .int("updates_unchanged", q.unchanged)
                    .int("updates_increased", q.increased);
                if q.min_gap != u64::MAX {
                    m.ns("min_update_gap", q.min_gap);
                }
                if q.last_admitted_at > q.began_at {
                    let span = q.last_admitted_at - q.began_at;
                    m.ns("admission_span", span)
                        .num("admissions_per_s", per_s(q.admitted, span));
                }
                m.lat("queue_wait", LatSummary::of(&s.queue_wait));
                report.obj("queue", m);
                let mut flag = |key: &str, v: u64, what: &str| {
                    if v > 0 {
                        problems.text(key, format!("{v} {what}"));
                    }
                };
                flag("order", q.order_violations, "admissions out of queue order");
                flag(
                    "early",
                    q.early_admissions,
                    "admissions before a slot was freed",
                );
                flag(
                    "first_positions",
                    q.bad_first_positions,
                    "first QUEUED positions were not exactly 1..N in arrival order",
                );
                flag(
                    "updates_too_soon",
                    q.too_soon,
                    "position updates came within a second of the previous",
                );
                flag(
                    "updates_unchanged",
                    q.unchanged,
                    "position updates repeated an unchanged position",
                );
                flag(
                    "updates_increased",
                    q.increased,
                    "position updates moved a client back",
                );
                if q.order.is_empty() {
                    problems.text(
                        "nobody_queued",
                        "no client was queued: use more clients than the server's --max-clients",
                    );
                }
                let waiting = q
                    .order
                    .iter()
                    .filter(|&&i| o.clients[i as usize].times.ready == 0)
                    .count();
                if waiting > 0 {
                    problems.text(
                        "still_waiting",
                        format!("{waiting} queued clients were never admitted and named"),
                    );
                }
            }
        }
        Kind::Slow => {
            let traffic_start = s.win_start.saturating_sub(crate::clock::ns(cfg.warmup));
            let (mut sendq, mut other, mut unknown, mut kept, mut last_drop) = (0, 0, 0, 0, 0);
            for c in o.clients.iter().filter(|c| c.role.stuck) {
                // The LEAVE notice the readers saw is the server's own word; the BYE is
                // best effort (it may not fit in the full socket buffer); a bare end of
                // stream says it was dropped but not why.
                match c.left.map(|l| l.0).or(c.bye) {
                    Some(Reason::Sendq) => sendq += 1,
                    Some(_) => other += 1,
                    None if c.state == State::Closed => unknown += 1,
                    None => kept += 1,
                }
                if let Some((_, at)) = c.left {
                    last_drop = last_drop.max(at.saturating_sub(traffic_start));
                }
            }
            let readers = o.plan.readers() as u64;
            let mut m = Obj::new();
            m.int("stuck", o.plan.stuck() as u64)
                .int("dropped_sendq", sendq)
                .int("dropped_other_reason", other)
                .int("dropped_reason_unseen", unknown)
                .int("not_dropped", kept)
                .ns("last_drop_after_start", last_drop)
                .int("readers", readers)
                .num("reader_deliveries_per_s", per_s(s.delivered_window, window))
                .num(
                    "per_reader_deliveries_per_s",
                    per_s(s.delivered_window, window) / readers.max(1) as f64,
                );
            report.obj("slow", m);
            if kept > 0 {
                problems.text(
                    "stuck_not_dropped",
                    format!("{kept} non-reading clients were still connected at the end (more traffic, a longer --duration or a smaller server --max-sendq drops them)"),
                );
            }
            if other > 0 {
                problems.text(
                    "stuck_wrong_reason",
                    format!(
                        "{other} non-reading clients were dropped for a reason other than sendq"
                    ),
                );
            }
        }
        Kind::Fanout | Kind::Rooms | Kind::Private => {}
    }

    // ---- errors, disconnects, resources ------------------------------------------------
    let mut errs = Obj::new();
    for (code, k) in &s.errors {
        errs.int(code, *k);
    }
    report.obj("errors_by_code", errs);
    let total_errs: u64 = s.errors.values().sum();
    if total_errs > 0 {
        problems.text("errors", format!("{total_errs} ERR lines from the server"));
    }
    let mut disc = Obj::new();
    for (reason, k) in &s.disconnects {
        disc.int(reason, *k);
    }
    report.obj("disconnects_by_reason", disc);
    report.int("unexpected_disconnects", s.unexpected_disconnects);
    if s.unexpected_disconnects > 0 {
        problems.text(
            "disconnects",
            format!(
                "{} connections closed that the scenario did not close",
                s.unexpected_disconnects
            ),
        );
    }

    let u = &o.usage;
    let wall = u.wall.1.saturating_sub(u.wall.0);
    let mut res = Obj::new();
    res.ns("measured_span", wall);
    if wall > 0 {
        let user = u.user.1.saturating_sub(u.user.0);
        let sys = u.sys.1.saturating_sub(u.sys.0);
        let spin = u.spin.1.saturating_sub(u.spin.0);
        res.num("loadgen_cpu_cores", (user + sys) as f64 / wall as f64)
            .num("loadgen_user_cores", user as f64 / wall as f64)
            .num("loadgen_sys_cores", sys as f64 / wall as f64);
        if !o.cfg.spin.is_zero() {
            res.num("loadgen_spin_cores", spin as f64 / wall as f64);
        }
        // Spinning is CPU that waited, not work: only the rest says whether the loadgen
        // kept up.
        let cores = (user + sys).saturating_sub(spin) as f64 / wall as f64;
        if cores >= 0.9 && wall >= 500_000_000 {
            notes_extra.push(format!(
                "the loadgen worked {cores:.2} of a core: it may be the bottleneck, and then the figures describe it rather than the server"
            ));
        }
        if let (Some(a), Some(b)) = u.server {
            res.num("server_cpu_cores", b.saturating_sub(a) as f64 / wall as f64);
        }
    }
    if let Some(rss) = crate::sys::rss_bytes(std::process::id()) {
        res.int("loadgen_rss_bytes", rss);
    }
    report.obj("resources", res);

    let mut notes = Obj::new();
    for (i, text) in o.notes.iter().chain(notes_extra.iter()).enumerate() {
        notes.text(&format!("{}", i + 1), text.clone());
    }
    if !notes.0.is_empty() {
        report.obj("notes", notes);
    }
    let passed = problems.0.is_empty();
    report.obj("problems", problems);
    report.put("passed", Val::Bool(passed));
    Summary {
        title: format!(
            "parley-loadgen {} against {}: {}",
            cfg.kind.name(),
            cfg.addr,
            if passed { "PASS" } else { "FAIL" }
        ),
        report,
        passed,
    }
}
