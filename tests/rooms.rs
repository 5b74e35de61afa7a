//! Room tests over real TCP: `/create`, `/join`, `/leave`, `/say`, `/users`, `/rooms`
//! with their errors and check order; join and leave notices with every reason a client
//! can cause (`left`, `quit` with and without a message, `disconnected`; `timeout` is in
//! `liveness.rs`, `sendq` in `abuse.rs`); `--announce-limit`; when a room is removed;
//! `--max-rooms` and `--max-joined`; the current-room rules; list sorting and
//! `--list-limit`.

mod common;

use common::{create, join, leave, quit, TestServer};

/// A server with default settings.
fn server() -> TestServer {
    TestServer::start(&[])
}

// ---- create, join, leave, say ---------------------------------------------------------

#[test]
fn create_makes_the_creator_the_only_member_and_tells_nobody_else() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    bob.expect_nothing_pending();
    bob.send("/users games");
    bob.expect_line("USERS games 1 alice");
}

#[test]
fn create_of_an_existing_room_ignoring_case_is_room_exists() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "Games");
    for line in [
        "/create games",
        "/create GAMES",
        "/create lobby",
        "/create LOBBY",
    ] {
        bob.send(line);
        bob.expect_err("room-exists");
    }
    alice.expect_nothing_pending();
}

#[test]
fn join_is_confirmed_to_the_joiner_and_announced_to_members_only() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    carol.expect_nothing_pending();
}

#[test]
fn join_matches_the_room_ignoring_case_and_shows_its_first_spelling() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "GaMes");
    bob.send("/join games");
    bob.expect_line("JOIN GaMes bob");
    alice.expect_line("JOIN GaMes bob");
    bob.send("/users GAMES");
    bob.expect_line("USERS GaMes 2 alice bob");
}

#[test]
fn join_of_an_unknown_room_is_no_such_room() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/join nowhere");
    alice.expect_err("no-such-room");
}

#[test]
fn join_of_a_room_already_in_is_already_in_room() {
    let server = server();
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "games");
    for line in ["/join lobby", "/join LOBBY", "/join games"] {
        alice.send(line);
        alice.expect_err("already-in-room");
    }
}

#[test]
fn leave_is_confirmed_to_the_leaver_and_announced_to_remaining_members() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    leave(&mut bob, "bob", "games", &mut [&mut alice]);
    carol.expect_nothing_pending();
    bob.send("/say games still here?");
    bob.expect_err("not-in-room");
}

#[test]
fn leave_without_argument_leaves_the_current_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    bob.send("/leave");
    bob.expect_line("LEAVE games bob left");
    alice.expect_line("LEAVE games bob left");
}

#[test]
fn leave_of_a_room_not_in_is_not_in_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    bob.send("/leave games");
    bob.expect_err("not-in-room");
    alice.expect_nothing_pending();
}

#[test]
fn leave_of_an_unknown_room_is_no_such_room() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/leave nowhere");
    alice.expect_err("no-such-room");
}

#[test]
fn leave_without_argument_and_without_any_room_is_not_in_room() {
    let server = server();
    let mut alice = server.login("alice");
    leave(&mut alice, "alice", "lobby", &mut []);
    alice.send("/leave");
    alice.expect_err("not-in-room");
}

#[test]
fn leave_lobby_is_allowed_and_then_a_plain_line_is_not_in_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    leave(&mut alice, "alice", "lobby", &mut [&mut bob]);
    alice.send("anyone?");
    alice.expect_err("not-in-room");
    bob.expect_nothing_pending();
}

#[test]
fn say_sends_msg_to_the_other_members_only() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    alice.send("/say GAMES hi  all ");
    bob.expect_line("MSG games alice hi  all ");
    alice.expect_nothing_pending();
    carol.expect_nothing_pending();
}

#[test]
fn say_to_an_unknown_room_is_no_such_room() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/say nowhere hi");
    alice.expect_err("no-such-room");
}

#[test]
fn say_to_a_room_not_in_is_not_in_room_and_delivers_nothing() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    bob.send("/say games sneaky");
    bob.expect_err("not-in-room");
    alice.expect_nothing_pending();
}

// ---- current room ---------------------------------------------------------------------

#[test]
fn plain_line_goes_to_the_most_recently_joined_room() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    alice.send("in games");
    bob.expect_line("MSG games alice in games");
    carol.expect_nothing_pending();
}

#[test]
fn leaving_the_current_room_makes_the_previously_joined_room_current() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "first");
    create(&mut alice, "alice", "second");
    join(&mut bob, "bob", "first", &mut [&mut alice]);
    join(&mut bob, "bob", "second", &mut [&mut alice]);
    leave(&mut alice, "alice", "second", &mut [&mut bob]);
    alice.send("where am i");
    bob.expect_line("MSG first alice where am i");
}

#[test]
fn leaving_an_older_room_keeps_the_latest_room_current() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "first");
    create(&mut alice, "alice", "second");
    join(&mut bob, "bob", "first", &mut [&mut alice]);
    join(&mut bob, "bob", "second", &mut [&mut alice]);
    leave(&mut alice, "alice", "first", &mut [&mut bob]);
    alice.send("where am i");
    bob.expect_line("MSG second alice where am i");
}

#[test]
fn rejoining_a_room_makes_it_current_again() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "first");
    create(&mut alice, "alice", "second");
    join(&mut bob, "bob", "first", &mut [&mut alice]);
    join(&mut bob, "bob", "second", &mut [&mut alice]);
    leave(&mut alice, "alice", "first", &mut [&mut bob]);
    join(&mut alice, "alice", "first", &mut [&mut bob]);
    alice.send("back");
    bob.expect_line("MSG first alice back");
}

#[test]
fn refused_join_does_not_change_the_current_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "first");
    create(&mut alice, "alice", "second");
    join(&mut bob, "bob", "first", &mut [&mut alice]);
    join(&mut bob, "bob", "second", &mut [&mut alice]);
    alice.send("/join first");
    alice.expect_err("already-in-room");
    alice.send("still second");
    bob.expect_line("MSG second alice still second");
}

#[test]
fn leaving_every_room_but_lobby_makes_lobby_current() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    leave(&mut alice, "alice", "games", &mut []);
    alice.send("back in lobby");
    bob.expect_line("MSG lobby alice back in lobby");
}

// ---- users and rooms lists ------------------------------------------------------------

#[test]
fn users_without_argument_lists_the_current_room() {
    let server = server();
    let [mut alice, _bob] = server.login_all(["alice", "bob"]);
    alice.send("/users");
    alice.expect_line("USERS lobby 2 alice bob");
    create(&mut alice, "alice", "games");
    alice.send("/users");
    alice.expect_line("USERS games 1 alice");
}

#[test]
fn users_of_a_room_is_allowed_for_non_members() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    bob.send("/users games");
    bob.expect_line("USERS games 1 alice");
}

#[test]
fn users_star_lists_every_named_user_in_any_room_and_no_unnamed_one() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    leave(&mut bob, "bob", "lobby", &mut [&mut alice]);
    let _unnamed = server.greeted();
    alice.send("/users *");
    alice.expect_line("USERS * 2 alice bob");
}

#[test]
fn users_of_an_unknown_room_is_no_such_room() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/users nowhere");
    alice.expect_err("no-such-room");
}

#[test]
fn users_without_argument_and_without_any_room_is_not_in_room() {
    let server = server();
    let mut alice = server.login("alice");
    leave(&mut alice, "alice", "lobby", &mut []);
    alice.send("/users");
    alice.expect_err("not-in-room");
}

#[test]
fn users_lists_are_sorted_by_lowercase_bytes_and_keep_first_spelling() {
    let server = server();
    let mut clients = server.login_all(["bob", "Zed", "_x", "Alice", "-m", "9z"]);
    let bob = &mut clients[0];
    bob.send("/users");
    bob.expect_line("USERS lobby 6 -m 9z _x Alice bob Zed");
    bob.send("/users *");
    bob.expect_line("USERS * 6 -m 9z _x Alice bob Zed");
}

#[test]
fn users_list_is_cut_at_list_limit_and_keeps_the_full_count() {
    let server = TestServer::start(&["--list-limit", "2"]);
    let mut clients = server.login_all(["carol", "dave", "Alice", "bob"]);
    let carol = &mut clients[0];
    carol.send("/users");
    carol.expect_line("USERS lobby 4 Alice bob");
    carol.send("/users *");
    carol.expect_line("USERS * 4 Alice bob");
}

#[test]
fn rooms_lists_every_room_with_member_counts_sorted_by_lowercase_bytes() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "Zeta");
    create(&mut alice, "alice", "alpha");
    create(&mut bob, "bob", "_x");
    create(&mut bob, "bob", "-m");
    bob.send("/join ALPHA");
    bob.expect_line("JOIN alpha bob");
    alice.expect_line("JOIN alpha bob");
    alice.send("/rooms");
    alice.expect_line("ROOMS 5 -m:1 _x:1 alpha:2 lobby:2 Zeta:1");
}

#[test]
fn rooms_list_is_cut_at_list_limit_and_keeps_the_full_count() {
    let server = TestServer::start(&["--list-limit", "2"]);
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "b");
    create(&mut alice, "alice", "a");
    create(&mut alice, "alice", "c");
    alice.send("/rooms");
    alice.expect_line("ROOMS 4 a:1 b:1");
}

// ---- room removal -----------------------------------------------------------------------

#[test]
fn room_is_removed_when_its_last_member_leaves_and_its_board_is_empty() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    leave(&mut alice, "alice", "games", &mut []);
    bob.send("/join games");
    bob.expect_err("no-such-room");
    bob.send("/rooms");
    bob.expect_line("ROOMS 1 lobby:2");
}

#[test]
fn removed_room_name_is_free_for_a_new_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    leave(&mut alice, "alice", "games", &mut []);
    create(&mut bob, "bob", "GAMES");
    bob.send("/users games");
    bob.expect_line("USERS GAMES 1 bob");
}

#[test]
fn room_is_removed_when_its_last_member_quits() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    quit(alice);
    bob.expect_line("LEAVE lobby alice quit");
    bob.send("/join games");
    bob.expect_err("no-such-room");
}

#[test]
fn room_is_removed_when_its_last_member_disconnects() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    drop(alice);
    bob.expect_line("LEAVE lobby alice disconnected");
    bob.send("/join games");
    bob.expect_err("no-such-room");
}

#[test]
fn room_stays_while_it_has_members() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    leave(&mut alice, "alice", "games", &mut [&mut bob]);
    join(&mut carol, "carol", "games", &mut [&mut bob]);
}

#[test]
fn room_with_posts_is_kept_after_its_last_member_leaves() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    alice.send("/post games rules be nice");
    alice.expect_line("POSTED games 1");
    leave(&mut alice, "alice", "games", &mut []);
    bob.send("/rooms");
    bob.expect_line("ROOMS 2 games:0 lobby:2");
    bob.send("/users games");
    bob.expect_line("USERS games 0");
    join(&mut bob, "bob", "games", &mut []);
}

#[test]
fn lobby_is_never_removed() {
    let server = server();
    let mut alice = server.login("alice");
    leave(&mut alice, "alice", "lobby", &mut []);
    alice.send("/rooms");
    alice.expect_line("ROOMS 1 lobby:0");
    alice.send("/users lobby");
    alice.expect_line("USERS lobby 0");
    join(&mut alice, "alice", "lobby", &mut []);
}

// ---- limits -------------------------------------------------------------------------------

#[test]
fn create_beyond_max_rooms_counting_lobby_is_limit_reached() {
    let server = TestServer::start(&["--max-rooms", "3"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "a");
    create(&mut alice, "alice", "b");
    alice.send("/create c");
    alice.expect_err("limit-reached");
    bob.send("/join c");
    bob.expect_err("no-such-room");
}

#[test]
fn room_can_be_created_again_once_one_is_removed_below_max_rooms() {
    let server = TestServer::start(&["--max-rooms", "2"]);
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "a");
    alice.send("/create b");
    alice.expect_err("limit-reached");
    leave(&mut alice, "alice", "a", &mut []);
    create(&mut alice, "alice", "b");
}

#[test]
fn rooms_kept_by_their_posts_count_toward_max_rooms() {
    let server = TestServer::start(&["--max-rooms", "2"]);
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "a");
    alice.send("/post a subject body");
    alice.expect_line("POSTED a 1");
    leave(&mut alice, "alice", "a", &mut []);
    alice.send("/create b");
    alice.expect_err("limit-reached");
}

#[test]
fn create_beyond_max_joined_counting_lobby_is_limit_reached() {
    let server = TestServer::start(&["--max-joined", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "a");
    alice.send("/create b");
    alice.expect_err("limit-reached");
    bob.send("/join b");
    bob.expect_err("no-such-room");
}

#[test]
fn join_beyond_max_joined_is_limit_reached_and_announces_nothing() {
    let server = TestServer::start(&["--max-joined", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "a");
    create(&mut bob, "bob", "b");
    alice.send("/join b");
    alice.expect_err("limit-reached");
    bob.expect_nothing_pending();
    bob.send("/users b");
    bob.expect_line("USERS b 1 bob");
}

#[test]
fn leaving_a_room_frees_a_place_below_max_joined() {
    let server = TestServer::start(&["--max-joined", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut bob, "bob", "b");
    leave(&mut alice, "alice", "lobby", &mut [&mut bob]);
    create(&mut alice, "alice", "a");
    join(&mut alice, "alice", "b", &mut [&mut bob]);
    alice.send("/join lobby");
    alice.expect_err("limit-reached");
}

#[test]
fn create_checks_bad_room_name_then_room_exists_then_limit_reached() {
    let server = TestServer::start(&["--max-rooms", "2", "--max-joined", "2"]);
    let mut alice = server.login("alice");
    create(&mut alice, "alice", "a");
    for (line, code) in [
        ("/create bad.room", "bad-room-name"),
        ("/create A", "room-exists"),
        ("/create lobby", "room-exists"),
        ("/create new", "limit-reached"),
    ] {
        alice.send(line);
        let got = alice.next_line();
        assert!(
            got.starts_with(&format!("ERR {code} ")),
            "{line:?}: want {code}, got {got:?}"
        );
    }
}

#[test]
fn join_checks_bad_room_name_then_no_such_room_then_already_in_room_then_limit_reached() {
    let server = TestServer::start(&["--max-joined", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "a");
    create(&mut bob, "bob", "b");
    for (line, code) in [
        ("/join bad.room", "bad-room-name"),
        ("/join nowhere", "no-such-room"),
        ("/join a", "already-in-room"),
        ("/join LOBBY", "already-in-room"),
        ("/join b", "limit-reached"),
    ] {
        alice.send(line);
        let got = alice.next_line();
        assert!(
            got.starts_with(&format!("ERR {code} ")),
            "{line:?}: want {code}, got {got:?}"
        );
    }
}

// ---- announce limit ---------------------------------------------------------------------

#[test]
fn login_beyond_announce_limit_joins_lobby_without_telling_the_others() {
    let server = TestServer::start(&["--announce-limit", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut carol = server.login("carol");
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
    carol.send("/users");
    carol.expect_line("USERS lobby 3 alice bob carol");
}

#[test]
fn join_beyond_announce_limit_is_confirmed_only_to_the_joiner() {
    let server = TestServer::start(&["--announce-limit", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut carol = server.login("carol");
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    join(&mut carol, "carol", "games", &mut []);
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
}

#[test]
fn leave_beyond_announce_limit_is_confirmed_only_to_the_leaver() {
    let server = TestServer::start(&["--announce-limit", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let mut carol = server.login("carol");
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    join(&mut carol, "carol", "games", &mut []);
    leave(&mut carol, "carol", "games", &mut []);
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
    // Two members counting the leaver: announced again.
    leave(&mut bob, "bob", "games", &mut [&mut alice]);
}

#[test]
fn quit_beyond_announce_limit_is_not_announced() {
    let server = TestServer::start(&["--announce-limit", "2"]);
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let carol = server.login("carol");
    quit(carol);
    alice.expect_nothing_pending();
    bob.expect_nothing_pending();
    quit(bob);
    alice.expect_line("LEAVE lobby bob quit");
}

// ---- leave reasons ----------------------------------------------------------------------

#[test]
fn quit_without_message_is_announced_as_quit_with_no_text() {
    let server = server();
    let [alice, mut bob] = server.login_all(["alice", "bob"]);
    quit(alice);
    bob.expect_line("LEAVE lobby alice quit");
    bob.expect_nothing_pending();
}

#[test]
fn quit_message_is_announced_in_every_room_of_the_quitter() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    alice.send("/quit see you  later");
    alice.expect_bye("quit");
    bob.expect_lines_any_order(&[
        "LEAVE lobby alice quit see you  later",
        "LEAVE games alice quit see you  later",
    ]);
    carol.expect_line("LEAVE lobby alice quit see you  later");
    carol.expect_nothing_pending();
}

#[test]
fn disconnect_is_announced_as_disconnected_in_every_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    create(&mut alice, "alice", "games");
    join(&mut bob, "bob", "games", &mut [&mut alice]);
    drop(alice);
    bob.expect_lines_any_order(&[
        "LEAVE lobby alice disconnected",
        "LEAVE games alice disconnected",
    ]);
    bob.expect_nothing_pending();
}

// ---- rooms bigger than one turn's writes ----------------------------------------------

#[test]
fn room_lines_reach_every_member_in_order_when_the_room_outgrows_one_turn_of_writes() {
    // The loop writes to at most 64 connections per turn; the rest must keep their
    // place and get every line, in order, in later turns. 201 connections from
    // 127.0.0.1: the per-address limit is lifted.
    let server = TestServer::start(&["--max-per-address", "0"]);
    let mut members: Vec<_> = (0..200).map(|i| server.login(&format!("m{i}"))).collect();
    let mut speaker = server.login("speaker");
    speaker.send("first line");
    speaker.send("second line");
    for member in &mut members {
        member.skip_until("MSG lobby speaker first line");
        member.expect_line("MSG lobby speaker second line");
    }
    speaker.expect_nothing_pending();
}
