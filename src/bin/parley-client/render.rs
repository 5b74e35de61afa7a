//! Turning parsed server lines into text for people.
//!
//! Everything here is a pure function of a [`ServerLine`] and a [`View`] (who we are,
//! colour on or off, the screen width, how to show times), so every line type's look
//! is pinned down by the unit tests below. Text from the network is sanitised here,
//! at the last step before display.

use crate::clock::{self, Clock};
use crate::protocol::{PostHeader, ServerLine};
use crate::style::{display_width, sanitize, Painter, Style};

/// What the renderer needs to know besides the line itself.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// Our own name once we have one (to say "you" instead of it).
    pub me: Option<&'a str>,
    /// Colour on or off.
    pub painter: Painter,
    /// Wrap long lists at this many columns (`None`: never wrap, as for scripts).
    pub width: Option<usize>,
    /// How to show post times.
    pub clock: Clock,
    /// The current time in unix seconds: replayed messages from today are shown
    /// without their date.
    pub now: i64,
}

impl View<'_> {
    /// Whether `name` is us (names match ignoring case).
    fn is_me(&self, name: &str) -> bool {
        self.me.is_some_and(|me| me.eq_ignore_ascii_case(name))
    }

    /// A name, or "you" for ourselves.
    fn who(&self, name: &str) -> String {
        if self.is_me(name) {
            self.painter.paint(Style::Bold, "you")
        } else {
            self.painter.name(name)
        }
    }

    /// A status line: `* ` and then parts that are either plain (dimmed) or already
    /// painted.
    fn status(&self, parts: &[Part<'_>]) -> String {
        let mut out = self.painter.paint(Style::Dim, "*");
        out.push(' ');
        for part in parts {
            match part {
                Part::Plain(text) => out.push_str(&self.painter.paint(Style::Dim, text)),
                Part::Painted(text) => out.push_str(text),
            }
        }
        out
    }
}

/// A piece of a status line.
enum Part<'a> {
    /// Client wording, shown dim.
    Plain(&'a str),
    /// Already sanitised and painted.
    Painted(String),
}

use Part::{Painted, Plain};

/// Renders one server line, or `None` for lines people need not see (`PING`, which
/// the client answers by itself).
///
/// `POST` lines that belong to a `LIST` are collected by the caller and shown with
/// [`render_board`]; here a `POST` is a new-post notice, or the head of a `/read`
/// when `read_reply` is set.
pub fn render(line: &ServerLine, view: &View<'_>, read_reply: bool) -> Option<String> {
    let p = view.painter;
    let text = |t: &str| sanitize(t);
    Some(match line {
        ServerLine::Hello { text: t, .. } => {
            if t.is_empty() {
                view.status(&[Plain("connected")])
            } else {
                view.status(&[Plain("connected: "), Painted(text(t))])
            }
        }
        ServerLine::Queued { position, .. } => view.status(&[
            Plain("the server is full; you are number "),
            Painted(p.paint(Style::Bold, &position.to_string())),
            Plain(" in the queue"),
        ]),
        ServerLine::Welcome { name, text: t } => {
            let mut parts = vec![Plain("you are "), Painted(p.name(name))];
            if !t.is_empty() {
                parts.push(Plain(" — "));
                parts.push(Painted(text(t)));
            }
            view.status(&parts)
        }
        ServerLine::Msg {
            room,
            from,
            text: t,
        } => room_message(view, room, from, t),
        ServerLine::Priv { from, text: t } => private_message(view, from, t, None),
        ServerLine::Bcast { from, text: t } => {
            format!(
                "{} {}: {}",
                p.paint(Style::Everyone, "(everyone)"),
                p.name(from),
                text(t)
            )
        }
        ServerLine::Join { room, name } => view.status(&[
            Painted(view.who(name)),
            Plain(" joined "),
            Painted(p.room(room)),
        ]),
        ServerLine::Leave {
            room,
            name,
            reason,
            text: t,
        } => {
            let why = match (reason.as_str(), t.is_empty()) {
                ("left", _) => String::new(),
                ("quit", true) => " (quit)".to_owned(),
                ("quit", false) => format!(" (quit: {})", text(t)),
                ("sendq", _) => " (too slow to keep up)".to_owned(),
                (other, _) => format!(" ({})", text(other)),
            };
            view.status(&[
                Painted(view.who(name)),
                Plain(" left "),
                Painted(p.room(room)),
                Plain(&why),
            ])
        }
        ServerLine::Users { room, count, names } => render_users(view, room, *count, names),
        ServerLine::Rooms { count, rooms } => render_rooms(view, *count, rooms),
        ServerLine::Posted { room, id } => view.status(&[
            Plain("posted to "),
            Painted(p.room(room)),
            Plain(" as "),
            Painted(p.paint(Style::Bold, &format!("#{id}"))),
        ]),
        ServerLine::Post(post) if read_reply => {
            format!(
                "{} {}{} {}",
                p.paint(
                    Style::Bold,
                    &format!("[{} #{}]", sanitize(&post.room), post.id)
                ),
                p.name(&post.author),
                p.paint(Style::Dim, &format!(", {} —", (view.clock)(post.time))),
                p.paint(Style::Bold, &text(&post.subject))
            )
        }
        ServerLine::Post(post) => view.status(&[
            Plain("new post "),
            Painted(p.paint(Style::Bold, &format!("#{}", post.id))),
            Plain(" in "),
            Painted(p.room(&post.room)),
            Plain(" by "),
            Painted(view.who(&post.author)),
            Plain(": "),
            Painted(text(&post.subject)),
            Plain(&format!("  (/read {} {})", sanitize(&post.room), post.id)),
        ]),
        ServerLine::List { room, count } => {
            // Only an empty list is shown on its own; others wait for their posts.
            render_board(view, room, *count, &[])
        }
        ServerLine::Body { text: t, .. } => format!("    {}", text(t)),
        ServerLine::History { room, count } => {
            let what = match count {
                0 => "no messages in ".to_owned(),
                1 => "last message in ".to_owned(),
                n => format!("last {n} messages in "),
            };
            view.status(&[Plain(&what), Painted(p.room(room))])
        }
        ServerLine::Old { time, line } => {
            let when = p.paint(Style::Dim, &clock::brief(view.clock, *time, view.now));
            match &**line {
                ServerLine::Msg {
                    room,
                    from,
                    text: t,
                } => room_message_at(view, room, from, t, Some(&when)),
                ServerLine::Priv { from, text: t } => private_message(view, from, t, Some(&when)),
                // The parser replays nothing else.
                other => return render(other, view, read_reply),
            }
        }
        // Applied before it is shown: `me` may already be the new name.
        ServerLine::Nick { old, new } if view.is_me(old) || view.is_me(new) => {
            view.status(&[Plain("you are now "), Painted(p.name(new))])
        }
        ServerLine::Nick { old, new } => view.status(&[
            Painted(p.name(old)),
            Plain(" is now called "),
            Painted(p.name(new)),
        ]),
        ServerLine::Registered { name } => view.status(&[
            Painted(p.name(name)),
            Plain(" is registered: next time, log in with "),
            Painted(p.paint(Style::Bold, &format!("/login {}", sanitize(name)))),
            Plain(" and this password"),
        ]),
        ServerLine::Unregistered { name } => view.status(&[
            Plain("the account "),
            Painted(p.name(name)),
            Plain(" is deleted: you stay online as a guest"),
        ]),
        ServerLine::Offline { user } => view.status(&[
            Plain("stored for "),
            Painted(p.name(user)),
            Plain(", who is offline: delivered at their next login"),
        ]),
        ServerLine::Ping { .. } => return None,
        ServerLine::Pong { token } => view.status(&[Plain("pong "), Painted(text(token))]),
        ServerLine::Info { text: t } => p.paint(Style::Info, &format!("  {}", text(t))),
        ServerLine::Err { code, text: t } => render_error(view, code, t),
        ServerLine::Bye { reason, text: t } => {
            if reason == "quit" {
                view.status(&[Plain("bye")])
            } else {
                let why = if t.is_empty() {
                    format!("({})", sanitize(reason))
                } else {
                    format!("{} ({})", text(t), sanitize(reason))
                };
                view.status(&[Plain("the server closed the connection: "), Painted(why)])
            }
        }
        ServerLine::Unknown { raw } => p.paint(Style::Dim, &format!("? {}", text(raw))),
    })
}

/// `[room] from: text`, for others' messages and our own.
pub fn room_message(view: &View<'_>, room: &str, from: &str, text: &str) -> String {
    room_message_at(view, room, from, text, None)
}

/// A room message, with the time it was first sent when it is replayed:
/// `[rust] 14:02 alice: text`.
fn room_message_at(
    view: &View<'_>,
    room: &str,
    from: &str,
    text: &str,
    when: Option<&str>,
) -> String {
    let p = view.painter;
    let from = if view.is_me(from) {
        p.paint(Style::Bold, &sanitize(from))
    } else {
        p.name(from)
    };
    format!(
        "{}{} {}: {}",
        p.paint(Style::Dim, &format!("[{}]", sanitize(room))),
        at(when),
        from,
        sanitize(text)
    )
}

/// A private message to us, with the time it was first sent when it is replayed:
/// `(private) 14:02 alice: text`.
fn private_message(view: &View<'_>, from: &str, text: &str, when: Option<&str>) -> String {
    let p = view.painter;
    format!(
        "{}{} {}: {}",
        p.paint(Style::Private, "(private)"),
        at(when),
        p.name(from),
        sanitize(text)
    )
}

/// ` <when>` for a replayed line, nothing for a live one.
fn at(when: Option<&str>) -> String {
    when.map(|when| format!(" {when}")).unwrap_or_default()
}

/// Our own private message as we see it: `(private to bob) alice: text`.
pub fn own_private(view: &View<'_>, to: &str, text: &str) -> String {
    let p = view.painter;
    format!(
        "{} {}{} {}: {}",
        p.paint(Style::Private, "(private to"),
        p.name(to),
        p.paint(Style::Private, ")"),
        p.paint(Style::Bold, &sanitize(view.me.unwrap_or("you"))),
        sanitize(text)
    )
}

/// Our own broadcast as we see it: `(everyone) alice: text`.
pub fn own_broadcast(view: &View<'_>, text: &str) -> String {
    let p = view.painter;
    format!(
        "{} {}: {}",
        p.paint(Style::Everyone, "(everyone)"),
        p.paint(Style::Bold, &sanitize(view.me.unwrap_or("you"))),
        sanitize(text)
    )
}

/// A client-side notice in the style of the status lines (`* text`).
pub fn notice(view: &View<'_>, text: &str) -> String {
    view.status(&[Plain(text)])
}

/// A refusal: `! text (code)`, in the error style.
pub fn render_error(view: &View<'_>, code: &str, text: &str) -> String {
    let line = if text.is_empty() {
        format!("! {}", sanitize(code))
    } else {
        format!("! {} ({})", sanitize(text), sanitize(code))
    };
    view.painter.paint(Style::Error, &line)
}

/// A member list: `* 3 users in lobby: alice, bob, carol`.
fn render_users(view: &View<'_>, room: &str, count: u64, names: &[String]) -> String {
    let p = view.painter;
    let plural = if count == 1 { "user" } else { "users" };
    let head = if room == "*" {
        format!("{count} {plural} online")
    } else {
        format!("{count} {plural} in {}", sanitize(room))
    };
    if names.is_empty() {
        return view.status(&[Plain(&head)]);
    }
    let mut items: Vec<(String, usize)> = names
        .iter()
        .map(|n| {
            let shown = if view.is_me(n) {
                p.paint(Style::Bold, &sanitize(n))
            } else {
                p.name(n)
            };
            (shown, display_width(&sanitize(n)))
        })
        .collect();
    let missing = count.saturating_sub(names.len() as u64);
    if missing > 0 {
        let more = format!("and {missing} more");
        let width = more.len();
        items.push((p.paint(Style::Dim, &more), width));
    }
    let head = view.status(&[Plain(&head), Plain(":")]);
    let head_width = display_width(&visible_text(&head, p));
    wrap_list(&head, head_width, &items, view.width)
}

/// A room list, one room per row with its member count aligned:
///
/// ```text
/// * 2 rooms:
///     lobby  3 users
///     rust   1 user
/// ```
fn render_rooms(view: &View<'_>, count: u64, rooms: &[(String, u64)]) -> String {
    let p = view.painter;
    let plural = if count == 1 { "room" } else { "rooms" };
    let mut out = view.status(&[Plain(&format!("{count} {plural}:"))]);
    let widest = rooms
        .iter()
        .map(|(r, _)| display_width(&sanitize(r)))
        .max()
        .unwrap_or(0);
    for (room, members) in rooms {
        let name = sanitize(room);
        let pad = " ".repeat(widest - display_width(&name));
        let who = match members {
            0 => "empty".to_owned(),
            1 => "1 user".to_owned(),
            n => format!("{n} users"),
        };
        out.push_str(&format!(
            "\n    {}{pad}  {}",
            p.paint(Style::Bold, &name),
            p.paint(Style::Dim, &who)
        ));
    }
    let missing = count.saturating_sub(rooms.len() as u64);
    if missing > 0 {
        out.push_str(&format!(
            "\n    {}",
            p.paint(Style::Dim, &format!("and {missing} more"))
        ));
    }
    out
}

/// A board listing as a table: ids, authors, local times and subjects.
///
/// ```text
/// * rust board: 2 posts
///     id  author  time              subject
///      1  alice   2023-11-14 22:13  Hello
///     12  bob     2023-11-15 08:00  Re: Hello
/// ```
pub fn render_board(view: &View<'_>, room: &str, count: u64, posts: &[PostHeader]) -> String {
    let p = view.painter;
    let room = p.room(room);
    let what = match count {
        0 => "no posts".to_owned(),
        1 => "1 post".to_owned(),
        n => format!("{n} posts"),
    };
    let mut out = view.status(&[Painted(room), Plain(&format!(" board: {what}"))]);
    if posts.is_empty() {
        return out;
    }
    let ids: Vec<String> = posts.iter().map(|post| post.id.to_string()).collect();
    let authors: Vec<String> = posts.iter().map(|post| sanitize(&post.author)).collect();
    let times: Vec<String> = posts.iter().map(|post| (view.clock)(post.time)).collect();
    let id_w = ids.iter().map(String::len).max().unwrap_or(0).max(2);
    let author_w = authors
        .iter()
        .map(|a| display_width(a))
        .max()
        .unwrap_or(0)
        .max(6);
    let time_w = times
        .iter()
        .map(|t| display_width(t))
        .max()
        .unwrap_or(0)
        .max(4);
    out.push_str(&format!(
        "\n    {}",
        p.paint(
            Style::Dim,
            &format!(
                "{:>id_w$}  {:<author_w$}  {:<time_w$}  subject",
                "id", "author", "time"
            )
        )
    ));
    for (i, post) in posts.iter().enumerate() {
        let author_pad = " ".repeat(author_w - display_width(&authors[i]));
        let time_pad = " ".repeat(time_w - display_width(&times[i]));
        out.push_str(&format!(
            "\n    {:>id_w$}  {}{author_pad}  {}{time_pad}  {}",
            ids[i],
            p.name(&post.author),
            times[i],
            sanitize(&post.subject)
        ));
    }
    out
}

/// The visible text of a painted string (for width sums): without colour it is the
/// string itself; with colour the escape sequences are removed.
fn visible_text(painted: &str, painter: Painter) -> String {
    if !painter.colour {
        return painted.to_owned();
    }
    let mut out = String::new();
    let mut chars = painted.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip `ESC [ ... m`; only the renderer's own SGR sequences get here,
            // network text having been sanitised.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Lays out `items` after `head`, separated by ", ". Without a width everything goes
/// on one line (scripts get one line per server line); with one, items wrap onto
/// rows indented by four spaces.
fn wrap_list(
    head: &str,
    head_width: usize,
    items: &[(String, usize)],
    width: Option<usize>,
) -> String {
    let mut out = head.to_owned();
    let Some(width) = width else {
        for (i, (item, _)) in items.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(item);
        }
        return out;
    };
    let mut col = head_width;
    for (i, (item, w)) in items.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let trailing = usize::from(i + 1 < items.len()); // the comma after it
        if i > 0 && col + sep.len() + w + trailing > width {
            out.push_str(",\n    ");
            col = 4;
        } else {
            out.push_str(sep);
            col += sep.len();
        }
        out.push_str(item);
        col += w;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::utc;

    fn view(me: Option<&str>) -> View<'_> {
        View {
            me,
            painter: Painter { colour: false },
            width: None,
            clock: utc,
            now: NOW,
        }
    }

    /// "Now" in these tests: 2023-11-15 08:00 UTC.
    const NOW: i64 = 1_700_035_200;

    fn show(line: &str) -> String {
        render(&ServerLine::parse(line), &view(Some("alice")), false).expect("shown")
    }

    #[test]
    fn messages() {
        assert_eq!(show("MSG lobby bob hi"), "[lobby] bob: hi");
        assert_eq!(show("MSG lobby bob"), "[lobby] bob: ");
        assert_eq!(show("PRIV carol hey"), "(private) carol: hey");
        assert_eq!(show("BCAST dave all of you"), "(everyone) dave: all of you");
    }

    #[test]
    fn joins_and_leaves() {
        assert_eq!(show("JOIN rust bob"), "* bob joined rust");
        assert_eq!(show("JOIN lobby alice"), "* you joined lobby");
        assert_eq!(show("JOIN lobby Alice"), "* you joined lobby");
        assert_eq!(show("LEAVE rust bob left"), "* bob left rust");
        assert_eq!(show("LEAVE rust bob timeout"), "* bob left rust (timeout)");
        assert_eq!(
            show("LEAVE rust bob disconnected"),
            "* bob left rust (disconnected)"
        );
        assert_eq!(show("LEAVE rust bob quit"), "* bob left rust (quit)");
        assert_eq!(
            show("LEAVE rust bob quit see you"),
            "* bob left rust (quit: see you)"
        );
        assert_eq!(
            show("LEAVE rust bob sendq"),
            "* bob left rust (too slow to keep up)"
        );
        assert_eq!(show("LEAVE rust alice left"), "* you left rust");
    }

    #[test]
    fn connection_lines() {
        assert_eq!(show("HELLO parley 1 Welcome"), "* connected: Welcome");
        assert_eq!(show("HELLO parley 1"), "* connected");
        assert_eq!(
            show("QUEUED 3 We are dealing with a large number of users"),
            "* the server is full; you are number 3 in the queue"
        );
        assert_eq!(show("WELCOME alice"), "* you are alice");
        assert_eq!(show("WELCOME alice Have fun"), "* you are alice — Have fun");
        assert_eq!(
            show("BYE shutdown Server going down"),
            "* the server closed the connection: Server going down (shutdown)"
        );
        assert_eq!(
            show("BYE timeout"),
            "* the server closed the connection: (timeout)"
        );
        assert_eq!(show("BYE quit Goodbye"), "* bye");
        assert_eq!(
            render(&ServerLine::parse("PING 5"), &view(None), false),
            None
        );
        assert_eq!(show("PONG abc"), "* pong abc");
    }

    #[test]
    fn lists() {
        assert_eq!(
            show("USERS lobby 3 alice bob carol"),
            "* 3 users in lobby: alice, bob, carol"
        );
        assert_eq!(show("USERS * 1 bob"), "* 1 user online: bob");
        assert_eq!(show("USERS rust 0"), "* 0 users in rust");
        assert_eq!(
            show("USERS lobby 5 alice bob"),
            "* 5 users in lobby: alice, bob, and 3 more"
        );
        assert_eq!(
            show("ROOMS 3 lobby:2 Rust:1 old:0"),
            "* 3 rooms:\n    lobby  2 users\n    Rust   1 user\n    old    empty"
        );
        assert_eq!(
            show("ROOMS 2 lobby:2"),
            "* 2 rooms:\n    lobby  2 users\n    and 1 more"
        );
    }

    #[test]
    fn long_lists_wrap_on_a_terminal() {
        let mut v = view(None);
        v.width = Some(30);
        let line = ServerLine::parse("USERS lobby 6 alice bob carol dave erin frank");
        let text = render(&line, &v, false).expect("shown");
        assert_eq!(
            text,
            "* 6 users in lobby: alice,\n    bob, carol, dave, erin,\n    frank"
        );
        assert!(text.lines().all(|l| l.len() <= 30), "{text}");
    }

    #[test]
    fn board() {
        assert_eq!(show("POSTED rust 7"), "* posted to rust as #7");
        assert_eq!(show("LIST rust 0"), "* rust board: no posts");
        let posts = [
            ServerLine::parse("POST rust 1 alice 1700000000 Hello"),
            ServerLine::parse("POST rust 12 bob 1700035200 Re: Hello"),
        ]
        .map(|l| match l {
            ServerLine::Post(p) => p,
            other => panic!("{other:?}"),
        });
        assert_eq!(
            render_board(&view(None), "rust", 2, &posts),
            "* rust board: 2 posts\n    \
             id  author  time              subject\n     \
             1  alice   2023-11-14 22:13  Hello\n    \
             12  bob     2023-11-15 08:00  Re: Hello"
        );
        assert_eq!(
            show("POST rust 3 bob 1700000000 News"),
            "* new post #3 in rust by bob: News  (/read rust 3)"
        );
        let head = render(
            &ServerLine::parse("POST rust 3 bob 1700000000 News"),
            &view(None),
            true,
        );
        assert_eq!(
            head.as_deref(),
            Some("[rust #3] bob, 2023-11-14 22:13 — News")
        );
        assert_eq!(show("BODY rust 3 the body"), "    the body");
    }

    #[test]
    fn history() {
        assert_eq!(show("HISTORY rust 0"), "* no messages in rust");
        assert_eq!(show("HISTORY rust 1"), "* last message in rust");
        assert_eq!(show("HISTORY rust 3"), "* last 3 messages in rust");
        // Today's messages show the time only; older ones the date too.
        assert_eq!(
            show("OLD 1700035200 MSG rust bob hi there"),
            "[rust] 08:00 bob: hi there"
        );
        assert_eq!(
            show("OLD 1700006400 MSG rust bob early"),
            "[rust] 00:00 bob: early"
        );
        assert_eq!(
            show("OLD 1700000000 MSG rust bob yesterday"),
            "[rust] 2023-11-14 22:13 bob: yesterday"
        );
        assert_eq!(
            show("OLD 1700035200 MSG rust alice mine"),
            "[rust] 08:00 alice: mine"
        );
        assert_eq!(show("OLD 1700035200 MSG rust bob"), "[rust] 08:00 bob: ");
        assert_eq!(
            show("OLD 1700035260 PRIV carol psst"),
            "(private) 08:01 carol: psst"
        );
        assert_eq!(
            show("OLD 1699999999 PRIV carol old news"),
            "(private) 2023-11-14 22:13 carol: old news"
        );
        // Kinds this client does not know, and malformed lines, are shown raw.
        assert_eq!(
            show("OLD 1700035200 BCAST dave all"),
            "? OLD 1700035200 BCAST dave all"
        );
        assert_eq!(show("OLD x MSG rust bob hi"), "? OLD x MSG rust bob hi");
        assert_eq!(show("HISTORY rust"), "? HISTORY rust");
        assert_eq!(
            show("ERR store-failed Could not store that"),
            "! Could not store that (store-failed)"
        );
    }

    #[test]
    fn replayed_text_is_sanitised() {
        assert_eq!(
            show("OLD 1700035200 MSG r\x1bust b\x07ob \x1b[2Jgone"),
            "[r^[ust] 08:00 b^Gob: ^[[2Jgone"
        );
        assert_eq!(
            show("OLD 1700035200 PRIV m\u{9b}x \u{202E}olleh"),
            "(private) 08:00 m<U+009B>x: \u{202E}olleh\u{202C}"
        );
    }

    #[test]
    fn replayed_messages_in_colour() {
        let v = View {
            painter: Painter { colour: true },
            ..view(Some("alice"))
        };
        let line = ServerLine::parse("OLD 1700035200 MSG rust bob hi");
        let text = render(&line, &v, false).expect("shown");
        assert!(text.contains(&v.painter.name("bob")), "{text:?}");
        assert_eq!(visible_text(&text, v.painter), "[rust] 08:00 bob: hi");
        let line = ServerLine::parse("OLD 1700035200 PRIV bob hi");
        let text = render(&line, &v, false).expect("shown");
        assert_eq!(visible_text(&text, v.painter), "(private) 08:00 bob: hi");
    }

    #[test]
    fn account_lines() {
        assert_eq!(show("NICK alice Alicia"), "* you are now Alicia");
        assert_eq!(show("NICK Ally alice"), "* you are now alice");
        assert_eq!(show("NICK bob Robert"), "* bob is now called Robert");
        assert_eq!(
            show("REGISTERED alice"),
            "* alice is registered: next time, log in with /login alice and this password"
        );
        assert_eq!(
            show("UNREGISTERED alice"),
            "* the account alice is deleted: you stay online as a guest"
        );
        assert_eq!(
            show("OFFLINE bob"),
            "* stored for bob, who is offline: delivered at their next login"
        );
        assert_eq!(
            show("OFFLINE b\x1bob"),
            "* stored for b^[ob, who is offline: delivered at their next login"
        );
    }

    #[test]
    fn info_errors_and_unknown() {
        assert_eq!(
            show("INFO /join <room>  join a room"),
            "  /join <room>  join a room"
        );
        assert_eq!(
            show("ERR name-taken That name is taken"),
            "! That name is taken (name-taken)"
        );
        assert_eq!(show("ERR queued"), "! queued");
        assert_eq!(show("FROB x\x1b[2J"), "? FROB x^[[2J");
    }

    #[test]
    fn other_peoples_text_is_sanitised_everywhere() {
        assert_eq!(show("MSG lobby bob \x1b[2Jgone"), "[lobby] bob: ^[[2Jgone");
        assert_eq!(show("MSG lob\x07by b\x1bob x"), "[lob^Gby] b^[ob: x");
        assert_eq!(
            show("PRIV carol \u{202E}olleh"),
            "(private) carol: \u{202E}olleh\u{202C}"
        );
        assert_eq!(show("INFO \u{9b}31m"), "  <U+009B>31m");
        assert_eq!(show("ERR x\x1b y\x1b"), "! y^[ (x^[)");
    }

    #[test]
    fn own_lines() {
        let v = view(Some("alice"));
        assert_eq!(room_message(&v, "rust", "alice", "hi"), "[rust] alice: hi");
        assert_eq!(
            own_private(&v, "bob", "psst"),
            "(private to bob) alice: psst"
        );
        assert_eq!(
            own_broadcast(&v, "hello all"),
            "(everyone) alice: hello all"
        );
        assert_eq!(notice(&v, "choose a name"), "* choose a name");
    }

    #[test]
    fn colour_marks_names_errors_and_status() {
        let v = View {
            painter: Painter { colour: true },
            ..view(Some("alice"))
        };
        let msg = render(&ServerLine::parse("MSG lobby bob hi"), &v, false).expect("shown");
        let bob = Painter { colour: true }.name("bob");
        assert!(msg.contains(&bob), "{msg:?}");
        // The same name gets the same colour everywhere.
        let join = render(&ServerLine::parse("JOIN rust bob"), &v, false).expect("shown");
        assert!(join.contains(&bob), "{join:?}");
        let err = render(&ServerLine::parse("ERR bad-name No"), &v, false).expect("shown");
        assert!(err.starts_with("\x1b[1;31m"), "{err:?}");
        assert_eq!(visible_text(&msg, v.painter), "[lobby] bob: hi");
    }
}
