//! The loadgen's error type: things that stop a run before or while it is set up.
//! Problems found in the server under test are never errors here; they go into the
//! report, which is the whole point of the tool.

use std::fmt;
use std::io;

/// Why the loadgen could not run.
#[derive(Debug)]
pub enum Error {
    /// The options do not make a runnable scenario.
    Usage(String),
    /// A system call the loadgen itself needs failed.
    Io {
        /// What the loadgen was doing.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// Nothing accepted the probe connection at the server's address.
    Unreachable {
        /// The server's address.
        addr: std::net::SocketAddr,
        /// Why the connection failed.
        source: io::Error,
    },
    /// Only loopback addresses may be targeted or used as sources.
    NotLoopback(std::net::IpAddr),
    /// The open-file limit cannot hold the requested number of clients.
    FdLimit {
        /// Descriptors the run needs.
        wanted: u64,
        /// Descriptors the limit allows.
        got: u64,
    },
}

impl Error {
    /// Wraps an I/O error with what the loadgen was doing.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::Unreachable { addr, source } => {
                write!(f, "cannot connect to {addr}: ")?;
                if source.kind() == io::ErrorKind::ConnectionRefused {
                    // The usual cause on loopback: nothing listens on that port.
                    write!(f, "connection refused (is parley-server running?)")
                } else {
                    write!(f, "{source}")
                }
            }
            Error::NotLoopback(ip) => write!(
                f,
                "{ip} is not a loopback address; parley-loadgen only talks to this machine"
            ),
            Error::FdLimit { wanted, got } => write!(
                f,
                "need {wanted} open files but the limit is {got}; lower --clients or raise the hard limit"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Unreachable { source, .. } => Some(source),
            _ => None,
        }
    }
}
