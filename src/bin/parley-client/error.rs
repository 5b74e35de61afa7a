//! The ways the client can fail, and the single exit path that reports them.

use std::fmt;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::tls::SetupError;
use crate::transport::ConnectError;
use crate::tty;

/// Why the client stops with a non-zero exit status.
#[derive(Debug)]
pub enum ClientError {
    /// The address could not be resolved.
    Resolve {
        /// The address as given.
        addr: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// TLS was asked for (`--tls`, `--ca`) but cannot be set up: no certificates to
    /// trust, or no name to check the server's against.
    Tls(SetupError),
    /// No connection could be made: none over TCP, or the TLS handshake failed (an
    /// untrusted, expired or mismatched certificate, a server without TLS).
    Connect {
        /// The address as given.
        addr: String,
        /// The last connection error.
        source: ConnectError,
    },
    /// The connection broke or the server closed it without saying `BYE`.
    Lost {
        /// The address as given.
        addr: String,
        /// The socket error, if there was one (none for a plain close).
        source: Option<io::Error>,
    },
    /// The server said `BYE` for a reason other than our `/quit` (rendered text).
    Closed(String),
    /// The terminal line editor failed.
    Terminal(rustyline::error::ReadlineError),
    /// Reading standard input failed.
    Stdin(io::Error),
    /// The `--password-file` could not be read.
    PasswordFile {
        /// The file as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The server refused the login given on the command line (`--name` with a
    /// password), in a script.
    LoginRefused {
        /// The account's name.
        name: String,
        /// The error code (`bad-login`, `throttled`, ...).
        code: String,
        /// The server's explanation.
        text: String,
    },
    /// After a reconnection the server refused our name, in a script (a person is
    /// asked for another).
    Relogin {
        /// The name we had.
        name: String,
        /// The error code.
        code: String,
        /// The server's explanation.
        text: String,
    },
    /// `--reconnect-max` attempts to reconnect failed.
    GaveUp {
        /// The address as given.
        addr: String,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last one failed, if it failed to connect.
        last: Option<ConnectError>,
    },
    /// Not sent: there is no connection right now (it was lost, and is being made
    /// again). Handled by the front end, never an exit.
    Offline,
    /// The connection was lost after a line was sent and before the server answered
    /// it: it may or may not have arrived. Handled by the front end, never an exit.
    Unanswered,
    /// A script ran to its end, but this many of its lines were refused (by the
    /// server's `ERR`, or by the client for what it cannot send). Each refusal has
    /// been shown where it happened; this makes the exit status tell.
    Refused(u64),
}

/// An I/O error's text without the `(os error N)` suffix, which means nothing to
/// people using a chat client.
pub fn plain(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve { addr, source } => {
                write!(f, "cannot find server {addr}: {}", plain(source))
            }
            ClientError::Tls(e) => e.fmt(f),
            ClientError::Connect { addr, source } => {
                write!(f, "cannot connect to {addr}: {source}")
            }
            ClientError::Lost { addr, source: None } => {
                write!(f, "connection to {addr} lost: the server closed it")
            }
            ClientError::Lost {
                addr,
                source: Some(source),
            } => write!(f, "connection to {addr} lost: {}", plain(source)),
            ClientError::Closed(text) => f.write_str(text),
            ClientError::Terminal(err) => write!(f, "terminal error: {err}"),
            ClientError::Stdin(err) => write!(f, "cannot read input: {}", plain(err)),
            ClientError::PasswordFile { path, source } => write!(
                f,
                "cannot read the password file {}: {}",
                path.display(),
                plain(source)
            ),
            ClientError::LoginRefused { name, code, text } => {
                write!(f, "cannot log in as {name}: {}", refusal(code, text))
            }
            ClientError::Relogin { name, code, text } => write!(
                f,
                "reconnected, but cannot be {name} again: {}",
                refusal(code, text)
            ),
            ClientError::GaveUp {
                addr,
                attempts,
                last,
            } => {
                write!(
                    f,
                    "connection to {addr} lost: gave up after {attempts} attempts to reconnect"
                )?;
                match last {
                    Some(e) => write!(f, " (last: {e})"),
                    None => Ok(()),
                }
            }
            ClientError::Offline => f.write_str("not connected"),
            ClientError::Unanswered => {
                f.write_str("the connection was lost before the server answered")
            }
            ClientError::Refused(1) => f.write_str("1 input line was refused"),
            ClientError::Refused(n) => write!(f, "{n} input lines were refused"),
        }
    }
}

impl std::error::Error for ClientError {}

/// A refusal for people: `text (code)`, the server's text, or when it sent none,
/// what the code means for the codes of logging in.
fn refusal(code: &str, text: &str) -> String {
    let hint = match code {
        "bad-login" => "wrong name or password",
        "throttled" => "too many failed logins from this address; wait a minute",
        "name-taken" => "someone online has that name",
        "name-registered" => "that name is a registered account: log in with its password",
        "login-required" => "this server takes accounts only",
        "tls-required" => "this server takes passwords only over TLS",
        _ => "refused",
    };
    let text = if text.is_empty() { hint } else { text };
    let sane = crate::style::sanitize;
    format!("{} ({})", sane(text), sane(code))
}

/// Only the first failure is reported; a second thread failing at the same time
/// (the reader sees the close while the main thread sees a write error) waits here
/// until the process is gone.
static FAILING: Mutex<()> = Mutex::new(());

/// Puts the terminal back, prints `parley-client: <err>` on stderr and exits with
/// status 1. Safe to call from any thread.
pub fn fail(err: &ClientError) -> ! {
    let _only_once = FAILING.lock();
    tty::restore_for_exit();
    let _ = io::stdout().flush();
    eprintln!("parley-client: {err}");
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_readable_line() {
        let err = ClientError::Connect {
            addr: "127.0.0.1:7777".into(),
            source: ConnectError::Tcp(io::Error::from_raw_os_error(libc::ECONNREFUSED)),
        };
        assert_eq!(
            err.to_string(),
            "cannot connect to 127.0.0.1:7777: Connection refused"
        );
        let err = ClientError::Lost {
            addr: "h:1".into(),
            source: None,
        };
        assert_eq!(
            err.to_string(),
            "connection to h:1 lost: the server closed it"
        );
        assert_eq!(
            ClientError::Refused(2).to_string(),
            "2 input lines were refused"
        );
        let err = ClientError::LoginRefused {
            name: "alice".into(),
            code: "bad-login".into(),
            text: "Wrong name or password".into(),
        };
        assert_eq!(
            err.to_string(),
            "cannot log in as alice: Wrong name or password (bad-login)"
        );
        let err = ClientError::Relogin {
            name: "alice".into(),
            code: "name-taken".into(),
            text: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "reconnected, but cannot be alice again: someone online has that name (name-taken)"
        );
        let err = ClientError::GaveUp {
            addr: "h:1".into(),
            attempts: 3,
            last: Some(ConnectError::Tcp(io::Error::from_raw_os_error(
                libc::ECONNREFUSED,
            ))),
        };
        assert_eq!(
            err.to_string(),
            "connection to h:1 lost: gave up after 3 attempts to reconnect (last: Connection refused)"
        );
        let err = ClientError::Connect {
            addr: "localhost:7443".into(),
            source: ConnectError::Tls(crate::tls::HandshakeError::Closed),
        };
        assert_eq!(
            err.to_string(),
            "cannot connect to localhost:7443: the server closed the connection during the \
             TLS handshake (does it speak TLS on this port?)"
        );
    }
}
