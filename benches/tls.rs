//! What TLS costs the loop, in memory with no sockets: a server's side of a full TLS 1.3
//! handshake with an ECDSA P-256 certificate (the rate `join-storm --tls` is bounded by),
//! and sealing one flush's lines as one vectored hand-over against one write per line
//! (why the transport hands a session all queued lines at once).

use std::io::{IoSlice, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig, ServerConnection,
};

/// A server's settings with a fresh self-signed P-256 certificate for `localhost`, and
/// a client's that trust it.
fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let der: CertificateDer<'static> = cert.der().clone();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], private)
        .expect("server config");
    let mut roots = RootCertStore::empty();
    roots.add(der).expect("root");
    let client = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// Moves every record `from` has for `to`.
fn pass<A, B>(from: &mut ConnectionCommon<A>, to: &mut ConnectionCommon<B>) {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).expect("write_tls");
    }
    let mut slice = &wire[..];
    while !slice.is_empty() {
        to.read_tls(&mut slice).expect("read_tls");
        to.process_new_packets().expect("process");
    }
}

/// A finished handshake: both sides ready for application data.
fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
) -> (ServerConnection, ClientConnection) {
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = ClientConnection::new(Arc::clone(client), name).expect("client");
    let mut s = ServerConnection::new(Arc::clone(server)).expect("server");
    while c.is_handshaking() || s.is_handshaking() {
        pass(&mut c, &mut s);
        pass(&mut s, &mut c);
    }
    (s, c)
}

fn bench_handshake(c: &mut Criterion) {
    let (server, client) = configs();
    let name = ServerName::try_from("localhost").unwrap();
    let mut group = c.benchmark_group("tls_handshake");
    group.throughput(Throughput::Elements(1));
    // Only the server's steps are timed (reading the client's hello and answering it,
    // then reading its Finished); the client's work in between is not.
    group.bench_function("server_side_p256_tls13", |b| {
        b.iter_custom(|iterations| {
            let mut server_time = Duration::ZERO;
            for _ in 0..iterations {
                let mut c = ClientConnection::new(Arc::clone(&client), name.clone()).unwrap();
                let mut hello = Vec::new();
                c.write_tls(&mut hello).unwrap();
                let started = Instant::now();
                let mut s = ServerConnection::new(Arc::clone(&server)).unwrap();
                let mut slice = &hello[..];
                s.read_tls(&mut slice).unwrap();
                s.process_new_packets().unwrap();
                let mut answer = Vec::new();
                while s.wants_write() {
                    s.write_tls(&mut answer).unwrap();
                }
                server_time += started.elapsed();
                let mut slice = &answer[..];
                while !slice.is_empty() {
                    c.read_tls(&mut slice).unwrap();
                    c.process_new_packets().unwrap();
                }
                let mut finished = Vec::new();
                while c.wants_write() {
                    c.write_tls(&mut finished).unwrap();
                }
                let started = Instant::now();
                let mut slice = &finished[..];
                while !slice.is_empty() {
                    s.read_tls(&mut slice).unwrap();
                    s.process_new_packets().unwrap();
                }
                // The session tickets the server sends once the handshake is done.
                let mut tickets = Vec::new();
                while s.wants_write() {
                    s.write_tls(&mut tickets).unwrap();
                }
                server_time += started.elapsed();
                assert!(!s.is_handshaking());
            }
            server_time
        })
    });
    group.finish();
}

fn bench_seal(c: &mut Criterion) {
    let (server, client) = configs();
    let (mut s, mut c_side) = handshake(&server, &client);
    // Drain the tickets the server sent after the handshake.
    pass(&mut s, &mut c_side);
    let line = [b'x'; 100];
    let mut group = c.benchmark_group("tls_seal_flush");
    for lines in [1usize, 10, 100] {
        let slices: Vec<IoSlice<'_>> = (0..lines).map(|_| IoSlice::new(&line)).collect();
        group.throughput(Throughput::Elements(lines as u64));
        let mut wire = Vec::with_capacity(64 * 1024);
        group.bench_function(format!("vectored_{lines}_lines"), |b| {
            b.iter(|| {
                wire.clear();
                let taken = s.writer().write_vectored(&slices).unwrap();
                assert_eq!(taken, lines * line.len());
                while s.wants_write() {
                    s.write_tls(&mut wire).unwrap();
                }
                wire.len()
            })
        });
        group.bench_function(format!("per_line_{lines}_lines"), |b| {
            b.iter(|| {
                wire.clear();
                for _ in 0..lines {
                    s.writer().write_all(&line).unwrap();
                }
                while s.wants_write() {
                    s.write_tls(&mut wire).unwrap();
                }
                wire.len()
            })
        });
    }
    group.finish();
    // Keep the client side alive to the end, as a peer would be.
    let mut sink = [0u8; 16];
    let _ = c_side.reader().read(&mut sink);
}

criterion_group!(benches, bench_handshake, bench_seal);
criterion_main!(benches);
