//! The state machine: one session's steps, budgets and evidence, driven by inputs and drained
//! of outputs.
//!
//! Owns the order of the steps and when each ends; the rules inside a step belong to their own
//! modules (MRZ consensus in `vision::mrz`, the face match in `vision::face`, the challenge in
//! [`crate::challenge`], names in [`crate::identity`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mrz::{AcceptancePolicy, Format, MrzRead, Verdict};
use vision::face::{Embedding, LiveSample, MatchOutcome, decide};
use vision::frame::FrameId;
use vision::liveness::{PassiveAggregate, PassiveOutcome};
use vision::mrz::{ConsensusState, FrameVerdict, MrzConsensus};

use crate::challenge::{ChallengeAction, ChallengePlan, ChallengeTracker, Progress};
use crate::config::SessionConfig;
use crate::decision::{Decision, Outcome, Scores};
use crate::findings::{FaceFindings, Findings, HeadPose, PortraitFinding};
use crate::flash::{FlashColour, FlashPlan, FlashVerdict, SkinSample, score};
use crate::identity::{ExpectedIdentity, IdentityMatch, compare};
use crate::portraits::PortraitSet;

/// What the person is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show the document's MRZ side.
    Document,
    /// Turn the card over and show the portrait side.
    DocumentFront,
    /// Look at the camera.
    Face,
    /// Perform the movements asked for.
    Challenge,
    /// Nothing more: the decision is made.
    Done,
}

impl Step {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Document => "document",
            Step::DocumentFront => "document_front",
            Step::Face => "face",
            Step::Challenge => "challenge",
            Step::Done => "done",
        }
    }
}

/// Which camera the step wants, where the device has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Camera {
    /// The rear camera (documents).
    Environment,
    /// The front camera (the face).
    User,
}

impl Camera {
    /// The wire name (`facingMode` in the browser).
    pub fn as_str(self) -> &'static str {
        match self {
            Camera::Environment => "environment",
            Camera::User => "user",
        }
    }
}

/// What the next frame should be analysed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// The MRZ, and the portrait where the layout puts it on the MRZ side.
    Document,
    /// The portrait on a card's front.
    DocumentFront,
    /// The live face at the face step: quality, embedding, head pose, and whether the face is
    /// one printed on a document still in view (the portrait is no live face).
    Face,
    /// The live face during the challenge: quality, embedding, head pose.
    Challenge,
    /// Nothing: the session is decided.
    None,
}

/// Which piece of evidence a kept frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// The document (MRZ side) frame the reading settled on.
    Document,
    /// The frame whose portrait the match used.
    Portrait,
    /// The best live face frame.
    Face,
}

/// An instruction for the person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instruction {
    /// The step.
    pub step: Step,
    /// A hint code for the page (`mrz.too_blurry`, `document.turn_over`, ...), or none.
    pub code: Option<&'static str>,
    /// The movement asked for, during the challenge.
    pub challenge: Option<ChallengeAction>,
    /// The camera the step wants.
    pub camera: Camera,
    /// How far along the session is, 0 to 1.
    pub progress: f32,
    /// Time left in the step.
    pub step_remaining: Duration,
}

/// An input to the session.
#[derive(Debug, Clone)]
pub enum Input {
    /// The findings of one analysed frame, received at `at`.
    Findings {
        /// The frame's id.
        frame: FrameId,
        /// When the frame arrived.
        at: Instant,
        /// What its analysis found.
        findings: Findings,
    },
    /// Time has passed.
    Timeout(Instant),
    /// The frames' stream is not a live camera's (repeated frames, capture times that go
    /// backwards or run apart from arrival): decide `liveness.replay_detected` now.
    StreamRefused(Instant),
    /// The caller's record says the session's time is up (its link expired while no
    /// connection held it, say): decide `session.timeout` now.
    Expired(Instant),
}

/// An output of the session.
#[derive(Debug, Clone)]
pub enum Output {
    /// Tell the person something new.
    Instruction(Instruction),
    /// The hint for one analysed frame.
    Feedback {
        /// The frame.
        frame: FrameId,
        /// Its hint code, if any.
        code: Option<&'static str>,
    },
    /// Keep this frame as evidence of this kind (replacing the previous one of that kind).
    KeepEvidence {
        /// Which evidence.
        kind: EvidenceKind,
        /// The frame.
        frame: FrameId,
    },
    /// Show this colour full-screen around the face oval now (`None`: stop showing one).
    Flash(Option<FlashColour>),
    /// The decision; it comes once, and the session takes no more input after it.
    Decision(Box<Decision>),
    /// Nothing more now: call back with [`Input::Timeout`] at this instant at the latest.
    Timeout(Instant),
}

/// The screen flash of one session, once the face has matched.
#[derive(Debug)]
struct FlashRun {
    plan: FlashPlan,
    /// When each change was sent to the page (the first entry: the start, no colour).
    shown: Vec<(Instant, Option<FlashColour>)>,
    /// When the next change is due, and which step it is (`plan.steps.len()`: the end).
    next: (Instant, usize),
    /// When the check runs (set once the last colour is cleared).
    check_at: Option<Instant>,
    samples: Vec<SkinSample>,
}

/// One verification session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    expected: Option<ExpectedIdentity>,
    today: mrz::Date,
    plan: ChallengePlan,
    started: Instant,
    step: Step,
    step_started: Instant,
    consensus: MrzConsensus,
    refusals: usize,
    document: Option<MrzRead>,
    portraits: PortraitSet,
    /// Whether the match used portraits below the quality bars (the person could not do
    /// better within the bound): a match is then only a reviewer's to confirm.
    portrait_review: bool,
    live: Vec<LiveSample>,
    poses: Vec<HeadPose>,
    reference: Option<Embedding>,
    face_review: bool,
    tracker: Option<ChallengeTracker>,
    changed: usize,
    /// The screen flash under way, between the match and the challenge.
    flash: Option<FlashRun>,
    /// The face step's last frames' skin colours (the flash's baseline).
    skin_before: Vec<SkinSample>,
    /// The flash drawn for this session.
    flash_plan: FlashPlan,
    /// Whether the flash check asked for a reviewer.
    flash_review: bool,
    /// Similarities to the reference of the challenge frames facing the camera.
    facing: Vec<f32>,
    /// The passive presentation-attack layer over the live face's frames, face step to end.
    passive: PassiveAggregate,
    scores: Scores,
    used: Vec<FrameId>,
    last: Option<Instruction>,
    outputs: VecDeque<Output>,
}

impl Session {
    /// A new session started at `now`. `seed` draws the challenge and the screen flash (the
    /// caller takes it from a secure random source); `today` is the date documents are checked against.
    pub fn new(
        config: SessionConfig,
        expected: Option<ExpectedIdentity>,
        seed: u64,
        today: mrz::Date,
        now: Instant,
    ) -> Session {
        let plan = ChallengePlan::draw(&config.challenge, seed);
        let flash_plan = FlashPlan::draw(&config.flash, seed);
        let consensus = MrzConsensus::new(today, config.consensus);
        let passive = PassiveAggregate::new(config.passive);
        // The connection keeps as many portrait frames' pixels as evidence candidates.
        let portraits = PortraitSet::keeping(config.portrait_max_frames);
        let mut session = Session {
            scores: Scores { challenge: plan.steps.iter().map(|s| s.1).collect(), ..Scores::default() },
            config,
            expected,
            today,
            plan,
            started: now,
            step: Step::Document,
            step_started: now,
            consensus,
            refusals: 0,
            document: None,
            portraits,
            portrait_review: false,
            live: Vec::new(),
            poses: Vec::new(),
            reference: None,
            face_review: false,
            tracker: None,
            changed: 0,
            flash: None,
            flash_plan,
            skin_before: Vec::new(),
            flash_review: false,
            facing: Vec::new(),
            passive,
            used: Vec::new(),
            last: None,
            outputs: VecDeque::new(),
        };
        session.instruct(None, now);
        session
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// What the next frame should be analysed for.
    pub fn analysis(&self) -> Analysis {
        match self.step {
            Step::Document => Analysis::Document,
            Step::DocumentFront => Analysis::DocumentFront,
            // During the flash the match is made: only the face's colour is read.
            Step::Face if self.flash.is_some() => Analysis::Challenge,
            Step::Face => Analysis::Face,
            Step::Challenge => Analysis::Challenge,
            Step::Done => Analysis::None,
        }
    }

    /// The last instruction sent (for a client that reconnects).
    pub fn last_instruction(&self) -> Option<Instruction> {
        self.last
    }

    /// The session's budget left at `now`.
    pub fn remaining(&self, now: Instant) -> Duration {
        (self.started + self.config.budget).saturating_duration_since(now)
    }

    /// Whether the decision has been made.
    pub fn is_decided(&self) -> bool {
        self.step == Step::Done
    }

    /// Feeds one input.
    pub fn handle_input(&mut self, input: Input) {
        if self.step == Step::Done {
            return;
        }
        match input {
            Input::Timeout(now) => self.on_time(now),
            Input::Expired(now) => self.decide_now(Outcome::Rejected, vec!["session.timeout"], now),
            Input::StreamRefused(now) => self.decide_now(Outcome::Rejected, vec!["liveness.replay_detected"], now),
            Input::Findings { frame, at, findings } => {
                self.on_time(at);
                if self.step == Step::Done {
                    return;
                }
                // The frame's feedback goes before what it caused (an instruction, the decision).
                let at_queue = self.outputs.len();
                let code = match (self.step, findings) {
                    (Step::Document, Findings::Document { mrz, portrait }) => {
                        self.on_document(frame, &mrz, portrait, at)
                    }
                    (Step::DocumentFront, Findings::DocumentFront(portrait)) => self.on_front(frame, portrait, at),
                    (Step::Face, Findings::Face(face)) => self.on_face(frame, face, at),
                    (Step::Challenge, Findings::Face(face)) => self.on_challenge(frame, face, at),
                    // Analysed for a step that has since ended: nothing to learn.
                    _ => None,
                };
                self.outputs.insert(at_queue, Output::Feedback { frame, code });
            }
        }
    }

    /// The next output; [`Output::Timeout`] when there is nothing more for now.
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        Output::Timeout(self.next_deadline())
    }

    fn next_deadline(&self) -> Instant {
        let session_end = self.started + self.config.budget;
        if self.step == Step::Done {
            return session_end;
        }
        let step_end = self.step_started + self.step_budget();
        let mut next = session_end.min(step_end);
        if let Some(t) = self.tracker.as_ref().and_then(|t| t.deadline(&self.config.challenge)) {
            next = next.min(t);
        }
        if let Some(f) = &self.flash {
            next = next.min(f.check_at.unwrap_or(f.next.0));
        }
        next
    }

    fn step_budget(&self) -> Duration {
        match self.step {
            Step::Document => self.config.document_budget,
            Step::DocumentFront => self.config.document_front_budget,
            Step::Face => self.config.face_budget,
            Step::Challenge => self.config.challenge_budget,
            Step::Done => Duration::ZERO,
        }
    }

    fn on_time(&mut self, now: Instant) {
        if now >= self.started + self.config.budget {
            return self.decide_now(Outcome::Rejected, vec!["session.timeout"], now);
        }
        if now >= self.step_started + self.step_budget() {
            // The document is read and portraits were seen, none good enough: the best of them
            // is used (the decision then goes to review) rather than the session lost.
            let read = self.document.is_some();
            if matches!(self.step, Step::Document | Step::DocumentFront) && read && self.portraits.seen() > 0 {
                return self.enter(Step::Face, None, now);
            }
            let reason = match self.step {
                // Read, but no portrait seen in the step's time.
                Step::Document if read => "document.portrait_not_found",
                Step::Document if self.consensus.frames() > 0 => "mrz.unreadable",
                Step::Document | Step::Face => "session.timeout",
                Step::DocumentFront => "document.portrait_not_found",
                Step::Challenge => "liveness.challenge_failed",
                Step::Done => return,
            };
            return self.decide_now(Outcome::Rejected, vec![reason], now);
        }
        self.flash_time(now);
        if self.step == Step::Done {
            return;
        }
        if let Some(tracker) = &mut self.tracker
            && let Progress::Failed(reason) = tracker.tick(now, &self.config.challenge)
        {
            self.decide_now(Outcome::Rejected, vec![reason], now);
        }
    }

    /// Starts the screen flash (the face has matched): colours at drawn times, then the check.
    fn start_flash(&mut self, now: Instant) {
        // Each colour lasts long enough for this device's frames to see it a few times.
        let intervals: Vec<Duration> =
            self.skin_before.windows(2).map(|w| w[1].at.saturating_duration_since(w[0].at)).collect();
        let plan = self.flash_plan.paced(median_duration(intervals), &self.config.flash);
        self.scores.flash = plan.steps.iter().map(|s| s.0).collect();
        let first = now + plan.lead_in;
        // The last frames before the flash show the face under no colour (its baseline).
        let samples = std::mem::take(&mut self.skin_before);
        let since = samples.first().map_or(now, |s| s.at.min(now));
        self.flash = Some(FlashRun { plan, shown: vec![(since, None)], next: (first, 0), check_at: None, samples });
        self.instruct(Some("flash.hold_still"), now);
    }

    /// Time passing during the flash: the next colour is due, or the check.
    fn flash_time(&mut self, now: Instant) {
        let Some(run) = &mut self.flash else { return };
        if let Some(check_at) = run.check_at {
            if now < check_at {
                return;
            }
            let s = score(&run.shown, &run.samples, &self.config.flash);
            self.scores.flash_score = Some(s);
            self.flash = None;
            match s.verdict(&self.config.flash) {
                FlashVerdict::Reflected => {}
                FlashVerdict::Uncertain => self.flash_review = true,
                FlashVerdict::NotReflected => {
                    // A photo reflects nothing either: the passive layer may say so too.
                    let mut reasons = vec!["liveness.replay_detected"];
                    if self.judge_passive() == PassiveOutcome::Attack {
                        reasons.push("liveness.presentation_attack");
                    }
                    return self.decide_now(Outcome::Rejected, reasons, now);
                }
            }
            return self.start_challenge(now);
        }
        // One change per call at most: a late timer sends the colours late, and the check
        // uses the instants they were really sent.
        let (due, index) = run.next;
        if now < due {
            return;
        }
        match run.plan.steps.get(index) {
            Some(&(colour, length)) => {
                run.shown.push((now, Some(colour)));
                run.next = (now + length, index + 1);
                self.outputs.push_back(Output::Flash(Some(colour)));
            }
            None => {
                run.shown.push((now, None));
                run.check_at = Some(now + self.config.flash.settle);
                self.outputs.push_back(Output::Flash(None));
            }
        }
    }

    fn on_document(
        &mut self,
        frame: FrameId,
        read: &vision::mrz::MrzFrameRead,
        portrait: PortraitFinding,
        now: Instant,
    ) -> Option<&'static str> {
        let verdict = self.consensus.add(frame, read);
        let parsed = read.read();
        if verdict == FrameVerdict::Confirmed {
            self.outputs.push_back(Output::KeepEvidence { kind: EvidenceKind::Document, frame });
        }
        // A refused kind of document (a driving licence) ends the session at once, without
        // waiting for a fully checked reading: no reading of it could be accepted.
        if let Some(read) = parsed
            && let Verdict::Refuse(code) = AcceptancePolicy::standard().verdict(read.kind)
            && read.kind != mrz::DocumentKind::Unknown
        {
            self.refusals += 1;
            self.used.push(frame);
            if self.refusals >= self.config.refused_kind_frames.max(1) {
                self.document = Some(read.clone());
                self.decide_now(Outcome::Rejected, vec![code.as_str()], now);
                return None;
            }
        }
        let portrait_hint = self.note_portrait(frame, portrait);
        self.scores.mrz_frames = self.consensus.frames();
        if self.document.is_none() {
            match self.consensus.state() {
                ConsensusState::Settled(settled) => {
                    self.used.extend(settled.evidence.iter().copied());
                    let best = settled.reading;
                    let acceptance = AcceptancePolicy::standard().evaluate(&best, self.today);
                    let reasons: Vec<&'static str> = dedup(acceptance.reasons().iter().map(|r| r.code.as_str()));
                    if !acceptance.is_accepted() {
                        self.document = Some(best);
                        self.decide_now(Outcome::Rejected, reasons, now);
                        return None;
                    }
                    let portrait_behind = best.format == Format::Td1;
                    self.document = Some(best);
                    if portrait_behind {
                        // Portraits seen so far were not on this side (a TD1 card's MRZ is on the
                        // back).
                        self.portraits.clear();
                        self.enter(Step::DocumentFront, Some("document.turn_over"), now);
                        return Some("document.turn_over");
                    }
                }
                ConsensusState::Failed(failed) => {
                    self.used.extend(failed.frames.iter().copied());
                    let reasons = match dedup(failed.reasons.iter().map(|r| r.code.as_str())) {
                        r if r.is_empty() => vec!["mrz.unreadable"],
                        r => r,
                    };
                    self.document = failed.reading;
                    self.decide_now(Outcome::Rejected, reasons, now);
                    return None;
                }
                _ => {}
            }
        }
        if self.document.is_some() {
            if self.portraits.is_ready(self.config.portrait_frames, self.config.portrait_max_frames) {
                self.enter(Step::Face, None, now);
                return None;
            }
            // This frame's portrait met the bars: one more like it; else what to change.
            let hint = portrait_hint.unwrap_or("document.hold_still");
            self.instruct(Some(hint), now);
            return Some(hint);
        }
        let code = match verdict {
            FrameVerdict::Unreadable(issue) | FrameVerdict::Used { issue: Some(issue) } => mrz_code(issue.as_str()),
            _ if parsed.is_some() => Some("document.hold_still"),
            _ => Some("mrz.not_found"),
        };
        self.instruct(code, now);
        code
    }

    fn on_front(&mut self, frame: FrameId, portrait: PortraitFinding, now: Instant) -> Option<&'static str> {
        let hint = self.note_portrait(frame, portrait);
        if self.portraits.is_ready(self.config.portrait_frames, self.config.portrait_max_frames) {
            self.enter(Step::Face, None, now);
            return None;
        }
        // A portrait that met the bars: one more like it; else what to change.
        let code = hint.unwrap_or("document.hold_still");
        self.instruct(Some(code), now);
        Some(code)
    }

    /// Adds a frame's portrait to the set, held to the bars; returns the hint for the person
    /// when it is below them (`document.portrait_too_small`, ...) or missing.
    fn note_portrait(&mut self, frame: FrameId, portrait: PortraitFinding) -> Option<&'static str> {
        match portrait {
            PortraitFinding::Found { embedding, quality } => {
                self.portraits.add(frame, embedding, quality, &self.config.portrait_gate).map(|issue| issue.code())
            }
            PortraitFinding::Missing(code) => Some(code),
        }
    }

    fn on_face(&mut self, frame: FrameId, mut face: FaceFindings, now: Instant) -> Option<&'static str> {
        if let Some(measured) = face.passive.take() {
            self.passive.add(measured);
        }
        if let Some(run) = &mut self.flash {
            // The flash is under way: every face frame's skin colour is a sample (quality
            // issues do not matter to a colour), the match is made.
            if let Some(rgb) = face.skin {
                run.samples.push(SkinSample { at: now, rgb });
                self.used.push(frame);
            }
            return Some("flash.hold_still");
        }
        // The face's own colour before the flash: the baseline its check compares with.
        if let Some(rgb) = face.skin {
            self.skin_before.push(SkinSample { at: now, rgb });
            let keep = self.skin_before.len().saturating_sub(8);
            self.skin_before.drain(..keep);
        }
        if let Some(issue) = face.issue {
            self.instruct(Some(issue), now);
            return Some(issue);
        }
        let Some(embedding) = face.embedding else {
            self.instruct(Some("face.not_found"), now);
            return Some("face.not_found");
        };
        let best_rank = self.live.iter().map(|s| s.rank).fold(f32::NEG_INFINITY, f32::max);
        if face.rank > best_rank {
            self.outputs.push_back(Output::KeepEvidence { kind: EvidenceKind::Face, frame });
        }
        self.live.push(LiveSample { frame, rank: face.rank, embedding });
        if let Some(pose) = face.pose {
            self.poses.push(pose);
        }
        if self.live.len() < self.config.face_match.frames.max(self.config.face_match.min_frames).max(1) {
            self.instruct(Some("face.hold_still"), now);
            return Some("face.hold_still");
        }
        let choice = match self.portraits.choose(self.config.portrait_frames) {
            Ok(Some(choice)) => choice,
            Ok(None) => {
                // Unreachable through the steps (the face step starts with portraits); still no
                // panic on a bug: the session cannot decide without one.
                self.decide_now(Outcome::Rejected, vec!["document.portrait_not_found"], now);
                return None;
            }
            Err(_) => {
                // Portraits embedded by different models: a configuration fault.
                self.decide_now(Outcome::Review, vec!["face.comparison_failed"], now);
                return None;
            }
        };
        if let Some(&best) = choice.frames.first() {
            self.outputs.push_back(Output::KeepEvidence { kind: EvidenceKind::Portrait, frame: best });
        }
        let decision = match decide(&choice.embedding, &self.live, &self.config.face_match) {
            Ok(d) => d,
            Err(_) => {
                // The portrait and the live face were embedded by different models: a
                // configuration fault, never the person's. A reviewer looks at the evidence.
                self.decide_now(Outcome::Review, vec!["face.comparison_failed"], now);
                return None;
            }
        };
        self.scores.face_similarity = decision.score;
        self.scores.face_similarities = decision.compared.iter().map(|c| c.score).collect();
        self.scores.face_threshold = Some(decision.threshold);
        self.scores.portrait_frames = choice.frames.len();
        self.used.extend(choice.frames.iter().copied());
        self.used.extend(decision.compared.iter().map(|c| c.frame));
        match decision.outcome {
            // A portrait below the bars proves too little either way: a person looks, whatever
            // the score (a blurred print scores genuine holders low and may score others high).
            MatchOutcome::Match | MatchOutcome::NoMatch if choice.below_bars => self.portrait_review = true,
            MatchOutcome::Match => {}
            MatchOutcome::Review => {
                self.face_review = true;
                self.portrait_review = choice.below_bars;
            }
            MatchOutcome::NoMatch => {
                self.decide_now(Outcome::Rejected, vec!["face.no_match"], now);
                return None;
            }
            _ => {
                self.instruct(Some("face.hold_still"), now);
                return Some("face.hold_still");
            }
        }
        // The person the challenge must keep seeing: the best-ranked live frame.
        self.reference = self.live.iter().max_by(|a, b| a.rank.total_cmp(&b.rank)).map(|s| s.embedding.clone());
        if self.config.flash.enabled {
            self.start_flash(now);
            return Some("flash.hold_still");
        }
        self.start_challenge(now);
        None
    }

    fn start_challenge(&mut self, now: Instant) {
        let frontal = median_pose(&self.poses).unwrap_or(HeadPose { yaw_deg: 0.0, pitch_deg: 0.0 });
        self.tracker = Some(ChallengeTracker::new(self.plan.clone(), frontal, now));
        self.enter(Step::Challenge, None, now);
    }

    fn on_challenge(&mut self, frame: FrameId, mut face: FaceFindings, now: Instant) -> Option<&'static str> {
        if let Some(measured) = face.passive.take() {
            self.passive.add(measured);
        }
        // The same person throughout: a frame with no face, or with someone else's, counts
        // against the sequence.
        let similarity = match (&face.embedding, &self.reference) {
            (Some(e), Some(r)) => e.cosine(r).ok(),
            _ => None,
        };
        if let Some(s) = similarity {
            self.scores.continuity_min = Some(self.scores.continuity_min.map_or(s, |m| m.min(s)));
        }
        // A turned head embeds less like the frontal reference: its frames meet a lower bar.
        let turned = match (&self.tracker, face.pose) {
            (Some(t), Some(p)) => t.is_turned(p, &self.config.challenge),
            _ => false,
        };
        let bar =
            if turned { self.config.challenge.continuity_turned_min } else { self.config.challenge.continuity_min };
        let same = similarity.is_some_and(|s| s >= bar);
        if let (Some(s), false, Some(_)) = (similarity, turned, face.pose) {
            self.facing.push(s);
        }
        self.changed = if same { 0 } else { self.changed + 1 };
        self.used.push(frame);
        if self.changed >= self.config.challenge.max_changed_frames.max(1) {
            self.decide_now(Outcome::Rejected, vec!["liveness.challenge_failed"], now);
            return None;
        }
        let Some(tracker) = &mut self.tracker else { return None };
        let pose = if same { face.pose } else { None };
        let progress = tracker.observe(pose, now, &self.config.challenge);
        let code = match progress {
            Progress::Same => self.last.and_then(|l| l.code),
            Progress::BackToCentre => Some("challenge.back_to_centre"),
            Progress::Ask(_) => None,
            Progress::Holding => Some("challenge.hold"),
            Progress::Passed => {
                self.scores.challenge_reached = tracker.reached.clone();
                // Frame by frame a turned stranger can pass the lower bar; facing the camera,
                // the frames as a whole must be the face step's person.
                if median(&self.facing).is_some_and(|m| m < self.config.challenge.continuity_min) {
                    self.decide_now(Outcome::Rejected, vec!["liveness.challenge_failed"], now);
                    return None;
                }
                self.finish(now);
                return None;
            }
            Progress::Failed(reason) => {
                self.scores.challenge_reached = tracker.reached.clone();
                self.decide_now(Outcome::Rejected, vec![reason], now);
                return None;
            }
        };
        self.instruct(code, now);
        code
    }

    /// The passive layer's verdict over the frames so far, kept in the scores.
    fn judge_passive(&mut self) -> PassiveOutcome {
        let verdict = self.passive.verdict();
        let outcome = verdict.outcome;
        self.scores.passive = Some(verdict);
        outcome
    }

    /// Every step passed: the passive layer, the identity and the match's band decide between
    /// rejected, accepted and review.
    fn finish(&mut self, now: Instant) {
        let mut reasons = Vec::new();
        let mut outcome = Outcome::Accepted;
        match self.judge_passive() {
            PassiveOutcome::Live => {}
            PassiveOutcome::Attack => {
                return self.decide_now(Outcome::Rejected, vec!["liveness.presentation_attack"], now);
            }
            // A doubtful signal, or too few frames to judge: a person looks.
            PassiveOutcome::Borderline => {
                outcome = Outcome::Review;
                reasons.push("liveness.passive_uncertain");
            }
        }
        if let (Some(expected), Some(document)) = (&self.expected, &self.document) {
            match compare(document, expected) {
                IdentityMatch::Same => {}
                IdentityMatch::NameMismatch => {
                    outcome = Outcome::Review;
                    reasons.push("identity.name_mismatch");
                }
                IdentityMatch::BirthDateMismatch => {
                    return self.decide_now(Outcome::Rejected, vec!["identity.birth_date_mismatch"], now);
                }
            }
        }
        if self.face_review {
            outcome = Outcome::Review;
            reasons.push("face.uncertain_match");
        }
        if self.portrait_review {
            outcome = Outcome::Review;
            reasons.push("face.portrait_low_quality");
        }
        if self.flash_review {
            outcome = Outcome::Review;
            reasons.push("liveness.flash_uncertain");
        }
        self.decide_now(outcome, reasons, now);
    }

    fn decide_now(&mut self, outcome: Outcome, reasons: Vec<&'static str>, now: Instant) {
        if self.step == Step::Done {
            return;
        }
        self.step = Step::Done;
        self.step_started = now;
        self.tracker = None;
        if self.flash.take().is_some_and(|f| f.shown.iter().any(|s| s.1.is_some()) && f.check_at.is_none()) {
            self.outputs.push_back(Output::Flash(None));
        }
        if self.scores.passive.is_none() && self.passive.frames() > 0 {
            self.judge_passive();
        }
        let mut used = std::mem::take(&mut self.used);
        used.sort_unstable();
        used.dedup();
        let decision = Decision {
            outcome,
            reasons,
            identity: self.document.take().map(Box::new),
            scores: std::mem::take(&mut self.scores),
            frames: used,
            elapsed: now.saturating_duration_since(self.started),
        };
        self.instruct(None, now);
        self.outputs.push_back(Output::Decision(Box::new(decision)));
    }

    fn enter(&mut self, step: Step, code: Option<&'static str>, now: Instant) {
        self.step = step;
        self.step_started = now;
        self.instruct(code, now);
    }

    /// Queues an instruction for the current step when it differs from the last one.
    fn instruct(&mut self, code: Option<&'static str>, now: Instant) {
        let challenge = self.tracker.as_ref().and_then(ChallengeTracker::asked);
        let camera = match self.step {
            Step::Document | Step::DocumentFront => Camera::Environment,
            _ => Camera::User,
        };
        let instruction = Instruction {
            step: self.step,
            code,
            challenge,
            camera,
            progress: self.progress(),
            step_remaining: (self.step_started + self.step_budget()).saturating_duration_since(now),
        };
        let changed = self.last.is_none_or(|l| (l.step, l.code, l.challenge) != (instruction.step, code, challenge));
        if changed {
            self.last = Some(instruction);
            self.outputs.push_back(Output::Instruction(instruction));
        }
    }

    fn progress(&self) -> f32 {
        match self.step {
            Step::Document => 0.05,
            Step::DocumentFront => 0.3,
            Step::Face => 0.5,
            Step::Challenge => {
                let done = self.tracker.as_ref().map_or(0, |t| t.reached.len()) as f32;
                0.7 + 0.25 * done / self.plan.steps.len().max(1) as f32
            }
            Step::Done => 1.0,
        }
    }

    /// The date documents are checked against.
    pub fn today(&self) -> mrz::Date {
        self.today
    }
}

/// The page's code for a reader quality issue (`too_blurry` -> `mrz.too_blurry`).
fn mrz_code(issue: &str) -> Option<&'static str> {
    Some(match issue {
        "too_blurry" => "mrz.too_blurry",
        "glare" => "mrz.glare",
        "too_small" => "mrz.too_small",
        "cut_off" => "mrz.cut_off",
        "not_found" => "mrz.not_found",
        _ => "mrz.unreadable",
    })
}

fn dedup(codes: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in codes {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn median_duration(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn median(values: &[f32]) -> Option<f32> {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

fn median_pose(poses: &[HeadPose]) -> Option<HeadPose> {
    if poses.is_empty() {
        return None;
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    Some(HeadPose {
        yaw_deg: median(poses.iter().map(|p| p.yaw_deg).collect()),
        pitch_deg: median(poses.iter().map(|p| p.pitch_deg).collect()),
    })
}

#[cfg(test)]
mod tests;
