//! TLS as the simulated clients speak it (`--tls`): the client settings that every
//! connection of a run shares, built once from `--ca` and `--server-name`.
//!
//! The provider is aws-lc-rs, the server's own, so that both ends of a measurement do
//! the same cryptography. Two choices make the handshakes the loadgen measures what
//! the server would meet from many distinct clients, at the least cost to the loadgen:
//!
//! - Session resumption is off: the simulated clients stand for different people, who
//!   each arrive with a full handshake. With the shared settings' ticket store, every
//!   client after the first few would resume instead, and `join-storm --tls` would
//!   measure the cheap handshake rather than the real one.
//! - The server's certificate chain is verified in full once, then each later
//!   handshake only checks that it presents the same chain for the same name (one
//!   byte comparison); its proof of the key (the signature in CertificateVerify) is
//!   checked every time. Verifying the same chain again costs the client an ECDSA
//!   verification per handshake, which on one core would make the loadgen, not the
//!   server, what limits the handshake rate.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// Plaintext and records one session may hold for writing. Output is handed to a
/// session only once everything it held before has gone to the socket, so this bounds
/// one hand-over (the server's listener uses the same figure).
pub const SESSION_BUFFER: usize = 64 * 1024;

/// Why the TLS client settings could not be made.
#[derive(Debug)]
pub enum TlsError {
    /// The `--ca` file could not be read, or is not PEM.
    Ca {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: pem::Error,
    },
    /// The `--ca` file holds no certificate.
    NoCa(PathBuf),
    /// A certificate in the `--ca` file cannot be a trust anchor.
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why rustls refused it.
        error: rustls::Error,
    },
    /// The certificate verifier could not be built.
    Verifier(VerifierBuilderError),
    /// rustls refused the settings.
    Config(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Ca { path, error } => {
                write!(
                    f,
                    "--ca {}: not a readable PEM file ({error})",
                    path.display()
                )
            }
            TlsError::NoCa(path) => {
                write!(f, "--ca {}: no CERTIFICATE in the file", path.display())
            }
            TlsError::BadCa { path, error } => {
                write!(
                    f,
                    "--ca {}: not a usable CA certificate ({error})",
                    path.display()
                )
            }
            TlsError::Verifier(e) => write!(f, "building the certificate verifier: {e}"),
            TlsError::Config(e) => write!(f, "building the TLS client settings: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The TLS side of a run: the settings every client's session starts from (one
/// allocation shared by all of them) and the name the server's certificate must hold.
#[derive(Debug, Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsClient {
    /// Settings that trust the CA certificates in the PEM file `ca` and nothing else,
    /// and check the server's certificate against `name`. TLS 1.3 and 1.2, as the
    /// server offers.
    pub fn new(ca: &Path, name: ServerName<'static>) -> Result<TlsClient, TlsError> {
        let roots = read_roots(ca)?;
        let provider = Arc::new(aws_lc_rs::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(TlsError::Verifier)?;
        let verifier = Arc::new(VerifyOnce {
            webpki,
            verified: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        Ok(TlsClient {
            config: Arc::new(config),
            name,
        })
    }

    /// A new client session, its ClientHello ready to be written.
    pub fn session(&self) -> Result<ClientConnection, rustls::Error> {
        let mut session = ClientConnection::new(Arc::clone(&self.config), self.name.clone())?;
        session.set_buffer_limit(Some(SESSION_BUFFER));
        Ok(session)
    }
}

/// The trust anchors of the PEM file at `path`.
fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let ca_error = |error| TlsError::Ca {
        path: path.to_owned(),
        error,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(ca_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(ca_error)?;
    if certs.is_empty() {
        return Err(TlsError::NoCa(path.to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|error| TlsError::BadCa {
            path: path.to_owned(),
            error,
        })?;
    }
    Ok(roots)
}

/// The chain and name last verified in full.
#[derive(Debug)]
struct Verified {
    /// The server's certificate, then the intermediates it sent.
    chain: Vec<CertificateDer<'static>>,
    /// The name it was verified for.
    name: ServerName<'static>,
}

impl Verified {
    /// Whether this is the same chain, sent for the same name.
    fn matches(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
    ) -> bool {
        let sent = std::iter::once(end_entity).chain(intermediates);
        self.chain.len() == intermediates.len() + 1
            && self
                .chain
                .iter()
                .zip(sent)
                .all(|(a, b)| a.as_ref() == b.as_ref())
            && self.name == *name
    }
}

/// Verifies the server's chain with webpki the first time (and whenever it changes),
/// then accepts the same chain for the same name without verifying it again. The
/// handshake signature is always checked, so each session still proves the server
/// holds the key. The expiry of a chain verified once is not looked at again: a run
/// lasts minutes, and make-cert's certificates do not expire.
#[derive(Debug)]
struct VerifyOnce {
    webpki: Arc<WebPkiServerVerifier>,
    verified: Mutex<Option<Verified>>,
}

impl ServerCertVerifier for VerifyOnce {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The loop is single-threaded: the lock is never contended. A poisoned one only
        // means a panic elsewhere; what it guards is still whole.
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified
            .as_ref()
            .is_some_and(|v| v.matches(end_entity, intermediates, server_name))
        {
            return Ok(ServerCertVerified::assertion());
        }
        let ok = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        *verified = Some(Verified {
            chain: std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect(),
            name: server_name.to_owned(),
        });
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
