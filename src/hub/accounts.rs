//! Accounts as the core holds them: who owns which name and with what credential,
//! which names are being registered, how many messages wait for each account, and the
//! failed password checks of each address.
//!
//! Credentials are data here: the core never hashes or compares a password. It hands
//! the credential and the password to a hashing worker ([`Request::Hash`]) and acts on
//! the verdict, so it stays sans-IO and its tests can use a fake hasher.
//!
//! [`Request::Hash`]: super::Request::Hash

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::address::AddressKey;
use super::names::Folded;
use crate::password::Credential;

/// How long failed password checks count against their address.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(60);

/// One account.
#[derive(Debug)]
pub(super) struct Account {
    /// The name as first spelled.
    pub name: Arc<str>,
    pub credential: Credential,
    /// Changes with every new credential, so that a check made against an older one
    /// cannot log in (see `Pending::Login`).
    pub version: u64,
    /// Private messages stored for it, waiting for its next login.
    pub waiting: usize,
}

/// Every account, by folded name.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    by_key: HashMap<Box<str>, Account>,
    /// The version the next credential gets.
    next_version: u64,
}

impl Accounts {
    /// The account called `name` (any case), if there is one.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.by_key.get(Folded::new(name)?.as_str())
    }

    /// The account called `name` (any case), if there is one.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Account> {
        self.by_key.get_mut(Folded::new(name)?.as_str())
    }

    /// True when `name` (any case) is an account.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Creates the account `name`, or gives it a new credential; the messages waiting
    /// for it stay.
    pub fn upsert(&mut self, name: &Arc<str>, credential: Credential) {
        let Some(key) = Folded::new(name) else {
            return;
        };
        self.next_version += 1;
        let version = self.next_version;
        self.by_key
            .entry(key.as_str().into())
            .and_modify(|account| {
                account.credential = credential.clone();
                account.version = version;
            })
            .or_insert_with(|| Account {
                name: Arc::clone(name),
                credential,
                version,
                waiting: 0,
            });
    }

    /// Deletes the account `name`.
    pub fn remove(&mut self, name: &str) -> Option<Account> {
        self.by_key.remove(Folded::new(name)?.as_str())
    }

    /// Replaces every account with `accounts`, each a name, its credential and the
    /// count of messages waiting for it; an account that stays keeps its own count if
    /// that is higher. Every credential gets a new version.
    pub fn replace(&mut self, accounts: impl IntoIterator<Item = (Arc<str>, Credential, usize)>) {
        let mut old = std::mem::take(&mut self.by_key);
        for (name, credential, mut waiting) in accounts {
            let Some(key) = Folded::new(&name) else {
                continue;
            };
            if let Some(before) = old.remove(key.as_str()) {
                waiting = waiting.max(before.waiting);
            }
            self.next_version += 1;
            let account = Account {
                name,
                credential,
                version: self.next_version,
                waiting,
            };
            self.by_key.insert(key.as_str().into(), account);
        }
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// Password checks by address: after `attempts` failures within [`THROTTLE_WINDOW`],
/// the address is throttled until a window has passed since its latest failure.
/// Checks still running count as failures-to-be, so that many connections from one
/// address, each with a check out at once, cannot make more guesses than one could.
#[derive(Debug)]
pub(super) struct Throttle {
    attempts: usize,
    by_address: HashMap<AddressKey, Tries>,
    /// Every failure in time order, so that addresses whose failures have all expired
    /// are forgotten without a scan of the table.
    expiry: VecDeque<(Instant, AddressKey)>,
}

/// One address's password checks.
#[derive(Debug, Default)]
struct Tries {
    /// The latest failures (at most `attempts`), oldest first.
    failures: VecDeque<Instant>,
    /// Checks handed to a worker and not finished.
    running: usize,
    /// Throttled until then.
    until: Option<Instant>,
}

impl Tries {
    /// Nothing left to remember at `now`.
    fn is_spent(&self, now: Instant) -> bool {
        self.running == 0
            && self.until.is_none_or(|until| now >= until)
            && self
                .failures
                .back()
                .is_none_or(|&last| now >= last + THROTTLE_WINDOW)
    }
}

impl Throttle {
    /// Throttles after `attempts` failures (0: never).
    pub fn new(attempts: usize) -> Throttle {
        Throttle {
            attempts,
            by_address: HashMap::new(),
            expiry: VecDeque::new(),
        }
    }

    /// True while `address` may not try a password.
    pub fn is_throttled(&mut self, address: AddressKey, now: Instant) -> bool {
        self.forget_expired(now);
        if self.attempts == 0 {
            return false;
        }
        let Some(tries) = self.by_address.get(&address) else {
            return false;
        };
        let recent = tries
            .failures
            .iter()
            .filter(|&&at| now < at + THROTTLE_WINDOW)
            .count();
        tries.until.is_some_and(|until| now < until) || recent + tries.running >= self.attempts
    }

    /// A check from `address` was handed to a worker.
    pub fn started(&mut self, address: AddressKey) {
        if self.attempts > 0 {
            self.by_address.entry(address).or_default().running += 1;
        }
    }

    /// A check from `address` finished at `now`, and failed unless `passed`.
    pub fn finished(&mut self, address: AddressKey, passed: bool, now: Instant) {
        if self.attempts == 0 {
            return;
        }
        self.forget_expired(now);
        let tries = self.by_address.entry(address).or_default();
        tries.running = tries.running.saturating_sub(1);
        if !passed {
            if tries.failures.len() == self.attempts {
                tries.failures.pop_front();
            }
            tries.failures.push_back(now);
            self.expiry.push_back((now, address));
            let first = tries.failures.front().copied().unwrap_or(now);
            if tries.failures.len() >= self.attempts && now.duration_since(first) <= THROTTLE_WINDOW
            {
                tries.until = Some(now + THROTTLE_WINDOW);
            }
        }
        if tries.is_spent(now) {
            self.by_address.remove(&address);
        }
    }

    /// Drops addresses whose failures have all expired and that have nothing running.
    fn forget_expired(&mut self, now: Instant) {
        while let Some(&(at, address)) = self.expiry.front() {
            if now < at + THROTTLE_WINDOW {
                break;
            }
            self.expiry.pop_front();
            if self
                .by_address
                .get(&address)
                .is_some_and(|tries| tries.is_spent(now))
            {
                self.by_address.remove(&address);
            }
        }
    }

    /// Addresses on record, for tests of the bound.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.by_address.len()
    }
}

/// Password work a client waits for, kept until its completion arrives (even if the
/// client has gone meanwhile: a failed check still counts against its address, and a
/// name being registered stays reserved until the work is done).
#[derive(Debug)]
pub(super) enum Pending {
    /// `/login`: checking the password of `name`.
    Login {
        /// The name as typed, for the log.
        name: Box<str>,
        /// The version of the credential being checked (`None`: no such account), so
        /// that a password changed meanwhile is not logged in to with the old one.
        version: Option<u64>,
        address: IpAddr,
        serial: u64,
    },
    /// `/register`: hashing, then storing, the account `name`; `named` when the caller
    /// registers the name it has.
    Register { name: Arc<str>, named: bool },
    /// `/passwd`: checking the old password, then storing the new one.
    Passwd { address: IpAddr, serial: u64 },
    /// `/unregister`: checking the password, then deleting the account.
    Unregister { address: IpAddr, serial: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> AddressKey {
        AddressKey::of(text.parse().unwrap())
    }

    #[test]
    fn addresses_count_by_ipv4_host_or_ipv6_64() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
        assert_eq!(key("10.0.0.1"), key("::ffff:10.0.0.1"));
    }

    /// A check from `address` that fails at `at`.
    fn fail(throttle: &mut Throttle, address: AddressKey, at: Instant) {
        throttle.started(address);
        throttle.finished(address, false, at);
    }

    #[test]
    fn throttles_after_the_attempts_until_a_window_after_the_last_failure() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(3);
        let a = key("192.0.2.1");
        fail(&mut throttle, a, t0);
        fail(&mut throttle, a, t0 + Duration::from_secs(20));
        assert!(!throttle.is_throttled(a, t0 + Duration::from_secs(21)));
        fail(&mut throttle, a, t0 + Duration::from_secs(40));
        assert!(throttle.is_throttled(a, t0 + Duration::from_secs(41)));
        assert!(!throttle.is_throttled(key("192.0.2.2"), t0 + Duration::from_secs(41)));
        // The first failure expires at 60 s, but the throttle lasts until 60 s after
        // the last one.
        assert!(throttle.is_throttled(a, t0 + Duration::from_secs(99)));
        assert!(!throttle.is_throttled(a, t0 + Duration::from_secs(100)));
        assert_eq!(throttle.tracked(), 0, "expired addresses are forgotten");
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_throttle() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(2);
        let a = key("192.0.2.1");
        fail(&mut throttle, a, t0);
        fail(&mut throttle, a, t0 + Duration::from_secs(61));
        assert!(!throttle.is_throttled(a, t0 + Duration::from_secs(62)));
        fail(&mut throttle, a, t0 + Duration::from_secs(62));
        assert!(throttle.is_throttled(a, t0 + Duration::from_secs(63)));
    }

    #[test]
    fn checks_still_running_count_until_they_pass() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(2);
        let a = key("192.0.2.1");
        throttle.started(a);
        throttle.started(a);
        assert!(throttle.is_throttled(a, t0), "two guesses are out already");
        throttle.finished(a, true, t0);
        assert!(!throttle.is_throttled(a, t0));
        throttle.finished(a, true, t0);
        assert_eq!(throttle.tracked(), 0, "passed checks leave nothing behind");
    }

    #[test]
    fn a_late_failure_extends_the_throttle_from_itself() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(2);
        let a = key("192.0.2.1");
        fail(&mut throttle, a, t0);
        fail(&mut throttle, a, t0 + Duration::from_secs(1));
        // A check that was already out when the throttle began fails late.
        throttle.started(a);
        throttle.finished(a, false, t0 + Duration::from_secs(50));
        assert!(throttle.is_throttled(a, t0 + Duration::from_secs(109)));
        assert!(!throttle.is_throttled(a, t0 + Duration::from_secs(110)));
    }

    #[test]
    fn zero_attempts_never_throttles() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(0);
        let a = key("192.0.2.1");
        for _ in 0..10 {
            fail(&mut throttle, a, t0);
        }
        assert!(!throttle.is_throttled(a, t0));
        assert_eq!(throttle.tracked(), 0);
    }
}
