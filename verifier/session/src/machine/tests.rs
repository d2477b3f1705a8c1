//! Session tests on simulated time: a scripted person answers each instruction with the
//! findings a frame of them would give.

use std::time::{Duration, Instant};

use vision::face::{Embedding, FaceBox, PortraitQuality};
use vision::frame::{Frame, FrameId};
use vision::liveness::{ModelScore, PassiveConfig, PassiveFrame, measure_frame};
use vision::mrz::{FoundZone, MrzFrameRead, MrzLine, MrzLocation, QualityIssue, ZoneReading};

use super::*;
use crate::challenge::ChallengeAction;
use crate::config::SessionConfig;
use crate::flash::FlashColour;

const PASSPORT: [&str; 2] =
    ["P<NLDERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36NLD7408122F1204159ZE184226B<<<<<10"];
const ID_CARD: [&str; 3] =
    ["I<NLDD231458907<<<<<<<<<<<<<<<", "7408122F1204159NLD<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
const LICENCE: [&str; 1] = ["D1FRA13AA000026181231MARTIN<<9"];

fn today() -> mrz::Date {
    mrz::Date::new(2011, 6, 1).expect("a valid date")
}

/// A frame's MRZ read of `lines`, each character certain.
fn mrz_frame(lines: &[&str]) -> MrzFrameRead {
    mrz_frame_on(lines, today())
}

/// The same, parsed on `day`; a read that is not trustworthy says `unreadable`.
fn mrz_frame_on(lines: &[&str], day: mrz::Date) -> MrzFrameRead {
    let zone = FoundZone {
        location: MrzLocation { corners: [[0.0; 2]; 4], pitch_px: 10.0 },
        lines: lines.iter().map(|l| MrzLine { alternatives: l.bytes().map(|b| vec![(b, 0.0)]).collect() }).collect(),
        sharpness: 0.5,
    };
    MrzFrameRead::Found { zone, reading: ZoneReading::new(mrz::parse(lines, day), || QualityIssue::Unreadable) }
}

/// A unit embedding at `deg` degrees: cosine with another is the cosine of the angle between.
fn person(deg: f32) -> Embedding {
    let r = deg.to_radians();
    Embedding::new("test-model", vec![r.cos(), r.sin()]).expect("a unit vector")
}

const HOLDER: f32 = 0.0;
/// A portrait over the example's bars (30 px between the eyes, sharpness 1), and ones below.
const SHARP: (f32, f32) = (60.0, 3.0);
const SMALL: (f32, f32) = (18.0, 3.0);
const BLURRED: (f32, f32) = (60.0, 0.4);

fn portrait_of(p: &Person) -> PortraitFinding {
    let (eye_distance_px, sharpness) = p.portrait_quality;
    PortraitFinding::Found {
        embedding: person(p.portrait),
        quality: PortraitQuality { eye_distance_px, sharpness, detector_score: 0.9 },
    }
}
const STRANGER: f32 = 80.0;

/// How the scripted person behaves.
#[derive(Clone, Copy)]
struct Person {
    document: &'static [&'static str],
    /// Who stands in front of the camera (an angle, see `person`).
    face: f32,
    /// Who is printed on the document.
    portrait: f32,
    /// How the portrait comes out in the frames: eye distance (frame pixels) and sharpness.
    portrait_quality: (f32, f32),
    follows_challenge: bool,
    /// Whether the face takes on the screen's colour (a live face does; a replayed recording,
    /// an injected stream or a photo does not).
    reflects_flash: bool,
    /// What the passive layer sees of the face.
    surface: Surface,
}

/// What the passive presentation-attack layer sees in front of the camera.
#[derive(Clone, Copy, PartialEq)]
enum Surface {
    /// A live head, moving a little before a still room; the models say real.
    Live,
    /// One picture for every frame: nothing moves.
    Still,
    /// A moving face the models are sure is a print.
    Print,
    /// Frames the passive layer did not measure.
    Unmeasured,
}

const GENUINE: Person = Person {
    document: &PASSPORT,
    face: HOLDER,
    portrait: HOLDER,
    portrait_quality: SHARP,
    follows_challenge: true,
    reflects_flash: true,
    surface: Surface::Live,
};

/// A value 0..=255 from a pixel position: texture that matches only where it belongs.
fn noise(x: u32, y: u32, salt: u32) -> u32 {
    let h = (x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263) ^ salt).wrapping_mul(2_246_822_519);
    (h ^ (h >> 15)) >> 24
}

/// Frame `i` of `surface` as the passive layer measures it: a textured face box in front of a
/// textured room, the face shifted by a few pixels from frame to frame unless it is `Still`.
fn passive_frame(i: u64, surface: Surface) -> Option<PassiveFrame> {
    // The five placements are measured once (the pixels are the slow part), then stamped.
    static MEASURED: std::sync::OnceLock<Vec<PassiveFrame>> = std::sync::OnceLock::new();
    let measured = MEASURED.get_or_init(|| {
        (0..5u32)
            .map(|k| {
                let shift = k * 2;
                let face = FaceBox { x: (130 + shift) as f32, y: 90.0, width: 60.0, height: 70.0 };
                let image = image::RgbImage::from_fn(320, 240, |x, y| {
                    let inside = (130 + shift..190 + shift).contains(&x) && (90..160).contains(&y);
                    let v = if inside { 110 + noise(x - shift, y, 1) / 3 } else { 40 + noise(x, y, 2) / 2 } as u8;
                    image::Rgb([v, v.saturating_sub(20), v.saturating_sub(35)])
                });
                measure_frame(FrameId(0), &Frame::from_rgb(image), &face, None, &PassiveConfig::shipped())
            })
            .collect()
    });
    let (placement, real) = match surface {
        Surface::Live => ((i * 7 % 5) as usize, 0.9),
        Surface::Print => ((i * 7 % 5) as usize, 0.0005),
        Surface::Still => (0, 0.9),
        Surface::Unmeasured => return None,
    };
    let mut frame = measured[placement].clone();
    frame.frame = FrameId(i);
    frame.model = Some(ModelScore { real, min_real: real });
    Some(frame)
}

/// A face's skin under the screen's `light`, when it reflects it (8 % of the screen's colour).
fn skin(light: Option<FlashColour>, reflects: bool) -> [f32; 3] {
    let base = [170.0, 125.0, 105.0];
    match light.filter(|_| reflects) {
        Some(c) => std::array::from_fn(|k| base[k] * 0.92 + f32::from(c.rgb()[k]) * 0.08),
        None => base,
    }
}

fn face_findings(i: u64, p: &Person, pose: HeadPose, light: Option<FlashColour>) -> Findings {
    Findings::Face(FaceFindings {
        issue: None,
        rank: 1.0,
        embedding: Some(person(p.face)),
        pose: Some(pose),
        skin: Some(skin(light, p.reflects_flash)),
        passive: passive_frame(i, p.surface),
    })
}

fn pose_for(action: Option<ChallengeAction>) -> HeadPose {
    let (yaw_deg, pitch_deg) = match action {
        None => (1.0, -2.0),
        Some(ChallengeAction::TurnLeft) => (28.0, -2.0),
        Some(ChallengeAction::TurnRight) => (-26.0, 0.0),
        Some(ChallengeAction::LookUp) => (2.0, 17.0),
        Some(ChallengeAction::LookDown) => (0.0, -19.0),
    };
    HeadPose { yaw_deg, pitch_deg }
}

/// Runs a session with `p` (one frame every 100 ms) until it decides; returns the decision
/// and every instruction sent.
fn run(p: Person, expected: Option<ExpectedIdentity>, seed: u64) -> (Decision, Vec<Instruction>) {
    run_with(SessionConfig::example(), p, expected, seed, |_, f| Some(f))
}

fn run_with(
    config: SessionConfig,
    p: Person,
    expected: Option<ExpectedIdentity>,
    seed: u64,
    tamper: impl Fn(u64, Findings) -> Option<Findings>,
) -> (Decision, Vec<Instruction>) {
    #[allow(clippy::disallowed_methods)] // the test's epoch; the session never reads the clock
    let t0 = Instant::now();
    let mut session = Session::new(config, expected, seed, today(), t0);
    let mut instructions = Vec::new();
    let mut light = None;
    for i in 1..3000u64 {
        let now = t0 + Duration::from_millis(100 * i);
        loop {
            match session.poll_output() {
                Output::Instruction(ins) => instructions.push(ins),
                Output::Flash(colour) => light = colour,
                Output::Decision(d) => return (*d, instructions),
                Output::Feedback { .. } | Output::KeepEvidence { .. } => {}
                Output::Timeout(at) => {
                    assert!(at > now - Duration::from_millis(100), "deadlines lie ahead");
                    break;
                }
            }
        }
        let asked = session.last_instruction().and_then(|l| l.challenge);
        let findings = match session.analysis() {
            Analysis::Document => Findings::Document {
                mrz: Box::new(mrz_frame(p.document)),
                portrait: if p.document.len() == 3 {
                    PortraitFinding::Missing("document.portrait_not_found")
                } else {
                    portrait_of(&p)
                },
            },
            Analysis::DocumentFront => Findings::DocumentFront(portrait_of(&p)),
            Analysis::Face | Analysis::Challenge => {
                let pose = if p.follows_challenge { pose_for(asked) } else { pose_for(None) };
                face_findings(i, &p, pose, light)
            }
            Analysis::None => unreachable!("the loop returns at the decision"),
        };
        if let Some(findings) = tamper(i, findings) {
            session.handle_input(Input::Findings { frame: FrameId(i), at: now, findings });
        } else {
            session.handle_input(Input::Timeout(now));
        }
    }
    panic!("no decision in 300 simulated seconds");
}

fn check(p: Person, expected: Option<ExpectedIdentity>, outcome: Outcome, reasons: &[&str]) {
    for seed in [1, 2, 3, 40, 41] {
        let (d, _) = run(p, expected.clone(), seed);
        assert_eq!((d.outcome, d.reasons.as_slice()), (outcome, reasons), "seed {seed}: {d:?}");
    }
}

fn expected(surname: &str, given: &str) -> Option<ExpectedIdentity> {
    Some(ExpectedIdentity { surname: surname.into(), given_names: given.into(), birth_date: None })
}

#[test]
fn a_genuine_passport_holder_is_accepted() {
    check(GENUINE, expected("Eriksson", "Anna Maria"), Outcome::Accepted, &[]);
    let (d, instructions) = run(GENUINE, None, 5);
    let steps: Vec<Step> = instructions.iter().map(|i| i.step).collect();
    for step in [Step::Document, Step::Face, Step::Challenge, Step::Done] {
        assert!(steps.contains(&step), "{step:?} in {steps:?}");
    }
    assert!(!steps.contains(&Step::DocumentFront), "a passport has its portrait on the MRZ page");
    assert_eq!(d.identity.as_ref().map(|r| r.surname.expose().clone()), Some("ERIKSSON".into()));
    assert!(d.scores.face_similarity.is_some_and(|s| s > 0.99));
    assert_eq!(d.scores.challenge_reached.len(), d.scores.challenge.len());
    assert!(!d.frames.is_empty());
    assert!(d.elapsed < Duration::from_secs(30), "{:?}", d.elapsed);
}

#[test]
fn a_td1_card_is_turned_over_for_its_portrait() {
    let card = Person { document: &ID_CARD, ..GENUINE };
    check(card, expected("ERIKSSON", "ANNA"), Outcome::Accepted, &[]);
    let (_, instructions) = run(card, None, 9);
    let front = instructions.iter().find(|i| i.step == Step::DocumentFront).expect("asked to turn the card");
    assert_eq!((front.code, front.camera), (Some("document.turn_over"), Camera::Environment));
}

#[test]
fn a_driving_licence_is_refused_at_once() {
    let licence = Person { document: &LICENCE, ..GENUINE };
    check(licence, None, Outcome::Rejected, &["document.driving_licence_refused"]);
    let (d, instructions) = run(licence, None, 1);
    assert!(instructions.iter().all(|i| matches!(i.step, Step::Document | Step::Done)));
    assert!(d.elapsed <= Duration::from_millis(500), "{:?}", d.elapsed);
}

#[test]
fn another_persons_face_is_no_match() {
    check(Person { face: STRANGER, ..GENUINE }, None, Outcome::Rejected, &["face.no_match"]);
}

#[test]
fn a_borderline_match_goes_to_review() {
    // cos 55 degrees = 0.574: under the 0.6 threshold, above the 0.5 review threshold.
    check(Person { face: 55.0, ..GENUINE }, None, Outcome::Review, &["face.uncertain_match"]);
}

#[test]
fn frames_that_do_not_reflect_the_flash_are_a_replay() {
    check(Person { reflects_flash: false, ..GENUINE }, None, Outcome::Rejected, &["liveness.replay_detected"]);
    let (d, instructions) = run(GENUINE, None, 5);
    assert!(instructions.iter().any(|i| i.code == Some("flash.hold_still")), "the person is told to hold still");
    let s = d.scores.flash_score.expect("the flash was checked");
    assert!(s.correlation.is_some_and(|c| c > 0.85), "{s:?}");
    assert!((4..=6).contains(&d.scores.flash.len()));
}

#[test]
fn a_print_or_a_still_picture_is_a_presentation_attack() {
    // A print the models see through, moving and reflecting like a face: only the passive
    // layer stops it.
    check(Person { surface: Surface::Print, ..GENUINE }, None, Outcome::Rejected, &["liveness.presentation_attack"]);
    // A photo reflects nothing and never moves: both layers say so.
    let photo = Person { surface: Surface::Still, reflects_flash: false, ..GENUINE };
    check(photo, None, Outcome::Rejected, &["liveness.replay_detected", "liveness.presentation_attack"]);
    // The genuine person's evidence is kept with the decision.
    let (d, _) = run(GENUINE, None, 1);
    let passive = d.scores.passive.expect("the passive layer judged");
    assert_eq!(passive.outcome, vision::liveness::PassiveOutcome::Live, "{passive:?}");
    assert!(passive.evidence.face_motion.is_some_and(|m| m > 0.01), "{passive:?}");
}

#[test]
fn a_passive_layer_that_could_not_judge_sends_to_review() {
    let unmeasured = Person { surface: Surface::Unmeasured, ..GENUINE };
    check(unmeasured, None, Outcome::Review, &["liveness.passive_uncertain"]);
}

#[test]
fn ignoring_the_challenge_fails_it() {
    check(Person { follows_challenge: false, ..GENUINE }, None, Outcome::Rejected, &["liveness.challenge_failed"]);
}

#[test]
fn someone_else_taking_over_during_the_challenge_fails_it() {
    for seed in [1, 2, 3] {
        let (d, _) = run_with(SessionConfig::example(), GENUINE, None, seed, |i, f| {
            // From frame 7 on (the challenge starts at frame 5), a stranger follows the movements.
            match f {
                Findings::Face(mut face) if i >= 7 => {
                    face.embedding = Some(person(STRANGER));
                    Some(Findings::Face(face))
                }
                other => Some(other),
            }
        });
        assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Rejected, &["liveness.challenge_failed"][..]));
    }
}

/// Whether the scripted pose is a movement (not the frontal pose `pose_for(None)`).
fn is_turned(face: &FaceFindings) -> bool {
    face.pose.is_some_and(|p| p.yaw_deg.abs() > 10.0 || p.pitch_deg.abs() > 10.0)
}

#[test]
fn a_turned_head_embeds_less_alike_and_still_passes() {
    // Turned frames at 71 degrees from the reference (cos 0.326): under `continuity_min` (0.35),
    // over `continuity_turned_min` (0.3), as a real turned head scores lower than a frontal one.
    for seed in [1, 2, 3] {
        let (d, _) = run_with(SessionConfig::example(), GENUINE, None, seed, |_, f| match f {
            Findings::Face(mut face) if is_turned(&face) => {
                face.embedding = Some(person(71.0));
                Some(Findings::Face(face))
            }
            other => Some(other),
        });
        assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Accepted, &[][..]), "seed {seed}");
    }
}

#[test]
fn a_look_alike_who_passes_only_turned_takes_over_and_fails() {
    // From frame 7 on, someone at 71 degrees: turned frames pass the lower bar, the frames
    // facing the camera do not.
    for seed in [1, 2, 3] {
        let (d, _) = run_with(SessionConfig::example(), GENUINE, None, seed, |i, f| match f {
            Findings::Face(mut face) if i >= 7 => {
                face.embedding = Some(person(71.0));
                Some(Findings::Face(face))
            }
            other => Some(other),
        });
        assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Rejected, &["liveness.challenge_failed"][..]));
    }
}

#[test]
fn a_name_that_differs_goes_to_review() {
    check(GENUINE, expected("Martin", "Jean"), Outcome::Review, &["identity.name_mismatch"]);
    let with_birth = Some(ExpectedIdentity {
        surname: "Eriksson".into(),
        given_names: "Anna".into(),
        birth_date: Some(mrz::Date::from_iso("1980-01-01").expect("a valid date")),
    });
    check(GENUINE, with_birth, Outcome::Rejected, &["identity.birth_date_mismatch"]);
}

#[test]
fn an_expired_passport_is_refused() {
    let later = mrz::Date::new(2013, 1, 1).expect("a valid date");
    #[allow(clippy::disallowed_methods)] // the test's epoch
    let t0 = Instant::now();
    let mut session = Session::new(SessionConfig::example(), None, 1, later, t0);
    let mut decision = None;
    for i in 1..10u64 {
        let read = mrz_frame_on(&PASSPORT, later);
        let findings = Findings::Document { mrz: Box::new(read), portrait: portrait_of(&GENUINE) };
        session.handle_input(Input::Findings { frame: FrameId(i), at: t0 + Duration::from_millis(100 * i), findings });
        while let o = session.poll_output()
            && !matches!(o, Output::Timeout(_))
        {
            if let Output::Decision(d) = o {
                decision = Some(d);
            }
        }
    }
    let d = decision.expect("decided");
    assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Rejected, &["document.expired"][..]));
}

#[test]
fn nobody_showing_anything_times_out_and_an_unreadable_document_is_given_up() {
    let (d, _) = run_with(SessionConfig::example(), GENUINE, None, 1, |_, _| None);
    assert_eq!(d.reasons, vec!["session.timeout"]);
    let blurred = |_, f| match f {
        Findings::Document { mrz, portrait } => {
            // The lines found, but read as no MRZ, too blurred.
            let error = mrz::parse(&["BLURRED"], today()).expect_err("no MRZ format has one line of 7");
            let reading = ZoneReading::Unparsed { error, issue: QualityIssue::TooBlurry };
            let zone = mrz.zone().expect("the scripted frames find the MRZ").clone();
            Some(Findings::Document { mrz: Box::new(MrzFrameRead::Found { zone, reading }), portrait })
        }
        other => Some(other),
    };
    let (d, instructions) = run_with(SessionConfig::example(), GENUINE, None, 1, blurred);
    assert_eq!(d.reasons, vec!["mrz.unreadable"]);
    assert!(instructions.iter().any(|i| i.code == Some("mrz.too_blurry")));
}

#[test]
fn nothing_is_taken_after_the_decision() {
    let licence = Person { document: &LICENCE, ..GENUINE };
    let (d, _) = run(licence, None, 1);
    assert_eq!(d.outcome, Outcome::Rejected);
    #[allow(clippy::disallowed_methods)] // the test's epoch
    let t0 = Instant::now();
    let mut session = Session::new(SessionConfig::example(), None, 1, today(), t0);
    session.handle_input(Input::Timeout(t0 + Duration::from_secs(500)));
    assert!(session.is_decided());
    let outputs: Vec<Output> =
        std::iter::from_fn(|| Some(session.poll_output()).filter(|o| !matches!(o, Output::Timeout(_)))).collect();
    assert_eq!(outputs.iter().filter(|o| matches!(o, Output::Decision(_))).count(), 1);
    session.handle_input(Input::Findings {
        frame: FrameId(1),
        at: t0,
        findings: face_findings(1, &GENUINE, pose_for(None), None),
    });
    assert!(matches!(session.poll_output(), Output::Timeout(_)), "no output after the decision");
}

#[test]
fn a_portrait_below_the_bars_is_asked_again_then_reviewed() {
    for (quality, hint) in [(SMALL, "document.portrait_too_small"), (BLURRED, "document.portrait_blurry")] {
        let p = Person { portrait_quality: quality, ..GENUINE };
        // The person cannot do better: after `portrait_max_frames` portraits the best is used,
        // and the match only a reviewer's to confirm.
        check(p, None, Outcome::Review, &["face.portrait_low_quality"]);
        let (d, instructions) = run(p, None, 1);
        assert!(instructions.iter().any(|i| i.code == Some(hint)), "{hint} in {instructions:?}");
        assert!(d.scores.face_similarity.is_some_and(|s| s > 0.99), "still matched: {:?}", d.scores);
        // A stranger's portrait below the bars is no rejection either: a person looks.
        check(Person { face: STRANGER, ..p }, None, Outcome::Review, &["face.portrait_low_quality"]);
        // The same on a card's front.
        let card = Person { document: &ID_CARD, ..p };
        check(card, None, Outcome::Review, &["face.portrait_low_quality"]);
    }
}

#[test]
fn a_portrait_that_comes_good_is_used_and_fused() {
    // Frames 1 to 3 show the portrait blurred, then sharp: the sharp ones are matched.
    let improving = |i: u64, f: Findings| match f {
        Findings::Document { mrz, portrait: PortraitFinding::Found { embedding: _, mut quality } } if i <= 3 => {
            quality.sharpness = BLURRED.1;
            // The blurred portraits even look like someone else: were they used, no match.
            Some(Findings::Document { mrz, portrait: PortraitFinding::Found { embedding: person(STRANGER), quality } })
        }
        other => Some(other),
    };
    for seed in [1, 2, 3] {
        let (d, instructions) = run_with(SessionConfig::example(), GENUINE, None, seed, improving);
        assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Accepted, &[][..]), "seed {seed}");
        assert_eq!(d.scores.portrait_frames, 2, "two portraits fused");
        assert!(instructions.iter().any(|i| i.code == Some("document.portrait_blurry")));
        assert!(d.scores.face_similarity.is_some_and(|s| s > 0.99), "{:?}", d.scores);
    }
}

#[test]
fn a_document_step_running_out_with_portraits_seen_goes_on_with_the_best() {
    // A portrait in one frame of 200 (20 s apart), below the bars: fewer than the bound before
    // the document step's 45 s end; the best seen is used, not the session lost.
    let rare = |i: u64, f: Findings| match f {
        Findings::Document { mrz, .. } if !i.is_multiple_of(200) => {
            Some(Findings::Document { mrz, portrait: PortraitFinding::Missing("document.portrait_not_found") })
        }
        Findings::Document { mrz, portrait: PortraitFinding::Found { embedding, mut quality } } => {
            quality.eye_distance_px = SMALL.0;
            Some(Findings::Document { mrz, portrait: PortraitFinding::Found { embedding, quality } })
        }
        other => Some(other),
    };
    let (d, instructions) = run_with(SessionConfig::example(), GENUINE, None, 1, rare);
    assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Review, &["face.portrait_low_quality"][..]));
    assert_eq!(d.scores.portrait_frames, 2, "frames 200 and 400, both below the bars, fused");
    assert!(instructions.iter().any(|i| i.code == Some("document.portrait_not_found")));
    // With no portrait at all, the step still ends the session.
    let none = |_: u64, f: Findings| match f {
        Findings::Document { mrz, .. } => {
            Some(Findings::Document { mrz, portrait: PortraitFinding::Missing("document.portrait_not_found") })
        }
        other => Some(other),
    };
    let (d, _) = run_with(SessionConfig::example(), GENUINE, None, 1, none);
    assert_eq!((d.outcome, d.reasons.as_slice()), (Outcome::Rejected, &["document.portrait_not_found"][..]));
}
