//! What carries a client's bytes: plain TCP, or a rustls client session on the same
//! kind of non-blocking socket (`--tls`).
//!
//! Plain connections keep exactly the path they had: one `read` into the loop's
//! shared buffer, one `write` from the client's output, behind one match on the enum.
//! A TLS session is driven sans-IO, the way the server drives its own: reading feeds it
//! what the socket has (`read_tls`), lets it decrypt (`process_new_packets`) and copies
//! the plaintext out of it; writing hands it a batch of output once everything it held
//! before is out (it seals the batch into as few records as fit) and writes the
//! records with one vectored write (`write_tls`).
//!
//! The socket stays registered for reading and writing, edge-triggered, as plain ones
//! are: a session's records that the socket did not take (`wants_write`) go out on the
//! next writable edge, which the kernel raises because that write met a full socket.
//! What a session must send without being asked (its handshake messages, an alert) is
//! written as soon as it appears, inside the read that produced it: no edge would
//! announce a socket that was writable all along.

use std::io::{self, ErrorKind, Read, Write};

use mio::net::TcpStream;
use rustls::ClientConnection;

use crate::clock::now_ns;

/// A client's connection.
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP; boxed, since a session is much bigger than a socket and plain
    /// clients should not carry its size.
    Tls(Box<TlsStream>),
}

/// A rustls client session and its socket.
pub struct TlsStream {
    socket: TcpStream,
    session: ClientConnection,
    /// Output bytes handed to the session whose records have not all gone out yet.
    /// They stay in the client's output (in front of its unsent position) until they
    /// have: what a closed client had not sent must be counted as unsent, as on a
    /// plain connection.
    handed: usize,
    /// When the handshake completed (process-clock ns; 0: not yet).
    opened_at: u64,
    /// The handshake completed and the loop has not been told yet.
    fresh: bool,
}

impl Transport {
    /// A TLS session over `socket`, whose connect may still be in progress.
    pub fn tls(socket: TcpStream, session: ClientConnection) -> Transport {
        Transport::Tls(Box::new(TlsStream {
            socket,
            session,
            handed: 0,
            opened_at: 0,
            fresh: false,
        }))
    }

    /// The socket, to check a connect and for the poll.
    pub fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.socket,
        }
    }

    /// The socket, for registering with the poll and deregistering.
    pub fn socket_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.socket,
        }
    }

    /// Reads plaintext into `buf`: `Ok(0)` at the end of the stream. Fewer bytes than
    /// `buf` holds only when the socket has nothing more right now (so a short read
    /// still means what it means on a plain socket: no need to read again until the
    /// next edge).
    #[inline]
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read_plaintext(buf),
        }
    }

    /// Writes `out[*pos..]` as far as the socket takes it, advancing `*pos` over what
    /// has gone out. `Ok(true)` when nothing is left inside the transport either.
    #[inline]
    pub fn write_out(&mut self, out: &[u8], pos: &mut usize) -> io::Result<bool> {
        match self {
            Transport::Plain(s) => {
                while *pos < out.len() {
                    match s.write(&out[*pos..]) {
                        Ok(0) => return Err(ErrorKind::WriteZero.into()),
                        Ok(n) => *pos += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            Transport::Tls(t) => t.write_out(out, pos),
        }
    }

    /// The time the TLS handshake completed, once, if it did since the last call (never
    /// for plain TCP).
    #[inline]
    pub fn take_opened(&mut self) -> Option<u64> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(t) if t.fresh => {
                t.fresh = false;
                Some(t.opened_at)
            }
            Transport::Tls(_) => None,
        }
    }
}

impl TlsStream {
    /// Reads records until `buf` is full of plaintext or the socket is empty. rustls
    /// reads at most a few KiB from the socket at a time and hands out one record's
    /// plaintext at a time; stopping at the first short read would leave data in the
    /// socket that no new edge announces.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            match self.session.reader().read(&mut buf[filled..]) {
                // The server's close_notify, after everything it sent.
                Ok(0) if filled < buf.len() => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // Closed without close_notify: the end of the stream, as a plain
                // connection's would be (what came in full still counts).
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.session.read_tls(&mut self.socket) {
                Ok(0) => return Ok(filled),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            let processed = self.session.process_new_packets();
            // Handshake messages, or the alert that says why the session failed: they
            // go now (a full socket takes them on its next writable edge).
            let sent = self.write_records();
            if let Err(e) = processed {
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
            sent?;
            if self.opened_at == 0 && !self.session.is_handshaking() {
                self.opened_at = now_ns();
                self.fresh = true;
            }
        }
    }

    /// Writes the session's records until none are left (`Ok(true)`) or the socket is
    /// full (`Ok(false)`).
    fn write_records(&mut self) -> io::Result<bool> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.socket) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Writes the records the session holds, then hands it the next batch of
    /// `out[*pos..]` and writes that, until all is out or the socket is full. `*pos`
    /// moves past a batch only once its records have all gone to the socket. Nothing is
    /// handed over during the handshake: the output waits in the client's buffer, and
    /// the loop flushes it when the handshake completes (see
    /// [`Transport::take_opened`]).
    fn write_out(&mut self, out: &[u8], pos: &mut usize) -> io::Result<bool> {
        loop {
            if !self.write_records()? {
                return Ok(false);
            }
            *pos += std::mem::take(&mut self.handed);
            if *pos == out.len() {
                return Ok(true);
            }
            if self.session.is_handshaking() {
                return Ok(false);
            }
            let n = self.session.writer().write(&out[*pos..])?;
            if n == 0 {
                // Cannot happen with an empty session and a non-zero buffer limit; do
                // not spin if it ever does.
                return Ok(false);
            }
            self.handed = n;
        }
    }
}
