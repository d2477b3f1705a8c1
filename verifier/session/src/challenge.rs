//! The head-movement challenge: a random sequence of movements, each asked for at a random
//! moment, to be reached within its window and held for a few frames.
//!
//! A recording cannot know the order or the timing in advance, so a replayed video performs the
//! wrong movement or the right one at the wrong time. Poses are measured from the person's own
//! frontal pose (the face step's median), since people and cameras differ in what "straight"
//! reads as. The plan is drawn from a seed the caller gives (the server draws it from the OS's
//! randomness), so tests can replay one.

use std::time::{Duration, Instant};

use crate::config::ChallengeConfig;
use crate::findings::HeadPose;

/// One movement the person is asked to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeAction {
    /// Turn the head to the person's left.
    TurnLeft,
    /// Turn the head to the person's right.
    TurnRight,
    /// Look up.
    LookUp,
    /// Look down.
    LookDown,
}

impl ChallengeAction {
    /// The wire name, e.g. `turn_left`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeAction::TurnLeft => "turn_left",
            ChallengeAction::TurnRight => "turn_right",
            ChallengeAction::LookUp => "look_up",
            ChallengeAction::LookDown => "look_down",
        }
    }

    /// Parses a wire name; `blink` is not a movement the service can measure yet (the face mesh
    /// barely moves its eyelid points when the eyes close), so it is not accepted.
    pub fn parse(name: &str) -> Option<ChallengeAction> {
        Some(match name {
            "turn_left" => ChallengeAction::TurnLeft,
            "turn_right" => ChallengeAction::TurnRight,
            "look_up" => ChallengeAction::LookUp,
            "look_down" => ChallengeAction::LookDown,
            _ => return None,
        })
    }
}

/// Where a pose stands relative to the frontal pose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Posture {
    /// Facing the camera.
    Neutral,
    /// Clearly performing this movement.
    Doing(ChallengeAction),
    /// In between.
    Between,
}

/// Classifies `pose` against `frontal`.
pub(crate) fn posture(pose: HeadPose, frontal: HeadPose, config: &ChallengeConfig) -> Posture {
    let yaw = pose.yaw_deg - frontal.yaw_deg;
    let pitch = pose.pitch_deg - frontal.pitch_deg;
    if yaw.abs() <= config.neutral_deg && pitch.abs() <= config.neutral_deg {
        return Posture::Neutral;
    }
    // The dominant axis, each measured against its own threshold.
    let yaw_part = yaw.abs() / config.turn_deg;
    let pitch_part = pitch.abs() / config.nod_deg;
    if yaw_part >= 1.0 && yaw_part >= pitch_part {
        return Posture::Doing(if yaw > 0.0 { ChallengeAction::TurnLeft } else { ChallengeAction::TurnRight });
    }
    if pitch_part >= 1.0 {
        return Posture::Doing(if pitch > 0.0 { ChallengeAction::LookUp } else { ChallengeAction::LookDown });
    }
    Posture::Between
}

/// A small deterministic generator (SplitMix64): the plan only needs to be unpredictable to
/// the client, and the seed already is.
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64) -> Draw {
        Draw(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform between two durations.
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(if span == 0 { 0 } else { self.next() % (span + 1) })
    }
}

/// The drawn sequence: movements in order, and the pause before each is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengePlan {
    /// The movements, in order; never the same one twice in a row.
    pub steps: Vec<(Duration, ChallengeAction)>,
}

impl ChallengePlan {
    /// Draws a plan from `seed`.
    pub fn draw(config: &ChallengeConfig, seed: u64) -> ChallengePlan {
        let mut draw = Draw::new(seed);
        let span = config.max_steps.saturating_sub(config.min_steps) + 1;
        let count = config.min_steps.max(1) + draw.below(span);
        let mut steps: Vec<(Duration, ChallengeAction)> = Vec::with_capacity(count);
        for _ in 0..count {
            let choices: Vec<ChallengeAction> =
                config.actions.iter().copied().filter(|a| steps.last().is_none_or(|(_, last)| last != a)).collect();
            if choices.is_empty() {
                break;
            }
            let action = choices[draw.below(choices.len())];
            steps.push((draw.between(config.pause_min, config.pause_max), action));
        }
        ChallengePlan { steps }
    }
}

/// What one challenge frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing to tell.
    Same,
    /// Waiting for the person to face the camera before the next movement.
    BackToCentre,
    /// A movement is asked for (send the instruction).
    Ask(ChallengeAction),
    /// The movement is seen; keep holding it.
    Holding,
    /// Every movement was performed.
    Passed,
    /// The sequence was not followed (wrong movement held, or a window ran out).
    Failed(&'static str),
}

/// Where the challenge stands.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeTracker {
    plan: ChallengePlan,
    frontal: HeadPose,
    index: usize,
    phase: Phase,
    /// When each movement was reached, from its request.
    pub(crate) reached: Vec<(ChallengeAction, Duration)>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Pausing until `until`, then asking once the head is neutral.
    Pause {
        until: Instant,
        asked_centre: bool,
    },
    /// Asked at `since`; `held` frames in a row show it, `wrong` frames in a row show another.
    Asked {
        since: Instant,
        held: usize,
        wrong: usize,
    },
    Done,
}

impl ChallengeTracker {
    pub(crate) fn new(plan: ChallengePlan, frontal: HeadPose, now: Instant) -> ChallengeTracker {
        let first = plan.steps.first().map_or(Duration::ZERO, |s| s.0);
        ChallengeTracker {
            plan,
            frontal,
            index: 0,
            phase: Phase::Pause { until: now + first, asked_centre: false },
            reached: Vec::new(),
        }
    }

    /// Whether `pose` is away from the person's frontal pose (not `Neutral`).
    pub(crate) fn is_turned(&self, pose: HeadPose, config: &ChallengeConfig) -> bool {
        posture(pose, self.frontal, config) != Posture::Neutral
    }

    /// The movement currently asked for.
    pub(crate) fn asked(&self) -> Option<ChallengeAction> {
        match self.phase {
            Phase::Asked { .. } => self.plan.steps.get(self.index).map(|s| s.1),
            _ => None,
        }
    }

    /// When the tracker needs the time next (the end of a window).
    pub(crate) fn deadline(&self, config: &ChallengeConfig) -> Option<Instant> {
        match self.phase {
            // Movements are asked for when a frame shows the head facing the camera; the time
            // matters only when none does.
            Phase::Pause { until, .. } => Some(until + config.window),
            Phase::Asked { since, .. } => Some(since + config.window),
            Phase::Done => None,
        }
    }

    /// Time passing: a window that ran out fails the challenge (also a pause the person never
    /// ends by facing the camera).
    pub(crate) fn tick(&mut self, now: Instant, config: &ChallengeConfig) -> Progress {
        match self.phase {
            Phase::Asked { since: start, .. } | Phase::Pause { until: start, .. } if now >= start + config.window => {
                self.phase = Phase::Done;
                Progress::Failed("liveness.challenge_failed")
            }
            _ => Progress::Same,
        }
    }

    /// One analysed face frame's pose (`None`: no face seen).
    pub(crate) fn observe(&mut self, pose: Option<HeadPose>, now: Instant, config: &ChallengeConfig) -> Progress {
        if let p @ Progress::Failed(_) = self.tick(now, config) {
            return p;
        }
        let posture = pose.map(|p| posture(p, self.frontal, config));
        match self.phase {
            Phase::Done => Progress::Same,
            Phase::Pause { until, asked_centre } => {
                if posture == Some(Posture::Neutral) && now >= until {
                    self.phase = Phase::Asked { since: now, held: 0, wrong: 0 };
                    Progress::Ask(self.plan.steps[self.index].1)
                } else if posture != Some(Posture::Neutral) && !asked_centre && now >= until {
                    self.phase = Phase::Pause { until, asked_centre: true };
                    Progress::BackToCentre
                } else {
                    Progress::Same
                }
            }
            Phase::Asked { since, held, wrong } => {
                let action = self.plan.steps[self.index].1;
                match posture {
                    Some(Posture::Doing(a)) if a == action => {
                        let held = held + 1;
                        if held < config.hold_frames.max(1) {
                            self.phase = Phase::Asked { since, held, wrong: 0 };
                            return Progress::Holding;
                        }
                        self.reached.push((action, now.saturating_duration_since(since)));
                        self.index += 1;
                        match self.plan.steps.get(self.index) {
                            Some(&(pause, _)) => {
                                self.phase = Phase::Pause { until: now + pause, asked_centre: false };
                                Progress::BackToCentre
                            }
                            None => {
                                self.phase = Phase::Done;
                                Progress::Passed
                            }
                        }
                    }
                    Some(Posture::Doing(_)) => {
                        let wrong = wrong + 1;
                        if wrong >= config.hold_frames.max(1) {
                            self.phase = Phase::Done;
                            return Progress::Failed("liveness.challenge_failed");
                        }
                        self.phase = Phase::Asked { since, held: 0, wrong };
                        Progress::Same
                    }
                    _ => {
                        self.phase = Phase::Asked { since, held: 0, wrong: 0 };
                        Progress::Same
                    }
                }
            }
        }
    }
}

/// How a recorded challenge went ([`replay`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeReplay {
    /// `None` when every movement was performed; else the reason code the session would give
    /// (`liveness.challenge_failed`).
    pub failed: Option<&'static str>,
    /// Each movement and the frame's instant at which it was asked.
    pub asked: Vec<(ChallengeAction, Instant)>,
    /// Each movement performed, and how long after its request it was reached.
    pub reached: Vec<(ChallengeAction, Duration)>,
}

/// Replays a recorded session's challenge: the movements of `steps`, each asked no earlier than
/// its instant and, as in a session, only once a frame shows the head facing the camera, against
/// the frames' poses (`None`: no face, or not the same person) measured from `frontal`, with the
/// session's own tracker. Frames that end before the challenge is decided leave the time
/// running: the window of the movement under way then fails it, as in a session whose frames
/// stop. An empty `steps` asks for nothing and passes.
pub fn replay(
    steps: &[(Instant, ChallengeAction)],
    frontal: HeadPose,
    frames: &[(Instant, Option<HeadPose>)],
    config: &ChallengeConfig,
) -> ChallengeReplay {
    let mut out = ChallengeReplay { failed: None, asked: Vec::new(), reached: Vec::new() };
    let Some(&(first, _)) = steps.first() else { return out };
    let plan = ChallengePlan { steps: steps.iter().map(|&(_, a)| (Duration::ZERO, a)).collect() };
    let mut tracker = ChallengeTracker::new(plan, frontal, first);
    let mut decided = None;
    for &(at, pose) in frames {
        // The session pauses from the last movement reached; the recording says when it asked.
        if let (Phase::Pause { until, asked_centre }, Some(&(want, _))) = (tracker.phase, steps.get(tracker.index))
            && until < want
        {
            tracker.phase = Phase::Pause { until: want, asked_centre };
        }
        match tracker.observe(pose, at, config) {
            Progress::Ask(a) => out.asked.push((a, at)),
            Progress::Passed => {
                decided = Some(None);
                break;
            }
            Progress::Failed(reason) => {
                decided = Some(Some(reason));
                break;
            }
            _ => {}
        }
    }
    out.failed = match decided {
        Some(failed) => failed,
        // No more frames: time runs on to the window's end.
        None => match tracker.deadline(config).map(|end| tracker.tick(end, config)) {
            Some(Progress::Failed(reason)) => Some(reason),
            _ => Some("liveness.challenge_failed"),
        },
    };
    out.reached = tracker.reached;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionConfig;

    fn config() -> ChallengeConfig {
        SessionConfig::example().challenge
    }

    const FRONT: HeadPose = HeadPose { yaw_deg: 2.0, pitch_deg: -3.0 };

    fn pose_for(action: Option<ChallengeAction>) -> HeadPose {
        let (y, p) = match action {
            None => (0.0, 0.0),
            Some(ChallengeAction::TurnLeft) => (25.0, 0.0),
            Some(ChallengeAction::TurnRight) => (-25.0, 0.0),
            Some(ChallengeAction::LookUp) => (0.0, 18.0),
            Some(ChallengeAction::LookDown) => (0.0, -18.0),
        };
        HeadPose { yaw_deg: FRONT.yaw_deg + y, pitch_deg: FRONT.pitch_deg + p }
    }

    #[test]
    fn postures_are_measured_from_the_persons_own_frontal_pose() {
        let c = config();
        for a in
            [ChallengeAction::TurnLeft, ChallengeAction::TurnRight, ChallengeAction::LookUp, ChallengeAction::LookDown]
        {
            assert_eq!(posture(pose_for(Some(a)), FRONT, &c), Posture::Doing(a));
        }
        assert_eq!(posture(pose_for(None), FRONT, &c), Posture::Neutral);
        // 12 degrees of yaw: past neutral, short of a turn.
        assert_eq!(posture(HeadPose { yaw_deg: 14.0, pitch_deg: -3.0 }, FRONT, &c), Posture::Between);
    }

    #[test]
    fn plans_vary_with_the_seed_and_never_repeat_a_movement_in_a_row() {
        let c = config();
        let plans: Vec<ChallengePlan> = (0..64).map(|s| ChallengePlan::draw(&c, s)).collect();
        for p in &plans {
            assert!((c.min_steps..=c.max_steps).contains(&p.steps.len()), "{p:?}");
            assert!(p.steps.windows(2).all(|w| w[0].1 != w[1].1), "{p:?}");
            assert!(p.steps.iter().all(|s| s.0 >= c.pause_min && s.0 <= c.pause_max));
        }
        let firsts: std::collections::HashSet<_> = plans.iter().map(|p| p.steps[0].1).collect();
        assert_eq!(firsts.len(), 4, "every movement comes first for some seed");
        assert_eq!(ChallengePlan::draw(&c, 9), ChallengePlan::draw(&c, 9));
    }

    /// Plays `poses` (one frame every 100 ms, `None` = the movement asked for) and returns
    /// the last progress that was not `Same`.
    fn play(seed: u64, script: impl Fn(Option<ChallengeAction>) -> Option<HeadPose>) -> Progress {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let mut tracker = ChallengeTracker::new(ChallengePlan::draw(&c, seed), FRONT, t0);
        let mut last = Progress::Same;
        for i in 1..400u64 {
            let now = t0 + Duration::from_millis(100 * i);
            let p = tracker.observe(script(tracker.asked()), now, &c);
            if p != Progress::Same {
                last = p;
            }
            if matches!(p, Progress::Passed | Progress::Failed(_)) {
                break;
            }
        }
        last
    }

    #[test]
    fn a_person_who_follows_the_movements_passes() {
        for seed in 0..16 {
            assert_eq!(play(seed, |asked| Some(pose_for(asked))), Progress::Passed, "seed {seed}");
        }
    }

    #[test]
    fn ignoring_the_challenge_or_doing_another_movement_fails() {
        for seed in 0..16 {
            assert_eq!(play(seed, |_| Some(pose_for(None))), Progress::Failed("liveness.challenge_failed"));
            assert_eq!(play(seed, |_| None), Progress::Failed("liveness.challenge_failed"));
            let opposite = |a: Option<ChallengeAction>| {
                Some(pose_for(a.map(|a| match a {
                    ChallengeAction::TurnLeft => ChallengeAction::TurnRight,
                    ChallengeAction::TurnRight => ChallengeAction::TurnLeft,
                    ChallengeAction::LookUp => ChallengeAction::LookDown,
                    ChallengeAction::LookDown => ChallengeAction::LookUp,
                })))
            };
            assert_eq!(play(seed, opposite), Progress::Failed("liveness.challenge_failed"));
        }
    }

    /// Frames every 100 ms for `secs` seconds from `t0`, each showing `pose_at(ms)`.
    fn recorded(
        t0: Instant,
        secs: u64,
        pose_at: impl Fn(u64) -> Option<ChallengeAction>,
    ) -> Vec<(Instant, Option<HeadPose>)> {
        (0..secs * 10).map(|i| (t0 + Duration::from_millis(100 * i), Some(pose_for(pose_at(100 * i))))).collect()
    }

    #[test]
    fn a_replayed_challenge_passes_when_the_frames_follow_it_in_time() {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let steps = [(ms(1000), ChallengeAction::TurnLeft), (ms(4000), ChallengeAction::LookUp)];
        // The person turns 600 ms after each request, holds a second, comes back.
        let person = |m: u64| match m {
            1600..=2600 => Some(ChallengeAction::TurnLeft),
            4600..=5600 => Some(ChallengeAction::LookUp),
            _ => None,
        };
        let r = replay(&steps, FRONT, &recorded(t0, 8, person), &c);
        assert_eq!(r.failed, None, "{r:?}");
        assert_eq!(r.asked, vec![(ChallengeAction::TurnLeft, ms(1000)), (ChallengeAction::LookUp, ms(4000))]);
        assert_eq!(
            r.reached.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![ChallengeAction::TurnLeft, ChallengeAction::LookUp]
        );
        assert_eq!(r.reached[0].1, Duration::from_millis(700), "reached on the second frame held");
    }

    #[test]
    fn a_replayed_challenge_fails_on_another_plan_early_movements_or_frames_that_stop() {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let person = |m: u64| match m {
            1600..=2600 => Some(ChallengeAction::TurnLeft),
            4600..=5600 => Some(ChallengeAction::LookUp),
            _ => None,
        };
        let frames = recorded(t0, 8, person);
        // Another session's plan: the recording turns the wrong way.
        let other = [(ms(1000), ChallengeAction::TurnRight), (ms(4000), ChallengeAction::LookUp)];
        assert_eq!(replay(&other, FRONT, &frames, &c).failed, Some("liveness.challenge_failed"));
        // Asked after the recording's movement: it came too early, and the second never comes.
        let late = [(ms(3000), ChallengeAction::TurnLeft), (ms(6000), ChallengeAction::LookUp)];
        let r = replay(&late, FRONT, &frames, &c);
        assert_eq!(r.failed, Some("liveness.challenge_failed"), "{r:?}");
        assert!(r.reached.is_empty(), "{r:?}");
        // The frames stop before the second movement: its window runs out.
        let short = recorded(t0, 3, person);
        let steps = [(ms(1000), ChallengeAction::TurnLeft), (ms(4000), ChallengeAction::LookUp)];
        let r = replay(&steps, FRONT, &short, &c);
        assert_eq!(r.failed, Some("liveness.challenge_failed"), "{r:?}");
        assert_eq!(r.reached.len(), 1, "{r:?}");
        // Nothing asked: nothing to fail.
        assert_eq!(replay(&[], FRONT, &frames, &c).failed, None);
    }

    #[test]
    fn a_recording_that_performs_a_fixed_sequence_fails_most_plans() {
        // A video that turns left, then right, on its own schedule.
        let c = config();
        let mut passed = 0;
        for seed in 0..64 {
            #[allow(clippy::disallowed_methods)] // the test's epoch
            let t0 = Instant::now();
            let mut tracker = ChallengeTracker::new(ChallengePlan::draw(&c, seed), FRONT, t0);
            for i in 1..200u64 {
                let now = t0 + Duration::from_millis(100 * i);
                let scripted = match (i / 15) % 4 {
                    1 => Some(ChallengeAction::TurnLeft),
                    3 => Some(ChallengeAction::TurnRight),
                    _ => None,
                };
                match tracker.observe(Some(pose_for(scripted)), now, &c) {
                    Progress::Passed => {
                        passed += 1;
                        break;
                    }
                    Progress::Failed(_) => break,
                    _ => {}
                }
            }
        }
        assert!(passed <= 8, "a fixed recording passed {passed} of 64 plans");
    }
}
