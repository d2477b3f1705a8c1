//! The one HTTP error type: client faults become 4xx with a machine-readable code; internal
//! faults send a generic body and are logged here, once.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No route matches, or the resource is not the caller's.
    #[error("no such endpoint")]
    NotFound,
    /// No valid API key.
    #[error("a valid API key is required (Authorization: Bearer <api_key>)")]
    Unauthorized,
    /// The body is not JSON.
    #[error("the body is not a JSON object")]
    Malformed,
    /// A field is missing or out of range.
    #[error("{field}: {problem}")]
    Invalid {
        /// The field, dotted (`expected_identity.birth_date`).
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// Something failed on our side; the detail is logged, not sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct Body {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            ApiError::Malformed => (StatusCode::BAD_REQUEST, "malformed", None),
            ApiError::Invalid { field, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(*field)),
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let mut response = (status, Json(Body { error: code, message: self.to_string(), field })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}
