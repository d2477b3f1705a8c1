//! The model manifest: pure, no I/O.
//!
//! `manifest` parses `models/manifest.toml` (embedded) into typed [`ModelSpec`]s and validates
//! them. What it leaves out: provisioning, which copies or downloads each file into the cache
//! (files, the environment, `curl`) and lives in `verifier-models-fetch` (`models/fetch/`), so
//! that `vision`, which depends on this crate for the manifest types, links no I/O; and loading
//! a model into ONNX Runtime and checking its signature, which is `vision`'s. This crate never
//! runs a model.
//!
//! ```
//! let manifest = verifier_models::Manifest::embedded();
//! let detector = manifest.role("face_detector").expect("the embedded manifest names a detector");
//! assert_eq!(detector.file, "yunet_n_dynamic.onnx");
//! ```
#![deny(missing_docs)]

mod manifest;

pub use manifest::{
    Alignment, Channels, Layout, Manifest, ManifestError, ModelSpec, Preprocess, TensorSpec, sha256_hex,
};
