//! End to end over loopback: a real server on a thread, real sockets. One sender sends
//! a batch of room messages; the benchmark ends when every member has read them all.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use parley::config::Config;
use parley::server::{Server, StopHandle};

const MEMBERS: usize = 20;
const BATCH: usize = 200;

/// Runs a server on its own thread (the loop and its shared lines stay on it).
fn start_server() -> (SocketAddr, StopHandle, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let config = Config::parse_from([
            "parley-server",
            "--listen",
            "127.0.0.1:0",
            "--data",
            ":memory:",
        ]);
        let server = Server::bind(&config).expect("bind");
        tx.send((server.local_addr(), server.stop_handle()))
            .expect("report address");
        server.run().expect("server loop");
    });
    let (addr, stop) = rx.recv().expect("server started");
    (addr, stop, thread)
}

/// A named client whose replies are read line by line.
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
}

impl Client {
    fn login(addr: SocketAddr, name: &str) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut client = Client {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::with_capacity(64 * 1024, stream),
            line: String::new(),
        };
        client.send(&format!("/name {name}\n"));
        client.read_until("JOIN lobby ");
        client
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).expect("send");
    }

    fn read_until(&mut self, prefix: &str) {
        loop {
            self.line.clear();
            let n = self.reader.read_line(&mut self.line).expect("read");
            assert!(n > 0, "server closed");
            if self.line.starts_with(prefix) {
                return;
            }
        }
    }
}

fn loopback(c: &mut Criterion) {
    let (addr, stop, server) = start_server();
    let mut members: Vec<Client> = (0..MEMBERS)
        .map(|i| Client::login(addr, &format!("member{i}")))
        .collect();
    let mut sender = Client::login(addr, "sender");
    // Each member's last JOIN notice is the sender's; skip the ones before it.
    for member in &mut members {
        member.read_until("JOIN lobby sender");
    }
    let payload = "z".repeat(100);
    let mut batch = String::new();
    for i in 0..BATCH {
        batch.push_str(&format!("{i} {payload}\n"));
    }
    let last = format!("MSG lobby sender {} ", BATCH - 1);

    let mut group = c.benchmark_group("loopback");
    group.throughput(Throughput::Elements((MEMBERS * BATCH) as u64));
    group.bench_function("fan-out 200 messages to 20 members", |b| {
        b.iter(|| {
            sender.send(&batch);
            for member in &mut members {
                member.read_until(&last);
            }
        })
    });
    group.finish();
    stop.stop();
    server.join().expect("server thread");
}

criterion_group!(benches, loopback);
criterion_main!(benches);
