//! The terminal front end: rustyline for editing, history and completion, with
//! server lines printed above the input line so typing is never garbled.
//!
//! While rustyline edits a line, server lines go through its external printer,
//! which clears the input line, prints, and redraws the prompt with the half-typed
//! text intact. Between edits (after Enter, while the client waits for the server)
//! they are written directly. [`Screen`] keeps track of which applies and makes sure
//! nothing is printed between rustyline's return and the moment the client replaces
//! the typed line with its own rendering (`[room] me: text`), because that
//! replacement moves the cursor up over exactly the rows the input occupied.
//!
//! Passwords are read without the line editor, with echo off ([`tty::EchoOff`]);
//! meanwhile server lines are printed above the password prompt, which is drawn
//! again after them. An account command typed with its password inline is shown,
//! once entered, and kept in the history without it (see [`crate::account`]).
//! A reconnection's countdown is a transient line: each tick replaces the last one
//! when nothing was printed in between.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};

use crate::account;
use crate::chat::{Frontend, Input, SecretInput, Start};
use crate::error::ClientError;
use crate::input;
use crate::password::{HiddenLine, Key};
use crate::session::{lock, Display, Output, Reconnect, Session};
use crate::style::{rows_used, Painter, Style};
use crate::transport::Dialer;
use crate::tty;

/// How long to wait, after an edit ends, for a print that was under way.
const PRINT_SETTLE: Duration = Duration::from_millis(200);

/// Who may write to the terminal right now.
#[derive(Debug, Default)]
struct ScreenState {
    /// rustyline is (about to be) editing: print through its external printer.
    editing: bool,
    /// Prints handed to the external printer and not finished yet.
    printing: usize,
    /// A print finished while the terminal was not in raw mode, so it may have
    /// been written directly under the typed line: replacing that line is unsafe.
    maybe_direct: bool,
    /// A password is being typed after this prompt: lines printed meanwhile go
    /// above it, and it is drawn again.
    secret_prompt: Option<String>,
    /// The last line printed is a transient one, directly above the cursor's row.
    transient: bool,
}

/// Moves to the start of the row above and clears it: where a transient line was.
const OVER_TRANSIENT: &str = "\x1b[1A\r\x1b[2K";

/// The terminal output shared by the reader thread and the line editor.
pub struct Screen {
    /// Who may write; also serialises direct writes.
    state: Mutex<ScreenState>,
    /// Signalled when a print through the external printer finishes.
    printed: Condvar,
    /// rustyline's printer for lines that arrive while the user types.
    printer: Mutex<Box<dyn ExternalPrinter + Send>>,
}

impl Screen {
    /// Writes `text` and a newline straight to the terminal (over the last line if
    /// both are `transient`), above the password prompt if one is shown.
    fn write_direct(state: &mut ScreenState, text: &str, transient: bool) {
        let mut out = io::stdout().lock();
        if state.secret_prompt.is_some() {
            let _ = write!(out, "\r\x1b[K");
        }
        if transient && state.transient {
            let _ = write!(out, "{OVER_TRANSIENT}");
        }
        let _ = writeln!(out, "{text}");
        if let Some(prompt) = &state.secret_prompt {
            let _ = write!(out, "{prompt}");
        }
        let _ = out.flush();
        state.transient = transient;
    }

    /// Marks the start of an edit: from now on, prints go through rustyline.
    fn begin_edit(&self) {
        let mut state = lock(&self.state);
        state.editing = true;
        state.maybe_direct = false;
    }

    /// Shows `prompt` for a password, and keeps it below what is printed until
    /// [`Screen::end_secret`].
    fn begin_secret(&self, prompt: &str) {
        let mut state = lock(&self.state);
        let mut out = io::stdout().lock();
        let _ = write!(out, "{prompt}");
        let _ = out.flush();
        state.secret_prompt = Some(prompt.to_owned());
        state.transient = false;
    }

    /// Ends the password prompt's line.
    fn end_secret(&self) {
        let mut state = lock(&self.state);
        state.secret_prompt = None;
        let mut out = io::stdout().lock();
        let _ = writeln!(out);
        let _ = out.flush();
    }

    /// Marks the end of an edit. Returns the lock (hold it while touching the
    /// screen) and whether the rows of the finished input line are still the last
    /// rows written, so that they can be replaced.
    fn end_edit(&self) -> (MutexGuard<'_, ScreenState>, bool) {
        let mut state = lock(&self.state);
        state.editing = false;
        // The entered line now stands between the last print and the cursor.
        state.transient = false;
        let mut untouched = state.printing == 0;
        let deadline = Instant::now() + PRINT_SETTLE;
        while state.printing > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Stuck behind rustyline's queue: it is printed during the next
                // edit, above the prompt, which is fine.
                break;
            }
            state = self
                .printed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if state.maybe_direct {
            untouched = false;
        }
        (state, untouched)
    }

    /// Shows client-side text between edits.
    fn show_own(&self, text: &str) {
        let mut state = lock(&self.state);
        Self::write_direct(&mut state, text, false);
    }

    /// Shows a line from another thread, transient or not.
    fn print(&self, text: &str, transient: bool) {
        let mut state = lock(&self.state);
        if !state.editing {
            Self::write_direct(&mut state, text, transient);
            return;
        }
        state.printing += 1;
        // rustyline clears the prompt's rows before printing, so the row above
        // the cursor is then the last line printed.
        let over = if transient && state.transient {
            OVER_TRANSIENT
        } else {
            ""
        };
        state.transient = transient;
        drop(state);
        // The printer may block until rustyline takes the line: never hold our
        // lock meanwhile, or the line editor could not finish its edit.
        let printed = lock(&self.printer).print(format!("{over}{text}\n"));
        let mut state = lock(&self.state);
        state.printing -= 1;
        if tty::editor_idle() {
            state.maybe_direct = true;
        }
        if printed.is_err() {
            // No way through rustyline: better a slightly garbled line than a
            // lost message.
            Self::write_direct(&mut state, text, false);
        }
        self.printed.notify_all();
    }
}

impl Output for Screen {
    fn show(&self, text: &str) {
        self.print(text, false);
    }

    fn live(&self) -> bool {
        true
    }

    fn show_transient(&self, text: &str) {
        self.print(text, true);
    }
}

/// rustyline helper: completion of commands, user and room names, and a coloured
/// prompt.
struct ClientHelper {
    /// Where the known names come from.
    session: Session,
    /// Colour on or off.
    painter: Painter,
}

impl Completer for ClientHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self
            .session
            .with_state(|s| completions(&line[..pos], &s.known_users, &s.known_rooms)))
    }
}

/// Tab completion of the word that ends `before` (the line up to the cursor):
/// where that word starts, and its completions. A command word at the start of
/// the line completes to a command; any other word to the user and room names seen
/// so far that suit the command (`known_*` map lowercase names to their spelling).
/// Command and user names are followed by a space, since more always follows them
/// (arguments, a message); room names are mostly the last word (`/join rust`).
fn completions(
    before: &str,
    known_users: &BTreeMap<String, String>,
    known_rooms: &BTreeMap<String, String>,
) -> (usize, Vec<String>) {
    let start = before.rfind(' ').map_or(0, |i| i + 1);
    let word = before[start..].to_ascii_lowercase();
    if start == 0 && word.starts_with('/') {
        let found = input::command_words()
            .into_iter()
            .filter(|c| c.starts_with(&word))
            .map(|c| format!("{c} "))
            .collect();
        return (start, found);
    }
    if word.is_empty() {
        return (start, Vec::new());
    }
    let kinds = input::name_kinds(before.split(' ').next().unwrap_or(""));
    let mut found: Vec<String> = Vec::new();
    let mut add = |names: &BTreeMap<String, String>, suffix: &str| {
        for (lower, name) in names.range(word.clone()..) {
            if !lower.starts_with(&word) {
                break;
            }
            // A name that is both a user's and a room's is offered once.
            if !found
                .iter()
                .any(|f| f.trim_end().eq_ignore_ascii_case(name))
            {
                found.push(format!("{name}{suffix}"));
            }
        }
    };
    if kinds.users {
        add(known_users, " ");
    }
    if kinds.rooms {
        add(known_rooms, "");
    }
    (start, found)
}

impl Hinter for ClientHelper {
    type Hint = String;
}

impl Validator for ClientHelper {}

impl Highlighter for ClientHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        // Same text, only coloured: rustyline requires the same display width.
        match prompt.strip_suffix("> ") {
            Some(room) if self.painter.colour => Cow::Owned(format!(
                "{}{}",
                self.painter.paint(Style::Bold, room),
                self.painter.paint(Style::Dim, "> ")
            )),
            _ => Cow::Borrowed(prompt),
        }
    }
}

impl Helper for ClientHelper {}

/// The interactive front end.
struct TerminalFrontend {
    /// The line editor.
    editor: Editor<ClientHelper, DefaultHistory>,
    /// Shared with the reader thread.
    screen: Arc<Screen>,
    /// Keys are held between edits from the first edit on (before it, while
    /// waiting in the queue, Ctrl-C must still work); dropped at the end.
    held: Option<tty::HeldKeys>,
}

impl Frontend for TerminalFrontend {
    fn read_line(
        &mut self,
        prompt: &str,
        replaced: &dyn Fn(&str) -> bool,
    ) -> Result<Input, ClientError> {
        if self.held.is_none() {
            self.held = tty::HeldKeys::new();
        }
        self.screen.begin_edit();
        let result = self.editor.readline(prompt);
        let (guard, untouched) = self.screen.end_edit();
        let line = match result {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => return Ok(Input::Interrupted),
            Err(ReadlineError::Eof) => return Ok(Input::End),
            Err(e) => return Err(ClientError::Terminal(e)),
        };
        // An account command keeps no password on the screen or in the history.
        let redacted = account::redacted(&line);
        let hide = redacted.as_ref().filter(|r| **r != line);
        if untouched && (replaced(&line) || hide.is_some()) {
            // rustyline left the prompt and the typed text on screen, with the
            // cursor on the row below; the client shows its own rendering instead.
            let columns = self.editor.dimensions().map(|(c, _)| usize::from(c));
            if let Some(rows) = columns.and_then(|c| rows_used(&format!("{prompt}{line}"), c)) {
                let mut out = io::stdout().lock();
                let _ = write!(out, "\x1b[{rows}A\r\x1b[J");
                if let Some(shown) = hide {
                    let _ = writeln!(out, "{prompt}{shown}");
                }
                let _ = out.flush();
            }
        }
        drop(guard);
        self.remember(redacted.as_deref().unwrap_or(&line));
        Ok(Input::Line(line))
    }

    fn read_secret(&mut self, prompt: &str) -> Result<SecretInput, ClientError> {
        let echo_off = tty::EchoOff::new();
        self.screen.begin_secret(prompt);
        let mut typed = HiddenLine::new();
        let key = loop {
            match tty::read_byte() {
                Ok(Some(byte)) => match typed.feed(byte) {
                    Key::More => {}
                    key => break Ok(key),
                },
                Ok(None) => break Ok(Key::End),
                Err(e) => break Err(e),
            }
        };
        self.screen.end_secret();
        drop(echo_off);
        Ok(match key.map_err(ClientError::Stdin)? {
            Key::Done => match typed.finish() {
                Some(secret) => SecretInput::Given(secret),
                None => SecretInput::NotText,
            },
            Key::Cancel | Key::More => SecretInput::Cancelled,
            Key::End => SecretInput::End,
        })
    }

    fn input_fd(&self) -> RawFd {
        libc::STDIN_FILENO
    }

    fn input_buffered(&self) -> bool {
        // `read_waiting_line` reads the descriptor itself and keeps nothing.
        false
    }

    fn read_waiting_line(&mut self) -> Result<Input, ClientError> {
        let Some(mut bytes) = tty::read_cooked_line().map_err(ClientError::Stdin)? else {
            return Ok(Input::End);
        };
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let line = String::from_utf8_lossy(&bytes).into_owned();
        zeroize::Zeroize::zeroize(&mut bytes);
        // So that a line kept for later can be recalled and changed, too.
        self.remember(account::redacted(&line).as_deref().unwrap_or(&line));
        Ok(Input::Line(line))
    }

    fn show(&self, text: &str) {
        self.screen.show_own(text);
    }

    fn interactive(&self) -> bool {
        true
    }

    fn in_order(&self) -> bool {
        false
    }
}

impl TerminalFrontend {
    /// Adds a line to the history (already without passwords).
    fn remember(&mut self, entry: &str) {
        if !entry.trim().is_empty() {
            // History is a convenience; failing to record a line is no error.
            let _ = self.editor.add_history_entry(entry);
        }
    }
}

/// Runs the client in the terminal.
pub fn run(
    addr: &str,
    dialer: Dialer,
    start: Option<Start>,
    painter: Painter,
    reconnect: Reconnect,
) -> Result<(), ClientError> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ClientHelper, DefaultHistory> =
        Editor::with_config(config).map_err(ClientError::Terminal)?;
    let printer = editor
        .create_external_printer()
        .map_err(ClientError::Terminal)?;
    let screen = Arc::new(Screen {
        state: Mutex::new(ScreenState::default()),
        printed: Condvar::new(),
        printer: Mutex::new(Box::new(printer)),
    });
    tty::save_original();
    let display = Display {
        painter,
        width: tty::columns,
        clock: crate::clock::local,
    };
    let output: Arc<dyn Output> = screen.clone();
    let session = Session::connect(
        addr,
        dialer,
        output,
        display,
        Reconnect {
            ask_name: true,
            ..reconnect
        },
    )?;
    editor.set_helper(Some(ClientHelper {
        session: session.clone(),
        painter,
    }));
    let mut fe = TerminalFrontend {
        editor,
        screen,
        held: None,
    };
    crate::chat::run(&session, &mut fe, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeMap<String, String> {
        list.iter()
            .map(|n| (n.to_ascii_lowercase(), (*n).to_owned()))
            .collect()
    }

    #[test]
    fn commands_and_user_names_complete_with_a_space() {
        let users = names(&["Bob", "bobby", "carol"]);
        let rooms = names(&["bob", "rust"]);
        let complete = |before: &str| completions(before, &users, &rooms);
        assert_eq!(complete("/jo"), (0, vec!["/join ".to_owned()]));
        assert_eq!(
            complete("/msg bo"),
            (5, vec!["Bob ".to_owned(), "bobby ".to_owned()])
        );
        assert_eq!(complete("/join ru"), (6, vec!["rust".to_owned()]));
        assert_eq!(complete("/say r"), (5, vec!["rust".to_owned()]));
        // In a message, users and rooms alike; `bob` the room is `Bob` the user.
        assert_eq!(
            complete("hi B"),
            (3, vec!["Bob ".to_owned(), "bobby ".to_owned()])
        );
        assert_eq!(complete("hi "), (3, Vec::new()));
        assert_eq!(complete("%groupjoin r"), (11, vec!["rust".to_owned()]));
    }
}
