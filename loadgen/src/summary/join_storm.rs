//! The `join_storm` section: how long until every client was named, and with `--tls`
//! how long until every client's handshake had completed: the handshake rate.

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

/// When the last TLS handshake completed, measured from the first connect; `None`
/// unless every client's did.
pub fn time_to_all_handshakes(o: &Outcome) -> Option<u64> {
    let done = o.clients.iter().filter(|c| c.times.handshake > 0).count();
    let last = o
        .clients
        .iter()
        .map(|c| c.times.handshake)
        .max()
        .unwrap_or(0);
    (done == o.clients.len() && last > 0).then(|| last.saturating_sub(o.setup.first_start))
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
    if o.cfg.tls.is_some() {
        let clients = o.clients.len() as u64;
        match time_to_all_handshakes(o) {
            Some(span) => {
                j.ns("time_to_all_handshakes", span)
                    .num("handshakes_per_s", per_s(clients, span));
            }
            None => {
                let done = o.clients.iter().filter(|c| c.times.handshake > 0).count();
                j.text(
                    "time_to_all_handshakes",
                    format!("not all completed ({done} of {clients})"),
                );
            }
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Config};
    use crate::scenario::Plan;

    fn outcome(args: &[&str]) -> Outcome {
        let mut v = vec!["parley-loadgen", "join-storm", "--clients", "4"];
        v.extend_from_slice(args);
        let cfg = Config::from_cli(Cli::try_parse_from(v).unwrap()).unwrap();
        let plan = Plan::build(&cfg).unwrap();
        let mut o = Outcome::before_start(cfg, plan);
        o.setup.first_start = 1_000;
        for (k, c) in o.clients.iter_mut().enumerate() {
            c.times.handshake = 1_000 + 100_000_000 * (k as u64 + 1);
            c.times.named = c.times.handshake + 1_000_000;
        }
        o
    }

    #[test]
    fn handshakes_per_second_only_with_tls() {
        let json = |o: &Outcome| crate::report::to_json(&section(o, 4));
        let tls = outcome(&["--tls", "--ca", "ca.pem"]);
        // Four handshakes, the last 0.4 s after the first connect.
        assert_eq!(time_to_all_handshakes(&tls), Some(400_000_000));
        let text = json(&tls);
        assert!(text.contains(r#""handshakes_per_s":10"#), "{text}");
        let plain = outcome(&[]);
        assert!(!json(&plain).contains("handshake"), "{}", json(&plain));
        let mut partial = outcome(&["--tls", "--ca", "ca.pem"]);
        partial.clients[2].times.handshake = 0;
        assert_eq!(time_to_all_handshakes(&partial), None);
        assert!(json(&partial).contains("not all completed (3 of 4)"));
    }
}
