//! What the MRZ examples share: the reader as the service builds it by default.

use std::path::Path;
use std::sync::Arc;

use vision::mrz::{CellNet, MrzReader, MrzReaderConfig};
use vision::onnx::{OnnxRuntime, OnnxThreads};

/// The reader with the service's default settings; with `network`, the manifest's
/// `mrz_recogniser` from `.cache/models`, run by `.cache/onnxruntime` on one thread
/// (`scripts/setup.sh` puts both there).
pub fn reader(network: bool) -> Result<MrzReader, Box<dyn std::error::Error>> {
    let font = std::fs::read("/usr/share/fonts/opentype/ocr-b/OCRB.otf")?;
    let config = MrzReaderConfig { top_k: 5, min_pitch_px: 5.0, min_sharpness: 0.12, max_saturated: 0.2 };
    let reader = MrzReader::new(&font, config)?;
    if !network {
        return Ok(reader);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let runtime = OnnxRuntime::load(&root.join(".cache/onnxruntime/libonnxruntime.so"), OnnxThreads { intra_op: 1 })?;
    let manifest = verifier_models::Manifest::embedded();
    let spec = manifest.role("mrz_recogniser").ok_or("the manifest names no mrz_recogniser")?;
    let bytes = std::fs::read(root.join(".cache/models").join(&spec.file))?;
    Ok(reader.with_net(CellNet::new(Arc::new(runtime.session(spec, &bytes)?))))
}
