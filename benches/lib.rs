//! Shared set-up for the benchmarks: the workspace's provisioned models and fixed inputs.
//!
//! Benchmarks run on the models `scripts/setup.sh` provisions; without them they print why
//! and measure nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vision::model::Model;
use vision::onnx::{OnnxRuntime, OnnxThreads};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The ONNX Runtime with one intra-op thread (the figure the targets are stated for), or why not.
pub fn runtime() -> Result<OnnxRuntime, String> {
    let lib = workspace().join(".cache/onnxruntime/libonnxruntime.so");
    OnnxRuntime::load(&lib, OnnxThreads { intra_op: 1 }).map_err(|e| e.to_string())
}

/// The model playing `role` in the embedded manifest, loaded from the cache.
pub fn model(runtime: &OnnxRuntime, role: &str) -> Result<Arc<dyn Model>, String> {
    let manifest = verifier_models::Manifest::embedded();
    let spec = manifest.role(role).ok_or(format!("no model for role {role}"))?;
    let bytes = std::fs::read(workspace().join(".cache/models").join(&spec.file))
        .map_err(|e| format!("{}: {e} (run scripts/setup.sh)", spec.file))?;
    Ok(Arc::new(runtime.session(spec, &bytes).map_err(|e| e.to_string())?))
}
