//! SIGINT and SIGTERM as a readable source of the poll loop.

use std::io;

use mio::{Interest, Registry, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

/// The stop signals, registered with the poll loop.
pub struct StopSignals {
    signals: Signals,
}

impl StopSignals {
    /// Catches SIGINT and SIGTERM from now on and registers them under `token`.
    pub fn register(registry: &Registry, token: Token) -> io::Result<StopSignals> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        registry.register(&mut signals, token, Interest::READABLE)?;
        Ok(StopSignals { signals })
    }

    /// The name of a stop signal that has arrived, if any.
    pub fn received(&mut self) -> Option<&'static str> {
        self.signals.pending().last().map(|signal| match signal {
            SIGINT => "SIGINT",
            _ => "SIGTERM",
        })
    }
}

impl std::fmt::Debug for StopSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignals")
    }
}
