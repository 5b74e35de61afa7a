//! The `idle` section: how long the connections were held and what they cost the
//! server in memory.

use crate::conn::State;
use crate::driver::Outcome;
use crate::report::Obj;

/// The server's resident memory per connection set up: what setup added over the
/// reading before any client, spread over the ready clients.
pub fn bytes_per_connection(o: &Outcome, ready: u64) -> Option<f64> {
    let rss = &o.server_rss;
    let (before, after) = (rss.before?, rss.after_setup?);
    Some(((after as f64 - before as f64) / ready.max(1) as f64).round())
}

/// The `idle` section.
pub fn section(o: &Outcome, ready: u64) -> Obj {
    let mut m = Obj::new();
    if o.setup.done_at > 0 {
        m.ns("held", o.usage.wall.1.saturating_sub(o.usage.wall.0));
    }
    let open_at_end = o.clients.iter().filter(|c| c.state == State::Ready).count() as u64;
    m.int("open_at_end", open_at_end);
    let rss = &o.server_rss;
    match (rss.before, rss.after_setup, bytes_per_connection(o, ready)) {
        (Some(before), Some(after), Some(per)) => {
            m.int("server_rss_before", before)
                .int("server_rss_after_setup", after);
            if let Some(e) = rss.end {
                m.int("server_rss_end", e);
            }
            m.num("server_bytes_per_connection", per);
        }
        _ if o.cfg.server_pid.is_none() => {
            m.text("server_rss", "give --server-pid to measure");
        }
        _ => {
            m.text("server_rss", "not measured: setup did not finish");
        }
    }
    m
}
