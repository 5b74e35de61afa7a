//! The signals the server acts on, as a readable source of the poll loop: SIGINT and
//! SIGTERM stop it; SIGHUP reloads what can be reloaded (the users file).

use std::io;

use mio::{Interest, Registry, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

/// What a signal asks of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Shut down gracefully; the signal's name, for the log.
    Stop(&'static str),
    /// Read the settings files again.
    Reload,
}

/// The server's signals, registered with the poll loop.
pub struct ControlSignals {
    signals: Signals,
}

impl ControlSignals {
    /// Catches SIGINT, SIGTERM and SIGHUP from now on and registers them under `token`.
    pub fn register(registry: &Registry, token: Token) -> io::Result<ControlSignals> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        registry.register(&mut signals, token, Interest::READABLE)?;
        Ok(ControlSignals { signals })
    }

    /// The signals that have arrived since the last call, each kind once.
    pub fn received(&mut self) -> Vec<Signal> {
        let mut arrived = Vec::new();
        for signal in self.signals.pending() {
            let signal = match signal {
                SIGHUP => Signal::Reload,
                SIGINT => Signal::Stop("SIGINT"),
                _ => Signal::Stop("SIGTERM"),
            };
            if !arrived.contains(&signal) {
                arrived.push(signal);
            }
        }
        arrived
    }
}

impl std::fmt::Debug for ControlSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlSignals")
    }
}
