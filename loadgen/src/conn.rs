//! One simulated client: its connection (plain or TLS, see [`crate::transport`]), its
//! setup state, its output buffer and the carry of a partly received line, plus the
//! bind-before-connect socket setup.
//!
//! Reading goes through one 64 KiB buffer shared by the whole loop (see `driver`), so
//! an idle client costs no buffer memory at all; only a partial line is kept per client.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;

use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};

use crate::check::SeqCheck;
use crate::scenario::{Role, NONE};
use crate::transport::Transport;

/// Where a client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not connected yet.
    NotStarted,
    /// Non-blocking connect in progress.
    Connecting,
    /// Connected, waiting for `HELLO` (or `QUEUED`).
    AwaitHello,
    /// Waiting in the server's admission queue.
    Queued,
    /// `/name` sent, waiting for `JOIN lobby <me>`.
    Naming,
    /// Named; waiting for its group's room to be created.
    WaitRoom,
    /// `/join` (or `/create`) and `/leave lobby` sent, waiting for both confirmations.
    Joining,
    /// `/register <name> <password>` sent, waiting for `REGISTERED` (login storm).
    Registering,
    /// `/login <name> <password>` sent, waiting for `WELCOME` (login storm).
    LoggingIn,
    /// Set up and taking part.
    Ready,
    /// Closed, by either side.
    Closed,
}

/// Why a connection ended (or never began).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// `BYE quit`.
    Quit,
    /// `BYE timeout`.
    Timeout,
    /// `BYE sendq`: the server dropped a client that did not read.
    Sendq,
    /// `BYE server-full`.
    ServerFull,
    /// `BYE shutdown`.
    Shutdown,
    /// `BYE address-limit`: too many connections from one address.
    AddressLimit,
    /// Some other `BYE` reason.
    OtherBye,
    /// The server closed without a `BYE`.
    Eof,
    /// The connection was reset.
    Reset,
    /// The TLS session failed (a bad record, an alert, a certificate refused).
    Tls,
    /// Another socket error.
    SocketError,
    /// The connection could not be made.
    ConnectFailed,
    /// Naming or joining was refused (see the errors by code).
    SetupRefused,
    /// The server queued a client in a scenario that needs everyone admitted.
    Queued,
}

impl Reason {
    /// The reason named in a `BYE` or `LEAVE` line.
    pub fn from_bye(word: &[u8]) -> Reason {
        match word {
            b"quit" => Reason::Quit,
            b"timeout" => Reason::Timeout,
            b"sendq" => Reason::Sendq,
            b"server-full" => Reason::ServerFull,
            b"shutdown" => Reason::Shutdown,
            b"address-limit" => Reason::AddressLimit,
            b"disconnected" => Reason::Eof,
            _ => Reason::OtherBye,
        }
    }

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Quit => "quit",
            Reason::Timeout => "timeout",
            Reason::Sendq => "sendq",
            Reason::ServerFull => "server-full",
            Reason::Shutdown => "shutdown",
            Reason::AddressLimit => "address-limit",
            Reason::OtherBye => "bye-other",
            Reason::Eof => "eof",
            Reason::Reset => "reset",
            Reason::Tls => "tls-error",
            Reason::SocketError => "socket-error",
            Reason::ConnectFailed => "connect-failed",
            Reason::SetupRefused => "setup-refused",
            Reason::Queued => "queued",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Timestamps of one client's setup, in process-clock nanoseconds (0: not yet).
#[derive(Debug, Default, Clone, Copy)]
pub struct Times {
    /// connect() called.
    pub start: u64,
    /// Connection established.
    pub connected: u64,
    /// TLS handshake completed (`--tls` only).
    pub handshake: u64,
    /// First `QUEUED`.
    pub queued: u64,
    /// `HELLO`.
    pub hello: u64,
    /// Named and in lobby.
    pub named: u64,
    /// Fully set up.
    pub ready: u64,
}

/// One simulated client.
pub struct Client {
    /// The connection, while open.
    pub stream: Option<Transport>,
    /// Setup state.
    pub state: State,
    /// Its part in the scenario.
    pub role: Role,
    /// Bytes of a line received only in part.
    pub carry: Vec<u8>,
    /// Output not yet taken by the socket, from `out_pos`.
    pub out: Vec<u8>,
    /// Start of the unsent output.
    pub out_pos: usize,
    /// In-order checking of what it receives.
    pub seq: SeqCheck,
    /// Messages this client has sent: its next sequence number.
    pub sent: u64,
    /// Messages it generated inside the measured window.
    pub sent_in_window: u64,
    /// Setup timestamps.
    pub times: Times,
    /// Position in its first `QUEUED` line (0: never queued).
    pub queue_pos: u64,
    /// Latest position received.
    pub last_pos: u64,
    /// When the latest `QUEUED` arrived.
    pub last_queued_at: u64,
    /// The reason from a `BYE` line, if one came.
    pub bye: Option<Reason>,
    /// The reason other clients saw in a `LEAVE` about this client, and when.
    pub left: Option<(Reason, u64)>,
    /// The loadgen told it to `/quit`; its disconnect is expected.
    pub quitting: bool,
    /// It reads nothing any more (the slow scenario's stuck members once traffic
    /// starts, an attack's non-readers once named).
    pub deaf: bool,
    /// It counts towards setup being finished (ready, queued or failed).
    pub settled: bool,
    /// It is in the loop's list of clients to revisit without waiting for an event.
    pub again: bool,
    /// It is in the list of senders whose output must be flushed.
    pub touched: bool,
    /// As a sender: deliveries of its messages seen by all its receivers together.
    pub acked: u64,
    /// As a sender: receivers that read (its group's members but itself and the stuck).
    pub receivers: u64,
    /// As a `--max` sender: stopped because its in-flight window is full.
    pub window_full: bool,
}

impl Client {
    /// A client not yet connected.
    pub fn new(role: Role, slots: usize) -> Client {
        Client {
            stream: None,
            state: State::NotStarted,
            role,
            carry: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            seq: if role.group == NONE {
                SeqCheck::default()
            } else {
                SeqCheck::new(slots)
            },
            sent: 0,
            sent_in_window: 0,
            times: Times::default(),
            queue_pos: 0,
            last_pos: 0,
            last_queued_at: 0,
            bye: None,
            left: None,
            quitting: false,
            deaf: false,
            settled: false,
            again: false,
            touched: false,
            acked: 0,
            receivers: 0,
            window_full: false,
        }
    }

    /// Bytes queued for the socket.
    #[inline]
    pub fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Writes as much pending output as the socket takes. `Ok(true)` when all is out
    /// (with TLS: the records too).
    pub fn flush(&mut self) -> io::Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        let idle = stream.write_out(&self.out, &mut self.out_pos)?;
        if idle && self.out_pos == self.out.len() {
            // Keep the allocation: senders refill it all the time.
            self.out.clear();
            self.out_pos = 0;
            return Ok(true);
        }
        if self.out_pos > 1 << 20 && self.out_pos * 2 > self.out.len() {
            // Do not let a slow socket make the buffer grow forever from the front.
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(false)
    }

    /// Makes a client whose connection has closed ready to connect again, as the same
    /// user (login storm: an account registers on one connection and logs in on
    /// another; abuse: an attacker or a victim reconnects). What it sent and received before, and its setup times, stay; it does
    /// not count towards setup a second time.
    pub fn reopen(&mut self) {
        debug_assert!(self.state == State::Closed && self.stream.is_none());
        self.state = State::NotStarted;
        self.carry.clear();
        self.out.clear();
        self.out_pos = 0;
        self.bye = None;
        self.left = None;
        self.quitting = false;
        self.deaf = false;
        self.settled = true;
    }

    /// Messages queued but not completely written (each message ends in its own
    /// newline, so a partly written one still has its newline pending).
    pub fn unsent_lines(&self) -> u64 {
        memchr::memchr_iter(b'\n', &self.out[self.out_pos..]).count() as u64
    }
}

/// Starts a non-blocking connect to `addr`, from `source` when given (bound with
/// IP_BIND_ADDRESS_NO_PORT so the port is picked per destination at connect time),
/// with a receive buffer of `rcvbuf` bytes and a send buffer of `sndbuf` bytes unless
/// 0 (set before connecting, so the TCP window is sized for it from the start).
pub fn connect(
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    rcvbuf: usize,
    sndbuf: usize,
) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    // Messages are small and latency is measured: do not let Nagle hold them back.
    sock.set_tcp_nodelay(true)?;
    if rcvbuf > 0 {
        sock.set_recv_buffer_size(rcvbuf)?;
    }
    if sndbuf > 0 {
        sock.set_send_buffer_size(sndbuf)?;
    }
    if let Some(ip) = source {
        let one: libc::c_int = 1;
        // SAFETY: setsockopt reads an int of the given size; a failure only means the
        // kernel picks the port at bind time, which still works.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        sock.bind(&SocketAddr::new(ip.into(), 0).into())?;
    }
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(sock)))
}

/// Result of checking a connecting socket.
#[derive(Debug)]
pub enum ConnectState {
    /// Not yet.
    Pending,
    /// Established.
    Done,
    /// Failed.
    Failed(io::Error),
}

/// Checks whether a non-blocking connect has finished.
pub fn connect_state(stream: &TcpStream) -> ConnectState {
    match stream.take_error() {
        Ok(Some(e)) | Err(e) => return ConnectState::Failed(e),
        Ok(None) => {}
    }
    match stream.peer_addr() {
        Ok(_) => ConnectState::Done,
        Err(e) if e.kind() == io::ErrorKind::NotConnected => ConnectState::Pending,
        Err(e) => ConnectState::Failed(e),
    }
}
