//! The queue scenario's release phase: freeing slots by telling admitted clients to
//! quit, and knowing when every queued client is in.

use crate::clock::ns;
use crate::conn::State;

use super::phases::Phase;
use super::Driver;

impl Driver {
    /// Setup is over: hands the queued clients (in their first positions) and the
    /// admitted ones (who can free slots) to the queue checks, and starts releasing.
    pub(super) fn begin_release(&mut self, now: u64) {
        let queued: Vec<(u32, u64)> = self
            .conns
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state == State::Queued)
            .map(|(i, c)| (i as u32, c.queue_pos))
            .collect();
        let pool: Vec<u32> = self
            .conns
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state == State::Ready)
            .map(|(i, _)| i as u32)
            .collect();
        if queued.is_empty() {
            self.notes
                .add("nobody was queued: --clients must exceed the server's --max-clients".into());
        }
        if let Some(q) = self.queue.as_mut() {
            q.begin(&queued, pool, now);
        }
        self.measure.usage_start(now);
        self.timeline.phase = Phase::Release {
            until: now + ns(self.cfg.timeout),
        };
    }

    /// Everyone who queued is in and named, and everyone told to quit is gone (so the
    /// disconnect counts are complete).
    pub(super) fn queue_finished(&self) -> bool {
        let Some(q) = self.queue.as_ref() else {
            return true;
        };
        // Cheap test first: this runs on every loop turn of the release phase.
        if q.admitted + q.departed < q.order.len() as u64 {
            return false;
        }
        q.order.iter().all(|&i| {
            let s = self.conns.clients[i as usize].state;
            s == State::Ready || s == State::Closed
        }) && self
            .conns
            .clients
            .iter()
            .all(|c| !c.quitting || c.state == State::Closed)
    }

    /// Frees the slots now due: that many admitted clients are told to `/quit`.
    pub(super) fn release_step(&mut self, now: u64) {
        let Some(q) = self.queue.as_mut() else {
            return;
        };
        let want = q.releases_due(now);
        let mut victims = Vec::new();
        for _ in 0..want {
            let Some(v) = q.pool.pop() else {
                break;
            };
            victims.push(v);
        }
        q.released += victims.len() as u64;
        for v in victims {
            let v = v as usize;
            let c = &mut self.conns.clients[v];
            if c.state == State::Closed {
                continue;
            }
            c.quitting = true;
            c.out.extend_from_slice(b"/quit\n");
            self.flush(v);
        }
    }
}
