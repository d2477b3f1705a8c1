//! The MRZ reader's settings and OCR-B font as the service's own defaults file sets them
//! (`verifier/server/config/default.toml`, `[mrz.reader]`), for `vision`'s tests, examples and
//! the benchmarks: they read what the service reads, from the file it reads, so no copy of the
//! settings can drift from it. Included by `#[path]` where `MrzReaderConfig` is in scope; what
//! it leaves out is validation, which is the service's (`config.rs`).
#![allow(clippy::disallowed_methods)] // Test support: it reads the defaults file and the font.

use std::path::{Path, PathBuf};

use super::MrzReaderConfig;

/// The workspace root: the nearest folder above the including package that holds `Cargo.lock`.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("built inside the workspace")
        .to_path_buf()
}

/// The service's `[mrz.reader]` table.
fn reader_table() -> toml::Table {
    let path = workspace().join("verifier/server/config/default.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut all: toml::Table = text.parse().unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    let mrz = all.remove("mrz").and_then(|v| v.try_into::<toml::Table>().ok()).expect("an [mrz] table");
    mrz.get("reader").and_then(|v| v.as_table()).cloned().expect("an [mrz.reader] table")
}

/// The reader's settings as the defaults file gives them.
pub fn reader_config() -> MrzReaderConfig {
    let t = reader_table();
    let float = |key: &str| t.get(key).and_then(|v| v.as_float()).unwrap_or_else(|| panic!("mrz.reader.{key}")) as f32;
    let int = |key: &str| {
        let v = t.get(key).and_then(|v| v.as_integer()).unwrap_or_else(|| panic!("mrz.reader.{key}"));
        usize::try_from(v).unwrap_or_else(|_| panic!("mrz.reader.{key} = {v} is negative"))
    };
    MrzReaderConfig {
        top_k: int("top_k"),
        min_pitch_px: float("min_pitch_px"),
        min_sharpness: float("min_sharpness"),
        max_saturated: float("max_saturated"),
        min_frame_steepness: float("min_frame_steepness"),
    }
}

/// The OCR-B font's bytes, from the path `mrz.reader.font` names (the service reads the same).
pub fn ocr_b_font() -> Vec<u8> {
    let t = reader_table();
    let path = t.get("font").and_then(|v| v.as_str()).expect("mrz.reader.font");
    std::fs::read(path).unwrap_or_else(|e| panic!("mrz.reader.font {path}: {e} (install fonts-ocr-b)"))
}
