//! Counters and latency histograms of a run.
//!
//! Latencies are HdrHistograms of nanoseconds (3 significant digits, 1 ns to 1 hour):
//! recording is a few arithmetic operations, so it can sit on the per-delivery path.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::wire::Payload;

/// Upper bound of every histogram: one hour in nanoseconds; longer values saturate.
const HIST_MAX_NS: u64 = 3_600_000_000_000;

/// A new latency histogram.
pub fn new_hist() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("constant histogram bounds are valid")
}

/// Everything counted during a run.
pub struct Stats {
    /// Start of the measured window (process-clock ns); `u64::MAX` before traffic.
    pub win_start: u64,
    /// End of the measured window.
    pub win_end: u64,
    /// Also record latency from the actual send time (open loop only, where the two
    /// differ by the loadgen's own lateness).
    pub record_sent_latency: bool,
    /// Delivery latency from the scheduled send time, of messages scheduled in the
    /// window (board: from a post's scheduled time to its `POSTED`).
    pub latency: Histogram<u64>,
    /// Delivery latency from the actual send time (board: to the `POSTED`).
    pub latency_sent: Histogram<u64>,
    /// How late the loadgen handed open-loop messages to the socket.
    pub send_lag: Histogram<u64>,
    /// connect() to established.
    pub connect: Histogram<u64>,
    /// connect() to the TLS handshake completed (`--tls`).
    pub handshake: Histogram<u64>,
    /// connect() to `HELLO`.
    pub admission: Histogram<u64>,
    /// connect() to named and in lobby.
    pub named: Histogram<u64>,
    /// connect() to fully set up (room joined).
    pub ready: Histogram<u64>,
    /// First `QUEUED` to `HELLO`.
    pub queue_wait: Histogram<u64>,
    /// Test messages delivered (any time).
    pub delivered: u64,
    /// Test messages delivered inside the window.
    pub delivered_window: u64,
    /// Bytes read from the server.
    pub bytes_in: u64,
    /// Bytes read inside the window.
    pub bytes_in_window: u64,
    /// Test messages sent (any time).
    pub sent: u64,
    /// Test messages scheduled inside the window.
    pub sent_window: u64,
    /// Times a receiver saw a sequence number jump ahead.
    pub gap_events: u64,
    /// Deliveries from an earlier gap (out of order).
    pub reordered: u64,
    /// Deliveries of a message already delivered.
    pub duplicates: u64,
    /// `MSG`/`PRIV` lines whose text is not a payload we wrote.
    pub garbled: u64,
    /// Payloads naming a sender that does not send to this receiver.
    pub misrouted: u64,
    /// Open-loop messages not sent because the sender's unsent output passed its cap.
    pub backlog_skipped: u64,
    /// `ERR` lines by code.
    pub errors: BTreeMap<String, u64>,
    /// Closed connections by reason.
    pub disconnects: BTreeMap<&'static str, u64>,
    /// Closed connections that the scenario did not ask for.
    pub unexpected_disconnects: u64,
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Stats {
        Stats {
            win_start: u64::MAX,
            win_end: u64::MAX,
            record_sent_latency: false,
            latency: new_hist(),
            latency_sent: new_hist(),
            send_lag: new_hist(),
            connect: new_hist(),
            handshake: new_hist(),
            admission: new_hist(),
            named: new_hist(),
            ready: new_hist(),
            queue_wait: new_hist(),
            delivered: 0,
            delivered_window: 0,
            bytes_in: 0,
            bytes_in_window: 0,
            sent: 0,
            sent_window: 0,
            gap_events: 0,
            reordered: 0,
            duplicates: 0,
            garbled: 0,
            misrouted: 0,
            backlog_skipped: 0,
            errors: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            unexpected_disconnects: 0,
        }
    }

    /// Whether `t` falls in the measured window.
    #[inline]
    pub fn in_window(&self, t: u64) -> bool {
        t >= self.win_start && t < self.win_end
    }

    /// Counts a delivery received at `now`.
    #[inline]
    pub fn delivery(&mut self, now: u64, p: &Payload) {
        self.delivered += 1;
        if self.in_window(now) {
            self.delivered_window += 1;
        }
        // Latency belongs to the message's send time, so slow messages sent near the
        // end of the window are still counted when they arrive during the drain.
        if self.in_window(p.sched_ns) {
            self.latency
                .saturating_record(now.saturating_sub(p.sched_ns));
            if self.record_sent_latency {
                self.latency_sent
                    .saturating_record(now.saturating_sub(p.sent_ns));
            }
        }
    }

    /// Counts bytes read at `now`.
    #[inline]
    pub fn bytes(&mut self, now: u64, n: usize) {
        self.bytes_in += n as u64;
        if self.in_window(now) {
            self.bytes_in_window += n as u64;
        }
    }

    /// Counts an `ERR` line.
    pub fn error(&mut self, code: &[u8]) {
        let code = String::from_utf8_lossy(code).into_owned();
        *self.errors.entry(code).or_insert(0) += 1;
    }

    /// Counts a closed connection.
    pub fn disconnect(&mut self, reason: &'static str, expected: bool) {
        *self.disconnects.entry(reason).or_insert(0) += 1;
        if !expected {
            self.unexpected_disconnects += 1;
        }
    }
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

/// The bystanders' latency while something disturbs the server (a login storm, an
/// attack): the messages *scheduled* from the disturbance's start until its end,
/// whenever they arrive, just as the baseline window holds those scheduled in it. A
/// message sent at the end and held up by the disturbance still counts, so nothing
/// hides behind the loadgen's own timing (no coordinated omission).
#[derive(Debug)]
pub struct Disturbed {
    /// When the disturbance began; `u64::MAX` before.
    pub from: u64,
    /// When it ended; `u64::MAX` before.
    pub until: u64,
    /// Latency of the bystanders' messages scheduled in it.
    pub latency: Histogram<u64>,
}

impl Disturbed {
    /// Nothing disturbed yet.
    pub fn new() -> Disturbed {
        Disturbed {
            from: u64::MAX,
            until: u64::MAX,
            latency: new_hist(),
        }
    }

    /// The disturbance is under way at `t` (the earliest such time counts).
    pub fn begin(&mut self, t: u64) {
        self.from = self.from.min(t);
    }

    /// The disturbance is over at `t`.
    pub fn end(&mut self, t: u64) {
        self.until = t;
    }

    /// A bystander's message scheduled at `sched` arrived `latency` after it.
    #[inline]
    pub fn on_delivery(&mut self, sched: u64, latency: u64) {
        if sched >= self.from && sched < self.until {
            self.latency.saturating_record(latency);
        }
    }
}

impl Default for Disturbed {
    fn default() -> Self {
        Disturbed::new()
    }
}

/// The usual percentiles of a histogram, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatSummary {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl LatSummary {
    /// Summarises `h`.
    pub fn of(h: &Histogram<u64>) -> LatSummary {
        if h.is_empty() {
            return LatSummary::default();
        }
        LatSummary {
            count: h.len(),
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_decides_what_is_measured() {
        let mut s = Stats::new();
        s.win_start = 1_000;
        s.win_end = 2_000;
        let p = |t| Payload {
            sender: 0,
            slot: 0,
            seq: 0,
            sched_ns: t,
            sent_ns: t,
        };
        s.delivery(1_500, &p(500)); // received in window, sent before it
        s.delivery(2_500, &p(1_900)); // sent in window, received after it
        assert_eq!(s.delivered, 2);
        assert_eq!(s.delivered_window, 1);
        assert_eq!(s.latency.len(), 1);
        let l = LatSummary::of(&s.latency);
        assert!((595..=605).contains(&l.p50), "{l:?}");
    }
}
