//! The `resources` section: the CPU the loadgen and the server used over the measured
//! part (login storm: the storm), and the loadgen's memory.

use crate::args::Kind;
use crate::driver::Outcome;
use crate::report::Obj;

use super::Findings;

/// Working share of a core above which the loadgen may be what limits the figures.
const BUSY_CORES: f64 = 0.9;
/// Shortest measured span for which that warning means something.
const BUSY_MIN_SPAN_NS: u64 = 500_000_000;

/// The `resources` section; a note when the loadgen itself may have been the
/// bottleneck.
pub fn section(o: &Outcome, f: &mut Findings) -> Obj {
    let u = &o.usage;
    let wall = u.wall.1.saturating_sub(u.wall.0);
    let mut res = Obj::new();
    res.ns("measured_span", wall);
    if wall > 0 {
        let user = u.user.1.saturating_sub(u.user.0);
        let sys = u.sys.1.saturating_sub(u.sys.0);
        let spin = u.spin.1.saturating_sub(u.spin.0);
        res.num("loadgen_cpu_cores", (user + sys) as f64 / wall as f64)
            .num("loadgen_user_cores", user as f64 / wall as f64)
            .num("loadgen_sys_cores", sys as f64 / wall as f64);
        if !o.cfg.spin.is_zero() {
            res.num("loadgen_spin_cores", spin as f64 / wall as f64);
        }
        // Spinning is CPU that waited, not work: only the rest says whether the loadgen
        // kept up.
        let cores = (user + sys).saturating_sub(spin) as f64 / wall as f64;
        if cores >= BUSY_CORES && wall >= BUSY_MIN_SPAN_NS {
            f.note(format!(
                "the loadgen worked {cores:.2} of a core: it may be the bottleneck, and then the figures describe it rather than the server"
            ));
        }
        if let (Some(a), Some(b)) = u.server {
            res.num("server_cpu_cores", b.saturating_sub(a) as f64 / wall as f64);
        }
        if let (Some(a), Some(b)) = u.server_store {
            res.num(
                "server_store_cpu_cores",
                b.saturating_sub(a) as f64 / wall as f64,
            );
        }
        // Only the login storm makes the hashing threads work.
        if let (Kind::LoginStorm, (Some(a), Some(b))) = (o.cfg.kind, u.server_hash) {
            res.num(
                "server_hash_cpu_cores",
                b.saturating_sub(a) as f64 / wall as f64,
            );
        }
    }
    if let Some(rss) = crate::sys::rss_bytes(std::process::id()) {
        res.int("loadgen_rss_bytes", rss);
    }
    res
}
