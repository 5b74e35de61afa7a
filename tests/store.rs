//! Stored state over TCP against the real binary, each test on its own database file
//! in a temporary folder: what survives a restart, what is refused at start, what a
//! SIGKILL cannot take back, and what a full database answers.

mod common;

use std::fs;
use std::process::{Command, Output};

use common::{TestClient, TestServer};

/// A fresh temporary folder (removed when dropped) and a database path in it.
fn temp_data() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db").to_str().unwrap().to_owned();
    (dir, path)
}

/// Stops a server gracefully and waits for it.
fn stop(mut server: TestServer) {
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit().success());
}

/// Runs the server binary on `data` and expects it to refuse to start.
fn refused_start(data: &str) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_parley-server"))
        .args(["--listen", "127.0.0.1:0", "--data", data])
        .env_remove("PARLEY_DATA")
        .output()
        .expect("run parley-server");
    assert!(!output.status.success(), "the server started on {data}");
    output
}

/// Posts and returns the id the server confirmed.
fn post(client: &mut TestClient, room: &str, subject: &str) -> u64 {
    client.send(&format!("/post {room} {subject} the body of {subject}"));
    let line = client.expect_prefix(&format!("POSTED {room} "));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Logs in alice, who creates `Rust` and posts its first post (id 1).
fn alice_posts_first_in_rust(server: &TestServer) -> TestClient {
    let mut alice = server.login("alice");
    alice.send("/create Rust");
    alice.expect_line("JOIN Rust alice");
    assert_eq!(post(&mut alice, "Rust", "first"), 1);
    alice
}

#[test]
fn posts_rooms_ids_and_history_survive_a_restart() {
    let (_dir, data) = temp_data();
    let server = TestServer::start(&["--data", &data]);
    let mut alice = alice_posts_first_in_rust(&server);
    assert_eq!(post(&mut alice, "Rust", "second"), 2);
    alice.send("/create empty");
    alice.expect_line("JOIN empty alice");
    let mut bob = server.login("bob");
    alice.expect_line("JOIN lobby bob");
    bob.send("/join Rust");
    bob.expect_line("JOIN Rust bob");
    alice.expect_line("JOIN Rust bob");
    bob.send("hello from before");
    alice.expect_line("MSG Rust bob hello from before");
    stop(server);

    let server = TestServer::start(&["--data", &data]);
    let mut carol = server.login("carol");
    carol.send("/rooms");
    carol.expect_line("ROOMS 2 lobby:1 Rust:0");
    carol.send("/join rust");
    carol.expect_line("JOIN Rust carol");
    carol.send("/list");
    carol.expect_line("LIST Rust 2");
    carol.expect_prefix("POST Rust 1 alice ");
    carol.expect_prefix("POST Rust 2 alice ");
    carol.send("/read Rust 2");
    carol.expect_prefix("POST Rust 2 alice ");
    carol.expect_line("BODY Rust 2 the body of second");
    assert_eq!(post(&mut carol, "Rust", "third"), 3, "ids go on counting");
    carol.send("/history");
    carol.expect_line("HISTORY Rust 1");
    let old = carol.expect_prefix("OLD ");
    assert!(old.ends_with(" MSG Rust bob hello from before"), "{old}");
}

#[test]
fn memory_keeps_nothing() {
    let server = TestServer::start(&["--data", ":memory:"]);
    let mut alice = server.login("alice");
    alice.send("/create Rust");
    alice.expect_line("JOIN Rust alice");
    post(&mut alice, "Rust", "gone");
    stop(server);
    let server = TestServer::start(&["--data", ":memory:"]);
    let mut bob = server.login("bob");
    bob.send("/rooms");
    bob.expect_line("ROOMS 1 lobby:1");
}

#[test]
fn a_file_that_is_not_parleys_is_refused_and_left_unchanged() {
    let (dir, _) = temp_data();
    let data = dir.path().join("users.txt").to_str().unwrap().to_owned();
    let text = b"alice:secret\nbob:hunter2\n".repeat(100);
    fs::write(&data, &text).unwrap();
    let output = refused_start(&data);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a parley database"), "{stderr}");
    assert_eq!(fs::read(&data).unwrap(), text);
}

#[test]
fn a_second_server_on_a_database_in_use_is_refused_and_the_first_goes_on() {
    let (_dir, data) = temp_data();
    let server = TestServer::start(&["--data", &data]);
    let mut alice = alice_posts_first_in_rust(&server);
    let output = refused_start(&data);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{data} is in use by another parley-server (it holds {data}.lock)"
        )),
        "{stderr}"
    );
    // The first server's post ids and writes are its own still.
    assert_eq!(post(&mut alice, "Rust", "second"), 2);
    stop(server);
    // Once it has gone, the next server may start on the file.
    let server = TestServer::start(&["--data", &data]);
    let mut bob = server.login("bob");
    bob.send("/join Rust");
    bob.expect_line("JOIN Rust bob");
    assert_eq!(post(&mut bob, "Rust", "third"), 3);
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_unchanged() {
    let (_dir, data) = temp_data();
    stop(TestServer::start(&["--data", &data]));
    let conn = rusqlite::Connection::open(&data).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    let before = fs::read(&data).unwrap();
    let output = refused_start(&data);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("newer parley"), "{stderr}");
    assert_eq!(fs::read(&data).unwrap(), before);
}

#[test]
fn every_post_confirmed_before_a_sigkill_is_there_after_it() {
    let (_dir, data) = temp_data();
    // 200 posts from one address in seconds: --post-rate is lifted.
    let server = TestServer::start(&["--data", &data, "--post-rate", "0"]);
    let mut posters: Vec<TestClient> = (0..4).map(|n| server.login(&format!("p{n}"))).collect();
    let mut confirmed = Vec::new();
    // Several clients keep posts in flight; the kill comes while they are.
    for round in 0..50 {
        for (n, client) in posters.iter_mut().enumerate() {
            client.send(&format!("/post lobby r{round}p{n} body"));
        }
        for client in posters.iter_mut() {
            confirmed.push(read_posted(client));
        }
    }
    for (n, client) in posters.iter_mut().enumerate() {
        client.send(&format!("/post lobby last{n} body"));
    }
    server.signal(libc::SIGKILL);
    // What arrived before the connection died was confirmed before the kill.
    for client in posters.iter_mut() {
        if let Some(id) = try_read_posted(client) {
            confirmed.push(id);
        }
    }
    drop(server);
    // The reader may see every post from before its join.
    let server = TestServer::start(&["--data", &data, "--board-backlog", "1000"]);
    let mut reader = server.login("reader");
    for id in confirmed {
        reader.send(&format!("/read lobby {id}"));
        reader.expect_prefix(&format!("POST lobby {id} "));
        reader.expect_prefix(&format!("BODY lobby {id} "));
    }
}

/// The id of the next `POSTED`, skipping other members' notices.
fn read_posted(client: &mut TestClient) -> u64 {
    try_read_posted(client).expect("POSTED")
}

fn try_read_posted(client: &mut TestClient) -> Option<u64> {
    loop {
        let line = client.next_line_within(common::TIMEOUT)?;
        if let Some(rest) = line.strip_prefix("POSTED lobby ") {
            return Some(rest.parse().unwrap());
        }
    }
}

#[test]
fn a_full_database_answers_store_failed_and_chat_goes_on() {
    let (_dir, data) = temp_data();
    let server = TestServer::start(&["--data", &data, "--max-data", "64KiB"]);
    let mut alice = server.login("alice");
    let mut bob = server.login("bob");
    alice.expect_line("JOIN lobby bob");
    let body = "x".repeat(3000);
    let mut failed = false;
    for n in 0..100 {
        alice.send(&format!("/post lobby s{n} {body}"));
        let line = alice.next_line();
        if line.starts_with("ERR store-failed ") {
            failed = true;
            break;
        }
        assert!(line.starts_with("POSTED lobby "), "{line}");
        bob.expect_prefix("POST lobby ");
    }
    assert!(failed, "64 KiB never filled up");
    alice.send("still here");
    bob.expect_line("MSG lobby alice still here");
    alice.send("/ping ok");
    alice.expect_line("PONG ok");
}
