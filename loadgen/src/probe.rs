//! One connection to the server before the scenario starts. Without it, a server that
//! is not running shows up only at the end of a long report, as thousands of failed
//! connects; with it, the first line says so. With `--tls` the probe also completes a
//! handshake, so that a certificate the clients would refuse (or a port that does not
//! speak TLS) is said at once, in words, rather than as thousands of `tls-error`
//! disconnects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustls::StreamOwned;

use crate::error::Error;
use crate::tls::{TlsClient, TlsError};

/// Longest wait for the connection, and then for the server to let it go.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects once to `addr` (with TLS when `tls` is given); `Err` when nothing accepts
/// there, or the TLS handshake fails.
pub fn probe(addr: SocketAddr, tls: Option<&TlsClient>) -> Result<(), Error> {
    let stream =
        TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).map_err(|source| Error::Unreachable {
            addr,
            source,
            irc: false,
        })?;
    if stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(PROBE_TIMEOUT)).is_err()
    {
        return Ok(());
    }
    let Some(tls) = tls else {
        leave(stream, |s| {
            let _ = s.shutdown(Shutdown::Write);
        });
        return Ok(());
    };
    let session = tls.session().map_err(|e| Error::Tls(TlsError::Config(e)))?;
    let mut stream = StreamOwned::new(session, stream);
    while stream.conn.is_handshaking() {
        if let Err(source) = stream.conn.complete_io(&mut stream.sock) {
            return Err(Error::Handshake { addr, source });
        }
    }
    leave(stream, |s| {
        s.conn.send_close_notify();
        let _ = s.conn.complete_io(&mut s.sock);
    });
    Ok(())
}

/// Connects once to the IRC server at `addr`; `Err` when nothing accepts there. The
/// probe does not register: an IRC server says nothing until a client does, and some
/// take seconds to look the client up first, so reading a greeting would only delay the
/// run. The connection is closed at once.
pub fn probe_irc(addr: SocketAddr) -> Result<(), Error> {
    TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)
        .map(|stream| {
            let _ = stream.shutdown(Shutdown::Both);
        })
        .map_err(|source| Error::Unreachable {
            addr,
            source,
            irc: true,
        })
}

/// Quits, and waits until the server has closed the connection, so that the probe no
/// longer holds one of the server's slots when the scenario's clients arrive: in the
/// queue scenario, a slot freed late would admit a waiting client out of turn. `close`
/// ends the probe's side of the stream (a TCP half-close, a TLS close_notify). Anything
/// unexpected (no greeting, a server that does not close) ends the wait; the scenario
/// then reports what the server does.
fn leave<S: Read + Write>(mut stream: S, close: impl FnOnce(&mut S)) {
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let mut greeting = String::new();
    // What the reader takes beyond the greeting is of no interest: the rest is drained.
    let read = BufReader::new(&mut stream).read_line(&mut greeting);
    if read.is_err() || !greeting.starts_with("HELLO ") {
        // Not admitted (queued, or not a parley server): it holds no slot.
        return;
    }
    if stream
        .write_all(b"/quit\n")
        .and_then(|()| stream.flush())
        .is_err()
    {
        return;
    }
    close(&mut stream);
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
