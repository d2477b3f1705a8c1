//! Loading the models the service runs: the ONNX Runtime library, then each model's file from
//! the cache, hash- and signature-checked against the manifest.
//!
//! Owns the file reads for models (the `vision` crate takes bytes). What runs the models is
//! `vision`'s business.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use verifier_models::{Manifest, ModelSpec};
use vision::face::{FaceAnalyzer, FaceDetector, FaceEmbedder, FaceMesh};
use vision::liveness::{AntiSpoof, AntiSpoofModel};
use vision::model::ModelError;
use vision::mrz::{CellNet, LineNet, MrzReader};
use vision::onnx::{OnnxModel, OnnxRuntime};

use crate::config::{Config, MrzRecogniser};

/// A model file the process loaded, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedModel {
    /// Manifest name.
    pub name: String,
    /// File name.
    pub file: String,
    /// Its SHA-256, as checked at load.
    pub sha256: String,
}

/// The models ready to run.
#[derive(Debug)]
pub struct Engines {
    /// Face detection and embedding.
    pub faces: FaceAnalyzer,
    /// The face mesh (head pose for the live challenge).
    pub mesh: FaceMesh,
    /// The MRZ reader.
    pub mrz: MrzReader,
    /// The passive presentation-attack models (SilentFace's MiniFASNets).
    pub antispoof: AntiSpoof,
    /// What was loaded, in load order.
    pub loaded: Vec<LoadedModel>,
}

/// Loads the ONNX Runtime library named by the configuration.
pub fn runtime(config: &Config) -> anyhow::Result<OnnxRuntime> {
    Ok(OnnxRuntime::load(&config.onnx.library, config.onnx.threads)?)
}

/// Reads one model file from the cache and creates its session.
pub fn load_model(runtime: &OnnxRuntime, cache_dir: &Path, spec: &ModelSpec) -> Result<OnnxModel, anyhow::Error> {
    let path = cache_dir.join(&spec.file);
    let bytes = std::fs::read(&path).with_context(|| {
        format!("model {} is not in the cache ({}); run `verifier models fetch`", spec.name, path.display())
    })?;
    runtime.session(spec, &bytes).map_err(|e: ModelError| anyhow::anyhow!(e))
}

/// The manifest's model for `role`, or an error naming the role.
fn role<'m>(manifest: &'m Manifest, role: &str) -> anyhow::Result<&'m ModelSpec> {
    manifest.role(role).with_context(|| format!("the model manifest assigns no model to the {role} role"))
}

/// Loads the face detector the manifest's `face_detector` role names.
pub fn face_detector(runtime: &OnnxRuntime, config: &Config, manifest: &Manifest) -> anyhow::Result<FaceDetector> {
    let spec = role(manifest, "face_detector")?;
    Ok(FaceDetector::new(Arc::new(load_model(runtime, &config.models.cache_dir, spec)?), config.detector))
}

/// Loads the face detector and embedder.
pub fn face_analyzer(
    runtime: &OnnxRuntime,
    config: &Config,
    manifest: &Manifest,
) -> anyhow::Result<(FaceAnalyzer, Vec<LoadedModel>)> {
    let detector_spec = role(manifest, "face_detector")?;
    let embedder_spec = role(manifest, &config.face_match.embedder_role)?;
    let detector = face_detector(runtime, config, manifest)?;
    let embedder_model = Arc::new(load_model(runtime, &config.models.cache_dir, embedder_spec)?);
    let embedder = FaceEmbedder::from_spec(embedder_model, embedder_spec)?;
    let loaded = [detector_spec, embedder_spec]
        .iter()
        .map(|s| LoadedModel { name: s.name.clone(), file: s.file.clone(), sha256: s.sha256.clone() })
        .collect();
    Ok((FaceAnalyzer { detector, embedder }, loaded))
}

/// Loads the face-mesh model the manifest's `face_mesh` role names.
pub fn face_mesh(
    runtime: &OnnxRuntime,
    config: &Config,
    manifest: &Manifest,
) -> anyhow::Result<(FaceMesh, LoadedModel)> {
    let spec = role(manifest, "face_mesh")?;
    let model = Arc::new(load_model(runtime, &config.models.cache_dir, spec)?);
    let mesh = FaceMesh::from_spec(model, spec, config.face_mesh)?;
    Ok((mesh, LoadedModel { name: spec.name.clone(), file: spec.file.clone(), sha256: spec.sha256.clone() }))
}

/// The manifest roles of the passive presentation-attack models, fused in this order.
pub const ANTISPOOF_ROLES: [&str; 2] = ["antispoof_a", "antispoof_b"];

/// Loads the presentation-attack models the manifest's `antispoof_a` and `antispoof_b` roles
/// name.
pub fn antispoof(
    runtime: &OnnxRuntime,
    config: &Config,
    manifest: &Manifest,
) -> anyhow::Result<(AntiSpoof, Vec<LoadedModel>)> {
    let mut models = Vec::new();
    let mut loaded = Vec::new();
    for name in ANTISPOOF_ROLES {
        let spec = role(manifest, name)?;
        let model = Arc::new(load_model(runtime, &config.models.cache_dir, spec)?);
        models.push(AntiSpoofModel::from_spec(model, spec)?);
        loaded.push(LoadedModel { name: spec.name.clone(), file: spec.file.clone(), sha256: spec.sha256.clone() });
    }
    let ensemble = AntiSpoof::new(models).context("no presentation-attack model")?;
    Ok((ensemble, loaded))
}

/// The MRZ reader: OCR-B templates from the configured font and, unless the configuration asks
/// for templates alone, the network the manifest's `mrz_recogniser` role names, and the
/// `mrz_line_recogniser` line model when it asks for `ppocr` or `fused`. Also says which models
/// it loaded.
pub fn mrz_reader(
    runtime: Option<&OnnxRuntime>,
    config: &Config,
    manifest: &Manifest,
) -> anyhow::Result<(MrzReader, Vec<LoadedModel>)> {
    let font = &config.mrz.font;
    let bytes = std::fs::read(font)
        .with_context(|| format!("cannot read the OCR-B font {} (install fonts-ocr-b)", font.display()))?;
    let reader = MrzReader::new(&bytes, config.mrz.reader)?;
    if config.mrz.recogniser == MrzRecogniser::Templates {
        return Ok((reader, Vec::new()));
    }
    let loaded;
    let runtime = match runtime {
        Some(r) => r,
        None => {
            loaded = self::runtime(config)?;
            &loaded
        }
    };
    let load = |role_name: &str| -> anyhow::Result<(Arc<dyn vision::model::Model>, LoadedModel)> {
        let spec = role(manifest, role_name)?;
        let model = load_model(runtime, &config.models.cache_dir, spec)?;
        let record = LoadedModel { name: spec.name.clone(), file: spec.file.clone(), sha256: spec.sha256.clone() };
        Ok((Arc::new(model), record))
    };
    let mut reader = reader;
    let mut records = Vec::new();
    if config.mrz.recogniser != MrzRecogniser::Ppocr {
        let (model, record) = load("mrz_recogniser")?;
        reader = reader.with_net(CellNet::new(model));
        records.push(record);
    }
    if matches!(config.mrz.recogniser, MrzRecogniser::Ppocr | MrzRecogniser::Fused) {
        let (model, record) = load("mrz_line_recogniser")?;
        reader = reader.with_line_net(LineNet::new(model)?);
        records.push(record);
    }
    Ok((reader, records))
}

/// Loads every model the service needs.
pub fn load(config: &Config, manifest: &Manifest) -> anyhow::Result<Engines> {
    let runtime = runtime(config)?;
    let (faces, mut loaded) = face_analyzer(&runtime, config, manifest)?;
    let (mesh, record) = face_mesh(&runtime, config, manifest)?;
    loaded.push(record);
    let (mrz, records) = mrz_reader(Some(&runtime), config, manifest)?;
    loaded.extend(records);
    let (antispoof, records) = antispoof(&runtime, config, manifest)?;
    loaded.extend(records);
    Ok(Engines { faces, mesh, mrz, antispoof, loaded })
}

/// One model's warm-up: a tiny input through the stage that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmUp {
    /// The stage (`face_detector`, `face_embedding`).
    pub role: &'static str,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// Runs each model a request will need on a tiny input, as readiness checks: a model that
/// loaded but cannot run (a broken runtime, a wrong input shape) fails here, not on a
/// recipient's first frame. CPU work: call it on the rayon pool.
pub fn warm_up(engines: &Engines) -> Vec<WarmUp> {
    use vision::face::{DetectedFace, FaceBox};
    use vision::frame::Frame;

    let blank = Frame::from_rgb(image::RgbImage::from_pixel(96, 96, image::Rgb([128, 128, 128])));
    let detector = engines.faces.detector.detect(&blank).err().map(|e| e.to_string());
    let face = DetectedFace {
        bbox: FaceBox { x: 24.0, y: 24.0, width: 48.0, height: 48.0 },
        score: 1.0,
        landmarks: [[36.0, 44.0], [60.0, 44.0], [48.0, 56.0], [38.0, 66.0], [58.0, 66.0]],
    };
    let embedder = match engines.faces.embedder.align(&blank, &face) {
        Some(crop) => match engines.faces.embedder.embed(std::slice::from_ref(&crop)) {
            Ok(e) if e.len() == 1 => None,
            Ok(e) => Some(format!("{} embeddings for one face", e.len())),
            Err(e) => Some(e.to_string()),
        },
        None => Some("the warm-up face could not be aligned".into()),
    };
    let mesh = engines.mesh.landmarks(&blank, &face).err().map(|e| e.to_string());
    let antispoof = match engines.antispoof.score(&blank, &face.bbox) {
        Ok(Some(s)) if (0.0..=1.0).contains(&s.real) => None,
        Ok(Some(s)) => Some(format!("a real probability of {} is outside 0..=1", s.real)),
        Ok(None) => Some("the warm-up face gave no crop".into()),
        Err(e) => Some(e.to_string()),
    };
    vec![
        WarmUp { role: "face_detector", error: detector },
        WarmUp { role: "face_embedding", error: embedder },
        WarmUp { role: "face_mesh", error: mesh },
        WarmUp { role: "antispoof", error: antispoof },
    ]
}
