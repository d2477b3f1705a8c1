//! Capture sequences: every scenario generates, labels describe what is visible, attacks differ
//! from genuine captures the way their labels say, and the Y4M stream has the promised layout.

mod common;

use common::assets;
use datasets_synthetic::video::{Phase, Scenario, VideoSpec, sequence, turn_head, write_sequence};
use datasets_synthetic::{Spec, default_reference_date};

fn small(scenario: Scenario) -> VideoSpec {
    let mut spec = Spec::new(default_reference_date());
    spec.resolution = Some((320, 240));
    spec.px_per_mm = 6.0;
    let mut v = VideoSpec::new(spec);
    v.fps = 5;
    v.durations_s = [0.8, 0.4, 1.2];
    v.scenario = Some(scenario);
    v
}

#[test]
fn every_scenario_has_consistent_labels() {
    for scenario in Scenario::ALL {
        let seq = sequence(31, assets(), &small(scenario)).expect("sequence");
        let l = &seq.label;
        assert_eq!(l.scenario, scenario);
        assert_eq!(seq.frames.len(), l.frame_count as usize);
        assert_eq!(seq.frame_labels.len(), seq.frames.len());
        assert_eq!(seq.frames.len(), 4 + 2 + 6);
        for (i, f) in seq.frame_labels.iter().enumerate() {
            assert_eq!(f.index as usize, i);
            assert_eq!(f.time_ms, i as u32 * 200);
            match f.phase {
                Phase::Document => {
                    assert!(f.document_corners.is_some() && f.mrz_corners.is_some() && f.face_box.is_none())
                }
                Phase::DocumentFront => {
                    assert_eq!(scenario, Scenario::TurnOver);
                    assert!(f.document_corners.is_some() && f.mrz_corners.is_none() && f.face_box.is_none())
                }
                Phase::Face => assert!(f.face_box.is_some() && f.requested_challenge.is_none()),
                Phase::Challenge => {
                    assert!(f.face_box.is_some() && f.requested_challenge == Some(l.requested_challenge))
                }
            }
        }
        let genuine_reasons = &l.document.expected.reasons;
        match scenario {
            Scenario::Genuine | Scenario::TurnOver => {
                assert_eq!(l.performed_challenge, Some(l.requested_challenge));
                assert_eq!(&l.reasons, genuine_reasons);
                let peak = seq.frame_labels.iter().map(|f| f.yaw_deg.abs().max(f.pitch_deg.abs())).fold(0.0, f32::max);
                assert!(peak > 20.0, "the head turns ({peak})");
            }
            Scenario::WrongChallenge | Scenario::Replay => {
                assert_ne!(l.performed_challenge, Some(l.requested_challenge));
                assert!(l.reasons.contains(&"liveness.challenge_failed".to_owned()));
                assert!(!l.accepted);
            }
            Scenario::PrintedPhoto | Scenario::ScreenReplay | Scenario::StaticImage => {
                assert!(l.reasons.contains(&"liveness.presentation_attack".to_owned()));
                assert!(!l.accepted);
            }
            Scenario::Impostor => {
                assert_ne!(l.live_face.person, l.document.face.person);
                assert!(l.reasons.contains(&"face.no_match".to_owned()));
            }
        }
        if matches!(scenario, Scenario::PrintedPhoto | Scenario::ScreenReplay) {
            assert!(seq.frame_labels.iter().filter(|f| f.phase != Phase::Document).all(|f| f.medium_corners.is_some()));
        }
    }
}

#[test]
fn static_image_frames_are_identical_and_replay_reuses_a_genuine_capture() {
    let seq = sequence(8, assets(), &small(Scenario::StaticImage)).expect("sequence");
    let faces: Vec<_> =
        seq.frame_labels.iter().zip(&seq.frames).filter(|(l, _)| l.phase != Phase::Document).map(|(_, f)| f).collect();
    assert!(faces.windows(2).all(|w| w[0] == w[1]), "still frames differ");

    let replay = sequence(8, assets(), &small(Scenario::Replay)).expect("sequence");
    let earlier_seed = replay.label.replay_of_seed.expect("replay names its source");
    let earlier = sequence(earlier_seed, assets(), &small(Scenario::Genuine)).expect("sequence");
    assert!(replay.frames == earlier.frames, "replay is not byte-identical to its source");
    assert_ne!(replay.label.requested_challenge, earlier.label.requested_challenge);
}

#[test]
fn sequences_are_deterministic_and_written_as_y4m() {
    let v = small(Scenario::Genuine);
    let a = sequence(4, assets(), &v).expect("sequence");
    let b = sequence(4, assets(), &v).expect("sequence");
    assert!(a.frames == b.frames, "same seed, different frames");
    assert_eq!(a.label, b.label);

    let dir = std::env::temp_dir().join(format!("synth-video-test-{}", std::process::id()));
    write_sequence(4, assets(), &v, &dir).expect("written");
    let y4m = std::fs::read(dir.join("capture.y4m")).expect("y4m");
    let header = b"YUV4MPEG2 W320 H240 F5:1 Ip A1:1 C420jpeg\n";
    assert!(y4m.starts_with(header));
    assert_eq!(y4m.len(), header.len() + a.frames.len() * (6 + 320 * 240 * 3 / 2));
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sequence.json")).expect("label")).expect("json");
    assert_eq!(label["frame_count"], a.frames.len());
    assert!(dir.join("frames/000000.jpg").is_file() && dir.join("frames/000000.json").is_file());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn turning_the_head_changes_only_the_head_region() {
    let face = &assets().faces[0];
    let turned = turn_head(&face.photo, 30.0, 0.0);
    let (w, h) = face.photo.dimensions();
    let (bx, by, bw, bh) = datasets_synthetic::face::head_box(w, h);
    let mut changed_inside = 0;
    for y in by..by + bh {
        for x in bx..bx + bw {
            if turned.get_pixel(x, y) != face.photo.get_pixel(x, y) {
                changed_inside += 1;
            }
        }
    }
    assert!(changed_inside > (bw * bh / 4) as usize, "{changed_inside}");
    // Far corners stay untouched.
    assert_eq!(turned.get_pixel(0, h - 1), face.photo.get_pixel(0, h - 1));
    assert_eq!(turn_head(&face.photo, 0.0, 0.0), face.photo);
}
