//! Getting the session back after a reconnection: the same name, the same rooms, and
//! what was said in them meanwhile.
//!
//! A [`Resume`] is made when the connection is lost and lives until the client is
//! back. It is driven by the server's lines on the new connection, one command at a
//! time (each sent only once the previous one was answered, so that an answer is
//! never mistaken for another's):
//!
//! 1. after `HELLO` (however long the queue was), the name is claimed again: `/login`
//!    with the remembered password if we were logged in, else `/name` (the session
//!    writes that line, as it holds the password); a refusal ends the plan until a
//!    new name is accepted, and the front end asks for one;
//! 2. after `WELCOME` and `JOIN lobby`, the rooms are joined again in the order they
//!    were joined, so the current room is the same (leaving `lobby` first when we
//!    were not in it, or it was not the oldest); a room that no longer exists (rooms
//!    without posts do not survive a server restart) is created again;
//! 3. each room we are back in is asked for its `/history`, and only what we did not
//!    see is shown, under a `missed in <room>` header (see [`missed`]).
//!
//! Replies to these commands are not shown as such and never count as refused lines
//! of a script; `JOIN` confirmations are shown, so the user sees the rooms come back.
//!
//! Sans-IO: [`Resume::on_line`] takes a parsed line and says what to send and show.

use std::collections::{HashMap, VecDeque};

use crate::protocol::ServerLine;
use crate::render::{self, View};

/// How far apart (in seconds) our clock's time of a message we saw and the server's
/// stored time of it may be for the two to count as the same message.
pub const SEEN_SKEW: i64 = 5;

/// The last room message we saw in a room, to find our place in its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Who wrote it (`None`: no message yet; `at` is when we joined).
    pub from: Option<String>,
    /// What it said.
    pub text: String,
    /// When we saw it, in unix seconds by our clock.
    pub at: i64,
}

/// A line the resumption wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// This line.
    Line(String),
    /// The line that claims our name again (the session knows the password).
    Claim,
}

/// Something the session and front end must know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Back in: named and in the rooms again.
    Resumed,
    /// The name was refused on the new connection; a new one is needed.
    NameRefused {
        /// The error code.
        code: String,
        /// The server's explanation.
        text: String,
    },
}

/// What to do with one server line.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Apply it to the state as usual (`false`: it was the resumption's own reply).
    pub apply: bool,
    /// Show it as usual (when applied).
    pub show: bool,
    /// Count an `ERR` as a refused line (when applied).
    pub count: bool,
    /// Lines to send.
    pub send: Vec<Outgoing>,
    /// Blocks to show after it.
    pub notices: Vec<String>,
    /// News for the session.
    pub event: Option<Event>,
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict {
            apply: true,
            show: true,
            count: true,
            send: Vec::new(),
            notices: Vec::new(),
            event: None,
        }
    }
}

impl Verdict {
    /// The resumption's own reply: neither applied nor shown.
    fn swallowed() -> Verdict {
        Verdict {
            apply: false,
            ..Verdict::default()
        }
    }
}

/// One command of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Task {
    /// `/leave lobby`, where we were not.
    LeaveLobby,
    /// `/join <room>`.
    Join(String),
    /// `/create <room>`, for a room that is gone.
    Create(String),
    /// `/history <room>`.
    History(String),
}

impl Task {
    /// The line to send.
    fn command(&self) -> String {
        match self {
            Task::LeaveLobby => "/leave lobby".to_owned(),
            Task::Join(room) => format!("/join {room}"),
            Task::Create(room) => format!("/create {room}"),
            Task::History(room) => format!("/history {room}"),
        }
    }
}

/// Where the resumption stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Connected; waiting for `HELLO` (maybe queued first).
    AwaitHello,
    /// The name was claimed.
    AwaitWelcome,
    /// The claim was refused: waiting for any `WELCOME` (the user's new name).
    Refused,
    /// Named; waiting for `JOIN lobby <me>`.
    AwaitLobby,
    /// A command of the plan was sent.
    Task(Task),
    /// Back in.
    Done,
}

/// A room's history being collected.
#[derive(Debug)]
struct Collecting {
    /// How many `OLD` lines the `HISTORY` line announced.
    count: u64,
    /// The replayed messages so far: (time, from, text).
    lines: Vec<(i64, String, String)>,
}

/// The resumption of one lost session (see the module docs).
#[derive(Debug)]
pub struct Resume {
    /// The rooms we were in, the most recently joined last.
    rooms: Vec<String>,
    /// What we had seen in each room when the connection was lost (lowercase room).
    seen: HashMap<String, Seen>,
    /// Where we stand.
    step: Step,
    /// The commands after the current one.
    todo: VecDeque<Task>,
    /// Whether the history requests are in `todo` yet.
    histories_planned: bool,
    /// The rooms we are back in, as the server spells them.
    back_in: Vec<String>,
    /// Room messages shown live since we got back into each room (lowercase room):
    /// they are in its history too, and are not shown twice.
    live: HashMap<String, Vec<(String, String)>>,
    /// The history being collected.
    collecting: Option<Collecting>,
}

/// Whether two room names are the same room.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Resume {
    /// Plans the return to `rooms` (the most recently joined last), having seen
    /// `seen` in them.
    pub fn new(rooms: Vec<String>, seen: HashMap<String, Seen>) -> Resume {
        Resume {
            rooms,
            seen,
            step: Step::AwaitHello,
            todo: VecDeque::new(),
            histories_planned: false,
            back_in: Vec::new(),
            live: HashMap::new(),
            collecting: None,
        }
    }

    /// The connection was lost again before we were back: start over on the next,
    /// with the same rooms to return to.
    pub fn restart(&mut self) {
        *self = Resume::new(
            std::mem::take(&mut self.rooms),
            std::mem::take(&mut self.seen),
        );
    }

    /// Whether the name was refused and no new one was accepted yet.
    pub fn needs_name(&self) -> bool {
        self.step == Step::Refused
    }

    /// Whether we are back in.
    pub fn done(&self) -> bool {
        self.step == Step::Done
    }

    /// Takes one server line; `me` is our name before it is applied.
    pub fn on_line(&mut self, line: &ServerLine, me: Option<&str>, view: &View<'_>) -> Verdict {
        let is_me = |name: &str| me.is_some_and(|me| same(me, name));
        let mut verdict = Verdict::default();
        if let ServerLine::Msg { room, from, text } = line {
            if let Some(live) = self.live.get_mut(&room.to_ascii_lowercase()) {
                live.push((from.clone(), text.clone()));
            }
        }
        match (self.step.clone(), line) {
            (Step::AwaitHello, ServerLine::Hello { .. }) => {
                self.step = Step::AwaitWelcome;
                verdict.send.push(Outgoing::Claim);
            }
            (Step::AwaitWelcome | Step::Refused, ServerLine::Welcome { .. }) => {
                self.step = Step::AwaitLobby;
            }
            (Step::AwaitWelcome, ServerLine::Err { code, text }) => {
                self.step = Step::Refused;
                verdict.count = false;
                verdict.event = Some(Event::NameRefused {
                    code: code.clone(),
                    text: text.clone(),
                });
            }
            (Step::AwaitLobby, ServerLine::Join { room, name })
                if is_me(name) && same(room, "lobby") =>
            {
                self.plan(room);
                self.next(&mut verdict, view);
            }
            (Step::Task(Task::LeaveLobby), ServerLine::Leave { room, name, .. })
                if is_me(name) && same(room, "lobby") =>
            {
                verdict.show = false;
                self.next(&mut verdict, view);
            }
            (
                Step::Task(Task::Join(wanted) | Task::Create(wanted)),
                ServerLine::Join { room, name },
            ) if is_me(name) && same(room, &wanted) => {
                self.back_in.push(room.clone());
                self.live.insert(room.to_ascii_lowercase(), Vec::new());
                self.next(&mut verdict, view);
            }
            (Step::Task(Task::Join(room)), ServerLine::Err { code, .. })
                if code == "no-such-room" =>
            {
                verdict = Verdict::swallowed();
                let task = Task::Create(room);
                verdict.send.push(Outgoing::Line(task.command()));
                self.step = Step::Task(task);
            }
            (Step::Task(task), ServerLine::Err { code, text }) => {
                verdict = Verdict::swallowed();
                let what = match &task {
                    Task::LeaveLobby => "could not leave lobby again".to_owned(),
                    Task::Join(room) | Task::Create(room) => format!("could not rejoin {room}"),
                    Task::History(room) => format!("could not fetch what was missed in {room}"),
                };
                verdict
                    .notices
                    .push(render::render_error(view, code, &format!("{what}: {text}")));
                self.collecting = None;
                self.next(&mut verdict, view);
            }
            (Step::Task(Task::History(wanted)), ServerLine::History { room, count })
                if same(room, &wanted) && self.collecting.is_none() =>
            {
                verdict = Verdict::swallowed();
                self.collecting = Some(Collecting {
                    count: *count,
                    lines: Vec::new(),
                });
                if *count == 0 {
                    self.finish_history(&wanted, &mut verdict, view);
                }
            }
            (Step::Task(Task::History(wanted)), ServerLine::Old { time, line }) => {
                let Some(collecting) = &mut self.collecting else {
                    return verdict;
                };
                let ServerLine::Msg { from, text, .. } = &**line else {
                    return verdict;
                };
                verdict = Verdict::swallowed();
                collecting.lines.push((*time, from.clone(), text.clone()));
                if collecting.lines.len() as u64 >= collecting.count {
                    self.finish_history(&wanted, &mut verdict, view);
                }
            }
            _ => {}
        }
        verdict
    }

    /// Plans the commands once we are named and in `lobby` (spelled as the server
    /// spells it).
    fn plan(&mut self, lobby: &str) {
        let lobby_first = self.rooms.first().is_some_and(|r| same(r, "lobby"));
        let mut todo = VecDeque::new();
        if lobby_first {
            self.back_in.push(lobby.to_owned());
            self.live.insert(lobby.to_ascii_lowercase(), Vec::new());
        } else {
            todo.push_back(Task::LeaveLobby);
        }
        let skip = usize::from(lobby_first);
        todo.extend(self.rooms.iter().skip(skip).cloned().map(Task::Join));
        self.todo = todo;
        self.histories_planned = false;
    }

    /// Sends the next command, or finishes.
    fn next(&mut self, verdict: &mut Verdict, view: &View<'_>) {
        loop {
            if let Some(task) = self.todo.pop_front() {
                verdict.send.push(Outgoing::Line(task.command()));
                self.step = Step::Task(task);
                return;
            }
            if self.histories_planned {
                break;
            }
            self.histories_planned = true;
            self.todo = self.back_in.iter().cloned().map(Task::History).collect();
        }
        self.step = Step::Done;
        verdict.event = Some(Event::Resumed);
        let mut text = format!("back as {}", view.me.unwrap_or("you"));
        if self.back_in.is_empty() {
            text.push_str(", in no room");
        } else {
            text.push_str(" in ");
            text.push_str(&self.back_in.join(", "));
        }
        verdict.notices.push(render::notice(view, &text));
    }

    /// Shows the collected history of `room` (what we missed of it), then goes on.
    fn finish_history(&mut self, room: &str, verdict: &mut Verdict, view: &View<'_>) {
        let collected = self.collecting.take().map(|c| c.lines).unwrap_or_default();
        let key = room.to_ascii_lowercase();
        let live = self.live.get(&key).map(Vec::as_slice).unwrap_or_default();
        let range = missed(&collected, self.seen.get(&key), live);
        let shown = &collected[range];
        let head = match shown.len() {
            0 => format!("nothing missed in {room}"),
            1 => format!("missed in {room}: 1 message"),
            n => format!("missed in {room}: {n} messages"),
        };
        let mut block = render::notice(view, &head);
        for (time, from, text) in shown {
            let line = ServerLine::Old {
                time: *time,
                line: Box::new(ServerLine::Msg {
                    room: room.to_owned(),
                    from: from.clone(),
                    text: text.clone(),
                }),
            };
            if let Some(text) = render::render(&line, view, false) {
                block.push('\n');
                block.push_str(&text);
            }
        }
        verdict.notices.push(block);
        self.next(verdict, view);
    }
}

/// Which of a room's replayed messages (oldest first: time, from, text) we missed:
/// those after the last one we saw (`seen`: found by sender and text, at about the
/// time we saw it; when it is not there, those from the second we saw it on), and
/// without those at the end that were shown live after we got back (`live`, in
/// order).
pub fn missed(
    history: &[(i64, String, String)],
    seen: Option<&Seen>,
    live: &[(String, String)],
) -> std::ops::Range<usize> {
    let start = match seen {
        None => 0,
        Some(seen) => {
            let anchor = seen.from.as_deref().and_then(|from| {
                history.iter().rposition(|(time, who, text)| {
                    who.eq_ignore_ascii_case(from)
                        && *text == seen.text
                        && (time - seen.at).abs() <= SEEN_SKEW
                })
            });
            match anchor {
                Some(i) => i + 1,
                None => history
                    .iter()
                    .position(|(time, ..)| *time >= seen.at)
                    .unwrap_or(history.len()),
            }
        }
    };
    let mut end = history.len();
    for (from, text) in live.iter().rev() {
        match history[start..end].last() {
            Some((_, who, said)) if who.eq_ignore_ascii_case(from) && said == text => end -= 1,
            _ => break,
        }
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::utc;
    use crate::style::Painter;

    fn view(me: Option<&str>) -> View<'_> {
        View {
            me,
            painter: Painter { colour: false },
            width: None,
            clock: utc,
            now: 1_700_000_000,
        }
    }

    fn seen(from: &str, text: &str, at: i64) -> Seen {
        Seen {
            from: Some(from.to_owned()),
            text: text.to_owned(),
            at,
        }
    }

    fn history(lines: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
        lines
            .iter()
            .map(|(t, f, x)| (*t, (*f).to_owned(), (*x).to_owned()))
            .collect()
    }

    #[test]
    fn only_what_came_after_the_last_seen_message_is_missed() {
        let h = history(&[
            (100, "bob", "ok"),
            (110, "alice", "hi"),
            (120, "bob", "ok"),
            (200, "bob", "missed one"),
            (201, "carol", "missed two"),
        ]);
        // Anchored on the last matching message near the time we saw it.
        assert_eq!(missed(&h, Some(&seen("Bob", "ok", 121)), &[]), 3..5);
        // An older identical message is not taken for it.
        assert_eq!(missed(&h, Some(&seen("bob", "ok", 100)), &[]), 1..5);
        // Not in the history (cut, or our clock is off): by time.
        assert_eq!(missed(&h, Some(&seen("bob", "gone", 150)), &[]), 3..5);
        assert_eq!(missed(&h, Some(&seen("bob", "gone", 500)), &[]), 5..5);
        // Only a join time known.
        let joined = Seen {
            from: None,
            text: String::new(),
            at: 110,
        };
        assert_eq!(missed(&h, Some(&joined), &[]), 1..5);
        // Nothing known: all of it.
        assert_eq!(missed(&h, None, &[]), 0..5);
        // What was shown live since the rejoin is not shown again.
        let live = [("carol".to_owned(), "missed two".to_owned())];
        assert_eq!(missed(&h, Some(&seen("bob", "ok", 121)), &live), 3..4);
        let unrelated = [("dave".to_owned(), "x".to_owned())];
        assert_eq!(missed(&h, None, &unrelated), 0..5);
        assert_eq!(missed(&[], None, &live), 0..0);
    }

    /// Feeds `lines` as alice, returning what was sent, shown and reported.
    fn drive(resume: &mut Resume, lines: &[&str]) -> (Vec<Outgoing>, Vec<String>, Vec<Event>) {
        let mut sent = Vec::new();
        let mut shown = Vec::new();
        let mut events = Vec::new();
        for line in lines {
            let v = resume.on_line(
                &ServerLine::parse(line),
                Some("alice"),
                &view(Some("alice")),
            );
            sent.extend(v.send);
            if v.apply && v.show {
                shown.push(format!("<{line}>"));
            }
            shown.extend(v.notices);
            events.extend(v.event);
        }
        (sent, shown, events)
    }

    fn line(text: &str) -> Outgoing {
        Outgoing::Line(text.to_owned())
    }

    #[test]
    fn rooms_come_back_in_order_with_what_was_missed() {
        let mut seen_map = HashMap::new();
        seen_map.insert("rust".to_owned(), seen("bob", "before", 1_700_000_000));
        let mut resume = Resume::new(vec!["lobby".into(), "Rust".into(), "go".into()], seen_map);
        let (sent, _, _) = drive(&mut resume, &["QUEUED 1 wait", "HELLO parley 1 hi"]);
        assert_eq!(sent, vec![Outgoing::Claim]);
        let (sent, _, _) = drive(&mut resume, &["WELCOME alice hi", "JOIN lobby alice"]);
        assert_eq!(sent, vec![line("/join Rust")]);
        let (sent, shown, _) = drive(&mut resume, &["JOIN rust alice"]);
        assert_eq!(sent, vec![line("/join go")]);
        assert_eq!(shown, vec!["<JOIN rust alice>"]);
        // `go` is gone: created again, the refusal neither shown nor counted.
        let (sent, shown, _) = drive(&mut resume, &["ERR no-such-room No such room"]);
        assert_eq!(sent, vec![line("/create go")]);
        assert!(shown.is_empty());
        let (sent, _, _) = drive(&mut resume, &["JOIN go alice", "MSG rust bob live"]);
        assert_eq!(sent, vec![line("/history lobby")]);
        let (sent, shown, _) = drive(&mut resume, &["HISTORY lobby 0"]);
        assert_eq!(sent, vec![line("/history rust")]);
        assert_eq!(shown, vec!["* nothing missed in lobby"]);
        let (sent, shown, events) = drive(
            &mut resume,
            &[
                "HISTORY rust 3",
                "OLD 1700000000 MSG rust bob before",
                "OLD 1700000060 MSG rust carol while away",
                "OLD 1700000120 MSG rust bob live",
            ],
        );
        assert_eq!(sent, vec![line("/history go")]);
        assert_eq!(
            shown,
            vec!["* missed in rust: 1 message\n[rust] 22:14 carol: while away"]
        );
        assert!(events.is_empty());
        let (sent, shown, events) = drive(&mut resume, &["ERR unknown-command No"]);
        assert!(sent.is_empty());
        assert_eq!(
            shown,
            vec![
                "! could not fetch what was missed in go: No (unknown-command)",
                "* back as alice in lobby, rust, go"
            ]
        );
        assert_eq!(events, vec![Event::Resumed]);
        assert!(resume.done());
        // Afterwards, lines pass untouched.
        let (sent, shown, _) = drive(&mut resume, &["JOIN rust alice", "ERR x y"]);
        assert!(sent.is_empty());
        assert_eq!(shown, vec!["<JOIN rust alice>", "<ERR x y>"]);
    }

    #[test]
    fn lobby_is_left_when_it_was_not_the_oldest_room() {
        let mut resume = Resume::new(vec!["rust".into(), "lobby".into()], HashMap::new());
        drive(&mut resume, &["HELLO parley 1"]);
        let (sent, _, _) = drive(&mut resume, &["WELCOME alice", "JOIN lobby alice"]);
        assert_eq!(sent, vec![line("/leave lobby")]);
        let (sent, shown, _) = drive(&mut resume, &["LEAVE lobby alice left"]);
        assert_eq!(sent, vec![line("/join rust")]);
        assert!(shown.is_empty(), "{shown:?}");
        let (sent, _, _) = drive(&mut resume, &["JOIN rust alice"]);
        assert_eq!(sent, vec![line("/join lobby")]);
        let (sent, _, _) = drive(&mut resume, &["JOIN lobby alice"]);
        assert_eq!(sent, vec![line("/history rust")]);

        // In no room at all: only the leave.
        let mut resume = Resume::new(Vec::new(), HashMap::new());
        drive(&mut resume, &["HELLO parley 1"]);
        drive(&mut resume, &["WELCOME alice", "JOIN lobby alice"]);
        let (sent, shown, events) = drive(&mut resume, &["LEAVE lobby alice left"]);
        assert!(sent.is_empty());
        assert_eq!(shown, vec!["* back as alice, in no room"]);
        assert_eq!(events, vec![Event::Resumed]);
    }

    #[test]
    fn a_refused_name_waits_for_a_new_one() {
        let mut resume = Resume::new(vec!["lobby".into(), "rust".into()], HashMap::new());
        drive(&mut resume, &["HELLO parley 1"]);
        let mut v = resume.on_line(
            &ServerLine::parse("ERR name-taken That name is taken"),
            Some("alice"),
            &view(Some("alice")),
        );
        // Shown, not counted as a script's refused line.
        assert!(v.apply && v.show && !v.count);
        assert_eq!(
            v.event.take(),
            Some(Event::NameRefused {
                code: "name-taken".into(),
                text: "That name is taken".into()
            })
        );
        assert!(resume.needs_name());
        // The user's own attempts are theirs.
        let (sent, shown, _) = drive(&mut resume, &["ERR name-taken again"]);
        assert!(sent.is_empty());
        assert_eq!(shown, vec!["<ERR name-taken again>"]);
        let v = resume.on_line(
            &ServerLine::parse("WELCOME alicia"),
            Some("alice"),
            &view(None),
        );
        assert!(v.send.is_empty());
        let v = resume.on_line(
            &ServerLine::parse("JOIN lobby alicia"),
            Some("alicia"),
            &view(Some("alicia")),
        );
        assert_eq!(v.send, vec![line("/join rust")]);
        // Lost again: start over with the same rooms.
        resume.restart();
        let (sent, _, _) = drive(
            &mut resume,
            &["HELLO parley 1", "WELCOME alice", "JOIN lobby alice"],
        );
        assert_eq!(sent, vec![Outgoing::Claim, line("/join rust")]);
    }
}
