//! Faces: detection with five landmarks (YuNet), alignment to the embedding template, embedding
//! and comparison.
//!
//! Coordinates are in pixels of the frame that was given, origin top-left, x to the right.

mod align;
mod card;
mod decision;
mod detect;
mod embed;
mod mesh;
mod pipeline;
mod portrait;
mod portrait_quality;
mod quality;

pub use align::{AlignedFace, Similarity, align_face, align_to_template};
pub use card::{Card, CardConfig, find_card};
pub use decision::{Compared, LiveSample, MatchDecision, MatchOutcome, MatchPolicy, decide};
pub use detect::{DetectorConfig, FaceDetector};
pub use embed::{Embedding, EmbeddingMismatch, FaceEmbedder};
pub use mesh::{FaceMesh, HeadPose, MESH_POINTS, Mesh, MeshConfig, head_pose, head_pose_projected};
pub use pipeline::{FaceAnalyzer, FaceReading, largest};
pub use portrait::{
    DocumentLayout, DocumentOutline, MRZ_PITCH_MM, Portrait, PortraitConfig, PortraitMiss, find_front_portrait,
    find_portrait,
};
pub use portrait_quality::{PortraitGate, PortraitIssue, PortraitQuality, fuse, measure_portrait};
pub use quality::{FaceIssue, FaceQuality, QualityConfig, assess};

/// An axis-aligned box, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl FaceBox {
    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union with `other`, 0 when they do not overlap.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// A detected face: its box, confidence and five landmarks.
///
/// Landmarks are in YuNet's order: the subject's right eye, left eye, nose tip, right mouth
/// corner, left mouth corner (so the first point is on the image's left for a frontal face).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedFace {
    /// The face box.
    pub bbox: FaceBox,
    /// Confidence in 0..=1.
    pub score: f32,
    /// Five `[x, y]` points.
    pub landmarks: [[f32; 2]; 5],
}
