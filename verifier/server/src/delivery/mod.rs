//! Result delivery: each decision is POSTed, signed, to the session's (or its client's)
//! callback URL, from an outbox written in the decision's own transaction.
//!
//! - [`signature`]: the `Verifier-Signature` header and the receiver's check (pure).
//! - [`backoff`]: when a failed delivery is tried again, and when it is dead-lettered (pure).
//! - [`Deliverer`]: the worker each process runs: claims due deliveries with a lease, sends
//!   them, records the outcome. Nothing is lost when a receiver is down or a process dies: the
//!   row stays until acknowledged or dead; a receiver may see a delivery twice (a process killed
//!   between the receiver's answer and the record), always under the same `Verifier-Delivery-Id`.
//!
//! See `docs/webhooks.md` for the receiver's side.

pub mod backoff;
pub mod signature;
mod worker;

use std::time::Duration;

use serde_json::{Value, json};

pub use worker::Deliverer;

use crate::capture::record::rfc3339_of_ms;
use crate::store::deliveries::DeliveryRow;

/// The delivery worker's settings (`[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Whether this process sends deliveries (the outbox is written either way).
    pub enabled: bool,
    /// How often the outbox is polled for due deliveries.
    pub poll: Duration,
    /// Deliveries claimed (and sent concurrently) per poll.
    pub batch: usize,
    /// One attempt's time limit (connect, send, answer).
    pub timeout: Duration,
    /// How long a claim holds a delivery before another worker may take it again; longer than
    /// `timeout`.
    pub lease: Duration,
    /// The retry schedule and the maximum age.
    pub backoff: backoff::Backoff,
    /// How long the previous webhook secret keeps signing after `clients rotate-secret`.
    pub secret_grace: Duration,
}

/// A delivery's state as the API shows it.
pub fn delivery_json(d: &DeliveryRow) -> Value {
    json!({
        "id": d.id,
        "status": d.status,
        "attempts": d.attempts,
        "created_at": rfc3339_of_ms(d.created_ms),
        "next_attempt_at": (d.status == "pending").then(|| rfc3339_of_ms(d.next_attempt_ms)),
        "last_attempt_at": d.last_attempt_ms.map(rfc3339_of_ms),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "delivered_at": d.delivered_ms.map(rfc3339_of_ms),
    })
}
