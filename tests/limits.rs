//! Abuse limits over real TCP (PROTOCOL.md, "Abuse limits"): `--max-per-address` counts
//! waiting connections and turns one more away with `BYE address-limit`, other
//! addresses keep their own count, and `--trusted` networks are exempt from it and from
//! login throttling. Several addresses come from 127.0.0.0/8, which is all loopback.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{send_and_close, TestClient, TestServer};

const HOME: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const NEIGHBOUR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[test]
fn an_address_holds_at_most_max_per_address_connections_waiting_ones_included() {
    let server = TestServer::start(&["--max-per-address", "2", "--max-clients", "1"]);
    let mut admitted = server.connect_from(HOME);
    admitted.expect_prefix("HELLO parley 1");
    let mut waiting = server.connect_from(HOME);
    waiting.expect_prefix("QUEUED 1 ");
    let mut third = server.connect_from(HOME);
    third.expect_line("BYE address-limit too many connections from your address");
    third.expect_closed();

    // Another address has a count of its own.
    let mut neighbour = server.connect_from(NEIGHBOUR);
    neighbour.expect_prefix("QUEUED 2 ");

    // When a connection goes, its address may open another.
    admitted.send("/quit");
    admitted.expect_prefix("BYE quit");
    waiting.expect_prefix("HELLO parley 1");
    let mut again = server.connect_from(HOME);
    again.expect_prefix("QUEUED 2 ");
    let mut over = server.connect_from(HOME);
    over.expect_prefix("BYE address-limit ");
    over.expect_closed();
    waiting.expect_nothing_pending();
}

#[test]
fn trusted_networks_are_exempt_from_the_address_limit() {
    let server = TestServer::start(&["--max-per-address", "1", "--trusted", "127.0.0.2/32"]);
    let mut trusted: Vec<_> = (0..5).map(|_| server.connect_from(NEIGHBOUR)).collect();
    for client in &mut trusted {
        client.expect_prefix("HELLO parley 1");
    }
    let mut first = server.connect_from(HOME);
    first.expect_prefix("HELLO parley 1");
    let mut second = server.connect_from(HOME);
    second.expect_prefix("BYE address-limit ");
}

#[test]
fn trusted_networks_are_exempt_from_login_throttling() {
    for (trusted, second_answer) in [(false, "throttled"), (true, "bad-login")] {
        let mut flags = vec![
            "--login-attempts",
            "1",
            "--hash-memory",
            "64",
            "--hash-passes",
            "1",
        ];
        if trusted {
            flags.extend(["--trusted", "127.0.0.0/8"]);
        }
        let server = TestServer::start(&flags);
        let mut client = server.connect_from(HOME);
        client.expect_prefix("HELLO parley 1");
        client.send("/login nobody some-password");
        client.expect_err("bad-login");
        client.send("/login nobody some-password");
        client.expect_err(second_answer);
    }
}

#[test]
fn a_bad_trusted_network_stops_the_start_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_parley-server"))
        .args(["--listen", "127.0.0.1:0", "--data", ":memory:"])
        .args(["--trusted", "127.0.0.0/8,10.0.0.1/8"])
        .output()
        .expect("run the server");
    assert!(!out.status.success(), "the server must refuse to start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("10.0.0.1/8") && stderr.contains("beyond its prefix"),
        "{stderr}"
    );
}

#[test]
fn a_busy_address_stops_the_start_naming_its_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_parley-server"))
        .args(["--listen", "127.0.0.1:0", "--data", ":memory:"])
        .args(["--irc-listen", &addr])
        .output()
        .expect("run the server");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr} (--irc-listen)")),
        "{stderr}"
    );
}

#[test]
fn an_open_file_limit_with_no_room_for_a_client_stops_the_start() {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley-server"));
    command.args(["--listen", "127.0.0.1:0", "--data", ":memory:"]);
    // SAFETY: setrlimit(2) in the child between fork and exec, with a valid struct.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 100,
                rlim_max: 100,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().expect("run the server");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the open-file limit (100) leaves no descriptor for a client"),
        "{stderr}"
    );
}

#[test]
fn rooms_count_for_an_account_from_any_address_and_for_a_guests_address() {
    let server = TestServer::start(&[
        "--max-created",
        "1",
        "--hash-memory",
        "64",
        "--hash-passes",
        "1",
    ]);
    let mut alice = server.connect_from(HOME);
    alice.expect_prefix("HELLO parley 1");
    alice.send("/register alice correct-horse-battery");
    alice.expect_prefix("WELCOME alice ");
    alice.expect_line("JOIN lobby alice");
    alice.expect_line("REGISTERED alice");
    alice.send("/create one");
    alice.expect_line("JOIN one alice");
    alice.send("/quit");
    alice.expect_prefix("BYE quit");
    alice.expect_closed();

    // The room went with its last member: alice may create again, from anywhere,
    // but only one at a time.
    let mut alice = server.connect_from(NEIGHBOUR);
    alice.expect_prefix("HELLO parley 1");
    alice.send("/login alice correct-horse-battery");
    alice.expect_prefix("WELCOME alice ");
    alice.expect_line("JOIN lobby alice");
    alice.send("/create two");
    alice.expect_line("JOIN two alice");
    alice.send("/create three");
    alice.expect_err("limit-reached");

    // A guest on alice's address counts for that address, not for her account.
    let mut guest = server.connect_from(NEIGHBOUR);
    guest.expect_prefix("HELLO parley 1");
    guest.send("/name gus");
    guest.expect_prefix("WELCOME gus");
    guest.skip_until("JOIN lobby gus");
    guest.send("/create three");
    guest.expect_line("JOIN three gus");
    guest.send("/create four");
    guest.expect_err("limit-reached");
}

#[test]
fn posts_beyond_post_rate_are_throttled_and_the_rest_arrive_in_order() {
    let server = TestServer::start(&["--post-rate", "3"]);
    let [mut poster, mut reader] = server.login_all(["poster", "reader"]);
    for n in 1..=4 {
        poster.send(&format!("/post lobby s{n} body {n}"));
    }
    for n in 1..=3 {
        poster.expect_prefix("POSTED lobby ");
        reader.expect_prefix(&format!("POST lobby {n} poster "));
    }
    poster.expect_err("throttled");
    reader.expect_nothing_pending();
    poster.expect_nothing_pending();
}

/// `alice` writes `lines` lines to the lobby at once; `bob` must get every one, in
/// order. Returns how long that took.
fn flood_and_read(server: &TestServer, lines: usize) -> Duration {
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let all: String = (0..lines).map(|n| format!("line {n}\n")).collect();
    let start = Instant::now();
    alice.send_raw(all.as_bytes());
    for n in 0..lines {
        bob.expect_line(&format!("MSG lobby alice line {n}"));
    }
    let took = start.elapsed();
    alice.expect_nothing_pending();
    took
}

#[test]
fn flood_control_paces_a_burst_and_keeps_every_line_in_order() {
    // 5 at once, then 50 a second: the other 55 of 60 lines take at least 1.1 s.
    let server = TestServer::start(&["--flood-rate", "50", "--flood-burst", "5"]);
    let took = flood_and_read(&server, 60);
    assert!(took >= Duration::from_millis(1050), "{took:?}");
}

/// A client that pipelines more than a burst and closes its socket at once, without
/// reading a line, has every line handled: its close makes the server's next write to
/// it fail, and what flood control held back is still read, in order, down to its
/// `/quit`.
#[test]
fn lines_held_by_flood_control_are_handled_after_the_client_has_closed() {
    // The debug log says when the connection is gone.
    let server = TestServer::start_with_log(
        &["--flood-rate", "50", "--flood-burst", "5"],
        "info,parley::server=debug",
    );
    let mut bob = server.login("bob");
    let mut script = String::from("/name alice\n");
    for n in 0..40 {
        script.push_str(&format!("line {n}\n"));
    }
    script.push_str("/quit gone\n");
    send_and_close(server.addr, &script);
    bob.expect_line("JOIN lobby alice");
    for n in 0..40 {
        bob.expect_line(&format!("MSG lobby alice line {n}"));
    }
    bob.expect_line("LEAVE lobby alice quit gone");
    // Its output was lost with its first failed write; once it has quit, its socket
    // goes too, not at the next ping timeout.
    server.expect_log("#2 write failed");
    server.expect_log("#2 closed (connection lost)");
}

#[test]
fn trusted_networks_are_not_paced() {
    // Paced, 12 lines at 2 a second after a burst of 1 would take 5.5 s.
    let server = TestServer::start(&[
        "--flood-rate",
        "2",
        "--flood-burst",
        "1",
        "--trusted",
        "127.0.0.1",
    ]);
    let took = flood_and_read(&server, 12);
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn blank_and_refused_lines_count_against_the_flood_limit() {
    let server = TestServer::start(&["--flood-rate", "4", "--flood-burst", "4"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let start = Instant::now();
    // Two blank lines and two refused ones spend the burst: the message waits for
    // the next quarter second.
    alice.send_raw(b"\n\n/nonsense\n/join a b c\nhello\n");
    alice.expect_err("unknown-command");
    alice.expect_err("bad-args");
    bob.expect_line("MSG lobby alice hello");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(240), "{took:?}");
}

/// Alice sends 100 lines of 1000 bytes to the lobby, which carol never reads (her
/// kernel buffers are small, and so is the server's send buffer): carol's output waits
/// well below `--max-sendq`. Bob reads every line. Returns the server, then alice, bob
/// and carol, still connected.
fn carol_stops_reading(write_timeout: &str) -> (TestServer, [TestClient; 3]) {
    let server = TestServer::start(&[
        "--write-timeout",
        write_timeout,
        "--send-buffer",
        "4KiB",
        // Alice sends faster than flood control allows: it is lifted.
        "--flood-rate",
        "0",
    ]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let carol = server.login_with_recv_buffer("carol", 4096);
    alice.expect_line("JOIN lobby carol");
    bob.expect_line("JOIN lobby carol");
    let pad = "x".repeat(1000);
    for n in 0..100 {
        alice.send(&format!("{n} {pad}"));
    }
    for n in 0..100 {
        bob.expect_line(&format!("MSG lobby alice {n} {pad}"));
    }
    (server, [alice, bob, carol])
}

#[test]
fn a_client_that_takes_no_output_for_the_write_timeout_is_dropped() {
    // 100 KB wait for carol, far below --max-sendq (1 MiB): only the timeout drops her.
    let (_server, [_alice, mut bob, _carol]) = carol_stops_reading("1s");
    bob.expect_line("LEAVE lobby carol sendq");
}

#[test]
fn below_the_write_timeout_a_client_that_stopped_reading_stays() {
    let (_server, [_alice, mut bob, _carol]) = carol_stops_reading("60s");
    bob.expect_nothing_pending();
    bob.send("/users lobby");
    let users = bob.skip_until("USERS lobby");
    assert!(users.contains("carol"), "{users}");
}
