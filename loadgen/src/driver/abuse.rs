//! The abuse scenario's side of the loop. When the baseline is over the attack begins:
//! the attackers connect from their own source addresses (at most `--concurrency` not
//! yet greeted) and do what their attack does, while the bystanders go on chatting in
//! lobby: fill their sockets with posts, rooms, newlines or list commands; plant posts
//! for the victim to list; stop reading; ping now and then; say nothing; send half a
//! line; or send chat lines on a schedule. After `--attack-duration` they stop, and the
//! bystanders' drain follows. Their findings go to [`AbuseRun`](crate::abuse::AbuseRun).

use std::net::Ipv4Addr;

use crate::abuse::{Attack, POST_HEAD};
use crate::args::AbuseConfig;
use crate::clock::ns;
use crate::conn::State;
use crate::error::Error;
use crate::wire::{self, ServerLine};
use crate::witness::{Witness, WitnessPlan, WitnessReport};

use super::open_loop::{OpenLoop, ATTACK_TIMER};
use super::phases::Phase;
use super::traffic::MAX_BATCH;
use super::Driver;

/// How often the server's memory is read during the attack.
const RSS_EVERY_NS: u64 = 100_000_000;
/// Unsent output a paced sender may hold before its lines are skipped (and counted):
/// the server's flood control stops reading a flooder, and the loadgen must not then
/// hold the whole schedule in memory.
const PACED_BACKLOG: usize = 1 << 20;

/// What the loop needs to run the attack, beside its findings: the schedule of paced
/// lines and the line the attackers repeat.
pub struct Attacking {
    /// The attack's settings.
    cfg: AbuseConfig,
    /// The schedule of paced lines (flood, the non-readers' chatter) and its timer.
    pub pacer: Option<OpenLoop>,
    /// The paced lines have begun.
    paced: bool,
    /// What the attack writes over and over (one line or a few; for partial, the
    /// unfinished line), built once.
    line: Vec<u8>,
    /// Complete lines in `line`.
    line_lines: u64,
    /// `line` repeated to at least [`MAX_BATCH`] bytes: what a socket-filling attacker
    /// appends at once.
    block: Vec<u8>,
    /// Complete lines in `block`.
    block_lines: u64,
    /// The witness's thread, from the end of setup to the end of the run.
    witness: Option<Witness>,
    /// When the next round of pings is due (ping-keepers).
    next_ping_at: u64,
    /// When the server's memory is read next.
    next_rss_at: u64,
}

impl Attacking {
    /// Prepares `cfg`'s attack; a paced attack gets its timer registered with `poll`.
    pub fn new(cfg: &AbuseConfig, registry: &mio::Registry) -> Result<Attacking, Error> {
        let pacer = if cfg.attack.paced() {
            Some(OpenLoop::new(registry, ATTACK_TIMER)?)
        } else {
            None
        };
        let line = attack_line(cfg.attack, cfg.line_bytes.unwrap_or(0));
        let line_lines = memchr::memchr_iter(b'\n', &line).count() as u64;
        let copies = MAX_BATCH.div_ceil(line.len().max(1));
        Ok(Attacking {
            block: line.repeat(copies),
            block_lines: line_lines * copies as u64,
            line_lines,
            line,
            cfg: cfg.clone(),
            pacer,
            paced: false,
            witness: None,
            next_ping_at: u64::MAX,
            next_rss_at: u64::MAX,
        })
    }

    /// The earliest time the loop must wake for the attack (the pacer has a timer of
    /// its own).
    pub fn next_wake(&self) -> u64 {
        self.next_ping_at.min(self.next_rss_at)
    }
}

/// What attack `attack` repeats, with lines of `bytes` where it has them.
fn attack_line(attack: Attack, bytes: usize) -> Vec<u8> {
    let filled = |head: &str, fill: u8, total: usize, tail: &str| {
        let mut v = head.as_bytes().to_vec();
        v.resize(total.saturating_sub(tail.len()).max(v.len() + 1), fill);
        v.extend_from_slice(tail.as_bytes());
        v
    };
    match attack {
        Attack::Posts => filled(POST_HEAD, b'p', bytes, "\n"),
        // The subject is one long word; the body one letter.
        Attack::BigList => {
            let mut v = filled("/post lobby ", b's', 12 + bytes, "");
            v.extend_from_slice(b" b\n");
            v
        }
        Attack::Newlines => b"\n".to_vec(),
        Attack::NonReaders => filled("", b'c', bytes, "\n"),
        Attack::Flood => filled("", b'f', bytes, "\n"),
        Attack::PingKeepers => b"/ping x\n".to_vec(),
        Attack::Partial => vec![b'p'; bytes],
        Attack::Pipelined => b"/list lobby\n/users *\n".to_vec(),
        // Each round names a new room: written as it goes.
        Attack::Rooms | Attack::Silent => Vec::new(),
    }
}

impl Driver {
    /// The baseline window is over: the attack begins. The CPU readings of the
    /// baseline are kept aside; the run's own readings cover the attack.
    pub(super) fn begin_attack(&mut self, now: u64) {
        self.measure.usage_end(now);
        let baseline = self.measure.usage;
        let rss = self.measure.server_rss_now();
        let (Some(ab), Some(at)) = (self.abuse.as_mut(), self.attacking.as_mut()) else {
            return;
        };
        ab.baseline_usage = baseline;
        ab.begin(now, rss, ns(at.cfg.duration));
        at.next_rss_at = now + RSS_EVERY_NS;
        if ab.attack == Attack::PingKeepers {
            at.next_ping_at = now + ns(at.cfg.ping_interval);
        }
        self.measure.usage_start(now);
        self.timeline.phase = Phase::Attack;
        self.start_attackers(now);
    }

    /// Connects attackers (and a dropped helper again) until `--concurrency` are not
    /// greeted yet.
    pub(super) fn start_attackers(&mut self, now: u64) {
        let helper = self.abuse.as_mut().and_then(|ab| {
            let down = ab.active && std::mem::take(&mut ab.helper_down);
            ab.helper.filter(|_| down)
        });
        if let Some(h) = helper {
            self.conns.clients[h].reopen();
            self.connect_client(h, now);
        }
        // Bounded, so that connects failing at once cannot keep the loop here.
        for _ in 0..self.cfg.concurrency {
            let Some(ab) = self.abuse.as_mut() else {
                return;
            };
            let Some((i, _)) = ab.next_to_connect(self.cfg.concurrency) else {
                return;
            };
            let c = &mut self.conns.clients[i];
            if c.state == State::Closed {
                c.reopen();
            } else {
                // Attackers are not part of setup.
                c.settled = true;
            }
            self.connect_client(i, now);
            if ab_attack(self) == Some(Attack::Partial)
                && self.conns.clients[i].state == State::Connecting
            {
                // The unfinished line leaves as soon as the connection is up.
                self.queue_attack_line(i);
            }
        }
    }

    /// The source address of attacker `i` (`None` for any other client).
    pub(super) fn attacker_source(&self, i: usize) -> Option<Ipv4Addr> {
        let at = self.attacking.as_ref()?;
        let first = self.abuse.as_ref()?.first;
        let k = i.checked_sub(first)?;
        let sources = &at.cfg.sources;
        (!sources.is_empty()).then(|| sources[k % sources.len()])
    }

    /// Whether attacker `i` stops reading once named (its socket gets a small receive
    /// buffer, so that it backs the server up soon).
    pub(super) fn deaf_attacker(&self, i: usize) -> bool {
        self.plan.roles[i].attacker && ab_attack(self).is_some_and(Attack::deaf)
    }

    /// Handles a line the server sent to client `i` in the abuse scenario, if the
    /// attack has something to do with it: every line of an attacker, the helper's
    /// listings and the chat it does not check, and the lines from the attack that
    /// reach a bystander. `false` leaves the line to the usual handling (the helper's
    /// and the bystanders' setup, an attacker's `PING` and `BYE`).
    pub(super) fn on_abuse_line(&mut self, i: usize, line: &ServerLine<'_>, now: u64) -> bool {
        let prefix = &self.setup.name_prefix;
        let Some(ab) = self.abuse.as_mut() else {
            return false;
        };
        if ab.helper == Some(i) {
            return self.on_helper_line(line, now);
        }
        if !ab.is_attacker(i) {
            if let ServerLine::Msg { from, .. } | ServerLine::Priv { from, .. } = line {
                if witness_name(prefix, from) {
                    return true;
                }
                let bystander = wire::name_id(prefix, from)
                    .is_some_and(|k| usize::try_from(k).is_ok_and(|k| ab.is_bystander(k)));
                if !bystander {
                    ab.c.foreign_lines += 1;
                    return true;
                }
            }
            return false;
        }
        ab.c.lines_received += 1;
        match *line {
            ServerLine::Hello => self.on_attacker_greeted(i, false),
            ServerLine::Queued { .. } => self.on_attacker_greeted(i, true),
            ServerLine::Join { room, name } => {
                let me = wire::name_id(prefix, name) == Some(i as u64);
                if me && room == b"lobby" && self.conns.clients[i].state == State::Naming {
                    self.on_attacker_named(i);
                }
            }
            // Those that send nothing of their own answer nothing either.
            ServerLine::Ping { .. } => return ab.attack.names(),
            ServerLine::Err { code } => ab.on_err(i, code),
            ServerLine::Bye { reason } => {
                ab.on_bye(reason);
                return false;
            }
            ServerLine::Posted { .. } => {
                ab.c.posted += 1;
                if ab.planting(i) {
                    self.queue_attack_line(i);
                    self.flush(i);
                }
            }
            _ => {}
        }
        true
    }

    /// A line to the helper: the victim's listings are timed; chat is not checked.
    fn on_helper_line(&mut self, line: &ServerLine<'_>, now: u64) -> bool {
        let Some(ab) = self.abuse.as_mut() else {
            return false;
        };
        let complete = match *line {
            ServerLine::Msg { .. } | ServerLine::Priv { .. } => return true,
            ServerLine::List { room, count } if room == b"lobby" => ab.on_list(count, now),
            ServerLine::Post { room, .. } if room == b"lobby" => ab.on_list_post(now),
            _ => return false,
        };
        if complete {
            self.victim_step(now);
        }
        true
    }

    /// `HELLO` (or a first `QUEUED`) to attacker `i`: one that names itself does; the
    /// others are now where their attack wants them.
    fn on_attacker_greeted(&mut self, i: usize, queued: bool) {
        let names = ab_attack(self).is_some_and(Attack::names);
        let c = &mut self.conns.clients[i];
        match (c.state, queued) {
            (State::AwaitHello, _) | (State::Queued, false) => {}
            _ => return,
        }
        let Some(ab) = self.abuse.as_mut() else {
            return;
        };
        ab.on_greeted(i, queued);
        if queued {
            c.state = State::Queued;
            return;
        }
        if names {
            c.out.extend_from_slice(b"/name ");
            c.out.extend_from_slice(&self.setup.name_prefix);
            c.out.extend_from_slice(i.to_string().as_bytes());
            c.out.push(b'\n');
            c.state = State::Naming;
            ab.on_naming(i);
            self.flush(i);
        } else {
            c.state = State::Ready;
            self.conns.ready_now += 1;
            self.pump(i);
        }
    }

    /// Attacker `i` is named and in lobby: it starts its attack.
    fn on_attacker_named(&mut self, i: usize) {
        let Some(ab) = self.abuse.as_mut() else {
            return;
        };
        ab.on_named(i);
        let attack = ab.attack;
        let c = &mut self.conns.clients[i];
        c.state = State::Ready;
        self.conns.ready_now += 1;
        if attack.deaf() {
            self.go_deaf(i);
        } else if attack == Attack::BigList {
            self.queue_attack_line(i);
            self.flush(i);
        } else {
            self.pump(i);
        }
    }

    /// Appends the attack's line to client `i`'s output, counted as sent.
    fn queue_attack_line(&mut self, i: usize) {
        let (Some(ab), Some(at)) = (self.abuse.as_mut(), self.attacking.as_ref()) else {
            return;
        };
        self.conns.clients[i].out.extend_from_slice(&at.line);
        ab.on_sent(at.line_lines, at.line.len() as u64);
    }

    /// The next batch of an attacker that keeps its socket full (posts, rooms,
    /// newlines, pipelined): about [`MAX_BATCH`] bytes of its lines. `false` when it
    /// has nothing to send now (not its turn yet, or the attack is over).
    pub(super) fn fill_attack(&mut self, i: usize) -> bool {
        let (Some(ab), Some(at)) = (self.abuse.as_mut(), self.attacking.as_ref()) else {
            return false;
        };
        let c = &mut self.conns.clients[i];
        let ready = match ab.attack {
            Attack::Posts | Attack::Rooms | Attack::Pipelined => c.state == State::Ready,
            // Newlines go out from the start, greeted or not.
            Attack::Newlines => !matches!(c.state, State::Closed | State::Connecting),
            _ => false,
        };
        if !ab.active || !ready {
            return false;
        }
        if ab.attack != Attack::Rooms {
            c.out.extend_from_slice(&at.block);
            ab.on_sent(at.block_lines, at.block.len() as u64);
            return true;
        }
        // Each round makes a room of its own, whose name is written as it goes.
        let before = c.out.len();
        let mut lines = 0;
        while c.out.len() - before < MAX_BATCH {
            let n = ab.next_room(i);
            let room = format!("{}{}r{}", self.cfg.prefix, i, n);
            let head = format!("/post {room} spam ");
            let body = at
                .cfg
                .line_bytes
                .unwrap_or(0)
                .saturating_sub(head.len() + 1);
            c.out
                .extend_from_slice(format!("/create {room}\n{head}").as_bytes());
            c.out.resize(c.out.len() + body.max(1), b'b');
            c.out
                .extend_from_slice(format!("\n/leave {room}\n").as_bytes());
            lines += 3;
        }
        ab.on_sent(lines, (c.out.len() - before) as u64);
        true
    }

    /// The victim sends its next `/list lobby` when the attack proper is on and its
    /// last listing is complete.
    fn victim_step(&mut self, now: u64) {
        let Some(ab) = self.abuse.as_mut() else {
            return;
        };
        let Some(v) = ab.helper.filter(|_| ab.attack == Attack::BigList) else {
            return;
        };
        if !ab.victim_idle() || self.conns.clients[v].state != State::Ready {
            return;
        }
        ab.on_list_sent(now);
        self.conns.clients[v]
            .out
            .extend_from_slice(b"/list lobby\n");
        self.flush(v);
    }

    /// Sends the paced lines now due (flood, the non-readers' chatter), each to its
    /// sender's output unless that is backed up, then arms the timer for the next.
    pub(super) fn send_attack_due(&mut self, now: u64) {
        let (Some(ab), Some(at)) = (self.abuse.as_mut(), self.attacking.as_mut()) else {
            return;
        };
        let on = at.paced && ab.active;
        let Some(ol) = at.pacer.as_mut().filter(|_| on) else {
            return;
        };
        loop {
            let due = ol.due();
            if due > now {
                if let Err(e) = ol.arm(due, now) {
                    self.notes
                        .add(format!("arming the attack timer failed: {e}"));
                }
                break;
            }
            let k = ol.take();
            let Some(s) = ab.paced_sender(k) else {
                break;
            };
            let c = &mut self.conns.clients[s];
            if c.state != State::Ready || c.pending() > PACED_BACKLOG {
                ab.c.not_taken += 1;
                continue;
            }
            c.out.extend_from_slice(&at.line);
            if Some(s) == ab.helper {
                ab.c.chatter_lines += 1;
            } else {
                ab.on_sent(at.line_lines, at.line.len() as u64);
            }
            self.conns.touch(s);
        }
        self.flush_touched();
    }

    /// The attack's step on each turn of the loop: reads the server's memory, starts
    /// the attack proper after the prelude and the paced lines once every attacker is
    /// set up, sends the pings and the victim's listings that are due, and ends the
    /// attack after `--attack-duration`.
    pub(super) fn advance_attack(&mut self, now: u64) {
        let rss_due = self
            .attacking
            .as_ref()
            .is_some_and(|at| now >= at.next_rss_at);
        let rss = if rss_due {
            self.measure.server_rss_now()
        } else {
            None
        };
        let timeout = ns(self.cfg.timeout);
        let (Some(ab), Some(at)) = (self.abuse.as_mut(), self.attacking.as_mut()) else {
            return;
        };
        if rss_due {
            ab.rss.sample(rss);
            at.next_rss_at = now + RSS_EVERY_NS;
        }
        if !ab.window_started() {
            let done = ab.prelude_done();
            if done || now >= ab.begun_at + timeout {
                if !done {
                    self.notes.add(format!(
                        "the attack's prelude (planting posts) did not finish within {:?} (--timeout); the attack went on from there",
                        self.cfg.timeout
                    ));
                }
                ab.start_window(now, ns(at.cfg.duration));
            }
        }
        if let Some(ol) = at.pacer.as_mut() {
            if !at.paced && ab.armed() {
                at.paced = true;
                ol.start(now, at.cfg.rate);
            }
        }
        if now >= at.next_ping_at {
            at.next_ping_at = now + ns(at.cfg.ping_interval);
            self.ping_round();
        }
        self.victim_step(now);
        if let Some(ab) = self.abuse.as_mut() {
            ab.note_in_place(now);
        }
        if self.abuse.as_ref().is_some_and(|ab| now >= ab.window_end) {
            self.end_attack(now);
        }
    }

    /// Every named ping-keeper sends `/ping x`.
    fn ping_round(&mut self) {
        let Some(first) = self
            .abuse
            .as_ref()
            .filter(|ab| ab.active)
            .map(|ab| ab.first)
        else {
            return;
        };
        for i in first..self.conns.clients.len() {
            if self.conns.clients[i].state == State::Ready {
                self.queue_attack_line(i);
                self.flush(i);
            }
        }
    }

    /// The attack is over: the attackers stop (they stay connected), the server's
    /// memory is read, and the bystanders' drain begins.
    fn end_attack(&mut self, now: u64) {
        let rss = self.measure.server_rss_now();
        if let Some(ab) = self.abuse.as_mut() {
            ab.end(now, rss);
        }
        if let Some(at) = self.attacking.as_mut() {
            at.next_ping_at = u64::MAX;
            at.next_rss_at = u64::MAX;
        }
        self.measure.usage_end(now);
        self.start_drain(now);
    }

    /// Setup is over: the witness starts, unless `--witness-rate 0`.
    pub(super) fn start_witness(&mut self) {
        let Some(at) = self.attacking.as_mut() else {
            return;
        };
        if at.cfg.witness_rate == 0.0 {
            return;
        }
        let plan = WitnessPlan {
            addr: at.cfg.witness_addr.unwrap_or(self.cfg.addr),
            source: self.cfg.sources.first().copied(),
            tls: self.conns.tls.clone(),
            prefix: self.cfg.prefix.clone(),
            rate: at.cfg.witness_rate,
            size: self.cfg.size - 1,
        };
        match Witness::start(plan) {
            Ok(w) => at.witness = Some(w),
            // Reported, and failing the run, as a witness that failed later would.
            Err(e) => {
                if let Some(ab) = self.abuse.as_mut() {
                    ab.witness = Some(WitnessReport {
                        error: Some(format!("the witness's thread did not start: {e}")),
                        ..WitnessReport::default()
                    });
                }
            }
        }
    }

    /// At the end of the run, the attackers still connected are counted, and what
    /// they never wrote is taken back from what they sent; the witness stops and
    /// hands over its findings.
    pub(super) fn finish_attack(&mut self) {
        let Some(ab) = self.abuse.as_mut() else {
            return;
        };
        if let Some(w) = self.attacking.as_mut().and_then(|at| at.witness.take()) {
            ab.witness = Some(w.finish());
        }
        for c in &self.conns.clients[ab.first..] {
            if c.state != State::Closed && c.state != State::NotStarted {
                ab.on_open_at_end(c.unsent_lines(), c.pending() as u64);
            }
        }
    }
}

/// Whether `name` is one of the witness's clients (`<prefix>w0`, `<prefix>w1`).
fn witness_name(prefix: &[u8], name: &[u8]) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(b"w"))
        .is_some_and(|n| wire::parse_u64(n).is_some())
}

/// The attack of the run, if it is an abuse run.
fn ab_attack(d: &Driver) -> Option<Attack> {
    d.abuse.as_ref().map(|ab| ab.attack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_lines_have_the_asked_sizes() {
        let posts = attack_line(Attack::Posts, 4000);
        assert_eq!(posts.len(), 4000);
        assert!(posts.starts_with(POST_HEAD.as_bytes()) && posts.ends_with(b"p\n"));
        let plant = attack_line(Attack::BigList, 1500);
        assert_eq!(plant.len(), "/post lobby ".len() + 1500 + " b\n".len());
        assert_eq!(attack_line(Attack::NonReaders, 10), b"ccccccccc\n");
        assert_eq!(attack_line(Attack::Partial, 5), b"ppppp");
        assert_eq!(attack_line(Attack::Flood, 2), b"f\n");
        assert!(attack_line(Attack::Silent, 0).is_empty());
    }

    #[test]
    fn the_witness_is_told_apart_from_bystanders_and_strangers() {
        assert!(witness_name(b"lg7_", b"lg7_w0"));
        assert!(witness_name(b"lg7_", b"lg7_w1"));
        assert!(!witness_name(b"lg7_", b"lg7_3"));
        assert!(!witness_name(b"lg7_", b"lg7_w"));
        assert!(!witness_name(b"lg7_", b"lg8_w0"));
        assert!(!witness_name(b"lg7_", b"lg7_witness"));
    }
}
