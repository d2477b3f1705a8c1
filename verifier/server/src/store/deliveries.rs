//! The outbox of result deliveries, webhook secrets and the audit log.
//!
//! A delivery row is written in the decision's transaction ([`Store::store_decision`]), then
//! claimed by a worker with a lease: the claim counts the attempt before the request is sent, so
//! a process killed mid-send leaves a lease that runs out and the row is claimed again, under
//! the same id. The audit log is append-only (triggers refuse updates and deletes).

use super::{Store, StoreError};

/// A delivery a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// `dl_...`: the `Verifier-Delivery-Id`.
    pub id: String,
    /// The client whose secret signs it.
    pub client_id: String,
    /// Where it goes.
    pub url: String,
    /// The exact JSON bytes sent.
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When the decision was made, Unix ms.
    pub created_ms: i64,
}

/// A delivery's state, as the API shows it (read by name: the `delivery_columns!` list).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Its id.
    pub id: String,
    /// The session it reports.
    pub session_id: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Unix ms of the decision.
    pub created_ms: i64,
    /// Unix ms of the next attempt, while pending.
    pub next_attempt_ms: i64,
    /// Unix ms of the last attempt.
    pub last_attempt_ms: Option<i64>,
    /// The receiver's HTTP status at the last attempt.
    pub last_status: Option<i64>,
    /// Why the last attempt failed (no holder data: a status or a transport error).
    pub last_error: Option<String>,
    /// Unix ms when it was delivered.
    pub delivered_ms: Option<i64>,
}

macro_rules! delivery_columns {
    () => {
        "id, session_id, status, attempts, created_ms, next_attempt_ms, last_attempt_ms, last_status, last_error, delivered_ms"
    };
}

/// The outbox claim, up to the subquery's end (each dialect closes it its own way).
macro_rules! claim {
    () => {
        "UPDATE deliveries SET leased_until_ms = $1 + $2, attempts = attempts + 1, last_attempt_ms = $1 \
         WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_ms <= $1 \
         AND (leased_until_ms IS NULL OR leased_until_ms <= $1) ORDER BY next_attempt_ms LIMIT $3"
    };
}

/// Deliveries per status, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Waiting for an attempt (or in one).
    pub pending: i64,
    /// Acknowledged by the receiver.
    pub delivered: i64,
    /// Given up after the maximum age.
    pub dead: i64,
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms`, counting the attempt.
    pub async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // SQLite has one writer at a time: the UPDATE claims atomically. PostgreSQL's nodes
        // claim concurrently: each skips the rows another is claiming.
        let sql = match self.backend {
            super::Backend::Sqlite => {
                concat!(claim!(), ") ", "RETURNING id, client_id, url, body, attempts, created_ms")
            }
            super::Backend::Postgres => {
                concat!(
                    claim!(),
                    " FOR UPDATE SKIP LOCKED) ",
                    "RETURNING id, client_id, url, body, attempts, created_ms"
                )
            }
        };
        let (_turn, mut tx) = self.begin_write().await?;
        let rows: Vec<(String, String, String, String, i64, i64)> =
            sqlx::query_as(sql).bind(now_ms).bind(lease_ms).bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(id, client_id, url, body, attempts, created_ms)| ClaimedDelivery {
                id,
                client_id,
                url,
                body,
                attempts,
                created_ms,
            })
            .collect())
    }

    /// Records a delivery the receiver acknowledged (its 2xx `status`).
    pub async fn delivery_succeeded(&self, id: &str, status: u16, now_ms: i64) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = 'delivered', delivered_ms = $1, last_status = $2, last_error = NULL, \
             leased_until_ms = NULL WHERE id = $3 AND status = 'pending'",
        )
        .bind(now_ms)
        .bind(i64::from(status))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            audit_in(&mut tx, now_ms, "delivery.delivered", id, serde_json::json!({ "status": status })).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_at_ms`, or dead-lettered when `None`.
    pub async fn delivery_failed(
        &self,
        id: &str,
        status: Option<u16>,
        error: &str,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_ms = $2, last_status = $3, last_error = $4, \
             leased_until_ms = NULL WHERE id = $5 AND status = 'pending'",
        )
        .bind(if retry_at_ms.is_some() { "pending" } else { "dead" })
        .bind(retry_at_ms.unwrap_or(now_ms))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 && retry_at_ms.is_none() {
            let detail = serde_json::json!({ "status": status, "error": error });
            audit_in(&mut tx, now_ms, "delivery.dead", id, detail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts a dead delivery of `client_id` back in the queue, due now; false when there is no
    /// such dead delivery.
    pub async fn retry_delivery(&self, id: &str, client_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_attempt_ms = $1, created_ms = $1 \
             WHERE id = $2 AND client_id = $3 AND status = 'dead'",
        )
        .bind(now_ms)
        .bind(id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        let retried = done.rows_affected() == 1;
        if retried {
            audit_in(&mut tx, now_ms, "delivery.retried", id, serde_json::json!({})).await?;
        }
        tx.commit().await?;
        Ok(retried)
    }

    /// The delivery of a session, if it has one.
    pub async fn delivery_of_session(&self, session_id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row: Option<DeliveryRow> =
            sqlx::query_as(concat!("SELECT ", delivery_columns!(), " FROM deliveries WHERE session_id = $1"))
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row)
    }

    /// Delivery `id` if `client_id` owns it.
    pub async fn delivery_of_client(&self, id: &str, client_id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row: Option<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE id = $1 AND client_id = $2"
        ))
        .bind(id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// A client's deliveries in `status`, oldest first, at most `limit`.
    pub async fn deliveries_of_client(
        &self,
        client_id: &str,
        status: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE client_id = $1 AND status = $2 ORDER BY created_ms, id LIMIT $3"
        ))
        .bind(client_id)
        .bind(status)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// How many deliveries are in each status.
    pub async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetch_all(&self.pool).await?;
        let mut counts = DeliveryCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "dead" => counts.dead = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// The secrets that sign a client's deliveries at `now_ms`: the current one, then the
    /// previous one during its grace period.
    pub async fn signing_secrets(&self, client_id: &str, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT webhook_secret, previous_webhook_secret, previous_secret_until_ms FROM api_clients WHERE id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => Vec::new(),
            Some((current, Some(previous), Some(until))) if until > now_ms => vec![current, previous],
            Some((current, ..)) => vec![current],
        })
    }

    /// Replaces the webhook secret of client `name`; the old one keeps signing until
    /// `grace_until_ms`. False when there is no such client.
    pub async fn rotate_secret(
        &self,
        name: &str,
        secret: &str,
        grace_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let client: Option<(String,)> =
            sqlx::query_as("SELECT id FROM api_clients WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
        let Some((client_id,)) = client else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE api_clients SET previous_webhook_secret = webhook_secret, previous_secret_until_ms = $1, \
             webhook_secret = $2 WHERE id = $3",
        )
        .bind(grace_until_ms)
        .bind(secret)
        .bind(&client_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (at_ms, event, client_id, detail) VALUES ($1, 'client.secret_rotated', $2, $3)",
        )
        .bind(now_ms)
        .bind(&client_id)
        .bind(format!(r#"{{"grace_until_ms":{grace_until_ms}}}"#))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the default callback URL of client `name` (`None` clears it); false when there is
    /// no such client.
    pub async fn set_client_callback(&self, name: &str, url: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_clients SET callback_url = $1 WHERE name = $2")
            .bind(url)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The audit log of a session (events in order), as (event, detail JSON).
    pub async fn audit_of_session(&self, session_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT event, detail FROM audit_log WHERE session_id = $1 ORDER BY id")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }
}

/// Appends an audit entry about delivery `delivery_id` (its session and client looked up);
/// `detail` is a JSON object, given the delivery's id.
async fn audit_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now_ms: i64,
    event: &str,
    delivery_id: &str,
    mut detail: serde_json::Value,
) -> Result<(), StoreError> {
    detail["delivery_id"] = delivery_id.into();
    sqlx::query(
        "INSERT INTO audit_log (at_ms, event, session_id, client_id, detail) \
         SELECT $1, $2, session_id, client_id, $3 FROM deliveries WHERE id = $4",
    )
    .bind(now_ms)
    .bind(event)
    .bind(detail.to_string())
    .bind(delivery_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
