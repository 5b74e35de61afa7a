//! Board tests over real TCP: `/post`, `/list`, `/read` and their errors; the `POSTED`
//! confirmation and the `POST` header notice to the other members; ids counting from 1
//! per room and never reused; visibility (the last `--board-backlog` posts before the
//! latest join and every post after it); `--board-retain` dropping the oldest posts;
//! `no-such-post` for a missing post, an invisible one and an id that is not a number.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{create, join, TestClient, TestServer};

/// A server with default settings (backlog 2, retain 1000).
fn server() -> TestServer {
    TestServer::start(&[])
}

/// The wall clock in unix seconds.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Posts `subject` (one word) with `body` to `room` and expects `POSTED <room> <id>`.
fn post(client: &mut TestClient, room: &str, subject: &str, body: &str, id: u64) {
    client.send(&format!("/post {room} {subject} {body}"));
    client.expect_line(&format!("POSTED {room} {id}"));
}

/// Expects `POST <room> <id> <author> <unix-seconds> <subject>` with a timestamp of
/// the current wall clock (a few seconds of slack).
fn expect_post(client: &mut TestClient, room: &str, id: u64, author: &str, subject: &str) {
    let head = format!("POST {room} {id} {author} ");
    let line = client.expect_prefix(&head);
    let (ts, got_subject) = line[head.len()..]
        .split_once(' ')
        .unwrap_or_else(|| panic!("no timestamp and subject in {line:?}"));
    let ts: u64 = ts
        .parse()
        .unwrap_or_else(|_| panic!("timestamp not a number in {line:?}"));
    let now = unix_now();
    assert!(
        ts + 5 >= now && ts <= now + 1,
        "timestamp {ts} is not now ({now}) in {line:?}"
    );
    assert_eq!(got_subject, subject, "subject in {line:?}");
}

/// Sends `/list <room>` and expects `LIST <room> <n>` followed by the posts with `ids`
/// (oldest first), whose subjects are `s<id>`.
fn expect_listing(client: &mut TestClient, room: &str, author: &str, ids: &[u64]) {
    client.send(&format!("/list {room}"));
    client.expect_line(&format!("LIST {room} {}", ids.len()));
    for &id in ids {
        expect_post(client, room, id, author, &format!("s{id}"));
    }
}

/// Posts subjects `s<id>` for each id in `ids`, in order, to `room`.
fn post_numbered(client: &mut TestClient, room: &str, ids: std::ops::RangeInclusive<u64>) {
    for id in ids {
        post(client, room, &format!("s{id}"), &format!("body {id}"), id);
    }
}

// ---- post -------------------------------------------------------------------------------

#[test]
fn post_is_confirmed_to_the_poster_with_posted_only() {
    let server = server();
    let mut alice = server.login("alice");
    post(&mut alice, "lobby", "hello", "the body", 1);
    alice.expect_nothing_pending();
}

#[test]
fn new_post_is_announced_to_other_members_as_a_post_header_line_only() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    post(&mut alice, "lobby", "hello", "the body", 1);
    expect_post(&mut bob, "lobby", 1, "alice", "hello");
    bob.expect_nothing_pending();
}

#[test]
fn new_post_in_a_room_is_announced_only_to_its_members() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    post(&mut alice, "games", "rules", "be nice", 1);
    expect_post(&mut bob, "games", 1, "alice", "rules");
    carol.expect_nothing_pending();
}

#[test]
fn quoted_subject_with_spaces_appears_in_notice_list_and_read() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/post lobby \"big  news\" read me");
    alice.expect_line("POSTED lobby 1");
    expect_post(&mut bob, "lobby", 1, "alice", "big  news");
    bob.send("/list");
    bob.expect_line("LIST lobby 1");
    expect_post(&mut bob, "lobby", 1, "alice", "big  news");
    bob.send("/read lobby 1");
    expect_post(&mut bob, "lobby", 1, "alice", "big  news");
    bob.expect_line("BODY lobby 1 read me");
}

#[test]
fn post_body_is_kept_exactly_as_typed() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/post lobby subject   body  with \"quotes\" \\ and trailing  ");
    alice.expect_line("POSTED lobby 1");
    alice.send("/read lobby 1");
    expect_post(&mut alice, "lobby", 1, "alice", "subject");
    alice.expect_line("BODY lobby 1 body  with \"quotes\" \\ and trailing  ");
}

#[test]
fn post_with_missing_subject_or_body_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    for line in [
        "/post",
        "/post lobby",
        "/post lobby subject",
        "/post lobby subject   ",
    ] {
        alice.send(line);
        let got = alice.next_line();
        assert!(got.starts_with("ERR bad-args "), "{line:?} gave {got:?}");
    }
}

#[test]
fn post_ids_count_from_1_in_each_room() {
    let server = server();
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "games");
    post(&mut alice, "lobby", "a", "x", 1);
    post(&mut alice, "lobby", "b", "x", 2);
    post(&mut alice, "games", "c", "x", 1);
    post(&mut alice, "lobby", "d", "x", 3);
    post(&mut alice, "games", "e", "x", 2);
}

// ---- list and read ------------------------------------------------------------------

#[test]
fn read_gives_the_post_header_then_its_body() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    post(&mut alice, "lobby", "hello", "the body text", 1);
    expect_post(&mut bob, "lobby", 1, "alice", "hello");
    bob.send("/read LOBBY 1");
    expect_post(&mut bob, "lobby", 1, "alice", "hello");
    bob.expect_line("BODY lobby 1 the body text");
    bob.expect_nothing_pending();
}

#[test]
fn list_gives_the_count_then_post_headers_oldest_first() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    post(&mut alice, "lobby", "s1", "one", 1);
    expect_post(&mut bob, "lobby", 1, "alice", "s1");
    post(&mut bob, "lobby", "s2", "two", 2);
    expect_post(&mut alice, "lobby", 2, "bob", "s2");
    alice.send("/list lobby");
    alice.expect_line("LIST lobby 2");
    expect_post(&mut alice, "lobby", 1, "alice", "s1");
    expect_post(&mut alice, "lobby", 2, "bob", "s2");
    alice.expect_nothing_pending();
}

#[test]
fn list_without_argument_uses_the_current_room() {
    let server = server();
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "games");
    post(&mut alice, "games", "s1", "body", 1);
    alice.send("/list");
    alice.expect_line("LIST games 1");
    expect_post(&mut alice, "games", 1, "alice", "s1");
}

#[test]
fn list_of_an_empty_board_is_list_0() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/list lobby");
    alice.expect_line("LIST lobby 0");
    alice.expect_nothing_pending();
}

#[test]
fn list_without_argument_and_without_any_room_is_not_in_room() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/leave lobby");
    alice.expect_line("LEAVE lobby alice left");
    alice.send("/list");
    alice.expect_err("not-in-room");
}

#[test]
fn read_of_a_missing_post_is_no_such_post() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/read lobby 1");
    alice.expect_err("no-such-post");
    post(&mut alice, "lobby", "s1", "body", 1);
    for line in ["/read lobby 2", "/read lobby 0"] {
        alice.send(line);
        alice.expect_err("no-such-post");
    }
}

#[test]
fn read_with_an_id_that_is_not_a_number_is_no_such_post() {
    let server = server();
    let mut alice = server.login("alice");
    post(&mut alice, "lobby", "s1", "body", 1);
    for id in [
        "abc",
        "-1",
        "1x",
        "1.0",
        "0x1",
        "99999999999999999999999999",
    ] {
        alice.send(&format!("/read lobby {id}"));
        let got = alice.next_line();
        assert!(
            got.starts_with("ERR no-such-post "),
            "id {id:?} gave {got:?}"
        );
    }
}

#[test]
fn board_commands_on_an_unknown_room_are_no_such_room() {
    let server = server();
    let mut alice = server.login("alice");
    for line in [
        "/post nowhere s b",
        "/list nowhere",
        "/read nowhere 1",
        "/read nowhere x",
    ] {
        alice.send(line);
        let got = alice.next_line();
        assert!(
            got.starts_with("ERR no-such-room "),
            "{line:?} gave {got:?}"
        );
    }
}

#[test]
fn board_commands_on_a_room_not_in_are_not_in_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post(&mut alice, "games", "s1", "body", 1);
    for line in [
        "/post games s b",
        "/list games",
        "/read games 1",
        "/read games 9",
        "/read games x",
    ] {
        bob.send(line);
        let got = bob.next_line();
        assert!(got.starts_with("ERR not-in-room "), "{line:?} gave {got:?}");
    }
    alice.expect_nothing_pending();
}

// ---- visibility, retention --------------------------------------------------------------

#[test]
fn joiner_sees_the_last_two_posts_before_joining_and_every_post_after() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=3);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    expect_listing(&mut bob, "games", "alice", &[2, 3]);
    post_numbered(&mut alice, "games", 4..=4);
    expect_post(&mut bob, "games", 4, "alice", "s4");
    expect_listing(&mut bob, "games", "alice", &[2, 3, 4]);
}

#[test]
fn read_of_a_post_older_than_the_backlog_is_no_such_post() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=3);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    bob.send("/read games 1");
    bob.expect_err("no-such-post");
    bob.send("/read games 2");
    expect_post(&mut bob, "games", 2, "alice", "s2");
    bob.expect_line("BODY games 2 body 2");
    alice.send("/read games 1");
    expect_post(&mut alice, "games", 1, "alice", "s1");
    alice.expect_line("BODY games 1 body 1");
}

#[test]
fn visibility_counts_from_the_latest_join() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=3);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    post_numbered(&mut alice, "games", 4..=4);
    expect_post(&mut bob, "games", 4, "alice", "s4");
    bob.send("/leave games");
    bob.expect_line("LEAVE games bob left");
    alice.expect_line("LEAVE games bob left");
    post_numbered(&mut alice, "games", 5..=7);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    expect_listing(&mut bob, "games", "alice", &[6, 7]);
    bob.send("/read games 4");
    bob.expect_err("no-such-post");
}

#[test]
fn board_backlog_sets_how_many_earlier_posts_a_joiner_sees() {
    let server = TestServer::start(&["--board-backlog", "1"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=3);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    expect_listing(&mut bob, "games", "alice", &[3]);
}

#[test]
fn board_backlog_0_shows_no_earlier_post() {
    let server = TestServer::start(&["--board-backlog", "0"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=2);
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    expect_listing(&mut bob, "games", "alice", &[]);
    post_numbered(&mut alice, "games", 3..=3);
    expect_post(&mut bob, "games", 3, "alice", "s3");
    expect_listing(&mut bob, "games", "alice", &[3]);
}

#[test]
fn board_retain_drops_the_oldest_posts() {
    let server = TestServer::start(&["--board-retain", "2"]);
    let mut alice = server.login("alice");
    post_numbered(&mut alice, "lobby", 1..=3);
    expect_listing(&mut alice, "lobby", "alice", &[2, 3]);
    alice.send("/read lobby 1");
    alice.expect_err("no-such-post");
}

#[test]
fn post_ids_are_never_reused_after_old_posts_are_dropped() {
    let server = TestServer::start(&["--board-retain", "1"]);
    let mut alice = server.login("alice");
    post_numbered(&mut alice, "lobby", 1..=4);
    expect_listing(&mut alice, "lobby", "alice", &[4]);
}

#[test]
fn posts_of_a_room_without_members_stay_readable_within_the_backlog() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    post_numbered(&mut alice, "games", 1..=3);
    alice.send("/leave games");
    alice.expect_line("LEAVE games alice left");
    join(&mut bob, "bob", "games", &mut []);
    expect_listing(&mut bob, "games", "alice", &[2, 3]);
    post_numbered(&mut bob, "games", 4..=4);
}
