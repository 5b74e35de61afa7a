//! Abuse limits in the core: connections per address and trusted networks.

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
