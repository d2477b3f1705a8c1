//! `verifier loadtest`: many concurrent capture sessions against a running service, each
//! streaming JPEG frames over its WebSocket as a page would, and the figures that come out.
//!
//! Prints one JSON object: frame-to-feedback latency (p50, p95, max), frames sent, analysed,
//! refused and dropped, sessions decided and how long after the last frame each decision
//! needed, and the server's resident memory when its pid is given. It sends traffic only to the
//! URL given (a local service); it follows the server's `credit` and `rate` messages like the
//! page does (a frame per credit, at most `--fps`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// `loadtest` options.
#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// The service, e.g. http://127.0.0.1:8080 (plain HTTP on this machine only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API key; without one, sessions are created through the demo endpoint.
    #[arg(long, env = "VERIFIER_API_KEY")]
    pub api_key: Option<String>,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 20)]
    pub sessions: usize,
    /// Frames per second each session offers (before the server asks for fewer).
    #[arg(long, default_value_t = 10.0)]
    pub fps: f64,
    /// How long each session streams, at most.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// JPEG frames (a file or a folder of .jpg), sent in turn.
    #[arg(long, required = true)]
    pub frames: Vec<PathBuf>,
    /// The server's pid, to read its resident memory before and during the run.
    #[arg(long)]
    pub pid: Option<u32>,
}

#[derive(Default)]
struct SessionFigures {
    latencies_ms: Vec<f64>,
    sent: u64,
    analysed: u64,
    refused: u64,
    decided_after_ms: Option<f64>,
    outcome: Option<String>,
}

/// Runs the load test and prints its figures.
pub fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    let host = args
        .url
        .strip_prefix("http://")
        .context("--url must be http://HOST:PORT (the load test talks to a local service)")?
        .trim_end_matches('/')
        .to_owned();
    let mut frames = Vec::new();
    for path in &args.frames {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
                })
                .collect();
            files.sort();
            for f in files {
                frames.push(std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?);
            }
        } else {
            frames.push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
        }
    }
    anyhow::ensure!(!frames.is_empty(), "no JPEG frames found in {:?}", args.frames);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let rss_before = args.pid.and_then(rss_kib);
        let frames = std::sync::Arc::new(frames);
        let mut tasks = Vec::new();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(pid) = args.pid {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    if let Some(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        }
        let started = Instant::now();
        for i in 0..args.sessions {
            let (host, key, frames) = (host.clone(), args.api_key.clone(), frames.clone());
            let (fps, seconds) = (args.fps, args.seconds);
            tasks.push(tokio::spawn(async move { one_session(&host, key.as_deref(), &frames, i, fps, seconds).await }));
        }
        let mut all = Vec::new();
        let mut errors = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(f)) => all.push(f),
                Ok(Err(e)) => errors.push(format!("{e:#}")),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut latencies: Vec<f64> = all.iter().flat_map(|f| f.latencies_ms.iter().copied()).collect();
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Option<f64> {
            (!latencies.is_empty()).then(|| latencies[((latencies.len() - 1) as f64 * p).round() as usize])
        };
        let sent: u64 = all.iter().map(|f| f.sent).sum();
        let analysed: u64 = all.iter().map(|f| f.analysed).sum();
        let refused: u64 = all.iter().map(|f| f.refused).sum();
        let mut decided: Vec<f64> = all.iter().filter_map(|f| f.decided_after_ms).collect();
        decided.sort_by(f64::total_cmp);
        let mut outcomes: HashMap<String, usize> = HashMap::new();
        for f in &all {
            *outcomes.entry(f.outcome.clone().unwrap_or_else(|| "undecided".into())).or_default() += 1;
        }
        let peak_kib = peak.load(std::sync::atomic::Ordering::Relaxed);
        super::print_json(&json!({
            "sessions": args.sessions,
            "offered_fps_per_session": args.fps,
            "seconds": started.elapsed().as_secs_f64(),
            "frames": {"sent": sent, "analysed": analysed, "refused": refused, "dropped": sent.saturating_sub(analysed + refused)},
            "analysed_per_second": analysed as f64 / started.elapsed().as_secs_f64(),
            "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "max": latencies.last()},
            "decisions": {"outcomes": outcomes, "after_last_needed_frame_ms_max": decided.last(), "after_last_needed_frame_ms_median": decided.get(decided.len() / 2)},
            "server_rss_mib": {
                "before": rss_before.map(|k| k as f64 / 1024.0),
                "peak": (peak_kib > 0).then(|| peak_kib as f64 / 1024.0),
                "per_session_peak_increase": match (rss_before, peak_kib) {
                    (Some(b), p) if p > b && args.sessions > 0 => Some((p - b) as f64 / 1024.0 / args.sessions as f64),
                    _ => None,
                },
            },
            "errors": errors,
        }))
    })
}

/// Resident memory of `pid`, KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One HTTP/1.1 request with a JSON body; the response's status and JSON body.
async fn post_json(host: &str, path: &str, key: Option<&str>, body: &Value) -> anyhow::Result<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(host).await.with_context(|| format!("connecting to {host}"))?;
    let body = body.to_string();
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).context("no HTTP status line")?;
    let json = text.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    Ok((status, json))
}

async fn one_session(
    host: &str,
    key: Option<&str>,
    frames: &[Vec<u8>],
    index: usize,
    fps: f64,
    seconds: u64,
) -> anyhow::Result<SessionFigures> {
    let body = json!({"purpose": "recipient", "reference": format!("loadtest-{index}"), "expected_identity": {"surname": "Loadtest"}});
    let path = if key.is_some() { "/v1/sessions" } else { "/demo/sessions" };
    let (status, created) = post_json(host, path, key, &body).await?;
    anyhow::ensure!(status == 201, "creating a session answered {status}: {created}");
    let token =
        created["capture_url"].as_str().and_then(|u| u.rsplit('/').next()).context("no capture_url")?.to_owned();
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{host}/v1/capture/{token}")).await?;
    let mut figures = SessionFigures::default();
    let mut interval = Duration::from_secs_f64(1.0 / fps.max(0.1));
    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    let mut last_feedback_seq = None;
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut next_send = Instant::now();
    let mut seq = 0u64;
    // `ready.flow == "credit"`: send only against a credit, as the page does.
    let mut credit_flow = false;
    let mut credit = false;
    loop {
        tokio::select! {
            message = socket.next() => {
                let Some(Ok(message)) = message else { break };
                let Message::Text(text) = message else {
                    if matches!(message, Message::Close(_)) { break }
                    continue;
                };
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("feedback") => {
                        figures.analysed += 1;
                        if let Some(at) = v["seq"].as_u64().and_then(|s| sent_at.remove(&s)) {
                            figures.latencies_ms.push(at.elapsed().as_secs_f64() * 1000.0);
                            last_feedback_seq = Some((v["seq"].as_u64().unwrap_or(0), at));
                        }
                    }
                    Some("ready") => credit_flow = v["flow"] == "credit",
                    Some("credit") => credit = true,
                    Some("rate") => {
                        if let Some(ms) = v["frame_interval_ms"].as_u64() {
                            interval = Duration::from_millis(ms).max(Duration::from_secs_f64(1.0 / fps.max(0.1)));
                        }
                    }
                    Some("error") => figures.refused += 1,
                    Some("result") => {
                        figures.outcome = v["outcome"].as_str().map(str::to_owned);
                        figures.decided_after_ms = last_feedback_seq.map(|(_, at)| at.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => {}
                }
            }
            () = tokio::time::sleep_until(end.into()) => break,
            () = tokio::time::sleep_until(next_send.into()), if credit || !credit_flow => {
                if Instant::now() >= end {
                    break;
                }
                credit = false;
                // Each frame's bytes differ, as a camera's do (a comment segment after SOI):
                // the server refuses a stream that repeats a JPEG byte for byte.
                let frame = camera(&frames[(seq as usize + index) % frames.len()], seq);
                socket.send(Message::text(json!({"type": "frame", "seq": seq, "captured_at_ms": seq as f64 * interval.as_secs_f64() * 1000.0}).to_string())).await?;
                socket.send(Message::binary(frame)).await?;
                sent_at.insert(seq, Instant::now());
                figures.sent += 1;
                seq += 1;
                // At most one frame per interval: on a steady cadence when pushing, from this
                // send when the next one waits for a credit.
                next_send = if credit_flow { Instant::now() + interval } else { next_send + interval };
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(figures)
}

/// `jpeg` with a comment segment naming frame `n` after SOI: the same picture, other bytes, as
/// sensor noise makes every real camera frame differ (the server's stream-integrity check
/// refuses a JPEG repeated byte for byte).
pub fn camera(jpeg: &[u8], n: u64) -> Vec<u8> {
    if jpeg.len() < 2 {
        return jpeg.to_vec();
    }
    let note = format!("frame {n}");
    let len = (note.len() as u16 + 2).to_be_bytes();
    let mut out = Vec::with_capacity(jpeg.len() + note.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE, len[0], len[1]]);
    out.extend_from_slice(note.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}
