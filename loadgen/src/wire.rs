//! The protocol as the loadgen sees it: splitting server lines into their fields, and
//! writing and parsing the payload that every test message carries.
//!
//! The delivery path (`MSG`/`PRIV` lines) is the hot loop of the whole tool: at the
//! target of 5 M deliveries/s every nanosecond per line counts, so nothing here
//! allocates and fields are borrowed slices of the read buffer.

use memchr::memchr;

/// One line from the server, its fields borrowed from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum ServerLine<'a> {
    /// `MSG <room> <from> <text...>`
    Msg {
        /// Room the message was said in.
        room: &'a [u8],
        /// Sender's name.
        from: &'a [u8],
        /// The message text, our payload.
        text: &'a [u8],
    },
    /// `PRIV <from> <text...>`
    Priv {
        /// Sender's name.
        from: &'a [u8],
        /// The message text.
        text: &'a [u8],
    },
    /// `HELLO parley 1 ...`: admitted.
    Hello,
    /// `QUEUED <position> ...`; position 0 when it does not parse.
    Queued {
        /// 1-based place in the queue.
        pos: u64,
    },
    /// `WELCOME <name> ...`: sent only to the client that was named (or logged in).
    Welcome,
    /// `REGISTERED <name>`: our account was created (sent only to its owner).
    Registered,
    /// `JOIN <room> <name>`
    Join {
        /// The room.
        room: &'a [u8],
        /// Who joined.
        name: &'a [u8],
    },
    /// `LEAVE <room> <name> <reason> ...`
    Leave {
        /// The room.
        room: &'a [u8],
        /// Who left.
        name: &'a [u8],
        /// left, quit, disconnected, timeout or sendq.
        reason: &'a [u8],
    },
    /// `PING <token>`: must be answered with `/pong <token>`.
    Ping {
        /// The token to echo.
        token: &'a [u8],
    },
    /// `ERR <code> ...`
    Err {
        /// The error code.
        code: &'a [u8],
    },
    /// `BYE <reason> ...`
    Bye {
        /// Why the server closes.
        reason: &'a [u8],
    },
    /// `POSTED <room> <id>`: the answer to our own `/post`.
    Posted {
        /// The room posted to.
        room: &'a [u8],
        /// The post's id; 0 when it does not parse (ids count from 1).
        id: u64,
    },
    /// `POST <room> <id> <author> <unix-seconds> <subject...>`: another member's new
    /// post (only the fields the loadgen checks).
    Post {
        /// The room posted to.
        room: &'a [u8],
        /// The post's id; 0 when it does not parse.
        id: u64,
        /// Who posted.
        author: &'a [u8],
    },
    /// `LIST <room> <count>`: `count` `POST` lines of the room's board follow.
    List {
        /// The room listed.
        room: &'a [u8],
        /// `POST` lines that follow; 0 when it does not parse.
        count: u64,
    },
    /// Anything else (INFO, USERS, ROOMS, ...): not needed by the loadgen.
    Other,
}

/// Splits off the first space-separated field. Server lines separate fields by exactly
/// one space, so no run-of-spaces handling is needed.
#[inline]
pub fn split_field(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b' ', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

/// Parses one server line (without its `\n`).
#[inline]
pub fn parse_line(line: &[u8]) -> ServerLine<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (ty, rest) = split_field(line);
    match ty {
        b"MSG" => {
            let (room, rest) = split_field(rest);
            let (from, text) = split_field(rest);
            ServerLine::Msg { room, from, text }
        }
        b"PRIV" => {
            let (from, text) = split_field(rest);
            ServerLine::Priv { from, text }
        }
        b"HELLO" => ServerLine::Hello,
        b"QUEUED" => ServerLine::Queued {
            pos: parse_u64(split_field(rest).0).unwrap_or(0),
        },
        b"WELCOME" => ServerLine::Welcome,
        b"REGISTERED" => ServerLine::Registered,
        b"JOIN" => {
            let (room, rest) = split_field(rest);
            let (name, _) = split_field(rest);
            ServerLine::Join { room, name }
        }
        b"LEAVE" => {
            let (room, rest) = split_field(rest);
            let (name, rest) = split_field(rest);
            let (reason, _) = split_field(rest);
            ServerLine::Leave { room, name, reason }
        }
        b"PING" => ServerLine::Ping {
            token: split_field(rest).0,
        },
        b"ERR" => ServerLine::Err {
            code: split_field(rest).0,
        },
        b"BYE" => ServerLine::Bye {
            reason: split_field(rest).0,
        },
        b"POSTED" => {
            let (room, rest) = split_field(rest);
            ServerLine::Posted {
                room,
                id: parse_u64(rest).unwrap_or(0),
            }
        }
        b"POST" => {
            let (room, rest) = split_field(rest);
            let (id, rest) = split_field(rest);
            let (author, _) = split_field(rest);
            ServerLine::Post {
                room,
                id: parse_u64(id).unwrap_or(0),
                author,
            }
        }
        b"LIST" => {
            let (room, rest) = split_field(rest);
            ServerLine::List {
                room,
                count: parse_u64(rest).unwrap_or(0),
            }
        }
        _ => ServerLine::Other,
    }
}

/// Parses a non-empty run of ASCII digits (at most 19, so it cannot overflow).
#[inline]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// What every test message carries, so that any receiver can check it on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// Index of the sending client in this process.
    pub sender: u64,
    /// The sender's slot in its group: the receiver's index into its expected-seq array.
    pub slot: u64,
    /// Per-sender sequence number, from 0, without gaps.
    pub seq: u64,
    /// When the message was due to be sent (open loop) or generated (`--max`), in
    /// nanoseconds on the process clock.
    pub sched_ns: u64,
    /// When the message was actually handed to the socket.
    pub sent_ns: u64,
}

/// Longest header a payload can have: five numbers of up to 19 digits and four spaces.
pub const MAX_HEADER: usize = 5 * 19 + 4;
/// Smallest accepted `--size`: room for a realistic header (seven-digit ids, ten-digit
/// sequence numbers, clock values up to about 115 days) plus the newline.
pub const MIN_SIZE: usize = 64;

#[inline]
fn push_num(buf: &mut [u8; MAX_HEADER], at: &mut usize, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = tmp.len() - i;
    buf[*at..*at + n].copy_from_slice(&tmp[i..]);
    *at += n;
}

/// Appends `prefix`, the payload as text of exactly `text_len` bytes where possible
/// (never shorter than its header), and a newline to `out`.
#[inline]
pub fn write_message(out: &mut Vec<u8>, prefix: &[u8], p: &Payload, text_len: usize) {
    write_text(out, prefix, p, text_len);
    out.push(b'\n');
}

/// Appends `prefix` and the payload as text of exactly `text_len` bytes where possible
/// (never shorter than its header) to `out`, with no line ending: each protocol adds
/// its own.
///
/// The text is `<sender> <slot> <seq> <sched_ns> <sent_ns>` then a space and dots as
/// filler. When exactly one byte would be left over, a leading zero is added to the
/// first number instead, so the text never ends in a space (which a chat server could
/// legitimately trim) and still parses to the same values.
#[inline]
pub fn write_text(out: &mut Vec<u8>, prefix: &[u8], p: &Payload, text_len: usize) {
    let mut head = [0u8; MAX_HEADER];
    let mut n = 0;
    for (i, v) in [p.sender, p.slot, p.seq, p.sched_ns, p.sent_ns]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            head[n] = b' ';
            n += 1;
        }
        push_num(&mut head, &mut n, v);
    }
    out.extend_from_slice(prefix);
    if text_len == n + 1 {
        out.push(b'0');
        out.extend_from_slice(&head[..n]);
    } else {
        out.extend_from_slice(&head[..n]);
        if text_len > n + 1 {
            out.push(b' ');
            out.resize(out.len() + (text_len - n - 1), b'.');
        }
    }
}

/// Parses a payload from a message text; `None` for anything we did not write.
#[inline]
pub fn parse_payload(text: &[u8]) -> Option<Payload> {
    let mut rest = text;
    let mut vals = [0u64; 5];
    for (i, slot) in vals.iter_mut().enumerate() {
        let mut j = 0;
        let mut v: u64 = 0;
        while j < rest.len() && rest[j].is_ascii_digit() {
            if j == 19 {
                return None;
            }
            v = v * 10 + u64::from(rest[j] - b'0');
            j += 1;
        }
        if j == 0 {
            return None;
        }
        *slot = v;
        if j < rest.len() {
            if rest[j] != b' ' {
                return None;
            }
            rest = &rest[j + 1..];
        } else {
            if i < 4 {
                return None;
            }
            rest = &[];
        }
    }
    Some(Payload {
        sender: vals[0],
        slot: vals[1],
        seq: vals[2],
        sched_ns: vals[3],
        sent_ns: vals[4],
    })
}

/// Parses the client index out of a user name `<prefix><index>`.
#[inline]
pub fn name_id(prefix: &[u8], name: &[u8]) -> Option<u64> {
    parse_u64(name.strip_prefix(prefix)?)
}

/// Parses the group index out of a room name `<prefix>r<index>`.
#[inline]
pub fn room_id(prefix: &[u8], room: &[u8]) -> Option<u64> {
    parse_u64(room.strip_prefix(prefix)?.strip_prefix(b"r")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Payload {
        Payload {
            sender: 12,
            slot: 3,
            seq: 456,
            sched_ns: 1_234_567_890,
            sent_ns: 1_234_567_999,
        }
    }

    #[test]
    fn message_has_exact_size_and_round_trips() {
        for len in [40usize, 41, 42, 43, 60, 99, 1000] {
            let mut out = Vec::new();
            write_message(&mut out, b"", &sample(), len);
            assert_eq!(out.len(), len + 1, "text_len {len}");
            assert_eq!(out.last(), Some(&b'\n'));
            let text = &out[..out.len() - 1];
            assert_ne!(text.last(), Some(&b' '));
            assert_eq!(parse_payload(text), Some(sample()), "text_len {len}");
        }
    }

    #[test]
    fn short_size_keeps_whole_header() {
        let mut out = Vec::new();
        write_message(&mut out, b"/msg bob ", &sample(), 5);
        assert!(out.starts_with(b"/msg bob 12 3 456 "));
        let text = &out[b"/msg bob ".len()..out.len() - 1];
        assert_eq!(parse_payload(text), Some(sample()));
    }

    #[test]
    fn payload_rejects_foreign_text() {
        assert_eq!(parse_payload(b"hello world"), None);
        assert_eq!(parse_payload(b"1 2 3 4"), None);
        assert_eq!(parse_payload(b"1 2 3 4 x"), None);
        assert_eq!(parse_payload(b""), None);
        assert_eq!(parse_payload(b"1 2 3 4 55555555555555555555"), None);
        assert!(parse_payload(b"1 2 3 4 5").is_some());
        assert!(parse_payload(b"1 2 3 4 5 ...").is_some());
    }

    #[test]
    fn parses_server_lines() {
        assert_eq!(
            parse_line(b"MSG lobby lg1 1 2 3 4 5 ...."),
            ServerLine::Msg {
                room: b"lobby",
                from: b"lg1",
                text: b"1 2 3 4 5 ...."
            }
        );
        assert_eq!(
            parse_line(b"PRIV lg2 hi there"),
            ServerLine::Priv {
                from: b"lg2",
                text: b"hi there"
            }
        );
        assert_eq!(
            parse_line(b"QUEUED 17 We are dealing with a large number of users"),
            ServerLine::Queued { pos: 17 }
        );
        assert_eq!(parse_line(b"HELLO parley 1 welcome"), ServerLine::Hello);
        assert_eq!(
            parse_line(b"JOIN r1 bob"),
            ServerLine::Join {
                room: b"r1",
                name: b"bob"
            }
        );
        assert_eq!(
            parse_line(b"LEAVE r1 bob sendq"),
            ServerLine::Leave {
                room: b"r1",
                name: b"bob",
                reason: b"sendq"
            }
        );
        assert_eq!(
            parse_line(b"LEAVE r1 bob quit bye all"),
            ServerLine::Leave {
                room: b"r1",
                name: b"bob",
                reason: b"quit"
            }
        );
        assert_eq!(parse_line(b"PING 42"), ServerLine::Ping { token: b"42" });
        assert_eq!(
            parse_line(b"ERR name-taken that name is taken"),
            ServerLine::Err {
                code: b"name-taken"
            }
        );
        assert_eq!(
            parse_line(b"BYE sendq you are too slow\r"),
            ServerLine::Bye { reason: b"sendq" }
        );
        assert_eq!(
            parse_line(b"POSTED r1 42"),
            ServerLine::Posted {
                room: b"r1",
                id: 42
            }
        );
        assert_eq!(
            parse_line(b"POSTED r1 42 extra"),
            ServerLine::Posted { room: b"r1", id: 0 }
        );
        assert_eq!(
            parse_line(b"POST r1 7 bob 1764620000 load"),
            ServerLine::Post {
                room: b"r1",
                id: 7,
                author: b"bob"
            }
        );
        assert_eq!(
            parse_line(b"LIST lobby 1000"),
            ServerLine::List {
                room: b"lobby",
                count: 1000
            }
        );
        assert_eq!(parse_line(b"REGISTERED lg1_7"), ServerLine::Registered);
        assert_eq!(parse_line(b"UNREGISTERED lg1_7"), ServerLine::Other);
        assert_eq!(parse_line(b"INFO hi"), ServerLine::Other);
        assert_eq!(parse_line(b""), ServerLine::Other);
    }

    #[test]
    fn names_and_rooms_map_back_to_indices() {
        assert_eq!(name_id(b"lg7_", b"lg7_123"), Some(123));
        assert_eq!(name_id(b"lg7_", b"lg7_r12"), None);
        assert_eq!(name_id(b"lg7_", b"alice"), None);
        assert_eq!(room_id(b"lg7_", b"lg7_r12"), Some(12));
        assert_eq!(room_id(b"lg7_", b"lobby"), None);
    }
}
