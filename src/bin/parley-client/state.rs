//! What the client knows about its session, updated line by line from the server.
//!
//! [`ClientState::apply`] takes one parsed server line and returns what to show and
//! what to answer. It does no I/O, so the whole bookkeeping (current room, name,
//! board listings, our own pings) is unit-tested here; the connection module only
//! moves lines between the socket, this state and the screen.
//!
//! The state outlives a connection: when one is lost, [`ClientState::lost`] turns
//! what we were (name, rooms, what we saw in them) into a [`Resume`] plan, which
//! `apply` then drives on the next connection until we are back.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::protocol::{PostHeader, ServerLine};
use crate::render::{self, View};
use crate::resume::{Event, Outgoing, Resume, Seen};

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Connected, nothing heard yet.
    Connecting,
    /// Waiting in the server's queue at this 1-based position.
    Queued(u64),
    /// Admitted (`HELLO`), no name yet.
    Admitted,
    /// Named (`WELCOME`): chatting.
    Named,
}

/// Whether the session is whole, for the front end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Connected, and (once named) in our rooms: lines can be sent.
    Up,
    /// The connection was lost; the session is waiting to reconnect, or connecting.
    Down,
    /// Connected again; claiming the name and rejoining the rooms.
    Resuming,
    /// Connected again, but our name was refused: the user must choose another.
    NeedName,
}

/// The server's answer to a `/name` (or `/login`, or `/register` before naming).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameReply {
    /// `WELCOME`: the name is ours.
    Welcome,
    /// `ERR <code> <text>`: refused (`name-taken`, `bad-login`, ...).
    Refused {
        /// The error code.
        code: String,
        /// The server's explanation.
        text: String,
    },
}

/// How the server ended the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `BYE quit` after our `/quit`: a normal end.
    Quit,
    /// Any other `BYE`, with its rendered explanation.
    Closed(String),
}

/// What to do about one server line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Text to show (may span several lines).
    pub show: Option<String>,
    /// Lines to send at once (the answer to `PING`, the steps of a resumption).
    pub send: Vec<Outgoing>,
    /// Set when the server said `BYE`.
    pub ending: Option<Ending>,
    /// News about a resumption.
    pub event: Option<Event>,
}

/// A board listing being collected: `LIST` announced `count` posts.
#[derive(Debug)]
struct Listing {
    room: String,
    count: u64,
    posts: Vec<PostHeader>,
}

/// The client's knowledge of its session.
#[derive(Debug)]
pub struct ClientState {
    /// Where the connection stands.
    pub phase: Phase,
    /// Whether the session is whole (see [`Link`]).
    pub link: Link,
    /// Counts connections: a wait for an answer ends when this changes, since the
    /// answer will never come.
    pub connection: u64,
    /// The way back after a lost connection, until we are back.
    resume: Option<Resume>,
    /// The last message seen in each room we are in (lowercase room), to show only
    /// what we missed after a reconnection.
    seen: HashMap<String, Seen>,
    /// Where the connection stands as far as the user has been shown: [`phase`]
    /// once the line that changed it is on the screen. The front end goes by this
    /// one, so that what it prints next (say, the name prompt) comes after that
    /// line (`* connected`), not before.
    ///
    /// [`phase`]: ClientState::phase
    pub phase_shown: Phase,
    /// Our name once `WELCOME` arrived.
    pub me: Option<String>,
    /// Rooms we are in, the most recently joined last: the last one is the current
    /// room, as the server defines it.
    pub rooms: Vec<String>,
    /// Set while a `/name` is unanswered.
    pub awaiting_name: bool,
    /// The answer to the last `/name`, taken by whoever waits for it.
    pub name_reply: Option<NameReply>,
    /// How many `ERR` lines arrived so far (to tell whether a command failed).
    pub errors: u64,
    /// How many of those refused a name we asked for: the client asks for another
    /// one then, so they are part of choosing a name rather than failures.
    pub name_refusals: u64,
    /// Set once we sent `/quit`, so a following `BYE quit` is expected.
    pub quitting: bool,
    /// Set when the connection has ended.
    pub closed: bool,
    /// The `BYE` the server sent, if any.
    pub ending: Option<Ending>,
    /// Tokens of our own `/ping`s still unanswered; their `PONG`s are not shown.
    own_pings: HashSet<String>,
    /// Our own `/ping` tokens that have been answered.
    answered_pings: HashSet<String>,
    /// `/read` requests not answered yet (lowercase room, id).
    pending_reads: Vec<(String, u64)>,
    /// The board listing being collected.
    listing: Option<Listing>,
    /// Users seen so far, by lowercase name (for completion).
    pub known_users: BTreeMap<String, String>,
    /// Rooms seen so far, by lowercase name (for completion).
    pub known_rooms: BTreeMap<String, String>,
}

impl Default for ClientState {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientState {
    /// A fresh state for a new connection.
    pub fn new() -> Self {
        ClientState {
            phase: Phase::Connecting,
            link: Link::Up,
            connection: 1,
            resume: None,
            seen: HashMap::new(),
            phase_shown: Phase::Connecting,
            me: None,
            rooms: Vec::new(),
            awaiting_name: false,
            name_reply: None,
            errors: 0,
            name_refusals: 0,
            quitting: false,
            closed: false,
            ending: None,
            own_pings: HashSet::new(),
            answered_pings: HashSet::new(),
            pending_reads: Vec::new(),
            listing: None,
            known_users: BTreeMap::new(),
            known_rooms: BTreeMap::new(),
        }
    }

    /// The current room: the one joined most recently that we are still in.
    pub fn current_room(&self) -> Option<&str> {
        self.rooms.last().map(String::as_str)
    }

    /// Our spelling of `room` if we are in it.
    pub fn joined(&self, room: &str) -> Option<&str> {
        self.rooms
            .iter()
            .find(|r| r.eq_ignore_ascii_case(room))
            .map(String::as_str)
    }

    /// Whether `name` is us.
    fn is_me(&self, name: &str) -> bool {
        self.me
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(name))
    }

    /// How many `ERR` lines refused something other than a name.
    pub fn refused_commands(&self) -> u64 {
        self.errors - self.name_refusals
    }

    /// The connection was lost: plans the way back (or, lost again on the way,
    /// starts that plan over), and forgets what waited for answers.
    pub fn lost(&mut self) {
        self.link = Link::Down;
        match &mut self.resume {
            Some(resume) => resume.restart(),
            None => self.resume = Some(Resume::new(self.rooms.clone(), self.seen.clone())),
        }
        // Answers that arrived stay for whoever waits for them; questions still
        // open will never be answered.
        self.awaiting_name = false;
        self.own_pings.clear();
        self.pending_reads.clear();
        self.listing = None;
    }

    /// A new connection is up: the server will greet us again.
    pub fn connected(&mut self) {
        self.connection += 1;
        self.link = Link::Resuming;
        self.phase = Phase::Connecting;
        self.phase_shown = Phase::Connecting;
        self.ending = None;
    }

    /// Whether the session may be resumed after a loss: only once it had a name
    /// (before that there is nothing to get back, and the client ends as it did).
    pub fn resumable(&self) -> bool {
        self.me.is_some()
    }

    /// Notes our own message to `room`, sent at `now`: the last thing seen there.
    pub fn saw_own(&mut self, room: &str, text: &str, now: i64) {
        if let Some(me) = self.me.clone() {
            self.saw(room, &me, text, now);
        }
    }

    /// Notes a message seen in `room`.
    fn saw(&mut self, room: &str, from: &str, text: &str, now: i64) {
        self.seen.insert(
            room.to_ascii_lowercase(),
            Seen {
                from: Some(from.to_owned()),
                text: text.to_owned(),
                at: now,
            },
        );
    }

    /// Registers one of our own `/ping` tokens (its `PONG` will not be shown).
    pub fn expect_pong(&mut self, token: &str) {
        self.own_pings.insert(token.to_owned());
    }

    /// Whether the `PONG` for our token arrived (consumes it).
    pub fn take_pong(&mut self, token: &str) -> bool {
        self.answered_pings.remove(token)
    }

    /// Remembers a `/read` so its `POST` reply is shown as a post, not as news.
    pub fn expect_read(&mut self, room: &str, id: u64) {
        self.pending_reads.push((room.to_ascii_lowercase(), id));
    }

    /// Drops a remembered `/read` that the server refused.
    pub fn forget_read(&mut self, room: &str, id: u64) {
        let key = (room.to_ascii_lowercase(), id);
        if let Some(i) = self.pending_reads.iter().position(|r| *r == key) {
            self.pending_reads.remove(i);
        }
    }

    /// Updates the state for one server line and says what to show and answer.
    /// `view` supplies colour, width and clock; its `me` is filled in from here.
    /// Remembers who spoke, and in which room, for completion.
    fn remember_speaker(&mut self, line: &ServerLine) {
        match line {
            ServerLine::Msg { room, from, .. } => {
                self.remember_room(room);
                self.remember_user(from);
            }
            ServerLine::Priv { from, .. } | ServerLine::Bcast { from, .. } => {
                self.remember_user(from);
            }
            _ => {}
        }
    }

    pub fn apply(&mut self, line: &ServerLine, view: View<'_>) -> Reaction {
        let Some(resume) = self.resume.as_mut().filter(|_| self.link != Link::Down) else {
            return self.apply_line(line, view, true);
        };
        let me = self.me.clone();
        let resume_view = View {
            me: me.as_deref(),
            ..view
        };
        let verdict = resume.on_line(line, me.as_deref(), &resume_view);
        let (needs_name, done) = (resume.needs_name(), resume.done());
        let mut reaction = if verdict.apply {
            self.apply_line(line, view, verdict.count)
        } else {
            Reaction::default()
        };
        if !verdict.show {
            reaction.show = None;
        }
        // The notices are rendered with the name as it is after this line.
        let notices = verdict.notices.join("\n");
        if !notices.is_empty() {
            reaction.show = Some(match reaction.show.take() {
                Some(shown) => format!("{shown}\n{notices}"),
                None => notices,
            });
        }
        reaction.send.extend(verdict.send);
        reaction.event = verdict.event;
        self.link = if done {
            self.resume = None;
            Link::Up
        } else if needs_name {
            Link::NeedName
        } else {
            Link::Resuming
        };
        reaction
    }

    /// [`ClientState::apply`] without the resumption; `count`: whether an `ERR`
    /// counts as a refused line.
    fn apply_line(&mut self, line: &ServerLine, view: View<'_>, count: bool) -> Reaction {
        let mut reaction = Reaction::default();
        let mut read_reply = false;
        match line {
            ServerLine::Hello { .. } => self.phase = Phase::Admitted,
            ServerLine::Queued { position, .. } => self.phase = Phase::Queued(*position),
            ServerLine::Welcome { name, .. } => {
                self.phase = Phase::Named;
                self.me = Some(name.clone());
                // A new session: `JOIN lobby` follows, and nothing else is ours.
                self.rooms.clear();
                if self.awaiting_name {
                    self.awaiting_name = false;
                    self.name_reply = Some(NameReply::Welcome);
                }
            }
            ServerLine::Err { code, text } if count => {
                self.errors += 1;
                if self.awaiting_name {
                    self.name_refusals += 1;
                    self.awaiting_name = false;
                    self.name_reply = Some(NameReply::Refused {
                        code: code.clone(),
                        text: text.clone(),
                    });
                }
            }
            ServerLine::Err { .. } => {}
            ServerLine::Join { room, name } => {
                self.remember_room(room);
                self.remember_user(name);
                if self.is_me(name) {
                    self.rooms.retain(|r| !r.eq_ignore_ascii_case(room));
                    self.rooms.push(room.clone());
                    // Nothing seen yet: what comes after our join is news.
                    self.seen
                        .entry(room.to_ascii_lowercase())
                        .or_insert_with(|| Seen {
                            from: None,
                            text: String::new(),
                            at: view.now,
                        });
                }
            }
            ServerLine::Leave { room, name, .. } => {
                if self.is_me(name) {
                    self.rooms.retain(|r| !r.eq_ignore_ascii_case(room));
                    self.seen.remove(&room.to_ascii_lowercase());
                }
            }
            ServerLine::Msg { room, from, text } => {
                self.remember_speaker(line);
                self.saw(room, from, text, view.now);
            }
            ServerLine::Priv { .. } | ServerLine::Bcast { .. } => {
                self.remember_speaker(line);
            }
            ServerLine::Nick { old, new } => {
                self.remember_user(new);
                if self.is_me(old) {
                    self.me = Some(new.clone());
                }
            }
            ServerLine::History { room, .. } => self.remember_room(room),
            ServerLine::Old { line, .. } => self.remember_speaker(line),
            ServerLine::Users { names, .. } => {
                for name in names {
                    self.remember_user(name);
                }
            }
            ServerLine::Rooms { rooms, .. } => {
                for (room, _) in rooms {
                    self.remember_room(room);
                }
            }
            ServerLine::List { room, count } => {
                self.listing = (*count > 0).then(|| Listing {
                    room: room.clone(),
                    count: *count,
                    posts: Vec::new(),
                });
                if *count > 0 {
                    return reaction; // shown with its posts
                }
            }
            ServerLine::Post(post) => {
                if let Some(listing) = &mut self.listing {
                    if listing.room.eq_ignore_ascii_case(&post.room) {
                        listing.posts.push(post.clone());
                        if listing.posts.len() as u64 >= listing.count {
                            let view = View {
                                me: self.me.as_deref(),
                                ..view
                            };
                            reaction.show = Some(render::render_board(
                                &view,
                                &listing.room,
                                listing.count,
                                &listing.posts,
                            ));
                            self.listing = None;
                        }
                        return reaction;
                    }
                }
                let key = (post.room.to_ascii_lowercase(), post.id);
                if let Some(i) = self.pending_reads.iter().position(|r| *r == key) {
                    self.pending_reads.remove(i);
                    read_reply = true;
                }
            }
            ServerLine::Ping { token } => {
                reaction.send.push(Outgoing::Line(format!("/pong {token}")));
            }
            ServerLine::Pong { token } => {
                if self.own_pings.remove(token) {
                    self.answered_pings.insert(token.clone());
                    return reaction;
                }
            }
            ServerLine::Bye { reason, .. } => {
                let ending = if reason == "quit" && self.quitting {
                    Ending::Quit
                } else {
                    let plain = View {
                        me: self.me.as_deref(),
                        painter: crate::style::Painter { colour: false },
                        ..view
                    };
                    let text = render::render(line, &plain, false).unwrap_or_default();
                    Ending::Closed(text.trim_start_matches("* ").to_owned())
                };
                self.ending = Some(ending.clone());
                reaction.ending = Some(ending);
                if reaction.ending != Some(Ending::Quit) {
                    // The caller reports it once, as the reason for exiting.
                    return reaction;
                }
            }
            ServerLine::Posted { .. }
            | ServerLine::Registered { .. }
            | ServerLine::Unregistered { .. }
            | ServerLine::Offline { .. }
            | ServerLine::Body { .. }
            | ServerLine::Info { .. }
            | ServerLine::Unknown { .. } => {}
        }
        let view = View {
            me: self.me.as_deref(),
            ..view
        };
        reaction.show = render::render(line, &view, read_reply);
        reaction
    }

    /// Adds a user name to the completion list.
    fn remember_user(&mut self, name: &str) {
        self.known_users
            .insert(name.to_ascii_lowercase(), name.to_owned());
    }

    /// Adds a room name to the completion list.
    fn remember_room(&mut self, room: &str) {
        if room != "*" {
            self.known_rooms
                .insert(room.to_ascii_lowercase(), room.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::utc;
    use crate::style::Painter;

    fn view() -> View<'static> {
        View {
            me: None,
            painter: Painter { colour: false },
            width: None,
            clock: utc,
            now: 0,
        }
    }

    fn feed(state: &mut ClientState, line: &str) -> Reaction {
        state.apply(&ServerLine::parse(line), view())
    }

    fn shown(state: &mut ClientState, line: &str) -> Option<String> {
        feed(state, line).show
    }

    fn named(name: &str) -> ClientState {
        let mut state = ClientState::new();
        feed(&mut state, "HELLO parley 1 hi");
        state.awaiting_name = true;
        feed(&mut state, &format!("WELCOME {name} hi"));
        feed(&mut state, &format!("JOIN lobby {name}"));
        state
    }

    #[test]
    fn phases_and_naming() {
        let mut state = ClientState::new();
        feed(&mut state, "QUEUED 2 wait");
        assert_eq!(state.phase, Phase::Queued(2));
        feed(&mut state, "HELLO parley 1 hi");
        assert_eq!(state.phase, Phase::Admitted);
        state.awaiting_name = true;
        feed(&mut state, "ERR name-taken taken");
        assert_eq!(
            state.name_reply.take(),
            Some(NameReply::Refused {
                code: "name-taken".into(),
                text: "taken".into()
            })
        );
        assert!(!state.awaiting_name);
        state.awaiting_name = true;
        feed(&mut state, "WELCOME Alice hi");
        assert_eq!(state.name_reply.take(), Some(NameReply::Welcome));
        assert_eq!(state.me.as_deref(), Some("Alice"));
        assert_eq!(state.phase, Phase::Named);
    }

    #[test]
    fn current_room_is_the_latest_joined() {
        let mut state = named("alice");
        assert_eq!(state.current_room(), Some("lobby"));
        feed(&mut state, "JOIN Rust alice");
        assert_eq!(state.current_room(), Some("Rust"));
        feed(&mut state, "JOIN go bob");
        assert_eq!(state.current_room(), Some("Rust"));
        feed(&mut state, "JOIN go ALICE");
        assert_eq!(state.current_room(), Some("go"));
        feed(&mut state, "LEAVE go alice left");
        assert_eq!(state.current_room(), Some("Rust"));
        assert_eq!(state.joined("rust"), Some("Rust"));
        feed(&mut state, "LEAVE rust alice left");
        feed(&mut state, "LEAVE lobby alice left");
        assert_eq!(state.current_room(), None);
        assert!(state.known_rooms.contains_key("go"));
        assert!(state.known_users.contains_key("bob"));
    }

    #[test]
    fn pings_are_answered_and_own_pongs_hidden() {
        let mut state = named("alice");
        let r = feed(&mut state, "PING 123");
        assert_eq!(r.send, vec![Outgoing::Line("/pong 123".into())]);
        assert_eq!(r.show, None);
        state.expect_pong("c1");
        assert_eq!(shown(&mut state, "PONG c1"), None);
        assert!(state.take_pong("c1"));
        assert!(!state.take_pong("c1"));
        assert_eq!(
            shown(&mut state, "PONG mine").as_deref(),
            Some("* pong mine")
        );
    }

    #[test]
    fn listings_are_collected_into_a_table() {
        let mut state = named("alice");
        assert_eq!(shown(&mut state, "LIST rust 2"), None);
        assert_eq!(shown(&mut state, "POST rust 1 bob 0 first"), None);
        let table = shown(&mut state, "POST rust 2 alice 60 second").expect("table");
        assert_eq!(
            table,
            "* rust board: 2 posts\n    id  author  time              subject\n     \
             1  bob     1970-01-01 00:00  first\n     2  alice   1970-01-01 00:01  second"
        );
        // After the listing, a POST is news again.
        assert_eq!(
            shown(&mut state, "POST rust 3 bob 0 third").as_deref(),
            Some("* new post #3 in rust by bob: third  (/read rust 3)")
        );
        assert_eq!(
            shown(&mut state, "LIST rust 0").as_deref(),
            Some("* rust board: no posts")
        );
    }

    #[test]
    fn read_replies_are_shown_as_posts() {
        let mut state = named("alice");
        state.expect_read("Rust", 3);
        assert_eq!(
            shown(&mut state, "POST rust 3 bob 0 subject").as_deref(),
            Some("[rust #3] bob, 1970-01-01 00:00 — subject")
        );
        assert_eq!(
            shown(&mut state, "BODY rust 3 text").as_deref(),
            Some("    text")
        );
    }

    #[test]
    fn history_is_shown_line_by_line() {
        let mut state = named("alice");
        assert_eq!(
            shown(&mut state, "HISTORY Rust 2").as_deref(),
            Some("* last 2 messages in Rust")
        );
        assert_eq!(
            shown(&mut state, "OLD 0 MSG Rust bob first").as_deref(),
            Some("[Rust] 00:00 bob: first")
        );
        assert_eq!(
            shown(&mut state, "OLD 86400 MSG Rust alice second").as_deref(),
            Some("[Rust] 1970-01-02 00:00 alice: second")
        );
        assert_eq!(
            shown(&mut state, "OLD 60 PRIV carol psst").as_deref(),
            Some("(private) 00:01 carol: psst")
        );
        assert_eq!(
            shown(&mut state, "OLD 60 FROB x").as_deref(),
            Some("? OLD 60 FROB x")
        );
        // Replayed names are offered for completion; history is no listing.
        assert!(state.known_rooms.contains_key("rust"));
        assert!(state.known_users.contains_key("bob"));
        assert!(state.known_users.contains_key("carol"));
        assert_eq!(state.current_room(), Some("lobby"));
        assert_eq!(
            shown(&mut state, "HISTORY empty 0").as_deref(),
            Some("* no messages in empty")
        );
        feed(&mut state, "ERR store-failed Could not store that");
        assert_eq!(state.refused_commands(), 1);
    }

    #[test]
    fn bye_after_quit_is_normal_and_other_byes_are_not() {
        let mut state = named("alice");
        let r = feed(&mut state, "BYE shutdown Server going down");
        assert_eq!(
            r.ending,
            Some(Ending::Closed(
                "the server closed the connection: Server going down (shutdown)".into()
            ))
        );
        assert_eq!(r.show, None);
        let mut state = named("alice");
        state.quitting = true;
        let r = feed(&mut state, "BYE quit bye");
        assert_eq!(r.ending, Some(Ending::Quit));
        assert_eq!(r.show.as_deref(), Some("* bye"));
    }

    #[test]
    fn a_lost_session_is_resumed_by_its_own_lines() {
        let mut state = named("alice");
        feed(&mut state, "JOIN rust alice");
        feed(&mut state, "MSG rust bob seen");
        state.expect_pong("c1");
        state.lost();
        assert_eq!(state.link, Link::Down);
        // Rooms and name stay for the prompt and the way back.
        assert_eq!(state.current_room(), Some("rust"));
        assert!(state.resumable());
        let connection = state.connection;
        state.connected();
        assert_eq!(state.connection, connection + 1);
        assert_eq!(
            (state.link, state.phase),
            (Link::Resuming, Phase::Connecting)
        );
        // An old question is not answered on the new connection.
        assert_eq!(shown(&mut state, "PONG c1").as_deref(), Some("* pong c1"));
        assert!(feed(&mut state, "QUEUED 1 wait").send.is_empty());
        assert_eq!(state.phase, Phase::Queued(1));
        assert_eq!(
            feed(&mut state, "HELLO parley 1").send,
            vec![Outgoing::Claim]
        );
        feed(&mut state, "WELCOME alice hi");
        // WELCOME starts a new session: only lobby until the rooms come back.
        assert!(state.rooms.is_empty());
        let r = feed(&mut state, "JOIN lobby alice");
        assert_eq!(r.send, vec![Outgoing::Line("/join rust".into())]);
        assert_eq!(r.show.as_deref(), Some("* you joined lobby"));
        feed(&mut state, "JOIN rust alice");
        assert_eq!(state.current_room(), Some("rust"));
        feed(&mut state, "MSG rust bob live");
        feed(&mut state, "HISTORY lobby 0");
        let r = feed(&mut state, "HISTORY rust 3");
        assert_eq!((r.show, r.event), (None, None));
        feed(&mut state, "OLD 0 MSG rust bob seen");
        feed(&mut state, "OLD 0 MSG rust carol missed");
        let r = feed(&mut state, "OLD 0 MSG rust bob live");
        assert_eq!(
            r.show.as_deref(),
            Some("* missed in rust: 1 message\n[rust] 00:00 carol: missed\n* back as alice in lobby, rust")
        );
        assert_eq!(r.event, Some(Event::Resumed));
        assert_eq!(state.link, Link::Up);
        assert_eq!(state.refused_commands(), 0);
    }

    #[test]
    fn a_name_refused_on_the_new_connection_needs_another() {
        let mut state = named("alice");
        state.lost();
        state.connected();
        feed(&mut state, "HELLO parley 1");
        let r = feed(&mut state, "ERR name-taken taken");
        assert_eq!(state.link, Link::NeedName);
        assert_eq!(r.show.as_deref(), Some("! taken (name-taken)"));
        assert!(matches!(r.event, Some(Event::NameRefused { .. })));
        // Not one of a script's refused lines.
        assert_eq!(state.errors, 0);
        // The user's new name takes the plan on.
        state.awaiting_name = true;
        feed(&mut state, "WELCOME alicia hi");
        assert_eq!(state.name_reply.take(), Some(NameReply::Welcome));
        assert_eq!(state.link, Link::Resuming);
        let r = feed(&mut state, "JOIN lobby alicia");
        assert_eq!(r.send, vec![Outgoing::Line("/history lobby".into())]);
    }

    #[test]
    fn renames_follow_nick() {
        let mut state = named("alice");
        feed(&mut state, "NICK bob Robert");
        assert_eq!(state.me.as_deref(), Some("alice"));
        assert!(state.known_users.contains_key("robert"));
        assert_eq!(
            shown(&mut state, "NICK alice Alicia").as_deref(),
            Some("* you are now Alicia")
        );
        assert_eq!(state.me.as_deref(), Some("Alicia"));
        assert_eq!(
            shown(&mut state, "OFFLINE bob").as_deref(),
            Some("* stored for bob, who is offline: delivered at their next login")
        );
    }

    #[test]
    fn errors_are_counted_apart_from_refused_names() {
        let mut state = ClientState::new();
        feed(&mut state, "HELLO parley 1 hi");
        state.awaiting_name = true;
        feed(&mut state, "ERR name-taken taken");
        state.awaiting_name = true;
        feed(&mut state, "WELCOME alice hi");
        feed(&mut state, "ERR no-such-user nobody");
        feed(&mut state, "ERR bad-args x");
        assert_eq!(state.errors, 3);
        assert_eq!(state.refused_commands(), 2);
    }
}
