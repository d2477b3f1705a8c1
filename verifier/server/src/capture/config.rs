//! The `[session]`, `[capture]` and `[demo]` configuration sections: raw forms as read, and
//! their validation into [`SessionSettings`], [`CaptureConfig`] and the demo switch.
//!
//! Kept beside the capture code it configures; `crate::config` calls [`validate`] as one of its
//! stages, so every key is still checked once at start-up and named when wrong.

use std::time::Duration;

use serde::Deserialize;
use session::challenge::ChallengeAction;
use session::config::{ChallengeConfig, SessionConfig};
use session::flash::{FlashColour, FlashConfig};
use vision::face::{MatchPolicy, PortraitGate};
use vision::liveness::PassiveConfig;
use vision::mrz::ConsensusConfig;

use crate::config::ConfigError;

/// `[session]` as read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    budget_secs: u64,
    open_within_secs: u64,
    document_secs: u64,
    document_front_secs: u64,
    face_secs: u64,
    challenge_secs: u64,
    refused_kind_frames: usize,
    portrait_frames: usize,
    portrait_max_frames: usize,
    challenge: RawChallenge,
    flash: RawFlash,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlash {
    enabled: bool,
    colours: Vec<String>,
    min_colours: usize,
    max_colours: usize,
    colour_min_ms: u64,
    colour_max_ms: u64,
    frames_per_colour: f32,
    max_paced_colour_ms: u64,
    max_step_ms: u64,
    lead_in_min_ms: u64,
    lead_in_max_ms: u64,
    settle_ms: u64,
    max_lag_ms: u64,
    transition_guard_ms: u64,
    min_frames: usize,
    min_distinct: usize,
    pass_correlation: f32,
    review_correlation: f32,
    min_gain: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChallenge {
    actions: Vec<String>,
    min_steps: usize,
    max_steps: usize,
    window_ms: u64,
    hold_frames: usize,
    pause_min_ms: u64,
    pause_max_ms: u64,
    turn_deg: f32,
    nod_deg: f32,
    neutral_deg: f32,
    continuity_min: f32,
    continuity_turned_min: f32,
    max_changed_frames: usize,
}

/// `[capture]` as read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapture {
    max_frame_bytes: usize,
    min_frame_interval_ms: u64,
    frame_interval_ms: u64,
    max_frame_interval_ms: u64,
    flash_frame_interval_ms: u64,
    max_repeated_frames: usize,
    max_clock_drift_ms: u64,
    idle_timeout_secs: u64,
    credit_timeout_ms: u64,
    frames_beyond_threads: usize,
    batch_max_faces: usize,
    batch_max_wait_ms: u64,
}

/// `[demo]` as read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDemo {
    enabled: bool,
}

/// The session settings, plus how long a new session's link may wait to be opened.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Each session's state machine settings.
    pub machine: SessionConfig,
    /// A capture link not opened within this is dead.
    pub open_within: Duration,
}

/// The capture endpoint's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureConfig {
    /// Largest frame accepted; larger ones are refused with a message, the session goes on.
    pub max_frame_bytes: usize,
    /// Frames closer together than this are dropped (`frame.too_fast`): the frame-rate cap.
    pub min_frame_interval: Duration,
    /// The frame interval asked of a page at the start.
    pub frame_interval: Duration,
    /// The longest interval the server asks for under load.
    pub max_frame_interval: Duration,
    /// The interval asked for while the screen flash shows its colours.
    pub flash_frame_interval: Duration,
    /// Stream integrity limits.
    pub integrity: super::integrity::IntegrityConfig,
    /// A connection silent for this long is closed (4408); the session may resume.
    pub idle_timeout: Duration,
    /// A credit the page has not used within this is withdrawn (its analysis slot goes to
    /// another session) and offered again.
    pub credit_timeout: Duration,
    /// Frames admitted to analysis at once beyond the pool's threads: a frame on its way from a
    /// page after its credit, so a core is not idle meanwhile.
    pub frames_beyond_threads: usize,
    /// Face crops embedded in one shared model run, across sessions.
    pub batch_max_faces: usize,
    /// How long the first crop of a batch waits for others.
    pub batch_max_wait: Duration,
}

/// Validates the three sections; `face_match` comes from `[face.match]`, `portrait_gate` from
/// `[face.portrait]`, `consensus` from `[mrz.consensus]`.
pub fn validate(
    s: RawSession,
    c: RawCapture,
    d: RawDemo,
    face_match: MatchPolicy,
    portrait_gate: PortraitGate,
    consensus: ConsensusConfig,
    passive: PassiveConfig,
) -> Result<(SessionSettings, CaptureConfig, bool), ConfigError> {
    let invalid = |key, problem, value: String| ConfigError::Invalid { key, problem, value };
    let secs = |key: &'static str, v: u64| {
        if v == 0 { Err(invalid(key, "must be at least 1", "0".into())) } else { Ok(Duration::from_secs(v)) }
    };
    let count =
        |key: &'static str, v: usize| if v == 0 { Err(invalid(key, "must be at least 1", "0".into())) } else { Ok(v) };
    let budget = secs("session.budget_secs", s.budget_secs)?;
    let ch = s.challenge;
    let mut actions = Vec::new();
    for name in &ch.actions {
        match ChallengeAction::parse(name) {
            Some(a) => actions.push(a),
            None if name == "blink" => {
                return Err(invalid(
                    "session.challenge.actions",
                    "blink cannot be measured yet (no eye-state model proven on real photos)",
                    name.clone(),
                ));
            }
            None => {
                return Err(invalid(
                    "session.challenge.actions",
                    "expected turn_left, turn_right, look_up or look_down",
                    name.clone(),
                ));
            }
        }
    }
    if actions.len() < 2 {
        return Err(invalid("session.challenge.actions", "needs at least two movements", ch.actions.join(",")));
    }
    if ch.min_steps == 0 || ch.min_steps > ch.max_steps {
        return Err(invalid("session.challenge.min_steps", "must be 1 to max_steps", ch.min_steps.to_string()));
    }
    if ch.pause_min_ms > ch.pause_max_ms {
        return Err(invalid(
            "session.challenge.pause_min_ms",
            "must not exceed pause_max_ms",
            ch.pause_min_ms.to_string(),
        ));
    }
    for (key, v) in [
        ("session.challenge.turn_deg", ch.turn_deg),
        ("session.challenge.nod_deg", ch.nod_deg),
        ("session.challenge.neutral_deg", ch.neutral_deg),
    ] {
        if !(v > 0.0 && v < 90.0) {
            return Err(invalid(key, "must be between 0 and 90 degrees", v.to_string()));
        }
    }
    if ch.neutral_deg >= ch.turn_deg.min(ch.nod_deg) {
        return Err(invalid(
            "session.challenge.neutral_deg",
            "must be below turn_deg and nod_deg",
            ch.neutral_deg.to_string(),
        ));
    }
    if !(-1.0..=1.0).contains(&ch.continuity_min) {
        return Err(invalid(
            "session.challenge.continuity_min",
            "must be a cosine in -1..=1",
            ch.continuity_min.to_string(),
        ));
    }
    if !(-1.0..=ch.continuity_min).contains(&ch.continuity_turned_min) {
        return Err(invalid(
            "session.challenge.continuity_turned_min",
            "must be a cosine in -1..=continuity_min",
            ch.continuity_turned_min.to_string(),
        ));
    }
    let fl = &s.flash;
    let mut colours = Vec::new();
    for name in &fl.colours {
        match FlashColour::parse(name) {
            Some(c) if !colours.contains(&c) => colours.push(c),
            Some(_) => return Err(invalid("session.flash.colours", "lists a colour twice", name.clone())),
            None => {
                return Err(invalid(
                    "session.flash.colours",
                    "expected red, green, blue, yellow, magenta or cyan",
                    name.clone(),
                ));
            }
        }
    }
    if colours.len() < 3 {
        return Err(invalid("session.flash.colours", "needs at least three colours", fl.colours.join(",")));
    }
    if fl.min_colours < 2 || fl.min_colours > fl.max_colours {
        return Err(invalid("session.flash.min_colours", "must be 2 to max_colours", fl.min_colours.to_string()));
    }
    if fl.colour_min_ms == 0 || fl.colour_min_ms > fl.colour_max_ms {
        return Err(invalid("session.flash.colour_min_ms", "must be 1 to colour_max_ms", fl.colour_min_ms.to_string()));
    }
    if fl.lead_in_min_ms > fl.lead_in_max_ms {
        return Err(invalid(
            "session.flash.lead_in_min_ms",
            "must be at most lead_in_max_ms",
            fl.lead_in_min_ms.to_string(),
        ));
    }
    if fl.max_step_ms <= fl.settle_ms + fl.lead_in_min_ms {
        return Err(invalid(
            "session.flash.max_step_ms",
            "must leave room for colours after lead_in_min_ms and settle_ms",
            fl.max_step_ms.to_string(),
        ));
    }
    if !(fl.review_correlation <= fl.pass_correlation && fl.pass_correlation <= 1.0) {
        return Err(invalid(
            "session.flash.review_correlation",
            "must be at most pass_correlation, itself at most 1",
            fl.review_correlation.to_string(),
        ));
    }
    if fl.min_gain.is_nan() || fl.min_gain <= 0.0 {
        return Err(invalid("session.flash.min_gain", "must be above 0", fl.min_gain.to_string()));
    }
    let flash = FlashConfig {
        enabled: fl.enabled,
        colours,
        min_colours: fl.min_colours,
        max_colours: fl.max_colours,
        min_colour: Duration::from_millis(fl.colour_min_ms),
        max_colour: Duration::from_millis(fl.colour_max_ms),
        frames_per_colour: fl.frames_per_colour,
        max_paced_colour: Duration::from_millis(fl.max_paced_colour_ms.max(fl.colour_max_ms)),
        max_step: Duration::from_millis(fl.max_step_ms),
        min_lead_in: Duration::from_millis(fl.lead_in_min_ms),
        max_lead_in: Duration::from_millis(fl.lead_in_max_ms),
        settle: Duration::from_millis(fl.settle_ms),
        max_lag: Duration::from_millis(fl.max_lag_ms),
        transition_guard: Duration::from_millis(fl.transition_guard_ms),
        min_frames: fl.min_frames,
        min_distinct: fl.min_distinct,
        pass_correlation: fl.pass_correlation,
        review_correlation: fl.review_correlation,
        min_gain: fl.min_gain,
    };
    let machine = SessionConfig {
        budget,
        document_budget: secs("session.document_secs", s.document_secs)?,
        document_front_budget: secs("session.document_front_secs", s.document_front_secs)?,
        face_budget: secs("session.face_secs", s.face_secs)?,
        challenge_budget: secs("session.challenge_secs", s.challenge_secs)?,
        consensus,
        refused_kind_frames: count("session.refused_kind_frames", s.refused_kind_frames)?,
        portrait_frames: count("session.portrait_frames", s.portrait_frames)?,
        portrait_max_frames: if s.portrait_max_frames < s.portrait_frames {
            return Err(invalid(
                "session.portrait_max_frames",
                "must be at least portrait_frames",
                s.portrait_max_frames.to_string(),
            ));
        } else {
            s.portrait_max_frames
        },
        portrait_gate,
        face_match,
        passive,
        challenge: ChallengeConfig {
            actions,
            min_steps: ch.min_steps,
            max_steps: ch.max_steps,
            window: Duration::from_millis(ch.window_ms.max(1)),
            hold_frames: count("session.challenge.hold_frames", ch.hold_frames)?,
            pause_min: Duration::from_millis(ch.pause_min_ms),
            pause_max: Duration::from_millis(ch.pause_max_ms),
            turn_deg: ch.turn_deg,
            nod_deg: ch.nod_deg,
            neutral_deg: ch.neutral_deg,
            continuity_min: ch.continuity_min,
            continuity_turned_min: ch.continuity_turned_min,
            max_changed_frames: count("session.challenge.max_changed_frames", ch.max_changed_frames)?,
        },
        flash,
    };
    let settings = SessionSettings { machine, open_within: secs("session.open_within_secs", s.open_within_secs)? };
    if c.max_frame_bytes < 1024 {
        return Err(invalid("capture.max_frame_bytes", "must be at least 1024", c.max_frame_bytes.to_string()));
    }
    if c.min_frame_interval_ms > c.frame_interval_ms || c.frame_interval_ms > c.max_frame_interval_ms {
        return Err(invalid(
            "capture.frame_interval_ms",
            "must lie between min_frame_interval_ms and max_frame_interval_ms",
            c.frame_interval_ms.to_string(),
        ));
    }
    let capture = CaptureConfig {
        max_frame_bytes: c.max_frame_bytes,
        min_frame_interval: Duration::from_millis(c.min_frame_interval_ms),
        frame_interval: Duration::from_millis(c.frame_interval_ms),
        max_frame_interval: Duration::from_millis(c.max_frame_interval_ms),
        flash_frame_interval: Duration::from_millis(c.flash_frame_interval_ms.max(c.min_frame_interval_ms)),
        integrity: super::integrity::IntegrityConfig {
            max_repeated_frames: c.max_repeated_frames,
            max_clock_drift: Duration::from_millis(c.max_clock_drift_ms.max(1)),
            max_backwards: 0,
        },
        idle_timeout: secs("capture.idle_timeout_secs", c.idle_timeout_secs)?,
        credit_timeout: Duration::from_millis(c.credit_timeout_ms.max(1)),
        frames_beyond_threads: c.frames_beyond_threads,
        batch_max_faces: count("capture.batch_max_faces", c.batch_max_faces)?,
        batch_max_wait: Duration::from_millis(c.batch_max_wait_ms),
    };
    Ok((settings, capture, d.enabled))
}
