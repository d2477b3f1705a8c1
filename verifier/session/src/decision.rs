//! The session's decision: an outcome, machine-readable reasons, the document's identity, the
//! scores behind it and the frames it used.
//!
//! Reasons are the stable codes of DESIGN.md section 4 (`document.*`, `mrz.*`, `face.*`,
//! `liveness.*`, `identity.*`, `session.*`). A decision holds no pixels; the frames it used are
//! named by id, and the caller keeps their hashes.

use std::time::Duration;

use mrz::MrzRead;

use crate::FrameId;
use crate::challenge::ChallengeAction;

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The person is the document's holder, the document is acceptable, the challenge passed.
    Accepted,
    /// Refused, for the reasons given.
    Rejected,
    /// A person must look: an uncertain match, or a name that differs from the addressee's
    /// (perhaps someone acting on their behalf).
    Review,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Review => "review",
        }
    }
}

/// The decision with its evidence.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What was decided.
    pub outcome: Outcome,
    /// Why, as stable codes; empty only for `Accepted`.
    pub reasons: Vec<&'static str>,
    /// The document's reading, when the MRZ settled.
    pub identity: Option<Box<MrzRead>>,
    /// The measurements behind the outcome.
    pub scores: Scores,
    /// Every frame whose findings the decision used, in the order they arrived.
    pub frames: Vec<FrameId>,
    /// From the session's start to the decision.
    pub elapsed: Duration,
}

/// The measurements behind a decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Frames whose MRZ read went into the consensus.
    pub mrz_frames: usize,
    /// The median live-to-portrait similarity, when the match was decided.
    pub face_similarity: Option<f32>,
    /// Each compared frame's similarity.
    pub face_similarities: Vec<f32>,
    /// The match threshold applied.
    pub face_threshold: Option<f32>,
    /// The document portraits fused for the match.
    pub portrait_frames: usize,
    /// The movements asked for, in order.
    pub challenge: Vec<ChallengeAction>,
    /// How long each performed movement took from its request, in order.
    pub challenge_reached: Vec<(ChallengeAction, Duration)>,
    /// The lowest similarity of a challenge frame to the face step's person.
    pub continuity_min: Option<f32>,
    /// The screen-flash colours shown, in order.
    pub flash: Vec<crate::flash::FlashColour>,
    /// The flash check's score, when it ran.
    pub flash_score: Option<crate::flash::FlashScore>,
    /// The passive presentation-attack layer's verdict and evidence, when it was judged.
    pub passive: Option<vision::liveness::PassiveVerdict>,
}
