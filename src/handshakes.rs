//! TLS handshakes in progress: how many, from where, and until when.
//!
//! A connection in its handshake is not a client yet, so the core's connection cap and
//! per-address limit do not see it. These are the loop's own: at most `--max-handshakes`
//! at once (the TLS listeners wait beyond it, leaving connections in the kernel's
//! backlog), at most `--max-per-address` from one address (one more is closed at once),
//! and each must finish within `--login-timeout`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::hub::{AddressKey, ClientId, PerAddress};
use crate::timers::Deadlines;

/// The handshakes in progress.
#[derive(Debug)]
pub struct Handshakes {
    in_progress: usize,
    max: usize,
    /// Most in progress from one address, unless trusted (0: no limit).
    max_per_address: usize,
    /// Time each may take.
    timeout: Duration,
    per_address: PerAddress,
    /// When each must be done by. An entry whose handshake finished stays until it is
    /// due; the caller ignores it then.
    deadlines: Deadlines<ClientId>,
}

impl Handshakes {
    /// No handshakes yet; at most `max` at once and `max_per_address` from one
    /// address (0: no limit), each done within `timeout`.
    pub fn new(max: usize, max_per_address: usize, timeout: Duration) -> Handshakes {
        Handshakes {
            in_progress: 0,
            max,
            max_per_address,
            timeout,
            per_address: PerAddress::default(),
            deadlines: Deadlines::new(),
        }
    }

    /// True when no other may start: the TLS listeners wait.
    pub fn is_full(&self) -> bool {
        self.in_progress >= self.max
    }

    /// Handshakes in progress.
    pub fn len(&self) -> usize {
        self.in_progress
    }

    /// True when none is in progress.
    pub fn is_empty(&self) -> bool {
        self.in_progress == 0
    }

    /// Counts a handshake of `id` from `address` starting at `now`, unless that
    /// address has its limit in progress already (a `trusted` one has none). Returns
    /// whether it was counted.
    pub fn try_start(
        &mut self,
        id: ClientId,
        address: IpAddr,
        trusted: bool,
        now: Instant,
    ) -> bool {
        let limit = if trusted { 0 } else { self.max_per_address };
        if !self.per_address.try_add(AddressKey::of(address), limit) {
            return false;
        }
        self.in_progress += 1;
        self.deadlines.schedule(now + self.timeout, id);
        true
    }

    /// A handshake from `address` is over, done or not.
    pub fn finish(&mut self, address: IpAddr) {
        self.per_address.remove(AddressKey::of(address));
        self.in_progress -= 1;
    }

    /// A connection whose deadline has passed (it may have finished its handshake).
    pub fn pop_due(&mut self, now: Instant) -> Option<ClientId> {
        self.deadlines.pop_due(now)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.next()
    }

    /// Drops the deadlines of handshakes that are over, once they outnumber those in
    /// progress by [`STALE_DEADLINES`]: each costs memory and a wake-up, and an accept
    /// rate times `--login-timeout` of them would pile up otherwise. `in_progress`
    /// says whether a connection is still in its handshake.
    pub fn sweep(&mut self, in_progress: impl Fn(ClientId) -> bool) {
        if self.deadlines.len() > self.in_progress * 2 + STALE_DEADLINES {
            self.deadlines.retain(|&id| in_progress(id));
        }
    }
}

/// Deadlines of finished handshakes tolerated before they are swept.
pub const STALE_DEADLINES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[test]
    fn counts_in_total_and_per_address_and_yields_deadlines() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(1);
        let (a, b) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2]));
        let mut shakes = Handshakes::new(3, 2, TIMEOUT);
        assert!(shakes.try_start(ClientId::new(1, 1), a, false, later));
        assert!(shakes.try_start(ClientId::new(2, 2), a, false, later));
        assert!(
            !shakes.try_start(ClientId::new(3, 3), a, false, later),
            "a's third"
        );
        assert!(!shakes.is_full());
        assert!(shakes.try_start(ClientId::new(4, 4), b, false, t0));
        assert!(shakes.is_full());
        shakes.finish(a);
        assert!(!shakes.is_full());
        assert!(
            shakes.try_start(ClientId::new(5, 5), a, false, later),
            "a has room again"
        );
        assert_eq!(shakes.len(), 3);
        let due = t0 + TIMEOUT;
        assert_eq!(shakes.next_deadline(), Some(due));
        assert_eq!(shakes.pop_due(due), Some(ClientId::new(4, 4)));
        assert_eq!(shakes.pop_due(due), None);
    }

    #[test]
    fn a_trusted_address_has_no_limit_of_its_own() {
        let now = Instant::now();
        let a = IpAddr::from([192, 0, 2, 1]);
        let mut shakes = Handshakes::new(10, 1, TIMEOUT);
        assert!(shakes.try_start(ClientId::new(1, 1), a, false, now));
        assert!(!shakes.try_start(ClientId::new(2, 2), a, false, now));
        assert!(shakes.try_start(ClientId::new(3, 3), a, true, now));
    }

    #[test]
    fn deadlines_of_finished_handshakes_are_swept_once_they_pile_up() {
        let now = Instant::now();
        let address = IpAddr::from([192, 0, 2, 1]);
        let mut shakes = Handshakes::new(usize::MAX, 0, TIMEOUT);
        let total = STALE_DEADLINES + 10;
        for i in 0..total {
            assert!(shakes.try_start(ClientId::new(i, i as u32), address, false, now));
            if i > 0 {
                shakes.finish(address);
            }
        }
        // One is still in progress; the others finished but left their deadlines.
        shakes.sweep(|id| id.slot() == 0);
        assert_eq!(shakes.deadlines.len(), 1);
        // Below the threshold nothing is swept.
        for i in 1..10 {
            assert!(shakes.try_start(ClientId::new(i, i as u32), address, false, now));
            shakes.finish(address);
        }
        shakes.sweep(|id| id.slot() == 0);
        assert_eq!(shakes.deadlines.len(), 10);
    }
}
