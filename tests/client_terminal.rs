//! Tests of `parley-client` in its terminal mode, driven through tmux: a password
//! typed with echo off, passwords kept out of the screen and the line history, and a
//! reconnection that keeps the half-typed line. The client runs in a detached tmux
//! session of a tmux server of its own; expectations poll the pane's text with a
//! timeout (the only way to read a terminal), never sleep to synchronise. Without
//! tmux the tests say so and pass.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any expectation waits.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A scripted server accepting any number of connections, one after the other:
/// it greets, accepts `/login` and `/name`, refuses `/unregister`, answers `/ping`
/// and `/history` (with no messages) and `/quit`, and reports every line the
/// client sends.
struct FakeServer {
    addr: SocketAddr,
    /// The current connection, to close it.
    current: Arc<Mutex<Option<TcpStream>>>,
    /// Once set, connections are closed as soon as they are accepted.
    stopped: Arc<AtomicBool>,
    from_client: Receiver<String>,
}

impl FakeServer {
    fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let current = Arc::new(Mutex::new(None));
        let (tx, from_client) = mpsc::channel();
        let slot = Arc::clone(&current);
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopped);
        thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(socket) = socket else { break };
                if stop.load(Ordering::SeqCst) {
                    continue;
                }
                let mut writer = socket.try_clone().expect("clone");
                *slot.lock().unwrap() = Some(socket.try_clone().expect("clone"));
                let _ = writer.write_all(b"HELLO parley 1 fake\n");
                for line in BufReader::new(socket).lines() {
                    let Ok(line) = line else { break };
                    let words: Vec<&str> = line.split(' ').collect();
                    let reply = match words[0] {
                        "/login" | "/name" => {
                            format!("WELCOME {0} hi\nJOIN lobby {0}\n", words[1])
                        }
                        "/ping" => format!("PONG {}\n", words[1]),
                        "/history" => format!("HISTORY {} 0\n", words[1]),
                        "/unregister" => "ERR bad-login wrong\n".to_owned(),
                        "/quit" => "BYE quit bye\n".to_owned(),
                        _ => String::new(),
                    };
                    let _ = writer.write_all(reply.as_bytes());
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        });
        FakeServer {
            addr,
            current,
            stopped,
            from_client,
        }
    }

    /// Closes the current connection and every later one at once.
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.close();
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

    /// Closes the current connection without a word.
    fn close(&self) {
        if let Some(socket) = self.current.lock().unwrap().take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// The client in a detached tmux session; the tmux server is killed when dropped.
struct Tmux {
    /// The tmux server's socket name, ours alone.
    socket: String,
}

impl Tmux {
    /// Runs the client for `addr` in a 100x30 pane, or `None` without tmux.
    fn start(addr: SocketAddr, name: &str) -> Option<Tmux> {
        let tmux = Tmux {
            socket: format!("parley-client-test-{}-{name}", std::process::id()),
        };
        let client = format!(
            "env TZ=UTC NO_COLOR=1 TERM=xterm {} {addr}",
            env!("CARGO_BIN_EXE_parley-client")
        );
        let started = tmux.run(&["new-session", "-d", "-x", "100", "-y", "30", &client]);
        match started {
            Some(out) if out.status.success() => Some(tmux),
            _ => {
                eprintln!("tmux is not available: terminal test skipped");
                None
            }
        }
    }

    /// Runs a tmux command on our server.
    fn run(&self, args: &[&str]) -> Option<Output> {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .ok()
    }

    /// Types keys (tmux key names, or `-l` and literal text).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        let out = self.run(&args).expect("tmux send-keys");
        assert!(out.status.success(), "send-keys {keys:?}");
    }

    /// The pane's text, without trailing blank lines.
    fn screen(&self) -> String {
        let out = self
            .run(&["capture-pane", "-p", "-t", "0"])
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// Waits until `ready` holds for the pane's text; returns that text.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} on the screen:\n{screen}"
            );
            // Polling a terminal's contents, which nothing can be told to signal.
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the pane shows `text`.
    fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }

    /// Waits until the last line of the pane is `line`.
    fn wait_last_line(&self, line: &str) -> String {
        self.wait_for(line, |s| s.lines().last() == Some(line))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn passwords_are_typed_unseen_and_reconnecting_keeps_the_half_typed_line() {
    let fake = FakeServer::start();
    let Some(tmux) = Tmux::start(fake.addr, "login") else {
        return;
    };
    tmux.wait_last_line("name:");
    tmux.keys(&["-l", "/login alice"]);
    tmux.keys(&["Enter"]);
    tmux.wait_last_line("password:");
    tmux.keys(&["-l", "pass word"]);
    // Typed, and nothing of it shows.
    tmux.keys(&["BSpace"]);
    tmux.keys(&["-l", "d"]);
    let screen = tmux.screen();
    assert!(!screen.contains("pass wor"), "{screen}");
    tmux.keys(&["Enter"]);
    fake.expect_from_client("/login alice \"pass word\"");
    tmux.wait_last_line("lobby>");

    // An inline password is taken off the screen once entered, and off the history.
    tmux.keys(&["-l", "/unregister secret123"]);
    tmux.keys(&["Enter"]);
    fake.expect_from_client("/unregister secret123");
    let screen = tmux.wait_text("lobby> /unregister\n! wrong (bad-login)");
    assert!(!screen.contains("secret123"), "{screen}");
    tmux.wait_last_line("lobby>");
    tmux.keys(&["Up"]);
    tmux.wait_last_line("lobby> /unregister");
    tmux.keys(&["Up"]);
    tmux.wait_last_line("lobby> /login alice");
    tmux.keys(&["C-u"]);
    tmux.wait_last_line("lobby>");

    // The connection goes while a line is half typed: the countdown ticks on one
    // line, the client logs in again with the password, and the line is still there.
    tmux.keys(&["-l", "half typed"]);
    tmux.wait_last_line("lobby> half typed");
    fake.close();
    tmux.wait_text("* reconnecting ");
    fake.expect_from_client("/login alice \"pass word\"");
    let screen = tmux.wait_text("* back as alice in lobby");
    assert_eq!(
        screen.matches("* reconnecting ").count(),
        1,
        "the countdown ticks in place:\n{screen}"
    );
    tmux.wait_last_line("lobby> half typed");
    tmux.keys(&["Enter"]);
    fake.expect_from_client("half typed");
    tmux.wait_text("[lobby] alice: half typed");
    let screen = tmux.screen();
    assert!(!screen.contains("pass word"), "{screen}");
    tmux.keys(&["C-d"]);
    fake.expect_from_client("/quit");
}

#[test]
fn ctrl_c_during_the_countdown_quits() {
    let fake = FakeServer::start();
    let Some(tmux) = Tmux::start(fake.addr, "countdown") else {
        return;
    };
    tmux.wait_last_line("name:");
    tmux.keys(&["-l", "alice"]);
    tmux.keys(&["Enter"]);
    fake.expect_from_client("/name alice");
    tmux.wait_last_line("lobby>");
    // No more connections: the countdown goes on until Ctrl-C.
    fake.stop();
    tmux.wait_text("* reconnecting in ");
    tmux.keys(&["-l", "typed while away"]);
    tmux.keys(&["Enter"]);
    tmux.wait_text("lobby> typed while away\n* not sent: reconnecting (Up brings the line back)");
    tmux.keys(&["C-c"]);
    // The client is gone, and with it the only window: so is the tmux server.
    let deadline = Instant::now() + TIMEOUT;
    while tmux
        .run(&["has-session"])
        .is_some_and(|out| out.status.success())
    {
        assert!(
            Instant::now() < deadline,
            "still running:\n{}",
            tmux.screen()
        );
        // Polling a process's end.
        thread::sleep(Duration::from_millis(50));
    }
}
