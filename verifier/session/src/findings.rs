//! What the analysis of one frame found, in the session's terms.
//!
//! The caller runs `vision` on the frame for the step [`crate::Session::analysis`] names and
//! converts its results into these, so the session does not depend on how a finding was made
//! (which model, which crop). Hint codes are the stable codes the capture page translates.

use vision::face::{Embedding, PortraitQuality};
use vision::liveness::PassiveFrame;
use vision::mrz::MrzFrameRead;

/// The findings of one analysed frame.
#[derive(Debug, Clone)]
pub enum Findings {
    /// A frame analysed for the document's MRZ side: the MRZ read, and the portrait where the
    /// layout puts one on that side.
    Document {
        /// The frame's MRZ read.
        mrz: Box<MrzFrameRead>,
        /// The portrait on this side, if the document has one there.
        portrait: PortraitFinding,
    },
    /// A frame analysed for the portrait side of a card whose MRZ is on the back.
    DocumentFront(PortraitFinding),
    /// A frame analysed for the live face (face step and challenge).
    Face(FaceFindings),
}

/// The document portrait in one frame.
#[derive(Debug, Clone)]
pub enum PortraitFinding {
    /// A portrait inside the document, with its embedding and what was measured of it.
    Found {
        /// The portrait's embedding.
        embedding: Embedding,
        /// Its size and sharpness in the frame (and the detector's confidence): the session
        /// holds it to the configured bars and fuses the best.
        quality: PortraitQuality,
    },
    /// No usable portrait, with the hint code for the person (for example
    /// `document.portrait_not_found`).
    Missing(&'static str),
}

/// The live face in one frame.
#[derive(Debug, Clone)]
pub struct FaceFindings {
    /// The first reason the frame cannot serve the match (a `face.*` code), or `None`.
    pub issue: Option<&'static str>,
    /// Quality rank (higher is better) among usable frames.
    pub rank: f32,
    /// The face's embedding, when a face was found and aligned (also for frames with an issue:
    /// the challenge follows the person through turned heads).
    pub embedding: Option<Embedding>,
    /// The head's pose, when a face was found.
    pub pose: Option<HeadPose>,
    /// The mean colour (R, G, B, 0-255) of the face's skin, when a face was found: what the
    /// screen-flash check reads.
    pub skin: Option<[f32; 3]>,
    /// What the passive presentation-attack layer measured of the face (the models' score on
    /// frames that passed the quality gate, the spectrum, framing and motion patch on every
    /// frame with a face), when a live face was found: not on a portrait printed on a document
    /// still in view.
    pub passive: Option<PassiveFrame>,
}

/// Head pose in the person's own directions, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPose {
    /// Positive when the person turns to their left.
    pub yaw_deg: f32,
    /// Positive when the person looks up.
    pub pitch_deg: f32,
}
