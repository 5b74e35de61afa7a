//! The poll loop: the only code that touches sockets.
//!
//! One turn of the loop runs these phases in order:
//!
//! 1. **poll**, with a timeout from the earliest deadline (zero while work is left over
//!    from the previous turn);
//! 2. **note readiness**: readable connections go on the read list, writable ones on
//!    the flush list; nothing is read or written yet;
//! 3. **accept** at most [`ACCEPTS_PER_TURN`] new connections from each listener
//!    (each with its codec and transport), and while clients already in are active
//!    for at most [`ACCEPT_TIME_PER_TURN`]; the core hears of a connection once its
//!    transport is ready;
//! 4. **read**: the read list is worked from a pseudo-randomly chosen place each
//!    turn, so no connection is always first; each listed connection reads at most
//!    [`READ_BUDGET`] of work (input bytes, and [`LINE_WORK`] for each line handed
//!    to the chat core; less for a while after flow control held a sender back, see
//!    [`PACED_READ_BUDGET`]); a connection with more input waits for the next turn,
//!    so one flooding client cannot starve the others, and once the turn has done
//!    [`TURN_READ_BUDGET`] of work the connections not read yet keep their place for
//!    the next, so many flooding clients together cannot either; newcomers (connected
//!    less than [`NEWCOMER_AGE`] ago) are read after the others and, while the others
//!    are active, for at most [`NEWCOMER_READ_TIME_PER_TURN`], so that a connect storm
//!    does not hold up the clients already in; between the two, clients whose input
//!    ended or whose socket failed leave the core, oldest first and, while others are
//!    active, for at most [`DEPARTURE_TIME_PER_TURN`], so that a crowd leaving at once
//!    does not hold them up either;
//! 5. **timers** of the chat core (login, ping, queue positions), then the requests
//!    the core made this turn go to their workers (whose results wake the loop);
//! 6. **stalls and drops**: congested recipients past `--stall-limit` release the
//!    senders they were pacing; connections whose output went over `--max-sendq` (or
//!    their share of `--max-sendq-total`) are dropped, while others are active for at
//!    most [`DEPARTURE_TIME_PER_TURN`];
//! 7. **flush**: one vectored write loop per connection with new output, at most
//!    [`WRITE_BUDGET`] bytes each, for at most [`FLUSHES_PER_TURN`] connections of
//!    each of the two lanes of [`crate::flushq`] (replies and small fan-outs first,
//!    then big fan-outs and backlogs, these for at most [`BULK_FLUSH_TIME_PER_TURN`]
//!    and with their small writes paced by `--fanout-write-rate`, see [`BulkPace`]),
//!    each lane in the order its connections were listed; writable interest follows
//!    from the connection's state: watched only while a write has blocked with output
//!    or transport bytes waiting;
//! 8. **expire** connections that were closing but could not flush in time.
//!
//! Readiness is edge-triggered, so the loop keeps its own lists of connections with
//! input or output left instead of waiting for events that will not come again.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use log::{debug, error, info, warn};
use mio::event::Event as Readiness;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use rustls::ServerConfig;
use zeroize::Zeroize;

use crate::codec::{Codec, Line, Step};
use crate::config::Config;
use crate::config::SyncMode;
use crate::conn::{Conn, ConnTable, Leaving, Lifecycle, ReplyCost};
use crate::flow::SendqLimits;
use crate::flushq::{BulkPace, Lane};
use crate::handshakes::Handshakes;
use crate::hashing::carry_out;
use crate::hub::{
    ByeReason, ClientId, Completion, Departure, Event, HashJob, Hub, Input, Link, Request, Trusted,
    LOBBY,
};
use crate::limits::MAX_LINGERING;
use crate::pacing::RateLimit;
use crate::password::{Credential, HashError, Hasher};
use crate::signal::{ControlSignals, Signal};
use crate::store::{Store, StoreError, Sync};
use crate::timers::Deadlines;
use crate::tls::{TlsError, TlsFiles};
use crate::transport::{Transport, TransportKind};
use crate::turns::TurnStats;
use crate::users_file::{self, UsersFile, UsersFileError};
use crate::work::{Priority, Results, SubmitError, Worker};

const SIGNALS: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
/// Listener `i` has token `LISTENERS - i`; connection tokens are slab keys, far below.
const LISTENERS: usize = usize::MAX - 16;

/// Readiness events taken per poll.
pub const EVENTS_PER_POLL: usize = 1024;
/// Size of one read; also the loop's one shared read buffer.
pub const READ_CHUNK: usize = 16 * 1024;
/// Work done for one connection per turn: input bytes read, plus [`LINE_WORK`] per line
/// handled.
pub const READ_BUDGET: usize = 64 * 1024;
/// What handling one line costs against the read budgets, in bytes: a line is parsed,
/// checked and handed to the chat core, so a flood of empty lines costs work, not
/// bytes.
pub const LINE_WORK: usize = 64;
/// The least work a connection is given in a turn when many share the turn's budget.
pub const MIN_READ_SHARE: usize = 1024;
/// Spare room a connection's carried input may keep beyond what it holds; more is
/// given back. An unfinished line then costs at most `--max-line` bytes plus this.
pub const CARRY_SLACK: usize = 1024;
/// Work the read phase does in one turn over all connections. The rest wait, keeping
/// their place, so that timers, writes and the other connections' turn come soon
/// whatever many clients send at once.
pub const TURN_READ_BUDGET: usize = 512 * 1024;
/// Connections accepted less than this long ago are newcomers: the read phase reads
/// them after everyone else, for at most [`NEWCOMER_READ_TIME_PER_TURN`].
pub const NEWCOMER_AGE: Duration = Duration::from_secs(1);
/// Time after which the read phase reads no more newcomers in this turn while clients
/// already in are active (at least one is read); the rest keep their place. The read
/// budgets count bytes and lines, and a newcomer's first lines cost far more than
/// their bytes (a name; joining lobby, whose members are told and whose names it is
/// sent): in a connect storm a turn's worth of them held everyone else for
/// milliseconds. Read after the others and for a bounded time, the storm's newcomers
/// wait a little longer to get in, and the clients already in are served every turn.
pub const NEWCOMER_READ_TIME_PER_TURN: Duration = Duration::from_micros(100);
/// Time after which a turn lets no more clients whose input ended or whose socket
/// failed leave the core while others are active (at least one leaves); the rest leave
/// in later turns, in order. A departure costs nothing to read (an end of input) and
/// much to handle: each of the client's rooms is told, and 2,000 clients leaving lobby
/// at once cost the turn that read them 10 to 30 ms. Those waiting keep their names
/// and their rooms' notices until their turn; the clients still in are not held.
pub const DEPARTURE_TIME_PER_TURN: Duration = Duration::from_micros(100);
/// Work done for one connection per turn while flow control is holding senders
/// back, and for [`PACED_READ_MEMORY`] after. Senders released together then share
/// their recipients' room below `--soft-sendq`: with the full budget the first one read
/// would fill it, and the rest would be held again after a line each, turn after turn.
pub const PACED_READ_BUDGET: usize = 4 * 1024;
/// How long the loop keeps to [`PACED_READ_BUDGET`] after flow control last held a
/// sender back.
pub const PACED_READ_MEMORY: Duration = Duration::from_secs(1);
/// Time one turn may spend on TLS handshakes (a P-256 one costs the server about
/// 0.14 ms; an RSA-4096 one ten times that). Connections whose handshake would go past
/// it keep their place for the next turn, so a wave of handshakes is spread over
/// turns that each serve everyone else too. At least one is served per turn.
pub const HANDSHAKE_TIME_PER_TURN: Duration = Duration::from_millis(1);
/// Output bytes written to one connection per turn.
pub const WRITE_BUDGET: usize = 256 * 1024;
/// Connections written to per turn while flow control holds no sender back. When more
/// have output, the rest keep their place for the next turn and input is read in
/// between: a new line then waits for at most one pass over the listed connections,
/// not for the pass in progress and the next. While senders are held back, the pass is
/// finished in one turn instead, because a held sender is read again only once every
/// recipient it waits for has been written to.
pub const FLUSHES_PER_TURN: usize = 64;
/// Time after which a turn starts no more writes to the bulk lane's connections (at
/// least one is written to; a write under way, up to [`WRITE_BUDGET`], finishes). A write to a loopback socket costs 5 to 20 µs, so 64 of them could
/// hold a line to a small room for a millisecond; cut by time, the slice stays short
/// whatever a write costs, and a pass over a big room takes more turns, not longer.
pub const BULK_FLUSH_TIME_PER_TURN: Duration = Duration::from_micros(100);
/// Connections accepted per turn.
pub const ACCEPTS_PER_TURN: usize = 256;
/// Time after which a turn accepts no more connections while clients already in are
/// active (at least one is accepted; the rest wait in the listen backlog). An accept
/// with its registration costs 2 to 5 µs, so [`ACCEPTS_PER_TURN`] of them could hold
/// everyone else for a millisecond.
pub const ACCEPT_TIME_PER_TURN: Duration = Duration::from_micros(100);
/// Connections the kernel may hold completed but not yet accepted (it caps this at
/// `net.core.somaxconn`). The default of 128 drops SYNs in a join storm.
pub const LISTEN_BACKLOG: i32 = 4096;
/// Pause in accepting after the process ran out of file descriptors.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Loop turns' worth of requests that may wait for the store at once; beyond it they
/// fail with `store-failed` rather than block the loop.
pub const STORE_QUEUE: usize = 4096;
/// Most turns' worth of requests the store commits in one transaction.
pub const STORE_BATCH: usize = 64;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// A listening socket could not be set up.
    Listen {
        /// The flag that asked for it (`--listen`, `--irc-listen`, ...).
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The poll, its waker or a worker thread could not be set up.
    Poll(io::Error),
    /// The store could not be opened or read.
    Store(StoreError),
    /// The password hashing settings are out of range.
    Hashing(HashError),
    /// The users file (`--accounts-file`) could not be read or parsed.
    Accounts(UsersFileError),
    /// The TLS certificate or key (`--tls-cert`, `--tls-key`) could not be used.
    Tls(TlsError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Listen { flag, addr, source } => {
                write!(f, "cannot listen on {addr} ({flag}): {source}")
            }
            StartError::Poll(e) => write!(f, "cannot set up the poll loop: {e}"),
            StartError::Store(e) => write!(f, "cannot open the store: {e}"),
            StartError::Hashing(e) => write!(f, "cannot hash passwords: {e}"),
            StartError::Accounts(e) => write!(f, "cannot read the accounts file: {e}"),
            StartError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A listening socket and what its connections speak.
#[derive(Debug)]
struct Listener {
    socket: TcpListener,
    codec: Codec,
    transport: TransportKind,
    /// The socket may have connections to accept.
    ready: bool,
}

/// Settings the loop itself needs.
#[derive(Debug, Clone, Copy)]
struct IoLimits {
    max_line: usize,
    shutdown_grace: Duration,
    flood: RateLimit,
}

/// Asks a running server to shut down as on SIGTERM, from any thread.
#[derive(Debug, Clone)]
pub struct StopHandle {
    waker: Arc<Waker>,
    requested: Arc<AtomicBool>,
}

impl StopHandle {
    /// Starts a graceful shutdown.
    pub fn stop(&self) {
        self.requested.store(true, Ordering::SeqCst);
        if let Err(e) = self.waker.wake() {
            warn!("cannot wake the server to stop it: {e}");
        }
    }
}

/// How a connection's flush ended.
enum Flushed {
    /// Nothing left to write.
    Drained,
    /// The socket is full; wait for a writable event.
    Blocked,
    /// This turn's budget is spent; continue next turn.
    Budget,
    /// The connection is broken.
    Failed,
}

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    /// Every listening socket; emptied when shutdown begins.
    listeners: Vec<Listener>,
    local_addr: SocketAddr,
    /// An IRC listener exists: the encoders need the wall-clock time each turn.
    speaks_irc: bool,
    /// The protocols served over TLS: only their plain doors refuse passwords from
    /// afar (`tls-required`).
    tls_doors: Vec<Codec>,
    signals: Option<ControlSignals>,
    waker: Arc<Waker>,
    stop_requested: Arc<AtomicBool>,
    /// Where each worker hands back its completions; a worker wakes the loop with
    /// `waker` when it has.
    completions: Vec<Results<(Option<ClientId>, Completion)>>,
    /// The store's thread, fed the core's requests, one turn's worth at a time.
    store: Worker<Vec<(Option<ClientId>, Request)>>,
    /// The threads that check and hash passwords.
    hashing: Worker<(ClientId, HashJob)>,
    /// The thread that reads the users file and the TLS certificate again on SIGHUP,
    /// when there are any.
    reloader: Option<Reloader>,
    /// What a new TLS connection's session starts from, when there is a TLS listener.
    tls: Option<Arc<ServerConfig>>,
    /// TLS connections whose handshake is not finished.
    handshakes: Handshakes,
    hub: Hub,
    table: ConnTable,
    limits: IoLimits,
    /// The one read buffer: input is framed from here, and only a partial line (or
    /// input held back while a client is paused) is copied into the connection.
    scratch: Box<[u8]>,
    /// A spare read list, swapped in while reading.
    reading: Vec<usize>,
    /// State of the generator that picks where in the read list a turn starts.
    read_start_seed: u64,
    /// The last read phase ran out of budget before the end of the read list.
    read_cut: bool,
    /// Newcomers the read phase found listed, read after the others (kept for its
    /// memory).
    newcomers: Vec<usize>,
    /// Clients whose input ended or whose socket failed, waiting to leave the core
    /// (see [`DEPARTURE_TIME_PER_TURN`]).
    departures: VecDeque<ClientId>,
    /// When the read phase last read a connection that is not a newcomer.
    established_read_at: Option<Instant>,
    /// How long the turns took, logged at shutdown.
    turn_stats: TurnStats,
    /// Connections closing after a flush, by deadline, and how many there are.
    lingering: Deadlines<ClientId>,
    lingering_count: usize,
    /// Networks exempt from flood control.
    trusted: Trusted,
    /// When connections held back by flood control may be read again.
    flood_resume: Deadlines<ClientId>,
    next_serial: u64,
    accept_resume_at: Option<Instant>,
    /// `--fanout-write-rate`: the pace of small writes to the bulk lane.
    bulk_pace: BulkPace,
    /// Set once shutdown has begun: when the loop gives up flushing.
    stop_deadline: Option<Instant>,
    byes: Byes,
}

/// The thread that reads the settings files again on SIGHUP, and where it hands what
/// it read.
#[derive(Debug)]
struct Reloader {
    worker: Worker<()>,
    results: Results<Reloaded>,
    /// What it reads, for the log.
    what: &'static str,
}

/// What one reload read: each file on its own, so that one failing does not keep the
/// other from changing.
#[derive(Debug)]
struct Reloaded {
    accounts: Option<Result<UsersFile, UsersFileError>>,
    tls: Option<Result<Arc<ServerConfig>, TlsError>>,
}

impl Reloader {
    /// Starts the thread for `accounts` and `tls`, unless there is neither.
    fn start(
        accounts: Option<PathBuf>,
        tls: Option<TlsFiles>,
        waker: &Arc<Waker>,
    ) -> io::Result<Option<Reloader>> {
        let what = match (&accounts, &tls) {
            (None, None) => return Ok(None),
            (Some(_), None) => "the accounts file",
            (None, Some(_)) => "the TLS certificate and key",
            (Some(_), Some(_)) => "the accounts file and the TLS certificate and key",
        };
        let (worker, results) = Worker::start(
            "parley-reload",
            1,
            Priority::Deferring,
            Arc::clone(waker),
            move |()| Reloaded {
                accounts: accounts.as_deref().map(users_file::load),
                tls: tls.as_ref().map(TlsFiles::load),
            },
        )?;
        Ok(Some(Reloader {
            worker,
            results,
            what,
        }))
    }
}

/// The goodbyes the loop itself sends, encoded once per codec at start.
#[derive(Debug)]
struct Byes {
    sendq: [Line; Codec::COUNT],
    shutdown: [Line; Codec::COUNT],
}

impl Byes {
    fn new(table: &mut ConnTable) -> Byes {
        let mut encode = |reason| Codec::ALL.map(|codec| table.encode(codec, &Event::Bye(reason)));
        Byes {
            sendq: encode(ByeReason::Sendq),
            shutdown: encode(ByeReason::Shutdown),
        }
    }
}

impl Server {
    /// Opens the store, restores what it kept, binds the listening socket and
    /// prepares the loop.
    pub fn bind(config: &Config) -> Result<Server, StartError> {
        let poll = Poll::new().map_err(StartError::Poll)?;
        let mut listeners = Vec::new();
        let mut add = |flag, addr, codec, transport| {
            add_listener(
                &poll,
                &mut listeners,
                (flag, addr),
                codec,
                transport,
                config.send_buffer,
            )
        };
        let local_addr = add(
            "--listen",
            config.listen,
            Codec::Parley,
            TransportKind::Plain,
        )?;
        if let Some(addr) = config.irc_listen {
            add("--irc-listen", addr, Codec::Irc, TransportKind::Plain)?;
        }
        let tls = match config.tls_files() {
            Some(files) => {
                let tls = files.load().map_err(StartError::Tls)?;
                if let Some(addr) = config.tls_listen {
                    add("--tls-listen", addr, Codec::Parley, TransportKind::Tls)?;
                }
                if let Some(addr) = config.irc_tls_listen {
                    add("--irc-tls-listen", addr, Codec::Irc, TransportKind::Tls)?;
                }
                Some(tls)
            }
            None => None,
        };
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(StartError::Poll)?);
        let now = Instant::now();
        let unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sync = match config.sync {
            SyncMode::Normal => Sync::Normal,
            SyncMode::Full => Sync::Full,
        };
        let mut store = Store::open(&config.data, sync).map_err(StartError::Store)?;
        if config.max_data > 0 {
            store
                .limit_size(config.max_data as u64)
                .map_err(StartError::Store)?;
        }
        let rooms = store
            .load(config.board_retain, &[LOBBY])
            .map_err(StartError::Store)?;
        let posts: usize = rooms.iter().map(|room| room.posts.len()).sum();
        info!(
            "{}: {} rooms with {posts} posts restored",
            config.data,
            rooms.len()
        );
        let mut hub = Hub::new(config.limits(), now, unix);
        hub.restore(rooms);
        load_accounts(config, &store, &mut hub)?;
        if tls.is_none() {
            warn!("passwords (/login, /register, /passwd, /unregister) travel in clear: no TLS");
        } else if config.irc_listen.is_some() && config.irc_tls_listen.is_none() {
            warn!("IRC passwords (PASS, SASL) travel in clear: no --irc-tls-listen");
        } else if config.tls_listen.is_none() {
            warn!("parley passwords travel in clear: no --tls-listen");
        } else if config.allow_plaintext_login {
            warn!("--allow-plaintext-login: passwords may travel in clear on {local_addr}");
        }
        let hasher = Hasher::new(config.hash_params()).map_err(StartError::Hashing)?;
        // The core admits at most workers + queue jobs at once and the channel holds
        // as many, so a job the core let through is never refused here (a channel of
        // capacity 0 would refuse whenever no worker happened to be waiting).
        let (hashing, hash_results) = Worker::start_pool(
            "parley-hash",
            config.hash_workers,
            config.hash_workers + config.hash_queue,
            Priority::Background,
            Arc::clone(&waker),
            move |(client, job)| (Some(client), Completion::Hashed(carry_out(&hasher, job))),
        )
        .map_err(StartError::Poll)?;
        let reloader = Reloader::start(config.accounts_file.clone(), config.tls_files(), &waker)
            .map_err(StartError::Poll)?;
        let (store, store_results) = Worker::start_batched(
            "parley-store",
            STORE_QUEUE,
            STORE_BATCH,
            Priority::Deferring,
            Arc::clone(&waker),
            move |turns: Vec<Vec<_>>| store.serve(turns.into_iter().flatten().collect()),
        )
        .map_err(StartError::Poll)?;
        let mut table = ConnTable::new(
            SendqLimits {
                max: config.max_sendq,
                total: config.max_sendq_total,
                soft: config.soft_sendq,
                write_timeout: config.write_timeout,
                stall: config.stall_limit,
            },
            ReplyCost {
                flood: config.flood_limits(),
                line_bytes: config.max_line,
            },
            now,
        );
        let speaks_irc = listeners.iter().any(|l| l.codec == Codec::Irc);
        let tls_doors: Vec<Codec> = listeners
            .iter()
            .filter(|l| l.transport == TransportKind::Tls)
            .map(|l| l.codec)
            .collect();
        Ok(Server {
            poll,
            listeners,
            local_addr,
            speaks_irc,
            tls_doors,
            signals: None,
            waker,
            stop_requested: Arc::new(AtomicBool::new(false)),
            completions: vec![store_results, hash_results],
            store,
            hashing,
            reloader,
            tls,
            handshakes: Handshakes::new(
                config.max_handshakes,
                config.max_per_address,
                config.login_timeout,
            ),
            hub,
            byes: Byes::new(&mut table),
            table,
            limits: IoLimits {
                max_line: config.max_line,
                shutdown_grace: config.shutdown_grace,
                flood: config.flood_limits(),
            },
            trusted: config.trusted(),
            flood_resume: Deadlines::new(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            reading: Vec::new(),
            read_start_seed: 0x9e37_79b9_7f4a_7c15,
            read_cut: false,
            newcomers: Vec::new(),
            departures: VecDeque::new(),
            established_read_at: None,
            turn_stats: TurnStats::default(),
            lingering: Deadlines::new(),
            lingering_count: 0,
            next_serial: 1,
            accept_resume_at: None,
            bulk_pace: BulkPace::new(config.fanout_write_rate),
            stop_deadline: None,
        })
    }

    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the server listens for TLS on, if it does.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.listener_addr(Codec::Parley, TransportKind::Tls)
    }

    /// The address the server listens for IRC on, if it does.
    pub fn irc_addr(&self) -> Option<SocketAddr> {
        self.listener_addr(Codec::Irc, TransportKind::Plain)
    }

    /// The address the server listens for IRC over TLS on, if it does.
    pub fn irc_tls_addr(&self) -> Option<SocketAddr> {
        self.listener_addr(Codec::Irc, TransportKind::Tls)
    }

    fn listener_addr(&self, codec: Codec, transport: TransportKind) -> Option<SocketAddr> {
        let listener = self
            .listeners
            .iter()
            .find(|l| l.codec == codec && l.transport == transport)?;
        listener.socket.local_addr().ok()
    }

    /// Shuts down gracefully on SIGINT or SIGTERM.
    pub fn stop_on_signals(&mut self) -> io::Result<()> {
        self.signals = Some(ControlSignals::register(self.poll.registry(), SIGNALS)?);
        Ok(())
    }

    /// A handle that stops the server from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            waker: Arc::clone(&self.waker),
            requested: Arc::clone(&self.stop_requested),
        }
    }

    /// Runs until shutdown completes.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        loop {
            let timeout = self.poll_timeout(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            let now = Instant::now();
            self.table.set_sender(None, now);
            if self.speaks_irc {
                self.table.set_time(unix_millis());
            }
            for event in events.iter() {
                self.note_event(event, now);
            }
            if self.stop_deadline.is_none() {
                self.accept(now);
                self.resume_paced(now);
                self.read_listed(now);
                self.hub.on_timeout(now, &mut self.table);
                self.expire_handshakes(now);
                self.run_requests(now);
            }
            self.table.expire_stalls(now);
            self.drop_overflowed(now);
            self.flush_listed(now);
            self.expire_lingering(now);
            self.turn_stats.record(now.elapsed());
            if let Some(deadline) = self.stop_deadline {
                if self.table.slab.is_empty() || now >= deadline {
                    // The connections left are closed when the server is dropped.
                    for (_, conn) in self.table.slab.iter_mut() {
                        reset_if_unflushed(conn);
                    }
                    info!(
                        "shutdown complete ({} connections not fully flushed); {}",
                        self.table.slab.len(),
                        self.turn_stats
                    );
                    return Ok(());
                }
            }
        }
    }

    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let stopping = self.stop_deadline.is_some();
        let accept_now = self.listeners.iter().any(|l| self.may_accept(l));
        // Nothing is read once shutdown has begun, so the read list is no work then.
        let read_now = !stopping && (!self.table.read.is_empty() || !self.departures.is_empty());
        let drop_now = !self.table.overflowed.is_empty();
        // A bulk lane waiting for --fanout-write-rate is no work until then.
        let bulk_resume_at = self
            .bulk_pace
            .waiting_until(now)
            .filter(|_| self.table.flush.len(Lane::Bulk) > 0);
        let flush_now = self.table.flush.len(Lane::Prompt) > 0
            || (self.table.flush.len(Lane::Bulk) > 0 && bulk_resume_at.is_none());
        if accept_now || read_now || drop_now || flush_now {
            return Some(Duration::ZERO);
        }
        // While stopping, the core's timers, flood control's and the handshakes' are
        // not served: counting them would make the loop spin until the grace is over.
        let (hub, flood, handshakes) = if stopping {
            (None, None, None)
        } else {
            (
                self.hub.next_deadline(),
                self.flood_resume.next(),
                self.handshakes.next_deadline(),
            )
        };
        [
            hub,
            self.table.flow.next_deadline(),
            self.lingering.next(),
            flood,
            handshakes,
            self.stop_deadline,
            self.accept_resume_at,
            bulk_resume_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.saturating_duration_since(now))
    }

    fn note_event(&mut self, event: &Readiness, now: Instant) {
        match event.token() {
            SIGNALS => {
                let arrived = self.signals.as_mut().map(ControlSignals::received);
                for signal in arrived.unwrap_or_default() {
                    match signal {
                        Signal::Stop(name) => self.begin_stop(name, now),
                        Signal::Reload => self.reload(),
                    }
                }
            }
            WAKER => {
                if self.stop_requested.load(Ordering::SeqCst) {
                    self.begin_stop("stop requested", now);
                }
                self.collect_completions(now);
            }
            Token(token) if token > LISTENERS - self.listeners.len() => {
                self.listeners[LISTENERS - token].ready = true;
            }
            Token(key) => {
                // Stale events for a closed (or reused) key do no harm: the lists are
                // checked against the connection's state when they are worked.
                let Some(conn) = self.table.slab.get_mut(key) else {
                    return;
                };
                if event.is_writable() || event.is_write_closed() {
                    conn.writable = true;
                    if !conn.out.is_empty() || conn.transport.wants_write() {
                        // The rest of a backlog the socket could not take before.
                        self.table.list_for_flush(key, Lane::Bulk);
                    }
                }
                let stopping = self.stop_deadline.is_some();
                if !stopping && (event.is_readable() || event.is_read_closed() || event.is_error())
                {
                    self.table.list_for_read(key);
                }
            }
        }
    }

    fn accept(&mut self, now: Instant) {
        if let Some(resume_at) = self.accept_resume_at {
            if now < resume_at {
                return;
            }
            self.accept_resume_at = None;
            for listener in &mut self.listeners {
                listener.ready = true;
            }
        }
        let stop_at = self.slice_end(ACCEPT_TIME_PER_TURN, now);
        for index in 0..self.listeners.len() {
            self.accept_from(index, stop_at, now);
        }
    }

    /// True when `listener` may have connections and may hand them over now: a TLS
    /// listener waits while `--max-handshakes` are in progress.
    fn may_accept(&self, listener: &Listener) -> bool {
        listener.ready
            && self.accept_resume_at.is_none()
            && !(listener.transport == TransportKind::Tls && self.handshakes.is_full())
    }

    /// Accepts at most [`ACCEPTS_PER_TURN`] connections from one listener, and none
    /// after `stop_at` but the first.
    fn accept_from(&mut self, index: usize, stop_at: Option<Instant>, now: Instant) {
        for attempt in 0..ACCEPTS_PER_TURN {
            if !self.may_accept(&self.listeners[index]) {
                return;
            }
            if attempt > 0 && past(stop_at) {
                return;
            }
            let listener = &mut self.listeners[index];
            let (socket, peer) = match listener.socket.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    listener.ready = false;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    warn!("out of file descriptors ({e}); not accepting for {ACCEPT_BACKOFF:?}");
                    self.accept_resume_at = Some(now + ACCEPT_BACKOFF);
                    return;
                }
                Err(e) => {
                    debug!("accept failed: {e}");
                    continue;
                }
            };
            let (codec, kind) = (listener.codec, listener.transport);
            // Chat lines are small and latency matters more than packet count.
            if let Err(e) = socket.set_nodelay(true) {
                debug!("set_nodelay failed: {e}");
            }
            let entry = self.table.slab.vacant_entry();
            let key = entry.key();
            let serial = self.next_serial;
            // Every attempt takes a serial, so a deadline left by one that failed can
            // never match the next holder of the slot.
            self.next_serial += 1;
            // The generation only has to differ from the slot's previous holders'.
            let id = ClientId::new(key, serial as u32);
            let mut handshaking = false;
            let mut transport = match (kind, &self.tls) {
                (TransportKind::Tls, Some(tls)) => {
                    let trusted = self.trusted.contains(peer.ip());
                    if !self.handshakes.try_start(id, peer.ip(), trusted, now) {
                        debug!("TLS connection from {peer} closed: too many handshakes from its address");
                        continue;
                    }
                    match Transport::tls(socket, Arc::clone(tls)) {
                        Ok(transport) => {
                            handshaking = true;
                            transport
                        }
                        Err(e) => {
                            warn!("cannot start a TLS session for {peer}: {e}");
                            self.handshakes.finish(peer.ip());
                            continue;
                        }
                    }
                }
                _ => Transport::Plain(socket),
            };
            if let Err(e) =
                self.poll
                    .registry()
                    .register(transport.socket(), Token(key), Interest::READABLE)
            {
                warn!("cannot register a connection from {peer}: {e}");
                if handshaking {
                    self.handshakes.finish(peer.ip());
                }
                continue;
            }
            let mut conn = Conn::new(
                id,
                serial,
                peer.ip(),
                transport,
                codec,
                self.limits.max_line,
                now,
            );
            conn.paced = self.limits.flood.is_on() && !self.trusted.contains(peer.ip());
            conn.handshaking = handshaking;
            entry.insert(conn);
            debug!("#{serial} connected from {peer}");
            self.open_if_ready(key, now);
        }
    }

    /// Tells the core of a connection once its transport is ready for chat.
    fn open_if_ready(&mut self, key: usize, now: Instant) {
        let conn = &mut self.table.slab[key];
        if conn.lifecycle == Lifecycle::Opening && conn.transport.is_ready() {
            conn.lifecycle = Lifecycle::Open;
            if std::mem::take(&mut conn.handshaking) {
                self.handshakes.finish(conn.peer);
            }
            let link = match conn.transport.link() {
                Link::Clear if !self.tls_doors.contains(&conn.codec) => Link::ClearOnly,
                link => link,
            };
            let (id, serial, peer) = (conn.id, conn.serial, conn.peer);
            self.hub
                .connect(id, serial, peer, link, now, &mut self.table);
        }
    }

    /// Closes the connections whose TLS handshake took longer than `--login-timeout`.
    fn expire_handshakes(&mut self, now: Instant) {
        while let Some(id) = self.handshakes.pop_due(now) {
            if self.table.get_mut(id).is_some_and(|conn| conn.handshaking) {
                self.remove(id.slot(), "TLS handshake not finished in time");
            }
        }
        let slab = &self.table.slab;
        self.handshakes.sweep(|id| {
            slab.get(id.slot())
                .is_some_and(|conn| conn.id == id && conn.handshaking)
        });
    }

    /// Hands the core the work that has completed, with the time, and lets each client
    /// whose work is done be read again.
    fn collect_completions(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        for results in &self.completions {
            // Writes nobody waits for (history) need no answer.
            for (client, done) in results.ready() {
                if let Some(client) = client {
                    self.table.completed(client);
                    self.hub.complete(client, done, now, &mut self.table);
                }
            }
        }
        let Some(reloader) = &self.reloader else {
            return;
        };
        for reloaded in reloader.results.ready() {
            match reloaded.accounts {
                Some(Ok(file)) => {
                    warn_clear_text(&file);
                    let count = file.accounts.len();
                    self.hub.set_file_accounts(file_accounts(file), |_| 0);
                    info!("accounts file reloaded: {count} accounts");
                }
                Some(Err(e)) => error!("accounts file not reloaded, the accounts stay: {e}"),
                None => {}
            }
            match reloaded.tls {
                Some(Ok(tls)) => {
                    // Sessions already open keep the settings they started with.
                    self.tls = Some(tls);
                    info!("TLS certificate reloaded: new connections get it");
                }
                Some(Err(e)) => error!("TLS certificate not reloaded, the old one stays: {e}"),
                None => {}
            }
        }
    }

    /// Hands the requests the core made to the store and the hashing workers. One
    /// they cannot take (their queue is full) fails at once, as a failed write does:
    /// nothing waits forever.
    fn run_requests(&mut self, now: Instant) {
        if self.table.requests.is_empty() {
            return;
        }
        let mut requests = std::mem::take(&mut self.table.requests);
        let mut refused = Vec::new();
        if requests.iter().any(|(_, r)| matches!(r, Request::Hash(_))) {
            let mut for_store = Vec::with_capacity(requests.len());
            for (client, request) in requests {
                match (client, request) {
                    (Some(client), Request::Hash(job)) => {
                        if let Err(SubmitError::Full(job) | SubmitError::Stopped(job)) =
                            self.hashing.submit((client, job))
                        {
                            refused.push((Some(job.0), Request::Hash(job.1)));
                        }
                    }
                    other => for_store.push(other),
                }
            }
            requests = for_store;
        }
        if !requests.is_empty() {
            // One hand-over per turn: the store thread is woken once, not per request.
            if let Err(SubmitError::Full(requests) | SubmitError::Stopped(requests)) =
                self.store.submit(requests)
            {
                warn!(
                    "the store's queue is full; {} requests failed",
                    requests.len()
                );
                refused.extend(requests);
            }
        }
        for (client, request) in refused {
            if let Some(client) = client {
                self.table.completed(client);
                self.hub
                    .complete(client, request.failed(), now, &mut self.table);
            }
        }
    }

    /// SIGHUP: the users file and the TLS certificate are read again, off the loop;
    /// the accounts and the certificate change when they have been read and parsed.
    fn reload(&mut self) {
        match &self.reloader {
            Some(reloader) => {
                info!("SIGHUP: reading {} again", reloader.what);
                if reloader.worker.submit(()).is_err() {
                    warn!("SIGHUP: a reload is already under way");
                }
            }
            None => info!("SIGHUP: nothing to reload"),
        }
    }

    fn read_listed(&mut self, now: Instant) {
        std::mem::swap(&mut self.table.read, &mut self.reading);
        let count = self.reading.len();
        // Senders released together are listed in the same order every time; starting
        // at a different place each turn keeps any one of them from always being first.
        // The place is pseudo-random: a counter can fall into step with a pattern of
        // turns (every other turn empty, say) and pick the same sender every time. A
        // turn that ran out of budget left the connections it did not read at the front
        // of the list, in order: the next turn starts with them.
        let start = if count > 1 && !std::mem::take(&mut self.read_cut) {
            self.read_start_seed = xorshift(self.read_start_seed);
            (self.read_start_seed % count as u64) as usize
        } else {
            0
        };
        // With many connections to read, each gets an equal share of the turn.
        let full = if self.table.flow.held_within(PACED_READ_MEMORY, now) {
            PACED_READ_BUDGET
        } else {
            READ_BUDGET
        };
        let share = (TURN_READ_BUDGET / count.max(1)).clamp(MIN_READ_SHARE, full);
        let mut turn_budget = TURN_READ_BUDGET;
        let mut handshake_time = Duration::ZERO;
        let mut cut_at = None;
        for i in 0..count {
            if turn_budget == 0 {
                cut_at = Some(i);
                break;
            }
            let key = self.reading[(start + i) % count];
            let Some(conn) = self.table.slab.get_mut(key) else {
                continue;
            };
            if !conn.read_listed {
                continue;
            }
            if now.saturating_duration_since(conn.opened) < NEWCOMER_AGE {
                self.newcomers.push(key);
                continue;
            }
            self.established_read_at = Some(now);
            let mut budget = share;
            self.read_one(key, &mut budget, &mut handshake_time, now);
            turn_budget = turn_budget.saturating_sub(share - budget);
        }
        // Before any newcomer's name is read, so that a client who leaves and comes
        // back at once finds its name free (unless a backlog of departures holds its
        // own for later turns).
        self.leave_departed(now);
        // Newcomers' first lines (a name, joining lobby with its notices and names)
        // cost far more than their bytes: in a connect storm they get what is left of
        // the turn, for at most NEWCOMER_READ_TIME_PER_TURN.
        let stop_at = self.slice_end(NEWCOMER_READ_TIME_PER_TURN, now);
        let mut newcomers = std::mem::take(&mut self.newcomers);
        let mut newcomers_read = 0;
        let mut read_any = false;
        if cut_at.is_none() {
            for (n, &key) in newcomers.iter().enumerate() {
                // A newcomer whose socket failed left in the departures phase.
                let listed = self
                    .table
                    .slab
                    .get(key)
                    .is_some_and(|conn| conn.read_listed);
                if listed && (turn_budget == 0 || (read_any && past(stop_at))) {
                    break;
                }
                newcomers_read = n + 1;
                if !listed {
                    continue;
                }
                read_any = true;
                let mut budget = share;
                self.read_one(key, &mut budget, &mut handshake_time, now);
                turn_budget = turn_budget.saturating_sub(share - budget);
            }
        }
        // Those not read keep their place (they are still listed), ahead of those
        // listed during this turn.
        let not_read = cut_at.map_or(0..0, |cut| cut..count);
        let newcomers_left = newcomers.len() - newcomers_read;
        if !not_read.is_empty() || newcomers_left > 0 {
            self.read_cut = cut_at.is_some();
            let listed_meanwhile = std::mem::take(&mut self.table.read);
            let kept = not_read
                .map(|i| self.reading[(start + i) % count])
                .chain(newcomers[newcomers_read..].iter().copied());
            for key in kept {
                if self
                    .table
                    .slab
                    .get(key)
                    .is_some_and(|conn| conn.read_listed)
                {
                    self.table.read.push(key);
                }
            }
            self.table.read.extend(listed_meanwhile);
        }
        newcomers.clear();
        self.newcomers = newcomers;
        self.reading.clear();
    }

    /// Whether clients other than newcomers sent input within [`NEWCOMER_AGE`]: only
    /// then is newcomers' work cut into slices ([`ACCEPT_TIME_PER_TURN`],
    /// [`NEWCOMER_READ_TIME_PER_TURN`]). With nobody else to serve, slicing would only
    /// slow the storm down.
    fn others_active(&self, now: Instant) -> bool {
        self.established_read_at
            .is_some_and(|at| now.saturating_duration_since(at) < NEWCOMER_AGE)
    }

    /// When a slice of `limit` of this turn's newcomers' or departures' work ends, if
    /// it has an end ([`Server::others_active`]).
    fn slice_end(&self, limit: Duration, now: Instant) -> Option<Instant> {
        self.others_active(now).then(|| Instant::now() + limit)
    }

    /// Reads one listed connection with `budget`, unless its TLS handshake would take
    /// the turn past [`HANDSHAKE_TIME_PER_TURN`] (then it stays listed).
    fn read_one(
        &mut self,
        key: usize,
        budget: &mut usize,
        handshake_time: &mut Duration,
        now: Instant,
    ) {
        let conn = &mut self.table.slab[key];
        if conn.handshaking && *handshake_time >= HANDSHAKE_TIME_PER_TURN {
            // Still listed: read in a later turn.
            self.table.read.push(key);
            return;
        }
        conn.read_listed = false;
        let started = conn.handshaking.then(Instant::now);
        self.read_conn(key, budget, now);
        if let Some(started) = started {
            *handshake_time += started.elapsed();
        }
    }

    /// Reads and handles input of one connection, spending at most `budget` of work. A
    /// TLS session may have answered meanwhile (a handshake step, an alert): that goes
    /// out with this turn's flush.
    fn read_conn(&mut self, key: usize, budget: &mut usize, now: Instant) {
        self.read_input(key, budget, now);
        if let Some(conn) = self.table.slab.get(key) {
            // A socket that is full is watched for writability already, and its event
            // lists the connection.
            if conn.transport.wants_write() && conn.writable && conn.takes_output() {
                self.table.list_for_flush(key, Lane::Prompt);
            }
        }
    }

    fn read_input(&mut self, key: usize, budget: &mut usize, now: Instant) {
        let soft = self.table.flow.limits().soft;
        let conn = &mut self.table.slab[key];
        if !conn.may_read_within(soft) {
            return;
        }
        // Lines held back while the client was paused come first, and input that
        // follows from before (IRC's names after a join).
        let held = !conn.carry.is_empty() || conn.decoder.has_follow_up();
        if held && !self.feed(key, 0, budget, now) {
            return;
        }
        loop {
            let conn = &mut self.table.slab[key];
            if !conn.may_read_within(soft) {
                return;
            }
            if *budget == 0 {
                self.table.list_for_read(key);
                return;
            }
            let want = (*budget).min(self.scratch.len());
            let read = conn.transport.read(&mut self.scratch[..want]);
            *budget = budget.saturating_sub(conn.transport.take_overhead());
            if conn.lifecycle == Lifecycle::Opening {
                // The core hears of the client before its first line.
                self.open_if_ready(key, now);
            }
            match read {
                Ok(0) => return self.end_of_input(key),
                Ok(n) => {
                    *budget = budget.saturating_sub(n);
                    if !self.feed(key, n, budget, now) {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    debug!("#{} read failed: {e}", self.table.slab[key].serial);
                    return self.depart(key, Leaving::Lost);
                }
            }
        }
    }

    /// Frames the connection's carried input plus `fresh` bytes of the scratch buffer
    /// and hands each frame to the chat core, [`LINE_WORK`] of `budget` each. Returns
    /// false when the connection must not be read further now (closed by the core,
    /// dropped, paused, or out of budget: then it is listed for the next turn). The
    /// bytes of lines that carried a password are wiped once handled (the kernel's copy
    /// and a line that arrived in pieces are beyond reach).
    fn feed(&mut self, key: usize, fresh: usize, budget: &mut usize, now: Instant) -> bool {
        let conn = &mut self.table.slab[key];
        let id = conn.id;
        let mut carry = std::mem::take(&mut conn.carry);
        let from_scratch = carry.is_empty();
        if !from_scratch {
            // Exactly: a client trickling an unfinished line must not make its carry
            // grow by doubling.
            carry.reserve_exact(fresh);
            carry.extend_from_slice(&self.scratch[..fresh]);
        }
        let input: &mut [u8] = if from_scratch {
            &mut self.scratch[..fresh]
        } else {
            &mut carry
        };
        let total = input.len();
        let mut used = 0;
        let mut go_on = true;
        let mut carried_password = false;
        loop {
            if *budget == 0 {
                // The rest waits, undecoded, for the next turn.
                self.table.list_for_read(key);
                go_on = false;
                break;
            }
            let conn = &mut self.table.slab[key];
            // Flood control is asked before decoding and charged only for a unit of
            // input, so that a held line stays undecoded with the rest.
            let mut pace = conn.pace;
            if conn.paced {
                if let Err(at) = pace.take(self.limits.flood, now) {
                    conn.flood_held = true;
                    self.flood_resume.schedule(at, id);
                    go_on = false;
                    break;
                }
            }
            match conn.decoder.next(&mut input[used..]) {
                Step::NeedMore { used: skipped } => {
                    used += skipped;
                    break;
                }
                Step::Answer {
                    line,
                    used: n,
                    release,
                } => {
                    conn.pace = pace;
                    used += n;
                    *budget = budget.saturating_sub(LINE_WORK);
                    if conn.takes_output() {
                        conn.out.push_reply(&line);
                        if release && conn.handout.is_none() {
                            conn.out.release();
                        }
                        self.table.list_for_flush(key, Lane::Prompt);
                    }
                    // Answered by the codec, it is a line all the same.
                    self.hub.heard(id, now);
                }
                Step::Input(unit, n) => {
                    conn.pace = pace;
                    used += n;
                    *budget = budget.saturating_sub(LINE_WORK);
                    carried_password |=
                        matches!(unit, Input::Command(verb, _) if verb.carries_password());
                    self.table.set_sender(Some(id), now);
                    self.hub.receive(id, unit, now, &mut self.table);
                    self.table.set_sender(None, now);
                    let conn = &mut self.table.slab[key];
                    if conn.lifecycle != Lifecycle::Open {
                        // Whatever else it sent is moot now.
                        used = total;
                        go_on = false;
                        break;
                    }
                    if !conn.may_read_within(self.table.flow.limits().soft) {
                        go_on = false;
                        break;
                    }
                }
            }
        }
        let kept = if from_scratch {
            let kept = self.scratch[used..fresh].to_vec();
            if carried_password {
                self.scratch[..used].zeroize();
            }
            kept
        } else {
            if carried_password {
                carry[..used].zeroize();
            }
            carry.drain(..used);
            carry
        };
        let mut kept = kept;
        if kept.is_empty() {
            kept = Vec::new();
        } else if kept.capacity() > kept.len() + CARRY_SLACK {
            // What a burst left behind is held, not the room the burst needed.
            kept.shrink_to_fit();
        }
        self.table.slab[key].carry = kept;
        go_on
    }

    /// The peer closed its sending half: what it sent in full was handled; it leaves.
    fn end_of_input(&mut self, key: usize) {
        debug!("#{} closed its side", self.table.slab[key].serial);
        self.depart(key, Leaving::Ended);
    }

    /// A write to the client failed. A client that closed its socket right after
    /// sending may have left lines the loop has not handled yet (held back by flood
    /// control, say): they are still read and handled, in order, and the client
    /// leaves when its input ends. Nothing more is written to it. A client the core is
    /// done with, or whose input has ended already, goes at once.
    fn output_failed(&mut self, key: usize) {
        let conn = &mut self.table.slab[key];
        if conn.lifecycle != Lifecycle::Open || conn.leaving.is_some() {
            return self.depart(key, Leaving::Lost);
        }
        conn.lose_output();
        self.update_interest(key);
        // Flow control lets go of it: paused for its own output, it may be read again,
        // and the senders it held go.
        self.table.drained(key);
        if !self.table.slab[key].flood_held {
            self.table.list_for_read(key);
        }
    }

    /// The client goes `how`: it is read no more, and leaves the core in the
    /// departures phase ([`Server::leave_departed`]).
    fn depart(&mut self, key: usize, how: Leaving) {
        let conn = &mut self.table.slab[key];
        if how == Leaving::Lost && matches!(conn.lifecycle, Lifecycle::Closing { .. }) {
            // The core is done with it already (its departure was handled, or the
            // server is stopping) and only the socket is left.
            return self.remove(key, "connection lost");
        }
        conn.carry = Vec::new();
        // Nothing can be written to it: no flush will close it, so it goes as lost.
        let how = if conn.output_lost { Leaving::Lost } else { how };
        if conn.leaving.is_none() {
            self.departures.push_back(conn.id);
        }
        // A failed socket overrides an end of input: nothing more can be written.
        if conn.leaving != Some(Leaving::Lost) {
            conn.leaving = Some(how);
        }
    }

    /// Lets the clients whose input ended or whose socket failed leave the core,
    /// oldest first, and while others are active for at most
    /// [`DEPARTURE_TIME_PER_TURN`] (at least one).
    fn leave_departed(&mut self, now: Instant) {
        let stop_at = self.slice_end(DEPARTURE_TIME_PER_TURN, now);
        let mut done = 0;
        while let Some(&id) = self.departures.front() {
            if done > 0 && past(stop_at) {
                break;
            }
            self.departures.pop_front();
            let Some(conn) = self.table.get_mut(id) else {
                // Gone meanwhile: dropped for its output, or its socket failed after
                // the core was done with it.
                continue;
            };
            done += 1;
            let how = conn.leaving;
            let key = id.slot();
            self.leave_hub(key, Departure::Disconnected, now);
            if how == Some(Leaving::Lost) {
                self.remove(key, "connection lost");
            } else {
                // Replies still queued go out before the close (see the flush phase).
                self.table.list_for_flush(key, Lane::Prompt);
            }
        }
    }

    /// The one way a connection leaves the core when the loop notices first: the core
    /// forgets the client and tells its rooms `how` it went. Closing the connection is
    /// up to the caller.
    fn leave_hub(&mut self, key: usize, how: Departure, now: Instant) {
        let conn = &mut self.table.slab[key];
        let known = conn.in_hub();
        conn.lifecycle = conn.lifecycle.left_hub();
        if known {
            let id = conn.id;
            self.hub.disconnect(id, how, now, &mut self.table);
        }
    }

    /// Drops the clients whose output went over its limit (or that took none of it for
    /// the write timeout), oldest first and, while others are active, for at most
    /// [`DEPARTURE_TIME_PER_TURN`] (at least one): each drop is told to the client's
    /// rooms, and thousands of members of a big room that never read, dropped
    /// together, cost the turn that told them all up to 100 ms. Those waiting are
    /// marked dropped: they are neither read nor sent anything meanwhile, though they
    /// keep their names and rooms until their turn.
    fn drop_overflowed(&mut self, now: Instant) {
        // Once stopping, every drop is done at once (see begin_stop).
        let stop_at = if self.stop_deadline.is_some() {
            None
        } else {
            self.slice_end(DEPARTURE_TIME_PER_TURN, now)
        };
        let mut done = 0;
        // Telling rooms about one drop can overflow another client: it waits its turn.
        while let Some(&id) = self.table.overflowed.front() {
            if done > 0 && past(stop_at) {
                break;
            }
            self.table.overflowed.pop_front();
            let Some(conn) = self.table.get_mut(id) else {
                continue;
            };
            done += 1;
            info!(
                "#{} dropped: unread output over its limit, or none taken for the write timeout",
                conn.serial
            );
            let key = id.slot();
            self.leave_hub(key, Departure::Sendq, now);
            // Best effort: finish the half-written line, then say why, if it fits.
            let conn = &mut self.table.slab[key];
            let bye = &self.byes.sendq[conn.codec.index()];
            let rest = conn.out.discard();
            let rest = rest.as_ref().map_or(&[][..], |line| line.as_bytes());
            let written = conn
                .transport
                .write_vectored(&[IoSlice::new(rest), IoSlice::new(bye)]);
            // If even that did not fit, the socket is full of output the client has not
            // read: closed normally, it would keep that in kernel memory while the
            // kernel probes a peer that never opens its window. Thousands of clients
            // that do not read would hold a gigabyte that way after they were dropped.
            let fitted = written.is_ok_and(|n| n == rest.len() + bye.len());
            if !fitted || conn.transport.wants_write() {
                set_to_reset(conn);
            }
            self.remove(key, "sendq");
        }
    }

    /// Flushes up to [`FLUSHES_PER_TURN`] connections from each lane, the prompt lane
    /// first (see [`crate::flushq`]), and the bulk lane for at most
    /// [`BULK_FLUSH_TIME_PER_TURN`].
    fn flush_listed(&mut self, now: Instant) {
        self.flush_lane(Lane::Prompt, None, now);
        self.flush_lane(Lane::Bulk, Some(BULK_FLUSH_TIME_PER_TURN), now);
    }

    fn flush_lane(&mut self, lane: Lane, time_limit: Option<Duration>, now: Instant) {
        let stop_at = time_limit.map(|limit| Instant::now() + limit);
        let mut flushes = 0;
        // Keys listed during this phase (a connection past its write budget) wait for
        // the next turn.
        let listed = self.table.flush.len(lane);
        for _ in 0..listed {
            // While flow control holds senders back the pass is finished in one turn
            // (see FLUSHES_PER_TURN).
            let over = flushes >= FLUSHES_PER_TURN
                || (flushes > 0 && stop_at.is_some_and(|at| Instant::now() >= at));
            if over && !self.table.flow.pacing() {
                break;
            }
            if lane == Lane::Bulk && !self.may_write_bulk_front(now) {
                break;
            }
            let Some(key) = self.table.flush.pop(lane) else {
                break;
            };
            let Some(conn) = self.table.slab.get_mut(key) else {
                continue;
            };
            if !conn.flush_mark.take_turn(lane) {
                continue;
            }
            if conn.output_lost && !conn.in_hub() {
                // Its writes failed and the core is done with it (it quit, say).
                self.remove(key, "connection lost");
                continue;
            }
            if !conn.takes_output() {
                continue;
            }
            flushes += 1;
            match flush_conn(conn, now) {
                Flushed::Drained if !conn.in_hub() && conn.lifecycle != Lifecycle::Opening => {
                    self.remove(key, "closed");
                    continue;
                }
                Flushed::Drained => {}
                Flushed::Blocked => {
                    let id = conn.id;
                    self.table.flow.blocked(&mut self.table.slab, id, now);
                }
                Flushed::Budget => self.table.list_for_flush(key, Lane::Bulk),
                Flushed::Failed => {
                    self.output_failed(key);
                    continue;
                }
            }
            // The socket took some of the output: more of a reply may follow.
            self.table.hand_out(key, now);
            self.update_interest(key);
            let conn = &mut self.table.slab[key];
            if conn.lifecycle == (Lifecycle::Closing { lingering: false }) {
                if self.lingering_count >= MAX_LINGERING {
                    // Its slot is already someone else's: keep the descriptor budget.
                    self.remove(key, "too many connections closing at once");
                    continue;
                }
                conn.lifecycle = Lifecycle::Closing { lingering: true };
                self.lingering_count += 1;
                let at = now + self.limits.shutdown_grace;
                self.lingering.schedule(at, conn.id);
            }
            self.table.drained(key);
        }
    }

    /// Whether the bulk lane's next connection may be written to now (see
    /// [`BulkPace`]); a stale entry or a socket that is full (which will not be written
    /// to) goes at once.
    fn may_write_bulk_front(&mut self, now: Instant) -> bool {
        if !self.bulk_pace.is_on() {
            return true;
        }
        let waiting = self.table.flush.front(Lane::Bulk).and_then(|key| {
            let conn = self.table.slab.get(key)?;
            let written = conn.flush_mark.is_listed() && conn.writable && conn.takes_output();
            written.then(|| conn.out.bytes())
        });
        waiting.is_none_or(|bytes| self.bulk_pace.allows(bytes, now))
    }

    /// Watches the socket for writability from the moment a write blocks until there
    /// is nothing left to write: interest follows from the connection's state. (A
    /// flush that stops at its budget keeps the interest; dropping it there would cost
    /// two system calls per round for a slow reader with a backlog.)
    fn update_interest(&mut self, key: usize) {
        let conn = &mut self.table.slab[key];
        let wants_write = if conn.write_interest {
            conn.has_output()
        } else {
            !conn.writable && conn.has_output()
        };
        if wants_write == conn.write_interest {
            return;
        }
        conn.write_interest = wants_write;
        let interest = if wants_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if let Err(e) =
            self.poll
                .registry()
                .reregister(conn.transport.socket(), Token(key), interest)
        {
            debug!("#{} reregister failed: {e}", conn.serial);
        }
    }

    /// Connections whose flood-control wait is over are read again.
    fn resume_paced(&mut self, now: Instant) {
        while let Some(id) = self.flood_resume.pop_due(now) {
            if let Some(conn) = self.table.get_mut(id) {
                conn.flood_held = false;
                self.table.list_for_read(id.slot());
            }
        }
    }

    fn expire_lingering(&mut self, now: Instant) {
        while let Some(id) = self.lingering.pop_due(now) {
            if self.table.get_mut(id).is_some() {
                self.remove(id.slot(), "output not taken in time");
            }
        }
    }

    fn begin_stop(&mut self, why: &str, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        let grace = self.limits.shutdown_grace;
        info!(
            "{why}: shutting down {} connections (grace {grace:?})",
            self.table.slab.len()
        );
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener.socket);
        }
        self.stop_deadline = Some(now + grace);
        // Drops still waiting to be told go first, each with its own BYE (and reset).
        self.drop_overflowed(now);
        let keys: Vec<usize> = self.table.slab.iter().map(|(key, _)| key).collect();
        for key in keys {
            let conn = &mut self.table.slab[key];
            let lifecycle = conn.lifecycle;
            // The core stops with the loop: nobody is told of departures now.
            conn.lifecycle = lifecycle.left_hub();
            if conn.leaving == Some(Leaving::Lost) {
                // The departures phase does not run while stopping.
                self.remove(key, "connection lost");
                continue;
            }
            match lifecycle {
                Lifecycle::Dropped { .. } => self.remove(key, "sendq"),
                // A connection already closing has had its own BYE.
                Lifecycle::Closing { .. } => {}
                Lifecycle::Opening | Lifecycle::Open => {
                    let bye = &self.byes.shutdown[conn.codec.index()];
                    self.table.push_unlimited(key, bye);
                }
            }
        }
        self.table.read.clear();
    }

    fn remove(&mut self, key: usize, why: &str) {
        let mut conn = self.table.remove(key);
        if conn.lifecycle.lingering() {
            self.lingering_count -= 1;
        }
        debug_assert!(!conn.in_hub(), "the chat core must forget a client first");
        reset_if_unflushed(&mut conn);
        if conn.handshaking {
            self.handshakes.finish(conn.peer);
        } else {
            conn.transport.close();
        }
        let _ = self.poll.registry().deregister(conn.transport.socket());
        let unsent = conn.out.pending();
        if unsent > 0 {
            debug!("#{} closed ({why}), {unsent} bytes unsent", conn.serial);
        } else {
            debug!("#{} closed ({why})", conn.serial);
        }
    }
}

/// Gives the core its accounts: from the users file when there is one (the store
/// still counts the messages waiting for them), else from the store.
fn load_accounts(config: &Config, store: &Store, hub: &mut Hub) -> Result<(), StartError> {
    match &config.accounts_file {
        Some(path) => {
            let file = users_file::load(path).map_err(StartError::Accounts)?;
            warn_clear_text(&file);
            let waiting = store.waiting_counts().map_err(StartError::Store)?;
            let waiting = |name: &str| {
                let key = name.to_ascii_lowercase();
                waiting.get(&key).copied().unwrap_or(0)
            };
            hub.set_file_accounts(file_accounts(file), waiting);
            info!("{}: {} accounts", path.display(), hub.account_count());
        }
        None => {
            let accounts = store.load_accounts().map_err(StartError::Store)?;
            hub.restore_accounts(accounts);
            info!("{}: {} accounts", config.data, hub.account_count());
        }
    }
    Ok(())
}

/// The accounts of a users file, as the core takes them.
fn file_accounts(file: UsersFile) -> impl Iterator<Item = (String, Credential)> {
    file.accounts
        .into_iter()
        .map(|account| (account.name, account.credential))
}

/// Warns about the clear-text passwords of a users file.
fn warn_clear_text(file: &UsersFile) {
    if file.clear_text > 0 {
        warn!(
            "the accounts file holds {} clear-text passwords; replace each with the output of `parley-server hash-password`",
            file.clear_text
        );
    }
}

/// Sets a connection about to be closed to be reset if it still has output to write
/// and its socket is full (the last write would have blocked): the client does not
/// read, or not in time. Closed normally, the kernel would keep what the socket holds,
/// for minutes, for a peer that does not take it. The client still reads what reached
/// it, then the reset. A socket that is not full is closed normally, whatever is left
/// (what it holds is on its way to a client that reads), and so is one whose only
/// unwritten lines can never be sent (an IRC client's, held behind a welcome it did
/// not finish).
fn reset_if_unflushed(conn: &mut Conn) {
    let unwritten = conn.ready() > 0 || conn.transport.wants_write();
    if unwritten && !conn.writable {
        set_to_reset(conn);
    }
}

/// Makes the coming close of `conn` a reset; a failure (the socket is gone already)
/// only leaves a normal close.
fn set_to_reset(conn: &mut Conn) {
    if let Err(e) = conn.transport.reset_on_close() {
        debug!("#{} could not be set to reset: {e}", conn.serial);
    }
}

/// Whether the clock is past `end`, if there is one (see [`Server::slice_end`]).
fn past(end: Option<Instant>) -> bool {
    end.is_some_and(|at| Instant::now() >= at)
}

/// One step of Marsaglia's xorshift64: cheap, and with no period a loop could fall into
/// step with. `state` must not be zero.
fn xorshift(mut state: u64) -> u64 {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    state
}

/// Binds a listener for `codec` over `transport` at the address a flag asked for,
/// registers it with the next listener token, and returns its address.
fn add_listener(
    poll: &Poll,
    listeners: &mut Vec<Listener>,
    (flag, addr): (&'static str, SocketAddr),
    codec: Codec,
    transport: TransportKind,
    send_buffer: usize,
) -> Result<SocketAddr, StartError> {
    let failed = |source| StartError::Listen { flag, addr, source };
    let mut socket = listen(addr, send_buffer).map_err(failed)?;
    let token = Token(LISTENERS - listeners.len());
    poll.registry()
        .register(&mut socket, token, Interest::READABLE)
        .map_err(StartError::Poll)?;
    let local = socket.local_addr().map_err(failed)?;
    listeners.push(Listener {
        socket,
        codec,
        transport,
        ready: true,
    });
    Ok(local)
}

/// The wall-clock time in milliseconds since the Unix epoch.
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A non-blocking listening socket with [`LISTEN_BACKLOG`] whose accepted connections
/// get a kernel send buffer of `send_buffer` bytes (0: the kernel's own sizing).
fn listen(addr: SocketAddr, send_buffer: usize) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    if send_buffer > 0 {
        // Accepted sockets inherit the listener's size: one call here, none per accept.
        socket.set_send_buffer_size(send_buffer)?;
        // The kernel caps the size silently; Linux reports twice what it took, the
        // half being its own overhead.
        let taken = socket.send_buffer_size()? / 2;
        if taken < send_buffer {
            warn!("--send-buffer {send_buffer} was capped by the kernel at {taken} bytes (net.core.wmem_max)");
        }
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Writes queued output until it is gone, the socket is full, or the budget is spent.
fn flush_conn(conn: &mut Conn, now: Instant) -> Flushed {
    let mut written = 0;
    loop {
        if !conn.has_output() {
            return Flushed::Drained;
        }
        if !conn.writable {
            return Flushed::Blocked;
        }
        if written >= WRITE_BUDGET {
            return Flushed::Budget;
        }
        let wrote = if conn.transport.wants_write() {
            // The transport's own bytes first (a handshake's, or records the socket did
            // not take): they count as progress for the write timeout, and the queue's
            // next lines can only follow them.
            conn.transport.write_pending()
        } else {
            conn.out.write_to(&mut conn.transport)
        };
        match wrote {
            Ok(0) => return Flushed::Failed,
            Ok(n) => {
                written += n;
                conn.flow.wrote();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                conn.writable = false;
                conn.flow.would_block(now);
                return Flushed::Blocked;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                debug!("#{} write failed: {e}", conn.serial);
                return Flushed::Failed;
            }
        }
    }
}
