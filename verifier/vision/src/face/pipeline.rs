//! Detect, align and embed: from a frame to the embedding of its main (largest) face.
//!
//! The building block of `face match`, the evaluations and, later, the session's face step.

use super::{DetectedFace, Embedding, FaceDetector, FaceEmbedder};
use crate::frame::Frame;
use crate::model::ModelError;

/// What a frame shows: every face found, and the embedding of the largest.
#[derive(Debug, Clone)]
pub struct FaceReading {
    /// All detected faces, best score first.
    pub faces: Vec<DetectedFace>,
    /// The largest face, when there is one.
    pub largest: Option<DetectedFace>,
    /// The largest face's embedding, when it could be aligned.
    pub embedding: Option<Embedding>,
}

/// Detection and embedding models used together.
#[derive(Debug, Clone)]
pub struct FaceAnalyzer {
    /// The detector.
    pub detector: FaceDetector,
    /// The embedder.
    pub embedder: FaceEmbedder,
}

impl FaceAnalyzer {
    /// Detects the faces in `frame` and embeds the largest, aligned as the embedder declares.
    pub fn read(&self, frame: &Frame) -> Result<FaceReading, ModelError> {
        let faces = self.detector.detect(frame)?;
        let largest = largest(&faces);
        let aligned = largest.and_then(|f| self.embedder.align(frame, &f));
        let embedding = match aligned {
            Some(a) => self.embedder.embed(std::slice::from_ref(&a))?.pop(),
            None => None,
        };
        Ok(FaceReading { faces, largest, embedding })
    }
}

/// The face with the largest box.
pub fn largest(faces: &[DetectedFace]) -> Option<DetectedFace> {
    faces.iter().copied().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}
