//! Connections: each socket with its input carry-over, output queue and readiness, and
//! the table that holds them all and takes the chat core's output.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use slab::Slab;

use crate::chat::{ClientId, Outbox};
use crate::line::LineFramer;
use crate::outq::OutQueue;
use crate::reply::Line;
use crate::timers::Deadlines;

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
    /// Congested recipients this client's last line reached: reading waits until each
    /// has drained, stalled or gone (flow control).
    pub blocked_on: u32,
    /// When the socket last stopped taking output: a write would block and nothing
    /// has been written since. A reader that is stuck keeps an old time here.
    pub stuck_since: Option<Instant>,
    /// Since when this client has been congested: above `--soft-sendq`, counted from
    /// when its socket stopped taking output if that was earlier.
    pub congested_since: Option<Instant>,
    /// Congested for longer than `--stall-limit`: it paces no sender any more.
    pub stalled: bool,
    /// `(key, serial)` of senders waiting for this client's output to drain.
    pub waiters: Vec<(usize, u64)>,
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
            over_sendq: false,
            writable: true,
            write_armed: false,
            flush_listed: false,
            read_listed: false,
            paused: false,
            blocked_on: 0,
            stuck_since: None,
            congested_since: None,
            stalled: false,
            waiters: Vec::new(),
            lingering: false,
        }
    }

    /// True when the loop may read this client's input now.
    pub fn may_read(&self) -> bool {
        self.in_hub && !self.over_sendq && !self.paused && self.blocked_on == 0
    }

    /// Pauses the client if its own output is above `soft`, then says whether it may be
    /// read: a client that floods without reading throttles itself.
    pub fn may_read_within(&mut self, soft: usize) -> bool {
        if self.out.pending() > soft {
            self.paused = true;
        }
        self.may_read()
    }
}

/// Output limits of every connection.
#[derive(Debug, Clone, Copy)]
pub struct SendqLimits {
    /// Pending output that drops a client (`--max-sendq`).
    pub max: usize,
    /// Pending output above which a client is congested (`--soft-sendq`).
    pub soft: usize,
    /// How long a congested client may pace its senders (`--stall-limit`).
    pub stall: Duration,
}

/// Every connection by slab key, the lists of connections with work, and the flow
/// control state.
///
/// This is the [`Outbox`] of the server: a delivery appends a shared line to the
/// recipient's queue and lists the recipient for the flush at the end of the turn, so
/// each connection gets one vectored write per turn however many lines it received.
/// A delivery to a congested recipient also pauses the client whose line caused it
/// (the loop names it with [`ConnTable::set_sender`]), until that recipient drains,
/// stalls or leaves: a flood is paced to what its readers take.
#[derive(Debug)]
pub struct ConnTable {
    /// The connections; a key is a client id and a poll token.
    pub slab: Slab<Conn>,
    /// Keys with input to read next.
    pub read: Vec<usize>,
    /// Keys with output to write, oldest first. A key keeps its place while more output
    /// is queued for it, so when the loop cannot write to everyone in one turn each
    /// connection still gets its turn in order.
    pub flush: VecDeque<usize>,
    /// `(key, serial)` of connections that went over `--max-sendq`.
    pub overflowed: Vec<(usize, u64)>,
    /// When congested connections stop pacing their senders.
    pub stalls: Deadlines<(usize, u64)>,
    /// The output limits (public so the loop reads them from one place).
    pub limits: SendqLimits,
    /// Connections whose reading waits for congested recipients to drain.
    paced: usize,
    /// When flow control last held a sender back.
    last_hold: Option<Instant>,
    /// The connection whose input is being handled, with its serial.
    sender: Option<(usize, u64)>,
    now: Instant,
}

impl ConnTable {
    /// An empty table.
    pub fn new(limits: SendqLimits, now: Instant) -> ConnTable {
        ConnTable {
            slab: Slab::new(),
            read: Vec::new(),
            flush: VecDeque::new(),
            overflowed: Vec::new(),
            stalls: Deadlines::new(),
            limits,
            paced: 0,
            last_hold: None,
            sender: None,
            now,
        }
    }

    /// Names the client whose line is handled next (`None` for timers and departures,
    /// which pace nobody), and the time.
    pub fn set_sender(&mut self, sender: Option<usize>, now: Instant) {
        self.sender = sender.and_then(|key| Some((key, self.slab.get(key)?.serial)));
        self.now = now;
    }

    /// Queues `line` for `key` regardless of limits (the final `BYE shutdown`).
    pub fn push_unlimited(&mut self, key: usize, line: &Line) {
        if let Some(conn) = self.slab.get_mut(key) {
            conn.out.push(line);
            list(&mut self.flush, key, &mut conn.flush_listed);
        }
    }

    /// Lists `key` for reading, once.
    pub fn list_for_read(&mut self, key: usize) {
        if let Some(conn) = self.slab.get_mut(key) {
            list(&mut self.read, key, &mut conn.read_listed);
        }
    }

    /// True while flow control holds some sender back until its recipients drain.
    pub fn pacing(&self) -> bool {
        self.paced > 0
    }

    /// True if flow control held a sender back within `memory` before `now`.
    pub fn held_within(&self, memory: Duration, now: Instant) -> bool {
        self.last_hold.is_some_and(|at| now < at + memory)
    }

    /// Takes `key` out of the table, letting the senders it was pacing go.
    pub fn remove(&mut self, key: usize) -> Conn {
        self.release_waiters(key);
        let conn = self.slab.remove(key);
        if conn.blocked_on > 0 {
            self.paced -= 1;
        }
        conn
    }

    /// `key`'s output has drained below the soft limit: it is no longer congested.
    pub fn decongest(&mut self, key: usize) {
        let conn = &mut self.slab[key];
        conn.congested_since = None;
        conn.stalled = false;
        self.release_waiters(key);
    }

    /// Handles stall deadlines due at `now`: recipients congested for longer than the
    /// stall limit let their senders go.
    pub fn expire_stalls(&mut self, now: Instant) {
        while let Some((key, serial)) = self.stalls.pop_due(now) {
            let Some(conn) = self.slab.get_mut(key).filter(|c| c.serial == serial) else {
                continue;
            };
            let stalled = conn
                .congested_since
                .is_some_and(|since| now >= since + self.limits.stall);
            if stalled && !conn.stalled {
                conn.stalled = true;
                self.release_waiters(key);
            }
        }
    }

    /// Lets every sender waiting on `key` go; those with nothing else to wait for are
    /// listed for reading.
    pub fn release_waiters(&mut self, key: usize) {
        let waiters = std::mem::take(&mut self.slab[key].waiters);
        for (waiter, serial) in waiters {
            let Some(conn) = self.slab.get_mut(waiter).filter(|c| c.serial == serial) else {
                continue;
            };
            conn.blocked_on -= 1;
            if conn.blocked_on == 0 {
                self.paced -= 1;
            }
            if conn.may_read() {
                list(&mut self.read, waiter, &mut conn.read_listed);
            }
        }
    }
}

/// Appends `key` to a work list unless `listed` says it is already there.
fn list(list: &mut impl Extend<usize>, key: usize, listed: &mut bool) {
    if !*listed {
        *listed = true;
        list.extend([key]);
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
        let pending = conn.out.pending();
        if pending > self.limits.max {
            conn.over_sendq = true;
            self.overflowed.push((to.0, conn.serial));
            return;
        }
        list(&mut self.flush, to.0, &mut conn.flush_listed);
        if pending <= self.limits.soft {
            return;
        }
        if conn.congested_since.is_none() {
            // A reader that stopped long ago must not pace anyone: otherwise, with many
            // stuck readers, each would cross the soft limit only after the previous one
            // stalled, and their pauses would add up.
            let since = conn.stuck_since.map_or(self.now, |t| t.min(self.now));
            conn.congested_since = Some(since);
            let stall_at = since + self.limits.stall;
            if stall_at <= self.now {
                conn.stalled = true;
            } else {
                self.stalls.schedule(stall_at, (to.0, conn.serial));
            }
        }
        let Some(sender) = self.sender.filter(|&(key, _)| key != to.0) else {
            return;
        };
        // One line can reach a recipient more than once (a departure notice per shared
        // room); within one line the sender is the only one added, so check the last.
        if conn.stalled || conn.waiters.last() == Some(&sender) {
            return;
        }
        conn.waiters.push(sender);
        self.last_hold = Some(self.now);
        let sender = &mut self.slab[sender.0];
        if sender.blocked_on == 0 {
            self.paced += 1;
        }
        sender.blocked_on += 1;
    }

    fn close(&mut self, client: ClientId) {
        if let Some(conn) = self.slab.get_mut(client.0) {
            conn.in_hub = false;
            list(&mut self.flush, client.0, &mut conn.flush_listed);
        }
    }
}
