//! `verifier liveness eval`: the passive presentation-attack layer over labelled sequences.
//!
//! Reads folders holding JPEG frames and a `label.json` (`{"kind": "genuine" | "print" |
//! "screen" | "static" | ..., "frames": [{"file": ...}]}`, as `datasets-synthetic generate
//! liveness` writes them), runs each sequence through what a session runs (YuNet's largest face,
//! SilentFace's models, `vision::liveness::measure_frame`, `PassiveAggregate`) with the
//! configured `[liveness.passive]`, and prints one JSON object: counts, APCER per attack type
//! (attacks judged live), BPCER (genuine sequences not judged live: attack or review), the
//! thresholds, per-frame times, and optionally single still images (`--samples`, the shared
//! anti-spoofing samples) scored frame by frame. The session wiring is not here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use verifier_models::Manifest;
use vision::face::{FaceDetector, largest};
use vision::frame::{Frame, FrameId, decode};
use vision::liveness::{
    AntiSpoof, PassiveAggregate, PassiveConfig, PassiveEvidence, PassiveOutcome, SignalVerdict, measure_frame,
};

use crate::config::Config;
use crate::engines;

/// Liveness subcommands.
#[derive(Debug, Subcommand)]
pub enum LivenessCommand {
    /// APCER per attack type and BPCER of the passive layer over labelled sequences.
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
}

#[derive(Debug, Deserialize)]
struct Label {
    kind: String,
    frames: Vec<LabelFrame>,
}

#[derive(Debug, Deserialize)]
struct LabelFrame {
    file: String,
}

#[derive(Debug, Serialize)]
struct Evidence {
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

fn outcome_name(o: PassiveOutcome) -> &'static str {
    match o {
        PassiveOutcome::Live => "live",
        PassiveOutcome::Attack => "attack",
        PassiveOutcome::Borderline => "borderline",
    }
}

fn evidence(outcome: PassiveOutcome, e: &PassiveEvidence) -> Evidence {
    let named = |v: SignalVerdict| e.signals.iter().filter(|s| s.verdict == v).map(|s| s.name).collect();
    Evidence {
        outcome: outcome_name(outcome),
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

#[derive(Debug, Serialize)]
struct SequenceResult {
    name: String,
    kind: String,
    #[serde(flatten)]
    evidence: Evidence,
}

#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    frames: u64,
    detect_s: f64,
    model_s: f64,
    measure_s: f64,
}

/// Runs a liveness subcommand.
pub fn run(command: LivenessCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        LivenessCommand::Eval { dir, samples, details } => eval(&dir, samples.as_deref(), details, config),
    }
}

struct Layer {
    detector: FaceDetector,
    antispoof: AntiSpoof,
}

fn read_frame(path: &Path, config: &Config) -> anyhow::Result<Frame> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode(&bytes, &config.images).with_context(|| format!("decoding {}", path.display()))
}

fn sequence(dir: &Path, label: &Label, layer: &Layer, config: &Config) -> anyhow::Result<(Evidence, Timing)> {
    let mut agg = PassiveAggregate::new(config.passive);
    let mut timing = Timing::default();
    for (i, f) in label.frames.iter().enumerate() {
        let frame = read_frame(&dir.join(&f.file), config)?;
        let t0 = Instant::now();
        let face = largest(&layer.detector.detect(&frame)?);
        let t1 = Instant::now();
        let Some(face) = face else { continue };
        let model = layer.antispoof.score(&frame, &face.bbox)?;
        let t2 = Instant::now();
        agg.add(measure_frame(FrameId(i as u64), &frame, &face.bbox, model));
        let t3 = Instant::now();
        timing.frames += 1;
        timing.detect_s += (t1 - t0).as_secs_f64();
        timing.model_s += (t2 - t1).as_secs_f64();
        timing.measure_s += (t3 - t2).as_secs_f64();
    }
    let v = agg.verdict();
    Ok((evidence(v.outcome, &v.evidence), timing))
}

fn thresholds(c: &PassiveConfig) -> serde_json::Value {
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

fn eval(dir: &Path, samples: Option<&Path>, details: bool, config: &Config) -> anyhow::Result<()> {
    let manifest = Manifest::embedded();
    let runtime = engines::runtime(config)?;
    let detector = engines::face_detector(&runtime, config, &manifest)?;
    let (antispoof, _) = engines::antispoof(&runtime, config, &manifest)?;
    let layer = Layer { detector, antispoof };
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
            let path = folder.join("label.json");
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let label: Label =
                serde_json::from_str(&text).with_context(|| format!("{} is not a liveness label", path.display()))?;
            let (evidence, timing) = sequence(folder, &label, &layer, config)?;
            let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Ok((SequenceResult { name, kind: label.kind, evidence }, timing))
        })
        .collect::<anyhow::Result<_>>()?;

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    let mut attack: BTreeMap<String, usize> = BTreeMap::new();
    let mut timing = Timing::default();
    for (r, t) in &results {
        *counts.entry(r.kind.clone()).or_default() += 1;
        match r.evidence.outcome {
            "live" => *live.entry(r.kind.clone()).or_default() += 1,
            "attack" => *attack.entry(r.kind.clone()).or_default() += 1,
            _ => {}
        }
        timing.frames += t.frames;
        timing.detect_s += t.detect_s;
        timing.model_s += t.model_s;
        timing.measure_s += t.measure_s;
    }
    let rate =
        |n: usize, of: usize| if of == 0 { serde_json::Value::Null } else { serde_json::json!(n as f64 / of as f64) };
    let genuine = counts.get("genuine").copied().unwrap_or(0);
    let genuine_live = live.get("genuine").copied().unwrap_or(0);
    let genuine_attack = attack.get("genuine").copied().unwrap_or(0);
    let attack_kinds: Vec<&String> = counts.keys().filter(|k| k.as_str() != "genuine").collect();
    let attacks: BTreeMap<&str, usize> = attack_kinds.iter().map(|k| (k.as_str(), counts[*k])).collect();
    let apcer: BTreeMap<&str, serde_json::Value> =
        attack_kinds.iter().map(|k| (k.as_str(), rate(live.get(*k).copied().unwrap_or(0), counts[*k]))).collect();
    let review: BTreeMap<&str, serde_json::Value> = counts
        .iter()
        .map(|(k, &n)| {
            let decided = live.get(k).copied().unwrap_or(0) + attack.get(k).copied().unwrap_or(0);
            (k.as_str(), rate(n - decided, n))
        })
        .collect();
    let ms = |s: f64| if timing.frames == 0 { 0.0 } else { 1000.0 * s / timing.frames as f64 };
    let mut out = serde_json::json!({
        "genuine": genuine,
        "attacks": attacks,
        "apcer": apcer,
        "bpcer": rate(genuine - genuine_live, genuine),
        "bpcer_attack_verdicts": rate(genuine_attack, genuine),
        "review": review,
        "thresholds": thresholds(&config.passive),
        "per_frame_ms": {
            "frames": timing.frames,
            "detect": ms(timing.detect_s),
            "models": ms(timing.model_s),
            "signals": ms(timing.measure_s),
        },
    });
    if let Some(samples) = samples {
        out["samples"] = score_samples(samples, &layer, config)?;
    }
    if details {
        out["sequences"] = serde_json::to_value(results.iter().map(|(r, _)| r).collect::<Vec<_>>())?;
    }
    super::print_json(&out)
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
        let frame = read_frame(&path, config)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(face) = largest(&layer.detector.detect(&frame)?) else {
            out.insert(name, serde_json::json!({"face": false}));
            continue;
        };
        let model = layer.antispoof.score(&frame, &face.bbox)?;
        let mut agg = PassiveAggregate::new(config.passive);
        agg.add(measure_frame(FrameId(0), &frame, &face.bbox, model));
        let v = agg.verdict();
        let model_says = match v.evidence.signals.iter().find(|s| s.name == "model").map(|s| s.verdict) {
            Some(SignalVerdict::Pass) => "live",
            Some(SignalVerdict::Fail) => "attack",
            Some(SignalVerdict::Doubt) => "borderline",
            _ => "unmeasured",
        };
        let e = evidence(v.outcome, &v.evidence);
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
