//! The pages the service serves: the capture page at each session's link, its assets, and the
//! demo page. All are compiled in from `web-capture/`, so the binary needs no files at run
//! time and a page cannot drift from the server it was built with.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{ApiError, AppState};

const CAPTURE_HTML: &str = include_str!("../../../../web-capture/capture.html");
const DEMO_HTML: &str = include_str!("../../../../web-capture/demo.html");

/// The page assets, by name.
const ASSETS: &[(&str, &str, &str)] = &[
    ("capture.js", "text/javascript; charset=utf-8", include_str!("../../../../web-capture/capture.js")),
    ("capture.css", "text/css; charset=utf-8", include_str!("../../../../web-capture/capture.css")),
    ("messages.js", "text/javascript; charset=utf-8", include_str!("../../../../web-capture/messages.js")),
    ("demo.js", "text/javascript; charset=utf-8", include_str!("../../../../web-capture/demo.js")),
];

/// Headers every page gets: no caching of a page holding a credential in its URL, no
/// referrer carrying it elsewhere, no framing, camera for this origin only.
fn page(html: &'static str) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::HeaderName::from_static("permissions-policy"), "camera=(self), microphone=()"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(html),
    )
        .into_response()
}

/// `GET /capture/{token}`: the capture page. The page itself opens the socket; an unknown or
/// expired token is reported there (close codes 4404, 4410), so the page can explain it.
pub async fn capture(Path(token): Path<String>) -> Response {
    if token.len() > 128 {
        return ApiError::NotFound.into_response();
    }
    page(CAPTURE_HTML)
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// `GET /demo`, when the demo is on.
pub async fn demo(State(state): State<AppState>) -> Response {
    if state.demo { page(DEMO_HTML) } else { ApiError::NotFound.into_response() }
}
