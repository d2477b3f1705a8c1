//! Liveness, readiness and metrics endpoints for the operator.
//!
//! `/healthz` says the process answers; `/readyz` says it can do its work (each model answers a
//! tiny warm-up run, the database answers a query) and which check failed if not; `/metrics`
//! is the Prometheus text format.

use axum::extract::State;
use serde::Serialize;

use super::AppState;

/// The `/readyz` body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Whether every check passed.
    pub ready: bool,
    /// Each check and its outcome.
    pub checks: Vec<Check>,
}

/// One readiness check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The process answers", body = String, content_type = "text/plain")
    )
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Every model answered a warm-up run and the database a query", body = Readiness),
        (status = 503, description = "A check failed; `checks` says which", body = Readiness)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Readiness {
    let database = match state.store.ping().await {
        Ok(()) => Check { name: "database", ok: true, error: None },
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Check { name: "database", ok: false, error: Some("database unreachable".into()) }
        }
    };
    let engines = state.engines.clone();
    let models = match crate::jobs::on_rayon(move || crate::engines::warm_up(&engines)).await {
        Ok(runs) => match runs.iter().find(|r| r.error.is_some()) {
            None => Check { name: "models", ok: true, error: None },
            Some(failed) => {
                tracing::error!(role = failed.role, error = ?failed.error, "readiness: a model failed its warm-up");
                Check { name: "models", ok: false, error: Some(format!("{} failed its warm-up run", failed.role)) }
            }
        },
        Err(e) => Check { name: "models", ok: false, error: Some(e.to_string()) },
    };
    let ready = database.ok && models.ok;
    Readiness { ready, checks: vec![models, database] }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")
    )
)]
pub async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}
