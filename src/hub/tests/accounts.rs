//! Accounts in the core, with the fake hasher and store of [`Recorder`]: what the
//! integration tests cannot reach quickly (a minute of throttling, work that is still
//! out when a client leaves, refusals by a full hashing queue, failed writes).

use super::*;

/// Registers `name` on a fresh connection in slot `id` (before naming).
fn register(b: &mut Bench, id: usize, name: &str, password: &str) {
    b.connect(id);
    let got = b.ask(id, &format!("/register {name} {password}"));
    assert_eq!(
        got.last().map(String::as_str),
        Some(&*format!("REGISTERED {name}"))
    );
}

/// Hands `text` of `id` to the hub without completing what it asks for.
fn send_unsettled(b: &mut Bench, id: usize, text: &str) {
    let input = grammar::parse(text);
    b.hub.receive(b.cid(id), input, b.now, &mut b.out);
}

#[test]
fn a_throttled_address_may_try_again_a_minute_after_its_last_failure() {
    let mut b = Bench::new(Limits {
        login_attempts: 3,
        login_timeout: Duration::from_secs(3600),
        ping_after: Duration::from_secs(3600),
        ..limits()
    });
    register(&mut b, 1, "alice", "correct-horse");
    b.connect(2);
    for _ in 0..3 {
        assert_eq!(b.codes(2, "/login alice wrong-horse"), "ERR bad-login");
        b.advance(Duration::from_secs(10));
    }
    let jobs = b.out.hash_jobs;
    assert_eq!(b.codes(2, "/login alice correct-horse"), "ERR throttled");
    assert_eq!(b.out.hash_jobs, jobs, "a throttled login costs no hashing");
    // Failures at 0, 10 and 20 s; now it is 30 s. Throttled until 80 s.
    b.advance(Duration::from_secs(49));
    assert_eq!(b.codes(2, "/login alice correct-horse"), "ERR throttled");
    b.advance(Duration::from_secs(1));
    let got = b.ask(2, "/login alice correct-horse");
    assert_eq!(
        got[0], "ERR name-taken that name is in use",
        "checked again"
    );
}

#[test]
fn a_failed_check_counts_even_when_the_client_has_gone() {
    let mut b = Bench::new(Limits {
        login_attempts: 1,
        ..limits()
    });
    b.connect(1);
    send_unsettled(&mut b, 1, "/login nobody some-password");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.settle();
    assert!(b.take(1).is_empty(), "nobody to answer");
    // Slot 1 again, same address: the failure of its predecessor counts.
    b.connect(1);
    assert_eq!(b.codes(1, "/login nobody some-password"), "ERR throttled");
}

#[test]
fn a_full_hashing_queue_refuses_at_once_and_frees_its_place_when_done() {
    let mut b = Bench::new(Limits {
        hash_workers: 1,
        hash_queue: 1,
        ..limits()
    });
    for id in 1..=3 {
        b.connect(id);
    }
    send_unsettled(&mut b, 1, "/login nobody some-password");
    send_unsettled(&mut b, 2, "/register bob bobs-password");
    send_unsettled(&mut b, 3, "/login nobody some-password");
    assert_eq!(
        b.take(3)[0],
        "ERR throttled too many attempts; wait a minute and try again"
    );
    b.settle();
    assert_eq!(b.take(2).last().unwrap(), "REGISTERED bob");
    assert_eq!(b.codes(3, "/login nobody some-password"), "ERR bad-login");
}

#[test]
fn a_name_being_registered_is_taken_until_the_work_is_done() {
    let mut b = Bench::new(limits());
    b.connect(1);
    b.connect(2);
    send_unsettled(&mut b, 1, "/register bob bobs-password");
    assert_eq!(b.codes(2, "/name BOB"), "ERR name-taken");
    assert_eq!(b.codes(2, "/register bob other-password"), "ERR name-taken");
    b.settle();
    assert_eq!(b.take(1).last().unwrap(), "REGISTERED bob");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    assert_eq!(b.codes(2, "/name bob"), "ERR name-registered");
}

#[test]
fn a_refused_or_failed_registration_leaves_the_name_free() {
    let mut b = Bench::new(limits());
    b.connect(1);
    b.out.hashing_full = true;
    assert_eq!(b.codes(1, "/register bob bobs-password"), "ERR throttled");
    b.out.hashing_full = false;
    b.out.failing = true;
    assert_eq!(
        b.codes(1, "/register bob bobs-password"),
        "ERR store-failed"
    );
    b.out.failing = false;
    assert!(b.out.accounts.is_empty());
    let got = b.ask(1, "/name bob");
    assert!(got[0].starts_with("WELCOME bob "), "{got:?}");
}

#[test]
fn a_registration_whose_client_left_during_hashing_is_not_stored() {
    let mut b = Bench::new(limits());
    b.connect(1);
    send_unsettled(&mut b, 1, "/register bob bobs-password");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.settle();
    assert!(b.out.accounts.is_empty(), "nobody waits for the account");
    b.connect(2);
    let got = b.ask(2, "/name bob");
    assert!(
        got[0].starts_with("WELCOME bob "),
        "the name is free: {got:?}"
    );
}

#[test]
fn a_failed_offline_message_is_not_counted_against_the_limit() {
    let mut b = Bench::new(Limits {
        offline_limit: 1,
        ..limits()
    });
    register(&mut b, 1, "alice", "correct-horse");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.login(2, "bob");
    b.out.failing = true;
    assert_eq!(b.codes(2, "/msg alice lost"), "ERR store-failed");
    b.out.failing = false;
    assert_eq!(b.ask(2, "/msg alice kept"), ["OFFLINE alice"]);
    assert_eq!(b.codes(2, "/msg alice one more"), "ERR limit-reached");
    b.connect(3);
    let got = b.ask(3, "/login alice correct-horse");
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[2].ends_with(" PRIV bob kept"), "{got:?}");
    assert!(b.out.offline.is_empty(), "deleted once handed over");
}

#[test]
fn messages_for_an_account_that_leaves_before_they_are_read_stay_stored() {
    let mut b = Bench::new(limits());
    register(&mut b, 1, "alice", "correct-horse");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.login(2, "bob");
    assert_eq!(b.ask(2, "/msg alice hello"), ["OFFLINE alice"]);
    b.connect(3);
    send_unsettled(&mut b, 3, "/login alice correct-horse");
    // The check completes and alice is named; she leaves before her messages are read.
    complete_pending(&mut b);
    b.hub
        .disconnect(b.cid(3), Departure::Disconnected, b.now, &mut b.out);
    b.settle();
    assert_eq!(b.out.offline.len(), 1, "not handed over, not deleted");
}

#[test]
fn nick_tells_only_rooms_within_the_announce_limit() {
    let mut b = Bench::new(Limits {
        announce_limit: 2,
        ..limits()
    });
    b.login(1, "alice");
    b.login(2, "bob");
    b.login(3, "carol");
    b.ask(1, "/create small");
    b.ask(2, "/join small");
    b.take(1);
    assert_eq!(b.ask(1, "/nick ally"), ["NICK alice ally"]);
    assert_eq!(b.take(2), ["NICK alice ally"], "small room: told once");
    assert!(
        b.take(3).is_empty(),
        "the lobby has 3 members, above the limit"
    );
}

/// Completes the requests pending now (not those they lead to).
fn complete_pending(b: &mut Bench) {
    for (client, request) in std::mem::take(&mut b.out.pending) {
        let done = b.out.serve(request);
        if let Some(client) = client {
            b.hub.complete(client, done, b.now, &mut b.out);
        }
    }
}

#[test]
fn a_login_checked_against_a_password_changed_meanwhile_fails() {
    let mut b = Bench::new(Limits {
        login_attempts: 0,
        ..limits()
    });
    register(&mut b, 1, "alice", "old-password");
    b.connect(2);
    // The attacker's check of the old password is out when alice changes it.
    send_unsettled(&mut b, 2, "/login alice old-password");
    let attack = std::mem::take(&mut b.out.pending);
    assert_eq!(
        b.ask(1, "/passwd old-password new-password"),
        ["REGISTERED alice"]
    );
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.out.pending = attack;
    complete_pending(&mut b);
    b.settle();
    assert_eq!(b.take(2), ["ERR bad-login unknown name or wrong password"]);
}

#[test]
fn a_registrant_who_leaves_before_the_commit_keeps_the_name_until_it() {
    let mut b = Bench::new(limits());
    b.login(1, "bob");
    b.connect(2);
    b.connect(3);
    send_unsettled(&mut b, 1, "/register bobs-password");
    complete_pending(&mut b); // hashed; the account's write is out
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    send_unsettled(&mut b, 2, "/register bob other-password");
    send_unsettled(&mut b, 3, "/name bob");
    assert_eq!(b.take(2), ["ERR name-taken that name is in use"]);
    assert_eq!(b.take(3), ["ERR name-taken that name is in use"]);
    b.settle();
    assert_eq!(
        b.codes(2, "/register bob other-password"),
        "ERR name-registered"
    );
    let got = b.ask(3, "/login bob bobs-password");
    assert!(got[0].starts_with("WELCOME bob "), "{got:?}");
}

#[test]
fn a_message_sent_while_waiting_ones_are_read_comes_after_them() {
    let mut b = Bench::new(limits());
    register(&mut b, 1, "alice", "correct-horse");
    b.hub
        .disconnect(b.cid(1), Departure::Disconnected, b.now, &mut b.out);
    b.login(2, "sam");
    assert_eq!(b.ask(2, "/msg alice one"), ["OFFLINE alice"]);
    b.connect(3);
    send_unsettled(&mut b, 3, "/login alice correct-horse");
    complete_pending(&mut b); // checked: alice is named, her messages are being read
    b.take(2);
    b.line(2, "/msg alice two");
    b.settle();
    let got: Vec<String> = b
        .take(3)
        .into_iter()
        .filter(|line| line.contains("PRIV"))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with("PRIV sam one"), "{got:?}");
    assert!(got[1].ends_with("PRIV sam two"), "{got:?}");
    // Caught up: the next one is live.
    b.line(2, "/msg alice three");
    assert_eq!(b.take(3), ["PRIV sam three"]);
}

#[test]
fn checks_already_out_count_against_the_address() {
    let mut b = Bench::new(Limits {
        login_attempts: 2,
        ..limits()
    });
    for id in 1..=3 {
        b.connect(id);
    }
    send_unsettled(&mut b, 1, "/login nobody guess-one");
    send_unsettled(&mut b, 2, "/login nobody guess-two");
    send_unsettled(&mut b, 3, "/login nobody guess-three");
    assert_eq!(
        b.take(3),
        ["ERR throttled too many attempts; wait a minute and try again"]
    );
    assert_eq!(b.out.pending.len(), 2, "two checks out, not three");
}

#[test]
fn passwords_over_a_clear_link_from_afar_need_tls_when_it_is_configured() {
    let mut b = Bench::new(Limits {
        passwords_need_tls: true,
        ..limits()
    });
    let afar = IpAddr::from([192, 0, 2, 7]);
    let here = IpAddr::from([127, 0, 0, 1]);
    b.connect_over(9, afar, Link::Encrypted);
    let got = b.ask(9, "/register alice correct-horse");
    assert_eq!(got.last().map(String::as_str), Some("REGISTERED alice"));
    let jobs = b.out.hash_jobs;
    b.connect_over(1, afar, Link::Clear);
    // Each password command, in its order of checks: bad-name before tls-required.
    assert_eq!(b.codes(1, "/register b@d correct-horse"), "ERR bad-name");
    assert_eq!(b.codes(1, "/login alice correct-horse"), "ERR tls-required");
    assert_eq!(
        b.codes(1, "/register bob correct-horse"),
        "ERR tls-required"
    );
    b.ask(1, "/name carol");
    assert_eq!(b.codes(1, "/register correct-horse"), "ERR tls-required");
    assert_eq!(
        b.codes(1, "/passwd a-password b-password"),
        "ERR tls-required"
    );
    assert_eq!(b.codes(1, "/unregister a-password"), "ERR tls-required");
    assert_eq!(b.out.hash_jobs, jobs, "no password was checked or hashed");
    // The same command over TLS, or from this machine in clear, goes through.
    b.connect_over(2, afar, Link::Encrypted);
    assert_eq!(b.codes(2, "/login alice wrong-horse"), "ERR bad-login");
    b.connect_over(3, here, Link::Clear);
    assert_eq!(b.codes(3, "/login alice wrong-horse"), "ERR bad-login");
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    b.connect_over(4, mapped, Link::Clear);
    assert_eq!(b.codes(4, "/login alice wrong-horse"), "ERR bad-login");
}

#[test]
fn passwords_travel_in_clear_when_tls_is_not_required() {
    let mut b = Bench::new(limits());
    b.connect_over(1, IpAddr::from([192, 0, 2, 7]), Link::Clear);
    assert_eq!(b.codes(1, "/login nobody some-password"), "ERR bad-login");
}
