//! The session-level verdict of the passive layer: per-frame measurements in, `Live`, `Attack`
//! or `Borderline` out, with each signal's value and what it said.
//!
//! Each signal is reduced over the session's frames by its median (one odd frame, a blink, a
//! JPEG hiccup, does not decide), then compared with its thresholds in [`PassiveConfig`]:
//! beyond the attack threshold it fails the session; between the review and attack thresholds
//! it sends the session to review (`Borderline`); otherwise it passes. A signal that could not
//! be measured (no model, a plain wall behind the head, too few moving frames) says nothing.
//! Any failing signal makes the verdict `Attack`; else any doubtful one, or too few frames,
//! makes it `Borderline`; else `Live`.

use super::framing::{Framing, framing};
use super::motion::{MotionPatch, MotionStep, motion_between, motion_patch};
use super::spectrum::{banding_peak, moire_peak};
use super::{Grey, ModelScore};
use crate::face::FaceBox;
use crate::frame::{Frame, FrameId};

/// The passive layer's thresholds; the server builds it from `[liveness.passive]`, where each
/// value's measurement is noted (and `docs/thresholds.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassiveConfig {
    /// Frames measured before the layer gives `Live` (fewer: `Borderline`).
    pub min_frames: usize,
    /// The models' median "real" probability below which the face is an attack.
    pub model_attack_below: f32,
    /// Below this (and not below `model_attack_below`): review.
    pub model_review_below: f32,
    /// The median moire peak (log10 of the strongest component over typical) above which the
    /// face is on a screen (or a halftone print).
    pub moire_attack_above: f32,
    /// Above this (and not above `moire_attack_above`): review.
    pub moire_review_above: f32,
    /// The median banding peak (log10) above which the face is on a flickering screen.
    pub banding_attack_above: f32,
    /// A side of the face counts as framed by a straight edge with at least this support.
    pub framing_min_support: f32,
    /// An edge point of a print's or screen's outline: the image steps by at least this many
    /// grey levels (0 to 255) across the line.
    pub framing_min_step: f32,
    /// The median number of framed sides at or above which the face is on a print or screen.
    pub framing_attack_sides: f32,
    /// At or above this (and below `framing_attack_sides`): review.
    pub framing_review_sides: f32,
    /// The face's 90th-percentile motion between consecutive frames (face widths) below which
    /// it never moved: a still image.
    pub still_below: f32,
    /// A step counts for rigidity when the face moved at least this far (face widths).
    pub rigidity_min_face_motion: f32,
    /// A patch is tracked only where the grey values' standard deviation is at least this
    /// (0 to 255): flat wall or skin gives no motion to measure.
    pub motion_min_texture: f32,
    /// Steps needed before rigidity says anything.
    pub rigidity_min_steps: usize,
    /// The median rigidity (the share of the face's motion its background shares) above which
    /// face and background are one flat sheet.
    pub rigidity_attack_above: f32,
    /// Above this (and not above `rigidity_attack_above`): review.
    pub rigidity_review_above: f32,
}

impl PassiveConfig {
    /// The values shipped in `verifier/server/config/default.toml` (`[liveness.passive]`), for
    /// tests and examples; the service reads its configuration instead (a test checks that the
    /// two agree).
    pub fn shipped() -> Self {
        PassiveConfig {
            min_frames: 4,
            model_attack_below: 0.003,
            model_review_below: 0.003,
            moire_attack_above: 2.4,
            moire_review_above: 2.4,
            banding_attack_above: 5.0,
            framing_min_support: 0.60,
            framing_min_step: 12.0,
            framing_attack_sides: 5.0,
            framing_review_sides: 5.0,
            still_below: 0.003,
            rigidity_min_face_motion: 0.012,
            motion_min_texture: 3.0,
            rigidity_min_steps: 2,
            rigidity_attack_above: 1.1,
            rigidity_review_above: 1.1,
        }
    }
}

/// What one frame showed of the face, from [`measure_frame`]. Its `Debug` prints no pixels.
#[derive(Debug, Clone)]
pub struct PassiveFrame {
    /// Which frame.
    pub frame: FrameId,
    /// The models' score, when they ran.
    pub model: Option<ModelScore>,
    /// The moire peak (log10), when the face is large enough.
    pub moire: Option<f32>,
    /// The banding peak (log10), when the face is large enough.
    pub banding: Option<f32>,
    /// Straight edges framing the face.
    pub framing: Framing,
    patch: Option<MotionPatch>,
}

/// Measures one frame's face (`face`: the detector's box, frame pixels) for the passive layer;
/// `model` is [`super::AntiSpoof::score`]'s result on the same frame and box, when the models
/// ran. Pure CPU work (a few milliseconds at 720p): call it on the analysis pool.
pub fn measure_frame(
    frame: FrameId,
    image: &Frame,
    face: &FaceBox,
    model: Option<ModelScore>,
    config: &PassiveConfig,
) -> PassiveFrame {
    let grey = Grey::from_frame(image);
    PassiveFrame {
        frame,
        model,
        moire: moire_peak(&grey, face),
        banding: banding_peak(&grey, face),
        framing: framing(&grey, face, config.framing_min_step),
        patch: motion_patch(&grey, face),
    }
}

/// What a signal said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalVerdict {
    /// Within the live range.
    Pass,
    /// Between the review and attack thresholds.
    Doubt,
    /// Beyond the attack threshold.
    Fail,
    /// Not measured on this session.
    Unmeasured,
}

/// One signal's session value and verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// `model`, `moire`, `banding`, `framing`, `still`, `rigidity`.
    pub name: &'static str,
    /// The session's value (see [`PassiveEvidence`] for each one's meaning).
    pub value: Option<f32>,
    /// What it said.
    pub verdict: SignalVerdict,
}

/// The session's values of every signal.
#[derive(Debug, Clone, PartialEq)]
pub struct PassiveEvidence {
    /// Frames measured.
    pub frames: usize,
    /// Median of the models' "real" probability, 0..=1.
    pub model_real: Option<f32>,
    /// Median moire peak, log10 of the strongest component over the typical at its frequency.
    pub moire: Option<f32>,
    /// Median banding peak, log10.
    pub banding: Option<f32>,
    /// Median number of sides of the face framed by a straight edge, 0..=4.
    pub framed_sides: Option<f32>,
    /// 90th percentile of the face's motion between consecutive frames, face widths.
    pub face_motion: Option<f32>,
    /// Median share of the face's motion its background shared, over the steps that counted.
    pub rigidity: Option<f32>,
    /// Steps that counted for rigidity.
    pub rigidity_steps: usize,
    /// Each signal's verdict, in a fixed order.
    pub signals: Vec<Signal>,
}

/// The passive layer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassiveOutcome {
    /// No signal doubts the face is live.
    Live,
    /// A signal says the face is a presentation attack (`liveness.presentation_attack`).
    Attack,
    /// A signal is doubtful, or too few frames were measured: send to review.
    Borderline,
}

impl PassiveOutcome {
    /// The wire name: `live`, `attack`, `borderline`.
    pub fn as_str(self) -> &'static str {
        match self {
            PassiveOutcome::Live => "live",
            PassiveOutcome::Attack => "attack",
            PassiveOutcome::Borderline => "borderline",
        }
    }
}

/// The verdict and the evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct PassiveVerdict {
    /// Live, attack or borderline.
    pub outcome: PassiveOutcome,
    /// What each signal measured and said.
    pub evidence: PassiveEvidence,
}

/// The passive layer over one session: [`PassiveAggregate::add`] each quality-selected frame's
/// [`PassiveFrame`] in capture order, then [`PassiveAggregate::verdict`] at decision time.
#[derive(Debug, Clone)]
pub struct PassiveAggregate {
    config: PassiveConfig,
    frames: Vec<PassiveFrame>,
    steps: Vec<MotionStep>,
    last_patch: Option<MotionPatch>,
}

impl PassiveAggregate {
    /// An empty session.
    pub fn new(config: PassiveConfig) -> Self {
        Self { config, frames: Vec::new(), steps: Vec::new(), last_patch: None }
    }

    /// Adds the next frame (frames in capture order; the motion is measured against the
    /// previous one). Only the newest frame's patch is kept.
    pub fn add(&mut self, mut frame: PassiveFrame) {
        if let Some(patch) = frame.patch.take() {
            if let Some(step) =
                self.last_patch.as_ref().and_then(|last| motion_between(last, &patch, self.config.motion_min_texture))
            {
                self.steps.push(step);
            }
            self.last_patch = Some(patch);
        }
        self.frames.push(frame);
    }

    /// Frames added so far.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The verdict over the frames added so far.
    pub fn verdict(&self) -> PassiveVerdict {
        let c = &self.config;
        let median = |mut v: Vec<f32>| -> Option<f32> {
            v.retain(|x| x.is_finite());
            v.sort_by(f32::total_cmp);
            (!v.is_empty()).then(|| v[v.len() / 2])
        };
        let model_real = median(self.frames.iter().filter_map(|f| f.model.map(|m| m.real)).collect());
        let moire = median(self.frames.iter().filter_map(|f| f.moire).collect());
        let banding = median(self.frames.iter().filter_map(|f| f.banding).collect());
        let framed_sides =
            median(self.frames.iter().map(|f| f.framing.framed_sides(c.framing_min_support) as f32).collect());
        let face_motion = {
            let mut d: Vec<f32> = self.steps.iter().map(|s| s.face_distance()).collect();
            d.sort_by(f32::total_cmp);
            (!d.is_empty()).then(|| d[((d.len() - 1) as f32 * 0.9).round() as usize])
        };
        let rigid: Vec<f32> = self.steps.iter().filter_map(|s| s.rigidity(c.rigidity_min_face_motion)).collect();
        let rigidity_steps = rigid.len();
        let rigidity = if rigidity_steps >= c.rigidity_min_steps { median(rigid) } else { None };

        let above = |v: Option<f32>, attack: f32, review: f32| match v {
            None => SignalVerdict::Unmeasured,
            Some(v) if v > attack => SignalVerdict::Fail,
            Some(v) if v > review => SignalVerdict::Doubt,
            Some(_) => SignalVerdict::Pass,
        };
        let model = match model_real {
            None => SignalVerdict::Unmeasured,
            Some(v) if v < c.model_attack_below => SignalVerdict::Fail,
            Some(v) if v < c.model_review_below => SignalVerdict::Doubt,
            Some(_) => SignalVerdict::Pass,
        };
        let framing = match framed_sides {
            None => SignalVerdict::Unmeasured,
            Some(v) if v >= c.framing_attack_sides => SignalVerdict::Fail,
            Some(v) if v >= c.framing_review_sides => SignalVerdict::Doubt,
            Some(_) => SignalVerdict::Pass,
        };
        let still = match face_motion {
            None => SignalVerdict::Unmeasured,
            Some(v) if v < c.still_below => SignalVerdict::Fail,
            Some(_) => SignalVerdict::Pass,
        };
        let signals = vec![
            Signal { name: "model", value: model_real, verdict: model },
            Signal { name: "moire", value: moire, verdict: above(moire, c.moire_attack_above, c.moire_review_above) },
            Signal {
                name: "banding",
                value: banding,
                verdict: above(banding, c.banding_attack_above, c.banding_attack_above),
            },
            Signal { name: "framing", value: framed_sides, verdict: framing },
            Signal { name: "still", value: face_motion, verdict: still },
            Signal {
                name: "rigidity",
                value: rigidity,
                verdict: above(rigidity, c.rigidity_attack_above, c.rigidity_review_above),
            },
        ];
        let outcome = if signals.iter().any(|s| s.verdict == SignalVerdict::Fail) {
            PassiveOutcome::Attack
        } else if self.frames.len() < c.min_frames || signals.iter().any(|s| s.verdict == SignalVerdict::Doubt) {
            PassiveOutcome::Borderline
        } else {
            PassiveOutcome::Live
        };
        PassiveVerdict {
            outcome,
            evidence: PassiveEvidence {
                frames: self.frames.len(),
                model_real,
                moire,
                banding,
                framed_sides,
                face_motion,
                rigidity,
                rigidity_steps,
                signals,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(model: Option<f32>, moire: f32, sides: [f32; 4]) -> PassiveFrame {
        PassiveFrame {
            frame: FrameId(0),
            model: model.map(|real| ModelScore { real, min_real: real }),
            moire: Some(moire),
            banding: Some(0.5),
            framing: Framing { sides },
            patch: None,
        }
    }

    /// Thresholds with every signal switched on and a review band (the shipped ones switch some
    /// off, see docs/thresholds.md); the logic is what is tested here.
    fn config() -> PassiveConfig {
        PassiveConfig {
            min_frames: 4,
            model_attack_below: 0.10,
            model_review_below: 0.30,
            moire_attack_above: 1.50,
            moire_review_above: 1.30,
            banding_attack_above: 1.60,
            framing_min_support: 0.60,
            framing_min_step: 12.0,
            framing_attack_sides: 3.0,
            framing_review_sides: 2.0,
            still_below: 0.004,
            rigidity_min_face_motion: 0.012,
            motion_min_texture: 3.0,
            rigidity_min_steps: 2,
            rigidity_attack_above: 0.65,
            rigidity_review_above: 0.45,
        }
    }

    fn check(
        frames: Vec<PassiveFrame>,
        steps: &[([f32; 2], Option<[f32; 2]>)],
        expect: PassiveOutcome,
        failing: &[&str],
    ) {
        let mut agg = PassiveAggregate::new(config());
        for f in frames {
            agg.add(f);
        }
        agg.steps = steps.iter().map(|&(face, background)| MotionStep { face, background }).collect();
        let v = agg.verdict();
        assert_eq!(v.outcome, expect, "{:?}", v.evidence);
        let failed: Vec<&str> =
            v.evidence.signals.iter().filter(|s| s.verdict == SignalVerdict::Fail).map(|s| s.name).collect();
        assert_eq!(failed, failing, "{:?}", v.evidence);
    }

    const LIVE_STEPS: [([f32; 2], Option<[f32; 2]>); 4] = [
        ([0.03, 0.01], Some([0.0, 0.0])),
        ([-0.02, 0.0], Some([0.001, 0.0])),
        ([0.05, 0.02], None),
        ([0.02, 0.0], Some([0.0, 0.0])),
    ];

    #[test]
    fn a_live_session() {
        check(vec![frame(Some(0.9), 0.8, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Live, &[]);
    }

    #[test]
    fn one_bad_frame_does_not_decide() {
        let mut frames = vec![frame(Some(0.9), 0.8, [0.2; 4]); 5];
        frames.push(frame(Some(0.01), 3.0, [1.0; 4]));
        check(frames, &LIVE_STEPS, PassiveOutcome::Live, &[]);
    }

    #[test]
    fn each_signal_fails_on_its_own() {
        check(vec![frame(Some(0.05), 0.8, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Attack, &["model"]);
        check(vec![frame(Some(0.9), 2.0, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Attack, &["moire"]);
        check(vec![frame(Some(0.9), 0.8, [0.9, 0.9, 0.9, 0.1]); 6], &LIVE_STEPS, PassiveOutcome::Attack, &["framing"]);
        let still = [([0.0, 0.0], Some([0.0, 0.0])); 5];
        check(vec![frame(Some(0.9), 0.8, [0.2; 4]); 6], &still, PassiveOutcome::Attack, &["still"]);
        let sheet = [([0.03, 0.01], Some([0.03, 0.01])), ([-0.02, 0.0], Some([-0.019, 0.0])), ([0.0, 0.002], None)];
        check(vec![frame(Some(0.9), 0.8, [0.2; 4]); 6], &sheet, PassiveOutcome::Attack, &["rigidity"]);
    }

    #[test]
    fn doubts_and_thin_sessions_go_to_review() {
        check(vec![frame(Some(0.2), 0.8, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Borderline, &[]);
        check(vec![frame(Some(0.9), 0.8, [0.9, 0.9, 0.1, 0.1]); 6], &LIVE_STEPS, PassiveOutcome::Borderline, &[]);
        check(vec![frame(Some(0.9), 0.8, [0.2; 4]); 2], &LIVE_STEPS, PassiveOutcome::Borderline, &[]);
    }

    #[test]
    fn without_models_the_other_signals_still_decide() {
        check(vec![frame(None, 0.8, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Live, &[]);
        check(vec![frame(None, 2.5, [0.2; 4]); 6], &LIVE_STEPS, PassiveOutcome::Attack, &["moire"]);
    }
}
