//! The connection set: every client with its socket in the loop's poll, the counts of
//! open and ready ones, the lists of clients to revisit or flush, and how a client's
//! connection is written to and closed.

use std::io;

use mio::Poll;

use crate::args::Kind;
use crate::conn::{Client, Reason, State};
use crate::scenario::{Plan, NONE};
use crate::tls::TlsClient;

use super::Driver;

/// Size of the shared read buffer: big reads keep the syscall count low at 500 MB/s.
pub const RBUF: usize = 64 * 1024;

/// The clients and what the loop keeps about them as a whole.
pub struct Conns {
    /// The loop's poll; every open client socket is registered with its index as token.
    pub poll: Poll,
    /// Every client of the run, by index.
    pub clients: Vec<Client>,
    /// One read buffer for the whole loop: an idle client costs no buffer.
    pub rbuf: Vec<u8>,
    /// Clients with an open socket.
    pub open: usize,
    /// Clients set up and taking part right now.
    pub ready_now: usize,
    /// Clients to revisit without waiting for an event (more to read, or writable).
    pub again: Vec<u32>,
    /// Open-loop senders with output to flush after a send pass.
    pub touched: Vec<u32>,
    /// With `--tls`: the settings every client's session starts from.
    pub tls: Option<TlsClient>,
}

impl Conns {
    /// The clients of `plan`, not connected yet, registered with nothing so far; they
    /// will connect with TLS when `tls` is given.
    pub fn new(poll: Poll, plan: &Plan, tls: Option<TlsClient>) -> Conns {
        Conns {
            poll,
            clients: clients_for(plan),
            rbuf: vec![0; RBUF],
            open: 0,
            ready_now: 0,
            again: Vec::new(),
            touched: Vec::new(),
            tls,
        }
    }

    /// Puts client `i` on the list to revisit, once.
    pub fn push_again(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if !c.again {
            c.again = true;
            self.again.push(i as u32);
        }
    }

    /// Puts sender `s` on the list to flush, once.
    #[inline]
    pub fn touch(&mut self, s: usize) {
        let c = &mut self.clients[s];
        if !c.touched {
            c.touched = true;
            self.touched.push(s as u32);
        }
    }
}

/// One client per role of the plan. A sender learns how many members read its
/// messages, which its `--window` is counted against (a poster: its one `POSTED` per
/// post).
pub(super) fn clients_for(plan: &Plan) -> Vec<Client> {
    let mut clients: Vec<Client> = plan
        .roles
        .iter()
        .map(|&role| {
            let slots = if role.group == NONE {
                0
            } else {
                plan.groups[role.group as usize].senders.len()
            };
            Client::new(role, slots)
        })
        .collect();
    if plan.board {
        // A post's one answer is its POSTED.
        for c in clients.iter_mut().filter(|c| c.role.slot != NONE) {
            c.receivers = 1;
        }
        return clients;
    }
    for g in &plan.groups {
        let readers = g
            .members
            .iter()
            .filter(|&&m| !plan.roles[m as usize].stuck)
            .count() as u64;
        for &s in &g.senders {
            let me = u64::from(!plan.roles[s as usize].stuck);
            clients[s as usize].receivers = readers - me;
        }
    }
    clients
}

/// The disconnect reason an I/O error stands for.
pub fn io_reason(e: &io::Error) -> Reason {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Reason::Reset,
        // Only a TLS session reports bad data: a plain socket never does.
        io::ErrorKind::InvalidData => Reason::Tls,
        _ => Reason::SocketError,
    }
}

impl Driver {
    /// Writes what client `i` has pending; closes it if the socket failed.
    pub(super) fn flush(&mut self, i: usize) {
        match self.conns.clients[i].flush() {
            Ok(_) => {}
            Err(e) => self.close(i, io_reason(&e)),
        }
    }

    /// Flushes every sender an open-loop pass wrote to.
    pub(super) fn flush_touched(&mut self) {
        if self.conns.touched.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.conns.touched);
        for &s in &list {
            self.conns.clients[s as usize].touched = false;
            self.flush(s as usize);
        }
        // Reuse the allocation.
        self.conns.touched = list;
        self.conns.touched.clear();
    }

    /// Gives every client on the revisit list its turn: read what is left, and let a
    /// `--max` sender send.
    pub(super) fn run_again(&mut self) {
        if self.conns.again.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.conns.again);
        for &i in &list {
            let i = i as usize;
            self.conns.clients[i].again = false;
            if self.conns.clients[i].state == State::Closed {
                continue;
            }
            self.read(i, true);
            self.pump(i);
        }
        // Reuse the allocation when nothing was re-queued meanwhile.
        if self.conns.again.is_empty() {
            self.conns.again = list;
            self.conns.again.clear();
        }
    }

    /// Closes client `i` for `why` (unless the server's `BYE` said more) and counts
    /// the disconnect, as expected or not by the scenario (an attacker's: as the
    /// attack's).
    pub(super) fn close(&mut self, i: usize, why: Reason) {
        let c = &mut self.conns.clients[i];
        if c.state == State::Closed {
            return;
        }
        let was = c.state;
        // The server's own word for it (BYE) is more precise than what the socket saw.
        let reason = c.bye.unwrap_or(why);
        if let Some(mut s) = c.stream.take() {
            let _ = self.conns.poll.registry().deregister(s.socket_mut());
            self.conns.open -= 1;
        }
        let stats = &mut self.measure.stats;
        if c.role.slot != NONE {
            // Messages that never fully left cannot be delivered: do not count them as
            // sent, or receivers would be blamed for losing them.
            let unsent = c.unsent_lines().min(c.sent);
            c.sent -= unsent;
            stats.sent -= unsent.min(stats.sent);
            if let Some(b) = self.board.as_mut() {
                b.forget_unsent(i, c.role.group as usize, unsent);
            }
        }
        if let Some(ab) = self.abuse.as_mut() {
            // What the others were told in a LEAVE is the server's own word, where its
            // BYE to a non-reader may not have fitted in the full socket.
            let told = c.left.map_or(reason, |(r, _)| r);
            ab.on_closed(i, told, c.unsent_lines(), c.pending() as u64);
        }
        c.out = Vec::new();
        c.out_pos = 0;
        c.carry = Vec::new();
        c.state = State::Closed;
        if was == State::Ready {
            self.conns.ready_now -= 1;
        }
        let expected = c.quitting
            || c.role.stuck
            || (self.cfg.kind == Kind::Queue && reason == Reason::ServerFull);
        // An attacker's connection is the attack's to count (above), not the run's.
        if !c.role.attacker {
            stats.disconnect(reason.name(), expected);
        }
        if was == State::Queued {
            if let Some(q) = self.queue.as_mut() {
                q.on_departed(i as u32);
            }
        }
        if let Some(ls) = self.login_storm.as_mut() {
            // A login under way that loses its connection has no answer coming.
            ls.on_closed(i);
        }
        self.settle(i);
    }
}
