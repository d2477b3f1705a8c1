//! One capture connection: the socket loop between the page, the session's state machine and
//! the analysis jobs.
//!
//! Flow: when the session has no frame in analysis and an analysis slot is free (the service's
//! admission semaphore, fair across sessions), the server sends the page a `credit`; the page
//! draws a fresh frame and sends it, and its analysis starts on arrival with the slot already
//! held. So a frame never waits behind other sessions' frames, and under load every session
//! gets its turn in order. A credit unused within `credit_timeout` is withdrawn and offered
//! again. A page that sends without credit is served too: per session at most one frame is
//! analysed at a time and at most one waits (the newest: a frame arriving while another waits
//! replaces it), so a busy pool drops old frames instead of queueing them, and the page is asked
//! to slow down (`rate`) when analysis takes longer than its interval. Frames' bytes are dropped
//! once analysed, except the few kept as evidence candidates; only their hashes stay.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use session::identity::ExpectedIdentity;
use session::{Decision, EvidenceKind, FrameId, Input, Output, Session};
use sha2::{Digest, Sha256};
use vision::face::FaceBox;

use super::CaptureService;
use super::analyse::{AnalysisContext, FrameError, analyse, evidence_crop};
use super::protocol::{ClientMessage, ServerMessage, decode_text};
use super::record;
use crate::jobs::{JobError, on_rayon, on_rayon_unless};
use crate::store::sessions::EvidenceRow;

/// Close codes (`docs/capture-protocol.md`).
const CLOSE_UNKNOWN: u16 = 4404;
const CLOSE_GONE: u16 = 4410;
const CLOSE_BUSY: u16 = 4409;
const CLOSE_IDLE: u16 = 4408;

/// A session's capture state, kept between connections.
pub struct Capture {
    session_id: String,
    machine: Session,
    next_frame: u64,
    hashes: HashMap<FrameId, String>,
    evidence: HashMap<&'static str, (Bytes, Option<FaceBox>)>,
    portraits: VecDeque<(FrameId, Bytes, Option<FaceBox>)>,
    cancelled: Arc<AtomicBool>,
}

/// A frame waiting for, or in, analysis.
struct Pending {
    id: FrameId,
    seq: u64,
    /// The page's capture time, when it said.
    captured_at_ms: Option<f64>,
    bytes: Bytes,
    at: Instant,
}

type Analysed = Result<(String, Option<FaceBox>, session::Findings), FrameError>;
type Job = Pin<Box<dyn Future<Output = (Pending, Analysed)> + Send>>;

/// Serves one WebSocket for the session whose capture token is `token`.
pub async fn handle(svc: Arc<CaptureService>, token: String, mut socket: WebSocket) {
    let token_sha256 = hex::encode(Sha256::digest(token.as_bytes()));
    let row = match svc.store.session_by_token(&token_sha256).await {
        Ok(Some(row)) => row,
        Ok(None) => return close(&mut socket, CLOSE_UNKNOWN, "unknown capture link").await,
        Err(e) => {
            tracing::error!(error = %e, "capture: session lookup failed");
            return close(&mut socket, 1011, "internal error").await;
        }
    };
    let now_ms = record::unix_ms();
    let gone = match row.status.as_str() {
        "decided" | "expired" => true,
        "created" => now_ms > row.open_by_ms,
        _ => row.capture_until_ms.is_some_and(|t| now_ms > t),
    };
    if gone {
        let _ =
            send(&mut socket, &ServerMessage::error("session.decided", "this capture link is no longer valid")).await;
        return close(&mut socket, CLOSE_GONE, "capture link expired or used").await;
    }
    let parked = match svc.claim(&row.id) {
        Ok(p) => p,
        Err(super::Claim::Busy) => {
            tracing::info!("capture: second connection refused");
            return close(&mut socket, CLOSE_BUSY, "another connection is live for this session").await;
        }
    };
    let capture = match parked {
        Some(c) => c,
        None => {
            let budget = svc.settings.machine.budget;
            if row.status == "created"
                && let Err(e) = svc.store.start_capture(&row.id, now_ms + budget.as_millis() as i64).await
            {
                tracing::error!(error = %e, "capture: cannot start the session");
                svc.release(&row.id, None);
                return close(&mut socket, 1011, "internal error").await;
            }
            let expected = row.expected_identity.as_deref().and_then(expected_identity);
            Box::new(Capture {
                session_id: row.id.clone(),
                machine: Session::new(
                    svc.settings.machine.clone(),
                    expected,
                    rand::random(),
                    record::today(),
                    Instant::now(),
                ),
                next_frame: 0,
                hashes: HashMap::new(),
                evidence: HashMap::new(),
                portraits: VecDeque::new(),
                cancelled: Arc::new(AtomicBool::new(false)),
            })
        }
    };
    tracing::info!("capture: connected");
    let id = row.id.clone();
    let kept = run(&svc, capture, &mut socket).await;
    svc.release(&id, kept);
}

/// The expected identity as stored (`{"surname", "given_names", "birth_date"?}`).
fn expected_identity(json: &str) -> Option<ExpectedIdentity> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let text = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or_default().to_owned();
    Some(ExpectedIdentity {
        surname: text("surname"),
        given_names: text("given_names"),
        birth_date: v.get("birth_date").and_then(|d| d.as_str()).and_then(mrz::Date::from_iso),
    })
}

/// The socket loop; returns the state to park, or `None` once decided.
async fn run(svc: &Arc<CaptureService>, mut cap: Box<Capture>, socket: &mut WebSocket) -> Option<Box<Capture>> {
    let cfg = svc.capture;
    let remaining = cap.machine.remaining(Instant::now());
    let ready = ServerMessage::Ready {
        session_id: cap.session_id.clone(),
        steps: vec!["document", "face", "challenge"],
        max_frame_bytes: cfg.max_frame_bytes,
        frame_interval_ms: cfg.frame_interval.as_millis() as u64,
        budget_ms: remaining.as_millis() as u64,
        flow: "credit",
    };
    if send(socket, &ready).await.is_err() {
        return Some(cap);
    }
    // A reconnecting page gets the current instruction again.
    if let Some(last) = cap.machine.last_instruction()
        && cap.next_frame > 0
        && send(socket, &ServerMessage::instruction(&last)).await.is_err()
    {
        return Some(cap);
    }
    let mut deadline = Instant::now() + Duration::from_secs(1);
    let mut current: Option<(Pending, Option<FaceBox>)> = None;
    if flush(svc, &mut cap, socket, &mut deadline, &mut current).await {
        return None;
    }
    let mut inflight: Option<Job> = None;
    let mut waiting: Option<Pending> = None;
    // A credit sent and not yet used: the slot it holds, and when it was sent.
    let mut granted: Option<(tokio::sync::OwnedSemaphorePermit, Instant)> = None;
    let mut next_seq: Option<(u64, f64)> = None;
    let mut integrity = super::integrity::StreamIntegrity::new(cfg.integrity);
    let mut last_message = Instant::now();
    let mut last_accepted: Option<Instant> = None;
    let mut last_too_fast: Option<Instant> = None;
    let mut latency_ms = cfg.frame_interval.as_secs_f64() * 1000.0 / 2.0;
    let mut asked_interval = cfg.frame_interval;
    loop {
        let idle_at = last_message + cfg.idle_timeout;
        tokio::select! {
            message = socket.recv() => {
                let message = match message {
                    Some(Ok(m)) => m,
                    None | Some(Err(_)) => return park(cap, inflight.is_some()),
                };
                last_message = Instant::now();
                match message {
                    Message::Text(text) => match decode_text(text.as_str()) {
                        Ok(ClientMessage::Hello { .. }) => {}
                        Ok(ClientMessage::FrameMeta { seq, captured_at_ms }) => next_seq = Some((seq, captured_at_ms)),
                        Ok(ClientMessage::Ping { t }) => {
                            let _ = send(socket, &ServerMessage::Pong { t }).await;
                        }
                        Err(e) => {
                            tracing::info!(error = %e, "capture: malformed message refused");
                            let _ = send(socket, &ServerMessage::error("message.malformed", e.to_string())).await;
                        }
                    },
                    Message::Binary(bytes) => {
                        let now = Instant::now();
                        let meta = next_seq.take();
                        if bytes.len() > cfg.max_frame_bytes {
                            tracing::info!(bytes = bytes.len(), "capture: oversized frame refused");
                            let message = format!("{} bytes; the limit is {}", bytes.len(), cfg.max_frame_bytes);
                            let _ = send(socket, &ServerMessage::error("frame.too_large", message)).await;
                            metrics::counter!("capture_frames_refused_total", "reason" => "too_large").increment(1);
                            continue;
                        }
                        if last_accepted.is_some_and(|t| now.duration_since(t) < cfg.min_frame_interval) {
                            metrics::counter!("capture_frames_refused_total", "reason" => "too_fast").increment(1);
                            if last_too_fast.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
                                last_too_fast = Some(now);
                                tracing::info!("capture: frames over the rate cap dropped");
                                let message = format!("at most one frame per {} ms", cfg.min_frame_interval.as_millis());
                                let _ = send(socket, &ServerMessage::error("frame.too_fast", message)).await;
                            }
                            continue;
                        }
                        last_accepted = Some(now);
                        cap.next_frame += 1;
                        let frame = Pending {
                            id: FrameId(cap.next_frame),
                            seq: meta.map_or(cap.next_frame, |m| m.0),
                            captured_at_ms: meta.map(|m| m.1),
                            bytes,
                            at: now,
                        };
                        // A credit is granted only with no frame in analysis, so this is the frame
                        // it asked for: its slot is held and analysis starts now.
                        if inflight.is_none()
                            && let Some((permit, _)) = granted.take()
                        {
                            inflight = Some(start_job(svc, &cap, frame, permit));
                        } else if waiting.replace(frame).is_some() {
                            metrics::counter!("capture_frames_dropped_total").increment(1);
                        }
                    }
                    Message::Close(_) => return park(cap, inflight.is_some()),
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            (frame, analysed) = async { inflight.as_mut().expect("the branch runs only with a job").await }, if inflight.is_some() => {
                inflight = None;
                let took = frame.at.elapsed();
                metrics::histogram!("capture_frame_seconds").record(took.as_secs_f64());
                metrics::counter!("capture_frames_analysed_total").increment(1);
                latency_ms = 0.8 * latency_ms + 0.2 * took.as_secs_f64() * 1000.0;
                match analysed {
                    Ok((sha256, crop, findings)) => {
                        if let Some(v) = integrity.observe(&sha256, frame.captured_at_ms, frame.at) {
                            tracing::info!(violation = v.as_str(), "capture: the stream is not a live camera's");
                            metrics::counter!("capture_streams_refused_total", "reason" => v.as_str()).increment(1);
                            cap.hashes.insert(frame.id, sha256);
                            cap.machine.handle_input(Input::StreamRefused(frame.at));
                            if flush(svc, &mut cap, socket, &mut deadline, &mut current).await {
                                return None;
                            }
                            continue;
                        }
                        cap.hashes.insert(frame.id, sha256);
                        let portrait = matches!(
                            &findings,
                            session::Findings::Document { portrait: session::PortraitFinding::Found { .. }, .. }
                                | session::Findings::DocumentFront(session::PortraitFinding::Found { .. })
                        );
                        if portrait {
                            cap.portraits.push_back((frame.id, frame.bytes.clone(), crop));
                            // Every portrait the session may still choose (the best of at most
                            // `portrait_max_frames`) is kept as an evidence candidate.
                            if cap.portraits.len() > svc.settings.machine.portrait_max_frames.max(1) {
                                cap.portraits.pop_front();
                            }
                        }
                        cap.machine.handle_input(Input::Findings { frame: frame.id, at: frame.at, findings });
                        current = Some((frame, crop));
                        if flush(svc, &mut cap, socket, &mut deadline, &mut current).await {
                            return None;
                        }
                    }
                    Err(FrameError::Corrupt(message)) => {
                        tracing::info!(error = %message, "capture: undecodable frame refused");
                        metrics::counter!("capture_frames_refused_total", "reason" => "corrupt").increment(1);
                        let _ = send(socket, &ServerMessage::error("frame.corrupt", message)).await;
                    }
                    Err(FrameError::Model(message)) => {
                        tracing::error!(error = %message, "capture: frame analysis failed");
                        let _ = send(socket, &ServerMessage::error("server.analysis_failed", "the frame could not be analysed")).await;
                    }
                }
                let target = Duration::from_secs_f64(latency_ms * 1.5 / 1000.0).clamp(cfg.frame_interval, cfg.max_frame_interval);
                let ratio = target.as_secs_f64() / asked_interval.as_secs_f64();
                if !(0.8..=1.25).contains(&ratio) {
                    asked_interval = target;
                    let _ = send(socket, &ServerMessage::Rate { frame_interval_ms: target.as_millis() as u64 }).await;
                }
            }
            permit = svc.admission.clone().acquire_owned(), if inflight.is_none() && waiting.is_some() => {
                let Ok(permit) = permit else { return park(cap, false) };
                let frame = waiting.take().expect("the branch runs only with a waiting frame");
                inflight = Some(start_job(svc, &cap, frame, permit));
            }
            permit = svc.admission.clone().acquire_owned(), if inflight.is_none() && waiting.is_none() && granted.is_none() => {
                let Ok(permit) = permit else { return park(cap, false) };
                if send(socket, &ServerMessage::Credit { frames: 1 }).await.is_err() {
                    return park(cap, false);
                }
                granted = Some((permit, Instant::now()));
            }
            () = tokio::time::sleep_until(granted.as_ref().map_or(far_future(), |(_, at)| *at + cfg.credit_timeout).into()), if granted.is_some() => {
                // Unused: the slot goes back to the queue, and the credit is offered again when
                // this session's turn comes.
                metrics::counter!("capture_credits_withdrawn_total").increment(1);
                granted = None;
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                cap.machine.handle_input(Input::Timeout(Instant::now()));
                if flush(svc, &mut cap, socket, &mut deadline, &mut current).await {
                    return None;
                }
            }
            () = tokio::time::sleep_until(idle_at.into()) => {
                tracing::info!("capture: idle connection closed");
                close(socket, CLOSE_IDLE, "no message received for too long").await;
                return park(cap, inflight.is_some());
            }
        }
    }
}

/// A time no timer reaches (for a `select!` branch that is disabled anyway).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

/// Parks the state for a reconnection; a job still in flight is cancelled (its frame will
/// not be read).
fn park(cap: Box<Capture>, in_flight: bool) -> Option<Box<Capture>> {
    if in_flight {
        cap.cancelled.store(true, Ordering::Release);
        let mut cap = cap;
        cap.cancelled = Arc::new(AtomicBool::new(false));
        return Some(cap);
    }
    Some(cap)
}

fn start_job(
    svc: &Arc<CaptureService>,
    cap: &Capture,
    frame: Pending,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Job {
    let analysis = cap.machine.analysis();
    let today = cap.machine.today();
    let id = frame.id;
    let cancelled = cap.cancelled.clone();
    let svc = svc.clone();
    Box::pin(async move {
        let bytes = frame.bytes.clone();
        let job_svc = svc.clone();
        let prepared = on_rayon_unless(cancelled, move || {
            let cx = AnalysisContext {
                engines: &job_svc.engines,
                limits: &job_svc.limits,
                quality: &job_svc.quality,
                portrait: &job_svc.portrait,
                passive: &job_svc.settings.machine.passive,
                today,
            };
            analyse(&cx, id, analysis, &bytes)
        })
        .await;
        let analysed = match prepared {
            Ok(Ok(prepared)) => {
                let embedding = match prepared.to_embed() {
                    Some(crop) => match svc.batcher.embed(vec![crop]).await {
                        Ok(mut e) => e.pop(),
                        Err(e) => return (frame, Err(FrameError::Model(e.to_string()))),
                    },
                    None => None,
                };
                let (sha256, crop) = (prepared.sha256.clone(), prepared.crop);
                Ok((sha256, crop, prepared.into_findings(embedding)))
            }
            Ok(Err(e)) => Err(e),
            Err(JobError::Cancelled) => Err(FrameError::Corrupt("cancelled".into())),
            Err(e) => Err(FrameError::Model(e.to_string())),
        };
        drop(permit);
        (frame, analysed)
    })
}

/// Sends the machine's outputs; stores and sends the decision. True once decided (the socket
/// is then closed).
async fn flush(
    svc: &Arc<CaptureService>,
    cap: &mut Capture,
    socket: &mut WebSocket,
    deadline: &mut Instant,
    current: &mut Option<(Pending, Option<FaceBox>)>,
) -> bool {
    loop {
        match cap.machine.poll_output() {
            Output::Instruction(i) => {
                let _ = send(socket, &ServerMessage::instruction(&i)).await;
            }
            Output::Feedback { frame, code } => {
                if let Some((f, _)) = current.as_ref().filter(|(f, _)| f.id == frame) {
                    let latency_ms = f.at.elapsed().as_millis() as u64;
                    let _ = send(socket, &ServerMessage::Feedback { seq: f.seq, code, latency_ms }).await;
                }
            }
            Output::KeepEvidence { kind, frame } => keep(cap, kind, frame, current.as_ref()),
            Output::Flash(colour) => {
                let message = ServerMessage::Flash { colour: colour.map(|c| c.as_str()), rgb: colour.map(|c| c.rgb()) };
                let _ = send(socket, &message).await;
                // While colours show, frames come faster, so each colour is seen by a few;
                // after, at the usual pace.
                let interval =
                    if colour.is_some() { svc.capture.flash_frame_interval } else { svc.capture.frame_interval };
                let _ = send(socket, &ServerMessage::Rate { frame_interval_ms: interval.as_millis() as u64 }).await;
            }
            Output::Decision(decision) => {
                let message = ServerMessage::result(decision.outcome, &decision.reasons);
                finalize(svc, cap, &decision).await;
                let _ = send(socket, &message).await;
                close(socket, 1000, "decided").await;
                drain(socket).await;
                return true;
            }
            Output::Timeout(at) => {
                *deadline = at.max(Instant::now() + Duration::from_millis(5));
                *current = None;
                return false;
            }
        }
    }
}

fn keep(cap: &mut Capture, kind: EvidenceKind, frame: FrameId, current: Option<&(Pending, Option<FaceBox>)>) {
    let name = evidence_name(kind);
    if let Some((f, crop)) = current.filter(|(f, _)| f.id == frame) {
        cap.evidence.insert(name, (f.bytes.clone(), *crop));
    } else if let Some((_, bytes, crop)) = cap.portraits.iter().find(|(id, _, _)| *id == frame) {
        cap.evidence.insert(name, (bytes.clone(), *crop));
    }
}

fn evidence_name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Document => "document",
        EvidenceKind::Portrait => "portrait",
        EvidenceKind::Face => "face",
    }
}

/// Stores the decision with its evidence crops; the frames' bytes go with the capture state.
async fn finalize(svc: &CaptureService, cap: &mut Capture, decision: &Decision) {
    let evidence = std::mem::take(&mut cap.evidence);
    cap.portraits.clear();
    let limits = svc.limits;
    let cipher = svc.evidence.clone();
    let session_id = cap.session_id.clone();
    let crops = on_rayon(move || {
        let mut rows = Vec::new();
        for (kind, (bytes, crop)) in evidence {
            // The document is kept whole (it is the document); faces are cut around their box.
            let crop = if kind == "document" { None } else { crop };
            if let Some(jpeg) = evidence_crop(&bytes, crop, &limits) {
                rows.push(EvidenceRow {
                    kind,
                    sha256: hex::encode(Sha256::digest(&jpeg)),
                    media_type: "image/jpeg",
                    sealed: cipher.seal(&session_id, kind, &jpeg),
                });
            }
        }
        rows.sort_by_key(|r| r.kind);
        rows
    })
    .await
    .unwrap_or_default();
    let decided_at = record::now_rfc3339();
    let hashes: Vec<(&'static str, String)> = crops.iter().map(|r| (r.kind, r.sha256.clone())).collect();
    let json = record::decision_json(decision, &cap.hashes, &svc.model_versions, &hashes, &decided_at);
    match svc
        .store
        .store_decision(&cap.session_id, decision.outcome.as_str(), &json.to_string(), &decided_at, &crops)
        .await
    {
        Ok(true) => {
            metrics::counter!("sessions_decided_total", "outcome" => decision.outcome.as_str()).increment(1);
            tracing::info!(outcome = decision.outcome.as_str(), reasons = ?decision.reasons, elapsed_ms = decision.elapsed.as_millis() as u64, "session decided");
        }
        Ok(false) => tracing::warn!("capture: the session was already decided; the new decision is dropped"),
        Err(e) => tracing::error!(error = %e, "capture: storing the decision failed"),
    }
    cap.hashes.clear();
}

/// Decides a session whose time ran out with no connection: from its parked state, or, when
/// this process has none (it restarted mid-session), as a bare timeout.
pub(super) async fn time_out(svc: &CaptureService, id: &str, parked: Option<Box<Capture>>) {
    match parked {
        Some(mut cap) => {
            cap.machine.handle_input(Input::Expired(Instant::now()));
            loop {
                match cap.machine.poll_output() {
                    Output::Decision(d) => return finalize(svc, &mut cap, &d).await,
                    Output::Timeout(_) => return,
                    _ => {}
                }
            }
        }
        None => {
            let decided_at = record::now_rfc3339();
            let json = serde_json::json!({
                "outcome": "rejected",
                "reasons": ["session.timeout"],
                "identity": null,
                "scores": {},
                "model_versions": svc.model_versions,
                "decided_at": decided_at,
                "frames_sha256": [],
                "evidence": [],
            });
            if let Err(e) = svc.store.store_decision(id, "rejected", &json.to_string(), &decided_at, &[]).await {
                tracing::error!(error = %e, "capture: storing a timeout failed");
            }
        }
    }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    socket.send(Message::Text(message.to_json().into())).await
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

/// After the decision's close frame, reads (and drops) what the page still sends until its own
/// close frame, for at most a second: dropping the connection at once would reset it under
/// frames still in flight, and the page would see an abnormal closure (1006), not 1000.
async fn drain(socket: &mut WebSocket) {
    let drain = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}
