//! Transports: what carries a connection's bytes. Plain TCP today; an encrypted session
//! is another transport on the same socket.
//!
//! A transport says whether it is ready for application data (a TLS handshake is not)
//! and whether it has bytes of its own to write; the loop derives the connection's
//! poll interest from that and from its output queue, so a handshake's bytes go out
//! even when the chat core has queued nothing.

use std::io::{self, IoSlice, Read, Write};

use mio::net::TcpStream;

/// The kinds of transport a listener can hand its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Bytes as they are, over TCP.
    Plain,
}

/// A connection's transport.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
}

impl Transport {
    /// Wraps an accepted socket in a transport of `kind`.
    pub fn new(kind: TransportKind, socket: TcpStream) -> Transport {
        match kind {
            TransportKind::Plain => Transport::Plain(socket),
        }
    }

    /// True once application data can flow (at once for plain TCP).
    pub fn is_ready(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
        }
    }

    /// True while the transport has bytes of its own to write (none for plain TCP).
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
        }
    }

    /// The socket, for registering with the poll.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(socket) => socket,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
        }
    }
}
