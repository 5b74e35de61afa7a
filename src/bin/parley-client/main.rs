//! `parley-client`: the interactive terminal client of the parley chat server.
//!
//! The modules split the work by job:
//! - [`args`]: command line and address resolution;
//! - [`session`]: the connection, with a reader thread that applies server lines to
//!   the [`state`] and shows them at once;
//! - [`protocol`], [`render`], [`style`], [`clock`]: parsing server lines and turning
//!   them into safe, coloured text for people;
//! - [`input`]: what a typed line means to the client, by the server library's own
//!   command grammar (the one module that uses it);
//! - [`chat`]: the conversation (queue, naming, chatting) shared by the front ends;
//! - [`terminal`] (rustyline) and [`lines`] (scripts): the two front ends;
//! - [`tty`] and [`error`]: terminal repairs and the single failure exit.

mod args;
mod chat;
mod clock;
mod error;
mod input;
mod lines;
mod protocol;
mod render;
mod session;
mod state;
mod style;
mod terminal;
mod tty;

use std::io::{self, IsTerminal as _, Write as _};

use clap::Parser as _;

use crate::error::ClientError;
use crate::style::Painter;

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
    let stdout_terminal = io::stdout().is_terminal();
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let painter = Painter {
        colour: style::colour_wanted(stdout_terminal, no_color.as_deref(), term.as_deref()),
    };
    // The line editor needs a terminal on both sides; anything else is a script.
    if io::stdin().is_terminal() && stdout_terminal {
        terminal::run(&args.addr, &addrs, args.name, painter)
    } else {
        lines::run(&args.addr, &addrs, args.name, painter)
    }
}
