//! What the MRZ examples share: the reader as the service builds it (with `set:` overrides), the decode
//! limits and the reference date.

use std::path::Path;
use std::sync::Arc;

use vision::frame::DecodeLimits;
use vision::mrz::{
    CellNet, ConsensusConfig, LineNet, LocateConfig, MrzReader, MrzReaderConfig, RecognitionConfig, SearchConfig,
};
use vision::onnx::{OnnxRuntime, OnnxThreads};

#[path = "../../tests/support/service_defaults.rs"]
mod service_defaults;

/// Decode limits for the examples' images: generated frames and renders, and scans up to about
/// 600 dpi of a passport page.
pub const LIMITS: DecodeLimits = DecodeLimits { max_bytes: 20 << 20, max_pixels: 20_000_000, max_side: 8192 };

/// `datasets-synthetic`'s date as the MRZ parser's, for resolving two-digit years and expiry.
pub fn mrz_date(at: datasets_synthetic::Date) -> Result<mrz::Date, Box<dyn std::error::Error>> {
    Ok(mrz::Date::new(at.year as u16, at.month as u8, at.day as u8).ok_or("bad reference date")?)
}

/// Which recogniser the examples read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recogniser {
    /// The OCR-B templates alone.
    Templates,
    /// The manifest's `mrz_recogniser` cell network (the service's default).
    Network,
    /// The PP-OCRv6 line recogniser (`ppocr-v6-rec`) alone.
    Ppocr,
    /// Both networks, their log-probabilities added.
    Fused,
}

impl Recogniser {
    /// From the command line's words: `templates`, `ppocr` or `fused`, else the network.
    pub fn from_args(args: &[String]) -> Recogniser {
        if args.iter().any(|a| a == "templates") {
            Recogniser::Templates
        } else if args.iter().any(|a| a == "ppocr") {
            Recogniser::Ppocr
        } else if args.iter().any(|a| a == "fused") {
            Recogniser::Fused
        } else {
            Recogniser::Network
        }
    }
}

/// The service's MRZ settings with the command line's `set:KEY=VALUE` overrides applied, each
/// a dotted key under the defaults file's `[mrz]` (`set:reader.locate.ink_delta=12`,
/// `set:consensus.plausible_margin=5.0`): for measuring a setting away from its default.
pub fn settings(args: &[String]) -> (MrzReaderConfig, ConsensusConfig) {
    let overrides: Vec<(&str, &str)> = args.iter().filter_map(|a| a.strip_prefix("set:")?.split_once('=')).collect();
    for (key, value) in &overrides {
        println!("setting mrz.{key} = {value}");
    }
    service_defaults::settings_with(&overrides)
}

/// The reader with these settings and the chosen recogniser, its model from `.cache/models`,
/// run by `.cache/onnxruntime` on one thread (`scripts/setup.sh` puts both there).
pub fn reader(recogniser: Recogniser, config: MrzReaderConfig) -> Result<MrzReader, Box<dyn std::error::Error>> {
    let font = service_defaults::ocr_b_font();
    let reader = MrzReader::new(&font, config)?;
    if recogniser == Recogniser::Templates {
        return Ok(reader);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let runtime = OnnxRuntime::load(&root.join(".cache/onnxruntime/libonnxruntime.so"), OnnxThreads { intra_op: 1 })?;
    let manifest = verifier_models::Manifest::embedded();
    let load = |spec: &verifier_models::ModelSpec| -> Result<_, Box<dyn std::error::Error>> {
        let bytes = std::fs::read(root.join(".cache/models").join(&spec.file))?;
        Ok(Arc::new(runtime.session(spec, &bytes)?))
    };
    let mut reader = reader;
    if recogniser != Recogniser::Ppocr {
        let cells = manifest.role("mrz_recogniser").ok_or("the manifest names no mrz_recogniser")?;
        reader = reader.with_net(CellNet::new(load(cells)?));
    }
    if recogniser == Recogniser::Network {
        return Ok(reader);
    }
    let lines = manifest.role("mrz_line_recogniser").ok_or("the manifest names no mrz_line_recogniser")?;
    Ok(reader.with_line_net(LineNet::new(load(lines)?)?))
}
