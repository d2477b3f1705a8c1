//! `verifier outbox bench`: the outbox's throughput on a database, measured end to end. It
//! writes `count` decisions the way a capture session does (the decision, its audit entry and
//! its outbox row in one transaction), then lets the real delivery worker send them, signed, to
//! a receiver on this machine that answers 204, and prints both rates as one JSON line.
//!
//! On the embedded SQLite default it uses a scratch file; `--database postgres://...` measures a
//! PostgreSQL server (the sessions it writes belong to a client named `outbox-bench-...` and
//! stay there).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::json;

use crate::capture::record::{rfc3339_of_ms, unix_ms};
use crate::config::{Config, DatabaseConfig};
use crate::delivery::Deliverer;
use crate::store::Store;
use crate::store::sessions::NewSession;

/// `outbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Decisions written and delivered per second, through the real worker.
    Bench(BenchArgs),
}

/// `outbox bench` options.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Decisions to write and deliver.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// The database (`postgres://...`); a scratch SQLite file when absent.
    #[arg(long)]
    pub database: Option<String>,
}

/// Runs an `outbox` subcommand.
pub fn run(command: OutboxCommand, config: &Config) -> anyhow::Result<()> {
    let OutboxCommand::Bench(args) = command;
    anyhow::ensure!(args.count > 0, "--count must be at least 1");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench(config, &args))
}

async fn bench(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join(format!("verifier-outbox-bench-{}.sqlite", std::process::id()));
    let url = args.database.clone().unwrap_or_else(|| format!("sqlite://{}?mode=rwc", scratch.display()));
    let store = Store::open(&DatabaseConfig { url, max_connections: config.database.max_connections }).await?;
    let result = measure(config, &store, args.count).await;
    if args.database.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
        }
    }
    super::print_json(&result?)
}

async fn measure(config: &Config, store: &Store, count: usize) -> anyhow::Result<serde_json::Value> {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let name = format!("outbox-bench-{}", hex::encode(rand::random::<[u8; 4]>()));
    let (client_id, _, _) = super::clients::add(store, &name).await?;
    store.set_client_callback(&name, Some(&hook)).await?;
    // A decision of the size a real one has (identity, scores, hashes of a dozen frames).
    let frames: Vec<String> = (0..12).map(|i| format!("{i:064x}")).collect();
    let decision = json!({
        "outcome": "accepted", "reasons": [], "identity": {"document_kind": "passport", "surname": "BENCH"},
        "scores": {"face_similarity": 0.71, "face_similarities": [0.7, 0.71, 0.72], "mrz_frames": 3},
        "model_versions": {"face": "sha256:00", "detector": "sha256:01"}, "frames_sha256": frames,
        "evidence": [],
    })
    .to_string();

    let started = Instant::now();
    for i in 0..count {
        let id = format!("se_{}", hex::encode(rand::random::<[u8; 16]>()));
        let now = unix_ms();
        store
            .create_session(
                &NewSession {
                    id: &id,
                    client_id: &client_id,
                    purpose: "recipient",
                    reference: &format!("bench-{i}"),
                    expected_identity: None,
                    token_sha256: &hex::encode(rand::random::<[u8; 32]>()),
                    created_at: &rfc3339_of_ms(now),
                    open_by_ms: now + 900_000,
                    callback_url: None,
                },
                None,
            )
            .await?;
        anyhow::ensure!(
            store.store_decision(&id, "accepted", &decision, &rfc3339_of_ms(now), &[]).await?,
            "a bench decision was not stored"
        );
    }
    let written = started.elapsed();

    let deliverer = Deliverer::new(store.clone(), config.delivery)?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    // The worker's own loop without its pause: claim a batch, send it, again, until all arrive.
    while received.load(Ordering::Relaxed) < count {
        anyhow::ensure!(Instant::now() < deadline, "the deliveries did not all arrive within 10 minutes");
        if deliverer.tick().await? == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let delivered = started.elapsed();
    let rate = |d: Duration| (count as f64 / d.as_secs_f64() * 10.0).round() / 10.0;
    Ok(json!({
        "database": format!("{:?}", store.backend()).to_lowercase(),
        "count": count,
        "decisions_per_s": rate(written),
        "deliveries_per_s": rate(delivered),
        "batch": config.delivery.batch,
        "note": "one writer; the receiver answers 204 on this machine, so the rate is the outbox's, not the network's",
    }))
}
