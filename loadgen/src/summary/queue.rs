//! The `queue` section: admissions from the server's queue, their order, and the
//! position updates the waiting clients got.

use crate::driver::Outcome;
use crate::queue::QueueRun;
use crate::report::Obj;
use crate::stats::{LatSummary, Stats};

use super::{per_s, Findings};

/// The `queue` section.
pub fn section(q: &QueueRun, s: &Stats) -> Obj {
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
    m
}

/// Queue problems: admissions out of order or early, wrong positions or updates,
/// nobody queued, and queued clients never let in.
pub fn check(o: &Outcome, q: &QueueRun, f: &mut Findings) {
    f.flag("order", q.order_violations, "admissions out of queue order");
    f.flag(
        "early",
        q.early_admissions,
        "admissions before a slot was freed",
    );
    f.flag(
        "first_positions",
        q.bad_first_positions,
        "first QUEUED positions were not exactly 1..N in arrival order",
    );
    f.flag(
        "updates_too_soon",
        q.too_soon,
        "position updates came within a second of the previous",
    );
    f.flag(
        "updates_unchanged",
        q.unchanged,
        "position updates repeated an unchanged position",
    );
    f.flag(
        "updates_increased",
        q.increased,
        "position updates moved a client back",
    );
    if q.order.is_empty() {
        f.problem(
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
        f.problem(
            "still_waiting",
            format!("{waiting} queued clients were never admitted and named"),
        );
    }
}
