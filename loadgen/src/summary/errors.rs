//! The sections on what the server refused and whom it disconnected: `ERR` lines by
//! code and closed connections by reason.

use crate::args::Protocol;
use crate::report::Obj;
use crate::stats::Stats;

use super::Findings;

/// The `errors_by_code` section.
pub fn by_code(s: &Stats) -> Obj {
    let mut errs = Obj::new();
    for (code, k) in &s.errors {
        errs.int(code, *k);
    }
    errs
}

/// The `disconnects_by_reason` section.
pub fn disconnects_by_reason(s: &Stats) -> Obj {
    let mut disc = Obj::new();
    for (reason, k) in &s.disconnects {
        disc.int(reason, *k);
    }
    disc
}

/// Any `ERR` line (or IRC error numeric) but the `excused` ones (refusals the run was
/// told to allow), and any disconnect the scenario did not ask for, is a problem.
pub fn check(s: &Stats, excused: u64, protocol: Protocol, f: &mut Findings) {
    let total_errs: u64 = s.errors.values().sum();
    if total_errs > excused {
        let lines = match protocol {
            Protocol::Parley => "ERR lines",
            Protocol::Irc => "IRC error replies",
            Protocol::Mixed => "ERR lines and IRC error replies",
        };
        let text = if excused > 0 {
            format!("{total_errs} {lines} from the server, {excused} of them allowed")
        } else {
            format!("{total_errs} {lines} from the server")
        };
        f.problem("errors", text);
    }
    if s.unexpected_disconnects > 0 {
        f.problem(
            "disconnects",
            format!(
                "{} connections closed that the scenario did not close",
                s.unexpected_disconnects
            ),
        );
    }
}
