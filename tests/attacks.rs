//! The attacks of the abuse-limits issue, one test each, over real TCP: the same attack
//! as the probe ran, and a bystander whose latency, memory or service is held to a
//! bound. Attackers come from 127.0.0.2 and up (all loopback), bystanders from
//! 127.0.0.1. Where a test lifts a limit to stage its attack quickly, it says why.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{reset_on_close, Next, TestClient, TestServer};

const HOME: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Held by every test here, so that they run one at a time: each loads the machine
/// with an attack, and on two cores the tests that time a bystander would time the
/// other tests' attacks too.
static TIMED_LOAD: Mutex<()> = Mutex::new(());

/// Takes [`TIMED_LOAD`], whether or not a test that held it failed.
fn timed_load() -> MutexGuard<'static, ()> {
    TIMED_LOAD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A numeric field of the server's `/proc/PID/status`: `VmRSS` and `VmHWM` in KiB,
/// `FDSize` in descriptors.
fn status_field(server: &TestServer, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in the server's status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `name` logs in from `source`.
fn login_from(server: &TestServer, source: Ipv4Addr, name: &str) -> TestClient {
    let mut client = server.connect_from(source);
    client.expect_prefix("HELLO parley 1");
    client.send(&format!("/name {name}"));
    client.expect_prefix(&format!("WELCOME {name}"));
    client.expect_line(&format!("JOIN lobby {name}"));
    client
}

/// Round trips of `count` pings, sorted.
fn ping_times(client: &mut TestClient, count: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..count)
        .map(|n| {
            let start = Instant::now();
            client.send(&format!("/ping t{n}"));
            client.skip_until(&format!("PONG t{n}"));
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// The 99th percentile of sorted `times`.
fn p99(times: &[Duration]) -> Duration {
    times[(times.len() * 99).div_ceil(100) - 1]
}

/// Reads `client`'s lines until `answers` of them start with `done` or `refused`;
/// returns how many started with `done`.
fn tally(client: &mut TestClient, answers: usize, done: &str, refused: &str) -> usize {
    let (mut done_count, mut seen) = (0, 0);
    while seen < answers {
        let line = client.next_line();
        if line.starts_with(done) {
            done_count += 1;
            seen += 1;
        } else if line.starts_with(refused) {
            seen += 1;
        }
    }
    done_count
}

/// Row 1: one client posts 4 KB posts in a loop. `--post-rate` stops it after its
/// share, so the server's memory stays put, and others still post.
#[test]
fn a_post_flood_is_throttled_and_memory_stays_put() {
    let _alone = timed_load();
    let server = TestServer::start(&["--flood-rate", "0"]); // the posts come at once
    let mut attacker = login_from(&server, ATTACKER, "mallory");
    let before = status_field(&server, "VmRSS");
    let body = "x".repeat(4000);
    let posts: String = (0..2000)
        .map(|n| format!("/post lobby s{n} {body}\n"))
        .collect();
    attacker.send_raw(posts.as_bytes());
    let posted = tally(&mut attacker, 2000, "POSTED lobby ", "ERR throttled ");
    assert_eq!(posted, 30, "the default --post-rate");
    let grown = status_field(&server, "VmRSS").saturating_sub(before);
    // 30 posts of 4 KB, and the store's buffers: nothing like 2,000 posts (8 MB).
    assert!(grown < 2048, "RSS grew {grown} KiB");
    let mut bystander = login_from(&server, HOME, "alice");
    bystander.send("/post lobby hello still here");
    bystander.expect_prefix("POSTED lobby ");
}

/// Row 2: one client creates a room, posts in it (so it outlives its members) and
/// leaves, over and over. `--max-created` stops it; others still create rooms.
#[test]
fn room_churn_stops_at_max_created_and_others_still_create() {
    let _alone = timed_load();
    // The loop runs at once, and posts keep each room: both limits lifted but rooms.
    let server = TestServer::start(&["--flood-rate", "0", "--post-rate", "0"]);
    let mut attacker = login_from(&server, ATTACKER, "mallory");
    let churn: String = (0..100)
        .map(|n| format!("/create r{n}\n/post r{n} s b\n/leave r{n}\n"))
        .collect();
    attacker.send_raw(churn.as_bytes());
    let created = tally(&mut attacker, 100, "JOIN r", "ERR limit-reached ");
    assert_eq!(created, 20, "the default --max-created");
    let mut bystander = login_from(&server, HOME, "alice");
    bystander.send("/create mine");
    bystander.expect_line("JOIN mine alice");
}

/// A server with `extra` settings on which [`plant_posts`] can plant long subjects:
/// the planter's address is trusted, `--post-rate` is lifted, and `--max-subject` is
/// raised (the probe planted subjects of 1.5 KB, which it now refuses).
fn planting_server(extra: &[&str]) -> TestServer {
    let mut args = vec![
        "--trusted",
        "127.0.0.9",
        "--post-rate",
        "0",
        "--max-subject",
        "2000",
    ];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// Plants `count` posts with subjects of `subject_bytes` in lobby from a trusted
/// address (planting is not the attack here; the reply to `/list` is), read by
/// `members`, who joined before. Returns the planter, still in lobby.
fn plant_posts(
    server: &TestServer,
    count: usize,
    subject_bytes: usize,
    members: &mut [&mut TestClient],
) -> TestClient {
    let mut planter = login_from(server, Ipv4Addr::new(127, 0, 0, 9), "planter");
    for member in members.iter_mut() {
        member.expect_line("JOIN lobby planter");
    }
    let subject = "s".repeat(subject_bytes);
    let posts: String = (0..count)
        .map(|n| format!("/post lobby {subject}{n} b\n"))
        .collect();
    planter.send_raw(posts.as_bytes());
    for _ in 0..count {
        planter.expect_prefix("POSTED lobby ");
        for member in members.iter_mut() {
            member.expect_prefix("POST lobby ");
        }
    }
    planter
}

/// Row 3: a board full of posts with long subjects. A member who reads gets the whole
/// `/list`, far larger than `--max-sendq`, and nothing else comes between its lines.
#[test]
fn a_listing_larger_than_max_sendq_reaches_a_member_who_reads() {
    let _alone = timed_load();
    let server = planting_server(&["--max-sendq", "256KiB"]);
    let mut reader = login_from(&server, HOME, "reader");
    let mut talker = login_from(&server, HOME, "talker");
    reader.expect_line("JOIN lobby talker");
    // 300 posts of 1.5 KB: a 450 KB listing.
    let _planter = plant_posts(&server, 300, 1500, &mut [&mut reader, &mut talker]);
    reader.send("/list lobby");
    talker.send("right in the middle");
    let mut lines = Vec::new();
    while lines.len() < 302 {
        lines.push(reader.next_line());
    }
    let chat = "MSG lobby talker right in the middle";
    let listing: Vec<&String> = lines.iter().filter(|line| *line != chat).collect();
    assert_eq!(listing.len(), 301, "the listing and the message, once each");
    assert_eq!(listing[0], "LIST lobby 300");
    assert!(listing[1..]
        .iter()
        .all(|line| line.starts_with("POST lobby ")));
    let at = lines.iter().position(|line| line == chat).unwrap();
    assert!(
        at == 0 || at == 301,
        "the message came between the listing's lines"
    );
    reader.expect_nothing_pending();
}

/// Row 9: pipelined `/list` cannot multiply a client's output: each listing costs
/// flood control a line per `--max-line` bytes, so the next one waits.
#[test]
fn a_listing_goes_on_with_more_than_its_room_waiting_behind_it() {
    let _alone = timed_load();
    // Small kernel buffers, so that the listing is still being handed out when the
    // room's lines come; a large --soft-sendq, so that the talker is not held back
    // (a reply's next lines wait for the queue to be under 32 KiB all the same).
    let server = planting_server(&["--send-buffer", "16KiB", "--soft-sendq", "256KiB"]);
    let mut reader = common::TestClient::over(Box::new(common::connect_with_recv_buffer(
        server.addr,
        16 * 1024,
    )))
    .named("reader");
    let mut talker = login_from(&server, Ipv4Addr::new(127, 0, 0, 9), "talker");
    reader.expect_line("JOIN lobby talker");
    // 300 posts of 1.5 KB: a 450 KB listing.
    let _planter = plant_posts(&server, 300, 1500, &mut [&mut reader, &mut talker]);
    reader.send("/list lobby");
    // Read before the talker speaks: the listing is under way.
    assert_eq!(reader.next_line(), "LIST lobby 300");
    // 50 KB of lines to lobby, held behind the rest of the listing: more than the
    // queue may hold for a reply's next lines.
    let text = "t".repeat(100);
    let says: String = (0..500)
        .map(|n| format!("/say lobby {n} {text}\n"))
        .collect();
    talker.send_raw(says.as_bytes());
    talker.send("/ping all-said");
    talker.skip_until("PONG all-said");
    for _ in 0..300 {
        reader.expect_prefix("POST lobby ");
    }
    for n in 0..500 {
        reader.expect_line(&format!("MSG lobby talker {n} {text}"));
    }
}

#[test]
fn pipelined_listings_cost_flood_control_by_their_size() {
    let _alone = timed_load();
    let server = planting_server(&[]);
    let mut attacker = login_from(&server, ATTACKER, "mallory");
    // 100 posts of 1.5 KB: each listing is about 150 KB, 37 lines' worth at 4 KB.
    let _planter = plant_posts(&server, 100, 1500, &mut [&mut attacker]);
    let deadline = Instant::now() + Duration::from_millis(2500);
    attacker.send_raw("/list lobby\n".repeat(100).as_bytes());
    let mut listings = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match attacker.poll_line(left) {
            Next::Line(line) if line.starts_with("LIST lobby ") => listings += 1,
            Next::Line(_) => {}
            Next::Closed => panic!("the attacker was dropped"),
            Next::TimedOut => break,
        }
    }
    // Without the charge, flood control alone would let 20 listings through at once
    // and 10 more a second (45 in 2.5 s, 7 MB); with it, each costs 3.7 s after the
    // burst.
    assert!(listings <= 2, "{listings} listings in 2.5 s");
}

/// Row 4: many connections send nothing but newlines as fast as they can, with flood
/// control lifted (so only the loop's own bounds stand). A bystander's pings are still
/// answered within 100 ms.
#[test]
fn a_newline_flood_from_many_connections_leaves_pings_fast() {
    let _alone = timed_load();
    let server = TestServer::start(&["--flood-rate", "0", "--max-per-address", "0"]);
    let mut bystander = login_from(&server, HOME, "alice");
    let mut flooders: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut client = server.connect_from(ATTACKER);
            client.expect_prefix("HELLO parley 1");
            let stream = client.stream().try_clone().unwrap();
            stream.set_nonblocking(true).unwrap();
            stream
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let flooding = {
        let (stop, sent) = (stop.clone(), sent.clone());
        std::thread::spawn(move || {
            let newlines = vec![b'\n'; 64 * 1024];
            while !stop.load(Ordering::Relaxed) {
                for stream in &mut flooders {
                    match stream.write(&newlines) {
                        Ok(n) => _ = sent.fetch_add(n, Ordering::Relaxed),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(())
        })
    };
    // Measure once the flood is under way: 1 MB sent.
    let under_way = Instant::now() + Duration::from_secs(10);
    while sent.load(Ordering::Relaxed) < 1 << 20 {
        assert!(Instant::now() < under_way, "the flood did not start");
        std::thread::yield_now();
    }
    let times = ping_times(&mut bystander, 100);
    let sent_meanwhile = sent.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    if let Err(e) = flooding.join().unwrap() {
        panic!("a flooder was cut off: {e}\n{}", server.log());
    }
    assert!(
        sent_meanwhile > 10 << 20,
        "the flood was too weak to test anything: {sent_meanwhile} bytes"
    );
    assert!(
        p99(&times) < Duration::from_millis(100),
        "p99 {:?}",
        p99(&times)
    );
}

/// A plain connection from `source` to `addr`, for threads that stage an attack.
fn stream_from(source: Ipv4Addr, addr: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from((source, 0)).into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// Logs in a bystander out of lobby (so that it measures the loop, not the notices of
/// a storm there) and a watcher in lobby, and lets the bystander chat through its
/// first second, in which it is a newcomer itself (the server's NEWCOMER_AGE).
fn storm_witnesses(server: &TestServer) -> (TestClient, TestClient) {
    let mut bystander = login_from(server, HOME, "alice");
    let logged_in = Instant::now();
    bystander.send("/leave lobby");
    bystander.expect_line("LEAVE lobby alice left");
    let watcher = login_from(server, HOME, "bob");
    while logged_in.elapsed() < Duration::from_millis(1200) {
        ping_times(&mut bystander, 1);
    }
    (bystander, watcher)
}

/// `count` clients named `storm0`, `storm1`, ... connect from the attacker's address
/// and send their names at once, on a thread of their own.
fn connect_storm(server: &TestServer, count: usize) -> JoinHandle<Vec<TcpStream>> {
    let addr = server.addr;
    std::thread::spawn(move || {
        (0..count)
            .map(|n| {
                let mut stream = stream_from(ATTACKER, addr).expect("a newcomer connects");
                stream
                    .write_all(format!("/name storm{n}\n").as_bytes())
                    .expect("a newcomer sends its name");
                stream
            })
            .collect()
    })
}

/// Round trips of the bystander's pings, sorted, until `storm_over` has finished.
fn pings_until(bystander: &mut TestClient, storm_over: &JoinHandle<TestClient>) -> Vec<Duration> {
    let mut times = Vec::new();
    while !storm_over.is_finished() {
        times.push(ping_times(bystander, 1)[0]);
    }
    times.sort();
    times
}

/// The watcher reads until it has seen `count` lines starting with `prefix`.
fn watch_for(
    mut watcher: TestClient,
    prefix: &'static str,
    count: usize,
) -> JoinHandle<TestClient> {
    std::thread::spawn(move || {
        for _ in 0..count {
            watcher.skip_until(prefix);
        }
        watcher
    })
}

/// Holds a storm's bystander's round trips to a bound: at least 20 of them, the longest
/// under 50 ms.
fn assert_pings_fast(times: &[Duration]) {
    let longest = *times.last().unwrap();
    assert!(
        longest < Duration::from_millis(50),
        "longest of {} pings {longest:?}, p99 {:?}",
        times.len(),
        p99(times)
    );
    assert!(
        times.len() >= 20,
        "the storm was too short to test anything: {} pings",
        times.len()
    );
}

/// A connect storm: 900 clients connect and log in at once, each joining lobby, whose
/// members all hear of it. The clients already in are read ahead of the newcomers,
/// whose work is cut into short slices while others are active, so a bystander's pings
/// are answered within 50 ms throughout the storm.
#[test]
fn a_connect_storm_leaves_the_clients_already_in_fast() {
    let _alone = timed_load();
    const NEWCOMERS: usize = 900;
    // The bystander pings faster than flood control allows, and the newcomers come
    // from one address: both limits lifted for the bystander and the attacker alike.
    let server = TestServer::start(&["--trusted", "127.0.0.1/32", "--max-per-address", "0"]);
    let (mut bystander, watcher) = storm_witnesses(&server);
    let storm = connect_storm(&server, NEWCOMERS);
    let joined = watch_for(watcher, "JOIN lobby storm", NEWCOMERS);
    let times = pings_until(&mut bystander, &joined);
    joined.join().expect("not every newcomer joined lobby");
    assert_eq!(storm.join().unwrap().len(), NEWCOMERS);
    assert_pings_fast(&times);
}

/// A server with the storm tests' limits lifted, the storm's two witnesses (the
/// bystander and the watcher), and `count` clients from the attacker's address, every
/// one of them in lobby.
fn crowd_in_lobby(count: usize) -> (TestServer, TestClient, TestClient, Vec<TcpStream>) {
    let server = TestServer::start(&["--trusted", "127.0.0.1/32", "--max-per-address", "0"]);
    let (bystander, watcher) = storm_witnesses(&server);
    let joined = watch_for(watcher, "JOIN lobby storm", count);
    let streams = connect_storm(&server, count).join().unwrap();
    let watcher = joined.join().expect("not every client joined lobby");
    (server, bystander, watcher, streams)
}

/// A departure storm: 900 clients in lobby close their connections at once, and lobby
/// hears of each. A departure costs nothing to read and much to handle, so departures
/// leave the core in short slices while others are active: a bystander's pings are
/// answered within 50 ms meanwhile.
#[test]
fn a_departure_storm_leaves_the_clients_still_in_fast() {
    let _alone = timed_load();
    const LEAVING: usize = 900;
    let (_server, mut bystander, watcher, streams) = crowd_in_lobby(LEAVING);
    // Once more a second: the clients that leave are no newcomers then (the server's
    // NEWCOMER_AGE), so their departures are what the storm costs.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1100) {
        ping_times(&mut bystander, 1);
    }
    let left = watch_for(watcher, "LEAVE lobby storm", LEAVING);
    drop(streams);
    let times = pings_until(&mut bystander, &left);
    left.join().expect("not every client's departure was told");
    assert_pings_fast(&times);
}

/// A stop while hundreds of clients whose sockets failed still wait to leave the core
/// (a few a turn while others are active): the server lets them go with the rest and
/// exits cleanly.
#[test]
fn a_shutdown_during_a_backlog_of_lost_clients_is_clean() {
    let _alone = timed_load();
    const LOST: usize = 600;
    let (mut server, mut bystander, _watcher, streams) = crowd_in_lobby(LOST);
    // Stopped, the server finds every reset at once, with a line of the bystander's:
    // others are active, so the lost clients leave the core a few a turn.
    server.pause();
    for stream in &streams {
        reset_on_close(stream);
    }
    drop(streams);
    bystander.send("/ping resumed");
    server.resume();
    bystander.skip_until("PONG resumed");
    // The stop comes while most of them still wait to leave.
    server.signal(libc::SIGTERM);
    let status = server.wait_exit();
    assert!(status.success(), "{status}: {}", server.log());
    server.expect_log("shutdown complete");
    bystander.skip_until("BYE shutdown");
}

/// Row 5: members of a room that never read, fed short lines. `--max-sendq` counts
/// each line's bookkeeping, so the server holds no more than the limit for each.
#[test]
fn short_lines_to_non_readers_hold_no_more_than_max_sendq_each() {
    let _alone = timed_load();
    // 300,000 bytes is 16,666 lines of 18 bytes: just past a power of two, where a
    // queue that counted bytes alone held twice the limit in slots.
    let max_sendq: u64 = 300_000;
    // The flood goes on until every member has been dropped.
    let (_, peak) = flood_past_non_readers(&["--max-sendq", "300000"], 100, true);
    let bound = 100 * max_sendq + (8 << 20);
    assert!(peak < bound, "peak grew {peak} bytes, bound {bound}");
}

/// Rows 5 and 6 for as long as the attack lasts: members that never read share
/// `--max-sendq-total`. Each alone could hold `--max-sendq` (here more than they are
/// ever sent); together they are dropped once past their share of the total, so they
/// cost the server no more than the total beyond what the same flood costs without
/// them.
#[test]
fn non_readers_together_hold_no_more_than_max_sendq_total() {
    let _alone = timed_load();
    let total: u64 = 6_000_000;
    let limits = [
        "--max-sendq",
        "4MiB",
        "--soft-sendq",
        "8KiB",
        "--max-sendq-total",
        "6000000",
    ];
    let (_, without) = flood_past_non_readers(&limits, 0, false);
    let (dropped, with) = flood_past_non_readers(&limits, 100, false);
    // As members leave, the others' shares grow: the last few may stay.
    assert!(dropped >= 90, "{dropped} of 100 dropped");
    let bound = without + total + (2 << 20);
    assert!(
        with < bound,
        "peak grew {with} bytes with them, {without} without them"
    );
}

/// `stuck` members of lobby that never read, on a server started with `limits` as well,
/// and a flood of 20,000 lines of 18 bytes that a reader reads to the end (and, with
/// `all_dropped`, until every stuck member has been dropped): how many were dropped
/// with `sendq`, and how much the server's peak memory grew meanwhile.
fn flood_past_non_readers(limits: &[&str], stuck: usize, all_dropped: bool) -> (usize, u64) {
    let mut args = vec![
        "--send-buffer",
        "4KiB",
        // One sender floods the members, all from one address: both limits lifted.
        "--flood-rate",
        "0",
        "--max-per-address",
        "0",
    ];
    args.extend_from_slice(limits);
    let server = TestServer::start(&args);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let members: Vec<TestClient> = (0..stuck)
        .map(|n| server.login_with_recv_buffer(&format!("stuck{n}"), 4096))
        .collect();
    for n in 0..members.len() {
        alice.expect_line(&format!("JOIN lobby stuck{n}"));
        bob.expect_line(&format!("JOIN lobby stuck{n}"));
    }
    let before = status_field(&server, "VmRSS");
    alice.send_raw("x\n".repeat(20_000).as_bytes());
    let mut dropped = 0;
    let mut messages = 0;
    while messages < 20_000 || (all_dropped && dropped < stuck) {
        let line = bob.next_line();
        if line == "MSG lobby alice x" {
            messages += 1;
        } else if line.starts_with("LEAVE lobby stuck") && line.ends_with(" sendq") {
            dropped += 1;
        }
    }
    let peak = status_field(&server, "VmHWM").saturating_sub(before) * 1024;
    (dropped, peak)
}

/// Row 6 after the drop: a member dropped for not reading is reset rather than closed,
/// so that the kernel does not go on holding the output its full socket had, for a peer
/// that never reads it. Closed normally, the client would read that output and then an
/// end of stream.
#[test]
fn a_member_dropped_for_not_reading_is_reset() {
    let _alone = timed_load();
    let server = TestServer::start(&[
        "--max-sendq",
        "100000",
        "--send-buffer",
        "4KiB",
        // One sender floods lobby quickly: lifted to stage the drop.
        "--flood-rate",
        "0",
    ]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut stuck = server.login_with_recv_buffer("stuck", 4096);
    alice.expect_line("JOIN lobby stuck");
    bob.expect_line("JOIN lobby stuck");
    alice.send_raw("x\n".repeat(20_000).as_bytes());
    bob.skip_until("LEAVE lobby stuck sendq");
    assert_eq!(stuck.how_it_ends(), "ConnectionReset");
}

/// Rows 5 and 6, what everyone else sees: a line to a room of a thousand members is
/// written to them over several turns, and a line to a small room meanwhile does not
/// wait for that pass to finish (it goes in the flush's prompt lane).
#[test]
fn a_line_to_a_small_room_overtakes_a_pass_over_a_big_one() {
    let _alone = timed_load();
    // A thousand members from one address: the per-address limit is lifted.
    let server = TestServer::start(&["--max-per-address", "0"]);
    let mut alice = login_from(&server, HOME, "alice");
    let mut bob = login_from(&server, HOME, "bob");
    let mut carol = login_from(&server, HOME, "carol");
    alice.skip_until("JOIN lobby carol");
    bob.skip_until("JOIN lobby carol");
    bob.send("/create side");
    bob.expect_line("JOIN side bob");
    carol.send("/join side");
    carol.expect_line("JOIN side carol");
    // Lobby writes to its members in the order they joined: the first and the last.
    let mut members: Vec<TestClient> = (0..1000)
        .map(|n| {
            let mut member = server.connect_from(ATTACKER);
            member.expect_prefix("HELLO parley 1");
            member.send(&format!("/name m{n}"));
            member.expect_prefix(&format!("WELCOME m{n}"));
            member
        })
        .collect();
    let last = members.pop().unwrap();
    let first = &mut members[0];
    let mut seen_by_last = Vec::new();
    let pad = "x".repeat(1000);
    // The pass must still be under way when bob's line is read; on a busy machine it
    // may be over already, so a few tries. Served in arrival order, bob's line would
    // never reach carol before the lobby line reached the last member.
    for attempt in 0..5 {
        let big = format!("big{attempt} ");
        alice.send(&format!("{big}{pad}"));
        first.skip_until(&format!("MSG lobby alice {big}"));
        bob.send(&format!("/say side hi{attempt}"));
        carol.skip_until(&format!("MSG side bob hi{attempt}"));
        let overtaken = !read_available(&last, &mut seen_by_last, big.as_bytes());
        if overtaken {
            return;
        }
    }
    panic!("bob's line to a room of two waited for every pass over lobby");
}

/// Reads what `client`'s socket holds now into `seen`, without waiting, and says
/// whether `seen` contains `needle`.
fn read_available(client: &TestClient, seen: &mut Vec<u8>, needle: &[u8]) -> bool {
    let mut stream = client.stream();
    stream.set_nonblocking(true).unwrap();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read error: {e}"),
        }
    }
    stream.set_nonblocking(false).unwrap();
    seen.windows(needle.len()).any(|window| window == needle)
}

/// The descriptor table is grown at start for every connection the server will hold:
/// grown on demand instead, each doubling in a connect storm stalled the loop (and so
/// every client) for several milliseconds at 256, 512, 1024, ... connections.
#[test]
fn the_descriptor_table_is_grown_before_a_connect_storm() {
    let _alone = timed_load();
    let server = TestServer::start(&["--max-clients", "3000", "--max-queue", "1000"]);
    // Logged before the address, so it is in the log already.
    let log = server.log();
    let capacity = log
        .lines()
        .find(|line| line.contains("capacity:"))
        .expect("capacity in the log");
    let open_files: u64 = capacity
        .rsplit("open-file limit ")
        .next()
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no open-file limit in {capacity:?}"));
    let table = status_field(&server, "FDSize:");
    // 4,000 connections and the descriptors the server keeps back, as the limit allows.
    let wanted = (4_000 + parley::limits::RESERVED_FDS).min(open_files);
    assert!(
        table >= wanted,
        "a descriptor table of {table} with room wanted for {wanted} ({capacity})"
    );
}

/// Row 6: a member that stopped reading but keeps sending `/ping` so as to look
/// alive. The write timeout drops it all the same, and its kernel buffers go with it.
#[test]
fn a_reader_that_stopped_reading_is_dropped_though_it_pings() {
    let _alone = timed_load();
    let server = TestServer::start(&["--write-timeout", "1s", "--send-buffer", "4KiB"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let keeper = server.login_with_recv_buffer("keeper", 4096);
    alice.expect_line("JOIN lobby keeper");
    bob.expect_line("JOIN lobby keeper");
    // More than the keeper's buffers and the server's send buffer take.
    let pad = "x".repeat(1000);
    for n in 0..20 {
        alice.send(&format!("{n} {pad}"));
    }
    let mut stream = keeper.stream().try_clone().unwrap();
    let pinging = std::thread::spawn(move || {
        // A ping every 100 ms, never reading, until the server has closed the socket.
        for _ in 0..200 {
            if stream.write_all(b"/ping alive\n").is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    bob.skip_until("LEAVE lobby keeper sendq");
    assert!(
        pinging.join().unwrap(),
        "the keeper's connection stayed open"
    );
    drop(keeper);
}

/// Row 7: silent connections from one address, reconnecting when closed, hold at most
/// `--max-per-address` of the slots: a user from elsewhere still gets in.
#[test]
fn silent_connections_from_one_address_leave_room_for_others() {
    let _alone = timed_load();
    let server = TestServer::start(&["--max-clients", "60", "--max-queue", "10"]);
    let mut held = Vec::new();
    for _ in 0..100 {
        let mut silent = server.connect_from(ATTACKER);
        match silent.next_line() {
            line if line.starts_with("HELLO ") => held.push(silent),
            line => assert!(line.starts_with("BYE address-limit "), "{line}"),
        }
    }
    assert_eq!(held.len(), 50, "the default --max-per-address");
    let mut user = server.connect_from(HOME);
    user.expect_prefix("HELLO parley 1");
}

/// Bytes the server has not read yet from its clients' sockets (the receive queues of
/// its connections, from /proc/net/tcp).
fn unread_by_server(server: &TestServer) -> usize {
    let port = format!(":{:04X} ", server.addr.port());
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // The server's side of a connection: local port, state 01 (established).
            let local = fields.get(1)?;
            (format!("{local} ").ends_with(&port) && fields.get(3) == Some(&"01"))
                .then(|| usize::from_str_radix(fields.get(4)?.split(':').nth(1)?, 16).ok())
                .flatten()
        })
        .sum()
}

/// Row 8: connections each holding an unfinished line sent in pieces cost at most
/// `--max-line` plus a small constant each, and idle ones well under 1 KiB.
#[test]
fn unfinished_lines_cost_at_most_max_line_each() {
    let _alone = timed_load();
    // 1,000 connections come from one address: the per-address limit is lifted.
    let server = TestServer::start(&["--max-per-address", "0"]);
    let mut bystander = login_from(&server, HOME, "alice");
    let before = status_field(&server, "VmRSS");
    let mut clients: Vec<TestClient> = (0..1000)
        .map(|_| {
            let mut client = server.connect_from(ATTACKER);
            client.expect_prefix("HELLO parley 1");
            client
        })
        .collect();
    bystander.send("/ping idle");
    bystander.expect_line("PONG idle");
    let idle = status_field(&server, "VmRSS").saturating_sub(before) * 1024 / 1000;
    assert!(idle < 1024, "{idle} bytes per idle connection");
    // 4,000 bytes each, in 40 pieces, every connection's piece in turn.
    let piece = "y".repeat(100);
    let before = status_field(&server, "VmRSS");
    for _ in 0..40 {
        for client in &mut clients {
            client.send_raw(piece.as_bytes());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while unread_by_server(&server) > 0 {
        assert!(
            Instant::now() < deadline,
            "the server did not read the pieces"
        );
        std::thread::yield_now();
    }
    let each = status_field(&server, "VmRSS").saturating_sub(before) * 1024 / 1000;
    assert!(each <= 4096 + 1024, "{each} bytes per unfinished line");
    bystander.send("/ping after");
    bystander.expect_line("PONG after");
}
