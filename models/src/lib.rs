//! The model manifest and the provisioning of model files into a local cache.
//!
//! `manifest` is pure: it parses `models/manifest.toml` into typed [`ModelSpec`]s and validates
//! them. `provision` does the I/O: it copies or downloads each file into the cache, hashing every
//! copy before it is kept. Loading a model into ONNX Runtime, and checking its signature, belongs
//! to the `vision` crate; this crate never runs a model.
//!
//! ```
//! let manifest = verifier_models::Manifest::embedded();
//! let detector = manifest.role("face_detector").expect("the embedded manifest names a detector");
//! assert_eq!(detector.file, "yunet_n_dynamic.onnx");
//! ```
#![deny(missing_docs)]

mod manifest;
mod provision;

pub use manifest::{
    Alignment, Channels, Layout, Manifest, ManifestError, ModelSpec, Preprocess, TensorSpec, sha256_hex,
};
pub use provision::{
    MIRROR_ENV, Mirror, MissingModel, ProvisionError, Provisioned, Source, bundled, default_mirrors, provision,
};
