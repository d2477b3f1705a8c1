//! Liveness, readiness and metrics endpoints for the operator.
//!
//! `/healthz` says the process answers; `/readyz` says it can do its work (models loaded,
//! database reachable) and which check failed if not; `/metrics` is the Prometheus text format.

use axum::extract::State;
use serde::Serialize;

use super::AppState;

/// The `/readyz` body.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// Whether every check passed.
    pub ready: bool,
    /// Each check and its outcome.
    pub checks: Vec<Check>,
}

/// One readiness check.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Readiness {
    let database = match state.store.ping().await {
        Ok(()) => Check { name: "database", ok: true, error: None },
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Check { name: "database", ok: false, error: Some("database unreachable".into()) }
        }
    };
    let models = Check { name: "models", ok: !state.engines.loaded.is_empty(), error: None };
    let ready = database.ok && models.ok;
    Readiness { ready, checks: vec![models, database] }
}

pub async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}
