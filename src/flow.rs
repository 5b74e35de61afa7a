//! Flow control, sans-IO: output limits per connection, and the pacing of senders
//! whose lines reach congested recipients.
//!
//! The rule: a line that reaches a recipient whose unwritten output is above the soft
//! limit holds its sender back (the loop stops reading the sender) until that recipient
//! drains below the soft limit, stalls (stays congested for longer than the stall
//! limit) or leaves. Nothing is dropped to pace a flood: it is slowed to what its
//! readers take. A recipient over the hard limit is dropped instead. A client whose own
//! output is above the soft limit is not read either, so a client that floods without
//! reading throttles itself.
//!
//! The hard limit also shrinks when many clients are congested at once: they share
//! `--max-sendq-total`, each dropped above its share (never below twice the soft limit). A
//! few slow readers keep the whole `--max-sendq` each; thousands of clients that never
//! read, which would each fill theirs, are dropped soon after the soft limit. However
//! long they stay, together they hold at most the total, or twice the soft limit each
//! when they are more than the total can give that much.
//!
//! This module holds the state and the decisions; the loop tells it what the sockets
//! did, and it takes the time as an argument, so it is tested with a hand-moved clock.

use std::time::{Duration, Instant};

use crate::hub::ClientId;
use crate::timers::Deadlines;

/// Output limits of every connection.
#[derive(Debug, Clone, Copy)]
pub struct SendqLimits {
    /// Pending output that drops a client (`--max-sendq`).
    pub max: usize,
    /// Pending output the congested clients share (`--max-sendq-total`; 0: no total).
    pub total: usize,
    /// Pending output above which a client is congested (`--soft-sendq`).
    pub soft: usize,
    /// How long a client with output waiting may take none of it (`--write-timeout`).
    pub write_timeout: Duration,
    /// How long a congested client may pace its senders (`--stall-limit`).
    pub stall: Duration,
}

/// The flow state of one connection.
#[derive(Debug, Default)]
pub struct FlowState {
    /// Reading stopped because this client's own output is above the soft limit.
    paused: bool,
    /// Congested recipients this client's last line reached: reading waits until each
    /// has drained, stalled or gone.
    blocked_on: u32,
    /// When the socket last stopped taking output: a write would block and nothing
    /// has been written since. A reader that is stuck keeps an old time here.
    stuck_since: Option<Instant>,
    /// Since when this client has been congested: above the soft limit, counted from
    /// when its socket stopped taking output if that was earlier.
    congested_since: Option<Instant>,
    /// Congested for longer than the stall limit: it paces no sender any more.
    stalled: bool,
    /// Senders waiting for this client's output to drain, in the order they were held.
    waiters: Vec<ClientId>,
    /// A write-timeout deadline for this client is in the heap (at most one is).
    write_timer: bool,
}

impl FlowState {
    /// True unless flow control holds this client's input back.
    pub fn may_read(&self) -> bool {
        !self.paused && self.blocked_on == 0
    }

    /// Pauses the client if its own output (`pending` bytes) is above `soft`, then says
    /// whether it may be read.
    pub fn may_read_with(&mut self, pending: usize, soft: usize) -> bool {
        if pending > soft {
            self.paused = true;
        }
        self.may_read()
    }

    /// The socket took some output.
    pub fn wrote(&mut self) {
        self.stuck_since = None;
    }

    /// The socket would take no more output at `now`.
    pub fn would_block(&mut self, now: Instant) {
        self.stuck_since.get_or_insert(now);
    }

    /// True while this client counts as congested.
    pub fn is_congested(&self) -> bool {
        self.congested_since.is_some()
    }

    /// True while draining could change something: the client is paused or congested.
    /// Nearly always false, which lets the loop skip flow control after a flush.
    pub fn is_held_or_holding(&self) -> bool {
        self.paused || self.congested_since.is_some()
    }
}

/// Where flow control finds each connection's state.
pub trait FlowTable {
    /// The flow state of `id`, if it is still connected.
    fn flow(&mut self, id: ClientId) -> Option<&mut FlowState>;
}

/// What became of output queued for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Within the limits, or congested and pacing its senders.
    Accepted,
    /// Over the hard limit: the recipient must be dropped.
    Overflow,
}

/// Flow control over all connections.
#[derive(Debug)]
pub struct FlowControl {
    limits: SendqLimits,
    /// Connections whose reading waits for congested recipients.
    paced: usize,
    /// Connections above the soft limit: they share `limits.total`.
    congested: usize,
    /// When a sender was last held back.
    last_hold: Option<Instant>,
    /// When congested connections stop pacing their senders.
    stalls: Deadlines<ClientId>,
    /// When connections whose socket stopped taking output are checked for
    /// `write_timeout`.
    write_timers: Deadlines<ClientId>,
    /// The client whose input is being handled: the one a congested recipient holds.
    sender: Option<ClientId>,
    now: Instant,
    /// Senders released since the loop last looked, in release order.
    released: Vec<ClientId>,
}

impl FlowControl {
    /// Flow control with `limits`, at `now`.
    pub fn new(limits: SendqLimits, now: Instant) -> FlowControl {
        FlowControl {
            limits,
            paced: 0,
            congested: 0,
            last_hold: None,
            stalls: Deadlines::new(),
            write_timers: Deadlines::new(),
            sender: None,
            now,
            released: Vec::new(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> SendqLimits {
        self.limits
    }

    /// Names the client whose input is handled next (`None` for timers and departures,
    /// which pace nobody), and the time.
    pub fn set_sender(&mut self, sender: Option<ClientId>, now: Instant) {
        self.sender = sender;
        self.now = now;
    }

    /// The time the loop last gave.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Pending output above which a congested client is dropped now: `--max-sendq`, or
    /// its share of `--max-sendq-total` if that is smaller, but never below twice the
    /// soft limit, so that flow control keeps room to pace its senders.
    fn hard_limit(&self) -> usize {
        let max = self.limits.max;
        match self.limits.total {
            0 => max,
            total => (total / self.congested.max(1))
                .clamp(self.limits.soft.saturating_mul(2).min(max), max),
        }
    }

    /// True while some sender is held back.
    pub fn pacing(&self) -> bool {
        self.paced > 0
    }

    /// True if a sender was held back within `memory` before `now`.
    pub fn held_within(&self, memory: Duration, now: Instant) -> bool {
        self.last_hold.is_some_and(|at| now < at + memory)
    }

    /// When the next stall or write-timeout deadline is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.stalls.next(), self.write_timers.next()]
            .into_iter()
            .flatten()
            .min()
    }

    /// `id`'s socket would take no more output at `now`: unless it takes some within
    /// the write timeout, [`FlowControl::expire_write_timeouts`] names it.
    pub fn blocked(&mut self, table: &mut impl FlowTable, id: ClientId, now: Instant) {
        let Some(state) = table.flow(id) else {
            return;
        };
        state.would_block(now);
        if !state.write_timer {
            state.write_timer = true;
            let since = state.stuck_since.unwrap_or(now);
            self.write_timers
                .schedule(since + self.limits.write_timeout, id);
        }
    }

    /// Puts into `timed_out` the clients whose socket has taken none of their output
    /// for the write timeout by `now`; they are to be dropped (`sendq`). A client that
    /// wrote meanwhile and is stuck again is checked again later.
    pub fn expire_write_timeouts(
        &mut self,
        table: &mut impl FlowTable,
        now: Instant,
        timed_out: &mut Vec<ClientId>,
    ) {
        while let Some(id) = self.write_timers.pop_due(now) {
            let Some(state) = table.flow(id) else {
                continue;
            };
            match state.stuck_since {
                Some(since) if now >= since + self.limits.write_timeout => {
                    state.write_timer = false;
                    timed_out.push(id);
                }
                Some(since) => self
                    .write_timers
                    .schedule(since + self.limits.write_timeout, id),
                None => state.write_timer = false,
            }
        }
    }

    /// Puts into `into` (emptied first) the senders released since the last call, in
    /// the order they were released, and says whether there were any: the loop lists
    /// them for reading. The two buffers swap, so neither is reallocated.
    pub fn take_released(&mut self, into: &mut Vec<ClientId>) -> bool {
        into.clear();
        std::mem::swap(into, &mut self.released);
        !into.is_empty()
    }

    /// Output was queued for `to`, which now has `pending` bytes unwritten.
    pub fn queued(&mut self, table: &mut impl FlowTable, to: ClientId, pending: usize) -> Queued {
        if pending > self.limits.max {
            return Queued::Overflow;
        }
        if pending <= self.limits.soft {
            return Queued::Accepted;
        }
        let now = self.now;
        let Some(state) = table.flow(to) else {
            return Queued::Accepted;
        };
        if state.congested_since.is_none() {
            // A reader that stopped long ago must not pace anyone: otherwise, with many
            // stuck readers, each would cross the soft limit only after the previous one
            // stalled, and their pauses would add up.
            let since = state.stuck_since.map_or(now, |t| t.min(now));
            state.congested_since = Some(since);
            self.congested += 1;
            let stall_at = since + self.limits.stall;
            if stall_at <= now {
                state.stalled = true;
            } else {
                self.stalls.schedule(stall_at, to);
            }
        }
        if pending > self.hard_limit() {
            return Queued::Overflow;
        }
        let Some(sender) = self.sender.filter(|&sender| sender != to) else {
            return Queued::Accepted;
        };
        // One line can reach a recipient more than once (a departure notice per shared
        // room); within one line the sender is the only one added, so check the last.
        if state.stalled || state.waiters.last() == Some(&sender) {
            return Queued::Accepted;
        }
        state.waiters.push(sender);
        self.last_hold = Some(now);
        if let Some(sender) = table.flow(sender) {
            if sender.blocked_on == 0 {
                self.paced += 1;
            }
            sender.blocked_on += 1;
        }
        Queued::Accepted
    }

    /// `id`'s output is down to `pending` bytes after a flush, `ready` of them ready to
    /// write: with those below the soft limit it is no longer paused, and with all of
    /// it below, no longer congested (its senders go). Returns true if `id` itself may
    /// now be read again.
    pub fn drained(
        &mut self,
        table: &mut impl FlowTable,
        id: ClientId,
        pending: usize,
        ready: usize,
    ) -> bool {
        if ready > self.limits.soft {
            return false;
        }
        let Some(state) = table.flow(id) else {
            return false;
        };
        let was_paused = std::mem::take(&mut state.paused);
        if pending <= self.limits.soft && state.congested_since.is_some() {
            state.congested_since = None;
            state.stalled = false;
            self.congested -= 1;
            self.release_waiters(table, id);
        }
        was_paused && table.flow(id).is_some_and(|state| state.may_read())
    }

    /// Handles stall deadlines due at `now`: recipients congested for longer than the
    /// stall limit let their senders go.
    pub fn expire_stalls(&mut self, table: &mut impl FlowTable, now: Instant) {
        while let Some(id) = self.stalls.pop_due(now) {
            let Some(state) = table.flow(id) else {
                continue;
            };
            let stalled = state
                .congested_since
                .is_some_and(|since| now >= since + self.limits.stall);
            if stalled && !state.stalled {
                state.stalled = true;
                self.release_waiters(table, id);
            }
        }
    }

    /// `id` is leaving: the senders it was pacing go, and it paces no more.
    pub fn remove(&mut self, table: &mut impl FlowTable, id: ClientId) {
        self.release_waiters(table, id);
        if let Some(state) = table.flow(id) {
            if state.congested_since.take().is_some() {
                self.congested -= 1;
            }
            if state.blocked_on > 0 {
                state.blocked_on = 0;
                self.paced -= 1;
            }
        }
    }

    /// Lets every sender waiting on `id` go; those with nothing else to wait for are
    /// released for reading.
    fn release_waiters(&mut self, table: &mut impl FlowTable, id: ClientId) {
        let Some(state) = table.flow(id) else {
            return;
        };
        let waiters = std::mem::take(&mut state.waiters);
        for waiter in waiters {
            let Some(state) = table.flow(waiter) else {
                continue;
            };
            state.blocked_on -= 1;
            if state.blocked_on == 0 {
                self.paced -= 1;
                if state.may_read() {
                    self.released.push(waiter);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SOFT: usize = 100;
    const MAX: usize = 1000;
    const STALL: Duration = Duration::from_secs(2);
    const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

    /// Connections by id, and a hand-moved clock.
    struct Rig {
        flow: FlowControl,
        states: HashMap<ClientId, FlowState>,
        now: Instant,
    }

    impl FlowTable for HashMap<ClientId, FlowState> {
        fn flow(&mut self, id: ClientId) -> Option<&mut FlowState> {
            self.get_mut(&id)
        }
    }

    fn id(n: usize) -> ClientId {
        ClientId::new(n, 1)
    }

    impl Rig {
        fn new(clients: usize) -> Rig {
            Rig::sharing(clients, 0)
        }

        /// A rig whose congested clients share `total` bytes (0: no total).
        fn sharing(clients: usize, total: usize) -> Rig {
            let now = Instant::now();
            let limits = SendqLimits {
                max: MAX,
                total,
                soft: SOFT,
                write_timeout: WRITE_TIMEOUT,
                stall: STALL,
            };
            Rig {
                flow: FlowControl::new(limits, now),
                states: (0..clients)
                    .map(|n| (id(n), FlowState::default()))
                    .collect(),
                now,
            }
        }

        /// `from` sends a line that leaves `to` with `pending` bytes unwritten.
        fn deliver(&mut self, from: usize, to: usize, pending: usize) -> Queued {
            self.flow.set_sender(Some(id(from)), self.now);
            let verdict = self.flow.queued(&mut self.states, id(to), pending);
            self.flow.set_sender(None, self.now);
            verdict
        }

        fn may_read(&self, n: usize) -> bool {
            self.states[&id(n)].may_read()
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
            self.flow.expire_stalls(&mut self.states, self.now);
        }

        fn released(&mut self) -> Vec<ClientId> {
            let mut released = Vec::new();
            self.flow.take_released(&mut released);
            released
        }
    }

    #[test]
    fn a_congested_recipient_paces_its_sender_until_it_drains() {
        let mut rig = Rig::new(2);
        assert_eq!(rig.deliver(0, 1, SOFT), Queued::Accepted);
        assert!(rig.may_read(0), "at the soft limit nobody is held");
        assert_eq!(rig.deliver(0, 1, SOFT + 1), Queued::Accepted);
        assert!(!rig.may_read(0), "above it the sender is held");
        assert!(rig.flow.pacing());
        assert!(rig.flow.held_within(Duration::from_secs(1), rig.now));
        assert!(!rig.flow.drained(&mut rig.states, id(1), SOFT + 1, SOFT + 1));
        assert!(!rig.may_read(0), "still above the soft limit");
        rig.flow.drained(&mut rig.states, id(1), SOFT, SOFT);
        assert!(rig.may_read(0));
        assert!(!rig.flow.pacing());
        assert_eq!(rig.released(), [id(0)]);
    }

    #[test]
    fn a_stalled_recipient_lets_its_senders_go_and_paces_no_more() {
        let mut rig = Rig::new(3);
        rig.deliver(0, 2, SOFT + 1);
        assert!(!rig.may_read(0));
        rig.advance(STALL - Duration::from_millis(1));
        assert!(!rig.may_read(0), "not stalled yet");
        rig.advance(Duration::from_millis(1));
        assert!(rig.may_read(0), "stalled: the sender goes");
        assert_eq!(rig.released(), [id(0)]);
        rig.deliver(1, 2, SOFT + 50);
        assert!(rig.may_read(1), "a stalled recipient holds nobody");
    }

    #[test]
    fn a_reader_stuck_since_long_ago_is_stalled_at_once() {
        let mut rig = Rig::new(2);
        rig.states.get_mut(&id(1)).unwrap().would_block(rig.now);
        rig.now += STALL;
        rig.deliver(0, 1, SOFT + 1);
        assert!(
            rig.may_read(0),
            "its stall clock started when it stopped reading"
        );
    }

    #[test]
    fn over_the_hard_limit_the_recipient_is_dropped() {
        let mut rig = Rig::new(2);
        assert_eq!(rig.deliver(0, 1, MAX), Queued::Accepted);
        assert_eq!(rig.deliver(0, 1, MAX + 1), Queued::Overflow);
    }

    #[test]
    fn congested_clients_share_the_total_and_each_is_dropped_above_its_share() {
        let mut rig = Rig::sharing(6, 2 * MAX);
        assert_eq!(rig.flow.hard_limit(), MAX);
        for to in 1..=2 {
            assert_eq!(rig.deliver(0, to, SOFT + 1), Queued::Accepted);
        }
        assert_eq!(
            rig.flow.hard_limit(),
            MAX,
            "two share the total at --max-sendq each"
        );
        assert_eq!(rig.deliver(0, 1, 6 * SOFT), Queued::Accepted);
        for to in 3..=4 {
            assert_eq!(rig.deliver(0, to, SOFT + 1), Queued::Accepted);
        }
        assert_eq!(rig.flow.congested, 4);
        assert_eq!(rig.flow.hard_limit(), MAX / 2);
        assert_eq!(rig.deliver(0, 2, MAX / 2), Queued::Accepted, "at its share");
        assert_eq!(rig.deliver(0, 2, MAX / 2 + 1), Queued::Overflow);
        assert_eq!(
            rig.deliver(0, 1, 6 * SOFT + 1),
            Queued::Overflow,
            "a client that held more before the others came is dropped on its next line"
        );
        rig.flow.remove(&mut rig.states, id(1));
        rig.flow.remove(&mut rig.states, id(2));
        assert_eq!(rig.flow.congested, 2);
        assert_eq!(rig.flow.hard_limit(), MAX);
    }

    #[test]
    fn a_share_never_falls_below_twice_the_soft_limit() {
        let mut rig = Rig::sharing(12, 4 * SOFT);
        for to in 1..12 {
            assert_eq!(rig.deliver(0, to, SOFT + 1), Queued::Accepted);
        }
        assert_eq!(rig.flow.congested, 11);
        assert_eq!(rig.flow.hard_limit(), 2 * SOFT);
        assert_eq!(rig.deliver(0, 5, 2 * SOFT), Queued::Accepted);
        assert_eq!(rig.deliver(0, 5, 2 * SOFT + 1), Queued::Overflow);
    }

    #[test]
    fn a_client_that_drains_gives_its_share_back() {
        let mut rig = Rig::sharing(3, 6 * SOFT);
        rig.deliver(0, 1, SOFT + 1);
        rig.deliver(0, 2, SOFT + 1);
        assert_eq!(rig.flow.hard_limit(), 3 * SOFT);
        rig.flow.drained(&mut rig.states, id(1), SOFT, SOFT);
        assert_eq!(rig.flow.congested, 1);
        assert_eq!(rig.flow.hard_limit(), 6 * SOFT);
        rig.flow.drained(&mut rig.states, id(1), 0, 0);
        assert_eq!(rig.flow.congested, 1, "a client counts once");
    }

    #[test]
    fn senders_are_released_in_the_order_they_were_held() {
        let mut rig = Rig::new(4);
        for sender in [2, 0, 1] {
            rig.deliver(sender, 3, SOFT + 1);
        }
        assert!(!rig.may_read(0) && !rig.may_read(1) && !rig.may_read(2));
        rig.flow.drained(&mut rig.states, id(3), 0, 0);
        assert_eq!(rig.released(), [id(2), id(0), id(1)]);
    }

    #[test]
    fn a_sender_waits_for_every_congested_recipient() {
        let mut rig = Rig::new(3);
        rig.deliver(0, 1, SOFT + 1);
        rig.deliver(0, 2, SOFT + 1);
        rig.flow.drained(&mut rig.states, id(1), 0, 0);
        assert!(!rig.may_read(0), "recipient 2 is still congested");
        rig.flow.remove(&mut rig.states, id(2));
        rig.states.remove(&id(2));
        assert!(rig.may_read(0), "a recipient that leaves lets it go");
        assert!(!rig.flow.pacing());
    }

    #[test]
    fn output_held_behind_a_client_s_own_input_unpauses_it_but_still_paces_its_senders() {
        let mut rig = Rig::new(2);
        rig.deliver(0, 1, SOFT + 1);
        let state = rig.states.get_mut(&id(1)).unwrap();
        assert!(!state.may_read_with(SOFT + 1, SOFT));
        // What is left waits for the client's input (an IRC client's CAP END).
        assert!(rig.flow.drained(&mut rig.states, id(1), SOFT + 1, SOFT));
        assert!(rig.may_read(1), "it is read again");
        assert!(!rig.may_read(0), "its senders are still held");
    }

    #[test]
    fn a_client_over_the_soft_limit_is_not_read_until_it_drains() {
        let mut rig = Rig::new(1);
        let state = rig.states.get_mut(&id(0)).unwrap();
        assert!(state.may_read_with(SOFT, SOFT));
        assert!(!state.may_read_with(SOFT + 1, SOFT));
        assert!(rig.flow.drained(&mut rig.states, id(0), SOFT, SOFT));
        assert!(rig.may_read(0));
    }

    #[test]
    fn a_socket_that_takes_nothing_for_the_write_timeout_is_named_once() {
        let mut rig = Rig::new(3);
        let timed_out = |rig: &mut Rig| {
            let mut out = Vec::new();
            rig.flow
                .expire_write_timeouts(&mut rig.states, rig.now, &mut out);
            out
        };
        // 1 stops taking output; 2 too, but takes some later and then stops again.
        rig.flow.blocked(&mut rig.states, id(1), rig.now);
        rig.flow.blocked(&mut rig.states, id(2), rig.now);
        rig.now += Duration::from_secs(30);
        rig.flow.blocked(&mut rig.states, id(1), rig.now);
        rig.states.get_mut(&id(2)).unwrap().wrote();
        rig.flow.blocked(&mut rig.states, id(2), rig.now);
        assert_eq!(rig.flow.write_timers.len(), 2, "one deadline per client");
        rig.now += Duration::from_secs(29);
        assert!(timed_out(&mut rig).is_empty());
        rig.now += Duration::from_secs(1);
        assert_eq!(timed_out(&mut rig), [id(1)]);
        assert_eq!(
            rig.flow.next_deadline(),
            Some(rig.now + Duration::from_secs(30))
        );
        rig.now += Duration::from_secs(30);
        assert_eq!(timed_out(&mut rig), [id(2)]);
        // 0 stopped, then took output: nothing to report, and no deadline left.
        rig.flow.blocked(&mut rig.states, id(0), rig.now);
        rig.states.get_mut(&id(0)).unwrap().wrote();
        rig.now += WRITE_TIMEOUT;
        assert!(timed_out(&mut rig).is_empty());
        assert_eq!(rig.flow.next_deadline(), None);
    }
}
