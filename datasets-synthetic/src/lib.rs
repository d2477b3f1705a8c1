//! Labelled synthetic identity documents, camera frames and capture videos, deterministic from a
//! seed.
//!
//! The verifier's tests and benchmarks need documents it has never seen, with ground truth: this
//! crate makes them. Its main types:
//!
//! - [`DocumentSample`]: the MRZ side of a document (French identity cards old and new, passports,
//!   TD1/TD2 cards, visas, residence permits, EU and Swiss driving licences) rendered at a fixed
//!   resolution, with a [`DocumentLabel`]: the content, MRZ lines, deliberate faults and the
//!   decision the verifier should reach at a reference date.
//! - [`FrameSample`]: that document photographed by a webcam (pose, occluding thumb, glare, blur,
//!   noise, colour cast, JPEG), with a [`FrameLabel`] mapping the document, its MRZ and portrait
//!   into the frame.
//! - [`FrontSample`]: the portrait side of a TD1 card ([`front_of`]), sharing its back's content.
//! - [`video`]: capture sequences (document, face, head-turn challenge; a TD1 card turned over)
//!   and presentation attacks, written as Y4M for Chromium's fake camera and as labelled frame
//!   folders.
//! - [`harness`]: everything the browser end-to-end tests show a camera, for one identity.
//!
//! Every sample is a pure function of its seed ([`sample_seed`] derives per-index seeds), the
//! [`Assets`] (fonts and face photos, passed in as bytes or decoded images) and the [`Spec`], so
//! generation parallelises and reruns are byte-identical. What this crate leaves out: decoding
//! MRZs (the `mrz` crate) and anything about the verifier's own pipeline.
//!
//! ```no_run
//! use datasets_synthetic::{Assets, Fonts, Spec, default_reference_date, frame, sample_seed, Stream};
//!
//! let fonts = Fonts::from_debian_paths()?; // fonts-ocr-b and fonts-dejavu-core
//! let assets = Assets::new(fonts, Vec::new()); // no photos: placeholder faces
//! let spec = Spec::new(default_reference_date());
//! let sample = frame(sample_seed(42, Stream::Frame, 0), &assets, &spec)?;
//! println!("{:?} accepted={}", sample.label.document.content.mrz, sample.label.document.expected.accepted);
//! # Ok::<(), datasets_synthetic::Error>(())
//! ```
#![deny(missing_docs)]
// Pixel code indexes channels and kernel taps by position, and drawing helpers take a position, a
// size and styling: these two lints would make that code harder to read, not easier.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

pub mod date;
pub mod effects;
pub mod face;
pub mod flash;
pub mod frame;
pub mod harness;
pub mod identity;
pub mod liveness;
pub mod mrz_text;
pub mod pattern;
pub mod raster;
pub mod render;
pub mod sample;
pub mod sheet;
pub mod turn3d;
pub mod video;
pub mod warp;
pub mod y4m;

pub use date::Date;
pub use face::{FacePhoto, FaceRef, load_faces, load_faces_with, load_faces_with_boxes, placeholder_faces};
pub use frame::{FrameLabel, FrameSample, frame, frame_of};
pub use mrz_text::{CheckedField, DocumentContent, DocumentKind, Expected, Layout, MrzFormat, Variant, failed_checks};
pub use raster::Fonts;
pub use render::has_front;
pub use sample::{
    Assets, DocumentLabel, DocumentSample, FrontLabel, FrontSample, Spec, Stream, default_reference_date, document,
    front_of, sample_seed,
};

/// Why generation failed. Expected outcomes (an expired document, a wrong check digit) are labels,
/// not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A font file could not be read.
    #[error("cannot read font {path}: {reason} (install the Debian package `{package}`)")]
    MissingFont {
        /// The path tried.
        path: String,
        /// The Debian package that provides it.
        package: &'static str,
        /// The I/O error.
        reason: String,
    },
    /// Font bytes did not parse.
    #[error("font {name} is not a valid TrueType/OpenType font")]
    BadFont {
        /// Which font.
        name: String,
    },
    /// An image did not decode.
    #[error("cannot decode image {file}: {reason}")]
    BadImage {
        /// The file name.
        file: String,
        /// The decoder's message.
        reason: String,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A date was not `YYYY-MM-DD` or does not exist.
    #[error("bad date {text:?}: expected YYYY-MM-DD")]
    BadDate {
        /// The text given.
        text: String,
    },
    /// The spec asks for something impossible.
    #[error("bad spec: {reason}")]
    BadSpec {
        /// What is wrong.
        reason: String,
    },
    /// Encoding an image failed.
    #[error("encoding failed: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
}
