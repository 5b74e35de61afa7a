//! Shutdown tests over real TCP: on SIGTERM or SIGINT every connection (named, unnamed
//! and waiting) gets `BYE shutdown` and is closed, the process exits with status 0, the
//! flush of a client that does not read is abandoned after `--shutdown-grace`, and no
//! new connection is greeted once shutdown has begun.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{TestClient, TestServer, TIMEOUT};

/// Asserts that the server process exits by itself with status 0.
fn expect_clean_exit(server: &mut TestServer) {
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "server exit status: {status:?}");
}

/// How many lobby messages (about 1 KB each) alice sends to a carol who does not read:
/// about 6 MB, more than loopback's kernel buffers hold (about 3 MB were measured), and
/// less than `MAX_SENDQ`, so the server itself holds output for carol.
const BACKLOG_LINES: usize = 6000;

/// `--max-sendq` for the tests with a stuck reader: carol is not dropped.
const MAX_SENDQ: &str = "16MiB";

/// The text of backlog message `i` (about 1 KB).
fn backlog_text(i: usize) -> String {
    format!("{i:05} {}", "s".repeat(1000))
}

/// Logs in alice and carol; carol does not read (yet), and alice sends lobby messages
/// until the server holds output for carol that it cannot deliver (carol's small kernel
/// buffer is full), though less than `--max-sendq`. Alice's `/ping` barrier proves all
/// her lines were processed.
fn alice_and_stuck_carol(server: &TestServer) -> (TestClient, TestClient) {
    let mut alice = server.login("alice");
    let carol = server.login_with_recv_buffer("carol", 4096);
    alice.expect_line("JOIN lobby carol");
    for i in 0..BACKLOG_LINES {
        alice.send(&backlog_text(i));
    }
    alice.expect_nothing_pending();
    (alice, carol)
}

#[test]
fn sigterm_says_bye_shutdown_to_named_unnamed_and_waiting_clients_and_exits_0() {
    let mut server = TestServer::start(&["--max-clients", "2"]);
    let mut alice = server.login("alice");
    let mut unnamed = server.greeted();
    let mut waiting = server.queued(1);
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    unnamed.expect_bye("shutdown");
    waiting.expect_bye("shutdown");
    expect_clean_exit(&mut server);
}

#[test]
fn sigint_says_bye_shutdown_and_exits_0() {
    let mut server = TestServer::start(&[]);
    let mut alice = server.login("alice");
    server.signal(libc::SIGINT);
    alice.expect_bye("shutdown");
    expect_clean_exit(&mut server);
}

#[test]
fn sigterm_without_clients_exits_0() {
    let mut server = TestServer::start(&[]);
    server.signal(libc::SIGTERM);
    expect_clean_exit(&mut server);
}

#[test]
fn bye_shutdown_is_the_last_line_after_replies_already_sent() {
    let mut server = TestServer::start(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("before shutdown");
    bob.expect_line("MSG lobby alice before shutdown");
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    bob.expect_bye("shutdown");
    expect_clean_exit(&mut server);
}

#[test]
fn shutdown_flushes_pending_output_before_bye_shutdown() {
    let mut server = TestServer::start(&[
        "--shutdown-grace",
        "5s",
        "--max-sendq",
        MAX_SENDQ,
        // Alice floods carol on purpose: flood control is lifted.
        "--flood-rate",
        "0",
    ]);
    let (mut alice, mut carol) = alice_and_stuck_carol(&server);
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    for i in 0..BACKLOG_LINES {
        carol.expect_line(&format!("MSG lobby alice {}", backlog_text(i)));
    }
    carol.expect_bye("shutdown");
    expect_clean_exit(&mut server);
}

#[test]
fn shutdown_gives_up_on_a_client_that_does_not_read_after_the_grace() {
    let mut server = TestServer::start(&[
        "--shutdown-grace",
        "500ms",
        "--max-sendq",
        MAX_SENDQ,
        // Alice floods carol on purpose: flood control is lifted.
        "--flood-rate",
        "0",
    ]);
    let (mut alice, mut carol) = alice_and_stuck_carol(&server);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    expect_clean_exit(&mut server);
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "shutdown took {took:?} with a 500ms grace"
    );
    // Given up on, carol's connection is reset: closed normally, the kernel would keep
    // her full socket's output after the server has gone.
    assert_eq!(carol.how_it_ends(), "ConnectionReset");
}

/// Every client still unflushed when a shutdown's grace ends is reset, not only those
/// whose own grace ran out first: with more of them than one turn writes to
/// (`FLUSHES_PER_TURN`, 64), some start their grace a turn late and are still there
/// when the server exits.
#[test]
fn every_client_left_unflushed_at_the_end_of_a_shutdown_is_reset() {
    const STUCK: usize = 200;
    let mut server = TestServer::start(&[
        "--shutdown-grace",
        "500ms",
        "--send-buffer",
        "4KiB",
        "--max-sendq",
        MAX_SENDQ,
        // A hundred clients from one address, flooded on purpose: both limits lifted.
        "--max-per-address",
        "0",
        "--flood-rate",
        "0",
    ]);
    let mut alice = server.login("alice");
    let mut stuck: Vec<TestClient> = (0..STUCK)
        .map(|n| server.login_with_recv_buffer(&format!("s{n}"), 4096))
        .collect();
    alice.skip_until(&format!("JOIN lobby s{}", STUCK - 1));
    // About 30 KB for each: more than its socket holds, less than --soft-sendq, so
    // that flow control does not make the server write to all of them in one turn.
    for i in 0..30 {
        alice.send(&backlog_text(i));
    }
    alice.expect_nothing_pending();
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    expect_clean_exit(&mut server);
    for (n, client) in stuck.iter_mut().enumerate() {
        assert_eq!(client.how_it_ends(), "ConnectionReset", "s{n}");
    }
}

#[test]
fn no_new_connection_is_greeted_once_shutdown_has_begun() {
    let mut server = TestServer::start(&[
        "--shutdown-grace",
        "1s",
        "--max-sendq",
        MAX_SENDQ,
        // Alice floods carol on purpose: flood control is lifted.
        "--flood-rate",
        "0",
    ]);
    let (mut alice, _carol) = alice_and_stuck_carol(&server);
    server.signal(libc::SIGTERM);
    alice.expect_bye("shutdown");
    // The server is still flushing carol; a newcomer must not be served.
    expect_not_greeted(server.addr);
    expect_clean_exit(&mut server);
}

/// Asserts that a connection to `addr` is not served: either the kernel refuses it (the
/// server closed its listening socket, as parley does when shutdown begins), or it is
/// let in and closed, or left unanswered, without a `HELLO`. Any other connect error
/// fails too, so that the check cannot pass by not running.
fn expect_not_greeted(addr: SocketAddr) {
    match TcpStream::connect(addr) {
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::ConnectionRefused,
            "connecting after shutdown began: {e}"
        ),
        Ok(mut late) => {
            late.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut got = Vec::new();
            // Ends at the server's close, a reset, or TIMEOUT of silence; all that
            // matters is what arrived before.
            let _ = late.read_to_end(&mut got);
            let text = String::from_utf8_lossy(&got);
            assert!(
                !text.contains("HELLO"),
                "greeted after shutdown began: {text:?}"
            );
        }
    }
}
