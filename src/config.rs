//! Server settings: every limit of the protocol as a named command-line flag with a
//! `PARLEY_*` environment variable and a documented default.
//!
//! Durations are written `500ms`, `30s`, `2m`, `1h` (a bare number means seconds);
//! sizes as bytes or with a `KiB`, `MiB` or `GiB` suffix.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::hub::{Limits, Network, Trusted};
use crate::pacing::RateLimit;
use crate::password::{HashParams, MAX_HASH_MEMORY_KIB, MAX_HASH_PASSES};
use crate::tls::TlsFiles;

/// Settings of `parley-server`, parsed from the command line and the environment.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "parley-server",
    version,
    about = "A chat server on one poll loop",
    // A flag given twice takes its last value, so a wrapper's defaults can be overridden.
    args_override_self = true,
    // A certificate needs a listener to serve it on.
    group = clap::ArgGroup::new("tls_listeners").args(["tls_listen", "irc_tls_listen"]).multiple(true)
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:7777")]
    pub listen: SocketAddr,

    /// Address to serve the same protocol over TLS on (default: no TLS listener); needs
    /// `--tls-cert` and `--tls-key`.
    #[arg(long, env = "PARLEY_TLS_LISTEN", requires_all = ["tls_cert", "tls_key"])]
    pub tls_listen: Option<SocketAddr>,

    /// The TLS certificate chain (PEM, the server's certificate first); read again on
    /// SIGHUP.
    #[arg(long, env = "PARLEY_TLS_CERT", requires = "tls_listeners")]
    pub tls_cert: Option<PathBuf>,

    /// The TLS certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); read again on
    /// SIGHUP.
    #[arg(long, env = "PARLEY_TLS_KEY", requires = "tls_listeners")]
    pub tls_key: Option<PathBuf>,

    /// Address to serve IRC on (default: no IRC gateway): IRC clients use the same
    /// users, rooms and boards.
    #[arg(long, env = "PARLEY_IRC_LISTEN")]
    pub irc_listen: Option<SocketAddr>,

    /// Address to serve IRC over TLS on (default: none); needs `--tls-cert` and
    /// `--tls-key`.
    #[arg(long, env = "PARLEY_IRC_TLS_LISTEN", requires_all = ["tls_cert", "tls_key"])]
    pub irc_tls_listen: Option<SocketAddr>,

    /// TLS handshakes in progress at once; beyond it the TLS listener waits (new
    /// connections stay in the kernel's backlog).
    #[arg(long, env = "PARLEY_MAX_HANDSHAKES", default_value_t = 1024)]
    pub max_handshakes: usize,

    /// Accept `/login`, `/register`, `/passwd` and `/unregister` on the plain listener
    /// from any address even while TLS is configured (otherwise only from loopback).
    #[arg(long, env = "PARLEY_ALLOW_PLAINTEXT_LOGIN")]
    pub allow_plaintext_login: bool,

    /// Connections admitted at once (named or not); later ones wait in the queue.
    #[arg(long, env = "PARLEY_MAX_CLIENTS", default_value_t = 10_000)]
    pub max_clients: usize,

    /// Connections that may wait for admission; beyond it `BYE server-full` (0: no queue).
    #[arg(long, env = "PARLEY_MAX_QUEUE", default_value_t = 10_000)]
    pub max_queue: usize,

    /// Longest client line in bytes, counting its line ending.
    #[arg(long, env = "PARLEY_MAX_LINE", default_value = "4096", value_parser = parse_size)]
    pub max_line: usize,

    /// Output held for one client before it is dropped with `sendq`.
    #[arg(long, env = "PARLEY_MAX_SENDQ", default_value = "1MiB", value_parser = parse_size)]
    pub max_sendq: usize,

    /// Output the clients above `--soft-sendq` may hold together: with many of them at
    /// once, each is dropped with `sendq` above its share of this instead of above
    /// `--max-sendq` (never below twice `--soft-sendq`), so that thousands of clients that
    /// never read cannot each hold the most (0: no total).
    #[arg(long, env = "PARLEY_MAX_SENDQ_TOTAL", default_value = "256MiB", value_parser = parse_size)]
    pub max_sendq_total: usize,

    /// Pending output above which the server stops reading from that client.
    #[arg(long, env = "PARLEY_SOFT_SENDQ", default_value = "64KiB", value_parser = parse_size)]
    pub soft_sendq: usize,

    /// Kernel send buffer of each client socket (0: the kernel sizes it itself, up to
    /// megabytes). Output a client has not read fills it before any counts towards
    /// `--max-sendq`, so a small one finds stuck readers sooner and caps the kernel
    /// memory each one holds. Linux doubles the size for its bookkeeping and caps it at
    /// `net.core.wmem_max`.
    #[arg(long, env = "PARLEY_SEND_BUFFER", default_value = "256KiB", value_parser = parse_size)]
    pub send_buffer: usize,

    /// How long a client with output waiting may take none of it before it is dropped
    /// with `sendq`, even below `--max-sendq`.
    #[arg(long, env = "PARLEY_WRITE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// How long a recipient may stay above the soft limit before it stops pacing senders.
    #[arg(long, env = "PARLEY_STALL_LIMIT", default_value = "100ms", value_parser = parse_duration)]
    pub stall_limit: Duration,

    /// Silence after which the server sends `PING`.
    #[arg(long, env = "PARLEY_PING_AFTER", default_value = "60s", value_parser = parse_duration)]
    pub ping_after: Duration,

    /// Time to answer a `PING` (with any line) before `BYE timeout`.
    #[arg(long, env = "PARLEY_PING_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub ping_timeout: Duration,

    /// Time from `HELLO` to choose a name before `BYE timeout`.
    #[arg(long, env = "PARLEY_LOGIN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub login_timeout: Duration,

    /// Longest time spent flushing output to connections that are being closed.
    #[arg(long, env = "PARLEY_SHUTDOWN_GRACE", default_value = "2s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Largest room (counting the one who joins or leaves) whose members see join and leave notices.
    #[arg(long, env = "PARLEY_ANNOUNCE_LIMIT", default_value_t = 1000)]
    pub announce_limit: usize,

    /// Most names or rooms listed in one `USERS` or `ROOMS` line.
    #[arg(long, env = "PARLEY_LIST_LIMIT", default_value_t = 1000)]
    pub list_limit: usize,

    /// Most rooms that exist at once, `lobby` included.
    #[arg(long, env = "PARLEY_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// Most rooms one user is in at once.
    #[arg(long, env = "PARLEY_MAX_JOINED", default_value_t = 100)]
    pub max_joined: usize,

    /// Posts from before a member's latest join that the member can see.
    #[arg(long, env = "PARLEY_BOARD_BACKLOG", default_value_t = 2)]
    pub board_backlog: usize,

    /// Posts a room's board keeps (the oldest go first).
    #[arg(long, env = "PARLEY_BOARD_RETAIN", default_value_t = 1000)]
    pub board_retain: usize,

    /// The database file that keeps boards and history across restarts (`:memory:`
    /// keeps nothing).
    #[arg(long, env = "PARLEY_DATA", default_value = "parley.db")]
    pub data: String,

    /// How hard a commit holds on: `normal` survives a crash of the server, `full`
    /// also one of the machine (an fsync per commit).
    #[arg(long, env = "PARLEY_SYNC", value_enum, default_value_t = SyncMode::Normal)]
    pub sync: SyncMode,

    /// Messages of each room kept for `/history` (0: none are kept).
    #[arg(long, env = "PARLEY_HISTORY", default_value_t = 100)]
    pub history: usize,

    /// Largest size of the database (0: no limit); a write beyond it fails with
    /// `ERR store-failed`, as on a full disk.
    #[arg(long, env = "PARLEY_MAX_DATA", default_value = "0", value_parser = parse_size)]
    pub max_data: usize,

    /// Private messages that may wait for one offline account (0: none are stored).
    #[arg(long, env = "PARLEY_OFFLINE_LIMIT", default_value_t = 100)]
    pub offline_limit: usize,

    /// Whether `/register`, `/passwd` and `/unregister` work.
    #[arg(long, env = "PARLEY_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,

    /// Only accounts may take a name (`/name` gets `login-required`).
    #[arg(long, env = "PARLEY_REQUIRE_LOGIN")]
    pub require_login: bool,

    /// A users file of `name:password` lines (a password may be a `$argon2id$` PHC
    /// hash, which `parley-server hash-password` makes): it alone holds the accounts,
    /// and is read again on SIGHUP.
    #[arg(long, env = "PARLEY_ACCOUNTS_FILE")]
    pub accounts_file: Option<PathBuf>,

    /// Failed password checks from one address (IPv6: one /64) within 60 s after which
    /// its logins are throttled for 60 s (0: never).
    #[arg(long, env = "PARLEY_LOGIN_ATTEMPTS", default_value_t = 5)]
    pub login_attempts: usize,

    /// Connections one address (IPv6: one /64) may hold, waiting ones included; one
    /// more gets `BYE address-limit` (0: no limit).
    #[arg(long, env = "PARLEY_MAX_PER_ADDRESS", default_value_t = 50)]
    pub max_per_address: usize,

    /// Networks (CIDR, comma-separated, e.g. `127.0.0.0/8,10.1.0.0/16`) exempt from
    /// the abuse limits and from login throttling: load tests, bridges you run.
    #[arg(long, env = "PARLEY_TRUSTED", value_delimiter = ',')]
    pub trusted: Vec<Network>,

    /// Lines per second a connection may send after its burst; beyond it the server
    /// reads it no faster, and nothing is lost (0: no flood control).
    #[arg(long, env = "PARLEY_FLOOD_RATE", default_value_t = 10)]
    pub flood_rate: u32,

    /// Lines a connection may send at once before `--flood-rate` paces it.
    #[arg(long, env = "PARLEY_FLOOD_BURST", default_value_t = 20)]
    pub flood_burst: u32,

    /// Small writes per second (under 256 bytes) to the members of fan-outs of more
    /// than 64 recipients, such as a big room or lobby; beyond it their lines wait to
    /// go out a few in a write, which bounds the packets a busy big room costs the
    /// machine (0: no limit).
    #[arg(long, env = "PARLEY_FANOUT_WRITE_RATE", default_value_t = 16_000)]
    pub fanout_write_rate: u32,

    /// Rooms that still exist one account (from any address) or one guest address
    /// may have created; one more `/create` gets `limit-reached` (0: no limit).
    #[arg(long, env = "PARLEY_MAX_CREATED", default_value_t = 20)]
    pub max_created: usize,

    /// Posts one account or one guest address may make in any 60 s; one more `/post`
    /// gets `throttled` (0: no limit).
    #[arg(long, env = "PARLEY_POST_RATE", default_value_t = 30)]
    pub post_rate: usize,

    /// Longest post subject in bytes; a longer one gets `bad-args`. Boards keep each
    /// post's header in memory (the body stays in the database), so this bounds them.
    #[arg(long, env = "PARLEY_MAX_SUBJECT", default_value_t = 128)]
    pub max_subject: usize,

    /// Threads that check and hash passwords, away from the poll loop.
    #[arg(long, env = "PARLEY_HASH_WORKERS", default_value_t = 1)]
    pub hash_workers: usize,

    /// Password checks that may wait for a hashing thread; beyond it `ERR throttled`.
    #[arg(long, env = "PARLEY_HASH_QUEUE", default_value_t = 256)]
    pub hash_queue: usize,

    /// Argon2id memory per hash, in KiB (OWASP's recommendation: 19456, 19 MiB).
    #[arg(
        long,
        global = true,
        env = "PARLEY_HASH_MEMORY",
        default_value_t = 19_456
    )]
    pub hash_memory: u32,

    /// Argon2id passes over that memory.
    #[arg(long, global = true, env = "PARLEY_HASH_PASSES", default_value_t = 2)]
    pub hash_passes: u32,

    /// Argon2id lanes.
    #[arg(long, global = true, env = "PARLEY_HASH_LANES", default_value_t = 1)]
    pub hash_lanes: u32,

    /// A tool to run instead of the server.
    #[command(subcommand)]
    pub tool: Option<Tool>,
}

/// Tools of `parley-server` that run instead of the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Tool {
    /// Reads a password on standard input and prints its Argon2id PHC hash, for a line
    /// `name:$argon2id$...` of an `--accounts-file` (the `--hash-*` settings apply).
    HashPassword,
}

/// `--registration`: whether accounts may be created, changed and deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// They may.
    Open,
    /// They may not (`registration-closed`).
    Closed,
}

/// Smallest accepted `--max-line`: room for a command with a name and some text.
pub const MIN_MAX_LINE: usize = 64;

/// Largest `--send-buffer`: the kernel takes the size as a C `int` and doubles it.
pub const MAX_SEND_BUFFER: usize = 1 << 30;

/// The least memory Argon2 accepts for each lane, in KiB.
pub const HASH_MEMORY_PER_LANE_KIB: u32 = 8;

/// A setting that cannot work, found before the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A count that must be at least one is zero.
    Zero(&'static str),
    /// `--max-line` below [`MIN_MAX_LINE`].
    MaxLineTooSmall(usize),
    /// `--soft-sendq` is not below `--max-sendq`.
    SoftAboveHard { soft: usize, hard: usize },
    /// A duration that must be positive is zero.
    ZeroDuration(&'static str),
    /// `--send-buffer` above [`MAX_SEND_BUFFER`].
    SendBufferTooLarge(usize),
    /// `--hash-memory` below the 8 KiB a lane that Argon2 requires.
    HashMemoryTooSmall {
        /// The least it may be for the lanes asked for.
        min: u64,
        /// `--hash-lanes`.
        lanes: u32,
    },
    /// A hashing cost above what a stored hash may ask of a check: the server would
    /// refuse its own hashes.
    HashCostTooHigh {
        /// The flag.
        flag: &'static str,
        /// The most it may be.
        max: u32,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Zero(flag) => write!(f, "--{flag} must be at least 1"),
            ConfigError::MaxLineTooSmall(n) => {
                write!(
                    f,
                    "--max-line {n} is too small (at least {MIN_MAX_LINE} bytes)"
                )
            }
            ConfigError::SoftAboveHard { soft, hard } => write!(
                f,
                "--soft-sendq ({soft} bytes) must be below --max-sendq ({hard} bytes)"
            ),
            ConfigError::ZeroDuration(flag) => write!(f, "--{flag} must be longer than zero"),
            ConfigError::SendBufferTooLarge(n) => write!(
                f,
                "--send-buffer {n} is too large (at most {MAX_SEND_BUFFER} bytes)"
            ),
            ConfigError::HashMemoryTooSmall { min, lanes } => write!(
                f,
                "--hash-memory must be at least {HASH_MEMORY_PER_LANE_KIB} KiB per lane: \
                 {min} KiB for --hash-lanes {lanes}"
            ),
            ConfigError::HashCostTooHigh { flag, max } => write!(f, "--{flag} is at most {max}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks the settings against each other; clap has already checked each one's form.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let counts = [
            ("max-clients", self.max_clients),
            ("list-limit", self.list_limit),
            ("max-rooms", self.max_rooms),
            ("max-joined", self.max_joined),
            ("board-retain", self.board_retain),
            ("max-sendq", self.max_sendq),
            ("soft-sendq", self.soft_sendq),
            ("hash-workers", self.hash_workers),
            ("flood-burst", self.flood_burst as usize),
            ("max-subject", self.max_subject),
            ("max-handshakes", self.max_handshakes),
            ("hash-passes", self.hash_passes as usize),
            ("hash-lanes", self.hash_lanes as usize),
        ];
        if let Some((flag, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(ConfigError::Zero(flag));
        }
        if self.max_line < MIN_MAX_LINE {
            return Err(ConfigError::MaxLineTooSmall(self.max_line));
        }
        if self.send_buffer > MAX_SEND_BUFFER {
            return Err(ConfigError::SendBufferTooLarge(self.send_buffer));
        }
        let costs = [
            ("hash-memory", self.hash_memory, MAX_HASH_MEMORY_KIB),
            ("hash-passes", self.hash_passes, MAX_HASH_PASSES),
            // More lanes than the most memory can give each its floor.
            (
                "hash-lanes",
                self.hash_lanes,
                MAX_HASH_MEMORY_KIB / HASH_MEMORY_PER_LANE_KIB,
            ),
        ];
        if let Some(&(flag, _, max)) = costs.iter().find(|(_, value, max)| value > max) {
            return Err(ConfigError::HashCostTooHigh { flag, max });
        }
        // Argon2's own floor, checked here so that the flag is named before anything
        // starts rather than when the first hasher is built.
        let min_memory = u64::from(HASH_MEMORY_PER_LANE_KIB) * u64::from(self.hash_lanes);
        if u64::from(self.hash_memory) < min_memory {
            return Err(ConfigError::HashMemoryTooSmall {
                min: min_memory,
                lanes: self.hash_lanes,
            });
        }
        if self.soft_sendq >= self.max_sendq {
            return Err(ConfigError::SoftAboveHard {
                soft: self.soft_sendq,
                hard: self.max_sendq,
            });
        }
        let durations = [
            ("ping-after", self.ping_after),
            ("ping-timeout", self.ping_timeout),
            ("login-timeout", self.login_timeout),
            ("write-timeout", self.write_timeout),
            ("shutdown-grace", self.shutdown_grace),
        ];
        if let Some((flag, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(ConfigError::ZeroDuration(flag));
        }
        Ok(())
    }

    /// The Argon2id costs of `--hash-memory`, `--hash-passes` and `--hash-lanes`.
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.hash_memory,
            passes: self.hash_passes,
            lanes: self.hash_lanes,
        }
    }

    /// Flood control's settings.
    pub fn flood_limits(&self) -> RateLimit {
        RateLimit {
            rate: self.flood_rate,
            burst: self.flood_burst,
        }
    }

    /// The TLS listener's certificate and key, when there is one.
    pub fn tls_files(&self) -> Option<TlsFiles> {
        self.tls_listen.or(self.irc_tls_listen)?;
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
        })
    }

    /// Descriptors for connections beyond the admitted and waiting clients: those in
    /// a TLS handshake.
    pub fn handshake_descriptors(&self) -> u64 {
        if self.tls_files().is_some() {
            self.max_handshakes as u64
        } else {
            0
        }
    }

    /// Networks exempt from the abuse limits.
    pub fn trusted(&self) -> Trusted {
        Trusted::new(self.trusted.clone())
    }

    /// The part of the settings that the chat core needs.
    pub fn limits(&self) -> Limits {
        Limits {
            max_clients: self.max_clients,
            max_queue: self.max_queue,
            ping_after: self.ping_after,
            ping_timeout: self.ping_timeout,
            login_timeout: self.login_timeout,
            announce_limit: self.announce_limit,
            list_limit: self.list_limit,
            max_rooms: self.max_rooms,
            max_joined: self.max_joined,
            board_backlog: self.board_backlog,
            board_retain: self.board_retain,
            history: self.history,
            offline_limit: self.offline_limit,
            require_login: self.require_login,
            registration_open: self.registration == Registration::Open,
            login_attempts: self.login_attempts,
            hash_workers: self.hash_workers,
            hash_queue: self.hash_queue,
            max_per_address: self.max_per_address,
            trusted: self.trusted(),
            max_created: self.max_created,
            post_rate: self.post_rate,
            passwords_need_tls: self.tls_files().is_some() && !self.allow_plaintext_login,
            max_subject: self.max_subject,
        }
    }
}

/// `--sync`: how hard a commit holds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMode {
    /// Survives a crash of the server process.
    Normal,
    /// Also survives a crash of the machine: an fsync per commit.
    Full,
}

/// Parses a duration such as `500ms`, `30s`, `2m` or `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 30s or 2m"))?;
    let millis_per_unit = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m or h)"
            ))
        }
    };
    value
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Parses a size in bytes, optionally with a `B`, `KiB`, `MiB` or `GiB` suffix.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 4096, 64KiB or 1MiB"))?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_bare_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert!(parse_size("1MB").is_err());
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn nonsensical_settings_are_refused() {
        let parse = |args: &[&str]| {
            let mut all = vec!["parley-server"];
            all.extend_from_slice(args);
            Config::try_parse_from(all).expect("parses").validate()
        };
        assert_eq!(parse(&[]), Ok(()));
        assert_eq!(
            parse(&["--max-clients", "0"]),
            Err(ConfigError::Zero("max-clients"))
        );
        assert_eq!(
            parse(&["--max-line", "10"]),
            Err(ConfigError::MaxLineTooSmall(10))
        );
        assert!(matches!(
            parse(&["--soft-sendq", "2MiB"]),
            Err(ConfigError::SoftAboveHard { .. })
        ));
        assert_eq!(
            parse(&["--ping-after", "0s"]),
            Err(ConfigError::ZeroDuration("ping-after"))
        );
        assert_eq!(
            parse(&["--send-buffer", "4GiB"]),
            Err(ConfigError::SendBufferTooLarge(4 << 30))
        );
        assert_eq!(parse(&["--send-buffer", "0"]), Ok(()));
        assert_eq!(
            parse(&["--hash-memory", "1048577"]),
            Err(ConfigError::HashCostTooHigh {
                flag: "hash-memory",
                max: 1 << 20
            })
        );
        assert_eq!(
            parse(&["--hash-passes", "65"]),
            Err(ConfigError::HashCostTooHigh {
                flag: "hash-passes",
                max: 64
            })
        );
        assert_eq!(
            parse(&["--hash-memory", "1048576", "--hash-passes", "64"]),
            Ok(())
        );
        assert_eq!(parse(&["--max-queue", "0", "--max-line", "512"]), Ok(()));
        assert_eq!(
            parse(&["--hash-lanes", "0"]),
            Err(ConfigError::Zero("hash-lanes"))
        );
        assert_eq!(
            parse(&["--hash-passes", "0"]),
            Err(ConfigError::Zero("hash-passes"))
        );
        assert_eq!(
            parse(&["--hash-memory", "7"]),
            Err(ConfigError::HashMemoryTooSmall { min: 8, lanes: 1 })
        );
        assert_eq!(
            parse(&["--hash-memory", "31", "--hash-lanes", "4"]),
            Err(ConfigError::HashMemoryTooSmall { min: 32, lanes: 4 })
        );
        assert_eq!(parse(&["--hash-memory", "32", "--hash-lanes", "4"]), Ok(()));
        assert_eq!(
            parse(&["--hash-memory", "1048576", "--hash-lanes", "131073"]),
            Err(ConfigError::HashCostTooHigh {
                flag: "hash-lanes",
                max: 131_072
            })
        );
        assert_eq!(
            parse(&["--hash-memory", "1048576", "--hash-lanes", "131072"]),
            Ok(())
        );
        assert_eq!(
            parse(&["--shutdown-grace", "0s"]),
            Err(ConfigError::ZeroDuration("shutdown-grace"))
        );
        // No stall limit is a choice: congested recipients then pace nobody.
        assert_eq!(parse(&["--stall-limit", "0s"]), Ok(()));
    }
}
