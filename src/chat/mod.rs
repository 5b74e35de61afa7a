//! The sans-IO chat core: users, rooms, boards, the waiting queue and every protocol
//! timer, with no sockets and no clock of its own.
//!
//! The server tells the [`Hub`] what happened (a client connected, sent a line, went
//! away, time passed) together with the current time, and the hub answers by pushing
//! encoded lines and close requests into an [`Outbox`]. Each line is encoded once and
//! handed to every recipient by reference. [`Hub::next_deadline`] says when the hub
//! next needs [`Hub::on_timeout`], which is how login, ping and queue-position timers
//! work without the server scanning connections.

mod board;
mod help;
mod names;
mod queue;
mod rooms;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use log::{debug, info};

use crate::command::{self, ArgError, Command, Parsed, UsersOf, Verb};
use crate::line::Frame;
use crate::reply::{ByeReason, Encoder, ErrorCode, LeaveReason, Line};
use crate::timers::Deadlines;
use names::Folded;
use queue::WaitQueue;
use rooms::{RoomId, Rooms};

pub use board::{Board, Post};

/// How often the waiting queue is checked for changed positions while it changes.
pub const QUEUE_CHECK_EVERY: Duration = Duration::from_millis(250);
/// The shortest time between two `QUEUED` lines to one client.
pub const QUEUE_UPDATE_MIN_GAP: Duration = Duration::from_secs(1);
/// Dead timer entries tolerated before they are swept out of the heap.
const DEAD_TIMER_SWEEP: usize = 4096;

/// Identifies a connection; the server chooses it (its slab key) and must not reuse it
/// before telling the hub that the previous holder is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub usize);

/// Where the hub's output goes.
pub trait Outbox {
    /// Queue `line` for `to`.
    fn send(&mut self, to: ClientId, line: &Line);
    /// The hub is done with `client` (it has forgotten it): flush what is queued for it,
    /// then close the connection.
    fn close(&mut self, client: ClientId);
}

/// One item of hub output, for callers that collect it (tests, benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A line for a client.
    Line(ClientId, Line),
    /// The hub closed the client.
    Close(ClientId),
}

impl Outbox for Vec<Sent> {
    fn send(&mut self, to: ClientId, line: &Line) {
        self.push(Sent::Line(to, line.clone()));
    }
    fn close(&mut self, client: ClientId) {
        self.push(Sent::Close(client));
    }
}

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

#[derive(Debug)]
struct Session {
    /// Sequential connection number, for logs and to tell stale timers apart.
    serial: u64,
    phase: Phase,
    /// When the last complete line arrived (or the connection opened).
    last_line: Instant,
    /// A `PING` went out that no line has answered yet.
    ping_outstanding: bool,
    /// Timer entries in the heap that refer to this session.
    timers: u8,
}

#[derive(Debug)]
enum Phase {
    Waiting(Waiting),
    /// Admitted, not named yet.
    Greeted,
    Named(User),
}

#[derive(Debug)]
struct Waiting {
    ticket: u64,
    /// The position last sent in `QUEUED`, and when.
    shown: usize,
    shown_at: Instant,
}

#[derive(Debug)]
struct User {
    name: Box<str>,
    /// Rooms in the order they were joined: the last one is the current room.
    joined: Vec<Membership>,
}

#[derive(Debug, Clone, Copy)]
struct Membership {
    room: RoomId,
    /// Index of this user in the room's member array.
    slot: usize,
    /// The oldest post id this member may see.
    first_visible: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// Ping and ping-timeout checks of one session.
    Liveness(ClientId, u64),
    /// The login deadline of one session.
    Login(ClientId, u64),
    /// Re-send changed queue positions.
    QueueCheck,
}

/// Users, rooms, boards and the waiting queue of one server.
#[derive(Debug)]
pub struct Hub {
    limits: Limits,
    enc: Encoder,
    /// Sessions by client id; ids are dense because the server's slab reuses them.
    sessions: Vec<Option<Session>>,
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
}

type Reply = Result<(), ErrorCode>;

impl Hub {
    /// A hub with the given limits. `epoch` and `epoch_unix_secs` name the same moment
    /// on the monotonic and the wall clock.
    pub fn new(limits: Limits, epoch: Instant, epoch_unix_secs: u64) -> Hub {
        Hub {
            limits,
            enc: Encoder::new(),
            sessions: Vec::new(),
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

    /// A new connection `client` (log number `serial`): admitted with `HELLO`, queued
    /// with `QUEUED`, or turned away with `BYE server-full`.
    pub fn connect(&mut self, client: ClientId, serial: u64, now: Instant, out: &mut impl Outbox) {
        let phase = if self.admitted < self.limits.max_clients {
            self.admitted += 1;
            out.send(client, &self.enc.hello());
            debug!("#{serial} admitted");
            Phase::Greeted
        } else if self.queue.len() < self.limits.max_queue {
            let ticket = self.queue.push(client);
            let position = self.queue.len();
            out.send(client, &self.enc.queued(position));
            info!("#{serial} queued at position {position}");
            Phase::Waiting(Waiting {
                ticket,
                shown: position,
                shown_at: now,
            })
        } else {
            info!("#{serial} turned away: server and queue full");
            out.send(client, &self.enc.bye(ByeReason::ServerFull));
            out.close(client);
            return;
        };
        let greeted = matches!(phase, Phase::Greeted);
        let index = client.0;
        if self.sessions.len() <= index {
            self.sessions.resize_with(index + 1, || None);
        }
        debug_assert!(
            self.sessions[index].is_none(),
            "client id reused while live"
        );
        self.sessions[index] = Some(Session {
            serial,
            phase,
            last_line: now,
            ping_outstanding: false,
            timers: 0,
        });
        self.schedule(
            now + self.limits.ping_after,
            Timer::Liveness(client, serial),
        );
        if greeted {
            self.schedule(
                now + self.limits.login_timeout,
                Timer::Login(client, serial),
            );
        }
    }

    /// One unit of input from `client`.
    pub fn receive(
        &mut self,
        client: ClientId,
        input: Frame<'_>,
        now: Instant,
        out: &mut impl Outbox,
    ) {
        let Some(session) = self.session_mut(client) else {
            return;
        };
        session.last_line = now;
        // Any line answers a PING, whatever it says.
        session.ping_outstanding = false;
        let parsed = match input {
            Frame::TooLong => return out.send(client, &self.enc.error(ErrorCode::LineTooLong)),
            Frame::BadText => return out.send(client, &self.enc.error(ErrorCode::BadText)),
            Frame::Line(line) => command::parse(line),
        };
        if let Err(code) = self.dispatch(client, parsed, now, out) {
            out.send(client, &self.enc.error(code));
        }
    }

    /// The server noticed that `client` is gone: it leaves its rooms (or the queue) and
    /// its slot goes to the next waiting client. The hub sends nothing to `client`.
    pub fn disconnect(
        &mut self,
        client: ClientId,
        how: Departure,
        now: Instant,
        out: &mut impl Outbox,
    ) {
        let reason = match how {
            Departure::Disconnected => LeaveReason::Disconnected,
            Departure::Sendq => LeaveReason::Sendq,
        };
        self.depart(client, reason, "", now, out);
    }

    /// When [`Hub::on_timeout`] is next needed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handles every deadline due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut impl Outbox) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::QueueCheck => self.check_queue(now, out),
                Timer::Liveness(client, serial) | Timer::Login(client, serial) => {
                    let Some(session) = self.session_mut(client).filter(|s| s.serial == serial)
                    else {
                        self.dead_timers = self.dead_timers.saturating_sub(1);
                        continue;
                    };
                    session.timers -= 1;
                    if let Timer::Liveness(..) = timer {
                        self.check_liveness(client, now, out);
                    } else if let Phase::Greeted = session.phase {
                        info!("#{serial} not named in time");
                        self.depart(client, LeaveReason::Timeout, "", now, out);
                        out.send(client, &self.enc.bye(ByeReason::Timeout));
                        out.close(client);
                    }
                }
            }
        }
        if self.dead_timers > DEAD_TIMER_SWEEP && self.dead_timers > self.timers.len() / 2 {
            let sessions = &self.sessions;
            self.timers.retain(|timer| match *timer {
                Timer::QueueCheck => true,
                Timer::Liveness(c, serial) | Timer::Login(c, serial) => sessions
                    .get(c.0)
                    .and_then(Option::as_ref)
                    .is_some_and(|s| s.serial == serial),
            });
            self.dead_timers = 0;
        }
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        if let Timer::Liveness(c, _) | Timer::Login(c, _) = timer {
            if let Some(session) = self.session_mut(c) {
                session.timers += 1;
            }
        }
        self.timers.schedule(at, timer);
    }

    fn session_mut(&mut self, client: ClientId) -> Option<&mut Session> {
        self.sessions.get_mut(client.0).and_then(Option::as_mut)
    }

    fn session(&self, client: ClientId) -> Option<&Session> {
        self.sessions.get(client.0).and_then(Option::as_ref)
    }

    fn user(&self, client: ClientId) -> Option<&User> {
        named(&self.sessions, client)
    }

    fn user_mut(&mut self, client: ClientId) -> Option<&mut User> {
        named_mut(&mut self.sessions, client)
    }

    fn unix_secs(&self, now: Instant) -> u64 {
        self.epoch_unix_secs + now.saturating_duration_since(self.epoch).as_secs()
    }

    /// Applies the protocol's order of errors, then runs the command.
    fn dispatch(
        &mut self,
        client: ClientId,
        parsed: Parsed<'_>,
        now: Instant,
        out: &mut impl Outbox,
    ) -> Reply {
        let phase = &self.session(client).expect("caller checked").phase;
        match (phase, parsed) {
            (_, Parsed::Blank) => Ok(()),
            (Phase::Waiting(_), Parsed::Command(verb, args)) if verb.allowed_waiting() => {
                self.run(client, args.map_err(arg_error)?, now, out)
            }
            (Phase::Waiting(_), _) => Err(ErrorCode::Queued),
            (_, Parsed::Unknown) => Err(ErrorCode::UnknownCommand),
            (Phase::Greeted, Parsed::Plain(text)) => {
                let name = text.trim_matches([' ', '\t']);
                if !command::is_valid_name(name) {
                    return Err(ErrorCode::BadName);
                }
                self.name(client, name, out)
            }
            (Phase::Named(_), Parsed::Plain(text)) => {
                let room = self.current_room(client)?;
                self.say(client, room, text, out);
                Ok(())
            }
            (Phase::Greeted, Parsed::Command(verb, _)) if !verb.allowed_unnamed() => {
                Err(ErrorCode::NotNamed)
            }
            (Phase::Named(_), Parsed::Command(Verb::Name, _)) => Err(ErrorCode::AlreadyNamed),
            (_, Parsed::Command(_, args)) => self.run(client, args.map_err(arg_error)?, now, out),
        }
    }

    fn run(
        &mut self,
        client: ClientId,
        command: Command<'_>,
        now: Instant,
        out: &mut impl Outbox,
    ) -> Reply {
        match command {
            Command::Name(name) => self.name(client, &name, out),
            Command::Users(which) => self.users(client, which, out),
            Command::Msg { to, text } => {
                let to = self.find_user(&to)?;
                let from = name_of(&self.sessions, client);
                out.send(to, &self.enc.private(from, text));
                Ok(())
            }
            Command::Broadcast(text) => {
                let from = name_of(&self.sessions, client);
                let line = self.enc.broadcast(from, text);
                for &other in self.names.values() {
                    if other != client {
                        out.send(other, &line);
                    }
                }
                Ok(())
            }
            Command::Rooms => {
                let rooms = self.rooms.in_order().take(self.limits.list_limit);
                let line = self
                    .enc
                    .rooms(self.rooms.len(), rooms.map(|r| (&*r.name, r.members.len())));
                out.send(client, &line);
                Ok(())
            }
            Command::Create(name) => self.create(client, &name, out),
            Command::Join(name) => {
                let room = self.find_room(&name)?;
                if self.membership(client, room).is_some() {
                    return Err(ErrorCode::AlreadyInRoom);
                }
                self.check_can_join(client)?;
                self.join(client, room, out);
                Ok(())
            }
            Command::Leave(name) => {
                let room = self.named_or_current(client, name.as_deref())?;
                self.leave(client, room, out);
                Ok(())
            }
            Command::Say { room, text } => {
                let room = self.member_room(client, &room)?;
                self.say(client, room, text, out);
                Ok(())
            }
            Command::Post {
                room,
                subject,
                body,
            } => {
                let room = self.member_room(client, &room)?;
                let unix = self.unix_secs(now);
                let author = name_of(&self.sessions, client);
                let retain = self.limits.board_retain;
                let room = &mut self.rooms[room];
                let id = room.board.add(author, unix, &subject, body, retain);
                out.send(client, &self.enc.posted(&room.name, id));
                let notice = self.enc.post(&room.name, id, author, unix, &subject);
                send_to_members(out, &room.members, Some(client), &notice);
                Ok(())
            }
            Command::List(name) => {
                let room = self.named_or_current(client, name.as_deref())?;
                let first_visible = self.membership(client, room).expect("member").first_visible;
                let room = &self.rooms[room];
                let posts = room.board.visible_from(first_visible);
                out.send(client, &self.enc.list(&room.name, posts.len()));
                for post in posts {
                    let line = self.enc.post(
                        &room.name,
                        post.id,
                        &post.author,
                        post.unix_secs,
                        &post.subject,
                    );
                    out.send(client, &line);
                }
                Ok(())
            }
            Command::Read { room, id } => {
                let room = self.member_room(client, &room)?;
                let first_visible = self.membership(client, room).expect("member").first_visible;
                let room = &self.rooms[room];
                // Digits only: `+1` is not a post number.
                let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
                let post = digits
                    .then(|| id.parse::<u64>().ok())
                    .flatten()
                    .and_then(|id| room.board.get(id, first_visible))
                    .ok_or(ErrorCode::NoSuchPost)?;
                out.send(
                    client,
                    &self.enc.post(
                        &room.name,
                        post.id,
                        &post.author,
                        post.unix_secs,
                        &post.subject,
                    ),
                );
                out.send(client, &self.enc.body(&room.name, post.id, &post.body));
                Ok(())
            }
            Command::Help(topic) => {
                match topic {
                    None => {
                        for verb in Verb::ALL {
                            out.send(client, &self.enc.info(help::usage(verb)));
                        }
                    }
                    Some(word) => {
                        let verb = command::help_topic(&word).ok_or(ErrorCode::UnknownCommand)?;
                        for line in help::topic_lines(verb) {
                            out.send(client, &self.enc.info(&line));
                        }
                    }
                }
                Ok(())
            }
            Command::Ping(token) => {
                out.send(client, &self.enc.pong(token.as_deref().unwrap_or("-")));
                Ok(())
            }
            Command::Pong => Ok(()),
            Command::Quit(message) => {
                self.depart(client, LeaveReason::Quit, message.unwrap_or(""), now, out);
                out.send(client, &self.enc.bye(ByeReason::Quit));
                out.close(client);
                Ok(())
            }
        }
    }

    fn name(&mut self, client: ClientId, name: &str, out: &mut impl Outbox) -> Reply {
        let key = Folded::new(name).ok_or(ErrorCode::BadName)?;
        if self.names.contains_key(key.as_str()) {
            return Err(ErrorCode::NameTaken);
        }
        self.names.insert(key.as_str().into(), client);
        let session = self.session_mut(client).expect("live");
        session.phase = Phase::Named(User {
            name: name.into(),
            joined: Vec::new(),
        });
        info!("#{} is now {name}", session.serial);
        out.send(client, &self.enc.welcome(name));
        let lobby = self.rooms.lobby();
        self.join(client, lobby, out);
        Ok(())
    }

    fn users(&mut self, client: ClientId, which: UsersOf<'_>, out: &mut impl Outbox) -> Reply {
        let limit = self.limits.list_limit;
        let line = match which {
            UsersOf::Everyone => {
                let names = self.names.values().take(limit);
                let names = names.map(|&c| name_of(&self.sessions, c));
                self.enc.users("*", self.names.len(), names)
            }
            UsersOf::Current | UsersOf::Room(_) => {
                let room = match which {
                    UsersOf::Room(name) => self.find_room(&name)?,
                    _ => self.current_room(client)?,
                };
                let room = &self.rooms[room];
                let mut names: Vec<&str> = room
                    .members
                    .iter()
                    .map(|&c| name_of(&self.sessions, c))
                    .collect();
                first_in_list_order(&mut names, limit);
                self.enc.users(&room.name, room.members.len(), names)
            }
        };
        out.send(client, &line);
        Ok(())
    }

    fn create(&mut self, client: ClientId, name: &str, out: &mut impl Outbox) -> Reply {
        if self.rooms.find(name).is_some() {
            return Err(ErrorCode::RoomExists);
        }
        if self.rooms.len() >= self.limits.max_rooms {
            return Err(ErrorCode::LimitReached);
        }
        self.check_can_join(client)?;
        let room = self.rooms.create(name);
        debug!("room {name} created");
        self.join(client, room, out);
        Ok(())
    }

    fn check_can_join(&self, client: ClientId) -> Reply {
        let joined = self.user(client).expect("named").joined.len();
        if joined >= self.limits.max_joined {
            Err(ErrorCode::LimitReached)
        } else {
            Ok(())
        }
    }

    fn join(&mut self, client: ClientId, room_id: RoomId, out: &mut impl Outbox) {
        let room = &mut self.rooms[room_id];
        let slot = room.members.len();
        room.members.push(client);
        let first_visible = room.board.first_visible_on_join(self.limits.board_backlog);
        let user = named_mut(&mut self.sessions, client).expect("named");
        user.joined.push(Membership {
            room: room_id,
            slot,
            first_visible,
        });
        let line = self.enc.join(&room.name, &user.name);
        if room.members.len() <= self.limits.announce_limit {
            send_to_members(out, &room.members, None, &line);
        } else {
            out.send(client, &line);
        }
    }

    fn leave(&mut self, client: ClientId, room: RoomId, out: &mut impl Outbox) {
        let user = self.user_mut(client).expect("named");
        let index = user
            .joined
            .iter()
            .position(|m| m.room == room)
            .expect("member");
        let membership = user.joined.remove(index);
        let name = user.name.clone();
        self.part(client, &name, membership, LeaveReason::Left, "", out);
    }

    /// Takes `who` out of a room and tells whoever should hear of it.
    fn part(
        &mut self,
        who: ClientId,
        name: &str,
        membership: Membership,
        reason: LeaveReason,
        text: &str,
        out: &mut impl Outbox,
    ) {
        let room_id = membership.room;
        let announce = self.rooms[room_id].members.len() <= self.limits.announce_limit;
        self.remove_member(room_id, membership.slot);
        let room = &self.rooms[room_id];
        let line = self.enc.leave(&room.name, name, reason, text);
        if reason == LeaveReason::Left {
            out.send(who, &line);
        }
        if announce {
            send_to_members(out, &room.members, None, &line);
        }
        if self.rooms.remove_if_unused(room_id) {
            debug!("room removed: its last member left and its board is empty");
        }
    }

    fn remove_member(&mut self, room: RoomId, slot: usize) {
        let members = &mut self.rooms[room].members;
        members.swap_remove(slot);
        if let Some(&moved) = members.get(slot) {
            let user = named_mut(&mut self.sessions, moved).expect("members are named");
            if let Some(m) = user.joined.iter_mut().find(|m| m.room == room) {
                m.slot = slot;
            }
        }
    }

    fn say(&mut self, client: ClientId, room: RoomId, text: &str, out: &mut impl Outbox) {
        let from = name_of(&self.sessions, client);
        let room = &self.rooms[room];
        let line = self.enc.msg(&room.name, from, text);
        send_to_members(out, &room.members, Some(client), &line);
    }

    /// Forgets `client` wherever it is: queue, slot, name, rooms (telling them `reason`).
    fn depart(
        &mut self,
        client: ClientId,
        reason: LeaveReason,
        text: &str,
        now: Instant,
        out: &mut impl Outbox,
    ) {
        let Some(session) = self.sessions.get_mut(client.0).and_then(Option::take) else {
            return;
        };
        self.dead_timers += usize::from(session.timers);
        match &session.phase {
            Phase::Named(user) => info!(
                "#{} ({}) left: {}",
                session.serial,
                user.name,
                reason.as_str()
            ),
            _ => info!("#{} left: {}", session.serial, reason.as_str()),
        }
        match session.phase {
            Phase::Waiting(waiting) => {
                let sessions = &mut self.sessions;
                self.queue.remove(waiting.ticket, |c, ticket| {
                    if let Some(Session {
                        phase: Phase::Waiting(w),
                        ..
                    }) = sessions.get_mut(c.0).and_then(Option::as_mut)
                    {
                        w.ticket = ticket;
                    }
                });
                self.queue_changed(now);
            }
            Phase::Greeted => self.admitted -= 1,
            Phase::Named(user) => {
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

    fn admit_waiting(&mut self, now: Instant, out: &mut impl Outbox) {
        while self.admitted < self.limits.max_clients {
            let Some(client) = self.queue.pop() else {
                break;
            };
            self.admitted += 1;
            let session = self.session_mut(client).expect("waiting clients are live");
            session.phase = Phase::Greeted;
            let serial = session.serial;
            info!("#{serial} admitted from the queue");
            out.send(client, &self.enc.hello());
            self.schedule(
                now + self.limits.login_timeout,
                Timer::Login(client, serial),
            );
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
    fn check_queue(&mut self, now: Instant, out: &mut impl Outbox) {
        self.queue_check_at = None;
        let mut retry_at: Option<Instant> = None;
        for (index, client) in self.queue.iter().enumerate() {
            let position = index + 1;
            let Some(Session {
                phase: Phase::Waiting(w),
                ..
            }) = self.sessions[client.0].as_mut()
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
                out.send(client, &self.enc.queued(position));
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

    /// Pings a quiet client, or drops one that did not answer.
    fn check_liveness(&mut self, client: ClientId, now: Instant, out: &mut impl Outbox) {
        let limits = &self.limits;
        let session = self.sessions[client.0].as_mut().expect("caller checked");
        let serial = session.serial;
        if session.ping_outstanding {
            info!("#{serial} did not answer PING");
            self.depart(client, LeaveReason::Timeout, "", now, out);
            out.send(client, &self.enc.bye(ByeReason::Timeout));
            out.close(client);
            return;
        }
        let due = session.last_line + limits.ping_after;
        let ping_timeout = limits.ping_timeout;
        if due <= now {
            session.ping_outstanding = true;
            self.next_ping_token += 1;
            out.send(client, &self.enc.ping(self.next_ping_token));
            self.schedule(now + ping_timeout, Timer::Liveness(client, serial));
        } else {
            self.schedule(due, Timer::Liveness(client, serial));
        }
    }

    fn find_user(&self, name: &str) -> Result<ClientId, ErrorCode> {
        Folded::new(name)
            .and_then(|key| self.names.get(key.as_str()).copied())
            .ok_or(ErrorCode::NoSuchUser)
    }

    fn find_room(&self, name: &str) -> Result<RoomId, ErrorCode> {
        self.rooms.find(name).ok_or(ErrorCode::NoSuchRoom)
    }

    fn membership(&self, client: ClientId, room: RoomId) -> Option<&Membership> {
        self.user(client)?.joined.iter().find(|m| m.room == room)
    }

    /// A room by name that `client` is in.
    fn member_room(&self, client: ClientId, name: &str) -> Result<RoomId, ErrorCode> {
        let room = self.find_room(name)?;
        self.membership(client, room).ok_or(ErrorCode::NotInRoom)?;
        Ok(room)
    }

    /// The named room (which `client` must be in), or the current room.
    fn named_or_current(&self, client: ClientId, name: Option<&str>) -> Result<RoomId, ErrorCode> {
        match name {
            Some(name) => self.member_room(client, name),
            None => self.current_room(client),
        }
    }

    fn current_room(&self, client: ClientId) -> Result<RoomId, ErrorCode> {
        let user = self.user(client).expect("named");
        user.joined
            .last()
            .map(|m| m.room)
            .ok_or(ErrorCode::NotInRoom)
    }
}

fn named(sessions: &[Option<Session>], client: ClientId) -> Option<&User> {
    match &sessions.get(client.0)?.as_ref()?.phase {
        Phase::Named(user) => Some(user),
        _ => None,
    }
}

/// The display name of a named client.
fn name_of(sessions: &[Option<Session>], client: ClientId) -> &str {
    &named(sessions, client).expect("named").name
}

fn named_mut(sessions: &mut [Option<Session>], client: ClientId) -> Option<&mut User> {
    match &mut sessions.get_mut(client.0)?.as_mut()?.phase {
        Phase::Named(user) => Some(user),
        _ => None,
    }
}

fn arg_error(e: ArgError) -> ErrorCode {
    match e {
        ArgError::BadArgs => ErrorCode::BadArgs,
        ArgError::BadName => ErrorCode::BadName,
        ArgError::BadRoomName => ErrorCode::BadRoomName,
    }
}

fn send_to_members(
    out: &mut impl Outbox,
    members: &[ClientId],
    except: Option<ClientId>,
    line: &Line,
) {
    for &member in members {
        if Some(member) != except {
            out.send(member, line);
        }
    }
}

/// Orders `names` for a list line and keeps the first `limit`: lowercase, byte by byte.
fn first_in_list_order(names: &mut Vec<&str>, limit: usize) {
    let order = |a: &&str, b: &&str| {
        let a = a.bytes().map(|c| c.to_ascii_lowercase());
        a.cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    };
    if names.len() > limit && limit > 0 {
        names.select_nth_unstable_by(limit - 1, order);
    }
    names.truncate(limit);
    names.sort_unstable_by(order);
}

#[cfg(test)]
mod tests;
