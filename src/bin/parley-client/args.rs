//! Command-line arguments and server address resolution.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
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
    }
}
