//! Accounts over TCP against the real binary (docs/PROTOCOL.md, "Accounts", and the
//! `/msg` extension of "Stored state"): each command's success and each of its error
//! codes in the documented order, registered names, duplicate logins, throttling, the
//! users file and its reload, `--require-login`, messages for offline accounts, `/nick`,
//! and what the log must never show.
//!
//! Most tests hash with tiny Argon2 costs (`CHEAP`) so that they run in milliseconds;
//! the costs change nothing the protocol shows, and one test uses the defaults.

mod common;

use std::fs;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestClient, TestServer};

/// Hashing costs that make a check take microseconds.
const CHEAP: [&str; 4] = ["--hash-memory", "64", "--hash-passes", "1"];

/// A server with cheap hashing and `extra` settings.
fn server(extra: &[&str]) -> TestServer {
    let mut args = CHEAP.to_vec();
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// Logs in as `name` and consumes `WELCOME` and `JOIN lobby`.
fn login(server: &TestServer, name: &str, password: &str) -> TestClient {
    let mut client = server.greeted();
    client.send(&format!("/login {name} {password}"));
    client.expect_prefix(&format!("WELCOME {name} "));
    client.expect_line(&format!("JOIN lobby {name}"));
    client
}

/// Registers `name` before naming, and consumes `WELCOME`, `JOIN lobby`, `REGISTERED`.
fn register(server: &TestServer, name: &str, password: &str) -> TestClient {
    let mut client = server.greeted();
    client.send(&format!("/register {name} {password}"));
    client.expect_prefix(&format!("WELCOME {name} "));
    client.expect_line(&format!("JOIN lobby {name}"));
    client.expect_line(&format!("REGISTERED {name}"));
    client
}

/// Sends `/msg <to> <text>` from `sender`, for an offline account: stored.
fn leave_message(sender: &mut TestClient, to: &str, text: &str) {
    sender.send(&format!("/msg {to} {text}"));
    sender.expect_line(&format!("OFFLINE {}", to.to_ascii_lowercase()));
}

/// Expects the next line to replay a private message from `from`.
fn expect_old_private(client: &mut TestClient, from: &str, text: &str) {
    let old = client.expect_prefix("OLD ");
    assert!(old.ends_with(&format!(" PRIV {from} {text}")), "{old}");
}

/// Quits and waits for the close, so the name is free for the next test step.
fn quit(mut client: TestClient) {
    client.send("/quit");
    client.expect_prefix("BYE quit");
    client.expect_closed();
}

/// A fresh temporary folder (removed when dropped) and a database path in it.
fn temp_data() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db").to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn a_registered_name_is_owned_and_logged_in_to() {
    let server = server(&[]);
    let mut alice = server.login("alice");
    alice.send("/register correct-horse");
    alice.expect_line("REGISTERED alice");
    quit(alice);

    // Nobody else can take the name, in any case or by the first plain line.
    let mut mallory = server.greeted();
    mallory.send("/name ALICE");
    mallory.expect_err("name-registered");
    mallory.send("alice");
    mallory.expect_err("name-registered");
    mallory.send("/login alice wrong-horse");
    mallory.expect_err("bad-login");

    // The owner logs in; the name is shown as first spelled.
    let mut alice = server.greeted();
    alice.send("/login ALICE correct-horse");
    alice.expect_prefix("WELCOME alice ");
    alice.expect_line("JOIN lobby alice");
    mallory.send("/name mallory");
    mallory.expect_prefix("WELCOME mallory");
    mallory.expect_line("JOIN lobby mallory");
    alice.expect_line("JOIN lobby mallory");
    alice.expect_nothing_pending();
}

#[test]
fn register_before_naming_welcomes_then_confirms() {
    let server = server(&[]);
    let mut bob = register(&server, "bob", "\"a long password\"");
    bob.expect_nothing_pending();
    // The same account cannot be registered twice, nor while it is online.
    let mut other = server.greeted();
    other.send("/register bob another-password");
    other.expect_err("name-taken");
    quit(bob);
    other.send("/register BOB another-password");
    other.expect_err("name-registered");
}

#[test]
fn login_errors_come_in_the_documented_order() {
    let server = server(&["--login-attempts", "0"]);
    let _alice = register(&server, "alice", "correct-horse");
    let mut named = server.login("guest");
    // already-named before everything, even bad arguments.
    named.send("/login");
    named.expect_err("already-named");
    named.send("/login b@d x");
    named.expect_err("already-named");

    let mut c = server.greeted();
    c.send("/login alice");
    c.expect_err("bad-args");
    c.send("/login b@d whatever");
    c.expect_err("bad-name");
    c.send(&format!("/login alice {}", "x".repeat(1025)));
    c.expect_err("bad-args");
    // Unknown name and wrong password: the very same line.
    c.send("/login nobody correct-horse");
    let unknown = c.next_line();
    c.send("/login alice wrong-horse");
    let wrong = c.next_line();
    assert!(unknown.starts_with("ERR bad-login "), "{unknown}");
    assert_eq!(unknown, wrong, "bad-login must not tell which it was");
    // The right password for an account that is online: name-taken, after the check.
    c.send("/login alice wrong-horse");
    c.expect_err("bad-login");
    c.send("/login alice correct-horse");
    c.expect_err("name-taken");
    c.expect_nothing_pending();
}

#[test]
fn register_errors_come_in_the_documented_order() {
    let server = server(&[]);
    register(&server, "taken", "the-password");
    let _online = server.login("online");

    // Before naming: bad-args (wrong form), bad-name, name-taken, name-registered,
    // weak-password.
    let mut c = server.greeted();
    c.send("/register only-a-password");
    c.expect_err("bad-args");
    c.send("/register b@d short");
    c.expect_err("bad-name");
    c.send("/register online short");
    c.expect_err("name-taken");
    c.send("/register TAKEN short");
    c.expect_err("name-registered");
    c.send("/register newname short");
    c.expect_err("weak-password");
    c.send("/register newname NewName");
    c.expect_err("weak-password");
    // Eight code points, not bytes.
    c.send("/register newname ééééééé");
    c.expect_err("weak-password");
    c.send("/register newname éééééééé");
    c.expect_prefix("WELCOME newname ");
    c.expect_line("JOIN lobby newname");
    c.expect_line("REGISTERED newname");

    // Named: bad-args for the other form, already-registered before weak-password.
    c.send("/register newname another-password");
    c.expect_err("bad-args");
    c.send("/register x");
    c.expect_err("already-registered");
    let mut guest = server.login("guestname");
    guest.send("/register guest");
    guest.expect_err("weak-password");
    guest.send("/register GUESTNAME");
    guest.expect_err("weak-password");
    guest.send("/register guest-password");
    guest.expect_line("REGISTERED guestname");
}

#[test]
fn closed_registration_refuses_every_change_first() {
    let (_dir, data) = temp_data();
    {
        let server = server(&["--data", &data]);
        register(&server, "alice", "correct-horse");
    }
    let server = server(&["--data", &data, "--registration", "closed"]);
    let mut c = server.greeted();
    c.send("/register bob weak");
    c.expect_err("registration-closed");
    c.send("/register b@d weak");
    c.expect_err("bad-name");
    let mut guest = server.login("guest");
    guest.send("/register x");
    guest.expect_err("registration-closed");
    guest.send("/passwd a b");
    guest.expect_err("registration-closed");
    guest.send("/unregister a");
    guest.expect_err("registration-closed");
    // Logging in still works.
    let mut alice = login(&server, "alice", "correct-horse");
    alice.send("/passwd correct-horse new-password");
    alice.expect_err("registration-closed");
}

#[test]
fn passwd_checks_the_old_password_and_replaces_it() {
    let server = server(&["--login-attempts", "0"]);
    let mut guest = server.login("guest");
    guest.send("/passwd old-password new-password");
    guest.expect_err("not-registered");
    let mut alice = register(&server, "alice", "first-password");
    alice.send("/passwd first-password short");
    alice.expect_err("weak-password");
    alice.send("/passwd wrong-password second-password");
    alice.expect_err("bad-login");
    alice.send("/passwd first-password second-password");
    alice.expect_line("REGISTERED alice");
    quit(alice);
    let mut c = server.greeted();
    c.send("/login alice first-password");
    c.expect_err("bad-login");
    c.send("/login alice second-password");
    c.expect_prefix("WELCOME alice ");
}

#[test]
fn unregister_leaves_a_guest_and_frees_the_name() {
    let server = server(&["--login-attempts", "0"]);
    let mut alice = register(&server, "alice", "first-password");
    alice.send("/unregister wrong-password");
    alice.expect_err("bad-login");
    alice.send("/unregister first-password");
    alice.expect_line("UNREGISTERED alice");
    alice.send("/unregister first-password");
    alice.expect_err("not-registered");
    // Still online under the same name, as a guest who may register again.
    let mut bob = server.login("bob");
    alice.expect_line("JOIN lobby bob");
    bob.send("/msg alice still here?");
    alice.expect_line("PRIV bob still here?");
    quit(alice);
    let mut c = server.greeted();
    c.send("/login alice first-password");
    c.expect_err("bad-login");
    c.send("/name alice");
    c.expect_prefix("WELCOME alice");
}

#[test]
fn repeated_failures_throttle_the_address() {
    let server = server(&["--login-attempts", "3"]);
    register(&server, "alice", "correct-horse");
    let mut c = server.greeted();
    for _ in 0..3 {
        c.send("/login alice wrong-horse");
        c.expect_err("bad-login");
    }
    // Even the right password is not checked now, from any connection of the address.
    c.send("/login alice correct-horse");
    c.expect_err("throttled");
    let mut d = server.greeted();
    d.send("/login alice correct-horse");
    d.expect_err("throttled");
    // Throttling is for password checks: naming as a guest still works.
    d.send("/name dave");
    d.expect_prefix("WELCOME dave");
    // The log is read on a thread of its own: wait for the line logged after the
    // failures before counting them.
    server.expect_log("is now dave");
    let log = server.log();
    assert_eq!(
        log.matches("failed login for account alice from 127.0.0.1")
            .count(),
        3,
        "each failure is logged with account and address:\n{log}"
    );
}

#[test]
fn a_full_hashing_queue_throttles_at_once_and_the_loop_stays_responsive() {
    // One worker, no queue, and a check that takes a while (64 MiB, 4 passes): while
    // it runs, another login is throttled at once, and chat goes on. The test sends
    // faster than flood control allows: it is lifted.
    let server = TestServer::start(&[
        "--flood-rate",
        "0",
        "--hash-workers",
        "1",
        "--hash-queue",
        "0",
        "--hash-memory",
        "65536",
        "--hash-passes",
        "4",
    ]);
    let mut bystander = server.login("bystander");
    let mut first = server.greeted();
    first.send("/login nobody some-password");
    let mut second = server.greeted();
    second.send("/login nobody other-password");
    // /ping answers stay prompt while passwords are being checked.
    let mut worst = Duration::ZERO;
    for token in 0..20 {
        let start = Instant::now();
        bystander.send(&format!("/ping t{token}"));
        bystander.expect_line(&format!("PONG t{token}"));
        worst = worst.max(start.elapsed());
    }
    // Whichever the loop read first is checked; the other was refused at once.
    let mut answers = [first.next_line(), second.next_line()];
    answers.sort();
    assert!(answers[0].starts_with("ERR bad-login "), "{answers:?}");
    assert!(answers[1].starts_with("ERR throttled "), "{answers:?}");
    assert!(
        worst < Duration::from_millis(50),
        "a /ping took {worst:?} while a password was being checked"
    );
}

#[test]
fn the_loop_answers_pings_within_50ms_while_slow_logins_are_checked() {
    // Deliberately slow hashing (128 MiB, 3 passes each) on two workers, with a queue
    // of logins behind them; a bystander's pings must not wait for any of it. Its
    // pings come faster than flood control allows: it is lifted.
    let server = TestServer::start(&[
        "--flood-rate",
        "0",
        "--hash-workers",
        "2",
        "--hash-memory",
        "131072",
        "--hash-passes",
        "3",
        "--login-attempts",
        "0",
    ]);
    let mut bystander = server.login("bystander");
    let mut storm: Vec<TestClient> = (0..6)
        .map(|i| {
            let mut c = server.greeted();
            c.send(&format!("/login user{i} some-password"));
            c
        })
        .collect();
    let mut worst = Duration::ZERO;
    let mut pings = 0;
    let deadline = Instant::now() + Duration::from_millis(800);
    while Instant::now() < deadline {
        let start = Instant::now();
        bystander.send(&format!("/ping p{pings}"));
        bystander.expect_line(&format!("PONG p{pings}"));
        worst = worst.max(start.elapsed());
        pings += 1;
    }
    for c in &mut storm {
        c.expect_err("bad-login");
    }
    assert!(pings > 10, "only {pings} pings answered");
    assert!(
        worst < Duration::from_millis(50),
        "a /ping took {worst:?} during the login storm"
    );
}

#[test]
fn a_duplicate_login_is_refused() {
    let server = server(&[]);
    let mut alice = register(&server, "alice", "correct-horse");
    let mut again = server.greeted();
    again.send("/login alice correct-horse");
    again.expect_err("name-taken");
    alice.expect_nothing_pending();
}

#[test]
fn require_login_refuses_guests_but_not_accounts() {
    let server = server(&["--require-login"]);
    let mut c = server.greeted();
    c.send("/name guest");
    c.expect_err("login-required");
    c.send("guest");
    c.expect_err("login-required");
    c.send("/name b@d");
    c.expect_err("bad-name");
    c.send("/register member the-password");
    c.expect_prefix("WELCOME member ");
    c.expect_line("JOIN lobby member");
    c.expect_line("REGISTERED member");
}

#[test]
fn messages_for_an_offline_account_wait_for_its_next_login_once() {
    let server = server(&[]);
    quit(register(&server, "alice", "correct-horse"));
    let mut bob = server.login("bob");
    leave_message(&mut bob, "ALICE", "first while you were out");
    leave_message(&mut bob, "alice", "second one");
    bob.send("/msg nobody hello?");
    bob.expect_err("no-such-user");

    let mut alice = login(&server, "alice", "correct-horse");
    expect_old_private(&mut alice, "bob", "first while you were out");
    expect_old_private(&mut alice, "bob", "second one");
    bob.expect_line("JOIN lobby alice");
    // Online now: a private message goes straight to her.
    bob.send("/msg alice live");
    alice.expect_line("PRIV bob live");
    quit(alice);
    // Delivered once: the next login finds none.
    let mut alice = login(&server, "alice", "correct-horse");
    alice.expect_nothing_pending();
}

#[test]
fn offline_messages_are_limited_per_account() {
    let server = server(&["--offline-limit", "2"]);
    quit(register(&server, "alice", "correct-horse"));
    let mut bob = server.login("bob");
    for n in 0..2 {
        leave_message(&mut bob, "alice", &format!("number {n}"));
    }
    bob.send("/msg alice one too many");
    bob.expect_err("limit-reached");
    let _alice = login(&server, "alice", "correct-horse");
    bob.expect_line("JOIN lobby alice");
}

#[test]
fn offline_messages_and_accounts_survive_sigkill() {
    let (_dir, data) = temp_data();
    let server = server(&["--data", &data]);
    quit(register(&server, "alice", "correct-horse"));
    let mut bob = server.login("bob");
    // OFFLINE is sent only once the message is committed.
    leave_message(&mut bob, "alice", "kept through a crash");
    server.signal(libc::SIGKILL);
    drop(server);

    let server = self::server(&["--data", &data]);
    let mut alice = login(&server, "alice", "correct-horse");
    expect_old_private(&mut alice, "bob", "kept through a crash");
    alice.expect_nothing_pending();
}

#[test]
fn unregistering_deletes_the_waiting_messages() {
    let (_dir, data) = temp_data();
    let server = server(&["--data", &data]);
    quit(register(&server, "alice", "correct-horse"));
    let mut bob = server.login("bob");
    leave_message(&mut bob, "alice", "never read");
    let mut alice = login(&server, "alice", "correct-horse");
    expect_old_private(&mut alice, "bob", "never read");
    alice.send("/unregister correct-horse");
    alice.expect_line("UNREGISTERED alice");
    alice.send("/register correct-horse");
    alice.expect_line("REGISTERED alice");
    quit(alice);
    let mut alice = login(&server, "alice", "correct-horse");
    alice.expect_nothing_pending();
}

#[test]
fn nick_renames_guests_for_everyone_who_sees_them() {
    let server = server(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut carol = register(&server, "carol", "carols-password");
    alice.expect_line("JOIN lobby carol");
    bob.expect_line("JOIN lobby carol");
    alice.send("/create rust");
    alice.expect_line("JOIN rust alice");

    alice.send("/nick Alicia");
    // Once each, though bob and carol share two rooms... with alice only the lobby.
    alice.expect_line("NICK alice Alicia");
    bob.expect_line("NICK alice Alicia");
    carol.expect_line("NICK alice Alicia");
    // Rooms and the current room stay.
    alice.send("still in rust");
    alice.send("/users rust");
    alice.expect_line("USERS rust 1 Alicia");
    alice.send("/nick alicia");
    alice.expect_line("NICK Alicia alicia");
    bob.expect_line("NICK Alicia alicia");
    carol.expect_line("NICK Alicia alicia");
    alice.send("/nick alicia");
    alice.expect_nothing_pending();

    alice.send("/nick b@d");
    alice.expect_err("bad-name");
    alice.send("/nick BOB");
    alice.expect_err("name-taken");
    quit(carol);
    alice.expect_prefix("LEAVE lobby carol quit");
    bob.expect_prefix("LEAVE lobby carol quit");
    alice.send("/nick carol");
    alice.expect_err("name-registered");
    let mut carol = login(&server, "carol", "carols-password");
    carol.send("/nick caroline");
    carol.expect_err("already-registered");
    // The old name is free, the new one taken.
    let mut d = server.greeted();
    d.send("/name alicia");
    d.expect_err("name-taken");
    d.send("/name alice");
    d.expect_prefix("WELCOME alice");
}

#[test]
fn nick_shares_one_notice_with_a_member_of_several_rooms() {
    let server = server(&[]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    common::create(&mut alice, "alice", "rust");
    common::join(&mut bob, "bob", "rust", &mut [&mut alice]);
    alice.send("/nick ally");
    alice.expect_line("NICK alice ally");
    bob.expect_line("NICK alice ally");
    bob.expect_nothing_pending();
    alice.expect_nothing_pending();
}

/// Writes `text` to a users file in `dir` and returns its path.
fn users_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("users.txt");
    fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `parley-server hash-password` for `password`, with `args`.
fn hash_password(password: &str, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley-server"))
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let phc = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    phc
}

#[test]
fn a_users_file_holds_the_accounts_and_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let phc = hash_password("hashed password", &CHEAP);
    let path = users_file(
        &dir,
        &format!("# the old chat's users\nalice:clear: with colons\n\nbob:{phc}\n"),
    );
    let server = server(&["--accounts-file", &path]);
    let log = server.log();
    assert!(log.contains("1 clear-text passwords"), "{log}");
    let mut alice = login(&server, "alice", "\"clear: with colons\"");
    let bob = login(&server, "bob", "\"hashed password\"");
    alice.expect_line("JOIN lobby bob");
    // The file alone holds the accounts.
    alice.send("/passwd \"clear: with colons\" new-password");
    alice.expect_err("registration-closed");
    let mut c = server.greeted();
    c.send("/register carol carols-password");
    c.expect_err("registration-closed");

    // A broken file is refused on SIGHUP, naming its line; the accounts stay.
    fs::write(&path, "alice:x\nno colon here\n").unwrap();
    server.signal(libc::SIGHUP);
    server.expect_log("line 2");
    quit(bob);
    c.send("/login bob \"hashed password\"");
    c.expect_prefix("WELCOME bob");
    // A good file replaces them.
    fs::write(&path, "carol:carols-password\n").unwrap();
    server.signal(libc::SIGHUP);
    server.expect_log("accounts file reloaded: 1 accounts");
    let mut d = server.greeted();
    d.send("/login carol carols-password");
    d.expect_prefix("WELCOME carol");
    let mut e = server.greeted();
    e.send("/name dave");
    e.expect_prefix("WELCOME dave");
}

#[test]
fn a_broken_users_file_stops_the_start_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line) in [
        ("alice:one\nbob:two\nALICE:three\n", "line 3"),
        ("alice:one\nb c:two\n", "line 2"),
        ("alice:$argon2id$not-a-hash\n", "line 1"),
    ] {
        let path = users_file(&dir, text);
        let output = Command::new(env!("CARGO_BIN_EXE_parley-server"))
            .args(["--listen", "127.0.0.1:0", "--data", ":memory:"])
            .args(["--accounts-file", &path])
            .env_remove("PARLEY_DATA")
            .output()
            .unwrap();
        assert!(!output.status.success(), "started with {text:?}");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(log.contains(line), "{text:?}: {log}");
        for secret in ["one", "two", "three", "not-a-hash"] {
            assert!(!log.contains(secret), "the log shows a password: {log}");
        }
    }
}

#[test]
fn no_password_or_hash_ever_reaches_the_log() {
    let (_dir, data) = temp_data();
    let server = TestServer::start_with_log(&["--data", &data], "trace");
    let secrets = ["first-secret-1", "second-secret-2", "wrong-secret-3"];
    let mut alice = server.greeted();
    alice.send(&format!("/register alice {}", secrets[0]));
    alice.skip_until("REGISTERED alice");
    alice.send(&format!("/passwd {} {}", secrets[0], secrets[1]));
    alice.expect_line("REGISTERED alice");
    let mut c = server.greeted();
    c.send(&format!("/login alice {}", secrets[2]));
    c.expect_err("bad-login");
    c.send(&format!("/login nobody {}", secrets[2]));
    c.expect_err("bad-login");
    alice.send(&format!("/unregister {}", secrets[1]));
    alice.expect_line("UNREGISTERED alice");
    server.expect_log("failed login for account nobody");
    let log = server.log();
    for secret in secrets {
        assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
    assert!(!log.contains("$argon2"), "the log shows a hash:\n{log}");
}

#[test]
fn default_costs_hash_with_owasp_parameters_and_old_hashes_are_upgraded() {
    let (_dir, data) = temp_data();
    {
        let server = server(&["--data", &data]);
        register(&server, "alice", "correct-horse");
    }
    let stored = || -> String {
        let conn = rusqlite::Connection::open(&data).unwrap();
        conn.query_row("SELECT phc FROM accounts WHERE key = 'alice'", [], |row| {
            row.get(0)
        })
        .unwrap()
    };
    assert!(stored().contains("m=64,t=1,p=1"), "{}", stored());
    // With the default costs, the next login upgrades the hash.
    let server = TestServer::start(&["--data", &data]);
    let mut alice = login(&server, "alice", "correct-horse");
    // The upgrade is written before the login's waiting messages are read, and a read
    // commits every write queued before it: once /history is answered, it is stored.
    alice.send("/history");
    alice.expect_line("HISTORY lobby 0");
    assert!(
        stored().contains("m=19456,t=2,p=1"),
        "not upgraded: {}",
        stored()
    );
    quit(alice);
    login(&server, "alice", "correct-horse");
}
