//! IRC as the loadgen speaks it (`--protocol irc` and `mixed`): parsing the server lines
//! the scenarios need and writing the few commands they send, with nothing else.
//!
//! Only RFC 1459/2812 behaviour is relied on, so that the same clients run against
//! parley's IRC gateway and against ordinary IRC servers: registration with `NICK` and
//! `USER` ends at `001`, channels are joined explicitly, `PING` is answered, and every
//! numeric or notice the scenarios do not need is ignored. No capability is negotiated,
//! so no server echoes a message to its sender.
//!
//! As in [`crate::wire`], a delivered `PRIVMSG` is on the hot path: parsing borrows
//! slices of the read buffer and allocates nothing.

use memchr::{memchr, memmem};

use crate::wire::{self, Payload};

/// Longest IRC line, its CRLF included (RFC 1459, 2.3).
pub const MAX_LINE: usize = 512;
/// Longest host name a server may put in a user's prefix (RFC 2812, 2.3.1).
pub const MAX_HOST: usize = 63;
/// Longest nick of RFC 1459 (1.2), and ngIRCd's default NICKLEN.
pub const RFC_NICK_LEN: usize = 9;
/// The channel that idle and join-storm clients join: parley's lobby, seen from IRC.
pub const LOBBY: &[u8] = b"#lobby";

/// Numerics from 400 up that say nothing about what the loadgen asked for: no MOTD
/// (a server without one sends it at every registration), and "already on channel"
/// (a server that auto-joins its users to `#lobby` may answer so when an idle client
/// joins it explicitly).
const HARMLESS: [&[u8]; 2] = [b"422", b"443"];

/// One line from an IRC server, its fields borrowed from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum IrcLine<'a> {
    /// `:<source> PRIVMSG <target> :<text>`: a message to a channel we are in, or to
    /// us.
    Privmsg {
        /// Who sent it: `nick!user@host`.
        source: &'a [u8],
        /// The channel, or our nick.
        target: &'a [u8],
        /// The message text, our payload.
        text: &'a [u8],
    },
    /// `PING :<token>`: must be answered with `PONG :<token>`.
    Ping {
        /// The token to echo.
        token: &'a [u8],
    },
    /// `001`: registration is complete; the nick is ours.
    Welcome,
    /// `:<nick>!<user>@<host> JOIN <channel>` (or `JOIN :<channel>`).
    Join {
        /// Who joined.
        nick: &'a [u8],
        /// The channel.
        channel: &'a [u8],
    },
    /// A notice that we wait in the server's queue (parley's gateway, while it is
    /// full): `NOTICE * :...you are number <pos> in the queue`.
    Queued {
        /// 1-based place in the queue.
        pos: u64,
    },
    /// `ERROR :<text>`: the server is closing the connection.
    Error {
        /// The words in the text's last parentheses (`Closing link (sendq)`), or the
        /// whole text when it has none.
        reason: &'a [u8],
    },
    /// A numeric from 400 to 599 that refuses what we asked for (`433`: nick in use,
    /// `432`: erroneous nick, `403`: no such channel, ...).
    Refused {
        /// The three digits.
        code: &'a [u8],
    },
    /// Anything else: the registration burst, MOTD, NAMES, TOPIC, MODE, notices,
    /// other users' joins and parts.
    Other,
}

/// Splits off the first space-separated word, skipping the spaces around it: RFC 1459
/// allows several between parameters.
#[inline]
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = skip_spaces(s);
    match memchr(b' ', s) {
        Some(i) => (&s[..i], skip_spaces(&s[i + 1..])),
        None => (s, &[]),
    }
}

#[inline]
fn skip_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

/// The first parameter of `params`: the trailing one (`:` to the end of the line) or
/// a middle one (up to the next space).
#[inline]
fn first_param(params: &[u8]) -> &[u8] {
    match params {
        [b':', trailing @ ..] => trailing,
        _ => word(params).0,
    }
}

/// The nick of a `nick!user@host` source.
#[inline]
pub fn nick(source: &[u8]) -> &[u8] {
    match memchr(b'!', source) {
        Some(i) => &source[..i],
        None => source,
    }
}

/// Parses one server line (without its `\n`; a `\r` before it is dropped).
#[inline]
pub fn parse_line(line: &[u8]) -> IrcLine<'_> {
    let mut rest = line.strip_suffix(b"\r").unwrap_or(line);
    // IRCv3 message tags come first, when a server sends them unasked.
    if let [b'@', ..] = rest {
        rest = word(rest).1;
    }
    let mut source: &[u8] = &[];
    if let [b':', after @ ..] = rest {
        (source, rest) = word(after);
    }
    let (command, params) = word(rest);
    match command {
        b"PRIVMSG" => {
            let (target, rest) = word(params);
            let text = first_param(rest);
            // A CTCP request (a server's VERSION probe, say) is no test message.
            if text.first() == Some(&1) {
                return IrcLine::Other;
            }
            IrcLine::Privmsg {
                source,
                target,
                text,
            }
        }
        b"PING" => IrcLine::Ping {
            token: first_param(params),
        },
        b"001" => IrcLine::Welcome,
        b"JOIN" => IrcLine::Join {
            nick: nick(source),
            channel: first_param(params),
        },
        b"NOTICE" => match queue_position(first_param(word(params).1)) {
            Some(pos) => IrcLine::Queued { pos },
            None => IrcLine::Other,
        },
        b"ERROR" => IrcLine::Error {
            reason: closing_reason(first_param(params)),
        },
        [b'4' | b'5', b'0'..=b'9', b'0'..=b'9'] if !HARMLESS.contains(&command) => {
            IrcLine::Refused { code: command }
        }
        _ => IrcLine::Other,
    }
}

/// The place in the text of a queue notice: the number just before ` in the queue`.
fn queue_position(text: &[u8]) -> Option<u64> {
    let end = memmem::find(text, b" in the queue")?;
    let digits = text[..end]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    wire::parse_u64(&text[end - digits..end])
}

/// The reason in an `ERROR` text: what its last parentheses hold, else the whole text.
fn closing_reason(text: &[u8]) -> &[u8] {
    let Some(close) = memchr::memrchr(b')', text) else {
        return text;
    };
    match memchr::memrchr(b'(', &text[..close]) {
        Some(open) => &text[open + 1..close],
        None => text,
    }
}

/// Appends the registration of `nick`: `NICK`, then `USER` with the nick as user name
/// and real name (mode 0, as RFC 2812 asks of a client that wants none).
pub fn write_register(out: &mut Vec<u8>, nick: &[u8]) {
    out.extend_from_slice(b"NICK ");
    out.extend_from_slice(nick);
    out.extend_from_slice(b"\r\nUSER ");
    out.extend_from_slice(nick);
    out.extend_from_slice(b" 0 * :");
    out.extend_from_slice(nick);
    out.extend_from_slice(b"\r\n");
}

/// Appends `<command> <channel>`: a `JOIN` or a `PART`.
pub fn write_channel_command(out: &mut Vec<u8>, command: &[u8], channel: &[u8]) {
    out.extend_from_slice(command);
    out.push(b' ');
    out.extend_from_slice(channel);
    out.extend_from_slice(b"\r\n");
}

/// Appends the answer to `PING :<token>`.
pub fn write_pong(out: &mut Vec<u8>, token: &[u8]) {
    out.extend_from_slice(b"PONG :");
    out.extend_from_slice(token);
    out.extend_from_slice(b"\r\n");
}

/// The channel of a parley room: `#<room>`.
pub fn channel(room: &str) -> String {
    format!("#{room}")
}

/// What precedes a message's text when it is said in `channel`.
pub fn privmsg_prefix(channel: &str) -> Vec<u8> {
    format!("PRIVMSG {channel} :").into_bytes()
}

/// Appends `prefix` (see [`privmsg_prefix`]), the payload as text of `text_len` bytes
/// (as [`wire::write_message`] writes it) and CRLF.
#[inline]
pub fn write_message(out: &mut Vec<u8>, prefix: &[u8], p: &Payload, text_len: usize) {
    wire::write_text(out, prefix, p, text_len);
    out.extend_from_slice(b"\r\n");
}

/// The longest message text that fits one IRC line in `channel` from a nick of up to
/// `nick_len`, both as sent and as relayed: the server puts `:nick!user@host ` in
/// front of what it relays, with a user name of up to `nick_len + 1` (the nick, which
/// the loadgen gives as its user name, and the `~` of a user without ident) and a host
/// of up to [`MAX_HOST`]. 0 when nothing fits.
pub fn max_text_len(nick_len: usize, channel: &str) -> usize {
    let relayed_prefix = 1 + nick_len + 1 + (nick_len + 1) + 1 + MAX_HOST + 1;
    let command = "PRIVMSG ".len() + channel.len() + " :".len();
    MAX_LINE.saturating_sub(relayed_prefix + command + "\r\n".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_relayed_message_with_or_without_tags() {
        let want = IrcLine::Privmsg {
            source: b"l3f_12!~l3f_12@127.0.0.1",
            target: b"#l3f_r0",
            text: b"1 2 3 4 5 ....",
        };
        assert_eq!(
            parse_line(b":l3f_12!~l3f_12@127.0.0.1 PRIVMSG #l3f_r0 :1 2 3 4 5 ....\r"),
            want
        );
        assert_eq!(
            parse_line(
                b"@time=2026-12-06T10:00:00.000Z;msgid=x :l3f_12!~l3f_12@127.0.0.1 PRIVMSG #l3f_r0 :1 2 3 4 5 ...."
            ),
            want
        );
        // Runs of spaces between parameters, and a one-word text without its colon.
        assert_eq!(
            parse_line(b":a!b@c  PRIVMSG   bob  hi"),
            IrcLine::Privmsg {
                source: b"a!b@c",
                target: b"bob",
                text: b"hi"
            }
        );
        // The trailing parameter keeps its own spaces and colons.
        assert_eq!(
            parse_line(b":a!b@c PRIVMSG #x :: two  spaces :"),
            IrcLine::Privmsg {
                source: b"a!b@c",
                target: b"#x",
                text: b": two  spaces :"
            }
        );
        assert_eq!(
            parse_line(b":srv PRIVMSG l3f_1 :\x01VERSION\x01"),
            IrcLine::Other
        );
        assert_eq!(nick(b"l3f_12!~l3f_12@127.0.0.1"), b"l3f_12");
        assert_eq!(nick(b"irc.example"), b"irc.example");
    }

    #[test]
    fn parses_what_setup_needs() {
        assert_eq!(
            parse_line(b":irc.test 001 l3f_1 :Welcome to the network l3f_1!~l3f_1@127.0.0.1"),
            IrcLine::Welcome
        );
        for join in [
            &b":l3f_1!~l3f_1@127.0.0.1 JOIN :#l3f_r0"[..],
            b":l3f_1!~l3f_1@127.0.0.1 JOIN #l3f_r0",
            b"@account=x :l3f_1!u@h JOIN #l3f_r0 * :real name",
        ] {
            assert_eq!(
                parse_line(join),
                IrcLine::Join {
                    nick: b"l3f_1",
                    channel: b"#l3f_r0"
                },
                "{}",
                String::from_utf8_lossy(join)
            );
        }
        assert_eq!(
            parse_line(b"PING :irc.test"),
            IrcLine::Ping { token: b"irc.test" }
        );
        assert_eq!(
            parse_line(b":irc.test PING 12345"),
            IrcLine::Ping { token: b"12345" }
        );
        assert_eq!(
            parse_line(b":irc.parley NOTICE * :We are dealing with a large number of users and you are number 17 in the queue"),
            IrcLine::Queued { pos: 17 }
        );
        assert_eq!(
            parse_line(b":irc.test NOTICE * :*** Looking up your hostname"),
            IrcLine::Other
        );
        assert_eq!(
            parse_line(b"ERROR :Closing link (sendq)"),
            IrcLine::Error { reason: b"sendq" }
        );
        assert_eq!(
            parse_line(b"ERROR :Closing connection"),
            IrcLine::Error {
                reason: b"Closing connection"
            }
        );
        assert_eq!(
            parse_line(b":irc.test 433 * l3f_1 :Nickname already in use"),
            IrcLine::Refused { code: b"433" }
        );
        assert_eq!(
            parse_line(b":irc.test 404 l3f_1 #l3f_r0 :Cannot send to channel"),
            IrcLine::Refused { code: b"404" }
        );
    }

    #[test]
    fn ignores_what_the_scenarios_do_not_need() {
        for line in [
            &b":irc.test 002 l3f_1 :Your host is irc.test"[..],
            b":irc.test 005 l3f_1 NICKLEN=9 CHANTYPES=# :are supported",
            b":irc.test 251 l3f_1 :There are 2 users",
            b":irc.test 375 l3f_1 :- irc.test message of the day",
            b":irc.test 372 l3f_1 :- hello",
            b":irc.test 376 l3f_1 :End of MOTD command",
            b":irc.test 422 l3f_1 :MOTD File is missing",
            b":irc.test 443 l3f_1 l3f_1 #lobby :is already on channel",
            b":irc.test 353 l3f_1 = #l3f_r0 :l3f_1 @l3f_0",
            b":irc.test 366 l3f_1 #l3f_r0 :End of NAMES list",
            b":irc.test 331 l3f_1 #l3f_r0 :No topic is set",
            b":irc.test 332 l3f_1 #l3f_r0 :a topic",
            b":l3f_0!u@h MODE #l3f_r0 +o l3f_0",
            b":l3f_0!u@h PART #lobby",
            b":l3f_0!u@h QUIT :bye",
            b":parley!parley@irc.parley NOTICE l3f_1 :hello",
            b"CAP * LS :sasl",
            b":irc.test 600 x :not an error",
            b":irc.test 40 x :two digits",
            b"",
            b":only-a-source",
        ] {
            assert_eq!(
                parse_line(line),
                IrcLine::Other,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn writes_registration_join_part_and_pong() {
        let mut out = Vec::new();
        write_register(&mut out, b"l3f_7");
        write_channel_command(&mut out, b"JOIN", b"#l3f_r0");
        write_channel_command(&mut out, b"PART", LOBBY);
        write_pong(&mut out, b"irc.test");
        assert_eq!(
            out,
            b"NICK l3f_7\r\nUSER l3f_7 0 * :l3f_7\r\nJOIN #l3f_r0\r\nPART #lobby\r\nPONG :irc.test\r\n"
        );
    }

    #[test]
    fn a_message_survives_the_round_trip_through_a_relay() {
        let p = Payload {
            sender: 3,
            slot: 2,
            seq: 99,
            sched_ns: 123_456_789,
            sent_ns: 123_456_999,
        };
        let channel = channel("l3f_r0");
        let mut out = Vec::new();
        write_message(&mut out, &privmsg_prefix(&channel), &p, 99);
        assert!(out.starts_with(b"PRIVMSG #l3f_r0 :3 2 99 "), "{out:?}");
        assert!(out.ends_with(b"...\r\n"));
        assert_eq!(out.len(), "PRIVMSG #l3f_r0 :".len() + 99 + 2);
        // What a server relays: its prefix, then the line as sent.
        let mut relayed = b":l3f_3!~l3f_3@127.0.0.1 ".to_vec();
        relayed.extend_from_slice(&out[..out.len() - 1]);
        let IrcLine::Privmsg { text, .. } = parse_line(&relayed) else {
            panic!("not a PRIVMSG");
        };
        assert_eq!(wire::parse_payload(text), Some(p));
    }

    #[test]
    fn the_longest_text_fits_as_sent_and_as_relayed() {
        let channel = channel("l3f_r0");
        let max = max_text_len(RFC_NICK_LEN, &channel);
        let sent = privmsg_prefix(&channel).len() + max + 2;
        let relayed = format!(
            ":{n}!~{n}@{h} ",
            n = "x".repeat(9),
            h = "h".repeat(MAX_HOST)
        );
        assert_eq!(relayed.len() + sent, MAX_LINE);
        assert!(max_text_len(32, &channel) < max);
        assert_eq!(max_text_len(500, &channel), 0);
    }
}
