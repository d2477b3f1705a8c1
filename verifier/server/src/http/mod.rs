//! The HTTP surface: routes, middleware (limits, timeouts, tracing, metrics) and serving with
//! graceful shutdown.
//!
//! Handlers stay thin: they read state, call into the rest of the crate and map outcomes to
//! responses. CPU work never runs here.

mod deliveries;
mod error;
mod health;
pub mod limit;
pub mod openapi;
mod pages;
pub mod sessions;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{MatchedPath, Request};
use axum::extract::{Path, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
use openapi::Problem;

use crate::capture::CaptureService;
use crate::engines::Engines;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The loaded models.
    pub engines: Arc<Engines>,
    /// The Prometheus recorder's handle.
    pub metrics: PrometheusHandle,
    /// Live capture sessions.
    pub capture: Arc<CaptureService>,
    /// The base URL capture links are built on, when configured.
    pub public_url: Option<String>,
    /// Whether `/demo` is served.
    pub demo: bool,
    /// Per-client request rate limits.
    pub limiter: Arc<limit::RateLimiter>,
    /// Opens the evidence crops.
    pub evidence: Arc<crate::evidence::EvidenceCipher>,
}

/// The landing page (`web-capture/index.html`), compiled in.
const INDEX_HTML: &str = include_str!("../../../../web-capture/index.html");

/// The API's routes with their OpenAPI description: a route registered here is described by
/// its handler's `#[utoipa::path]`, and cannot be served undescribed.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(sessions::create))
        .routes(routes!(sessions::get))
        .routes(routes!(sessions::purge_evidence))
        .routes(routes!(sessions::evidence))
        .routes(routes!(deliveries::list))
        .routes(routes!(deliveries::retry))
        .routes(routes!(capture_socket))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The OpenAPI document, as `/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api().1
}

/// The service's routes and middleware. The pages (`/`, `/capture/{token}`, `/assets`, the
/// demo) are for browsers and stay out of the API's description.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (api, document) = api();
    let document =
        axum::body::Bytes::from(document.to_json().unwrap_or_else(|e| unreachable!("the document serialises: {e}")));
    api.route("/", get(|| async { Html(INDEX_HTML) }))
        .route("/capture/{token}", get(pages::capture))
        .route("/assets/{name}", get(pages::asset))
        .route("/demo", get(pages::demo))
        .route("/demo/sessions", post(sessions::create_demo))
        .fallback(|| async { ApiError::NoRoute })
        .layer(axum::Extension(OpenApiJson(document)))
        .layer(middleware::from_fn(record_metrics))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        // Errors made by the layers and extractors above (413, 408, 405, ...) as problems too.
        .layer(middleware::from_fn(error::problems))
        // Spans name the route template, never the raw path: capture links carry a credential.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
            tracing::debug_span!("request", method = %request.method(), route)
        }))
        .with_state(state)
}

/// The serialised OpenAPI document, made once.
#[derive(Clone)]
struct OpenApiJson(axum::body::Bytes);

/// `GET /openapi.json`: this API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
async fn openapi_json(axum::Extension(OpenApiJson(document)): axum::Extension<OpenApiJson>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], document).into_response()
}

/// `GET /v1/capture/{token}`: the capture WebSocket (`docs/capture-protocol.md`). Messages
/// over twice the frame limit close the socket (1009); smaller oversized frames are refused
/// with a message by the connection itself, and the session goes on.
#[utoipa::path(
    get,
    path = "/v1/capture/{token}",
    tag = "capture",
    params(("token" = String, Path, description = "The capture link's token (the link is the credential)")),
    responses(
        (status = 101, description = "Switching to the capture protocol (docs/capture-protocol.md); an unknown, used or expired token is answered in the protocol, then the socket closes"),
        (status = 400, description = "Not a WebSocket upgrade", body = Problem, content_type = "application/problem+json")
    )
)]
async fn capture_socket(State(state): State<AppState>, Path(token): Path<String>, ws: WebSocketUpgrade) -> Response {
    let limit = state.capture.capture.max_frame_bytes * 2;
    let service = state.capture.clone();
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| crate::capture::connection::handle(service, token, socket))
}

/// Counts requests and their latency per route template (never per raw path, which could
/// carry identifiers).
async fn record_metrics(request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// Serves `router` on `listener` until `shutdown` completes, then gives in-flight requests
/// `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let deadline = async move {
        // Only starts counting once shutdown has begun; a dropped sender means the server ended.
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; stopping");
            Ok(())
        }
    }
}

impl IntoResponse for health::Readiness {
    fn into_response(self) -> Response {
        let status = if self.ready { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
        (status, axum::Json(self)).into_response()
    }
}
