//! Command line: one subcommand per scenario, shared options flattened into each, and
//! the resolved [`Config`] the rest of the program works from.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::wire::MIN_SIZE;

/// parley-loadgen: drives many simulated clients against a parley server over real
/// loopback TCP and checks that every message arrives exactly once and in order.
#[derive(Parser, Debug)]
#[command(name = "parley-loadgen", version, about, long_about = None)]
pub struct Cli {
    /// The scenario to run.
    #[command(subcommand)]
    pub scenario: ScenarioCmd,
}

/// The scenarios.
#[derive(Subcommand, Debug)]
pub enum ScenarioCmd {
    /// One room of --clients members; --senders of them talk, every member checks
    /// every message.
    Fanout {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: Traffic,
    },
    /// Many rooms of --room-size members chatting; --senders counts per room (default:
    /// every member).
    Rooms {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: Traffic,
        /// Members of each room.
        #[arg(long, default_value_t = 10)]
        room_size: usize,
    },
    /// Pairs of users exchanging private messages; --senders: how many clients talk
    /// (default: all).
    Private {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: Traffic,
    },
    /// Connect, name and land in lobby as fast as possible; reports the time until all
    /// are named.
    JoinStorm {
        #[command(flatten)]
        common: Common,
    },
    /// Hold --clients named connections for --duration; with --server-pid, reports the
    /// server's memory per connection.
    Idle {
        #[command(flatten)]
        common: Common,
    },
    /// More clients than the server's --max-clients: frees slots one --batch at a time
    /// and checks admission order, position updates and waits.
    Queue {
        #[command(flatten)]
        common: Common,
        /// Slots freed at once; order is checked exactly with 1, by batch above it.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Slots freed per second (default: the next batch as soon as the last is in).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Fanout in which a fraction of the members never read: they must be dropped
    /// (sendq) while the others lose nothing.
    Slow {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: Traffic,
        /// Fraction of the members that stop reading once traffic starts.
        #[arg(long, default_value_t = 0.1)]
        stuck: f64,
    },
}

/// Options of every scenario.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:7777")]
    pub addr: SocketAddr,
    /// Simulated clients.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Measured time (idle: how long the connections are held). Units: ms, s, m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Print the final report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Loopback source addresses to spread connections over, as a range or a list
    /// (127.0.0.1-127.0.0.4 or 127.0.0.1,127.0.0.2); default: as many as --clients
    /// needs for the ephemeral port range.
    #[arg(long, value_parser = parse_sources)]
    pub source: Option<Sources>,
    /// Clients being set up (connecting, naming, joining) at the same time. Above the
    /// server's listen backlog (parley asks for 4096, capped by net.core.somaxconn) SYNs
    /// are dropped and retried a second later, and handshakes completed by SYN cookies
    /// may never reach the server.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Bound on the setup (and on the queue scenario's admissions).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Prefix of user and room names (default: lg<pid>_, so runs never collide).
    #[arg(long)]
    pub prefix: Option<String>,
    /// The server's process id: its memory and CPU are read from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// No live progress line, even on a terminal.
    #[arg(long)]
    pub quiet: bool,
    /// Receive buffer of each client socket in bytes (0: the kernel's autotuning, which
    /// lets megabytes pile up per socket and hides the server's back-pressure).
    #[arg(long, default_value_t = 256 * 1024)]
    pub rcvbuf: usize,
    /// After handling events, keep polling without sleeping for this long before
    /// blocking (0: block at once). On loopback the kernel wakes a sleeping client
    /// inside the server's write, on the server's CPU; a client that is awake costs the
    /// server nothing, as with clients on other machines. Time spent spinning is
    /// reported apart from the work.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub spin: Duration,
}

/// Options of the scenarios that send messages.
#[derive(Args, Debug, Clone)]
pub struct Traffic {
    /// Sending clients (fanout, slow: in total; rooms: per room; private: the first N).
    #[arg(long)]
    pub senders: Option<usize>,
    /// Open loop: messages per second in total, sent at their scheduled times whatever
    /// the server does (default 1000 unless --max).
    #[arg(long, conflicts_with = "max")]
    pub rate: Option<f64>,
    /// Closed loop: every sender sends as fast as TCP takes.
    #[arg(long)]
    pub max: bool,
    /// With --max: most messages one sender has in flight (sent, not yet received by
    /// its average receiver); 0 for none. Without it the kernel's socket buffers (up to
    /// tens of MB each) fill with seconds of backlog, which makes latency meaningless and
    /// the drain endless.
    #[arg(long, default_value_t = 1000)]
    pub window: u64,
    /// Bytes of a sent message line, newline included (the text is one byte less).
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Traffic before the measured window, not measured.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Longest wait after sending stops for messages still on their way.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub drain: Duration,
}

/// A list of loopback source addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources(pub Vec<Ipv4Addr>);

/// Which scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One room, many members.
    Fanout,
    /// Many small rooms.
    Rooms,
    /// Pairs of users, private messages.
    Private,
    /// Connect and name as fast as possible.
    JoinStorm,
    /// Hold connections.
    Idle,
    /// Admission queue.
    Queue,
    /// Some members never read.
    Slow,
}

impl Kind {
    /// The subcommand name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fanout => "fanout",
            Kind::Rooms => "rooms",
            Kind::Private => "private",
            Kind::JoinStorm => "join-storm",
            Kind::Idle => "idle",
            Kind::Queue => "queue",
            Kind::Slow => "slow",
        }
    }

    /// Whether the scenario sends and checks messages.
    pub fn has_traffic(self) -> bool {
        matches!(
            self,
            Kind::Fanout | Kind::Rooms | Kind::Private | Kind::Slow
        )
    }
}

/// How senders pace themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Open loop at this many messages per second in total.
    Rate(f64),
    /// As fast as TCP takes.
    Max,
}

/// Everything a run needs, checked and with defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scenario.
    pub kind: Kind,
    /// Server address.
    pub addr: SocketAddr,
    /// Simulated clients.
    pub clients: usize,
    /// Measured window (idle: hold time).
    pub duration: Duration,
    /// JSON report.
    pub json: bool,
    /// Source addresses, empty for the kernel's choice.
    pub sources: Vec<Ipv4Addr>,
    /// Clients in setup at once.
    pub concurrency: usize,
    /// Bound on setup and admissions.
    pub timeout: Duration,
    /// Name prefix.
    pub prefix: String,
    /// Server pid for /proc readings.
    pub server_pid: Option<u32>,
    /// How long to poll without sleeping after the last event.
    pub spin: Duration,
    /// Show the live progress line (stderr is a terminal and not --quiet).
    pub progress: bool,
    /// SO_RCVBUF of client sockets, 0 for the kernel default.
    pub rcvbuf: usize,
    /// Pacing of senders.
    pub mode: Mode,
    /// Sending clients as given (meaning depends on the scenario).
    pub senders: Option<usize>,
    /// In-flight cap per `--max` sender (0: none).
    pub window: u64,
    /// Sent line size, newline included.
    pub size: usize,
    /// Warmup before the window.
    pub warmup: Duration,
    /// Bound on the drain after sending stops.
    pub drain: Duration,
    /// Room size (rooms).
    pub room_size: usize,
    /// Fraction of non-reading members (slow).
    pub stuck: f64,
    /// Slots freed per step (queue).
    pub batch: usize,
    /// Slots freed per second (queue).
    pub release_rate: Option<f64>,
}

impl Config {
    /// Checks the command line and fills in defaults.
    pub fn from_cli(cli: Cli) -> Result<Config, Error> {
        let (kind, common, traffic, room_size, stuck, batch, release_rate) = match cli.scenario {
            ScenarioCmd::Fanout { common, traffic } => {
                (Kind::Fanout, common, Some(traffic), 0, 0.0, 1, None)
            }
            ScenarioCmd::Rooms {
                common,
                traffic,
                room_size,
            } => (Kind::Rooms, common, Some(traffic), room_size, 0.0, 1, None),
            ScenarioCmd::Private { common, traffic } => {
                (Kind::Private, common, Some(traffic), 0, 0.0, 1, None)
            }
            ScenarioCmd::JoinStorm { common } => (Kind::JoinStorm, common, None, 0, 0.0, 1, None),
            ScenarioCmd::Idle { common } => (Kind::Idle, common, None, 0, 0.0, 1, None),
            ScenarioCmd::Queue {
                common,
                batch,
                rate,
            } => (Kind::Queue, common, None, 0, 0.0, batch, rate),
            ScenarioCmd::Slow {
                common,
                traffic,
                stuck,
            } => (Kind::Slow, common, Some(traffic), 0, stuck, 1, None),
        };
        let usage = |m: String| Err(Error::Usage(m));
        if !common.addr.ip().is_loopback() {
            return Err(Error::NotLoopback(common.addr.ip()));
        }
        if common.clients == 0 {
            return usage("--clients must be at least 1".into());
        }
        if common.clients > u32::MAX as usize / 2 {
            return usage("--clients is too large".into());
        }
        let prefix = match common.prefix {
            Some(p) => p,
            None => format!("lg{:x}_", std::process::id()),
        };
        if prefix.is_empty()
            || prefix.len() > 16
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return usage(
                "--prefix must be 1 to 16 of A-Z a-z 0-9 _ - (names are at most 32)".into(),
            );
        }
        let sources = match common.source {
            Some(Sources(list)) => list,
            None => default_sources(common.addr, common.clients),
        };
        if batch == 0 {
            return usage("--batch must be at least 1".into());
        }
        if let Some(r) = release_rate {
            if !(r.is_finite() && r > 0.0) {
                return usage("--rate must be a positive number".into());
            }
        }
        let traffic = traffic.unwrap_or(Traffic {
            senders: None,
            rate: None,
            max: false,
            window: 0,
            size: 100,
            warmup: Duration::ZERO,
            drain: Duration::ZERO,
        });
        let mode = if traffic.max {
            Mode::Max
        } else {
            let r = traffic.rate.unwrap_or(1000.0);
            if !(r.is_finite() && r > 0.0) {
                return usage("--rate must be a positive number".into());
            }
            Mode::Rate(r)
        };
        if traffic.size < MIN_SIZE {
            return usage(format!("--size must be at least {MIN_SIZE} bytes"));
        }
        if kind == Kind::Rooms && room_size < 2 {
            return usage("--room-size must be at least 2".into());
        }
        if kind == Kind::Slow && !(0.0..1.0).contains(&stuck) {
            return usage("--stuck must be a fraction from 0 up to (not including) 1".into());
        }
        if traffic.senders == Some(0) {
            return usage("--senders must be at least 1".into());
        }
        use std::io::IsTerminal;
        Ok(Config {
            kind,
            addr: common.addr,
            clients: common.clients,
            duration: common.duration,
            json: common.json,
            sources,
            concurrency: common.concurrency.max(1),
            timeout: common.timeout,
            prefix,
            server_pid: common.server_pid,
            spin: common.spin,
            progress: !common.quiet && std::io::stderr().is_terminal(),
            rcvbuf: common.rcvbuf,
            mode,
            senders: traffic.senders,
            size: traffic.size,
            window: traffic.window,
            warmup: traffic.warmup,
            drain: traffic.drain,
            room_size,
            stuck,
            batch,
            release_rate,
        })
    }
}

/// Enough source addresses for `clients` connections: one 127.0.0.x per 20,000, since
/// each source address has its own ~28,000 ephemeral ports towards one server address.
fn default_sources(addr: SocketAddr, clients: usize) -> Vec<Ipv4Addr> {
    let per_source = 20_000;
    match addr.ip() {
        IpAddr::V4(_) if clients > per_source => {
            let n = clients.div_ceil(per_source).min(254) as u8;
            (1..=n).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect()
        }
        _ => Vec::new(),
    }
}

/// Parses durations like `10`, `10s`, `500ms`, `1.5s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like 10s, 500ms, 2m)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s, m or h)")),
    };
    let secs = v * scale;
    if !secs.is_finite() || !(0.0..=86_400.0 * 7.0).contains(&secs) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `--source`: comma-separated IPv4 loopback addresses or ranges `a-b`.
pub fn parse_sources(s: &str) -> Result<Sources, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: Ipv4Addr = a
            .parse()
            .map_err(|_| format!("`{a}` is not an IPv4 address"))?;
        let b: Ipv4Addr = b
            .parse()
            .map_err(|_| format!("`{b}` is not an IPv4 address"))?;
        if !a.is_loopback() || !b.is_loopback() {
            return Err(format!(
                "`{part}`: only loopback (127.x.x.x) sources are allowed"
            ));
        }
        let (lo, hi) = (u32::from(a), u32::from(b));
        if hi < lo || hi - lo >= 4096 {
            return Err(format!(
                "`{part}`: the range must go up and hold at most 4096"
            ));
        }
        out.extend((lo..=hi).map(Ipv4Addr::from));
    }
    if out.is_empty() || out.len() > 4096 {
        return Err("give 1 to 4096 source addresses".into());
    }
    Ok(Sources(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn sources() {
        let s = parse_sources("127.0.0.1-127.0.0.4").unwrap();
        assert_eq!(s.0.len(), 4);
        assert_eq!(s.0[3], Ipv4Addr::new(127, 0, 0, 4));
        let s = parse_sources("127.0.0.1,127.0.0.9").unwrap();
        assert_eq!(
            s.0,
            vec![Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 9)]
        );
        assert!(parse_sources("10.0.0.1").is_err());
        assert!(parse_sources("127.0.0.4-127.0.0.1").is_err());
    }

    #[test]
    fn default_sources_cover_the_clients() {
        let addr: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        assert!(default_sources(addr, 1000).is_empty());
        assert_eq!(default_sources(addr, 100_000).len(), 5);
    }

    #[test]
    fn cli_parses_a_scenario() {
        let cli = Cli::try_parse_from([
            "parley-loadgen",
            "fanout",
            "--clients",
            "50",
            "--senders",
            "5",
            "--rate",
            "200",
            "--duration",
            "1s",
            "--json",
        ])
        .unwrap();
        let cfg = Config::from_cli(cli).unwrap();
        assert_eq!(cfg.kind, Kind::Fanout);
        assert_eq!(cfg.clients, 50);
        assert_eq!(cfg.mode, Mode::Rate(200.0));
        assert!(cfg.json);
        assert!(Cli::try_parse_from(["parley-loadgen", "fanout", "--rate", "5", "--max"]).is_err());
        let cli =
            Cli::try_parse_from(["parley-loadgen", "idle", "--addr", "10.1.2.3:7777"]).unwrap();
        assert!(matches!(Config::from_cli(cli), Err(Error::NotLoopback(_))));
    }
}
