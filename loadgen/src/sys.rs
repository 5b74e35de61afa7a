//! Operating-system helpers: the open-file limit, the loadgen's own CPU use, the server's
//! memory and CPU from /proc, and a nanosecond timer for the open-loop send schedule.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Raises the soft open-file limit to at least `want`, raising the hard limit too when
/// allowed (root). Returns the soft limit now in force, which may be lower than `want`.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    let wanted = libc::rlimit {
        rlim_cur: want,
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: setrlimit only reads the struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        return Ok(want);
    }
    // Without the privilege to raise the hard limit, take all the hard limit allows.
    let fallback = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &fallback) } == 0 {
        Ok(lim.rlim_max)
    } else {
        Ok(lim.rlim_cur)
    }
}

/// CPU time used by this process so far: (user, system) in nanoseconds.
pub fn self_cpu_ns() -> (u64, u64) {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0, 0);
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// CPU time used by the calling thread so far, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the struct we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Resident memory of process `pid` in bytes, from /proc/PID/status.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) used so far by process `pid` in nanoseconds, from
/// /proc/PID/stat.
pub fn proc_cpu_ns(pid: u32) -> Option<u64> {
    stat_cpu_ns(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User plus system CPU in nanoseconds from the text of a /proc stat file.
fn stat_cpu_ns(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state(3) ... utime is field 14, stime 15 of the whole line.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Some((utime + stime) * 1_000_000_000 / hz)
}

/// The name of parley-server's store thread, as /proc shows it.
pub const STORE_THREAD: &str = "parley-store";

/// CPU time used so far by the store thread of server `pid` (its boards and history
/// on disk), in nanoseconds; `None` when the server has no such thread.
pub fn store_cpu_ns(pid: u32) -> Option<u64> {
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == STORE_THREAD {
            let tid: u32 = task.file_name().to_str()?.parse().ok()?;
            return task_cpu_ns(pid, tid);
        }
    }
    None
}

/// The name of parley-server's password hashing threads, as /proc shows it, before
/// their number (`parley-hash-1`, `parley-hash-2`, ...).
pub const HASH_THREADS: &str = "parley-hash-";

/// CPU time used so far by the password hashing threads of server `pid` together, in
/// nanoseconds; `None` when the server has no such thread.
pub fn hash_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = None;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.starts_with(HASH_THREADS) {
            let tid: u32 = task.file_name().to_str()?.parse().ok()?;
            *total.get_or_insert(0) += task_cpu_ns(pid, tid)?;
        }
    }
    total
}

/// CPU time of thread `tid` of process `pid`, from its task stat.
fn task_cpu_ns(pid: u32, tid: u32) -> Option<u64> {
    stat_cpu_ns(&fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?)
}

/// Asks the kernel to fire our timers within `ns` nanoseconds of their deadline instead
/// of the default 50 µs, so open-loop sends leave close to their scheduled time.
pub fn set_timer_slack(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer argument.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0);
    }
}

/// A one-shot monotonic timerfd with nanosecond resolution, pollable by mio; epoll's
/// own timeout only has millisecond resolution, too coarse for a 2,000 msg/s schedule.
pub struct Timer {
    fd: OwnedFd,
}

impl Timer {
    /// Creates a disarmed non-blocking timer.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that we now own.
        Ok(Timer {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Arms the timer to fire once, `ns` nanoseconds from now (at least 1 ns).
    pub fn arm_in(&self, ns: u64) -> io::Result<()> {
        let ns = ns.max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: the spec lives across the call; the old value is not wanted.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes a pending expiry so that the edge-triggered poll reports the next one.
    pub fn clear(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reading 8 bytes into a buffer of 8; EAGAIN is fine and ignored.
        unsafe {
            libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len());
        }
    }

    /// The descriptor, for registering with the poll.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_thread_by_the_store_threads_name() {
        let pid = std::process::id();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(STORE_THREAD.to_owned())
            .spawn(move || {
                ready_tx.send(()).unwrap();
                let _ = rx.recv();
            })
            .unwrap();
        ready_rx.recv().unwrap();
        assert!(store_cpu_ns(pid).is_some());
        drop(tx);
        thread.join().unwrap();
    }

    #[test]
    fn adds_up_the_hashing_threads() {
        let pid = std::process::id();
        assert_eq!(hash_cpu_ns(pid), None, "no such thread yet");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let threads: Vec<_> = (1..=2)
            .map(|n| {
                let (rx, ready_tx) = (std::sync::Arc::clone(&rx), ready_tx.clone());
                std::thread::Builder::new()
                    .name(format!("{HASH_THREADS}{n}"))
                    .spawn(move || {
                        ready_tx.send(()).unwrap();
                        let _ = rx.lock().unwrap().recv();
                    })
                    .unwrap()
            })
            .collect();
        ready_rx.recv().unwrap();
        ready_rx.recv().unwrap();
        assert!(hash_cpu_ns(pid).is_some());
        drop(tx);
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn reads_own_process_from_proc() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap_or(0) > 0);
        assert!(proc_cpu_ns(pid).is_some());
    }

    #[test]
    fn nofile_limit_is_at_least_current() {
        let got = raise_nofile(64).expect("getrlimit");
        assert!(got >= 64);
    }
}
