//! How evenly the senders' messages were spread over the measured window.

use crate::driver::Outcome;

/// How evenly the senders' messages were spread over the measured window. A server can
/// deliver every message and still starve some senders: their messages then wait in
/// TCP, and those generated before the window never show in its latency figures.
pub struct SenderShare {
    /// Messages of the slowest sender in the window.
    pub min: u64,
    /// Messages of the fastest sender in the window.
    pub max: u64,
    /// Mean messages per sender in the window.
    pub mean: f64,
}

impl SenderShare {
    /// A slowest sender below this fraction of the mean counts as starved.
    const STARVED_BELOW: f64 = 0.1;

    /// `None` without senders or without a message in the window. A sender the server
    /// disconnected early counts as slow too; the disconnect itself fails the run.
    pub fn of(o: &Outcome) -> Option<Self> {
        let counts = || {
            o.plan
                .schedule
                .iter()
                .map(|&s| o.clients[s as usize].sent_in_window)
        };
        let (min, max) = (counts().min()?, counts().max()?);
        let mean = counts().sum::<u64>() as f64 / o.plan.schedule.len() as f64;
        (mean > 0.0).then_some(SenderShare { min, max, mean })
    }

    /// The slowest sender got less than a tenth of the mean.
    pub fn starved(&self) -> bool {
        (self.min as f64) < self.mean * Self::STARVED_BELOW
    }

    /// The note that says so.
    pub fn starved_note(&self) -> String {
        format!(
            "senders were served unevenly: the slowest sent {} messages in the window and the fastest {} (a mean of {:.0}); messages a starved sender generated before the window are not in the latency figures",
            self.min, self.max, self.mean
        )
    }
}
