//! The `join_storm` section: how long until every client was named.

use crate::driver::Outcome;
use crate::report::Obj;

use super::per_s;

/// When the last client was named, measured from the first connect; `None` unless all
/// of them were.
pub fn time_to_all_named(o: &Outcome) -> Option<u64> {
    let named = o.clients.iter().filter(|c| c.times.named > 0).count();
    let last_named = o.clients.iter().map(|c| c.times.named).max().unwrap_or(0);
    (named == o.clients.len() && last_named > 0).then(|| last_named - o.setup.first_start)
}

/// The `join_storm` section.
pub fn section(o: &Outcome, named: u64) -> Obj {
    let mut j = Obj::new();
    match time_to_all_named(o) {
        Some(span) => {
            j.ns("time_to_all_named", span)
                .num("named_per_s", per_s(named, span));
        }
        None => {
            j.text(
                "time_to_all_named",
                format!("not all named ({named} of {})", o.clients.len()),
            );
        }
    }
    j
}
