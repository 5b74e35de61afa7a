//! `parley-server`: parse the settings, size the process for them, and run the loop.

use std::process::ExitCode;

use clap::Parser;
use log::{error, info, warn};

use parley::config::{Config, Tool};
use parley::limits::{fit_capacity, raise_open_file_limit, reserve_descriptor_table, RESERVED_FDS};
use parley::password::{hash_from_reader, Hasher};
use parley::server::{Server, StartError};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let mut config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("parley-server: {e}");
        return ExitCode::from(2);
    }
    if let Some(Tool::HashPassword) = config.tool {
        return hash_password(&config);
    }
    if let Err(e) = fit_open_files(&mut config) {
        error!("{e}");
        return ExitCode::FAILURE;
    }
    let mut server = match Server::bind(&config) {
        Ok(server) => server,
        Err(e @ StartError::Store(_)) => {
            error!("{e} (--data {})", config.data);
            return ExitCode::FAILURE;
        }
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = server.stop_on_signals() {
        error!("cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(addr) = server.tls_addr() {
        info!("listening for TLS on {addr}");
    }
    if let Some(addr) = server.irc_addr() {
        info!("listening for IRC on {addr}");
    }
    if let Some(addr) = server.irc_tls_addr() {
        info!("listening for IRC over TLS on {addr}");
    }
    info!("listening on {}", server.local_addr());
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("poll loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `parley-server hash-password`: reads a password on standard input and prints its
/// PHC hash, for a users file.
fn hash_password(config: &Config) -> ExitCode {
    let hashed = Hasher::new(config.hash_params())
        .and_then(|hasher| hash_from_reader(&hasher, std::io::stdin().lock()));
    match hashed {
        Ok(phc) => {
            println!("{phc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parley-server hash-password: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The open-file limit cannot hold a single client beside the descriptors the server
/// keeps (and those its TLS handshakes may hold).
#[derive(Debug)]
struct NoRoomForClients {
    /// The hard open-file limit.
    open_files: u64,
    /// How the TLS handshakes' share was put, or nothing without TLS.
    handshakes: String,
}

impl std::fmt::Display for NoRoomForClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the open-file limit ({}) leaves no descriptor for a client{}: the server \
             keeps {RESERVED_FDS}; raise it (ulimit -n)",
            self.open_files, self.handshakes
        )
    }
}

/// Raises the open-file limit and lowers the connection limits to what it can hold,
/// so that the server never fails at accept for lack of descriptors it promised, and
/// grows the descriptor table for them before any thread starts.
fn fit_open_files(config: &mut Config) -> Result<(), NoRoomForClients> {
    let open_files = match raise_open_file_limit() {
        Ok(n) => n,
        Err(e) => {
            warn!("cannot read the open-file limit ({e}); keeping the configured capacity");
            return Ok(());
        }
    };
    // Connections in a TLS handshake hold descriptors before they count as clients.
    let for_clients = open_files.saturating_sub(config.handshake_descriptors());
    let handshakes = match config.handshake_descriptors() {
        0 => String::new(),
        n => format!(" (after {n} kept for TLS handshakes, --max-handshakes)"),
    };
    if for_clients <= RESERVED_FDS {
        return Err(NoRoomForClients {
            open_files,
            handshakes,
        });
    }
    let (clients, queue) = fit_capacity(for_clients, config.max_clients, config.max_queue);
    if (clients, queue) != (config.max_clients, config.max_queue) {
        warn!(
            "the open-file limit ({open_files}) cannot hold --max-clients {} plus --max-queue {}{handshakes}; using {clients} and {queue}",
            config.max_clients, config.max_queue
        );
        config.max_clients = clients;
        config.max_queue = queue;
    }
    info!(
        "capacity: {} clients admitted, {} waiting (open-file limit {open_files})",
        config.max_clients, config.max_queue
    );
    let descriptors = (config.max_clients + config.max_queue) as u64
        + config.handshake_descriptors()
        + RESERVED_FDS;
    if let Err(e) = reserve_descriptor_table(descriptors.min(open_files)) {
        warn!("cannot grow the descriptor table ahead ({e}); accepting may pause as it grows");
    }
    Ok(())
}
