//! The connection to the server.
//!
//! One reader thread takes server lines as they come, updates the [`ClientState`],
//! answers `PING`s and shows the rendered text through an [`Output`] at once, so
//! messages appear while the user types. The front end, on the main thread, sends
//! what the user typed and, where the next prompt depends on the server's answer,
//! waits for it by sending `/ping <token>` and waiting for the matching `PONG`
//! (replies to one client arrive in order, so everything before it has been shown).
//!
//! When the connection ends without our `/quit`, the reader thread ends the process
//! itself through [`error::fail`]: the main thread may be blocked in the line editor
//! and cannot be interrupted.
//!
//! While we wait in the server's queue the front end reads what the user types
//! without the line editor, and must notice admission even when nothing is typed:
//! it waits with `poll` for its input or a byte on a wake-up socket, which the
//! reader thread writes to whenever the phase changes.

use std::io::{self, BufRead, BufReader, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd as _, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{self, ClientError};
use crate::protocol::ServerLine;
use crate::render::View;
use crate::state::{ClientState, NameReply, Phase};
use crate::style::Painter;

/// How long to try each address when connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for the server to answer a command before showing the prompt
/// anyway (the answer is still shown when it comes).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where rendered server lines go: stdout for scripts, above the input line in a
/// terminal.
pub trait Output: Send + Sync {
    /// Shows one rendered block (one or more lines, without a trailing newline).
    fn show(&self, text: &str);
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
    /// The sending half; one line is written at a time.
    writer: Mutex<TcpStream>,
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
    /// Connects to the first of `addrs` that answers and starts the reader thread.
    /// `addr` is the address as the user gave it, for messages.
    pub fn connect(
        addr: &str,
        addrs: &[SocketAddr],
        output: Arc<dyn Output>,
        display: Display,
    ) -> Result<Session, ClientError> {
        let mut last_error = None;
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let Some(stream) = stream else {
            return Err(ClientError::Connect {
                addr: addr.to_owned(),
                source: last_error
                    .unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address")),
            });
        };
        let lost = |e| ClientError::Lost {
            addr: addr.to_owned(),
            source: Some(e),
        };
        // Chat lines are small and interactive: send them at once.
        stream.set_nodelay(true).map_err(lost)?;
        let reader = stream.try_clone().map_err(lost)?;
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(lost)?;
        wake_tx.set_nonblocking(true).map_err(lost)?;
        wake_rx.set_nonblocking(true).map_err(lost)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ClientState::new()),
            changed: Condvar::new(),
            writer: Mutex::new(stream),
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
            .spawn(move || read_loop(&for_reader, reader))
            .map_err(lost)?;
        Ok(Session { shared })
    }

    /// Sends one line (a `\n` is added).
    pub fn send(&self, line: &str) -> Result<(), ClientError> {
        self.shared.send(line)
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
        self.with_state(|s| {
            s.awaiting_name = true;
            s.name_reply = None;
        });
        self.send(&format!("/name {name}"))?;
        self.wait_for(None, |s| s.name_reply.take())
            .ok_or_else(|| self.shared.lost())
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
    fn exchange(&self, line: Option<&str>) -> Result<u64, ClientError> {
        let token = format!(
            "client-{}",
            self.shared.next_token.fetch_add(1, Ordering::Relaxed)
        );
        let errors_before = self.with_state(|s| {
            s.expect_pong(&token);
            s.errors
        });
        if let Some(line) = line {
            self.send(line)?;
        }
        self.send(&format!("/ping {token}"))?;
        let errors = self.wait_for(Some(REPLY_TIMEOUT), |s| {
            s.take_pong(&token).then_some(s.errors - errors_before)
        });
        match errors {
            Some(errors) => Ok(errors),
            // Slow server: go on; its answers are shown whenever they come.
            None if !self.with_state(|s| s.closed) => Ok(0),
            None => Err(self.shared.lost()),
        }
    }

    /// Sends a quit line (`/quit ...` or `%exit`) and waits until the server has
    /// said `BYE` or closed, so every reply before it has been shown.
    pub fn quit(&self, line: &str) -> Result<(), ClientError> {
        self.with_state(|s| s.quitting = true);
        self.send(line)?;
        self.wait_for(Some(REPLY_TIMEOUT), |s| s.ending.as_ref().map(|_| ()));
        Ok(())
    }
}

impl Shared {
    /// Writes one line to the server.
    fn send(&self, line: &str) -> Result<(), ClientError> {
        let mut writer = lock(&self.writer);
        let mut data = Vec::with_capacity(line.len() + 1);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        writer.write_all(&data).map_err(|e| ClientError::Lost {
            addr: self.addr.clone(),
            source: Some(e),
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

/// Whether `phase` is before admission.
fn waiting(phase: Phase) -> bool {
    matches!(phase, Phase::Connecting | Phase::Queued(_))
}

/// The reader thread: applies, answers and shows every server line until the
/// connection ends.
fn read_loop(shared: &Shared, stream: TcpStream) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                if lock(&shared.state).quitting {
                    break;
                }
                error::fail(&ClientError::Lost {
                    addr: shared.addr.clone(),
                    source: Some(e),
                });
            }
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
        let (reaction, phase_changed) = {
            let mut state = lock(&shared.state);
            let me = state.me.clone();
            let before = state.phase;
            let reaction = state.apply(&line, shared.view(me.as_deref()));
            (reaction, state.phase != before)
        };
        if let Some(reply) = &reaction.reply {
            // A failed write means the connection is going; the read sees it next.
            let _ = shared.send(reply);
        }
        if let Some(text) = &reaction.show {
            shared.output.show(text);
        }
        match reaction.ending {
            Some(crate::state::Ending::Closed(text)) => error::fail(&ClientError::Closed(text)),
            Some(crate::state::Ending::Quit) => {
                shared.close();
                return;
            }
            None => {
                // Only now, after showing the line: whoever wakes may print next.
                if phase_changed {
                    let mut state = lock(&shared.state);
                    state.phase_shown = state.phase;
                }
                shared.changed.notify_all();
                if phase_changed {
                    shared.wake();
                }
            }
        }
    }
    let quitting = lock(&shared.state).quitting;
    if !quitting {
        error::fail(&shared.lost());
    }
    shared.close();
}
