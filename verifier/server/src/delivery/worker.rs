//! The delivery worker: poll the outbox, claim due deliveries with a lease, POST each signed,
//! record the outcome (delivered, retry later, or dead).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::DeliveryConfig;
use super::backoff::Retry;
use super::signature::signature_header;
use crate::capture::record::unix_ms;
use crate::store::Store;
use crate::store::deliveries::ClaimedDelivery;

/// Sends the outbox's deliveries.
pub struct Deliverer {
    store: Store,
    http: reqwest::Client,
    config: DeliveryConfig,
}

impl Deliverer {
    /// A worker over `store`. Redirects are not followed (a receiver answers where it is asked).
    pub fn new(store: Store, config: DeliveryConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("verifier-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { store, http, config })
    }

    /// Polls and sends until the process ends.
    pub async fn run_forever(self: Arc<Self>) {
        loop {
            match self.tick().await {
                // A full batch: more may be due at once.
                Ok(n) if n >= self.config.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery poll failed"),
            }
            self.gauges().await;
            tokio::time::sleep(self.config.poll).await;
        }
    }

    /// Claims the due deliveries and sends them concurrently; returns how many were claimed.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let lease = self.config.lease.as_millis() as i64;
        let due = self.store.claim_deliveries(unix_ms(), lease, self.config.batch as i64).await?;
        let n = due.len();
        join_all(due.into_iter().map(|d| self.attempt(d))).await;
        Ok(n)
    }

    async fn gauges(&self) {
        if let Ok(c) = self.store.delivery_counts().await {
            metrics::gauge!("deliveries", "status" => "pending").set(c.pending as f64);
            metrics::gauge!("deliveries", "status" => "delivered").set(c.delivered as f64);
            metrics::gauge!("deliveries", "status" => "dead").set(c.dead as f64);
        }
    }

    /// One attempt at one delivery.
    async fn attempt(&self, d: ClaimedDelivery) {
        let result = self.send(&d).await;
        let now = unix_ms();
        let recorded = match result {
            Ok(status) if (200..300).contains(&status) => {
                metrics::counter!("delivery_attempts_total", "result" => "delivered").increment(1);
                tracing::info!(delivery = %d.id, status, attempts = d.attempts, "delivered");
                self.store.delivery_succeeded(&d.id, status, now).await
            }
            other => {
                let (status, error) = match other {
                    Ok(status) => (Some(status), format!("HTTP {status}")),
                    Err(e) => (None, e),
                };
                let age = Duration::from_millis((now - d.created_ms).max(0) as u64);
                let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
                let retry = self.config.backoff.after_failure(attempts, age, rand::random::<f64>());
                let retry_at = match retry {
                    Retry::After(wait) => Some(now + wait.as_millis() as i64),
                    Retry::Dead => None,
                };
                let result = if retry_at.is_some() { "retry" } else { "dead" };
                metrics::counter!("delivery_attempts_total", "result" => result).increment(1);
                tracing::warn!(delivery = %d.id, attempts = d.attempts, error = %error, result, "delivery failed");
                self.store.delivery_failed(&d.id, status, &error, retry_at, now).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the delivery is taken again: sent twice at worst.
            tracing::warn!(delivery = %d.id, error = %e, "could not record a delivery attempt");
        }
    }

    /// POSTs the delivery, signed with every secret valid now; the receiver's status, or why
    /// no answer came (a transport error, no holder data).
    async fn send(&self, d: &ClaimedDelivery) -> Result<u16, String> {
        let secrets = self.store.signing_secrets(&d.client_id, unix_ms()).await.map_err(|e| e.to_string())?;
        if secrets.is_empty() {
            return Err("the client no longer exists".into());
        }
        let timestamp = unix_ms() / 1000;
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = signature_header(&refs, timestamp, d.body.as_bytes());
        let response = self
            .http
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Verifier-Delivery-Id", &d.id)
            .header("Verifier-Timestamp", timestamp.to_string())
            .header("Verifier-Signature", signature)
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        Ok(response.status().as_u16())
    }
}

/// A transport error in a few words (never the URL's query, which could carry a token).
fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_request() {
        "request failed".into()
    } else {
        "no answer".into()
    }
}
