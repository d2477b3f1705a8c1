//! The browser harness's inputs for one identity: a TD3 passport data page, a TD1 card's back and
//! front, an EU driving licence (all of one holder), the holder's face at the challenge poses,
//! another person's face at the same poses, and a recorded capture of the licence for Chromium's
//! fake camera; with an index saying which file is which and what a session should expect.
//!
//! Owns the choice of holder, photos and documents for the set. The pixels come from
//! [`crate::render`], [`crate::video::turn_face`] and [`crate::video::sequence_of`]; writing the
//! files is [`write_harness`]'s only I/O. Pass face boxes (`--face-boxes`) so head turns centre on
//! the faces.

use std::path::Path;

use image::{RgbImage, RgbaImage};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::date::Date;
use crate::face::{FacePhoto, FaceRef};
use crate::frame::encode_jpeg;
use crate::identity::{COUNTRIES, Identity, country};
use crate::mrz_text::{DocumentContent, Expected, Layout, content, expected};
use crate::render::{DocumentGeometry, FrontGeometry, render, render_front};
use crate::sample::{Assets, DocumentLabel, DocumentSample, LABEL_SCHEMA, Spec};
use crate::video::{Scenario, VideoSpec, sequence_of, turn_face};
use crate::y4m::Y4mWriter;

/// Head poses the harness renders, named as the challenge that asks for them, with (yaw, pitch)
/// in [`crate::video`]'s image convention (the camera is not mirrored, so the subject's left is
/// the image's +x).
/// A person asked to turn or nod does it plainly (30 to 45 degrees of yaw, 20 to 30 of pitch);
/// the cylinder warp of a flat photo shows less rotation than it is told, unevenly by side
/// (a 25-degree right turn of one photo read about 15 degrees by the five-point estimate), so the
/// harness asks for a clear movement rather than a shy one.
pub const POSES: [(&str, f32, f32); 5] = [
    ("frontal", 0.0, 0.0),
    ("turn_left", 35.0, 0.0),
    ("turn_right", -35.0, 0.0),
    ("look_up", 0.0, 25.0),
    ("look_down", 0.0, -25.0),
];

/// Salts for the set's independent random streams.
const IDENTITY_SALT: u64 = 0x4A55_0000_0000_0001;
const DOCUMENT_SALT: u64 = 0x4A55_0000_0000_0100;

/// What a session for this holder should be told to expect (`expected_identity`), as a sender
/// would type it: the printed names, given names joined by spaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedIdentity {
    /// Surname as printed.
    pub surname: String,
    /// Given names as printed, joined by single spaces.
    pub given_names: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: Date,
}

/// One document image of the set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarnessDocument {
    /// File name in the set's folder (PNG, RGBA).
    pub file: String,
    /// Which side is shown: `"mrz"` (the MRZ side or data page) or `"front"` (a card's portrait
    /// side, no MRZ).
    pub side: String,
    /// The document's content, MRZ lines included.
    pub content: DocumentContent,
    /// The decision expected for this document alone at the reference date.
    pub expected: Expected,
    /// The portrait's box on the image, in image pixels.
    pub portrait: Option<crate::render::Rect>,
}

/// A person's face photos at each pose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarnessFace {
    /// The source photo and person.
    pub photo: FaceRef,
    /// Pose name (see [`POSES`]) to file name (PNG, RGB).
    pub poses: std::collections::BTreeMap<String, String>,
}

/// A recorded capture for Chromium's `--use-file-for-fake-video-capture`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarnessVideo {
    /// File name (Y4M, `C420jpeg`).
    pub file: String,
    /// Which document of the set it shows.
    pub document: String,
    /// Scenario of the recording.
    pub scenario: Scenario,
    /// Frame size and rate.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Number of frames (Chromium loops the file).
    pub frame_count: u32,
    /// Whether the session should be accepted, and why not.
    pub accepted: bool,
    /// Expected reasons.
    pub reasons: Vec<String>,
}

/// The set's index, written as `harness.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarnessIndex {
    /// Label schema version.
    pub schema: u32,
    /// The set's seed.
    pub seed: u64,
    /// Reference date of the expected decisions.
    pub reference_date: Date,
    /// The holder, as the documents state.
    pub holder: Identity,
    /// What a session for the holder should expect.
    pub expected_identity: ExpectedIdentity,
    /// Documents by role: `passport` (TD3), `td1_back`, `td1_front`, `driving_licence`.
    pub documents: std::collections::BTreeMap<String, HarnessDocument>,
    /// `holder`: the documents' holder, from a different photo than the portraits' where the
    /// person has several (as a live face differs from an ID photo); `other`: another person.
    pub faces: std::collections::BTreeMap<String, HarnessFace>,
    /// The photo the documents' portraits were made from.
    pub portrait_photo: FaceRef,
    /// Whether the holder's live photo is the very photo the portraits were made from (only when
    /// the faces folder has no person with two photos).
    pub live_photo_is_portrait_photo: bool,
    /// Recorded captures by role (`driving_licence`), when written.
    pub videos: std::collections::BTreeMap<String, HarnessVideo>,
    /// Whether the faces are generated placeholders (no real photos were available).
    pub placeholder_faces: bool,
}

/// The set in memory.
#[derive(Debug)]
pub struct Harness {
    /// The index.
    pub index: HarnessIndex,
    /// Document images by file name.
    pub documents: Vec<(String, RgbaImage)>,
    /// Face images by file name.
    pub faces: Vec<(String, RgbImage)>,
    /// The licence as a rendered sample, for recording a capture of it.
    pub licence: DocumentSample,
}

/// Picks (portrait photo, live photo) of one person, preferring a person with two photos.
fn pick_holder<'a>(assets: &'a Assets, rng: &mut ChaCha8Rng) -> (&'a FacePhoto, &'a FacePhoto) {
    let with_two: Vec<&FacePhoto> =
        assets.faces.iter().filter(|f| assets.faces.iter().any(|g| g.person == f.person && g.file != f.file)).collect();
    if let Some(portrait) = with_two.choose(rng).copied() {
        let others: Vec<&FacePhoto> =
            assets.faces.iter().filter(|g| g.person == portrait.person && g.file != portrait.file).collect();
        let live = others.choose(rng).copied().unwrap_or(portrait);
        return (portrait, live);
    }
    let only = &assets.faces[rng.random_range(0..assets.faces.len())];
    (only, only)
}

fn document_of(
    layout: Layout,
    holder: &Identity,
    face: &FacePhoto,
    assets: &Assets,
    at: Date,
    px_per_mm: f32,
    seed: u64,
) -> DocumentSample {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fra = country("FRA").unwrap_or(&COUNTRIES[0]);
    let c = content(&mut rng, layout, fra, holder.clone(), &[], at);
    let (image, geometry): (RgbaImage, DocumentGeometry) = render(&c, &assets.fonts, face, px_per_mm, &mut rng);
    let expected = expected(&c, at);
    let label = DocumentLabel { schema: LABEL_SCHEMA, seed, content: c, expected, face: face.reference(), geometry };
    DocumentSample::new(image, label)
}

/// Builds the set for `seed`: a French holder (so that the passport, the 2021 card and the
/// licence are all French and state one identity), documents without deliberate faults at
/// `spec.at` and `spec.px_per_mm`, and the faces at [`POSES`].
pub fn harness(seed: u64, assets: &Assets, spec: &Spec) -> Result<Harness, Error> {
    if assets.faces.len() < 2 {
        return Err(Error::BadSpec { reason: "the harness needs at least two face photos".to_owned() });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ IDENTITY_SALT);
    let fra = country("FRA").unwrap_or(&COUNTRIES[0]);
    let holder = Identity::random(&mut rng, fra, spec.at, false);
    let (portrait, live) = pick_holder(assets, &mut rng);
    let others: Vec<&FacePhoto> = assets.faces.iter().filter(|f| f.person != portrait.person).collect();
    let other = *others.choose(&mut rng).ok_or_else(|| Error::BadSpec { reason: "no second person".to_owned() })?;

    let mut documents = Vec::new();
    let mut entries = std::collections::BTreeMap::new();
    let mut add =
        |role: &str, side: &str, image: RgbaImage, c: &DocumentContent, portrait: Option<crate::render::Rect>| {
            let file = format!("{role}.png");
            entries.insert(
                role.to_owned(),
                HarnessDocument {
                    file: file.clone(),
                    side: side.to_owned(),
                    content: c.clone(),
                    expected: expected(c, spec.at),
                    portrait,
                },
            );
            documents.push((file, image));
        };
    let s = spec.px_per_mm;
    let passport = document_of(Layout::Passport, &holder, portrait, assets, spec.at, s, seed ^ DOCUMENT_SALT);
    add("passport", "mrz", passport.image.clone(), &passport.label.content, passport.label.geometry.portrait);
    let card = document_of(Layout::FrenchId2021, &holder, portrait, assets, spec.at, s, seed ^ (DOCUMENT_SALT + 1));
    add("td1_back", "mrz", card.image.clone(), &card.label.content, card.label.geometry.portrait);
    let mut front_rng = ChaCha8Rng::seed_from_u64(seed ^ (DOCUMENT_SALT + 2));
    let (front, front_geometry): (RgbaImage, FrontGeometry) =
        render_front(&card.label.content, &assets.fonts, portrait, s, &mut front_rng);
    add("td1_front", "front", front, &card.label.content, Some(front_geometry.portrait));
    let licence =
        document_of(Layout::EuDrivingLicence, &holder, portrait, assets, spec.at, s, seed ^ (DOCUMENT_SALT + 3));
    add("driving_licence", "mrz", licence.image.clone(), &licence.label.content, licence.label.geometry.portrait);

    let mut faces = Vec::new();
    let mut face_entries = std::collections::BTreeMap::new();
    for (role, photo) in [("holder", live), ("other", other)] {
        let mut poses = std::collections::BTreeMap::new();
        for (pose, yaw, pitch) in POSES {
            let file = format!("{role}_{pose}.png");
            faces.push((file.clone(), turn_face(photo, yaw, pitch)));
            poses.insert(pose.to_owned(), file);
        }
        face_entries.insert(role.to_owned(), HarnessFace { photo: photo.reference(), poses });
    }
    let index = HarnessIndex {
        schema: LABEL_SCHEMA,
        seed,
        reference_date: spec.at,
        expected_identity: ExpectedIdentity {
            surname: holder.surname.clone(),
            given_names: holder.given_names.join(" "),
            birth_date: holder.birth_date,
        },
        holder,
        documents: entries,
        faces: face_entries,
        portrait_photo: portrait.reference(),
        live_photo_is_portrait_photo: portrait.file == live.file,
        videos: std::collections::BTreeMap::new(),
        placeholder_faces: assets.placeholder_faces(),
    };
    Ok(Harness { index, documents, faces, licence })
}

/// Builds the set and writes it to `dir`: the PNG images, `harness.json`, and with `video` a
/// recorded capture of the driving licence (`driving_licence.y4m`, 960x540 at 10 fps: 4 s of
/// the licence, then the holder's face) for a case that needs no reaction.
pub fn write_harness(seed: u64, assets: &Assets, spec: &Spec, dir: &Path, video: bool) -> Result<HarnessIndex, Error> {
    let io = |p: &Path, e: std::io::Error| Error::Io { path: p.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut set = harness(seed, assets, spec)?;
    let png = |path: &Path, encode: &dyn Fn(&mut std::io::Cursor<&mut Vec<u8>>) -> image::ImageResult<()>| {
        let mut bytes = Vec::new();
        encode(&mut std::io::Cursor::new(&mut bytes)).map_err(|e| Error::Encode { reason: e.to_string() })?;
        std::fs::write(path, bytes).map_err(|e| io(path, e))
    };
    for (file, image) in &set.documents {
        png(&dir.join(file), &|c| image.write_to(c, image::ImageFormat::Png))?;
    }
    for (file, image) in &set.faces {
        png(&dir.join(file), &|c| image.write_to(c, image::ImageFormat::Png))?;
    }
    if video {
        let mut vspec = VideoSpec::new(Spec { resolution: Some((960, 540)), ..spec.clone() });
        vspec.fps = 10;
        vspec.durations_s = [4.0, 1.0, 2.0];
        let seq = sequence_of(seed ^ 0x7E0, assets, &vspec, Scenario::Genuine, &set.licence)?;
        let path = dir.join("driving_licence.y4m");
        let file = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
        let mut y4m = Y4mWriter::new(std::io::BufWriter::new(file), seq.label.width, seq.label.height, seq.label.fps)?;
        for frame in &seq.frames {
            y4m.write_frame(frame)?;
        }
        y4m.finish()?;
        // One JPEG of the document phase, for looking at what the recording shows.
        let still = dir.join("driving_licence_video_frame.jpg");
        std::fs::write(&still, encode_jpeg(&seq.frames[seq.frames.len() / 4], 90)?).map_err(|e| io(&still, e))?;
        set.index.videos.insert(
            "driving_licence".to_owned(),
            HarnessVideo {
                file: "driving_licence.y4m".to_owned(),
                document: "driving_licence".to_owned(),
                scenario: Scenario::Genuine,
                width: seq.label.width,
                height: seq.label.height,
                fps: seq.label.fps,
                frame_count: seq.label.frame_count,
                accepted: seq.label.accepted,
                reasons: seq.label.reasons.clone(),
            },
        );
    }
    let path = dir.join("harness.json");
    let text = serde_json::to_string_pretty(&set.index).map_err(|e| Error::Encode { reason: e.to_string() })?;
    std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    Ok(set.index)
}
