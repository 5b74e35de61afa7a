//! The loadgen's error type: things that stop a run before or while it is set up.
//! Problems found in the server under test are never errors here; they go into the
//! report, which is the whole point of the tool.

use std::fmt;
use std::io;

use crate::cert::CertError;
use crate::tls::TlsError;

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
        /// The address was the one IRC clients use.
        irc: bool,
    },
    /// Only loopback addresses may be targeted or used as sources.
    NotLoopback(std::net::IpAddr),
    /// The TLS client settings could not be made from `--ca`.
    Tls(TlsError),
    /// The probe connection's TLS handshake failed: the server's certificate is not
    /// trusted or not for `--server-name`, or `--addr` does not speak TLS.
    Handshake {
        /// The server's address.
        addr: std::net::SocketAddr,
        /// What the handshake said.
        source: io::Error,
    },
    /// `make-cert` could not make or write the certificate.
    Cert(CertError),
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
            Error::Unreachable { addr, source, irc } => {
                write!(f, "cannot connect to {addr}: ")?;
                if source.kind() == io::ErrorKind::ConnectionRefused {
                    // The usual cause on loopback: nothing listens on that port.
                    if *irc {
                        write!(f, "connection refused (is the IRC server running? parley-server serves IRC with --irc-listen)")
                    } else {
                        write!(f, "connection refused (is parley-server running?)")
                    }
                } else {
                    write!(f, "{source}")
                }
            }
            Error::Tls(e) => write!(f, "{e}"),
            Error::Handshake { addr, source } => {
                write!(f, "TLS handshake with {addr} failed: {source}")?;
                // Say what usually causes it: a certificate problem, or a port that
                // does not speak TLS.
                let certificate = source
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>())
                    .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
                if certificate {
                    write!(
                        f,
                        " (is --ca the CA that signed the server's certificate, and --server-name a name in it?)"
                    )
                } else {
                    write!(f, " (is --addr the server's TLS port, its --tls-listen?)")
                }
            }
            Error::Cert(e) => write!(f, "{e}"),
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
            Error::Io { source, .. }
            | Error::Unreachable { source, .. }
            | Error::Handshake { source, .. } => Some(source),
            Error::Tls(e) => Some(e),
            Error::Cert(e) => Some(e),
            _ => None,
        }
    }
}
