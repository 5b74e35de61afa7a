//! The connection to the server.
//!
//! One reader thread takes server lines as they come, updates the [`ClientState`],
//! answers `PING`s and shows the rendered text through an [`Output`] at once, so
//! messages appear while the user types. The front end, on the main thread, sends
//! what the user typed and, where the next prompt depends on the server's answer,
//! waits for it by sending `/ping <token>` and waiting for the matching `PONG`
//! (replies to one client arrive in order, so everything before it has been shown).
//!
//! When the connection ends without our `/quit`, the reader thread gets the session
//! back by itself (the main thread may be blocked in the line editor, and what the
//! user is typing there must not be lost): it shows why, counts down to the next
//! attempt (see [`reconnect`] for the schedule), connects again, and lets the
//! [`ClientState`] drive the way back in (see [`crate::resume`]): the same name
//! (with the remembered password, which [`Credentials`] holds and only this module
//! writes), the same rooms, what was missed. Meanwhile [`Session::link`] tells the
//! front end that lines cannot be sent. A `/quit` (or Ctrl-C, Ctrl-D) during the
//! countdown ends it. The reader ends the process itself through [`error::fail`]
//! only when reconnecting is off (`--no-reconnect`), when the connection is lost
//! before we ever had a name (nothing to get back; a refused connection is reported
//! as before), when `--reconnect-max` attempts have failed, or in a script whose
//! name is refused on the new connection (a person is asked for another).
//!
//! The connection is plain TCP or TLS ([`crate::transport`]): the reader thread reads
//! its [`ReadHalf`], and [`Shared::send`] writes its [`WriteHalf`] one line at a time.
//! A reconnection makes the same kind of connection as the first, TLS handshake and
//! certificate checks included.
//!
//! While we wait in the server's queue the front end reads what the user types
//! without the line editor, and must notice admission even when nothing is typed:
//! it waits with `poll` for its input or a byte on a wake-up socket, which the
//! reader thread writes to whenever the phase changes.

use std::io::{self, BufRead, BufReader, ErrorKind, Read as _, Write as _};
use std::os::fd::{AsRawFd as _, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::account::{Credentials, Pending};
use crate::clock::Clock;
use crate::error::{self, ClientError};
use crate::protocol::ServerLine;
use crate::reconnect::{self, Backoff, Random, XorShift};
use crate::render::{self, View};
use crate::resume::{Event, Outgoing};
use crate::state::{ClientState, Ending, Link, NameReply, Phase};
use crate::style::Painter;
use crate::transport::{ConnectError, Dialer, ReadHalf, WriteHalf};

/// How long to wait for the server to answer a command before showing the prompt
/// anyway (the answer is still shown when it comes).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where rendered server lines go: stdout for scripts, above the input line in a
/// terminal.
pub trait Output: Send + Sync {
    /// Shows one rendered block (one or more lines, without a trailing newline).
    fn show(&self, text: &str);

    /// Whether [`Output::show_transient`] updates a line in place, so that a
    /// countdown can tick every second (a terminal) rather than print a line per
    /// attempt (a script's transcript).
    fn live(&self) -> bool {
        false
    }

    /// Shows one line that the next transient line replaces, if nothing was shown
    /// in between (a countdown).
    fn show_transient(&self, text: &str) {
        self.show(text);
    }
}

/// What to do when the connection is lost.
#[derive(Clone, Copy, Debug)]
pub struct Reconnect {
    /// Reconnect at all (`--no-reconnect` turns it off).
    pub enabled: bool,
    /// Give up after this many attempts in a row (`--reconnect-max`; none: never).
    pub max_attempts: Option<u32>,
    /// Whether a person can be asked for a new name when ours is refused on the new
    /// connection; a script ends instead.
    pub ask_name: bool,
}

/// Locks a mutex, carrying on with the data if another thread panicked while
/// holding it: the state stays usable, and the client should keep running.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the reader thread and the front end share.
struct Shared {
    /// The session state, guarded together with `changed`.
    state: Mutex<ClientState>,
    /// Signalled after every server line has been applied and shown.
    changed: Condvar,
    /// The sending half while connected; one line is written at a time.
    writer: Mutex<Option<WriteHalf>>,
    /// How to connect again (the same way: plain or TLS).
    dialer: Dialer,
    /// The account to log in to again, and the change waiting for an answer.
    credentials: Mutex<Credentials>,
    /// What to do when the connection is lost.
    reconnect: Reconnect,
    /// Where server lines are shown.
    output: Arc<dyn Output>,
    /// Colour on or off.
    painter: Painter,
    /// The current screen width, if lists should wrap.
    width: fn() -> Option<usize>,
    /// How post times are shown.
    clock: Clock,
    /// The server address as the user gave it, for messages.
    addr: String,
    /// Numbers our own `/ping` tokens.
    next_token: AtomicU64,
    /// Written to (one byte, never blocking) when the phase changes or the
    /// connection ends, to wake [`Session::wait_in_queue`].
    wake_tx: UnixStream,
    /// The end [`Session::wait_in_queue`] polls and drains.
    wake_rx: UnixStream,
}

/// Why [`Session::wait_in_queue`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    /// The input has something to read (a line, its end, or an error).
    Input,
    /// We are out of the queue: admitted.
    Admitted,
}

/// A connected session. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

/// How to display lines: colour, width and clock.
#[derive(Clone, Copy)]
pub struct Display {
    /// Colour on or off.
    pub painter: Painter,
    /// The current screen width, if lists should wrap.
    pub width: fn() -> Option<usize>,
    /// How post times are shown.
    pub clock: Clock,
}

impl Session {
    /// Connects as `dialer` says (to the first address that answers; over TLS, with
    /// the handshake done) and starts the reader thread. `addr` is the address as
    /// the user gave it, for messages.
    pub fn connect(
        addr: &str,
        dialer: Dialer,
        output: Arc<dyn Output>,
        display: Display,
        reconnect: Reconnect,
    ) -> Result<Session, ClientError> {
        let (writer, reader) = dialer.connect().map_err(|source| ClientError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
        let lost = |e| ClientError::Lost {
            addr: addr.to_owned(),
            source: Some(e),
        };
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(lost)?;
        wake_tx.set_nonblocking(true).map_err(lost)?;
        wake_rx.set_nonblocking(true).map_err(lost)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ClientState::new()),
            changed: Condvar::new(),
            writer: Mutex::new(Some(writer)),
            dialer,
            credentials: Mutex::new(Credentials::default()),
            reconnect,
            output,
            painter: display.painter,
            width: display.width,
            clock: display.clock,
            addr: addr.to_owned(),
            next_token: AtomicU64::new(1),
            wake_tx,
            wake_rx,
        });
        let for_reader = Arc::clone(&shared);
        thread::Builder::new()
            .name("server-reader".into())
            .spawn(move || run_reader(&for_reader, reader))
            .map_err(lost)?;
        Ok(Session { shared })
    }

    /// Sends one line (a `\n` is added). [`ClientError::Offline`] while there is no
    /// connection, or when writing fails (the connection is going).
    pub fn send(&self, line: &str) -> Result<(), ClientError> {
        self.shared.send(line)
    }

    /// Whether the session is whole (see [`Link`]).
    pub fn link(&self) -> Link {
        self.with_state(|s| s.link)
    }

    /// Waits until the session is whole again after a lost connection. Fails if the
    /// session ends meanwhile (the user quit).
    pub fn wait_online(&self) -> Result<(), ClientError> {
        self.wait_for(None, |s| (s.link == Link::Up).then_some(()))
            .ok_or_else(|| self.shared.lost())
    }

    /// Waits (at most as long as for any reply) until a resumption that got a new
    /// name has rejoined the rooms, so the next prompt shows the right room.
    pub fn wait_resumed(&self) {
        self.wait_for(Some(REPLY_TIMEOUT), |s| {
            matches!(s.link, Link::Up | Link::Down | Link::NeedName).then_some(())
        });
    }

    /// Runs `f` on the state (briefly; the reader thread waits meanwhile).
    pub fn with_state<T>(&self, f: impl FnOnce(&mut ClientState) -> T) -> T {
        f(&mut lock(&self.shared.state))
    }

    /// Renders client-side text with the same colour, width, clock and name as
    /// server lines.
    pub fn render(&self, f: impl FnOnce(&View<'_>) -> String) -> String {
        let state = lock(&self.shared.state);
        f(&self.shared.view(state.me.as_deref()))
    }

    /// Waits until `ready` returns something, the connection has ended, or
    /// `timeout` passes (`None`: no limit). Returns `None` in the last two cases.
    fn wait_for<T>(
        &self,
        timeout: Option<Duration>,
        mut ready: impl FnMut(&mut ClientState) -> Option<T>,
    ) -> Option<T> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(value) = ready(&mut state) {
                return Some(value);
            }
            if state.closed {
                return None;
            }
            state = match deadline {
                None => self
                    .shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.shared
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// Waits for the server's first word: returns whether it queued us (`QUEUED`)
    /// rather than admitting us (`HELLO`). The reader thread ends the process if
    /// the server turns us away instead.
    pub fn wait_heard(&self) -> Result<bool, ClientError> {
        self.wait_for(None, |s| match s.phase_shown {
            Phase::Connecting => None,
            Phase::Queued(_) => Some(true),
            Phase::Admitted | Phase::Named => Some(false),
        })
        .ok_or_else(|| self.shared.lost())
    }

    /// Waits until the server admits us (`HELLO`), however long the queue is. The
    /// reader thread shows the queue positions meanwhile, and ends the process if
    /// the server turns us away.
    pub fn wait_admitted(&self) -> Result<(), ClientError> {
        self.wait_for(None, |s| (!waiting(s.phase_shown)).then_some(()))
            .ok_or_else(|| self.shared.lost())
    }

    /// Our place in the queue, or `None` once we are out of it.
    pub fn queue_position(&self) -> Option<u64> {
        self.with_state(|s| match s.phase_shown {
            Phase::Queued(position) => Some(position),
            _ => None,
        })
    }

    /// While we wait in the queue, waits until `input` (a descriptor the front end
    /// reads lines from) has something to read or we are admitted, whichever comes
    /// first.
    pub fn wait_in_queue(&self, input: RawFd) -> Result<Waited, ClientError> {
        let wake = self.shared.wake_rx.as_raw_fd();
        loop {
            // Drain before looking at the state: a wake-up written after the look
            // stays in the socket and ends the poll below at once.
            let mut drained = [0u8; 64];
            while matches!((&self.shared.wake_rx).read(&mut drained), Ok(n) if n > 0) {}
            let (phase, closed) = self.with_state(|s| (s.phase_shown, s.closed));
            if closed {
                return Err(self.shared.lost());
            }
            if !waiting(phase) {
                return Ok(Waited::Admitted);
            }
            let mut fds = [
                libc::pollfd {
                    fd: input,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: wake,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: `fds` is a live array of two pollfd, as the count says.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if ready < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(ClientError::Stdin(err));
            }
            // Hang-up and errors count too: reading then reports them.
            if fds[0].revents != 0 {
                return Ok(Waited::Input);
            }
        }
    }

    /// Asks for `name`, which must be a valid name (so it needs no quoting), and
    /// waits for the server's verdict.
    pub fn name(&self, name: &str) -> Result<NameReply, ClientError> {
        self.claim(&format!("/name {name}"), Pending::guest())
    }

    /// Sends a line that claims a name (`/name`, `/login`, `/register <name> ...`)
    /// and waits for the server's verdict; `pending` is what success changes in the
    /// remembered account. [`ClientError::Unanswered`] if the connection is lost
    /// before the verdict.
    pub fn claim(&self, line: &str, pending: Pending) -> Result<NameReply, ClientError> {
        let connection = self.with_state(|s| {
            s.awaiting_name = true;
            s.name_reply = None;
            s.connection
        });
        lock(&self.shared.credentials).expect(pending);
        self.send(line)?;
        self.wait_for(None, |s| {
            if let Some(reply) = s.name_reply.take() {
                return Some(Ok(reply));
            }
            lost_since(s, connection).then_some(Err(ClientError::Unanswered))
        })
        .ok_or_else(|| self.shared.lost())?
    }

    /// Sends an account command and waits for the answer, like
    /// [`Session::send_and_wait`]; `pending` is what its success changes in the
    /// remembered account (the answer itself makes the change, whenever it comes).
    pub fn account(&self, line: &str, pending: Pending) -> Result<u64, ClientError> {
        lock(&self.shared.credentials).expect(pending);
        self.send_and_wait(line)
    }

    /// Waits until everything the server sent before now has been shown.
    pub fn sync(&self) -> Result<(), ClientError> {
        self.exchange(None).map(|_| ())
    }

    /// Sends `line`, then waits until the server has answered it (see the module
    /// docs). Returns how many `ERR` lines arrived in between: 0 means the command
    /// was accepted.
    pub fn send_and_wait(&self, line: &str) -> Result<u64, ClientError> {
        self.exchange(Some(line))
    }

    /// Sends `line` if any, then `/ping <token>`, and waits for the `PONG`.
    /// [`ClientError::Unanswered`] if the connection is lost before it.
    fn exchange(&self, line: Option<&str>) -> Result<u64, ClientError> {
        let token = format!(
            "client-{}",
            self.shared.next_token.fetch_add(1, Ordering::Relaxed)
        );
        let (errors_before, connection) = self.with_state(|s| {
            s.expect_pong(&token);
            (s.errors, s.connection)
        });
        if let Some(line) = line {
            self.send(line)?;
        }
        self.send(&format!("/ping {token}"))?;
        let errors = self.wait_for(Some(REPLY_TIMEOUT), |s| {
            if s.take_pong(&token) {
                return Some(Ok(s.errors - errors_before));
            }
            lost_since(s, connection).then_some(Err(ClientError::Unanswered))
        });
        match errors {
            Some(errors) => errors,
            // Slow server: go on; its answers are shown whenever they come.
            None if !self.with_state(|s| s.closed) => Ok(0),
            None => Err(self.shared.lost()),
        }
    }

    /// Sends a quit line (`/quit ...` or `%exit`) and waits until the server has
    /// said `BYE` or closed, so every reply before it has been shown. Without a
    /// connection (during a reconnection's countdown) it only stops the reconnecting.
    pub fn quit(&self, line: &str) -> Result<(), ClientError> {
        self.with_state(|s| s.quitting = true);
        self.shared.changed.notify_all();
        if self.send(line).is_err() {
            return Ok(());
        }
        self.wait_for(Some(REPLY_TIMEOUT), |s| s.ending.as_ref().map(|_| ()));
        Ok(())
    }
}

impl Shared {
    /// Writes one line to the server. A failed write shuts the socket down, so
    /// that the reader sees the end at once and starts reconnecting.
    fn send(&self, line: &str) -> Result<(), ClientError> {
        let mut writer = lock(&self.writer);
        let Some(stream) = writer.as_mut() else {
            return Err(ClientError::Offline);
        };
        // The line may hold a password: the copy is wiped too.
        let mut data = Zeroizing::new(Vec::with_capacity(line.len() + 1));
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        stream.write_all(&data).map_err(|_| {
            stream.shutdown();
            ClientError::Offline
        })
    }

    /// The rendering view for `me`.
    fn view<'a>(&self, me: Option<&'a str>) -> View<'a> {
        View {
            me,
            painter: self.painter,
            width: (self.width)(),
            clock: self.clock,
            now: crate::clock::now(),
        }
    }

    /// The error for a connection that ended under us.
    fn lost(&self) -> ClientError {
        ClientError::Lost {
            addr: self.addr.clone(),
            source: None,
        }
    }

    /// Marks the connection closed and wakes the front end.
    fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_all();
        self.wake();
    }

    /// Wakes [`Session::wait_in_queue`]. A full socket already holds a wake-up,
    /// so a failed write loses nothing.
    fn wake(&self) {
        let _ = (&self.wake_tx).write(&[1]);
    }
}

/// Whether connection number `connection` is gone: an answer still missing on it
/// will never come.
fn lost_since(state: &ClientState, connection: u64) -> bool {
    state.connection != connection || state.link == Link::Down
}

/// Whether `phase` is before admission.
fn waiting(phase: Phase) -> bool {
    matches!(phase, Phase::Connecting | Phase::Queued(_))
}

/// How one connection ended.
enum End {
    /// After our `/quit`: the session is over.
    Quit,
    /// The connection broke or was closed without `BYE`.
    Lost(Option<io::Error>),
    /// The server said `BYE` (rendered explanation).
    Bye(String),
}

/// The reader thread: reads each connection to its end and, unless the session is
/// over, gets the next one (see the module docs).
fn run_reader(shared: &Shared, stream: ReadHalf) {
    let mut backoff = Backoff::new();
    let mut random = XorShift::seeded();
    let mut stream = stream;
    loop {
        let end = read_connection(shared, stream, &mut backoff);
        let (quitting, resumable) = {
            let state = lock(&shared.state);
            (state.quitting, state.resumable())
        };
        let err = match end {
            End::Quit => None,
            _ if quitting => None,
            End::Bye(text) => Some(ClientError::Closed(text)),
            End::Lost(source) => Some(ClientError::Lost {
                addr: shared.addr.clone(),
                source,
            }),
        };
        let Some(err) = err else {
            shared.close();
            return;
        };
        if !shared.reconnect.enabled || !resumable {
            error::fail(&err);
        }
        shared.go_down(&err);
        match shared.reconnect_stream(&mut backoff, &mut random) {
            Some(next) => stream = next,
            None => {
                shared.close();
                return;
            }
        }
    }
}

/// Applies, answers and shows every server line of one connection until it ends.
fn read_connection(shared: &Shared, stream: ReadHalf, backoff: &mut Backoff) -> End {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return End::Lost(None),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return End::Lost(Some(e)),
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        // A server should only send UTF-8; if one does not, show what it sent
        // rather than nothing (sanitising happens when rendering).
        let text = String::from_utf8_lossy(&buf);
        let line = ServerLine::parse(&text);
        let (reaction, phase_changed, me) = {
            let mut state = lock(&shared.state);
            let me = state.me.clone();
            let before = state.phase;
            let reaction = state.apply(&line, shared.view(me.as_deref()));
            (reaction, state.phase != before, state.me.clone())
        };
        lock(&shared.credentials).on_line(&line);
        for out in &reaction.send {
            // A failed write means the connection is going; the read sees it next.
            let _ = match out {
                Outgoing::Line(text) => shared.send(text),
                Outgoing::Claim => {
                    let claim = lock(&shared.credentials).relogin_line(me.as_deref().unwrap_or(""));
                    shared.send(claim.expose())
                }
            };
        }
        if let Some(text) = &reaction.show {
            shared.output.show(text);
        }
        match &reaction.event {
            Some(Event::Resumed) => backoff.reset(),
            Some(Event::NameRefused { code, text }) if !shared.reconnect.ask_name => {
                error::fail(&ClientError::Relogin {
                    name: me.unwrap_or_default(),
                    code: code.clone(),
                    text: text.clone(),
                })
            }
            Some(Event::NameRefused { .. }) => {
                let notice = "your name was refused on the new connection: choose another \
                              (/name <name>, /login <name>, or Enter for the name prompt)";
                shared.output.show(&shared.render_notice(notice));
            }
            None => {}
        }
        match reaction.ending {
            Some(Ending::Closed(text)) => return End::Bye(text),
            Some(Ending::Quit) => return End::Quit,
            None => {
                // Only now, after showing the line: whoever wakes may print next.
                if phase_changed {
                    let mut state = lock(&shared.state);
                    state.phase_shown = state.phase;
                }
                shared.changed.notify_all();
                if phase_changed || reaction.event.is_some() {
                    shared.wake();
                }
            }
        }
    }
}

impl Shared {
    /// A client-side notice, rendered as the state would.
    fn render_notice(&self, text: &str) -> String {
        let me = lock(&self.state).me.clone();
        render::notice(&self.view(me.as_deref()), text)
    }

    /// The connection is gone and the session will be resumed: no more writing,
    /// the state plans the way back, the front end hears of it.
    fn go_down(&self, why: &ClientError) {
        *lock(&self.writer) = None;
        lock(&self.state).lost();
        lock(&self.credentials).connection_lost();
        self.changed.notify_all();
        self.wake();
        self.output.show(&self.render_notice(&why.to_string()));
    }

    /// Counts down and connects until a connection is made (returns its reading
    /// half, the writing half installed), the user quits (`None`), or
    /// `--reconnect-max` attempts have failed (the process ends).
    fn reconnect_stream(&self, backoff: &mut Backoff, random: &mut dyn Random) -> Option<ReadHalf> {
        let mut last_error: Option<ConnectError> = None;
        loop {
            if let Some(max) = self.reconnect.max_attempts {
                if backoff.attempts() >= max {
                    error::fail(&ClientError::GaveUp {
                        addr: self.addr.clone(),
                        attempts: backoff.attempts(),
                        last: last_error,
                    });
                }
            }
            let delay = backoff.next_delay(random);
            let last = last_error.as_ref().map(ToString::to_string);
            if !self.count_down(delay, backoff.attempts(), last.as_deref()) {
                return None;
            }
            match self.dialer.connect() {
                Ok((writer, reader)) => {
                    let mut state = lock(&self.state);
                    if state.quitting {
                        return None;
                    }
                    state.connected();
                    *lock(&self.writer) = Some(writer);
                    return Some(reader);
                }
                Err(e) => last_error = Some(e),
            }
        }
    }

    /// Shows the countdown to attempt number `attempt` for `delay`: ticking every
    /// second where the output can update a line in place, one line otherwise.
    /// Returns `false` if the user quit meanwhile.
    fn count_down(&self, delay: Duration, attempt: u32, last_error: Option<&str>) -> bool {
        let deadline = Instant::now() + delay;
        let live = self.output.live();
        if !live {
            let text =
                reconnect::countdown_text(reconnect::seconds_left(delay), attempt, last_error);
            self.output.show(&self.render_notice(&text));
        }
        let mut state = lock(&self.state);
        loop {
            if state.quitting {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let seconds = reconnect::seconds_left(left);
            if live {
                drop(state);
                let text = reconnect::countdown_text(seconds, attempt, last_error);
                self.output.show_transient(&self.render_notice(&text));
                state = lock(&self.state);
            }
            if left.is_zero() {
                return true;
            }
            // Until the shown number changes (or the end), unless woken by a quit.
            let tick = left.saturating_sub(Duration::from_secs(seconds.saturating_sub(1)));
            state = self
                .changed
                .wait_timeout(state, tick)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
