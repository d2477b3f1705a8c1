//! The stored record of a decision: the JSON document `GET /v1/sessions/{id}` returns, built
//! from the session's [`Decision`], the frames' hashes and the models that ran.
//!
//! Wire names here are the API's contract (the live-verification issue): `outcome`, `reasons`,
//! `identity` with `document_kind`, `document_code`, `issuing_state`, `document_number`,
//! `surname`, `given_names`, `nationality`, `birth_date`, `expiry_date`, `sex`, then `scores`,
//! `model_versions`, `decided_at`.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use session::{Decision, FrameId};

use crate::store::sessions::SessionRow;
use vision::liveness::{PassiveVerdict, SignalVerdict};

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Now, as RFC 3339 with milliseconds (UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Unix milliseconds as RFC 3339 (UTC).
pub fn rfc3339_of_ms(ms: i64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Today's date (UTC), the day documents are checked against.
pub fn today() -> mrz::Date {
    let text = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    mrz::Date::from_iso(&text[..10]).expect("humantime writes YYYY-MM-DD first")
}

/// The decision's JSON record.
pub fn decision_json(
    decision: &Decision,
    hashes: &HashMap<FrameId, String>,
    model_versions: &BTreeMap<String, String>,
    evidence: &[(&'static str, String)],
    decided_at: &str,
) -> Value {
    let identity = decision.identity.as_ref().map(|r| {
        json!({
            "document_kind": r.kind.as_str(),
            "document_code": r.document_code,
            "issuing_state": r.issuing_state,
            "document_number": r.document_number.expose(),
            "surname": r.surname.expose(),
            "given_names": r.given_names.expose(),
            "nationality": r.nationality,
            "birth_date": r.birth_date.as_ref().map(|d| d.expose().to_string()),
            "expiry_date": r.expiry.map(|e| e.date.to_string()),
            "sex": r.sex.map(|s| s.as_str()),
        })
    });
    let s = &decision.scores;
    let round = |v: f32| (f64::from(v) * 10_000.0).round() / 10_000.0;
    let scores = json!({
        "face_similarity": s.face_similarity.map(round),
        "face_similarities": s.face_similarities.iter().map(|&v| round(v)).collect::<Vec<_>>(),
        "face_threshold": s.face_threshold.map(round),
        "portrait_frames": s.portrait_frames,
        "mrz_frames": s.mrz_frames,
        "challenge": s.challenge.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "challenge_reached_ms": s.challenge_reached.iter().map(|(a, d)| json!({"movement": a.as_str(), "ms": d.as_millis() as u64})).collect::<Vec<_>>(),
        "continuity_min": s.continuity_min.map(round),
        "flash": s.flash.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "flash_correlation": s.flash_score.and_then(|f| f.correlation).map(round),
        "flash_gain": s.flash_score.map(|f| round(f.gain)),
        "flash_lag_ms": s.flash_score.map(|f| f.lag.as_millis() as u64),
        "flash_frames": s.flash_score.map(|f| f.frames),
        "passive": s.passive.as_ref().map(|p| p.outcome.as_str()),
        "passive_frames": s.passive.as_ref().map(|p| p.evidence.frames),
        "passive_model_real": s.passive.as_ref().and_then(|p| p.evidence.model_real).map(round),
        "passive_moire": s.passive.as_ref().and_then(|p| p.evidence.moire).map(round),
        "passive_framed_sides": s.passive.as_ref().and_then(|p| p.evidence.framed_sides).map(round),
        "passive_face_motion": s.passive.as_ref().and_then(|p| p.evidence.face_motion).map(round),
        "passive_rigidity": s.passive.as_ref().and_then(|p| p.evidence.rigidity).map(round),
        "passive_failed": s.passive.as_ref().map(|p| signals(p, SignalVerdict::Fail)),
        "passive_doubtful": s.passive.as_ref().map(|p| signals(p, SignalVerdict::Doubt)),
    });
    let frames: Vec<&str> = decision.frames.iter().filter_map(|f| hashes.get(f)).map(String::as_str).collect();
    json!({
        "outcome": decision.outcome.as_str(),
        "reasons": decision.reasons,
        "identity": identity,
        "scores": scores,
        "model_versions": model_versions,
        "decided_at": decided_at,
        "elapsed_ms": decision.elapsed.as_millis() as u64,
        "frames_sha256": frames,
        "evidence": evidence.iter().map(|(kind, sha)| json!({"kind": kind, "sha256": sha})).collect::<Vec<_>>(),
    })
}

/// The names of the passive signals that said `verdict`.
fn signals(p: &PassiveVerdict, verdict: SignalVerdict) -> Vec<&'static str> {
    p.evidence.signals.iter().filter(|s| s.verdict == verdict).map(|s| s.name).collect()
}

/// A session as the API shows it (`GET /v1/sessions/{id}`, and the body of its delivery): its
/// status at `now_ms` and its decision.
pub fn session_json(row: &SessionRow, now_ms: i64) -> Value {
    let status = match row.status.as_str() {
        "created" if now_ms > row.open_by_ms => "expired",
        other => other,
    };
    let decision: Value = row.decision.as_deref().and_then(|d| serde_json::from_str(d).ok()).unwrap_or(Value::Null);
    json!({
        "id": row.id,
        "status": status,
        "purpose": row.purpose,
        "reference": row.reference,
        "created_at": row.created_at,
        "expires_at": rfc3339_of_ms(row.capture_until_ms.unwrap_or(row.open_by_ms)),
        "decision": decision,
    })
}
