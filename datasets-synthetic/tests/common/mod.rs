//! Shared test assets: the Debian fonts (required) and the shared face photos when present,
//! otherwise generated placeholder faces.

use std::path::PathBuf;
use std::sync::OnceLock;

use datasets_synthetic::{Assets, Fonts, load_faces};

/// The workspace's `../shared/datasets/faces`, resolved from this crate's manifest.
fn faces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/faces")
}

/// Assets loaded once per test binary.
pub fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let fonts = Fonts::from_debian_paths()
            .unwrap_or_else(|e| panic!("tests need the Debian fonts (fonts-ocr-b, fonts-dejavu-core): {e}"));
        let dir = faces_dir();
        let faces = if dir.is_dir() {
            load_faces(&dir).unwrap_or_else(|e| panic!("faces in {}: {e}", dir.display()))
        } else {
            eprintln!("{} is absent: using generated placeholder faces", dir.display());
            Vec::new()
        };
        Assets::new(fonts, faces)
    })
}
