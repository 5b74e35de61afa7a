//! The chat core driven without sockets, on a clock the tests move by hand.

use std::collections::HashMap;
use std::net::IpAddr;

use super::*;
use crate::codec::parley::{grammar, Encoder};
use crate::password::Credential;

/// Effects as parley lines per client slot, in order, and a fake store in memory.
/// (The core's tests read its events in parley's wire form because that is how the
/// protocol states them; the core itself knows no codec.)
#[derive(Default)]
struct Recorder {
    encoder: Encoder,
    /// `(slot, line)`; a close is `CLOSE`.
    log: Vec<(usize, String)>,
    /// Requests not yet carried out, with the client that waits.
    pending: Vec<(Option<ClientId>, Request)>,
    /// The fake store's room messages, by lowercase room name.
    history: HashMap<String, Vec<StoredMessage>>,
    /// The fake store's posts, by lowercase room name and id.
    posts: HashMap<(String, u64), StoredPost>,
    /// When set, every write fails (a full disk).
    failing: bool,
    /// Rooms the core told the store were removed.
    removed: Vec<String>,
    /// The fake store's accounts: lowercase name to password hash.
    accounts: HashMap<String, String>,
    /// The fake store's waiting private messages: (number, lowercase recipient, message).
    offline: Vec<(u64, String, StoredMessage)>,
    /// Password jobs the fake hasher has run.
    hash_jobs: usize,
    /// When set, the fake hashing queue refuses every job.
    hashing_full: bool,
}

/// The fake hasher's "hash" of a password: easy to check, never the password as typed.
fn fake_hash(password: &str) -> Box<str> {
    format!("fake${}", password.chars().rev().collect::<String>()).into()
}

impl Recorder {
    /// Carries out one request as a store would.
    fn serve(&mut self, request: Request) -> Completion {
        match request {
            Request::Hash(_) if self.hashing_full => Completion::HashRefused,
            Request::Hash(job) => {
                self.hash_jobs += 1;
                let verified = match &job.check {
                    None => true,
                    Some((None, _)) => false,
                    Some((Some(Credential::Phc(phc)), password)) => {
                        **phc == *fake_hash(password.as_str())
                    }
                    Some((Some(Credential::Clear(clear)), password)) => {
                        clear.as_str() == password.as_str()
                    }
                };
                let hash = job.hash.as_ref().map(|p| fake_hash(p.as_str()));
                Completion::Hashed(Hashed {
                    verified,
                    hash: if verified { hash } else { None },
                })
            }
            Request::Offline { account } => {
                let key = account.to_ascii_lowercase();
                let messages = self
                    .offline
                    .iter()
                    .filter(|(_, to, _)| *to == key)
                    .map(|(n, _, m)| (*n, m.clone()))
                    .collect();
                Completion::Offline { account, messages }
            }
            Request::Store(write) if self.failing => Completion::StoreFailed(write),
            Request::Store(write) => {
                match &write {
                    Write::Message {
                        room,
                        message,
                        keep,
                    } => {
                        let kept = self.history.entry(room.to_ascii_lowercase()).or_default();
                        kept.push(message.clone());
                        let excess = kept.len().saturating_sub(*keep);
                        kept.drain(..excess);
                    }
                    Write::RoomRemoved { room } => {
                        self.history.remove(&room.to_ascii_lowercase());
                    }
                    Write::Post { room, post, .. } => {
                        let key = (room.to_ascii_lowercase(), post.id);
                        self.posts.insert(key, post.clone());
                    }
                    Write::Account { name, phc } => {
                        self.accounts
                            .insert(name.to_ascii_lowercase(), phc.to_string());
                    }
                    Write::AccountRemoved { name } => {
                        let key = name.to_ascii_lowercase();
                        self.accounts.remove(&key);
                        self.offline.retain(|(_, to, _)| *to != key);
                    }
                    Write::Offline { to, message } => {
                        let n = self.offline.last().map_or(1, |(n, _, _)| n + 1);
                        self.offline
                            .push((n, to.to_ascii_lowercase(), message.clone()));
                    }
                    Write::OfflineDelivered { to, through } => {
                        let key = to.to_ascii_lowercase();
                        self.offline.retain(|(n, r, _)| *r != key || n > through);
                    }
                }
                Completion::Stored(write)
            }
            Request::History { room, count } => {
                let kept = self.history.get(&room.to_ascii_lowercase());
                let kept = kept.map_or(&[][..], |k| &k[..]);
                let messages = kept[kept.len().saturating_sub(count)..].to_vec();
                Completion::History { room, messages }
            }
            Request::Post { room, id } => {
                let post = self.posts.get(&(room.to_ascii_lowercase(), id)).cloned();
                Completion::Post { room, post }
            }
            Request::Echo(token) => Completion::Echo(token),
        }
    }
}

impl Effects for Recorder {
    fn send(&mut self, to: ClientId, event: &Event<'_>) {
        let bytes = self.encoder.encode(event);
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            self.log.push((to.slot(), line.to_owned()));
        }
    }
    fn close(&mut self, client: ClientId) {
        self.log.push((client.slot(), "CLOSE".to_owned()));
    }
    fn request(&mut self, client: ClientId, request: Request) {
        self.pending.push((Some(client), request));
    }
    fn persist(&mut self, write: Write) {
        if let Write::RoomRemoved { room } = &write {
            self.removed.push(room.to_string());
        }
        self.pending.push((None, Request::Store(write)));
    }
}

/// A hub, a hand-moved clock, and everything the hub has said so far.
struct Bench {
    hub: Hub,
    now: Instant,
    out: Recorder,
    next_serial: u64,
    /// The id of each slot's current holder.
    ids: HashMap<usize, ClientId>,
}

impl Bench {
    fn new(limits: Limits) -> Bench {
        let now = Instant::now();
        Bench {
            hub: Hub::new(limits, now, 1_700_000_000),
            now,
            out: Recorder::default(),
            next_serial: 1,
            ids: HashMap::new(),
        }
    }

    /// The id of the connection in slot `id`.
    fn cid(&self, id: usize) -> ClientId {
        self.ids[&id]
    }

    fn connect(&mut self, id: usize) -> Vec<String> {
        // One host: failed logins of every test client count together.
        self.connect_from(id, IpAddr::from([192, 0, 2, 1]))
    }

    fn connect_from(&mut self, id: usize, address: IpAddr) -> Vec<String> {
        self.connect_over(id, address, Link::Clear)
    }

    fn connect_over(&mut self, id: usize, address: IpAddr, link: Link) -> Vec<String> {
        self.next_serial += 1;
        let client = ClientId::new(id, self.next_serial as u32);
        self.ids.insert(id, client);
        self.hub.connect(
            client,
            self.next_serial,
            address,
            link,
            self.now,
            &mut self.out,
        );
        self.take(id)
    }

    /// Hands the core one line of `id`, then lets the fake store carry out what it
    /// asked for, as the loop does before it reads that client again.
    fn line(&mut self, id: usize, text: &str) {
        let input = grammar::parse(text);
        self.hub
            .receive(self.cid(id), input, self.now, &mut self.out);
        self.settle();
    }

    /// Completes every pending request, in order.
    fn settle(&mut self) {
        while !self.out.pending.is_empty() {
            for (client, request) in std::mem::take(&mut self.out.pending) {
                let done = self.out.serve(request);
                if let Some(client) = client {
                    self.hub.complete(client, done, self.now, &mut self.out);
                }
            }
        }
    }

    /// Sends `text` from `id` and returns what `id` got back.
    fn ask(&mut self, id: usize, text: &str) -> Vec<String> {
        self.line(id, text);
        self.take(id)
    }

    fn login(&mut self, id: usize, name: &str) {
        self.connect(id);
        assert_eq!(
            self.ask(id, &format!("/name {name}"))[1..],
            [format!("JOIN lobby {name}")]
        );
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.hub.on_timeout(self.now, &mut self.out);
    }

    /// Removes and returns the lines (and closes, as `CLOSE`) sent to `id` so far.
    fn take(&mut self, id: usize) -> Vec<String> {
        let mut mine = Vec::new();
        self.out.log.retain(|(to, line)| {
            if *to == id {
                mine.push(line.clone());
                false
            } else {
                true
            }
        });
        mine
    }

    fn codes(&mut self, id: usize, text: &str) -> String {
        let got = self.ask(id, text);
        assert_eq!(got.len(), 1, "{text:?} -> {got:?}");
        got[0].split(' ').take(2).collect::<Vec<_>>().join(" ")
    }
}

fn limits() -> Limits {
    Limits {
        max_clients: 100,
        max_queue: 100,
        ..Limits::default()
    }
}

#[test]
fn naming_by_first_line_and_case_insensitive_uniqueness() {
    let mut b = Bench::new(limits());
    assert_eq!(b.connect(1)[0].split(' ').next(), Some("HELLO"));
    assert_eq!(b.codes(1, "alice smith"), "ERR bad-name");
    assert_eq!(b.codes(1, "/users"), "ERR not-named");
    let got = b.ask(1, "  Alice ");
    assert!(got[0].starts_with("WELCOME Alice "), "{got:?}");
    assert_eq!(got[1], "JOIN lobby Alice");
    b.connect(2);
    assert_eq!(b.codes(2, "/name aLICE"), "ERR name-taken");
    assert_eq!(b.codes(1, "/name bob"), "ERR already-named");
    assert_eq!(b.codes(1, "/name b@d"), "ERR already-named");
}

#[test]
fn error_precedence_follows_the_protocol() {
    let mut b = Bench::new(limits());
    b.connect(1);
    assert_eq!(b.codes(1, "/nonsense"), "ERR unknown-command");
    assert_eq!(b.codes(1, "/msg"), "ERR not-named");
    assert_eq!(b.codes(1, "/name"), "ERR bad-args");
    b.login(2, "bob");
    assert_eq!(b.codes(2, "/msg b@d"), "ERR bad-args");
    assert_eq!(b.codes(2, "/msg b@d hi"), "ERR bad-name");
    assert_eq!(b.codes(2, "/msg nobody hi"), "ERR no-such-user");
    assert_eq!(b.codes(2, "/join b@d"), "ERR bad-room-name");
    assert_eq!(b.codes(2, "/say nowhere hi"), "ERR no-such-room");
}

#[test]
fn messages_reach_others_once_and_never_echo() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    assert!(b.ask(1, "hello  there ").is_empty());
    assert_eq!(b.take(2), ["MSG lobby al hello  there "]);
    assert!(b.ask(1, "/msg BO psst").is_empty());
    assert_eq!(b.take(2), ["PRIV al psst"]);
    assert_eq!(b.ask(1, "/msg al me"), ["PRIV al me"]);
    b.line(1, "/broadcast all");
    assert_eq!(b.take(2), ["BCAST al all"]);
    assert!(b.take(1).is_empty());
}

#[test]
fn current_room_is_the_latest_joined_still_held() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    assert_eq!(b.ask(1, "/create Rust"), ["JOIN Rust al"]);
    assert_eq!(b.ask(2, "/join rust"), ["JOIN Rust bo"]);
    assert_eq!(b.take(1), ["JOIN Rust bo"]);
    b.line(2, "hi");
    assert_eq!(b.take(1), ["MSG Rust bo hi"]);
    assert_eq!(b.ask(2, "/leave"), ["LEAVE Rust bo left"]);
    assert_eq!(b.take(1), ["LEAVE Rust bo left"]);
    b.line(2, "back in lobby");
    assert_eq!(b.take(1), ["MSG lobby bo back in lobby"]);
    assert_eq!(b.ask(2, "%leave"), ["LEAVE lobby bo left"]);
    assert_eq!(b.codes(2, "hello?"), "ERR not-in-room");
    assert_eq!(b.codes(2, "/leave"), "ERR not-in-room");
}

#[test]
fn empty_rooms_vanish_unless_their_board_holds_posts() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.ask(1, "/create tmp");
    b.ask(1, "/leave tmp");
    assert_eq!(b.codes(1, "/join tmp"), "ERR no-such-room");
    b.ask(1, "/create keep");
    assert_eq!(b.ask(1, "/post keep news body"), ["POSTED keep 1"]);
    b.ask(1, "/leave keep");
    assert_eq!(b.ask(1, "/rooms"), ["ROOMS 2 keep:0 lobby:1"]);
    assert_eq!(b.ask(1, "/join KEEP"), ["JOIN keep al"]);
}

#[test]
fn announce_limit_keeps_big_rooms_quiet() {
    let mut b = Bench::new(Limits {
        announce_limit: 2,
        ..limits()
    });
    b.login(1, "a");
    b.login(2, "b");
    assert_eq!(b.take(1), ["JOIN lobby b"]);
    b.login(3, "c");
    assert!(
        b.take(1).is_empty(),
        "three members exceed the limit of two"
    );
    b.line(3, "/quit");
    assert!(b.take(1).is_empty());
    b.line(2, "/quit gone");
    assert_eq!(b.take(1), ["LEAVE lobby b quit gone"]);
}

#[test]
fn board_shows_two_before_joining_and_everything_after() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    for i in 1..=4 {
        assert_eq!(
            b.ask(1, &format!("/post lobby s{i} body {i}")),
            [format!("POSTED lobby {i}")]
        );
    }
    b.login(2, "bo");
    b.take(1);
    b.now += Duration::from_secs(5);
    b.ask(1, "/post lobby \"late news\" the body");
    assert_eq!(b.take(2), ["POST lobby 5 al 1700000005 late news"]);
    let list = b.ask(2, "/list");
    assert_eq!(list[0], "LIST lobby 3");
    let ids: Vec<&str> = list[1..]
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(ids, ["3", "4", "5"]);
    assert_eq!(b.codes(2, "/read lobby 2"), "ERR no-such-post");
    assert_eq!(b.codes(2, "/read lobby x"), "ERR no-such-post");
    assert_eq!(b.codes(2, "/read lobby +5"), "ERR no-such-post");
    assert_eq!(
        b.ask(2, "%message 5"),
        [
            "POST lobby 5 al 1700000005 late news",
            "BODY lobby 5 the body"
        ]
    );
}

#[test]
fn queue_admits_in_order_and_updates_positions_at_most_once_a_second() {
    let mut b = Bench::new(Limits {
        max_clients: 1,
        max_queue: 3,
        ..limits()
    });
    b.login(1, "al");
    assert!(b.connect(2)[0].starts_with("QUEUED 1 "));
    assert!(b.connect(3)[0].starts_with("QUEUED 2 "));
    assert!(b.connect(4)[0].starts_with("QUEUED 3 "));
    assert!(b.connect(5)[0].starts_with("BYE server-full"));
    assert_eq!(b.codes(3, "/name x"), "ERR queued");
    assert_eq!(b.ask(3, "/ping t"), ["PONG t"]);

    // The first waiter leaves; within a second the others hear their new places.
    b.hub
        .disconnect(b.cid(2), Departure::Disconnected, b.now, &mut b.out);
    b.advance(QUEUE_CHECK_EVERY);
    assert!(
        b.take(3).is_empty(),
        "the first QUEUED was under a second ago"
    );
    b.advance(QUEUE_UPDATE_MIN_GAP);
    assert!(b.take(3)[0].starts_with("QUEUED 1 "));
    assert!(b.take(4)[0].starts_with("QUEUED 2 "));

    // A slot frees: the front is admitted at once, the next told later.
    b.line(1, "/quit");
    assert!(b.take(3)[0].starts_with("HELLO "));
    assert!(b.take(4).is_empty());
    b.advance(QUEUE_UPDATE_MIN_GAP);
    assert!(b.take(4)[0].starts_with("QUEUED 1 "));
    b.advance(QUEUE_UPDATE_MIN_GAP * 3);
    assert!(b.take(4).is_empty(), "an unchanged position is not re-sent");
}

#[test]
fn ping_then_timeout_and_any_line_keeps_a_client() {
    let mut b = Bench::new(Limits {
        ping_after: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(30),
        ..limits()
    });
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    b.advance(Duration::from_secs(30));
    b.line(2, "/pong early"); // bo's silence now starts at t=30
    b.advance(Duration::from_secs(29));
    assert!(b.take(1).is_empty());
    b.advance(Duration::from_secs(1));
    assert!(b.take(1)[0].starts_with("PING "), "al pinged at t=60");
    b.line(1, "   ");
    b.advance(Duration::from_secs(30));
    assert!(b.take(1).is_empty(), "at t=90 a blank line has kept al");
    assert!(b.take(2)[0].starts_with("PING "), "bo pinged at t=90");
    b.advance(Duration::from_secs(30));
    let bo = b.take(2);
    assert!(bo[0].starts_with("BYE timeout "), "{bo:?}");
    assert_eq!(bo[1], "CLOSE");
    let al = b.take(1);
    assert!(al.contains(&"LEAVE lobby bo timeout".to_owned()), "{al:?}");
}

#[test]
fn login_timeout_counts_from_hello() {
    let mut b = Bench::new(Limits {
        max_clients: 1,
        login_timeout: Duration::from_secs(30),
        ..limits()
    });
    b.connect(1);
    b.advance(Duration::from_secs(20));
    b.connect(2);
    b.advance(Duration::from_secs(10));
    assert_eq!(
        b.take(1)[0].split(' ').take(2).collect::<Vec<_>>(),
        ["BYE", "timeout"]
    );
    assert!(
        b.take(2)[0].starts_with("HELLO"),
        "admitted when the first left"
    );
    b.advance(Duration::from_secs(29));
    assert!(b.take(2).is_empty());
    b.advance(Duration::from_secs(1));
    assert!(b.take(2)[0].starts_with("BYE timeout"));
}

#[test]
fn limits_on_rooms_and_joins() {
    let mut b = Bench::new(Limits {
        max_rooms: 3,
        max_joined: 2,
        ..limits()
    });
    b.login(1, "al");
    b.ask(1, "/create r1");
    assert_eq!(b.codes(1, "/create r2"), "ERR limit-reached");
    b.login(2, "bo");
    b.ask(2, "/create r2");
    assert_eq!(b.codes(2, "/create r3"), "ERR limit-reached");
    assert_eq!(b.codes(2, "/create r1"), "ERR room-exists");
    assert_eq!(b.codes(2, "/join r1"), "ERR limit-reached");
    assert_eq!(b.codes(2, "/join r2"), "ERR already-in-room");
}

#[test]
fn lists_are_sorted_ignoring_case_and_cut_at_the_limit() {
    let mut b = Bench::new(Limits {
        list_limit: 2,
        ..limits()
    });
    for (id, name) in [(1, "carol"), (2, "Bob"), (3, "alice")] {
        b.login(id, name);
    }
    b.take(1);
    assert_eq!(b.ask(1, "/users"), ["USERS lobby 3 alice Bob"]);
    assert_eq!(b.ask(1, "/users *"), ["USERS * 3 alice Bob"]);
}

#[test]
fn departures_tell_every_room_and_free_the_name() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.ask(2, "/create r");
    b.ask(1, "/join r");
    b.take(2);
    b.hub
        .disconnect(b.cid(1), Departure::Sendq, b.now, &mut b.out);
    let mut got = b.take(2);
    got.sort();
    assert_eq!(got, ["LEAVE lobby al sendq", "LEAVE r al sendq"]);
    assert!(
        b.take(1).is_empty(),
        "nothing is sent to a client that is gone"
    );
    b.login(3, "AL");
    assert_eq!(b.hub.census().named, 2);
}

mod arbitrary_input {
    use super::*;
    use crate::codec::{Codec, Step};
    use proptest::prelude::*;

    const CODES: [&str; 17] = [
        "unknown-command",
        "bad-args",
        "not-named",
        "already-named",
        "bad-name",
        "name-taken",
        "no-such-user",
        "bad-room-name",
        "no-such-room",
        "room-exists",
        "not-in-room",
        "already-in-room",
        "no-such-post",
        "limit-reached",
        "line-too-long",
        "bad-text",
        "queued",
    ];

    /// Lines that look like commands often enough to reach every handler.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let word = prop_oneof![
            Just("/msg".to_owned()),
            Just("/join".to_owned()),
            Just("/create".to_owned()),
            Just("/post".to_owned()),
            Just("/read".to_owned()),
            Just("/list".to_owned()),
            Just("/leave".to_owned()),
            Just("/users".to_owned()),
            Just("/say".to_owned()),
            Just("/help".to_owned()),
            Just("/name".to_owned()),
            Just("%grouppost".to_owned()),
            Just("%join".to_owned()),
            Just("lobby".to_owned()),
            Just("bo".to_owned()),
            Just("r1".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("*".to_owned()),
            Just("1".to_owned()),
            "[ -~]{0,6}",
        ];
        let words = proptest::collection::vec(word, 0..6).prop_map(|w| w.join(" ").into_bytes());
        prop_oneof![words, proptest::collection::vec(any::<u8>(), 0..40)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_lines_get_protocol_answers_and_leave_the_hub_working(
            lines in proptest::collection::vec(line(), 1..30),
        ) {
            let mut b = Bench::new(Limits { max_rooms: 4, max_joined: 3, ..limits() });
            b.login(1, "al");
            b.login(2, "bo");
            let mut decoder = Codec::Parley.decoder(64);
            for mut bytes in lines {
                bytes.retain(|&c| c != b'\n');
                bytes.push(b'\n');
                let Step::Input(input, _) = decoder.next(&mut bytes) else {
                    continue; // an overlong line is answered once its limit is reached
                };
                let quitting = matches!(&input, Input::Command(Verb::Quit, Ok(_)));
                b.hub.receive(b.cid(1), input, b.now, &mut b.out);
                b.settle();
                for reply in b.take(1) {
                    if let Some(rest) = reply.strip_prefix("ERR ") {
                        let code = rest.split(' ').next().unwrap_or_default();
                        prop_assert!(CODES.contains(&code), "unknown code in {reply:?}");
                    }
                }
                if quitting && b.hub.census().named == 1 {
                    return Ok(()); // al quit; nothing more to say
                }
                prop_assert_eq!(b.ask(1, "/ping alive"), vec!["PONG alive".to_owned()]);
                b.take(2);
            }
        }
    }
}

#[test]
fn a_completion_for_a_departed_client_is_dropped() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    let departed = b.cid(1);
    b.hub
        .disconnect(departed, Departure::Disconnected, b.now, &mut b.out);
    b.login(1, "bo");
    let current = b.cid(1);
    assert_ne!(departed, current, "a reused slot has a new generation");
    b.hub
        .complete(departed, Completion::Echo(7), b.now, &mut b.out);
    assert!(
        b.take(1).is_empty(),
        "the new holder of the slot got nothing"
    );
    b.hub
        .complete(current, Completion::Echo(8), b.now, &mut b.out);
    assert_eq!(b.take(1), ["PING 8"]);
}

#[test]
fn a_fan_out_is_one_event_for_all_recipients() {
    /// Counts how events reach the runner.
    #[derive(Default)]
    struct Calls {
        sends: usize,
        fan_outs: Vec<usize>,
    }
    impl Effects for Calls {
        fn send(&mut self, _to: ClientId, _event: &Event<'_>) {
            self.sends += 1;
        }
        fn send_each(&mut self, to: impl IntoIterator<Item = ClientId>, _event: &Event<'_>) {
            self.fan_outs.push(to.into_iter().count());
        }
        fn close(&mut self, _client: ClientId) {}
        fn request(&mut self, _client: ClientId, _request: Request) {}
        fn persist(&mut self, _write: Write) {}
    }
    let mut b = Bench::new(Limits {
        announce_limit: 0,
        ..limits()
    });
    for id in 1..=50 {
        b.login(id, &format!("u{id}"));
    }
    let mut calls = Calls::default();
    b.hub
        .receive(b.cid(1), grammar::parse("hello all"), b.now, &mut calls);
    assert_eq!(calls.sends, 0);
    assert_eq!(calls.fan_outs, [49], "one event handed over for 49 others");
}

#[test]
fn posted_waits_for_the_store_and_a_failed_write_changes_nothing() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    b.hub.receive(
        b.cid(1),
        grammar::parse("/post lobby hi body"),
        b.now,
        &mut b.out,
    );
    assert!(b.take(1).is_empty(), "no POSTED before the commit");
    assert!(b.take(2).is_empty(), "nor the notice");
    b.settle();
    assert_eq!(b.take(1), ["POSTED lobby 1"]);
    assert_eq!(b.take(2).len(), 1);
    b.out.failing = true;
    assert_eq!(b.codes(1, "/post lobby again body"), "ERR store-failed");
    assert!(
        b.take(2).is_empty(),
        "nobody hears of a post that was not stored"
    );
    b.out.failing = false;
    assert_eq!(
        b.ask(1, "/post lobby third body"),
        ["POSTED lobby 2"],
        "the id is given back"
    );
    assert_eq!(b.ask(1, "/list")[0], "LIST lobby 2");
}

#[test]
fn history_answers_from_the_store_and_checks_the_count_first() {
    let mut b = Bench::new(Limits {
        history: 3,
        ..limits()
    });
    b.login(1, "al");
    b.login(2, "bo");
    for n in 1..=4 {
        b.line(1, &format!("line {n}"));
    }
    b.take(2);
    let got = b.ask(2, "/history");
    assert_eq!(got[0], "HISTORY lobby 3");
    assert!(
        got[1].starts_with("OLD 1700000000 MSG lobby al line 2"),
        "{got:?}"
    );
    assert_eq!(got.len(), 4);
    assert_eq!(
        b.ask(2, "/history lobby 1")[1..],
        ["OLD 1700000000 MSG lobby al line 4"]
    );
    assert_eq!(
        b.codes(2, "/history nowhere 4"),
        "ERR bad-args",
        "count before room"
    );
    assert_eq!(b.codes(2, "/history nowhere 2"), "ERR no-such-room");
    assert_eq!(b.codes(2, "/history lobby x"), "ERR bad-args");
    assert_eq!(
        b.codes(2, "/history b@d 0"),
        "ERR bad-args",
        "count before the room's name"
    );
    assert_eq!(b.codes(2, "/history b@d 2"), "ERR bad-room-name");
    assert_eq!(b.codes(2, "/history b@d"), "ERR bad-room-name");
}

#[test]
fn with_history_off_nothing_is_kept_and_history_is_empty() {
    let mut b = Bench::new(Limits {
        history: 0,
        ..limits()
    });
    b.login(1, "al");
    b.line(1, "hello");
    assert!(b.out.history.is_empty(), "nothing was persisted");
    assert_eq!(b.ask(1, "/history"), ["HISTORY lobby 0"]);
    assert_eq!(b.codes(1, "/history lobby 1"), "ERR bad-args");
}

#[test]
fn restored_rooms_keep_their_posts_and_count_on() {
    let mut b = Bench::new(limits());
    let post = |id| StoredPost {
        id,
        author: "zed".into(),
        unix_secs: 1_600_000_000,
        subject: format!("s{id}"),
        body: "b".into(),
    };
    b.hub.restore(vec![StoredRoom {
        name: "Rust".into(),
        next_post_id: 8,
        posts: vec![post(6), post(7)],
    }]);
    b.login(1, "al");
    assert_eq!(b.ask(1, "/rooms"), ["ROOMS 2 lobby:1 Rust:0"]);
    b.ask(1, "/join rust");
    assert_eq!(
        b.ask(1, "/list")[0],
        "LIST Rust 2",
        "the last two before joining"
    );
    assert_eq!(b.ask(1, "/post rust new body"), ["POSTED Rust 8"]);
}

#[test]
fn a_room_stays_while_its_only_post_is_being_stored() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.ask(1, "/create r");
    b.hub.receive(
        b.cid(1),
        grammar::parse("/post r hi body"),
        b.now,
        &mut b.out,
    );
    let al = b.cid(1);
    b.hub
        .disconnect(al, Departure::Disconnected, b.now, &mut b.out);
    b.settle();
    b.take(2);
    assert!(
        b.out.removed.is_empty(),
        "the store was not told to drop r and its post"
    );
    assert_eq!(
        b.ask(2, "/rooms"),
        ["ROOMS 2 lobby:1 r:0"],
        "kept for its post"
    );
    b.ask(2, "/join r");
    assert_eq!(b.ask(2, "/list")[0], "LIST r 1");

    // A post that fails to be stored no longer keeps its room.
    b.login(3, "cy");
    b.ask(3, "/create s");
    b.out.failing = true;
    b.hub.receive(
        b.cid(3),
        grammar::parse("/post s hi body"),
        b.now,
        &mut b.out,
    );
    let cy = b.cid(3);
    b.hub
        .disconnect(cy, Departure::Disconnected, b.now, &mut b.out);
    b.settle();
    b.out.failing = false;
    b.take(2);
    assert_eq!(b.out.removed, ["s"]);
    assert_eq!(
        b.ask(2, "/rooms"),
        ["ROOMS 2 lobby:1 r:1"],
        "s went once its post failed"
    );
}

mod abuse;
mod accounts;
mod gateway;
