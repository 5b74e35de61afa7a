//! The TLS listener: the same protocol over TLS beside plain TCP, the handshake
//! deadline and limits, garbage instead of a handshake, certificates swapped on SIGHUP,
//! and `tls-required` for passwords in clear.

mod common;
#[path = "common/pki.rs"]
mod pki;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::{create, join, TestClient, TestServer, TIMEOUT};
use pki::{closes, presented, send_raw, Pki};

/// A server with a TLS listener on the certificate of `pki`, plus `extra` arguments.
fn tls_server(pki: &Pki, extra: &[&str]) -> TestServer {
    let mut args: Vec<String> = pki.server_args();
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start(&args)
}

fn tls_addr(server: &TestServer) -> SocketAddr {
    server.tls_addr.expect("the server reports its TLS address")
}

/// Logs in `name` over TLS.
fn tls_login(pki: &Pki, server: &TestServer, name: &str) -> TestClient {
    pki.client(tls_addr(server)).named(name)
}

#[test]
fn a_tls_user_and_a_plain_user_chat_in_the_same_rooms() {
    let pki = Pki::new();
    let server = tls_server(&pki, &[]);
    let mut alice = tls_login(&pki, &server, "alice");
    let mut bob = server.login("bob");
    alice.expect_line("JOIN lobby bob");
    alice.send("hello from TLS");
    bob.expect_line("MSG lobby alice hello from TLS");
    bob.send("hello in clear");
    alice.expect_line("MSG lobby bob hello in clear");
    create(&mut alice, "alice", "den");
    join(&mut bob, "bob", "den", &mut [&mut alice]);
    bob.send("/say den a room line");
    alice.expect_line("MSG den bob a room line");
    alice.send("/msg bob psst");
    bob.expect_line("PRIV alice psst");
    // Passwords over TLS, and a reply long enough to take many records.
    alice.send("/register correct-horse-battery");
    alice.expect_line("REGISTERED alice");
    let long = "x".repeat(3000);
    for i in 0..20 {
        bob.send(&format!("/say den {i} {long}"));
    }
    for i in 0..20 {
        alice.expect_line(&format!("MSG den bob {i} {long}"));
    }
    alice.send("/quit");
    alice.expect_bye("quit");
    alice.expect_closed();
    bob.skip_until("LEAVE den alice");
}

#[test]
fn a_handshake_that_does_not_finish_in_time_is_closed_and_nobody_waits_for_it() {
    let pki = Pki::new();
    let server = tls_server(&pki, &["--login-timeout", "1s"]);
    let mut silent = TcpStream::connect(tls_addr(&server)).unwrap();
    silent.set_read_timeout(Some(TIMEOUT)).unwrap();
    let started = Instant::now();
    // Others are served meanwhile, over TLS and in clear.
    let mut alice = tls_login(&pki, &server, "alice");
    let mut bob = server.login("bob");
    alice.expect_line("JOIN lobby bob");
    assert!(closes(&mut silent), "the silent handshake is closed");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the deadline: {:?}",
        started.elapsed()
    );
    server.expect_log("TLS handshake not finished in time");
    bob.send("still here");
    alice.expect_line("MSG lobby bob still here");
}

#[test]
fn garbage_instead_of_a_handshake_closes_that_connection_only() {
    let pki = Pki::new();
    let server = tls_server(&pki, &[]);
    let mut alice = tls_login(&pki, &server, "alice");
    for garbage in [
        &b"/name mallory\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3][..],
        &[0u8; 4096][..],
    ] {
        let mut raw = TcpStream::connect(tls_addr(&server)).unwrap();
        raw.set_read_timeout(Some(TIMEOUT)).unwrap();
        send_raw(&mut raw, garbage);
        assert!(closes(&mut raw), "{garbage:?} closes its connection");
    }
    // A later handshake and the chat of those already in are untouched.
    let mut bob = tls_login(&pki, &server, "bob");
    alice.expect_line("JOIN lobby bob");
    bob.send("hi");
    alice.expect_line("MSG lobby bob hi");
}

#[test]
fn sighup_swaps_the_certificate_and_a_broken_one_keeps_the_old() {
    let pki = Pki::new();
    let server = tls_server(&pki, &[]);
    let first = presented(&pki.connect(tls_addr(&server)));
    let mut alice = tls_login(&pki, &server, "alice");

    let second = pki.issue(&["localhost"]);
    assert_ne!(first, second);
    server.signal(libc::SIGHUP);
    server.expect_log("TLS certificate reloaded");
    assert_eq!(presented(&pki.connect(tls_addr(&server))), second);

    pki.replace(
        &pki.cert_path(),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
    );
    server.signal(libc::SIGHUP);
    server.expect_log("TLS certificate not reloaded, the old one stays");
    assert_eq!(presented(&pki.connect(tls_addr(&server))), second);

    // A key that does not match the certificate is refused too.
    let key_before = std::fs::read_to_string(pki.key_path()).unwrap();
    pki.issue(&["localhost"]);
    pki.replace(&pki.key_path(), &key_before);
    server.signal(libc::SIGHUP);
    server.expect_log("TLS certificate not reloaded, the old one stays");
    assert_eq!(presented(&pki.connect(tls_addr(&server))), second);

    // The session opened before every swap still works.
    alice.expect_nothing_pending();
}

#[test]
fn a_broken_certificate_at_start_stops_the_server_with_a_message() {
    let pki = Pki::new();
    pki.replace(&pki.key_path(), "nothing here\n");
    let binary = env!("CARGO_BIN_EXE_parley-server");
    let cert = pki.cert_path().display().to_string();
    let key = pki.key_path().display().to_string();
    let out = std::process::Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--data", ":memory:"])
        .args([
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ])
        .output()
        .expect("run the server");
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("cannot set up TLS"), "{log}");
    assert!(log.contains("key.pem"), "names the file: {log}");
}

#[test]
fn handshakes_from_one_address_count_against_its_limit() {
    let pki = Pki::new();
    let server = tls_server(&pki, &["--max-per-address", "2"]);
    let from = |last: u8| {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let source = SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), 0));
        socket.bind(&source.into()).unwrap();
        socket.connect(&tls_addr(&server).into()).unwrap();
        let stream = TcpStream::from(socket);
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        stream
    };
    let mut held = [from(2), from(2)];
    let mut third = from(2);
    third.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert!(
        closes(&mut third),
        "a third handshake from 127.0.0.2 is refused"
    );
    for stream in &mut held {
        assert!(!closes(stream), "the first two wait for their handshakes");
    }
    // Another address is not affected.
    let mut other = from(3);
    assert!(!closes(&mut other));
}

#[test]
fn beyond_max_handshakes_the_listener_waits_until_one_is_done() {
    let pki = Pki::new();
    let server = tls_server(&pki, &["--max-handshakes", "1", "--login-timeout", "1s"]);
    let mut silent = TcpStream::connect(tls_addr(&server)).unwrap();
    silent.set_read_timeout(Some(TIMEOUT)).unwrap();
    // Taken by the server before the client below: a plain client's turn proves it.
    let mut bob = server.login("bob");
    let started = Instant::now();
    let mut alice = tls_login(&pki, &server, "alice");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the second handshake waited for the first one's deadline: {:?}",
        started.elapsed()
    );
    assert!(closes(&mut silent));
    bob.expect_line("JOIN lobby alice");
    alice.send("made it");
    bob.expect_line("MSG lobby alice made it");
}

/// An address of this machine outside the loopback range, if it has one.
fn non_loopback_address() -> Option<IpAddr> {
    let probe = UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route's source address.
    probe.connect("192.0.2.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn passwords_in_clear_from_afar_need_tls_unless_allowed() {
    let Some(here) = non_loopback_address() else {
        panic!("this test needs an address outside 127.0.0.0/8 (a network interface)");
    };
    let pki = Pki::new();
    for (extra, refused) in [(&[][..], true), (&["--allow-plaintext-login"][..], false)] {
        // Both listeners on every address, so that one of this machine's reaches them.
        let mut args = vec!["--listen", "0.0.0.0:0", "--tls-listen", "0.0.0.0:0"];
        args.extend_from_slice(extra);
        let server = tls_server(&pki, &args);
        let mut afar = TestClient::connect(SocketAddr::new(here, server.addr.port()));
        afar.expect_prefix("HELLO parley 1");
        afar.send("/login alice correct-horse");
        if refused {
            afar.expect_err("tls-required");
        } else {
            afar.expect_err("bad-login");
        }
        // Over TLS, and in clear from loopback, the same command is checked.
        let mut secure = pki.client(SocketAddr::new(here, tls_addr(&server).port()));
        secure.expect_prefix("HELLO parley 1");
        secure.send("/login alice correct-horse");
        secure.expect_err("bad-login");
        let mut local = server.greeted();
        local.send("/login alice correct-horse");
        local.expect_err("bad-login");
    }
}

#[test]
fn a_tls_client_that_never_reads_is_dropped_with_sendq_and_the_room_goes_on() {
    let pki = Pki::new();
    let server = tls_server(&pki, &common::STUCK_MEMBER_ARGS);
    // Named over TLS, then never read again: what the server holds for it, in its
    // queue and inside its session, must reach --max-sendq.
    let _stuck = tls_login(&pki, &server, "stuck");
    common::flood_past_a_stuck_member(&server, "stuck");
}

#[test]
fn tls_1_2_and_1_3_are_both_served() {
    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, StreamOwned};
    let pki = Pki::new();
    let server = tls_server(&pki, &[]);
    let mut roots = RootCertStore::empty();
    let ca = std::fs::read_to_string(pki.ca_path()).unwrap();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    for (version, expected) in [
        (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
    ] {
        let config = ClientConfig::builder_with_protocol_versions(&[version])
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let session = ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(tls_addr(&server)).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut stream = StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("handshake");
        }
        assert_eq!(stream.conn.protocol_version(), Some(expected));
        let mut client = TestClient::over(Box::new(stream));
        client.expect_prefix("HELLO parley 1");
        client.send("/name v");
        client.expect_prefix("WELCOME v");
        client.expect_line("JOIN lobby v");
        client.send("/quit");
        client.expect_bye("quit");
    }
}

#[test]
fn the_server_warns_at_start_only_when_passwords_can_only_travel_in_clear() {
    let warning = "travel in clear: no TLS";
    let plain = TestServer::start(&[]);
    assert!(plain.log().contains(warning), "{}", plain.log());
    let pki = Pki::new();
    let with_tls = tls_server(&pki, &[]);
    assert!(!with_tls.log().contains(warning), "{}", with_tls.log());
    let allowed = tls_server(&pki, &["--allow-plaintext-login"]);
    assert!(
        allowed
            .log()
            .contains("--allow-plaintext-login: passwords may travel in clear"),
        "{}",
        allowed.log()
    );
}

/// CPU time the server process has used so far, in clock ticks (user + system).
fn cpu_ticks(server: &TestServer) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap();
    // The fields after the command name (which is in parentheses): utime and stime
    // are the 12th and 13th of them.
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_handshake_deadline_during_shutdown_does_not_make_the_loop_spin() {
    let pki = Pki::new();
    let server = tls_server(
        &pki,
        &[
            "--login-timeout",
            "1s",
            "--shutdown-grace",
            "3s",
            "--flood-rate",
            "0",
        ],
    );
    // A client that never reads, with output queued behind a full socket, keeps the
    // shutdown waiting for the whole grace.
    let stuck = server.login_with_recv_buffer("stuck", 4096);
    let mut sender = server.login("sender");
    let filler = "y".repeat(1000);
    for i in 0..400 {
        sender.send(&format!("{i} {filler}"));
    }
    sender.expect_nothing_pending();
    // A handshake that never finishes: its deadline falls due during the grace.
    let _silent = TcpStream::connect(tls_addr(&server)).unwrap();
    server.expect_log("#3 connected from");
    let before = cpu_ticks(&server);
    server.signal(libc::SIGTERM);
    server.expect_log("shutdown complete");
    // Exited but not yet reaped: its /proc entry still holds its CPU times.
    let used = cpu_ticks(&server) - before;
    let ticks_per_second = 100; // USER_HZ on Linux
    assert!(
        used < ticks_per_second / 2,
        "the server used {used} ticks of CPU in a grace of 3 s"
    );
    drop(stuck);
}
