//! What the head-pose examples share: YuNet with the service's detector settings and the face
//! mesh, their models from `.cache/models`, run by `.cache/onnxruntime` on one thread
//! (`scripts/setup.sh` puts both there).

use std::path::Path;
use std::sync::Arc;

use vision::face::{DetectorConfig, FaceDetector, FaceMesh, MeshConfig};
use vision::onnx::{OnnxRuntime, OnnxThreads};

/// The detector and the face mesh, as the service configures them.
pub fn models() -> Result<(FaceDetector, FaceMesh), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let runtime = OnnxRuntime::load(&root.join(".cache/onnxruntime/libonnxruntime.so"), OnnxThreads { intra_op: 1 })?;
    let manifest = verifier_models::Manifest::embedded();
    let load = |role: &str| -> Result<_, Box<dyn std::error::Error>> {
        let spec = manifest.role(role).ok_or("role missing from the manifest")?;
        let bytes = std::fs::read(root.join(".cache/models").join(&spec.file))?;
        Ok((Arc::new(runtime.session(spec, &bytes)?), spec.clone()))
    };
    // The service's detector settings (config/default.toml).
    let detector_config = DetectorConfig { max_input_side: 640, score_threshold: 0.7, nms_iou: 0.3, max_faces: 16 };
    let detector = FaceDetector::new(load("face_detector")?.0, detector_config);
    let (mesh_model, mesh_spec) = load("face_mesh")?;
    let mesh = FaceMesh::from_spec(mesh_model, &mesh_spec, MeshConfig { min_presence: 0.5 })?;
    Ok((detector, mesh))
}
