//! The non-terminal front end: standard input line by line, rendered output on
//! standard output, so the client can be scripted and tested.
//!
//! Own messages are printed just as in the terminal (`[room] me: text`), so a
//! transcript reads the same either way. Prompts are not printed.
//!
//! A script fails (exit status 1) when any of its lines was refused, once it has
//! run to its end: a refused line is shown as it happens, like any other reply, and
//! whoever runs the script learns from the status that something went wrong. A line
//! whose answer was lost with the connection counts as refused too: it may not have
//! arrived.
//!
//! A password the client asks for (`/login alice` without one) is the next input
//! line, taken as it is and never shown. A script logs in with `--name` and
//! `PARLEY_PASSWORD` or `--password-file`; when that login is refused the script
//! ends at once (status 1), as there is nobody to ask for another. When the
//! connection is lost, the script waits for the reconnection (one line per attempt
//! shows its progress) and goes on; `--no-reconnect` makes it end instead.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, RawFd};
use std::sync::Arc;

use crate::chat::{Frontend, Input, SecretInput, Start};
use crate::error::ClientError;
use crate::password::Secret;
use crate::render;
use crate::session::{Output, Reconnect, Session};
use crate::style::Painter;

/// Prints rendered blocks on standard output, one write per block.
pub struct LineOutput;

impl Output for LineOutput {
    fn show(&self, text: &str) {
        let mut out = io::stdout().lock();
        // Nobody reading our output is no reason to stop chatting; ignore errors.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// Reads standard input as lines.
struct LineFrontend {
    /// Standard input, buffered where the queue wait can see what is buffered
    /// (`io::stdin()` keeps its buffer to itself).
    input: BufReader<File>,
    /// Where own lines go (the same as server lines).
    output: LineOutput,
    /// For rendering local complaints.
    painter: Painter,
    /// Lines refused by the client itself (not valid UTF-8, no password given) or
    /// whose answer was lost with the connection.
    unsent: u64,
}

impl Frontend for LineFrontend {
    fn read_line(
        &mut self,
        _prompt: &str,
        _replaced: &dyn Fn(&str) -> bool,
    ) -> Result<Input, ClientError> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut buf)
                .map_err(ClientError::Stdin)?;
            if n == 0 {
                return Ok(Input::End);
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            match String::from_utf8(buf) {
                Ok(line) => return Ok(Input::Line(line)),
                Err(e) => {
                    // The server would refuse it (bad-text); say so without sending.
                    let view = render::View {
                        me: None,
                        painter: self.painter,
                        width: None,
                        clock: crate::clock::utc,
                        now: 0,
                    };
                    self.output.show(&render::render_error(
                        &view,
                        "bad-text",
                        "input line is not valid UTF-8; not sent",
                    ));
                    self.unsent += 1;
                    buf = e.into_bytes();
                }
            }
        }
    }

    fn read_secret(&mut self, _prompt: &str) -> Result<SecretInput, ClientError> {
        Ok(match self.read_line("", &|_| false)? {
            Input::Line(line) => SecretInput::Given(Secret::new(line)),
            Input::Interrupted => SecretInput::Cancelled,
            Input::End => SecretInput::End,
        })
    }

    fn note_unsent(&mut self) {
        self.unsent += 1;
    }

    fn input_fd(&self) -> RawFd {
        self.input.get_ref().as_raw_fd()
    }

    fn input_buffered(&self) -> bool {
        !self.input.buffer().is_empty()
    }

    fn read_waiting_line(&mut self) -> Result<Input, ClientError> {
        self.read_line("", &|_| false)
    }

    fn show(&self, text: &str) {
        self.output.show(text);
    }

    fn interactive(&self) -> bool {
        false
    }

    fn in_order(&self) -> bool {
        true
    }
}

/// Runs the client over standard input and output.
pub fn run(
    addr: &str,
    dialer: crate::transport::Dialer,
    start: Option<Start>,
    painter: Painter,
    reconnect: Reconnect,
) -> Result<(), ClientError> {
    let display = crate::session::Display {
        painter,
        width: || None,
        clock: crate::clock::local,
    };
    let stdin = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(ClientError::Stdin)?;
    let reconnect = Reconnect {
        ask_name: false,
        ..reconnect
    };
    let session = Session::connect(addr, dialer, Arc::new(LineOutput), display, reconnect)?;
    let mut fe = LineFrontend {
        input: BufReader::new(File::from(stdin)),
        output: LineOutput,
        painter,
        unsent: 0,
    };
    crate::chat::run(&session, &mut fe, start)?;
    match session.with_state(|s| s.refused_commands()) + fe.unsent {
        0 => Ok(()),
        refused => Err(ClientError::Refused(refused)),
    }
}
