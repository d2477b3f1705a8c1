//! The `verifier` binary: parses the command line, loads configuration, dispatches.
//!
//! Errors end the process with status 1 and one line on stderr; clap's usage errors use 2.

use anyhow::Context;
use clap::Parser;
use verifier::cli::{Cli, Command};
use verifier::config::{self, Config, RawConfig};

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = RawConfig::load(cli.config.as_deref(), config::env_provider())?.validate()?;
    match cli.command {
        Command::Serve => serve(&config),
        Command::Models(c) => verifier::cli::models::run(c, &config),
        Command::Mrz(c) => verifier::cli::mrz::run(c, &config),
        Command::Face(c) => verifier::cli::face::run(c, &config),
        Command::Liveness(c) => verifier::cli::liveness::run(c, &config),
        Command::Clients(c) => verifier::cli::clients::run(c, &config),
        Command::Loadtest(args) => verifier::cli::loadtest::run(args),
        Command::Openapi => {
            println!("{}", verifier::http::openapi_document().to_pretty_json()?);
            Ok(())
        }
        Command::Outbox(c) => verifier::cli::outbox::run(c, &config),
    }
}

fn serve(config: &Config) -> anyhow::Result<()> {
    verifier::telemetry::init_tracing(config.server.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let app = verifier::App::start(config).await?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "verifier listening");
        eprintln!("verifier is ready: open http://{addr}/");
        verifier::http::serve(listener, app.router(), shutdown_signal(), config.server.shutdown_grace).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
