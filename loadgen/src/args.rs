//! Command line: one subcommand per scenario, shared options flattened into each, and
//! the resolved [`Config`] the rest of the program works from; beside the scenarios,
//! `make-cert`, which makes a certificate for `--tls` runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rustls::pki_types::ServerName;

use crate::abuse::Attack;
use crate::error::Error;
use crate::irc;
use crate::scenario;
use crate::wire::MIN_SIZE;

/// parley-loadgen: drives many simulated clients against a parley server over real
/// loopback TCP (or TLS) and checks that every message arrives exactly once and in
/// order.
#[derive(Parser, Debug)]
#[command(name = "parley-loadgen", version, about, long_about = None)]
pub struct Cli {
    /// The scenario to run, or make-cert.
    #[command(subcommand)]
    pub command: Command,
}

/// What the command line asks for: a scenario, or a certificate.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A scenario (its subcommands are listed at the top level). Boxed: its options
    /// are many times make-cert's.
    #[command(flatten)]
    Scenario(Box<ScenarioCmd>),
    /// Write a fresh CA (DIR/ca.pem, for --ca) and an ECDSA P-256 server certificate it
    /// signed (DIR/cert.pem and DIR/key.pem, for the server's --tls-cert and
    /// --tls-key).
    MakeCert(MakeCertArgs),
}

/// Options of `make-cert`.
#[derive(Args, Debug, Clone)]
pub struct MakeCertArgs {
    /// Directory to write the files to (made if missing; files there are replaced).
    pub dir: PathBuf,
    /// A name the certificate is for: a DNS name, or an IP address. Repeat for more;
    /// the first is also its common name.
    #[arg(long = "name", value_name = "NAME", default_value = "localhost")]
    pub names: Vec<String>,
}

/// The scenarios, each with only the options it uses.
#[derive(Subcommand, Debug)]
pub enum ScenarioCmd {
    /// One room of --clients members; --senders of them talk, every member checks
    /// every message.
    Fanout(FanoutArgs),
    /// Many rooms of --room-size members chatting; --senders counts per room (default:
    /// every member).
    Rooms(RoomsArgs),
    /// Pairs of users exchanging private messages; --senders: how many clients talk
    /// (default: all).
    Private(PrivateArgs),
    /// Connect, name and land in lobby as fast as possible; reports the time until all
    /// are named.
    JoinStorm(JoinStormArgs),
    /// Hold --clients named connections for --duration; with --server-pid, reports the
    /// server's memory per connection.
    Idle(IdleArgs),
    /// More clients than the server's --max-clients: frees slots one --batch at a time
    /// and checks admission order, position updates and waits.
    // The queue scenario's admissions are bounded by --timeout too.
    #[command(mut_arg("timeout", |a| a.help(
        "Bound on the setup, and on the admissions of the queued clients"
    )))]
    Queue(QueueArgs),
    /// Fanout in which a fraction of the members never read: they must be dropped
    /// (sendq) while the others lose nothing.
    Slow(SlowArgs),
    /// Posters spread over --rooms rooms post to their room's board: measures the time
    /// from each post to its POSTED and the committed posts per second, and checks that
    /// every post is answered once with ids that only go up.
    #[command(
        mut_arg("rate", |a| a.help(
            "Open loop: posts per second in total, sent at their scheduled times whatever the server does (default 1000 unless --max)"
        )),
        mut_arg("max", |a| a.help(
            "Closed loop: every poster posts as fast as its --window allows"
        )),
        mut_arg("window", |a| a.default_value("16").help(
            "With --max: most posts one poster has awaiting their POSTED; 0 for none"
        )),
        mut_arg("size", |a| a.help("Bytes of each post's body")),
        mut_arg("drain", |a| a.help(
            "Longest wait after posting stops for the POSTED lines and post notices still on their way"
        )),
    )]
    Board(BoardArgs),
    /// Accounts registered in setup all log in at once while bystanders chat: measures
    /// logins per second against the hashing workers' rate, and the bystanders' latency
    /// during the storm against their latency without it.
    #[command(
        mut_arg("clients", |a| a.help(
            "Accounts: registered during setup, then all logging in at once"
        )),
        mut_arg("timeout", |a| a.help(
            "Bound on the setup (registrations included), and on the storm"
        )),
        mut_arg("concurrency", |a| a.help(
            "Clients being set up at the same time (registrations: at most twice --hash-workers), and storm connections not yet greeted with HELLO"
        )),
    )]
    LoginStorm(LoginStormArgs),
    /// One attack from the table of abuse the server must withstand, run while
    /// bystanders chat in lobby: the attack's own counters, the bystanders' latency
    /// without and during it, and the server's memory.
    #[command(
        mut_arg("clients", |a| a.long("attackers").help(
            "Attacking connections (default: the attack's own, see --attack)"
        )),
        mut_arg("source", |a| a.help(
            "Source addresses of the bystanders and the attack's helper, as a range or a list (default: 127.0.0.1)"
        )),
    )]
    Abuse(AbuseArgs),
}

/// Options of `fanout`.
#[derive(Args, Debug, Clone)]
pub struct FanoutArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    traffic: Traffic,
    #[command(flatten)]
    proto: ProtocolOptions,
    /// Members that send (default: 10, at most all but one).
    #[arg(long)]
    senders: Option<usize>,
}

/// Options of `rooms`.
#[derive(Args, Debug, Clone)]
pub struct RoomsArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    traffic: Traffic,
    /// Members of each room that send (default: all).
    #[arg(long)]
    senders: Option<usize>,
    /// Members of each room.
    #[arg(long, default_value_t = 10)]
    room_size: usize,
}

/// Options of `private`.
#[derive(Args, Debug, Clone)]
pub struct PrivateArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    traffic: Traffic,
    /// Clients that send: the first N (default: all).
    #[arg(long)]
    senders: Option<usize>,
}

/// Options of `join-storm`.
#[derive(Args, Debug, Clone)]
pub struct JoinStormArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    proto: ProtocolOptions,
}

/// Options of `idle`.
#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    proto: ProtocolOptions,
    /// How long the connections are held once all are set up. Units: ms, s, m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
}

/// Options of `queue`.
#[derive(Args, Debug, Clone)]
pub struct QueueArgs {
    #[command(flatten)]
    common: Common,
    /// Slots freed at once; order is checked exactly with 1, by batch above it.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Slots freed per second (default: the next batch as soon as the last is in).
    #[arg(long)]
    rate: Option<f64>,
}

/// Options of `slow`.
#[derive(Args, Debug, Clone)]
pub struct SlowArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    traffic: Traffic,
    /// Members that send, none of them a non-reader (default: 10).
    #[arg(long)]
    senders: Option<usize>,
    /// Fraction of the members that stop reading once traffic starts.
    #[arg(long, default_value_t = 0.1)]
    stuck: f64,
    /// Deliveries per second each member got in an all-reading `fanout` of the same
    /// shape (its deliveries_per_s over its receivers). Given, the verdict says whether
    /// the readers here kept the documented share of it.
    #[arg(long)]
    all_reading_rate: Option<f64>,
}

/// Options of `board`.
#[derive(Args, Debug, Clone)]
pub struct BoardArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    traffic: Traffic,
    /// Rooms the posters are spread over, each with a board of its own (at most
    /// --clients).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
}

/// Options of `login-storm`. The bystanders' traffic has its own few options rather than
/// the shared [`Traffic`] group: they always chat at a steady open-loop rate (no
/// `--max`), and every one of them sends.
#[derive(Args, Debug, Clone)]
pub struct LoginStormArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    bystanders: Bystanders,
    /// The server's --hash-workers (the loadgen cannot see it): registrations run at
    /// most twice this many at once, and the login rate is judged against this many
    /// times --hash-rate.
    #[arg(long, default_value_t = 1)]
    hash_workers: usize,
    /// Password checks per second one hashing thread does on this machine, with the
    /// server's --hash-* settings (`cargo bench --bench hash`: one second over the time
    /// of "verify right password"). Given, the verdict says whether the storm reached
    /// 90 % of --hash-workers times this rate.
    #[arg(long)]
    hash_rate: Option<f64>,
    /// Logins the server refuses with an ERR line (throttled, bad-login, ...) are
    /// counted and reported, but do not fail the run.
    #[arg(long)]
    allow_failed_logins: bool,
}

/// The bystanders of `login-storm` and `abuse`: named guests who chat, every one of
/// them sending, at a steady open-loop rate through a baseline and then through the
/// disturbance, so that their latency with and without it can be compared.
#[derive(Args, Debug, Clone)]
pub struct Bystanders {
    /// Named guests who chat through the baseline and the disturbance (login storm: in
    /// a room of their own; abuse: in lobby).
    #[arg(long, default_value_t = 20)]
    bystanders: usize,
    /// Open loop: the bystanders' messages per second in total.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// The baseline: how long the bystanders chat, measured, before the storm or the
    /// attack. Units: ms, s, m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Bytes of a bystander's message line, newline included.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Chat before the baseline, not measured.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Longest wait after the storm or the attack for bystander messages still on their
    /// way.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    drain: Duration,
}

impl Bystanders {
    /// The bystanders' chat as the shared traffic settings: open loop, no window.
    fn traffic(&self) -> Traffic {
        Traffic {
            duration: self.duration,
            rate: Some(self.rate),
            max: false,
            window: 0,
            size: self.size,
            warmup: self.warmup,
            drain: self.drain,
        }
    }
}

/// Options of `abuse`.
#[derive(Args, Debug, Clone)]
pub struct AbuseArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    bystanders: Bystanders,
    /// The attack to run.
    #[arg(long, value_enum)]
    attack: Attack,
    /// How long the attack goes on once it has begun (big-list: once its posts are
    /// planted). Units: ms, s, m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    attack_duration: Duration,
    /// Lines per second of a paced attack in total: flood's chat lines, or the
    /// non-readers' 10-byte chatter.
    #[arg(long, default_value_t = 1000.0)]
    attack_rate: f64,
    /// Bytes of the attack's lines where it has them (default: posts 4000 per /post
    /// line, rooms 100, big-list 128 per subject (the server's default --max-subject),
    /// non-readers 10, partial 4000 sent without a newline, flood 100).
    #[arg(long)]
    line_bytes: Option<usize>,
    /// Source addresses of the attackers, as a range or a list like --source (default:
    /// 127.0.0.2 for posts, rooms, pipelined and flood; for the others 127.0.0.2 and up,
    /// 50 connections each, one each for big-list).
    #[arg(long, value_parser = parse_sources)]
    attacker_sources: Option<Sources>,
    /// How often each ping-keeper sends `/ping x`. Units: ms, s, m.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    ping_interval: Duration,
    /// The bystanders chat in a room of their own instead of lobby: they then measure
    /// what the attack costs everyone else, not the fan-out of their own lines to the
    /// attackers that joined lobby.
    #[arg(long)]
    bystanders_room: bool,
    /// Lines per second of the witness: two clients on a thread of their own that chat
    /// in a room of their own and time their lines, so that the loadgen's work for the
    /// attackers is not measured as the server's latency. Its address (the first of
    /// --source) must be trusted by the server above this rate (0: no witness).
    #[arg(long, default_value_t = 1000.0)]
    witness_rate: f64,
    /// Where the witness connects (default: --addr, the server under attack). A second
    /// server that nobody attacks, on the same CPUs, makes the witness a control: what
    /// the attack costs the machine (the kernel's work for the attackers' sockets, the
    /// CPUs they share) rather than what it costs the server attacked.
    #[arg(long, value_name = "HOST:PORT")]
    witness_addr: Option<SocketAddr>,
}

/// Options of every scenario: the server, the clients and their setup, the report.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:7777")]
    addr: SocketAddr,
    /// Simulated clients (default: 100).
    #[arg(long)]
    clients: Option<usize>,
    /// Print the final report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Loopback source addresses to spread connections over, as a range or a list
    /// (127.0.0.1-127.0.0.4 or 127.0.0.1,127.0.0.2); default: as many as --clients
    /// needs for the ephemeral port range.
    #[arg(long, value_parser = parse_sources)]
    source: Option<Sources>,
    /// Clients being set up (connecting, naming, joining) at the same time. Above the
    /// server's listen backlog (parley asks for 4096, capped by net.core.somaxconn) SYNs
    /// are dropped and retried a second later, and handshakes completed by SYN cookies
    /// may never reach the server.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Bound on the setup (connecting, naming and joining every client).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    timeout: Duration,
    /// Prefix of user and room names (default: lg<pid>_, so runs never collide).
    #[arg(long)]
    prefix: Option<String>,
    /// The server's process id: its memory and CPU are read from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// No live progress line, even on a terminal.
    #[arg(long)]
    quiet: bool,
    /// Receive buffer of each client socket in bytes (0: the kernel's autotuning, which
    /// lets megabytes pile up per socket and hides the server's back-pressure).
    #[arg(long, default_value_t = 256 * 1024)]
    rcvbuf: usize,
    /// After handling events, keep polling without sleeping for this long before
    /// blocking (0: block at once). On loopback the kernel wakes a sleeping client
    /// inside the server's write, on the server's CPU; a client that is awake costs the
    /// server nothing, as with clients on other machines. Time spent spinning is
    /// reported apart from the work.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    spin: Duration,
    /// Connect with TLS: --addr is then the server's TLS listener (its --tls-listen).
    /// Needs --ca.
    #[arg(long)]
    tls: bool,
    /// With --tls: PEM file of the CA certificates to trust, and no others (`make-cert`
    /// writes one as ca.pem).
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca: Option<PathBuf>,
    /// With --tls: the name the server's certificate must be for [default: localhost].
    #[arg(long, value_name = "NAME", requires = "tls")]
    server_name: Option<String>,
}

/// Options of the scenarios that send messages.
#[derive(Args, Debug, Clone)]
pub struct Traffic {
    /// Measured window, after the warmup. Units: ms, s, m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Open loop: messages per second in total, sent at their scheduled times whatever
    /// the server does (default 1000 unless --max).
    #[arg(long, conflicts_with = "max")]
    rate: Option<f64>,
    /// Closed loop: every sender sends as fast as TCP takes.
    #[arg(long)]
    max: bool,
    /// With --max: most messages one sender has in flight (sent, not yet received by
    /// its average receiver); 0 for none. Without it the kernel's socket buffers (up to
    /// tens of MB each) fill with seconds of backlog, which makes latency meaningless and
    /// the drain endless.
    #[arg(long, default_value_t = 1000)]
    window: u64,
    /// Bytes of a sent message line, newline included (the text is one byte less).
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Traffic before the measured window, not measured.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Longest wait after sending stops for messages still on their way.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    drain: Duration,
}

impl Traffic {
    /// What a scenario without traffic runs with: nothing is sent, and nothing here is
    /// read but the size, which must be valid.
    fn none() -> Traffic {
        Traffic {
            duration: Duration::ZERO,
            rate: None,
            max: false,
            window: 0,
            size: 100,
            warmup: Duration::ZERO,
            drain: Duration::ZERO,
        }
    }
}

/// The protocol the clients speak, for the scenarios that can speak IRC.
#[derive(Args, Debug, Clone, Default)]
pub struct ProtocolOptions {
    /// The clients' protocol: parley's own; irc (RFC 1459/2812, to parley's IRC gateway
    /// or any IRC server at --addr); or mixed: half the clients speak IRC to
    /// --irc-addr, half parley to --addr, in the same room of one parley server.
    #[arg(long, value_enum, default_value_t = Protocol::Parley)]
    protocol: Protocol,
    /// With --protocol mixed: the parley server's IRC listener (its --irc-listen).
    #[arg(long, value_name = "ADDR")]
    irc_addr: Option<SocketAddr>,
    /// With --protocol irc or mixed: the longest nick the IRC server takes (its
    /// NICKLEN); the generated nicks fit it [default: 9, RFC 1459's].
    #[arg(long, value_name = "N")]
    nick_len: Option<usize>,
}

/// What the clients speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// parley's line protocol.
    #[default]
    Parley,
    /// IRC, every client.
    Irc,
    /// IRC for half the clients, parley's protocol for the others.
    Mixed,
}

impl Protocol {
    /// The option's value.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Parley => "parley",
            Protocol::Irc => "irc",
            Protocol::Mixed => "mixed",
        }
    }

    /// Whether some client speaks IRC.
    pub fn has_irc(self) -> bool {
        self != Protocol::Parley
    }
}

/// One scenario's options, taken apart into what every scenario has and what only
/// some have (with neutral values where a scenario has no such option).
struct Parts {
    kind: Kind,
    common: Common,
    traffic: Traffic,
    proto: ProtocolOptions,
    senders: Option<usize>,
    room_size: usize,
    stuck: f64,
    all_reading_rate: Option<f64>,
    batch: usize,
    release_rate: Option<f64>,
    rooms: usize,
    bystanders: usize,
    hash_workers: usize,
    hash_rate: Option<f64>,
    allow_failed_logins: bool,
    abuse: Option<AbuseParts>,
}

/// The options only `abuse` has, as given.
struct AbuseParts {
    attack: Attack,
    attack_duration: Duration,
    attack_rate: f64,
    line_bytes: Option<usize>,
    attacker_sources: Option<Sources>,
    ping_interval: Duration,
    bystanders_room: bool,
    witness_rate: f64,
    witness_addr: Option<SocketAddr>,
}

impl Parts {
    /// Parts of a scenario with only the shared groups.
    fn new(kind: Kind, common: Common, traffic: Traffic) -> Parts {
        Parts {
            kind,
            common,
            traffic,
            proto: ProtocolOptions::default(),
            senders: None,
            room_size: 0,
            stuck: 0.0,
            all_reading_rate: None,
            batch: 1,
            release_rate: None,
            rooms: 0,
            bystanders: 0,
            hash_workers: 1,
            hash_rate: None,
            allow_failed_logins: false,
            abuse: None,
        }
    }

    fn of(cmd: ScenarioCmd) -> Parts {
        match cmd {
            ScenarioCmd::Fanout(a) => Parts {
                senders: a.senders,
                proto: a.proto,
                ..Parts::new(Kind::Fanout, a.common, a.traffic)
            },
            ScenarioCmd::Rooms(a) => Parts {
                senders: a.senders,
                room_size: a.room_size,
                ..Parts::new(Kind::Rooms, a.common, a.traffic)
            },
            ScenarioCmd::Private(a) => Parts {
                senders: a.senders,
                ..Parts::new(Kind::Private, a.common, a.traffic)
            },
            ScenarioCmd::JoinStorm(a) => Parts {
                proto: a.proto,
                ..Parts::new(Kind::JoinStorm, a.common, Traffic::none())
            },
            ScenarioCmd::Idle(a) => Parts {
                proto: a.proto,
                ..Parts::new(
                    Kind::Idle,
                    a.common,
                    Traffic {
                        duration: a.duration,
                        ..Traffic::none()
                    },
                )
            },
            ScenarioCmd::Queue(a) => Parts {
                batch: a.batch,
                release_rate: a.rate,
                ..Parts::new(Kind::Queue, a.common, Traffic::none())
            },
            ScenarioCmd::Slow(a) => Parts {
                senders: a.senders,
                stuck: a.stuck,
                all_reading_rate: a.all_reading_rate,
                ..Parts::new(Kind::Slow, a.common, a.traffic)
            },
            ScenarioCmd::Board(a) => Parts {
                rooms: a.rooms,
                ..Parts::new(Kind::Board, a.common, a.traffic)
            },
            ScenarioCmd::LoginStorm(a) => Parts {
                bystanders: a.bystanders.bystanders,
                hash_workers: a.hash_workers,
                hash_rate: a.hash_rate,
                allow_failed_logins: a.allow_failed_logins,
                ..Parts::new(Kind::LoginStorm, a.common, a.bystanders.traffic())
            },
            ScenarioCmd::Abuse(a) => Parts {
                bystanders: a.bystanders.bystanders,
                abuse: Some(AbuseParts {
                    attack: a.attack,
                    attack_duration: a.attack_duration,
                    attack_rate: a.attack_rate,
                    line_bytes: a.line_bytes,
                    attacker_sources: a.attacker_sources,
                    ping_interval: a.ping_interval,
                    bystanders_room: a.bystanders_room,
                    witness_rate: a.witness_rate,
                    witness_addr: a.witness_addr,
                }),
                ..Parts::new(Kind::Abuse, a.common, a.bystanders.traffic())
            },
        }
    }
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
    /// Posters post to their rooms' boards.
    Board,
    /// Accounts log in all at once while bystanders chat.
    LoginStorm,
    /// One attack while bystanders chat.
    Abuse,
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
            Kind::Board => "board",
            Kind::LoginStorm => "login-storm",
            Kind::Abuse => "abuse",
        }
    }

    /// Whether the scenario sends chat messages and checks their delivery (in
    /// `login-storm` and `abuse`, the bystanders' chat).
    pub fn has_traffic(self) -> bool {
        matches!(
            self,
            Kind::Fanout
                | Kind::Rooms
                | Kind::Private
                | Kind::Slow
                | Kind::LoginStorm
                | Kind::Abuse
        )
    }

    /// Whether the scenario sends at all, open loop or closed: chat messages, or posts
    /// (board).
    pub fn sends(self) -> bool {
        self.has_traffic() || self == Kind::Board
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

/// How `--tls` connects, as given and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsOptions {
    /// The CA certificates to trust.
    pub ca: PathBuf,
    /// The name the server's certificate must be for.
    pub server_name: ServerName<'static>,
}

/// Everything a run needs, checked and with defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scenario.
    pub kind: Kind,
    /// Server address (with `--protocol irc`, the IRC server's).
    pub addr: SocketAddr,
    /// What the clients speak.
    pub protocol: Protocol,
    /// Where the IRC clients connect: `--irc-addr` when mixed, else `addr`.
    pub irc_addr: SocketAddr,
    /// Connect with TLS (`--tls`); `None`: plain TCP.
    pub tls: Option<TlsOptions>,
    /// Simulated clients.
    pub clients: usize,
    /// Measured window (idle: hold time; unused by join-storm and queue).
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
    /// Deliveries per second a member got in an all-reading fanout (slow), for the
    /// documented target.
    pub all_reading_rate: Option<f64>,
    /// Slots freed per step (queue).
    pub batch: usize,
    /// Slots freed per second (queue).
    pub release_rate: Option<f64>,
    /// Rooms the posters are spread over (board).
    pub rooms: usize,
    /// Chatting guests beside the accounts (login-storm) or the attackers (abuse).
    pub bystanders: usize,
    /// The server's hashing threads, as given (login-storm).
    pub hash_workers: usize,
    /// Password checks per second of one hashing thread, as given (login-storm).
    pub hash_rate: Option<f64>,
    /// Refused logins do not fail the run (login-storm).
    pub allow_failed_logins: bool,
    /// The attack and its settings (abuse); `clients` counts its attackers.
    pub abuse: Option<AbuseConfig>,
}

/// What `abuse` attacks with, checked and with the attack's defaults filled in.
#[derive(Debug, Clone)]
pub struct AbuseConfig {
    /// The attack.
    pub attack: Attack,
    /// How long it goes on once it has begun.
    pub duration: Duration,
    /// Lines per second of a paced attack (flood, the non-readers' chatter).
    pub rate: f64,
    /// Bytes of the attack's lines, for attacks that have them.
    pub line_bytes: Option<usize>,
    /// Where the attackers connect from, one after the other in turn.
    pub sources: Vec<Ipv4Addr>,
    /// How often a ping-keeper pings.
    pub ping_interval: Duration,
    /// The bystanders chat in a room of their own, not in lobby.
    pub bystanders_room: bool,
    /// Lines per second of the witness (0: none).
    pub witness_rate: f64,
    /// Where the witness connects, if not to the server under attack.
    pub witness_addr: Option<SocketAddr>,
}

impl Config {
    /// Checks a scenario's command line and fills in defaults.
    #[cfg(test)]
    pub fn from_cli(cli: Cli) -> Result<Config, Error> {
        match cli.command {
            Command::Scenario(cmd) => Config::from_scenario(*cmd),
            Command::MakeCert(_) => Err(Error::Usage("make-cert runs no scenario".into())),
        }
    }

    /// Checks a scenario's options and fills in defaults.
    pub fn from_scenario(cmd: ScenarioCmd) -> Result<Config, Error> {
        let Parts {
            kind,
            common,
            traffic,
            proto,
            senders,
            room_size,
            stuck,
            all_reading_rate,
            batch,
            release_rate,
            rooms,
            bystanders,
            hash_workers,
            hash_rate,
            allow_failed_logins,
            abuse,
        } = Parts::of(cmd);
        let usage = |m: String| Err(Error::Usage(m));
        if !common.addr.ip().is_loopback() {
            return Err(Error::NotLoopback(common.addr.ip()));
        }
        // The attack decides how many attackers there are unless told.
        let clients = common.clients.unwrap_or_else(|| match &abuse {
            Some(a) => a.attack.default_attackers(),
            None => 100,
        });
        let count = if abuse.is_some() {
            "--attackers"
        } else {
            "--clients"
        };
        if clients == 0 {
            return usage(format!("{count} must be at least 1"));
        }
        if clients > u32::MAX as usize / 2 {
            return usage(format!("{count} is too large"));
        }
        let (irc_addr, nick_len) = protocol_options(&proto, common.addr, common.tls)?;
        let prefix = match proto.protocol {
            Protocol::Parley => name_prefix(common.prefix)?,
            Protocol::Irc | Protocol::Mixed => nick_prefix(common.prefix, clients, nick_len)?,
        };
        let sources = match common.source {
            Some(Sources(list)) => list,
            // The bystanders come from 127.0.0.1, which a server run with --trusted
            // 127.0.0.1/32 exempts from the limits that the attackers meet.
            None if abuse.is_some() => vec![Ipv4Addr::LOCALHOST],
            None => default_sources(common.addr, clients),
        };
        if batch == 0 {
            return usage("--batch must be at least 1".into());
        }
        if let Some(r) = release_rate {
            check_rate("--rate", r)?;
        }
        let mode = if traffic.max {
            Mode::Max
        } else {
            let r = traffic.rate.unwrap_or(1000.0);
            check_rate("--rate", r)?;
            Mode::Rate(r)
        };
        if traffic.size < MIN_SIZE {
            return usage(format!("--size must be at least {MIN_SIZE} bytes"));
        }
        if proto.protocol.has_irc() && kind.has_traffic() {
            check_irc_size(traffic.size, &prefix, clients, nick_len)?;
        }
        if kind == Kind::Rooms && room_size < 2 {
            return usage("--room-size must be at least 2".into());
        }
        if kind == Kind::Board && !(1..=clients).contains(&rooms) {
            return usage("--rooms must be from 1 to --clients".into());
        }
        if kind == Kind::Slow && !(0.0..1.0).contains(&stuck) {
            return usage("--stuck must be a fraction from 0 up to (not including) 1".into());
        }
        if let Some(r) = all_reading_rate {
            check_rate("--all-reading-rate", r)?;
        }
        if senders == Some(0) {
            return usage("--senders must be at least 1".into());
        }
        if matches!(kind, Kind::LoginStorm | Kind::Abuse) {
            // Each bystander's message must reach another one to be measured.
            if bystanders < 2 {
                return usage("--bystanders must be at least 2".into());
            }
            // Abuse may add one helper (a victim or a chatter).
            if bystanders > u32::MAX as usize / 2 - clients - 1 {
                return usage("--bystanders is too large".into());
            }
            if hash_workers == 0 {
                return usage("--hash-workers must be at least 1".into());
            }
        }
        if let Some(r) = hash_rate {
            check_rate("--hash-rate", r)?;
        }
        let abuse = abuse.map(|a| abuse_config(a, clients)).transpose()?;
        let tls = tls_options(common.tls, common.ca, common.server_name)?;
        use std::io::IsTerminal;
        Ok(Config {
            kind,
            addr: common.addr,
            protocol: proto.protocol,
            irc_addr,
            tls,
            clients,
            duration: traffic.duration,
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
            senders,
            size: traffic.size,
            window: traffic.window,
            warmup: traffic.warmup,
            drain: traffic.drain,
            room_size,
            stuck,
            all_reading_rate,
            batch,
            release_rate,
            rooms,
            bystanders,
            hash_workers,
            hash_rate,
            allow_failed_logins,
            abuse,
        })
    }
}

/// Checks the options of `abuse` against its attack of `attackers` connections.
fn abuse_config(a: AbuseParts, attackers: usize) -> Result<AbuseConfig, Error> {
    check_rate("--attack-rate", a.attack_rate)?;
    if a.witness_rate != 0.0 {
        check_rate("--witness-rate", a.witness_rate)?;
    }
    if a.ping_interval.is_zero() {
        return Err(Error::Usage("--ping-interval must be above 0".into()));
    }
    let line_bytes = match (a.attack.default_line_bytes(), a.line_bytes) {
        (None, Some(_)) => {
            return Err(Error::Usage(format!(
                "--line-bytes has no meaning for --attack {}",
                a.attack.name()
            )))
        }
        (Some(_), Some(n)) if !(a.attack.min_line_bytes()..=MAX_ATTACK_LINE).contains(&n) => {
            return Err(Error::Usage(format!(
                "--line-bytes for --attack {} must be from {} to {MAX_ATTACK_LINE}",
                a.attack.name(),
                a.attack.min_line_bytes()
            )))
        }
        (default, given) => given.or(default),
    };
    let sources = match a.attacker_sources {
        Some(Sources(list)) => list,
        None => attacker_sources(attackers, a.attack.per_address()),
    };
    Ok(AbuseConfig {
        attack: a.attack,
        duration: a.attack_duration,
        rate: a.attack_rate,
        line_bytes,
        sources,
        ping_interval: a.ping_interval,
        bystanders_room: a.bystanders_room,
        witness_rate: a.witness_rate,
        witness_addr: a.witness_addr,
    })
}

/// The name the server's certificate is checked against unless `--server-name` says
/// otherwise: what `make-cert` puts in its certificate by default.
pub const DEFAULT_SERVER_NAME: &str = "localhost";

/// `--tls` with its `--ca` and `--server-name`, checked. Without `--ca` nothing would
/// be trusted and every handshake would fail, so it is required: the run stops before it
/// starts, saying so, rather than reporting thousands of refused certificates. (The
/// system's roots are no use here: the server is on loopback, with a certificate made
/// for the test.)
fn tls_options(
    tls: bool,
    ca: Option<PathBuf>,
    server_name: Option<String>,
) -> Result<Option<TlsOptions>, Error> {
    if !tls {
        return Ok(None);
    }
    let Some(ca) = ca else {
        return Err(Error::Usage(
            "--tls needs --ca FILE: the CA certificates that signed the server's (`parley-loadgen make-cert DIR` makes a pair)".into(),
        ));
    };
    let name = server_name.unwrap_or_else(|| DEFAULT_SERVER_NAME.to_string());
    let server_name = ServerName::try_from(name.clone()).map_err(|_| {
        Error::Usage(format!(
            "--server-name {name}: not a DNS name or IP address"
        ))
    })?;
    Ok(Some(TlsOptions { ca, server_name }))
}

/// Longest attack line `--line-bytes` may ask for: far beyond any server's --max-line,
/// still small enough for the loadgen to hold one per connection.
const MAX_ATTACK_LINE: usize = 1 << 20;

/// The attackers' default source addresses: 127.0.0.2 and up, `per_address`
/// connections on each (all on 127.0.0.2 when that is unbounded).
fn attacker_sources(attackers: usize, per_address: usize) -> Vec<Ipv4Addr> {
    let first = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    let n = attackers.div_ceil(per_address.max(1)).clamp(1, 4096) as u32;
    (first..first + n).map(Ipv4Addr::from).collect()
}

/// `--protocol` with `--irc-addr` and `--nick-len`, checked: where the IRC clients
/// connect, and the longest nick the IRC server takes.
fn protocol_options(
    proto: &ProtocolOptions,
    addr: SocketAddr,
    tls: bool,
) -> Result<(SocketAddr, usize), Error> {
    let usage = |m: &str| Err(Error::Usage(m.into()));
    let irc_addr = match (proto.protocol, proto.irc_addr) {
        (Protocol::Mixed, Some(a)) if !a.ip().is_loopback() => {
            return Err(Error::NotLoopback(a.ip()))
        }
        (Protocol::Mixed, Some(a)) => a,
        (Protocol::Mixed, None) => {
            return usage(
                "--protocol mixed needs --irc-addr: the IRC listener (--irc-listen) of the parley server at --addr",
            )
        }
        (_, Some(_)) => {
            return usage(
                "--irc-addr is for --protocol mixed; with --protocol irc, --addr is the IRC server's",
            )
        }
        (_, None) => addr,
    };
    if proto.protocol.has_irc() && tls {
        return usage("--tls is for parley's protocol only; IRC clients connect in plain TCP");
    }
    let nick_len = match (proto.protocol, proto.nick_len) {
        (Protocol::Parley, Some(_)) => {
            return usage("--nick-len is for --protocol irc or mixed");
        }
        (_, Some(n)) if n < 2 => return usage("--nick-len must be at least 2"),
        (_, given) => given.unwrap_or(irc::RFC_NICK_LEN),
    };
    Ok((irc_addr, nick_len))
}

/// Digits of the largest client index below `clients`.
fn index_digits(clients: usize) -> usize {
    clients.saturating_sub(1).max(1).ilog10() as usize + 1
}

/// Most characters a generated nick prefix spends on the process id: five base-36
/// digits tell every pid apart (Linux's largest is 2^22), so concurrent runs never
/// collide.
const MAX_PID_DIGITS: usize = 5;

/// The name prefix of a run in which some clients speak IRC: `--prefix`, or one made
/// short enough that `<prefix><index>` fits `nick_len` (RFC 1459 allows only 9): `l`,
/// as many base-36 digits of the process id as fit (at most five), and `_`. Checked
/// against what a nick may hold: it begins with a letter or `_`.
fn nick_prefix(given: Option<String>, clients: usize, nick_len: usize) -> Result<String, Error> {
    let digits = index_digits(clients);
    let prefix = match given {
        Some(p) => p,
        None => {
            let room = nick_len.saturating_sub(digits + 2).min(MAX_PID_DIGITS);
            if room == 0 {
                return Err(Error::Usage(format!(
                    "--clients {clients} needs nicks of at least {} characters, above --nick-len {nick_len}",
                    digits + 3
                )));
            }
            let mut pid = std::process::id();
            let mut p = String::from("l");
            for _ in 0..room {
                p.push(char::from_digit(pid % 36, 36).unwrap_or('0'));
                pid /= 36;
            }
            p.push('_');
            p
        }
    };
    let prefix = name_prefix(Some(prefix))?;
    if !prefix.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(Error::Usage(
            "--prefix must begin with a letter or _ for IRC nicks".into(),
        ));
    }
    if prefix.len() + digits > nick_len {
        return Err(Error::Usage(format!(
            "--prefix {prefix} with --clients {clients} makes nicks of {} characters, above --nick-len {nick_len}: give a shorter --prefix",
            prefix.len() + digits
        )));
    }
    Ok(prefix)
}

/// An IRC line must fit 512 bytes, as sent and as relayed (see
/// [`irc::max_text_len`]): `--size` counts the message text and one byte for its line
/// ending, as in parley's protocol, so that both carry the same text.
fn check_irc_size(size: usize, prefix: &str, clients: usize, nick_len: usize) -> Result<(), Error> {
    // The widest room name of the run: every group index is below the clients.
    let channel = irc::channel(&scenario::room_name(prefix, clients.saturating_sub(1)));
    let max = irc::max_text_len(nick_len, &channel) + 1;
    if size > max {
        return Err(Error::Usage(format!(
            "--size {size} does not fit an IRC line: at most {max} here (512 bytes with CRLF, counting the `:nick!user@host` the server puts in front of a line it relays, with nicks of up to {nick_len} and hosts of up to {} characters)",
            irc::MAX_HOST
        )));
    }
    Ok(())
}

/// `--prefix`, or `lg<pid>_` so that concurrent runs never collide; checked against
/// what names may hold.
fn name_prefix(given: Option<String>) -> Result<String, Error> {
    let prefix = match given {
        Some(p) => p,
        None => format!("lg{:x}_", std::process::id()),
    };
    if prefix.is_empty()
        || prefix.len() > 16
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::Usage(
            "--prefix must be 1 to 16 of A-Z a-z 0-9 _ - (names are at most 32)".into(),
        ));
    }
    Ok(prefix)
}

/// A rate option must be a positive number.
fn check_rate(option: &str, r: f64) -> Result<(), Error> {
    if r.is_finite() && r > 0.0 {
        Ok(())
    } else {
        Err(Error::Usage(format!("{option} must be a positive number")))
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

    #[test]
    fn each_scenario_lists_only_its_own_options() {
        use clap::CommandFactory;
        let common = [
            "addr",
            "clients",
            "json",
            "source",
            "concurrency",
            "timeout",
            "prefix",
            "server-pid",
            "quiet",
            "rcvbuf",
            "spin",
            "tls",
            "ca",
            "server-name",
        ];
        let traffic = [
            "duration", "rate", "max", "window", "size", "warmup", "drain", "senders",
        ];
        let storm = [
            "bystanders",
            "rate",
            "duration",
            "size",
            "warmup",
            "drain",
            "hash-workers",
            "hash-rate",
            "allow-failed-logins",
        ];
        let attack = [
            "attack",
            "attack-duration",
            "attack-rate",
            "line-bytes",
            "attacker-sources",
            "ping-interval",
            "bystanders-room",
            "witness-rate",
            "witness-addr",
        ];
        let proto = ["protocol", "irc-addr", "nick-len"];
        let abuse_common: Vec<&str> = common
            .iter()
            .map(|&o| if o == "clients" { "attackers" } else { o })
            .collect();
        let cases: [(&str, Vec<&str>); 10] = [
            ("fanout", [&common[..], &traffic, &proto].concat()),
            ("rooms", [&common[..], &traffic, &["room-size"]].concat()),
            ("private", [&common[..], &traffic].concat()),
            ("join-storm", [&common[..], &proto].concat()),
            ("idle", [&common[..], &["duration"], &proto].concat()),
            ("queue", [&common[..], &["batch", "rate"]].concat()),
            (
                "slow",
                [&common[..], &traffic, &["stuck", "all-reading-rate"]].concat(),
            ),
            ("board", [&common[..], &traffic[..7], &["rooms"]].concat()),
            ("login-storm", [&common[..], &storm].concat()),
            ("abuse", [&abuse_common[..], &storm[..6], &attack].concat()),
        ];
        let cli = Cli::command();
        for (name, mut want) in cases {
            let sub = cli.find_subcommand(name).expect(name);
            let mut got: Vec<&str> = sub
                .get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|&l| l != "help")
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "options of {name}");
        }
        let help = Cli::try_parse_from(["parley-loadgen", "join-storm", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("--clients"), "{help}");
        for foreign in ["--duration", "--rate", "--senders", "--batch", "--stuck"] {
            assert!(
                !help.contains(foreign),
                "{foreign} in join-storm --help:\n{help}"
            );
        }
    }

    #[test]
    fn tls_needs_a_ca_and_a_valid_name() {
        let parse = |args: &[&str]| {
            let mut v = vec!["parley-loadgen", "fanout"];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).map(Config::from_cli)
        };
        assert_eq!(parse(&[]).unwrap().unwrap().tls, None, "plain by default");
        let t = parse(&["--tls", "--ca", "/tmp/ca.pem"])
            .unwrap()
            .unwrap()
            .tls
            .unwrap();
        assert_eq!(t.ca, PathBuf::from("/tmp/ca.pem"));
        assert_eq!(t.server_name.to_str(), DEFAULT_SERVER_NAME);
        let t = parse(&["--tls", "--ca", "ca.pem", "--server-name", "127.0.0.1"])
            .unwrap()
            .unwrap()
            .tls
            .unwrap();
        assert_eq!(t.server_name.to_str(), "127.0.0.1");
        let err = parse(&["--tls"]).unwrap().unwrap_err();
        assert!(
            matches!(err, Error::Usage(ref m) if m.contains("--ca")),
            "{err}"
        );
        assert!(matches!(
            parse(&["--tls", "--ca", "c", "--server-name", "no such name"]).unwrap(),
            Err(Error::Usage(_))
        ));
        // The TLS options mean nothing without --tls.
        assert!(parse(&["--ca", "ca.pem"]).is_err());
        assert!(parse(&["--server-name", "localhost"]).is_err());
    }

    #[test]
    fn the_protocol_comes_with_its_address_and_short_nicks() {
        let parse = |args: &[&str]| {
            let mut v = vec!["parley-loadgen"];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).map(Config::from_cli)
        };
        let usage = |args: &[&str]| match parse(args) {
            Ok(Err(Error::Usage(m))) => m,
            other => panic!("{args:?} gave {other:?}"),
        };
        let cfg = parse(&["fanout"]).unwrap().unwrap();
        assert_eq!(cfg.protocol, Protocol::Parley);
        assert!(cfg.prefix.starts_with("lg"), "parley names as before");
        let cfg = parse(&["idle", "--protocol", "irc", "--addr", "127.0.0.1:6667"])
            .unwrap()
            .unwrap();
        assert_eq!((cfg.protocol, cfg.irc_addr), (Protocol::Irc, cfg.addr));
        // 100 clients: indices of two digits, so "l", five pid digits and "_" fill 9.
        assert_eq!(cfg.prefix.len(), 7, "{}", cfg.prefix);
        assert!(cfg.prefix.starts_with('l') && cfg.prefix.ends_with('_'));
        let cfg = parse(&["join-storm", "--protocol", "irc", "--clients", "10000"])
            .unwrap()
            .unwrap();
        assert_eq!(cfg.prefix.len(), 5, "{}", cfg.prefix);
        let cfg = parse(&[
            "fanout",
            "--protocol",
            "mixed",
            "--irc-addr",
            "127.0.0.1:6667",
            "--nick-len",
            "30",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(cfg.irc_addr, "127.0.0.1:6667".parse().unwrap());
        assert_eq!(
            cfg.prefix.len(),
            7,
            "at most five pid digits: {}",
            cfg.prefix
        );
        // What each option needs, and what does not fit.
        assert!(usage(&["fanout", "--protocol", "mixed"]).contains("--irc-addr"));
        let m = usage(&["fanout", "--protocol", "irc", "--irc-addr", "127.0.0.1:1"]);
        assert!(m.contains("--protocol mixed"), "{m}");
        assert!(usage(&["fanout", "--nick-len", "12"]).contains("--protocol irc"));
        let m = usage(&["fanout", "--protocol", "irc", "--tls", "--ca", "ca.pem"]);
        assert!(m.contains("--tls"), "{m}");
        let m = usage(&["fanout", "--protocol", "irc", "--prefix", "loadgen_"]);
        assert!(m.contains("10 characters, above --nick-len 9"), "{m}");
        let m = usage(&["idle", "--protocol", "irc", "--prefix", "7a"]);
        assert!(m.contains("begin with a letter"), "{m}");
        let m = usage(&["idle", "--protocol", "irc", "--clients", "10000000"]);
        assert!(m.contains("at least 10 characters"), "{m}");
        assert!(matches!(
            parse(&[
                "fanout",
                "--protocol",
                "mixed",
                "--irc-addr",
                "10.0.0.1:6667"
            ]),
            Ok(Err(Error::NotLoopback(_)))
        ));
        assert!(
            parse(&["rooms", "--protocol", "irc"]).is_err(),
            "fanout, idle and join-storm only"
        );
        // A line that fits 512 bytes as relayed: the default size does, 500 does not.
        let irc = ["fanout", "--protocol", "irc", "--prefix", "lg_"];
        assert!(parse(&irc).unwrap().is_ok());
        let m = usage(&[&irc[..], &["--size", "500"]].concat());
        assert!(
            m.contains("does not fit an IRC line: at most 408 here"),
            "{m}"
        );
        assert!(parse(&[&irc[..], &["--size", "408"]].concat())
            .unwrap()
            .is_ok());
        // Idle sends nothing: its (unused) size is not checked.
        assert!(parse(&["idle", "--protocol", "irc"]).unwrap().is_ok());
    }

    #[test]
    fn make_cert_takes_a_directory_and_names() {
        let cli = Cli::try_parse_from(["parley-loadgen", "make-cert", "/tmp/c"]).unwrap();
        let Command::MakeCert(a) = cli.command else {
            panic!("not make-cert");
        };
        assert_eq!(a.dir, PathBuf::from("/tmp/c"));
        assert_eq!(a.names, vec![DEFAULT_SERVER_NAME.to_string()]);
        let cli = Cli::try_parse_from([
            "parley-loadgen",
            "make-cert",
            "d",
            "--name",
            "chat.test",
            "--name",
            "127.0.0.1",
        ])
        .unwrap();
        let Command::MakeCert(a) = cli.command else {
            panic!("not make-cert");
        };
        assert_eq!(a.names, vec!["chat.test", "127.0.0.1"]);
        assert!(Cli::try_parse_from(["parley-loadgen", "make-cert"]).is_err());
        assert!(matches!(
            Config::from_cli(Cli::try_parse_from(["parley-loadgen", "make-cert", "d"]).unwrap()),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn board_has_its_own_defaults() {
        let cfg =
            Config::from_cli(Cli::try_parse_from(["parley-loadgen", "board"]).unwrap()).unwrap();
        assert_eq!(cfg.kind, Kind::Board);
        assert_eq!((cfg.clients, cfg.rooms, cfg.size), (100, 10, 100));
        assert_eq!(cfg.mode, Mode::Rate(1000.0));
        assert_eq!(cfg.window, 16, "a poster's window is its own");
        let fanout =
            Config::from_cli(Cli::try_parse_from(["parley-loadgen", "fanout"]).unwrap()).unwrap();
        assert_eq!(fanout.window, 1000, "the other scenarios keep theirs");
        let cli = Cli::try_parse_from(["parley-loadgen", "board", "--max", "--window", "4"]);
        let cfg = Config::from_cli(cli.unwrap()).unwrap();
        assert_eq!((cfg.mode, cfg.window), (Mode::Max, 4));
        for rooms in ["0", "101"] {
            let cli = Cli::try_parse_from(["parley-loadgen", "board", "--rooms", rooms]);
            assert!(matches!(
                Config::from_cli(cli.unwrap()),
                Err(Error::Usage(_))
            ));
        }
        let help = Cli::try_parse_from(["parley-loadgen", "board", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("posts per second"), "{help}");
        assert!(help.contains("[default: 16]"), "{help}");
    }

    #[test]
    fn login_storm_has_its_own_defaults_and_checks() {
        let parse = |args: &[&str]| {
            let mut v = vec!["parley-loadgen", "login-storm"];
            v.extend_from_slice(args);
            Config::from_cli(Cli::try_parse_from(v).unwrap())
        };
        let cfg = parse(&[]).unwrap();
        assert_eq!(cfg.kind, Kind::LoginStorm);
        assert_eq!(
            (cfg.clients, cfg.bystanders, cfg.hash_workers),
            (100, 20, 1)
        );
        assert_eq!(cfg.mode, Mode::Rate(200.0));
        assert_eq!((cfg.hash_rate, cfg.allow_failed_logins), (None, false));
        let cfg = parse(&[
            "--clients",
            "200",
            "--hash-workers",
            "2",
            "--hash-rate",
            "40.8",
            "--allow-failed-logins",
        ])
        .unwrap();
        assert_eq!((cfg.clients, cfg.hash_workers), (200, 2));
        assert_eq!((cfg.hash_rate, cfg.allow_failed_logins), (Some(40.8), true));
        for bad in [
            &["--bystanders", "1"][..],
            &["--hash-workers", "0"],
            &["--hash-rate", "0"],
            &["--rate", "0"],
        ] {
            assert!(matches!(parse(bad), Err(Error::Usage(_))), "{bad:?}");
        }
        assert!(Cli::try_parse_from(["parley-loadgen", "login-storm", "--max"]).is_err());
        let help = Cli::try_parse_from(["parley-loadgen", "login-storm", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("all logging in at once"), "{help}");
    }

    #[test]
    fn abuse_takes_the_attacks_defaults_unless_told() {
        let parse = |args: &[&str]| {
            let mut v = vec!["parley-loadgen", "abuse"];
            v.extend_from_slice(args);
            Config::from_cli(Cli::try_parse_from(v).unwrap())
        };
        assert!(
            Cli::try_parse_from(["parley-loadgen", "abuse"]).is_err(),
            "--attack is required"
        );
        let cfg = parse(&["--attack", "partial"]).unwrap();
        assert_eq!(cfg.kind, Kind::Abuse);
        assert_eq!((cfg.clients, cfg.bystanders), (5000, 20));
        assert_eq!(cfg.mode, Mode::Rate(200.0));
        assert_eq!(cfg.sources, vec![Ipv4Addr::LOCALHOST], "bystanders");
        let a = cfg.abuse.unwrap();
        assert_eq!((a.attack, a.line_bytes), (Attack::Partial, Some(4000)));
        assert_eq!(a.duration, Duration::from_secs(10));
        // 50 to an address, from 127.0.0.2.
        assert_eq!(a.sources.len(), 100);
        assert_eq!(a.sources[0], Ipv4Addr::new(127, 0, 0, 2));
        let a = parse(&["--attack", "flood", "--attackers", "3"])
            .unwrap()
            .abuse
            .unwrap();
        assert_eq!(a.sources, vec![Ipv4Addr::new(127, 0, 0, 2)], "one abuser");
        assert_eq!((a.rate, a.line_bytes), (1000.0, Some(100)));
        assert_eq!(a.witness_addr, None, "the witness talks to --addr");
        let a = parse(&["--attack", "flood", "--witness-addr", "127.0.0.1:7000"])
            .unwrap()
            .abuse
            .unwrap();
        assert_eq!(
            a.witness_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], 7000)))
        );
        let cfg = parse(&[
            "--attack",
            "big-list",
            "--attackers",
            "7",
            "--attacker-sources",
            "127.0.0.9",
            "--line-bytes",
            "1000",
        ])
        .unwrap();
        let a = cfg.abuse.unwrap();
        assert_eq!((cfg.clients, a.line_bytes), (7, Some(1000)));
        assert_eq!(a.sources, vec![Ipv4Addr::new(127, 0, 0, 9)]);
        for bad in [
            &["--attack", "silent", "--line-bytes", "10"][..],
            &["--attack", "posts", "--line-bytes", "5"],
            &["--attack", "flood", "--attack-rate", "0"],
            &["--attack", "flood", "--attackers", "0"],
            &["--attack", "flood", "--bystanders", "1"],
            &["--attack", "ping-keepers", "--ping-interval", "0s"],
        ] {
            assert!(matches!(parse(bad), Err(Error::Usage(_))), "{bad:?}");
        }
        let help = Cli::try_parse_from(["parley-loadgen", "abuse", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("--attackers"), "{help}");
        assert!(!help.contains("--clients"), "{help}");
        assert!(help.contains("big-list"), "{help}");
    }
}
