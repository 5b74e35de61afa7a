//! Protocol tests over real TCP: the greeting, naming (the first-line name, name rules,
//! case-insensitive uniqueness, names shown as first spelled), the commands available
//! before naming, error precedence between the generic codes, plain and private messages,
//! broadcasts, `//text`, the quoting rules for arguments, `/help`, `/ping` and `/pong`,
//! `/quit`, and every compatibility alias.
//!
//! Room rules live in `rooms.rs`, the board in `board.rs`, framing abuse in `abuse.rs`.

mod common;

use common::{TestClient, TestServer};

/// A server with default settings.
fn server() -> TestServer {
    TestServer::start(&[])
}

/// Sends each line and expects `ERR <code>` for each.
fn expect_err_for_each(client: &mut TestClient, lines: &[&str], code: &str) {
    for line in lines {
        client.send(line);
        let got = client.next_line();
        assert!(
            got.starts_with(&format!("ERR {code} ")),
            "{line:?} should give ERR {code}, got {got:?}"
        );
    }
}

/// Expects a `POST <room> <id> <author> <unix-seconds> <subject>` line and returns the
/// subject.
fn expect_post_subject(client: &mut TestClient, room: &str, id: u64, author: &str) -> String {
    let head = format!("POST {room} {id} {author} ");
    let line = client.expect_prefix(&head);
    let (ts, subject) = line[head.len()..]
        .split_once(' ')
        .expect("timestamp and subject");
    ts.parse::<u64>().expect("unix seconds");
    subject.to_string()
}

/// Sends a whole `/post lobby ...` line as the only post of the lobby and returns the
/// subject the server stored, as shown by `/read lobby 1`.
fn stored_subject(client: &mut TestClient, author: &str, post_line: &str) -> String {
    client.send(post_line);
    client.expect_line("POSTED lobby 1");
    client.send("/read lobby 1");
    let subject = expect_post_subject(client, "lobby", 1, author);
    client.expect_prefix("BODY lobby 1 ");
    subject
}

/// Collects the `INFO` lines answering `help_line`; fails on any other line.
fn help_lines(client: &mut TestClient, help_line: &str) -> Vec<String> {
    client.send(help_line);
    let lines = client.lines_before_pong("end-of-help");
    for line in &lines {
        assert!(line.starts_with("INFO "), "{help_line:?} answered {line:?}");
    }
    lines
}

// ---- greeting and naming ------------------------------------------------------------

#[test]
fn connection_is_greeted_with_hello_parley_1() {
    let server = server();
    let mut client = server.connect();
    client.expect_head("HELLO parley 1");
    client.expect_nothing_pending();
}

#[test]
fn name_command_gives_welcome_then_join_lobby() {
    let server = server();
    let mut client = server.greeted();
    client.send("/name alice");
    client.expect_head("WELCOME alice");
    client.expect_line("JOIN lobby alice");
    client.expect_nothing_pending();
}

#[test]
fn first_plain_line_is_taken_as_the_name() {
    let server = server();
    let mut client = server.greeted();
    client.send("alice");
    client.expect_head("WELCOME alice");
    client.expect_line("JOIN lobby alice");
}

#[test]
fn first_plain_line_is_trimmed_of_surrounding_spaces_and_tabs() {
    let server = server();
    let mut client = server.greeted();
    client.send(" \talice \t ");
    client.expect_head("WELCOME alice");
    client.expect_line("JOIN lobby alice");
}

#[test]
fn first_plain_line_with_inner_space_is_bad_name_and_client_may_retry() {
    let server = server();
    let mut client = server.greeted();
    client.send("alice smith");
    client.expect_err("bad-name");
    client.send("/name alice");
    client.expect_head("WELCOME alice");
    client.expect_line("JOIN lobby alice");
}

#[test]
fn plain_line_after_naming_is_a_message_not_a_name() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("carol");
    bob.expect_line("MSG lobby alice carol");
    alice.expect_nothing_pending();
}

#[test]
fn names_of_every_allowed_character_and_length_1_to_32_are_accepted() {
    let server = server();
    let names = [
        "a",
        "Z",
        "7",
        "_",
        "-",
        "a_B-9",
        "abcdefghijklmnopqrstuvwxyz012345",
    ];
    for name in names {
        let mut client = server.greeted();
        client.send(&format!("/name {name}"));
        client.expect_head(&format!("WELCOME {name}"));
        client.expect_line(&format!("JOIN lobby {name}"));
    }
}

#[test]
fn names_outside_the_rules_are_bad_name() {
    let server = server();
    let mut client = server.greeted();
    let too_long = "a".repeat(33);
    let lines = [
        format!("/name {too_long}"),
        "/name al.ice".to_string(),
        "/name al*ce".to_string(),
        "/name al@ce".to_string(),
        "/name älice".to_string(),
        "/name \"al ice\"".to_string(),
        "al.ice".to_string(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    expect_err_for_each(&mut client, &lines, "bad-name");
    client.send("/name alice");
    client.expect_head("WELCOME alice");
}

#[test]
fn name_command_with_missing_extra_or_empty_argument_is_bad_args() {
    let server = server();
    let mut client = server.greeted();
    expect_err_for_each(
        &mut client,
        &["/name", "/name alice bob", "/name \"\""],
        "bad-args",
    );
}

#[test]
fn names_are_unique_ignoring_case() {
    let server = server();
    let _alice = server.login("alice");
    let mut other = server.greeted();
    expect_err_for_each(
        &mut other,
        &["/name ALICE", "/name alice", "Alice"],
        "name-taken",
    );
    other.send("/name alice2");
    other.expect_head("WELCOME alice2");
}

#[test]
fn name_is_free_again_after_its_holder_quits() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/quit");
    alice.expect_bye("quit");
    bob.expect_line("LEAVE lobby alice quit");
    let mut again = server.greeted();
    again.send("/name ALICE");
    again.expect_head("WELCOME ALICE");
    again.expect_line("JOIN lobby ALICE");
}

#[test]
fn name_is_free_again_after_its_holder_disconnects() {
    let server = server();
    let [alice, mut bob] = server.login_all(["alice", "bob"]);
    drop(alice);
    bob.expect_line("LEAVE lobby alice disconnected");
    let mut again = server.greeted();
    again.send("/name alice");
    again.expect_head("WELCOME alice");
}

#[test]
fn names_are_shown_as_first_spelled() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["AliCe", "bob"]);
    bob.send("/msg alice hi");
    alice.expect_line("PRIV bob hi");
    bob.send("/users");
    bob.expect_line("USERS lobby 2 AliCe bob");
}

#[test]
fn named_client_cannot_rename_and_already_named_wins_over_bad_args_and_bad_name() {
    let server = server();
    let _bob = server.login("bob");
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[
            "/name other",
            "/name",
            "/name a b",
            "/name bad.name",
            "/name bob",
        ],
        "already-named",
    );
}

#[test]
fn commands_other_than_name_help_ping_pong_quit_are_not_named_before_naming() {
    let server = server();
    let mut client = server.greeted();
    let lines = [
        "/users",
        "/users lobby",
        "/msg bob hi",
        "/broadcast hi",
        "/rooms",
        "/create games",
        "/join lobby",
        "/leave",
        "/leave lobby",
        "/say lobby hi",
        "/post lobby subject body",
        "/list",
        "/list lobby",
        "/read lobby 1",
        "/create_group games",
        "/join_group games",
        "/leave_group games",
        "/group_msg games hi",
        "%groups",
        "%groupjoin games",
        "%groupleave games",
        "%groupusers games",
        "%grouppost games subject body",
        "%grouplist games",
        "%groupmessage games 1",
        "%join",
        "%leave",
        "%users",
        "%list",
        "%post subject body",
        "%message 1",
    ];
    expect_err_for_each(&mut client, &lines, "not-named");
    client.send("/name alice");
    client.expect_head("WELCOME alice");
}

#[test]
fn help_ping_and_pong_work_before_naming() {
    let server = server();
    let mut client = server.greeted();
    assert!(!help_lines(&mut client, "/help").is_empty());
    client.send("/ping early");
    client.expect_line("PONG early");
    client.send("/pong 12");
    client.expect_nothing_pending();
}

#[test]
fn quit_works_before_naming() {
    let server = server();
    let mut client = server.greeted();
    client.send("/quit");
    client.expect_bye("quit");
}

#[test]
fn unknown_command_wins_over_not_named() {
    let server = server();
    let mut client = server.greeted();
    expect_err_for_each(
        &mut client,
        &["/frobnicate", "/frobnicate a b"],
        "unknown-command",
    );
}

#[test]
fn not_named_wins_over_bad_args() {
    let server = server();
    let mut client = server.greeted();
    expect_err_for_each(
        &mut client,
        &["/msg", "/join a b c", "/read lobby"],
        "not-named",
    );
}

#[test]
fn bad_args_wins_over_bad_room_name_and_bad_name() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[
            "/join bad.room extra",
            "/read bad.room",
            "/say bad.room",
            "/msg bad.user",
        ],
        "bad-args",
    );
}

#[test]
fn argument_that_cannot_be_a_room_name_is_bad_room_name_in_every_command() {
    let server = server();
    let mut alice = server.login("alice");
    let long = "r".repeat(33);
    let lines = [
        "/create bad.room".to_string(),
        format!("/create {long}"),
        "/join bad.room".to_string(),
        "/join *".to_string(),
        "/leave bad.room".to_string(),
        "/users bad.room".to_string(),
        "/say bad.room hi".to_string(),
        "/post bad.room subject body".to_string(),
        "/list bad.room".to_string(),
        "/read bad.room 1".to_string(),
        "/read bad.room x".to_string(),
        "/create \"two words\"".to_string(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    expect_err_for_each(&mut alice, &lines, "bad-room-name");
}

#[test]
fn argument_that_cannot_be_a_user_name_is_bad_name_not_no_such_user() {
    let server = server();
    let mut alice = server.login("alice");
    let long = format!("/msg {} hi", "u".repeat(33));
    expect_err_for_each(&mut alice, &["/msg bad.user hi", &long], "bad-name");
}

#[test]
fn command_names_are_case_insensitive() {
    let server = server();
    let mut client = server.greeted();
    client.send("/NAME alice");
    client.expect_head("WELCOME alice");
    client.expect_line("JOIN lobby alice");
    client.send("/Users");
    client.expect_line("USERS lobby 1 alice");
    client.send("/PiNg x");
    client.expect_line("PONG x");
}

#[test]
fn unknown_command_is_refused() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &["/frobnicate", "/whois bob", "/kick bob"],
        "unknown-command",
    );
}

// ---- messages -------------------------------------------------------------------------

#[test]
fn plain_line_goes_to_other_lobby_members_and_is_not_echoed() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    alice.send("hello world");
    bob.expect_line("MSG lobby alice hello world");
    carol.expect_line("MSG lobby alice hello world");
    alice.expect_nothing_pending();
}

#[test]
fn plain_line_is_reproduced_exactly_as_typed() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("  two  spaces,\ta tab \"quotes\" \\ and trailing  ");
    bob.expect_line("MSG lobby alice   two  spaces,\ta tab \"quotes\" \\ and trailing  ");
}

#[test]
fn unicode_text_including_bidi_controls_is_delivered() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    let text = "שלום \u{202E}abc\u{202C} 日本語 ✓";
    alice.send(text);
    bob.expect_line(&format!("MSG lobby alice {text}"));
}

#[test]
fn double_slash_line_is_the_plain_message_with_one_slash() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("//me waves");
    bob.expect_line("MSG lobby alice /me waves");
    alice.expect_nothing_pending();
}

#[test]
fn percent_word_that_is_not_an_alias_is_a_plain_message() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("%hello there");
    bob.expect_line("MSG lobby alice %hello there");
    alice.send("%joinus now");
    bob.expect_line("MSG lobby alice %joinus now");
    alice.send("100% sure");
    bob.expect_line("MSG lobby alice 100% sure");
    alice.expect_nothing_pending();
}

#[test]
fn msg_delivers_priv_to_that_user_only() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    alice.send("/msg bob hi there");
    bob.expect_line("PRIV alice hi there");
    alice.expect_nothing_pending();
    carol.expect_nothing_pending();
}

#[test]
fn msg_matches_the_user_name_ignoring_case() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "Bob"]);
    alice.send("/msg BOB hey");
    bob.expect_line("PRIV alice hey");
}

#[test]
fn msg_to_yourself_is_delivered() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/msg alice note to self");
    alice.expect_line("PRIV alice note to self");
}

#[test]
fn msg_reaches_a_user_in_no_room() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    bob.send("/leave lobby");
    bob.expect_line("LEAVE lobby bob left");
    alice.expect_line("LEAVE lobby bob left");
    alice.send("/msg bob still there?");
    bob.expect_line("PRIV alice still there?");
}

#[test]
fn msg_to_unknown_user_is_no_such_user() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/msg nobody hi");
    alice.expect_err("no-such-user");
}

#[test]
fn msg_text_is_the_rest_of_the_line_kept_exactly() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/msg bob   \"a  b\"  c \\\" \"open  ");
    bob.expect_line("PRIV alice \"a  b\"  c \\\" \"open  ");
}

#[test]
fn msg_with_missing_or_empty_text_is_bad_args() {
    let server = server();
    let [mut alice, _bob] = server.login_all(["alice", "bob"]);
    expect_err_for_each(
        &mut alice,
        &["/msg", "/msg bob", "/msg bob    "],
        "bad-args",
    );
}

#[test]
fn msg_user_name_may_be_quoted() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/msg \"bob\" quoted");
    bob.expect_line("PRIV alice quoted");
}

#[test]
fn broadcast_reaches_every_other_named_user_in_any_room() {
    let server = server();
    let [mut alice, mut bob, mut carol] = server.login_all(["alice", "bob", "carol"]);
    carol.send("/leave lobby");
    carol.expect_line("LEAVE lobby carol left");
    alice.expect_line("LEAVE lobby carol left");
    bob.expect_line("LEAVE lobby carol left");
    let mut unnamed = server.greeted();
    alice.send("/broadcast hi all");
    bob.expect_line("BCAST alice hi all");
    carol.expect_line("BCAST alice hi all");
    alice.expect_nothing_pending();
    unnamed.expect_nothing_pending();
}

#[test]
fn broadcast_without_text_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(&mut alice, &["/broadcast", "/broadcast   "], "bad-args");
}

#[test]
fn messages_from_one_sender_arrive_in_order_across_kinds() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    for i in 0..20 {
        alice.send(&format!("room {i}"));
        alice.send(&format!("/msg bob private {i}"));
        alice.send(&format!("/broadcast all {i}"));
    }
    for i in 0..20 {
        bob.expect_line(&format!("MSG lobby alice room {i}"));
        bob.expect_line(&format!("PRIV alice private {i}"));
        bob.expect_line(&format!("BCAST alice all {i}"));
    }
}

// ---- quoting ----------------------------------------------------------------------------

#[test]
fn quoted_word_holds_spaces() {
    let server = server();
    let mut alice = server.login("alice");
    let subject = stored_subject(&mut alice, "alice", "/post lobby \"hello  world\" the body");
    assert_eq!(subject, "hello  world");
}

#[test]
fn quoted_word_unescapes_backslash_quote_and_backslash_backslash() {
    let server = server();
    let mut alice = server.login("alice");
    let line = r#"/post lobby "say \"hi\" \\ ok" body"#;
    assert_eq!(
        stored_subject(&mut alice, "alice", line),
        r#"say "hi" \ ok"#
    );
}

#[test]
fn quoted_word_keeps_a_backslash_before_any_other_character() {
    let server = server();
    let mut alice = server.login("alice");
    let line = r#"/post lobby "a\nb\x" body"#;
    assert_eq!(stored_subject(&mut alice, "alice", line), r"a\nb\x");
}

#[test]
fn quote_inside_a_word_is_an_ordinary_character() {
    let server = server();
    let mut alice = server.login("alice");
    assert_eq!(
        stored_subject(&mut alice, "alice", r#"/post lobby it"s body"#),
        r#"it"s"#
    );
}

#[test]
fn unterminated_quote_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[
            r#"/post lobby "hello world body"#,
            r#"/join "lobby"#,
            r#"/post lobby "a\" b"#,
        ],
        "bad-args",
    );
}

#[test]
fn text_right_after_a_closing_quote_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[r#"/post lobby "hello"world body"#, r#"/join "lob"by"#],
        "bad-args",
    );
}

#[test]
fn empty_quoted_word_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[r#"/post lobby "" body"#, r#"/join """#, r#"/users """#],
        "bad-args",
    );
}

#[test]
fn runs_of_spaces_separate_arguments_and_trailing_spaces_are_ignored() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/create    games   ");
    alice.expect_line("JOIN games alice");
    alice.send("/users   games  ");
    alice.expect_line("USERS games 1 alice");
}

#[test]
fn quoted_room_name_is_accepted() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/create \"games\"");
    alice.expect_line("JOIN games alice");
}

#[test]
fn missing_and_extra_arguments_are_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[
            "/create",
            "/create a b",
            "/join",
            "/join a b",
            "/leave a b",
            "/users a b",
            "/rooms x",
            "/say lobby",
            "/post lobby",
            "/post lobby subject",
            "/list a b",
            "/read lobby",
            "/read lobby 1 2",
        ],
        "bad-args",
    );
}

// ---- help, ping, pong ------------------------------------------------------------------

#[test]
fn help_answers_an_info_line_for_every_command() {
    let server = server();
    let mut alice = server.login("alice");
    let lines = help_lines(&mut alice, "/help");
    let commands = [
        "name",
        "users",
        "msg",
        "broadcast",
        "rooms",
        "create",
        "join",
        "leave",
        "say",
        "post",
        "list",
        "read",
        "help",
        "ping",
        "pong",
        "quit",
    ];
    assert!(
        lines.len() >= commands.len(),
        "too few help lines: {lines:?}"
    );
    for command in commands {
        let word = format!("/{command}");
        let mentioned = lines.iter().any(|line| {
            line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '_'))
                .any(|w| w == word)
        });
        assert!(mentioned, "/help does not mention {word}: {lines:?}");
    }
}

#[test]
fn help_for_a_command_accepts_it_with_or_without_slash() {
    let server = server();
    let mut alice = server.login("alice");
    let bare = help_lines(&mut alice, "/help msg");
    let slashed = help_lines(&mut alice, "/help /msg");
    let upper = help_lines(&mut alice, "/help MSG");
    assert!(!bare.is_empty());
    assert_eq!(bare, slashed);
    assert_eq!(bare, upper);
}

#[test]
fn help_for_an_alias_is_answered() {
    let server = server();
    let mut alice = server.login("alice");
    for alias in ["%groups", "%join", "/create_group", "%exit"] {
        let lines = help_lines(&mut alice, &format!("/help {alias}"));
        assert!(!lines.is_empty(), "/help {alias} gave no INFO line");
    }
}

#[test]
fn help_for_an_unknown_command_is_unknown_command() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &["/help frobnicate", "/help /frobnicate", "/help %hello"],
        "unknown-command",
    );
}

#[test]
fn help_with_two_arguments_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/help msg join");
    alice.expect_err("bad-args");
}

#[test]
fn ping_without_token_answers_pong_dash() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/ping");
    alice.expect_line("PONG -");
}

#[test]
fn ping_token_is_echoed_verbatim() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/ping abc-123_X");
    alice.expect_line("PONG abc-123_X");
}

#[test]
fn ping_token_with_spaces_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(&mut alice, &["/ping a b", "/ping \"a b\""], "bad-args");
}

#[test]
fn pong_is_accepted_silently() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/pong 42");
    alice.expect_nothing_pending();
}

#[test]
fn pong_without_token_is_bad_args() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/pong");
    alice.expect_err("bad-args");
}

// ---- quit -------------------------------------------------------------------------------

#[test]
fn quit_says_bye_quit_and_closes() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/quit");
    alice.expect_bye("quit");
}

#[test]
fn quit_is_case_insensitive() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/QUIT bye");
    alice.expect_bye("quit");
}

// ---- compatibility aliases ----------------------------------------------------------

#[test]
fn slash_group_aliases_act_as_create_join_say_leave() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/create_group games");
    alice.expect_line("JOIN games alice");
    bob.send("/join_group games");
    bob.expect_line("JOIN games bob");
    alice.expect_line("JOIN games bob");
    bob.send("/group_msg games hi there");
    alice.expect_line("MSG games bob hi there");
    bob.send("/leave_group games");
    bob.expect_line("LEAVE games bob left");
    alice.expect_line("LEAVE games bob left");
    bob.expect_nothing_pending();
}

#[test]
fn percent_groups_lists_rooms() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/create games");
    alice.expect_line("JOIN games alice");
    bob.send("%groups");
    bob.expect_line("ROOMS 2 games:1 lobby:2");
}

#[test]
fn percent_group_aliases_act_as_join_users_leave() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("/create games");
    alice.expect_line("JOIN games alice");
    bob.send("%groupjoin games");
    bob.expect_line("JOIN games bob");
    alice.expect_line("JOIN games bob");
    bob.send("%groupusers games");
    bob.expect_line("USERS games 2 alice bob");
    bob.send("%groupleave games");
    bob.expect_line("LEAVE games bob left");
    alice.expect_line("LEAVE games bob left");
}

#[test]
fn percent_group_board_aliases_act_as_post_list_read() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/create games");
    alice.expect_line("JOIN games alice");
    alice.send("%grouppost games hello the body text");
    alice.expect_line("POSTED games 1");
    alice.send("%grouplist games");
    alice.expect_line("LIST games 1");
    assert_eq!(
        expect_post_subject(&mut alice, "games", 1, "alice"),
        "hello"
    );
    alice.send("%groupmessage games 1");
    assert_eq!(
        expect_post_subject(&mut alice, "games", 1, "alice"),
        "hello"
    );
    alice.expect_line("BODY games 1 the body text");
}

#[test]
fn percent_lobby_aliases_act_as_leave_join_users_list_on_lobby() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("%leave");
    alice.expect_line("LEAVE lobby alice left");
    alice.send("%users");
    alice.expect_line("USERS lobby 0");
    alice.send("%join");
    alice.expect_line("JOIN lobby alice");
    alice.send("%users");
    alice.expect_line("USERS lobby 1 alice");
    alice.send("%list");
    alice.expect_line("LIST lobby 0");
}

#[test]
fn percent_post_and_message_act_on_the_lobby_board() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/create games");
    alice.expect_line("JOIN games alice");
    alice.send("%post hi the body");
    alice.expect_line("POSTED lobby 1");
    alice.send("%message 1");
    assert_eq!(expect_post_subject(&mut alice, "lobby", 1, "alice"), "hi");
    alice.expect_line("BODY lobby 1 the body");
}

#[test]
fn percent_exit_acts_as_quit() {
    let server = server();
    let [mut alice, mut bob] = server.login_all(["alice", "bob"]);
    alice.send("%exit");
    alice.expect_bye("quit");
    bob.expect_line("LEAVE lobby alice quit");
}

#[test]
fn aliases_are_case_insensitive() {
    let server = server();
    let mut alice = server.login("alice");
    alice.send("/CREATE_Group games");
    alice.expect_line("JOIN games alice");
    alice.send("%GROUPS");
    alice.expect_line("ROOMS 2 games:1 lobby:1");
    alice.send("%Leave");
    alice.expect_line("LEAVE lobby alice left");
}

#[test]
fn aliases_take_exactly_the_arguments_shown() {
    let server = server();
    let mut alice = server.login("alice");
    expect_err_for_each(
        &mut alice,
        &[
            "%join g",
            "%leave lobby",
            "%users lobby",
            "%list lobby",
            "%groups x",
            "%exit now",
            "%post onlysubject",
            "%message",
            "%groupjoin",
            "%grouppost lobby subject",
            "%groupmessage lobby",
            "/create_group",
            "/create_group a b",
            "/group_msg lobby",
        ],
        "bad-args",
    );
}

#[test]
fn percent_alias_before_naming_is_not_named_but_other_percent_line_is_a_name() {
    let server = server();
    let mut client = server.greeted();
    client.send("%groups");
    client.expect_err("not-named");
    client.send("%hello");
    client.expect_err("bad-name");
}

#[test]
fn percent_exit_works_before_naming() {
    let server = server();
    let mut client = server.greeted();
    client.send("%exit");
    client.expect_bye("quit");
}

#[test]
fn errors_tell_a_person_what_was_expected() {
    let server = TestServer::start(&["--max-line", "64"]);
    let mut alice = server.login("alice");
    alice.send("/msg bob");
    alice.expect_line("ERR bad-args usage: /msg <user> <text...>");
    alice.send("%groupjoin");
    alice.expect_line("ERR bad-args usage: /join <room>");
    alice.send(&"x".repeat(80));
    alice.expect_line("ERR line-too-long line too long: at most 64 bytes");
    alice.send("/ping still-here");
    alice.expect_line("PONG still-here");
}

#[test]
fn hello_says_how_to_answer_a_ping_by_hand() {
    let server = server();
    let mut client = server.connect();
    let hello = client.expect_prefix("HELLO parley 1 ");
    assert!(hello.contains("answer PING <t> with /pong <t>"), "{hello}");
}
