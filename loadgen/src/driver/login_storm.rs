//! The login storm's side of the loop. In setup each account connects, registers with
//! `/register <name> <password>` and, once `REGISTERED` says the account is committed,
//! quits, so that it is offline and free to log in to. When the baseline window is
//! over, every account connects again (at most `--concurrency` not yet greeted) and
//! sends `/login` the moment its `HELLO` arrives, while the bystanders go on chatting;
//! the storm ends when every login has its answer (`WELCOME`, an `ERR` line, or a
//! closed connection), and the drain follows.

use crate::clock::{now_ns, ns};
use crate::conn::State;

use super::phases::Phase;
use super::Driver;

/// Every account's password. One for all: a check costs the hashing worker the same
/// whatever the password, and a run's accounts live in its own database. At least 8
/// characters and unlike any name, as the server asks.
const PASSWORD: &str = "loadgen-storm-password";

impl Driver {
    /// `HELLO` to account `i`: in setup it registers; in the storm it logs in.
    pub(super) fn on_account_hello(&mut self, i: usize, now: u64) {
        let login = self
            .login_storm
            .as_ref()
            .is_some_and(|ls| ls.in_login_round(i));
        let c = &mut self.conns.clients[i];
        if login {
            c.state = State::LoggingIn;
            c.out.extend_from_slice(b"/login ");
        } else {
            c.times.hello = now;
            let took = now.saturating_sub(c.times.start);
            self.measure.stats.admission.saturating_record(took);
            c.state = State::Registering;
            c.out.extend_from_slice(b"/register ");
        }
        c.out.extend_from_slice(&self.setup.name_prefix);
        c.out.extend_from_slice(i.to_string().as_bytes());
        c.out.push(b' ');
        c.out.extend_from_slice(PASSWORD.as_bytes());
        c.out.push(b'\n');
        self.flush(i);
        if login {
            // Stamped once written: the login's latency is the server's alone.
            if let Some(ls) = self.login_storm.as_mut() {
                ls.on_login_sent(i, now_ns());
            }
        }
    }

    /// `REGISTERED`: account `i` exists and is committed. It counts as set up, and
    /// quits; setup waits for its connection to close.
    pub(super) fn on_registered(&mut self, i: usize, now: u64) {
        let c = &mut self.conns.clients[i];
        if c.state != State::Registering || c.quitting {
            return;
        }
        c.times.ready = now;
        let took = now.saturating_sub(c.times.start);
        self.measure.stats.ready.saturating_record(took);
        self.setup.times.last_ready_at = now;
        let since_hello = now.saturating_sub(c.times.hello);
        c.quitting = true;
        c.out.extend_from_slice(b"/quit\n");
        if let Some(ls) = self.login_storm.as_mut() {
            ls.on_registered(i, since_hello);
        }
        self.flush(i);
    }

    /// `WELCOME` to client `i`: an account logging in is now logged in.
    pub(super) fn on_welcome(&mut self, i: usize, now: u64) {
        if self.conns.clients[i].state != State::LoggingIn {
            return;
        }
        let Some(ls) = self.login_storm.as_mut() else {
            return;
        };
        if ls.on_welcome(i, now) {
            self.conns.clients[i].state = State::Ready;
            self.conns.ready_now += 1;
        }
    }

    /// `ERR <code>` to account `i` logging in: its login was refused. It quits, so
    /// that its connection ends as the loadgen asked and only the refusal counts.
    pub(super) fn on_login_refused(&mut self, i: usize, code: &[u8]) {
        let code = String::from_utf8_lossy(code);
        let Some(ls) = self.login_storm.as_mut() else {
            return;
        };
        if !ls.on_refused(i, &code) {
            return;
        }
        self.notes.add(format!("login refused: ERR {code}"));
        let c = &mut self.conns.clients[i];
        c.quitting = true;
        c.out.extend_from_slice(b"/quit\n");
        self.flush(i);
    }

    /// The baseline window is over: the storm begins. The CPU readings of the baseline
    /// are kept aside; the run's own readings cover the storm.
    pub(super) fn begin_storm(&mut self, now: u64) {
        self.measure.usage_end(now);
        let baseline = self.measure.usage;
        let Some(ls) = self.login_storm.as_mut() else {
            return;
        };
        ls.baseline_usage = baseline;
        ls.begin(now);
        self.measure.usage_start(now);
        self.timeline.phase = Phase::Storm {
            until: now + ns(self.cfg.timeout),
        };
        self.start_logins(now);
    }

    /// Connects accounts for their logins until `--concurrency` are not greeted yet.
    pub(super) fn start_logins(&mut self, now: u64) {
        loop {
            let Some(ls) = self.login_storm.as_mut() else {
                return;
            };
            if ls.connecting >= self.cfg.concurrency {
                return;
            }
            let Some(i) = ls.next_to_connect() else {
                return;
            };
            // Setup ended with every registration's connection closed.
            self.conns.clients[i].reopen();
            self.connect_client(i, now);
        }
    }

    /// The storm ends when every login has its answer, or gives up at `until`; then
    /// the bystanders stop and the drain begins.
    pub(super) fn advance_storm(&mut self, now: u64, until: u64) {
        let Some(ls) = self.login_storm.as_mut() else {
            return;
        };
        let answered = ls.all_answered();
        if !answered && now < until {
            return;
        }
        ls.end(now);
        if !answered {
            let open = ls.open();
            self.notes.add(format!(
                "{open} logins had no answer within {:?} (--timeout)",
                self.cfg.timeout
            ));
        }
        self.measure.usage_end(now);
        self.start_drain(now);
    }
}
