//! Framing and abuse tests over real TCP: `\r\n` endings, `--max-line` (exactly one
//! `ERR line-too-long`, the exact boundary with `\n` and `\r\n` counted, the connection
//! kept), invalid UTF-8 and every kind of control character (`ERR bad-text`, nothing
//! delivered), binary garbage followed by a good line, a line written one byte at a
//! time, blank lines, a client that disconnects mid-line, end of input (README,
//! "Protocol choices"), a client that never reads being dropped with `sendq` while a
//! reader gets every message in order, and the cap on connections still flushing after
//! their user left.

mod common;

use std::thread;

use common::TestServer;

/// A server with `--max-line 512` for the length boundary tests.
fn short_lines() -> TestServer {
    TestServer::start(&["--max-line", "512"])
}

/// Alice sends `line` (raw bytes, with their ending) to the lobby: she must get exactly
/// one `ERR bad-text` and bob, in the lobby with her, nothing at all.
fn assert_bad_text(line: &[u8]) {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(line);
    alice.expect_err("bad-text");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
}

/// Alice sends `line` (raw bytes); bob must get `MSG lobby alice <expected>`.
fn assert_delivered(line: &[u8], expected: &str) {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(line);
    bob.expect_line(&format!("MSG lobby alice {expected}"));
    alice.expect_nothing_pending();
}

/// A plain message line of exactly `total` bytes including `ending`.
fn line_of(total: usize, ending: &str) -> (String, String) {
    let text = "m".repeat(total - ending.len());
    (format!("{text}{ending}"), text)
}

// ---- line endings and length --------------------------------------------------------

#[test]
fn cr_directly_before_lf_is_dropped() {
    assert_delivered(b"hi there\r\n", "hi there");
}

#[test]
fn line_of_exactly_max_line_bytes_with_lf_is_accepted() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let (line, text) = line_of(512, "\n");
    alice.send_raw(line.as_bytes());
    bob.expect_line(&format!("MSG lobby alice {text}"));
    alice.expect_nothing_pending();
}

#[test]
fn line_one_byte_over_max_line_gets_one_line_too_long_and_the_connection_is_kept() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let (line, _) = line_of(513, "\n");
    alice.send_raw(line.as_bytes());
    alice.expect_err("line-too-long");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
    alice.send("still here");
    bob.expect_line("MSG lobby alice still here");
}

#[test]
fn line_of_exactly_max_line_bytes_with_crlf_is_accepted() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let (line, text) = line_of(512, "\r\n");
    alice.send_raw(line.as_bytes());
    bob.expect_line(&format!("MSG lobby alice {text}"));
}

#[test]
fn crlf_line_one_byte_over_max_line_is_refused() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let (line, _) = line_of(513, "\r\n");
    alice.send_raw(line.as_bytes());
    alice.expect_err("line-too-long");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
}

#[test]
fn very_long_line_gets_exactly_one_line_too_long() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut line = vec![b'x'; 1 << 20];
    line.push(b'\n');
    alice.send_raw(&line);
    alice.expect_err("line-too-long");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
}

#[test]
fn overlong_line_written_in_pieces_gets_exactly_one_line_too_long() {
    let server = short_lines();
    let mut alice = server.login("alice");
    for _ in 0..20 {
        alice.send_raw(&[b'y'; 100]);
    }
    alice.send_raw(b"\n");
    alice.expect_err("line-too-long");
    alice.expect_nothing_pending();
}

#[test]
fn overlong_command_is_not_executed() {
    let server = short_lines();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send(&format!("/msg bob {}", "z".repeat(600)));
    alice.expect_err("line-too-long");
    bob.expect_nothing_pending();
}

#[test]
fn line_too_long_wins_over_bad_text() {
    let server = short_lines();
    let mut alice = server.login("alice");
    let mut line = b"bad \x00 \x1b[31m \xff\xfe ".to_vec();
    line.resize(600, b'q');
    line.push(b'\n');
    alice.send_raw(&line);
    alice.expect_err("line-too-long");
    alice.expect_nothing_pending();
}

// ---- bad text ---------------------------------------------------------------------------

#[test]
fn invalid_utf8_is_bad_text_and_not_delivered() {
    assert_bad_text(b"caf\xe9 latin-1\n");
}

#[test]
fn truncated_utf8_sequence_is_bad_text() {
    assert_bad_text(b"cut \xe2\x9c\n");
}

#[test]
fn overlong_utf8_encoding_is_bad_text() {
    assert_bad_text(b"slash \xc0\xaf\n");
}

#[test]
fn utf8_encoded_surrogate_is_bad_text() {
    assert_bad_text(b"half \xed\xa0\x80 pair\n");
}

#[test]
fn nul_is_bad_text() {
    assert_bad_text(b"nul\x00here\n");
}

#[test]
fn esc_is_bad_text() {
    assert_bad_text(b"\x1b[2J\x1b[31mred\n");
}

#[test]
fn del_is_bad_text() {
    assert_bad_text(b"del\x7fhere\n");
}

#[test]
fn c1_control_u0085_is_bad_text() {
    assert_bad_text("next\u{85}line\n".as_bytes());
}

#[test]
fn c1_control_csi_u009b_is_bad_text() {
    assert_bad_text("csi\u{9b}31m\n".as_bytes());
}

#[test]
fn other_c0_controls_are_bad_text() {
    for byte in [0x01u8, 0x07, 0x08, 0x0b, 0x0c, 0x1f] {
        let server = TestServer::start(&[]);
        let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
        alice.send_raw(&[b'a', byte, b'b', b'\n']);
        let got = alice.next_line();
        assert!(
            got.starts_with("ERR bad-text "),
            "byte {byte:#04x} gave {got:?}"
        );
        bob.expect_nothing_pending();
    }
}

#[test]
fn bare_cr_inside_a_line_is_bad_text() {
    assert_bad_text(b"over\rwrite\n");
}

#[test]
fn cr_before_the_final_cr_lf_is_bad_text() {
    assert_bad_text(b"double\r\r\n");
}

#[test]
fn bad_text_wins_over_command_errors() {
    let server = TestServer::start(&[]);
    let mut client = server.greeted();
    for line in [
        &b"/frob\x00\n"[..],
        b"/name al\x1bice\n",
        b"al\xffice\n",
        b"/users \x7f\n",
    ] {
        client.send_raw(line);
        let got = client.next_line();
        assert!(got.starts_with("ERR bad-text "), "{line:?} gave {got:?}");
    }
    client.send("/name alice");
    client.expect_head("WELCOME alice");
}

#[test]
fn tab_is_allowed_in_text() {
    assert_delivered(b"col1\tcol2\n", "col1\tcol2");
}

#[test]
fn binary_garbage_then_a_good_line() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let garbage_line: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n').chain([b'\n']).collect();
    let lines = 100;
    alice.send_raw(&garbage_line.repeat(lines));
    alice.send("good line");
    bob.expect_line("MSG lobby alice good line");
    let replies = alice.lines_before_pong("after-garbage");
    assert_eq!(
        replies.len(),
        lines,
        "one reply per garbage line: {replies:?}"
    );
    for reply in &replies {
        assert!(
            reply.starts_with("ERR bad-text "),
            "garbage line answered {reply:?}"
        );
    }
    bob.expect_nothing_pending();
}

// ---- partial writes, blank lines, end of input -----------------------------------------

#[test]
fn line_written_one_byte_at_a_time_is_assembled() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_bytewise("/msg bob byte by byte é ✓\n".as_bytes());
    bob.expect_line("PRIV alice byte by byte é ✓");
}

#[test]
fn blank_lines_are_ignored_by_named_clients() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(b"\n   \n\t\t\n \t \r\n\r\n");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
}

#[test]
fn blank_line_before_naming_is_not_taken_as_a_name() {
    let server = TestServer::start(&[]);
    let mut client = server.greeted();
    client.send_raw(b"\n  \n");
    client.expect_nothing_pending();
    client.send("alice");
    client.expect_head("WELCOME alice");
}

#[test]
fn disconnect_mid_line_delivers_nothing_and_others_see_disconnected() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(b"half a mess");
    drop(alice);
    bob.expect_line("LEAVE lobby alice disconnected");
    bob.expect_nothing_pending();
}

#[test]
fn end_of_input_processes_complete_lines_and_flushes_their_replies() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(b"/users\nhello\n/ping last\n");
    alice.shutdown_write();
    alice.expect_line("USERS lobby 2 alice bob");
    alice.expect_line("PONG last");
    alice.expect_closed();
    bob.expect_line("MSG lobby alice hello");
    bob.expect_line("LEAVE lobby alice disconnected");
    bob.expect_nothing_pending();
}

#[test]
fn end_of_input_discards_a_trailing_partial_line() {
    let server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send_raw(b"/ping a\nunfinished message");
    alice.shutdown_write();
    alice.expect_line("PONG a");
    alice.expect_closed();
    bob.expect_line("LEAVE lobby alice disconnected");
    bob.expect_nothing_pending();
}

#[test]
fn end_of_input_right_after_naming_still_gets_every_reply() {
    let server = TestServer::start(&[]);
    let mut client = server.connect();
    client.send_raw(b"/name carol\n/users\n");
    client.shutdown_write();
    client.expect_head("HELLO parley 1");
    client.expect_head("WELCOME carol");
    client.expect_line("JOIN lobby carol");
    client.expect_line("USERS lobby 1 carol");
    client.expect_closed();
}

// ---- slow readers -----------------------------------------------------------------------

/// How many lobby messages the flood sends, and how long each is: 4096 lines of about
/// 4 KB, 16 MiB in all, far more than the kernel buffers on loopback.
const FLOOD_LINES: usize = 4096;
const FLOOD_PAD: usize = 4000;

/// The text of flood message `i`.
fn flood_text(i: usize, pad: &str) -> String {
    format!("{i:06} {pad}")
}

/// Shortens a long line for an assertion message.
fn head_of(line: &str) -> &str {
    &line[..line.len().min(60)]
}

#[test]
fn client_that_never_reads_is_dropped_with_sendq_while_a_reader_gets_every_message_in_order() {
    // Bob reads as fast as this test can, but a test thread on a busy machine can be
    // descheduled for longer than the default 100 ms --stall-limit, and a reader that
    // stalls stops pacing alice and is dropped too. Two seconds leaves carol, who never
    // reads, stalled and dropped, and bob a margin no ordinary pause reaches. Alice
    // floods: flood control is lifted.
    let server = TestServer::start(&[
        "--flood-rate",
        "0",
        "--max-sendq",
        "64KiB",
        "--soft-sendq",
        "16KiB",
        "--stall-limit",
        "2s",
    ]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut carol = server.login_with_recv_buffer("carol", 4096);
    alice.expect_line("JOIN lobby carol");
    bob.expect_line("JOIN lobby carol");
    let pad = "p".repeat(FLOOD_PAD);
    let writer = {
        let pad = pad.clone();
        thread::spawn(move || {
            for i in 0..FLOOD_LINES {
                alice.send(&flood_text(i, &pad));
            }
            alice
        })
    };
    let mut saw_leave = false;
    let mut next = 0;
    while next < FLOOD_LINES {
        let line = bob.next_line();
        if line == "LEAVE lobby carol sendq" {
            assert!(!saw_leave, "carol left twice");
            saw_leave = true;
            continue;
        }
        let expected = format!("MSG lobby alice {}", flood_text(next, &pad));
        assert!(
            line == expected,
            "message {next}: expected {:?}..., got {:?}...",
            head_of(&expected),
            head_of(&line)
        );
        next += 1;
    }
    if !saw_leave {
        bob.expect_line("LEAVE lobby carol sendq");
    }
    let mut alice = writer.join().expect("writer thread");
    alice.expect_line("LEAVE lobby carol sendq");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
    carol.drain_until_closed();
}

#[test]
fn closing_connections_past_the_lingering_cap_are_closed_at_once() {
    // A user who quits with output still unread keeps the connection open (lingering)
    // until that output is flushed or --shutdown-grace ends, but its slot is free
    // already, so at most 256 may linger at once (limits::MAX_LINGERING). Here every
    // member is sent far more than the kernel buffers hold, then quits without reading.
    const CAP: usize = 256;
    const LINES: usize = 100;
    // 300 connections from 127.0.0.1: the per-address limit is lifted.
    let server = TestServer::start(&[
        "--max-per-address",
        "0",
        "--send-buffer",
        "4KiB",
        "--soft-sendq",
        "1MiB",
        "--max-sendq",
        "2MiB",
        "--shutdown-grace",
        "60s",
        "--announce-limit",
        "1",
    ]);
    let mut quitters: Vec<_> = (0..=CAP)
        .map(|i| server.login_with_recv_buffer(&format!("q{i}"), 4096))
        .collect();
    let mut sender = server.login("sender");
    let text = "x".repeat(3000);
    for seq in 0..LINES {
        sender.send(&format!("{seq} {text}"));
    }
    // Replies come in order: once this one is here, every line above was delivered.
    sender.send("/users lobby");
    sender.expect_prefix("USERS lobby ");
    for quitter in &mut quitters[..CAP] {
        quitter.send("/quit");
    }
    for _ in 0..CAP {
        server.expect_log("left: quit");
    }
    quitters[CAP].send("/quit");
    server.expect_log("too many connections closing at once");
    // Those within the cap still get everything once they read.
    let first = &mut quitters[0];
    for seq in 0..LINES {
        first.expect_line(&format!("MSG lobby sender {seq} {text}"));
    }
    first.expect_bye("quit");
    first.expect_closed();
    quitters[CAP].drain_until_closed();
}
