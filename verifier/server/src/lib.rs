//! The verification service: configuration, storage, model loading, HTTP, and the command line.
//!
//! The binary `verifier` (in `main.rs`) is a thin shell over this library, so integration tests
//! start the same server in-process with their own listener, database and shutdown signal:
//!
//! ```no_run
//! # async fn example(config: verifier::config::Config) -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let app = verifier::App::start(&config).await?;
//! verifier::http::serve(listener, app.router(), std::future::pending(), config.server.shutdown_grace).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod capture;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod engines;
pub mod evidence;
pub mod http;
pub mod jobs;
pub mod plot;
pub mod store;
pub mod telemetry;

use std::sync::Arc;

use anyhow::Context;
use verifier_models::Manifest;

use crate::config::Config;
use crate::http::AppState;

/// A started service: database open and migrated, models loaded.
#[derive(Clone)]
pub struct App {
    state: AppState,
    max_body_bytes: usize,
}

impl App {
    /// Opens the database, loads the models (on a blocking thread: it is CPU and file work) and
    /// records which model files this process runs.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let started_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let store = store::Store::open(&config.database).await.context("opening the database")?;
        let engine_config = config.clone();
        let engines = tokio::task::spawn_blocking(move || engines::load(&engine_config, &Manifest::embedded()))
            .await
            .context("model loading panicked")??;
        store.record_model_loads(&started_at, &engines.loaded).await.context("recording model loads")?;
        for m in &engines.loaded {
            tracing::info!(model = %m.name, sha256 = %m.sha256, "model loaded");
        }
        Self::from_engines(config, store, engines).await
    }

    /// A service over models already loaded (what [`App::start`] does after loading them;
    /// tests give it models of their own).
    pub async fn from_engines(config: &Config, store: store::Store, engines: engines::Engines) -> anyhow::Result<Self> {
        if config.demo {
            cli::clients::ensure_demo_client(&store).await.context("creating the demo client")?;
        }
        let engines = Arc::new(engines);
        let evidence = Arc::new(
            evidence::EvidenceCipher::load(&config.evidence.keys, &config.evidence.key_file)
                .context("loading the evidence key")?,
        );
        let batcher = jobs::EmbedBatcher::start(
            engines.faces.embedder.clone(),
            jobs::BatchConfig { max_batch: config.capture.batch_max_faces, max_wait: config.capture.batch_max_wait },
        );
        let capture = Arc::new(capture::CaptureService::new(
            store.clone(),
            engines.clone(),
            batcher,
            config.session.clone(),
            config.capture,
            config.images,
            config.face_match.quality,
            config.portrait,
            evidence.clone(),
        ));
        tokio::spawn(purge_forever(
            store.clone(),
            config.evidence.retention,
            config.server.idempotency_window,
            config.evidence.purge_every,
        ));
        tokio::spawn(capture.clone().sweep_forever(std::time::Duration::from_secs(5)));
        if config.delivery.enabled {
            let deliverer = Arc::new(delivery::Deliverer::new(store.clone(), config.delivery)?);
            tokio::spawn(deliverer.run_forever());
        }
        Ok(Self {
            state: AppState {
                store,
                engines,
                metrics: telemetry::metrics(),
                capture,
                public_url: config.server.public_url.clone(),
                demo: config.demo,
                evidence,
                limiter: Arc::new(http::limit::RateLimiter::new(
                    config.server.client_rate_per_minute,
                    config.server.client_burst,
                )),
            },
            max_body_bytes: config.server.max_body_bytes,
        })
    }

    /// The HTTP router over this app's state.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone(), self.max_body_bytes)
    }
}

/// The retention job: every `every`, deletes the crops of decisions older than `retention` and
/// the idempotency keys older than `idempotency`.
async fn purge_forever(
    store: store::Store,
    retention: std::time::Duration,
    idempotency: std::time::Duration,
    every: std::time::Duration,
) {
    loop {
        let now = capture::record::unix_ms();
        match store.purge_evidence_before(now - retention.as_millis() as i64, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "evidence past retention purged"),
            Err(e) => tracing::warn!(error = %e, "evidence purge failed"),
        }
        if let Err(e) = store.expire_idempotency_keys(now - idempotency.as_millis() as i64).await {
            tracing::warn!(error = %e, "idempotency keys could not be expired");
        }
        tokio::time::sleep(every).await;
    }
}
