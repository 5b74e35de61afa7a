//! The bystanders' part of the scenarios that disturb the server while bystanders chat
//! (login storm, abuse): their latency in the baseline and during the disturbance with
//! the ratio of the p99s, the server's CPU in the baseline, and a note when too few of
//! their messages fell in the disturbance for its p99 to mean something.

use crate::driver::outcome::Usage;
use crate::report::Obj;
use crate::stats::{Disturbed, LatSummary, Stats};

use super::Findings;

/// Fewest bystander deliveries in the disturbance for its p99 to mean something; below
/// it the report says so.
const MIN_SAMPLES: u64 = 100;

/// Adds `bystander_latency_baseline`, `bystander_latency_<word>` and
/// `bystander_p99_<word>_over_baseline`, after a line saying what the disturbance's
/// latency covers (`during`).
pub fn latency_into(m: &mut Obj, s: &Stats, d: &Disturbed, word: &str, during: &str) {
    m.text(
        "bystander_latency_from",
        format!("scheduled send time (open loop); {word}: messages scheduled {during}"),
    )
    .lat("bystander_latency_baseline", LatSummary::of(&s.latency));
    disturbed_into(m, s, d, word);
}

/// Adds `bystander_latency_<word>` and `bystander_p99_<word>_over_baseline` for one
/// more part of the disturbance.
pub fn disturbed_into(m: &mut Obj, s: &Stats, d: &Disturbed, word: &str) {
    let baseline = LatSummary::of(&s.latency);
    let disturbed = LatSummary::of(&d.latency);
    m.lat(&format!("bystander_latency_{word}"), disturbed);
    if baseline.p99 > 0 && disturbed.count > 0 {
        m.num(
            &format!("bystander_p99_{word}_over_baseline"),
            disturbed.p99 as f64 / baseline.p99 as f64,
        );
    }
}

/// CPU cores of the server over the baseline window `u`, with `--server-pid`.
pub fn server_cores(u: &Usage) -> Option<f64> {
    let wall = u.wall.1.saturating_sub(u.wall.0);
    match u.server {
        (Some(a), Some(b)) if wall > 0 => Some(b.saturating_sub(a) as f64 / wall as f64),
        _ => None,
    }
}

/// A note when the disturbance held too few bystander deliveries; `more` says what
/// gives more.
pub fn check_samples(d: &Disturbed, word: &str, more: &str, f: &mut Findings) {
    let samples = d.latency.len();
    if samples < MIN_SAMPLES {
        f.note(format!(
            "the {word} was short: only {samples} bystander deliveries in it, too few for a meaningful p99 ({more})"
        ));
    }
}
