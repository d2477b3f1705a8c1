//! `verifier liveness eval` and `verifier liveness check`: recorded sessions through the
//! liveness layers of issue 12, offline.
//!
//! Both read a folder holding JPEG frames and a `label.json` as `datasets-synthetic generate
//! liveness` writes them (`{"kind": ..., "frames": [{"file", "time_ms", "arrived_ms"}], "flash":
//! [{"colour", "start_ms", "end_ms"}], "challenge": {"action", "asked_ms"}}`; `time_ms` is the
//! page's capture time, `arrived_ms` the server's arrival time, and the flash and challenge are
//! on the server's clock, all in ms from the session's start). `check` also takes a folder of
//! frames named by their time (`1250.jpg`: captured and arrived at 1,250 ms) when it has no
//! label. Each frame goes through what a session runs: YuNet's largest face, SilentFace's
//! models where the live-face quality gate passes (`capture::analyse::gated_model_score`),
//! `vision::liveness::measure_frame` and `PassiveAggregate` (the passive layer), the skin's mean
//! colour exactly as the capture service measures it (`capture::analyse`) scored by
//! `session::flash::score` against the flash shown (the flash layer), the face mesh's head pose
//! replayed by `session::challenge::replay` against the movements asked (the challenge layer),
//! and each frame's SHA-256 and times through `StreamIntegrity` (stream integrity), all under the
//! configured thresholds. A sequence is live only if every layer that ran says live; a review
//! counts as not live (against BPCER).
//!
//! `eval` prints one JSON object over many sequences: counts, APCER per attack type and BPCER
//! for the four layers combined as a session combines them (the contract keys `genuine`,
//! `attacks`, `apcer`, `bpcer`, `thresholds`; `combined` names the layers), per layer
//! (`layers`), without the challenge (`without_challenge`: what the other three stop on their
//! own), the flash step's length, per-frame times, and optionally still images (`--samples`)
//! scored by the models alone. `check` prints one session's verdict with each
//! layer's evidence. The session's own wiring of these layers is the session's, not here; the
//! challenge's check that the same person stays in view (face embeddings) is not replayed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use session::HeadPose;
use session::challenge::{ChallengeAction, ChallengeReplay, replay};
use session::config::ChallengeConfig;
use session::flash::{FlashColour, FlashConfig, FlashScore, FlashVerdict, SkinSample, score};
use sha2::{Digest, Sha256};
use verifier_models::Manifest;
use vision::face::{FaceDetector, FaceMesh, assess, head_pose, largest};
use vision::frame::{Frame, FrameId, decode};
use vision::liveness::{
    AntiSpoof, PassiveAggregate, PassiveConfig, PassiveEvidence, PassiveOutcome, SignalVerdict, measure_frame,
};

use crate::capture::analyse::{gated_model_score, skin_colour};
use crate::capture::integrity::{IntegrityConfig, StreamIntegrity};
use crate::config::Config;
use crate::engines;

/// Liveness subcommands.
#[derive(Debug, Subcommand)]
pub enum LivenessCommand {
    /// APCER per attack type and BPCER of the liveness layers, combined and each, over labelled
    /// sequences.
    Eval {
        /// A folder of sequence folders (each with `label.json` and its frames).
        dir: PathBuf,
        /// Also score each image of this folder on its own (e.g. ../shared/datasets/antispoof-samples).
        #[arg(long)]
        samples: Option<PathBuf>,
        /// Add each sequence's evidence to the output.
        #[arg(long)]
        details: bool,
    },
    /// One recorded session through every layer: the verdict and each layer's evidence.
    Check {
        /// The session's folder: JPEG frames and a `label.json`, or frames named by their time
        /// in ms (`1250.jpg`).
        dir: PathBuf,
        /// The movements asked, `action@ms,...` (e.g. `turn_left@5200,look_up@7400`: each asked
        /// no earlier than that instant of the server's clock). Without it the layer is not run.
        #[arg(long)]
        challenge: Option<String>,
        /// The flash shown, `colour@start_ms+length_ms,...` (e.g. `red@1900+375,blue@2275+375`).
        /// Without it the layer is not run.
        #[arg(long)]
        nonce: Option<String>,
    },
}

/// Runs a liveness subcommand.
pub fn run(command: LivenessCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        LivenessCommand::Eval { dir, samples, details } => eval(&dir, samples.as_deref(), details, config),
        LivenessCommand::Check { dir, challenge, nonce } => {
            let challenge = challenge.as_deref().map(parse_challenge).transpose()?;
            let nonce = nonce.as_deref().map(parse_nonce).transpose()?;
            check(&dir, challenge, nonce, config)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Labels and specs

#[derive(Debug, Deserialize)]
struct Label {
    #[serde(default)]
    kind: Option<String>,
    frames: Vec<LabelFrame>,
    #[serde(default)]
    flash: Vec<LabelFlash>,
    #[serde(default)]
    flash_started_ms: Option<f64>,
    #[serde(default)]
    challenge: Option<LabelChallenge>,
}

#[derive(Debug, Deserialize)]
struct LabelFrame {
    file: String,
    #[serde(default)]
    time_ms: Option<f64>,
    #[serde(default)]
    arrived_ms: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct LabelFlash {
    colour: String,
    start_ms: f64,
    end_ms: f64,
}

#[derive(Debug, Deserialize)]
struct LabelChallenge {
    action: String,
    asked_ms: f64,
}

/// One colour shown: from `start_ms` to `end_ms` on the server's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shown {
    colour: FlashColour,
    start_ms: f64,
    end_ms: f64,
}

/// One movement asked, no earlier than `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Asked {
    action: ChallengeAction,
    at_ms: f64,
}

fn parse_ms(text: &str, what: &str) -> anyhow::Result<f64> {
    let v: f64 = text.trim().parse().with_context(|| format!("{what}: {text:?} is not a number of ms"))?;
    if !(v.is_finite() && v >= 0.0) {
        anyhow::bail!("{what}: {text:?} is not a time in ms from the session's start");
    }
    Ok(v)
}

/// `red@400+250,blue@650+300`: colour, start ms, length ms; in order, not overlapping.
fn parse_nonce(spec: &str) -> anyhow::Result<Vec<Shown>> {
    let mut out: Vec<Shown> = Vec::new();
    for item in spec.split(',').filter(|s| !s.trim().is_empty()) {
        let (name, times) =
            item.split_once('@').with_context(|| format!("--nonce {item:?}: expected colour@start+length"))?;
        let (start, length) =
            times.split_once('+').with_context(|| format!("--nonce {item:?}: expected colour@start+length"))?;
        let colour = FlashColour::parse(name.trim()).with_context(|| {
            let names: Vec<&str> = FlashColour::ALL.iter().map(|c| c.as_str()).collect();
            format!("--nonce {item:?}: the colour is one of {}", names.join(", "))
        })?;
        let start_ms = parse_ms(start, "--nonce")?;
        let end_ms = start_ms + parse_ms(length, "--nonce")?;
        if out.last().is_some_and(|l| start_ms < l.end_ms) {
            anyhow::bail!("--nonce {item:?} starts before the colour before it ends");
        }
        out.push(Shown { colour, start_ms, end_ms });
    }
    if out.is_empty() {
        anyhow::bail!("--nonce names no colour");
    }
    Ok(out)
}

/// `turn_left@1000,turn_right@4000`: movement, ms at which it is asked, in order.
fn parse_challenge(spec: &str) -> anyhow::Result<Vec<Asked>> {
    let mut out: Vec<Asked> = Vec::new();
    for item in spec.split(',').filter(|s| !s.trim().is_empty()) {
        let (name, at) = item.split_once('@').with_context(|| format!("--challenge {item:?}: expected action@ms"))?;
        let action = ChallengeAction::parse(name.trim()).with_context(|| {
            format!("--challenge {item:?}: the action is one of turn_left, turn_right, look_up, look_down")
        })?;
        let at_ms = parse_ms(at, "--challenge")?;
        if out.last().is_some_and(|l| at_ms < l.at_ms) {
            anyhow::bail!("--challenge {item:?} is asked before the movement before it");
        }
        out.push(Asked { action, at_ms });
    }
    if out.is_empty() {
        anyhow::bail!("--challenge names no movement");
    }
    Ok(out)
}

fn label_nonce(label: &Label) -> anyhow::Result<Option<Vec<Shown>>> {
    if label.flash.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for f in &label.flash {
        let colour =
            FlashColour::parse(&f.colour).with_context(|| format!("the label's flash colour {:?}", f.colour))?;
        out.push(Shown { colour, start_ms: f.start_ms, end_ms: f.end_ms });
    }
    Ok(Some(out))
}

fn label_challenge(label: &Label) -> anyhow::Result<Option<Vec<Asked>>> {
    let Some(c) = &label.challenge else { return Ok(None) };
    let action = ChallengeAction::parse(&c.action).with_context(|| format!("the label's challenge {:?}", c.action))?;
    Ok(Some(vec![Asked { action, at_ms: c.asked_ms }]))
}

fn read_label(dir: &Path) -> anyhow::Result<Label> {
    let path = dir.join("label.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a liveness label", path.display()))
}

/// A folder without a label: `NNNN.jpg` frames named by their time in ms.
fn label_from_names(dir: &Path) -> anyhow::Result<Label> {
    let mut frames: Vec<LabelFrame> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let ms: f64 = p.file_stem()?.to_str()?.parse().ok()?;
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")).then(|| {
                let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                LabelFrame { file, time_ms: Some(ms), arrived_ms: Some(ms) }
            })
        })
        .collect();
    frames.sort_by(|a, b| a.time_ms.unwrap_or(0.0).total_cmp(&b.time_ms.unwrap_or(0.0)));
    if frames.is_empty() {
        anyhow::bail!("{} holds neither a label.json nor frames named by their time in ms", dir.display());
    }
    Ok(Label { kind: None, frames, flash: Vec::new(), flash_started_ms: None, challenge: None })
}

// ---------------------------------------------------------------------------------------------
// Frames

struct Layer {
    detector: FaceDetector,
    antispoof: AntiSpoof,
    mesh: FaceMesh,
}

fn load_layer(config: &Config) -> anyhow::Result<Layer> {
    let manifest = Manifest::embedded();
    let runtime = engines::runtime(config)?;
    let detector = engines::face_detector(&runtime, config, &manifest)?;
    let (antispoof, _) = engines::antispoof(&runtime, config, &manifest)?;
    let (mesh, _) = engines::face_mesh(&runtime, config, &manifest)?;
    Ok(Layer { detector, antispoof, mesh })
}

fn read_frame(path: &Path, config: &Config) -> anyhow::Result<(Frame, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let frame = decode(&bytes, &config.images).with_context(|| format!("decoding {}", path.display()))?;
    Ok((frame, sha256))
}

/// What one frame gave the layers besides the passive one.
#[derive(Debug, Clone)]
struct Measured {
    arrived_ms: f64,
    captured_ms: Option<f64>,
    sha256: String,
    skin: Option<[f32; 3]>,
    pose: Option<HeadPose>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    frames: u64,
    detect_s: f64,
    model_s: f64,
    measure_s: f64,
    mesh_s: f64,
    skin_s: f64,
}

impl Timing {
    fn add(&mut self, t: &Timing) {
        self.frames += t.frames;
        self.detect_s += t.detect_s;
        self.model_s += t.model_s;
        self.measure_s += t.measure_s;
        self.mesh_s += t.mesh_s;
        self.skin_s += t.skin_s;
    }

    fn json(&self) -> serde_json::Value {
        let ms = |s: f64| if self.frames == 0 { 0.0 } else { 1000.0 * s / self.frames as f64 };
        serde_json::json!({
            "frames": self.frames,
            "detect": ms(self.detect_s),
            "models": ms(self.model_s),
            "signals": ms(self.measure_s),
            "mesh": ms(self.mesh_s),
            "skin_and_hash": ms(self.skin_s),
        })
    }
}

/// Every frame of `label` through the detector, the passive layer, the skin colour and the pose.
fn measure(
    dir: &Path,
    label: &Label,
    layer: &Layer,
    with_pose: bool,
    config: &Config,
) -> anyhow::Result<(PassiveAggregate, Vec<Measured>, Timing)> {
    let mut agg = PassiveAggregate::new(config.passive);
    let mut out = Vec::with_capacity(label.frames.len());
    let mut timing = Timing::default();
    for (i, f) in label.frames.iter().enumerate() {
        let t0 = Instant::now();
        let (frame, sha256) = read_frame(&dir.join(&f.file), config)?;
        let t1 = Instant::now();
        let detected = layer.detector.detect(&frame)?;
        let face = largest(&detected);
        let t2 = Instant::now();
        let arrived_ms = f.arrived_ms.or(f.time_ms).unwrap_or(i as f64);
        let mut m = Measured { arrived_ms, captured_ms: f.time_ms, sha256, skin: None, pose: None };
        timing.frames += 1;
        timing.detect_s += (t2 - t1).as_secs_f64();
        let Some(face) = face else {
            timing.skin_s += (t1 - t0).as_secs_f64();
            out.push(m);
            continue;
        };
        // As a session scores them: a turned head during the challenge is not judged by the models.
        let quality = assess(&frame, &detected, &config.face_match.quality);
        let model = gated_model_score(&layer.antispoof, &frame, &face.bbox, &quality)?;
        let t3 = Instant::now();
        agg.add(measure_frame(FrameId(i as u64), &frame, &face.bbox, model, &config.passive));
        let t4 = Instant::now();
        m.skin = skin_colour(&frame, &face.bbox);
        let t5 = Instant::now();
        if with_pose {
            m.pose = layer.mesh.landmarks(&frame, &face)?.map(|mesh| {
                let p = head_pose(&mesh);
                HeadPose { yaw_deg: p.yaw_deg, pitch_deg: p.pitch_deg }
            });
        }
        let t6 = Instant::now();
        timing.model_s += (t3 - t2).as_secs_f64();
        timing.measure_s += (t4 - t3).as_secs_f64();
        timing.skin_s += (t1 - t0).as_secs_f64() + (t5 - t4).as_secs_f64();
        timing.mesh_s += (t6 - t5).as_secs_f64();
        out.push(m);
    }
    Ok((agg, out, timing))
}

// ---------------------------------------------------------------------------------------------
// The layers, pure over what the frames gave

/// What a layer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Live,
    /// Not clear: a reviewer looks (the reason code).
    Review(&'static str),
    /// An attack (the reason code the session gives).
    Fail(&'static str),
}

impl Said {
    fn name(self) -> &'static str {
        match self {
            Said::Live => "live",
            Said::Review(_) => "review",
            Said::Fail(_) => "attack",
        }
    }
}

/// The session's baseline before the flash: the face step's last frames (the machine keeps 8,
/// `skin_before`) and the lead-in's.
const BASELINE_FRAMES: usize = 8;

fn instant(epoch: Instant, ms: f64) -> Instant {
    epoch + Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// The flash layer: the skin samples the session would collect (the last frames before the
/// first colour, within `max_lead_in` of it plus [`BASELINE_FRAMES`] before, then every frame
/// until `settle` after the last colour), scored against what was shown.
fn flash_layer(shown: &[Shown], frames: &[Measured], config: &FlashConfig) -> (FlashScore, Said) {
    let epoch = Instant::now();
    let first = shown.first().map_or(0.0, |s| s.start_ms);
    let last = shown.last().map_or(0.0, |s| s.end_ms);
    let lead = config.max_lead_in.as_secs_f64() * 1000.0;
    let before: Vec<&Measured> = frames.iter().filter(|m| m.arrived_ms < first).collect();
    let in_lead = before.iter().filter(|m| m.arrived_ms >= first - lead).count();
    let keep_from = before.len().saturating_sub(in_lead + BASELINE_FRAMES);
    let settle = config.settle.as_secs_f64() * 1000.0;
    let samples: Vec<SkinSample> = before[keep_from..]
        .iter()
        .copied()
        .chain(frames.iter().filter(|m| m.arrived_ms >= first && m.arrived_ms < last + settle))
        .filter_map(|m| m.skin.map(|rgb| SkinSample { at: instant(epoch, m.arrived_ms), rgb }))
        .collect();
    let since = samples.first().map_or(instant(epoch, first), |s| s.at.min(instant(epoch, first)));
    let mut changes: Vec<(Instant, Option<FlashColour>)> = vec![(since, None)];
    for (i, s) in shown.iter().enumerate() {
        changes.push((instant(epoch, s.start_ms), Some(s.colour)));
        let next = shown.get(i + 1).map(|n| n.start_ms);
        if next.is_none_or(|n| n > s.end_ms) {
            changes.push((instant(epoch, s.end_ms), None));
        }
    }
    let s = score(&changes, &samples, config);
    let said = match s.verdict(config) {
        FlashVerdict::Reflected => Said::Live,
        FlashVerdict::Uncertain => Said::Review("liveness.flash_uncertain"),
        FlashVerdict::NotReflected => Said::Fail("liveness.replay_detected"),
    };
    (s, said)
}

/// The challenge layer: the poses of the frames from the first movement asked on, measured from
/// the median pose of the frames before `frontal_before_ms` (the face step).
fn challenge_layer(
    asked: &[Asked],
    frontal_before_ms: f64,
    frames: &[Measured],
    config: &ChallengeConfig,
) -> (ChallengeReplay, Option<HeadPose>, Said) {
    let epoch = Instant::now();
    let first = asked.first().map_or(0.0, |a| a.at_ms);
    let facing: Vec<HeadPose> =
        frames.iter().filter(|m| m.arrived_ms < frontal_before_ms.min(first)).filter_map(|m| m.pose).collect();
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let frontal = median(facing.iter().map(|p| p.yaw_deg).collect())
        .zip(median(facing.iter().map(|p| p.pitch_deg).collect()))
        .map(|(yaw_deg, pitch_deg)| HeadPose { yaw_deg, pitch_deg });
    let steps: Vec<(Instant, ChallengeAction)> = asked.iter().map(|a| (instant(epoch, a.at_ms), a.action)).collect();
    let poses: Vec<(Instant, Option<HeadPose>)> =
        frames.iter().filter(|m| m.arrived_ms >= first).map(|m| (instant(epoch, m.arrived_ms), m.pose)).collect();
    let r = replay(&steps, frontal.unwrap_or(HeadPose { yaw_deg: 0.0, pitch_deg: 0.0 }), &poses, config);
    let said = match r.failed {
        None => Said::Live,
        Some(reason) => Said::Fail(reason),
    };
    (r, frontal, said)
}

/// Stream integrity over every frame in order.
fn integrity_layer(frames: &[Measured], config: IntegrityConfig) -> (Option<&'static str>, Said) {
    let epoch = Instant::now();
    let mut s = StreamIntegrity::new(config);
    for m in frames {
        if let Some(v) = s.observe(&m.sha256, m.captured_ms, instant(epoch, m.arrived_ms)) {
            return (Some(v.as_str()), Said::Fail("liveness.replay_detected"));
        }
    }
    (None, Said::Live)
}

fn passive_said(o: PassiveOutcome) -> Said {
    match o {
        PassiveOutcome::Live => Said::Live,
        PassiveOutcome::Attack => Said::Fail("liveness.presentation_attack"),
        PassiveOutcome::Borderline => Said::Review("liveness.passive_uncertain"),
    }
}

/// The layers that ran, combined: rejected with every failing layer's reason, else review with
/// every doubtful one's, else live.
fn combine(said: &[Said]) -> (&'static str, Vec<&'static str>) {
    let reasons = |review: bool| {
        let mut out: Vec<&'static str> = Vec::new();
        for s in said {
            let r = match (s, review) {
                (Said::Fail(r), false) | (Said::Review(r), true) => *r,
                _ => continue,
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    };
    let fails = reasons(false);
    if !fails.is_empty() {
        return ("rejected", fails);
    }
    let reviews = reasons(true);
    if !reviews.is_empty() {
        return ("review", reviews);
    }
    ("live", Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Evidence

#[derive(Debug, Serialize)]
struct PassiveJson {
    verdict: &'static str,
    outcome: &'static str,
    frames: usize,
    model_real: Option<f32>,
    moire: Option<f32>,
    banding: Option<f32>,
    framed_sides: Option<f32>,
    face_motion: Option<f32>,
    rigidity: Option<f32>,
    rigidity_steps: usize,
    failed: Vec<&'static str>,
    doubtful: Vec<&'static str>,
}

fn passive_json(outcome: PassiveOutcome, e: &PassiveEvidence) -> PassiveJson {
    let named = |v: SignalVerdict| e.signals.iter().filter(|s| s.verdict == v).map(|s| s.name).collect();
    PassiveJson {
        verdict: passive_said(outcome).name(),
        outcome: outcome.as_str(),
        frames: e.frames,
        model_real: e.model_real,
        moire: e.moire,
        banding: e.banding,
        framed_sides: e.framed_sides,
        face_motion: e.face_motion,
        rigidity: e.rigidity,
        rigidity_steps: e.rigidity_steps,
        failed: named(SignalVerdict::Fail),
        doubtful: named(SignalVerdict::Doubt),
    }
}

fn flash_json(s: &FlashScore, said: Said, shown: &[Shown]) -> serde_json::Value {
    serde_json::json!({
        "ran": true,
        "verdict": said.name(),
        "correlation": s.correlation,
        "lag_ms": s.lag.as_millis() as u64,
        "frames": s.frames,
        "distinct": s.distinct,
        "gain": s.gain,
        "colours": shown.iter().map(|c| c.colour.as_str()).collect::<Vec<_>>(),
    })
}

fn challenge_json(
    r: &ChallengeReplay,
    frontal: Option<HeadPose>,
    said: Said,
    asked: &[Asked],
    frames: &[Measured],
) -> serde_json::Value {
    let round = |v: f32| (v * 10.0).round() / 10.0;
    // The poses the tracker saw, from the first request on: `[ms, yaw, pitch]` (no face: null).
    let poses: Vec<serde_json::Value> = frames
        .iter()
        .filter(|m| asked.first().is_some_and(|a| m.arrived_ms >= a.at_ms))
        .map(|m| match m.pose {
            Some(p) => serde_json::json!([m.arrived_ms.round() as u64, round(p.yaw_deg), round(p.pitch_deg)]),
            None => serde_json::json!([m.arrived_ms.round() as u64, null, null]),
        })
        .collect();
    let first = asked.first().map_or(0.0, |a| a.at_ms);
    let since_first = |at: Instant| -> Option<u64> {
        let start = r.asked.first()?.1;
        Some((first + at.saturating_duration_since(start).as_secs_f64() * 1000.0).round() as u64)
    };
    serde_json::json!({
        "ran": true,
        "verdict": said.name(),
        "frontal": frontal.map(|p| serde_json::json!({"yaw_deg": p.yaw_deg, "pitch_deg": p.pitch_deg})),
        "asked": r.asked.iter().map(|(a, at)| serde_json::json!({"action": a.as_str(), "at_ms": since_first(*at)})).collect::<Vec<_>>(),
        "reached": r.reached.iter().map(|(a, d)| serde_json::json!({"action": a.as_str(), "after_ms": d.as_millis() as u64})).collect::<Vec<_>>(),
        "failed": r.failed,
        "poses": poses,
        "continuity": "not replayed (no face embeddings here)",
    })
}

/// Every layer over one sequence's measured frames.
struct Layers {
    passive: (PassiveOutcome, PassiveJson),
    flash: Option<(serde_json::Value, Said)>,
    challenge: Option<(serde_json::Value, Said)>,
    integrity: (serde_json::Value, Said),
}

impl Layers {
    fn run(
        agg: &PassiveAggregate,
        frames: &[Measured],
        nonce: Option<&[Shown]>,
        challenge: Option<&[Asked]>,
        config: &Config,
    ) -> Layers {
        let v = agg.verdict();
        let passive = (v.outcome, passive_json(v.outcome, &v.evidence));
        let flash_config = &config.session.machine.flash;
        let flash = nonce.map(|shown| {
            let (s, said) = flash_layer(shown, frames, flash_config);
            (flash_json(&s, said, shown), said)
        });
        let frontal_before = nonce.and_then(|n| n.first()).map_or(f64::INFINITY, |s| s.start_ms);
        let challenge = challenge.map(|asked| {
            let (r, frontal, said) = challenge_layer(asked, frontal_before, frames, &config.session.machine.challenge);
            (challenge_json(&r, frontal, said, asked, frames), said)
        });
        let (violation, said) = integrity_layer(frames, config.capture.integrity);
        let integrity = (serde_json::json!({"ran": true, "verdict": said.name(), "violation": violation}), said);
        Layers { passive, flash, challenge, integrity }
    }

    fn said(&self) -> Vec<(&'static str, Said)> {
        let mut out = vec![("passive", passive_said(self.passive.0))];
        if let Some((_, s)) = &self.flash {
            out.push(("flash", *s));
        }
        if let Some((_, s)) = &self.challenge {
            out.push(("challenge", *s));
        }
        out.push(("integrity", self.integrity.1));
        out
    }

    fn json(&self) -> serde_json::Value {
        let not_run = serde_json::json!({"ran": false});
        let mut passive = serde_json::to_value(&self.passive.1).unwrap_or_default();
        passive["ran"] = serde_json::json!(true);
        serde_json::json!({
            "passive": passive,
            "flash": self.flash.as_ref().map_or(not_run.clone(), |f| f.0.clone()),
            "challenge": self.challenge.as_ref().map_or(not_run, |c| c.0.clone()),
            "integrity": self.integrity.0,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// check

fn check(dir: &Path, challenge: Option<Vec<Asked>>, nonce: Option<Vec<Shown>>, config: &Config) -> anyhow::Result<()> {
    let label = if dir.join("label.json").is_file() { read_label(dir)? } else { label_from_names(dir)? };
    let layer = load_layer(config)?;
    let (agg, frames, timing) = measure(dir, &label, &layer, challenge.is_some(), config)?;
    let layers = Layers::run(&agg, &frames, nonce.as_deref(), challenge.as_deref(), config);
    let said: Vec<Said> = layers.said().iter().map(|s| s.1).collect();
    let (verdict, reasons) = combine(&said);
    super::print_json(&serde_json::json!({
        "verdict": verdict,
        "reasons": reasons,
        "frames": frames.len(),
        "faces": frames.iter().filter(|m| m.skin.is_some()).count(),
        "layers": layers.json(),
        "per_frame_ms": timing.json(),
    }))
}

// ---------------------------------------------------------------------------------------------
// eval

const LAYER_NAMES: [&str; 4] = ["passive", "flash", "challenge", "integrity"];

#[derive(Debug, Serialize)]
struct SequenceResult {
    name: String,
    kind: String,
    verdict: &'static str,
    without_challenge: &'static str,
    reasons: Vec<&'static str>,
    layers: serde_json::Value,
    #[serde(skip)]
    said: Vec<(&'static str, Said)>,
    #[serde(skip)]
    flash_step_ms: Option<f64>,
}

fn passive_thresholds(c: &PassiveConfig) -> serde_json::Value {
    serde_json::json!({
        "min_frames": c.min_frames,
        "model_attack_below": c.model_attack_below,
        "model_review_below": c.model_review_below,
        "moire_attack_above": c.moire_attack_above,
        "moire_review_above": c.moire_review_above,
        "banding_attack_above": c.banding_attack_above,
        "framing_min_support": c.framing_min_support,
        "framing_attack_sides": c.framing_attack_sides,
        "framing_review_sides": c.framing_review_sides,
        "still_below": c.still_below,
        "rigidity_min_face_motion": c.rigidity_min_face_motion,
        "rigidity_min_steps": c.rigidity_min_steps,
        "rigidity_attack_above": c.rigidity_attack_above,
        "rigidity_review_above": c.rigidity_review_above,
    })
}

fn thresholds(config: &Config) -> serde_json::Value {
    let f = &config.session.machine.flash;
    let c = &config.session.machine.challenge;
    let i = &config.capture.integrity;
    let mut t = passive_thresholds(&config.passive);
    t["flash"] = serde_json::json!({
        "max_lag_ms": f.max_lag.as_millis() as u64,
        "settle_ms": f.settle.as_millis() as u64,
        "max_step_ms": f.max_step.as_millis() as u64,
        "transition_guard_ms": f.transition_guard.as_millis() as u64,
        "min_frames": f.min_frames,
        "min_distinct": f.min_distinct,
        "pass_correlation": f.pass_correlation,
        "review_correlation": f.review_correlation,
        "min_gain": f.min_gain,
    });
    t["challenge"] = serde_json::json!({
        "turn_deg": c.turn_deg,
        "nod_deg": c.nod_deg,
        "neutral_deg": c.neutral_deg,
        "hold_frames": c.hold_frames,
        "window_ms": c.window.as_millis() as u64,
    });
    t["integrity"] = serde_json::json!({
        "max_repeated_frames": i.max_repeated_frames,
        "max_clock_drift_ms": i.max_clock_drift.as_millis() as u64,
        "max_backwards": i.max_backwards,
    });
    t
}

/// The time the flash step adds to a session: from its start (the face matched) to the check,
/// `settle` after the last colour.
fn flash_step_ms(label: &Label, nonce: &[Shown], config: &FlashConfig) -> Option<f64> {
    let started = label.flash_started_ms?;
    let last = nonce.last()?.end_ms;
    Some(last + config.settle.as_secs_f64() * 1000.0 - started)
}

/// Every sequence through every layer. The contract's combined figures (`apcer`, `bpcer`) are
/// over every layer that ran, as the session decides (`combined` names them); the same without
/// the challenge (`without_challenge`) says what the passive layer, the flash and stream
/// integrity stop on their own. On synthetic sequences the challenge's figures measure its
/// logic against the face mesh's reading of the generator's head turn (the photo's own mesh
/// turned in 3-D, with `--face-meshes`; a 2-D warp the mesh under-reads without) and its flat,
/// rigid prints, not the mesh on people (docs/liveness.md).
fn eval(dir: &Path, samples: Option<&Path>, details: bool, config: &Config) -> anyhow::Result<()> {
    let layer = load_layer(config)?;
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("label.json").is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        anyhow::bail!("{} holds no sequence folder with a label.json", dir.display());
    }
    let results: Vec<(SequenceResult, Timing)> = folders
        .par_iter()
        .map(|folder| -> anyhow::Result<(SequenceResult, Timing)> {
            let label = read_label(folder)?;
            let kind = label.kind.clone().with_context(|| format!("{} names no kind", folder.display()))?;
            let nonce = label_nonce(&label)?;
            let challenge = label_challenge(&label)?;
            let (agg, frames, timing) = measure(folder, &label, &layer, challenge.is_some(), config)?;
            let layers = Layers::run(&agg, &frames, nonce.as_deref(), challenge.as_deref(), config);
            let said = layers.said();
            let (verdict, reasons) = combine(&said.iter().map(|s| s.1).collect::<Vec<_>>());
            let (without_challenge, _) =
                combine(&said.iter().filter(|s| s.0 != "challenge").map(|s| s.1).collect::<Vec<_>>());
            let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let flash_step_ms = nonce.as_deref().and_then(|n| flash_step_ms(&label, n, &config.session.machine.flash));
            let result = SequenceResult {
                name,
                kind,
                verdict,
                without_challenge,
                reasons,
                layers: layers.json(),
                said,
                flash_step_ms,
            };
            Ok((result, timing))
        })
        .collect::<anyhow::Result<_>>()?;

    let mut timing = Timing::default();
    for (_, t) in &results {
        timing.add(t);
    }
    let seqs: Vec<&SequenceResult> = results.iter().map(|(r, _)| r).collect();
    let mut out = rates(&seqs, |r| Some(r.verdict == "live"), |r| Some(r.verdict == "rejected"));
    out["combined"] = serde_json::json!(LAYER_NAMES);
    out["without_challenge"] =
        rates(&seqs, |r| Some(r.without_challenge == "live"), |r| Some(r.without_challenge == "rejected"));
    let mut layers = serde_json::Map::new();
    for name in LAYER_NAMES {
        let said = |r: &SequenceResult| r.said.iter().find(|s| s.0 == name).map(|s| s.1);
        let ran = seqs.iter().filter(|r| said(r).is_some()).count();
        let mut v = rates(&seqs, |r| said(r).map(|s| s == Said::Live), |r| said(r).map(|s| matches!(s, Said::Fail(_))));
        v["ran"] = serde_json::json!(ran);
        layers.insert(name.to_owned(), v);
    }
    out["layers"] = serde_json::Value::Object(layers);
    out["thresholds"] = thresholds(config);
    out["per_frame_ms"] = timing.json();
    let mut steps: Vec<f64> = seqs.iter().filter(|r| r.kind == "genuine").filter_map(|r| r.flash_step_ms).collect();
    steps.sort_by(f64::total_cmp);
    if !steps.is_empty() {
        out["flash_step_ms"] = serde_json::json!({
            "genuine_sequences": steps.len(),
            "median": steps[steps.len() / 2],
            "max": steps[steps.len() - 1],
        });
    }
    if let Some(samples) = samples {
        out["samples"] = score_samples(samples, &layer, config)?;
    }
    if details {
        out["sequences"] = serde_json::to_value(&seqs)?;
    }
    super::print_json(&out)
}

/// Counts and rates over `seqs`, for one layer or the layers combined: `live(r)` says whether it
/// judged the sequence live, `attack(r)` whether it said attack (`None`: the layer did not run on
/// it, and it is left out). APCER per attack type = attacks judged live; BPCER = genuine
/// sequences not judged live (attack or review).
fn rates(
    seqs: &[&SequenceResult],
    live: impl Fn(&SequenceResult) -> Option<bool>,
    attack: impl Fn(&SequenceResult) -> Option<bool>,
) -> serde_json::Value {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut lives: BTreeMap<&str, usize> = BTreeMap::new();
    let mut attacks: BTreeMap<&str, usize> = BTreeMap::new();
    for r in seqs {
        let (Some(l), Some(a)) = (live(r), attack(r)) else { continue };
        *counts.entry(r.kind.as_str()).or_default() += 1;
        *lives.entry(r.kind.as_str()).or_default() += usize::from(l);
        *attacks.entry(r.kind.as_str()).or_default() += usize::from(a);
    }
    let rate =
        |n: usize, of: usize| if of == 0 { serde_json::Value::Null } else { serde_json::json!(n as f64 / of as f64) };
    let genuine = counts.get("genuine").copied().unwrap_or(0);
    let genuine_live = lives.get("genuine").copied().unwrap_or(0);
    let genuine_attack = attacks.get("genuine").copied().unwrap_or(0);
    let kinds: Vec<&str> = counts.keys().copied().filter(|k| *k != "genuine").collect();
    let apcer: BTreeMap<&str, serde_json::Value> =
        kinds.iter().map(|k| (*k, rate(lives.get(k).copied().unwrap_or(0), counts[k]))).collect();
    let review: BTreeMap<&str, serde_json::Value> = counts
        .iter()
        .map(|(k, &n)| (*k, rate(n - lives.get(k).copied().unwrap_or(0) - attacks.get(k).copied().unwrap_or(0), n)))
        .collect();
    serde_json::json!({
        "genuine": genuine,
        "attacks": kinds.iter().map(|k| (*k, counts[k])).collect::<BTreeMap<_, _>>(),
        "apcer": apcer,
        "bpcer": rate(genuine - genuine_live, genuine),
        "bpcer_attack_verdicts": rate(genuine_attack, genuine),
        "review": review,
    })
}

/// Each still image of `dir` on its own: the models' score and the single-frame signals (no
/// motion can be measured on one image).
fn score_samples(dir: &Path, layer: &Layer, config: &Config) -> anyhow::Result<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    let mut out = serde_json::Map::new();
    for path in files {
        let (frame, _) = read_frame(&path, config)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(face) = largest(&layer.detector.detect(&frame)?) else {
            out.insert(name, serde_json::json!({"face": false}));
            continue;
        };
        let model = layer.antispoof.score(&frame, &face.bbox)?;
        let mut agg = PassiveAggregate::new(config.passive);
        agg.add(measure_frame(FrameId(0), &frame, &face.bbox, model, &config.passive));
        let v = agg.verdict();
        let model_says = match v.evidence.signals.iter().find(|s| s.name == "model").map(|s| s.verdict) {
            Some(SignalVerdict::Pass) => "live",
            Some(SignalVerdict::Fail) => "attack",
            Some(SignalVerdict::Doubt) => "borderline",
            _ => "unmeasured",
        };
        let e = passive_json(v.outcome, &v.evidence);
        out.insert(
            name,
            serde_json::json!({
                "face": true,
                "model_real": e.model_real,
                "model_verdict": model_says,
                "moire": e.moire,
                "banding": e.banding,
                "framed_sides": e.framed_sides,
                "failed": e.failed,
            }),
        );
    }
    Ok(serde_json::Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    /// The shipped configuration (the embedded defaults).
    fn shipped() -> Config {
        RawConfig::load(None, figment::providers::Env::prefixed("VERIFIER_TEST_NONE_"))
            .and_then(RawConfig::validate)
            .expect("the defaults are valid")
    }

    #[test]
    fn the_generators_colours_are_the_sessions() {
        let session: Vec<(&str, [u8; 3])> = FlashColour::ALL.iter().map(|c| (c.as_str(), c.rgb())).collect();
        assert_eq!(session, datasets_synthetic::flash::FLASH_COLOURS.to_vec());
    }

    #[test]
    fn the_generators_flash_rule_has_the_shipped_values() {
        let f = &shipped().session.machine.flash;
        let g = datasets_synthetic::flash::FlashSpec::shipped();
        let ms = |d: Duration| d.as_millis() as u32;
        assert_eq!(g.colours, (f.min_colours, f.max_colours));
        assert_eq!(g.colour_ms, (ms(f.min_colour), ms(f.max_colour)));
        assert_eq!(g.lead_in_ms, (ms(f.min_lead_in), ms(f.max_lead_in)));
        assert_eq!(g.frames_per_colour, f.frames_per_colour);
        assert_eq!(g.max_paced_colour_ms, ms(f.max_paced_colour));
        assert_eq!(g.max_step_ms, ms(f.max_step));
        assert_eq!(g.settle_ms, ms(f.settle));
    }

    #[test]
    fn specs_parse_and_refuse_what_they_cannot_mean() {
        let n = parse_nonce("red@400+250, blue@650+300").expect("parses");
        assert_eq!(
            n,
            vec![
                Shown { colour: FlashColour::Red, start_ms: 400.0, end_ms: 650.0 },
                Shown { colour: FlashColour::Blue, start_ms: 650.0, end_ms: 950.0 }
            ]
        );
        for bad in ["", "red", "red@400", "pink@1+2", "red@400+250,blue@500+10", "red@-5+10", "red@x+1"] {
            assert!(parse_nonce(bad).is_err(), "{bad:?}");
        }
        let c = parse_challenge("turn_left@1000,look_up@4000").expect("parses");
        assert_eq!(c[1], Asked { action: ChallengeAction::LookUp, at_ms: 4000.0 });
        for bad in ["", "blink@100", "turn_left", "turn_left@4000,look_up@1000"] {
            assert!(parse_challenge(bad).is_err(), "{bad:?}");
        }
    }

    fn frame(ms: f64, skin: [f32; 3], sha: &str) -> Measured {
        Measured { arrived_ms: ms, captured_ms: Some(ms - 100.0), sha256: sha.to_owned(), skin: Some(skin), pose: None }
    }

    /// Frames every 110 ms to 5 s: a face whose skin takes on `lit(ms)` (the light 150 ms before
    /// it arrived) by 15 %.
    fn frames(lit: impl Fn(f64) -> Option<FlashColour>) -> Vec<Measured> {
        (0..45)
            .map(|i| {
                let ms = 100.0 + 110.0 * f64::from(i);
                let tint = lit(ms - 150.0).map_or([0.0; 3], |c| c.rgb().map(f32::from));
                let skin = [170.0, 125.0, 105.0];
                let noise = ((i * 7) % 5) as f32 - 2.0;
                frame(
                    ms,
                    std::array::from_fn(|k| skin[k] * (1.0 + 0.15 * tint[k] / 255.0) + noise),
                    &format!("{i:064x}"),
                )
            })
            .collect()
    }

    fn shown_at(shown: &[Shown], ms: f64) -> Option<FlashColour> {
        shown.iter().find(|s| s.start_ms <= ms && ms < s.end_ms).map(|s| s.colour)
    }

    #[test]
    fn the_flash_layer_passes_its_own_nonce_and_fails_another_or_none() {
        let config = shipped().session.machine.flash;
        let own = parse_nonce("red@1500+375,green@1875+375,blue@2250+375,yellow@2625+375,cyan@3000+375").unwrap();
        let other = parse_nonce("magenta@1200+375,cyan@1575+375,yellow@1950+375,red@2325+375,green@2700+375").unwrap();
        let live = frames(|ms| shown_at(&own, ms));
        assert_eq!(flash_layer(&own, &live, &config).1, Said::Live, "{:?}", flash_layer(&own, &live, &config).0);
        let replayed = frames(|ms| shown_at(&other, ms));
        assert_ne!(flash_layer(&own, &replayed, &config).1, Said::Live);
        let injected = frames(|_| None);
        assert_eq!(flash_layer(&own, &injected, &config).1, Said::Fail("liveness.replay_detected"));
    }

    #[test]
    fn integrity_and_the_combination_follow_the_session() {
        let config = shipped().capture.integrity;
        let live = frames(|_| None);
        assert_eq!(integrity_layer(&live, config).1, Said::Live);
        let looped: Vec<Measured> = (0..10).map(|i| frame(100.0 * f64::from(i), [1.0; 3], "same")).collect();
        assert_eq!(integrity_layer(&looped, config), (Some("repeated_frames"), Said::Fail("liveness.replay_detected")));
        assert_eq!(combine(&[Said::Live, Said::Live]), ("live", vec![]));
        assert_eq!(
            combine(&[Said::Review("liveness.flash_uncertain"), Said::Live]),
            ("review", vec!["liveness.flash_uncertain"])
        );
        assert_eq!(
            combine(&[Said::Review("liveness.flash_uncertain"), Said::Fail("liveness.presentation_attack")]),
            ("rejected", vec!["liveness.presentation_attack"])
        );
    }
}
