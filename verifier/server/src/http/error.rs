//! The one HTTP error type, answered as `application/problem+json` (RFC 9457): a stable `type`
//! URI per kind of error (`urn:verifier:problem:<code>`, listed in `docs/api.md`), a `title`,
//! the `status`, a `detail`, and the extension members `code` (the last part of the type, for
//! clients that switch on a short string) and `field` (the dotted field at fault). Internal
//! faults send a generic body and are logged here, once.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No such resource, or not the caller's.
    #[error("no such resource")]
    NotFound,
    /// No route has this path (`/openapi.json` lists those that exist).
    #[error("no route has this path; /openapi.json lists the API")]
    NoRoute,
    /// No valid API key.
    #[error("a valid API key is required (Authorization: Bearer <api_key>)")]
    Unauthorized,
    /// The body is not JSON.
    #[error("the body is not a JSON object")]
    Malformed,
    /// The body is larger than the route accepts.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// The body is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// A field is missing or out of range.
    #[error("{field}: {problem}")]
    Invalid {
        /// The field, dotted (`expected_identity.birth_date`).
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The same idempotency key was used with a different body.
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyConflict,
    /// The client sends too many requests: try again after the wait.
    #[error("too many requests; retry after {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// When a request will be accepted again.
        retry_after: Duration,
    },
    /// The resource is not in a state that allows the request.
    #[error("{0}")]
    Conflict(&'static str),
    /// Something failed on our side; the detail is logged, not sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The status, the stable code (the end of the `type` URI) and the title.
    pub fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "no_route", "No such route"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Malformed => (StatusCode::BAD_REQUEST, "malformed", "Malformed request body"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Request body too large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type")
            }
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid field"),
            ApiError::IdempotencyConflict => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict", "Idempotency key reused")
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

/// An error (RFC 9457), sent as `application/problem+json`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:verifier:problem:<code>`, stable per kind of error (`docs/api.md`).
    #[serde(rename = "type")]
    kind: String,
    /// A short title.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    detail: String,
    /// The type's last part, for clients that switch on a short string.
    code: &'static str,
    /// The dotted field at fault, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `type` URI of an error code.
pub fn problem_type(code: &str) -> String {
    format!("urn:verifier:problem:{code}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title) = self.kind();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        let problem =
            Problem { kind: problem_type(code), title, status: status.as_u16(), detail: self.to_string(), code, field };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RateLimited { retry_after } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            _ => {}
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

/// Middleware: an error response made outside the handlers (a body over the limit, a timeout,
/// a method the route does not take, an extractor's rejection) becomes a problem document too,
/// with the same status. Handler errors already are one and pass through.
pub async fn problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // A handler's own answer (a problem, the readiness report's JSON, a page) passes; what the
    // layers and extractors make is plain text or empty.
    let typed = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| {
        t.starts_with(PROBLEM_JSON) || t.starts_with("application/json") || t.starts_with("text/html")
    });
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::BAD_REQUEST => "malformed",
        s if s.is_server_error() => "internal",
        _ => "request_refused",
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let problem = Problem {
        kind: problem_type(code),
        title,
        status: status.as_u16(),
        detail: title.to_lowercase(),
        code,
        field: None,
    };
    let mut out = (status, serde_json::to_vec(&problem).unwrap_or_default()).into_response();
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(allow) = response.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
