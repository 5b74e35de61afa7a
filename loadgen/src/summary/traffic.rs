//! The `traffic` and `checks` sections: what was sent and delivered, how fast, with
//! what latency, and the exactly-once, in-order tally that decides correctness.

use crate::args::{Config, Mode};
use crate::clock::ns;
use crate::conn::State;
use crate::driver::Outcome;
use crate::report::{Obj, Val};
use crate::scenario::NONE;
use crate::stats::{LatSummary, Stats};

use super::share::SenderShare;
use super::{per_s, Findings};

/// The end-of-run tally of every receiver against what its senders sent.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Messages in open gaps: a later message from the same sender came instead.
    pub lost: u64,
    /// Messages after the last one received (late or lost).
    pub not_arrived: u64,
    /// Messages a disconnected receiver never got.
    pub undelivered_closed: u64,
    /// Messages received that were never sent.
    pub phantom: u64,
    /// Gaps a receiver could not remember.
    pub forgotten: u64,
}

impl Delivery {
    /// Tallies every reading member of a group against each of its senders.
    pub fn of(o: &Outcome) -> Delivery {
        let mut d = Delivery::default();
        for (i, c) in o.clients.iter().enumerate() {
            if c.role.group == NONE || c.role.stuck {
                continue;
            }
            d.forgotten += c.seq.gaps_forgotten;
            let g = &o.plan.groups[c.role.group as usize];
            for (slot, &snd) in g.senders.iter().enumerate() {
                if snd as usize == i {
                    continue;
                }
                let sent = o.clients[snd as usize].sent;
                if c.state == State::Closed {
                    d.undelivered_closed += c.seq.missing(slot, sent);
                } else {
                    d.lost += c.seq.skipped(slot, sent);
                    d.not_arrived += c.seq.not_arrived(slot, sent);
                    d.phantom += c.seq.phantom(slot, sent);
                }
            }
        }
        d
    }
}

/// The measured window's length in nanoseconds.
pub fn window(s: &Stats) -> u64 {
    s.win_end.saturating_sub(s.win_start)
}

/// How the senders were paced, in words.
fn mode_text(cfg: &Config) -> String {
    match cfg.mode {
        Mode::Rate(r) => format!("open loop, {r} msg/s in total"),
        Mode::Max if cfg.window > 0 => format!(
            "closed loop (--max), as fast as TCP takes, at most {} in flight per sender",
            cfg.window
        ),
        Mode::Max => "closed loop (--max), as fast as TCP takes".to_string(),
    }
}

/// The `traffic` section; a note when a sender was starved.
pub fn section(o: &Outcome, f: &mut Findings) -> Obj {
    let cfg = &o.cfg;
    let s = &o.stats;
    let window = window(s);
    let mut t = Obj::new();
    t.text("mode", mode_text(cfg))
        .int("senders", o.plan.schedule.len() as u64)
        .int("receivers", o.plan.readers() as u64)
        .int("groups", o.plan.groups.len() as u64)
        .int("size_bytes", cfg.size as u64)
        .ns("warmup", ns(cfg.warmup))
        .ns("window", window)
        .int("messages", s.sent_window)
        .num("messages_per_s", per_s(s.sent_window, window));
    if let Some(share) = SenderShare::of(o) {
        t.int("slowest_sender_messages", share.min)
            .int("fastest_sender_messages", share.max);
        if share.starved() {
            f.note(share.starved_note());
        }
    }
    t.int("deliveries", s.delivered_window)
        .num("deliveries_per_s", per_s(s.delivered_window, window))
        .num("mb_in_per_s", per_s(s.bytes_in_window, window) / 1e6)
        .int("messages_total", s.sent)
        .int("deliveries_total", s.delivered);
    latency_into(&mut t, cfg.mode, s);
    t.put("drain_complete", Val::Bool(o.drain.complete))
        .ns("drain_time", o.drain.span.1.saturating_sub(o.drain.span.0));
    t
}

/// The latency figures, and what they are measured from, which depends on the pacing.
fn latency_into(t: &mut Obj, mode: Mode, s: &Stats) {
    match mode {
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
}

/// The `checks` section: every count of the exactly-once, in-order check.
pub fn checks_section(s: &Stats, d: &Delivery) -> Obj {
    let mut chk = Obj::new();
    chk.int("lost", d.lost)
        .int("not_arrived", d.not_arrived)
        .int("duplicates", s.duplicates)
        .int("reordered", s.reordered)
        .int("gap_events", s.gap_events)
        .int("garbled", s.garbled)
        .int("misrouted", s.misrouted)
        .int("phantom", d.phantom)
        .int("undelivered_to_disconnected", d.undelivered_closed)
        .int("gaps_forgotten", d.forgotten)
        .int("send_backlog_skipped", s.backlog_skipped);
    chk
}

/// Traffic problems: anything but exactly once and in order, and a window without a
/// delivery.
pub fn check(s: &Stats, d: &Delivery, f: &mut Findings) {
    f.flag(
        "lost",
        d.lost,
        "messages skipped: a later message from the same sender arrived instead",
    );
    f.flag(
        "not_arrived",
        d.not_arrived,
        "messages had not arrived when the drain ended (late or lost)",
    );
    f.flag("duplicates", s.duplicates, "messages arrived twice");
    f.flag("reordered", s.reordered, "messages arrived out of order");
    f.flag(
        "garbled",
        s.garbled,
        "message lines did not carry our payload",
    );
    f.flag(
        "misrouted",
        s.misrouted,
        "messages reached a client they were not for",
    );
    f.flag(
        "phantom",
        d.phantom,
        "messages arrived that were never sent",
    );
    f.flag(
        "backlog",
        s.backlog_skipped,
        "open-loop messages skipped: the server did not take them (sender backlog full)",
    );
    if s.delivered_window == 0 {
        f.problem(
            "nothing_delivered",
            "no message was delivered in the window",
        );
    }
}
