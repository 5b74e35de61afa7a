//! Benchmarks of the sans-IO pieces: framing, parsing, encoding, fan-out through the
//! chat core, a board listing, and queue admission with many waiting.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use parley::codec::parley::framer::{Frame, LineFramer, Step};
use parley::codec::parley::{grammar, Encoder};
use parley::hub::{ClientId, Departure, Effects, Event, Hub, Limits, Link, Request, Write};
use parley::outq::OutQueue;

/// Where every benchmarked client connects from.
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Encodes each event once, as the server does, and counts deliveries: measures the
/// core and the encoding alone.
#[derive(Default)]
struct Counter {
    encoder: Encoder,
    lines: usize,
    bytes: usize,
}

impl Effects for Counter {
    fn send(&mut self, _to: ClientId, event: &Event<'_>) {
        self.lines += 1;
        self.bytes += self.encoder.encode(event).len();
    }
    fn send_each(&mut self, to: impl IntoIterator<Item = ClientId>, event: &Event<'_>) {
        let line = self.encoder.encode(event);
        let recipients = to.into_iter().count();
        self.lines += recipients;
        self.bytes += recipients * line.len();
    }
    fn close(&mut self, _client: ClientId) {}
    fn request(&mut self, _client: ClientId, _request: Request) {}
    fn persist(&mut self, _write: Write) {}
}

/// Encodes each event once and queues the shared bytes per client as the server does
/// (without sockets).
struct Queues {
    encoder: Encoder,
    queues: Vec<OutQueue>,
}

impl Effects for Queues {
    fn send(&mut self, to: ClientId, event: &Event<'_>) {
        let line = self.encoder.encode(event);
        self.queues[to.slot()].push(&line);
    }
    fn send_each(&mut self, to: impl IntoIterator<Item = ClientId>, event: &Event<'_>) {
        let line = self.encoder.encode(event);
        for client in to {
            self.queues[client.slot()].push(&line);
        }
    }
    fn close(&mut self, _client: ClientId) {}
    fn request(&mut self, _client: ClientId, _request: Request) {}
    fn persist(&mut self, _write: Write) {}
}

fn id(slot: usize) -> ClientId {
    ClientId::new(slot, 1)
}

fn hub(limits: Limits) -> (Hub, Instant) {
    let now = Instant::now();
    (Hub::new(limits, now, 1_700_000_000), now)
}

fn big_limits() -> Limits {
    Limits {
        max_clients: 200_000,
        max_queue: 200_000,
        announce_limit: 0,
        ..Limits::default()
    }
}

/// A hub with `members` named users in `lobby`.
fn hub_with_members(members: usize) -> (Hub, Instant) {
    let (mut hub, now) = hub(big_limits());
    let mut sink = Counter::default();
    for i in 0..members {
        hub.connect(id(i), i as u64, PEER, Link::Clear, now, &mut sink);
        let name = format!("/name user{i}");
        hub.receive(id(i), grammar::parse(&name), now, &mut sink);
    }
    (hub, now)
}

fn framing(c: &mut Criterion) {
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend_from_slice(
            format!("/msg user{i} hello there, this is line {i}\r\n").as_bytes(),
        );
    }
    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("1000 lines", |b| {
        b.iter(|| {
            let mut framer = LineFramer::new(4096);
            let mut used = 0;
            let mut lines = 0;
            while let Step::Frame(frame, n) = framer.next_frame(&input[used..]) {
                used += n;
                lines += usize::from(matches!(frame, Frame::Line(_)));
            }
            black_box(lines)
        })
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, line) in [
        ("plain", "hello everyone, how are things going today?"),
        ("msg", "/msg someone hello there, how are you?"),
        (
            "post quoted",
            r#"/post rust "a quoted \"subject\"" and a body of text"#,
        ),
        ("alias", "%grouppost rust subject the body"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(grammar::parse(black_box(line))))
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut enc = Encoder::new();
    let text = "x".repeat(100);
    c.bench_function("encode MSG 100 B", |b| {
        b.iter(|| {
            let event = Event::Msg {
                room: "lobby",
                from: "someone",
                text: black_box(&text),
                notice: false,
            };
            black_box(enc.encode(&event))
        })
    });
    // The same message for IRC clients: the line every IRC member of the room shares.
    let mut irc = parley::codec::irc::Encoder::new();
    let recipient = registered_irc();
    let view = recipient.view();
    c.bench_function("encode IRC PRIVMSG 100 B", |b| {
        b.iter(|| {
            let event = Event::Msg {
                room: "lobby",
                from: "someone",
                text: black_box(&text),
                notice: false,
            };
            black_box(irc.encode(&event, &view))
        })
    });
}

/// An IRC connection's state after registration as `someone`.
fn registered_irc() -> parley::codec::irc::Decoder {
    let mut decoder = parley::codec::irc::Decoder::new(4096);
    decoder.observe(&Event::Hello);
    for line in ["NICK someone\r\n", "USER someone 0 * :s\r\n"] {
        decoder.next(&mut line.as_bytes().to_vec());
    }
    decoder.next(&mut []);
    decoder.observe(&Event::Welcome {
        name: "someone",
        users: 1,
    });
    decoder
}

fn irc_decoding(c: &mut Criterion) {
    let line = format!("PRIVMSG #lobby :{}\r\n", "z".repeat(100));
    let mut decoder = registered_irc();
    let mut bytes = Vec::with_capacity(line.len());
    c.bench_function("decode IRC PRIVMSG 100 B", |b| {
        b.iter(|| {
            // The decoder cleans text in place: each round decodes a fresh copy.
            bytes.clear();
            bytes.extend_from_slice(line.as_bytes());
            let step = decoder.next(black_box(&mut bytes));
            black_box(matches!(step, parley::codec::Step::Input(..)))
        })
    });
}

fn fanout(c: &mut Criterion) {
    let text = "y".repeat(100);
    let mut group = c.benchmark_group("fanout");
    for members in [10usize, 1_000, 10_000] {
        let (mut hub, now) = hub_with_members(members);
        group.throughput(Throughput::Elements(members as u64 - 1));
        group.bench_with_input(BenchmarkId::new("core", members), &members, |b, _| {
            let mut sink = Counter::default();
            b.iter(|| hub.receive(id(0), grammar::parse(&text), now, &mut sink));
            black_box(sink.lines);
        });
        let mut queues = Queues {
            encoder: Encoder::new(),
            queues: (0..members).map(|_| OutQueue::new()).collect(),
        };
        group.bench_with_input(
            BenchmarkId::new("core+queues", members),
            &members,
            |b, _| {
                b.iter(|| {
                    hub.receive(id(0), grammar::parse(&text), now, &mut queues);
                    for queue in &mut queues.queues {
                        queue.discard();
                    }
                });
            },
        );
    }
    group.finish();
}

fn board_listing(c: &mut Criterion) {
    let (mut hub, now) = hub_with_members(1);
    let mut sink = Counter::default();
    for i in 0..1000 {
        let post = format!("/post lobby subject{i} the body of post number {i}");
        hub.receive(id(0), grammar::parse(&post), now, &mut sink);
    }
    let mut group = c.benchmark_group("board");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("list 1000 posts", |b| {
        b.iter(|| hub.receive(id(0), grammar::parse("/list"), now, &mut sink))
    });
    group.finish();
}

/// One admission from a queue of `waiting`: the admitted client leaves, the front of
/// the queue is admitted, and a newcomer joins the back so the length stays put. The
/// clock stands still, so the (coalesced, once a second) position updates are not part
/// of it; the timer sweep that discards the leavers' deadlines is.
fn queue_admission(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue admission");
    for waiting in [10usize, 1_000, 10_000] {
        let (mut hub, now) = hub(Limits {
            max_clients: 1,
            max_queue: waiting + 1,
            ..Limits::default()
        });
        let mut sink = Counter::default();
        for i in 0..=waiting {
            hub.connect(id(i), i as u64, PEER, Link::Clear, now, &mut sink);
        }
        let mut admitted = 0usize;
        let mut next = waiting + 1;
        group.bench_with_input(BenchmarkId::from_parameter(waiting), &waiting, |b, _| {
            b.iter(|| {
                hub.disconnect(id(admitted), Departure::Disconnected, now, &mut sink);
                admitted = (admitted + 1) % (waiting + 2);
                hub.connect(id(next), next as u64, PEER, Link::Clear, now, &mut sink);
                next = (next + 1) % (waiting + 2);
                hub.on_timeout(now, &mut sink);
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    framing,
    parsing,
    encoding,
    irc_decoding,
    fanout,
    board_listing,
    queue_admission
);
criterion_main!(benches);
