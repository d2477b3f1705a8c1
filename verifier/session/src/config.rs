//! The session's settings: time budgets, how much evidence each step needs, and the challenge.
//!
//! Built by the server from its validated configuration (`verifier/server/config/default.toml`,
//! where each value has its note); thresholds have no `Default`. [`SessionConfig::example`] is a
//! fixed set for documentation and tests only.

use std::time::Duration;

use vision::face::{MatchPolicy, PortraitGate};
use vision::liveness::PassiveConfig;
use vision::mrz::ConsensusConfig;

use crate::challenge::ChallengeAction;
use crate::flash::{FlashColour, FlashConfig};

/// Everything one session needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The whole session, from its start to its decision.
    pub budget: Duration,
    /// Each step's own budget, from the moment it starts.
    pub document_budget: Duration,
    /// The TD1 card's front side (turn it over, show the portrait).
    pub document_front_budget: Duration,
    /// The live face and the match.
    pub face_budget: Duration,
    /// The whole head-movement challenge (each movement has its own window too).
    pub challenge_budget: Duration,
    /// When the document's MRZ is settled, or given up (a misprint, or too many frames).
    pub consensus: ConsensusConfig,
    /// Frames reading a refused kind of document (a driving licence) before the session ends.
    pub refused_kind_frames: usize,
    /// Portraits meeting `portrait_gate` to collect before moving on; the best this many are
    /// fused for the match.
    pub portrait_frames: usize,
    /// Portraits seen (meeting the bars or not) after which the session moves on with the best
    /// it has, a fallback below the bars sending the decision to review.
    pub portrait_max_frames: usize,
    /// The bars a document portrait must meet (size and sharpness in the frame).
    pub portrait_gate: PortraitGate,
    /// The multi-frame face match (with its review band).
    pub face_match: MatchPolicy,
    /// The head-movement challenge.
    pub challenge: ChallengeConfig,
    /// The screen-flash nonce, between the face match and the challenge.
    pub flash: FlashConfig,
    /// The passive presentation-attack layer, over the face step's and the challenge's frames.
    pub passive: PassiveConfig,
}

/// The head-movement challenge's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeConfig {
    /// Movements the sequence is drawn from.
    pub actions: Vec<ChallengeAction>,
    /// Fewest and most movements in one sequence.
    pub min_steps: usize,
    /// See `min_steps`.
    pub max_steps: usize,
    /// Time to reach and hold one movement once it is asked for.
    pub window: Duration,
    /// Consecutive analysed frames a movement must be held.
    pub hold_frames: usize,
    /// Random pause before each movement is asked for (the page cannot know when).
    pub pause_min: Duration,
    /// See `pause_min`.
    pub pause_max: Duration,
    /// Head yaw from the person's own frontal pose, in degrees, that counts as a turn.
    pub turn_deg: f32,
    /// Head pitch from the frontal pose, in degrees, that counts as looking up or down.
    pub nod_deg: f32,
    /// Within this many degrees of the frontal pose on both axes, the head faces the camera.
    pub neutral_deg: f32,
    /// Cosine similarity to the face step's person below which a challenge frame facing the
    /// camera (within `neutral_deg`) shows someone else.
    pub continuity_min: f32,
    /// The same for a frame whose head is turned or tilted away from the frontal pose: a turned
    /// head embeds less like the frontal reference, so it is held to a lower bar.
    pub continuity_turned_min: f32,
    /// Consecutive frames of someone else (or of no face) that fail the challenge.
    pub max_changed_frames: usize,
}

impl SessionConfig {
    /// A fixed configuration for examples and tests (not the service's: that one comes from its
    /// configuration file).
    pub fn example() -> SessionConfig {
        SessionConfig {
            budget: Duration::from_secs(120),
            document_budget: Duration::from_secs(45),
            document_front_budget: Duration::from_secs(30),
            face_budget: Duration::from_secs(30),
            challenge_budget: Duration::from_secs(30),
            consensus: ConsensusConfig {
                confirmations: 2,
                failing_agreements: 3,
                max_frames: 24,
                unlisted: -8.0,
                plausible_margin: 4.0,
                doubt_margin: 1.0,
            },
            refused_kind_frames: 2,
            portrait_frames: 2,
            portrait_max_frames: 6,
            portrait_gate: PortraitGate { min_eye_distance_px: 30.0, min_sharpness: 1.0 },
            face_match: MatchPolicy { threshold: 0.6, review_threshold: 0.5, frames: 3, min_frames: 3 },
            challenge: ChallengeConfig {
                actions: vec![
                    ChallengeAction::TurnLeft,
                    ChallengeAction::TurnRight,
                    ChallengeAction::LookUp,
                    ChallengeAction::LookDown,
                ],
                min_steps: 2,
                max_steps: 3,
                window: Duration::from_secs(6),
                hold_frames: 2,
                pause_min: Duration::from_millis(300),
                pause_max: Duration::from_millis(1200),
                turn_deg: 15.0,
                nod_deg: 10.0,
                neutral_deg: 8.0,
                continuity_min: 0.35,
                continuity_turned_min: 0.3,
                max_changed_frames: 3,
            },
            flash: FlashConfig {
                enabled: true,
                colours: FlashColour::ALL.to_vec(),
                min_colours: 4,
                max_colours: 6,
                min_colour: Duration::from_millis(200),
                max_colour: Duration::from_millis(300),
                frames_per_colour: 2.5,
                max_paced_colour: Duration::from_millis(1200),
                max_step: Duration::from_millis(3000),
                min_lead_in: Duration::from_millis(300),
                max_lead_in: Duration::from_millis(900),
                settle: Duration::from_millis(700),
                max_lag: Duration::from_millis(600),
                transition_guard: Duration::from_millis(40),
                min_frames: 5,
                min_distinct: 3,
                pass_correlation: 0.85,
                review_correlation: 0.6,
                min_gain: 0.01,
            },
            passive: PassiveConfig::shipped(),
        }
    }
}
