//! The TLS listener's settings: its certificate chain and key, read from PEM files at
//! start and again on SIGHUP, turned into the session settings every new TLS
//! connection starts from.
//!
//! The cryptography is rustls' default provider, aws-lc-rs: it builds on a fresh
//! machine with the C compiler alone, it is the provider rustls maintains first (ring's
//! lacks the post-quantum key exchange and is deprecated there), and its P-256 and
//! AES-GCM are among the fastest there are.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::aws_lc_rs;
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Plaintext and encrypted bytes a TLS session may hold for writing. The loop hands a
/// session output only once it has written everything before it, so this bounds what
/// one connection keeps inside its session; it counts against `--max-sendq`.
pub const SESSION_BUFFER: usize = 64 * 1024;

/// Why the certificate or key could not be used.
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: io::Error,
    },
    /// A file is not PEM, or holds no item of the kind wanted.
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        error: pem::Error,
    },
    /// The certificate file holds no certificate.
    NoCertificate(PathBuf),
    /// rustls refused the pair (the key does not match the certificate, or is of a
    /// kind it does not support).
    Rejected(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            TlsError::Pem { path, error } => {
                write!(f, "{}: not a usable PEM file ({error})", path.display())
            }
            TlsError::NoCertificate(path) => {
                write!(f, "{}: no CERTIFICATE in the file", path.display())
            }
            TlsError::Rejected(e) => write!(f, "the certificate and key cannot be used: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Where the TLS listener's certificate chain and key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The chain, the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and builds the settings for new sessions: TLS 1.3 and 1.2, no
    /// client certificates.
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let chain = read_chain(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| pem_error(&self.key, e))?;
        let provider = Arc::new(aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Rejected)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Rejected)?;
        Ok(Arc::new(config))
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(chain)
}

/// A file that could not be opened is a read error; anything else is the PEM's fault.
fn pem_error(path: &Path, error: pem::Error) -> TlsError {
    match error {
        pem::Error::Io(error) => TlsError::Read {
            path: path.to_owned(),
            error,
        },
        error => TlsError::Pem {
            path: path.to_owned(),
            error,
        },
    }
}
