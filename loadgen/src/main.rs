//! parley-loadgen: drives many simulated clients against a parley server over loopback
//! TCP from one mio event loop, checks that every message arrives exactly once and in
//! order, and reports throughput, latency percentiles, errors and its own CPU use.
//!
//! Exit status: 0 when the run found no problem, 1 when it did (the report says
//! which), 2 when it could not run at all.

mod abuse;
mod args;
mod board;
mod check;
mod clock;
mod conn;
mod driver;
mod error;
mod login_storm;
mod probe;
mod progress;
mod queue;
mod report;
mod scenario;
mod stats;
mod summary;
mod sys;
mod targets;
mod wire;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Config};
use crate::error::Error;

fn run() -> Result<bool, Error> {
    clock::init();
    let cfg = Config::from_cli(Cli::parse())?;
    let plan = scenario::Plan::build(&cfg)?;
    probe::probe(cfg.addr)?;
    let json = cfg.json;
    let outcome = driver::Driver::new(cfg, plan)?.run()?;
    let summary = summary::summarize(&outcome);
    let text = if json {
        report::to_json(&summary.report)
    } else {
        report::to_table(&summary.title, &summary.report)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing the report", e))?;
    Ok(summary.passed)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            // The same form as clap's own usage errors.
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
