//! Abuse limits in the core: connections per address, trusted networks, subjects.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn first_word(lines: &[String]) -> String {
    lines[0].split(' ').take(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn an_address_may_hold_max_per_address_connections_waiting_ones_included() {
    let mut b = Bench::new(Limits {
        max_clients: 1,
        max_queue: 10,
        max_per_address: 2,
        ..limits()
    });
    let host = ip("192.0.2.1");
    assert_eq!(first_word(&b.connect_from(1, host)), "HELLO parley");
    assert_eq!(first_word(&b.connect_from(2, host)), "QUEUED 1");
    let got = b.connect_from(3, host);
    assert_eq!(
        got,
        [
            "BYE address-limit too many connections from your address",
            "CLOSE"
        ]
    );
    assert_eq!(first_word(&b.connect_from(4, ip("192.0.2.2"))), "QUEUED 2");
    // The turned-away connection held no place; a departure frees one.
    b.hub
        .disconnect(b.cid(2), Departure::Disconnected, b.now, &mut b.out);
    assert_eq!(first_word(&b.connect_from(5, host)), "QUEUED 2");
    assert_eq!(first_word(&b.connect_from(6, host)), "BYE address-limit");
}

#[test]
fn an_ipv6_host_counts_by_its_64() {
    let mut b = Bench::new(Limits {
        max_per_address: 1,
        ..limits()
    });
    assert_eq!(
        first_word(&b.connect_from(1, ip("2001:db8:0:1::1"))),
        "HELLO parley"
    );
    let got = b.connect_from(2, ip("2001:db8:0:1::2"));
    assert_eq!(first_word(&got), "BYE address-limit");
    let other = b.connect_from(3, ip("2001:db8:0:2::1"));
    assert_eq!(first_word(&other), "HELLO parley");
}

#[test]
fn a_connection_turned_away_as_server_full_holds_no_place() {
    let mut b = Bench::new(Limits {
        max_clients: 1,
        max_queue: 0,
        max_per_address: 2,
        ..limits()
    });
    assert_eq!(first_word(&b.connect(1)), "HELLO parley");
    for id in 2..=4 {
        assert_eq!(first_word(&b.connect(id)), "BYE server-full", "#{id}");
    }
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    assert_eq!(first_word(&b.connect(5)), "HELLO parley");
}

#[test]
fn trusted_networks_are_exempt_from_the_address_limit_and_throttling() {
    let mut b = Bench::new(Limits {
        max_per_address: 1,
        login_attempts: 1,
        trusted: Trusted::new(vec!["192.0.2.0/24".parse().unwrap()]),
        ..limits()
    });
    for id in 1..=5 {
        assert_eq!(first_word(&b.connect(id)), "HELLO parley", "#{id}");
    }
    for _ in 0..3 {
        assert_eq!(b.codes(1, "/login nobody some-password"), "ERR bad-login");
    }
    let outsider = ip("198.51.100.7");
    assert_eq!(first_word(&b.connect_from(6, outsider)), "HELLO parley");
    assert_eq!(
        first_word(&b.connect_from(7, outsider)),
        "BYE address-limit"
    );
    assert_eq!(b.codes(6, "/login nobody some-password"), "ERR bad-login");
    assert_eq!(b.codes(6, "/login nobody some-password"), "ERR throttled");
}

/// The first two words of the last line `id` gets for `text`, whatever reached it
/// before (other users' notices).
fn answer(b: &mut Bench, id: usize, text: &str) -> String {
    b.take(id);
    let got = b.ask(id, text);
    let last = got.last().unwrap_or_else(|| panic!("{text:?}: no answer"));
    last.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn a_guest_address_may_have_created_max_created_rooms_that_still_exist() {
    let mut b = Bench::new(Limits {
        max_created: 2,
        ..limits()
    });
    b.login(1, "al");
    b.login(2, "bo");
    assert_eq!(answer(&mut b, 1, "/create one"), "JOIN one");
    assert_eq!(
        answer(&mut b, 2, "/create two"),
        "JOIN two",
        "both guests share 192.0.2.1"
    );
    assert_eq!(
        answer(&mut b, 1, "/create one"),
        "ERR room-exists",
        "the row's checks first"
    );
    assert_eq!(answer(&mut b, 1, "/create three"), "ERR limit-reached");
    assert_eq!(
        first_word(&b.connect_from(3, ip("192.0.2.9"))),
        "HELLO parley"
    );
    b.ask(3, "/name cy");
    assert_eq!(
        answer(&mut b, 3, "/create three"),
        "JOIN three",
        "another address counts apart"
    );
    // A room with a post outlives its members and still counts; an empty one frees
    // its place when it goes.
    assert_eq!(answer(&mut b, 1, "/post one hello the body"), "POSTED one");
    b.ask(1, "/leave one");
    assert_eq!(answer(&mut b, 1, "/create four"), "ERR limit-reached");
    b.ask(2, "/leave two");
    assert_eq!(answer(&mut b, 1, "/create four"), "JOIN four");
}

#[test]
fn an_author_may_make_post_rate_posts_in_any_minute() {
    let mut b = Bench::new(Limits {
        post_rate: 2,
        ..limits()
    });
    b.login(1, "al");
    assert_eq!(
        answer(&mut b, 1, "/post nowhere s body"),
        "ERR no-such-room"
    );
    assert_eq!(answer(&mut b, 1, "/post lobby s one"), "POSTED lobby");
    b.advance(Duration::from_secs(30));
    assert_eq!(answer(&mut b, 1, "/post lobby s two"), "POSTED lobby");
    assert_eq!(
        answer(&mut b, 1, "/post nowhere s body"),
        "ERR no-such-room",
        "row first"
    );
    assert_eq!(answer(&mut b, 1, "/post lobby s three"), "ERR throttled");
    b.advance(Duration::from_secs(30));
    assert_eq!(
        answer(&mut b, 1, "/post lobby s three"),
        "POSTED lobby",
        "the first has left the window"
    );
    assert_eq!(answer(&mut b, 1, "/post lobby s four"), "ERR throttled");
}

#[test]
fn trusted_networks_are_exempt_from_room_and_post_quotas() {
    let mut b = Bench::new(Limits {
        max_created: 1,
        post_rate: 1,
        trusted: Trusted::new(vec!["192.0.2.1/32".parse().unwrap()]),
        ..limits()
    });
    b.login(1, "al");
    for room in ["r1", "r2", "r3"] {
        assert_eq!(
            answer(&mut b, 1, &format!("/create {room}")),
            format!("JOIN {room}")
        );
        for text in ["body", "again"] {
            let got = answer(&mut b, 1, &format!("/post {room} s {text}"));
            assert_eq!(got, format!("POSTED {room}"));
        }
    }
}

#[test]
fn a_subject_longer_than_max_subject_is_refused_and_the_body_is_read_from_the_store() {
    let mut b = Bench::new(Limits {
        max_subject: 8,
        ..limits()
    });
    b.login(1, "al");
    assert_eq!(
        b.ask(1, "/post lobby ninechars body"),
        ["ERR bad-args a subject is at most 8 bytes"]
    );
    assert_eq!(b.ask(1, "/post lobby eight888 body"), ["POSTED lobby 1"]);
    // The board keeps the header; the body comes from the (fake) store.
    assert_eq!(
        b.ask(1, "/read lobby 1"),
        ["POST lobby 1 al 1700000000 eight888", "BODY lobby 1 body"]
    );
}
