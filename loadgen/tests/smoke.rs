//! Smoke tests for CI: the real server binary against the real loadgen binary, a few
//! hundred clients for about two seconds, checking that nothing was lost, duplicated
//! or reordered and that messages were actually delivered (and, on the boards, that
//! every post was answered once; in a login storm, that every account logged in; under
//! attack, that the bystanders lost nothing and the attack's report adds up). With
//! `--tls`, against the server's TLS listener with a certificate from `make-cert`:
//! fanout, idle and join-storm complete and report their TLS figures, and a CA that
//! did not sign the server's certificate stops the run at once.

// The harness's `start_with_log` expects the server's path that Cargo defines only for
// the parley package's own tests; here it is never called (`start_binary` is), so the
// lint's run-time panic cannot happen.
#[allow(clippy::option_env_unwrap)]
#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::TestServer;

/// The server binary of the same build profile as the loadgen under test, built first
/// if this package's tests run on their own.
fn server_binary() -> PathBuf {
    let loadgen = Path::new(env!("CARGO_BIN_EXE_parley-loadgen"));
    let dir = loadgen
        .parent()
        .expect("the loadgen binary lives in a directory");
    let server = dir.join("parley-server");
    if !server.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "build",
            "-p",
            "parley",
            "--bin",
            "parley-server",
        ]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build for the server");
        assert!(status.success(), "building parley-server failed");
    }
    assert!(server.exists(), "no server binary at {}", server.display());
    server
}

/// A server of the same build as the loadgen under test, started by the integration
/// tests' harness. The loadgen's clients all come from 127.0.0.1, so loopback is
/// trusted: exempt from the abuse limits, as a load test must be.
fn start_server(flags: &[&str]) -> TestServer {
    let mut flags = flags.to_vec();
    flags.extend(["--trusted", "127.0.0.0/8"]);
    TestServer::start_binary(&server_binary(), &flags)
}

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley-loadgen"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running parley-loadgen")
}

/// Runs the loadgen, which must exit with success, and returns its JSON report.
fn passing_run(args: &[&str]) -> String {
    let out = loadgen(args);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed: {stderr}\n{json}");
    json
}

/// The number after `"key":` in the JSON report (keys are unique in it).
fn num(json: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\":");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in report: {json}"))
        + pat.len();
    let rest = &json[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in: {json}"))
}

/// A passing `fanout` run of 300 clients, 10 of them sending, to `addr` with `options`
/// (the traffic's, and the protocol's).
fn fanout_run(addr: &str, options: &[&str]) -> String {
    let mut args = vec![
        "fanout",
        "--addr",
        addr,
        "--clients",
        "300",
        "--senders",
        "10",
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(options);
    passing_run(&args)
}

/// The open-loop traffic of the fan-out runs that check every delivery: 400 messages/s
/// for 2 s after a short warmup.
const RATE_400: [&str; 8] = [
    "--rate",
    "400",
    "--warmup",
    "300ms",
    "--duration",
    "2s",
    "--drain",
    "10s",
];

/// A passing `fanout` run of 300 clients at [`RATE_400`] to `addr` with `options`, in
/// which every message reached the 299 other members once, in order.
fn rate_400_fanout_run(addr: &str, options: &[&str]) -> String {
    let json = fanout_run(addr, &[&RATE_400[..], options].concat());
    assert_zero(&json, &DELIVERY_FAULTS);
    assert_eq!(num(&json, "ready"), 300.0, "{json}");
    // 400 msg/s for 2 s, each to 299 other members.
    let deliveries = num(&json, "deliveries");
    assert!(deliveries > 100_000.0, "too few deliveries: {json}");
    json
}

#[test]
fn fanout_delivers_everything_exactly_once_in_order() {
    let server = start_server(&[]);
    let json = rate_400_fanout_run(&server.addr.to_string(), &["--spin", "1ms"]);
    // The open-loop schedule spreads the rate evenly whatever the server does, so this
    // checks the figures are there; the test below checks the server's fairness.
    let slowest = num(&json, "slowest_sender_messages");
    let fastest = num(&json, "fastest_sender_messages");
    assert!(slowest > 0.0 && slowest >= fastest * 0.9, "{json}");
    // Spinning is counted apart from the work, and only spinning polls count.
    let spin = num(&json, "loadgen_spin_cores");
    let cpu = num(&json, "loadgen_cpu_cores");
    assert!(spin > 0.0 && spin <= cpu + 0.05, "{json}");
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn flooding_senders_all_get_their_share() {
    // Every sender floods (--max), so flow control holds them back and releases them
    // again and again. A server that always served the same ones first would let the
    // rest through nothing in the window: their messages would still all arrive, late,
    // so only the per-sender counts show it.
    let server = start_server(&[]);
    let json = fanout_run(
        &server.addr.to_string(),
        &[
            "--max",
            "--warmup",
            "500ms",
            "--duration",
            "2s",
            "--drain",
            "30s",
        ],
    );
    assert_eq!(num(&json, "lost"), 0.0, "{json}");
    let messages = num(&json, "messages");
    let slowest = num(&json, "slowest_sender_messages");
    assert!(messages > 0.0, "{json}");
    // At least a quarter of an even share.
    assert!(slowest * 40.0 >= messages, "{json}");
    assert!(json.contains("\"passed\":true"), "{json}");
}

/// What a run that delivered every message once, in order and intact, counts none of.
const DELIVERY_FAULTS: [&str; 7] = [
    "lost",
    "not_arrived",
    "duplicates",
    "reordered",
    "garbled",
    "misrouted",
    "unexpected_disconnects",
];

/// Asserts that each of `keys` is 0 in the report `json`.
fn assert_zero(json: &str, keys: &[&str]) {
    for key in keys {
        assert_eq!(num(json, key), 0.0, "{key} in {json}");
    }
}

/// The `count` of the latency summary under `key` in the JSON report.
fn lat_count(json: &str, key: &str) -> f64 {
    num(json, &format!("{key}\":{{\"count"))
}

#[test]
fn board_answers_every_post_once() {
    let server = start_server(&[]);
    let addr = server.addr.to_string();
    let json = passing_run(&[
        "board",
        "--addr",
        &addr,
        "--clients",
        "20",
        "--rooms",
        "4",
        "--rate",
        "200",
        "--warmup",
        "300ms",
        "--duration",
        "2s",
        "--drain",
        "10s",
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ]);
    assert_zero(
        &json,
        &[
            "missing_posted",
            "unexpected_posted",
            "repeated_ids",
            "ids_not_increasing",
            "notice_ids_not_increasing",
            "ids_out_of_range",
            "notices_missing",
            "misrouted",
            "garbled",
            "unexpected_disconnects",
        ],
    );
    // The open-loop schedule puts exactly 200/s x 2 s of posts in the window, and
    // each of them has its POSTED (one latency sample).
    assert_eq!(num(&json, "posts"), 400.0, "{json}");
    assert_eq!(lat_count(&json, "posted_latency"), 400.0, "{json}");
    let total = num(&json, "posts_total");
    assert_eq!(num(&json, "posted_total"), total, "{json}");
    // Five members a room: every post is heard by the four others.
    assert_eq!(num(&json, "post_notices_total"), total * 4.0, "{json}");
    assert!(num(&json, "posted_per_s") > 0.0, "{json}");
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn queue_admits_in_arrival_order() {
    let server = start_server(&["--max-clients", "40"]);
    let addr = server.addr.to_string();
    let json = passing_run(&[
        "queue",
        "--addr",
        &addr,
        "--clients",
        "70",
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ]);
    assert_eq!(num(&json, "queued"), 30.0, "{json}");
    assert_eq!(num(&json, "admitted_from_queue"), 30.0, "{json}");
    assert_eq!(num(&json, "order_violations"), 0.0, "{json}");
    assert_eq!(num(&json, "bad_first_positions"), 0.0, "{json}");
    assert!(json.contains("\"passed\":true"), "{json}");
}

/// Server flags that make password checks cheap (a 64 KiB, one-pass Argon2id), so a
/// storm of logins takes milliseconds; every login comes from 127.0.0.1, so failed
/// checks must not throttle them.
const CHEAP_HASHING: [&str; 6] = [
    "--hash-memory",
    "64",
    "--hash-passes",
    "1",
    "--login-attempts",
    "0",
];

/// A `login-storm` of `accounts` accounts and 3 bystanders chatting at 200 messages/s,
/// with `extra` options; its JSON report and whether it passed.
fn login_storm_run(server: &TestServer, accounts: &str, extra: &[&str]) -> (String, bool) {
    let addr = server.addr.to_string();
    let mut args = vec![
        "login-storm",
        "--addr",
        &addr,
        "--clients",
        accounts,
        "--bystanders",
        "3",
        "--rate",
        "200",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
        "--drain",
        "10s",
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = loadgen(&args);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the loadgen could not run: {stderr}\n{json}"
    );
    (json, out.status.success())
}

#[test]
fn login_storm_logs_every_account_in() {
    let server = start_server(&CHEAP_HASHING);
    let (json, passed) = login_storm_run(&server, "10", &[]);
    assert!(passed, "{json}");
    assert_eq!(num(&json, "accounts"), 10.0, "{json}");
    assert_eq!(num(&json, "registered"), 10.0, "{json}");
    assert_eq!(num(&json, "logins_sent"), 10.0, "{json}");
    assert_eq!(num(&json, "logged_in"), 10.0, "{json}");
    assert_eq!(lat_count(&json, "login_time"), 10.0, "{json}");
    assert_zero(
        &json,
        &[
            "logins_refused",
            "logins_lost",
            "logins_unanswered",
            "lost",
            "not_arrived",
            "duplicates",
            "reordered",
            "unexpected_disconnects",
        ],
    );
    assert!(num(&json, "logins_per_s") > 0.0, "{json}");
    // The baseline is 200 messages/s for 1 s, each heard by the 2 other bystanders.
    assert_eq!(
        lat_count(&json, "bystander_latency_baseline"),
        400.0,
        "{json}"
    );
    // Each registration quit once its account was committed.
    assert_eq!(num(&json, "quit"), 10.0, "{json}");
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn refused_logins_fail_the_run_unless_allowed() {
    // One hashing worker and two waiting checks: a storm of 40 logins arriving
    // together finds the server's hashing queue full, and those beyond it are
    // throttled. Setup registers two at a time, well within it (with one waiting
    // check, a registration could meet the queue still holding the job a worker has
    // not picked up yet, and be throttled too).
    let mut flags = CHEAP_HASHING.to_vec();
    flags[1] = "8192";
    flags.extend(["--hash-workers", "1", "--hash-queue", "2"]);
    for allow in [false, true] {
        let server = start_server(&flags);
        let extra: &[&str] = if allow {
            &["--allow-failed-logins"]
        } else {
            &[]
        };
        let (json, passed) = login_storm_run(&server, "40", extra);
        let refused = num(&json, "logins_refused");
        assert!(refused > 0.0, "{json}");
        assert_eq!(num(&json, "logged_in") + refused, 40.0, "{json}");
        let by_code = format!("\"errors_by_code\":{{\"throttled\":{refused}}}");
        assert!(json.contains(&by_code), "{by_code} in {json}");
        assert_eq!(num(&json, "unexpected_disconnects"), 0.0, "{json}");
        assert_eq!(passed, allow, "{json}");
        assert_eq!(json.contains("\"refused_logins\":"), !allow, "{json}");
    }
}

/// An `abuse` run of the attack `attack` (its options) against a server that trusts
/// only 127.0.0.1, where the bystanders are and the attackers are not: 3 bystanders chat
/// in lobby at 200 messages/s through a 1 s baseline and a 1.5 s attack. Its JSON
/// report, which must pass.
fn abuse_run(attack: &[&str]) -> String {
    let server = TestServer::start_binary(&server_binary(), &["--trusted", "127.0.0.1/32"]);
    let addr = server.addr.to_string();
    let pid = server.pid().to_string();
    let mut args = vec![
        "abuse",
        "--addr",
        &addr,
        "--server-pid",
        &pid,
        "--bystanders",
        "3",
        "--rate",
        "200",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
        "--attack-duration",
        "1500ms",
        "--drain",
        "10s",
        "--timeout",
        "30s",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(attack);
    let json = passing_run(&args);
    assert_zero(
        &json,
        &[
            "lost",
            "not_arrived",
            "duplicates",
            "reordered",
            "unexpected_disconnects",
        ],
    );
    // The baseline is 200 messages/s for 1 s, each heard by the 2 other bystanders;
    // the attack holds about 1.5 s of them.
    assert_eq!(
        lat_count(&json, "bystander_latency_baseline"),
        400.0,
        "{json}"
    );
    let under_attack = lat_count(&json, "bystander_latency_attack");
    assert!((500.0..=700.0).contains(&under_attack), "{json}");
    assert!(
        num(&json, "bystander_p99_attack_over_baseline") > 0.0,
        "{json}"
    );
    // Once the attackers are all connected, the steady part: a part of the attack.
    let steady = lat_count(&json, "bystander_latency_steady");
    assert!(steady > 0.0 && steady <= under_attack, "{json}");
    assert!(num(&json, "steady_from_attack_start_s") >= 0.0, "{json}");
    let before = num(&json, "rss_before_attack_bytes");
    assert!(before > 0.0, "{json}");
    assert!(
        num(&json, "rss_peak_during_attack_bytes") >= before,
        "{json}"
    );
    assert!(num(&json, "rss_at_attack_end_bytes") > 0.0, "{json}");
    // The witness, on its own thread at 1,000 lines/s: every line back, a sample for
    // each one scheduled in the baseline's second (fewer only if its own setup outlasted
    // the 200 ms warmup) and the attack's 1.5 s.
    assert_eq!(num(&json, "witness_lines_missing"), 0.0, "{json}");
    let baseline = lat_count(&json, "witness_latency_baseline");
    assert!((800.0..=1010.0).contains(&baseline), "{json}");
    let attack = lat_count(&json, "witness_latency_attack");
    assert!((1300.0..=1700.0).contains(&attack), "{json}");
    assert!(
        num(&json, "witness_p99_attack_over_baseline") > 0.0,
        "{json}"
    );
    json
}

#[test]
fn abuse_flood_is_paced_by_the_server_not_the_bystanders() {
    // One flooder from 127.0.0.2 at 200 lines/s: the server reads its burst of 20 and
    // then 10 lines/s; the rest wait in its socket, and the bystanders hear no more.
    let json = abuse_run(&["--attack", "flood", "--attack-rate", "200"]);
    assert!(json.contains("\"attack\":\"flood\""), "{json}");
    assert!(
        json.contains("\"attacker_sources\":\"127.0.0.2\""),
        "{json}"
    );
    assert_eq!(num(&json, "attackers"), 1.0, "{json}");
    assert_eq!(num(&json, "connections_established"), 1.0, "{json}");
    assert_eq!(num(&json, "attackers_named"), 1.0, "{json}");
    let sent = num(&json, "attack_lines_sent");
    assert!((100.0..=301.0).contains(&sent), "{json}");
    assert_eq!(num(&json, "attack_bytes_sent"), sent * 100.0, "{json}");
    // Each of the 3 bystanders, for the attack and a drain of well under 4 s.
    let heard = num(&json, "attack_lines_to_bystanders");
    assert!(heard > 0.0 && heard <= 3.0 * (20.0 + 10.0 * 5.5), "{json}");
    // The flooder reads: the bystanders' chat reaches it too.
    assert!(num(&json, "attack_lines_received") > 100.0, "{json}");
    assert!(json.contains("\"attack_errors_by_code\":{}"), "{json}");
}

#[test]
fn abuse_partial_lines_from_one_address_meet_the_address_limit() {
    // 60 connections from 127.0.0.2 each send an unfinished line: the server admits the
    // first 50 (its default --max-per-address) and turns the other 10 away.
    let json = abuse_run(&[
        "--attack",
        "partial",
        "--attackers",
        "60",
        "--attacker-sources",
        "127.0.0.2",
        "--line-bytes",
        "1000",
    ]);
    assert_eq!(num(&json, "connects_started"), 60.0, "{json}");
    assert_eq!(num(&json, "connections_admitted"), 50.0, "{json}");
    assert_eq!(num(&json, "refused_before_hello"), 10.0, "{json}");
    assert_eq!(num(&json, "open_at_end"), 50.0, "{json}");
    assert!(
        json.contains("\"attack_byes_by_reason\":{\"address-limit\":10}"),
        "{json}"
    );
    assert_eq!(num(&json, "attack_lines_sent"), 0.0, "{json}");
    assert!(num(&json, "attack_bytes_sent") >= 50_000.0, "{json}");
}

/// A certificate made by `parley-loadgen make-cert` in a directory of its own (under
/// the system's temporary one), removed when dropped.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    /// Makes a fresh CA and server certificate for `localhost`; `tag` keeps the
    /// directories of tests running at the same time apart.
    fn new(tag: &str) -> Certs {
        let dir =
            std::env::temp_dir().join(format!("parley-loadgen-smoke-{tag}-{}", std::process::id()));
        let out = loadgen(&["make-cert", &dir.display().to_string()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "make-cert failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("--tls --ca "), "{stdout}");
        Certs { dir }
    }

    /// The CA's file, for the loadgen's --ca.
    fn ca(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    /// A passing run of `scenario` over TLS to `addr`, trusting this CA, with `options`;
    /// its JSON report.
    fn passing_run(&self, scenario: &str, addr: &str, options: &[&str]) -> String {
        let ca = self.ca();
        let mut args = vec![scenario, "--addr", addr, "--tls", "--ca", &ca];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--timeout", "60s", "--json", "--quiet"]);
        passing_run(&args)
    }

    /// A server of the loadgen's build with a TLS listener on an ephemeral port, using
    /// this certificate, and `flags`; the address of its TLS listener.
    fn server(&self, flags: &[&str]) -> (TestServer, String) {
        let cert = self.dir.join("cert.pem").display().to_string();
        let key = self.dir.join("key.pem").display().to_string();
        let mut all = vec![
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ];
        all.extend_from_slice(flags);
        let server = start_server(&all);
        let addr = server
            .tls_addr
            .expect("the server reports its TLS listener")
            .to_string();
        (server, addr)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn tls_fanout_delivers_everything_exactly_once_in_order() {
    let certs = Certs::new("fanout");
    let (_server, addr) = certs.server(&[]);
    let json = certs.passing_run(
        "fanout",
        &addr,
        &[
            ["--clients", "200", "--senders", "10"].as_slice(),
            &RATE_400,
        ]
        .concat(),
    );
    assert!(
        json.contains(r#""transport":"tls (server name localhost)""#),
        "{json}"
    );
    assert_zero(&json, &DELIVERY_FAULTS);
    assert_eq!(num(&json, "ready"), 200.0, "{json}");
    assert_eq!(num(&json, "handshakes"), 200.0, "{json}");
    assert_eq!(lat_count(&json, "handshake_time"), 200.0, "{json}");
    // 400 msg/s for 2 s, each to 199 other members.
    assert!(
        num(&json, "deliveries") > 100_000.0,
        "too few deliveries: {json}"
    );
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn tls_idle_reports_the_servers_memory_per_connection() {
    let certs = Certs::new("idle");
    let (server, addr) = certs.server(&[]);
    let pid = server.pid().to_string();
    let json = certs.passing_run(
        "idle",
        &addr,
        &[
            "--clients",
            "300",
            "--duration",
            "500ms",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(num(&json, "handshakes"), 300.0, "{json}");
    assert_eq!(num(&json, "open_at_end"), 300.0, "{json}");
    // Each connection holds a TLS session besides its own state: some KiB, well under
    // a MiB.
    let per = num(&json, "server_bytes_per_connection");
    assert!(per > 0.0 && per < 1024.0 * 1024.0, "{json}");
    assert!(num(&json, "server_rss_after_setup") > num(&json, "server_rss_before"));
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn tls_join_storm_reports_the_handshake_rate() {
    let certs = Certs::new("join-storm");
    let (_server, addr) = certs.server(&[]);
    let json = certs.passing_run("join-storm", &addr, &["--clients", "300"]);
    assert_eq!(num(&json, "named"), 300.0, "{json}");
    assert_eq!(num(&json, "handshakes"), 300.0, "{json}");
    let handshakes = num(&json, "handshakes_per_s");
    let named = num(&json, "named_per_s");
    // Every client is named after its handshake: the handshakes were all done first.
    assert!(
        handshakes > 0.0 && named > 0.0 && handshakes >= named,
        "{json}"
    );
    assert!(json.contains("\"passed\":true"), "{json}");
}

#[test]
fn tls_with_a_ca_that_did_not_sign_the_servers_certificate_fails_at_once() {
    let certs = Certs::new("server");
    let other = Certs::new("other-ca");
    let (server, addr) = certs.server(&[]);
    let ca = other.ca();
    let out = loadgen(&["fanout", "--addr", &addr, "--tls", "--ca", &ca, "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "error: TLS handshake with {addr} failed: invalid peer certificate"
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // The plain port does not speak TLS: said as plainly.
    let plain = server.addr.to_string();
    let out = loadgen(&[
        "fanout",
        "--addr",
        &plain,
        "--tls",
        "--ca",
        &certs.ca(),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is --addr the server's TLS port"),
        "{stderr}"
    );
}

/// Runs `scenario` (its name and options) against a port that was free a moment ago (nothing
/// listens on it now), expects it to stop at once with exit 2 and no report, and
/// returns the port's address and the first line on stderr.
fn run_against_nothing(scenario: &[&str]) -> (String, String) {
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let mut args = scenario.to_vec();
    args.extend(["--addr", &addr, "--quiet"]);
    let out = loadgen(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no report for a run that could not start: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let first = stderr.lines().next().unwrap_or_default().to_string();
    (addr, first)
}

#[test]
fn a_server_that_is_not_running_is_said_in_the_first_line() {
    let (addr, first) = run_against_nothing(&["fanout", "--clients", "300"]);
    assert_eq!(
        first,
        format!("error: cannot connect to {addr}: connection refused (is parley-server running?)")
    );
}

/// A tiny stand-in server that speaks just enough of the protocol for `fanout`,
/// `board` and `login-storm`, with deliberate faults. It relays room messages so that,
/// per receiver, a sender's message 3 is dropped, message 5 is sent twice and messages
/// 7 and 8 swap places; it numbers each connection's posts 1, 2, 3, 3, 5, 6, ...: the
/// fourth post gets the third's id again; it accepts every `/register` and refuses the
/// second `/login` it gets with `ERR throttled`.
fn faulty_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr").to_string();
    let members: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let logins: Arc<AtomicU64> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let members = Arc::clone(&members);
            let logins = Arc::clone(&logins);
            std::thread::spawn(move || serve_faulty(stream, members, logins));
        }
    });
    addr
}

fn serve_faulty(stream: TcpStream, members: Arc<Mutex<Vec<TcpStream>>>, logins: Arc<AtomicU64>) {
    let mut out = stream.try_clone().expect("clone");
    let reader = BufReader::new(stream);
    let _ = out.write_all(b"HELLO parley 1 faulty\n");
    let (mut name, mut room) = (String::new(), String::new());
    let (mut n, mut held, mut posts) = (0u64, None::<String>, 0u64);
    for line in reader.lines() {
        let Ok(line) = line else { break };
        let mut words = line.split(' ');
        let reply = match (words.next().unwrap_or(""), words.next()) {
            ("/name", Some(x)) => {
                name = x.to_string();
                format!("WELCOME {name} hi\nJOIN lobby {name}\n")
            }
            ("/create" | "/join", Some(r)) => {
                room = r.to_string();
                members
                    .lock()
                    .expect("lock")
                    .push(out.try_clone().expect("clone"));
                format!("JOIN {room} {name}\n")
            }
            ("/leave", Some("lobby")) => format!("LEAVE lobby {name} left\n"),
            ("/register", Some(x)) => {
                name = x.to_string();
                format!("WELCOME {name} hi\nJOIN lobby {name}\nREGISTERED {name}\n")
            }
            ("/login", Some(x)) => {
                if logins.fetch_add(1, Ordering::Relaxed) == 1 {
                    "ERR throttled too many logins\n".to_string()
                } else {
                    name = x.to_string();
                    format!("WELCOME {name} hi\nJOIN lobby {name}\n")
                }
            }
            ("/quit", _) => {
                let _ = out.write_all(b"BYE quit bye\n");
                break;
            }
            ("/post", Some(r)) => {
                posts += 1;
                let id = if posts == 4 { 3 } else { posts };
                format!("POSTED {r} {id}\n")
            }
            (w, _) if w.starts_with('/') => String::new(),
            _ => {
                let msg = format!("MSG {room} {name} {line}\n");
                let lines = match n {
                    3 => String::new(),
                    5 => format!("{msg}{msg}"),
                    7 => {
                        held = Some(msg);
                        String::new()
                    }
                    8 => format!("{msg}{}", held.take().unwrap_or_default()),
                    _ => msg,
                };
                n += 1;
                let me = out.peer_addr().ok();
                for m in members.lock().expect("lock").iter_mut() {
                    if m.peer_addr().ok() != me {
                        let _ = m.write_all(lines.as_bytes());
                    }
                }
                String::new()
            }
        };
        if out.write_all(reply.as_bytes()).is_err() {
            break;
        }
    }
}

/// Runs `scenario` (its name and options) briefly against a fresh faulty stand-in
/// server, expects the run to fail, and returns its JSON report.
fn failed_faulty_run(scenario: &[&str]) -> String {
    let addr = faulty_server();
    let mut args = scenario.to_vec();
    args.extend([
        "--addr",
        &addr,
        "--rate",
        "100",
        "--warmup",
        "0s",
        "--duration",
        "500ms",
        "--drain",
        "2s",
        "--timeout",
        "30s",
        "--json",
        "--quiet",
    ]);
    let out = loadgen(&args);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "a faulty run must fail: {json}");
    json
}

#[test]
fn loss_duplicates_and_reordering_are_reported() {
    let json = failed_faulty_run(&["fanout", "--clients", "4", "--senders", "1"]);
    // Three receivers, each missing one message, getting one twice and two swapped.
    assert_eq!(num(&json, "lost"), 3.0, "{json}");
    assert_eq!(num(&json, "duplicates"), 3.0, "{json}");
    assert_eq!(num(&json, "reordered"), 3.0, "{json}");
    assert_eq!(num(&json, "not_arrived"), 0.0, "{json}");
    assert!(json.contains("\"passed\":false"), "{json}");
}

#[test]
fn a_repeated_post_id_is_reported() {
    let json = failed_faulty_run(&["board", "--clients", "1", "--rooms", "1"]);
    assert_eq!(num(&json, "repeated_ids"), 1.0, "{json}");
    // Every post still got exactly one answer, and no other check is tripped.
    assert_zero(
        &json,
        &[
            "missing_posted",
            "unexpected_posted",
            "ids_not_increasing",
            "ids_out_of_range",
        ],
    );
    assert_eq!(
        num(&json, "posted_total"),
        num(&json, "posts_total"),
        "{json}"
    );
    assert!(json.contains("\"repeated_ids\":\"1 POSTED ids"), "{json}");
    assert!(json.contains("\"passed\":false"), "{json}");
}

#[test]
fn a_refused_login_is_reported() {
    let json = failed_faulty_run(&["login-storm", "--clients", "4", "--bystanders", "2"]);
    assert_eq!(num(&json, "registered"), 4.0, "{json}");
    assert_eq!(num(&json, "logged_in"), 3.0, "{json}");
    assert_eq!(num(&json, "logins_refused"), 1.0, "{json}");
    assert!(
        json.contains("\"refused_by_code\":{\"throttled\":1}"),
        "{json}"
    );
    assert!(
        json.contains("\"refused_logins\":\"1 logins were refused (throttled 1)\""),
        "{json}"
    );
    // The refused account quit: its disconnect is the loadgen's own doing.
    assert_eq!(num(&json, "logins_lost"), 0.0, "{json}");
    assert!(json.contains("\"passed\":false"), "{json}");
}

/// Where a server started with `--irc-listen 127.0.0.1:0` serves IRC: the address of
/// its `listening for IRC on ADDR` log line, which may come before or after the one
/// that the harness waits for.
fn irc_addr(server: &TestServer) -> String {
    const NEEDLE: &str = "listening for IRC on ";
    let log = server.log();
    let line = match log.lines().find(|l| l.contains(NEEDLE)) {
        Some(line) => line.to_string(),
        None => server.expect_log(NEEDLE),
    };
    let rest = line.split(NEEDLE).nth(1).unwrap_or_default();
    let addr = rest.split_whitespace().next().unwrap_or_default();
    addr.parse::<std::net::SocketAddr>()
        .unwrap_or_else(|_| panic!("no IRC address in {line:?}"))
        .to_string()
}

/// A server of the loadgen's build with its IRC gateway on an ephemeral port; the
/// gateway's address.
fn irc_server(flags: &[&str]) -> (TestServer, String) {
    let mut all = vec!["--irc-listen", "127.0.0.1:0"];
    all.extend_from_slice(flags);
    let server = start_server(&all);
    let addr = irc_addr(&server);
    (server, addr)
}

#[test]
fn irc_fanout_through_the_gateway_delivers_everything_exactly_once_in_order() {
    let (_server, irc) = irc_server(&[]);
    let json = rate_400_fanout_run(&irc, &["--protocol", "irc"]);
    assert!(json.contains(r#""protocol":"irc""#), "{json}");
    assert!(json.contains("\"errors_by_code\":{}"), "{json}");
    assert!(!json.contains("targets"), "{json}");
}

#[test]
fn mixed_fanout_puts_irc_and_parley_clients_in_one_room() {
    let (server, irc) = irc_server(&[]);
    let addr = server.addr.to_string();
    let json = rate_400_fanout_run(&addr, &["--protocol", "mixed", "--irc-addr", &irc]);
    let said = format!(
        r#""protocol":"mixed: 150 IRC clients to {irc}, 150 parley clients to {addr}, in the same rooms""#
    );
    assert!(json.contains(&said), "{json}");
    assert!(json.contains("\"errors_by_code\":{}"), "{json}");
}

#[test]
fn irc_idle_and_join_storm_through_the_gateway() {
    let (server, irc) = irc_server(&[]);
    let pid = server.pid().to_string();
    let json = passing_run(&[
        "idle",
        "--protocol",
        "irc",
        "--addr",
        &irc,
        "--clients",
        "300",
        "--duration",
        "500ms",
        "--server-pid",
        &pid,
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ]);
    assert_eq!(num(&json, "open_at_end"), 300.0, "{json}");
    let per = num(&json, "server_bytes_per_connection");
    assert!(per > 0.0 && per < 1024.0 * 1024.0, "{json}");
    let json = passing_run(&[
        "join-storm",
        "--protocol",
        "irc",
        "--addr",
        &irc,
        "--clients",
        "300",
        "--timeout",
        "60s",
        "--json",
        "--quiet",
    ]);
    assert_eq!(num(&json, "named"), 300.0, "{json}");
    assert_eq!(num(&json, "ready"), 300.0, "{json}");
    assert!(num(&json, "named_per_s") > 0.0, "{json}");
}

#[test]
fn an_irc_server_that_is_not_running_is_said_in_the_first_line() {
    let (addr, first) = run_against_nothing(&["join-storm", "--protocol", "irc"]);
    assert_eq!(
        first,
        format!(
            "error: cannot connect to {addr}: connection refused (is the IRC server running? parley-server serves IRC with --irc-listen)"
        )
    );
}

#[test]
fn irc_runs_against_an_ordinary_irc_server() {
    let addr = ordinary_irc_server();
    let json = passing_run(&[
        "fanout",
        "--protocol",
        "irc",
        "--addr",
        &addr,
        "--clients",
        "20",
        "--senders",
        "3",
        "--rate",
        "150",
        "--warmup",
        "0s",
        "--duration",
        "1s",
        "--drain",
        "10s",
        "--timeout",
        "30s",
        "--json",
        "--quiet",
    ]);
    assert_zero(&json, &DELIVERY_FAULTS);
    assert_eq!(num(&json, "ready"), 20.0, "{json}");
    // 150 messages, each to 19 other members.
    assert_eq!(num(&json, "deliveries_total"), 150.0 * 19.0, "{json}");
    let json = passing_run(&[
        "join-storm",
        "--protocol",
        "irc",
        "--addr",
        &addr,
        "--clients",
        "30",
        "--timeout",
        "30s",
        "--json",
        "--quiet",
    ]);
    assert_eq!(num(&json, "ready"), 30.0, "{json}");
}

/// A tiny stand-in for an ordinary IRC server, with none of parley's ways: it answers
/// registration only after the client's `PONG` to its `PING` cookie, sends the burst an
/// IRC server sends (ISUPPORT with NICKLEN=9, LUSERS, no MOTD: 422, a notice, a MODE),
/// joins nobody to anything, confirms a join in the trailing form with NAMES and no
/// topic, and relays channel messages with IRCv3 tags in front. It refuses (`ERROR`,
/// then closes) any client line longer than 512 bytes or not ending in CRLF, and a nick
/// longer than 9 (432).
fn ordinary_irc_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr").to_string();
    let channels: Channels = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let channels = Arc::clone(&channels);
            std::thread::spawn(move || serve_irc(stream, &channels));
        }
    });
    addr
}

/// The stand-in IRC server's channels: each member's nick and connection.
type Channels = Arc<Mutex<std::collections::HashMap<String, Vec<(String, TcpStream)>>>>;

fn serve_irc(stream: TcpStream, channels: &Channels) {
    let mut out = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let _ = out.write_all(b":irc.test NOTICE * :*** Looking up your hostname\r\n");
    let (mut nick, mut user, mut registered) = (String::new(), false, false);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if raw.len() > 512 || !raw.ends_with(b"\r\n") {
            let _ = out.write_all(b"ERROR :Closing link (bad line)\r\n");
            break;
        }
        let line = String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned();
        let (command, params) = line.split_once(' ').unwrap_or((&line, ""));
        let arg = params.split(' ').next().unwrap_or("");
        let reply = match command {
            "NICK" if arg.len() > 9 => format!(":irc.test 432 * {arg} :Erroneous nickname\r\n"),
            "NICK" => {
                nick = arg.to_string();
                String::new()
            }
            "USER" => {
                user = true;
                String::new()
            }
            "PONG" if !registered && params.trim_start_matches(':') == "cookie" => {
                registered = true;
                format!(
                    ":irc.test 001 {nick} :Welcome {nick}!~{nick}@127.0.0.1\r\n\
                     :irc.test 002 {nick} :Your host is irc.test\r\n\
                     :irc.test 005 {nick} NICKLEN=9 CHANTYPES=# :are supported by this server\r\n\
                     :irc.test 251 {nick} :There are 2 users and 0 services on 1 server\r\n\
                     :irc.test 422 {nick} :MOTD File is missing\r\n\
                     :irc.test NOTICE {nick} :welcome to the stand-in\r\n\
                     :{nick} MODE {nick} :+i\r\n"
                )
            }
            _ if !registered => ":irc.test 451 * :You have not registered\r\n".to_string(),
            "JOIN" => {
                let join = format!(":{nick}!~{nick}@127.0.0.1 JOIN :{arg}\r\n");
                let mut channels = channels.lock().expect("lock");
                let members = channels.entry(arg.to_string()).or_default();
                members.push((nick.clone(), out.try_clone().expect("clone")));
                let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
                let names = format!(
                    ":irc.test 353 {nick} = {arg} :{}\r\n:irc.test 366 {nick} {arg} :End of NAMES list\r\n",
                    names.join(" ")
                );
                for (member, stream) in members.iter_mut() {
                    if *member != nick {
                        let _ = stream.write_all(join.as_bytes());
                    }
                }
                format!("{join}:irc.test 331 {nick} {arg} :No topic is set\r\n{names}")
            }
            "PRIVMSG" => {
                let relayed =
                    format!("@time=2026-12-06T12:00:00.000Z :{nick}!~{nick}@127.0.0.1 {line}\r\n");
                let mut channels = channels.lock().expect("lock");
                for (member, stream) in channels.get_mut(arg).into_iter().flatten() {
                    if *member != nick {
                        let _ = stream.write_all(relayed.as_bytes());
                    }
                }
                String::new()
            }
            "QUIT" => {
                let _ = out.write_all(b"ERROR :Closing link (quit)\r\n");
                break;
            }
            _ => format!(":irc.test 421 {nick} {command} :Unknown command\r\n"),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            break;
        }
        if user && !nick.is_empty() && !registered && command != "PONG" {
            // Registration waits for the answer to this cookie, as on servers that
            // check that a client is not spoofing its address.
            let _ = out.write_all(b"PING :cookie\r\n");
            user = false;
        }
    }
}
