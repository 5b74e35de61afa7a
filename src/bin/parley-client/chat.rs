//! The conversation with the server, the same for both front ends: wait in the
//! queue, choose a name (asking again when it is refused), then chat until the
//! input ends or the user quits.
//!
//! Account commands typed without their passwords get them asked for here, through
//! the front end (echo off in a terminal, the next input line in a script); a new
//! password is asked twice in a terminal. Every typed line is wiped from memory once
//! handled, since it may hold a password.
//!
//! While the session is reconnecting ([`Link`]), a terminal does not send what is
//! typed (it says so; the line can be recalled with Up) and Ctrl-C leaves at once; a
//! script waits for the session to be back and goes on. When the name is refused on
//! the new connection, a terminal asks for another one.

use std::os::fd::RawFd;

use zeroize::Zeroizing;

use crate::account::{self, Ask, Pending, Typed};
use crate::error::ClientError;
use crate::input::{self, NameChoice, Plan};
use crate::password::Secret;
use crate::render;
use crate::session::{Session, Waited};
use crate::state::{ClientState, Link, NameReply};
use crate::style::Style;

/// One result of reading input.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// A line (without its newline).
    Line(String),
    /// Ctrl-C in the terminal.
    Interrupted,
    /// End of input (Ctrl-D, or the end of a script).
    End,
}

/// One result of reading a password.
#[derive(Debug)]
pub enum SecretInput {
    /// The password.
    Given(Secret),
    /// Ctrl-C: the command is dropped.
    Cancelled,
    /// End of input.
    End,
    /// What was typed is not text.
    NotText,
}

/// A name (and password) given on the command line.
#[derive(Debug)]
pub struct Start {
    /// `--name`.
    pub name: String,
    /// From `PARLEY_PASSWORD` or `--password-file`: log in to the account.
    pub password: Option<Secret>,
}

/// A way to read what the user types and show the client's own lines.
pub trait Frontend {
    /// Reads one line after showing `prompt` (terminal only). `replaced` tells
    /// whether the client will show its own rendering of a line (say, a message
    /// as `[room] me: text`), so a terminal can remove the typed line instead of
    /// showing it twice.
    fn read_line(
        &mut self,
        prompt: &str,
        replaced: &dyn Fn(&str) -> bool,
    ) -> Result<Input, ClientError>;

    /// Reads a password after showing `prompt`, without showing what is typed.
    fn read_secret(&mut self, prompt: &str) -> Result<SecretInput, ClientError>;

    /// Counts a line that was not sent, or whose answer was lost, as refused (for a
    /// script's exit status).
    fn note_unsent(&mut self) {}

    /// The descriptor typed lines come from, so that waiting in the queue can watch
    /// it and the server at once.
    fn input_fd(&self) -> RawFd;

    /// Whether input has been read from [`Frontend::input_fd`] but not taken yet,
    /// so that waiting for the descriptor would miss it.
    fn input_buffered(&self) -> bool;

    /// Reads one line while we wait in the queue, once [`Frontend::input_fd`] is
    /// ready or input is buffered. No line editor: an edit cannot be interrupted
    /// when the server admits us, and the name prompt must come then.
    fn read_waiting_line(&mut self) -> Result<Input, ClientError>;

    /// Shows client-side text (own messages, notices, help).
    fn show(&self, text: &str);

    /// Whether a person types at a terminal (the help then mentions the keys).
    fn interactive(&self) -> bool;

    /// Whether to handle each line only after the server answered the previous one,
    /// so the output is a transcript in input order (for scripts).
    fn in_order(&self) -> bool;
}

/// Runs the whole session. Returns when the user quits or the input ends; a lost
/// connection is resumed by the session (or ends the process from its reader
/// thread).
pub fn run<F: Frontend>(
    session: &Session,
    fe: &mut F,
    start: Option<Start>,
) -> Result<(), ClientError> {
    let Some(kept) = wait_for_admission(session, fe)? else {
        return Ok(());
    };
    if choose_name(session, fe, start)? {
        converse(session, fe, kept)?;
    }
    Ok(())
}

/// Waits until the server admits us. Returns the lines typed meanwhile that are
/// to be handled once we have a name, or `None` if the user left instead.
///
/// While we are queued, what the user types is read at once, so they hear that
/// they are still waiting instead of typing into silence. Such a line is never
/// taken as the name: it was typed before anybody asked for one, and is most likely
/// a message ("hello?"), which must not become someone's name. It is kept, as a
/// messenger keeps what is written offline, and handled after naming as if typed
/// then; so a script that has to queue still runs whole, given `--name`. Only
/// `/quit` (the server lets a queued client leave) and `/help` are handled at once,
/// and `/name` is dropped with a word on when names are chosen: sent after naming
/// it could only be refused. In a terminal, the end of input (Ctrl-D) leaves; a
/// script whose input ends runs its lines once admitted.
fn wait_for_admission<F: Frontend>(
    session: &Session,
    fe: &mut F,
) -> Result<Option<Vec<String>>, ClientError> {
    let mut kept = Vec::new();
    if !session.wait_heard()? {
        return Ok(Some(kept));
    }
    loop {
        if session.queue_position().is_none() {
            return Ok(Some(kept));
        }
        if !fe.input_buffered() && session.wait_in_queue(fe.input_fd())? == Waited::Admitted {
            return Ok(Some(kept));
        }
        let line = match fe.read_waiting_line()? {
            Input::Line(line) => line,
            Input::End | Input::Interrupted if fe.in_order() => {
                session.wait_admitted()?;
                return Ok(Some(kept));
            }
            Input::End | Input::Interrupted => {
                session.quit("/quit")?;
                return Ok(None);
            }
        };
        let notice = match input::plan(&line) {
            Plan::Ignore => continue,
            Plan::Quit => {
                session.quit(&line)?;
                return Ok(None);
            }
            Plan::Help => {
                fe.show(&help(session, fe.interactive()));
                continue;
            }
            Plan::Name => "not sent: you choose a name once you are in".to_owned(),
            _ => {
                kept.push(line);
                match session.queue_position() {
                    Some(n) => format!(
                        "still number {n} in the queue; this line will be sent once you are in and named"
                    ),
                    None => "this line will be sent once you are named".to_owned(),
                }
            }
        };
        fe.show(&session.render(|v| render::notice(v, &notice)));
    }
}

/// Gets a name accepted. Returns `false` if the user left instead. `start` comes
/// from the command line: with a password it is a login, whose refusal ends a
/// script (there is nobody to ask for another name).
fn choose_name<F: Frontend>(
    session: &Session,
    fe: &mut F,
    start: Option<Start>,
) -> Result<bool, ClientError> {
    if let Some(start) = start {
        let outcome = match start.password {
            Some(password) => {
                let line = account::login_line(&start.name, &password);
                let pending = Pending::new(account::Change::LoggedIn, Some(password));
                match session.claim(line.expose(), pending)? {
                    NameReply::Refused { code, text } if !fe.interactive() => {
                        // The refusal is on the screen before the exit says why.
                        session.sync()?;
                        return Err(ClientError::LoginRefused {
                            name: start.name,
                            code,
                            text,
                        });
                    }
                    reply => named(session, reply)?,
                }
            }
            None => name_step(session, fe, &start.name, true)?,
        };
        match outcome {
            Step::Named => return Ok(true),
            Step::Quit => return Ok(false),
            Step::Again => {}
        }
    }
    ask_name(session, fe, false)
}

/// Asks for a name until one is accepted. Returns `false` if the user left instead.
/// `renaming`: after ours was refused on a new connection; should the session get
/// back by itself meanwhile (lost again, and the old name free this time), the
/// question is over.
fn ask_name<F: Frontend>(
    session: &Session,
    fe: &mut F,
    renaming: bool,
) -> Result<bool, ClientError> {
    let rule = format!("choose a name: {}", input::name_rule());
    fe.show(&session.render(|v| render::notice(v, &rule)));
    let answered = || renaming && session.link() != Link::NeedName;
    loop {
        if answered() {
            return Ok(true);
        }
        let line = match fe.read_line("name: ", &|_| false)? {
            Input::Line(line) => Zeroizing::new(line),
            Input::End | Input::Interrupted => {
                session.quit("/quit")?;
                return Ok(false);
            }
        };
        if answered() {
            let text = "not sent: you are back under your name";
            fe.show(&session.render(|v| render::notice(v, text)));
            return Ok(true);
        }
        match name_step(session, fe, &line, false)? {
            Step::Named => return Ok(true),
            Step::Quit => return Ok(false),
            Step::Again => {}
        }
    }
}

/// How a line at the name prompt ended.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// We have a name.
    Named,
    /// Ask again.
    Again,
    /// The user left.
    Quit,
}

/// Handles one line given as a name: `--name` (`given`), or typed at the name
/// prompt (a name, `/name`, `/login`, `/register`, or another command).
fn name_step<F: Frontend>(
    session: &Session,
    fe: &mut F,
    line: &str,
    given: bool,
) -> Result<Step, ClientError> {
    if !given {
        if let Some(typed) = account::parse(line) {
            return account_claim(session, fe, &typed, line);
        }
    }
    let choice = if given {
        input::given_name(line)
    } else {
        input::name_choice(line)
    };
    let name = match choice {
        NameChoice::Name(name) => name,
        NameChoice::Blank => return Ok(Step::Again),
        NameChoice::Refused { code, text } => {
            // What the server would answer, without asking it; then ask (again).
            fe.show(&session.render(|v| render::render_error(v, code, &text)));
            return Ok(Step::Again);
        }
        NameChoice::Other(Plan::Quit) => {
            session.quit(line)?;
            return Ok(Step::Quit);
        }
        NameChoice::Other(Plan::Help) => {
            fe.show(&help(session, fe.interactive()));
            return Ok(Step::Again);
        }
        NameChoice::Other(_) => {
            // Some other command before naming: the server answers it.
            if fe.in_order() {
                session.send_and_wait(line)?;
            } else {
                session.send(line)?;
            }
            return Ok(Step::Again);
        }
    };
    let reply = session.name(&name)?;
    named(session, reply)
}

/// `/login` or `/register` at the name prompt: asks for what is missing and claims
/// the name with it.
fn account_claim<F: Frontend>(
    session: &Session,
    fe: &mut F,
    typed: &Typed,
    line: &str,
) -> Result<Step, ClientError> {
    let Some(prepared) = prepare(session, fe, typed, line, false)? else {
        return Ok(Step::Again);
    };
    match typed.kind {
        account::Kind::Login | account::Kind::Register => {
            let reply = session.claim(prepared.line.expose(), prepared.pending)?;
            named(session, reply)
        }
        // Not before naming: the server says so.
        account::Kind::Passwd | account::Kind::Unregister => {
            session.account(prepared.line.expose(), prepared.pending)?;
            Ok(Step::Again)
        }
    }
}

/// After the server's verdict on a name.
fn named(session: &Session, reply: NameReply) -> Result<Step, ClientError> {
    match reply {
        NameReply::Welcome => {
            // `JOIN lobby` (and stored messages, `REGISTERED`) follow `WELCOME`:
            // have them before the first prompt. Named, the session survives a
            // connection lost meanwhile: it is resumed.
            match session.sync() {
                Ok(()) | Err(ClientError::Unanswered | ClientError::Offline) => Ok(Step::Named),
                Err(e) => Err(e),
            }
        }
        // The server's ERR line has been shown; ask again.
        NameReply::Refused { .. } => Ok(Step::Again),
    }
}

/// Asks for the passwords `typed` lacks (see [`account::asks`]) and builds the line.
/// `None` when it is not to be sent (a usage error, cancelled, passwords that
/// differ); the reason has been shown.
fn prepare<F: Frontend>(
    session: &Session,
    fe: &mut F,
    typed: &Typed,
    line: &str,
    named: bool,
) -> Result<Option<account::Prepared>, ClientError> {
    let asks = match account::asks(typed, named) {
        Ok(asks) => asks,
        Err(usage) => {
            fe.show(&session.render(|v| render::render_error(v, "bad-args", usage)));
            fe.note_unsent();
            return Ok(None);
        }
    };
    let mut answers = Vec::new();
    for ask in asks {
        let prompt = match ask {
            Ask::Password => "password: ",
            Ask::Old => "current password: ",
            Ask::New => "new password: ",
        };
        let Some(first) = read_secret(session, fe, prompt)? else {
            return Ok(None);
        };
        if ask == Ask::New && fe.interactive() {
            let Some(again) = read_secret(session, fe, "new password again: ")? else {
                return Ok(None);
            };
            if again != first {
                let text = "the two passwords differ; nothing was sent";
                fe.show(&session.render(|v| render::notice(v, text)));
                return Ok(None);
            }
        }
        answers.push(first);
    }
    Ok(Some(account::prepare(typed, line, answers, named)))
}

/// Reads one password; `None` (said why) when none was given.
fn read_secret<F: Frontend>(
    session: &Session,
    fe: &mut F,
    prompt: &str,
) -> Result<Option<Secret>, ClientError> {
    let why = match fe.read_secret(prompt)? {
        SecretInput::Given(secret) => return Ok(Some(secret)),
        SecretInput::Cancelled => "cancelled; nothing was sent",
        SecretInput::End => "no password given; nothing was sent",
        SecretInput::NotText => "that password is not text; nothing was sent",
    };
    fe.show(&session.render(|v| render::notice(v, why)));
    fe.note_unsent();
    Ok(None)
}

/// The chat loop after naming; `kept` are the lines typed while queued, handled
/// first.
fn converse<F: Frontend>(
    session: &Session,
    fe: &mut F,
    kept: Vec<String>,
) -> Result<(), ClientError> {
    for line in kept {
        let line = Zeroizing::new(line);
        if handle(session, fe, &line)? == Flow::Done {
            return Ok(());
        }
    }
    let mut interrupted = false;
    loop {
        if session.link() == Link::NeedName {
            if !rename(session, fe, None)? {
                return Ok(());
            }
            continue;
        }
        let prompt = session.with_state(|s| match s.current_room() {
            Some(room) => format!("{room}> "),
            None => "(no room)> ".to_owned(),
        });
        // A line not sent while reconnecting stays on the screen, above the notice.
        let replaced = |line: &str| {
            session.with_state(|s| s.link == Link::Up && shows_own(s, &input::plan(line)))
        };
        let line = match fe.read_line(&prompt, &replaced)? {
            Input::Line(line) => Zeroizing::new(line),
            Input::End => return session.quit("/quit"),
            // While reconnecting, Ctrl-C is the way out of the countdown.
            Input::Interrupted if interrupted || session.link() != Link::Up => {
                return session.quit("/quit")
            }
            Input::Interrupted => {
                interrupted = true;
                fe.show(&session.render(|v| {
                    render::notice(v, "press Ctrl-C again, Ctrl-D or type /quit to leave")
                }));
                continue;
            }
        };
        interrupted = false;
        // A paste can bring several lines at once: each is its own line.
        for part in line.split('\n') {
            let part = part.strip_suffix('\r').unwrap_or(part);
            if handle(session, fe, part)? == Flow::Done {
                return Ok(());
            }
        }
    }
}

/// Gets a new name after ours was refused on a new connection, starting with
/// `line` if it was typed as one (`/name`, `/login`, `/register`). Returns `false`
/// if the user left instead.
fn rename<F: Frontend>(
    session: &Session,
    fe: &mut F,
    line: Option<&str>,
) -> Result<bool, ClientError> {
    let step = match line {
        Some(line) => name_step(session, fe, line, false),
        None => {
            ask_name(session, fe, true).map(|named| if named { Step::Named } else { Step::Quit })
        }
    };
    let step = match step {
        // Lost again on the way: the session starts over, and tells.
        Err(ClientError::Unanswered | ClientError::Offline) => Step::Again,
        other => other?,
    };
    match step {
        Step::Quit => Ok(false),
        Step::Named => {
            // The rooms are joined again after the new name: wait, so the next
            // prompt shows the right room.
            session.wait_resumed();
            Ok(true)
        }
        Step::Again => Ok(true),
    }
}

/// Whether a line typed at a chat prompt names us: what may answer a refused name.
fn is_naming(line: &str) -> bool {
    matches!(
        account::parse(line).map(|t| t.kind),
        Some(account::Kind::Login | account::Kind::Register)
    ) || input::plan(line) == Plan::Name
}

/// Whether to go on after a line.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    /// Read the next line.
    Continue,
    /// The user quit.
    Done,
}

/// Whether the client will show its own rendering of a line with this plan (and
/// so a terminal may remove the typed line). Blank lines show nothing at all.
fn shows_own(state: &ClientState, plan: &Plan) -> bool {
    match plan {
        Plan::Ignore | Plan::Private { .. } | Plan::Broadcast { .. } => true,
        Plan::RoomText { room: None, .. } => state.current_room().is_some(),
        Plan::RoomText {
            room: Some(room), ..
        } => state.joined(room).is_some(),
        Plan::Help | Plan::Quit | Plan::Name | Plan::Sync | Plan::Read { .. } | Plan::Send => false,
    }
}

/// Sends one typed line and does the client's part around it.
///
/// A front end that keeps a transcript in order ([`Frontend::in_order`]) waits for
/// the server's answer to every line before the next, so replies and our own lines
/// appear in the order of the input, and our own messages are shown only once
/// accepted. A terminal waits only where the next prompt depends on the answer, and
/// shows room messages at once: the client knows which rooms we are in, so they
/// are hardly ever refused.
fn handle<F: Frontend>(session: &Session, fe: &mut F, line: &str) -> Result<Flow, ClientError> {
    let plan = input::plan(line);
    if plan == Plan::Ignore {
        return Ok(Flow::Continue);
    }
    match session.link() {
        Link::Up => {}
        _ if plan == Plan::Quit => {
            session.quit(line)?;
            return Ok(Flow::Done);
        }
        Link::NeedName if is_naming(line) => {
            return rename(session, fe, Some(line)).map(|on| {
                if on {
                    Flow::Continue
                } else {
                    Flow::Done
                }
            });
        }
        Link::NeedName => {
            let text = "not sent: choose a new name first";
            fe.show(&session.render(|v| render::notice(v, text)));
            fe.note_unsent();
            return Ok(Flow::Continue);
        }
        Link::Down | Link::Resuming if fe.in_order() => session.wait_online()?,
        Link::Down | Link::Resuming => {
            let text = "not sent: reconnecting (Up brings the line back)";
            fe.show(&session.render(|v| render::notice(v, text)));
            return Ok(Flow::Continue);
        }
    }
    match handle_online(session, fe, line, &plan) {
        Err(ClientError::Offline) => {
            let text = "not sent: the connection was lost";
            fe.show(&session.render(|v| render::notice(v, text)));
            fe.note_unsent();
            Ok(Flow::Continue)
        }
        Err(ClientError::Unanswered) => {
            let text = "the connection was lost before the server answered: that line may not have arrived";
            fe.show(&session.render(|v| render::notice(v, text)));
            fe.note_unsent();
            Ok(Flow::Continue)
        }
        other => other,
    }
}

/// [`handle`] while connected.
fn handle_online<F: Frontend>(
    session: &Session,
    fe: &mut F,
    line: &str,
    plan: &Plan,
) -> Result<Flow, ClientError> {
    if let Some(typed) = account::parse(line) {
        if let Some(prepared) = prepare(session, fe, &typed, line, true)? {
            session.account(prepared.line.expose(), prepared.pending)?;
        }
        return Ok(Flow::Continue);
    }
    let in_order = fe.in_order();
    // Sends the line; returns whether it was accepted, as far as we waited to know.
    let send = |wait_anyway: bool| -> Result<bool, ClientError> {
        if in_order || wait_anyway {
            Ok(session.send_and_wait(line)? == 0)
        } else {
            session.send(line)?;
            Ok(true)
        }
    };
    match plan {
        Plan::Ignore => {}
        Plan::Help => fe.show(&help(session, fe.interactive())),
        Plan::Quit => {
            session.quit(line)?;
            return Ok(Flow::Done);
        }
        Plan::RoomText { room, text } => {
            // Where the message goes, spelled as the server spells the room; the
            // server does not echo it, so we show it ourselves.
            let target = session.with_state(|s| match room {
                None => s.current_room().map(str::to_owned),
                Some(room) => s.joined(room).map(str::to_owned),
            });
            if send(false)? {
                if let Some(room) = target {
                    let now = crate::clock::now();
                    session.with_state(|s| s.saw_own(&room, text, now));
                    fe.show(
                        &session.render(|v| {
                            render::room_message(v, &room, v.me.unwrap_or("you"), text)
                        }),
                    );
                }
            }
        }
        Plan::Private { to, text } => {
            // Shown only once accepted: a mistyped name gets no-such-user instead.
            // A message to ourselves comes back as PRIV, so it is not shown twice.
            let to_me = session.with_state(|s| {
                s.me.as_deref()
                    .is_some_and(|me| me.eq_ignore_ascii_case(to))
            });
            if send(true)? && !to_me {
                fe.show(&session.render(|v| render::own_private(v, to, text)));
            }
        }
        Plan::Broadcast { text } => {
            if send(false)? {
                fe.show(&session.render(|v| render::own_broadcast(v, text)));
            }
        }
        Plan::Sync | Plan::Name => {
            // The next prompt shows the current room, so wait for the answer.
            send(true)?;
        }
        Plan::Read { room, id } => {
            // Waits, so a refused read is not expected any more: a later new post
            // with that id must show as news.
            session.with_state(|s| s.expect_read(room, *id));
            if !send(true)? {
                session.with_state(|s| s.forget_read(room, *id));
            }
        }
        Plan::Send => {
            send(false)?;
        }
    }
    Ok(Flow::Continue)
}

/// The client's command list.
const HELP: &[(&str, &str)] = &[
    ("<text>", "say something in your current room"),
    ("/join <room>", "join a room; it becomes your current room"),
    ("/create <room>", "create a room and join it"),
    ("/leave [room]", "leave a room (default: the current one)"),
    ("/say <room> <text>", "write to another room you are in"),
    ("/msg <user> <text>", "private message"),
    ("/broadcast <text>", "message to everyone online"),
    ("/users [room | *]", "who is in a room, or online (*)"),
    ("/rooms", "all rooms"),
    (
        "/post <room> <subject> <text>",
        "post on a room's board (quote a subject with spaces)",
    ),
    ("/list [room]", "a room's board"),
    ("/read <room> <id>", "read a post"),
    (
        "/history [room [count]]",
        "a room's last messages (default: the current room)",
    ),
    ("/nick <name>", "take another name (guests only)"),
    (
        "/login <name>",
        "log in to an account (the password is asked for)",
    ),
    (
        "/register",
        "make your name an account (the password is asked for)",
    ),
    ("/passwd", "change your account's password"),
    (
        "/unregister",
        "delete your account; you stay online as a guest",
    ),
    ("/ping [token]", "check the connection"),
    ("/help <command>", "the server's help for a command"),
    ("/quit [message]", "leave (also Ctrl-D)"),
    ("//text", "say something that starts with /"),
];

/// The rendered `/help` text; `keys` adds the line editor's keys.
fn help(session: &Session, keys: bool) -> String {
    session.render(|v| {
        let widest = HELP.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
        let mut out = render::notice(v, "commands:");
        for (command, what) in HELP.iter() {
            out.push_str("\n  ");
            out.push_str(&v.painter.paint(Style::Info, &format!("{command:<widest$}")));
            out.push_str("  ");
            out.push_str(what);
        }
        if keys {
            out.push_str("\n  ");
            out.push_str(&v.painter.paint(
                Style::Dim,
                "Up/Down: history   Tab: complete names and commands   Ctrl-R: search history",
            ));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help names only commands the server knows, and every command a user
    /// types (all that Tab completes but `/name`, which the client asks for).
    #[test]
    fn help_lists_the_commands_of_the_grammar() {
        let listed: Vec<&str> = HELP
            .iter()
            .filter_map(|(usage, _)| usage.split(' ').next())
            .filter(|word| word.starts_with('/') && !word.starts_with("//"))
            .collect();
        for word in &listed {
            assert!(
                input::is_command_word(word) || input::CLIENT_WORDS.contains(word),
                "{word} is no command"
            );
        }
        for word in input::command_words() {
            assert!(
                word == "/name" || listed.contains(&word.as_str()),
                "{word} is missing from the help"
            );
        }
    }
}
