//! `verifier face ...`: face detection on image files.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use verifier_models::Manifest;
use vision::face::{DetectedFace, FaceDetector};

use crate::config::Config;
use crate::engines;

/// Face subcommands.
#[derive(Debug, Subcommand)]
pub enum FaceCommand {
    /// Detect faces: prints {"faces":[{"box":[x,y,w,h],"score":s,"landmarks":[[x,y],...5]}]}.
    Detect {
        /// The image file (JPEG, PNG, WebP or BMP).
        image: PathBuf,
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

#[derive(Debug, Serialize)]
struct DetectOut {
    faces: Vec<FaceOut>,
}

fn round(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

impl From<&DetectedFace> for FaceOut {
    fn from(f: &DetectedFace) -> Self {
        let b = f.bbox;
        FaceOut {
            bbox: [round(b.x), round(b.y), round(b.width), round(b.height)],
            score: (f.score * 1000.0).round() / 1000.0,
            landmarks: f.landmarks.map(|[x, y]| [round(x), round(y)]),
        }
    }
}

/// Runs a face subcommand.
pub fn run(command: FaceCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        FaceCommand::Detect { image } => {
            let bytes = std::fs::read(&image)
                .with_context(|| format!("cannot read {}", image.display()))?;
            let frame = vision::frame::decode(&bytes, &config.images)
                .with_context(|| format!("{}", image.display()))?;
            let manifest = Manifest::embedded();
            let spec = manifest
                .role("face_detector")
                .context("the manifest names no face_detector")?;
            let runtime = engines::runtime(config)?;
            let model = engines::load_model(&runtime, &config.models.cache_dir, spec)?;
            let detector = FaceDetector::new(std::sync::Arc::new(model), config.detector);
            let faces = detector.detect(&frame)?;
            crate::cli::print_json(&DetectOut {
                faces: faces.iter().map(FaceOut::from).collect(),
            })
        }
    }
}
