//! Verification sessions: creation, the capture token, status, the decision and its evidence.
//!
//! A decision is written once: the update only applies to a session that is not yet decided or
//! expired, in the same transaction as its evidence, its outbox delivery (when the session or
//! its client has a callback URL) and its audit entry, so a late or repeated decision cannot
//! change a stored one, and a stored one is never left undelivered.

use super::{Store, StoreError};

/// A session to create.
pub struct NewSession<'a> {
    /// Its id (`se_...`).
    pub id: &'a str,
    /// The client that owns it.
    pub client_id: &'a str,
    /// `recipient` or `sender_onboarding`.
    pub purpose: &'a str,
    /// The client's own reference.
    pub reference: &'a str,
    /// The expected identity, as JSON.
    pub expected_identity: Option<&'a str>,
    /// SHA-256 (hex) of the capture token.
    pub token_sha256: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    /// Unix ms before which the token must be opened.
    pub open_by_ms: i64,
    /// Where the decision is delivered (else the client's callback URL, if any).
    pub callback_url: Option<&'a str>,
}

/// The `Idempotency-Key` a session is created under, and the answer sealed for a retry.
pub struct NewIdempotency<'a> {
    /// The client's key (the header's value).
    pub key: &'a str,
    /// SHA-256 (hex) of the request, in canonical form: a retry must ask for the same thing.
    pub request_sha256: &'a str,
    /// The `201` body, sealed (it holds the capture link).
    pub response: &'a crate::evidence::Sealed,
    /// Unix ms.
    pub created_ms: i64,
}

/// An idempotency key already used by the client.
pub struct IdempotentAnswer {
    /// The session it created.
    pub session_id: String,
    /// SHA-256 (hex) of the request that created it.
    pub request_sha256: String,
    /// The answer given then, sealed.
    pub response: crate::evidence::Sealed,
}

/// What [`Store::create_session`] did.
pub enum Created {
    /// The session is new.
    New,
    /// The idempotency key was used before: nothing was created, here is the first answer.
    Replay(IdempotentAnswer),
}

/// A session as stored (read by name: the `columns!` list).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// Its id.
    pub id: String,
    /// The owning client.
    pub client_id: String,
    /// `recipient` or `sender_onboarding`.
    pub purpose: String,
    /// The client's reference.
    pub reference: String,
    /// The expected identity, as JSON.
    pub expected_identity: Option<String>,
    /// `created`, `capturing`, `decided` or `expired`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// Unix ms: open the token before this.
    pub open_by_ms: i64,
    /// Unix ms: capture ends by this, once opened.
    pub capture_until_ms: Option<i64>,
    /// The decision, as JSON.
    pub decision: Option<String>,
}

/// One evidence crop, sealed.
pub struct EvidenceRow {
    /// `document`, `portrait` or `face`.
    pub kind: &'static str,
    /// SHA-256 (hex) of the crop's plain bytes (what the decision cites).
    pub sha256: String,
    /// e.g. `image/jpeg`.
    pub media_type: &'static str,
    /// The crop sealed by [`crate::evidence::EvidenceCipher`].
    pub sealed: crate::evidence::Sealed,
}

/// One evidence crop as read back, still sealed (`key_id` `None`: stored in clear before
/// evidence was sealed).
pub struct StoredEvidence {
    /// SHA-256 (hex) of the plain bytes.
    pub sha256: String,
    /// e.g. `image/jpeg`.
    pub media_type: String,
    /// The sealing key's id.
    pub key_id: Option<String>,
    /// The nonce.
    pub nonce: Option<Vec<u8>>,
    /// The stored bytes.
    pub bytes: Vec<u8>,
}

type EvidenceTuple = (String, String, Option<String>, Option<Vec<u8>>, Vec<u8>);

/// The columns a [`SessionRow`] reads (a macro, so queries stay static strings).
macro_rules! columns {
    () => {
        "id, client_id, purpose, reference, expected_identity, status, created_at, open_by_ms, capture_until_ms, decision"
    };
}

impl Store {
    /// Creates a session in status `created`, with its idempotency key in the same
    /// transaction: when the client used the key before, nothing is created and the first
    /// answer is returned instead (two requests racing with one key create one session).
    pub async fn create_session(
        &self,
        s: &NewSession<'_>,
        idempotency: Option<&NewIdempotency<'_>>,
    ) -> Result<Created, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, client_id, purpose, reference, expected_identity, token_sha256, status, \
             created_at, open_by_ms, callback_url) VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8, $9)",
        )
        .bind(s.id)
        .bind(s.client_id)
        .bind(s.purpose)
        .bind(s.reference)
        .bind(s.expected_identity)
        .bind(s.token_sha256)
        .bind(s.created_at)
        .bind(s.open_by_ms)
        .bind(s.callback_url)
        .execute(&mut *tx)
        .await?;
        if let Some(k) = idempotency {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (client_id, idempotency_key, request_sha256, session_id, key_id, \
                 nonce, response, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(s.client_id)
            .bind(k.key)
            .bind(k.request_sha256)
            .bind(s.id)
            .bind(&k.response.key_id)
            .bind(&k.response.nonce)
            .bind(&k.response.bytes)
            .bind(k.created_ms)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    return match self.idempotent_answer(s.client_id, k.key).await? {
                        Some(answer) => Ok(Created::Replay(answer)),
                        // Deleted by the retention job between the two statements: rare, and
                        // the client's retry will create the session.
                        None => Err(StoreError::Conflict("an idempotency key being replaced")),
                    };
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(Created::New)
    }

    /// The first answer given to `client_id` under idempotency key `key`, if any.
    pub async fn idempotent_answer(&self, client_id: &str, key: &str) -> Result<Option<IdempotentAnswer>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Answer {
            session_id: String,
            request_sha256: String,
            key_id: String,
            nonce: Vec<u8>,
            response: Vec<u8>,
        }
        let row: Option<Answer> = sqlx::query_as(
            "SELECT session_id, request_sha256, key_id, nonce, response FROM idempotency_keys \
             WHERE client_id = $1 AND idempotency_key = $2",
        )
        .bind(client_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|a| IdempotentAnswer {
            session_id: a.session_id,
            request_sha256: a.request_sha256,
            response: crate::evidence::Sealed { key_id: a.key_id, nonce: a.nonce, bytes: a.response },
        }))
    }

    /// Forgets idempotency keys used before `before_ms`; returns how many.
    pub async fn expire_idempotency_keys(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The session `id` if `client_id` owns it.
    pub async fn session_of_client(&self, id: &str, client_id: &str) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<SessionRow> =
            sqlx::query_as(concat!("SELECT ", columns!(), " FROM sessions WHERE id = $1 AND client_id = $2"))
                .bind(id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row)
    }

    /// The session whose capture token hashes to `token_sha256`.
    pub async fn session_by_token(&self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<SessionRow> =
            sqlx::query_as(concat!("SELECT ", columns!(), " FROM sessions WHERE token_sha256 = $1"))
                .bind(token_sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row)
    }

    /// Moves a `created` session to `capturing`, with the end of its capture; false when it was
    /// not `created` (already opened, decided or expired).
    pub async fn start_capture(&self, id: &str, capture_until_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET status = 'capturing', capture_until_ms = $1 WHERE id = $2 AND status = 'created'",
        )
        .bind(capture_until_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the decision and its evidence, once: false (and nothing written) when the session
    /// was already decided or expired.
    pub async fn store_decision(
        &self,
        id: &str,
        outcome: &str,
        decision_json: &str,
        decided_at: &str,
        evidence: &[EvidenceRow],
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET status = 'decided', outcome = $1, decision = $2, decided_at = $3 \
             WHERE id = $4 AND status IN ('created', 'capturing')",
        )
        .bind(outcome)
        .bind(decision_json)
        .bind(decided_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for e in evidence {
            sqlx::query(
                "INSERT INTO evidence (session_id, kind, sha256, media_type, bytes, created_at, key_id, nonce) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(e.kind)
            .bind(&e.sha256)
            .bind(e.media_type)
            .bind(&e.sealed.bytes)
            .bind(decided_at)
            .bind(&e.sealed.key_id)
            .bind(&e.sealed.nonce)
            .execute(&mut *tx)
            .await?;
        }
        let now_ms = crate::capture::record::unix_ms();
        let row: SessionRow = sqlx::query_as(concat!("SELECT ", columns!(), " FROM sessions WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let url: Option<String> = sqlx::query_scalar(
            "SELECT COALESCE(s.callback_url, c.callback_url) FROM sessions s JOIN api_clients c ON c.id = s.client_id \
             WHERE s.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let delivery_id = match url {
            Some(url) => {
                let delivery_id = format!("dl_{}", hex::encode(rand::random::<[u8; 16]>()));
                let body = crate::capture::record::session_json(&row, now_ms).to_string();
                sqlx::query(
                    "INSERT INTO deliveries (id, session_id, client_id, url, body, status, attempts, created_ms, \
                     next_attempt_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)",
                )
                .bind(&delivery_id)
                .bind(id)
                .bind(&row.client_id)
                .bind(&url)
                .bind(&body)
                .bind(now_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                Some(delivery_id)
            }
            None => None,
        };
        // The audit entry holds codes and hashes only, never holder data.
        let reasons = serde_json::from_str::<serde_json::Value>(decision_json).ok().map(|d| d["reasons"].clone());
        let detail = serde_json::json!({
            "outcome": outcome,
            "reasons": reasons,
            "evidence": evidence.iter().map(|e| serde_json::json!({"kind": e.kind, "sha256": e.sha256})).collect::<Vec<_>>(),
            "delivery_id": delivery_id,
        });
        sqlx::query(
            "INSERT INTO audit_log (at_ms, event, session_id, client_id, detail) VALUES ($1, 'session.decided', $2, $3, $4)",
        )
        .bind(now_ms)
        .bind(id)
        .bind(&row.client_id)
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks sessions never opened before their `open_by` as expired; returns how many.
    pub async fn expire_unopened(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE sessions SET status = 'expired' WHERE status = 'created' AND open_by_ms < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Sessions in capture whose capture time ended before `now_ms` (the caller decides them).
    pub async fn overdue_captures(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM sessions WHERE status = 'capturing' AND capture_until_ms < $1")
                .bind(now_ms)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// One stored crop of a session.
    pub async fn evidence(&self, session_id: &str, kind: &str) -> Result<Option<StoredEvidence>, StoreError> {
        let row: Option<EvidenceTuple> = sqlx::query_as(
            "SELECT sha256, media_type, key_id, nonce, bytes FROM evidence WHERE session_id = $1 AND kind = $2",
        )
        .bind(session_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(sha256, media_type, key_id, nonce, bytes)| StoredEvidence {
            sha256,
            media_type,
            key_id,
            nonce,
            bytes,
        }))
    }

    /// Deletes a session's crops at once (the subject's request, or retention), marks the
    /// session and appends the purge to the audit log; the decision and the crops' hashes stay.
    /// Returns how many crops were deleted.
    pub async fn purge_evidence(&self, session_id: &str, reason: &str, now_ms: i64) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM evidence WHERE session_id = $1").bind(session_id).execute(&mut *tx).await?;
        let n = deleted.rows_affected();
        let at = crate::capture::record::rfc3339_of_ms(now_ms);
        sqlx::query("UPDATE sessions SET evidence_purged_at = COALESCE(evidence_purged_at, $1) WHERE id = $2")
            .bind(&at)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO audit_log (at_ms, event, session_id, client_id, detail) \
             SELECT $1, 'evidence.purged', id, client_id, $2 FROM sessions WHERE id = $3",
        )
        .bind(now_ms)
        .bind(serde_json::json!({ "reason": reason, "crops": n }).to_string())
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Purges the crops of every session whose evidence was stored before `before_ms`
    /// (retention); returns how many sessions.
    pub async fn purge_evidence_before(&self, before_ms: i64, now_ms: i64) -> Result<u64, StoreError> {
        let cutoff = crate::capture::record::rfc3339_of_ms(before_ms);
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT session_id FROM evidence WHERE created_at < $1 LIMIT 500")
                .bind(&cutoff)
                .fetch_all(&self.pool)
                .await?;
        for (id,) in &ids {
            self.purge_evidence(id, "retention", now_ms).await?;
        }
        Ok(ids.len() as u64)
    }

    /// When a session's crops were purged, if they were.
    pub async fn evidence_purged_at(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let at: Option<Option<String>> = sqlx::query_scalar("SELECT evidence_purged_at FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(at.flatten())
    }

    /// The kinds and hashes of a session's stored evidence.
    pub async fn evidence_hashes(&self, id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT kind, sha256 FROM evidence WHERE session_id = $1 ORDER BY kind")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }
}
