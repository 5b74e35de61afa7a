//! The seed programs' users file (`--accounts-file`): the accounts, read at start and
//! on SIGHUP.
//!
//! # Format
//!
//! ```text
//! # comment
//! alice:correct horse battery staple
//! bob:$argon2id$v=19$m=19456,t=2,p=1$...$...
//! ```
//!
//! One `name:password` per line. Blank lines (only spaces and tabs) and lines starting
//! with `#` are ignored. The name is everything before the first `:` and must be a
//! valid parley name, unique ignoring ASCII case; the password is everything after it,
//! colons and spaces included (only the line ending, `\n` or `\r\n`, is removed). A
//! password starting with `$argon2` must be a PHC hash; any other non-empty one is
//! clear text.
//!
//! Error messages name the line and never show a password or a hash.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::hub::names::Folded;
use crate::password::{parse_phc, Credential, Password};

/// One account from the file.
#[derive(Debug, Clone)]
pub struct FileAccount {
    /// The name as spelled in the file.
    pub name: String,
    /// Its password: a PHC hash, or clear text.
    pub credential: Credential,
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct UsersFile {
    /// The accounts, in file order.
    pub accounts: Vec<FileAccount>,
    /// how many hold clear-text passwords (the server warns at start)
    pub clear_text: usize,
}

/// Why a file was refused: always names the 1-based line number where it applies.
#[derive(Debug)]
pub enum UsersFileError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line breaks the format.
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: LineProblem,
    },
}

/// What is wrong with a line of a users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// The line has no `:` between name and password.
    NoColon,
    /// The text before the first `:` is not a valid name.
    BadName(String),
    /// The name (ignoring case) is already on an earlier line.
    RepeatedName {
        /// The name as spelled on this line.
        name: String,
        /// The line that has it first.
        first_line: usize,
    },
    /// Nothing after the `:`.
    EmptyPassword,
    /// The password starts with `$argon2` but is not a usable PHC hash.
    BadHash,
    /// The line is not UTF-8.
    NotUtf8,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineProblem::NoColon => f.write_str("no ':' between name and password"),
            // Debug formatting quotes the name and escapes control characters, so a
            // stray byte cannot garble the log line.
            LineProblem::BadName(name) => write!(f, "the name {name:?} is not a valid name"),
            LineProblem::RepeatedName { name, first_line } => write!(
                f,
                "the name {name:?} is already on line {first_line} (names ignore case)"
            ),
            LineProblem::EmptyPassword => f.write_str("the password is empty"),
            LineProblem::BadHash => {
                f.write_str("the password starts with $argon2 but is not a valid PHC hash")
            }
            LineProblem::NotUtf8 => f.write_str("the line is not UTF-8"),
        }
    }
}

impl fmt::Display for UsersFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsersFileError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            UsersFileError::Line { line, problem } => write!(f, "line {line}: {problem}"),
        }
    }
}

impl std::error::Error for UsersFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UsersFileError::Io { source, .. } => Some(source),
            UsersFileError::Line { .. } => None,
        }
    }
}

/// Parses a users file's contents.
pub fn parse(bytes: &[u8]) -> Result<UsersFile, UsersFileError> {
    let mut file = UsersFile::default();
    // Folded name → the line that holds it, to refuse a repeat in any case.
    let mut seen: HashMap<Box<str>, usize> = HashMap::new();
    for (index, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let refuse = |problem| UsersFileError::Line { line, problem };
        let raw = strip_line_ending(raw);
        let text = std::str::from_utf8(raw).map_err(|_| refuse(LineProblem::NotUtf8))?;
        if text.bytes().all(|b| b == b' ' || b == b'\t') || text.starts_with('#') {
            continue;
        }
        let (name, password) = text
            .split_once(':')
            .ok_or_else(|| refuse(LineProblem::NoColon))?;
        // Folded::new checks the name with the rule of every protocol
        // (hub::names::is_valid_name) and gives the key that ignores case.
        let folded = Folded::new(name).ok_or_else(|| refuse(LineProblem::BadName(name.into())))?;
        if let Some(&first_line) = seen.get(folded.as_str()) {
            return Err(refuse(LineProblem::RepeatedName {
                name: name.into(),
                first_line,
            }));
        }
        let credential = if password.is_empty() {
            return Err(refuse(LineProblem::EmptyPassword));
        } else if password.starts_with("$argon2") {
            Credential::Phc(parse_phc(password).map_err(|_| refuse(LineProblem::BadHash))?)
        } else {
            file.clear_text += 1;
            Credential::Clear(Password::new(password.to_owned()))
        };
        seen.insert(folded.as_str().into(), line);
        file.accounts.push(FileAccount {
            name: name.to_owned(),
            credential,
        });
    }
    Ok(file)
}

/// Reads and parses the users file at `path`.
pub fn load(path: &Path) -> Result<UsersFile, UsersFileError> {
    // Zeroizing: the file may hold clear-text passwords; the copy read is wiped once
    // parsed (the accounts keep their own, wiped in turn).
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| UsersFileError::Io {
        path: path.to_owned(),
        source,
    })?);
    parse(&bytes)
}

/// `raw` without its `\n` or `\r\n` (a lone `\r` is part of the line).
fn strip_line_ending(raw: &[u8]) -> &[u8] {
    match raw {
        [rest @ .., b'\r', b'\n'] | [rest @ .., b'\n'] => rest,
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{HashParams, Hasher};

    fn hasher() -> Hasher {
        Hasher::new(HashParams {
            memory_kib: 64,
            passes: 1,
            lanes: 1,
        })
        .unwrap()
    }

    fn clear(account: &FileAccount) -> &str {
        match &account.credential {
            Credential::Clear(password) => password.as_str(),
            Credential::Phc(_) => panic!("{} is hashed", account.name),
        }
    }

    fn line_problem(bytes: &[u8]) -> (usize, LineProblem) {
        match parse(bytes) {
            Err(UsersFileError::Line { line, problem }) => (line, problem),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_names_and_clear_passwords() {
        let file = parse(b"alice:wonderland\nbob:builder\n").unwrap();
        assert_eq!(file.accounts.len(), 2);
        assert_eq!(file.clear_text, 2);
        assert_eq!(file.accounts[0].name, "alice");
        assert_eq!(clear(&file.accounts[0]), "wonderland");
        assert_eq!(file.accounts[1].name, "bob");
        assert_eq!(clear(&file.accounts[1]), "builder");
    }

    #[test]
    fn password_keeps_colons_and_spaces() {
        let file = parse(b"alice: pass:word  with spaces\t\nbob:::\n").unwrap();
        assert_eq!(clear(&file.accounts[0]), " pass:word  with spaces\t");
        assert_eq!(clear(&file.accounts[1]), "::");
    }

    #[test]
    fn skips_blank_lines_and_comments() {
        let file = parse(b"# accounts\n\n  \t \nalice:one\n#bob:two\n\ncarol:#three\n").unwrap();
        let names: Vec<&str> = file.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["alice", "carol"]);
        assert_eq!(clear(&file.accounts[1]), "#three");
    }

    #[test]
    fn strips_crlf_and_takes_a_last_line_without_ending() {
        let file = parse(b"alice:one\r\n\r\nbob:two\r\ncarol:three").unwrap();
        assert_eq!(clear(&file.accounts[0]), "one");
        assert_eq!(clear(&file.accounts[1]), "two");
        assert_eq!(clear(&file.accounts[2]), "three");
        // Only a whole line ending goes: a lone \r is part of the password.
        let file = parse(b"alice:one\r").unwrap();
        assert_eq!(clear(&file.accounts[0]), "one\r");
    }

    #[test]
    fn empty_file_has_no_accounts() {
        let file = parse(b"").unwrap();
        assert!(file.accounts.is_empty());
        assert_eq!(file.clear_text, 0);
        assert!(parse(b"# nobody yet\n\n").unwrap().accounts.is_empty());
    }

    #[test]
    fn reads_phc_hashes() {
        let hasher = hasher();
        let phc = hasher
            .hash(&Password::new("correct horse".to_owned()))
            .unwrap();
        let text = format!("alice:{phc}\nbob:clear text\n");
        let file = parse(text.as_bytes()).unwrap();
        assert_eq!(file.clear_text, 1);
        match &file.accounts[0].credential {
            Credential::Phc(read) => assert_eq!(**read, *phc),
            other => panic!("{other:?}"),
        }
        let verdict = hasher.verify(
            Some(&file.accounts[0].credential),
            &Password::new("correct horse".to_owned()),
        );
        assert!(verdict.ok);
    }

    #[test]
    fn refuses_a_bad_hash() {
        let text = b"alice:one\nbob:$argon2id$v=19$m=64,t=1,p=1$broken\n";
        assert_eq!(line_problem(text), (2, LineProblem::BadHash));
        assert_eq!(line_problem(b"bob:$argon2\n"), (1, LineProblem::BadHash));
        // Not $argon2: clear text, however it looks.
        let file = parse(b"bob:$argon1$x\n").unwrap();
        assert_eq!(clear(&file.accounts[0]), "$argon1$x");
    }

    #[test]
    fn refuses_a_line_without_colon() {
        assert_eq!(
            line_problem(b"alice:one\n\n# c\nbob two\n"),
            (4, LineProblem::NoColon)
        );
        // A comment starts the line: an indented # is not one.
        assert_eq!(line_problem(b"  # note\n"), (1, LineProblem::NoColon));
    }

    #[test]
    fn refuses_a_bad_name() {
        assert_eq!(
            line_problem(b"alice:one\nb c:two\n"),
            (2, LineProblem::BadName("b c".into()))
        );
        assert_eq!(
            line_problem(b":nameless\n"),
            (1, LineProblem::BadName(String::new()))
        );
        assert_eq!(
            line_problem(b" alice:one\n"),
            (1, LineProblem::BadName(" alice".into()))
        );
        let long = format!("{}:pw\n", "a".repeat(33));
        assert_eq!(
            line_problem(long.as_bytes()),
            (1, LineProblem::BadName("a".repeat(33)))
        );
    }

    #[test]
    fn refuses_a_repeated_name_in_any_case() {
        assert_eq!(
            line_problem(b"alice:one\nbob:two\n\nALICE:three\n"),
            (
                4,
                LineProblem::RepeatedName {
                    name: "ALICE".into(),
                    first_line: 1
                }
            )
        );
    }

    #[test]
    fn refuses_an_empty_password() {
        assert_eq!(
            line_problem(b"alice:one\nbob:\r\n"),
            (2, LineProblem::EmptyPassword)
        );
    }

    #[test]
    fn refuses_invalid_utf8() {
        assert_eq!(
            line_problem(b"alice:one\r\nbob:caf\xe9\r\n"),
            (2, LineProblem::NotUtf8)
        );
    }

    #[test]
    fn messages_name_the_line_and_never_the_password() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"ok:x\nsecret-one\n",
                "line 2: no ':' between name and password",
            ),
            (
                b"b c:secret-one\n",
                "line 1: the name \"b c\" is not a valid name",
            ),
            (
                b"bob:x\nBob:secret-one\n",
                "line 2: the name \"Bob\" is already on line 1 (names ignore case)",
            ),
            (
                b"bob:$argon2id$secret-one\n",
                "line 1: the password starts with $argon2 but is not a valid PHC hash",
            ),
            (b"bob:secret-one\xff\n", "line 1: the line is not UTF-8"),
        ];
        for (bytes, expected) in cases {
            let message = parse(bytes).unwrap_err().to_string();
            assert_eq!(message, expected);
            assert!(!message.contains("secret"), "{message}");
        }
        assert_eq!(
            parse(b"\n\nbob:\n").unwrap_err().to_string(),
            "line 3: the password is empty"
        );
    }

    #[test]
    fn debug_of_accounts_shows_no_password() {
        let file = parse(b"alice:secret-one\n").unwrap();
        let printed = format!("{file:?}");
        assert!(printed.contains("alice"), "{printed}");
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn load_reads_a_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "alice:one\n").unwrap();
        assert_eq!(load(&path).unwrap().accounts[0].name, "alice");
        let missing = dir.path().join("missing");
        let error = load(&missing).unwrap_err();
        assert!(matches!(error, UsersFileError::Io { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{error}"
        );
    }
}
