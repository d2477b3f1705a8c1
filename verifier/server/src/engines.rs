//! Loading the models the service runs: the ONNX Runtime library, then each model's file from
//! the cache, hash- and signature-checked against the manifest.
//!
//! Owns the file reads for models (the `vision` crate takes bytes). What runs the models is
//! `vision`'s business.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use verifier_models::{Manifest, ModelSpec};
use vision::face::FaceDetector;
use vision::model::ModelError;
use vision::onnx::{OnnxModel, OnnxRuntime};

use crate::config::Config;

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
    /// Face detection.
    pub detector: FaceDetector,
    /// What was loaded, in load order.
    pub loaded: Vec<LoadedModel>,
}

/// Loads the ONNX Runtime library named by the configuration.
pub fn runtime(config: &Config) -> anyhow::Result<OnnxRuntime> {
    Ok(OnnxRuntime::load(
        &config.onnx.library,
        config.onnx.threads,
    )?)
}

/// Reads one model file from the cache and creates its session.
pub fn load_model(
    runtime: &OnnxRuntime,
    cache_dir: &Path,
    spec: &ModelSpec,
) -> Result<OnnxModel, anyhow::Error> {
    let path = cache_dir.join(&spec.file);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "model {} is not in the cache ({}); run `verifier models fetch`",
            spec.name,
            path.display()
        )
    })?;
    runtime
        .session(spec, &bytes)
        .map_err(|e: ModelError| anyhow::anyhow!(e))
}

/// Loads every model the service needs.
pub fn load(config: &Config, manifest: &Manifest) -> anyhow::Result<Engines> {
    let runtime = runtime(config)?;
    let spec = manifest
        .role("face_detector")
        .context("the model manifest assigns no model to the face_detector role")?;
    let detector_model = load_model(&runtime, &config.models.cache_dir, spec)?;
    let loaded = vec![LoadedModel {
        name: spec.name.clone(),
        file: spec.file.clone(),
        sha256: spec.sha256.clone(),
    }];
    Ok(Engines {
        detector: FaceDetector::new(Arc::new(detector_model), config.detector),
        loaded,
    })
}
