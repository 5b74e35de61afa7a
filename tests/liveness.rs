//! Liveness tests over real TCP with short timers: the server `PING` after
//! `--ping-after` of silence (decimal token), `/pong` or any other complete line keeping
//! the connection (blank lines and refused lines too, a partial line not), `BYE timeout`
//! with `LEAVE <room> <name> timeout` in every room of the client, pings of waiting
//! clients, and `--login-timeout` (for admitted clients only, counted from `HELLO`).

mod common;

use std::time::{Duration, Instant};

use common::{reset_on_close, TestClient, TestServer};

/// Ping settings short enough to keep the file fast: a `PING` after 400 ms of
/// silence, `BYE timeout` 400 ms after that.
const PING_ARGS: [&str; 4] = ["--ping-after", "400ms", "--ping-timeout", "400ms"];

/// The login timeout of the login tests.
const LOGIN_ARGS: [&str; 2] = ["--login-timeout", "400ms"];

/// Lower bound for a 400 ms timer as seen by the client (timers fire late, not early;
/// a little slack for clocks).
const AT_LEAST: Duration = Duration::from_millis(300);

/// Longer than the 400 ms timers: a client that hears nothing for this long was not
/// timed out.
const LONGER_THAN_TIMERS: Duration = Duration::from_millis(700);

/// A server with the short ping settings plus `extra` arguments.
fn ping_server(extra: &[&str]) -> TestServer {
    let mut args = PING_ARGS.to_vec();
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// Expects `PING <token>` with a decimal token, and returns the token.
fn expect_ping(client: &mut TestClient) -> String {
    let line = client.expect_prefix("PING ");
    let token = line["PING ".len()..].to_string();
    assert!(
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()),
        "PING token is not a decimal number: {line:?}"
    );
    token
}

/// Expects `PING` and answers it with `/pong <token>`.
fn answer_ping(client: &mut TestClient) {
    let token = expect_ping(client);
    client.send(&format!("/pong {token}"));
}

#[test]
fn idle_client_gets_ping_with_a_decimal_token_after_ping_after() {
    let server = ping_server(&[]);
    let start = Instant::now();
    let mut alice = server.login("alice");
    expect_ping(&mut alice);
    let waited = start.elapsed();
    assert!(waited >= AT_LEAST, "PING after only {waited:?}");
}

#[test]
fn answering_ping_with_pong_keeps_the_connection() {
    let server = ping_server(&[]);
    let mut alice = server.login("alice");
    answer_ping(&mut alice);
    // Not BYE: the connection lives on and is pinged again after more silence.
    answer_ping(&mut alice);
    alice.expect_nothing_pending();
}

#[test]
fn unanswered_ping_gets_bye_timeout_and_every_room_sees_leave_timeout() {
    let server = ping_server(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/create games");
    alice.expect_line("JOIN games alice");
    bob.send("/join games");
    bob.expect_line("JOIN games bob");
    alice.expect_line("JOIN games bob");
    // Bob's deadline is later than alice's; keep him alive first.
    answer_ping(&mut bob);
    expect_ping(&mut alice);
    alice.expect_bye("timeout");
    let mut leaves = vec![
        bob.next_line_answering_pings(),
        bob.next_line_answering_pings(),
    ];
    leaves.sort();
    assert_eq!(
        leaves,
        ["LEAVE games alice timeout", "LEAVE lobby alice timeout"]
    );
}

/// A client timed out while its socket is full (it does not read, so it never sees the
/// `PING`) is reset once its `BYE timeout` could not be written within
/// `--shutdown-grace`: closed normally, the kernel would keep the output for a peer
/// that does not take it.
#[test]
fn a_client_timed_out_with_its_socket_full_is_reset() {
    let mut args = PING_ARGS.to_vec();
    args.extend([
        "--shutdown-grace",
        "300ms",
        "--send-buffer",
        "4KiB",
        "--max-sendq",
        "16MiB",
        // Alice fills carol's socket on purpose: flood control is lifted.
        "--flood-rate",
        "0",
    ]);
    // The debug log says when the server gives up on carol's output.
    let server = TestServer::start_with_log(&args, "info,parley::server=debug");
    let mut alice = server.login("alice");
    let mut carol = server.login_with_recv_buffer("carol", 4096);
    alice.expect_line("JOIN lobby carol");
    alice.send_raw(format!("{}\n", "x".repeat(1000)).repeat(500).as_bytes());
    while alice.next_line_answering_pings() != "LEAVE lobby carol timeout" {}
    // Carol reads only once the server has given up: reading now, she would take it.
    server.expect_log("closed (output not taken in time)");
    assert_eq!(carol.how_it_ends(), "ConnectionReset");
}

#[test]
fn blank_line_counts_as_life() {
    let server = ping_server(&[]);
    let mut alice = server.login("alice");
    expect_ping(&mut alice);
    alice.send("   ");
    answer_ping(&mut alice);
    alice.expect_nothing_pending();
}

#[test]
fn line_refused_as_bad_text_counts_as_life() {
    let server = ping_server(&[]);
    let mut alice = server.login("alice");
    expect_ping(&mut alice);
    alice.send_raw(b"bell\x07\n");
    alice.expect_err("bad-text");
    answer_ping(&mut alice);
    alice.expect_nothing_pending();
}

#[test]
fn line_refused_as_too_long_counts_as_life() {
    let server = ping_server(&["--max-line", "512"]);
    let mut alice = server.login("alice");
    expect_ping(&mut alice);
    alice.send(&"x".repeat(1000));
    alice.expect_err("line-too-long");
    answer_ping(&mut alice);
    alice.expect_nothing_pending();
}

#[test]
fn partial_line_does_not_count_as_life() {
    let server = ping_server(&[]);
    let mut alice = server.login("alice");
    expect_ping(&mut alice);
    alice.send_raw(b"/pong but no newline");
    alice.expect_bye("timeout");
}

#[test]
fn unnamed_client_is_pinged_too() {
    let server = ping_server(&[]);
    let mut client = server.greeted();
    answer_ping(&mut client);
    client.send("/name alice");
    client.expect_head("WELCOME alice");
}

#[test]
fn waiting_client_is_pinged_and_times_out_without_an_answer() {
    let server = ping_server(&["--max-clients", "1"]);
    let mut alice = server.login("alice");
    let mut waiting = server.queued(1);
    expect_ping(&mut waiting);
    // Alice pongs so that her slot does not free up and admit the waiting client.
    answer_ping(&mut alice);
    waiting.expect_bye("timeout");
}

#[test]
fn waiting_client_that_answers_ping_keeps_its_place() {
    let server = ping_server(&["--max-clients", "1"]);
    let mut alice = server.login("alice");
    let mut waiting = server.queued(1);
    answer_ping(&mut waiting);
    answer_ping(&mut alice);
    alice.send("/quit");
    alice.expect_bye("quit");
    let line = waiting.next_line_answering_pings();
    assert!(
        line.starts_with("HELLO parley 1"),
        "expected HELLO, got {line:?}"
    );
}

#[test]
fn unnamed_client_gets_bye_timeout_after_login_timeout() {
    let server = TestServer::start(&LOGIN_ARGS);
    let mut client = server.connect();
    client.expect_head("HELLO parley 1");
    let hello = Instant::now();
    client.expect_bye("timeout");
    let waited = hello.elapsed();
    assert!(
        waited >= AT_LEAST,
        "BYE timeout only {waited:?} after HELLO"
    );
}

#[test]
fn named_client_is_not_hit_by_the_login_timeout() {
    let server = TestServer::start(&LOGIN_ARGS);
    let mut alice = server.login("alice");
    alice.expect_silence(LONGER_THAN_TIMERS);
    alice.expect_nothing_pending();
}

#[test]
fn waiting_client_login_timer_starts_at_its_hello() {
    let server = TestServer::start(&[LOGIN_ARGS[0], LOGIN_ARGS[1], "--max-clients", "1"]);
    let mut alice = server.login("alice");
    let mut waiting = server.queued(1);
    // Waiting longer than the login timeout does not time the client out...
    waiting.expect_silence(LONGER_THAN_TIMERS);
    alice.send("/quit");
    alice.expect_bye("quit");
    waiting.expect_head("HELLO parley 1");
    let hello = Instant::now();
    // ...and after HELLO it gets the whole login timeout.
    waiting.expect_bye("timeout");
    let waited = hello.elapsed();
    assert!(
        waited >= AT_LEAST,
        "BYE timeout only {waited:?} after HELLO"
    );
}

/// Descriptors the server process holds open.
fn open_descriptors(server: &TestServer) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .expect("the server's /proc/PID/fd")
        .count()
}

#[test]
fn a_client_that_closes_and_crashes_at_once_leaves_no_socket_behind() {
    // Trusted: the pings below would run into flood control otherwise.
    let server = TestServer::start(&["--trusted", "127.0.0.1/32"]);
    let mut bob = server.login("bob");
    let before = open_descriptors(&server);
    let mut carol = server.login("carol");
    let logged_in = Instant::now();
    bob.expect_line("JOIN lobby carol");
    // Past the server's NEWCOMER_AGE (1 s), a client's departure is handled in the
    // turn that read it, before that turn's writes.
    while logged_in.elapsed() < Duration::from_millis(1100) {
        carol.send("/ping wait");
        carol.skip_until("PONG wait");
    }
    // Stopped, the server finds all of it at once: a line to lobby, still to be written
    // to carol when the core lets her go; the end of her input; and the reset that
    // makes that write fail.
    server.pause();
    bob.send("/say lobby bye carol");
    carol.shutdown_write();
    reset_on_close(carol.stream());
    drop(carol);
    server.resume();
    bob.expect_line("LEAVE lobby carol disconnected");
    // A round trip later, the turn that wrote to her is over.
    bob.send("/ping after");
    bob.skip_until("PONG after");
    assert_eq!(
        open_descriptors(&server),
        before,
        "the server still holds carol's socket"
    );
}
