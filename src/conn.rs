//! Connections: each socket with its input carry-over, output queue and readiness, and
//! the table that holds them all and takes the chat core's output.

use mio::net::TcpStream;
use slab::Slab;

use crate::chat::{ClientId, Outbox};
use crate::line::LineFramer;
use crate::outq::OutQueue;
use crate::reply::Line;

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    /// The non-blocking socket.
    pub socket: TcpStream,
    /// Sequential number for logs; also tells a reused slab key from its old holder.
    pub serial: u64,
    /// Where the client's input stands between reads.
    pub framer: LineFramer,
    /// Input bytes read but not yet framed: a partial line, or lines held back while
    /// the client is paused. Empty (and unallocated) for an idle client.
    pub carry: Vec<u8>,
    /// Output waiting to be written.
    pub out: OutQueue,
    /// The chat core still knows this client. Once false, the connection only flushes
    /// its remaining output and closes.
    pub in_hub: bool,
    /// The peer has closed its sending half.
    pub eof: bool,
    /// Output went over `--max-sendq`; the connection is being dropped.
    pub over_sendq: bool,
    /// The socket took everything last time (cleared when a write would block).
    pub writable: bool,
    /// Registered for writable events (only while a write has blocked).
    pub write_armed: bool,
    /// Listed in the table's flush list.
    pub flush_listed: bool,
    /// Listed for reading next turn.
    pub read_listed: bool,
    /// Reading stopped because this client's own output is above `--soft-sendq`.
    pub paused: bool,
    /// A deadline for closing is set (it lingers to flush).
    pub lingering: bool,
}

impl Conn {
    /// A fresh connection.
    pub fn new(socket: TcpStream, serial: u64, max_line: usize) -> Conn {
        Conn {
            socket,
            serial,
            framer: LineFramer::new(max_line),
            carry: Vec::new(),
            out: OutQueue::new(),
            in_hub: true,
            eof: false,
            over_sendq: false,
            writable: true,
            write_armed: false,
            flush_listed: false,
            read_listed: false,
            paused: false,
            lingering: false,
        }
    }
}

/// Every connection by slab key, plus the work the chat core's output creates.
///
/// This is the [`Outbox`] of the server: a delivery appends a shared line to the
/// recipient's queue and lists the recipient for the flush at the end of the turn, so
/// each connection gets one vectored write per turn however many lines it received.
#[derive(Debug)]
pub struct ConnTable {
    /// The connections; a key is a client id and a poll token.
    pub slab: Slab<Conn>,
    /// Keys with output to write this turn.
    pub flush: Vec<usize>,
    /// `(key, serial)` of connections that went over `--max-sendq`.
    pub overflowed: Vec<(usize, u64)>,
    max_sendq: usize,
}

impl ConnTable {
    /// An empty table with the given hard output limit per connection.
    pub fn new(max_sendq: usize) -> ConnTable {
        ConnTable {
            slab: Slab::new(),
            flush: Vec::new(),
            overflowed: Vec::new(),
            max_sendq,
        }
    }

    /// Queues `line` for `key` regardless of limits (the final `BYE shutdown`).
    pub fn push_unlimited(&mut self, key: usize, line: &Line) {
        if let Some(conn) = self.slab.get_mut(key) {
            conn.out.push(line);
            list_for_flush(&mut self.flush, key, conn);
        }
    }
}

fn list_for_flush(flush: &mut Vec<usize>, key: usize, conn: &mut Conn) {
    if !conn.flush_listed {
        conn.flush_listed = true;
        flush.push(key);
    }
}

impl Outbox for ConnTable {
    fn send(&mut self, to: ClientId, line: &Line) {
        let Some(conn) = self.slab.get_mut(to.0) else {
            return;
        };
        if conn.over_sendq {
            return;
        }
        conn.out.push(line);
        if conn.out.pending() > self.max_sendq {
            conn.over_sendq = true;
            self.overflowed.push((to.0, conn.serial));
            return;
        }
        list_for_flush(&mut self.flush, to.0, conn);
    }

    fn close(&mut self, client: ClientId) {
        if let Some(conn) = self.slab.get_mut(client.0) {
            conn.in_hub = false;
            list_for_flush(&mut self.flush, client.0, conn);
        }
    }
}
