//! What the core does for the IRC gateway, through typed input as a codec hands it:
//! a join that creates, echo of one's own messages, and the service's reserved name.

use super::*;

/// Hands `input` of `id` to the hub and returns what `id` got back.
fn give(b: &mut Bench, id: usize, input: Input<'_>) -> Vec<String> {
    b.hub.receive(b.cid(id), input, b.now, &mut b.out);
    b.settle();
    b.take(id)
}

fn enter(room: &str) -> Input<'_> {
    Input::Command(Verb::Join, Ok(Command::Enter(room.into())))
}

#[test]
fn enter_creates_a_missing_room_and_joins_an_existing_one() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    assert_eq!(give(&mut b, 1, enter("rust")), ["JOIN rust al"]);
    assert_eq!(give(&mut b, 2, enter("rust")), ["JOIN rust bo"]);
    assert_eq!(b.take(1), ["JOIN rust bo"]);
    assert_eq!(
        give(&mut b, 2, enter("rust")),
        ["ERR already-in-room you are in that room already"]
    );
    // Creating counts against the creator's limits like /create.
    let mut b = Bench::new(Limits {
        max_rooms: 2,
        ..limits()
    });
    b.login(1, "al");
    assert_eq!(give(&mut b, 1, enter("one")), ["JOIN one al"]);
    let refused = give(&mut b, 1, enter("two"));
    assert!(refused[0].starts_with("ERR limit-reached"), "{refused:?}");
}

#[test]
fn echo_sends_a_client_its_own_messages_too() {
    let mut b = Bench::new(limits());
    b.login(1, "al");
    b.login(2, "bo");
    b.take(1);
    assert_eq!(
        b.ask(1, "hello"),
        Vec::<String>::new(),
        "no echo by default"
    );
    assert_eq!(b.take(2), ["MSG lobby al hello"]);
    assert_eq!(give(&mut b, 1, Input::Echo(true)), Vec::<String>::new());
    assert_eq!(b.ask(1, "again"), ["MSG lobby al again"]);
    assert_eq!(b.take(2), ["MSG lobby al again"]);
    assert_eq!(b.ask(1, "/msg bo psst"), ["PRIV al psst"]);
    assert_eq!(b.take(2), ["PRIV al psst"]);
    assert_eq!(b.ask(1, "/broadcast all"), ["BCAST al all"]);
    assert_eq!(b.take(2), ["BCAST al all"]);
    give(&mut b, 1, Input::Echo(false));
    assert_eq!(b.ask(1, "quiet"), Vec::<String>::new());
}

#[test]
fn nobody_may_take_the_service_name() {
    let mut b = Bench::new(limits());
    b.connect(1);
    assert_eq!(
        b.ask(1, "/name Parley"),
        ["ERR name-taken that name is in use"]
    );
    b.login(2, "al");
    assert_eq!(
        b.ask(2, "/nick parley"),
        ["ERR name-taken that name is in use"]
    );
}

fn users(which: UsersOf<'_>) -> Input<'_> {
    Input::Command(Verb::Users, Ok(Command::Users(which)))
}

#[test]
fn members_come_unsorted_and_one_user_is_found_by_name() {
    let mut b = Bench::new(Limits {
        list_limit: 2,
        ..limits()
    });
    b.login(1, "zed");
    b.login(2, "Amy");
    b.login(3, "bob");
    b.take(1);
    // In join order, cut at the limit: no sorting of the room.
    assert_eq!(
        give(&mut b, 1, users(UsersOf::Members("lobby".into()))),
        ["USERS lobby 3 zed Amy"]
    );
    assert_eq!(
        give(&mut b, 1, users(UsersOf::Room("lobby".into()))),
        ["USERS lobby 3 Amy bob"],
        "parley's /users stays sorted"
    );
    assert_eq!(
        give(&mut b, 1, users(UsersOf::One("BOB".into()))),
        ["USERS * 3 bob"]
    );
    assert_eq!(
        give(&mut b, 1, users(UsersOf::One("nobody".into()))),
        ["USERS * 3"]
    );
}

#[test]
fn an_account_of_the_service_name_cannot_log_in() {
    let mut b = Bench::new(limits());
    let password = |text: &str| Credential::Clear(crate::password::Password::new(text.to_owned()));
    b.hub
        .set_file_accounts([("parley".to_owned(), password("long enough"))], |_| 0);
    b.connect(1);
    assert_eq!(
        b.ask(1, "/login parley \"long enough\""),
        ["ERR name-taken that name is in use"]
    );
}

#[test]
fn a_protocol_without_a_tls_door_takes_passwords_in_clear() {
    let mut b = Bench::new(Limits {
        passwords_need_tls: true,
        ..limits()
    });
    let afar = IpAddr::from([192, 0, 2, 7]);
    b.connect_over(1, afar, Link::Clear);
    assert_eq!(b.codes(1, "/register al correct-horse"), "ERR tls-required");
    b.connect_over(2, afar, Link::ClearOnly);
    let got = b.ask(2, "/register al correct-horse");
    assert_eq!(got.last().map(String::as_str), Some("REGISTERED al"));
}
