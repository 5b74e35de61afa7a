//! Tests of `parley-client` in its non-terminal mode: the real client binary with
//! piped stdin and stdout, against a real `parley-server` (and, for text a real server
//! would refuse to pass on, a scripted fake server), over plain TCP and over TLS. The
//! client's stdout is read by a thread and every expectation waits for lines with a
//! timeout; nothing sleeps to synchronise.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{TestServer, TIMEOUT};

/// A running `parley-client` in non-terminal mode.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines of stdout; `None` once stdout has ended.
    lines: Receiver<Option<String>>,
    /// Collects stderr until the process ends.
    stderr: Option<JoinHandle<String>>,
    /// Everything read so far, for failure messages.
    transcript: Vec<String>,
}

impl Client {
    /// Starts the client for `addr` with extra arguments; times are shown in UTC.
    fn start(addr: impl Display, args: &[&str]) -> Client {
        Client::spawn(Client::command(addr, args))
    }

    /// The command that [`Client::start`] runs, to add to it.
    fn command(addr: impl Display, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley-client"));
        command
            .arg(addr.to_string())
            .args(args)
            .env_remove("PARLEY_ADDR")
            .env_remove("PARLEY_PASSWORD");
        command
    }

    /// Starts the client as `command` describes, with pipes for its standard streams.
    fn spawn(mut command: Command) -> Client {
        let mut child = command
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn parley-client");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        let line = String::from_utf8(buf.clone()).expect("client prints UTF-8");
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(None);
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let stdin = child.stdin.take();
        Client {
            child,
            stdin,
            lines,
            stderr: Some(stderr),
            transcript: Vec::new(),
        }
    }

    /// Types one line.
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to client");
        stdin.flush().expect("flush client stdin");
    }

    /// Ends the client's input.
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stdout line, or `None` at its end; fails after `TIMEOUT`.
    fn next(&mut self) -> Option<String> {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(Some(line)) => {
                self.transcript.push(line.clone());
                Some(line)
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "no line from the client; so far:\n{}",
                    self.transcript.join("\n")
                )
            }
        }
    }

    /// The next line, which must exist.
    fn line(&mut self) -> String {
        match self.next() {
            Some(line) => line,
            None => panic!(
                "client output ended; so far:\n{}\nstderr: {}",
                self.transcript.join("\n"),
                self.stderr_text()
            ),
        }
    }

    /// Expects the next line to be exactly `expected`.
    fn expect(&mut self, expected: &str) {
        let line = self.line();
        assert_eq!(
            line,
            expected,
            "transcript:\n{}",
            self.transcript.join("\n")
        );
    }

    /// Expects the next line to start with `prefix`; returns it.
    fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.line();
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}..., got {line:?}; transcript:\n{}",
            self.transcript.join("\n")
        );
        line
    }

    /// Expects an error line (`! text (code)`) with `code`.
    fn expect_error(&mut self, code: &str) {
        let line = self.line();
        assert!(
            line.starts_with("! ") && line.ends_with(&format!("({code})")),
            "expected an error {code}, got {line:?}"
        );
    }

    /// Skips lines until one starts with `prefix`; returns it.
    fn skip_until(&mut self, prefix: &str) -> String {
        loop {
            let line = self.line();
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Logs in: the greeting, our name and the lobby.
    fn expect_login(&mut self, name: &str) {
        self.expect_prefix("* connected");
        self.expect_prefix(&format!("* you are {name}"));
        self.expect("* you joined lobby");
    }

    /// Everything the client wrote on stderr (once it has exited).
    fn stderr_text(&mut self) -> String {
        match self.stderr.take() {
            Some(handle) if handle.is_finished() => handle.join().unwrap_or_default(),
            Some(handle) => {
                self.stderr = Some(handle);
                String::from("(still running)")
            }
            None => String::new(),
        }
    }

    /// Expects stdout to end and the process to exit; returns its status and stderr.
    fn expect_exit(mut self) -> (ExitStatus, String) {
        if let Some(line) = self.next() {
            panic!("expected the output to end, got {line:?}");
        }
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "client did not exit");
            thread::sleep(Duration::from_millis(10)); // polling a process, not syncing on output
        };
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Formats unix seconds as the client shows them with `TZ=UTC`, using the C
/// library's calendar (an oracle independent of the client's own date code).
fn utc(secs: i64) -> String {
    let time: libc::time_t = secs;
    // SAFETY: gmtime_r writes only into `tm`, which lives for the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        assert!(!libc::gmtime_r(&time, &mut tm).is_null(), "gmtime_r");
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min
    )
}

/// The unix time field of a `POST` line.
fn post_time(line: &str) -> i64 {
    line.split(' ')
        .nth(4)
        .and_then(|t| t.parse().ok())
        .expect("POST time")
}

#[test]
fn chatting_renders_both_directions_and_own_messages() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");

    bob.send("hi alice");
    client.expect("[lobby] bob: hi alice");
    client.send("hello  bob ");
    bob.expect_line("MSG lobby alice hello  bob ");
    client.expect("[lobby] alice: hello  bob ");

    bob.send("/msg alice psst");
    client.expect("(private) bob: psst");
    bob.send("/broadcast to all");
    client.expect("(everyone) bob: to all");
    client.send("/msg bob back at you");
    bob.expect_line("PRIV alice back at you");
    client.expect("(private to bob) alice: back at you");
    client.send("/broadcast hey all");
    bob.expect_line("BCAST alice hey all");
    client.expect("(everyone) alice: hey all");
    client.send("//slash");
    bob.expect_line("MSG lobby alice /slash");
    client.expect("[lobby] alice: /slash");

    // The current room follows joins and leaves; plain lines go there.
    client.send("/create rust");
    client.expect("* you joined rust");
    bob.send("/join rust");
    bob.expect_line("JOIN rust bob");
    client.expect("* bob joined rust");
    client.send("in rust now");
    bob.expect_line("MSG rust alice in rust now");
    client.expect("[rust] alice: in rust now");
    client.send("/say lobby back in the lobby");
    bob.expect_line("MSG lobby alice back in the lobby");
    client.expect("[lobby] alice: back in the lobby");
    bob.send("/leave rust");
    bob.expect_line("LEAVE rust bob left");
    client.expect("* bob left rust");
    client.send("/leave");
    client.expect("* you left rust");
    client.send("lobby again");
    bob.expect_line("MSG lobby alice lobby again");
    client.expect("[lobby] alice: lobby again");

    // Refused lines show the error, and no own message.
    client.send("/msg nobody hello?");
    client.expect_error("no-such-user");
    client.send("/say rust gone with its last member");
    client.expect_error("no-such-room");

    bob.send("/quit see you");
    bob.expect_prefix("BYE quit");
    client.expect("* bob left lobby (quit: see you)");

    // The two refused lines make the script fail once it has run to its end.
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, "parley-client: 2 input lines were refused\n");
}

#[test]
fn a_script_with_a_refused_command_runs_to_its_end_and_exits_non_zero() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "bob"]);
    client.send("/join rust");
    client.send("/users");
    client.close_stdin();
    client.expect_login("bob");
    client.expect_error("no-such-room");
    client.expect("* 1 user in lobby: bob");
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, "parley-client: 1 input line was refused\n");
}

#[test]
fn the_address_can_come_from_parley_addr() {
    let server = TestServer::start(&[]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley-client"));
    command
        .args(["--name", "alice"])
        .env("PARLEY_ADDR", server.addr.to_string());
    let mut client = Client::spawn(command);
    client.expect_login("alice");
}

#[test]
fn a_refused_name_is_asked_for_again() {
    let server = TestServer::start(&[]);
    let _bob = server.login("bob");
    let mut client = Client::start(server.addr, &[]);
    client.expect_prefix("* connected");
    client.expect("* choose a name: 1 to 32 letters, digits, _ or -");
    client.send("BOB");
    client.expect_error("name-taken");
    client.send("alice smith");
    client.expect_error("bad-name");
    client.send("   ");
    client.send("/name al!ce");
    client.expect_error("bad-name");
    client.send("alice");
    client.expect_prefix("* you are alice");
    client.expect("* you joined lobby");
    client.close_stdin();
    client.expect("* bye");
    let (status, _) = client.expect_exit();
    assert!(status.success());
}

#[test]
fn a_taken_name_from_the_command_line_is_asked_for_again() {
    let server = TestServer::start(&[]);
    let _bob = server.login("bob");
    let mut client = Client::start(server.addr, &["--name", "bob"]);
    client.expect_prefix("* connected");
    client.expect_error("name-taken");
    client.expect("* choose a name: 1 to 32 letters, digits, _ or -");
    client.send("carol");
    client.expect_prefix("* you are carol");
    client.expect("* you joined lobby");
}

/// What the client says about a line typed while it waits at `position`.
fn kept_notice(position: u64) -> String {
    format!(
        "* still number {position} in the queue; this line will be sent once you are in and named"
    )
}

#[test]
fn the_queue_position_is_shown_until_admitted() {
    let server = TestServer::start(&["--max-clients", "1"]);
    let mut holder = server.login("holder");
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect("* the server is full; you are number 1 in the queue");
    // Input typed while waiting is kept for later.
    client.send("queued hello");
    client.expect(&kept_notice(1));
    holder.send("/quit");
    holder.expect_prefix("BYE quit");
    client.expect_login("alice");
    client.expect("[lobby] alice: queued hello");
}

#[test]
fn lines_typed_in_the_queue_never_become_the_name() {
    let server = TestServer::start(&["--max-clients", "1"]);
    let mut holder = server.login("holder");
    let mut client = Client::start(server.addr, &[]);
    client.expect("* the server is full; you are number 1 in the queue");
    client.send("hello");
    client.expect(&kept_notice(1));
    client.send("/name bob");
    client.expect("* not sent: you choose a name once you are in");
    holder.send("/quit");
    holder.expect_prefix("BYE quit");
    // Admitted: the name is asked for now, and what was typed before is not it.
    client.expect_prefix("* connected");
    client.expect("* choose a name: 1 to 32 letters, digits, _ or -");
    client.send("alice");
    client.expect_prefix("* you are alice");
    client.expect("* you joined lobby");
    // The kept line, sent and accepted as a message (shown only once accepted).
    client.expect("[lobby] alice: hello");
    client.send("/users *");
    client.expect("* 1 user online: alice");
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn quit_in_the_queue_leaves_at_once() {
    let server = TestServer::start(&["--max-clients", "1"]);
    let mut holder = server.login("holder");
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect("* the server is full; you are number 1 in the queue");
    client.send("/quit");
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
    // Nobody was admitted or left meanwhile.
    holder.expect_nothing_pending();
}

#[test]
fn lists_board_and_replies_are_rendered() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");

    client.send("/create rust");
    client.expect("* you joined rust");
    bob.send("/join rust");
    bob.expect_line("JOIN rust bob");
    client.expect("* bob joined rust");

    client.send("/users");
    client.expect("* 2 users in rust: alice, bob");
    client.send("/users *");
    client.expect("* 2 users online: alice, bob");
    client.send("/rooms");
    client.expect("* 2 rooms:");
    client.expect("    lobby  2 users");
    client.expect("    rust   2 users");

    client.send("/post rust \"Hello world\" the first body");
    client.expect("* posted to rust as #1");
    let first = bob.expect_prefix("POST rust 1 alice ");
    bob.send("/post rust News more text");
    bob.expect_line("POSTED rust 2");
    client.expect("* new post #2 in rust by bob: News  (/read rust 2)");
    client.send("/list");
    client.expect("* rust board: 2 posts");
    client.expect("    id  author  time              subject");
    client.expect(&format!(
        "     1  alice   {}  Hello world",
        utc(post_time(&first))
    ));
    let row = client.expect_prefix("     2  bob     ");
    assert!(row.ends_with("  News"), "{row:?}");
    client.send("/read rust 1");
    client.expect(&format!(
        "[rust #1] alice, {} — Hello world",
        utc(post_time(&first))
    ));
    client.expect("    the first body");
    client.send("/read rust 9");
    client.expect_error("no-such-post");
    client.send("/list lobby");
    client.expect("* lobby board: no posts");

    client.send("/ping mytoken");
    client.expect("* pong mytoken");
    client.send("/help join");
    let info = client.expect_prefix("  ");
    assert!(info.contains("/join"), "{info:?}");
    client.send("/ping after-help");
    client.skip_until("* pong after-help");
    client.send("/frobnicate");
    client.expect_error("unknown-command");
    client.send("/help");
    client.expect("* commands:");
    let quit = client.skip_until("  /quit");
    assert!(quit.contains("leave"), "{quit:?}");
    client.send("/ping end");
    client.skip_until("* pong end");
}

#[test]
fn long_lists_say_how_many_are_not_shown() {
    let server = TestServer::start(&["--list-limit", "1"]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    let _bob = server.login("bob");
    client.expect("* bob joined lobby");
    client.send("/users");
    client.expect("* 2 users in lobby: alice, and 1 more");
    client.send("/create zeta");
    client.expect("* you joined zeta");
    client.send("/rooms");
    client.expect("* 2 rooms:");
    client.expect("    lobby  2 users");
    client.expect("    and 1 more");
}

#[test]
fn leave_reasons_are_rendered_and_pings_answered_by_the_client() {
    let server = TestServer::start(&["--ping-after", "300ms", "--ping-timeout", "300ms"]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    // bob never answers PING; carol drops her connection.
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");
    let carol = server.login("carol");
    client.expect("* carol joined lobby");
    drop(carol);
    client.expect("* carol left lobby (disconnected)");
    bob.expect_line("JOIN lobby carol");
    bob.expect_line("LEAVE lobby carol disconnected");
    // alice has been idle longer than bob; she is still there only because the
    // client answered its PINGs by itself.
    client.expect("* bob left lobby (timeout)");
    client.send("/ping still-here");
    client.expect("* pong still-here");
    client.send("/users");
    client.expect("* 1 user in lobby: alice");
}

#[test]
fn end_of_input_waits_for_the_last_replies() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.send("/users");
    client.send("/rooms");
    client.close_stdin();
    client.expect_login("alice");
    client.expect("* 1 user in lobby: alice");
    client.expect("* 1 room:");
    client.expect("    lobby  1 user");
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn quit_command_says_goodbye_to_the_room() {
    let server = TestServer::start(&[]);
    let mut bob = server.login("bob");
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    bob.expect_line("JOIN lobby alice");
    client.send("/quit off to lunch");
    bob.expect_line("LEAVE lobby alice quit off to lunch");
    client.expect("* bye");
    let (status, _) = client.expect_exit();
    assert!(status.success());
}

#[test]
fn server_shutdown_exits_non_zero_with_one_line_without_reconnecting() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "alice", "--no-reconnect"]);
    client.expect_login("alice");
    server.signal(libc::SIGTERM);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("parley-client: the server closed the connection: ")
            && stderr.trim_end().ends_with("(shutdown)")
            && stderr.lines().count() == 1,
        "{stderr:?}"
    );
}

#[test]
fn a_full_server_exits_non_zero() {
    let server = TestServer::start(&["--max-clients", "1", "--max-queue", "0"]);
    let _holder = server.login("holder");
    let client = Client::start(server.addr, &["--name", "alice"]);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("(server-full)"), "{stderr:?}");
}

#[test]
fn a_lost_connection_exits_non_zero_with_one_line_without_reconnecting() {
    let server = TestServer::start(&[]);
    let addr = server.addr;
    let mut client = Client::start(addr, &["--name", "alice", "--no-reconnect"]);
    client.expect_login("alice");
    server.signal(libc::SIGKILL);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.starts_with(&format!("parley-client: connection to {addr} lost"))
            && stderr.lines().count() == 1,
        "{stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_refused_connection_exits_non_zero_with_one_line() {
    // A port that was free a moment ago: nothing listens on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let client = Client::start(addr, &[]);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("parley-client: cannot connect to {addr}: Connection refused\n")
    );
}

/// A scripted server for what a real one never sends (or does not send yet): it
/// answers `/name`, `/ping` and `/quit`, and reports every line the client sends.
struct FakeServer {
    writer: Arc<Mutex<TcpStream>>,
    from_client: Receiver<String>,
}

impl FakeServer {
    /// Accepts the client on `listener` and starts answering.
    fn accept(listener: &TcpListener) -> FakeServer {
        FakeServer::accept_answering(listener, &[])
    }

    /// Like [`FakeServer::accept`], and also answers each line the client sends
    /// that is one of `answers`' first halves with the second half (whole lines,
    /// each ending in `\n`), at once, as a real server answers a command. These
    /// answers come first: they may answer `/name` differently.
    fn accept_answering(listener: &TcpListener, answers: &[(&str, &str)]) -> FakeServer {
        let answers: Vec<(String, String)> = answers
            .iter()
            .map(|(line, reply)| ((*line).to_owned(), (*reply).to_owned()))
            .collect();
        let (socket, _) = listener.accept().expect("accept client");
        let writer = Arc::new(Mutex::new(socket.try_clone().expect("clone socket")));
        let (tx, from_client) = mpsc::channel();
        let answer = Arc::clone(&writer);
        thread::spawn(move || {
            let send = |text: &str| {
                let _ = answer.lock().unwrap().write_all(text.as_bytes());
            };
            send("HELLO parley 1 fake\n");
            for line in BufReader::new(socket).lines() {
                let Ok(line) = line else { break };
                if let Some((_, reply)) = answers.iter().find(|(l, _)| *l == line) {
                    send(reply);
                } else if let Some(name) = line.strip_prefix("/name ") {
                    send(&format!("WELCOME {name} hi\nJOIN lobby {name}\n"));
                } else if let Some(token) = line.strip_prefix("/ping ") {
                    send(&format!("PONG {token}\n"));
                } else if line.starts_with("/quit") {
                    send("BYE quit bye\n");
                    break;
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        FakeServer {
            writer,
            from_client,
        }
    }

    /// Sends raw bytes to the client.
    fn send(&self, bytes: &[u8]) {
        self.writer
            .lock()
            .unwrap()
            .write_all(bytes)
            .expect("write to client");
    }

    /// The next line the client sends.
    fn next_from_client(&self) -> String {
        self.from_client
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("the client sent nothing: {e}"))
    }

    /// Closes the connection, as a server that goes away without a word.
    fn close(&self) {
        let _ = self.writer.lock().unwrap().shutdown(Shutdown::Both);
    }

    /// Expects the client to send `expected` (skipping its other lines).
    fn expect_from_client(&self, expected: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_client.recv_timeout(left) {
                Ok(line) if line == expected => return,
                Ok(_) => {}
                Err(e) => panic!("client never sent {expected:?}: {e}"),
            }
        }
    }
}

#[test]
fn hostile_server_text_is_shown_safely_and_pings_are_answered() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = Client::start(listener.local_addr().expect("addr"), &["--name", "alice"]);
    let fake = FakeServer::accept(&listener);
    client.expect_login("alice");
    fake.send(b"MSG lobby ev\x1bil \x1b[2J\x07ring \xe2\x80\xae olleh\n");
    client.expect("[lobby] ev^[il: ^[[2J^Gring \u{202E} olleh\u{202C}");
    fake.send("PRIV m\u{9b}x hi\r\n".as_bytes());
    client.expect("(private) m<U+009B>x: hi");
    fake.send(b"INFO bad \xff\xfe utf8\n");
    client.expect("  bad \u{FFFD}\u{FFFD} utf8");
    fake.send(b"FROB \x1b]0;pwned\x07\n");
    client.expect("? FROB ^[]0;pwned^G");
    fake.send(b"PING 77\n");
    fake.expect_from_client("/pong 77");
    // Every line so far is free of escape and control bytes.
    for line in &client.transcript {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
    }
    client.close_stdin();
    client.expect("* bye");
    let (status, _) = client.expect_exit();
    assert!(status.success());
}

/// `HH:MM` of `secs` in UTC (the time zone the tests give the client).
fn utc_time_of_day(secs: u64) -> String {
    format!("{:02}:{:02}", secs % 86_400 / 3600, secs % 3600 / 60)
}

#[test]
fn history_replies_are_shown_with_their_times_in_script_order() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let history = format!(
        "HISTORY rust 3\n\
         OLD 1700000000 MSG rust bob hello \x1b[2Jthere\n\
         OLD {now} MSG rust alice today\n\
         OLD {now} FROB rust x\n"
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = Client::start(listener.local_addr().expect("addr"), &["--name", "alice"]);
    let fake = FakeServer::accept_answering(
        &listener,
        &[
            ("/history rust 3", &history),
            ("/history", "HISTORY lobby 0\n"),
            (
                "/history broken",
                "ERR store-failed Could not read the history\n",
            ),
            (
                "after",
                // Not a real reply (a room message is not echoed); it shows where
                // the client's own line comes: after it, as typed.
                "OLD 1700000000 PRIV carol stored psst\n",
            ),
        ],
    );
    client.expect_login("alice");
    // Typed all at once: a script's transcript keeps the input's order.
    client.send("/history rust 3");
    client.send("/history");
    client.send("/history broken");
    client.send("after");
    fake.expect_from_client("/history rust 3");
    client.expect("* last 3 messages in rust");
    client.expect("[rust] 2023-11-14 22:13 bob: hello ^[[2Jthere");
    let today = client.line();
    let time = utc_time_of_day(now);
    // The date shows only if the day changed just now.
    assert!(
        today == format!("[rust] {time} alice: today")
            || (today.starts_with("[rust] 2") && today.ends_with(&format!(" {time} alice: today"))),
        "{today:?}"
    );
    client.expect(&format!("? OLD {now} FROB rust x"));
    client.expect("* no messages in lobby");
    client.expect("! Could not read the history (store-failed)");
    client.expect("(private) 2023-11-14 22:13 carol: stored psst");
    client.expect("[lobby] alice: after");
    fake.expect_from_client("/history");
    fake.expect_from_client("/history broken");
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    // The store-failed refusal counts like any other refused line.
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, "parley-client: 1 input line was refused\n");
}

// ---- accounts: passwords from the environment, a file, or the next input line ----

/// Asserts that no output of the client (`transcript`, `stderr`) holds `password`.
fn assert_never_shown(transcript: &[String], stderr: &str, password: &str) {
    for line in transcript {
        assert!(!line.contains(password), "password shown: {line:?}");
    }
    assert!(!stderr.contains(password), "password on stderr: {stderr:?}");
}

/// What a fake server answers to a login that it accepts.
const WELCOME_ALICE: &str = "WELCOME alice Welcome back\nJOIN lobby alice\n";

#[test]
fn a_script_logs_in_with_the_password_from_the_environment() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut command = Client::command(listener.local_addr().expect("addr"), &["--name", "alice"]);
    command.env("PARLEY_PASSWORD", "pass word");
    let mut client = Client::spawn(command);
    let fake =
        FakeServer::accept_answering(&listener, &[("/login alice \"pass word\"", WELCOME_ALICE)]);
    // The first thing sent, and quoted: the password has a space.
    assert_eq!(fake.next_from_client(), "/login alice \"pass word\"");
    client.expect_login("alice");
    client.close_stdin();
    client.expect("* bye");
    let transcript = client.transcript.clone();
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{stderr}");
    assert_never_shown(&transcript, &stderr, "pass word");
}

#[test]
fn a_script_logs_in_with_a_password_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, "pa\"ss\\word\nsecond line is not read\n").expect("write");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut command = Client::command(
        listener.local_addr().expect("addr"),
        &[
            "--name",
            "alice",
            "--password-file",
            file.to_str().expect("utf-8 path"),
        ],
    );
    // The file wins over the environment.
    command.env("PARLEY_PASSWORD", "not this one");
    let mut client = Client::spawn(command);
    let login = "/login alice \"pa\\\"ss\\\\word\"";
    let fake = FakeServer::accept_answering(&listener, &[(login, WELCOME_ALICE)]);
    assert_eq!(fake.next_from_client(), login);
    client.expect_login("alice");
    client.send("hi");
    fake.expect_from_client("hi");
    client.expect("[lobby] alice: hi");
}

#[test]
fn an_unreadable_password_file_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let path = missing.to_str().expect("utf-8 path");
    let client = Client::start(
        listener.local_addr().expect("addr"),
        &["--name", "alice", "--password-file", path],
    );
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("parley-client: cannot read the password file {path}: No such file or directory\n")
    );
}

#[test]
fn a_refused_login_ends_a_script_with_a_clear_message() {
    for (code, text) in [
        ("bad-login", "Wrong name or password"),
        ("throttled", "Too many failed logins; try again later"),
        ("name-taken", "alice is already online"),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut command =
            Client::command(listener.local_addr().expect("addr"), &["--name", "alice"]);
        command.env("PARLEY_PASSWORD", "hunter22");
        let mut client = Client::spawn(command);
        let refusal = format!("ERR {code} {text}\n");
        let fake = FakeServer::accept_answering(&listener, &[("/login alice hunter22", &refusal)]);
        fake.expect_from_client("/login alice hunter22");
        client.expect_prefix("* connected");
        client.expect(&format!("! {text} ({code})"));
        let transcript = client.transcript.clone();
        let (status, stderr) = client.expect_exit();
        assert_eq!(status.code(), Some(1), "{code}: {stderr}");
        assert_eq!(
            stderr,
            format!("parley-client: cannot log in as alice: {text} ({code})\n")
        );
        assert_never_shown(&transcript, &stderr, "hunter22");
    }
}

#[test]
fn passwords_left_out_of_typed_commands_are_the_next_input_lines() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = Client::start(listener.local_addr().expect("addr"), &[]);
    let stored =
        "WELCOME alice hi\nJOIN lobby alice\nOLD 1700000000 PRIV bob stored \x1b[2Jhello\n";
    let fake = FakeServer::accept_answering(
        &listener,
        &[
            ("/login alice \"pass word\"", stored),
            ("/passwd \"pass word\" newpass123", "REGISTERED alice\n"),
            ("/msg carol see you later", "OFFLINE carol\n"),
            ("/unregister newpass123", "UNREGISTERED alice\n"),
            ("/register \"new  pass\"", "REGISTERED alice\n"),
        ],
    );
    client.expect_prefix("* connected");
    client.expect("* choose a name: 1 to 32 letters, digits, _ or -");
    client.send("/login alice");
    client.send("pass word");
    // One line, the password quoted.
    assert_eq!(fake.next_from_client(), "/login alice \"pass word\"");
    client.expect_prefix("* you are alice");
    client.expect("* you joined lobby");
    // A private message stored while we were away, with the time it was sent.
    client.expect("(private) 2023-11-14 22:13 bob: stored ^[[2Jhello");

    client.send("/passwd");
    client.send("pass word");
    client.send("newpass123");
    fake.expect_from_client("/passwd \"pass word\" newpass123");
    client.expect("* alice is registered: next time, log in with /login alice and this password");
    client.send("/msg carol see you later");
    client.expect("* stored for carol, who is offline: delivered at their next login");
    client.expect("(private to carol) alice: see you later");
    client.send("/unregister");
    client.send("newpass123");
    client.expect("* the account alice is deleted: you stay online as a guest");
    client.send("/register");
    client.send("new  pass");
    client.expect("* alice is registered: next time, log in with /login alice and this password");
    fake.send(b"NICK bob Robert\n");
    client.expect("* bob is now called Robert");
    fake.send(b"NICK alice Alicia\n");
    client.expect("* you are now Alicia");
    client.send("/ping done");
    client.expect("* pong done");
    client.close_stdin();
    client.expect("* bye");
    let transcript = client.transcript.clone();
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{stderr}");
    for password in ["pass word", "newpass123", "new  pass"] {
        assert_never_shown(&transcript, &stderr, password);
    }
}

#[test]
fn a_login_without_a_name_is_refused_by_the_client() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = Client::start(listener.local_addr().expect("addr"), &["--name", "alice"]);
    let fake = FakeServer::accept(&listener);
    client.expect_login("alice");
    client.send("/login");
    client.expect("! /login <name>: give the account's name; the password is asked for (bad-args)");
    client.send("/ping after");
    fake.expect_from_client("/ping after");
    client.expect("* pong after");
    // The end of input instead of a password: nothing is sent.
    client.send("/unregister");
    client.close_stdin();
    client.expect("* no password given; nothing was sent");
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "parley-client: 2 input lines were refused\n");
}

// ---- reconnecting --------------------------------------------------------------

/// A `parley-server` on a given address (to start one again on the port another
/// had), killed when dropped.
struct ServerAt {
    child: Child,
    /// Its log lines from when it listens on.
    log: Receiver<String>,
}

impl ServerAt {
    /// Starts the server on `addr` with extra arguments; returns once it listens.
    fn start(addr: SocketAddr, args: &[&str]) -> ServerAt {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley-server"))
            .args(["--listen", &addr.to_string()])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("PARLEY_LISTEN")
            .env_remove("PARLEY_DATA")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn parley-server");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, log) = mpsc::channel();
        // Drain the log all along: a full pipe would block the server.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut server = ServerAt { child, log };
        loop {
            match server.log.recv_timeout(TIMEOUT) {
                Ok(line) if line.contains("listening on") => return server,
                Ok(_) => {}
                Err(e) => {
                    let _ = server.child.kill();
                    panic!("the server did not start on {addr}: {e}");
                }
            }
        }
    }

    /// Waits for a log line containing `needle`.
    fn expect_log(&self, needle: &str) {
        loop {
            match self.log.recv_timeout(TIMEOUT) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    /// Sends `signal` to the server.
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) with the pid of our own child and a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill");
    }
}

impl Drop for ServerAt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs `name` in on a server started by hand.
fn login_at(addr: SocketAddr, name: &str) -> common::TestClient {
    common::TestClient::connect(addr).named(name)
}

#[test]
fn after_a_server_restart_the_client_comes_back_to_its_rooms_and_what_it_missed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("parley.db");
    let data = data.to_str().expect("utf-8 path");
    let mut server = TestServer::start(&["--data", data]);
    let addr = server.addr;
    let mut client = Client::start(addr, &["--name", "alice"]);
    client.expect_login("alice");
    client.send("/create rust");
    client.expect("* you joined rust");
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");
    common::join(&mut bob, "bob", "rust", &mut []);
    client.expect("* bob joined rust");
    bob.send("/say rust seen before");
    client.expect("[rust] bob: seen before");
    // A post keeps the room across the restart.
    bob.send("/post rust notes kept");
    bob.expect_line("POSTED rust 1");
    client.expect("* new post #1 in rust by bob: notes  (/read rust 1)");

    server.signal(libc::SIGTERM);
    client.expect("* the server closed the connection: the server is shutting down (shutdown)");
    assert_eq!(server.wait_exit().code(), Some(0));
    drop(bob);
    // Stand in for the server on its port, long enough to take the client's next
    // attempt and hold it without a word: meanwhile the server comes back, full
    // with carol and bob, and bob says something the client misses.
    let stand_in = TcpListener::bind(addr).expect("bind the server's port");
    let (held_tx, held_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = held_tx.send(stand_in.accept().map(|(stream, _)| stream));
    });
    client.expect_prefix("* reconnecting in ");
    let held = held_rx
        .recv_timeout(TIMEOUT)
        .expect("the client tries again")
        .expect("accept");
    let _restarted = ServerAt::start(addr, &["--data", data, "--max-clients", "2"]);
    let mut carol = login_at(addr, "carol");
    let mut bob = login_at(addr, "bob");
    common::join(&mut bob, "bob", "rust", &mut []);
    bob.send("/say rust said while you were away");
    bob.expect_nothing_pending();
    // Lost again before it was back in: it tries again, and has to queue.
    held.shutdown(Shutdown::Both).expect("shutdown");
    drop(held);
    client.skip_until(&format!(
        "* connection to {addr} lost: the server closed it"
    ));
    client.expect_prefix("* reconnecting in ");
    client.expect("* the server is full; you are number 1 in the queue");
    common::quit(bob);

    client.expect_prefix("* connected");
    client.expect_prefix("* you are alice");
    client.expect("* you joined lobby");
    client.expect("* you joined rust");
    client.expect("* nothing missed in lobby");
    let missed = client.line();
    assert!(
        missed.starts_with("* missed in rust: 1 message"),
        "{missed:?}; transcript:\n{}",
        client.transcript.join("\n")
    );
    let line = client.line();
    assert!(
        line.starts_with("[rust] ") && line.ends_with(" bob: said while you were away"),
        "{line:?}"
    );
    client.expect("* back as alice in lobby, rust");

    // Back in: live messages and our own in both directions.
    carol.send("/join rust");
    carol.skip_until("JOIN rust carol");
    client.expect("* carol joined rust");
    carol.send("/say rust welcome back");
    client.expect("[rust] carol: welcome back");
    client.send("thanks");
    carol.skip_until("MSG rust alice thanks");
    client.expect("[rust] alice: thanks");
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn reconnecting_gives_up_after_reconnect_max_attempts() {
    let server = TestServer::start(&[]);
    let addr = server.addr;
    let mut client = Client::start(addr, &["--name", "alice", "--reconnect-max", "2"]);
    client.expect_login("alice");
    server.signal(libc::SIGKILL);
    // A plain close or a reset, depending on what was in flight.
    client.expect_prefix(&format!("* connection to {addr} lost: "));
    let first = client.expect_prefix("* reconnecting in ");
    assert!(first.ends_with(" s (attempt 1)"), "{first}");
    let second = client.expect_prefix("* reconnecting in ");
    assert!(
        second.ends_with(" s (attempt 2; last try: Connection refused)"),
        "{second}"
    );
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!(
            "parley-client: connection to {addr} lost: gave up after 2 attempts to reconnect \
             (last: Connection refused)\n"
        )
    );
}

#[test]
fn the_end_of_input_during_the_countdown_quits() {
    let server = TestServer::start(&[]);
    let mut client = Client::start(server.addr, &["--name", "alice"]);
    client.expect_login("alice");
    server.signal(libc::SIGKILL);
    client.expect_prefix("* connection to ");
    client.expect_prefix("* reconnecting in ");
    client.close_stdin();
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn a_login_is_made_again_with_the_remembered_password() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut command = Client::command(addr, &["--name", "alice"]);
    command.env("PARLEY_PASSWORD", "pass word");
    let mut client = Client::spawn(command);
    let answers: &[(&str, &str)] = &[
        ("/login alice \"pass word\"", WELCOME_ALICE),
        ("/history lobby", "HISTORY lobby 0\n"),
    ];
    let first = FakeServer::accept_answering(&listener, answers);
    client.expect_login("alice");
    first.close();
    client.expect(&format!(
        "* connection to {addr} lost: the server closed it"
    ));
    client.expect_prefix("* reconnecting in ");
    let second = FakeServer::accept_answering(&listener, answers);
    assert_eq!(second.next_from_client(), "/login alice \"pass word\"");
    assert_eq!(second.next_from_client(), "/history lobby");
    client.expect_login("alice");
    client.expect("* nothing missed in lobby");
    client.expect("* back as alice in lobby");
    client.send("hello again");
    second.expect_from_client("hello again");
    client.expect("[lobby] alice: hello again");
    client.close_stdin();
    client.expect("* bye");
    let transcript = client.transcript.clone();
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{stderr}");
    assert_never_shown(&transcript, &stderr, "pass word");
}

#[test]
fn a_name_refused_after_reconnecting_ends_a_script() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut client = Client::start(addr, &["--name", "alice"]);
    let first = FakeServer::accept(&listener);
    client.expect_login("alice");
    first.close();
    client.expect(&format!(
        "* connection to {addr} lost: the server closed it"
    ));
    client.expect_prefix("* reconnecting in ");
    let _second = FakeServer::accept_answering(
        &listener,
        &[("/name alice", "ERR name-taken Someone has that name\n")],
    );
    client.expect_prefix("* connected");
    client.expect("! Someone has that name (name-taken)");
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "parley-client: reconnected, but cannot be alice again: Someone has that name (name-taken)\n"
    );
}

#[test]
fn a_script_waits_for_the_reconnection_before_its_next_line() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut client = Client::start(addr, &["--name", "alice"]);
    let first = FakeServer::accept(&listener);
    client.expect_login("alice");
    client.send("/ping before");
    client.expect("* pong before");
    // The client's own ping after it is answered too before the connection goes.
    first.expect_from_client("/ping before");
    first.next_from_client();
    first.close();
    client.expect_prefix("* connection to ");
    client.expect_prefix("* reconnecting in ");
    // Typed while there is no connection: held until the session is back.
    client.send("held line");
    let second =
        FakeServer::accept_answering(&listener, &[("/history lobby", "HISTORY lobby 0\n")]);
    client.expect_login("alice");
    client.expect("* nothing missed in lobby");
    client.expect("* back as alice in lobby");
    second.expect_from_client("held line");
    client.expect("[lobby] alice: held line");
}

// ---- TLS -------------------------------------------------------------------------

/// A server with a plain and a TLS listener, on the certificate `pki` issued last.
fn tls_server(pki: &pki::Pki) -> TestServer {
    let args = pki.server_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start(&args)
}

/// The address of `server`'s TLS listener.
fn tls_addr(server: &TestServer) -> SocketAddr {
    server.tls_addr.expect("the server reports its TLS address")
}

/// The client command for `addr` with `args`, reading the system's CA certificates
/// from `ssl_cert_file` when given (as rustls-native-certs is documented to), and
/// from the system's own store otherwise.
fn tls_command(addr: impl Display, args: &[&str], ssl_cert_file: Option<&str>) -> Command {
    let mut command = Client::command(addr, args);
    command
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(file) = ssl_cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    command
}

/// Expects the client to end at once with status 1 and `cannot connect to <addr>:
/// <why>` as the only line on stderr, having shown nothing.
fn expect_refused(client: Client, addr: impl Display, why: &str) {
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!("parley-client: cannot connect to {addr}: {why}\n")
    );
}

#[test]
fn a_tls_session_chats_with_a_plain_user() {
    let pki = pki::Pki::new();
    let server = tls_server(&pki);
    let ca = pki.ca_path().display().to_string();
    // By IP address: the certificate's IP address entry is what is checked.
    let mut client = Client::start(
        tls_addr(&server),
        &["--tls", "--ca", &ca, "--name", "alice"],
    );
    client.expect_login("alice");
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");

    bob.send("hi alice");
    client.expect("[lobby] bob: hi alice");
    client.send("hello over TLS");
    bob.expect_line("MSG lobby alice hello over TLS");
    client.expect("[lobby] alice: hello over TLS");
    client.send("/msg bob psst");
    bob.expect_line("PRIV alice psst");
    client.expect("(private to bob) alice: psst");
    bob.send("/msg alice back");
    client.expect("(private) bob: back");

    // Lines long enough to take many records, both ways at once: the client writes
    // while its reader thread takes bob's lines from the same session.
    let long = "x".repeat(3000);
    for i in 0..20 {
        bob.send(&format!("{i} {long}"));
        client.send(&format!("{i} {long}"));
    }
    for i in 0..20 {
        bob.expect_line(&format!("MSG lobby alice {i} {long}"));
    }
    // Each side's lines in order; the two sides interleave as they came.
    let (mut from_bob, mut own) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let line = client.line();
        let number = |rest: &str| rest.strip_suffix(&format!(" {long}")).map(str::to_owned);
        if let Some(n) = line.strip_prefix("[lobby] bob: ").and_then(number) {
            from_bob.push(n);
        } else if let Some(n) = line.strip_prefix("[lobby] alice: ").and_then(number) {
            own.push(n);
        } else {
            panic!("unexpected line {:?}", &line[..line.len().min(80)]);
        }
    }
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(from_bob, expected);
    assert_eq!(own, expected);
    client.send("/users");
    client.expect("* 2 users in lobby: alice, bob");

    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
    bob.expect_line("LEAVE lobby alice quit");
}

#[test]
fn without_ca_the_systems_trusted_certificates_are_used() {
    let pki = pki::Pki::new();
    let server = tls_server(&pki);
    let port = tls_addr(&server).port();
    let ca = pki.ca_path().display().to_string();
    // The test CA stands in for the system's store; the name is a DNS name.
    let mut client = Client::spawn(tls_command(
        format!("localhost:{port}"),
        &["--tls", "--name", "alice"],
        Some(&ca),
    ));
    client.expect_login("alice");
    client.send("/users");
    client.expect("* 1 user in lobby: alice");
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
}

#[test]
fn an_untrusted_certificate_ends_the_client_with_one_line() {
    let pki = pki::Pki::new();
    let server = tls_server(&pki);
    let addr = tls_addr(&server);
    // The system's own store does not know the test CA.
    let client = Client::spawn(tls_command(addr, &["--tls", "--name", "alice"], None));
    expect_refused(
        client,
        addr,
        "the server's certificate is not trusted (unknown issuer); \
         pass --ca FILE if it is signed by your own CA",
    );
    // Nor does another CA named with --ca.
    let other = pki::Pki::with_ca_named("another test CA");
    let other_ca = other.ca_path().display().to_string();
    let client = Client::start(addr, &["--ca", &other_ca, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        &format!(
            "the server's certificate is not trusted (unknown issuer): \
             no CA certificate in {other_ca} signed it"
        ),
    );
    // A CA of the same name but another key (one made again) did not sign it either.
    let again = pki::Pki::new();
    let again_ca = again.ca_path().display().to_string();
    let client = Client::start(addr, &["--ca", &again_ca, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        "the server's certificate is not trusted (bad signature): the CA it names \
         did not sign it (another CA of the same name?), or it was tampered with",
    );
    // The refused handshakes never reached the chat.
    server.login("bob").expect_nothing_pending();
}

#[test]
fn an_expired_certificate_ends_the_client_with_one_line() {
    let pki = pki::Pki::new();
    pki.issue_expired(&["localhost", "127.0.0.1"]);
    let server = tls_server(&pki);
    let addr = tls_addr(&server);
    let ca = pki.ca_path().display().to_string();
    let client = Client::start(addr, &["--ca", &ca, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        "the server's certificate has expired (on 2021-01-01 00:00 UTC); \
         the server needs a new one, or this machine's clock is wrong",
    );
}

#[test]
fn a_self_signed_ca_certificate_as_the_servers_ends_the_client_with_one_line() {
    let pki = pki::Pki::new();
    let own = pki.issue_self_signed(&["localhost", "127.0.0.1"], true);
    let server = tls_server(&pki);
    let addr = tls_addr(&server);
    let own = own.display().to_string();
    let client = Client::start(addr, &["--ca", &own, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        "the server's certificate is a CA certificate, not a server's: the server \
         needs one issued for it, by a CA or self-signed with basicConstraints CA:FALSE",
    );
}

#[test]
fn a_self_signed_certificate_that_is_not_a_cas_is_trusted_with_ca() {
    let pki = pki::Pki::new();
    let own = pki.issue_self_signed(&["localhost", "127.0.0.1"], false);
    let server = tls_server(&pki);
    let own = own.display().to_string();
    let mut client = Client::start(tls_addr(&server), &["--ca", &own, "--name", "alice"]);
    client.expect_login("alice");
    let mut bob = server.login("bob");
    client.expect("* bob joined lobby");
    bob.send("hi");
    client.expect("[lobby] bob: hi");
}

#[test]
fn a_certificate_for_another_name_ends_the_client_with_one_line() {
    let pki = pki::Pki::new();
    pki.issue(&["other.example"]);
    let server = tls_server(&pki);
    let addr = tls_addr(&server);
    let ca = pki.ca_path().display().to_string();
    let client = Client::start(addr, &["--ca", &ca, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        "the server's certificate is for other.example, not 127.0.0.1: \
         connect by a name it is for",
    );

    // An IP address is checked as an address, not as a name: a certificate for
    // `localhost` alone is not one for 127.0.0.1, though it is the same machine.
    pki.issue(&["localhost"]);
    server.signal(libc::SIGHUP);
    server.expect_log("TLS certificate reloaded");
    let client = Client::start(addr, &["--ca", &ca, "--name", "alice"]);
    expect_refused(
        client,
        addr,
        "the server's certificate is for localhost, not 127.0.0.1: \
         connect by a name it is for",
    );
    let mut client = Client::start(
        format!("localhost:{}", addr.port()),
        &["--ca", &ca, "--name", "alice"],
    );
    client.expect_login("alice");
}

#[test]
fn an_unusable_ca_file_is_reported_before_connecting() {
    // Nothing listens: the file is refused before any connection is tried.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let client = Client::start(addr, &["--ca", missing]);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!("parley-client: cannot read the CA file {missing}: No such file or directory\n")
    );
    let key = dir.path().join("key.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let key = key.to_str().expect("utf-8 path");
    let client = Client::start(addr, &["--tls", "--ca", key]);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!(
            "parley-client: the CA file {key} holds no certificate \
             (-----BEGIN CERTIFICATE-----)\n"
        )
    );
}

#[test]
fn tls_to_a_plain_port_says_the_server_does_not_speak_tls() {
    let pki = pki::Pki::new();
    let server = tls_server(&pki);
    let ca = pki.ca_path().display().to_string();
    let client = Client::start(server.addr, &["--tls", "--ca", &ca]);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let start = format!(
        "parley-client: cannot connect to {}: the server does not speak TLS here: \
         it sent \"HELLO parley 1 ",
        server.addr
    );
    assert!(
        stderr.starts_with(&start)
            && stderr.ends_with("\" in clear (is this its plain-text port?)\n")
            && stderr.lines().count() == 1,
        "{stderr:?}"
    );
}

#[test]
fn a_lost_tls_connection_is_reported_as_a_plain_one_is() {
    let pki = pki::Pki::new();
    let server = tls_server(&pki);
    let addr = tls_addr(&server);
    let ca = pki.ca_path().display().to_string();
    let mut client = Client::start(addr, &["--ca", &ca, "--name", "alice", "--no-reconnect"]);
    client.expect_login("alice");
    // Gone without a TLS goodbye (`close_notify`): a lost connection, said plainly.
    server.signal(libc::SIGKILL);
    let (status, stderr) = client.expect_exit();
    assert_eq!(status.code(), Some(1));
    let closed = format!("parley-client: connection to {addr} lost: the server closed it\n");
    let reset = format!("parley-client: connection to {addr} lost: Connection reset by peer\n");
    assert!(stderr == closed || stderr == reset, "{stderr:?}");
}

#[test]
fn a_tls_session_reconnects_over_tls_and_checks_the_certificate_again() {
    let pki = pki::Pki::new();
    let mut server = tls_server(&pki);
    let (addr, tls) = (server.addr, tls_addr(&server));
    let ca = pki.ca_path().display().to_string();
    // --ca alone means TLS.
    let mut client = Client::start(tls, &["--ca", &ca, "--name", "alice"]);
    client.expect_login("alice");

    // The server comes back on the same ports, with a certificate for another name.
    pki.issue(&["other.example"]);
    server.signal(libc::SIGTERM);
    client.expect("* the server closed the connection: the server is shutting down (shutdown)");
    assert_eq!(server.wait_exit().code(), Some(0));
    let tls_text = tls.to_string();
    let mut args = vec!["--data", ":memory:", "--tls-listen", &tls_text];
    let files = [pki.cert_path(), pki.key_path()].map(|p| p.display().to_string());
    args.extend(["--tls-cert", &files[0], "--tls-key", &files[1]]);
    let restarted = ServerAt::start(addr, &args);
    // The attempts are refused for the certificate, and the countdown says why.
    let mismatch = "last try: the server's certificate is for other.example, not 127.0.0.1";
    loop {
        let line = client.expect_prefix("* reconnecting in ");
        if line.contains(mismatch) {
            break;
        }
    }
    // With the right certificate again, the next attempt gets the session back.
    pki.issue(&["localhost", "127.0.0.1"]);
    restarted.signal(libc::SIGHUP);
    restarted.expect_log("TLS certificate reloaded");
    client.skip_until("* connected");
    client.expect_prefix("* you are alice");
    client.expect("* you joined lobby");
    client.expect("* nothing missed in lobby");
    client.expect("* back as alice in lobby");

    let mut bob = login_at(addr, "bob");
    client.expect("* bob joined lobby");
    bob.send("welcome back");
    client.expect("[lobby] bob: welcome back");
    client.send("thanks");
    bob.expect_line("MSG lobby alice thanks");
    client.expect("[lobby] alice: thanks");
    client.close_stdin();
    client.expect("* bye");
    let (status, stderr) = client.expect_exit();
    assert!(status.success(), "{status:?} {stderr}");
}
