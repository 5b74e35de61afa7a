//! Shared harness for the integration tests: a real `parley-server` process on an
//! ephemeral loopback port, and a line-oriented TCP client that synchronises by reading
//! expected lines with a timeout.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single expectation waits before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A `parley-server` child process listening on `127.0.0.1:<ephemeral>`.
///
/// The process is killed when this value is dropped. Its log output is collected so a
/// failing test can show it.
pub struct TestServer {
    child: Child,
    /// The address the server reported as bound.
    pub addr: SocketAddr,
    /// The address of its TLS listener, when it has one.
    pub tls_addr: Option<SocketAddr>,
    /// The address of its IRC listener, when it has one.
    pub irc_addr: Option<SocketAddr>,
    /// The address of its IRC-over-TLS listener, when it has one.
    pub irc_tls_addr: Option<SocketAddr>,
    log: Arc<Mutex<String>>,
    log_lines: Receiver<String>,
}

impl TestServer {
    /// Starts the server this package builds, with the given extra command-line
    /// arguments.
    pub fn start(args: &[&str]) -> TestServer {
        // `option_env!`, not `env!`: other packages' tests include this harness too
        // (the load generator's smoke tests), and Cargo defines the variable only for
        // the tests of the package that has the binary; they use `start_binary`.
        let Some(binary) = option_env!("CARGO_BIN_EXE_parley-server") else {
            panic!(
                "TestServer::start runs in the parley package's tests; elsewhere use start_binary"
            );
        };
        TestServer::start_binary(Path::new(binary), args)
    }

    /// Starts the server binary at `binary` with the given extra command-line
    /// arguments.
    pub fn start_binary(binary: &Path, args: &[&str]) -> TestServer {
        TestServer::start_logging(binary, args, "debug")
    }

    /// Starts this package's server logging at `filter` (a `RUST_LOG` value).
    pub fn start_with_log(args: &[&str], filter: &str) -> TestServer {
        let Some(binary) = option_env!("CARGO_BIN_EXE_parley-server") else {
            panic!("TestServer::start_with_log runs in the parley package's tests");
        };
        TestServer::start_logging(Path::new(binary), args, filter)
    }

    fn start_logging(binary: &Path, args: &[&str], filter: &str) -> TestServer {
        // Tests keep nothing unless they name a database: no parley.db in the tree.
        let data: &[&str] = if args.contains(&"--data") {
            &[]
        } else {
            &["--data", ":memory:"]
        };
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(data)
            .args(args)
            .env("RUST_LOG", filter)
            .env_remove("PARLEY_LISTEN")
            .env_remove("PARLEY_DATA")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, log_lines) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Drain stderr continuously: a full pipe would block the server.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
                if tx.send(line).is_err() {
                    // Nobody listens any more; keep draining.
                }
            }
        });
        let deadline = Instant::now() + TIMEOUT;
        let (mut tls_addr, mut irc_addr, mut irc_tls_addr) = (None, None, None);
        let reported = |line: &str, what: &str| {
            let rest = line.split(what).nth(1)?;
            let text = rest.split_whitespace().next().unwrap_or_default();
            Some(text.parse().expect("an address in the log"))
        };
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match log_lines.recv_timeout(left) {
                Ok(line) => {
                    // The other listeners are reported first.
                    tls_addr = tls_addr.or(reported(&line, "listening for TLS on "));
                    irc_addr = irc_addr.or(reported(&line, "listening for IRC on "));
                    irc_tls_addr =
                        irc_tls_addr.or(reported(&line, "listening for IRC over TLS on "));
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let text = rest.split_whitespace().next().unwrap_or_default();
                        break text.parse().expect("listen address in log");
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "server did not report its address:\n{}",
                        log.lock().unwrap()
                    );
                }
            }
        };
        TestServer {
            child,
            addr,
            tls_addr,
            irc_addr,
            irc_tls_addr,
            log,
            log_lines,
        }
    }

    /// Connects a new client (not yet greeted).
    pub fn connect(&self) -> TestClient {
        TestClient::connect(self.addr)
    }

    /// Connects a new client from `source`, a loopback address (`127.0.0.2`, ...):
    /// for tests of limits that count by address.
    pub fn connect_from(&self, source: std::net::Ipv4Addr) -> TestClient {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        let from = SocketAddr::from((source, 0));
        socket.bind(&from.into()).expect("bind the source address");
        socket.connect(&self.addr.into()).expect("connect");
        let stream = TcpStream::from(socket);
        stream.set_nodelay(true).unwrap();
        TestClient::over(Box::new(stream))
    }

    /// Connects and expects `HELLO` (the server has room for it).
    pub fn greeted(&self) -> TestClient {
        let mut client = self.connect();
        client.expect_prefix("HELLO parley 1");
        client
    }

    /// Connects, names the client `name` and consumes `WELCOME` and `JOIN lobby`.
    pub fn login(&self, name: &str) -> TestClient {
        self.connect().named(name)
    }

    /// Waits for a log line containing `needle` (for facts only the log shows).
    pub fn expect_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log_lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?}:\n{}", self.log()),
            }
        }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id (for signals and /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself, failing after `TIMEOUT`.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            thread::sleep(Duration::from_millis(10)); // polling a process, not syncing on the protocol
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client's byte stream: a TCP socket, or a TLS session over one.
pub trait Duplex: Read + Write + Send {
    /// The socket underneath, for timeouts and raw control.
    fn tcp(&self) -> &TcpStream;
}

impl Duplex for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

/// A blocking line client with read timeouts.
pub struct TestClient {
    stream: Box<dyn Duplex>,
    buf: Vec<u8>,
    eof: bool,
}

impl TestClient {
    /// A client on a stream that is already connected (a TLS session, say).
    pub fn over(stream: Box<dyn Duplex>) -> TestClient {
        TestClient {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Expects `HELLO`, names the client `name` and consumes `WELCOME` and `JOIN
    /// lobby`.
    pub fn named(mut self, name: &str) -> TestClient {
        self.expect_prefix("HELLO parley 1");
        self.send(&format!("/name {name}"));
        self.expect_prefix(&format!("WELCOME {name}"));
        self.expect_line(&format!("JOIN lobby {name}"));
        self
    }

    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> TestClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        TestClient::over(Box::new(stream))
    }

    /// Sends `line` followed by `\n`.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// Sends raw bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Closes the sending half (the server sees end of input).
    pub fn shutdown_write(&self) {
        self.stream
            .tcp()
            .shutdown(Shutdown::Write)
            .expect("shutdown");
    }

    /// Reads the next line (without its `\n`), or `None` at end of stream. Fails the test
    /// after `timeout` with no complete line.
    pub fn next_line_within(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8(line[..pos].to_vec()).expect("server sent UTF-8");
                return Some(text);
            }
            if self.eof {
                assert!(self.buf.is_empty(), "partial line at end: {:?}", self.buf);
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for a line");
            self.stream.tcp().set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!(
                        "timed out waiting for a line (have {:?})",
                        String::from_utf8_lossy(&self.buf)
                    )
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => self.eof = true,
                Err(e) => panic!("read error: {e}"),
            }
        }
    }

    /// Reads the next line, failing the test after `TIMEOUT` or at end of stream.
    pub fn next_line(&mut self) -> String {
        self.next_line_within(TIMEOUT)
            .expect("connection closed while a line was expected")
    }

    /// Expects the next line to be exactly `expected`.
    pub fn expect_line(&mut self, expected: &str) {
        let line = self.next_line();
        assert_eq!(line, expected, "unexpected line");
    }

    /// Expects the next line to start with `prefix`, and returns it.
    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.next_line();
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}..., got {line:?}"
        );
        line
    }

    /// Expects `ERR <code> ...` as the next line.
    pub fn expect_err(&mut self, code: &str) {
        self.expect_prefix(&format!("ERR {code} "));
    }

    /// Skips lines until one starts with `prefix`, and returns it.
    pub fn skip_until(&mut self, prefix: &str) -> String {
        loop {
            let line = self.next_line();
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Proves that nothing else is pending for this client: sends `/ping <token>` and
    /// expects `PONG <token>` as the very next line. Replies to one client arrive in
    /// order, so anything queued before would show up first.
    pub fn expect_nothing_pending(&mut self) {
        self.send("/ping barrier");
        self.expect_line("PONG barrier");
    }

    /// Expects the server to close the connection (end of stream) next.
    pub fn expect_closed(&mut self) {
        if let Some(line) = self.next_line_within(TIMEOUT) {
            panic!("expected the connection to close, got {line:?}");
        }
    }

    /// The underlying stream, for tests that need raw socket control.
    pub fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }
}

// ---------------------------------------------------------------------------------------
// Additions for the protocol test files (tests/protocol.rs, rooms.rs, board.rs,
// admission.rs, liveness.rs, abuse.rs, shutdown.rs). Existing helpers above are unchanged.
// ---------------------------------------------------------------------------------------

/// What a bounded read produced: a line, the end of the stream, or nothing in time.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A complete line, without its `\n`.
    Line(String),
    /// The server closed the connection.
    Closed,
    /// No complete line arrived before the timeout.
    TimedOut,
}

impl TestServer {
    /// Logs in every name in order. Each earlier client consumes the `JOIN lobby <name>`
    /// notice of every later one, so all clients start with nothing pending.
    pub fn login_all<const N: usize>(&self, names: [&str; N]) -> [TestClient; N] {
        let mut clients: Vec<TestClient> = Vec::new();
        for name in names {
            let client = self.login(name);
            for earlier in &mut clients {
                earlier.expect_line(&format!("JOIN lobby {name}"));
            }
            clients.push(client);
        }
        match clients.try_into() {
            Ok(array) => array,
            Err(_) => unreachable!("one client per name"),
        }
    }

    /// Connects and expects `QUEUED <position>` (the server is full).
    pub fn queued(&self, position: usize) -> TestClient {
        let mut client = self.connect();
        client.expect_head(&format!("QUEUED {position}"));
        client
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a valid pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }
}

/// Makes closing `stream` reset the connection (`SO_LINGER` 0), as a client that
/// crashed would: the server's next write to it fails.
pub fn reset_on_close(stream: &TcpStream) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
}

impl TestServer {
    /// Stops the server process (`SIGSTOP`) and returns once it is stopped, so that what
    /// clients send meanwhile is all there when it goes on ([`TestServer::resume`]).
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let stat = format!("/proc/{}/stat", self.pid());
        let deadline = Instant::now() + TIMEOUT;
        // The state is the field after the parenthesised command name.
        while !std::fs::read_to_string(&stat)
            .expect("the server's /proc/PID/stat")
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
        {
            assert!(Instant::now() < deadline, "the server did not stop");
            thread::yield_now(); // polling a process's state, not syncing on the protocol
        }
    }

    /// Lets a server stopped by [`TestServer::pause`] go on.
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }
}

impl TestClient {
    /// Reads the next line without failing on a timeout.
    pub fn poll_line(&mut self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8(line[..pos].to_vec()).expect("server sent UTF-8");
                return Next::Line(text);
            }
            if self.eof {
                assert!(self.buf.is_empty(), "partial line at end: {:?}", self.buf);
                return Next::Closed;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::TimedOut;
            }
            self.stream.tcp().set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => self.eof = true,
                Err(e) => panic!("read error: {e}"),
            }
        }
    }

    /// Expects a line of a type that ends in free text which may be empty: the line is
    /// exactly `head`, or `head` followed by a space and text. Returns the line.
    pub fn expect_head(&mut self, head: &str) -> String {
        let line = self.next_line();
        assert!(
            line == head || line.starts_with(&format!("{head} ")),
            "expected {head:?} [text], got {line:?}"
        );
        line
    }

    /// Expects `BYE <reason> <text>` and then the end of the connection.
    pub fn expect_bye(&mut self, reason: &str) {
        self.expect_prefix(&format!("BYE {reason} "));
        self.expect_closed();
    }

    /// Expects the next lines to be exactly `expected`, in any order.
    pub fn expect_lines_any_order(&mut self, expected: &[&str]) {
        let mut got: Vec<String> = (0..expected.len()).map(|_| self.next_line()).collect();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "unexpected set of lines");
    }

    /// Asserts that no line (and no end of stream) arrives within `quiet`. Use only
    /// where the passing of time itself is the thing under test.
    pub fn expect_silence(&mut self, quiet: Duration) {
        match self.poll_line(quiet) {
            Next::TimedOut => {}
            other => panic!("expected silence for {quiet:?}, got {other:?}"),
        }
    }

    /// Sends `/ping <token>` and returns every line that arrived before `PONG <token>`.
    pub fn lines_before_pong(&mut self, token: &str) -> Vec<String> {
        self.send(&format!("/ping {token}"));
        let pong = format!("PONG {token}");
        let mut lines = Vec::new();
        loop {
            let line = self.next_line();
            if line == pong {
                return lines;
            }
            lines.push(line);
        }
    }

    /// Returns the next line that is not a server `PING`, answering every `PING` on the
    /// way with `/pong <token>` (keeps this client alive under short ping settings).
    pub fn next_line_answering_pings(&mut self) -> String {
        loop {
            let line = self.next_line();
            match line.strip_prefix("PING ") {
                Some(token) => self.send(&format!("/pong {token}")),
                None => return line,
            }
        }
    }

    /// Reads raw bytes until the server ends the connection, failing after `TIMEOUT`,
    /// and says how it ended: `"an end of stream"` for a normal close, else the read
    /// error's kind (`"ConnectionReset"` for a reset).
    pub fn how_it_ends(&mut self) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the connection did not end");
            self.stream.tcp().set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => return "an end of stream".to_string(),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return format!("{:?}", e.kind()),
            }
        }
    }

    /// Writes `bytes` one byte per `write` call.
    pub fn send_bytewise(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.stream
                .write_all(std::slice::from_ref(byte))
                .expect("write to server");
            self.stream.flush().expect("flush");
        }
    }

    /// Reads raw bytes until the server closes the connection (end of stream or reset),
    /// failing after `TIMEOUT`. Returns how many bytes arrived (partial lines allowed).
    pub fn drain_until_closed(&mut self) -> usize {
        let deadline = Instant::now() + TIMEOUT;
        let mut total = std::mem::take(&mut self.buf).len();
        let mut chunk = vec![0u8; 256 * 1024];
        while !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "connection not closed after {total} bytes");
            self.stream.tcp().set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => self.eof = true,
                Err(e) => panic!("read error: {e}"),
            }
        }
        total
    }
}

impl TestServer {
    /// Connects with a kernel receive buffer shrunk to about `bytes` before the
    /// connection is made (so the window stays small), logs in as `name` and consumes
    /// `WELCOME` and `JOIN lobby`. A client that then stops reading backs data up into
    /// the server quickly instead of into megabytes of kernel buffers.
    pub fn login_with_recv_buffer(&self, name: &str, bytes: usize) -> TestClient {
        TestClient::over(Box::new(connect_with_recv_buffer(self.addr, bytes))).named(name)
    }
}

/// Connects to `addr`, writes `script` in one go and closes the socket at once, reading
/// nothing: a client that pipelines its whole session and goes.
pub fn send_and_close(addr: SocketAddr, script: &str) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(script.as_bytes()).expect("write");
}

/// Opens a TCP connection to the IPv4 `addr` whose `SO_RCVBUF` is set before `connect`.
pub fn connect_with_recv_buffer(addr: SocketAddr, bytes: usize) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else {
        panic!("the test server listens on IPv4 loopback, not {addr}");
    };
    let size = libc::c_int::try_from(bytes).expect("size fits c_int");
    // SAFETY: plain socket(2)/setsockopt(2)/connect(2) calls with correctly sized
    // arguments; the descriptor is owned by the TcpStream as soon as it exists.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket failed");
        let stream = TcpStream::from_raw_fd(fd);
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "setsockopt SO_RCVBUF failed");
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect failed: {}", std::io::Error::last_os_error());
        stream.set_nodelay(true).unwrap();
        stream
    }
}

// ---- room and session steps shared by several test files -------------------------

/// `who` creates `room` and gets the confirmation.
pub fn create(client: &mut TestClient, who: &str, room: &str) {
    client.send(&format!("/create {room}"));
    client.expect_line(&format!("JOIN {room} {who}"));
}

/// `who` joins `room`; the joiner and each of `members` see the `JOIN`.
pub fn join(client: &mut TestClient, who: &str, room: &str, members: &mut [&mut TestClient]) {
    client.send(&format!("/join {room}"));
    let notice = format!("JOIN {room} {who}");
    client.expect_line(&notice);
    for member in members {
        member.expect_line(&notice);
    }
}

/// `who` leaves `room`; the leaver and each of `members` see `LEAVE <room> <who> left`.
pub fn leave(client: &mut TestClient, who: &str, room: &str, members: &mut [&mut TestClient]) {
    client.send(&format!("/leave {room}"));
    let notice = format!("LEAVE {room} {who} left");
    client.expect_line(&notice);
    for member in members {
        member.expect_line(&notice);
    }
}

/// Quits with `/quit` and waits for the connection to close.
pub fn quit(mut client: TestClient) {
    client.send("/quit");
    client.expect_bye("quit");
}

/// Server flags for [`flood_past_a_stuck_member`]: flood control lifted (the sender
/// floods on purpose) and output limits small enough for a reader that stopped to be
/// dropped within the flood. The stall limit is how long the reader that does read (a
/// test thread, descheduled at times on a loaded machine) may fall behind without
/// being dropped too.
pub const STUCK_MEMBER_ARGS: [&str; 10] = [
    "--flood-rate",
    "0",
    "--max-sendq",
    "256KiB",
    "--soft-sendq",
    "32KiB",
    "--stall-limit",
    "1s",
    "--send-buffer",
    "16KiB",
];

/// Floods `lobby` with 8,000 lines of 1 KB from a new user while another reads every
/// one: the member `stuck`, who never reads, must be dropped with `sendq` (seen by
/// both), and the reader must get every line, in order, and nothing else.
pub fn flood_past_a_stuck_member(server: &TestServer, stuck: &str) {
    let mut reader = server.login("reader");
    let mut sender = server.login("sender");
    reader.expect_line("JOIN lobby sender");
    let filler = "x".repeat(1000);
    let sending = thread::spawn({
        let filler = filler.clone();
        move || {
            for seq in 0..8000 {
                sender.send(&format!("{seq} {filler}"));
            }
            sender
        }
    });
    let dropped_line = format!("LEAVE lobby {stuck} sendq");
    let mut dropped = false;
    for seq in 0..8000 {
        let mut line = reader.next_line();
        if line == dropped_line {
            dropped = true;
            line = reader.next_line();
        }
        assert_eq!(line, format!("MSG lobby sender {seq} {filler}"));
    }
    let mut sender = sending.join().expect("sender thread");
    if !dropped {
        reader.expect_line(&dropped_line);
    }
    sender.skip_until(&dropped_line);
    reader.expect_nothing_pending();
}
