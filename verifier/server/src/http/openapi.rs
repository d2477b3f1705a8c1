//! The OpenAPI 3.1 description of the API, generated from the code: each route is registered
//! with its `#[utoipa::path]` annotation (`utoipa_axum::routes!`), so a route cannot be served
//! without being described; the bodies' schemas are the types below. Served at
//! `/openapi.json`; `tests/openapi.rs` checks the document against the running server (every
//! described route answers, every body it sends matches its schema's fields).
//!
//! The handlers build their bodies as JSON values (the decision is stored as JSON text), so
//! these types describe them rather than produce them; the test is what keeps the two equal.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

pub use super::error::Problem;

/// The document's frame: title, security scheme, tags. The paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "verifier",
        description = "Remote visual identity verification for registered letters: sessions, \
                       their decisions and the deliveries of those decisions. Errors are \
                       application/problem+json (RFC 9457); see docs/api.md and docs/webhooks.md."
    ),
    modifiers(&BearerKey),
    tags(
        (name = "sessions", description = "Verification sessions and their decisions"),
        (name = "deliveries", description = "Signed deliveries of decisions to the callback URL"),
        (name = "capture", description = "The capture WebSocket the page speaks (docs/capture-protocol.md)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// Adds the API key scheme (`Authorization: Bearer <api_key>`).
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from `verifier clients add`."))
                    .build(),
            ),
        );
    }
}

/// The security scheme's name in the document.
pub const API_KEY: &str = "api_key";

/// What every API-key route can answer before its handler runs (the key extractor's refusals),
/// listed once for all of them.
#[derive(utoipa::IntoResponses)]
pub enum KeyRefused {
    /// No valid API key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// Over the client's rate; `Retry-After` says when to try again.
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(Problem),
}

/// `POST /v1/sessions`' body.
#[derive(Serialize, ToSchema)]
pub struct CreateSessionRequest {
    /// What the identity is verified for.
    pub purpose: Purpose,
    /// The letter service's own reference (at most 200 characters, no control characters).
    pub reference: Option<String>,
    /// Whom the letter is addressed to: the document read must name this person.
    pub expected_identity: Option<ExpectedIdentity>,
    /// Where the decision is POSTed, signed (`https://`, or `http://` to this machine; at most
    /// 2048 characters, no credentials). Else the client's own callback URL, if it has one.
    pub callback_url: Option<String>,
}

/// What a session verifies an identity for.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A letter's recipient, before the letter opens.
    Recipient,
    /// A new sender, onboarding.
    SenderOnboarding,
}

/// The person the document must name.
#[derive(Serialize, ToSchema)]
pub struct ExpectedIdentity {
    /// At most 120 characters.
    pub surname: String,
    /// At most 120 characters.
    pub given_names: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub birth_date: Option<String>,
}

/// A new session: send the recipient to `capture_url`.
#[derive(Serialize, ToSchema)]
pub struct CreatedSession {
    /// `se_` and 32 hex digits.
    pub id: String,
    /// The capture page's link: the recipient's only credential, sent to them alone.
    pub capture_url: String,
    /// The link must be opened before this (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A session, its decision once it has one, and its delivery.
#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// `created` (link not opened), `capturing`, `decided` or `expired`.
    pub status: String,
    /// `recipient` or `sender_onboarding`.
    pub purpose: String,
    /// The client's reference.
    pub reference: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the link or the capture expires (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The decision, once decided.
    pub decision: Option<Decision>,
    /// When the evidence crops were purged (retention or `DELETE .../evidence`).
    pub evidence_purged_at: Option<String>,
    /// The decision's delivery to the callback URL, when there is one.
    pub delivery: Option<Delivery>,
}

/// A decision: what the letter service acts on, and what it keeps as proof.
#[derive(Serialize, ToSchema)]
pub struct Decision {
    /// `accepted`, `rejected` or `review`.
    pub outcome: String,
    /// Reason codes (`docs/capture-protocol.md`), e.g. `face.mismatch`.
    pub reasons: Vec<String>,
    /// The identity read from the document's MRZ, when it was read.
    pub identity: Option<Identity>,
    /// The figures the decision rests on.
    pub scores: Scores,
    /// Each model's role and version (its pinned SHA-256).
    pub model_versions: std::collections::BTreeMap<String, String>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub decided_at: String,
    /// From the link's opening to the decision.
    pub elapsed_ms: u64,
    /// SHA-256 of each frame the decision used.
    pub frames_sha256: Vec<String>,
    /// The evidence crops kept (encrypted at rest), by kind and SHA-256.
    pub evidence: Vec<EvidenceHash>,
}

/// The identity read from the document.
#[derive(Serialize, ToSchema)]
pub struct Identity {
    /// `passport` or `identity_card`; a refused document's kind (`driving_licence`, `visa`,
    /// `residence_permit`, `unknown`) when that is why it was refused.
    pub document_kind: String,
    /// The MRZ's document code (`P`, `I`, `ID`, ...).
    pub document_code: String,
    /// ISO 3166 alpha-3 (or ICAO) code.
    pub issuing_state: String,
    /// The document number.
    pub document_number: String,
    /// As the MRZ writes it.
    pub surname: String,
    /// As the MRZ writes it.
    pub given_names: String,
    /// ISO 3166 alpha-3 (or ICAO) code, when the document gives one (a driving licence's MRZ
    /// does not).
    pub nationality: Option<String>,
    /// `YYYY-MM-DD`, when the MRZ gives it.
    #[schema(format = Date)]
    pub birth_date: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub expiry_date: Option<String>,
    /// `F`, `M` or `X`.
    pub sex: Option<String>,
}

/// The decision's figures (`docs/liveness.md`, `docs/capture-protocol.md`).
#[derive(Serialize, ToSchema)]
pub struct Scores {
    /// The multi-frame face similarity decided on.
    pub face_similarity: Option<f64>,
    /// Each compared frame's similarity.
    pub face_similarities: Vec<f64>,
    /// The threshold it was held to.
    pub face_threshold: Option<f64>,
    /// Frames the portrait was read from.
    pub portrait_frames: u32,
    /// Frames the MRZ was read from.
    pub mrz_frames: u32,
    /// The head-turn challenge's movements, in order.
    pub challenge: Vec<String>,
    /// When each movement was reached.
    pub challenge_reached_ms: Vec<ChallengeStep>,
    /// The lowest face-to-face continuity between consecutive frames.
    pub continuity_min: Option<f64>,
    /// The flash nonce's colours, in order.
    pub flash: Vec<String>,
    /// How the face's colour followed the flash.
    pub flash_correlation: Option<f64>,
    /// The face's colour gain under the flash.
    pub flash_gain: Option<f64>,
    /// The flash's lag, camera to screen.
    pub flash_lag_ms: Option<u64>,
    /// Frames the flash was measured on.
    pub flash_frames: Option<u32>,
    /// The passive layer's outcome: `live`, `borderline` or `attack`.
    pub passive: Option<String>,
    /// Frames it measured.
    pub passive_frames: Option<u32>,
    /// The anti-spoofing models' mean probability of a real face.
    pub passive_model_real: Option<f64>,
    /// The moiré (screen) measure.
    pub passive_moire: Option<f64>,
    /// The share of the face's sides framed by straight edges (a held photo).
    pub passive_framed_sides: Option<f64>,
    /// The face's own motion.
    pub passive_face_motion: Option<f64>,
    /// How rigidly the face moves (a photo moves as one plane).
    pub passive_rigidity: Option<f64>,
    /// The passive signals that failed.
    pub passive_failed: Option<Vec<String>>,
    /// The passive signals in doubt.
    pub passive_doubtful: Option<Vec<String>>,
}

/// One head-turn movement and when it was reached.
#[derive(Serialize, ToSchema)]
pub struct ChallengeStep {
    /// `turn_left`, `turn_right`, `look_up` or `look_down`.
    pub movement: String,
    /// From the challenge's start.
    pub ms: u64,
}

/// One evidence crop's hash.
#[derive(Serialize, ToSchema)]
pub struct EvidenceHash {
    /// `document`, `portrait` or `face`.
    pub kind: String,
    /// SHA-256 (hex) of the crop's JPEG bytes.
    pub sha256: String,
}

/// A decision's delivery to a callback URL (`docs/webhooks.md`).
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    /// The `Verifier-Delivery-Id`, stable across retries.
    pub id: String,
    /// `pending`, `delivered` or `dead` (given up after the maximum age).
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// While pending.
    pub next_attempt_at: Option<String>,
    /// RFC 3339.
    pub last_attempt_at: Option<String>,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub delivered_at: Option<String>,
    /// The session decided (in listings).
    pub session_id: Option<String>,
}

/// `GET /v1/deliveries`' answer.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// The status listed.
    pub status: String,
    /// At most 100, oldest first.
    pub deliveries: Vec<Delivery>,
}

/// `POST /v1/deliveries/{id}/retry`'s answer.
#[derive(Serialize, ToSchema)]
pub struct DeliveryQueued {
    /// The delivery.
    pub id: String,
    /// `pending`.
    pub status: String,
}

/// `DELETE /v1/sessions/{id}/evidence`'s answer.
#[derive(Serialize, ToSchema)]
pub struct EvidencePurged {
    /// The session.
    pub id: String,
    /// Crops deleted by this request (0 when they were gone already).
    pub purged: u64,
    /// When they were purged.
    pub evidence_purged_at: Option<String>,
}
