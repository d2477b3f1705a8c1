//! Shared set-up for the benchmarks: the workspace's provisioned models and fixed inputs.
//!
//! Benchmarks run on the models `scripts/setup.sh` provisions; without them they print why
//! and measure nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vision::frame::Frame;
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

/// The first shared photo letterboxed into a 1280x720 frame, as a webcam would deliver it: a
/// person facing the camera, no document in view.
pub fn webcam_frame() -> Result<Frame, String> {
    let photo = workspace().join("../shared/datasets/faces/img1.jpg");
    let image = image::open(&photo).map_err(|e| format!("{}: {e}", photo.display()))?;
    let face = image.resize(1280, 720, image::imageops::FilterType::Triangle).into_rgb8();
    let mut frame = image::RgbImage::from_pixel(1280, 720, image::Rgb([90, 90, 90]));
    image::imageops::overlay(&mut frame, &face, i64::from((1280 - face.width()) / 2), 0);
    Ok(Frame::from_rgb(frame))
}
