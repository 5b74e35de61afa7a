//! The scenario's traffic: sending test messages or posts (open loop on the schedule,
//! or `--max` within each sender's window) and checking every delivery exactly once and
//! in order.

use crate::args::{Config, Kind, Mode};
use crate::check::Verdict;
use crate::clock::{now_ns, ns};
use crate::conn::State;
use crate::irc;
use crate::scenario::{self, Meet, Plan, NONE};
use crate::wire;

use super::conns::io_reason;
use super::open_loop::OpenLoop;
use super::phases::Phase;
use super::Driver;

/// Message bytes a `--max` sender (or an attacker that keeps its socket full)
/// generates per write.
pub(super) const MAX_BATCH: usize = 64 * 1024;
/// Batches a `--max` sender writes per turn.
const BATCHES_PER_TURN: usize = 4;
/// Unsent output an open-loop sender may hold before messages are skipped (and counted).
const BACKLOG_CAP: usize = 8 << 20;
/// Most open-loop messages emitted in one pass before polling again.
const SEND_BUDGET: usize = 100_000;
/// The subject of every post (one word).
const POST_SUBJECT: &str = "load";

/// What the senders need to write messages, and whether they may.
pub struct Traffic {
    /// Sending is on (from the end of setup to the end of the window, or of the login
    /// storm).
    pub sending: bool,
    /// Open-loop messages scheduled from this time on are not sent: the end of the
    /// window, or never (login storm, abuse: the bystanders chat until the storm or
    /// the attack is over, however long it takes, and sending stops with it).
    pub send_until: u64,
    /// Per client: what precedes the message text (`/msg <partner> ` for pairs,
    /// `/post <room> <subject> ` for posters, `PRIVMSG #<room> :` for IRC members).
    send_prefix: Vec<Vec<u8>>,
    /// Message text length (`--size` minus the newline; a post's body: `--size`).
    text_len: usize,
    /// The `--rate` schedule; `None` under `--max` or without traffic.
    pub open_loop: Option<OpenLoop>,
}

impl Traffic {
    /// Nothing sent yet; `open_loop` when the scenario sends on a schedule.
    pub fn new(cfg: &Config, plan: &Plan, open_loop: Option<OpenLoop>) -> Traffic {
        let mut send_prefix = vec![Vec::new(); plan.roles.len()];
        for g in plan.groups.iter().filter(|g| g.meet == Meet::Private) {
            for &s in &g.senders {
                if let Some(&partner) = g.members.iter().find(|&&m| m != s) {
                    send_prefix[s as usize] =
                        format!("/msg {}{} ", cfg.prefix, partner).into_bytes();
                }
            }
        }
        for (gi, g) in plan.groups.iter().enumerate() {
            if g.meet != Meet::Room {
                continue;
            }
            let channel = irc::channel(&scenario::room_name(&cfg.prefix, gi));
            for &s in g.senders.iter().filter(|&&s| plan.roles[s as usize].irc) {
                send_prefix[s as usize] = irc::privmsg_prefix(&channel);
            }
        }
        let mut text_len = cfg.size - 1;
        if plan.board {
            // The body is the payload text, padded to --size bytes.
            for (gi, g) in plan.groups.iter().enumerate() {
                for &s in &g.senders {
                    send_prefix[s as usize] =
                        format!("/post {}r{} {} ", cfg.prefix, gi, POST_SUBJECT).into_bytes();
                }
            }
            text_len = cfg.size;
        }
        Traffic {
            sending: false,
            send_until: u64::MAX,
            send_prefix,
            text_len,
            open_loop,
        }
    }

    /// An open-loop pass stopped with messages still due.
    #[inline]
    pub fn behind(&self) -> bool {
        self.open_loop.as_ref().is_some_and(|ol| ol.behind)
    }
}

impl Driver {
    /// Every client is set up: opens the window after `--warmup` and starts sending.
    pub(super) fn start_traffic(&mut self, now: u64) {
        let stats = &mut self.measure.stats;
        stats.win_start = now + ns(self.cfg.warmup);
        stats.win_end = stats.win_start + ns(self.cfg.duration);
        self.traffic.send_until = if matches!(self.cfg.kind, Kind::LoginStorm | Kind::Abuse) {
            u64::MAX
        } else {
            stats.win_end
        };
        self.traffic.sending = true;
        // The non-reading members stop reading now.
        for i in 0..self.conns.clients.len() {
            if self.conns.clients[i].role.stuck {
                self.go_deaf(i);
            }
        }
        match self.cfg.mode {
            Mode::Rate(r) => {
                if let Some(ol) = self.traffic.open_loop.as_mut() {
                    ol.start(now, r);
                }
                self.measure.stats.record_sent_latency = true;
            }
            Mode::Max => {
                for &s in &self.plan.schedule {
                    self.conns.push_again(s as usize);
                }
            }
        }
        self.timeline.phase = Phase::Warmup;
        self.advance(now);
    }

    /// The hot path: one delivered test message.
    #[inline]
    pub(super) fn on_payload(&mut self, i: usize, text: &[u8], now: u64) {
        let stats = &mut self.measure.stats;
        let Some(p) = wire::parse_payload(text) else {
            stats.garbled += 1;
            return;
        };
        let c = &mut self.conns.clients[i];
        let g = c.role.group;
        if g == NONE {
            stats.misrouted += 1;
            return;
        }
        let senders = &self.plan.groups[g as usize].senders;
        let slot = p.slot as usize;
        if slot >= senders.len() || u64::from(senders[slot]) != p.sender || p.sender == i as u64 {
            stats.misrouted += 1;
            return;
        }
        match c.seq.observe(slot, p.seq) {
            Verdict::InOrder => {}
            Verdict::Gap(_) => stats.gap_events += 1,
            Verdict::Reordered => stats.reordered += 1,
            Verdict::Duplicate => {
                stats.duplicates += 1;
                return;
            }
        }
        stats.delivery(now, &p);
        let latency = now.saturating_sub(p.sched_ns);
        match (self.login_storm.as_mut(), self.abuse.as_mut()) {
            (Some(ls), _) => ls.bystanders.on_delivery(p.sched_ns, latency),
            (None, Some(ab)) => {
                ab.bystanders_latency.on_delivery(p.sched_ns, latency);
                ab.bystanders_steady.on_delivery(p.sched_ns, latency);
            }
            (None, None) => {}
        }
        let snd = &mut self.conns.clients[p.sender as usize];
        snd.acked += 1;
        if snd.window_full && self.window_open(p.sender as usize, 2) {
            // Half the window has drained: let the sender go on.
            self.conns.clients[p.sender as usize].window_full = false;
            self.conns.push_again(p.sender as usize);
        }
    }

    /// Whether `--max` sender `s` may send, keeping its in-flight count under
    /// window/`divisor` (the divisor gives hysteresis when reopening).
    #[inline]
    pub(super) fn window_open(&self, s: usize, divisor: u64) -> bool {
        let w = self.cfg.window;
        let c = &self.conns.clients[s];
        if w == 0 || c.receivers == 0 {
            return true;
        }
        // In flight per average receiver: sent - acked/receivers, kept in integers.
        c.sent * c.receivers < c.acked + w * c.receivers / divisor
    }

    /// Appends one message from sender `s`; `false` if it was not sent.
    #[inline]
    fn send_one(&mut self, s: usize, sched: u64, now: u64) -> bool {
        let c = &mut self.conns.clients[s];
        let stats = &mut self.measure.stats;
        if c.state != State::Ready {
            return false;
        }
        if c.pending() > BACKLOG_CAP {
            stats.backlog_skipped += 1;
            return false;
        }
        let p = wire::Payload {
            sender: s as u64,
            slot: u64::from(c.role.slot),
            seq: c.sent,
            sched_ns: sched,
            sent_ns: now,
        };
        let (prefix, text_len) = (&self.traffic.send_prefix[s], self.traffic.text_len);
        if c.role.irc {
            irc::write_message(&mut c.out, prefix, &p, text_len);
        } else {
            wire::write_message(&mut c.out, prefix, &p, text_len);
        }
        c.sent += 1;
        stats.sent += 1;
        if stats.in_window(sched) {
            c.sent_in_window += 1;
            stats.sent_window += 1;
        }
        if let Some(b) = self.board.as_mut() {
            b.on_sent(s, c.role.group as usize, sched, now);
        }
        true
    }

    /// Open loop: sends every message whose scheduled time has come, stamped with that
    /// time, however late the loop is (no coordinated omission), then arms the timer
    /// for the next one.
    pub(super) fn send_due(&mut self, now: u64) {
        let n = self.plan.schedule.len();
        let mut budget = SEND_BUDGET;
        if let Some(ol) = self.traffic.open_loop.as_mut() {
            ol.behind = false;
        }
        loop {
            let Some(ol) = self.traffic.open_loop.as_mut() else {
                return;
            };
            let due = ol.due();
            if due >= self.traffic.send_until {
                return;
            }
            if due > now {
                if let Err(e) = ol.arm(due, now) {
                    self.notes.add(format!("arming the send timer failed: {e}"));
                }
                return;
            }
            if budget == 0 {
                ol.behind = true;
                return;
            }
            if budget == SEND_BUDGET {
                // Sending is work, not waiting.
                self.measure.spin.end_stretch();
            }
            budget -= 1;
            let k = ol.take();
            let s = self.plan.schedule[(k % n as u64) as usize] as usize;
            if self.send_one(s, due, now) {
                if self.measure.stats.in_window(due) {
                    self.measure.stats.send_lag.saturating_record(now - due);
                }
                self.conns.touch(s);
            }
        }
    }

    /// Keeps a socket full: a closed-loop (`--max`) sender's while sending is on, and
    /// an attacker's that floods its own.
    pub(super) fn pump(&mut self, i: usize) {
        if self.conns.clients[i].role.attacker {
            self.keep_full(i, Driver::fill_attack);
        } else if self.traffic.sending && self.cfg.mode == Mode::Max {
            self.keep_full(i, Driver::max_batch);
        }
    }

    /// Writes client `i`'s pending output and, while its socket takes all of it, the
    /// batches `more` adds (`more` says `false` when it has none). After
    /// [`BATCHES_PER_TURN`] batches, its turn ends and it comes back after the others.
    fn keep_full(&mut self, i: usize, more: fn(&mut Driver, usize) -> bool) {
        for _ in 0..BATCHES_PER_TURN {
            if !self.flushed(i) || !more(self, i) || !self.flushed(i) {
                return;
            }
        }
        // Still writable after its turn: continue after the others had theirs.
        self.conns.push_again(i);
    }

    /// Writes client `i`'s pending output: `true` when all of it is out.
    fn flushed(&mut self, i: usize) -> bool {
        let c = &mut self.conns.clients[i];
        if c.state == State::Closed {
            return false;
        }
        match c.flush() {
            Ok(done) => done,
            Err(e) => {
                self.close(i, io_reason(&e));
                false
            }
        }
    }

    /// A closed-loop sender's next batch, as much as its `--window` allows; `false`
    /// when it may not send.
    fn max_batch(&mut self, i: usize) -> bool {
        let c = &self.conns.clients[i];
        if c.state != State::Ready || c.role.slot == NONE {
            return false;
        }
        if !self.window_open(i, 1) {
            // Wait for deliveries to come back (see on_payload).
            self.conns.clients[i].window_full = true;
            return false;
        }
        let per_batch = (MAX_BATCH / self.cfg.size).max(1);
        let now = now_ns();
        for _ in 0..per_batch {
            if !self.window_open(i, 1) {
                break;
            }
            self.send_one(i, now, now);
        }
        true
    }

    /// Everything sent has arrived: every message at every live reader, or (board)
    /// every answer and post notice.
    pub(super) fn all_arrived(&self) -> bool {
        if self.board.is_some() {
            self.all_answered()
        } else {
            self.all_delivered()
        }
    }

    /// Every live reader has received everything its senders sent.
    fn all_delivered(&self) -> bool {
        for (i, c) in self.conns.clients.iter().enumerate() {
            if c.state == State::Closed || c.role.stuck || c.role.group == NONE {
                continue;
            }
            let g = &self.plan.groups[c.role.group as usize];
            for (slot, &s) in g.senders.iter().enumerate() {
                if s as usize != i && c.seq.next(slot) < self.conns.clients[s as usize].sent {
                    return false;
                }
            }
        }
        true
    }
}
