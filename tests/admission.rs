//! Admission tests over real TCP: `--max-clients` (named and unnamed connections count),
//! the waiting queue (`QUEUED` positions 1, 2, ...; first come, first served admission
//! with `HELLO` when a slot frees; waiting clients that leave and those behind moving up;
//! position updates only on change and at most once per second), what a waiting client
//! may send (`ERR queued` for ordinary lines, `/ping`, `/pong`, `/quit` answered, and
//! the precedence of `bad-text` and `line-too-long` over `queued`), and `BYE server-full`
//! past `--max-queue` and with `--max-queue 0`.
//!
//! Pings and login timeouts of waiting clients are in `liveness.rs`.

mod common;

use std::time::{Duration, Instant};

use common::{quit, TestClient, TestServer};

/// A changed position reaches a waiting client within about a second (PROTOCOL.md);
/// allow for a busy machine.
const UPDATE_WITHIN: Duration = Duration::from_secs(3);

/// A server with one slot and a queue of five.
fn one_slot() -> TestServer {
    TestServer::start(&["--max-clients", "1", "--max-queue", "5"])
}

/// Expects the position update `QUEUED <position>` within `UPDATE_WITHIN`.
fn expect_position(client: &mut TestClient, position: usize) {
    let line = client
        .next_line_within(UPDATE_WITHIN)
        .expect("connection closed while waiting for a position update");
    let head = format!("QUEUED {position}");
    assert!(
        line == head || line.starts_with(&format!("{head} ")),
        "expected {head:?} [text], got {line:?}"
    );
}

#[test]
fn connections_beyond_max_clients_wait_at_positions_1_2_3() {
    let server = TestServer::start(&["--max-clients", "2", "--max-queue", "5"]);
    let _alice = server.login("alice");
    let _unnamed = server.greeted();
    let mut first = server.queued(1);
    let mut second = server.queued(2);
    let mut third = server.queued(3);
    first.expect_nothing_pending();
    second.expect_nothing_pending();
    third.expect_nothing_pending();
}

#[test]
fn unnamed_admitted_connections_count_toward_max_clients() {
    let server = one_slot();
    let _unnamed = server.greeted();
    let _waiting = server.queued(1);
}

#[test]
fn waiting_clients_are_admitted_first_come_first_served_with_hello() {
    let server = one_slot();
    let alice = server.login("alice");
    let mut first = server.queued(1);
    let mut second = server.queued(2);
    quit(alice);
    first.expect_head("HELLO parley 1");
    expect_position(&mut second, 1);
    first.send("/name bob");
    first.expect_head("WELCOME bob");
    first.expect_line("JOIN lobby bob");
    quit(first);
    second.expect_head("HELLO parley 1");
    second.send("carol");
    second.expect_head("WELCOME carol");
}

#[test]
fn slot_freed_by_a_disconnect_admits_the_next_waiting_client() {
    let server = one_slot();
    let unnamed = server.greeted();
    let mut waiting = server.queued(1);
    drop(unnamed);
    waiting.expect_head("HELLO parley 1");
}

#[test]
fn waiting_client_that_disconnects_leaves_and_those_behind_move_up() {
    let server = one_slot();
    let alice = server.login("alice");
    let gone = server.queued(1);
    let mut second = server.queued(2);
    let mut third = server.queued(3);
    drop(gone);
    expect_position(&mut second, 1);
    expect_position(&mut third, 2);
    quit(alice);
    second.expect_head("HELLO parley 1");
    expect_position(&mut third, 1);
}

#[test]
fn waiting_client_that_quits_gets_bye_quit_and_leaves_the_queue() {
    let server = one_slot();
    let _alice = server.login("alice");
    let first = server.queued(1);
    let mut second = server.queued(2);
    quit(first);
    expect_position(&mut second, 1);
}

#[test]
fn position_is_not_resent_while_it_is_unchanged() {
    let server = one_slot();
    let _alice = server.login("alice");
    let _first = server.queued(1);
    let mut second = server.queued(2);
    let _third = server.queued(3);
    // Someone queued behind does not change the position: nothing is re-sent.
    second.expect_silence(Duration::from_millis(1500));
}

#[test]
fn position_updates_reach_a_client_at_most_once_per_second() {
    let server = one_slot();
    let _alice = server.login("alice");
    let first = server.queued(1);
    let second = server.queued(2);
    let mut third = server.queued(3);
    drop(first);
    expect_position(&mut third, 2);
    let updated = Instant::now();
    drop(second);
    expect_position(&mut third, 1);
    let gap = updated.elapsed();
    assert!(
        gap >= Duration::from_millis(900),
        "second update only {gap:?} after the first"
    );
}

#[test]
fn ordinary_lines_while_waiting_get_err_queued() {
    let server = one_slot();
    let _alice = server.login("alice");
    let mut waiting = server.queued(1);
    let lines = [
        "/name bob",
        "bob",
        "/users",
        "/help",
        "/msg alice hi",
        "/frobnicate",
        "%groups",
        "%hello",
        "//slash",
    ];
    for line in lines {
        waiting.send(line);
        let got = waiting.next_line();
        assert!(
            got.starts_with("ERR queued "),
            "{line:?} while waiting gave {got:?}"
        );
    }
}

#[test]
fn ping_and_pong_are_answered_while_waiting() {
    let server = one_slot();
    let _alice = server.login("alice");
    let mut waiting = server.queued(1);
    waiting.send("/ping w8");
    waiting.expect_line("PONG w8");
    waiting.send("/ping");
    waiting.expect_line("PONG -");
    waiting.send("/pong 3");
    waiting.expect_nothing_pending();
}

#[test]
fn blank_lines_are_ignored_while_waiting() {
    let server = one_slot();
    let _alice = server.login("alice");
    let mut waiting = server.queued(1);
    waiting.send_raw(b"\n   \n\t \r\n");
    waiting.expect_nothing_pending();
}

#[test]
fn line_too_long_and_bad_text_win_over_queued() {
    let server = TestServer::start(&["--max-clients", "1", "--max-line", "512"]);
    let _alice = server.login("alice");
    let mut waiting = server.queued(1);
    waiting.send_raw(b"/name b\x01b\n");
    waiting.expect_err("bad-text");
    waiting.send(&format!("/name {}", "b".repeat(600)));
    waiting.expect_err("line-too-long");
    waiting.expect_nothing_pending();
}

#[test]
fn connection_beyond_max_queue_gets_bye_server_full() {
    let server = TestServer::start(&["--max-clients", "1", "--max-queue", "1"]);
    let _alice = server.login("alice");
    let _waiting = server.queued(1);
    let mut refused = server.connect();
    refused.expect_bye("server-full");
}

#[test]
fn max_queue_0_refuses_with_bye_server_full_when_full() {
    let server = TestServer::start(&["--max-clients", "1", "--max-queue", "0"]);
    let _unnamed = server.greeted();
    let mut refused = server.connect();
    refused.expect_bye("server-full");
}

#[test]
fn queue_takes_clients_again_once_a_waiting_client_leaves() {
    let server = TestServer::start(&["--max-clients", "1", "--max-queue", "1"]);
    let _alice = server.login("alice");
    let waiting = server.queued(1);
    quit(waiting);
    let _next = server.queued(1);
}

#[test]
fn refused_connection_does_not_take_a_place_in_the_queue() {
    let server = TestServer::start(&["--max-clients", "1", "--max-queue", "1"]);
    let alice = server.login("alice");
    let mut waiting = server.queued(1);
    let mut refused = server.connect();
    refused.expect_bye("server-full");
    quit(alice);
    waiting.expect_head("HELLO parley 1");
    let _next = server.queued(1);
}
