//! Bookkeeping of the abuse scenario: the attacks, what each attacker's connections
//! went through (opened, admitted, refused, dropped, by reason), what the attackers
//! sent and got back (lines, bytes, `ERR` codes, `BYE` reasons), the big-list victim's
//! listings, the server's memory through the attack, and the bystanders' latency while
//! it lasts. Pure logic; the driver feeds it what it sends and reads.
//!
//! The attack *begins* when the baseline is over: the attackers connect (at most
//! `--concurrency` not yet greeted), and from then on the bystanders' messages count as
//! sent under attack. Only big-list has a prelude that is not the attack itself: its
//! planters fill lobby's board first, and the attack proper (the victim's listings)
//! begins when they are done. The attack then lasts `--attack-duration`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::args::Config;
use crate::conn::Reason;
use crate::driver::outcome::Usage;
use crate::scenario::Plan;
use crate::stats::{new_hist, Disturbed};
use crate::witness::WitnessReport;

/// The attacks, each from the table of abuse the server must withstand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Attack {
    /// Attackers post --line-bytes posts to lobby's board in a loop, pipelined.
    Posts,
    /// Attackers repeat `/create`, `/post`, `/leave` of a new room as fast as they can.
    Rooms,
    /// Attackers plant posts with long subjects in lobby, as many as the server
    /// allows; then a victim lists lobby's board again and again, reading normally.
    BigList,
    /// Connections that write nothing but newlines, as fast as the socket takes them.
    Newlines,
    /// Members of lobby that never read, while a chatter sends 10-byte lines there.
    NonReaders,
    /// Members of lobby that never read, but send `/ping x` every --ping-interval.
    PingKeepers,
    /// Connections that never send anything, and reconnect as soon as they are closed.
    Silent,
    /// Connections that send an unfinished line of --line-bytes, then nothing.
    Partial,
    /// Attackers pipeline `/list lobby` and `/users *` as fast as they can, reading
    /// everything.
    Pipelined,
    /// Attackers send chat lines to lobby at --attack-rate in total, reading
    /// everything.
    Flood,
}

/// A client an attack needs besides its attackers: it connects with the bystanders,
/// from their address, and is set up with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// Lists lobby's board over and over (big-list).
    Victim,
    /// Sends short lines to lobby at --attack-rate, which the non-readers do not read.
    Chatter,
}

impl Attack {
    /// The name `--attack` takes.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Posts => "posts",
            Attack::Rooms => "rooms",
            Attack::BigList => "big-list",
            Attack::Newlines => "newlines",
            Attack::NonReaders => "non-readers",
            Attack::PingKeepers => "ping-keepers",
            Attack::Silent => "silent",
            Attack::Partial => "partial",
            Attack::Pipelined => "pipelined",
            Attack::Flood => "flood",
        }
    }

    /// Attacking connections when `--attackers` is not given: one abuser for the
    /// attacks one user can make, a crowd for those that need many connections (the
    /// big list: enough addresses, at the server's default --post-rate of 30, to fill a
    /// board that keeps 1000 posts).
    pub fn default_attackers(self) -> usize {
        match self {
            Attack::Posts | Attack::Rooms | Attack::Pipelined | Attack::Flood => 1,
            Attack::BigList => 40,
            Attack::Newlines | Attack::PingKeepers => 1000,
            Attack::NonReaders => 2000,
            Attack::Silent => 1100,
            Attack::Partial => 5000,
        }
    }

    /// `--line-bytes` when not given; `None` for attacks without lines of a size.
    pub fn default_line_bytes(self) -> Option<usize> {
        match self {
            Attack::Posts | Attack::Partial => Some(4000),
            Attack::Rooms | Attack::Flood => Some(100),
            Attack::BigList => Some(128),
            Attack::NonReaders => Some(10),
            Attack::Newlines | Attack::PingKeepers | Attack::Silent | Attack::Pipelined => None,
        }
    }

    /// Smallest `--line-bytes` that still makes the attack's lines: posts need room
    /// for `/post lobby spam `, a body and the newline; chat lines one character and
    /// the newline.
    pub fn min_line_bytes(self) -> usize {
        match self {
            Attack::Posts => POST_HEAD.len() + 2,
            Attack::Rooms | Attack::Flood | Attack::NonReaders => 2,
            _ => 1,
        }
    }

    /// Attackers per source address by default. The attacks one user makes come from
    /// one address; the crowds are spread 50 to an address (the server's default
    /// --max-per-address), so that each meets the defence meant for it rather than
    /// the per-address limit; the big list's planters get an address each, as each
    /// address may only post so often.
    pub fn per_address(self) -> usize {
        match self {
            Attack::Posts | Attack::Rooms | Attack::Pipelined | Attack::Flood => usize::MAX,
            Attack::BigList => 1,
            _ => 50,
        }
    }

    /// The helper the attack needs, if any.
    pub fn helper(self) -> Option<Helper> {
        match self {
            Attack::BigList => Some(Helper::Victim),
            Attack::NonReaders => Some(Helper::Chatter),
            _ => None,
        }
    }

    /// Whether the attackers name themselves (and so land in lobby).
    pub fn names(self) -> bool {
        !matches!(self, Attack::Newlines | Attack::Silent | Attack::Partial)
    }

    /// Whether the attackers stop reading once named.
    pub fn deaf(self) -> bool {
        matches!(self, Attack::NonReaders | Attack::PingKeepers)
    }

    /// Whether an attacker reconnects as soon as its connection is closed.
    pub fn reconnects(self) -> bool {
        self == Attack::Silent
    }

    /// Whether lines go out on a schedule at `--attack-rate` (the flooders', or the
    /// chatter's).
    pub fn paced(self) -> bool {
        matches!(self, Attack::Flood | Attack::NonReaders)
    }

    /// Whether the attack proper waits for a prelude (big-list: planting the posts).
    pub fn has_prelude(self) -> bool {
        self == Attack::BigList
    }
}

/// What every post of the posts attack starts with; the body fills the line.
pub const POST_HEAD: &str = "/post lobby spam ";

/// One attacker's connection as the attack sees it.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Connecting, not yet greeted (`HELLO` or `QUEUED`) nor closed.
    connecting: bool,
    /// Admitted (`HELLO`) on its current connection.
    greeted: bool,
    /// `/name` sent, no answer yet.
    naming: bool,
    /// A big-list planter that has stopped (refused, or closed).
    done: bool,
    /// Rooms made so far (rooms attack): the next room's number.
    rooms: u64,
}

/// The attack's own counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connects started (reconnects included).
    pub connects: u64,
    /// Of them, reconnects after a close.
    pub reconnects: u64,
    /// Connections established.
    pub established: u64,
    /// Connections greeted with `HELLO`.
    pub admitted: u64,
    /// Connections that were queued (`QUEUED`).
    pub queued: u64,
    /// Connections closed before `HELLO` (connect failed, `BYE address-limit`, ...).
    pub refused: u64,
    /// Connections the server closed after their `HELLO`.
    pub dropped: u64,
    /// Attackers named.
    pub named: u64,
    /// Lines the attackers sent (written to their sockets in full).
    pub lines_sent: u64,
    /// Bytes the attackers sent.
    pub bytes_sent: u64,
    /// Lines the attackers read.
    pub lines_received: u64,
    /// Bytes the attackers read.
    pub bytes_received: u64,
    /// Paced lines not sent because the server had not taken the earlier ones (the
    /// sender's backlog was full) or their sender was not ready.
    pub not_taken: u64,
    /// `POSTED` answers to the attackers' posts.
    pub posted: u64,
    /// Lines the helper's chatter sent (non-readers).
    pub chatter_lines: u64,
    /// Lines from the attack (or its chatter) that reached the bystanders.
    pub foreign_lines: u64,
    /// `BYE` lines the attackers read, by reason.
    pub byes: BTreeMap<String, u64>,
    /// `ERR` lines the attackers read, by code.
    pub errors: BTreeMap<String, u64>,
    /// Attackers' connections closed, by reason (the server's `BYE` where one came).
    pub closes: BTreeMap<&'static str, u64>,
    /// Attackers' connections still open when the run ended.
    pub open_at_end: u64,
}

/// The big-list victim's listings.
#[derive(Debug)]
pub struct Listings {
    /// `/list` written and not yet answered in full: when, and the `POST` lines still
    /// to come once its `LIST` line told how many (`None` before it).
    awaiting: Option<(u64, Option<u64>)>,
    /// From `/list` written to the last `POST` line of its answer read.
    pub times: Histogram<u64>,
    /// `/list` lines written.
    pub sent: u64,
    /// Listings answered in full.
    pub done: u64,
    /// Posts in the longest listing.
    pub posts_max: u64,
    /// Posts in the last listing.
    pub posts_last: u64,
    /// Times the victim's connection was closed by the server.
    pub victim_drops: u64,
}

/// The server's resident memory through the attack, with `--server-pid`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AttackRss {
    /// When the attack began.
    pub before: Option<u64>,
    /// The highest reading while it lasted (read every 100 ms, and at its edges).
    pub peak: Option<u64>,
    /// When it ended, the attackers still connected.
    pub end: Option<u64>,
}

impl AttackRss {
    /// Takes a reading into the peak.
    pub fn sample(&mut self, rss: Option<u64>) {
        if let Some(v) = rss {
            self.peak = Some(self.peak.map_or(v, |p| p.max(v)));
        }
    }
}

/// The abuse scenario's state and findings.
#[derive(Debug)]
pub struct AbuseRun {
    /// The attack.
    pub attack: Attack,
    /// Client index of the first attacker; the attackers are the clients from there.
    pub first: usize,
    /// Client index of the helper (victim or chatter), if the attack has one.
    pub helper: Option<usize>,
    /// Bystanders: clients `0..bystanders`.
    bystanders: usize,
    /// Per attacker.
    slots: Vec<Slot>,
    /// The next attacker to connect for the first time.
    next: usize,
    /// Attackers to connect again (silent), oldest last.
    reconnect: Vec<u32>,
    /// The helper's connection was closed during the attack: it connects again.
    pub helper_down: bool,
    /// Attackers connecting, not yet greeted nor closed.
    connecting: usize,
    /// Attackers named by themselves but not yet answered.
    naming: usize,
    /// Big-list planters still planting.
    planting: usize,
    /// The attack is under way: attackers connect, send and reconnect.
    pub active: bool,
    /// When the attack began (the baseline's end); 0 before.
    pub begun_at: u64,
    /// When it ends: `--attack-duration` after its proper start; `u64::MAX` before.
    pub window_end: u64,
    /// When it ended; 0 before.
    pub ended_at: u64,
    /// The counters.
    pub c: Counters,
    /// The bystanders' latency of the messages scheduled during the attack.
    pub bystanders_latency: Disturbed,
    /// The same from when the attack is in place (see [`AbuseRun::note_in_place`])
    /// until it ended: the attack without the connect storm that set it up.
    pub bystanders_steady: Disturbed,
    /// The server's memory.
    pub rss: AttackRss,
    /// CPU over the baseline window (the run's own usage covers the attack).
    pub baseline_usage: Usage,
    /// The victim's listings (big-list).
    pub listings: Listings,
    /// What the witness found, once the run is over (none with `--witness-rate 0`).
    pub witness: Option<WitnessReport>,
}

impl AbuseRun {
    /// Nothing attacked yet, for the attack of `cfg` and the cast of `plan`.
    pub fn new(cfg: &Config, plan: &Plan) -> AbuseRun {
        let attack = cfg.abuse.as_ref().map_or(Attack::Silent, |a| a.attack);
        let first = plan.first_attacker();
        let attackers = plan.roles.len() - first;
        AbuseRun {
            attack,
            first,
            helper: attack.helper().map(|_| first - 1),
            bystanders: cfg.bystanders,
            slots: vec![Slot::default(); attackers],
            next: 0,
            reconnect: Vec::new(),
            helper_down: false,
            connecting: 0,
            naming: 0,
            planting: if attack == Attack::BigList {
                attackers
            } else {
                0
            },
            active: false,
            begun_at: 0,
            window_end: u64::MAX,
            ended_at: 0,
            c: Counters::default(),
            bystanders_latency: Disturbed::new(),
            bystanders_steady: Disturbed::new(),
            rss: AttackRss::default(),
            baseline_usage: Usage::default(),
            listings: Listings {
                awaiting: None,
                times: new_hist(),
                sent: 0,
                done: 0,
                posts_max: 0,
                posts_last: 0,
                victim_drops: 0,
            },
            witness: None,
        }
    }

    /// The attacker number of client `i`, if it is an attacker.
    fn slot(&self, i: usize) -> Option<usize> {
        let k = i.checked_sub(self.first)?;
        (k < self.slots.len()).then_some(k)
    }

    /// Whether client `i` is an attacker.
    pub fn is_attacker(&self, i: usize) -> bool {
        self.slot(i).is_some()
    }

    /// Whether client `i` is a bystander.
    pub fn is_bystander(&self, i: usize) -> bool {
        i < self.bystanders
    }

    /// Attacking connections (attackers).
    pub fn attackers(&self) -> usize {
        self.slots.len()
    }

    /// The attack begins at `now`, the server holding `rss`; `duration` is
    /// `--attack-duration`.
    pub fn begin(&mut self, now: u64, rss: Option<u64>, duration: u64) {
        self.begun_at = now.max(1);
        self.active = true;
        self.rss.before = rss;
        self.rss.sample(rss);
        if !self.attack.has_prelude() {
            self.start_window(now, duration);
        }
    }

    /// The attack proper starts at `now` and lasts `duration`.
    pub fn start_window(&mut self, now: u64, duration: u64) {
        self.bystanders_latency.begin(now);
        self.window_end = now.saturating_add(duration);
    }

    /// The attack proper has started.
    pub fn window_started(&self) -> bool {
        self.window_end != u64::MAX
    }

    /// The attack is over at `now`, the server holding `rss`.
    pub fn end(&mut self, now: u64, rss: Option<u64>) {
        self.active = false;
        self.ended_at = now;
        self.bystanders_latency.end(now);
        self.bystanders_steady.end(now);
        self.rss.end = rss;
        self.rss.sample(rss);
    }

    /// Notes at `now` whether the attack is in place: its proper part has started and
    /// every attacker's first connection was answered (greeted, queued or refused) and
    /// named where it names itself. Until then the server also takes a connect storm,
    /// which any crowd of users arriving at once causes; from then on, only the attack.
    pub fn note_in_place(&mut self, now: u64) {
        let in_place = self.active
            && self.window_started()
            && self.next >= self.slots.len()
            && self.connecting == 0
            && self.naming == 0;
        if in_place && self.bystanders_steady.from == u64::MAX {
            self.bystanders_steady.begin(now);
        }
    }

    /// The next attacker to connect (first the ones never connected, then those to
    /// reconnect), now counted as connecting, while fewer than `cap` are; the flag
    /// says it is a reconnect.
    pub fn next_to_connect(&mut self, cap: usize) -> Option<(usize, bool)> {
        if !self.active || self.connecting >= cap {
            return None;
        }
        let (k, again) = if self.next < self.slots.len() {
            self.next += 1;
            (self.next - 1, false)
        } else {
            (self.reconnect.pop()? as usize - self.first, true)
        };
        self.slots[k].connecting = true;
        self.connecting += 1;
        self.c.connects += 1;
        if again {
            self.c.reconnects += 1;
        }
        Some((self.first + k, again))
    }

    /// Attacker `i`'s connection is established.
    pub fn on_established(&mut self, i: usize) {
        if self.is_attacker(i) {
            self.c.established += 1;
        }
    }

    /// Attacker `i` got its first `QUEUED` (`queued`) or its `HELLO`.
    pub fn on_greeted(&mut self, i: usize, queued: bool) {
        let Some(k) = self.slot(i) else {
            return;
        };
        let s = &mut self.slots[k];
        if s.connecting {
            s.connecting = false;
            self.connecting -= 1;
        }
        if queued {
            self.c.queued += 1;
        } else {
            s.greeted = true;
            self.c.admitted += 1;
        }
    }

    /// Attacker `i` sent `/name`.
    pub fn on_naming(&mut self, i: usize) {
        if let Some(k) = self.slot(i) {
            self.slots[k].naming = true;
            self.naming += 1;
        }
    }

    /// Attacker `i` is named and in lobby.
    pub fn on_named(&mut self, i: usize) {
        let Some(k) = self.slot(i) else {
            return;
        };
        if self.slots[k].naming {
            self.slots[k].naming = false;
            self.naming -= 1;
            self.c.named += 1;
        }
    }

    /// Whether attacker `i` may go on planting (big-list).
    pub fn planting(&self, i: usize) -> bool {
        self.active && self.slot(i).is_some_and(|k| !self.slots[k].done)
    }

    /// Big-list planter `k` stops planting.
    fn stop_planting(&mut self, k: usize) {
        if self.attack == Attack::BigList && !self.slots[k].done {
            self.slots[k].done = true;
            self.planting -= 1;
        }
    }

    /// `ERR <code>` to attacker `i`. A planter stops at its first refusal: the server
    /// allows no more.
    pub fn on_err(&mut self, i: usize, code: &[u8]) {
        let code = String::from_utf8_lossy(code).into_owned();
        *self.c.errors.entry(code).or_insert(0) += 1;
        if let Some(k) = self.slot(i) {
            self.stop_planting(k);
        }
    }

    /// `BYE <reason>` to attacker `i`.
    pub fn on_bye(&mut self, reason: &[u8]) {
        let reason = String::from_utf8_lossy(reason).into_owned();
        *self.c.byes.entry(reason).or_insert(0) += 1;
    }

    /// The number of the next room attacker `i` makes (rooms).
    pub fn next_room(&mut self, i: usize) -> u64 {
        let Some(k) = self.slot(i) else {
            return 0;
        };
        self.slots[k].rooms += 1;
        self.slots[k].rooms - 1
    }

    /// Client `i` was closed for `reason`, with `unsent_lines` lines (`unsent_bytes`
    /// bytes) it never wrote. An attacker's close is counted by whether it had been
    /// admitted; one that reconnects is queued for it. The helper's close during the
    /// attack is a victim dropped (it connects again).
    pub fn on_closed(&mut self, i: usize, reason: Reason, unsent_lines: u64, unsent_bytes: u64) {
        if Some(i) == self.helper {
            if self.active {
                self.helper_down = true;
                self.listings.victim_drops += 1;
            }
            self.listings.awaiting = None;
            return;
        }
        let Some(k) = self.slot(i) else {
            return;
        };
        let s = &mut self.slots[k];
        if s.connecting {
            s.connecting = false;
            self.connecting -= 1;
        }
        if s.naming {
            s.naming = false;
            self.naming -= 1;
        }
        if s.greeted {
            self.c.dropped += 1;
        } else {
            self.c.refused += 1;
        }
        s.greeted = false;
        self.stop_planting(k);
        *self.c.closes.entry(reason.name()).or_insert(0) += 1;
        self.c.lines_sent = self.c.lines_sent.saturating_sub(unsent_lines);
        self.c.bytes_sent = self.c.bytes_sent.saturating_sub(unsent_bytes);
        if self.active && self.attack.reconnects() {
            self.reconnect.push(i as u32);
        }
    }

    /// Attacker `i` is still open at the end of the run with `unsent_lines` lines
    /// (`unsent_bytes` bytes) never written.
    pub fn on_open_at_end(&mut self, unsent_lines: u64, unsent_bytes: u64) {
        self.c.open_at_end += 1;
        self.c.lines_sent = self.c.lines_sent.saturating_sub(unsent_lines);
        self.c.bytes_sent = self.c.bytes_sent.saturating_sub(unsent_bytes);
    }

    /// The attackers wrote `lines` lines of `bytes` bytes in all (counted when handed
    /// to their output; [`on_closed`](Self::on_closed) takes back what never left).
    pub fn on_sent(&mut self, lines: u64, bytes: u64) {
        self.c.lines_sent += lines;
        self.c.bytes_sent += bytes;
    }

    /// Every attacker has connected once and is past its greeting and naming (or
    /// closed).
    pub fn armed(&self) -> bool {
        self.next == self.slots.len() && self.connecting == 0 && self.naming == 0
    }

    /// The prelude is over: armed, and (big-list) every planter has stopped.
    pub fn prelude_done(&self) -> bool {
        self.armed() && self.planting == 0
    }

    /// The client paced line `k` goes to: the flooders in turn, or the chatter.
    pub fn paced_sender(&self, k: u64) -> Option<usize> {
        match self.attack {
            Attack::Flood if !self.slots.is_empty() => {
                Some(self.first + (k % self.slots.len() as u64) as usize)
            }
            Attack::NonReaders => self.helper,
            _ => None,
        }
    }

    /// Whether the victim may send its next `/list`: the attack proper is on and no
    /// listing is awaited.
    pub fn victim_idle(&self) -> bool {
        self.active && self.window_started() && self.listings.awaiting.is_none()
    }

    /// The victim wrote `/list` at `now`.
    pub fn on_list_sent(&mut self, now: u64) {
        self.listings.awaiting = Some((now, None));
        self.listings.sent += 1;
    }

    /// The victim read `LIST lobby <count>` at `now`; `true` when that completes the
    /// listing (an empty board).
    pub fn on_list(&mut self, count: u64, now: u64) -> bool {
        match self.listings.awaiting {
            Some((at, None)) => {
                let l = &mut self.listings;
                l.awaiting = Some((at, Some(count)));
                l.posts_last = count;
                l.posts_max = l.posts_max.max(count);
                self.on_listed_post(now, 0)
            }
            _ => false,
        }
    }

    /// The victim read a `POST lobby` line at `now`; `true` when that completes the
    /// listing.
    pub fn on_list_post(&mut self, now: u64) -> bool {
        self.on_listed_post(now, 1)
    }

    /// Counts `n` listed posts; completes the listing when none are left.
    fn on_listed_post(&mut self, now: u64, n: u64) -> bool {
        let Some((at, Some(left))) = self.listings.awaiting else {
            return false;
        };
        let left = left.saturating_sub(n);
        if left > 0 {
            self.listings.awaiting = Some((at, Some(left)));
            return false;
        }
        let l = &mut self.listings;
        l.times.saturating_record(now.saturating_sub(at));
        l.done += 1;
        l.awaiting = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::Parser;

    /// The run of `abuse --attack <attack>` with 3 bystanders and `attackers`.
    fn run(attack: &str, attackers: &str) -> AbuseRun {
        let cli = Cli::try_parse_from([
            "parley-loadgen",
            "abuse",
            "--attack",
            attack,
            "--attackers",
            attackers,
            "--bystanders",
            "3",
        ])
        .unwrap();
        let cfg = Config::from_cli(cli).unwrap();
        AbuseRun::new(&cfg, &Plan::build(&cfg).unwrap())
    }

    #[test]
    fn connections_are_told_apart_by_how_far_they_got() {
        let mut r = run("silent", "3");
        assert_eq!((r.first, r.helper, r.attackers()), (3, None, 3));
        assert_eq!(r.next_to_connect(8), None, "not before the attack");
        r.begin(1_000, Some(10), 5_000);
        assert!(r.window_started(), "no prelude");
        assert_eq!(r.next_to_connect(2), Some((3, false)));
        assert_eq!(r.next_to_connect(2), Some((4, false)));
        assert_eq!(r.next_to_connect(2), None, "two connecting at most");
        r.on_established(3);
        r.on_greeted(3, false);
        r.on_closed(4, Reason::AddressLimit, 0, 0); // refused before HELLO
        r.on_closed(3, Reason::Timeout, 0, 0); // dropped after it
        assert_eq!((r.c.admitted, r.c.refused, r.c.dropped), (1, 1, 1));
        assert_eq!(r.next_to_connect(2), Some((5, false)));
        assert_eq!(r.next_to_connect(2), Some((3, true)), "silent reconnects");
        assert_eq!((r.c.connects, r.c.reconnects), (4, 1));
        assert_eq!(r.c.closes.get("address-limit"), Some(&1));
        r.end(9_000, Some(30));
        assert_eq!(r.next_to_connect(9), None, "not after the attack");
        assert_eq!(
            (r.rss.before, r.rss.peak, r.rss.end),
            (Some(10), Some(30), Some(30))
        );
    }

    #[test]
    fn unsent_output_is_taken_back() {
        let mut r = run("posts", "1");
        r.begin(1, None, 10);
        let (i, _) = r.next_to_connect(4).unwrap();
        r.on_sent(10, 40_000);
        r.on_closed(i, Reason::Reset, 3, 12_000);
        r.on_open_at_end(1, 4_000);
        assert_eq!((r.c.lines_sent, r.c.bytes_sent), (6, 24_000));
        assert!(r.reconnect.is_empty(), "only silent reconnects");
    }

    #[test]
    fn big_list_plants_until_refused_then_the_victim_lists() {
        let mut r = run("big-list", "2");
        assert_eq!((r.first, r.helper), (4, Some(3)));
        r.begin(100, None, 1_000);
        assert!(!r.window_started(), "planting first");
        while let Some((i, _)) = r.next_to_connect(8) {
            r.on_greeted(i, false);
            r.on_naming(i);
            r.on_named(i);
        }
        assert!(r.armed() && !r.prelude_done());
        assert!(r.planting(4));
        r.on_err(4, b"throttled");
        assert!(!r.planting(4));
        r.on_closed(5, Reason::Sendq, 0, 0);
        assert!(r.prelude_done());
        assert!(!r.victim_idle());
        r.start_window(200, 1_000);
        assert!(r.victim_idle());
        r.on_list_sent(300);
        assert!(!r.on_list_post(310), "a POST notice before the LIST line");
        assert!(!r.on_list(2, 320));
        assert!(!r.on_list_post(330));
        assert!(r.on_list_post(340));
        r.on_list_sent(400);
        assert!(r.on_list(0, 450), "an empty board is listed at once");
        assert_eq!((r.listings.sent, r.listings.done), (2, 2));
        assert_eq!(r.listings.posts_max, 2);
        assert_eq!(r.listings.times.max(), 50);
        r.on_closed(3, Reason::Sendq, 0, 0);
        assert!(r.helper_down);
        assert_eq!(r.listings.victim_drops, 1);
    }

    #[test]
    fn paced_lines_go_to_the_flooders_in_turn_or_to_the_chatter() {
        let r = run("flood", "2");
        assert_eq!(r.paced_sender(0), Some(3));
        assert_eq!(r.paced_sender(3), Some(4));
        let r = run("non-readers", "5");
        assert_eq!(r.paced_sender(7), r.helper);
        assert_eq!(run("silent", "1").paced_sender(0), None);
    }
}
