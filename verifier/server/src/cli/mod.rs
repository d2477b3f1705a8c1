//! The command line: subcommands that print one JSON document on stdout.
//!
//! This is the project's scripting interface. Exit status 0 means the command ran (whatever it
//! found); non-zero means unusable input or environment, with a one-line error on stderr.

pub mod clients;
pub mod face;
pub mod liveness;
pub mod loadtest;
pub mod models;
pub mod mrz;
pub mod outbox;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Remote identity verification: the service and its tools.
#[derive(Debug, Parser)]
#[command(name = "verifier", version, about)]
pub struct Cli {
    /// A configuration file (TOML) overriding the embedded defaults; also $VERIFIER_CONFIG.
    #[arg(long, global = true, env = "VERIFIER_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service until SIGTERM or Ctrl-C.
    Serve,
    /// Model files: fetch into the cache, check against the manifest.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Machine-readable zones: parse and validate.
    #[command(subcommand)]
    Mrz(mrz::MrzCommand),
    /// Faces in images.
    #[command(subcommand)]
    Face(face::FaceCommand),
    /// Presentation-attack detection: evaluate the passive layer on labelled sequences.
    #[command(subcommand)]
    Liveness(liveness::LivenessCommand),
    /// API clients: create them.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Concurrent capture sessions against a running local service, with latency figures.
    Loadtest(loadtest::LoadtestArgs),
    /// Print the API's OpenAPI 3.1 document (what `/openapi.json` serves).
    Openapi,
    /// The delivery outbox: its throughput on a database.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
