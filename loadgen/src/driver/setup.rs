//! Setting clients up: connecting at most `--concurrency` at a time, naming, and
//! joining each group's room once its first member has created it; in the login storm,
//! also registering the accounts, a few at a time. IRC clients go the same way in their
//! own words (see [`super::irc`]).

use mio::{Interest, Token};

use crate::args::{Config, Kind};
use crate::conn::{self, Reason, State};
use crate::irc;
use crate::scenario::{self, Meet, Plan, NONE};
use crate::transport::Transport;
use crate::wire;

use super::outcome::SetupTimes;
use super::Driver;

/// Receive buffer of clients that never read (slow scenario): small, so that they
/// back the server up soon.
const STUCK_RCVBUF: usize = 16 * 1024;
/// Send buffer of attackers' sockets.
const ATTACKER_SNDBUF: usize = 64 * 1024;

/// How far setup has come.
pub struct Setup {
    /// When setup gives up (process-clock ns).
    pub deadline: u64,
    /// Clients set up: all but an abuse run's attackers, which come last and connect
    /// only when the attack begins.
    pub clients: usize,
    /// Index of the next client to connect.
    pub next_connect: usize,
    /// Clients connecting, naming or joining now.
    pub inflight: usize,
    /// Clients done with setup (ready, queued or failed).
    pub settled: usize,
    /// When setup began and ended.
    pub times: SetupTimes,
    /// The name prefix, as bytes: every user and room name of the run starts with it.
    pub name_prefix: Vec<u8>,
    /// Clients in setup at once while the next to start is an account (login storm):
    /// twice `--hash-workers`, so each worker has one registration running and one
    /// waiting. Registering is slow by design; with more at once they would only wait
    /// in the server's hashing queue, and a long wait there ends in its login timeout.
    register_concurrency: usize,
    /// Per group: its room exists.
    room_created: Vec<bool>,
    /// Per group: members named before the room existed, waiting to join it.
    room_waiting: Vec<Vec<u32>>,
}

impl Setup {
    /// Nothing set up yet, for the cast of `plan`.
    pub fn new(cfg: &Config, plan: &Plan) -> Setup {
        let groups = plan.groups.len();
        Setup {
            deadline: 0,
            clients: plan.first_attacker(),
            next_connect: 0,
            inflight: 0,
            settled: 0,
            times: SetupTimes::default(),
            name_prefix: cfg.prefix.as_bytes().to_vec(),
            register_concurrency: cfg.concurrency.min(cfg.hash_workers.saturating_mul(2)),
            room_created: vec![false; groups],
            room_waiting: vec![Vec::new(); groups],
        }
    }
}

impl Driver {
    /// Starts connecting clients until `--concurrency` are in setup (fewer while
    /// accounts register).
    pub(super) fn start_connects(&mut self, now: u64) {
        let n = self.setup.clients;
        while self.setup.next_connect < n {
            let i = self.setup.next_connect;
            let cap = if self.plan.roles[i].account {
                self.setup.register_concurrency
            } else {
                self.cfg.concurrency
            };
            if self.setup.inflight >= cap {
                break;
            }
            self.setup.next_connect += 1;
            if self.setup.times.first_start == 0 {
                self.setup.times.first_start = now;
            }
            self.setup.inflight += 1;
            self.connect_client(i, now);
        }
    }

    /// Opens client `i`'s connection: a non-blocking connect from the next source
    /// address (an attacker: the next attacker source), registered with the poll. On
    /// failure the client is closed (and the failure noted).
    pub(super) fn connect_client(&mut self, i: usize, now: u64) {
        let src = if self.plan.roles[i].attacker {
            self.attacker_source(i)
        } else {
            match self.cfg.sources.len() {
                0 => None,
                k => Some(self.cfg.sources[i % k]),
            }
        };
        // A non-reading client gets a small buffer so it backs the server up soon.
        let rcvbuf = if self.conns.clients[i].role.stuck || self.deaf_attacker(i) {
            STUCK_RCVBUF
        } else {
            self.cfg.rcvbuf
        };
        self.conns.clients[i].times.start = now;
        // An attacker that fills its socket gets a small send buffer: otherwise the
        // kernel's autotuning takes megabytes from each, and the loadgen's own loop
        // spends itself copying them while the bystanders' latency is measured.
        let sndbuf = if self.plan.roles[i].attacker {
            ATTACKER_SNDBUF
        } else {
            0
        };
        // The session first: its ClientHello is ready to go once the socket connects.
        let session = match self.conns.tls.as_ref().map(|t| t.session()).transpose() {
            Ok(s) => s,
            Err(e) => {
                self.notes
                    .add(format!("starting a TLS session failed: {e}"));
                self.close(i, Reason::ConnectFailed);
                return;
            }
        };
        let addr = if self.plan.roles[i].irc {
            self.cfg.irc_addr
        } else {
            self.cfg.addr
        };
        let mut stream = match conn::connect(addr, src, rcvbuf, sndbuf) {
            Ok(s) => s,
            Err(e) => {
                self.notes.add(format!("connect failed: {e}"));
                self.close(i, Reason::ConnectFailed);
                return;
            }
        };
        if let Err(e) = self.conns.poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.notes.add(format!("registering a socket failed: {e}"));
            self.close(i, Reason::ConnectFailed);
            return;
        }
        let c = &mut self.conns.clients[i];
        c.stream = Some(match session {
            Some(session) => Transport::tls(stream, session),
            None => Transport::Plain(stream),
        });
        c.state = State::Connecting;
        self.conns.open += 1;
    }

    /// Client `i`'s TLS handshake completed at `at`: timed (unless it connected after
    /// setup), and the output that waited for it goes out, as an attacker that keeps
    /// its socket full resumes. No writable edge would say so: the socket was writable
    /// all along.
    pub(super) fn on_opened(&mut self, i: usize, at: u64) {
        let late = self.late(i);
        let c = &mut self.conns.clients[i];
        c.times.handshake = at;
        if !late {
            let took = at.saturating_sub(c.times.start);
            self.measure.stats.handshake.saturating_record(took);
        }
        self.flush(i);
        self.pump(i);
    }

    /// Marks a client as done with setup (ready, queued or failed) exactly once.
    pub(super) fn settle(&mut self, i: usize) {
        let c = &mut self.conns.clients[i];
        if !c.settled {
            c.settled = true;
            self.setup.settled += 1;
            self.setup.inflight -= 1;
        }
    }

    /// `HELLO`: the server admitted client `i` (at once, or from its queue); it names
    /// itself (an account registers, or logs in).
    pub(super) fn on_hello(&mut self, i: usize, now: u64) {
        if !self.admit(i, now) {
            return;
        }
        if self.plan.roles[i].account {
            self.on_account_hello(i, now);
            return;
        }
        self.admitted(i, now);
        let c = &mut self.conns.clients[i];
        c.state = State::Naming;
        c.out.extend_from_slice(b"/name ");
        c.out.extend_from_slice(&self.setup.name_prefix);
        c.out.extend_from_slice(i.to_string().as_bytes());
        c.out.push(b'\n');
        self.flush(i);
    }

    /// Whether client `i` was waiting to be admitted (at once, or from the queue, whose
    /// wait is then counted): a greeting in any other state is ignored.
    pub(super) fn admit(&mut self, i: usize, now: u64) -> bool {
        let c = &mut self.conns.clients[i];
        match c.state {
            State::AwaitHello => true,
            State::Queued => {
                let waited = now.saturating_sub(c.times.queued);
                self.measure.stats.queue_wait.saturating_record(waited);
                if let Some(q) = self.queue.as_mut() {
                    q.on_admitted(i as u32, now);
                }
                true
            }
            _ => false,
        }
    }

    /// Client `i` was admitted at `now`: timed from its connect.
    pub(super) fn admitted(&mut self, i: usize, now: u64) {
        let c = &mut self.conns.clients[i];
        c.times.hello = now;
        let took = now.saturating_sub(c.times.start);
        self.measure.stats.admission.saturating_record(took);
    }

    /// `QUEUED <pos>`: client `i` waits for a slot (first position, or an update).
    pub(super) fn on_queued(&mut self, i: usize, pos: u64, now: u64) {
        let c = &mut self.conns.clients[i];
        match c.state {
            State::AwaitHello => {
                if self.cfg.kind != Kind::Queue {
                    self.notes.add(
                        "the server queued clients: it is full (raise its --max-clients)".into(),
                    );
                    self.close(i, Reason::Queued);
                    return;
                }
                c.queue_pos = pos;
                c.last_pos = pos;
                c.last_queued_at = now;
                c.times.queued = now;
                c.state = State::Queued;
                self.settle(i);
            }
            State::Queued => {
                let (prev_pos, prev_at) = (c.last_pos, c.last_queued_at);
                c.last_pos = pos;
                c.last_queued_at = now;
                if let Some(q) = self.queue.as_mut() {
                    q.on_update(prev_pos, prev_at, pos, now);
                }
            }
            _ => {}
        }
    }

    /// The name of group `g`'s room.
    fn room_name(&self, g: usize) -> String {
        scenario::room_name(&self.cfg.prefix, g)
    }

    /// `JOIN <room> <me>`: client `i` landed in lobby (named) or in its group's room.
    pub(super) fn on_self_join(&mut self, i: usize, room: &[u8], now: u64) {
        let c = &self.conns.clients[i];
        let g = c.role.group;
        if room == b"lobby" {
            if c.state == State::Registering {
                // Named by its /register; it is set up once the account is committed.
                self.named(i, now);
                return;
            }
            if c.state == State::Naming {
                self.on_named(i, now);
            }
        } else if g != NONE
            && c.state == State::Joining
            && self.plan.groups[g as usize].members[0] as usize == i
            && wire::room_id(&self.setup.name_prefix, room) == Some(u64::from(g))
        {
            self.room_exists(g as usize);
        }
    }

    /// Client `i` was named at `now`: timed from its connect.
    pub(super) fn named(&mut self, i: usize, now: u64) {
        let c = &mut self.conns.clients[i];
        c.times.named = now;
        let took = now.saturating_sub(c.times.start);
        self.measure.stats.named.saturating_record(took);
    }

    /// Client `i` has its name: it is set up, or goes on to its group's room (to wait
    /// for it, unless it creates it or it exists). Over IRC, where there is no lobby
    /// to land in, a client without a room of its own joins `#lobby`.
    pub(super) fn on_named(&mut self, i: usize, now: u64) {
        self.named(i, now);
        let g = self.conns.clients[i].role.group;
        if g == NONE || self.plan.groups[g as usize].meet != Meet::Room {
            if self.plan.roles[i].irc {
                self.irc_join(i, irc::LOBBY);
            } else {
                self.make_ready(i, now);
            }
            return;
        }
        let g = g as usize;
        let creator = self.plan.groups[g].members[0] as usize == i;
        if creator || self.setup.room_created[g] {
            self.send_join(i, g, creator);
        } else {
            self.conns.clients[i].state = State::WaitRoom;
            self.setup.room_waiting[g].push(i as u32);
        }
    }

    /// Group `g`'s room exists now (its creator is in it): the members who waited for
    /// it join.
    pub(super) fn room_exists(&mut self, g: usize) {
        self.setup.room_created[g] = true;
        for w in std::mem::take(&mut self.setup.room_waiting[g]) {
            if self.conns.clients[w as usize].state == State::WaitRoom {
                self.send_join(w as usize, g, false);
            }
        }
    }

    /// Joins (or creates) the group's room and leaves lobby, so that the client's plain
    /// lines go to the room and lobby chatter of other clients does not reach it. An
    /// IRC client joins the room's channel, which exists once its creator is in it.
    fn send_join(&mut self, i: usize, g: usize, create: bool) {
        let room = self.room_name(g);
        if self.plan.roles[i].irc {
            self.irc_join(i, irc::channel(&room).as_bytes());
            return;
        }
        let c = &mut self.conns.clients[i];
        c.out
            .extend_from_slice(if create { b"/create " } else { b"/join " });
        c.out.extend_from_slice(room.as_bytes());
        c.out.extend_from_slice(b"\n/leave lobby\n");
        c.state = State::Joining;
        self.flush(i);
    }

    /// Client `i` is fully set up and takes part from now on.
    pub(super) fn make_ready(&mut self, i: usize, now: u64) {
        let c = &mut self.conns.clients[i];
        c.state = State::Ready;
        c.times.ready = now;
        let took = now.saturating_sub(c.times.start);
        self.measure.stats.ready.saturating_record(took);
        self.conns.ready_now += 1;
        self.setup.times.last_ready_at = now;
        self.settle(i);
        if let Some(q) = self.queue.as_mut() {
            if q.begun {
                q.pool.push(i as u32);
            }
        }
    }
}
