//! The `setup` section: how many clients got how far, and how long it took.

use crate::args::Kind;
use crate::conn::{Client, Reason};
use crate::driver::Outcome;
use crate::report::Obj;
use crate::stats::LatSummary;

use super::Findings;

/// How many clients reached each step of setup.
pub struct SetupCounts {
    /// Clients of the run.
    pub clients: u64,
    /// Connections established.
    pub connected: u64,
    /// TLS handshakes completed (`--tls`).
    pub handshaken: u64,
    /// Clients greeted with `HELLO`.
    pub admitted: u64,
    /// Clients named and in lobby.
    pub named: u64,
    /// Clients fully set up.
    pub ready: u64,
    /// Clients that were queued.
    pub queued: u64,
    /// Clients turned away with `server-full` before they were ready.
    pub refused_full: u64,
}

impl SetupCounts {
    /// Counts the clients of `o` that are set up (an abuse run's attackers are not:
    /// the attack counts them).
    pub fn of(o: &Outcome) -> SetupCounts {
        let set_up = || o.clients.iter().filter(|c| !c.role.attacker);
        let count = |f: &dyn Fn(&Client) -> bool| set_up().filter(|c| f(c)).count() as u64;
        SetupCounts {
            clients: set_up().count() as u64,
            connected: count(&|c| c.times.connected > 0),
            handshaken: count(&|c| c.times.handshake > 0),
            admitted: count(&|c| c.times.hello > 0),
            named: count(&|c| c.times.named > 0),
            ready: count(&|c| c.times.ready > 0),
            queued: count(&|c| c.queue_pos > 0),
            refused_full: count(&|c| c.times.ready == 0 && c.bye == Some(Reason::ServerFull)),
        }
    }
}

/// The `setup` section.
pub fn section(o: &Outcome, n: &SetupCounts) -> Obj {
    let cfg = &o.cfg;
    let s = &o.stats;
    let mut setup = Obj::new();
    setup
        .int("clients", n.clients)
        .int("connected", n.connected);
    if cfg.tls.is_some() {
        setup.int("handshakes", n.handshaken);
    }
    if cfg.kind == Kind::Queue {
        setup
            .int("queued", n.queued)
            .int("server_full", n.refused_full);
    }
    setup
        .int("admitted", n.admitted)
        .int("named", n.named)
        .int("ready", n.ready);
    setup
        .text("sources", sources_text(&cfg.sources))
        .int("concurrency", cfg.concurrency as u64);
    let times = &o.setup;
    if times.last_ready_at > 0 {
        setup.ns("time_to_all_ready", times.last_ready_at - times.first_start);
    }
    if times.done_at > 0 {
        setup.ns("setup_time", times.done_at - times.first_start);
    }
    setup.lat("connect_time", LatSummary::of(&s.connect));
    if cfg.tls.is_some() {
        // From connect() to the handshake completed: the TCP connect included.
        setup.lat("handshake_time", LatSummary::of(&s.handshake));
    }
    setup
        .lat("admission_time", LatSummary::of(&s.admission))
        .lat("named_time", LatSummary::of(&s.named))
        .lat("ready_time", LatSummary::of(&s.ready));
    setup
}

/// The source addresses as a short text: one, a range with its count, or the kernel's.
pub fn sources_text(sources: &[std::net::Ipv4Addr]) -> String {
    match sources {
        [] => "kernel's choice".to_string(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}-{last} ({})", sources.len()),
    }
}

/// Setup problems: it timed out, or clients never got ready (in the queue scenario,
/// those the server turned away as full are expected).
pub fn check(o: &Outcome, n: &SetupCounts, f: &mut Findings) {
    if o.setup.timed_out {
        f.problem(
            "setup",
            format!("setup did not finish within {:?}", o.cfg.timeout),
        );
    }
    let expected_away = if o.cfg.kind == Kind::Queue {
        n.refused_full
    } else {
        0
    };
    let not_ready = n.clients - n.ready - expected_away;
    if not_ready > 0 {
        f.problem("not_ready", format!("{not_ready} clients never got ready"));
    }
}
