//! The `slow` section: what became of the members that never read, and what the
//! readers got meanwhile.

use crate::clock::ns;
use crate::conn::{Reason, State};
use crate::driver::Outcome;
use crate::report::Obj;

use super::traffic::window;
use super::{per_s, Findings};

/// What became of the non-reading members.
#[derive(Debug, Default)]
pub struct StuckFate {
    /// Dropped for `sendq`, as they should be.
    pub sendq: u64,
    /// Dropped for another reason.
    pub other: u64,
    /// Closed without a reason seen.
    pub unknown: u64,
    /// Still connected at the end.
    pub kept: u64,
    /// The last drop, measured from the start of traffic.
    pub last_drop: u64,
}

impl StuckFate {
    /// Sorts the non-reading members of `o` by what happened to them.
    pub fn of(o: &Outcome) -> StuckFate {
        let traffic_start = o.stats.win_start.saturating_sub(ns(o.cfg.warmup));
        let mut f = StuckFate::default();
        for c in o.clients.iter().filter(|c| c.role.stuck) {
            // The LEAVE notice the readers saw is the server's own word; the BYE is
            // best effort (it may not fit in the full socket buffer); a bare end of
            // stream says it was dropped but not why.
            match c.left.map(|l| l.0).or(c.bye) {
                Some(Reason::Sendq) => f.sendq += 1,
                Some(_) => f.other += 1,
                None if c.state == State::Closed => f.unknown += 1,
                None => f.kept += 1,
            }
            if let Some((_, at)) = c.left {
                f.last_drop = f.last_drop.max(at.saturating_sub(traffic_start));
            }
        }
        f
    }
}

/// Deliveries per second each reader got in the window.
pub fn per_reader_rate(o: &Outcome) -> f64 {
    let readers = o.plan.readers() as u64;
    per_s(o.stats.delivered_window, window(&o.stats)) / readers.max(1) as f64
}

/// The `slow` section.
pub fn section(o: &Outcome, fate: &StuckFate) -> Obj {
    let s = &o.stats;
    let readers = o.plan.readers() as u64;
    let mut m = Obj::new();
    m.int("stuck", o.plan.stuck() as u64)
        .int("dropped_sendq", fate.sendq)
        .int("dropped_other_reason", fate.other)
        .int("dropped_reason_unseen", fate.unknown)
        .int("not_dropped", fate.kept)
        .ns("last_drop_after_start", fate.last_drop)
        .int("readers", readers)
        .num(
            "reader_deliveries_per_s",
            per_s(s.delivered_window, window(s)),
        )
        .num("per_reader_deliveries_per_s", per_reader_rate(o));
    m
}

/// Slow problems: a non-reader still connected, or dropped for another reason.
pub fn check(fate: &StuckFate, f: &mut Findings) {
    if fate.kept > 0 {
        f.problem(
            "stuck_not_dropped",
            format!("{} non-reading clients were still connected at the end (more traffic, a longer --duration or a smaller server --max-sendq drops them)", fate.kept),
        );
    }
    if fate.other > 0 {
        f.problem(
            "stuck_wrong_reason",
            format!(
                "{} non-reading clients were dropped for a reason other than sendq",
                fate.other
            ),
        );
    }
}
