//! Tidy checks over the workspace's Rust sources (rust-analyzer's `tidy.rs`): rules of
//! `STYLE.md` that a reviewer would otherwise repeat, checked mechanically. Each rule says what it
//! catches and what it does not; none reads anything but the sources.
//!
//! - Every `.rs` file starts with a `//!` header saying what it owns.
//! - Test code never skips in silence over a missing result (a `let .. else` that continues the
//!   loop) and never asserts a figure only against zero (`assert!(x >= 0.0, ..)`): the two
//!   shapes of a check that cannot fail that issue 16 found.
//! - Thresholds live in configuration: a numeric `const` in the non-test code of `session` or
//!   `vision` must be one of the reviewed constants below, each with why it is not a setting.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root exists")
}

/// Every `.rs` file of the workspace, outside build output, caches and dependencies.
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&workspace(), &mut out);
    out.sort();
    assert!(out.len() > 50, "the walk found only {} Rust files", out.len());
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace()).unwrap_or(path).display().to_string()
}

/// The file's test code: all of it for files in a `tests` folder, named `tests.rs`, or under
/// `benches/` (benchmarks check nothing, but they are not product code either); otherwise what
/// follows the first `#[cfg(test)]`. Limit: a `#[cfg(test)]` item in the middle of a file
/// makes the rest of the file count as test code.
fn test_code(path: &Path, text: &str) -> Option<String> {
    let rel = relative(path);
    if rel.split('/').any(|c| c == "tests") || rel.ends_with("/tests.rs") {
        return Some(text.to_owned());
    }
    text.find("#[cfg(test)]").map(|at| text[at..].to_owned())
}

/// Non-test code: everything before the first `#[cfg(test)]`.
fn product_code<'a>(path: &Path, text: &'a str) -> Option<&'a str> {
    let rel = relative(path);
    if rel.split('/').any(|c| c == "tests") || rel.ends_with("/tests.rs") {
        return None;
    }
    Some(text.find("#[cfg(test)]").map_or(text, |at| &text[..at]))
}

#[test]
fn every_rust_file_starts_with_a_module_header() {
    let missing: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("a readable source file");
            !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| relative(&p))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` header: {missing:?}");
}

/// Whether `line` asserts one value only against zero, such as `assert!(x >= 0.0, "..")` or
/// `assert!(v["k"].as_f64().unwrap() >= 0.0)`: true of every count and rate, so it cannot fail.
/// Limit: the same check written another way (`x.is_sign_positive()`, `!(x < 0.0)`) passes.
fn asserts_only_non_negative(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix("assert!(") else { return false };
    let expr = rest.split(", \"").next().unwrap_or(rest).trim_end_matches([')', ';']).trim();
    let Some((lhs, rhs)) = expr.split_once(">=") else { return false };
    matches!(rhs.trim(), "0" | "0.0" | "0.0f32" | "0.0f64") && !lhs.contains("&&") && !lhs.contains("||")
}

#[test]
fn test_code_neither_skips_missing_results_nor_asserts_against_zero() {
    // Spelt in pieces so that this file does not match its own rule.
    let skips = [concat!("else { ", "continue }"), concat!("else { ", "continue; }")];
    let mut found = Vec::new();
    for path in rust_files() {
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        for line in test_code(&path, &text).iter().flat_map(|code| code.lines()) {
            let squeezed: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if skips.iter().any(|s| squeezed.contains(s)) {
                found.push(format!("{}: a missing result skipped: {}", relative(&path), line.trim()));
            }
            if asserts_only_non_negative(line) {
                found.push(format!("{}: an assert that cannot fail: {}", relative(&path), line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_rule_recognises_what_it_forbids() {
    // Built from pieces so that these lines do not match the rule themselves.
    let (a, ge) = ("assert!(", ">=");
    assert!(asserts_only_non_negative(&format!("        {a}x {ge} 0.0, \"{{key}} in {{v}}\");")));
    assert!(asserts_only_non_negative(&format!("{a}v[\"p50_ms\"].as_f64().unwrap() {ge} 0.0);")));
    assert!(!asserts_only_non_negative(&format!("{a}p[0] {ge} 0.0 && p[0] <= 1280.0, \"inside\");")));
    assert!(!asserts_only_non_negative(&format!("{a}x {ge} 0.83, \"{{v}}\");")));
}

/// The numeric constants allowed in the non-test code of `session`, `vision` and `mrz`, by file and
/// name: each is a format, a unit, a tensor geometry or a search bound, not a threshold a
/// deployment would tune. Thresholds and margins go into the component's configuration
/// (`verifier/server/config/default.toml`) with how they were measured.
const REVIEWED: &[(&str, &str, &str)] = &[
    ("verifier/mrz/src/check_digit.rs", "WEIGHTS", "ICAO 9303's check-digit weights"),
    ("verifier/mrz/src/correct.rs", "UNIT", "fixed-point cost units per score unit"),
    ("verifier/mrz/src/correct.rs", "MAX_ALTERNATIVES", "search bound: candidates kept per position"),
    ("verifier/mrz/src/correct.rs", "MAX_STATES", "search bound: readings tried per check digit"),
    ("verifier/vision/src/liveness/antispoof.rs", "REAL_CLASS", "upstream SilentFace's class index"),
    ("verifier/vision/src/liveness/framing.rs", "WORK_WIDTH", "a working resolution, not a threshold"),
    ("verifier/vision/src/liveness/motion.rs", "SIDE", "patch geometry"),
    ("verifier/vision/src/liveness/motion.rs", "FACE_PX", "patch geometry"),
    ("verifier/vision/src/liveness/motion.rs", "SEARCH", "block-matching search radius, a search resolution"),
    ("verifier/vision/src/liveness/motion.rs", "FACE_REGION", "patch geometry"),
    ("verifier/vision/src/liveness/motion.rs", "STRIPS", "patch geometry"),
    ("verifier/vision/src/liveness/spectrum.rs", "N", "spectrum window size"),
    ("verifier/vision/src/liveness/spectrum.rs", "MIN_RADIUS", "the spectrum's low-frequency cut, a band definition"),
    ("verifier/vision/src/face/align.rs", "TEMPLATE_112", "ArcFace's five-point template"),
    ("verifier/vision/src/face/card.rs", "SAMPLES", "samples per card side, a search resolution"),
    ("verifier/vision/src/face/detect.rs", "STRIDES", "YuNet's output strides"),
    ("verifier/vision/src/face/mesh.rs", "MESH_POINTS", "MediaPipe's mesh format"),
    ("verifier/vision/src/face/mesh.rs", "CROP_SCALE", "MediaPipe's crop convention"),
    ("verifier/vision/src/face/portrait.rs", "MRZ_PITCH_MM", "ICAO 9303 unit"),
    ("verifier/vision/src/face/portrait.rs", "MRZ_LINE_SPACING_MM", "ICAO 9303 unit"),
    ("verifier/vision/src/face/quality.rs", "QUALITY_CROP", "crop size measured on"),
    ("verifier/vision/src/face/portrait_quality.rs", "SHARPNESS_CROP", "crop size measured on"),
    ("verifier/vision/src/mrz/cell.rs", "TW", "cell geometry"),
    ("verifier/vision/src/mrz/cell.rs", "TH", "cell geometry"),
    ("verifier/vision/src/mrz/cell.rs", "CAP", "cell geometry"),
    ("verifier/vision/src/mrz/cell.rs", "PAD", "cell geometry"),
    ("verifier/vision/src/mrz/cell.rs", "NET_W", "the network's input geometry"),
    ("verifier/vision/src/mrz/mod.rs", "NET_CELL_WIDTH", "the network's input geometry"),
    ("verifier/vision/src/mrz/mod.rs", "NET_CELL_HEIGHT", "the network's input geometry"),
    ("verifier/vision/src/mrz/line_net.rs", "INPUT_H", "PP-OCRv6's input height"),
    ("verifier/vision/src/mrz/line_net.rs", "STRIDE", "PP-OCRv6's output stride"),
    ("verifier/vision/src/mrz/line_net.rs", "FLOOR", "a numerical floor under log"),
    ("verifier/vision/src/mrz/line_net.rs", "NONE", "minus infinity"),
    (
        "verifier/vision/src/mrz/line_net.rs",
        "HALF_CROP",
        "the line model's input crop, as PP-OCR frames its text lines",
    ),
    (
        "verifier/vision/src/mrz/line_net.rs",
        "SIDE_PITCHES",
        "the line model's input crop, as PP-OCR frames its text lines",
    ),
    ("verifier/vision/src/mrz/recognise.rs", "SIZE", "cell geometry"),
    ("verifier/vision/src/mrz/recognise.rs", "BLURS", "template rendering levels"),
    ("verifier/vision/src/mrz/recognise.rs", "CENTRED_BLURS", "a subset of those levels"),
    ("verifier/vision/src/mrz/recognise.rs", "X_SQUEEZE", "ICAO 9303 glyph proportions"),
    ("verifier/vision/src/mrz/rectify.rs", "CELL_W", "strip geometry"),
    ("verifier/vision/src/mrz/rectify.rs", "MARGIN", "strip geometry"),
    ("verifier/vision/src/mrz/rectify.rs", "STRIP_H", "strip geometry"),
    ("verifier/vision/src/mrz/rectify.rs", "STRIP_SPAN", "strip geometry"),
    ("verifier/vision/src/mrz/segment.rs", "HEIGHT_SCALES", "search grid of cap heights"),
    ("verifier/vision/src/mrz/segment.rs", "STEP", "search step"),
];

/// The name of a numeric `const` item declared on `line` (`u8` to `usize`, `f32`, `f64`, or an
/// array of them). Limit: literals written inline in an expression (`if x > 0.3`) are not
/// constants and are not caught; reviews still have to.
fn numeric_const(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix("pub(crate) ").or_else(|| t.strip_prefix("pub ")).unwrap_or(t);
    let rest = t.strip_prefix("const ").filter(|r| !r.starts_with("fn "))?;
    let (name, ty) = rest.split_once(':')?;
    let ty = ty.split('=').next()?.trim().trim_start_matches('[');
    let numeric = ["u8", "u16", "u32", "u64", "usize", "i32", "i64", "f32", "f64"].iter().any(|n| ty.starts_with(n));
    numeric.then_some(name.trim())
}

#[test]
fn thresholds_in_session_vision_and_mrz_live_in_configuration() {
    let root = workspace();
    let mut unreviewed = Vec::new();
    let mut seen = Vec::new();
    for path in rust_files() {
        let rel = relative(&path);
        if !["verifier/vision/src/", "verifier/session/src/", "verifier/mrz/src/"].iter().any(|p| rel.starts_with(p)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        for name in product_code(&path, &text).iter().flat_map(|code| code.lines()).filter_map(numeric_const) {
            match REVIEWED.iter().find(|(file, n, _)| *file == rel && *n == name) {
                Some(entry) => seen.push(*entry),
                None => unreviewed.push(format!("{rel}: {name}")),
            }
        }
    }
    assert!(
        unreviewed.is_empty(),
        "numeric constants that look like thresholds: put them in the component's configuration \
         (config/default.toml, with how each was measured), or review them into REVIEWED: {unreviewed:#?}"
    );
    // A constant moved into configuration leaves the list too, so it cannot come back unseen.
    let stale: Vec<_> = REVIEWED.iter().filter(|e| !seen.contains(e)).collect();
    assert!(stale.is_empty(), "REVIEWED lists constants no longer in {}: {stale:#?}", root.display());
}
