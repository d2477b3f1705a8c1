//! Card fronts and the browser harness's set: a front shares its back's content and shows the
//! holder's portrait where its label says; the turn-over video shows the back, then the front;
//! the harness set states one identity on every document, renders the poses it names, and is the
//! same for the same seed.

mod common;

use common::assets;
use datasets_synthetic::harness::{POSES, harness, write_harness};
use datasets_synthetic::video::{Phase, Scenario, VideoSpec, sequence, sequence_of};
use datasets_synthetic::{Layout, Spec, default_reference_date, document, front_of, has_front};

fn luma(p: [u8; 4]) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

#[test]
fn a_card_front_shares_its_back_and_shows_the_portrait() {
    let assets = assets();
    for layout in Layout::ALL {
        let mut spec = Spec::new(default_reference_date());
        spec.layout = Some(layout);
        spec.px_per_mm = 8.0;
        let back = document(21, assets, &spec).expect("document");
        let front = match front_of(&back, assets) {
            Ok(front) => front,
            Err(e) => {
                assert!(!has_front(layout), "{layout:?}: {e}");
                continue;
            }
        };
        assert!(has_front(layout), "{layout:?}");
        let label = &front.label;
        assert_eq!(label.content, back.label.content, "{layout:?}: one identity on both sides");
        assert_eq!(label.face, back.label.face);
        assert_eq!(front.image.dimensions(), back.image.dimensions());
        let g = &label.geometry;
        // The marker is where the label says.
        let m = front.image.get_pixel((g.marker.x + g.marker.w / 2.0) as u32, (g.marker.y + g.marker.h / 2.0) as u32).0;
        assert_eq!([m[0], m[1], m[2]], g.marker_color, "{layout:?}");
        // The portrait box holds the holder's head crop: compare a grid of points.
        let face = assets.faces.iter().find(|f| f.file == label.face.file).expect("face");
        let mut diffs = Vec::new();
        for gy in 1..8 {
            for gx in 1..6 {
                let (u, v) = (gx as f32 / 6.0, gy as f32 / 8.0);
                let seen = front
                    .image
                    .get_pixel((g.portrait.x + u * g.portrait.w) as u32, (g.portrait.y + v * g.portrait.h) as u32)
                    .0;
                let head = face
                    .head
                    .get_pixel((u * face.head.width() as f32) as u32, (v * face.head.height() as f32) as u32)
                    .0;
                diffs.push((luma(seen) - luma([head[0], head[1], head[2], 255])).abs());
            }
        }
        diffs.sort_by(f32::total_cmp);
        assert!(diffs[diffs.len() / 2] < 20.0, "{layout:?}: portrait differs from the photo ({diffs:?})");
        // Portrait on the left, fields on the right; no MRZ band at the bottom: the last 8 mm
        // right of the portrait hold few dark pixels (a signature and the access number).
        assert!(g.portrait.x + g.portrait.w < g.size_px.0 as f32 * 0.45, "{layout:?}: portrait on the left");
        assert!(g.surname.x > g.portrait.x + g.portrait.w);
        // Same back, same front.
        let again = front_of(&back, assets).expect("front");
        assert_eq!(again.image.as_raw(), front.image.as_raw());
    }
}

fn small(scenario: Scenario) -> VideoSpec {
    let mut spec = Spec::new(default_reference_date());
    spec.resolution = Some((320, 240));
    spec.px_per_mm = 6.0;
    let mut v = VideoSpec::new(spec);
    v.fps = 10;
    v.durations_s = [2.0, 0.4, 1.0];
    v.scenario = Some(scenario);
    v
}

#[test]
fn the_turn_over_video_shows_the_back_then_the_front_then_the_face() {
    let seq = sequence(5, assets(), &small(Scenario::TurnOver)).expect("sequence");
    let l = &seq.label;
    assert!(has_front(l.document.content.layout), "{:?}", l.document.content.layout);
    let front = l.document_front.as_ref().expect("the front's label");
    assert_eq!(front.content, l.document.content);
    assert!(l.accepted || !l.document.expected.reasons.is_empty());
    let phases: Vec<Phase> = seq.frame_labels.iter().map(|f| f.phase).collect();
    let first_front = phases.iter().position(|p| *p == Phase::DocumentFront).expect("front frames");
    let first_face = phases.iter().position(|p| *p == Phase::Face).expect("face frames");
    assert!(first_front >= 9 && first_front < first_face, "{phases:?}");
    assert!(phases[..first_front].iter().all(|p| *p == Phase::Document));
    assert!(phases[first_front..first_face].iter().all(|p| *p == Phase::DocumentFront));
    for f in &seq.frame_labels {
        assert_eq!(f.mrz_corners.is_some(), f.phase == Phase::Document, "MRZ labelled only on the back");
        assert_eq!(f.document_corners.is_some(), matches!(f.phase, Phase::Document | Phase::DocumentFront));
    }
    // Mid-turn the card is narrow; afterwards it is as wide as before.
    let width = |i: usize| {
        let c = seq.frame_labels[i].document_corners.expect("corners");
        (c[1][0] - c[0][0]).hypot(c[1][1] - c[0][1])
    };
    assert!(width(first_front) < 0.6 * width(first_front - 1), "{} vs {}", width(first_front), width(first_front - 1));
    assert!(width(first_face - 1) > 0.8 * width(0));
    // The front's pixels are not the back's: compare the card's centre before and after.
    let centre = |i: usize| {
        let c = seq.frame_labels[i].document_corners.expect("corners");
        let (x, y) = ((c[0][0] + c[2][0]) / 2.0, (c[0][1] + c[2][1]) / 2.0);
        seq.frames[i].get_pixel(x as u32, y as u32).0
    };
    assert_ne!(centre(first_front - 1), centre(first_face - 1));
}

#[test]
fn the_harness_set_states_one_identity_and_names_its_poses() {
    let assets = assets();
    let mut spec = Spec::new(default_reference_date());
    spec.px_per_mm = 6.0;
    let set = harness(3, assets, &spec).expect("harness");
    let ix = &set.index;
    let roles: Vec<&str> = ix.documents.keys().map(String::as_str).collect();
    assert_eq!(roles, ["driving_licence", "passport", "td1_back", "td1_front"]);
    for (role, d) in &ix.documents {
        assert_eq!(d.content.holder, ix.holder, "{role}: same holder");
        // The MRZ sides of the card and the licence (its category table) carry no portrait.
        assert_eq!(d.portrait.is_some(), matches!(role.as_str(), "passport" | "td1_front"), "{role}: portrait box");
        assert!(set.documents.iter().any(|(f, _)| *f == d.file), "{role}: image");
    }
    assert_eq!(ix.documents["passport"].content.layout, Layout::Passport);
    assert!(ix.documents["passport"].expected.accepted);
    assert!(ix.documents["td1_back"].expected.accepted);
    assert_eq!(ix.documents["td1_front"].side, "front");
    assert_eq!(ix.documents["td1_front"].content, ix.documents["td1_back"].content);
    assert_eq!(ix.documents["driving_licence"].expected.reasons, ["document.driving_licence_refused"]);
    assert_eq!(ix.expected_identity.surname, ix.holder.surname);
    assert_eq!(ix.expected_identity.given_names, ix.holder.given_names.join(" "));
    // Faces: the holder (a photo of the portraits' person) and someone else, at every pose.
    let (holder, other) = (&ix.faces["holder"], &ix.faces["other"]);
    assert_eq!(ix.portrait_photo.person, holder.photo.person, "the live face is the holder's");
    // The passport's portrait is that photo's head crop: compare a grid of points.
    let head = &assets.faces.iter().find(|f| f.file == ix.portrait_photo.file).expect("portrait photo").head;
    let (_, passport) = set.documents.iter().find(|(n, _)| n == "passport.png").expect("passport");
    let r = ix.documents["passport"].portrait.expect("portrait");
    let mut diffs = Vec::new();
    for gy in 1..8 {
        for gx in 1..6 {
            let (u, v) = (gx as f32 / 6.0, gy as f32 / 8.0);
            let seen = passport.get_pixel((r.x + u * r.w) as u32, (r.y + v * r.h) as u32).0;
            let want = head.get_pixel((u * head.width() as f32) as u32, (v * head.height() as f32) as u32).0;
            diffs.push((luma(seen) - luma([want[0], want[1], want[2], 255])).abs());
        }
    }
    diffs.sort_by(f32::total_cmp);
    assert!(diffs[diffs.len() / 2] < 20.0, "passport portrait differs from the holder's photo ({diffs:?})");
    assert_ne!(holder.photo.person, other.photo.person);
    assert_eq!(
        ix.live_photo_is_portrait_photo,
        !assets.faces.iter().any(|f| f.person == holder.photo.person && f.file != holder.photo.file)
    );
    for face in [holder, other] {
        assert_eq!(face.poses.len(), POSES.len());
        let image = |pose: &str| &set.faces.iter().find(|(n, _)| *n == face.poses[pose]).expect("pose image").1;
        for (pose, _, _) in &POSES[1..] {
            assert_ne!(image(pose).as_raw(), image("frontal").as_raw(), "{pose} differs from frontal");
        }
    }
    // Deterministic.
    let again = harness(3, assets, &spec).expect("harness");
    assert_eq!(again.index, set.index);
    assert!(again.documents.iter().zip(&set.documents).all(|(a, b)| a.1.as_raw() == b.1.as_raw()));
    assert!(again.faces.iter().zip(&set.faces).all(|(a, b)| a.1.as_raw() == b.1.as_raw()));
    let other_seed = harness(4, assets, &spec).expect("harness");
    assert_ne!(other_seed.index.holder, set.index.holder);
}

#[test]
fn the_harness_set_is_written_with_its_index_and_a_recorded_licence() {
    let assets = assets();
    let mut spec = Spec::new(default_reference_date());
    spec.px_per_mm = 5.0;
    let dir = std::env::temp_dir().join(format!("synth-harness-test-{}", std::process::id()));
    let index = write_harness(9, assets, &spec, &dir, false).expect("written");
    let text = std::fs::read_to_string(dir.join("harness.json")).expect("index");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["expected_identity"]["surname"], index.holder.surname.as_str());
    for d in index.documents.values() {
        let img = image::open(dir.join(&d.file)).expect("document PNG");
        assert!(img.width() > 300, "{}", d.file);
    }
    for f in index.faces.values() {
        for file in f.poses.values() {
            assert!(dir.join(file).is_file(), "{file}");
        }
    }
    assert!(index.videos.is_empty());
    std::fs::remove_dir_all(&dir).expect("cleanup");

    // The recorded capture: the licence of the set, then a face; the session must refuse it.
    let set = harness(9, assets, &spec).expect("harness");
    let seq = sequence_of(1, assets, &small(Scenario::Genuine), Scenario::Genuine, &set.licence).expect("sequence");
    assert_eq!(seq.label.document.content, set.index.documents["driving_licence"].content);
    assert!(!seq.label.accepted && seq.label.reasons.contains(&"document.driving_licence_refused".to_owned()));
    assert!(sequence_of(1, assets, &small(Scenario::Replay), Scenario::Replay, &set.licence).is_err());
}
