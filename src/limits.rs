//! The process's open-file limit, and how many connections it allows.

use std::io;

/// Connections that may hold their descriptor after their slot went to someone else,
/// while they flush a last `BYE` (`/quit`, timeouts). Beyond this, a closing
/// connection is closed at once.
pub const MAX_LINGERING: usize = 256;

/// File descriptors kept back for everything that is not an admitted or waiting client:
/// the listener, the poll instance, the signal pipe, standard streams, a client being
/// turned away while the server is full, and [`MAX_LINGERING`] closing connections.
pub const RESERVED_FDS: u64 = 32 + MAX_LINGERING as u64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur)
}

/// Fits `max_clients` and `max_queue` into `open_files` descriptors, shrinking the
/// queue first and then the admitted clients. Returns the numbers that fit.
pub fn fit_capacity(open_files: u64, max_clients: usize, max_queue: usize) -> (usize, usize) {
    let room = open_files.saturating_sub(RESERVED_FDS).max(1) as usize;
    let clients = max_clients.min(room);
    let queue = max_queue.min(room - clients);
    (clients, queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_shrinks_the_queue_before_the_clients() {
        assert_eq!(fit_capacity(1_000_000, 10_000, 10_000), (10_000, 10_000));
        assert_eq!(fit_capacity(20_000, 10_000, 10_000), (10_000, 9_712));
        assert_eq!(fit_capacity(5_000, 10_000, 10_000), (4_712, 0));
        assert_eq!(fit_capacity(10, 10_000, 10_000), (1, 0));
    }
}
