//! `verifier face ...`: detection, 1:1 matching and the face-verification evaluation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rayon::prelude::*;
use serde::Serialize;
use session::portraits::PortraitSet;
use verifier_models::Manifest;
use vision::face::{DetectedFace, Embedding, FaceAnalyzer, FaceReading, PortraitGate, PortraitIssue, PortraitQuality};
use vision::frame::Frame;
use vision::frame::FrameId;
use vision::metrics;

use crate::config::Config;
use crate::engines;

/// Face subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per process: the evaluation's many options cost nothing kept by value.
#[allow(clippy::large_enum_variant)]
pub enum FaceCommand {
    /// Detect faces: prints `{"faces":[{"box":[x,y,w,h],"score":s,"landmarks":[[x,y],...5]}]}`.
    Detect {
        /// The image file (JPEG, PNG, WebP or BMP).
        image: PathBuf,
    },
    /// The 468-point face mesh of the largest face: prints `{"box":[x,y,w,h],"points":[[x,y,z],
    /// ...],"pose":{"yaw_deg","pitch_deg","roll_deg"}}` in the image's pixels (`z` the depth,
    /// smaller nearer the camera, in the same units); `points` and `pose` are null when the face
    /// has no mesh, and the whole is `{"box":null}` when no face is found. `scripts/face_boxes.sh`
    /// writes the boxes and meshes of the shared photos for the synthetic generator.
    Mesh {
        /// The image file (JPEG, PNG, WebP or BMP).
        image: PathBuf,
    },
    /// Compare the largest face of two images: prints `{"similarity","same_person","threshold","faces"}`.
    Match {
        /// Image A is a document: take the holder's portrait from the portrait zone of the
        /// document placed from its MRZ (the document is turned upright first); none when the
        /// MRZ cannot be located.
        #[arg(long)]
        document: bool,
        /// First image.
        image_a: PathBuf,
        /// Second image.
        image_b: PathBuf,
    },
    /// Live-face quality of each image: prints one JSON line per image with its issues.
    Quality {
        /// Image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Evaluate verification on labelled pairs: prints AUC, EER and FNMR at fixed FMRs.
    Eval {
        /// CSV with a header naming `file_x`, `file_y` and `decision` (Yes = same person).
        #[arg(long)]
        pairs: PathBuf,
        /// Folder the CSV paths are relative to; a path not found there is looked up by its file
        /// name alone (absolute paths are used as they are).
        #[arg(long)]
        images: PathBuf,
        /// Write the DET curve to this PNG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// The `file_x` images are documents: compare their holder's portrait (see `match`).
        #[arg(long)]
        document: bool,
        /// Evaluate the model of this manifest role instead of the configured one (e.g.
        /// `face_embedding_alt`), to compare models on the same pairs.
        #[arg(long)]
        role: Option<String>,
        /// Report the at-threshold figures at this similarity instead of the configured
        /// `face.match.threshold` (needed when `--role` names another model than the one the
        /// threshold was measured for).
        #[arg(long)]
        threshold: Option<f32>,
        /// The false-match rate the threshold is calibrated for: the lowest threshold whose FMR
        /// on these pairs is at most this, and the FNMR there, are reported.
        #[arg(long, default_value_t = 1e-3)]
        target_fmr: f64,
        /// Write every pair's score to this CSV (`file_x,file_y,decision,score`, and with
        /// `--document` what was measured of the portrait: `eye_distance_px,sharpness,
        /// detector_score`), for analysis at other thresholds without re-running the models.
        #[arg(long)]
        scores: Option<PathBuf>,
        /// With `--document`: the figures again over the portraits that meet the portrait
        /// gate (`face.portrait.min_eye_distance_px`, `min_sharpness`), and the share it turns
        /// away.
        #[arg(long, requires = "document")]
        gate: bool,
        /// With `--document` and a `document` column in the pairs CSV (frames of one document
        /// share its value): each document's frames, in file order, go through the session's
        /// portrait rules (`session::portraits`: the gate, `session.portrait_frames`,
        /// `portrait_max_frames`, the best fused) and its fused portrait is compared once per
        /// other image; figures per document pair.
        #[arg(long, requires = "document")]
        sessions: bool,
        /// Sweep: these values of `face.portrait.min_eye_distance_px` instead of the
        /// configured one (comma-separated); the gate and session figures are given for each
        /// combination of the sweep's values.
        #[arg(long, value_delimiter = ',')]
        min_eye_distance_px: Vec<f32>,
        /// Sweep: values of `face.portrait.min_sharpness`.
        #[arg(long, value_delimiter = ',')]
        min_sharpness: Vec<f32>,
        /// Sweep: values of `session.portrait_frames` (portraits meeting the bars collected).
        #[arg(long, value_delimiter = ',')]
        portrait_frames: Vec<usize>,
        /// Sweep: values of `session.portrait_max_frames`.
        #[arg(long, value_delimiter = ',')]
        portrait_max_frames: Vec<usize>,
        /// Sweep: how many of the collected portraits are fused (default: all collected, as
        /// the session does; 1 is the single best).
        #[arg(long, value_delimiter = ',')]
        fused: Vec<usize>,
        /// Embed each face alone (`false`) or averaged with its mirror image (`true`) instead
        /// of as the manifest declares (`mirror_average`), to compare the two on the same
        /// pairs; the configured threshold was measured with the manifest's, so another
        /// setting needs `--threshold`.
        #[arg(long)]
        mirror_average: Option<bool>,
    },
}

/// The wire form of one detected face.
#[derive(Debug, Serialize)]
struct FaceOut {
    #[serde(rename = "box")]
    bbox: [f64; 4],
    score: f64,
    landmarks: [[f64; 2]; 5],
}

/// One decimal, as an `f64` so that it prints as one (an `f32` prints its binary expansion).
fn round1(v: f32) -> f64 {
    (f64::from(v) * 10.0).round() / 10.0
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

impl From<&DetectedFace> for FaceOut {
    fn from(f: &DetectedFace) -> Self {
        let b = f.bbox;
        FaceOut {
            bbox: [round1(b.x), round1(b.y), round1(b.width), round1(b.height)],
            score: (f64::from(f.score) * 1000.0).round() / 1000.0,
            landmarks: f.landmarks.map(|[x, y]| [round1(x), round1(y)]),
        }
    }
}

#[derive(Debug, Serialize)]
struct MatchOut {
    similarity: Option<f64>,
    same_person: bool,
    threshold: f32,
    faces: [usize; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct QualityOut {
    file: String,
    usable: bool,
    issues: Vec<&'static str>,
    faces: usize,
    eye_distance_px: f64,
    yaw: f64,
    pitch: f64,
    roll_deg: f64,
    sharpness: f64,
    brightness: f64,
    eye_contrast: f64,
}

#[derive(Debug, Serialize)]
struct EvalOut {
    pairs: usize,
    genuine: usize,
    impostor: usize,
    images: usize,
    images_without_face: usize,
    model: String,
    mirror_average: bool,
    auc: Option<f64>,
    eer: Option<f64>,
    eer_threshold: Option<f32>,
    #[serde(rename = "fnmr_at_fmr_1e-2")]
    fnmr_at_fmr_1e_2: Option<f64>,
    #[serde(rename = "fnmr_at_fmr_1e-3")]
    fnmr_at_fmr_1e_3: Option<f64>,
    #[serde(rename = "threshold_at_fmr_1e-3")]
    threshold_at_fmr_1e_3: Option<f32>,
    target_fmr: f64,
    threshold_at_target_fmr: Option<f32>,
    fnmr_at_target_fmr: Option<f64>,
    threshold: f32,
    false_matches: usize,
    false_non_matches: usize,
    fmr_at_threshold: f64,
    /// Wilson 95 % interval of the FMR at the threshold (binomial, pairs taken as independent).
    fmr_at_threshold_ci95: [f64; 2],
    fnmr_at_threshold: f64,
    /// Wilson 95 % interval of the FNMR at the threshold.
    fnmr_at_threshold_ci95: [f64; 2],
    accuracy_at_threshold: f64,
    /// Pairs where one side showed no face (scored -1: a failure to enrol counts as a non-match).
    pairs_without_face: usize,
    /// With `--document`: milliseconds to measure one portrait's quality (mean; this build).
    #[serde(skip_serializing_if = "Option::is_none")]
    measure_ms_mean: Option<f64>,
    /// With `--gate` or `--sessions`: the figures at each setting swept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    portrait_gate: Vec<GateOut>,
}

/// The Wilson score interval (95 %) of a binomial proportion `k / n`; `[0, 1]` when `n` is 0.
///
/// Unlike the normal approximation it stays inside 0..=1 and is not empty when `k` is 0: with
/// no false match in `n` pairs the upper end is about `3.84 / n`.
fn wilson95(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_964_f64);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    [round4((centre - half).max(0.0)), round4((centre + half).min(1.0))]
}

/// Reads and decodes an image file; a missing or corrupt file is an error naming it.
fn load_frame(path: &Path, config: &Config) -> anyhow::Result<Frame> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    vision::frame::decode(&bytes, &config.images).with_context(|| path.display().to_string())
}

/// The model the configured embedding role plays.
fn manifest_model(config: &Config) -> anyhow::Result<String> {
    let manifest = Manifest::embedded();
    let spec = manifest.role(&config.face_match.embedder_role).context("the configured embedding role is missing")?;
    Ok(spec.name.clone())
}

fn analyzer(config: &Config) -> anyhow::Result<FaceAnalyzer> {
    let runtime = engines::runtime(config)?;
    Ok(engines::face_analyzer(&runtime, config, &Manifest::embedded())?.0)
}

/// Runs a face subcommand.
pub fn run(command: FaceCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        FaceCommand::Detect { image } => {
            let frame = load_frame(&image, config)?;
            let runtime = engines::runtime(config)?;
            let detector = engines::face_detector(&runtime, config, &Manifest::embedded())?;
            let faces = detector.detect(&frame)?;
            let faces: Vec<FaceOut> = faces.iter().map(FaceOut::from).collect();
            crate::cli::print_json(&serde_json::json!({ "faces": faces }))
        }
        FaceCommand::Mesh { image } => {
            let frame = load_frame(&image, config)?;
            let runtime = engines::runtime(config)?;
            let manifest = Manifest::embedded();
            let detector = engines::face_detector(&runtime, config, &manifest)?;
            let (mesh, _) = engines::face_mesh(&runtime, config, &manifest)?;
            let out = match vision::face::largest(&detector.detect(&frame)?) {
                Some(face) => {
                    let b = face.bbox;
                    let mut out = serde_json::json!({
                        "box": [round1(b.x), round1(b.y), round1(b.width), round1(b.height)],
                        "points": null,
                        "pose": null,
                    });
                    if let Some(m) = mesh.landmarks(&frame, &face)? {
                        let pose = vision::face::head_pose(&m);
                        out["points"] = serde_json::json!(m.points().iter().map(|p| p.map(round1)).collect::<Vec<_>>());
                        out["pose"] = serde_json::json!({
                            "yaw_deg": round1(pose.yaw_deg),
                            "pitch_deg": round1(pose.pitch_deg),
                            "roll_deg": round1(pose.roll_deg),
                        });
                    }
                    out
                }
                None => serde_json::json!({ "box": null }),
            };
            crate::cli::print_json(&out)
        }
        FaceCommand::Match { document, image_a, image_b } => {
            let (a, b) = (load_frame(&image_a, config)?, load_frame(&image_b, config)?);
            let analyzer = analyzer(config)?;
            let (ra, rb) = if document {
                let reader = crate::cli::mrz::reader(config)?;
                let today = crate::cli::mrz::reference_date(None)?;
                rayon::join(|| document_reading(&a, &reader, today, &analyzer, &config.portrait), || analyzer.read(&b))
            } else {
                rayon::join(|| analyzer.read(&a), || analyzer.read(&b))
            };
            let (ra, rb) = (ra?, rb?);
            crate::cli::print_json(&match_outcome(&ra, &rb, config.face_match.threshold)?)
        }
        FaceCommand::Quality { images } => {
            let analyzer = analyzer(config)?;
            for path in images {
                let frame = load_frame(&path, config)?;
                let faces = analyzer.detector.detect(&frame)?;
                let q = vision::face::assess(&frame, &faces, &config.face_match.quality);
                crate::cli::print_json(&QualityOut {
                    file: path.display().to_string(),
                    usable: q.usable(),
                    issues: q.issues.iter().map(|i| i.code()).collect(),
                    faces: faces.len(),
                    eye_distance_px: round1(q.eye_distance_px),
                    yaw: round4(f64::from(q.yaw)),
                    pitch: round4(f64::from(q.pitch)),
                    roll_deg: round1(q.roll_deg),
                    sharpness: round1(q.sharpness),
                    brightness: round1(q.brightness),
                    eye_contrast: round1(q.eye_contrast),
                })?;
            }
            Ok(())
        }
        FaceCommand::Eval {
            pairs,
            images,
            plot,
            document,
            role,
            threshold,
            target_fmr,
            scores,
            gate,
            sessions,
            min_eye_distance_px,
            min_sharpness,
            portrait_frames,
            portrait_max_frames,
            fused,
            mirror_average,
        } => {
            let mut config = config.clone();
            if let Some(role) = role {
                let manifest = Manifest::embedded();
                let spec = manifest.role(&role).with_context(|| format!("the manifest has no role {role}"))?;
                if threshold.is_none() && spec.name != manifest_model(&config)? {
                    anyhow::bail!(
                        "face.match.threshold was measured for {}, the role {role} plays {}: give --threshold",
                        manifest_model(&config)?,
                        spec.name
                    );
                }
                config.face_match.embedder_role = role;
            }
            let declared =
                Manifest::embedded().role(&config.face_match.embedder_role).is_some_and(|spec| spec.mirror_average);
            if threshold.is_none() && mirror_average.is_some_and(|m| m != declared) {
                anyhow::bail!(
                    "face.match.threshold was measured with mirror_average = {declared}: give --threshold for the other"
                );
            }
            if let Some(t) = threshold {
                config.face_match.threshold = t;
            }
            let config = &config;
            let sweep = Sweep {
                gate,
                sessions,
                min_eye_distance_px: or_configured(min_eye_distance_px, config.portrait_gate.min_eye_distance_px),
                min_sharpness: or_configured(min_sharpness, config.portrait_gate.min_sharpness),
                portrait_frames: or_configured(portrait_frames, config.session.machine.portrait_frames),
                portrait_max_frames: or_configured(portrait_max_frames, config.session.machine.portrait_max_frames),
                fused,
                mirror_average,
            };
            let (out, genuine, impostor) =
                evaluate(&pairs, &images, document, target_fmr, scores.as_deref(), &sweep, config)?;
            if let Some(plot) = plot {
                crate::plot::det_curve(&plot, &genuine, &impostor, out.threshold, &out.model)?;
            }
            crate::cli::print_json(&out)
        }
    }
}

/// The holder's portrait of a document frame as a reading: the portrait is its only face. It
/// is taken only where the MRZ's layout puts it (`vision::face::find_portrait`); a frame whose
/// MRZ was not located, or whose layout has no portrait on the MRZ side, gives none.
fn document_reading(
    frame: &Frame,
    reader: &vision::mrz::MrzReader,
    today: mrz::Date,
    analyzer: &FaceAnalyzer,
    portrait: &vision::face::PortraitConfig,
) -> Result<FaceReading, vision::model::ModelError> {
    Ok(document_portrait(frame, reader, today, analyzer, portrait)?.0)
}

/// [`document_reading`], with what was measured of the portrait.
fn document_portrait(
    frame: &Frame,
    reader: &vision::mrz::MrzReader,
    today: mrz::Date,
    analyzer: &FaceAnalyzer,
    portrait: &vision::face::PortraitConfig,
) -> Result<(FaceReading, Option<PortraitQuality>), vision::model::ModelError> {
    let mrz = vision::mrz::read_mrz(frame, reader, today)?;
    let found = match (mrz.location(), vision::face::DocumentLayout::of_read(&mrz)) {
        (Some(location), Some(layout)) => {
            vision::face::find_portrait(frame, location, layout, analyzer, portrait)?.ok()
        }
        _ => None,
    };
    Ok(match found {
        Some(p) => {
            (FaceReading { faces: vec![p.face], largest: Some(p.face), embedding: p.embedding }, Some(p.quality))
        }
        None => (FaceReading { faces: Vec::new(), largest: None, embedding: None }, None),
    })
}

fn match_outcome(a: &FaceReading, b: &FaceReading, threshold: f32) -> anyhow::Result<MatchOut> {
    let faces = [a.faces.len(), b.faces.len()];
    let (similarity, reason) = match (&a.embedding, &b.embedding) {
        (Some(ea), Some(eb)) => (Some(ea.cosine(eb)?), None),
        (None, _) => (None, Some("no_face_in_image_a")),
        (_, None) => (None, Some("no_face_in_image_b")),
    };
    Ok(MatchOut {
        similarity: similarity.map(|s| round4(f64::from(s))),
        same_person: similarity.is_some_and(|s| s >= threshold),
        threshold,
        faces,
        reason,
    })
}

/// One labelled pair from the CSV.
struct Pair {
    a: String,
    b: String,
    same: bool,
    /// Which document image `a` shows (the optional `document` column): frames of one
    /// document share it.
    document: Option<String>,
}

fn read_pairs(path: &Path) -> anyhow::Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().context("the pairs file is empty")?.split(',').map(str::trim).collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).with_context(|| format!("the pairs file has no {name} column"))
    };
    let (cx, cy, cd) = (col("file_x")?, col("file_y")?, col("decision")?);
    let cdoc = header.iter().position(|h| *h == "document");
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |c: usize| cells.get(c).copied().with_context(|| format!("line {}: too few columns", i + 2));
            let name = |c: usize| -> anyhow::Result<String> { Ok(cell(c)?.to_owned()) };
            let same = match cell(cd)? {
                "Yes" | "yes" | "1" | "same" => true,
                "No" | "no" | "0" | "different" => false,
                other => anyhow::bail!("line {}: decision {other:?} is neither Yes nor No", i + 2),
            };
            let document = cdoc.map(name).transpose()?.filter(|d| !d.is_empty());
            Ok(Pair { a: name(cx)?, b: name(cy)?, same, document })
        })
        .collect()
}

/// Scores every pair; a pair whose image shows no face scores -1 (a failure to enrol counts
/// against the system, not out of the figures).
fn evaluate(
    pairs_csv: &Path,
    images: &Path,
    documents: bool,
    target_fmr: f64,
    scores_csv: Option<&Path>,
    sweep: &Sweep,
    config: &Config,
) -> anyhow::Result<(EvalOut, Vec<f32>, Vec<f32>)> {
    let pairs = read_pairs(pairs_csv)?;
    let mut names: Vec<&str> = pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
    names.sort_unstable();
    names.dedup();
    let mut analyzer = analyzer(config)?;
    if let Some(on) = sweep.mirror_average {
        analyzer.embedder = analyzer.embedder.with_mirror_average(on);
    }
    let mrz_reader = if documents { Some(crate::cli::mrz::reader(config)?) } else { None };
    let today = crate::cli::mrz::reference_date(None)?;
    let is_document = |name: &str| documents && pairs.iter().any(|p| p.a == name);
    let readings: Vec<(&str, FaceReading, Option<PortraitQuality>, Option<std::time::Duration>)> = names
        .par_iter()
        .map(|name| {
            let direct = images.join(name);
            let path = if direct.is_file() { direct } else { images.join(name.rsplit('/').next().unwrap_or(name)) };
            let frame = load_frame(&path, config)?;
            Ok(match &mrz_reader {
                Some(reader) if is_document(name) => {
                    let (reading, quality) = document_portrait(&frame, reader, today, &analyzer, &config.portrait)?;
                    // The gate's own cost: the portrait measured once more, timed alone.
                    let took = reading.largest.map(|face| {
                        let start = std::time::Instant::now();
                        std::hint::black_box(vision::face::measure_portrait(&frame, &face));
                        start.elapsed()
                    });
                    (*name, reading, quality, took)
                }
                _ => (*name, analyzer.read(&frame)?, None, None),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let by_name: std::collections::HashMap<&str, &FaceReading> = readings.iter().map(|(n, r, ..)| (*n, r)).collect();
    let qualities: std::collections::HashMap<&str, PortraitQuality> =
        readings.iter().filter_map(|(n, _, q, _)| q.map(|q| (*n, q))).collect();
    let reading = |name: &str| by_name.get(name).copied();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    let mut pairs_without_face = 0;
    let mut scores_out = String::from("file_x,file_y,decision,score,eye_distance_px,sharpness,detector_score\n");
    for p in &pairs {
        let score = match (
            reading(&p.a).and_then(|r| r.embedding.as_ref()),
            reading(&p.b).and_then(|r| r.embedding.as_ref()),
        ) {
            (Some(a), Some(b)) => a.cosine(b)?,
            _ => {
                pairs_without_face += 1;
                -1.0
            }
        };
        let measured = qualities
            .get(p.a.as_str())
            .map(|q| format!("{},{},{}", q.eye_distance_px, q.sharpness, q.detector_score))
            .unwrap_or_else(|| ",,".into());
        scores_out.push_str(&format!("{},{},{},{score},{measured}\n", p.a, p.b, if p.same { "Yes" } else { "No" }));
        if p.same { genuine.push(score) } else { impostor.push(score) }
    }
    if let Some(path) = scores_csv {
        std::fs::write(path, scores_out).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let threshold = config.face_match.threshold;
    let (fmr, fnmr) = metrics::rates_at(&genuine, &impostor, threshold);
    let correct =
        genuine.iter().filter(|&&s| s >= threshold).count() + impostor.iter().filter(|&&s| s < threshold).count();
    let eer = metrics::eer(&genuine, &impostor);
    let at_1e_3 = metrics::fnmr_at_fmr(&genuine, &impostor, 1e-3);
    let at_target = metrics::fnmr_at_fmr(&genuine, &impostor, target_fmr);
    let false_matches = impostor.iter().filter(|&&s| s >= threshold).count();
    let false_non_matches = genuine.iter().filter(|&&s| s < threshold).count();
    let timings: Vec<f64> = readings.iter().filter_map(|r| r.3).map(|d| d.as_secs_f64() * 1e3).collect();
    let portrait_gate = if sweep.gate || sweep.sessions {
        let embedding = |name: &str| reading(name).and_then(|r| r.embedding.as_ref());
        sweep
            .settings()
            .map(|s| portrait_figures(&pairs, &embedding, &qualities, &s, sweep.sessions, threshold))
            .collect()
    } else {
        Vec::new()
    };
    let out = EvalOut {
        portrait_gate,
        measure_ms_mean: (!timings.is_empty()).then(|| round4(timings.iter().sum::<f64>() / timings.len() as f64)),
        pairs: pairs.len(),
        genuine: genuine.len(),
        impostor: impostor.len(),
        images: readings.len(),
        images_without_face: readings.iter().filter(|(_, r, ..)| r.embedding.is_none()).count(),
        model: analyzer.embedder.model_name().to_owned(),
        mirror_average: analyzer.embedder.mirror_average(),
        auc: metrics::roc_auc(&genuine, &impostor).map(round4),
        eer: eer.map(|(r, _)| round4(r)),
        eer_threshold: eer.map(|(_, t)| t),
        fnmr_at_fmr_1e_2: metrics::fnmr_at_fmr(&genuine, &impostor, 1e-2).map(|(r, _)| round4(r)),
        fnmr_at_fmr_1e_3: at_1e_3.map(|(r, _)| round4(r)),
        threshold_at_fmr_1e_3: at_1e_3.map(|(_, t)| t),
        target_fmr,
        threshold_at_target_fmr: at_target.map(|(_, t)| t),
        fnmr_at_target_fmr: at_target.map(|(r, _)| round4(r)),
        threshold,
        false_matches,
        false_non_matches,
        fmr_at_threshold: round4(fmr),
        fmr_at_threshold_ci95: wilson95(false_matches, impostor.len()),
        fnmr_at_threshold: round4(fnmr),
        fnmr_at_threshold_ci95: wilson95(false_non_matches, genuine.len()),
        accuracy_at_threshold: round4(correct as f64 / pairs.len().max(1) as f64),
        pairs_without_face,
    };
    Ok((out, genuine, impostor))
}

/// The portrait settings `face eval` sweeps (each list holds the configured value unless given).
struct Sweep {
    gate: bool,
    sessions: bool,
    min_eye_distance_px: Vec<f32>,
    min_sharpness: Vec<f32>,
    portrait_frames: Vec<usize>,
    portrait_max_frames: Vec<usize>,
    /// Empty: fuse every collected portrait.
    fused: Vec<usize>,
    /// The embedder's mirror averaging, where not the manifest's.
    mirror_average: Option<bool>,
}

fn or_configured<T>(values: Vec<T>, configured: T) -> Vec<T> {
    if values.is_empty() { vec![configured] } else { values }
}

/// One combination of a [`Sweep`].
#[derive(Debug, Clone, Copy)]
struct Setting {
    gate: PortraitGate,
    portrait_frames: usize,
    portrait_max_frames: usize,
    fused: usize,
}

impl Sweep {
    fn settings(&self) -> impl Iterator<Item = Setting> + '_ {
        self.min_eye_distance_px.iter().flat_map(move |&eye| {
            self.min_sharpness.iter().flat_map(move |&sharp| {
                self.portrait_frames.iter().flat_map(move |&k| {
                    self.portrait_max_frames.iter().filter(move |&&max| max >= k).flat_map(move |&max| {
                        let fused = if self.fused.is_empty() { vec![k] } else { self.fused.clone() };
                        fused.into_iter().filter(move |&f| f <= k).map(move |fused| Setting {
                            gate: PortraitGate { min_eye_distance_px: eye, min_sharpness: sharp },
                            portrait_frames: k,
                            portrait_max_frames: max,
                            fused,
                        })
                    })
                })
            })
        })
    }
}

/// FNMR and FMR at the threshold over a set of scores, with their Wilson intervals.
#[derive(Debug, Serialize)]
struct Rates {
    genuine: usize,
    impostor: usize,
    false_non_matches: usize,
    false_matches: usize,
    fnmr: f64,
    fnmr_ci95: [f64; 2],
    fmr: f64,
    fmr_ci95: [f64; 2],
}

impl Rates {
    fn of(genuine: &[f32], impostor: &[f32], threshold: f32) -> Rates {
        let fnm = genuine.iter().filter(|&&s| s < threshold).count();
        let fm = impostor.iter().filter(|&&s| s >= threshold).count();
        Rates {
            genuine: genuine.len(),
            impostor: impostor.len(),
            false_non_matches: fnm,
            false_matches: fm,
            fnmr: round4(fnm as f64 / genuine.len().max(1) as f64),
            fnmr_ci95: wilson95(fnm, genuine.len()),
            fmr: round4(fm as f64 / impostor.len().max(1) as f64),
            fmr_ci95: wilson95(fm, impostor.len()),
        }
    }
}

/// The figures at one portrait setting.
#[derive(Debug, Serialize)]
struct GateOut {
    min_eye_distance_px: f32,
    min_sharpness: f32,
    portrait_frames: usize,
    portrait_max_frames: usize,
    fused: usize,
    /// Document images whose portrait was found.
    portraits: usize,
    /// Of those, below the bars: too small, blurred.
    too_small: usize,
    blurry: usize,
    turned_away_share: f64,
    /// Pairs whose document portrait meets the bars (one frame, no fusion).
    frames_passed: Rates,
    /// Pairs of the portraits turned away (what the gate keeps out of the match).
    frames_turned_away: Rates,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessions: Option<SessionsOut>,
}

/// Per-document figures through the session's portrait rules.
#[derive(Debug, Serialize)]
struct SessionsOut {
    /// Documents (values of the `document` column).
    documents: usize,
    /// Documents none of whose frames showed a portrait.
    without_portrait: usize,
    /// Documents matched with portraits below the bars (the bound reached first): decided by a
    /// reviewer, not automatically.
    below_bars: usize,
    /// Frames each document took until its portraits were ready (mean; all of them when the
    /// bound was never reached).
    frames_taken_mean: f64,
    /// Pairs of documents matched with portraits meeting the bars: decided automatically.
    meeting_bars: Rates,
    /// Pairs of documents matched below the bars (these go to review).
    below_bars_pairs: Rates,
    /// Genuine pairs not accepted automatically (a false non-match, sent to review below the
    /// bars, or no portrait at all), over every genuine document pair.
    genuine_not_accepted: usize,
    genuine_pairs: usize,
    not_accepted_share: f64,
    not_accepted_ci95: [f64; 2],
    /// The false matches decided automatically, as (the document's first frame, the other
    /// image): which people they are is the question to ask of them.
    false_match_pairs: Vec<(String, String)>,
}

/// The gate's and the sessions' figures at `setting`. `pairs` with a `document` column are
/// grouped by it for the sessions.
fn portrait_figures<'a>(
    pairs: &'a [Pair],
    embedding: &dyn Fn(&str) -> Option<&'a Embedding>,
    qualities: &std::collections::HashMap<&str, PortraitQuality>,
    setting: &Setting,
    sessions: bool,
    threshold: f32,
) -> GateOut {
    let issue = |name: &str| qualities.get(name).map(|q| q.issue(&setting.gate));
    let (mut too_small, mut blurry) = (0, 0);
    for q in qualities.values() {
        match q.issue(&setting.gate) {
            Some(PortraitIssue::TooSmall) => too_small += 1,
            Some(_) => blurry += 1,
            None => {}
        }
    }
    let score = |a: Option<&Embedding>, b: &str| match (a, embedding(b)) {
        (Some(a), Some(b)) => a.cosine(b).unwrap_or(-1.0),
        _ => -1.0,
    };
    let (mut passed, mut away) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for p in pairs {
        let into = match issue(&p.a) {
            Some(None) => &mut passed,
            Some(Some(_)) => &mut away,
            None => continue,
        };
        let s = score(embedding(&p.a), &p.b);
        if p.same { into.0.push(s) } else { into.1.push(s) }
    }
    let sessions = sessions.then(|| session_figures(pairs, embedding, qualities, setting, threshold));
    GateOut {
        min_eye_distance_px: setting.gate.min_eye_distance_px,
        min_sharpness: setting.gate.min_sharpness,
        portrait_frames: setting.portrait_frames,
        portrait_max_frames: setting.portrait_max_frames,
        fused: setting.fused,
        portraits: qualities.len(),
        too_small,
        blurry,
        turned_away_share: round4((too_small + blurry) as f64 / qualities.len().max(1) as f64),
        frames_passed: Rates::of(&passed.0, &passed.1, threshold),
        frames_turned_away: Rates::of(&away.0, &away.1, threshold),
        sessions,
    }
}

fn session_figures<'a>(
    pairs: &'a [Pair],
    embedding: &dyn Fn(&str) -> Option<&'a Embedding>,
    qualities: &std::collections::HashMap<&str, PortraitQuality>,
    setting: &Setting,
    threshold: f32,
) -> SessionsOut {
    use std::collections::{BTreeMap, BTreeSet};
    let mut frames: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut others: BTreeSet<(&str, &str, bool)> = BTreeSet::new();
    for p in pairs {
        if let Some(d) = &p.document {
            frames.entry(d).or_default().insert(&p.a);
            others.insert((d, &p.b, p.same));
        }
    }
    // Each document's portrait as the session would choose it: frames in file order through
    // the session's own rules, stopping when they are ready.
    let mut chosen: BTreeMap<&str, Option<(Embedding, bool)>> = BTreeMap::new();
    let mut taken = 0usize;
    for (document, names) in &frames {
        let mut set = PortraitSet::keeping(setting.portrait_max_frames);
        let mut used = 0;
        for (i, name) in names.iter().enumerate() {
            used = i + 1;
            if let (Some(e), Some(q)) = (embedding(name), qualities.get(name)) {
                set.add(FrameId(i as u64), e.clone(), *q, &setting.gate);
            }
            if set.is_ready(setting.portrait_frames, setting.portrait_max_frames) {
                break;
            }
        }
        taken += used;
        let choice = set.choose(setting.fused).ok().flatten().map(|c| (c.embedding, c.below_bars));
        chosen.insert(document, choice);
    }
    let (mut meeting, mut below) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    let (mut genuine_pairs, mut not_accepted) = (0, 0);
    let mut false_match_pairs = Vec::new();
    for (document, other, same) in &others {
        let choice = chosen.get(document).and_then(|c| c.as_ref());
        let s = match (choice, embedding(other)) {
            (Some((e, _)), Some(b)) => e.cosine(b).unwrap_or(-1.0),
            _ => -1.0,
        };
        let is_below = choice.is_some_and(|c| c.1);
        if *same {
            genuine_pairs += 1;
            if choice.is_none() || is_below || s < threshold {
                not_accepted += 1;
            }
        }
        if choice.is_some() && !is_below && !*same && s >= threshold {
            let first = frames.get(document).and_then(|f| f.first()).copied().unwrap_or_default();
            false_match_pairs.push((first.to_owned(), (*other).to_owned()));
        }
        let into = if is_below { &mut below } else { &mut meeting };
        if choice.is_some() {
            if *same { into.0.push(s) } else { into.1.push(s) }
        }
    }
    SessionsOut {
        documents: frames.len(),
        without_portrait: chosen.values().filter(|c| c.is_none()).count(),
        below_bars: chosen.values().filter(|c| c.as_ref().is_some_and(|c| c.1)).count(),
        frames_taken_mean: round4(taken as f64 / frames.len().max(1) as f64),
        meeting_bars: Rates::of(&meeting.0, &meeting.1, threshold),
        below_bars_pairs: Rates::of(&below.0, &below.1, threshold),
        genuine_not_accepted: not_accepted,
        genuine_pairs,
        not_accepted_share: round4(not_accepted as f64 / genuine_pairs.max(1) as f64),
        not_accepted_ci95: wilson95(not_accepted, genuine_pairs),
        false_match_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(k: usize, n: usize, expect: [f64; 2]) {
        let got = wilson95(k, n);
        assert!(
            (got[0] - expect[0]).abs() < 2e-4 && (got[1] - expect[1]).abs() < 2e-4,
            "{k}/{n}: {got:?} != {expect:?}"
        );
    }

    #[test]
    fn documents_go_through_the_sessions_portrait_rules() {
        let at = |deg: f32| {
            let r = deg.to_radians();
            Embedding::new("m", vec![r.cos(), r.sin()]).expect("a unit vector")
        };
        // Document A: one blurred portrait, then sharp ones; document B: only blurred ones.
        // (name, angle, sharpness); `h` is the holder's photo, `x` a stranger's.
        let frames = [
            ("a1", 60.0, 0.5),
            ("a2", 10.0, 2.0),
            ("a3", -10.0, 2.0),
            ("a4", 40.0, 2.0),
            ("b1", 0.0, 0.5),
            ("b2", 50.0, 0.4),
        ];
        let mut embeddings: std::collections::HashMap<&str, Embedding> =
            frames.iter().map(|&(n, deg, _)| (n, at(deg))).collect();
        embeddings.insert("h", at(0.0));
        embeddings.insert("x", at(90.0));
        // A lookalike of A's holder, 5 degrees away, compared with A's frames only.
        embeddings.insert("y", at(5.0));
        let qualities = frames
            .iter()
            .map(|&(n, _, sharpness)| (n, PortraitQuality { eye_distance_px: 40.0, sharpness, detector_score: 0.9 }))
            .collect();
        let pair = |a: &str, b: &str, same: bool| Pair {
            a: a.into(),
            b: b.into(),
            same,
            document: Some(a[..1].to_uppercase()),
        };
        let mut pairs: Vec<Pair> =
            frames.iter().flat_map(|&(n, ..)| [pair(n, "h", true), pair(n, "x", false)]).collect();
        pairs.extend(frames.iter().filter(|f| f.0.starts_with('a')).map(|&(n, ..)| pair(n, "y", false)));
        let setting = Setting {
            gate: PortraitGate { min_eye_distance_px: 20.0, min_sharpness: 1.0 },
            portrait_frames: 2,
            portrait_max_frames: 3,
            fused: 2,
        };
        let embedding = |name: &str| embeddings.get(name);
        let out = portrait_figures(&pairs, &embedding, &qualities, &setting, true, 0.9);
        assert_eq!((out.portraits, out.too_small, out.blurry, out.turned_away_share), (6, 0, 3, 0.5));
        // Per frame, over the bars: a2, a3 (cos 10 degrees) match, a4 (40 degrees) does not; the
        // lookalike matches a2 and a3 (5 and 15 degrees), not a4 (35).
        let f = &out.frames_passed;
        assert_eq!((f.genuine, f.false_non_matches, f.impostor, f.false_matches), (3, 1, 6, 2));
        let s = out.sessions.expect("asked for");
        // A is ready at a3 (a2 and a3 fused: 0 degrees); B runs out of frames short of the bound
        // and is matched below the bars (b1 and b2 fused: 25 degrees, over 0.9, yet not trusted).
        assert_eq!((s.documents, s.without_portrait, s.below_bars, s.frames_taken_mean), (2, 0, 1, 2.5));
        let (m, b) = (&s.meeting_bars, &s.below_bars_pairs);
        assert_eq!((m.genuine, m.false_non_matches, m.impostor, m.false_matches), (1, 0, 2, 1));
        assert_eq!(s.false_match_pairs, vec![("a1".to_owned(), "y".to_owned())]);
        assert_eq!((b.genuine, b.false_non_matches, b.impostor), (1, 0, 1));
        assert_eq!((s.genuine_not_accepted, s.genuine_pairs), (1, 2));
    }

    #[test]
    fn wilson_intervals() {
        // Reference values from the closed form (z = 1.96).
        check(0, 1000, [0.0, 0.0038]);
        check(5, 100, [0.0215, 0.1118]);
        check(50, 100, [0.4038, 0.5962]);
        check(100, 100, [0.963, 1.0]);
        check(0, 0, [0.0, 1.0]);
    }
}
