//! The `board` and `checks` sections of the board scenario: committed posts per second
//! and the latency of `POSTED` first, then what was posted and heard, and the checks
//! that every post was answered once with ids that only go up.

use crate::args::{Config, Mode};
use crate::board::BoardRun;
use crate::clock::ns;
use crate::conn::State;
use crate::driver::Outcome;
use crate::report::{Obj, Val};
use crate::stats::LatSummary;

use super::share::SenderShare;
use super::traffic::window;
use super::{per_s, Findings};

/// The end-of-run tally of the answers and notices still missing.
#[derive(Debug, Default)]
pub struct Tally {
    /// Posts of open posters that never got their `POSTED`.
    pub missing_posted: u64,
    /// Posts of posters that were disconnected before their `POSTED` came.
    pub unanswered_closed: u64,
    /// Post notices open members never got.
    pub notices_missing: u64,
}

impl Tally {
    /// Tallies every member of every room.
    pub fn of(o: &Outcome, b: &BoardRun) -> Tally {
        let mut t = Tally::default();
        for g in &o.plan.groups {
            let room_answered: u64 = g.members.iter().map(|&m| b.answered[m as usize]).sum();
            for &m in &g.members {
                let m = m as usize;
                if o.clients[m].state == State::Closed {
                    t.unanswered_closed += b.unanswered(m);
                } else {
                    t.missing_posted += b.unanswered(m);
                    t.notices_missing += b.notices_missing(m, room_answered);
                }
            }
        }
        t
    }
}

/// `POSTED` lines received per second in the measured window: the committed posts.
pub fn posted_per_s(o: &Outcome) -> f64 {
    o.board
        .as_ref()
        .map_or(0.0, |b| per_s(b.posted_window, window(&o.stats)))
}

/// How the posters were paced, in words.
fn mode_text(cfg: &Config) -> String {
    match cfg.mode {
        Mode::Rate(r) => format!("open loop, {r} posts/s in total"),
        Mode::Max if cfg.window > 0 => format!(
            "closed loop (--max), at most {} posts awaiting POSTED per poster",
            cfg.window
        ),
        Mode::Max => "closed loop (--max), as fast as TCP takes".to_string(),
    }
}

/// The `board` section; a note when a poster was starved.
pub fn section(o: &Outcome, b: &BoardRun, f: &mut Findings) -> Obj {
    let cfg = &o.cfg;
    let s = &o.stats;
    let window = window(s);
    let mut m = Obj::new();
    m.int("posted", b.posted_window)
        .num("posted_per_s", posted_per_s(o));
    match cfg.mode {
        Mode::Rate(_) => {
            m.text(
                "posted_latency_from",
                "scheduled send time (open loop: no coordinated omission)",
            )
            .lat("posted_latency", LatSummary::of(&s.latency))
            .lat(
                "posted_latency_actual_send",
                LatSummary::of(&s.latency_sent),
            )
            .lat("send_lag", LatSummary::of(&s.send_lag));
        }
        Mode::Max => {
            m.text(
                "posted_latency_from",
                "generation time of the poster's batch (includes queueing in TCP)",
            )
            .lat("posted_latency", LatSummary::of(&s.latency));
        }
    }
    m.text("mode", mode_text(cfg))
        .int("posters", o.plan.schedule.len() as u64)
        .int("rooms", o.plan.groups.len() as u64)
        .int("body_bytes", cfg.size as u64)
        .ns("warmup", ns(cfg.warmup))
        .ns("window", window)
        .int("posts", s.sent_window)
        .num("posts_per_s", per_s(s.sent_window, window));
    if let Some(share) = SenderShare::of(o) {
        m.int("slowest_poster_posts", share.min)
            .int("fastest_poster_posts", share.max);
        if share.starved() {
            f.note(share.starved_note());
        }
    }
    m.int("post_notices", b.notices_window)
        .num("post_notices_per_s", per_s(b.notices_window, window))
        .int("posts_total", s.sent)
        .int("posted_total", b.posted)
        .int("post_notices_total", b.notices)
        .put("drain_complete", Val::Bool(o.drain.complete))
        .ns("drain_time", o.drain.span.1.saturating_sub(o.drain.span.0));
    m
}

/// The `checks` section: every count of the answer and id checks.
pub fn checks_section(o: &Outcome, b: &BoardRun, t: &Tally) -> Obj {
    let mut chk = Obj::new();
    chk.int("missing_posted", t.missing_posted)
        .int("unexpected_posted", b.unexpected_posted)
        .int("repeated_ids", b.repeated_ids)
        .int("ids_not_increasing", b.ids_not_increasing)
        .int("notice_ids_not_increasing", b.notice_ids_not_increasing)
        .int("ids_out_of_range", b.ids_out_of_range)
        .int("notices_missing", t.notices_missing)
        .int("misrouted", b.misrouted)
        .int("garbled", b.garbled)
        .int("unanswered_to_disconnected", t.unanswered_closed)
        .int("send_backlog_skipped", o.stats.backlog_skipped);
    chk
}

/// Board problems: a post answered never or twice, an id repeated, falling or beyond
/// the posts made, a notice lost or misrouted, and a window without an answer.
pub fn check(o: &Outcome, b: &BoardRun, t: &Tally, f: &mut Findings) {
    f.flag(
        "missing_posted",
        t.missing_posted,
        "posts had no POSTED when the drain ended (late or lost)",
    );
    f.flag(
        "unexpected_posted",
        b.unexpected_posted,
        "POSTED lines came with no post awaiting one (a post answered twice?)",
    );
    f.flag(
        "repeated_ids",
        b.repeated_ids,
        "POSTED ids were handed out twice in their room",
    );
    f.flag(
        "ids_not_increasing",
        b.ids_not_increasing,
        "POSTED ids were not above the poster's previous one",
    );
    f.flag(
        "notice_ids_not_increasing",
        b.notice_ids_not_increasing,
        "post notices came with an id not above the previous one the member saw",
    );
    f.flag(
        "ids_out_of_range",
        b.ids_out_of_range,
        "post ids were beyond the number of posts made to the room",
    );
    f.flag(
        "notices_missing",
        t.notices_missing,
        "post notices had not reached the other members when the drain ended",
    );
    f.flag(
        "misrouted",
        b.misrouted,
        "POSTED or POST lines named another room, or a notice an unexpected author",
    );
    f.flag("garbled", b.garbled, "POSTED or POST ids were not numbers");
    f.flag(
        "backlog",
        o.stats.backlog_skipped,
        "open-loop posts skipped: the server did not take them (poster backlog full)",
    );
    if b.posted_window == 0 {
        f.problem("nothing_posted", "no POSTED was received in the window");
    }
}
