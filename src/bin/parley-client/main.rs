//! `parley-client`: the interactive terminal client of the parley chat server.
//!
//! The modules split the work by job:
//! - [`args`]: command line and address resolution;
//! - [`session`]: the session, with a reader thread that applies server lines to
//!   the [`state`] and shows them at once, and reconnects when the connection is
//!   lost ([`reconnect`]: when to try; [`resume`]: getting name, rooms and missed
//!   messages back);
//! - [`transport`] and [`tls`]: what carries the bytes (plain TCP, or TLS with the
//!   server's certificate checked), shared by the reader thread and the writers;
//! - [`account`] and [`password`]: the account commands, and keeping their
//!   passwords out of sight, out of the history and out of memory once used;
//! - [`protocol`], [`render`], [`style`], [`clock`]: parsing server lines and turning
//!   them into safe, coloured text for people;
//! - [`input`]: what a typed line means to the client, by the server library's own
//!   command grammar (the one module that uses it);
//! - [`chat`]: the conversation (queue, naming, chatting) shared by the front ends;
//! - [`terminal`] (rustyline) and [`lines`] (scripts): the two front ends;
//! - [`tty`] and [`error`]: terminal repairs and the single failure exit.

mod account;
mod args;
mod chat;
mod clock;
mod error;
mod input;
mod lines;
mod password;
mod protocol;
mod reconnect;
mod render;
mod resume;
mod session;
mod state;
mod style;
mod terminal;
mod tls;
mod transport;
mod tty;

use std::io::{self, IsTerminal as _, Write as _};

use clap::Parser as _;

use crate::chat::Start;
use crate::error::ClientError;
use crate::session::Reconnect;
use crate::style::Painter;
use crate::transport::Dialer;

fn main() {
    let args = args::Args::parse();
    if let Err(err) = run(args) {
        error::fail(&err);
    }
    let _ = io::stdout().flush();
}

/// Connects and runs the front end that suits standard input and output.
fn run(args: args::Args) -> Result<(), ClientError> {
    clock::init_local_zone();
    let addrs = args::resolve(&args.addr).map_err(|source| ClientError::Resolve {
        addr: args.addr.clone(),
        source,
    })?;
    // Before connecting: a CA file that cannot be used is the user's to fix first.
    let tls = if args.tls_wanted() {
        let trust = match &args.ca {
            Some(path) => tls::Trust::CaFile(path.clone()),
            None => tls::Trust::System,
        };
        let host = args::host(&args.addr);
        Some(tls::TlsSetup::new(trust, host).map_err(ClientError::Tls)?)
    } else {
        None
    };
    let dialer = Dialer::new(addrs, tls);
    let stdout_terminal = io::stdout().is_terminal();
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let painter = Painter {
        colour: style::colour_wanted(stdout_terminal, no_color.as_deref(), term.as_deref()),
    };
    let start = match args.name {
        Some(name) => Some(Start {
            password: password_for(args.password_file)?,
            name,
        }),
        None => None,
    };
    let reconnect = Reconnect {
        enabled: !args.no_reconnect,
        max_attempts: args.reconnect_max,
        // Each front end says whether it can ask for a new name.
        ask_name: false,
    };
    // The line editor needs a terminal on both sides; anything else is a script.
    if io::stdin().is_terminal() && stdout_terminal {
        terminal::run(&args.addr, dialer, start, painter, reconnect)
    } else {
        lines::run(&args.addr, dialer, start, painter, reconnect)
    }
}

/// The password of the `--name` account: from `--password-file` when given, else
/// from the environment, else none (a guest).
fn password_for(file: Option<std::path::PathBuf>) -> Result<Option<password::Secret>, ClientError> {
    match file {
        Some(path) => password::from_file(&path)
            .map(Some)
            .map_err(|source| ClientError::PasswordFile { path, source }),
        None => Ok(password::from_env()),
    }
}
