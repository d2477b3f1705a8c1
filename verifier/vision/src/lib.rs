//! Pixels in, typed findings out.
//!
//! This crate turns images into findings the session can act on. It owns image decoding with
//! size limits ([`frame`]), the model boundary ([`model`]: a small trait, with ONNX Runtime as
//! one implementation in [`onnx`]), and face detection ([`face`]). It never opens files, sockets
//! or the clock: image bytes and model bytes are arguments, and the only path it takes is the
//! ONNX Runtime shared library's, because loading that library is what the runtime needs.
//!
//! ```
//! use vision::frame::{DecodeLimits, decode};
//!
//! let limits = DecodeLimits { max_bytes: 1 << 20, max_pixels: 4_000_000, max_side: 4096 };
//! let err = decode(b"not an image", &limits).unwrap_err();
//! assert_eq!(err.to_string(), "the data is not a supported image (JPEG, PNG, WebP or BMP)");
//! ```
#![deny(missing_docs)]

pub mod face;
pub mod frame;
pub mod liveness;
pub mod metrics;
pub mod model;
pub mod mrz;
pub mod onnx;
pub mod preprocess;
