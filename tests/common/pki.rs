//! Certificates for the TLS tests, made at test time (no key is committed): a test
//! certificate authority, server certificates it signs, and TLS clients that trust it.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::common::{Duplex, TestClient, TIMEOUT};

/// A test CA and the files of the server certificate it issued last.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    /// A new CA, and a certificate for `localhost` and `127.0.0.1` in `cert.pem` and
    /// `key.pem`.
    pub fn new() -> Pki {
        Pki::with_ca_named("parley test CA")
    }

    /// Like [`Pki::new`], with a CA whose common name is `ca_name` (two CAs of the
    /// same name are told apart only by their keys).
    pub fn with_ca_named(ca_name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, ca_name);
        let key = KeyPair::generate().expect("CA key");
        let ca = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        let pki = Pki {
            dir: tempfile::tempdir().expect("temporary directory"),
            ca,
        };
        std::fs::write(pki.ca_path(), pki.ca.pem()).expect("write the CA");
        pki.issue(&["localhost", "127.0.0.1"]);
        pki
    }

    /// The server certificate chain's file.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server key's file.
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The CA certificate's file.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server arguments for a TLS listener on an ephemeral port with these files.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-listen".into(),
            "127.0.0.1:0".into(),
            "--tls-cert".into(),
            self.cert_path().display().to_string(),
            "--tls-key".into(),
            self.key_path().display().to_string(),
        ]
    }

    /// Issues a new ECDSA P-256 server certificate for `names` and puts it and its key
    /// in place of the old ones (each file replaced whole). Returns the certificate.
    pub fn issue(&self, names: &[&str]) -> CertificateDer<'static> {
        self.issue_with(names, |_| {})
    }

    /// Like [`Pki::issue`], for a certificate that expired on 1 January 2021 (valid
    /// for 2020 only), signed by this CA all the same.
    pub fn issue_expired(&self, names: &[&str]) -> CertificateDer<'static> {
        self.issue_with(names, |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
    }

    /// Like [`Pki::issue`], with `edit` applied to the certificate's parameters
    /// before it is signed.
    pub fn issue_with(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "parley test server");
        edit(&mut params);
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        self.replace(&self.cert_path(), &cert.pem());
        self.replace(&self.key_path(), &key.serialize_pem());
        cert.der().clone()
    }

    /// Puts in place of the server's certificate a self-signed one for `names`,
    /// marked as a CA's if `as_ca` (as `openssl req -x509` makes them) or as not a CA's
    /// (`basicConstraints=CA:FALSE`). Returns its file, which a client would be given
    /// as its CA.
    pub fn issue_self_signed(&self, names: &[&str], as_ca: bool) -> PathBuf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.is_ca = if as_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed");
        self.replace(&self.cert_path(), &cert.pem());
        self.replace(&self.key_path(), &key.serialize_pem());
        self.cert_path()
    }

    /// Writes `text` to a temporary file and renames it over `path`.
    pub fn replace(&self, path: &PathBuf, text: &str) {
        let temporary = path.with_extension("new");
        std::fs::write(&temporary, text).expect("write");
        std::fs::rename(&temporary, path).expect("rename");
    }

    /// Client settings that trust this CA only.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("add the CA");
        Arc::new(
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// A TLS connection to `addr` for `localhost`, handshake done.
    pub fn connect(&self, addr: SocketAddr) -> TlsStream {
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_nodelay(true).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let session = ClientConnection::new(self.client_config(), name).expect("session");
        let mut stream = StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("TLS handshake");
        }
        stream
    }

    /// A line client over TLS to `addr`, handshake done, not yet greeted.
    pub fn client(&self, addr: SocketAddr) -> TestClient {
        TestClient::over(Box::new(self.connect(addr)))
    }
}

/// A client's TLS session and its socket.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

impl Duplex for TlsStream {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// The certificate a server presented on `stream`.
pub fn presented(stream: &TlsStream) -> CertificateDer<'static> {
    stream.conn.peer_certificates().expect("a certificate")[0].clone()
}

/// Reads until the peer closes; true when it closed within [`TIMEOUT`] (a read timeout
/// is false).
pub fn closes(stream: &mut impl Read) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            // Reset, or a TLS session cut short: closed all the same.
            Err(_) => return true,
        }
    }
}

/// Sends `bytes` on a raw socket, ignoring a peer that has already closed.
pub fn send_raw(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
}
