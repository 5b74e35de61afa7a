//! What carries the connection's bytes: plain TCP, or a TLS session over it.
//!
//! The session needs one half to read (the reader thread, which blocks until the
//! server sends something) and one to write (whoever sends a line). A TCP socket
//! splits into two handles of the same socket, and the plain path does exactly that,
//! with blocking reads and writes.
//!
//! A rustls session cannot be split: reading records and writing them both change
//! the one session. So both halves share it behind a mutex, over a non-blocking
//! socket, and nobody holds the lock while waiting:
//! - the reader waits with `poll(2)` for the socket to be readable (and writable,
//!   while the session has records to send) *without* the lock, then locks to read
//!   records, process them and take the plaintext, and lets go;
//! - the writer locks to hand the session its line and write the records; if the
//!   socket is full it lets go of the lock, waits with `poll(2)` until it is
//!   writable, and goes on.
//!
//! A writer blocked on a full socket while holding the lock would keep the reader
//! from reading; a server that stops reading our input until we read its output (as
//! parley's flow control does) would then never read again, and neither would we.
//!
//! The TLS handshake is done in [`Dialer::connect`], before the session starts and
//! with a deadline, so a certificate the client refuses is a connection error like a
//! refused connection.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::ClientConnection;

use crate::error;
use crate::session::lock;
use crate::tls::{self, HandshakeError, TlsSetup};

/// How long to try each address when connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the server: its addresses, and TLS settings when it is wanted.
pub struct Dialer {
    /// The addresses the user's address resolved to, tried in order.
    addrs: Vec<SocketAddr>,
    /// TLS settings (`None`: plain TCP).
    tls: Option<TlsSetup>,
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// No address took the TCP connection (the last address's error).
    Tcp(io::Error),
    /// The TCP connection was made, but the TLS handshake failed.
    Tls(HandshakeError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Tcp(e) => f.write_str(&error::plain(e)),
            ConnectError::Tls(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {}

impl Dialer {
    /// A dialer for `addrs`, over TLS with `tls` when given.
    pub fn new(addrs: Vec<SocketAddr>, tls: Option<TlsSetup>) -> Dialer {
        Dialer { addrs, tls }
    }

    /// Connects to the first of the addresses that answers and, for TLS, completes
    /// the handshake. Returns the two halves of the connection.
    pub fn connect(&self) -> Result<(WriteHalf, ReadHalf), ConnectError> {
        let stream = connect_any(&self.addrs).map_err(ConnectError::Tcp)?;
        // Chat lines are small and interactive: send them at once.
        stream.set_nodelay(true).map_err(ConnectError::Tcp)?;
        let Some(tls) = &self.tls else {
            let reader = stream.try_clone().map_err(ConnectError::Tcp)?;
            return Ok((WriteHalf::Plain(stream), ReadHalf::Plain(reader)));
        };
        let link = TlsLink::handshake(stream, tls).map_err(ConnectError::Tls)?;
        let link = Arc::new(link);
        Ok((WriteHalf::Tls(Arc::clone(&link)), ReadHalf::Tls(link)))
    }
}

/// Connects to the first of `addrs` that answers.
fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last_error = None;
    for a in addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(ErrorKind::NotFound, "no address")))
}

/// The half that sends lines.
pub enum WriteHalf {
    /// The socket itself, blocking.
    Plain(TcpStream),
    /// The shared TLS session.
    Tls(Arc<TlsLink>),
}

impl WriteHalf {
    /// Sends all of `data`, waiting while the socket is full.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            WriteHalf::Plain(stream) => stream.write_all(data),
            WriteHalf::Tls(link) => link.write_all(data),
        }
    }

    /// Shuts the socket down both ways, so that the reader sees the end at once.
    pub fn shutdown(&self) {
        let socket = match self {
            WriteHalf::Plain(stream) => stream,
            WriteHalf::Tls(link) => &link.socket,
        };
        let _ = socket.shutdown(Shutdown::Both);
    }
}

/// The half the reader thread reads the server's bytes (plaintext) from.
pub enum ReadHalf {
    /// A handle of the socket, blocking.
    Plain(TcpStream),
    /// The shared TLS session.
    Tls(Arc<TlsLink>),
}

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(stream) => stream.read(buf),
            ReadHalf::Tls(link) => link.read_plaintext(buf),
        }
    }
}

/// A TLS session and its socket (non-blocking), shared by both halves.
pub struct TlsLink {
    /// The socket; only ever read or written with the session locked, so that
    /// records go out and are taken in whole and in order.
    socket: TcpStream,
    /// The session.
    session: Mutex<ClientConnection>,
}

/// What `poll(2)` found on the socket.
#[derive(Debug, Clone, Copy)]
struct Ready {
    /// Readable, closed or failed: a read will not block, and says which.
    readable: bool,
    /// Writable (or failed: a write will say so).
    writable: bool,
}

/// Waits until `socket` is ready for `events` (`POLLIN`, `POLLOUT`) or `deadline`
/// passes (then `TimedOut`); no deadline waits as long as it takes.
fn wait(socket: &TcpStream, events: libc::c_short, deadline: Option<Instant>) -> io::Result<Ready> {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ErrorKind::TimedOut.into());
                }
                // Rounded up: a zero timeout before the deadline would spin.
                libc::c_int::try_from(left.as_millis() + 1).unwrap_or(libc::c_int::MAX)
            }
        };
        let mut fd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `fd` is one live pollfd, as the count says.
        let ready = unsafe { libc::poll(&mut fd, 1, timeout) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if ready == 0 {
            continue; // the deadline is checked above
        }
        let failed = fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
        return Ok(Ready {
            readable: fd.revents & libc::POLLIN != 0 || failed,
            writable: fd.revents & libc::POLLOUT != 0 || failed,
        });
    }
}

/// Writes the session's records until none are left; `WouldBlock` when the socket
/// is full (the rest stays in the session).
fn write_records(session: &mut ClientConnection, socket: &TcpStream) -> io::Result<()> {
    while session.wants_write() {
        match session.write_tls(&mut &*socket) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads from a socket and keeps the first bytes read, to tell afterwards whether
/// what the server sent was TLS at all.
struct Recording<'a> {
    /// The socket.
    socket: &'a TcpStream,
    /// The first bytes read (at most [`tls::SHOWN_BYTES`]).
    first: &'a mut Vec<u8>,
}

impl Read for Recording<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.socket).read(buf)?;
        let room = tls::SHOWN_BYTES.saturating_sub(self.first.len());
        self.first.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

impl TlsLink {
    /// Makes a TLS session on `stream` and completes its handshake within
    /// [`tls::HANDSHAKE_TIMEOUT`]. The socket is left non-blocking.
    fn handshake(stream: TcpStream, setup: &TlsSetup) -> Result<TlsLink, HandshakeError> {
        let deadline = Instant::now() + tls::HANDSHAKE_TIMEOUT;
        stream.set_nonblocking(true).map_err(HandshakeError::Io)?;
        let mut session = setup.session().map_err(HandshakeError::Protocol)?;
        let mut first = Vec::new();
        let result = drive_handshake(&mut session, &stream, &mut first, setup, deadline);
        match result {
            // Whatever went wrong, bytes that cannot begin TLS say more: the server
            // speaks something else (parley's plain port greets with `HELLO`).
            Err(_) if first.first().is_some_and(|&b| !tls::starts_tls(b)) => {
                Err(HandshakeError::NotTls {
                    sent: tls::first_line(&first),
                })
            }
            Err(e) => Err(e),
            Ok(()) => Ok(TlsLink {
                socket: stream,
                session: Mutex::new(session),
            }),
        }
    }

    /// Sends all of `data`: hands it to the session and writes the records, letting
    /// go of the session while the socket is full.
    fn write_all(&self, data: &[u8]) -> io::Result<()> {
        let mut rest = data;
        let mut session = lock(&self.session);
        loop {
            if !rest.is_empty() {
                // The session takes what fits its buffer; the rest after a write.
                let taken = session.writer().write(rest)?;
                if taken == 0 && !session.wants_write() {
                    // Nothing taken and nothing to make room by writing: it never will.
                    return Err(ErrorKind::WriteZero.into());
                }
                rest = &rest[taken..];
            }
            match write_records(&mut session, &self.socket) {
                Ok(()) if rest.is_empty() => return Ok(()),
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    drop(session);
                    wait(&self.socket, libc::POLLOUT, None)?;
                    session = lock(&self.session);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads plaintext into `buf`, waiting (without the lock) until there is some or
    /// the connection ends: `Ok(0)` at its end, as for a plain socket.
    fn read_plaintext(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let wants_write = {
                let mut session = lock(&self.session);
                match session.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    // Closed without `close_notify`: the server went away (killed,
                    // or a network failure); an end like any other, as on plain TCP.
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                session.wants_write()
            };
            // Records the writer left in the session for a full socket, or that
            // processing produced (a key update's answer), go out when it can take
            // them; the writer may be waiting for the same.
            let events = if wants_write {
                libc::POLLIN | libc::POLLOUT
            } else {
                libc::POLLIN
            };
            let ready = wait(&self.socket, events, None)?;
            let mut session = lock(&self.session);
            if ready.writable {
                match write_records(&mut session, &self.socket) {
                    Err(e) if e.kind() != ErrorKind::WouldBlock => return Err(e),
                    _ => {}
                }
            }
            if !ready.readable {
                continue;
            }
            match session.read_tls(&mut &self.socket) {
                // The end is noted in the session; its reader says which end.
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    continue
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = session.process_new_packets() {
                // The alert that says why, if the socket takes it.
                let _ = write_records(&mut session, &self.socket);
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        }
    }
}

/// Runs the handshake of `session` on `socket` until it is done, it fails, or
/// `deadline` passes. `first` keeps the first bytes the server sent.
fn drive_handshake(
    session: &mut ClientConnection,
    socket: &TcpStream,
    first: &mut Vec<u8>,
    setup: &TlsSetup,
    deadline: Instant,
) -> Result<(), HandshakeError> {
    let waited = |e: io::Error| match e.kind() {
        ErrorKind::TimedOut => HandshakeError::TimedOut,
        _ => HandshakeError::Io(e),
    };
    loop {
        // Our part first (the hello, later our finish), so the server can answer.
        loop {
            match write_records(session, socket) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    wait(socket, libc::POLLOUT, Some(deadline)).map_err(waited)?;
                }
                Err(e) => return Err(HandshakeError::Io(e)),
            }
        }
        if !session.is_handshaking() {
            return Ok(());
        }
        wait(socket, libc::POLLIN, Some(deadline)).map_err(waited)?;
        let mut recording = Recording {
            socket,
            first: &mut *first,
        };
        match session.read_tls(&mut recording) {
            Ok(0) => return Err(HandshakeError::Closed),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => return Err(HandshakeError::Io(e)),
        }
        if let Err(e) = session.process_new_packets() {
            // The alert that tells the server why (say, `unknown_ca`), if the socket
            // takes it: its log can then say so.
            let _ = write_records(session, socket);
            return Err(setup.explain(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ServerConfig, ServerConnection};

    use crate::tls::Trust;

    /// Bytes each side sends: far more than the kernel buffers of both ends hold.
    const EACH_WAY: usize = 16 << 20;

    /// The byte at `i` of what each side sends, so that a lost or doubled record
    /// shows.
    fn pattern(i: usize) -> u8 {
        (i % 251) as u8
    }

    /// A TLS server for `localhost` signed by a CA of its own; returns the server's
    /// settings and the CA certificate's PEM file (in `dir`).
    fn pki(dir: &std::path::Path) -> (Arc<ServerConfig>, std::path::PathBuf) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("certificate");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .expect("server settings");
        (Arc::new(config), ca_file)
    }

    /// A server that writes [`EACH_WAY`] bytes without reading anything, and only
    /// then reads what the client sent; returns whether it was all there.
    fn stubborn_server(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<bool> {
        let (mut socket, _) = listener.accept()?;
        let mut session = ServerConnection::new(config).map_err(io::Error::other)?;
        while session.is_handshaking() {
            session.complete_io(&mut socket)?;
        }
        let chunk: Vec<u8> = (0..EACH_WAY).map(pattern).collect();
        let mut sent = 0;
        while sent < EACH_WAY {
            sent += session.writer().write(&chunk[sent..])?;
            while session.wants_write() {
                session.write_tls(&mut socket)?;
            }
        }
        let mut received = 0;
        let mut buf = vec![0u8; 64 * 1024];
        while received < EACH_WAY {
            match session.reader().read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    if (0..n).any(|i| buf[i] != pattern(received + i)) {
                        return Ok(false);
                    }
                    received += n;
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if session.read_tls(&mut socket)? == 0 {
                return Ok(false);
            }
            session.process_new_packets().map_err(io::Error::other)?;
        }
        Ok(true)
    }

    /// The design's reason to be: the writer never holds the session while it waits
    /// for the socket. Against a server that writes everything before it reads
    /// anything, a writer that kept the lock while blocked would keep the reader from
    /// making room, and both ends would wait for ever.
    #[test]
    fn writing_and_reading_at_once_never_wait_for_each_other() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (config, ca_file) = pki(dir.path());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = thread::spawn(move || stubborn_server(listener, config));
        let setup = TlsSetup::new(Trust::CaFile(ca_file), "localhost").expect("settings");
        let (mut writer, mut reader) = Dialer::new(vec![addr], Some(setup))
            .connect()
            .expect("connect");
        let (done_tx, done) = mpsc::channel();
        let read_done = done_tx.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 8 * 1024];
            let mut received = 0;
            let mut intact = true;
            while received < EACH_WAY {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        intact &= (0..n).all(|i| buf[i] == pattern(received + i));
                        received += n;
                    }
                }
            }
            let _ = read_done.send(("read", intact && received == EACH_WAY));
        });
        thread::spawn(move || {
            let data: Vec<u8> = (0..EACH_WAY).map(pattern).collect();
            // In pieces the size of chat lines, as the session writes them.
            let sent = data.chunks(4096).all(|line| writer.write_all(line).is_ok());
            let _ = done_tx.send(("write", sent));
        });
        for _ in 0..2 {
            let (what, ok) = done
                .recv_timeout(Duration::from_secs(60))
                .expect("reading and writing finish (a deadlock would wait for ever)");
            assert!(ok, "the client's {what} failed");
        }
        let intact = server.join().expect("server thread").expect("server I/O");
        assert!(
            intact,
            "the server got everything the client wrote, in order"
        );
    }
}
