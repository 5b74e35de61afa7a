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

/// Grows the process's descriptor table to hold descriptor numbers below `descriptors`
/// now, while the process has one thread.
///
/// The kernel grows the table by doubling as descriptors are opened, and in a process
/// with several threads each growth waits for an RCU grace period: several to tens of
/// milliseconds in a virtual machine, during which the loop is stuck in `accept`. In
/// a connect storm that stalled every client at 256, 512, 1024, ... connections. A
/// table grown once at start costs the kernel about 8 bytes a descriptor (256 KiB for
/// the 20,000 the defaults ask for) and never shrinks.
pub fn reserve_descriptor_table(descriptors: u64) -> io::Result<()> {
    let Ok(highest) = libc::c_int::try_from(descriptors.saturating_sub(1)) else {
        return Ok(());
    };
    // SAFETY: F_DUPFD duplicates standard error onto the lowest free descriptor at or
    // above `highest`; the duplicate is closed at once and nothing else is touched.
    let fd = unsafe { libc::fcntl(libc::STDERR_FILENO, libc::F_DUPFD, highest) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was opened just above and is owned by nobody else.
    unsafe { libc::close(fd) };
    Ok(())
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

    #[test]
    fn the_descriptor_table_holds_the_reserved_numbers_at_once() {
        let table = |status: String| -> u64 {
            let size = status.lines().find_map(|line| line.strip_prefix("FDSize:"));
            size.expect("FDSize").trim().parse().unwrap()
        };
        reserve_descriptor_table(3_000).unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(table(status) >= 3_000);
        // Beyond the open-file limit the table cannot grow: an error, for a warning.
        assert!(reserve_descriptor_table(1 << 30).is_err());
        // Beyond what a descriptor number can be, there is nothing to reserve.
        assert!(reserve_descriptor_table(u64::MAX).is_ok());
    }
}
