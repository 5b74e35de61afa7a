//! Big fan-outs over real TCP: the small writes to the members of a room of more than
//! 64 are paced by `--fanout-write-rate`, and a member's lines wait for them in order
//! and gather, none lost; a member with `SMALL_WRITE` (256) bytes waiting is written
//! to at once, whatever the rate.

mod common;

use std::time::{Duration, Instant};

use common::{Next, TestClient, TestServer};

/// Members of lobby: more than the 64 recipients a fan-out may have and still be
/// written in the prompt lane.
const MEMBERS: usize = 80;
/// Small writes to big fan-outs that may go at once (`FANOUT_WRITE_BURST`).
const BURST: usize = 32;

/// A server whose big fan-outs may make one small write a second after their burst.
/// Everyone is trusted, so that 80 connections from 127.0.0.1 are allowed.
fn one_small_write_a_second() -> TestServer {
    TestServer::start(&["--fanout-write-rate", "1", "--trusted", "127.0.0.0/8"])
}

/// Logs in `MEMBERS` clients and drains every join notice: a `/ping` is a reply, which
/// is not paced, and its client's queued lines go out ahead of it.
fn crowd(server: &TestServer) -> Vec<TestClient> {
    let mut members: Vec<TestClient> = (0..MEMBERS)
        .map(|i| server.login(&format!("m{i}")))
        .collect();
    for member in &mut members {
        member.lines_before_pong("sync");
    }
    members
}

#[test]
fn a_big_rooms_small_writes_wait_for_the_rate_and_a_full_one_goes_at_once() {
    let server = one_small_write_a_second();
    let mut members = crowd(&server);
    let (sender, readers) = members.split_first_mut().expect("a crowd");

    sender.send("short");
    let started = Instant::now();
    let window = Duration::from_millis(500);
    let mut early = 0;
    for reader in readers.iter_mut() {
        let left = (started + window).saturating_duration_since(Instant::now());
        match reader.poll_line(left) {
            Next::Line(line) => {
                assert_eq!(line, "MSG lobby m0 short");
                early += 1;
            }
            Next::TimedOut => {}
            Next::Closed => panic!("a member was dropped"),
        }
    }
    // The burst, and one write a second after it (two for slack).
    assert!(
        early <= BURST + 2,
        "{early} of {} members got a short line within {window:?} at one small write a second",
        readers.len()
    );

    // A line that brings every waiting member past 256 bytes goes at once: at one write
    // a second the rest would take most of a minute.
    let long = "y".repeat(300);
    sender.send(&long);
    let long_line = format!("MSG lobby m0 {long}");
    for reader in readers.iter_mut() {
        let line = reader.next_line();
        if line != long_line {
            assert_eq!(line, "MSG lobby m0 short", "lines stay in order");
            reader.expect_line(&long_line);
        }
    }
}

#[test]
fn paced_lines_gather_and_each_member_gets_every_one_in_order() {
    let server = one_small_write_a_second();
    let mut members = crowd(&server);
    let (sender, readers) = members.split_first_mut().expect("a crowd");

    // Short lines, well under 256 bytes for the members beyond the burst until the
    // last ones add up: nothing may be lost or reordered while they wait.
    let texts: Vec<String> = (0..12)
        .map(|i| format!("line-{i:02}-{}", "z".repeat(20)))
        .collect();
    for text in &texts {
        sender.send(text);
    }
    // Whatever is left under 256 bytes follows the last line, which is long.
    let last = "w".repeat(300);
    sender.send(&last);
    for reader in readers.iter_mut() {
        for text in texts.iter().chain([&last]) {
            reader.expect_line(&format!("MSG lobby m0 {text}"));
        }
        reader.expect_nothing_pending();
    }
}

#[test]
fn rate_zero_lifts_the_pace() {
    let server = TestServer::start(&["--fanout-write-rate", "0", "--trusted", "127.0.0.0/8"]);
    let mut members = crowd(&server);
    let (sender, readers) = members.split_first_mut().expect("a crowd");
    sender.send("short");
    for reader in readers.iter_mut() {
        reader.expect_line("MSG lobby m0 short");
    }
}
