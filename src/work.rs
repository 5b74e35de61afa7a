//! Work away from the loop: a thread that runs jobs from a bounded queue and hands each
//! result back through a channel, waking the poll loop with its [`Waker`].
//!
//! The loop must never block, so whatever would (the disk, password hashing) runs on a
//! worker. A job carries the id of the client it is for; the result comes back with the
//! same id, and the core drops results for clients that have gone meanwhile.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use log::warn;
use mio::Waker;

/// Results of finished jobs, for the loop to collect when its waker fires.
#[derive(Debug)]
pub struct Results<R> {
    receiver: Receiver<R>,
}

impl<R> Results<R> {
    /// Every result that has arrived, in the order the jobs finished.
    pub fn ready(&self) -> impl Iterator<Item = R> + '_ {
        self.receiver.try_iter()
    }
}

/// Worker threads and the queue feeding them.
#[derive(Debug)]
pub struct Worker<J> {
    jobs: Option<SyncSender<J>>,
    threads: Vec<JoinHandle<()>>,
}

/// How a worker's threads compete with the poll loop for a core.
///
/// Where a worker shares a core with the loop, Linux's scheduler lets a thread the
/// loop has just woken take the core at once, and the loop, runnable but preempted,
/// may then wait for another thread's whole time slice (about 5 ms here) before it
/// runs again: every client's answer waits with it. Workers therefore stay out of the
/// loop's way. Elsewhere than Linux, where these settings are per process, the threads
/// keep the loop's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// As the loop.
    Normal,
    /// The loop's share of the core, but waking does not preempt the loop
    /// (`SCHED_BATCH`): for jobs the loop hands over every turn (the store's writes).
    Deferring,
    /// Below the loop (`SCHED_BATCH` and nice 19): for long, CPU-bound jobs (password
    /// hashing), which take a shared core only when the loop does not want it and run
    /// at full speed on an idle one.
    Background,
}

impl Priority {
    /// Applies this priority to the calling thread.
    fn apply(self) {
        #[cfg(target_os = "linux")]
        {
            if self == Priority::Normal {
                return;
            }
            let batch = libc::sched_param { sched_priority: 0 };
            // Linux keeps these per thread, and pid 0 names the calling one.
            // SAFETY: `batch` outlives the call; a failure leaves the thread as it was.
            if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &batch) } != 0 {
                warn!(
                    "a worker cannot leave the loop's way: {}",
                    std::io::Error::last_os_error()
                );
            }
            // SAFETY: setpriority reads no memory of ours; raising one's own nice value
            // needs no privilege.
            if self == Priority::Background
                && unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) } != 0
            {
                warn!(
                    "a worker cannot lower its priority: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// The nice value of [`Priority::Background`] threads: the lowest priority there is.
#[cfg(target_os = "linux")]
const BACKGROUND_NICE: libc::c_int = 19;

/// Why a job was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError<J> {
    /// The queue is full: the caller decides whether to refuse or retry.
    Full(J),
    /// The worker has stopped.
    Stopped(J),
}

impl<J: Send + 'static> Worker<J> {
    /// Starts a thread named `name`, at `priority`, that runs `run` on each job, at
    /// most `queue` jobs waiting, and sends each result to the returned [`Results`], waking `waker`.
    pub fn start<R: Send + 'static>(
        name: &str,
        queue: usize,
        priority: Priority,
        waker: Arc<Waker>,
        mut run: impl FnMut(J) -> R + Send + 'static,
    ) -> std::io::Result<(Worker<J>, Results<R>)> {
        Worker::start_batched(name, queue, 1, priority, waker, move |jobs: Vec<J>| {
            jobs.into_iter().map(&mut run).collect()
        })
    }

    /// Like [`Worker::start`], but `run` takes every job that waited, up to `batch`,
    /// at once and returns their results, in order: the store commits a batch in one
    /// transaction, so a busy server makes few, large commits. The loop is woken once
    /// per batch.
    pub fn start_batched<R: Send + 'static>(
        name: &str,
        queue: usize,
        batch: usize,
        priority: Priority,
        waker: Arc<Waker>,
        mut run: impl FnMut(Vec<J>) -> Vec<R> + Send + 'static,
    ) -> std::io::Result<(Worker<J>, Results<R>)> {
        let (jobs, incoming) = mpsc::sync_channel::<J>(queue);
        let (results, receiver): (Sender<R>, Receiver<R>) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                priority.apply();
                while let Ok(first) = incoming.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(incoming.try_iter().take(batch.saturating_sub(1)));
                    for result in run(waiting) {
                        if results.send(result).is_err() {
                            return;
                        }
                    }
                    if let Err(e) = waker.wake() {
                        warn!("a worker cannot wake the loop: {e}");
                    }
                }
            })?;
        let worker = Worker {
            jobs: Some(jobs),
            threads: vec![thread],
        };
        Ok((worker, Results { receiver }))
    }

    /// Starts `threads` threads named `name-1`, `name-2`, ... that share one queue of at
    /// most `queue` waiting jobs, each running `run` on one job at a time: work that
    /// takes a core per job (password hashing) goes as fast as there are threads. The
    /// results come back in the order the jobs finish, each waking `waker`. The threads
    /// run at `priority`.
    pub fn start_pool<R: Send + 'static>(
        name: &str,
        threads: usize,
        queue: usize,
        priority: Priority,
        waker: Arc<Waker>,
        run: impl Fn(J) -> R + Send + Sync + 'static,
    ) -> std::io::Result<(Worker<J>, Results<R>)> {
        let (jobs, incoming) = mpsc::sync_channel::<J>(queue);
        let (results, receiver): (Sender<R>, Receiver<R>) = mpsc::channel();
        let incoming = Arc::new(Mutex::new(incoming));
        let run = Arc::new(run);
        let mut handles = Vec::with_capacity(threads);
        for n in 1..=threads.max(1) {
            let (incoming, results, waker, run) = (
                Arc::clone(&incoming),
                results.clone(),
                Arc::clone(&waker),
                Arc::clone(&run),
            );
            let handle = thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    priority.apply();
                    loop {
                        // The lock is held only while taking a job, never while running it.
                        let next = incoming
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .recv();
                        let Ok(job) = next else {
                            return;
                        };
                        if results.send(run(job)).is_err() {
                            return;
                        }
                        if let Err(e) = waker.wake() {
                            warn!("a worker cannot wake the loop: {e}");
                        }
                    }
                })?;
            handles.push(handle);
        }
        let worker = Worker {
            jobs: Some(jobs),
            threads: handles,
        };
        Ok((worker, Results { receiver }))
    }

    /// Queues `job` without blocking.
    pub fn submit(&self, job: J) -> Result<(), SubmitError<J>> {
        let Some(jobs) = &self.jobs else {
            return Err(SubmitError::Stopped(job));
        };
        jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(job) => SubmitError::Full(job),
            TrySendError::Disconnected(job) => SubmitError::Stopped(job),
        })
    }
}

impl<J> Drop for Worker<J> {
    /// Lets the queued jobs finish, then joins the threads.
    fn drop(&mut self) {
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll, Token};
    use std::time::{Duration, Instant};

    #[test]
    fn results_come_back_in_order_and_wake_the_loop() {
        let mut poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(7)).unwrap());
        let (worker, results) =
            Worker::start("test", 16, Priority::Normal, waker, |n: u64| n * 2).unwrap();
        for n in 1..=10 {
            worker.submit(n).unwrap();
        }
        let mut got = Vec::new();
        let mut events = Events::with_capacity(8);
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.len() < 10 {
            assert!(Instant::now() < deadline, "results missing: {got:?}");
            poll.poll(&mut events, Some(Duration::from_secs(1)))
                .unwrap();
            if events.iter().any(|e| e.token() == Token(7)) {
                got.extend(results.ready());
            }
        }
        assert_eq!(got, (1..=10).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_batched_worker_takes_what_waited_in_one_call() {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(3)).unwrap());
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (worker, results) = Worker::start_batched(
            "test",
            64,
            64,
            Priority::Normal,
            waker,
            move |jobs: Vec<u32>| {
                // The first batch waits for the gate, so the rest pile up behind it.
                let _ = gate_rx.recv();
                vec![jobs.len() as u32; jobs.len()]
            },
        )
        .unwrap();
        for n in 0..11 {
            worker.submit(n).unwrap();
        }
        drop(gate_tx);
        drop(worker); // lets every queued job finish, then joins
        let sizes: Vec<u32> = results.ready().collect();
        assert_eq!(sizes.len(), 11, "one result per job");
        assert!(
            sizes.iter().any(|&n| n > 1),
            "jobs that waited went in one batch: {sizes:?}"
        );
    }

    #[test]
    fn a_pool_runs_jobs_on_every_thread_at_once() {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(5)).unwrap());
        // Each job waits at the barrier until all three run at the same time: with
        // fewer than three threads working at once, it would never open.
        let barrier = Arc::new(std::sync::Barrier::new(3));
        let (worker, results) =
            Worker::start_pool("test", 3, 8, Priority::Normal, waker, move |n: u32| {
                barrier.wait();
                (n, thread::current().name().map(str::to_owned))
            })
            .unwrap();
        for n in 0..3 {
            worker.submit(n).unwrap();
        }
        drop(worker);
        let mut done: Vec<(u32, Option<String>)> = results.ready().collect();
        done.sort();
        assert_eq!(done.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [0, 1, 2]);
        let mut names: Vec<_> = done.into_iter().filter_map(|(_, name)| name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names, ["test-1", "test-2", "test-3"]);
    }

    /// The scheduling policy and nice value of the calling thread.
    #[cfg(target_os = "linux")]
    fn own_scheduling() -> (i32, i32) {
        // SAFETY: neither call reads memory of ours.
        unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn workers_take_their_priority_and_leave_the_callers() {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(2)).unwrap());
        let ours = own_scheduling();
        let expected = [
            (Priority::Normal, ours),
            (Priority::Deferring, (libc::SCHED_BATCH, ours.1)),
            (Priority::Background, (libc::SCHED_BATCH, BACKGROUND_NICE)),
        ];
        for (priority, scheduling) in expected {
            let (pool, pooled) =
                Worker::start_pool("test", 2, 4, priority, Arc::clone(&waker), |_: ()| {
                    own_scheduling()
                })
                .unwrap();
            let (single, singled) =
                Worker::start("test", 4, priority, Arc::clone(&waker), |_: ()| {
                    own_scheduling()
                })
                .unwrap();
            for _ in 0..4 {
                pool.submit(()).unwrap();
                single.submit(()).unwrap();
            }
            drop((pool, single));
            let seen: Vec<_> = pooled.ready().chain(singled.ready()).collect();
            assert_eq!(seen, [scheduling; 8], "{priority:?}");
        }
        assert_eq!(own_scheduling(), ours, "the caller keeps its own");
    }

    #[test]
    fn a_full_queue_refuses_without_blocking() {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(1)).unwrap());
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (worker, _results) =
            Worker::start("test", 1, Priority::Normal, waker, move |n: u32| {
                // Holds the first job until the test lets it go.
                let _ = gate_rx.recv();
                n
            })
            .unwrap();
        let mut refused = None;
        for n in 0..10 {
            if let Err(e) = worker.submit(n) {
                refused = Some(e);
                break;
            }
        }
        assert!(matches!(refused, Some(SubmitError::Full(_))));
        drop(gate_tx);
    }
}
