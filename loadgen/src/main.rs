//! parley-loadgen: drives many simulated clients against a parley server over loopback
//! TCP (or TLS, with `--tls`) from one mio event loop, checks that every message arrives
//! exactly once and in order, and reports throughput, latency percentiles, errors and
//! its own CPU use. Some scenarios also speak IRC (`--protocol irc|mixed`), to parley's
//! IRC gateway or to any IRC server. `make-cert` writes a certificate for the server's
//! TLS listener.
//!
//! Exit status: 0 when the run found no problem, 1 when it did (the report says
//! which), 2 when it could not run at all.

mod abuse;
mod args;
mod board;
mod cert;
mod check;
mod clock;
mod conn;
mod driver;
mod error;
mod irc;
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
mod tls;
mod transport;
mod wire;
mod witness;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, Config, MakeCertArgs, Protocol, ScenarioCmd};
use crate::error::Error;
use crate::tls::TlsClient;

fn run() -> Result<bool, Error> {
    clock::init();
    match Cli::parse().command {
        Command::Scenario(cmd) => run_scenario(*cmd),
        Command::MakeCert(args) => make_cert(&args).map(|()| true),
    }
}

/// Runs a scenario; `Ok(false)` when it found a problem.
fn run_scenario(cmd: ScenarioCmd) -> Result<bool, Error> {
    let cfg = Config::from_scenario(cmd)?;
    let plan = scenario::Plan::build(&cfg)?;
    // One set of TLS settings for the whole run: every session shares it.
    let tls = match &cfg.tls {
        Some(t) => Some(TlsClient::new(&t.ca, t.server_name.clone()).map_err(Error::Tls)?),
        None => None,
    };
    match cfg.protocol {
        Protocol::Parley => probe::probe(cfg.addr, tls.as_ref())?,
        Protocol::Irc => probe::probe_irc(cfg.irc_addr)?,
        Protocol::Mixed => {
            probe::probe(cfg.addr, tls.as_ref())?;
            probe::probe_irc(cfg.irc_addr)?;
        }
    }
    let json = cfg.json;
    let outcome = driver::Driver::new(cfg, plan, tls)?.run()?;
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

/// Writes the certificate files and says how to use them.
fn make_cert(args: &MakeCertArgs) -> Result<(), Error> {
    let files = cert::make(&args.dir, &args.names).map_err(Error::Cert)?;
    // The loadgen checks the certificate against localhost unless told another name.
    let name = match args.names.first() {
        Some(n) if n != args::DEFAULT_SERVER_NAME => format!(" --server-name {n}"),
        _ => String::new(),
    };
    let text = format!(
        "wrote {}, {} and {} (ECDSA P-256, for {})\n\
         server:  --tls-listen 127.0.0.1:7443 --tls-cert {} --tls-key {}\n\
         loadgen: --tls --ca {}{name}\n",
        files.ca.display(),
        files.cert.display(),
        files.key.display(),
        args.names.join(", "),
        files.cert.display(),
        files.key.display(),
        files.ca.display(),
    );
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing to stdout", e))
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
