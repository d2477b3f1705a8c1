//! Helpers shared by every integration test of the workspace (included with `#[path]` by the
//! server's CLI tests and by this crate): the workspace root, the provisioned-models check,
//! and scratch directories.

use std::path::{Path, PathBuf};

/// The workspace root: the nearest folder above the test's package holding `Cargo.lock`.
pub fn workspace() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("tests run inside the workspace")
        .to_path_buf()
}

/// True when the models are provisioned; otherwise skips with a message, or panics when
/// REQUIRE_VERIFIER_MODELS is set (as `make test` and CI set it).
pub fn models_ready() -> bool {
    let root = workspace();
    let needed = [".cache/onnxruntime/libonnxruntime.so", ".cache/models/yunet_n_dynamic.onnx"];
    let missing: Vec<&str> = needed.iter().copied().filter(|p| !root.join(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("models not provisioned ({missing:?} missing): run scripts/setup.sh");
    assert!(std::env::var_os("REQUIRE_VERIFIER_MODELS").is_none(), "{message}");
    eprintln!("skipping: {message}");
    false
}

/// A fresh directory under the system temp dir, unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verifier-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}
