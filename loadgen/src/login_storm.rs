//! Bookkeeping of the login-storm scenario: each account's way from registration to
//! its login in the storm, the times that give the login rate and latency, the logins
//! refused (by code) or lost, and the bystanders' latency while logins are under way.
//! Pure logic; the driver feeds it what it sends and reads.
//!
//! The login rate is the logins welcomed over the span from the first `/login` written
//! to the last `WELCOME` read. The bystanders' storm latency holds the messages
//! *scheduled* from that first `/login` until the last login was answered (welcomed,
//! refused or lost), whenever they arrive, just as the baseline window holds those
//! scheduled in it: a message sent at the end of the storm and held up by it counts.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::driver::outcome::Usage;
use crate::stats::{new_hist, Disturbed};

/// Where one account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// Not registered: setup did not get it an account.
    Unregistered,
    /// Registered; its login has not begun.
    Registered,
    /// Connecting for its login, not greeted yet.
    Connecting,
    /// `/login` sent, not answered yet.
    Sent,
    /// Welcomed: logged in.
    LoggedIn,
    /// Refused with an `ERR` line.
    Refused,
    /// Its connection closed, or could not be made, before an answer.
    Lost,
}

/// The login-storm scenario's state and findings.
#[derive(Debug)]
pub struct LoginStormRun {
    /// Client index of the first account; the accounts are the clients from there on.
    first: usize,
    /// Per account: where it is.
    status: Vec<Login>,
    /// Per account: when its `/login` was written.
    sent_at: Vec<u64>,
    /// The next account to connect in the storm.
    next: usize,
    /// Storm connections not greeted yet.
    pub connecting: usize,
    /// Accounts that setup registered.
    pub registered: u64,
    /// From `HELLO` to `REGISTERED`: a hash and a commit, behind the registrations
    /// ahead of it.
    pub register_time: Histogram<u64>,
    /// When the storm began (its first connect); 0 before.
    pub begun_at: u64,
    /// When the last `WELCOME` was read; 0 before.
    pub last_welcome_at: u64,
    /// `/login` lines written.
    pub sent: u64,
    /// Logins welcomed.
    pub logged_in: u64,
    /// Logins refused with an `ERR` line.
    pub refused: u64,
    /// Those refusals by error code.
    pub refused_by_code: BTreeMap<String, u64>,
    /// Logins whose connection closed (or never opened) before an answer.
    pub lost: u64,
    /// Logins with no answer when the storm gave up.
    pub unanswered: u64,
    /// From `/login` written to `WELCOME` read.
    pub login_time: Histogram<u64>,
    /// Bystanders' message latency, of the messages scheduled from the first `/login`
    /// written until every login was answered (or the storm gave up).
    pub bystanders: Disturbed,
    /// CPU over the baseline window (the run's own usage covers the storm).
    pub baseline_usage: Usage,
}

impl LoginStormRun {
    /// Nothing registered yet, for `accounts` accounts from client index `first` on.
    pub fn new(first: usize, accounts: usize) -> LoginStormRun {
        LoginStormRun {
            first,
            status: vec![Login::Unregistered; accounts],
            sent_at: vec![0; accounts],
            next: 0,
            connecting: 0,
            registered: 0,
            register_time: new_hist(),
            begun_at: 0,
            last_welcome_at: 0,
            sent: 0,
            logged_in: 0,
            refused: 0,
            refused_by_code: BTreeMap::new(),
            lost: 0,
            unanswered: 0,
            login_time: new_hist(),
            bystanders: Disturbed::new(),
            baseline_usage: Usage::default(),
        }
    }

    /// The account number of client `i`, if it is an account.
    fn account(&self, i: usize) -> Option<usize> {
        let k = i.checked_sub(self.first)?;
        (k < self.status.len()).then_some(k)
    }

    /// Accounts of the run.
    pub fn accounts(&self) -> usize {
        self.status.len()
    }

    /// Whether client `i` is an account whose connection now is its storm login (not
    /// its registration).
    pub fn in_login_round(&self, i: usize) -> bool {
        self.begun_at > 0 && self.account(i).is_some()
    }

    /// Client `i` got `REGISTERED`, `took` after its `HELLO`.
    pub fn on_registered(&mut self, i: usize, took: u64) {
        let Some(k) = self.account(i) else {
            return;
        };
        if self.status[k] == Login::Unregistered {
            self.status[k] = Login::Registered;
            self.registered += 1;
            self.register_time.saturating_record(took);
        }
    }

    /// The storm begins at `now`.
    pub fn begin(&mut self, now: u64) {
        self.begun_at = now.max(1);
    }

    /// The next registered account to connect for its login (its client index), now
    /// counted as connecting; `None` when every one has begun.
    pub fn next_to_connect(&mut self) -> Option<usize> {
        while self.next < self.status.len() {
            let k = self.next;
            self.next += 1;
            if self.status[k] == Login::Registered {
                self.status[k] = Login::Connecting;
                self.connecting += 1;
                return Some(self.first + k);
            }
        }
        None
    }

    /// Client `i` wrote its `/login` at `now`.
    pub fn on_login_sent(&mut self, i: usize, now: u64) {
        let Some(k) = self.account(i) else {
            return;
        };
        if self.status[k] != Login::Connecting {
            return;
        }
        self.status[k] = Login::Sent;
        self.connecting -= 1;
        self.sent_at[k] = now;
        self.sent += 1;
        self.bystanders.begin(now);
    }

    /// `WELCOME` to client `i` at `now`: `true` when it answered its `/login`.
    pub fn on_welcome(&mut self, i: usize, now: u64) -> bool {
        let Some(k) = self.account(i) else {
            return false;
        };
        if self.status[k] != Login::Sent {
            return false;
        }
        self.status[k] = Login::LoggedIn;
        self.logged_in += 1;
        self.login_time
            .saturating_record(now.saturating_sub(self.sent_at[k]));
        self.last_welcome_at = self.last_welcome_at.max(now);
        true
    }

    /// `ERR <code>` to client `i`: `true` when it refused its `/login`.
    pub fn on_refused(&mut self, i: usize, code: &str) -> bool {
        let Some(k) = self.account(i) else {
            return false;
        };
        if self.status[k] != Login::Sent {
            return false;
        }
        self.status[k] = Login::Refused;
        self.refused += 1;
        *self.refused_by_code.entry(code.to_owned()).or_insert(0) += 1;
        true
    }

    /// Client `i`'s connection closed: a login under way is lost.
    pub fn on_closed(&mut self, i: usize) {
        let Some(k) = self.account(i) else {
            return;
        };
        match self.status[k] {
            Login::Connecting => self.connecting -= 1,
            Login::Sent => {}
            _ => return,
        }
        self.status[k] = Login::Lost;
        self.lost += 1;
    }

    /// Logins begun (connecting or later) that have no answer yet.
    pub fn open(&self) -> u64 {
        self.status
            .iter()
            .filter(|&&s| matches!(s, Login::Connecting | Login::Sent))
            .count() as u64
    }

    /// Every registered account has begun its login and has its answer.
    pub fn all_answered(&self) -> bool {
        self.next == self.status.len()
            && self.logged_in + self.refused + self.lost == self.registered
    }

    /// The storm is over at `now`: logins still without an answer are unanswered.
    pub fn end(&mut self, now: u64) {
        self.bystanders.end(now);
        self.unanswered = self.registered - self.logged_in - self.refused - self.lost;
    }

    /// From the first `/login` written to the last `WELCOME` read; `None` without a
    /// login welcomed.
    pub fn span(&self) -> Option<u64> {
        (self.logged_in > 0).then(|| self.last_welcome_at.saturating_sub(self.bystanders.from))
    }

    /// Logins welcomed per second over [`span`](Self::span).
    pub fn logins_per_s(&self) -> f64 {
        match self.span() {
            Some(span) if span > 0 => self.logged_in as f64 / (span as f64 / 1e9),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three accounts at client indices 5, 6 and 7; the first two registered.
    fn run() -> LoginStormRun {
        let mut r = LoginStormRun::new(5, 3);
        r.on_registered(5, 30);
        r.on_registered(6, 50);
        r.on_registered(6, 70); // only once
        r.on_registered(4, 10); // a bystander
        r
    }

    #[test]
    fn only_registered_accounts_log_in() {
        let mut r = run();
        assert_eq!((r.registered, r.register_time.len()), (2, 2));
        assert!(!r.in_login_round(5), "before the storm: registration");
        r.begin(1_000);
        assert!(r.in_login_round(7) && !r.in_login_round(4) && !r.in_login_round(8));
        assert_eq!(r.next_to_connect(), Some(5));
        assert_eq!(r.next_to_connect(), Some(6));
        assert_eq!(r.next_to_connect(), None, "7 never registered");
        assert_eq!((r.connecting, r.open()), (2, 2));
        assert!(!r.all_answered());
    }

    #[test]
    fn the_rate_runs_from_the_first_login_to_the_last_welcome() {
        let mut r = run();
        r.begin(1_000);
        while r.next_to_connect().is_some() {}
        r.on_login_sent(6, 2_000_000);
        r.on_login_sent(5, 1_000_000);
        assert_eq!((r.bystanders.from, r.connecting, r.sent), (1_000_000, 0, 2));
        assert!(r.on_welcome(5, 26_000_000));
        assert!(!r.on_welcome(5, 27_000_000), "one answer per login");
        assert!(r.on_welcome(6, 51_000_000));
        assert!(r.all_answered());
        assert_eq!(r.span(), Some(50_000_000));
        assert!((r.logins_per_s() - 40.0).abs() < 1e-9);
        assert_eq!(
            r.login_time.max(),
            r.login_time.highest_equivalent(49_000_000)
        );
        r.end(60_000_000);
        assert_eq!(r.unanswered, 0);
    }

    #[test]
    fn refused_lost_and_unanswered_logins_are_told_apart() {
        let mut r = LoginStormRun::new(0, 4);
        for i in 0..4 {
            r.on_registered(i, 1);
        }
        r.begin(1);
        while r.next_to_connect().is_some() {}
        r.on_closed(0); // never greeted
        for i in 1..4 {
            r.on_login_sent(i, 10);
        }
        assert!(r.on_refused(1, "throttled"));
        assert!(!r.on_refused(1, "throttled"), "already answered");
        r.on_closed(2); // closed while waiting for the answer
        r.on_closed(1); // closed after its refusal: nothing more to count
        assert_eq!((r.refused, r.lost, r.connecting), (1, 2, 0));
        assert_eq!(r.refused_by_code.get("throttled"), Some(&1));
        assert!(!r.all_answered());
        assert_eq!(r.span(), None);
        assert_eq!(r.logins_per_s(), 0.0);
        r.end(100);
        assert_eq!(r.unanswered, 1);
    }

    #[test]
    fn bystander_messages_count_for_the_storm_by_their_scheduled_time() {
        let mut r = run();
        r.bystanders.on_delivery(500, 7); // before any login
        r.begin(1_000);
        while r.next_to_connect().is_some() {}
        r.bystanders.on_delivery(1_500, 7); // storm begun, but no /login written yet
        r.on_login_sent(5, 2_000);
        r.bystanders.on_delivery(2_000, 7);
        r.end(9_000);
        r.bystanders.on_delivery(8_999, 7); // scheduled in the storm, arrived after it
        r.bystanders.on_delivery(9_000, 7);
        assert_eq!(r.bystanders.latency.len(), 2);
    }
}
