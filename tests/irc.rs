//! The IRC gateway over real TCP: registration with and without CAP and SASL, the
//! queue, every mapped command in both directions between an IRC user and a parley
//! user, errors as numerics, long lines split, formatting stripped, and a slow IRC
//! reader dropped without slowing anyone.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::io::Write;
use std::net::SocketAddr;

use common::{connect_with_recv_buffer, send_and_close, TestClient, TestServer};

/// A raw IRC connection: lines sent with `\r\n`, received without it.
struct Irc {
    client: TestClient,
}

impl Irc {
    fn connect(addr: SocketAddr) -> Irc {
        Irc {
            client: TestClient::connect(addr),
        }
    }

    fn send(&mut self, line: &str) {
        self.client.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// The next line, which must end in `\r\n`.
    fn line(&mut self) -> String {
        let line = self.client.next_line();
        line.strip_suffix('\r')
            .unwrap_or_else(|| panic!("IRC lines end in CRLF: {line:?}"))
            .to_owned()
    }

    fn expect(&mut self, expected: &str) {
        assert_eq!(self.line(), expected);
    }

    /// The next line, which must be numeric `number`.
    fn numeric(&mut self, number: &str) -> String {
        let line = self.line();
        assert_eq!(
            line.split(' ').nth(1),
            Some(number),
            "expected numeric {number}: {line:?}"
        );
        line
    }

    /// Skips lines until one whose command is `command`, and returns it.
    fn skip_to(&mut self, command: &str) -> String {
        loop {
            let line = self.line();
            let word = line.split(' ').find(|w| !w.starts_with(['@', ':']));
            if word == Some(command) {
                return line;
            }
        }
    }

    /// Proves that nothing else is pending: a PING's PONG is the very next line.
    fn barrier(&mut self) {
        self.send("PING :barrier");
        self.expect(":irc.parley PONG irc.parley :barrier");
    }

    fn expect_closed(&mut self) {
        self.client.expect_closed();
    }
}

/// A server with an IRC listener, plus `extra` arguments.
fn irc_server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--irc-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

fn irc_addr(server: &TestServer) -> SocketAddr {
    server.irc_addr.expect("the server reports its IRC address")
}

/// Registers `nick` without CAP and reads up to the names of `#lobby`.
fn register(server: &TestServer, nick: &str) -> Irc {
    let mut irc = Irc::connect(irc_addr(server));
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :{nick}"));
    irc.numeric("001");
    irc.skip_to("JOIN");
    irc.skip_to("366");
    irc
}

#[test]
fn registration_without_cap_welcomes_and_joins_lobby() {
    let server = irc_server(&[]);
    let _bob = server.login("bob");
    let mut irc = Irc::connect(irc_addr(&server));
    irc.send("NICK alice");
    irc.send("USER alice 0 * :Alice A.");
    assert_eq!(
        irc.numeric("001"),
        ":irc.parley 001 alice :Welcome to the parley IRC gateway, alice"
    );
    irc.numeric("002");
    irc.numeric("003");
    irc.numeric("004");
    let isupport = irc.numeric("005");
    for token in ["CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=32", "UTF8ONLY"] {
        assert!(isupport.contains(token), "{token} in {isupport}");
    }
    assert!(irc.numeric("251").contains("There are 2 users"));
    irc.numeric("255");
    irc.numeric("375");
    irc.numeric("372");
    irc.numeric("372");
    irc.numeric("376");
    irc.expect(":alice!alice@parley JOIN #lobby");
    irc.expect(":irc.parley 331 alice #lobby :No topic is set");
    irc.expect(":irc.parley 353 alice = #lobby :bob alice");
    irc.expect(":irc.parley 366 alice #lobby :End of /NAMES list.");
    irc.barrier();
}

#[test]
fn cap_negotiation_holds_registration_until_cap_end() {
    let server = irc_server(&[]);
    let mut irc = Irc::connect(irc_addr(&server));
    irc.send("CAP LS 302");
    irc.send("NICK alice");
    irc.send("USER alice 0 * :Alice");
    irc.expect(
        ":irc.parley CAP * LS :sasl=PLAIN server-time message-tags echo-message multi-prefix",
    );
    irc.send("CAP REQ :server-time nonsense");
    irc.expect(":irc.parley CAP * NAK :server-time nonsense");
    irc.send("CAP REQ :server-time echo-message");
    irc.expect(":irc.parley CAP * ACK :server-time echo-message");
    irc.send("CAP LIST");
    irc.expect(":irc.parley CAP * LIST :server-time echo-message");
    // Still negotiating: no welcome yet, whatever else was sent.
    irc.barrier();
    irc.send("CAP END");
    irc.numeric("001");
    let join = irc.skip_to("JOIN");
    assert!(
        join.starts_with("@time=") && join.ends_with(" :alice!alice@parley JOIN #lobby"),
        "server-time tags the join: {join}"
    );
    irc.skip_to("366");
    // echo-message: the sender gets its own message back.
    irc.send("PRIVMSG #lobby :hello me");
    let echo = irc.line();
    assert!(
        echo.ends_with(" :alice!alice@parley PRIVMSG #lobby :hello me"),
        "{echo}"
    );
    irc.send("CAP REQ :-echo-message");
    irc.expect(":irc.parley CAP alice ACK :-echo-message");
    irc.send("PRIVMSG #lobby :not echoed");
    irc.barrier();
}

/// Registers an account `name` with `password` through the parley protocol.
fn account(server: &TestServer, name: &str, password: &str) {
    let mut owner = server.login(name);
    owner.send(&format!("/register {password}"));
    owner.expect_line(&format!("REGISTERED {name}"));
    owner.send("/quit");
    owner.skip_until("BYE quit");
}

/// base64 of `\0name\0password`, as SASL PLAIN sends it.
fn plain(name: &str, password: &str) -> String {
    let bytes = format!("\0{name}\0{password}").into_bytes();
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A client that sent `NICK` and `USER` while negotiating capabilities, and has
/// `sasl` acknowledged.
fn sasl_client(server: &TestServer) -> Irc {
    let mut irc = Irc::connect(irc_addr(server));
    irc.send("CAP LS 302");
    irc.send("NICK somebody");
    irc.send("USER x 0 * :x");
    irc.skip_to("CAP");
    irc.send("CAP REQ :sasl");
    irc.expect(":irc.parley CAP * ACK :sasl");
    irc
}

/// Offers `name` and `password` by SASL PLAIN; the caller reads the verdict (`900` and
/// `903`, or `904`).
fn authenticate_plain(irc: &mut Irc, name: &str, password: &str) {
    irc.send("AUTHENTICATE PLAIN");
    irc.expect("AUTHENTICATE +");
    irc.send(&format!("AUTHENTICATE {}", plain(name, password)));
}

#[test]
fn sasl_plain_logs_in_to_an_account_and_a_wrong_password_fails() {
    let server = irc_server(&["--hash-memory", "64", "--hash-passes", "1"]);
    account(&server, "alice", "correct-horse");
    let mut irc = sasl_client(&server);
    authenticate_plain(&mut irc, "alice", "wrong-horse");
    irc.numeric("904");
    authenticate_plain(&mut irc, "alice", "correct-horse");
    assert_eq!(
        irc.numeric("900"),
        ":irc.parley 900 alice alice!alice@parley alice :You are now logged in as alice"
    );
    irc.numeric("903");
    // A client may still send NICK and USER (irssi does): the account's name stays.
    irc.send("NICK somebody_else");
    irc.send("USER x 0 * :x");
    // The welcome and the join wait for CAP END.
    irc.send("CAP END");
    assert!(irc.numeric("001").starts_with(":irc.parley 001 alice "));
    irc.skip_to("376");
    irc.expect(":alice!alice@parley JOIN #lobby");
    irc.numeric("331");
    irc.numeric("353");
    irc.numeric("366");
    irc.barrier();
}

#[test]
fn lobby_lines_held_for_a_sasl_welcome_do_not_stop_its_cap_end() {
    // A small --soft-sendq: the lines lobby sends while the client negotiates are
    // soon more than that, and they wait for its CAP END.
    let server = irc_server(&[
        "--hash-memory",
        "64",
        "--hash-passes",
        "1",
        "--soft-sendq",
        "8KiB",
        "--trusted",
        "127.0.0.1/32",
    ]);
    account(&server, "alice", "correct-horse");
    let mut talker = server.login("talker");
    let mut irc = sasl_client(&server);
    authenticate_plain(&mut irc, "alice", "correct-horse");
    irc.numeric("900");
    irc.numeric("903");
    talker.expect_line("JOIN lobby alice");
    let text = "t".repeat(200);
    let says: String = (0..100)
        .map(|n| format!("/say lobby {n} {text}\n"))
        .collect();
    talker.send_raw(says.as_bytes());
    talker.expect_nothing_pending();
    irc.send("CAP END");
    assert!(irc.numeric("001").starts_with(":irc.parley 001 alice "));
    // Every line lobby sent meanwhile, in order, by the end of the join's names.
    let mut said = Vec::new();
    loop {
        let line = irc.line();
        if line.starts_with(":irc.parley 366 ") {
            break;
        }
        if line.contains(" PRIVMSG ") {
            said.push(line);
        }
    }
    let expected: Vec<String> = (0..100)
        .map(|n| format!(":talker!talker@parley PRIVMSG #lobby :{n} {text}"))
        .collect();
    assert_eq!(said, expected);
    irc.barrier();
}

#[test]
fn pass_logs_in_and_a_registered_nick_without_it_is_refused() {
    let server = irc_server(&["--hash-memory", "64", "--hash-passes", "1"]);
    account(&server, "alice", "correct-horse");
    let mut guest = Irc::connect(irc_addr(&server));
    guest.send("NICK alice");
    guest.send("USER alice 0 * :x");
    assert_eq!(
        guest.numeric("433"),
        ":irc.parley 433 * alice :Nickname is a registered account; log in with SASL or PASS"
    );
    guest.send("NICK alice_");
    guest.numeric("001");
    let mut irc = Irc::connect(irc_addr(&server));
    irc.send("PASS :correct-horse");
    irc.send("NICK alice");
    irc.send("USER alice 0 * :x");
    irc.numeric("001");
    let mut wrong = Irc::connect(irc_addr(&server));
    wrong.send("PASS nope-nope");
    wrong.send("NICK alice");
    wrong.send("USER alice 0 * :x");
    wrong.numeric("464");
}

#[test]
fn a_waiting_irc_client_sees_its_place_and_registers_when_admitted() {
    let server = irc_server(&["--max-clients", "1"]);
    let mut first = server.login("first");
    let mut irc = Irc::connect(irc_addr(&server));
    irc.expect(
        ":irc.parley NOTICE * :We are dealing with a large number of users and you are number 1 in the queue",
    );
    irc.send("NICK waiter");
    irc.send("USER waiter 0 * :w");
    irc.barrier();
    first.send("/quit");
    first.skip_until("BYE quit");
    irc.numeric("001");
    irc.skip_to("366");
}

#[test]
fn an_irc_user_and_a_parley_user_talk_both_ways() {
    let server = irc_server(&[]);
    let mut bob = server.login("bob");
    let mut irc = register(&server, "alice");
    bob.expect_line("JOIN lobby alice");
    // JOIN creates a room that does not exist, and both see each other's lines.
    irc.send("JOIN #rust");
    irc.expect(":alice!alice@parley JOIN #rust");
    irc.numeric("331");
    irc.expect(":irc.parley 353 alice = #rust :alice");
    irc.numeric("366");
    bob.send("/join rust");
    bob.expect_line("JOIN rust bob");
    irc.expect(":bob!bob@parley JOIN #rust");
    irc.send("PRIVMSG #rust :hello from IRC");
    bob.expect_line("MSG rust alice hello from IRC");
    bob.send("/say rust hello from parley");
    irc.expect(":bob!bob@parley PRIVMSG #rust :hello from parley");
    irc.send("NOTICE #rust :a notice");
    bob.expect_line("MSG rust alice a notice");
    // IRC users see a notice as a notice, which bots never answer.
    let mut carol = register(&server, "carol");
    irc.expect(":carol!carol@parley JOIN #lobby");
    bob.expect_line("JOIN lobby carol");
    carol.send("JOIN #rust");
    carol.skip_to("366");
    irc.expect(":carol!carol@parley JOIN #rust");
    bob.expect_line("JOIN rust carol");
    irc.send("NOTICE #rust :to IRC as a notice");
    carol.expect(":alice!alice@parley NOTICE #rust :to IRC as a notice");
    bob.expect_line("MSG rust alice to IRC as a notice");
    irc.send("NOTICE carol :privately");
    carol.expect(":alice!alice@parley NOTICE carol :privately");
    // One QUIT, though carol leaves two rooms alice is in.
    carol.send("QUIT");
    irc.expect(":carol!carol@parley QUIT :Quit");
    bob.skip_until("LEAVE lobby carol quit");
    // Private messages.
    irc.send("PRIVMSG bob :psst");
    bob.expect_line("PRIV alice psst");
    bob.send("/msg alice back");
    irc.expect(":bob!bob@parley PRIVMSG alice :back");
    // Broadcasts.
    irc.send("PRIVMSG $* :to everyone");
    bob.expect_line("BCAST alice to everyone");
    bob.send("/broadcast all hands");
    irc.expect(":bob!bob@parley NOTICE $* :all hands");
    // Lists.
    irc.send("NAMES #rust");
    irc.expect(":irc.parley 353 alice = #rust :alice bob");
    irc.numeric("366");
    irc.send("LIST");
    irc.numeric("321");
    irc.expect(":irc.parley 322 alice #lobby 2 :");
    irc.expect(":irc.parley 322 alice #rust 2 :");
    irc.numeric("323");
    irc.send("WHO #rust");
    irc.expect(":irc.parley 352 alice #rust alice parley irc.parley alice H :0 alice");
    irc.expect(":irc.parley 352 alice #rust bob parley irc.parley bob H :0 bob");
    irc.expect(":irc.parley 315 alice #rust :End of /WHO list.");
    irc.send("WHOIS bob");
    irc.expect(":irc.parley 311 alice bob bob parley * :bob");
    irc.numeric("312");
    irc.expect(":irc.parley 318 alice bob :End of /WHOIS list.");
    irc.send("WHOIS nobody");
    irc.expect(":irc.parley 401 alice nobody :No such nick");
    irc.numeric("318");
    irc.send("TOPIC #rust");
    irc.expect(":irc.parley 331 alice #rust :No topic is set");
    irc.send("TOPIC #nowhere");
    irc.expect(":irc.parley 403 alice #nowhere :No such channel");
    irc.send("TOPIC #rust :new topic");
    irc.expect(":irc.parley 482 alice #rust :Topics are not supported here");
    irc.send("KICK #rust bob");
    irc.expect(":irc.parley 482 alice #rust :You're not channel operator");
    irc.send("KICK #nowhere bob");
    irc.expect(":irc.parley 403 alice #nowhere :No such channel");
    irc.send("MODE #rust");
    irc.expect(":irc.parley 324 alice #rust +");
    irc.send("AWAY :lunch");
    irc.numeric("306");
    irc.send("AWAY");
    irc.numeric("305");
    // Renames, both ways.
    bob.send("/nick robert");
    bob.expect_line("NICK bob robert");
    irc.expect(":bob!bob@parley NICK :robert");
    irc.send("NICK alicia");
    irc.expect(":alice!alice@parley NICK :alicia");
    bob.expect_line("NICK alice alicia");
    irc.send("PRIVMSG robert :still here");
    bob.expect_line("PRIV alicia still here");
    // Leaving.
    bob.send("/leave rust");
    bob.expect_line("LEAVE rust robert left");
    irc.expect(":robert!robert@parley PART #rust");
    irc.send("PART #rust");
    irc.expect(":alicia!alicia@parley PART #rust");
    irc.send("QUIT :see you");
    irc.expect("ERROR :Closing link (quit)");
    irc.expect_closed();
    bob.expect_line("LEAVE lobby alicia quit see you");
}

/// Any complete line counts as life for the ping timer, those the gateway answers
/// itself included (`MODE`, `AWAY`, `CAP LS`, unknown commands): a client that sends
/// only such lines is neither pinged nor timed out. Flood control paces the loop below
/// to ten lines a second, so it runs for several ping periods.
#[test]
fn lines_the_gateway_answers_itself_count_as_life() {
    let server = irc_server(&["--ping-after", "300ms", "--ping-timeout", "300ms"]);
    let mut amy = register(&server, "amy");
    let started = std::time::Instant::now();
    let asks = [
        ("MODE #lobby", "324"),
        ("AWAY", "305"),
        ("CAP LS", "CAP"),
        ("FOOBAR", "421"),
    ];
    let mut n = 0;
    while started.elapsed() < std::time::Duration::from_millis(1500) {
        let (ask, answer) = asks[n % asks.len()];
        n += 1;
        amy.send(ask);
        let line = amy.line();
        assert_eq!(
            line.split(' ').nth(1),
            Some(answer),
            "after {ask:?} at {:?}: {line:?}",
            started.elapsed()
        );
    }
}

/// An IRC client that pipelines its whole session, echo-message and all, and closes
/// its socket at once without reading has every line handled: what flood control held
/// back is read after the server's writes to it have failed.
#[test]
fn a_pipelined_session_closed_at_once_loses_no_line() {
    let server = irc_server(&["--flood-rate", "50", "--flood-burst", "5"]);
    let mut bob = server.login("bob");
    let mut script = String::from(
        "CAP LS 302\r\nCAP REQ :echo-message\r\nCAP END\r\n\
         NICK amy\r\nUSER amy 0 * :Amy\r\n",
    );
    for n in 0..30 {
        script.push_str(&format!("PRIVMSG #lobby :line {n}\r\n"));
    }
    script.push_str("QUIT :gone\r\n");
    send_and_close(irc_addr(&server), &script);
    bob.expect_line("JOIN lobby amy");
    for n in 0..30 {
        bob.expect_line(&format!("MSG lobby amy line {n}"));
    }
    bob.expect_line("LEAVE lobby amy quit gone");
}

/// Lines the gateway answers itself queue nothing for a client whose writes failed:
/// their answers would fill its queue past `--soft-sendq`, pausing it for good, and
/// the lines after them, its `QUIT` among them, would never be handled. 2,000 of them
/// take several turns to read, with writes (failing ones) in between.
#[test]
fn answers_to_a_client_that_closed_do_not_hold_its_remaining_lines() {
    let server = irc_server(&["--flood-rate", "0", "--soft-sendq", "4KiB"]);
    let mut bob = server.login("bob");
    let mut amy = std::net::TcpStream::connect(irc_addr(&server)).expect("connect");
    amy.write_all(b"CAP LS 302\r\n").expect("write");
    // Its answer waits unread: closing now resets the connection, and the server's
    // next write to it fails.
    amy.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    amy.peek(&mut [0u8; 1]).expect("the CAP answer");
    let mut script = String::from("NICK amy\r\nUSER amy 0 * :Amy\r\nCAP END\r\n");
    script.push_str(&"AWAY\r\n".repeat(2000));
    script.push_str("PRIVMSG #lobby :after\r\nQUIT :gone\r\n");
    amy.write_all(script.as_bytes()).expect("write");
    drop(amy);
    bob.expect_line("JOIN lobby amy");
    bob.expect_line("MSG lobby amy after");
    bob.expect_line("LEAVE lobby amy quit gone");
}

#[test]
fn a_parley_user_quitting_is_an_irc_quit() {
    let server = irc_server(&[]);
    let mut irc = register(&server, "alice");
    let mut bob = server.login("bob");
    irc.expect(":bob!bob@parley JOIN #lobby");
    bob.send("/quit gone fishing");
    irc.expect(":bob!bob@parley QUIT :Quit: gone fishing");
    let carol = server.login("carol");
    irc.expect(":carol!carol@parley JOIN #lobby");
    drop(carol);
    irc.expect(":carol!carol@parley QUIT :Connection closed");
}

#[test]
fn joining_several_channels_at_once_joins_each() {
    let server = irc_server(&[]);
    let mut irc = register(&server, "alice");
    irc.send("JOIN #a,#b,#lobby");
    irc.expect(":alice!alice@parley JOIN #a");
    irc.numeric("331");
    irc.numeric("353");
    irc.numeric("366");
    irc.expect(":alice!alice@parley JOIN #b");
    irc.numeric("331");
    irc.numeric("353");
    irc.numeric("366");
    // Already in #lobby: IRC says nothing.
    irc.barrier();
    // LIST with channels lists those only.
    irc.send("LIST #b,#nowhere");
    irc.numeric("321");
    irc.expect(":irc.parley 322 alice #b 1 :");
    irc.numeric("323");
    irc.send("PART #a,#b");
    irc.expect(":alice!alice@parley PART #a");
    irc.expect(":alice!alice@parley PART #b");
    // Modes: one's own (none), nobody else's.
    irc.send("MODE alice");
    irc.expect(":irc.parley 221 alice +");
    irc.send("MODE bob");
    irc.expect(":irc.parley 502 alice :Can't change mode for other users");
}

#[test]
fn the_service_nick_runs_board_history_and_help() {
    let server = irc_server(&[]);
    let mut irc = register(&server, "alice");
    irc.send("JOIN #rust");
    irc.skip_to("366");
    let mut bob = server.login("bob");
    bob.send("/join rust");
    bob.expect_line("JOIN rust bob");
    irc.expect(":bob!bob@parley JOIN #lobby");
    irc.expect(":bob!bob@parley JOIN #rust");
    irc.send("PRIVMSG parley :post rust Subject body text");
    irc.expect(":parley!parley@parley NOTICE alice :POSTED rust 1");
    let post = bob.next_line();
    assert!(
        post.starts_with("POST rust 1 alice ") && post.ends_with(" Subject"),
        "{post}"
    );
    irc.send("PRIVMSG parley :/read rust 1");
    assert!(irc
        .line()
        .starts_with(":parley!parley@parley NOTICE alice :POST rust 1 alice "));
    irc.expect(":parley!parley@parley NOTICE alice :BODY rust 1 body text");
    irc.send("PRIVMSG parley :help");
    let first = irc.line();
    assert!(
        first.contains("NOTICE alice :Send these to parley"),
        "{first}"
    );
    irc.skip_help();
    // Errors of service commands come back as its notices.
    irc.send("PRIVMSG parley :read rust 99");
    irc.expect(":parley!parley@parley NOTICE alice :ERR no-such-post no such post");
    // History, replayed with its time for a client that asked for server-time.
    bob.send("/say rust an old line");
    irc.expect(":bob!bob@parley PRIVMSG #rust :an old line");
    let mut timed = Irc::connect(irc_addr(&server));
    timed.send("CAP REQ :server-time");
    timed.send("NICK carol");
    timed.send("USER carol 0 * :c");
    timed.skip_to("CAP");
    timed.send("CAP END");
    timed.skip_to("366");
    timed.send("JOIN #rust");
    timed.skip_to("366");
    timed.send("PRIVMSG parley :history rust");
    timed.expect(":parley!parley@parley NOTICE carol :HISTORY rust 1");
    let old = timed.line();
    assert!(
        old.starts_with("@time=20") && old.ends_with(" :bob!bob@parley PRIVMSG #rust :an old line"),
        "{old}"
    );
}

impl Irc {
    /// Skips help's notices up to the last one, `/quit`'s.
    fn skip_help(&mut self) {
        loop {
            if self.line().contains(":/quit") {
                return;
            }
        }
    }
}

#[test]
fn errors_are_the_standard_numerics() {
    let server = irc_server(&[]);
    let mut early = Irc::connect(irc_addr(&server));
    early.send("JOIN #x");
    early.expect(":irc.parley 451 * :You have not registered");
    early.send("NICK bad!nick");
    early.expect(":irc.parley 432 * bad!nick :Erroneous nickname");
    early.send("NICK parley");
    early.expect(":irc.parley 433 * parley :Nickname is already in use");
    early.send("USER x");
    early.expect(":irc.parley 461 * USER :Not enough parameters");
    let _bob = server.login("bob");
    let mut irc = register(&server, "alice");
    irc.send("PRIVMSG nobody :hi");
    irc.expect(":irc.parley 401 alice nobody :No such nick/channel");
    irc.send("PRIVMSG #nowhere :hi");
    irc.expect(":irc.parley 401 alice #nowhere :No such nick/channel");
    irc.send("JOIN nohash");
    irc.expect(":irc.parley 403 alice nohash :No such channel");
    irc.send("PART #nowhere");
    irc.expect(":irc.parley 403 alice #nowhere :No such channel");
    let mut carol = server.login("carol");
    irc.expect(":carol!carol@parley JOIN #lobby");
    carol.send("/create closed");
    carol.expect_line("JOIN closed carol");
    irc.send("PRIVMSG #closed :let me in");
    irc.expect(":irc.parley 404 alice #closed :Cannot send to channel");
    irc.send("PART #closed");
    irc.expect(":irc.parley 442 alice #closed :You're not on that channel");
    irc.send("PRIVMSG #lobby");
    irc.expect(":irc.parley 412 alice :No text to send");
    irc.send("PRIVMSG");
    irc.expect(":irc.parley 411 alice :No recipient given (PRIVMSG)");
    irc.send("FROB x");
    irc.expect(":irc.parley 421 alice FROB :Unknown command");
    irc.send("NICK bob");
    irc.expect(":irc.parley 433 alice bob :Nickname is already in use");
    irc.send("NICK bad.nick");
    irc.expect(":irc.parley 432 alice bad.nick :Erroneous nickname");
    irc.send("USER again 0 * :x");
    irc.expect(":irc.parley 462 alice :You may not reregister");
    irc.send("PRIVMSG a,b :x");
    irc.expect(":irc.parley 407 alice a,b :Too many recipients");
    // A NOTICE is never answered, even when it fails.
    irc.send("NOTICE nobody :hi");
    irc.barrier();
    // Over IRC's 512 bytes: 417, and the connection goes on.
    irc.send(&format!("PRIVMSG #lobby :{}", "x".repeat(600)));
    irc.expect(":irc.parley 417 alice :Input line was too long");
    // Not UTF-8.
    irc.client.send_raw(b"PRIVMSG #lobby :\xff\xfe\r\n");
    irc.expect("FAIL * INVALID_UTF8 :Lines must be UTF-8 text without control characters");
    irc.barrier();
}

#[test]
fn long_parley_lines_reach_irc_split_at_characters_and_whole() {
    let server = irc_server(&[]);
    let mut irc = register(&server, "alice");
    let mut bob = server.login("bob");
    irc.skip_to("JOIN");
    let text: String = "日本語のテキスト ".repeat(150);
    assert!(text.len() > 3000);
    bob.send(&format!("/say lobby {text}"));
    let mut joined = String::new();
    let mut lines = 0;
    while joined.len() < text.len() {
        let line = irc.line();
        assert!(line.len() + 2 <= 512, "{} bytes", line.len() + 2);
        let rest = line
            .strip_prefix(":bob!bob@parley PRIVMSG #lobby :")
            .unwrap_or_else(|| panic!("{line}"));
        joined.push_str(rest);
        lines += 1;
    }
    assert_eq!(joined, text);
    assert!(lines >= 7, "{lines} lines");
    irc.barrier();
}

#[test]
fn formatting_is_stripped_and_actions_become_text() {
    let server = irc_server(&[]);
    let mut irc = register(&server, "alice");
    let mut bob = server.login("bob");
    irc.skip_to("JOIN");
    irc.send("PRIVMSG #lobby :\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f end");
    bob.expect_line("MSG lobby alice bold red italic end");
    irc.send("PRIVMSG #lobby :\x01ACTION waves\x01");
    bob.expect_line("MSG lobby alice * waves");
    // Commands to the service are cleaned too: they carry text into rooms and boards.
    irc.send("PRIVMSG parley :say lobby \x02through\x02 the service");
    bob.expect_line("MSG lobby alice through the service");
    irc.send("PRIVMSG parley :msg bob \x01VERSION\x01");
    irc.expect(
        ":parley!parley@parley NOTICE alice :ERR bad-text lines must be UTF-8 text without control characters",
    );
    // A CTCP request parley cannot answer is dropped, not passed on as text.
    irc.send("PRIVMSG bob :\x01VERSION\x01");
    irc.send("PRIVMSG #lobby :\x07bell");
    irc.expect("FAIL * INVALID_UTF8 :Lines must be UTF-8 text without control characters");
    bob.expect_nothing_pending();
}

#[test]
fn a_slow_irc_reader_is_dropped_by_sendq_without_slowing_anyone() {
    let server = irc_server(&common::STUCK_MEMBER_ARGS);
    // Registered over IRC, then never read again.
    let mut stuck = Irc {
        client: TestClient::over(Box::new(connect_with_recv_buffer(irc_addr(&server), 4096))),
    };
    stuck.send("NICK stuck");
    stuck.send("USER stuck 0 * :s");
    stuck.numeric("001");
    common::flood_past_a_stuck_member(&server, "stuck");
}

#[test]
fn irc_over_tls_shares_the_certificate() {
    let pki = pki::Pki::new();
    let mut args = pki.server_args();
    args.extend(["--irc-tls-listen".to_owned(), "127.0.0.1:0".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start(&args);
    let addr = server
        .irc_tls_addr
        .expect("the IRC TLS address is reported");
    let mut irc = Irc {
        client: pki.client(addr),
    };
    irc.send("NICK secure");
    irc.send("USER secure 0 * :s");
    irc.numeric("001");
    irc.skip_to("366");
    let mut bob = server.login("bob");
    irc.skip_to("JOIN");
    bob.send("hello");
    irc.expect(":bob!bob@parley PRIVMSG #lobby :hello");
    irc.send("PRIVMSG #lobby :hi over TLS");
    bob.expect_line("MSG lobby secure hi over TLS");
}

#[test]
fn sasl_in_irssis_order_registers_after_cap_end_nick_and_user() {
    let server = irc_server(&["--hash-memory", "64", "--hash-passes", "1"]);
    account(&server, "alice", "correct-horse");
    let mut irc = Irc::connect(irc_addr(&server));
    irc.send("CAP LS 302");
    irc.skip_to("CAP");
    irc.send("CAP REQ :sasl");
    irc.skip_to("CAP");
    authenticate_plain(&mut irc, "alice", "correct-horse");
    irc.numeric("900");
    irc.numeric("903");
    // The welcome waits for NICK and USER too (the decoder's unit tests show that
    // nothing comes before them; here everything the server says is held meanwhile,
    // a PONG included).
    irc.send("CAP END");
    irc.send("NICK root");
    irc.send("USER root 0 * :r");
    assert!(irc.numeric("001").starts_with(":irc.parley 001 alice "));
    irc.skip_to("366");
    // Nothing refused the late NICK and USER.
    irc.barrier();
}
