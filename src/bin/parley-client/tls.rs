//! TLS for the connection to the server (`--tls`, `--ca`): which certificates are
//! trusted, which name the server's certificate must carry, and what a failed
//! handshake means in plain words. The bytes themselves are moved by
//! [`crate::transport`].
//!
//! Trust comes from this system's store of CA certificates unless `--ca FILE` names
//! the CAs to trust instead. The store is read with rustls-native-certs, which reads
//! the same files the system's other TLS clients (OpenSSL, curl) use on Linux and the
//! system's own store elsewhere: an administrator who adds a company CA there, or
//! points `SSL_CERT_FILE` at a bundle, is obeyed, and removed or added roots take
//! effect without rebuilding the client. A list compiled into the binary (the
//! webpki-roots crate) would go stale and know nothing of local CAs.
//!
//! The name checked is the host part of the address as the user gave it (see
//! [`crate::args::host`]): a DNS name against the certificate's DNS names, an IP
//! address against its IP address entries, never a name looked up or guessed.
//!
//! The cryptography is the provider the server uses, aws-lc-rs, with TLS 1.3 and 1.2.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, ClientConnection, RootCertStore};

use crate::error;

/// How long the handshake may take once the TCP connection is made; a server that
/// says nothing (or a plain-text server waiting for a line) is given up on then.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the CA certificates to trust come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// This system's store (see the module docs).
    System,
    /// Only the certificates in this PEM file (`--ca`).
    CaFile(PathBuf),
}

/// What every TLS connection to the server starts from: the session settings, and
/// the name the certificate must carry.
#[derive(Clone)]
pub struct TlsSetup {
    /// Settings shared by every session (the first and each reconnection).
    config: Arc<ClientConfig>,
    /// The name to verify, as rustls takes it.
    name: ServerName<'static>,
    /// The same name as the user wrote it, for messages.
    host: String,
    /// Where trust came from, for messages.
    trust: Trust,
}

/// Why TLS could not be set up before connecting.
#[derive(Debug)]
pub enum SetupError {
    /// The `--ca` file could not be read.
    CaRead {
        /// The file as given.
        path: PathBuf,
        /// What reading it said.
        source: io::Error,
    },
    /// The `--ca` file is not PEM.
    CaPem {
        /// The file as given.
        path: PathBuf,
        /// What was wrong with it.
        source: pem::Error,
    },
    /// The `--ca` file holds no `CERTIFICATE`.
    CaEmpty(PathBuf),
    /// A certificate of the `--ca` file cannot be a trust anchor.
    CaRejected {
        /// The file as given.
        path: PathBuf,
        /// What rustls said of it.
        source: rustls::Error,
    },
    /// The system's store gave no usable CA certificate.
    NoSystemRoots {
        /// The first problem met while reading it, if any.
        first_error: Option<rustls_native_certs::Error>,
    },
    /// The host part of the address is neither a DNS name nor an IP address, so no
    /// certificate could be checked against it.
    BadHost(String),
    /// rustls refused the settings (it should not: they are its defaults).
    Config(rustls::Error),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::CaRead { path, source } => write!(
                f,
                "cannot read the CA file {}: {}",
                path.display(),
                error::plain(source)
            ),
            SetupError::CaPem { path, source } => {
                write!(f, "the CA file {} is not PEM ({source})", path.display())
            }
            SetupError::CaEmpty(path) => write!(
                f,
                "the CA file {} holds no certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            SetupError::CaRejected { path, source } => write!(
                f,
                "the CA file {} holds a certificate that cannot be trusted as a CA: {source}",
                path.display()
            ),
            SetupError::NoSystemRoots { first_error } => {
                f.write_str("found no trusted CA certificates on this system")?;
                if let Some(e) = first_error {
                    write!(f, " ({e})")?;
                }
                f.write_str("; pass --ca FILE to name the CAs to trust")
            }
            SetupError::BadHost(host) => write!(
                f,
                "cannot check a TLS certificate for {}: not a host name or IP address",
                crate::style::sanitize(host)
            ),
            SetupError::Config(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for SetupError {}

impl TlsSetup {
    /// Reads the certificates to trust and builds the session settings for
    /// connections to `host` (the host part of the address).
    pub fn new(trust: Trust, host: &str) -> Result<TlsSetup, SetupError> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| SetupError::BadHost(host.to_owned()))?;
        let roots = match &trust {
            Trust::System => system_roots()?,
            Trust::CaFile(path) => file_roots(path)?,
        };
        let provider = Arc::new(aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(SetupError::Config)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsSetup {
            config: Arc::new(config),
            name,
            host: host.to_owned(),
            trust,
        })
    }

    /// A new client session for one connection.
    pub fn session(&self) -> Result<ClientConnection, rustls::Error> {
        ClientConnection::new(Arc::clone(&self.config), self.name.clone())
    }

    /// What a handshake that rustls failed with `error` means for the user.
    pub fn explain(&self, error: rustls::Error) -> HandshakeError {
        let certificate = match error {
            rustls::Error::InvalidCertificate(certificate) => certificate,
            rustls::Error::AlertReceived(alert) => return HandshakeError::Refused(alert),
            other => return HandshakeError::Protocol(other),
        };
        match certificate {
            CertificateError::UnknownIssuer => HandshakeError::UnknownIssuer {
                ca_file: match &self.trust {
                    Trust::System => None,
                    Trust::CaFile(path) => Some(path.clone()),
                },
            },
            CertificateError::BadSignature => HandshakeError::BadSignature,
            CertificateError::Expired => HandshakeError::Expired { not_after: None },
            CertificateError::ExpiredContext { not_after, .. } => HandshakeError::Expired {
                not_after: Some(not_after.as_secs()),
            },
            CertificateError::NotValidYet => HandshakeError::NotYetValid { not_before: None },
            CertificateError::NotValidYetContext { not_before, .. } => {
                HandshakeError::NotYetValid {
                    not_before: Some(not_before.as_secs()),
                }
            }
            CertificateError::NotValidForName => HandshakeError::WrongName {
                expected: self.host.clone(),
                presented: Vec::new(),
            },
            CertificateError::NotValidForNameContext { presented, .. } => {
                HandshakeError::WrongName {
                    expected: self.host.clone(),
                    presented: presented.iter().filter_map(|n| subject_name(n)).collect(),
                }
            }
            CertificateError::Other(other) if is_ca_used_as_server(&other) => {
                HandshakeError::CaAsServer
            }
            other => HandshakeError::Certificate(other),
        }
    }
}

/// Whether webpki refused the server's certificate for being a CA's. rustls passes
/// that on only as webpki's own error, whose text is its variant's name (a test of
/// the client sees a real one, so a change of that text does not go unnoticed); a
/// self-signed certificate made the usual way (`openssl req -x509`) is such a one.
fn is_ca_used_as_server(error: &rustls::OtherError) -> bool {
    error.0.to_string() == "CaUsedAsEndEntity"
}

/// The name a client can connect by in one of the certificate's subject names as
/// rustls reports them. rustls passes on webpki's debug text of each (`DnsName("a.b")`,
/// `IpAddress(10.0.0.1)`, `UniformResourceIdentifier("...")`); the DNS names and IP
/// addresses are what a user can type, the rest is left out. Text of another shape
/// (a later webpki) is kept as it is: odd to read, but not lost.
fn subject_name(presented: &str) -> Option<String> {
    if let Some(name) = presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
    {
        return Some(name.to_owned());
    }
    if let Some(ip) = presented
        .strip_prefix("IpAddress(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return Some(ip.to_owned());
    }
    let other_kind = [
        "DirectoryName",
        "UniformResourceIdentifier(",
        "Unsupported(",
    ]
    .iter()
    .any(|kind| presented.starts_with(kind));
    (!other_kind).then(|| presented.to_owned())
}

/// The system's CA certificates. Files of the store that cannot be read are passed
/// over (one broken file should not stop every TLS connection) as long as some
/// certificate could be used.
fn system_roots() -> Result<RootCertStore, SetupError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unusable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(SetupError::NoSystemRoots {
            first_error: found.errors.into_iter().next(),
        });
    }
    Ok(roots)
}

/// The CA certificates of the PEM file `path`, every one of which must be usable: a
/// file the user named is expected to mean what it says.
fn file_roots(path: &Path) -> Result<RootCertStore, SetupError> {
    let pem_error = |source: pem::Error| match source {
        pem::Error::Io(source) => SetupError::CaRead {
            path: path.to_owned(),
            source,
        },
        source => SetupError::CaPem {
            path: path.to_owned(),
            source,
        },
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certificates.is_empty() {
        return Err(SetupError::CaEmpty(path.to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|source| SetupError::CaRejected {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(roots)
}

/// Why a TLS handshake failed, in the terms a user can act on.
#[derive(Debug)]
pub enum HandshakeError {
    /// No trusted CA signed the server's certificate.
    UnknownIssuer {
        /// The `--ca` file that was trusted (`None`: the system's store).
        ca_file: Option<PathBuf>,
    },
    /// A signature does not verify: a trusted CA's name is on the certificate but
    /// its key did not sign it (another CA of the same name: one made again, say), or
    /// the handshake was signed with a key that is not the certificate's.
    BadSignature,
    /// The certificate has expired.
    Expired {
        /// When, in unix seconds, if rustls said.
        not_after: Option<u64>,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// From when, in unix seconds, if rustls said.
        not_before: Option<u64>,
    },
    /// The certificate is for other names than the one connected to.
    WrongName {
        /// The host part of the address as the user gave it.
        expected: String,
        /// The names the certificate is for (may be unknown: empty).
        presented: Vec<String>,
    },
    /// The server's certificate is marked as a CA's (self-signed as a CA, as `openssl
    /// req -x509` makes them, or an intermediate served alone), which no client
    /// accepts as a server's.
    CaAsServer,
    /// Another problem with the certificate (bad signature, revoked, wrong use...).
    Certificate(CertificateError),
    /// What came back was not TLS: a plain-text server, most likely.
    NotTls {
        /// The start of what the server sent (its first line, cut short), as it
        /// sent it; sanitised when shown.
        sent: String,
    },
    /// The server closed the connection before the handshake was done.
    Closed,
    /// The handshake did not finish within [`HANDSHAKE_TIMEOUT`].
    TimedOut,
    /// The server ended the handshake with an alert.
    Refused(AlertDescription),
    /// Any other TLS failure.
    Protocol(rustls::Error),
    /// The socket failed during the handshake.
    Io(io::Error),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sane = crate::style::sanitize;
        match self {
            HandshakeError::UnknownIssuer { ca_file: None } => f.write_str(
                "the server's certificate is not trusted (unknown issuer); \
                 pass --ca FILE if it is signed by your own CA",
            ),
            HandshakeError::UnknownIssuer {
                ca_file: Some(path),
            } => write!(
                f,
                "the server's certificate is not trusted (unknown issuer): \
                 no CA certificate in {} signed it",
                path.display()
            ),
            HandshakeError::BadSignature => f.write_str(
                "the server's certificate is not trusted (bad signature): the CA it names \
                 did not sign it (another CA of the same name?), or it was tampered with",
            ),
            HandshakeError::Expired { not_after } => {
                f.write_str("the server's certificate has expired")?;
                if let Some(secs) = not_after {
                    write!(f, " (on {} UTC)", utc(*secs))?;
                }
                f.write_str("; the server needs a new one, or this machine's clock is wrong")
            }
            HandshakeError::NotYetValid { not_before } => {
                f.write_str("the server's certificate is not valid yet")?;
                if let Some(secs) = not_before {
                    write!(f, " (not before {} UTC)", utc(*secs))?;
                }
                f.write_str("; is this machine's clock wrong?")
            }
            HandshakeError::WrongName {
                expected,
                presented,
            } if presented.is_empty() => write!(
                f,
                "the server's certificate is not for {}: it is another server's",
                sane(expected)
            ),
            HandshakeError::WrongName {
                expected,
                presented,
            } => write!(
                f,
                "the server's certificate is for {}, not {}: connect by a name it is for",
                sane(&presented.join(", ")),
                sane(expected)
            ),
            HandshakeError::CaAsServer => f.write_str(
                "the server's certificate is a CA certificate, not a server's: \
                 the server needs one issued for it, by a CA or self-signed with \
                 basicConstraints CA:FALSE",
            ),
            HandshakeError::Certificate(e) => {
                write!(f, "the server's certificate was refused: {e}")
            }
            HandshakeError::NotTls { sent } => write!(
                f,
                "the server does not speak TLS here: it sent \"{}\" in clear \
                 (is this its plain-text port?)",
                sane(sent)
            ),
            HandshakeError::Closed => f.write_str(
                "the server closed the connection during the TLS handshake \
                 (does it speak TLS on this port?)",
            ),
            HandshakeError::TimedOut => write!(
                f,
                "the server did not finish the TLS handshake within {} s \
                 (does it speak TLS on this port?)",
                HANDSHAKE_TIMEOUT.as_secs()
            ),
            HandshakeError::Refused(alert) => {
                write!(f, "the server refused the TLS handshake ({alert:?})")
            }
            HandshakeError::Protocol(e) => write!(f, "the TLS handshake failed: {e}"),
            HandshakeError::Io(e) => {
                write!(f, "the TLS handshake failed: {}", error::plain(e))
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// `secs` as a UTC calendar time (a certificate's times are in UTC).
fn utc(secs: u64) -> String {
    crate::clock::utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The most of what a server sent that [`HandshakeError::NotTls`] shows.
pub const SHOWN_BYTES: usize = 48;

/// Whether `first` can begin what a TLS server sends first: a handshake record (its
/// hello) or an alert record (a refusal). Anything else is not TLS.
pub fn starts_tls(first: u8) -> bool {
    const ALERT: u8 = 21;
    const HANDSHAKE: u8 = 22;
    matches!(first, ALERT | HANDSHAKE)
}

/// The start of `bytes` (received instead of TLS) that a message shows: its first
/// line, at most [`SHOWN_BYTES`] of it.
pub fn first_line(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = &line[..line.len().min(SHOWN_BYTES)];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::UnixTime;

    /// Settings for `host` trusting nothing: enough to explain failures.
    fn setup(trust: Trust, host: &str) -> TlsSetup {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        TlsSetup {
            config: Arc::new(config),
            name: ServerName::try_from(host.to_owned()).expect("a name"),
            host: host.to_owned(),
            trust,
        }
    }

    fn certificate(e: CertificateError) -> rustls::Error {
        rustls::Error::InvalidCertificate(e)
    }

    #[test]
    fn certificate_failures_are_explained_in_plain_words() {
        let system = setup(Trust::System, "127.0.0.1");
        let own = setup(Trust::CaFile(PathBuf::from("ca.pem")), "chat.example");
        assert_eq!(
            system
                .explain(certificate(CertificateError::UnknownIssuer))
                .to_string(),
            "the server's certificate is not trusted (unknown issuer); \
             pass --ca FILE if it is signed by your own CA"
        );
        assert_eq!(
            own.explain(certificate(CertificateError::UnknownIssuer))
                .to_string(),
            "the server's certificate is not trusted (unknown issuer): \
             no CA certificate in ca.pem signed it"
        );
        let expired = CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000)),
        };
        assert_eq!(
            system.explain(certificate(expired)).to_string(),
            "the server's certificate has expired (on 2023-11-14 22:13 UTC); \
             the server needs a new one, or this machine's clock is wrong"
        );
        assert_eq!(
            system
                .explain(certificate(CertificateError::Expired))
                .to_string(),
            "the server's certificate has expired; \
             the server needs a new one, or this machine's clock is wrong"
        );
        let elsewhere = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("chat.example").expect("name"),
            presented: vec![
                "DnsName(\"other.example\")".into(),
                "IpAddress(10.0.0.1)".into(),
                "UniformResourceIdentifier(\"https://other.example/\")".into(),
                "SomethingNew".into(),
            ],
        };
        assert_eq!(
            own.explain(certificate(elsewhere)).to_string(),
            "the server's certificate is for other.example, 10.0.0.1, SomethingNew, \
             not chat.example: connect by a name it is for"
        );
        assert_eq!(
            system
                .explain(certificate(CertificateError::NotValidForName))
                .to_string(),
            "the server's certificate is not for 127.0.0.1: it is another server's"
        );
        assert!(matches!(
            system.explain(certificate(CertificateError::BadSignature)),
            HandshakeError::BadSignature
        ));
        assert!(matches!(
            system.explain(certificate(CertificateError::Revoked)),
            HandshakeError::Certificate(CertificateError::Revoked)
        ));
        assert_eq!(
            system
                .explain(rustls::Error::AlertReceived(
                    AlertDescription::ProtocolVersion
                ))
                .to_string(),
            "the server refused the TLS handshake (ProtocolVersion)"
        );
    }

    #[test]
    fn text_instead_of_tls_is_recognised_and_shown_safely() {
        assert!(starts_tls(22) && starts_tls(21));
        assert!(!starts_tls(b'H') && !starts_tls(23) && !starts_tls(0));
        assert_eq!(
            first_line(b"HELLO parley 1 hi\r\nJOIN"),
            "HELLO parley 1 hi"
        );
        assert_eq!(first_line(&[b'x'; 100]).len(), SHOWN_BYTES);
        let e = HandshakeError::NotTls {
            sent: first_line(b"HELLO \x1b[2J\n"),
        };
        assert_eq!(
            e.to_string(),
            "the server does not speak TLS here: it sent \"HELLO ^[[2J\" in clear \
             (is this its plain-text port?)"
        );
    }

    #[test]
    fn a_ca_file_must_hold_usable_certificates() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let missing = dir.path().join("missing.pem");
        let err = TlsSetup::new(Trust::CaFile(missing.clone()), "localhost")
            .err()
            .expect("a missing file is refused");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read the CA file {}: No such file or directory",
                missing.display()
            )
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").expect("write");
        let err = TlsSetup::new(Trust::CaFile(empty.clone()), "localhost")
            .err()
            .expect("a file without certificates is refused");
        assert!(matches!(err, SetupError::CaEmpty(_)), "{err:?}");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let err = TlsSetup::new(Trust::CaFile(broken), "localhost")
            .err()
            .expect("a certificate that is not one is refused");
        assert!(matches!(err, SetupError::CaRejected { .. }), "{err:?}");
        // The name is checked before any file is read.
        let err = TlsSetup::new(Trust::CaFile(missing), "no such\x1bhost")
            .err()
            .expect("a host that is no name is refused");
        assert_eq!(
            err.to_string(),
            "cannot check a TLS certificate for no such^[host: not a host name or IP address"
        );
    }
}
