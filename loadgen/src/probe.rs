//! One connection to the server before the scenario starts. Without it, a server that
//! is not running shows up only at the end of a long report, as thousands of failed
//! connects; with it, the first line says so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::error::Error;

/// Longest wait for the connection, and then for the server to let it go.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects once to `addr`; `Err` when nothing accepts there.
pub fn probe(addr: SocketAddr) -> Result<(), Error> {
    let stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)
        .map_err(|source| Error::Unreachable { addr, source })?;
    leave(stream);
    Ok(())
}

/// Quits, and waits until the server has closed the connection, so that the probe no
/// longer holds one of the server's slots when the scenario's clients arrive: in the
/// queue scenario, a slot freed late would admit a waiting client out of turn. Anything
/// unexpected (no greeting, a server that does not close) ends the wait; the scenario
/// then reports what the server does.
fn leave(stream: TcpStream) {
    let deadline = Instant::now() + PROBE_TIMEOUT;
    if stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_err() {
        return;
    }
    let mut greeting = String::new();
    if BufReader::new(&stream).read_line(&mut greeting).is_err() || !greeting.starts_with("HELLO ")
    {
        // Not admitted (queued, or not a parley server): it holds no slot.
        return;
    }
    if (&stream).write_all(b"/quit\n").is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline {
        match (&stream).read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
