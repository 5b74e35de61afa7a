//! Connections coming and going: admission, the waiting queue and its position
//! updates, the login deadline, liveness pings, and departures.

use std::net::IpAddr;
use std::time::Instant;

use log::{debug, info};

use super::address::AddressKey;
use super::names::Folded;
use super::session::{Link, Phase, Session, Waiting};
use super::{
    ByeReason, ClientId, Effects, Event, Hub, LeaveReason, Timer, QUEUE_CHECK_EVERY,
    QUEUE_UPDATE_MIN_GAP,
};

impl Hub {
    /// A new connection `client` (log number `serial`, from `address`, over `link`)
    /// whose transport is ready: admitted with [`Event::Hello`], queued with [`Event::Queued`], or
    /// turned away with `Bye(AddressLimit)` when its address holds `max_per_address`
    /// connections already (unless trusted), or `Bye(ServerFull)`.
    pub fn connect(
        &mut self,
        client: ClientId,
        serial: u64,
        address: IpAddr,
        link: Link,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let key = AddressKey::of(address);
        let limit = if self.limits.trusted.contains(address) {
            0
        } else {
            self.limits.max_per_address
        };
        if !self.per_address.try_add(key, limit) {
            info!("#{serial} turned away: {limit} connections from {address} already");
            out.send(client, &Event::Bye(ByeReason::AddressLimit));
            out.close(client);
            return;
        }
        let phase = if self.admitted < self.limits.max_clients {
            self.admitted += 1;
            out.send(client, &Event::Hello);
            debug!("#{serial} admitted");
            Phase::Greeted
        } else if self.queue.len() < self.limits.max_queue {
            let ticket = self.queue.push(client);
            let position = self.queue.len();
            out.send(client, &Event::Queued { position });
            info!("#{serial} queued at position {position}");
            Phase::Waiting(Waiting {
                ticket,
                shown: position,
                shown_at: now,
            })
        } else {
            info!("#{serial} turned away: server and queue full");
            self.per_address.remove(key);
            out.send(client, &Event::Bye(ByeReason::ServerFull));
            out.close(client);
            return;
        };
        let greeted = matches!(phase, Phase::Greeted);
        self.sessions.insert(Session {
            id: client,
            serial,
            address,
            link,
            phase,
            last_input: now,
            ping_outstanding: false,
            echo: false,
            timers: 0,
        });
        self.schedule(now + self.limits.ping_after, Timer::Liveness(client));
        if greeted {
            self.schedule(now + self.limits.login_timeout, Timer::Login(client));
        }
    }

    /// Forgets `client` wherever it is: queue, slot, name, rooms (telling them `reason`).
    pub(super) fn depart(
        &mut self,
        client: ClientId,
        reason: LeaveReason,
        text: &str,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let Some(session) = self.sessions.remove(client) else {
            return;
        };
        self.dead_timers += usize::from(session.timers);
        self.per_address.remove(AddressKey::of(session.address));
        let serial = session.serial;
        match session.phase {
            Phase::Waiting(waiting) => {
                info!("#{serial} left: {}", reason.as_str());
                let sessions = &mut self.sessions;
                self.queue.remove(waiting.ticket, |c, ticket| {
                    if let Some(Phase::Waiting(w)) = sessions.get_mut(c).map(|s| &mut s.phase) {
                        w.ticket = ticket;
                    }
                });
                self.queue_changed(now);
            }
            Phase::Greeted => {
                info!("#{serial} left: {}", reason.as_str());
                self.admitted -= 1;
            }
            Phase::Named(user) => {
                info!("#{serial} ({}) left: {}", user.name, reason.as_str());
                self.admitted -= 1;
                if let Some(key) = Folded::new(&user.name) {
                    self.names.remove(key.as_str());
                }
                for membership in user.joined.into_iter().rev() {
                    self.part(client, &user.name, membership, reason, text, out);
                }
            }
        }
        self.admit_waiting(now, out);
    }

    /// Closes `client` for not keeping up its end: no name or no `PONG` in time.
    fn time_out(&mut self, client: ClientId, now: Instant, out: &mut impl Effects) {
        self.depart(client, LeaveReason::Timeout, "", now, out);
        out.send(client, &Event::Bye(ByeReason::Timeout));
        out.close(client);
    }

    fn admit_waiting(&mut self, now: Instant, out: &mut impl Effects) {
        while self.admitted < self.limits.max_clients {
            let Some(client) = self.queue.pop() else {
                break;
            };
            let Some(session) = self.sessions.get_mut(client) else {
                continue;
            };
            self.admitted += 1;
            session.phase = Phase::Greeted;
            info!("#{} admitted from the queue", session.serial);
            out.send(client, &Event::Hello);
            self.schedule(now + self.limits.login_timeout, Timer::Login(client));
            self.queue_changed(now);
        }
    }

    /// Positions behind a change moved: make sure a queue check is pending.
    fn queue_changed(&mut self, now: Instant) {
        if self.queue_check_at.is_none() && !self.queue.is_empty() {
            let at = now + QUEUE_CHECK_EVERY;
            self.queue_check_at = Some(at);
            self.timers.schedule(at, Timer::QueueCheck);
        }
    }

    /// Sends `QUEUED` to waiting clients whose position changed, at most once per
    /// [`QUEUE_UPDATE_MIN_GAP`] each; those too recently told are retried later.
    pub(super) fn check_queue(&mut self, now: Instant, out: &mut impl Effects) {
        self.queue_check_at = None;
        let mut retry_at: Option<Instant> = None;
        for (index, client) in self.queue.iter().enumerate() {
            let position = index + 1;
            let Some(Phase::Waiting(w)) = self.sessions.get_mut(client).map(|s| &mut s.phase)
            else {
                continue;
            };
            if w.shown == position {
                continue;
            }
            let allowed_at = w.shown_at + QUEUE_UPDATE_MIN_GAP;
            if allowed_at <= now {
                w.shown = position;
                w.shown_at = now;
                out.send(client, &Event::Queued { position });
            } else {
                retry_at = Some(retry_at.map_or(allowed_at, |r| r.min(allowed_at)));
            }
        }
        if let Some(at) = retry_at {
            let at = at.max(now + QUEUE_CHECK_EVERY);
            self.queue_check_at = Some(at);
            self.timers.schedule(at, Timer::QueueCheck);
        }
    }

    /// The login deadline passed: a client still without a name is closed.
    pub(super) fn check_login(&mut self, client: ClientId, now: Instant, out: &mut impl Effects) {
        let Some(session) = self.sessions.get(client) else {
            return;
        };
        if let Phase::Greeted = session.phase {
            info!("#{} not named in time", session.serial);
            self.time_out(client, now, out);
        }
    }

    /// Pings a quiet client, or drops one that did not answer.
    pub(super) fn check_liveness(
        &mut self,
        client: ClientId,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let (ping_after, ping_timeout) = (self.limits.ping_after, self.limits.ping_timeout);
        let Some(session) = self.sessions.get_mut(client) else {
            return;
        };
        if session.ping_outstanding {
            info!("#{} did not answer PING", session.serial);
            self.time_out(client, now, out);
            return;
        }
        let due = session.last_input + ping_after;
        if due <= now {
            session.ping_outstanding = true;
            self.next_ping_token += 1;
            out.send(
                client,
                &Event::Ping {
                    token: self.next_ping_token,
                },
            );
            self.schedule(now + ping_timeout, Timer::Liveness(client));
        } else {
            self.schedule(due, Timer::Liveness(client));
        }
    }
}
