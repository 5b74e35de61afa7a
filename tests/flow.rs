//! Flow control: a flood is paced to what its readers take, so a slow but live reader
//! loses nothing and is not dropped, while a reader that stops for good pauses nobody
//! for longer than `--stall-limit` and is dropped with `sendq`.

mod common;

use std::thread;
use std::time::Duration;

use common::{TestClient, TestServer};

/// Messages in the flood, and the filler that makes each about 1 KB.
const FLOOD: usize = 6_000;

fn filler() -> String {
    "x".repeat(1000)
}

/// A server with small output limits and the given `--stall-limit`. These tests flood
/// on purpose, to pace senders by their readers: flood control is lifted.
fn paced_server(stall_limit: &str) -> TestServer {
    TestServer::start(&[
        "--flood-rate",
        "0",
        "--max-sendq",
        "256KiB",
        "--soft-sendq",
        "32KiB",
        "--stall-limit",
        stall_limit,
    ])
}

/// Sends the flood from `sender` on a thread (its writes block when the server pauses
/// it, which is the point) and returns the thread. Each line starts with `command`
/// (empty for plain lines to the current room).
fn flood(mut sender: TestClient, command: &str) -> thread::JoinHandle<TestClient> {
    let command = command.to_owned();
    thread::spawn(move || {
        let filler = filler();
        for seq in 0..FLOOD {
            sender.send(&format!("{command}{seq} {filler}"));
        }
        sender
    })
}

/// Reads the flood as `reader`, checking every message arrives once and in order.
fn expect_flood(reader: &mut TestClient, from: &str) {
    let filler = filler();
    for seq in 0..FLOOD {
        let line = reader.next_line();
        assert_eq!(
            line,
            format!("MSG lobby {from} {seq} {filler}"),
            "message {seq}"
        );
    }
}

/// Reads the whole flood from `from` as `reader`, in order, with at most one
/// `interruption` line among it; returns how many messages came before that line, if
/// it came.
fn expect_flood_around(reader: &mut TestClient, from: &str, interruption: &str) -> Option<usize> {
    let filler = filler();
    let mut interrupted_after = None;
    let mut seq = 0;
    while seq < FLOOD {
        let line = reader.next_line();
        if line == interruption && interrupted_after.is_none() {
            interrupted_after = Some(seq);
            continue;
        }
        assert_eq!(
            line,
            format!("MSG lobby {from} {seq} {filler}"),
            "message {seq}"
        );
        seq += 1;
    }
    interrupted_after
}

#[test]
fn a_slow_reader_is_paced_not_dropped_and_loses_nothing() {
    // Without flow control, 6 MB sent at loopback speed would overrun a 256 KiB sendq
    // while the slow reader naps; with it, the sender waits for the reader.
    let server = paced_server("5s");
    let mut slow = server.login_with_recv_buffer("slow", 16 * 1024);
    let mut fast = server.login("fast");
    let sender = server.login("sender");
    slow.expect_line("JOIN lobby fast");
    slow.expect_line("JOIN lobby sender");
    fast.expect_line("JOIN lobby sender");
    let sending = flood(sender, "");

    let fast_reader = thread::spawn(move || {
        expect_flood(&mut fast, "sender");
        fast
    });
    // The slow reader takes small bites with pauses well under the stall limit: a
    // reader that is slow, not stuck. The pauses simulate slowness; they are not used
    // to wait for the server.
    let filler = filler();
    for seq in 0..FLOOD {
        if seq % 500 == 0 {
            thread::sleep(Duration::from_millis(50));
        }
        let line = slow.next_line();
        assert_eq!(
            line,
            format!("MSG lobby sender {seq} {filler}"),
            "message {seq}"
        );
    }
    let mut sender = sending.join().expect("sender thread");
    let mut fast = fast_reader.join().expect("fast reader thread");
    slow.expect_nothing_pending();
    fast.expect_nothing_pending();
    sender.expect_nothing_pending();
}

#[test]
fn a_stuck_reader_stops_pacing_after_the_stall_limit_and_is_dropped() {
    // The stall limit is what the reader, the test's own thread, may fall behind for
    // without losing its place: under a loaded CI machine it can be descheduled for
    // longer than 100 ms and be dropped itself. One second keeps it safe, and the stuck
    // member is still dropped once it has paced the sender that long.
    let server = paced_server("1s");
    // A small kernel buffer makes the server, not the kernel, hold the backlog.
    let _stuck = server.login_with_recv_buffer("stuck", 4096);
    let mut reader = server.login("reader");
    let sender = server.login("sender");
    reader.expect_line("JOIN lobby sender");
    let sending = flood(sender, "");
    // The reader gets everything, in order, with the stuck one's departure among it.
    let dropped = expect_flood_around(&mut reader, "sender", "LEAVE lobby stuck sendq");
    let mut sender = sending.join().expect("sender thread");
    if dropped.is_none() {
        reader.expect_line("LEAVE lobby stuck sendq");
    }
    sender.skip_until("LEAVE lobby stuck sendq");
    sender.expect_nothing_pending();
}

#[test]
fn senders_held_back_together_take_turns() {
    // Two floods paced by one slow reader are held and released together again and
    // again. Each must get its share: if the one read first could fill the reader's
    // room below the soft limit every time, the other would be let through a line at a
    // time and would still be far behind when the first finished.
    let server = paced_server("5s");
    let mut slow = server.login_with_recv_buffer("slow", 16 * 1024);
    let first = server.login("first");
    slow.expect_line("JOIN lobby first");
    let second = server.login("second");
    slow.expect_line("JOIN lobby second");
    // Private lines: the senders get nothing back, so only the reader paces them.
    let floods = [flood(first, "/msg slow "), flood(second, "/msg slow ")];
    let mut received = [0usize; 2];
    let mut behind_when_one_finished = None;
    // Pauses make the reader slow (see above); they are not used to wait for anything.
    // Both floods are read to the end, so neither sender is left blocked on a full
    // socket when the threads are joined.
    while received.iter().any(|&n| n < FLOOD) {
        if (received[0] + received[1]) % 500 == 0 {
            thread::sleep(Duration::from_millis(20));
        }
        let line = slow.next_line();
        let from = if line.starts_with("PRIV first ") {
            0
        } else if line.starts_with("PRIV second ") {
            1
        } else {
            panic!("unexpected line: {line:.60}");
        };
        received[from] += 1;
        if behind_when_one_finished.is_none() && received[from] == FLOOD {
            behind_when_one_finished = Some(received[1 - from]);
        }
    }
    let behind = behind_when_one_finished.expect("one flood finished first");
    assert!(
        behind >= FLOOD / 4,
        "one flood finished while the other had {behind} of {FLOOD} lines through"
    );
    for sending in floods {
        sending.join().expect("sender thread");
    }
}

/// Lines of the flood `watcher` reads before it sees `stuck` dropped, on a server
/// with a 64 KiB `--max-sendq` and the given `--send-buffer`; then the rest of it.
fn lines_before_stuck_is_dropped(send_buffer: &str) -> usize {
    // A flood on purpose: flood control is lifted.
    let server = TestServer::start(&[
        "--flood-rate",
        "0",
        "--max-sendq",
        "64KiB",
        "--soft-sendq",
        "16KiB",
        // Short enough that the stuck reader soon paces nobody, long enough that the
        // watcher, a test thread that a busy machine may not run for a few
        // milliseconds, is not taken for stuck too and dropped.
        "--stall-limit",
        "300ms",
        "--send-buffer",
        send_buffer,
    ]);
    let _stuck = server.login_with_recv_buffer("stuck", 8 * 1024);
    let mut watcher = server.login("watcher");
    let sender = server.login("sender");
    watcher.expect_line("JOIN lobby sender");
    let sending = flood(sender, "");
    let seen = expect_flood_around(&mut watcher, "sender", "LEAVE lobby stuck sendq")
        .expect("the stuck reader is dropped during the flood");
    sending.join().expect("sender thread");
    seen
}

#[test]
fn the_send_buffer_bounds_what_a_stuck_reader_soaks_up() {
    // On loopback the kernel starts a socket's send buffer at megabytes. A reader that
    // never reads would take all of that before its --max-sendq of output even began
    // to fill; with --send-buffer it is found after about the sum of the three buffers.
    // The kernel's own sizing is run too, so the test shows the setting at work rather
    // than a kernel with small buffers.
    let capped = lines_before_stuck_is_dropped("32KiB");
    let kernels = lines_before_stuck_is_dropped("0");
    assert!(
        capped < 500 && capped * 4 < kernels,
        "lines of 1 KB before the stuck reader was dropped: {capped} with a 32 KiB send buffer, {kernels} with the kernel's sizing"
    );
}

#[test]
fn replies_go_out_with_the_smallest_soft_sendq() {
    // Replies are added while the queue holds less than half of --soft-sendq: at one
    // byte, that is when it is empty.
    let server = TestServer::start(&["--soft-sendq", "1"]);
    let mut alice = server.login("alice");
    alice.send("/users");
    alice.expect_line("USERS lobby 1 alice");
    alice.send("/rooms");
    alice.expect_prefix("ROOMS ");
    alice.expect_nothing_pending();
}
