//! The witness: two clients on a thread of their own that chat in a room of their own
//! and time their own lines, apart from the loop that runs the attack.
//!
//! The bystanders share the loadgen's loop with the attackers. When thousands of
//! attackers connect at once, that loop spends a while on their connects and greetings,
//! and a bystander's line due meanwhile is sent late and read late: the loadgen's own
//! work is then measured as the server's latency. On the machine the attack targets,
//! attackers and users are different computers. The witness is the closer model: its
//! thread sleeps in its own poll, and when its line arrives the scheduler wakes it and
//! lets it preempt the attackers' loop on the core they share, rather than leaving the
//! line to wait until that loop comes round to it. It reports the same percentiles as the bystanders,
//! baseline against attack, from its own samples.
//!
//! Its room is its own, so that its lines add nothing to the attack (a line to a lobby
//! of 2,000 attackers is itself 2,000 writes): it measures what the attack costs
//! everyone else on the server. At its default of 1,000 lines a second, a window of
//! 10 s holds 10,000 samples, and a p99 is the hundredth-largest of them rather than
//! one stall's worth. Its address must be trusted, or flood control paces it.
//!
//! One client (the sender) says a line on an open-loop schedule; the other (the
//! receiver) reads it and records its latency from the scheduled send time. Both answer
//! `PING` and read everything else the room carries.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};

use crate::clock::now_ns;
use crate::conn;
use crate::driver::open_loop::OpenLoop;
use crate::tls::TlsClient;
use crate::transport::Transport;
use crate::wire::{self, Payload, ServerLine};

/// Longest wait for the witness to connect, be named and join.
const SETUP_TIMEOUT_NS: u64 = 10_000_000_000;
/// After it was told to stop, how long the witness waits for its lines on the way.
const DRAIN_NS: u64 = 2_000_000_000;
/// Longest poll sleep: the stop flag is looked at this often.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// The sender's timer among the poll's tokens (the clients are 0 and 1).
const TIMER: Token = Token(2);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Most unread bytes (an unfinished line) a witness connection keeps.
const MAX_PENDING_INPUT: usize = 64 * 1024;

/// What the witness is to do.
#[derive(Debug, Clone)]
pub struct WitnessPlan {
    /// The server.
    pub addr: SocketAddr,
    /// Where the witness connects from: the bystanders' first source address.
    pub source: Option<Ipv4Addr>,
    /// TLS settings when the run uses TLS.
    pub tls: Option<TlsClient>,
    /// The run's name prefix; the witness is `<prefix>w0` (sender) and `<prefix>w1`,
    /// and its room `<prefix>witness`.
    pub prefix: String,
    /// Lines per second the sender says.
    pub rate: f64,
    /// Bytes of each line's text, as the bystanders' (their `--size` less the newline).
    pub size: usize,
}

/// What the witness found.
#[derive(Debug, Default)]
pub struct WitnessReport {
    /// Each line received: when it was scheduled and its latency (process-clock ns).
    pub samples: Vec<(u64, u64)>,
    /// Lines sent.
    pub sent: u64,
    /// Lines sent that never arrived (a line that overtook an earlier one counts that
    /// one as missing).
    pub missing: u64,
    /// Why the witness stopped early, if it did.
    pub error: Option<String>,
}

/// The witness's thread, running until [`Witness::finish`].
pub struct Witness {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<WitnessReport>,
}

impl Witness {
    /// Starts the witness's thread.
    pub fn start(plan: WitnessPlan) -> io::Result<Witness> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("witness".into())
            .spawn(move || {
                let mut report = WitnessReport::default();
                if let Err(e) = run(&plan, &flag, &mut report) {
                    report.error = Some(e);
                }
                report
            })?;
        Ok(Witness { stop, thread })
    }

    /// Stops the sender, waits for the lines on their way, and hands over the findings.
    pub fn finish(self) -> WitnessReport {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| WitnessReport {
            error: Some("the witness's thread panicked".into()),
            ..WitnessReport::default()
        })
    }
}

/// Where a witness client is in its setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for `HELLO`.
    Greeting,
    /// `/name` sent, waiting for `JOIN lobby <me>`.
    Naming,
    /// Named, waiting for the sender to create the room.
    Named,
    /// `/create` or `/join` sent, waiting for `JOIN <room> <me>`.
    Joining,
    /// In the room, out of lobby.
    Ready,
}

/// One witness client.
struct Client {
    name: String,
    transport: Transport,
    stage: Stage,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    closed: bool,
}

impl Client {
    fn connect(plan: &WitnessPlan, index: usize, poll: &Poll) -> Result<Client, String> {
        let mut socket = conn::connect(plan.addr, plan.source, 0, 0)
            .map_err(|e| format!("the witness could not connect: {e}"))?;
        poll.registry()
            .register(
                &mut socket,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("registering the witness failed: {e}"))?;
        let transport = match &plan.tls {
            Some(tls) => Transport::tls(
                socket,
                tls.session()
                    .map_err(|e| format!("the witness's TLS session: {e}"))?,
            ),
            None => Transport::Plain(socket),
        };
        Ok(Client {
            name: format!("{}w{index}", plan.prefix),
            transport,
            stage: Stage::Greeting,
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            closed: false,
        })
    }

    /// Reads what the socket has onto `input`, to its end: the end of the stream may
    /// come with the last data, and no later edge would announce it.
    fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match self.transport.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    if self.input.len() > MAX_PENDING_INPUT && !self.input.contains(&b'\n') {
                        return Err("the server sent an overlong line to the witness".into());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Not connected yet: the next edge says when.
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(()),
                Err(e) => return Err(format!("the witness's read failed: {e}")),
            }
        }
    }

    /// Writes what is queued, as far as the socket takes it.
    fn flush(&mut self) -> Result<(), String> {
        match self.transport.write_out(&self.output, &mut self.written) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => {}
            Err(e) => return Err(format!("the witness's write failed: {e}")),
        }
        // Keep only what is unsent (a paced sender could otherwise hold its whole run).
        if self.written > 0 && self.written * 2 >= self.output.len() {
            self.output.drain(..self.written);
            self.written = 0;
        }
        Ok(())
    }

    fn send(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.push(b'\n');
    }
}

/// The witness's loop: set up both clients, then chat until `stop`, then drain.
fn run(plan: &WitnessPlan, stop: &AtomicBool, report: &mut WitnessReport) -> Result<(), String> {
    let mut poll = Poll::new().map_err(|e| format!("the witness's poll: {e}"))?;
    let mut clients = [
        Client::connect(plan, 0, &poll)?,
        Client::connect(plan, 1, &poll)?,
    ];
    // A timerfd: epoll's own timeout, in whole milliseconds, would send late.
    let mut schedule =
        OpenLoop::new(poll.registry(), TIMER).map_err(|e| format!("the witness's timer: {e}"))?;
    let sender_name = clients[0].name.clone().into_bytes();
    let room = format!("{}witness", plan.prefix);
    let say = format!("/say {room} ").into_bytes();
    let mut events = Events::with_capacity(16);
    let setup_deadline = now_ns() + SETUP_TIMEOUT_NS;
    let mut sending = false;
    // The sequence number the receiver expects next.
    let mut expected = 0;
    // Set once told to stop: when the drain gives up on lines still on their way.
    let mut drain_until: Option<u64> = None;
    loop {
        let now = now_ns();
        if clients[0].stage == Stage::Ready && clients[1].stage == Stage::Named {
            clients[1].send(&format!("/join {room}"));
            clients[1].stage = Stage::Joining;
        }
        if !sending && clients.iter().all(|c| c.stage == Stage::Ready) {
            schedule.start(now, plan.rate);
            sending = true;
        }
        if !sending && now >= setup_deadline {
            return Err("the witness was not set up within 10 s".into());
        }
        if drain_until.is_none() && stop.load(Ordering::Relaxed) {
            if !sending {
                return Err("the witness was stopped before it was set up".into());
            }
            drain_until = Some(now + DRAIN_NS);
        }
        if drain_until.is_some_and(|until| expected == report.sent || now >= until) {
            report.missing += report.sent - expected;
            return Ok(());
        }
        if sending && drain_until.is_none() {
            while schedule.due() <= now {
                let sched_ns = schedule.due();
                let p = Payload {
                    sender: 0,
                    slot: 0,
                    seq: schedule.take(),
                    sched_ns,
                    sent_ns: now,
                };
                wire::write_message(&mut clients[0].output, &say, &p, plan.size);
                report.sent += 1;
            }
            schedule
                .arm(schedule.due(), now)
                .map_err(|e| format!("the witness's timer: {e}"))?;
        }
        for c in clients.iter_mut() {
            c.flush()?;
        }
        match poll.poll(&mut events, Some(MAX_SLEEP)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("the witness's poll failed: {e}")),
        }
        for event in events.iter() {
            if event.token() == TIMER {
                schedule.on_timer();
                continue;
            }
            let i = event.token().0;
            clients[i].fill()?;
            let now = now_ns();
            let c = &mut clients[i];
            let mut input = std::mem::take(&mut c.input);
            let mut start = 0;
            while let Some(end) = memchr::memchr(b'\n', &input[start..]) {
                let line = &input[start..start + end];
                start += end + 1;
                let heard = handle_line(c, i == 0, line, &room)?;
                if let Some(p) = heard.filter(|_| i == 1 && sending) {
                    if p.0 == sender_name.as_slice() && p.1.seq >= expected {
                        report.missing += p.1.seq - expected;
                        expected = p.1.seq + 1;
                        report
                            .samples
                            .push((p.1.sched_ns, now.saturating_sub(p.1.sched_ns)));
                    }
                }
            }
            input.drain(..start);
            c.input = input;
            if c.closed {
                return Err(format!("the server closed the witness {}", c.name));
            }
        }
    }
}

/// One line to a witness client: its setup, `PING`, and the end of the connection
/// are handled here; a chat line with a payload is handed back with its sender.
/// The sender (`first`) creates `room` once named; the receiver joins it once it
/// exists (see [`run`]); each leaves lobby once in `room`.
fn handle_line<'a>(
    c: &mut Client,
    first: bool,
    line: &'a [u8],
    room: &str,
) -> Result<Option<(&'a [u8], Payload)>, String> {
    match wire::parse_line(line) {
        ServerLine::Hello if c.stage == Stage::Greeting => {
            let name = c.name.clone();
            c.send(&format!("/name {name}"));
            c.stage = Stage::Naming;
        }
        ServerLine::Queued { .. } if c.stage == Stage::Greeting => {
            return Err("the witness was queued: the server is full".into());
        }
        ServerLine::Join { room: joined, name } if name == c.name.as_bytes() => match c.stage {
            Stage::Naming if joined == b"lobby" && first => {
                c.send(&format!("/create {room}"));
                c.stage = Stage::Joining;
            }
            Stage::Naming if joined == b"lobby" => c.stage = Stage::Named,
            Stage::Joining if joined == room.as_bytes() => {
                c.send("/leave lobby");
                c.stage = Stage::Ready;
            }
            _ => {}
        },
        ServerLine::Ping { token } => {
            c.output.extend_from_slice(b"/pong ");
            c.output.extend_from_slice(token);
            c.output.push(b'\n');
        }
        // A refused line would otherwise only show as missing, without its reason
        // (a --size near the server's --max-line, say).
        ServerLine::Err { code } => {
            return Err(format!(
                "the server refused a line of the witness {}: ERR {}",
                c.name,
                String::from_utf8_lossy(code)
            ));
        }
        ServerLine::Bye { reason } => {
            return Err(format!(
                "the server sent the witness BYE {}",
                String::from_utf8_lossy(reason)
            ));
        }
        ServerLine::Msg { from, text, .. } => {
            return Ok(wire::parse_payload(text).map(|p| (from, p)));
        }
        _ => {}
    }
    Ok(None)
}
