//! `verifier face ...`: detection, 1:1 matching and the face-verification evaluation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rayon::prelude::*;
use serde::Serialize;
use verifier_models::Manifest;
use vision::face::{DetectedFace, FaceAnalyzer, FaceReading};
use vision::frame::Frame;
use vision::metrics;

use crate::config::Config;
use crate::engines;

/// Face subcommands.
#[derive(Debug, Subcommand)]
pub enum FaceCommand {
    /// Detect faces: prints `{"faces":[{"box":[x,y,w,h],"score":s,"landmarks":[[x,y],...5]}]}`.
    Detect {
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
    },
}

/// The wire form of one detected face.
#[derive(Debug, Serialize)]
struct FaceOut {
    #[serde(rename = "box")]
    bbox: [f32; 4],
    score: f32,
    landmarks: [[f32; 2]; 5],
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

impl From<&DetectedFace> for FaceOut {
    fn from(f: &DetectedFace) -> Self {
        let b = f.bbox;
        FaceOut {
            bbox: [round1(b.x), round1(b.y), round1(b.width), round1(b.height)],
            score: (f.score * 1000.0).round() / 1000.0,
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
    eye_distance_px: f32,
    yaw: f64,
    pitch: f64,
    roll_deg: f32,
    sharpness: f32,
    brightness: f32,
    eye_contrast: f32,
}

#[derive(Debug, Serialize)]
struct EvalOut {
    pairs: usize,
    genuine: usize,
    impostor: usize,
    images: usize,
    images_without_face: usize,
    model: String,
    auc: Option<f64>,
    eer: Option<f64>,
    eer_threshold: Option<f32>,
    #[serde(rename = "fnmr_at_fmr_1e-2")]
    fnmr_at_fmr_1e_2: Option<f64>,
    #[serde(rename = "fnmr_at_fmr_1e-3")]
    fnmr_at_fmr_1e_3: Option<f64>,
    #[serde(rename = "threshold_at_fmr_1e-3")]
    threshold_at_fmr_1e_3: Option<f32>,
    threshold: f32,
    fmr_at_threshold: f64,
    fnmr_at_threshold: f64,
    accuracy_at_threshold: f64,
}

/// Reads and decodes an image file; a missing or corrupt file is an error naming it.
fn load_frame(path: &Path, config: &Config) -> anyhow::Result<Frame> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    vision::frame::decode(&bytes, &config.images).with_context(|| path.display().to_string())
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
        FaceCommand::Eval { pairs, images, plot, document } => {
            let (out, genuine, impostor) = evaluate(&pairs, &images, document, config)?;
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
    let mrz = vision::mrz::read_mrz(frame, reader, today);
    let found = match (mrz.location.as_ref(), vision::face::DocumentLayout::of_read(&mrz)) {
        (Some(location), Some(layout)) => {
            vision::face::find_portrait(frame, location, layout, analyzer, portrait)?.ok()
        }
        _ => None,
    };
    Ok(match found {
        Some(p) => FaceReading { faces: vec![p.face], largest: Some(p.face), embedding: p.embedding },
        None => FaceReading { faces: Vec::new(), largest: None, embedding: None },
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
}

fn read_pairs(path: &Path) -> anyhow::Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().context("the pairs file is empty")?.split(',').map(str::trim).collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).with_context(|| format!("the pairs file has no {name} column"))
    };
    let (cx, cy, cd) = (col("file_x")?, col("file_y")?, col("decision")?);
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
            Ok(Pair { a: name(cx)?, b: name(cy)?, same })
        })
        .collect()
}

/// Scores every pair; a pair whose image shows no face scores -1 (a failure to enrol counts
/// against the system, not out of the figures).
fn evaluate(
    pairs_csv: &Path,
    images: &Path,
    documents: bool,
    config: &Config,
) -> anyhow::Result<(EvalOut, Vec<f32>, Vec<f32>)> {
    let pairs = read_pairs(pairs_csv)?;
    let mut names: Vec<&str> = pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
    names.sort_unstable();
    names.dedup();
    let analyzer = analyzer(config)?;
    let mrz_reader = if documents { Some(crate::cli::mrz::reader(config)?) } else { None };
    let today = crate::cli::mrz::reference_date(None)?;
    let is_document = |name: &str| documents && pairs.iter().any(|p| p.a == name);
    let readings: Vec<(&str, FaceReading)> = names
        .par_iter()
        .map(|name| {
            let direct = images.join(name);
            let path = if direct.is_file() { direct } else { images.join(name.rsplit('/').next().unwrap_or(name)) };
            let frame = load_frame(&path, config)?;
            let reading = match &mrz_reader {
                Some(reader) if is_document(name) => {
                    document_reading(&frame, reader, today, &analyzer, &config.portrait)?
                }
                _ => analyzer.read(&frame)?,
            };
            Ok((*name, reading))
        })
        .collect::<anyhow::Result<_>>()?;
    let reading = |name: &str| readings.iter().find(|(n, _)| *n == name).map(|(_, r)| r);
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for p in &pairs {
        let score = match (
            reading(&p.a).and_then(|r| r.embedding.as_ref()),
            reading(&p.b).and_then(|r| r.embedding.as_ref()),
        ) {
            (Some(a), Some(b)) => a.cosine(b)?,
            _ => -1.0,
        };
        if p.same { genuine.push(score) } else { impostor.push(score) }
    }
    let threshold = config.face_match.threshold;
    let (fmr, fnmr) = metrics::rates_at(&genuine, &impostor, threshold);
    let correct =
        genuine.iter().filter(|&&s| s >= threshold).count() + impostor.iter().filter(|&&s| s < threshold).count();
    let eer = metrics::eer(&genuine, &impostor);
    let at_1e_3 = metrics::fnmr_at_fmr(&genuine, &impostor, 1e-3);
    let out = EvalOut {
        pairs: pairs.len(),
        genuine: genuine.len(),
        impostor: impostor.len(),
        images: readings.len(),
        images_without_face: readings.iter().filter(|(_, r)| r.embedding.is_none()).count(),
        model: analyzer.embedder.model_name().to_owned(),
        auc: metrics::roc_auc(&genuine, &impostor).map(round4),
        eer: eer.map(|(r, _)| round4(r)),
        eer_threshold: eer.map(|(_, t)| t),
        fnmr_at_fmr_1e_2: metrics::fnmr_at_fmr(&genuine, &impostor, 1e-2).map(|(r, _)| round4(r)),
        fnmr_at_fmr_1e_3: at_1e_3.map(|(r, _)| round4(r)),
        threshold_at_fmr_1e_3: at_1e_3.map(|(_, t)| t),
        threshold,
        fmr_at_threshold: round4(fmr),
        fnmr_at_threshold: round4(fnmr),
        accuracy_at_threshold: round4(correct as f64 / pairs.len().max(1) as f64),
    };
    Ok((out, genuine, impostor))
}
