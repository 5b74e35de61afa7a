//! `parley-loadgen make-cert DIR`: a certificate for TLS measurements without openssl.
//! A fresh CA (written to `ca.pem`, for the loadgen's `--ca`) signs an ECDSA P-256
//! server certificate (`cert.pem` and its key `key.pem`, for the server's
//! `--tls-cert` and `--tls-key`). P-256 is what a server would be given today and what
//! the server's provider signs fastest, so handshake figures measured with it are the
//! ones that matter. The CA signs the server's certificate directly: the chain the
//! server sends is that one certificate, as with any CA that needs no intermediate.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;

/// Why `make-cert` failed.
#[derive(Debug)]
pub enum CertError {
    /// A name given with `--name` is not a DNS name or an IP address, so no client
    /// (the loadgen's `--server-name` included) could check a certificate against it.
    Name(String),
    /// Making a key or signing a certificate failed.
    Generate(rcgen::Error),
    /// A file (or the directory) could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// What writing it said.
        error: io::Error,
    },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Name(name) => write!(f, "--name {name}: not a DNS name or IP address"),
            CertError::Generate(e) => write!(f, "making the certificate: {e}"),
            CertError::Write { path, error } => write!(f, "writing {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for CertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CertError::Name(_) => None,
            CertError::Generate(error) => Some(error),
            CertError::Write { error, .. } => Some(error),
        }
    }
}

/// The files `make-cert` writes into its directory.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The CA's certificate: what the loadgen's `--ca` trusts.
    pub ca: PathBuf,
    /// The server's certificate chain: the server's `--tls-cert`.
    pub cert: PathBuf,
    /// The server's private key (readable by its owner only): the server's `--tls-key`.
    pub key: PathBuf,
}

impl CertFiles {
    /// The files' places in `dir`.
    pub fn in_dir(dir: &Path) -> CertFiles {
        CertFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// Makes a new CA and a server certificate for `names` (DNS names or IP addresses)
/// and writes them to `dir`, created if missing. Files already there are replaced.
pub fn make(dir: &Path, names: &[String]) -> Result<CertFiles, CertError> {
    let files = CertFiles::in_dir(dir);
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |error| CertError::Write { path, error }
    };
    // Checked as the client will check them: rcgen alone would take names that no
    // client could ask for.
    if let Some(bad) = names
        .iter()
        .find(|n| ServerName::try_from(n.as_str()).is_err())
    {
        return Err(CertError::Name(bad.clone()));
    }
    fs::create_dir_all(dir).map_err(write_error(dir))?;

    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A name of its own: a client given another make-cert CA then says the issuer is
    // unknown, rather than that a signature by a CA of the same name is bad.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("parley-loadgen test CA {stamp:x}"),
    );
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(CertError::Generate)?;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(CertError::Generate)?;

    let mut params = CertificateParams::new(names.to_vec()).map_err(CertError::Generate)?;
    let common_name = names.first().map_or("parley server", String::as_str);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(CertError::Generate)?;
    let cert = params.signed_by(&key, &ca).map_err(CertError::Generate)?;

    write_file(&files.ca, &ca.pem(), 0o644).map_err(write_error(&files.ca))?;
    write_file(&files.cert, &cert.pem(), 0o644).map_err(write_error(&files.cert))?;
    write_file(&files.key, &key.serialize_pem(), 0o600).map_err(write_error(&files.key))?;
    Ok(files)
}

/// Writes `text` to a new file beside `path` with permissions `mode` and renames it
/// over `path`, so that a server reading the files (on SIGHUP, say) never sees half of
/// one, and a key is never readable by others, not even for a moment.
fn write_file(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    let temporary = path.with_extension("pem.new");
    let _ = fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

    use crate::tls::TlsClient;

    /// A directory of its own under the system's temporary one, removed at the end.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "parley-loadgen-{tag}-{}-{}",
                std::process::id(),
                crate::clock::now_ns()
            ));
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn makes_a_chain_a_key_and_a_ca_the_client_trusts() {
        let dir = TempDir::new("make-cert");
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let files = make(&dir.0, &names).unwrap();
        let chain: Vec<_> = CertificateDer::pem_file_iter(&files.cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chain.len(), 1, "the server's certificate alone");
        assert!(PrivateKeyDer::from_pem_file(&files.key).is_ok());
        let mode = fs::metadata(&files.key).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let name = ServerName::try_from("localhost").unwrap();
        assert!(TlsClient::new(&files.ca, name).is_ok());
        // Made again, every file is replaced.
        let before = fs::read(&files.ca).unwrap();
        make(&dir.0, &names).unwrap();
        assert_ne!(fs::read(&files.ca).unwrap(), before);
    }

    #[test]
    fn refuses_a_name_that_cannot_be_in_a_certificate() {
        let dir = TempDir::new("bad-name");
        let err = make(&dir.0, &["n\u{e4}me".to_string()]).unwrap_err();
        assert!(matches!(err, CertError::Name(_)), "{err}");
        let err = make(&dir.0, &["bad name!".to_string()]).unwrap_err();
        assert!(matches!(err, CertError::Name(_)), "{err}");
        assert!(!dir.0.exists(), "nothing is written for a refused name");
    }
}
