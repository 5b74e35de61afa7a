//! Passwords: held so that they are wiped from memory once used, written as one
//! argument of the wire grammar, read from a terminal without being shown, and taken
//! from the environment or a file for scripts.
//!
//! Every password the client handles lives in a [`Secret`], which zeroes its bytes
//! when dropped and never prints them (its `Debug` says `<hidden>`). Lines that carry
//! a password are built in a `Secret` too, with their capacity reserved up front, so
//! that growing the string leaves no stray copy behind in freed memory. This is best
//! effort: the environment variable, the kernel's pipe buffers and the line editor's
//! own buffer (for a password typed inline) are out of the client's reach.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use zeroize::{Zeroize as _, Zeroizing};

/// The environment variable a script can give the `--name` account's password in.
pub const PASSWORD_ENV: &str = "PARLEY_PASSWORD";

/// The longest password the server accepts, in bytes (a longer one is `bad-args`):
/// typing stops there, and the reading buffer never has to grow.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password, or a line holding one: wiped when dropped, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Takes ownership of `text` (no copy is made).
    pub fn new(text: String) -> Secret {
        Secret(Zeroizing::new(text))
    }

    /// An empty secret that can grow to `capacity` bytes without moving.
    pub fn with_capacity(capacity: usize) -> Secret {
        Secret::new(String::with_capacity(capacity))
    }

    /// The text, for sending; never for showing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Appends plain text. Callers reserve the capacity first (see the module docs).
    pub fn push_str(&mut self, text: &str) {
        self.0.push_str(text);
    }

    /// Appends `word` as one argument of the grammar (see [`quote_into`]).
    pub fn push_word(&mut self, word: &str) {
        quote_into(&mut self.0, word);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// The bytes `word` takes once quoted, at most: for reserving capacity.
pub fn quoted_len(word: &str) -> usize {
    2 * word.len() + 2
}

/// Whether `word` must be quoted to reach the server as one argument: an empty word,
/// a space (which would end it), or a quote or backslash (the quoting characters;
/// quoting them always is simpler than knowing where they would be literal).
fn needs_quotes(word: &str) -> bool {
    word.is_empty() || word.contains([' ', '"', '\\'])
}

/// Appends `word` to `out` as one argument of the wire grammar: as it is when that is
/// unambiguous, otherwise in double quotes with `\"` and `\\` as the escapes.
pub fn quote_into(out: &mut String, word: &str) {
    if !needs_quotes(word) {
        out.push_str(word);
        return;
    }
    out.push('"');
    for c in word.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Splits the arguments of a command line as the server's grammar does: words
/// separated by runs of spaces, a word in double quotes holding spaces with `\"` and
/// `\\` as its escapes. Returns `None` for what the server refuses as `bad-args` (an
/// unterminated quote, or text right after a closing quote), so the caller can send
/// the line as typed and let the server say so. Each word is a [`Secret`]: any of
/// them may be a password.
pub fn split_words(rest: &str) -> Option<Vec<Secret>> {
    let mut words = Vec::new();
    let mut rest = rest.trim_start_matches(' ');
    while !rest.is_empty() {
        let mut word = Secret::with_capacity(rest.len());
        if let Some(body) = rest.strip_prefix('"') {
            let mut chars = body.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' if matches!(body[i + 1..].chars().next(), Some('"' | '\\')) => {
                        let (_, escaped) = chars.next()?;
                        word.0.push(escaped);
                    }
                    c => word.0.push(c),
                }
            }
            let after = &body[end?..];
            if !(after.is_empty() || after.starts_with(' ')) {
                return None;
            }
            rest = after;
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            word.push_str(&rest[..end]);
            rest = &rest[end..];
        }
        words.push(word);
        rest = rest.trim_start_matches(' ');
    }
    Some(words)
}

/// What a key did to a password being typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Keep reading.
    More,
    /// Enter: the password is complete.
    Done,
    /// Ctrl-C: give up on this command.
    Cancel,
    /// Ctrl-D on an empty password: the end of input.
    End,
}

/// Where an escape sequence (an arrow key, a bracketed-paste marker) stands; its
/// bytes are dropped, never taken into the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// Not in one.
    None,
    /// After ESC.
    Start,
    /// After `ESC [`: parameters until a final byte.
    Csi,
    /// After `ESC O`: one more byte.
    Ss3,
}

/// A password typed key by key with echo off: the keys a terminal's line mode would
/// handle (Backspace, Ctrl-U, Enter, Ctrl-C, Ctrl-D) handled here, since the terminal
/// is put in a mode where it handles none of them (so that Ctrl-C cannot kill the
/// client while echo is off). Pure: fed bytes, it says what to do.
pub struct HiddenLine {
    /// The bytes so far; never grows past its first allocation.
    typed: Zeroizing<Vec<u8>>,
    /// Escape sequence being skipped.
    escape: Escape,
}

impl Default for HiddenLine {
    fn default() -> Self {
        Self::new()
    }
}

impl HiddenLine {
    /// An empty password.
    pub fn new() -> HiddenLine {
        HiddenLine {
            typed: Zeroizing::new(Vec::with_capacity(MAX_PASSWORD_BYTES)),
            escape: Escape::None,
        }
    }

    /// Takes one byte from the terminal.
    pub fn feed(&mut self, byte: u8) -> Key {
        match self.escape {
            Escape::Start => {
                self.escape = match byte {
                    b'[' => Escape::Csi,
                    b'O' => Escape::Ss3,
                    _ => Escape::None,
                };
                return Key::More;
            }
            Escape::Csi => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return Key::More;
            }
            Escape::Ss3 => {
                self.escape = Escape::None;
                return Key::More;
            }
            Escape::None => {}
        }
        match byte {
            b'\r' | b'\n' => Key::Done,
            0x03 => Key::Cancel,
            0x04 if self.typed.is_empty() => Key::End,
            0x1b => {
                self.escape = Escape::Start;
                Key::More
            }
            0x7f | 0x08 => {
                self.erase_char();
                Key::More
            }
            // Ctrl-U: start again.
            0x15 => {
                self.typed.zeroize();
                Key::More
            }
            b'\t' | 0x20.. if self.typed.len() < MAX_PASSWORD_BYTES => {
                self.typed.push(byte);
                Key::More
            }
            // Other control keys, and anything past the longest password.
            _ => Key::More,
        }
    }

    /// Removes the last character (all its UTF-8 bytes), wiping them.
    fn erase_char(&mut self) {
        while let Some(last) = self.typed.last_mut() {
            let lead = *last & 0xc0 != 0x80;
            *last = 0;
            self.typed.pop();
            if lead {
                break;
            }
        }
    }

    /// The password typed, or `None` if it is not UTF-8 (the bytes are wiped either
    /// way).
    pub fn finish(mut self) -> Option<Secret> {
        let bytes = std::mem::take(&mut *self.typed);
        match String::from_utf8(bytes) {
            Ok(text) => Some(Secret::new(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                None
            }
        }
    }
}

/// The password in [`PASSWORD_ENV`], if it is set (and is text).
pub fn from_env() -> Option<Secret> {
    std::env::var(PASSWORD_ENV).ok().map(Secret::new)
}

/// The first line of the file at `path`, without its line ending: a password file.
pub fn from_file(path: &Path) -> io::Result<Secret> {
    let bytes = Zeroizing::new(fs::read(path)?);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut secret = Secret::with_capacity(line.len());
    let text = std::str::from_utf8(line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the password is not UTF-8"))?;
    secret.push_str(text);
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(word: &str) -> String {
        let mut out = String::new();
        quote_into(&mut out, word);
        assert!(out.len() <= quoted_len(word), "{out:?}");
        out
    }

    fn words(rest: &str) -> Option<Vec<String>> {
        split_words(rest).map(|w| w.iter().map(|s| s.expose().to_owned()).collect())
    }

    #[test]
    fn quoting_follows_the_grammar() {
        assert_eq!(quoted("secret"), "secret");
        assert_eq!(quoted("pass word"), "\"pass word\"");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(quoted("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(quoted("\"quoted\""), "\"\\\"quoted\\\"\"");
        assert_eq!(quoted("tab\there"), "tab\there");
        assert_eq!(quoted("ünïcode"), "ünïcode");
    }

    #[test]
    fn quoted_words_split_back_to_themselves() {
        for word in [
            "x",
            "pass word",
            "",
            "a\"b",
            "\\",
            "\\\"",
            " lead",
            "trail ",
            "\"\"",
        ] {
            let line = format!("{} tail", quoted(word));
            assert_eq!(
                words(&line),
                Some(vec![word.to_owned(), "tail".to_owned()]),
                "{line:?}"
            );
        }
    }

    #[test]
    fn splitting_matches_the_server() {
        assert_eq!(words(""), Some(vec![]));
        assert_eq!(words("   "), Some(vec![]));
        assert_eq!(
            words("alice  secret "),
            Some(vec!["alice".into(), "secret".into()])
        );
        assert_eq!(words("a\"b c"), Some(vec!["a\"b".into(), "c".into()]));
        assert_eq!(words("\"x\\y\""), Some(vec!["x\\y".into()]));
        assert_eq!(words("\"open"), None);
        assert_eq!(words("\"closed\"after"), None);
        assert_eq!(words("\"ends with\\\""), None);
    }

    #[test]
    fn typing_a_hidden_password() {
        let typed = |keys: &[u8]| {
            let mut line = HiddenLine::new();
            for &b in keys {
                let key = line.feed(b);
                if key != Key::More {
                    return (key, line.finish().map(|s| s.expose().to_owned()));
                }
            }
            panic!("no end in {keys:?}");
        };
        assert_eq!(typed(b"secret\r"), (Key::Done, Some("secret".into())));
        assert_eq!(typed(b"secret\n"), (Key::Done, Some("secret".into())));
        assert_eq!(typed(b"pass word\r"), (Key::Done, Some("pass word".into())));
        assert_eq!(typed(b"secrex\x7ft\r"), (Key::Done, Some("secret".into())));
        assert_eq!(typed(b"ab\x08\x08\x08c\r"), (Key::Done, Some("c".into())));
        assert_eq!(
            typed("pä\x7fa\r".as_bytes()),
            (Key::Done, Some("pa".into()))
        );
        assert_eq!(
            typed(b"wrong\x15right\r"),
            (Key::Done, Some("right".into()))
        );
        // Arrow keys and bracketed-paste markers are dropped, the paste kept.
        assert_eq!(
            typed(b"a\x1b[D\x1bOA\x1b[200~pasted\x1b[201~\r"),
            (Key::Done, Some("apasted".into()))
        );
        assert_eq!(typed(b"x\x01\x02y\r"), (Key::Done, Some("xy".into())));
        assert_eq!(typed(b"half\x03").0, Key::Cancel);
        assert_eq!(typed(b"\x04").0, Key::End);
        assert_eq!(typed(b"a\x04b\r"), (Key::Done, Some("ab".into())));
        assert_eq!(typed(b"\xff\r"), (Key::Done, None));
        let long = [b'x'; MAX_PASSWORD_BYTES + 10];
        let mut line = HiddenLine::new();
        for &b in &long {
            assert_eq!(line.feed(b), Key::More);
        }
        assert_eq!(line.feed(b'\r'), Key::Done);
        assert_eq!(
            line.finish().map(|s| s.expose().len()),
            Some(MAX_PASSWORD_BYTES)
        );
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret(<hidden>)");
        let mut line = Secret::with_capacity(32);
        line.push_str("/login alice ");
        line.push_word("pass word");
        assert_eq!(line.expose(), "/login alice \"pass word\"");
    }

    #[test]
    fn password_files_give_their_first_line() {
        let dir = std::env::temp_dir().join(format!("parley-client-pw-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("pw");
        for (content, expected) in [
            ("pass word\n", "pass word"),
            ("crlf\r\nsecond line\n", "crlf"),
            ("no newline", "no newline"),
            ("\n", ""),
            ("", ""),
        ] {
            fs::write(&file, content).expect("write");
            assert_eq!(from_file(&file).expect("read").expose(), expected);
        }
        fs::write(&file, b"\xff\n").expect("write");
        assert_eq!(
            from_file(&file).map(|_| ()).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let _ = fs::remove_dir_all(&dir);
        assert!(from_file(&dir.join("missing")).is_err());
    }
}
