//! The sessions API: `POST /v1/sessions` creates a session and its capture link, `GET
//! /v1/sessions/{id}` reports its status and decision, both for the API client whose key the
//! request carries; `POST /demo/sessions` does the first for the demo page.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::openapi::{CreateSessionRequest, CreatedSession, EvidencePurged, KeyRefused, Problem, Session};
use super::{ApiError, AppState};
use crate::capture::record;
use crate::store::clients::ClientRow;
use crate::store::sessions::{Created, NewIdempotency, NewSession};

/// The demo page's own client, created at start-up when the demo is on.
pub const DEMO_CLIENT: &str = "demo";

/// The API client a request authenticates as.
pub struct Client(pub ClientRow);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 200)
            .ok_or(ApiError::Unauthorized)?;
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        match state.store.client_by_key(&hash).await? {
            // The demo client's key is never given out; it cannot call the API.
            Some(c) if c.name != DEMO_CLIENT => {
                state.limiter.check(&c.id, std::time::Instant::now()).map_err(|retry_after| {
                    metrics::counter!("http_rate_limited_total").increment(1);
                    ApiError::RateLimited { retry_after }
                })?;
                Ok(Client(c))
            }
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// `POST /v1/sessions`: creates a session and its capture link.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    operation_id = "create_session",
    tag = "sessions",
    security(("api_key" = [])),
    request_body = CreateSessionRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: 1 to 255 visible ASCII characters; the same key and request within `[server].idempotency_hours` return the same session")),
    responses(
        (status = 201, description = "The session; send the recipient to `capture_url`. A retry with the same `Idempotency-Key` and request gets the first answer again, with `Idempotent-Replayed: true`", body = CreatedSession, headers(("Idempotent-Replayed" = String, description = "`true` when this is the answer first given for the key"))),
        (status = 400, description = "The body is not a JSON object", body = Problem, content_type = "application/problem+json"),
        KeyRefused,
        (status = 413, description = "The body is over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`field` names it), or the `Idempotency-Key` was used with another request (`idempotency_conflict`)", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    create_for(&state, &client, &headers, &body).await
}

/// `POST /demo/sessions`: the same body, for the demo client.
pub async fn create_demo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if !state.demo {
        return Err(ApiError::NotFound);
    }
    let client = state
        .store
        .client_by_name(DEMO_CLIENT)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the demo client is missing")))?;
    // The demo's visitors share its one bucket: a demo cannot be used to flood the service.
    state
        .limiter
        .check(&client.id, std::time::Instant::now())
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    create_for(&state, &client, &headers, &body).await
}

/// A request's validated body.
struct NewSessionRequest {
    purpose: &'static str,
    reference: String,
    expected: Option<Value>,
    callback_url: Option<String>,
}

fn validate(body: &[u8]) -> Result<NewSessionRequest, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ApiError::Malformed)?;
    let object = value.as_object().ok_or(ApiError::Malformed)?;
    let purpose = match object.get("purpose").and_then(Value::as_str) {
        Some("recipient") => "recipient",
        Some("sender_onboarding") => "sender_onboarding",
        _ => {
            return Err(ApiError::Invalid {
                field: "purpose",
                problem: "expected \"recipient\" or \"sender_onboarding\"",
            });
        }
    };
    let reference = match object.get("reference") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(r)) if r.chars().count() <= 200 && !r.chars().any(char::is_control) => r.clone(),
        Some(_) => {
            return Err(ApiError::Invalid {
                field: "reference",
                problem: "expected a string of at most 200 characters",
            });
        }
    };
    let expected = match object.get("expected_identity") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            let name = |key: &'static str, required: bool| -> Result<String, ApiError> {
                match e.get(key) {
                    Some(Value::String(s))
                        if !s.trim().is_empty() && s.chars().count() <= 120 && !s.chars().any(char::is_control) =>
                    {
                        Ok(s.trim().to_owned())
                    }
                    None | Some(Value::Null) if !required => Ok(String::new()),
                    _ => Err(ApiError::Invalid {
                        field: if key == "surname" {
                            "expected_identity.surname"
                        } else {
                            "expected_identity.given_names"
                        },
                        problem: "expected a non-empty name of at most 120 characters",
                    }),
                }
            };
            let surname = name("surname", true)?;
            let given_names = name("given_names", false)?;
            let birth_date = match e.get("birth_date") {
                None | Some(Value::Null) => None,
                Some(Value::String(d)) if d.len() == 10 && mrz::Date::from_iso(d).is_some() => Some(d.clone()),
                Some(_) => {
                    return Err(ApiError::Invalid {
                        field: "expected_identity.birth_date",
                        problem: "expected a calendar date YYYY-MM-DD",
                    });
                }
            };
            Some(json!({ "surname": surname, "given_names": given_names, "birth_date": birth_date }))
        }
        Some(_) => return Err(ApiError::Invalid { field: "expected_identity", problem: "expected an object" }),
    };
    let callback_url = match object.get("callback_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if callback_url_ok(u) => Some(u.clone()),
        Some(_) => {
            return Err(ApiError::Invalid {
                field: "callback_url",
                problem: "expected an absolute https URL (http only to this machine) of at most 2048 characters",
            });
        }
    };
    Ok(NewSessionRequest { purpose, reference, expected, callback_url })
}

/// The `Idempotency-Key` header of a request, if it has one: 1 to 255 visible ASCII characters
/// (a UUID, a letter's reference and an attempt number, ...).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(key)),
        _ => Err(ApiError::Invalid { field: IDEMPOTENCY_KEY, problem: "expected 1 to 255 visible ASCII characters" }),
    }
}

/// The request header that makes `POST /v1/sessions` safe to retry.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What the sealed idempotent answer is bound to, beside the session id.
const IDEMPOTENT_ANSWER: &str = "idempotent_answer";

async fn create_for(
    state: &AppState,
    client: &ClientRow,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<axum::response::Response, ApiError> {
    let request = validate(body)?;
    let idempotency = idempotency_key(headers)?;
    let id = format!("se_{}", hex::encode(rand::random::<[u8; 16]>()));
    // 256 random bits from the operating system's generator (rand's thread RNG is a CSPRNG
    // seeded from it): the link is the only credential the recipient holds.
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now_ms = record::unix_ms();
    let open_by_ms = now_ms + state.capture.settings.open_within.as_millis() as i64;
    let expected = request.expected.as_ref().map(Value::to_string);
    let base = match &state.public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| valid_host(h));
            format!("http://{}", host.unwrap_or("127.0.0.1"))
        }
    };
    let answer = json!({
        "id": id,
        "capture_url": format!("{base}/capture/{token}"),
        "expires_at": record::rfc3339_of_ms(open_by_ms),
    });
    // A retry must ask for the same session: the request in canonical form (validated, so two
    // spellings of one request hash alike), the answer sealed (it holds the capture link).
    let canonical = json!([request.purpose, request.reference, request.expected, request.callback_url]);
    let request_sha256 = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
    let sealed = idempotency.map(|_| state.evidence.seal(&id, IDEMPOTENT_ANSWER, answer.to_string().as_bytes()));
    let key = idempotency.zip(sealed.as_ref()).map(|(key, response)| NewIdempotency {
        key,
        request_sha256: &request_sha256,
        response,
        created_ms: now_ms,
    });
    let created = state
        .store
        .create_session(
            &NewSession {
                id: &id,
                client_id: &client.id,
                purpose: request.purpose,
                reference: &request.reference,
                expected_identity: expected.as_deref(),
                token_sha256: &hex::encode(Sha256::digest(token.as_bytes())),
                created_at: &record::rfc3339_of_ms(now_ms),
                open_by_ms,
                callback_url: request.callback_url.as_deref(),
            },
            key.as_ref(),
        )
        .await?;
    match created {
        Created::New => {
            metrics::counter!("sessions_created_total", "purpose" => request.purpose).increment(1);
            Ok((StatusCode::CREATED, Json(answer)).into_response())
        }
        Created::Replay(first) if first.request_sha256 == request_sha256 => {
            let plain = state
                .evidence
                .open(&first.session_id, IDEMPOTENT_ANSWER, &first.response)
                .map_err(|e| ApiError::Internal(e.into()))?;
            metrics::counter!("sessions_idempotent_replays_total").increment(1);
            let headers = [(header::CONTENT_TYPE, "application/json"), (IDEMPOTENT_REPLAYED, "true")];
            Ok((StatusCode::CREATED, headers, plain).into_response())
        }
        Created::Replay(_) => Err(ApiError::IdempotencyConflict),
    }
}

/// The response header that marks an answer as the one first given for its idempotency key.
pub const IDEMPOTENT_REPLAYED: axum::http::HeaderName = axum::http::HeaderName::from_static("idempotent-replayed");

/// A callback URL the verifier will POST to: `https://host[:port]/...`, or `http://` to a
/// loopback address (a receiver on the same machine, in tests and behind a local proxy); no
/// credentials in it, no spaces or control characters.
pub fn callback_url_ok(url: &str) -> bool {
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || !valid_host(authority) {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    secure || matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// A Host header fit to build a link from: a name or address and an optional port.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Session `id` if `client` owns it; 404 otherwise (another client's session does not exist
/// for it), without a lookup for an id no session could have.
async fn owned_session(
    state: &AppState,
    client: &ClientRow,
    id: &str,
) -> Result<crate::store::sessions::SessionRow, ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    state.store.session_of_client(id, &client.id).await?.ok_or(ApiError::NotFound)
}

/// `GET /v1/sessions/{id}`: the session, its decision and its delivery.
#[utoipa::path(
    get,
    path = "/v1/sessions/{id}",
    operation_id = "get_session",
    tag = "sessions",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session", body = Session),
        KeyRefused,
        (status = 404, description = "No such session for this client", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = owned_session(&state, &client, &id).await?;
    let mut body = record::session_json(&row, record::unix_ms());
    body["evidence_purged_at"] = json!(state.store.evidence_purged_at(&row.id).await?);
    body["delivery"] = match state.store.delivery_of_session(&row.id).await? {
        Some(d) => crate::delivery::delivery_json(&d),
        None => Value::Null,
    };
    Ok(Json(body))
}

/// `DELETE /v1/sessions/{id}/evidence`: the subject's crops are deleted at once (the decision,
/// its reasons and the crops' hashes stay); recorded in the audit log.
#[utoipa::path(
    delete,
    path = "/v1/sessions/{id}/evidence",
    operation_id = "purge_evidence",
    tag = "sessions",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The crops are gone", body = EvidencePurged),
        KeyRefused,
        (status = 404, description = "No such session for this client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is not decided yet", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn purge_evidence(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = owned_session(&state, &client, &id).await?;
    if matches!(row.status.as_str(), "created" | "capturing") {
        return Err(ApiError::Conflict("the session is not decided yet"));
    }
    let purged = state.store.purge_evidence(&row.id, "request", record::unix_ms()).await?;
    let at = state.store.evidence_purged_at(&row.id).await?;
    Ok(Json(json!({ "id": row.id, "purged": purged, "evidence_purged_at": at })))
}

/// `GET /v1/sessions/{id}/evidence/{kind}`: one crop (`document`, `portrait`, `face`), opened,
/// as `image/jpeg`; 404 once purged.
#[utoipa::path(
    get,
    path = "/v1/sessions/{id}/evidence/{kind}",
    operation_id = "get_evidence",
    tag = "sessions",
    security(("api_key" = [])),
    params(
        ("id" = String, Path, description = "The session's id"),
        ("kind" = String, Path, description = "`document`, `portrait` or `face`"),
    ),
    responses(
        (status = 200, description = "The crop", content_type = "image/jpeg", body = Vec<u8>),
        KeyRefused,
        (status = 404, description = "No such session, kind or crop (purged)", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn evidence(
    State(state): State<AppState>,
    Client(client): Client,
    Path((id, kind)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let kind = match kind.as_str() {
        "document" => "document",
        "portrait" => "portrait",
        "face" => "face",
        _ => return Err(ApiError::NotFound),
    };
    let row = owned_session(&state, &client, &id).await?;
    let stored = state.store.evidence(&row.id, kind).await?.ok_or(ApiError::NotFound)?;
    let bytes = match (stored.key_id, stored.nonce) {
        (Some(key_id), Some(nonce)) => {
            let sealed = crate::evidence::Sealed { key_id, nonce, bytes: stored.bytes };
            state.evidence.open(&row.id, kind, &sealed).map_err(|e| ApiError::Internal(e.into()))?
        }
        // Stored before evidence was sealed.
        _ => stored.bytes,
    };
    if hex::encode(Sha256::digest(&bytes)) != stored.sha256 {
        return Err(ApiError::Internal(anyhow::anyhow!("an evidence crop does not match its hash")));
    }
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expect: Result<(), &str>) {
        let got = validate(body.as_bytes()).map(|_| ()).map_err(|e| match e {
            ApiError::Invalid { field, .. } => field.to_owned(),
            other => other.to_string(),
        });
        assert_eq!(got, expect.map_err(str::to_owned), "{body}");
    }

    #[test]
    fn bodies_are_validated_field_by_field() {
        check(
            r#"{"purpose":"recipient","reference":"L-1","expected_identity":{"surname":"Dupont","given_names":"Jean","birth_date":"1980-02-29"}}"#,
            Ok(()),
        );
        check(r#"{"purpose":"sender_onboarding"}"#, Ok(()));
        check(r#"{"purpose":"other"}"#, Err("purpose"));
        check(r#"{"purpose":"recipient","reference":5}"#, Err("reference"));
        check(
            r#"{"purpose":"recipient","expected_identity":{"given_names":"Jean"}}"#,
            Err("expected_identity.surname"),
        );
        check(
            r#"{"purpose":"recipient","expected_identity":{"surname":"A","birth_date":"1981-02-29"}}"#,
            Err("expected_identity.birth_date"),
        );
        check(r#"{"purpose":"recipient","expected_identity":{"surname":"Robert'); DROP TABLE sessions;--"}}"#, Ok(()));
        check(r#"{"purpose":"recipient","expected_identity":"x"}"#, Err("expected_identity"));
        check("[]", Err("the body is not a JSON object"));
        check("{", Err("the body is not a JSON object"));
    }

    #[test]
    fn callbacks_go_over_https_or_to_this_machine() {
        for ok in [
            "https://letters.example.com/hooks/verifier",
            "https://10.0.0.5:8443/h?x=1",
            "http://127.0.0.1:9000/h",
            "http://localhost/h",
            "http://[::1]:80/",
        ] {
            assert!(callback_url_ok(ok), "{ok}");
        }
        for bad in [
            "http://letters.example.com/h",
            "ftp://x/",
            "https://",
            "https://user:pw@host/",
            "https://a b/",
            "javascript:alert(1)",
            "https://host/\n",
        ] {
            assert!(!callback_url_ok(bad), "{bad}");
        }
        check(r#"{"purpose":"recipient","callback_url":"https://l.example/h"}"#, Ok(()));
        check(r#"{"purpose":"recipient","callback_url":"http://l.example/h"}"#, Err("callback_url"));
        check(r#"{"purpose":"recipient","callback_url":7}"#, Err("callback_url"));
    }

    #[test]
    fn only_plain_hosts_make_links() {
        assert!(valid_host("127.0.0.1:8080") && valid_host("verify.example.com") && valid_host("[::1]:80"));
        assert!(!valid_host("evil.com/path") && !valid_host("a b") && !valid_host(""));
    }
}
