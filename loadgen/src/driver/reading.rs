//! Everything read from the server: the read loop over the shared buffer, the long
//! line path, the dispatch of each line, and at the end what the non-reading clients
//! were sent.

use std::io;

use mio::{Interest, Token};

use crate::abuse::AbuseRun;
use crate::clock::now_ns;
use crate::conn::{Reason, State};
use crate::scenario::Role;
use crate::stats::Stats;
use crate::wire::{self, ServerLine};

use super::conns::{io_reason, RBUF};
use super::Driver;

/// Reads of one socket per readiness event before other sockets get their turn.
const READS_PER_TURN: usize = 8;
/// A server line longer than this is treated as a broken connection.
const MAX_LINE: usize = 64 << 20;
/// How long the end of the run waits for what the non-reading clients were sent.
const STUCK_DRAIN_NS: u64 = 2_000_000_000;

/// Counts `n` bytes read at `now` by a client with `role`: an attacker's for its
/// attack, anyone else's for the run.
fn count_in(stats: &mut Stats, abuse: Option<&mut AbuseRun>, role: Role, now: u64, n: usize) {
    match abuse {
        Some(ab) if role.attacker => ab.c.bytes_received += n as u64,
        _ => stats.bytes(now, n),
    }
}

impl Driver {
    /// Reads what client `i` has. With `to_end` it reads until the socket says
    /// EAGAIN or end of stream; otherwise a short read ends the turn. A TLS handshake
    /// completed by what was read is taken note of (see [`Driver::on_opened`]).
    pub(super) fn read(&mut self, i: usize, to_end: bool) {
        self.read_turn(i, to_end);
        let opened = self.conns.clients[i]
            .stream
            .as_mut()
            .and_then(|s| s.take_opened());
        if let Some(at) = opened {
            self.on_opened(i, at);
        }
    }

    /// One turn of reading client `i` (see [`Driver::read`]).
    fn read_turn(&mut self, i: usize, to_end: bool) {
        for _ in 0..READS_PER_TURN {
            let c = &mut self.conns.clients[i];
            if c.state == State::Closed || c.deaf {
                return;
            }
            let Some(stream) = c.stream.as_mut() else {
                return;
            };
            let off = c.carry.len();
            if off > RBUF / 2 {
                if !self.read_long(i) {
                    return;
                }
                continue;
            }
            match stream.read(&mut self.conns.rbuf[off..]) {
                Ok(0) => {
                    self.close(i, Reason::Eof);
                    return;
                }
                Ok(n) => {
                    let now = now_ns();
                    count_in(&mut self.measure.stats, self.abuse.as_mut(), c.role, now, n);
                    // The partial line goes in front of the new bytes.
                    self.conns.rbuf[..off].copy_from_slice(&c.carry);
                    c.carry.clear();
                    let buf = std::mem::take(&mut self.conns.rbuf);
                    let end = off + n;
                    let used = self.lines(i, &buf[..end], now);
                    let c = &mut self.conns.clients[i];
                    if used < end && c.state != State::Closed {
                        c.carry.extend_from_slice(&buf[used..end]);
                    }
                    self.conns.rbuf = buf;
                    // A short read means the socket is empty: on Linux any later data
                    // raises a new edge, so skip the read that would only say EAGAIN.
                    // Not so for an end of stream that came with the same edge: the
                    // event said so (`to_end`), and the next read returns it.
                    if end < RBUF && !to_end {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.close(i, io_reason(&e));
                    return;
                }
            }
        }
        // Turn used up with data left: come back without waiting for a new edge.
        self.conns.push_again(i);
    }

    /// Reads while a long line is being assembled in the client's carry; `false` when
    /// there is nothing more to read now (or the client closed).
    fn read_long(&mut self, i: usize) -> bool {
        let c = &mut self.conns.clients[i];
        let Some(stream) = c.stream.as_mut() else {
            return false;
        };
        let off = c.carry.len();
        c.carry.resize(off + RBUF, 0);
        let res = stream.read(&mut c.carry[off..]);
        match res {
            Ok(0) => {
                c.carry.truncate(off);
                self.close(i, Reason::Eof);
                false
            }
            Ok(n) => {
                c.carry.truncate(off + n);
                let now = now_ns();
                count_in(&mut self.measure.stats, self.abuse.as_mut(), c.role, now, n);
                let buf = std::mem::take(&mut c.carry);
                let used = self.lines(i, &buf, now);
                let c = &mut self.conns.clients[i];
                if c.state != State::Closed {
                    c.carry = buf;
                    c.carry.drain(..used);
                    if c.carry.len() > MAX_LINE {
                        self.notes.add("a server line exceeded 64 MiB".into());
                        self.close(i, Reason::SocketError);
                        return false;
                    }
                }
                true
            }
            Err(e) => {
                c.carry.truncate(off);
                match e.kind() {
                    io::ErrorKind::WouldBlock => false,
                    io::ErrorKind::Interrupted => true,
                    _ => {
                        self.close(i, io_reason(&e));
                        false
                    }
                }
            }
        }
    }

    /// Handles every complete line in `buf`; returns the bytes consumed. The protocol
    /// is chosen once for the whole buffer, not per line.
    fn lines(&mut self, i: usize, buf: &[u8], now: u64) -> usize {
        if self.conns.clients[i].role.irc {
            self.lines_with(i, buf, now, Driver::on_irc_line)
        } else {
            self.lines_with(i, buf, now, Driver::on_line)
        }
    }

    /// [`Driver::lines`] with the handler of one protocol's lines.
    #[inline(always)]
    fn lines_with(
        &mut self,
        i: usize,
        buf: &[u8],
        now: u64,
        on_line: impl Fn(&mut Driver, usize, &[u8], u64),
    ) -> usize {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', buf) {
            on_line(self, i, &buf[start..nl], now);
            start = nl + 1;
            if self.conns.clients[i].state == State::Closed {
                return buf.len();
            }
        }
        start
    }

    /// Handles one line the server sent to client `i`.
    fn on_line(&mut self, i: usize, line: &[u8], now: u64) {
        let line = wire::parse_line(line);
        if self.abuse.is_some() && self.on_abuse_line(i, &line, now) {
            return;
        }
        match line {
            ServerLine::Msg { text, .. } | ServerLine::Priv { text, .. } => {
                self.on_payload(i, text, now)
            }
            ServerLine::Hello => self.on_hello(i, now),
            ServerLine::Queued { pos } => self.on_queued(i, pos, now),
            ServerLine::Welcome => self.on_welcome(i, now),
            ServerLine::Registered => self.on_registered(i, now),
            ServerLine::Other => {}
            ServerLine::Join { room, name } => {
                if wire::name_id(&self.setup.name_prefix, name) == Some(i as u64) {
                    self.on_self_join(i, room, now);
                }
            }
            ServerLine::Leave { room, name, reason } => self.on_leave(i, room, name, reason, now),
            ServerLine::Ping { token } => {
                let c = &mut self.conns.clients[i];
                c.out.extend_from_slice(b"/pong ");
                c.out.extend_from_slice(token);
                c.out.push(b'\n');
                self.flush(i);
            }
            ServerLine::Err { code } => self.on_refused(i, code, "ERR"),
            ServerLine::Bye { reason } => self.on_bye(i, reason),
            ServerLine::Posted { room, id } => self.on_posted(i, room, id, now),
            ServerLine::Post { room, id, author } => self.on_post_notice(i, room, id, author, now),
            ServerLine::List { .. } => {}
        }
    }

    /// The server refused client `i`'s last command with `code` (said in `what`: `ERR`,
    /// or `IRC` for a numeric): counted; in setup, the client gives up.
    pub(super) fn on_refused(&mut self, i: usize, code: &[u8], what: &str) {
        self.measure.stats.error(code);
        let state = self.conns.clients[i].state;
        if matches!(
            state,
            State::AwaitHello
                | State::Naming
                | State::WaitRoom
                | State::Joining
                | State::Registering
        ) {
            let msg = format!("setup refused: {what} {}", String::from_utf8_lossy(code));
            self.notes.add(msg);
            self.close(i, Reason::SetupRefused);
        } else if state == State::LoggingIn {
            self.on_login_refused(i, code);
        }
    }

    /// The server is closing client `i`'s connection for `reason` (`BYE`, or IRC's
    /// `ERROR`).
    pub(super) fn on_bye(&mut self, i: usize, reason: &[u8]) {
        self.conns.clients[i].bye = Some(Reason::from_bye(reason));
    }

    /// `LEAVE <room> <name> <reason>` seen by client `i`: its own leaving lobby ends its
    /// setup; another client's departure for a reason the server decided is recorded
    /// on that client.
    fn on_leave(&mut self, i: usize, room: &[u8], name: &[u8], reason: &[u8], now: u64) {
        let id = wire::name_id(&self.setup.name_prefix, name);
        let me = id == Some(i as u64);
        match id {
            // The last confirmation of a member's setup.
            Some(_)
                if me
                    && room == b"lobby"
                    && reason == b"left"
                    && self.conns.clients[i].state == State::Joining =>
            {
                self.make_ready(i, now);
            }
            // Our own clients leave lobby during setup: only departures the
            // server decided (sendq, timeout, ...) say something about it.
            Some(id) if !me && (id as usize) < self.conns.clients.len() && reason != b"left" => {
                let other = &mut self.conns.clients[id as usize];
                if other.left.is_none() {
                    other.left = Some((Reason::from_bye(reason), now));
                }
            }
            _ => {}
        }
    }

    /// Client `i` stops reading: its socket is watched only for room to write (a
    /// ping-keeper still sends), so what the server goes on sending it wakes nobody
    /// here. In a real attack the non-readers are other machines; here they share the
    /// loop that times the bystanders, and thousands of wake-ups for each line to
    /// their room would be measured as the bystanders' latency.
    pub(super) fn go_deaf(&mut self, i: usize) {
        let c = &mut self.conns.clients[i];
        c.deaf = true;
        let Some(stream) = c.stream.as_mut() else {
            return;
        };
        if let Err(e) =
            self.conns
                .poll
                .registry()
                .reregister(stream.socket_mut(), Token(i), Interest::WRITABLE)
        {
            self.notes
                .add(format!("watching a non-reader for writes only failed: {e}"));
        }
    }

    /// Reads what the non-reading clients were sent, to learn whether the server
    /// dropped them: end of stream means dropped; a `BYE` names the reason.
    pub(super) fn drain_deaf(&mut self) {
        let deadline = now_ns() + STUCK_DRAIN_NS;
        for i in 0..self.conns.clients.len() {
            if !self.conns.clients[i].deaf || self.conns.clients[i].state == State::Closed {
                continue;
            }
            loop {
                let c = &mut self.conns.clients[i];
                let Some(stream) = c.stream.as_mut() else {
                    break;
                };
                let rbuf = &mut self.conns.rbuf;
                match stream.read(rbuf) {
                    Ok(0) => {
                        self.close(i, Reason::Eof);
                        break;
                    }
                    Ok(n) => {
                        if let Some(at) = memchr::memmem::rfind(&rbuf[..n], b"BYE ") {
                            let word = wire::split_field(&rbuf[at + 4..n]).0;
                            c.bye = Some(Reason::from_bye(word));
                            if let Some(ab) = self.abuse.as_mut().filter(|_| c.role.attacker) {
                                ab.on_bye(word);
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.close(i, io_reason(&e));
                        break;
                    }
                }
                if now_ns() > deadline {
                    break;
                }
            }
        }
    }
}
