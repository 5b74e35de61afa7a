//! Accounts' commands: `/login`, `/register`, `/passwd`, `/unregister`, `/nick`, the
//! rules accounts add to `/name`, and the private messages stored for offline accounts.
//!
//! Every command that needs a password checked or hashed asks a hashing worker
//! ([`Request::Hash`]) and finishes in [`Hub::complete`]; a change to an account is
//! acknowledged only once the store has committed it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use log::{info, warn};

use super::accounts::Pending;
use super::address::AddressKey;
use super::effects::{HashJob, Hashed};
use super::names::{self, Folded};
use super::session::{Link, Me, Phase};
use super::{
    ClientId, Completion, Effects, Error, ErrorCode, Event, Handled, Hub, Request, StoredAccount,
    StoredMessage, Write,
};
use crate::password::{Credential, Password};

/// The fewest characters (code points) a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl Hub {
    /// Loads the accounts kept by the store, with the counts of messages waiting for
    /// each. Accounts may change with `/register`, `/passwd` and `/unregister`.
    pub fn restore_accounts(&mut self, accounts: Vec<StoredAccount>) {
        self.accounts_fixed = false;
        self.accounts.replace(accounts.into_iter().map(|stored| {
            let credential = Credential::Phc(stored.phc.into());
            (stored.name.into(), credential, stored.waiting)
        }));
    }

    /// Sets the accounts from a users file (`--accounts-file`), at start or on reload:
    /// the file alone holds the accounts, so commands that would change them get
    /// `registration-closed`. `waiting` counts the messages stored for each account
    /// (by name, any case); an account that stays keeps its own count. Users logged in
    /// to an account that the file no longer has stay online until they leave.
    pub fn set_file_accounts(
        &mut self,
        accounts: impl IntoIterator<Item = (String, Credential)>,
        waiting: impl Fn(&str) -> usize,
    ) {
        self.accounts_fixed = true;
        self.accounts
            .replace(accounts.into_iter().map(|(name, credential)| {
                let count = waiting(&name);
                (name.into(), credential, count)
            }));
    }

    /// How many accounts there are.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The checks accounts add to `/name` (and to a first plain line taken as a name),
    /// after `already-named` and `bad-name`.
    pub(super) fn check_free_name(&self, key: &Folded) -> Handled {
        if self.limits.require_login {
            return Err(ErrorCode::LoginRequired.into());
        }
        if self.name_in_use(key) {
            return Err(ErrorCode::NameTaken.into());
        }
        if self.accounts.contains(key.as_str()) {
            return Err(ErrorCode::NameRegistered.into());
        }
        Ok(())
    }

    /// True when `key` is online, or is being registered by someone.
    fn name_in_use(&self, key: &Folded) -> bool {
        self.names.contains_key(key.as_str())
            || self.reserved.contains_key(key.as_str())
            || key.as_str() == names::SERVICE
    }

    /// `registration-closed`: accounts cannot change here.
    fn check_registration_open(&self) -> Handled {
        if self.accounts_fixed || !self.limits.registration_open {
            Err(ErrorCode::RegistrationClosed.into())
        } else {
            Ok(())
        }
    }

    /// `weak-password`: too short, or the name itself.
    fn check_strength(name: &str, password: &str) -> Handled {
        if password.chars().count() < MIN_PASSWORD_CHARS || password.eq_ignore_ascii_case(name) {
            Err(ErrorCode::WeakPassword.into())
        } else {
            Ok(())
        }
    }

    /// `tls-required`: passwords may not cross this connection in clear. Loopback
    /// connections never leave the machine, so they may.
    fn check_link(&self, client: ClientId) -> Handled {
        let Some(session) = self.sessions.get(client) else {
            return Ok(());
        };
        let loopback = match session.address {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
        if self.limits.passwords_need_tls && session.link == Link::Clear && !loopback {
            Err(ErrorCode::TlsRequired.into())
        } else {
            Ok(())
        }
    }

    /// `throttled` for lack of room: as many password jobs as the hashing workers and
    /// their queue hold are out already.
    fn check_hash_room(&self) -> Handled {
        if self.hashing >= self.limits.hash_workers + self.limits.hash_queue {
            Err(ErrorCode::Throttled.into())
        } else {
            Ok(())
        }
    }

    /// `throttled` for an address with too many failed checks (unless trusted), or for
    /// lack of room.
    fn check_throttle(&mut self, address: IpAddr, now: Instant) -> Handled {
        if !self.limits.trusted.contains(address)
            && self.throttle.is_throttled(AddressKey::of(address), now)
        {
            return Err(ErrorCode::Throttled.into());
        }
        self.check_hash_room()
    }

    /// Hands `job` to a hashing worker for `client`, remembering what it was for. A
    /// job that checks a password counts against its address until it is done.
    fn hash(&mut self, client: ClientId, job: HashJob, pending: Pending, out: &mut impl Effects) {
        if let Pending::Login { address, .. }
        | Pending::Passwd { address, .. }
        | Pending::Unregister { address, .. } = pending
        {
            self.throttle.started(AddressKey::of(address));
        }
        self.hashing += 1;
        self.pending.insert(client, pending);
        out.request(client, Request::Hash(job));
    }

    /// The address and log number of `client`.
    fn origin(&self, client: ClientId) -> Option<(IpAddr, u64)> {
        self.sessions
            .get(client)
            .map(|session| (session.address, session.serial))
    }

    /// `/login <name> <password>` (not named yet: the caller has checked).
    pub(super) fn login(
        &mut self,
        client: ClientId,
        name: &str,
        password: &str,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        let Some((address, serial)) = self.origin(client) else {
            return Ok(());
        };
        self.check_link(client)?;
        self.check_throttle(address, now)?;
        // An unknown name is checked against nothing, at the cost of a real check.
        let (credential, version) = match self.accounts.get(name) {
            Some(account) => (Some(account.credential.clone()), Some(account.version)),
            None => (None, None),
        };
        let job = HashJob {
            upgrade: !self.accounts_fixed,
            check: Some((credential, Password::new(password.to_owned()))),
            hash: None,
        };
        let pending = Pending::Login {
            name: name.into(),
            version,
            address,
            serial,
        };
        self.hash(client, job, pending, out);
        Ok(())
    }

    /// `/register`: the caller's own name when named, or `name` before naming.
    pub(super) fn register(
        &mut self,
        client: ClientId,
        name: Option<&str>,
        password: &str,
        out: &mut impl Effects,
    ) -> Handled {
        let Some(session) = self.sessions.get(client) else {
            return Ok(());
        };
        let (name, named) = match (&session.phase, name) {
            (Phase::Named(user), None) => {
                self.check_link(client)?;
                self.check_registration_open()?;
                if user.account {
                    return Err(ErrorCode::AlreadyRegistered.into());
                }
                // A guest holding a name that became an account meanwhile (its
                // registrant left before the commit) cannot register it again.
                if self.accounts.contains(&user.name) {
                    return Err(ErrorCode::NameRegistered.into());
                }
                (Arc::clone(&user.name), true)
            }
            (Phase::Greeted, Some(name)) => {
                let key = Folded::new(name).ok_or(ErrorCode::BadName)?;
                self.check_link(client)?;
                self.check_registration_open()?;
                if self.name_in_use(&key) {
                    return Err(ErrorCode::NameTaken.into());
                }
                if self.accounts.contains(key.as_str()) {
                    return Err(ErrorCode::NameRegistered.into());
                }
                (Arc::from(name), false)
            }
            _ => {
                return Err(Error {
                    code: ErrorCode::BadArgs,
                    detail: super::Detail::Usage(super::Verb::Register),
                })
            }
        };
        Hub::check_strength(&name, password)?;
        self.check_hash_room()?;
        // Held until the account is stored or the work fails, whoever holds the name
        // meanwhile: a registrant who leaves frees the name only once that is known.
        let key = Folded::new(&name).expect("checked or held already");
        self.reserved.insert(key.as_str().into(), client);
        let job = HashJob {
            upgrade: false,
            check: None,
            hash: Some(Password::new(password.to_owned())),
        };
        self.hash(client, job, Pending::Register { name, named }, out);
        Ok(())
    }

    /// The caller's account, or `not-registered`.
    fn own_account(&self, me: &Me) -> Result<Credential, Error> {
        let logged_in = self.sessions.user(me.id).is_some_and(|user| user.account);
        match self.accounts.get(&me.name) {
            Some(account) if logged_in => Ok(account.credential.clone()),
            _ => Err(ErrorCode::NotRegistered.into()),
        }
    }

    /// `/passwd <old> <new>` (with `new`) and `/unregister <password>` (without): both
    /// check the caller's password, in the same order of errors.
    pub(super) fn change_account(
        &mut self,
        me: &Me,
        password: &str,
        new: Option<&str>,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        self.check_link(me.id)?;
        self.check_registration_open()?;
        let credential = self.own_account(me)?;
        if let Some(new) = new {
            Hub::check_strength(&me.name, new)?;
        }
        let Some((address, serial)) = self.origin(me.id) else {
            return Ok(());
        };
        self.check_throttle(address, now)?;
        let job = HashJob {
            upgrade: false,
            check: Some((Some(credential), Password::new(password.to_owned()))),
            hash: new.map(|new| Password::new(new.to_owned())),
        };
        let pending = match new {
            Some(_) => Pending::Passwd { address, serial },
            None => Pending::Unregister { address, serial },
        };
        self.hash(me.id, job, pending, out);
        Ok(())
    }

    /// `/nick <name>`: a guest's new name, announced to it and to the members of its
    /// rooms that get join and leave notices.
    pub(super) fn nick(&mut self, me: &Me, name: &str, out: &mut impl Effects) -> Handled {
        let key = Folded::new(name).ok_or(ErrorCode::BadName)?;
        let Some(user) = self.sessions.user(me.id) else {
            return Ok(());
        };
        if user.account {
            return Err(ErrorCode::AlreadyRegistered.into());
        }
        let own = Folded::new(&me.name).is_some_and(|k| k.as_str() == key.as_str());
        if !own && self.name_in_use(&key) {
            return Err(ErrorCode::NameTaken.into());
        }
        if !own && self.accounts.contains(key.as_str()) {
            return Err(ErrorCode::NameRegistered.into());
        }
        if *me.name == *name {
            return Ok(());
        }
        let mut told: Vec<ClientId> = user
            .joined
            .iter()
            .map(|membership| &self.rooms[membership.room])
            .filter(|room| room.members.len() <= self.limits.announce_limit)
            .flat_map(|room| room.members.iter().copied())
            .filter(|&member| member != me.id)
            .collect();
        told.sort_unstable();
        told.dedup();
        if let Some(old) = Folded::new(&me.name) {
            self.names.remove(old.as_str());
        }
        self.names.insert(key.as_str().into(), me.id);
        let new: Arc<str> = name.into();
        if let Some(user) = self.sessions.user_mut(me.id) {
            user.name = Arc::clone(&new);
        }
        info!("{} is now called {new}", me.name);
        let event = Event::Nick {
            old: &me.name,
            new: &new,
        };
        out.send(me.id, &event);
        out.send_each(told, &event);
        Ok(())
    }

    /// `/msg` to `to`, who is not online: stored for its account until it logs in.
    pub(super) fn store_private(
        &mut self,
        me: &Me,
        to: &str,
        text: &str,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        let message = self.record(me, text, now);
        let limit = self.limits.offline_limit;
        let account = self.accounts.get_mut(to).ok_or(ErrorCode::NoSuchUser)?;
        if account.waiting >= limit {
            return Err(ErrorCode::LimitReached.into());
        }
        account.waiting += 1;
        let write = Write::Offline {
            to: Arc::clone(&account.name),
            message,
        };
        out.request(me.id, Request::Store(write));
        Ok(())
    }

    /// A password job is done (or was refused for lack of room).
    pub(super) fn hashed(
        &mut self,
        client: ClientId,
        result: Option<Hashed>,
        now: Instant,
        out: &mut impl Effects,
    ) {
        self.hashing = self.hashing.saturating_sub(1);
        let Some(pending) = self.pending.remove(&client) else {
            return;
        };
        let here = self.sessions.get(client).is_some();
        let Some(result) = result else {
            match &pending {
                Pending::Register { name, .. } => self.release(name, client),
                // Never run: it counts neither way.
                Pending::Login { address, .. }
                | Pending::Passwd { address, .. }
                | Pending::Unregister { address, .. } => {
                    self.throttle.finished(AddressKey::of(*address), true, now);
                }
            }
            if here {
                out.send(client, &Event::Error(ErrorCode::Throttled.into()));
            }
            return;
        };
        match pending {
            Pending::Login {
                name,
                version,
                address,
                serial,
            } => {
                self.throttle
                    .finished(AddressKey::of(address), result.verified, now);
                if !result.verified {
                    self.refuse_check(client, here, &name, address, serial, "login", out);
                } else if here {
                    self.logged_in(client, &name, version, result.hash, out);
                }
            }
            Pending::Register { ref name, .. } => match result.hash {
                Some(phc) if here => {
                    let name = Arc::clone(name);
                    self.pending.insert(client, pending);
                    out.request(client, Request::Store(Write::Account { name, phc }));
                }
                _ => {
                    let name = Arc::clone(name);
                    self.release(&name, client);
                    if here {
                        // Hashing itself failed (logged by the worker): nothing changed.
                        out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
                    }
                }
            },
            Pending::Passwd { address, serial } | Pending::Unregister { address, serial } => {
                let unregister = matches!(pending, Pending::Unregister { .. });
                self.throttle
                    .finished(AddressKey::of(address), result.verified, now);
                let what = if unregister {
                    "unregister"
                } else {
                    "password change"
                };
                if !result.verified {
                    let name = self.sessions.name_of(client).unwrap_or("?").to_owned();
                    self.refuse_check(client, here, &name, address, serial, what, out);
                    return;
                }
                let Some(name) = self.account_name_of(client) else {
                    if here {
                        out.send(client, &Event::Error(ErrorCode::NotRegistered.into()));
                    }
                    return;
                };
                let write = match (unregister, result.hash) {
                    (true, _) => Write::AccountRemoved { name },
                    (false, Some(phc)) => Write::Account { name, phc },
                    (false, None) => {
                        out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
                        return;
                    }
                };
                self.pending.insert(client, pending);
                out.request(client, Request::Store(write));
            }
        }
    }

    /// The name of the account `client` is logged in to, as the account spells it.
    fn account_name_of(&self, client: ClientId) -> Option<Arc<str>> {
        let user = self.sessions.user(client).filter(|user| user.account)?;
        self.accounts
            .get(&user.name)
            .map(|account| Arc::clone(&account.name))
    }

    /// A password check failed (it has counted against the address already): the log
    /// says who tried what from where, never the password, and the client is told.
    #[allow(clippy::too_many_arguments)]
    fn refuse_check(
        &self,
        client: ClientId,
        here: bool,
        name: &str,
        address: IpAddr,
        serial: u64,
        what: &str,
        out: &mut impl Effects,
    ) {
        warn!("#{serial} failed {what} for account {name} from {address}");
        if here {
            out.send(client, &Event::Error(ErrorCode::BadLogin.into()));
        }
    }

    /// A name reserved for a registration is free again.
    fn release(&mut self, name: &str, client: ClientId) {
        if let Some(key) = Folded::new(name) {
            if self.reserved.get(key.as_str()) == Some(&client) {
                self.reserved.remove(key.as_str());
            }
        }
    }

    /// `/login` checked out: `client` becomes the account's user, unless it is online
    /// already; then the messages waiting for it are read for delivery.
    fn logged_in(
        &mut self,
        client: ClientId,
        name: &str,
        version: Option<u64>,
        upgraded: Option<Box<str>>,
        out: &mut impl Effects,
    ) {
        let Some(account) = self
            .accounts
            .get_mut(name)
            .filter(|account| Some(account.version) == version)
        else {
            // Deleted, re-registered or given a new password while the old one was
            // being checked: what was checked is no longer the account's password.
            out.send(client, &Event::Error(ErrorCode::BadLogin.into()));
            return;
        };
        let key = Folded::new(&account.name).expect("accounts have valid names");
        // An account of the service's name (from a users file, or stored before the
        // name was reserved) cannot be used: it would speak as the service.
        if self.names.contains_key(key.as_str()) || key.as_str() == names::SERVICE {
            out.send(client, &Event::Error(ErrorCode::NameTaken.into()));
            return;
        }
        let name = Arc::clone(&account.name);
        if let Some(phc) = upgraded {
            account.credential = Credential::Phc(phc.clone());
            out.persist(Write::Account {
                name: Arc::clone(&name),
                phc,
            });
        }
        self.take_name(client, Arc::clone(&name), true, out);
        self.catch_up(client, name, out);
    }

    /// Reads the messages waiting for `client`'s account. Until they are delivered,
    /// private messages to it are stored behind them (see [`Hub::deliver_offline`]),
    /// so that none overtakes an older one from the same sender.
    fn catch_up(&mut self, client: ClientId, account: Arc<str>, out: &mut impl Effects) {
        if let Some(user) = self.sessions.user_mut(client) {
            user.catching_up = true;
        }
        // Read even when none are counted: a count restored from a users file may be
        // short, and a message left in the store would otherwise never be delivered.
        out.request(client, Request::Offline { account });
    }

    /// A write that an account command waited for is done.
    pub(super) fn account_stored(
        &mut self,
        client: ClientId,
        write: Write,
        ok: bool,
        out: &mut impl Effects,
    ) {
        let here = self.sessions.get(client).is_some();
        let pending = self.pending.remove(&client);
        if !ok {
            match (&write, &pending) {
                (Write::Offline { to, .. }, _) => {
                    if let Some(account) = self.accounts.get_mut(to) {
                        account.waiting = account.waiting.saturating_sub(1);
                    }
                }
                (_, Some(Pending::Register { name, .. })) => {
                    let name = Arc::clone(name);
                    self.release(&name, client);
                }
                _ => {}
            }
            if here {
                out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
            }
            return;
        }
        match write {
            Write::Account { name, phc } => {
                self.accounts.upsert(&name, Credential::Phc(phc));
                if let Some(Pending::Register { named, .. }) = pending {
                    self.release(&name, client);
                    if here && !named {
                        self.take_name(client, Arc::clone(&name), true, out);
                    }
                }
                if let Some(user) = self.sessions.user_mut(client) {
                    user.account = true;
                }
                if here {
                    out.send(client, &Event::Registered { name: &name });
                }
            }
            Write::AccountRemoved { name } => {
                self.accounts.remove(&name);
                if let Some(user) = self.sessions.user_mut(client) {
                    user.account = false;
                    info!("account {name} deleted");
                }
                if here {
                    out.send(client, &Event::Unregistered { name: &name });
                }
            }
            Write::Offline { to, .. } if here => {
                out.send(client, &Event::Offline { user: &to });
            }
            _ => {}
        }
    }

    /// The messages waiting for `account` were read: they go to its user (if still
    /// online) and are deleted from the store once handed over.
    pub(super) fn deliver_offline(
        &mut self,
        client: ClientId,
        account: &Arc<str>,
        messages: &[(u64, StoredMessage)],
        out: &mut impl Effects,
    ) {
        let online = self
            .sessions
            .user(client)
            .is_some_and(|user| user.account && user.name.eq_ignore_ascii_case(account));
        if !online {
            return;
        }
        let Some(&(through, _)) = messages.last() else {
            if let Some(stored) = self.accounts.get_mut(account) {
                stored.waiting = 0;
            }
            self.caught_up(client);
            return;
        };
        for (_, message) in messages {
            out.send(
                client,
                &Event::OldPrivate {
                    unix_secs: message.unix_secs,
                    from: &message.from,
                    text: &message.text,
                },
            );
        }
        out.persist(Write::OfflineDelivered {
            to: Arc::clone(account),
            through,
        });
        let more = self.accounts.get_mut(account).is_some_and(|stored| {
            stored.waiting = stored.waiting.saturating_sub(messages.len());
            stored.waiting > 0
        });
        if more {
            // Stored while these were read: the next read, queued behind the writes,
            // finds them.
            out.request(
                client,
                Request::Offline {
                    account: Arc::clone(account),
                },
            );
        } else {
            self.caught_up(client);
        }
    }

    /// `client` has had every message that waited for it: private messages go to it
    /// directly again.
    fn caught_up(&mut self, client: ClientId) {
        if let Some(user) = self.sessions.user_mut(client) {
            user.catching_up = false;
        }
    }

    /// Routes a completion that belongs to accounts; returns it if it does not.
    pub(super) fn complete_accounts(
        &mut self,
        client: ClientId,
        completion: Completion,
        now: Instant,
        out: &mut impl Effects,
    ) -> Option<Completion> {
        match completion {
            Completion::Hashed(result) => self.hashed(client, Some(result), now, out),
            Completion::HashRefused => self.hashed(client, None, now, out),
            Completion::Offline { account, messages } => {
                self.deliver_offline(client, &account, &messages, out);
            }
            Completion::OfflineFailed => {
                // They stay stored, for the next login.
                self.caught_up(client);
                if self.sessions.get(client).is_some() {
                    out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
                }
            }
            Completion::Stored(write) if is_account_write(&write) => {
                self.account_stored(client, write, true, out);
            }
            Completion::StoreFailed(write) if is_account_write(&write) => {
                self.account_stored(client, write, false, out);
            }
            other => return Some(other),
        }
        None
    }
}

/// Writes a client waits for on an account's behalf (`OfflineDelivered` is persisted
/// with nobody waiting, so its completion never comes back).
fn is_account_write(write: &Write) -> bool {
    matches!(
        write,
        Write::Account { .. } | Write::AccountRemoved { .. } | Write::Offline { .. }
    )
}
