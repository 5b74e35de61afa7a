//! Transports: what carries a connection's bytes. Plain TCP, or a TLS session on the
//! same kind of socket.
//!
//! A transport says whether it is ready for application data (a TLS handshake is not)
//! and whether it has bytes of its own to write; the loop derives the connection's
//! poll interest from that and from its output queue, so a handshake's bytes go out
//! even when the chat core has queued nothing.
//!
//! rustls' session is sans-IO: the transport feeds it what the socket has and writes
//! what it has produced. Output is handed over in batches: one write hands a session
//! all the lines it is given at once (rustls cuts them into as few records as fit), and
//! the records go out with one vectored write. A session is handed output only once
//! everything before it has gone to the socket, so what it holds stays below
//! [`SESSION_BUFFER`] and is counted as the connection's own ([`Transport::buffered`]).

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

use crate::hub::Link;
use crate::tls::SESSION_BUFFER;

/// The kinds of transport a listener can hand its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Bytes as they are, over TCP.
    Plain,
    /// A TLS session over TCP.
    Tls,
}

/// A connection's transport.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP (boxed: a session is much bigger than a socket).
    Tls(Box<TlsStream>),
}

/// A TLS session and its socket.
#[derive(Debug)]
pub struct TlsStream {
    socket: TcpStream,
    session: ServerConnection,
    /// Plaintext bytes handed to the session whose records have not all gone out.
    handed: usize,
    /// Bytes taken from the socket, and plaintext given out, since the loop last
    /// asked (see [`Transport::take_overhead`]).
    wire_in: usize,
    plain_out: usize,
}

impl Transport {
    /// A TLS server session on `socket`, with the settings of `config`.
    pub fn tls(socket: TcpStream, config: Arc<ServerConfig>) -> Result<Transport, rustls::Error> {
        let mut session = ServerConnection::new(config)?;
        session.set_buffer_limit(Some(SESSION_BUFFER));
        Ok(Transport::Tls(Box::new(TlsStream {
            socket,
            session,
            handed: 0,
            wire_in: 0,
            plain_out: 0,
        })))
    }

    /// True once application data can flow (at once for plain TCP; after the
    /// handshake for TLS).
    pub fn is_ready(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
            Transport::Tls(tls) => !tls.session.is_handshaking(),
        }
    }

    /// True while the transport has bytes of its own to write: handshake messages,
    /// alerts, or records the socket has not taken yet.
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.session.wants_write(),
        }
    }

    /// Output bytes held inside the transport, not yet taken by the socket.
    pub fn buffered(&self) -> usize {
        match self {
            Transport::Plain(_) => 0,
            Transport::Tls(tls) => tls.handed,
        }
    }

    /// Bytes read from the socket beyond the plaintext they gave, since the last call:
    /// records' overhead, handshake messages, padding. The loop charges them to its
    /// read budgets, so that input which decrypts to little still costs its size.
    pub fn take_overhead(&mut self) -> usize {
        match self {
            Transport::Plain(_) => 0,
            Transport::Tls(tls) => {
                let overhead = tls.wire_in.saturating_sub(tls.plain_out);
                tls.wire_in = 0;
                tls.plain_out = 0;
                overhead
            }
        }
    }

    /// Whether the bytes are encrypted on their way.
    pub fn link(&self) -> Link {
        match self {
            Transport::Plain(_) => Link::Clear,
            Transport::Tls(_) => Link::Encrypted,
        }
    }

    /// Writes the transport's own bytes (see [`Transport::wants_write`]) until they are
    /// gone or the socket is full; returns the bytes written.
    pub fn write_pending(&mut self) -> io::Result<usize> {
        match self {
            Transport::Plain(_) => Ok(0),
            Transport::Tls(tls) => tls.write_records(),
        }
    }

    /// Says goodbye as the transport does (a TLS `close_notify`), as far as the socket
    /// takes it at once; the connection is closed right after.
    pub fn close(&mut self) {
        if let Transport::Tls(tls) = self {
            tls.session.send_close_notify();
            let _ = tls.write_records();
        }
    }

    /// Makes the coming close reset the connection (`SO_LINGER` of zero): whatever the
    /// kernel still holds for the peer is dropped at once instead of kept, perhaps for
    /// minutes, for a peer that does not read it.
    pub fn reset_on_close(&mut self) -> io::Result<()> {
        socket2::SockRef::from(&*self.socket()).set_linger(Some(std::time::Duration::ZERO))
    }

    /// The socket, for registering with the poll.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(socket) => socket,
            Transport::Tls(tls) => &mut tls.socket,
        }
    }
}

impl TlsStream {
    /// Writes records until none are left or the socket is full.
    fn write_records(&mut self) -> io::Result<usize> {
        let mut written = 0;
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.socket) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock && written > 0 => break,
                Err(e) => return Err(e),
            }
        }
        if !self.session.wants_write() {
            self.handed = 0;
        }
        Ok(written)
    }

    /// Reads records from the socket until the session has plaintext, the socket is
    /// empty, or the peer has closed. After `buf.len()` bytes from the socket with no
    /// plaintext, it stops with `Interrupted`: the caller charges them to its budget
    /// and asks again, or lists the connection for the next turn when the budget is
    /// spent (the socket's rest would raise no new event).
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            match self.session.reader().read(buf) {
                Ok(n) => {
                    self.plain_out += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if taken >= buf.len() {
                return Err(ErrorKind::Interrupted.into());
            }
            match self.session.read_tls(&mut self.socket) {
                // Closed without `close_notify`: the lines it sent in full still
                // count, as on a plain connection.
                Ok(0) => return Ok(0),
                Ok(n) => {
                    taken += n;
                    self.wire_in += n;
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = self.session.process_new_packets() {
                // The alert that says why, if the socket takes it.
                let _ = self.write_records();
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        }
    }

    /// Hands the session `bufs` (once what it held before is out) and writes the
    /// records; returns the plaintext bytes taken.
    fn write_plaintext(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_records()?;
        if self.session.wants_write() {
            return Err(ErrorKind::WouldBlock.into());
        }
        let taken = self.session.writer().write_vectored(bufs)?;
        self.handed = taken;
        match self.write_records() {
            Ok(_) => Ok(taken),
            // The records wait in the session; the plaintext was taken all the same.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(taken),
            Err(e) => Err(e),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
            Transport::Tls(tls) => tls.read_plaintext(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write_vectored(bufs),
            Transport::Tls(tls) => tls.write_plaintext(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
            Transport::Tls(tls) => tls.write_records().map(|_| ()),
        }
    }
}
