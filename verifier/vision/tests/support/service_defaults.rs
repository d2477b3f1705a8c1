//! The MRZ reader's settings and OCR-B font as the service's own defaults file sets them
//! (`verifier/server/config/default.toml`, `[mrz.reader]`), for `vision`'s tests, examples and
//! the benchmarks: they read what the service reads, from the file it reads, so no copy of the
//! settings can drift from it. Included by `#[path]` where `MrzReaderConfig` is in scope; what
//! it leaves out is validation, which is the service's (`config.rs`).
#![allow(clippy::disallowed_methods)] // Test support: it reads the defaults file and the font.
#![allow(dead_code)] // Each includer uses some of it.

use std::path::{Path, PathBuf};

use super::{ConsensusConfig, LocateConfig, MrzReaderConfig, RecognitionConfig, SearchConfig};

/// The workspace root: the nearest folder above the including package that holds `Cargo.lock`.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("built inside the workspace")
        .to_path_buf()
}

/// The service's `[mrz]` table.
fn mrz_table() -> toml::Table {
    let path = workspace().join("verifier/server/config/default.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut all: toml::Table = text.parse().unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    all.remove("mrz").and_then(|v| v.try_into::<toml::Table>().ok()).expect("an [mrz] table")
}

/// The `[mrz]` table with `overrides` applied, each a dotted key under `[mrz]` and a TOML value
/// of the same type as the default's (`("reader.locate.ink_delta", "12")`): for measuring a
/// setting away from its default.
fn mrz_table_with(overrides: &[(&str, &str)]) -> toml::Table {
    let mut mrz = mrz_table();
    for &(key, value) in overrides {
        let value = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| panic!("mrz.{key}: {value} is not a TOML value"));
        let (path, last) = key.rsplit_once('.').map_or(("", key), |(p, l)| (p, l));
        let mut t = &mut mrz;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            t = t.get_mut(part).and_then(|v| v.as_table_mut()).unwrap_or_else(|| panic!("mrz.{key}: no such table"));
        }
        let old = t.get(last).unwrap_or_else(|| panic!("mrz.{key} is not a setting"));
        assert_eq!(old.type_str(), value.type_str(), "mrz.{key}: {value} is not of the default's type ({old})");
        t.insert(last.to_string(), value);
    }
    mrz
}

/// The `name` table inside `t`, whose own name is `path`.
fn table<'t>(t: &'t toml::Table, path: &str, name: &str) -> &'t toml::Table {
    t.get(name).and_then(|v| v.as_table()).unwrap_or_else(|| panic!("a [{path}.{name}] table"))
}

/// Typed reads of one table's keys, panicking with the key's full name.
struct Keys<'t> {
    table: &'t toml::Table,
    path: String,
}

impl Keys<'_> {
    fn float(&self, key: &str) -> f32 {
        self.table.get(key).and_then(|v| v.as_float()).unwrap_or_else(|| panic!("{}.{key}: a float", self.path)) as f32
    }

    fn int(&self, key: &str) -> usize {
        let v = self
            .table
            .get(key)
            .and_then(|v| v.as_integer())
            .unwrap_or_else(|| panic!("{}.{key}: an integer", self.path));
        usize::try_from(v).unwrap_or_else(|_| panic!("{}.{key} = {v} is negative", self.path))
    }
}

/// The reader's settings as the defaults file gives them.
pub fn reader_config() -> MrzReaderConfig {
    reader_from(&mrz_table())
}

/// The consensus's settings as the defaults file gives them (`[mrz.consensus]`).
pub fn consensus_config() -> ConsensusConfig {
    consensus_from(&mrz_table())
}

/// Both, with `overrides` applied (see `mrz_table_with`).
pub fn settings_with(overrides: &[(&str, &str)]) -> (MrzReaderConfig, ConsensusConfig) {
    let mrz = mrz_table_with(overrides);
    (reader_from(&mrz), consensus_from(&mrz))
}

fn reader_from(mrz: &toml::Table) -> MrzReaderConfig {
    let reader = table(mrz, "mrz", "reader");
    let keys = |name: &str| Keys { table: table(reader, "mrz.reader", name), path: format!("mrz.reader.{name}") };
    let r = Keys { table: reader, path: "mrz.reader".into() };
    let (l, c, s) = (keys("locate"), keys("recognition"), keys("search"));
    MrzReaderConfig {
        top_k: r.int("top_k"),
        min_pitch_px: r.float("min_pitch_px"),
        min_sharpness: r.float("min_sharpness"),
        max_saturated: r.float("max_saturated"),
        min_frame_steepness: r.float("min_frame_steepness"),
        locate: LocateConfig {
            ink_delta: u32::try_from(l.int("ink_delta")).expect("mrz.reader.locate.ink_delta fits u32"),
            mean_radius: l.int("mean_radius"),
            min_glyph: l.int("min_glyph"),
            max_glyph: l.int("max_glyph"),
            min_chain: l.int("min_chain"),
            min_cell_ink: l.float("min_cell_ink"),
            max_line_spacing: l.float("max_line_spacing"),
            count_tolerance: l.float("count_tolerance"),
        },
        recognition: RecognitionConfig {
            ink_margin: c.float("ink_margin"),
            spacing_cost: c.float("spacing_cost"),
            template_score_scale: c.float("template_score_scale"),
            template_margin: c.float("template_margin"),
            template_blur_spread: c.int("template_blur_spread"),
            network_margin: c.float("network_margin"),
            line_floor: c.float("line_floor"),
            doubt_margin: c.float("doubt_margin"),
        },
        search: SearchConfig {
            corrections_per_check: s.float("corrections_per_check"),
            blocks_per_level: s.int("blocks_per_level"),
            max_attempts: s.int("max_attempts"),
            enlarge_below: s.int("enlarge_below"),
        },
    }
}

fn consensus_from(mrz: &toml::Table) -> ConsensusConfig {
    let k = Keys { table: table(mrz, "mrz", "consensus"), path: "mrz.consensus".into() };
    ConsensusConfig {
        confirmations: k.int("confirmations"),
        failing_agreements: k.int("failing_agreements"),
        max_frames: k.int("max_frames"),
        unlisted: k.float("unlisted"),
        plausible_margin: k.float("plausible_margin"),
        doubt_margin: k.float("doubt_margin"),
    }
}

/// The OCR-B font's bytes, from the path `mrz.reader.font` names (the service reads the same).
pub fn ocr_b_font() -> Vec<u8> {
    let mrz = mrz_table();
    let path = table(&mrz, "mrz", "reader").get("font").and_then(|v| v.as_str()).expect("mrz.reader.font");
    std::fs::read(path).unwrap_or_else(|e| panic!("mrz.reader.font {path}: {e} (install fonts-ocr-b)"))
}
