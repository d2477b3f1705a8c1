//! The MRZ reader on real specimen documents (`../shared/datasets/mrz-specimens`, public
//! specimens with labels checked against their check digits), through `verifier mrz eval` as a
//! user runs it: the figures must not fall below what the reader reached when this test was
//! written (issue 14), and no trustworthy read may differ from what is printed.
//!
//! The images are never copied into the repository. Without them (or without the models) the
//! test skips with a message, unless REQUIRE_VERIFIER_MODELS=1 (`make test`, CI), where their
//! absence fails it. Timing is a benchmark's business (`benches/`), not asserted here: this
//! binary is a debug build.

use std::process::Command;

#[path = "../../../tests/common/mod.rs"]
#[allow(dead_code)] // Shared helpers; this test uses two of them.
mod common;

use common::{models_ready, workspace};

/// Documents of the 35 read exactly when issue 14 was closed (19 before it): a regression fails.
const EXACT_FLOOR: u64 = 34;
/// Lines of the 87 read exactly (56 before).
const LINES_FLOOR: u64 = 86;
/// Character error rate ceiling (0.0003 reached, 0.32 before).
const CER_CEILING: f64 = 0.002;

#[test]
fn issue_14_real_specimens_read_at_least_as_well_as_before() {
    let dir = workspace().join("../shared/datasets/mrz-specimens");
    let required = std::env::var_os("REQUIRE_VERIFIER_MODELS").is_some();
    if !dir.join("labels.json").is_file() {
        assert!(!required, "{} is absent", dir.display());
        eprintln!("skipping: {} is absent", dir.display());
        return;
    }
    if !models_ready() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(workspace())
        .args(["mrz", "eval", "--at", "2026-12-01", dir.to_str().expect("a UTF-8 path")])
        .output()
        .expect("the verifier binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let figure = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} missing in {v}"));
    assert_eq!(v["documents"].as_u64(), Some(35), "{v}");
    assert_eq!(v["trustworthy_wrong"].as_u64(), Some(0), "a trustworthy read differs from the print: {v}");
    assert!(v["exact"].as_u64().is_some_and(|n| n >= EXACT_FLOOR), "exact documents fell below {EXACT_FLOOR}: {v}");
    assert!(v["lines_exact"].as_u64().is_some_and(|n| n >= LINES_FLOOR), "exact lines fell below {LINES_FLOOR}: {v}");
    assert!(figure("cer") <= CER_CEILING, "CER rose above {CER_CEILING}: {v}");
    assert!(figure("p50_ms") > 0.0, "no time measured: {v}");
    // Every format of the set is scored, and the figures add up.
    let by_format = v["by_format"].as_object().expect("by_format");
    let total: u64 = by_format.values().map(|f| f["documents"].as_u64().unwrap_or(0)).sum();
    assert_eq!(total, 35, "{v}");
}
