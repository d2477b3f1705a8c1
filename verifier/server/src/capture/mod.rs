//! Live capture: the WebSocket endpoint's sessions, from the token to the stored decision.
//!
//! [`CaptureService`] holds what every connection needs (models, batcher, limits, the store)
//! and the registry of live sessions on this node: each session is either held by its one
//! connection or parked (its state machine kept) until the page reconnects or its budget runs
//! out. The socket loop is in [`connection`], the per-frame CPU work in [`analyse`], message
//! decoding in [`protocol`], the stored record of a decision in [`record`].

pub mod analyse;
pub mod config;
pub mod connection;
pub mod integrity;
pub mod protocol;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vision::face::{PortraitConfig, QualityConfig};
use vision::frame::DecodeLimits;

use self::config::{CaptureConfig, SessionSettings};
use self::connection::Capture;
use crate::engines::Engines;
use crate::jobs::EmbedBatcher;
use crate::store::Store;

/// Everything the capture endpoint needs, shared by all connections.
pub struct CaptureService {
    /// The database.
    pub store: Store,
    /// The models.
    pub engines: Arc<Engines>,
    /// Face crops embedded in shared runs.
    pub batcher: EmbedBatcher,
    /// Session settings.
    pub settings: SessionSettings,
    /// Capture limits.
    pub capture: CaptureConfig,
    /// Frame decoding limits.
    pub limits: DecodeLimits,
    /// The live-face gate.
    pub quality: QualityConfig,
    /// Finding the document portrait.
    pub portrait: PortraitConfig,
    /// Model name to SHA-256, recorded in each decision.
    pub model_versions: BTreeMap<String, String>,
    /// Frames under analysis across all sessions, at most one per pool thread plus one (so a
    /// thread never idles between jobs). A frame waits in its session's one-frame slot for a
    /// permit, where a newer frame replaces it: queueing happens nowhere else, so a frame's
    /// wait is bounded by its session's frame interval, whatever the load.
    pub admission: Arc<tokio::sync::Semaphore>,
    /// Seals the evidence crops before they are stored.
    pub evidence: Arc<crate::evidence::EvidenceCipher>,
    live: Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for CaptureService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureService").field("capture", &self.capture).finish_non_exhaustive()
    }
}

/// A live session on this node.
enum Slot {
    /// A connection holds it.
    Connected,
    /// No connection now; the state waits for one.
    Parked(Box<Capture>),
}

/// Why a connection cannot take its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Another connection is live (close 4409).
    Busy,
}

impl CaptureService {
    /// A service with an empty registry.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        engines: Arc<Engines>,
        batcher: EmbedBatcher,
        settings: SessionSettings,
        capture: CaptureConfig,
        limits: DecodeLimits,
        quality: QualityConfig,
        portrait: PortraitConfig,
        evidence: Arc<crate::evidence::EvidenceCipher>,
    ) -> CaptureService {
        let model_versions = engines.loaded.iter().map(|m| (m.name.clone(), m.sha256.clone())).collect();
        CaptureService {
            store,
            engines,
            batcher,
            settings,
            capture,
            limits,
            quality,
            portrait,
            model_versions,
            admission: Arc::new(tokio::sync::Semaphore::new(
                rayon::current_num_threads() + capture.frames_beyond_threads,
            )),
            evidence,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Takes session `id` for a new connection: its parked state, `Ok(None)` when this node has
    /// none (the caller starts it), or `Busy`.
    fn claim(&self, id: &str) -> Result<Option<Box<Capture>>, Claim> {
        let mut live = self.live.lock().expect("the registry lock is never held across a panic");
        match live.insert(id.to_owned(), Slot::Connected) {
            Some(Slot::Connected) => Err(Claim::Busy),
            Some(Slot::Parked(c)) => Ok(Some(c)),
            None => Ok(None),
        }
    }

    /// Gives a session back: parked for a reconnection, or forgotten once decided.
    fn release(&self, id: &str, capture: Option<Box<Capture>>) {
        let mut live = self.live.lock().expect("the registry lock is never held across a panic");
        match capture {
            Some(c) => live.insert(id.to_owned(), Slot::Parked(c)),
            None => live.remove(id),
        };
    }

    /// Sessions live on this node (connected or parked).
    pub fn live_sessions(&self) -> usize {
        self.live.lock().expect("the registry lock is never held across a panic").len()
    }

    /// Ends what has run out: unopened links past their time become `expired`; parked
    /// sessions past their budget, and sessions left capturing by an earlier process, are
    /// decided `session.timeout`. Runs every `period` until the process ends.
    pub async fn sweep_forever(self: Arc<Self>, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "session sweep failed");
            }
        }
    }

    async fn sweep(&self) -> anyhow::Result<()> {
        let now = record::unix_ms();
        let expired = self.store.expire_unopened(now).await?;
        if expired > 0 {
            tracing::info!(count = expired, "capture links expired unopened");
        }
        for id in self.store.overdue_captures(now).await? {
            let parked = {
                let mut live = self.live.lock().expect("the registry lock is never held across a panic");
                match live.get(&id) {
                    // Its connection's own timer decides it.
                    Some(Slot::Connected) => continue,
                    Some(Slot::Parked(_)) => match live.remove(&id) {
                        Some(Slot::Parked(c)) => Some(c),
                        _ => None,
                    },
                    None => None,
                }
            };
            connection::time_out(self, &id, parked).await;
        }
        Ok(())
    }
}
