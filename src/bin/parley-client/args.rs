//! Command-line arguments and server address resolution.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use clap::Parser;

/// The port used when an address names only a host.
const DEFAULT_PORT: u16 = 7777;

/// parley-client: chat on a parley server from your terminal.
///
/// In a terminal it is interactive (line editing, history, Tab completion; incoming
/// messages never disturb what you are typing). When standard input or output is
/// not a terminal it reads input line by line and prints rendered events, for
/// scripts.
///
/// With --name, the password of an account is taken from the PARLEY_PASSWORD
/// environment variable or from --password-file, and the client logs in. When the
/// connection is lost, it reconnects by itself, logs in again and rejoins its rooms.
///
/// With --tls (or --ca) the connection is encrypted, and the server's certificate
/// must be signed by a trusted CA and be for the host given in HOST:PORT (a name, or
/// an IP address); otherwise the client refuses the connection and says why.
#[derive(Debug, Parser)]
#[command(name = "parley-client", version)]
pub struct Args {
    /// The server to connect to (a host alone means port 7777).
    #[arg(
        value_name = "HOST:PORT",
        env = "PARLEY_ADDR",
        default_value = "127.0.0.1:7777"
    )]
    pub addr: String,

    /// The name to chat under; asked for when missing or refused. With a password
    /// (PARLEY_PASSWORD or --password-file), the account to log in to.
    #[arg(long, short = 'n')]
    pub name: Option<String>,

    /// Read the --name account's password from the first line of FILE (instead of
    /// the PARLEY_PASSWORD environment variable).
    #[arg(long, value_name = "FILE", requires = "name")]
    pub password_file: Option<PathBuf>,

    /// When the connection is lost, end (status 1) instead of reconnecting.
    #[arg(long, conflicts_with = "reconnect_max")]
    pub no_reconnect: bool,

    /// Give up (status 1) after this many failed attempts in a row to reconnect
    /// (default: never give up).
    #[arg(long, value_name = "ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..))]
    pub reconnect_max: Option<u32>,

    /// Connect over TLS (to the server's --tls-listen port). The server's certificate
    /// must be signed by one of this system's trusted CAs (or --ca; the SSL_CERT_FILE
    /// and SSL_CERT_DIR variables, when set, replace the system's list) and be for the
    /// host of HOST:PORT, name or IP address as written.
    #[arg(long)]
    pub tls: bool,

    /// Trust the CA certificates in FILE (PEM) instead of the system's, for a server
    /// whose certificate your own CA signed. Implies --tls.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

impl Args {
    /// Whether to connect over TLS: asked for, or implied by a CA to trust.
    pub fn tls_wanted(&self) -> bool {
        self.tls || self.ca.is_some()
    }
}

/// The host part of `addr` as [`resolve`] reads it (`host:port`, `[v6]:port`, or a
/// bare host or IPv6 address): the name a TLS certificate must be for.
pub fn host(addr: &str) -> &str {
    if let Some(bracketed) = addr.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    // A bare IPv6 address is all colons and no port.
    if addr.parse::<Ipv6Addr>().is_ok() {
        return addr;
    }
    addr.rsplit_once(':').map_or(addr, |(host, _port)| host)
}

/// Resolves `addr` (`host:port`, `[v6]:port`, or a bare host for port 7777).
pub fn resolve(addr: &str) -> io::Result<Vec<SocketAddr>> {
    let with_port = match addr.to_socket_addrs() {
        Ok(found) => return Ok(found.collect()),
        Err(e) => {
            // `localhost` or `::1` without a port: add the default one.
            let bare_v6 = addr.contains(':')
                && !addr.contains(']')
                && addr.parse::<std::net::Ipv6Addr>().is_ok();
            if addr.contains(':') && !bare_v6 {
                return Err(e);
            }
            (addr.trim_matches(['[', ']']), DEFAULT_PORT)
        }
    };
    Ok(with_port.to_socket_addrs()?.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let v4: SocketAddr = "127.0.0.1:7777".parse().expect("literal");
        assert_eq!(resolve("127.0.0.1:7777").expect("resolves"), vec![v4]);
        assert_eq!(resolve("127.0.0.1").expect("resolves"), vec![v4]);
        let v6: SocketAddr = "[::1]:7777".parse().expect("literal");
        // The host a certificate must be for, as written.
        assert_eq!(host("127.0.0.1:7777"), "127.0.0.1");
        assert_eq!(host("127.0.0.1"), "127.0.0.1");
        assert_eq!(host("chat.example:7443"), "chat.example");
        assert_eq!(host("chat.example"), "chat.example");
        assert_eq!(host("[::1]:7777"), "::1");
        assert_eq!(host("[::1]"), "::1");
        assert_eq!(host("::1"), "::1");
        assert_eq!(resolve("::1").expect("resolves"), vec![v6]);
        assert_eq!(resolve("[::1]:7777").expect("resolves"), vec![v6]);
        assert!(resolve("127.0.0.1:notaport").is_err());
    }

    #[test]
    fn arguments() {
        let args = Args::try_parse_from(["parley-client", "h:1", "--name", "bob"]).expect("valid");
        assert_eq!(args.addr, "h:1");
        assert_eq!(args.name.as_deref(), Some("bob"));
        assert!(!args.no_reconnect);
        assert_eq!(args.reconnect_max, None);
        assert_eq!(args.password_file, None);
        let args = Args::try_parse_from([
            "parley-client",
            "--name",
            "bob",
            "--password-file",
            "pw",
            "--reconnect-max",
            "3",
        ])
        .expect("valid");
        assert_eq!(args.password_file, Some(PathBuf::from("pw")));
        assert_eq!(args.reconnect_max, Some(3));
        let args = Args::try_parse_from(["parley-client", "--no-reconnect"]).expect("valid");
        assert!(args.no_reconnect);
        // A password file names an account: --name is needed.
        assert!(Args::try_parse_from(["parley-client", "--password-file", "pw"]).is_err());
        assert!(
            Args::try_parse_from(["parley-client", "--no-reconnect", "--reconnect-max", "2"])
                .is_err()
        );
        assert!(Args::try_parse_from(["parley-client", "--reconnect-max", "0"]).is_err());
        // TLS: asked for, implied by --ca, or not.
        assert!(!args.tls_wanted());
        let args = Args::try_parse_from(["parley-client", "--tls"]).expect("valid");
        assert!(args.tls_wanted() && args.ca.is_none());
        let args = Args::try_parse_from(["parley-client", "--ca", "ca.pem"]).expect("valid");
        assert!(args.tls_wanted());
        assert_eq!(args.ca, Some(PathBuf::from("ca.pem")));
    }
}
