//! The sans-IO chat core: users, rooms, boards, the waiting queue and every protocol
//! timer, with no sockets, no clock and no wire format of its own.
//!
//! The server tells the [`Hub`] what happened (a client connected, sent a [`Input`],
//! went away, some work completed, time passed) together with the current time, and the
//! hub answers with effects on an [`Effects`] runner: typed [`Event`]s for clients,
//! closes, and [`Request`]s for work away from the loop. Codecs turn input lines into
//! [`Input`] and events into bytes; the hub knows neither. [`Hub::next_deadline`] says
//! when the hub next needs [`Hub::on_timeout`], which is how login, ping and
//! queue-position timers work without the server scanning connections.
//!
//! Handlers live by what they do: [`admission`](self) (connections, the queue,
//! liveness), `naming`, `rooms` commands, `talk` (messages) and `posts` (boards).

mod accounts;
mod address;
mod admission;
mod board;
pub mod command;
pub mod effects;
pub mod event;
mod login;
mod membership;
pub mod names;
mod posts;
mod queue;
mod quota;
pub mod records;
mod reply;
mod rooms;
pub use rooms::LOBBY;
mod session;
mod talk;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;

use crate::timers::Deadlines;
use accounts::{Accounts, Pending, Throttle};
use queue::WaitQueue;
use rooms::Rooms;
use session::{Me, Phase, Sessions};

pub use accounts::THROTTLE_WINDOW;
pub use address::{AddressKey, Network, NetworkError, PerAddress, Trusted};
pub use board::{Board, Post};
pub use command::{ArgError, Command, HelpTopic, Input, Secret, UsersOf, Verb};
pub use effects::{ClientId, Completion, Effects, Request};
pub use effects::{HashJob, Hashed};
pub use event::{ByeReason, Detail, Error, ErrorCode, Event, LeaveReason, PostHeader};
pub use login::MIN_PASSWORD_CHARS;
use quota::{Created, PostRate};
pub use records::{StoredAccount, StoredMessage, StoredPost, StoredRoom, Write};
pub use reply::Reply;
pub use session::Link;

/// How often the waiting queue is checked for changed positions while it changes.
pub const QUEUE_CHECK_EVERY: Duration = Duration::from_millis(250);
/// The shortest time between two `QUEUED` lines to one client.
pub const QUEUE_UPDATE_MIN_GAP: Duration = Duration::from_secs(1);
/// Dead timer entries tolerated before they are swept out of the heap.
const DEAD_TIMER_SWEEP: usize = 4096;

/// The limits the chat core enforces (see the server's settings for each).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections admitted at once.
    pub max_clients: usize,
    /// Connections waiting at once.
    pub max_queue: usize,
    /// Silence before `PING`.
    pub ping_after: Duration,
    /// Time to answer a `PING`.
    pub ping_timeout: Duration,
    /// Time from `HELLO` to a name.
    pub login_timeout: Duration,
    /// Largest room whose members see join and leave notices.
    pub announce_limit: usize,
    /// Most entries in one list line.
    pub list_limit: usize,
    /// Most rooms, lobby included.
    pub max_rooms: usize,
    /// Most rooms per user.
    pub max_joined: usize,
    /// Posts from before a join that the joiner sees.
    pub board_backlog: usize,
    /// Posts a board keeps.
    pub board_retain: usize,
    /// Messages of each room kept for `/history` (0: none).
    pub history: usize,
    /// Private messages that may wait for one offline account.
    pub offline_limit: usize,
    /// Only accounts may take a name.
    pub require_login: bool,
    /// `/register`, `/passwd` and `/unregister` work.
    pub registration_open: bool,
    /// Failed password checks from one address before it is throttled (0: never).
    pub login_attempts: usize,
    /// Hashing workers: password jobs being worked on at once.
    pub hash_workers: usize,
    /// Password jobs that may wait for a worker; one more is `throttled`.
    pub hash_queue: usize,
    /// Connections one address (an IPv6 /64) may hold, waiting ones included (0: no
    /// limit).
    pub max_per_address: usize,
    /// Networks exempt from the abuse limits and from login throttling.
    pub trusted: Trusted,
    /// Rooms that still exist an account or a guest's address may have created (0:
    /// no limit).
    pub max_created: usize,
    /// Posts an account or a guest's address may make in any 60 s (0: no limit).
    pub post_rate: usize,
    /// Longest post subject, in bytes.
    pub max_subject: usize,
    /// Password commands over a [`Link::Clear`] connection from outside the loopback
    /// range get `tls-required` (TLS is configured and plaintext logins are not
    /// allowed).
    pub passwords_need_tls: bool,
}

impl Default for Limits {
    /// The protocol's defaults.
    fn default() -> Self {
        Limits {
            max_clients: 10_000,
            max_queue: 10_000,
            ping_after: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(30),
            login_timeout: Duration::from_secs(30),
            announce_limit: 1000,
            list_limit: 1000,
            max_rooms: 10_000,
            max_joined: 100,
            board_backlog: 2,
            board_retain: 1000,
            history: 100,
            offline_limit: 100,
            require_login: false,
            registration_open: true,
            login_attempts: 5,
            hash_workers: 1,
            hash_queue: 256,
            max_per_address: 50,
            trusted: Trusted::default(),
            max_created: 20,
            post_rate: 30,
            max_subject: 128,
            passwords_need_tls: false,
        }
    }
}

/// How a connection ended when the server (not the hub) noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// The peer closed or the socket failed.
    Disconnected,
    /// The client did not read its output.
    Sendq,
}

/// Counts of what the hub holds, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// Admitted connections, named or not.
    pub admitted: usize,
    /// Connections waiting in the queue.
    pub waiting: usize,
    /// Named users.
    pub named: usize,
    /// Rooms, lobby included.
    pub rooms: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// Ping and ping-timeout checks of one session.
    Liveness(ClientId),
    /// The login deadline of one session.
    Login(ClientId),
    /// Re-send changed queue positions.
    QueueCheck,
}

/// Users, rooms, boards and the waiting queue of one server.
#[derive(Debug)]
pub struct Hub {
    limits: Limits,
    sessions: Sessions,
    admitted: usize,
    queue: WaitQueue,
    /// When the one pending queue check is due, if one is.
    queue_check_at: Option<Instant>,
    /// Named users by folded name; also the order of `/users *`.
    names: BTreeMap<Box<str>, ClientId>,
    rooms: Rooms,
    timers: Deadlines<Timer>,
    dead_timers: usize,
    /// A moment and its wall-clock time, to stamp posts without reading a clock.
    epoch: Instant,
    epoch_unix_secs: u64,
    next_ping_token: u64,
    accounts: Accounts,
    /// The accounts come from a users file: they cannot be changed by commands.
    accounts_fixed: bool,
    /// Names being registered, by folded name, with who registers them.
    reserved: HashMap<Box<str>, ClientId>,
    throttle: Throttle,
    /// Connections by address, for `max_per_address`.
    per_address: PerAddress,
    /// Rooms by creator, for `max_created`.
    created: Created,
    /// Recent posts by author, for `post_rate`.
    post_rate: PostRate,
    /// Password jobs handed out and not completed yet.
    hashing: usize,
    /// What each client's outstanding password job is for.
    pending: HashMap<ClientId, Pending>,
}

/// What a command handler returns: done, or the error to answer with.
type Handled = Result<(), Error>;

impl Hub {
    /// A hub with the given limits. `epoch` and `epoch_unix_secs` name the same moment
    /// on the monotonic and the wall clock.
    pub fn new(limits: Limits, epoch: Instant, epoch_unix_secs: u64) -> Hub {
        Hub {
            sessions: Sessions::default(),
            admitted: 0,
            queue: WaitQueue::new(),
            queue_check_at: None,
            names: BTreeMap::new(),
            rooms: Rooms::new(),
            timers: Deadlines::new(),
            dead_timers: 0,
            epoch,
            epoch_unix_secs,
            next_ping_token: 0,
            accounts: Accounts::default(),
            accounts_fixed: false,
            reserved: HashMap::new(),
            throttle: Throttle::new(limits.login_attempts),
            per_address: PerAddress::default(),
            created: Created::default(),
            post_rate: PostRate::default(),
            hashing: 0,
            pending: HashMap::new(),
            limits,
        }
    }

    /// What the hub holds now.
    pub fn census(&self) -> Census {
        Census {
            admitted: self.admitted,
            waiting: self.queue.len(),
            named: self.names.len(),
            rooms: self.rooms.len(),
        }
    }

    /// One unit of input from `client`.
    pub fn receive(
        &mut self,
        client: ClientId,
        input: Input<'_>,
        now: Instant,
        out: &mut impl Effects,
    ) {
        if !self.heard(client, now) {
            return;
        }
        if let Err(error) = self.dispatch(client, input, now, out) {
            out.send(client, &Event::Error(error));
        }
    }

    /// `client` sent a complete line at `now`: it counts as life for the ping timer
    /// and answers a `PING`, whatever it says. [`Hub::receive`] does this for every
    /// input; the loop calls it alone for a line the client's codec answered itself
    /// (IRC's `CAP LS`, `MODE`, `AWAY`, ...). False if the client is unknown.
    pub fn heard(&mut self, client: ClientId, now: Instant) -> bool {
        let Some(session) = self.sessions.get_mut(client) else {
            return false;
        };
        session.last_input = now;
        session.ping_outstanding = false;
        true
    }

    /// The server noticed that `client` is gone: it leaves its rooms (or the queue) and
    /// its slot goes to the next waiting client. The hub sends nothing to `client`.
    pub fn disconnect(
        &mut self,
        client: ClientId,
        how: Departure,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let reason = match how {
            Departure::Disconnected => LeaveReason::Disconnected,
            Departure::Sendq => LeaveReason::Sendq,
        };
        self.depart(client, reason, "", now, out);
    }

    /// Rooms and boards as the store kept them, before anyone connects: rooms come
    /// back with their posts and no members.
    pub fn restore(&mut self, rooms: Vec<StoredRoom>) {
        for stored in rooms {
            let room = match self.rooms.find(&stored.name) {
                Some(room) => room,
                None if names::is_valid_name(&stored.name) => self.rooms.create(&stored.name),
                None => continue,
            };
            let posts = stored.posts.into_iter().map(posts::from_stored);
            self.rooms[room].board = Board::restore(stored.next_post_id, posts);
        }
    }

    /// Work asked for with [`Effects::request`] has completed, at `now`. Stored state
    /// is applied whoever asked; replies go only to a client that is still here (a
    /// completion for one that has gone, by its id's generation, answers nobody).
    pub fn complete(
        &mut self,
        client: ClientId,
        completion: Completion,
        now: Instant,
        out: &mut impl Effects,
    ) {
        let Some(completion) = self.complete_accounts(client, completion, now, out) else {
            return;
        };
        let here = self.sessions.get(client).is_some();
        if !here {
            // Not the completion itself: it may hold what someone wrote.
            debug!("a completion arrived for a client that has gone");
        }
        match completion {
            Completion::Stored(Write::Post { room, post, .. }) => {
                self.posted(here.then_some(client), &room, post, out);
            }
            Completion::StoreFailed(Write::Post { room, post, .. }) => {
                if let Some(id) = self.rooms.find(&room) {
                    self.rooms[id].board.release_id(post.id);
                    // The room was kept only for this post: it may go now.
                    if self.remove_room_if_unused(id) && self.limits.history > 0 {
                        out.persist(Write::RoomRemoved { room });
                    }
                }
                if here {
                    out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
                }
            }
            Completion::Stored(_) | Completion::StoreFailed(_) => {}
            Completion::History { room, messages } if here => {
                out.reply(client, Reply::history(&room, messages));
            }
            Completion::HistoryFailed if here => {
                out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
            }
            Completion::History { .. } | Completion::HistoryFailed => {}
            Completion::Post { room, post } if here => self.read_reply(client, &room, post, out),
            Completion::PostFailed if here => {
                out.send(client, &Event::Error(ErrorCode::StoreFailed.into()));
            }
            Completion::Post { .. } | Completion::PostFailed => {}
            #[cfg(test)]
            Completion::Echo(token) if here => out.send(client, &Event::Ping { token }),
            // Accounts' completions were taken above.
            _ => {}
        }
    }

    /// When [`Hub::on_timeout`] is next needed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handles every deadline due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut impl Effects) {
        while let Some(timer) = self.timers.pop_due(now) {
            let client = match timer {
                Timer::QueueCheck => {
                    self.check_queue(now, out);
                    continue;
                }
                Timer::Liveness(client) | Timer::Login(client) => client,
            };
            let Some(session) = self.sessions.get_mut(client) else {
                self.dead_timers = self.dead_timers.saturating_sub(1);
                continue;
            };
            session.timers -= 1;
            match timer {
                Timer::Liveness(_) => self.check_liveness(client, now, out),
                _ => self.check_login(client, now, out),
            }
        }
        if self.dead_timers > DEAD_TIMER_SWEEP && self.dead_timers > self.timers.len() / 2 {
            let sessions = &self.sessions;
            self.timers.retain(|timer| match *timer {
                Timer::QueueCheck => true,
                Timer::Liveness(c) | Timer::Login(c) => sessions.get(c).is_some(),
            });
            self.dead_timers = 0;
        }
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        if let Timer::Liveness(c) | Timer::Login(c) = timer {
            if let Some(session) = self.sessions.get_mut(c) {
                session.timers += 1;
            }
        }
        self.timers.schedule(at, timer);
    }

    fn unix_secs(&self, now: Instant) -> u64 {
        self.epoch_unix_secs + now.saturating_duration_since(self.epoch).as_secs()
    }

    /// Applies the protocol's order of errors, then runs the command.
    fn dispatch(
        &mut self,
        client: ClientId,
        input: Input<'_>,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        let Some(session) = self.sessions.get(client) else {
            return Ok(());
        };
        match input {
            Input::Blank => return Ok(()),
            Input::TooLong { limit } => {
                return Err(Error {
                    code: ErrorCode::LineTooLong,
                    detail: Detail::Limit(limit),
                })
            }
            Input::BadText => return Err(ErrorCode::BadText.into()),
            Input::Echo(on) => {
                if let Some(session) = self.sessions.get_mut(client) {
                    session.echo = on;
                }
                return Ok(());
            }
            _ => {}
        }
        let me = match &session.phase {
            Phase::Waiting(_) => {
                return match input {
                    Input::Command(verb, args) if verb.allowed_waiting() => {
                        self.run_any(client, checked(verb, args)?, now, out)
                    }
                    _ => Err(ErrorCode::Queued.into()),
                }
            }
            Phase::Greeted => {
                return match input {
                    Input::Text(text) => self.name(client, text.trim_matches([' ', '\t']), out),
                    Input::Command(verb, _) if !verb.allowed_unnamed() => {
                        Err(ErrorCode::NotNamed.into())
                    }
                    Input::Command(verb @ (Verb::Name | Verb::Login | Verb::Register), args) => {
                        match checked(verb, args)? {
                            Command::Name(name) => self.name(client, &name, out),
                            Command::Login { name, password } => {
                                self.login(client, &name, &password, now, out)
                            }
                            Command::Register { name, password } => {
                                self.register(client, name.as_deref(), &password, out)
                            }
                            _ => Ok(()),
                        }
                    }
                    Input::Command(verb, args) => {
                        self.run_any(client, checked(verb, args)?, now, out)
                    }
                    _ => Err(ErrorCode::UnknownCommand.into()),
                };
            }
            Phase::Named(user) => Me {
                id: client,
                name: Arc::clone(&user.name),
            },
        };
        match input {
            Input::Text(text) => {
                let room = self.current_room(me.id)?;
                self.say(&me, room, text, false, now, out);
                Ok(())
            }
            Input::Command(Verb::Name | Verb::Login, _) => Err(ErrorCode::AlreadyNamed.into()),
            Input::Command(verb, args) => self.run_named(&me, checked(verb, args)?, now, out),
            _ => Err(ErrorCode::UnknownCommand.into()),
        }
    }

    /// Runs a command of a named user.
    fn run_named(
        &mut self,
        me: &Me,
        command: Command<'_>,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        match command {
            Command::Users(which) => self.users(me, which, out),
            Command::Msg { to, text, notice } => self.private(me, &to, text, notice, now, out),
            Command::Broadcast(text) => {
                self.broadcast(me, text, out);
                Ok(())
            }
            Command::Rooms => {
                self.list_rooms(me, out);
                Ok(())
            }
            Command::Create(name) => self.create(me, &name, out),
            Command::Join(name) => {
                let room = self.find_room(&name)?;
                if self.membership(me.id, room).is_some() {
                    return Err(ErrorCode::AlreadyInRoom.into());
                }
                self.check_can_join(me)?;
                self.join(me, room, out);
                Ok(())
            }
            Command::Enter(name) => match self.rooms.find(&name) {
                Some(room) if self.membership(me.id, room).is_some() => {
                    Err(ErrorCode::AlreadyInRoom.into())
                }
                Some(room) => {
                    self.check_can_join(me)?;
                    self.join(me, room, out);
                    Ok(())
                }
                None => self.create(me, &name, out),
            },
            Command::Leave(name) => {
                let room = self.named_or_current(me.id, name.as_deref())?;
                self.leave(me, room, out)
            }
            Command::Say { room, text, notice } => {
                let room = self.member_room(me.id, &room)?;
                self.say(me, room, text, notice, now, out);
                Ok(())
            }
            Command::History { room, count } => {
                self.history(me, room.as_deref(), count.as_deref(), out)
            }
            Command::Post {
                room,
                subject,
                body,
            } => self.post(me, &room, &subject, body, now, out),
            Command::List(room) => self.list_posts(me, room.as_deref(), out),
            Command::Read { room, id } => self.read_post(me, &room, &id, out),
            Command::Register { name, password } => {
                self.register(me.id, name.as_deref(), &password, out)
            }
            Command::Passwd { old, new } => self.change_account(me, &old, Some(&new), now, out),
            Command::Unregister { password } => self.change_account(me, &password, None, now, out),
            Command::Nick(name) => self.nick(me, &name, out),
            Command::Name(_) | Command::Login { .. } => Err(ErrorCode::AlreadyNamed.into()),
            other => self.run_any(me.id, other, now, out),
        }
    }

    /// Runs a command that works in every phase (the ones allowed before naming).
    fn run_any(
        &mut self,
        client: ClientId,
        command: Command<'_>,
        now: Instant,
        out: &mut impl Effects,
    ) -> Handled {
        match command {
            Command::Help(HelpTopic::All) => out.reply_line(client, &Event::Help(None)),
            Command::Help(HelpTopic::Verb(verb)) => {
                out.reply_line(client, &Event::Help(Some(verb)))
            }
            Command::Help(HelpTopic::Unknown) => return Err(ErrorCode::UnknownCommand.into()),
            Command::Ping(token) => {
                let token = token.as_deref().unwrap_or("-");
                out.send(client, &Event::Pong { token });
            }
            Command::Pong => {}
            Command::Quit(message) => {
                self.depart(client, LeaveReason::Quit, message.unwrap_or(""), now, out);
                out.send(client, &Event::Bye(ByeReason::Quit));
                out.close(client);
            }
            // Callers let through only the commands above (`Verb::allowed_unnamed`).
            _ => return Err(ErrorCode::NotNamed.into()),
        }
        Ok(())
    }
}

/// A command's arguments, or the error that refuses them: a malformed command gets
/// its usage, so a person can see what was expected.
fn checked<'a>(verb: Verb, args: Result<Command<'a>, ArgError>) -> Result<Command<'a>, Error> {
    args.map_err(|e| match e {
        ArgError::BadArgs => Error {
            code: ErrorCode::BadArgs,
            detail: Detail::Usage(verb),
        },
        ArgError::BadName => ErrorCode::BadName.into(),
        ArgError::BadRoomName => ErrorCode::BadRoomName.into(),
    })
}

#[cfg(test)]
mod tests;
