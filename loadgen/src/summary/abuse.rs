//! The `abuse` section: the attack's own counters (connections, lines and bytes each
//! way, `ERR` codes and `BYE` reasons), the big-list victim's listings, the bystanders'
//! latency without and during the attack, and the server's memory through it.

use crate::abuse::{AbuseRun, Attack};
use crate::driver::Outcome;
use crate::report::Obj;
use crate::stats::{new_hist, LatSummary};
use crate::witness::WitnessReport;

use super::setup::sources_text;
use super::{bystanders, per_s, Findings};

/// The `abuse` section.
pub fn section(o: &Outcome, ab: &AbuseRun) -> Obj {
    let mut m = Obj::new();
    m.text("attack", ab.attack.name())
        .int("attackers", ab.attackers() as u64);
    if let Some(a) = &o.cfg.abuse {
        m.text("attacker_sources", sources_text(&a.sources));
        if let Some(n) = a.line_bytes {
            m.int("line_bytes", n as u64);
        }
        if ab.attack.paced() {
            m.num("attack_rate", a.rate);
        }
    }
    m.int("bystanders", o.cfg.bystanders as u64).text(
        "bystanders_chat_in",
        if o.cfg.abuse.as_ref().is_some_and(|a| a.bystanders_room) {
            "a room of their own"
        } else {
            "lobby"
        },
    );
    if ab.begun_at == 0 {
        m.text("attack_run", "did not begin: setup did not finish");
        return m;
    }
    let started = ab.bystanders_latency.from;
    let span = if ab.ended_at > 0 && started != u64::MAX {
        ab.ended_at.saturating_sub(started)
    } else {
        0
    };
    if ab.attack.has_prelude() && started != u64::MAX {
        m.ns("prelude_time", started.saturating_sub(ab.begun_at));
    }
    m.ns("attack_time", span);
    let c = &ab.c;
    let mut conns = Obj::new();
    // Named apart from the setup section's counts, so that every key of the report
    // stays unique.
    conns
        .int("connects_started", c.connects)
        .int("reconnects", c.reconnects)
        .int("connections_established", c.established)
        .int("connections_admitted", c.admitted)
        .int("connections_queued", c.queued)
        .int("refused_before_hello", c.refused)
        .int("dropped_after_hello", c.dropped)
        .int("open_at_end", c.open_at_end)
        .int("attackers_named", c.named);
    m.obj("attack_connections", conns);
    m.int("attack_lines_sent", c.lines_sent)
        .int("attack_bytes_sent", c.bytes_sent)
        .int("attack_lines_received", c.lines_received)
        .int("attack_bytes_received", c.bytes_received);
    if c.bytes_sent > 0 {
        m.num(
            "bytes_received_per_byte_sent",
            c.bytes_received as f64 / c.bytes_sent as f64,
        );
    }
    m.num("attack_lines_per_s", per_s(c.lines_sent, span));
    if ab.attack.paced() {
        m.int("paced_lines_not_taken", c.not_taken);
    }
    if ab.attack == Attack::NonReaders {
        m.int("chatter_lines", c.chatter_lines);
    }
    if matches!(ab.attack, Attack::Posts | Attack::Rooms | Attack::BigList) {
        m.int("posts_accepted", c.posted);
    }
    m.obj("attack_errors_by_code", counts(&c.errors))
        .obj("attack_byes_by_reason", counts(&c.byes));
    let mut closes = Obj::new();
    for (reason, k) in &c.closes {
        closes.int(reason, *k);
    }
    m.obj("attack_closes_by_reason", closes);
    if ab.attack == Attack::BigList {
        let l = &ab.listings;
        m.int("listings_requested", l.sent)
            .int("listings", l.done)
            .int("listing_posts_max", l.posts_max)
            .int("listing_posts_last", l.posts_last)
            .text(
                "listing_time_from",
                "/list written to its last POST line read",
            )
            .lat("listing_time", LatSummary::of(&l.times))
            .int("victim_dropped", l.victim_drops);
    }
    m.int("attack_lines_to_bystanders", c.foreign_lines);
    bystanders::latency_into(
        &mut m,
        &o.stats,
        &ab.bystanders_latency,
        "attack",
        if ab.attack.has_prelude() {
            "from the end of the planting until the attack ended"
        } else {
            "from the attack's first connect until it ended"
        },
    );
    // The attack without its connect storm: `steady` counts from when every attacker
    // was connected (and named, where it names itself).
    bystanders::disturbed_into(&mut m, &o.stats, &ab.bystanders_steady, "steady");
    if ab.bystanders_steady.from != u64::MAX {
        m.num(
            "steady_from_attack_start_s",
            ab.bystanders_steady.from.saturating_sub(started) as f64 / 1e9,
        );
    }
    if let Some(w) = &ab.witness {
        m.obj("witness", witness(o, ab, w));
    }
    if let Some(cores) = bystanders::server_cores(&ab.baseline_usage) {
        m.num("baseline_server_cpu_cores", cores);
    }
    m.obj("server_memory", memory(o, ab));
    m
}

/// The witness's latency in the baseline window, over the attack and once it was in
/// place, each from its own thread's samples, and the two ratios to the baseline.
fn witness(o: &Outcome, ab: &AbuseRun, w: &WitnessReport) -> Obj {
    let mut m = Obj::new();
    let rate = o.cfg.abuse.as_ref().map_or(0.0, |a| a.witness_rate);
    // Every key of the report is unique, hence the prefix inside the section too.
    m.num("witness_rate", rate)
        .int("witness_lines_sent", w.sent)
        .int("witness_lines_missing", w.missing);
    // A witness elsewhere is a control: what the attack costs the machine.
    let control = o.cfg.abuse.as_ref().and_then(|a| a.witness_addr);
    if let Some(addr) = control {
        m.text("witness_control_server", addr.to_string());
    }
    if let Some(e) = &w.error {
        m.text("witness_error", e.as_str());
    }
    let windows = [
        ("baseline", o.stats.win_start, o.stats.win_end),
        (
            "attack",
            ab.bystanders_latency.from,
            ab.bystanders_latency.until,
        ),
        (
            "steady",
            ab.bystanders_steady.from,
            ab.bystanders_steady.until,
        ),
    ];
    let mut base_p99 = 0;
    for (word, from, until) in windows {
        let mut h = new_hist();
        for &(sched, latency) in &w.samples {
            if sched >= from && sched < until {
                h.saturating_record(latency);
            }
        }
        let l = LatSummary::of(&h);
        m.lat(&format!("witness_latency_{word}"), l);
        if word == "baseline" {
            base_p99 = l.p99;
        } else if base_p99 > 0 && l.count > 0 {
            m.num(
                &format!("witness_p99_{word}_over_baseline"),
                l.p99 as f64 / base_p99 as f64,
            );
        }
    }
    m
}

/// A count per key.
fn counts(map: &std::collections::BTreeMap<String, u64>) -> Obj {
    let mut o = Obj::new();
    for (k, v) in map {
        o.int(k, *v);
    }
    o
}

/// The server's resident memory before the run, when the attack began, at its peak
/// during it and when it ended, with `--server-pid`.
fn memory(o: &Outcome, ab: &AbuseRun) -> Obj {
    let mut mem = Obj::new();
    let r = &ab.rss;
    let readings = [
        ("rss_before_run_bytes", o.server_rss.before),
        ("rss_before_attack_bytes", r.before),
        ("rss_peak_during_attack_bytes", r.peak),
        ("rss_at_attack_end_bytes", r.end),
    ];
    for (key, v) in readings {
        if let Some(v) = v {
            mem.int(key, v);
        }
    }
    if let (Some(before), Some(peak)) = (r.before, r.peak) {
        mem.num(
            "rss_growth_during_attack_mb",
            (peak as f64 - before as f64) / 1e6,
        );
    }
    if mem.0.is_empty() {
        mem.text("rss", "unknown: give --server-pid");
    }
    mem
}

/// Abuse problems: the victim dropped (a client that reads must never be, whatever the
/// size of a reply), and an attack that never got a connection through. A short attack
/// is only noted.
pub fn check(ab: &AbuseRun, f: &mut Findings) {
    if ab.begun_at == 0 {
        return;
    }
    f.flag(
        "victim_dropped",
        ab.listings.victim_drops,
        "times the big-list victim, which reads everything, was disconnected",
    );
    if ab.c.established == 0 && ab.attackers() > 0 {
        f.problem(
            "attack_not_made",
            "no attacker's connection was established",
        );
    }
    if let Some(w) = &ab.witness {
        if let Some(e) = &w.error {
            f.problem("witness_failed", e.as_str());
        }
        f.flag(
            "witness_lines_missing",
            w.missing,
            "of the witness's lines never reached it",
        );
    }
    bystanders::check_samples(
        &ab.bystanders_latency,
        "attack",
        "a longer --attack-duration or a higher --rate give more",
        f,
    );
}
