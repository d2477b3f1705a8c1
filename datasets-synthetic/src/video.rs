//! Capture sequences as a browser would stream them: the document shown and tilted, then the face,
//! then a head movement answering a challenge, plus presentation attacks (printed photo, screen
//! replay, static image, wrong movement, replay of an earlier genuine sequence, impostor face).
//!
//! Owns the timeline, the head-turn simulation (the face photo mapped onto a cylinder with a nose
//! ridge and rotated, which is crude but moves the nose against the eyes, the cheeks and the
//! shading the way a yaw or pitch does) and the
//! per-frame and per-sequence labels. Output is a Y4M file (`C420jpeg`, for Chromium's fake camera)
//! plus a folder of JPEG frames with one JSON label each.
//!
//! Head pose sign convention: `yaw_deg > 0` moves the nose towards +x in the image, `pitch_deg > 0`
//! moves it up (towards -y). Challenges name the subject's own directions and the camera is not
//! mirrored, so "turn right" is a negative image yaw.

use std::path::Path;

use image::{Rgb, RgbImage, Rgba, RgbaImage};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::effects::{BackgroundKind, Photometry, PixelRng, background, defocus, glare, photometry, thumb};
use crate::face::{FacePhoto, FaceRef, head_box};
use crate::frame::{encode_jpeg, project};
use crate::mrz_text::Layout;
use crate::render::Rect;
use crate::render::has_front;
use crate::sample::{Assets, DocumentLabel, DocumentSample, FrontLabel, LABEL_SCHEMA, Spec, document, front_of};
use crate::warp::{Homography, half, warp_onto};
use crate::y4m::Y4mWriter;

/// What a sequence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// A live person following the challenge.
    Genuine,
    /// A printed photo of the holder held up to the camera (flat, paper texture, edges visible).
    PrintedPhoto,
    /// A recorded video of the holder played on a phone screen (moiré, refresh banding, bezel).
    ScreenReplay,
    /// One still image injected for the whole face part.
    StaticImage,
    /// A live person whose head movement does not follow the requested challenge.
    WrongChallenge,
    /// A genuine sequence recorded for an earlier session, replayed byte for byte.
    Replay,
    /// A live person who is not the document's holder.
    Impostor,
    /// A live person showing a TD1 card's back (the MRZ side), turning it over to its portrait
    /// side, then their face, following the challenge.
    TurnOver,
}

impl Scenario {
    /// Every scenario, in a fixed order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Genuine,
        Scenario::PrintedPhoto,
        Scenario::ScreenReplay,
        Scenario::StaticImage,
        Scenario::WrongChallenge,
        Scenario::Replay,
        Scenario::Impostor,
        Scenario::TurnOver,
    ];

    /// The attacks a random sequence draws from (the other half is genuine). The turn-over
    /// scenario is only made on request, so earlier seeds keep their scenarios.
    const ATTACKS: [Scenario; 6] = [
        Scenario::PrintedPhoto,
        Scenario::ScreenReplay,
        Scenario::StaticImage,
        Scenario::WrongChallenge,
        Scenario::Replay,
        Scenario::Impostor,
    ];
}

/// The live movement the session asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    /// Turn the head to the subject's left.
    TurnLeft,
    /// Turn the head to the subject's right.
    TurnRight,
    /// Look up.
    LookUp,
    /// Look down.
    LookDown,
}

impl Challenge {
    const ALL: [Challenge; 4] = [Challenge::TurnLeft, Challenge::TurnRight, Challenge::LookUp, Challenge::LookDown];

    /// Peak (yaw, pitch) in image convention (see the module docs), degrees.
    fn peak(self) -> (f32, f32) {
        match self {
            Challenge::TurnLeft => (35.0, 0.0),
            Challenge::TurnRight => (-35.0, 0.0),
            Challenge::LookUp => (0.0, 25.0),
            Challenge::LookDown => (0.0, -25.0),
        }
    }
}

/// Which part of the capture a frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The document is shown (its MRZ side).
    Document,
    /// The card's portrait side is shown (after turning it over), or the card is mid-turn.
    DocumentFront,
    /// The face is shown, still.
    Face,
    /// The face moves as asked (or not).
    Challenge,
}

/// What to generate for videos.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoSpec {
    /// Document spec (reference date, forced layout...). Its `resolution` sets the frame size
    /// (default 640x480; must be even).
    pub spec: Spec,
    /// Frames per second.
    pub fps: u32,
    /// Force a scenario (random otherwise: half genuine).
    pub scenario: Option<Scenario>,
    /// Seconds showing the document, the still face and the challenge.
    pub durations_s: [f32; 3],
}

impl VideoSpec {
    /// 15 fps, 1.6 s document, 1.0 s face, 2.4 s challenge.
    pub fn new(spec: Spec) -> VideoSpec {
        VideoSpec { spec, fps: 15, scenario: None, durations_s: [1.6, 1.0, 2.4] }
    }
}

/// What one video frame shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoFrameLabel {
    /// Frame number from 0.
    pub index: u32,
    /// Presentation time in milliseconds.
    pub time_ms: u32,
    /// Part of the capture.
    pub phase: Phase,
    /// The challenge on screen during the challenge phase.
    pub requested_challenge: Option<Challenge>,
    /// Document corners (TL TR BR BL of the document) when it is visible.
    pub document_corners: Option<[[f32; 2]; 4]>,
    /// MRZ block corners when the document is visible.
    pub mrz_corners: Option<[[f32; 2]; 4]>,
    /// Box (x, y, w, h) of the face's head region when a face is visible (live, printed or on a
    /// screen).
    pub face_box: Option<[f32; 4]>,
    /// The shown head's yaw relative to the camera, degrees (0 for flat attacks).
    pub yaw_deg: f32,
    /// The shown head's pitch, degrees.
    pub pitch_deg: f32,
    /// Corners of the paper or screen carrying the face in attacks.
    pub medium_corners: Option<[[f32; 2]; 4]>,
}

/// The whole sequence's label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceLabel {
    /// Label schema version.
    pub schema: u32,
    /// The sequence's seed.
    pub seed: u64,
    /// What is shown.
    pub scenario: Scenario,
    /// The challenge the session asks for.
    pub requested_challenge: Challenge,
    /// The movement actually performed (`None` when the face does not move).
    pub performed_challenge: Option<Challenge>,
    /// For replays: the seed of the earlier genuine sequence whose frames are replayed.
    pub replay_of_seed: Option<u64>,
    /// The document shown.
    pub document: DocumentLabel,
    /// The card's portrait side, when the sequence turns the card over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_front: Option<FrontLabel>,
    /// The face shown live (differs from the document's for impostors).
    pub live_face: FaceRef,
    /// Frames per second.
    pub fps: u32,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Number of frames.
    pub frame_count: u32,
    /// Whether the whole session should be accepted.
    pub accepted: bool,
    /// Reasons (document reasons plus `liveness.presentation_attack`, `liveness.challenge_failed`,
    /// `face.no_match`).
    pub reasons: Vec<String>,
}

/// A generated sequence in memory.
#[derive(Debug)]
pub struct Sequence {
    /// Frames, RGB.
    pub frames: Vec<RgbImage>,
    /// One label per frame.
    pub frame_labels: Vec<VideoFrameLabel>,
    /// The sequence label.
    pub label: SequenceLabel,
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Height of the head's surface above the image plane at normalised head coordinates (s, t)
/// (-1..1 across the head ellipse), in units of its half-width: a cylinder, plus a ridge down the
/// middle of the face for the nose, which stands out about half an eye distance from the eyes'
/// plane. Without the ridge every feature lies on the cylinder and moves almost together, so
/// landmark-based pose estimates (the nose against the eyes) barely see a turn.
fn head_depth(s: f32, t: f32) -> f32 {
    const NOSE_HEIGHT: f32 = 0.3;
    const NOSE_HALF_WIDTH: f32 = 0.16;
    const NOSE_HALF_LENGTH: f32 = 0.28;
    const NOSE_CENTRE_T: f32 = 0.08;
    let cylinder = (1.0 - s * s).max(0.0).sqrt();
    let (u, v) = (s / NOSE_HALF_WIDTH, (t - NOSE_CENTRE_T) / NOSE_HALF_LENGTH);
    cylinder + NOSE_HEIGHT * (-(u * u) - v * v).exp()
}

/// The source point (s, t) that a rotation by `yaw` then `pitch` (radians) brings to the output
/// point (x, y), all in normalised head coordinates: solves x = s cos(yaw) + d(s, t) sin(yaw) and
/// y = t cos(pitch) - d(s, t) sin(pitch) by fixed-point iteration from the bare cylinder's
/// closed-form answer. Self-occlusion (the far cheek behind the nose) is ignored.
fn source_point(x: f32, y: f32, yaw: f32, pitch: f32) -> (f32, f32) {
    let clamp = |v: f32| v.clamp(-0.999, 0.999);
    let mut s = clamp((x.asin() - yaw).clamp(-1.5, 1.5).sin());
    let mut t = clamp((y.asin() + pitch).clamp(-1.5, 1.5).sin());
    for _ in 0..8 {
        let d = head_depth(s, t);
        s = clamp((x - d * yaw.sin()) / yaw.cos());
        t = clamp((y + d * pitch.sin()) / pitch.cos());
    }
    (s, t)
}

/// The photo with the head turned by (yaw, pitch) degrees: pixels inside an ellipse around the
/// head box are resampled from the head's surface (a cylinder with a nose ridge, see
/// `head_depth`) rotated about the vertical (yaw) and horizontal (pitch) axes, with the far side
/// darkened; a feathered rim blends into the unchanged surroundings.
pub fn turn_head(photo: &RgbImage, yaw_deg: f32, pitch_deg: f32) -> RgbImage {
    let (w, h) = photo.dimensions();
    let (bx, by, bw, bh) = head_box(w, h);
    let ellipse = [bx as f32 + bw as f32 / 2.0, by as f32 + bh as f32 * 0.5, bw as f32 * 0.5, bh as f32 * 0.5];
    turn_head_in(photo, ellipse, yaw_deg, pitch_deg)
}

/// [`turn_head`] for a face photo: around its detected face box when it has one (the head
/// ellipse then centres on the face, so the nose ridge lies on the nose), else around the
/// heuristic head box.
pub fn turn_face(face: &FacePhoto, yaw_deg: f32, pitch_deg: f32) -> RgbImage {
    match face.face_box {
        // A detector's box spans brows to chin; the head is a little larger.
        Some([x, y, w, h]) => {
            turn_head_in(&face.photo, [x + w / 2.0, y + h / 2.0, w * 0.62, h * 0.62], yaw_deg, pitch_deg)
        }
        None => turn_head(&face.photo, yaw_deg, pitch_deg),
    }
}

/// The head turn inside the ellipse `[cx, cy, rx, ry]` (photo pixels).
fn turn_head_in(photo: &RgbImage, [cx, cy, rx, ry]: [f32; 4], yaw_deg: f32, pitch_deg: f32) -> RgbImage {
    if yaw_deg.abs() < 0.1 && pitch_deg.abs() < 0.1 || rx < 1.0 || ry < 1.0 {
        return photo.clone();
    }
    let (w, h) = photo.dimensions();
    let (yaw, pitch) = (yaw_deg.to_radians(), pitch_deg.to_radians());
    let mut out = photo.clone();
    let x0 = (cx - rx * 1.1).max(0.0) as u32;
    let x1 = ((cx + rx * 1.1) as u32).min(w);
    let y0 = (cy - ry * 1.1).max(0.0) as u32;
    let y1 = ((cy + ry * 1.1) as u32).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let (nx, ny) = ((x as f32 + 0.5 - cx) / rx, (y as f32 + 0.5 - cy) / ry);
            let r2 = nx * nx + ny * ny;
            if r2 >= 1.21 {
                continue;
            }
            let (nxc, nyc) = (nx.clamp(-0.999, 0.999), ny.clamp(-0.999, 0.999));
            let (tx, ty) = (nxc.asin() - yaw, nyc.asin() + pitch);
            let (sx, sy) = source_point(nxc, nyc, yaw, pitch);
            let src_x = cx + sx * rx - 0.5;
            let src_y = cy + sy * ry - 0.5;
            let shade = (tx.cos() * ty.cos()).clamp(0.0, 1.0).powf(0.35);
            let c = crate::raster::sample_rgb(photo, src_x, src_y);
            // Full effect inside the ellipse, fading to the original over the rim.
            let k = if r2 <= 1.0 { 1.0 } else { (1.21 - r2) / 0.21 };
            let p = out.get_pixel_mut(x, y);
            for ch in 0..3 {
                let warped = c[ch] * (0.55 + 0.45 * shade);
                let orig = f32::from(p.0[ch]);
                p.0[ch] = (orig + (warped - orig) * k).clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

fn to_rgba(img: &RgbImage) -> RgbaImage {
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let Rgb([r, g, b]) = *img.get_pixel(x, y);
        Rgba([r, g, b, 255])
    })
}

/// Places a photo so that it fills the frame's height (a person in front of a webcam), offset by
/// (dx, dy) pixels and scaled by `zoom`; returns the homography used.
fn face_placement(photo: (u32, u32), fw: u32, fh: u32, zoom: f32, dx: f32, dy: f32) -> Homography {
    let k = zoom * (fh as f32 / photo.1 as f32).max(fw as f32 * 0.6 / photo.0 as f32);
    let (pw, ph) = (photo.0 as f32 * k, photo.1 as f32 * k);
    let (ox, oy) = ((fw as f32 - pw) / 2.0 + dx, (fh as f32 - ph) / 2.0 + dy);
    Homography([f64::from(k), 0.0, f64::from(ox), 0.0, f64::from(k), f64::from(oy), 0.0, 0.0, 1.0])
}

fn head_box_in_frame(photo: (u32, u32), h: &Homography) -> [f32; 4] {
    let (bx, by, bw, bh) = head_box(photo.0, photo.1);
    let a = h.apply_f32([bx as f32, by as f32]);
    let b = h.apply_f32([(bx + bw) as f32, (by + bh) as f32]);
    [a[0], a[1], b[0] - a[0], b[1] - a[1]]
}

/// Head pose over the challenge phase for a performed movement (or none), t in 0..1.
fn pose_at(performed: Option<Challenge>, t: f32) -> (f32, f32) {
    let Some(c) = performed else { return (0.0, 0.0) };
    let (py, pp) = c.peak();
    // Turn, hold, come back.
    let k = if t < 0.35 {
        smoothstep(t / 0.35)
    } else if t < 0.6 {
        1.0
    } else {
        1.0 - smoothstep((t - 0.6) / 0.35)
    };
    (py * k, pp * k)
}

/// A paper print of the face: white margin, lower contrast, fibre texture.
fn printed(photo: &RgbImage, rng: &mut ChaCha8Rng) -> RgbaImage {
    let (w, h) = photo.dimensions();
    let m = (w.min(h) / 14).max(2);
    let mut pr = PixelRng::from_rng(rng);
    let warm = rng.random_range(0.0..12.0f32);
    RgbaImage::from_fn(w + 2 * m, h + 2 * m, |x, y| {
        let fibre = (pr.next_u64() & 0x0f) as f32 - 7.5;
        let c = if x >= m && y >= m && x < w + m && y < h + m {
            let Rgb(p) = *photo.get_pixel(x - m, y - m);
            // Ink on paper: compressed dynamic range and slightly desaturated.
            let l = 0.3 * f32::from(p[0]) + 0.59 * f32::from(p[1]) + 0.11 * f32::from(p[2]);
            p.map(|v| 30.0 + 0.8 * (0.8 * f32::from(v) + 0.2 * l))
        } else {
            [246.0, 244.0, 238.0 - warm]
        };
        let c = c.map(|v| (v + fibre).clamp(0.0, 255.0) as u8);
        Rgba([c[0], c[1], c[2], 255])
    })
}

/// A phone showing a frame: dark bezel, the frame on the panel with moiré and a refresh band.
fn screen(content: &RgbImage, frame_index: u32, moire: (f32, f32), rng_bits: u64) -> RgbaImage {
    let (w, h) = content.dimensions();
    let bezel = (w.min(h) / 12).max(2);
    let (bw, bh) = (w + 2 * bezel, h + 2 * bezel);
    let band_y = ((frame_index as f32 * 0.137 + (rng_bits % 100) as f32 / 100.0).fract()) * h as f32;
    RgbaImage::from_fn(bw, bh, |x, y| {
        if x < bezel || y < bezel || x >= w + bezel || y >= h + bezel {
            return Rgba([18, 18, 22, 255]);
        }
        let (cx, cy) = (x - bezel, y - bezel);
        let Rgb(p) = *content.get_pixel(cx, cy);
        // Moiré: beat between the panel's pixel grid and the camera's, a slanted low-frequency
        // fringe; banding: a brighter strip that rolls with the refresh.
        let fringe = 1.0 + 0.10 * ((cx as f32 * moire.0 + cy as f32 * moire.1).sin());
        let dy = (cy as f32 - band_y).abs();
        let band = if dy < h as f32 * 0.06 { 1.12 } else { 1.0 };
        let sub = match cx % 3 {
            0 => [1.05, 0.97, 0.97],
            1 => [0.97, 1.05, 0.97],
            _ => [0.97, 0.97, 1.05],
        };
        let c: [u8; 3] = std::array::from_fn(|i| {
            let v = f32::from(p[i]) * fringe * band * sub[i] * [0.95, 1.0, 1.08][i] + 8.0;
            v.clamp(0.0, 255.0) as u8
        });
        Rgba([c[0], c[1], c[2], 255])
    })
}

struct DocPose {
    roll: f64,
    tilt: f64,
    axis: f64,
    coverage: f64,
    shift: [f64; 2],
}

fn doc_pose(rng: &mut ChaCha8Rng, max_tilt: f64) -> DocPose {
    DocPose {
        roll: rng.random_range(-12.0f64..12.0).to_radians(),
        tilt: rng.random_range(0.0..max_tilt).to_radians(),
        axis: rng.random_range(0.0f64..360.0).to_radians(),
        coverage: rng.random_range(0.55..0.9),
        shift: [rng.random_range(0.2..0.8), rng.random_range(0.2..0.8)],
    }
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Generates a sequence in memory.
pub fn sequence(seed: u64, assets: &Assets, vspec: &VideoSpec) -> Result<Sequence, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x71DE_0000);
    let scenario = vspec.scenario.unwrap_or_else(|| {
        if rng.random_bool(0.5) {
            Scenario::Genuine
        } else {
            *Scenario::ATTACKS.choose(&mut rng).unwrap_or(&Scenario::PrintedPhoto)
        }
    });
    if scenario == Scenario::Replay {
        // The replayed recording: a genuine sequence from an earlier session, which answered
        // another challenge. Its frames are reused unchanged.
        let earlier_seed = seed.rotate_left(17) ^ 0x00E4_71E4;
        let mut earlier_spec = vspec.clone();
        earlier_spec.scenario = Some(Scenario::Genuine);
        let mut earlier = genuine_like(earlier_seed, assets, &earlier_spec, Scenario::Genuine)?;
        let performed = earlier.label.performed_challenge;
        let requested = *Challenge::ALL
            .iter()
            .filter(|c| Some(**c) != performed)
            .collect::<Vec<_>>()
            .choose(&mut rng)
            .copied()
            .unwrap_or(&Challenge::LookUp);
        let l = &mut earlier.label;
        l.seed = seed;
        l.scenario = Scenario::Replay;
        l.requested_challenge = requested;
        l.replay_of_seed = Some(earlier_seed);
        for f in &mut earlier.frame_labels {
            if f.requested_challenge.is_some() {
                f.requested_challenge = Some(requested);
            }
        }
        l.reasons = reasons(&l.document, Scenario::Replay);
        l.accepted = l.reasons.is_empty();
        return Ok(earlier);
    }
    genuine_like(seed, assets, vspec, scenario)
}

fn reasons(doc: &DocumentLabel, scenario: Scenario) -> Vec<String> {
    let mut r = doc.expected.reasons.clone();
    let extra: &[&str] = match scenario {
        Scenario::Genuine | Scenario::TurnOver => &[],
        Scenario::PrintedPhoto | Scenario::ScreenReplay => &["liveness.presentation_attack"],
        Scenario::StaticImage => &["liveness.presentation_attack", "liveness.challenge_failed"],
        Scenario::WrongChallenge | Scenario::Replay => &["liveness.challenge_failed"],
        Scenario::Impostor => &["face.no_match"],
    };
    r.extend(extra.iter().map(|s| (*s).to_owned()));
    r
}

/// Every scenario but replay: document phase, then a face (live, printed, on a screen or still).
fn genuine_like(seed: u64, assets: &Assets, vspec: &VideoSpec, scenario: Scenario) -> Result<Sequence, Error> {
    let mut spec = vspec.spec.clone();
    if scenario == Scenario::TurnOver && !spec.layout.is_some_and(has_front) {
        spec.layout = Some(Layout::FrenchId2021);
    }
    let doc = document(seed ^ 0xD0C0_0000, assets, &spec)?;
    sequence_of(seed, assets, vspec, scenario, &doc)
}

/// A sequence of `scenario` (any but [`Scenario::Replay`], which replays another sequence) showing
/// the given document, its holder's face being the photo the document's portrait was made from.
/// [`sequence`] draws the document from the seed; this lets a caller show one it made itself (the
/// browser harness shows documents of one identity).
pub fn sequence_of(
    seed: u64,
    assets: &Assets,
    vspec: &VideoSpec,
    scenario: Scenario,
    doc: &DocumentSample,
) -> Result<Sequence, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5E0E_4CE5);
    let (fw, fh) = vspec.spec.resolution.unwrap_or((640, 480));
    if fw % 2 == 1 || fh % 2 == 1 || !(16..=4096).contains(&fw) || !(16..=4096).contains(&fh) {
        return Err(Error::BadSpec { reason: format!("video size {fw}x{fh} must be even, 16..=4096") });
    }
    if vspec.fps == 0 || vspec.fps > 120 || vspec.durations_s.iter().any(|d| !(0.0..=60.0).contains(d)) {
        return Err(Error::BadSpec { reason: "fps must be 1..=120 and durations 0..=60 s".to_owned() });
    }
    if scenario == Scenario::Replay {
        return Err(Error::BadSpec { reason: "a replay replays another sequence: use `sequence`".to_owned() });
    }
    let requested = *Challenge::ALL.choose(&mut rng).unwrap_or(&Challenge::TurnLeft);
    let front = if scenario == Scenario::TurnOver { Some(front_of(doc, assets)?) } else { None };
    let front_levels = front.as_ref().map(|f| {
        let l1 = half(&f.image);
        let l2 = half(&l1);
        [l1, l2]
    });
    let holder_face = assets.faces.iter().find(|f| f.file == doc.label.face.file).unwrap_or(&assets.faces[0]);
    let live_face: &FacePhoto = if scenario == Scenario::Impostor {
        let others: Vec<&FacePhoto> = assets.faces.iter().filter(|f| f.person != holder_face.person).collect();
        others.choose(&mut rng).copied().unwrap_or(holder_face)
    } else {
        holder_face
    };
    let performed = match scenario {
        Scenario::WrongChallenge => {
            let others: Vec<Challenge> = Challenge::ALL.into_iter().filter(|c| *c != requested).collect();
            others.choose(&mut rng).copied()
        }
        Scenario::StaticImage => None,
        // A printed photo can only be tilted; the "head" does not turn.
        Scenario::PrintedPhoto => None,
        _ => Some(requested),
    };

    let n: [u32; 3] = vspec.durations_s.map(|d| (d * vspec.fps as f32).round() as u32);
    let total = n.iter().sum::<u32>();
    let mut frames = Vec::with_capacity(total as usize);
    let mut labels = Vec::with_capacity(total as usize);

    // Two backgrounds: a desk for the document, a room behind the person.
    let mut desk = RgbImage::new(fw, fh);
    let desk_kind = *[BackgroundKind::Wood, BackgroundKind::Fabric, BackgroundKind::Plain]
        .choose(&mut rng)
        .unwrap_or(&BackgroundKind::Plain);
    background(&mut desk, desk_kind, &mut rng);
    let mut room = RgbImage::new(fw, fh);
    background(&mut room, BackgroundKind::Clutter, &mut rng);
    let light = Photometry {
        exposure: rng.random_range(0.8..1.2),
        cast: [rng.random_range(0.9..1.1), 1.0, rng.random_range(0.9..1.1)],
        gradient: rng.random_range(0.0..0.3),
        gradient_angle: rng.random_range(0.0..std::f32::consts::TAU),
        noise_sigma: rng.random_range(1.0..4.0),
    };
    let mut pixel_rng = PixelRng::from_rng(&mut rng);

    // Document phase: the pose moves between two keyframes and back to frontal.
    let geom = &doc.label.geometry;
    let (dw, dh) = (geom.size_px.0 as f32, geom.size_px.1 as f32);
    let doc_corners = Rect { x: 0.0, y: 0.0, w: dw, h: dh }.corners().map(|p| p.map(f64::from));
    let (p0, p1) = (doc_pose(&mut rng, 30.0), doc_pose(&mut rng, 10.0));
    let thumb_side = rng.random_bool(0.5);
    let skin = *[[230.0f32, 185.0, 155.0], [190.0, 135.0, 100.0], [125.0, 85.0, 60.0]]
        .choose(&mut rng)
        .unwrap_or(&[220.0, 170.0, 140.0]);
    // Turning the card over: the back for 45 % of the document phase, a half-turn about the
    // card's vertical axis for 10 %, then the front.
    let (back_n, flip_n) = if front.is_some() {
        let back = (n[0] as f32 * 0.45).ceil() as u32;
        (back, ((n[0] as f32 * 0.1).round() as u32).min(n[0] - back))
    } else {
        (n[0], 0)
    };
    for i in 0..n[0] {
        let t = f64::from(smoothstep(i as f32 / n[0].max(1) as f32));
        // How far the card has turned (0 = back facing the camera, 1 = front).
        let turned = if i < back_n {
            0.0
        } else if i < back_n + flip_n {
            (i - back_n + 1) as f32 / (flip_n + 1) as f32
        } else {
            1.0
        };
        let showing_front = turned > 0.5;
        let corners = project(
            geom.size_mm,
            lerp(p0.roll, p1.roll, t),
            lerp(p0.tilt, p1.tilt, t),
            lerp(p0.axis, p1.axis, t),
            fw,
            fh,
            lerp(p0.coverage, p1.coverage, t),
            [lerp(p0.shift[0], p1.shift[0], t), lerp(p0.shift[1], p1.shift[1], t)],
        );
        // Mid-turn the card is seen edge-on: squash it about its vertical centre line.
        let squash = (turned * std::f32::consts::PI).cos().abs().max(0.06);
        let corners = if squash < 1.0 {
            let (mid_top, mid_bottom) = (
                [(corners[0][0] + corners[1][0]) / 2.0, (corners[0][1] + corners[1][1]) / 2.0],
                [(corners[3][0] + corners[2][0]) / 2.0, (corners[3][1] + corners[2][1]) / 2.0],
            );
            let toward = |p: [f32; 2], m: [f32; 2]| [m[0] + (p[0] - m[0]) * squash, m[1] + (p[1] - m[1]) * squash];
            [
                toward(corners[0], mid_top),
                toward(corners[1], mid_top),
                toward(corners[2], mid_bottom),
                toward(corners[3], mid_bottom),
            ]
        } else {
            corners
        };
        let h = Homography::from_points(doc_corners, corners.map(|p| p.map(f64::from)))
            .ok_or_else(|| Error::BadSpec { reason: "degenerate document pose".to_owned() })?;
        let mut img = desk.clone();
        let linear = ((corners[1][0] - corners[0][0]).hypot(corners[1][1] - corners[0][1]) / dw).abs();
        let level = if linear > 0.6 {
            0
        } else if linear > 0.3 {
            1
        } else {
            2
        };
        let src = match (&front, &front_levels) {
            (Some(f), Some(levels)) if showing_front => {
                if level == 0 {
                    &f.image
                } else {
                    &levels[level - 1]
                }
            }
            _ => doc.level(level),
        };
        warp_onto(&mut img, src, &h, (dw, dh), src.width() as f32 / dw);
        // The hand holding the card.
        let s = geom.px_per_mm;
        let (wm, hm) = geom.size_mm;
        let (a, b) = if thumb_side {
            ([-14.0 * s, hm * 0.35 * s], [6.0 * s, hm * 0.3 * s])
        } else {
            ([(wm + 14.0) * s, hm * 0.35 * s], [(wm - 6.0) * s, hm * 0.3 * s])
        };
        let (a, b) = (h.apply_f32(a), h.apply_f32(b));
        let r = h.apply_f32([9.0 * s, 0.0]);
        let o = h.apply_f32([0.0, 0.0]);
        thumb(&mut img, a, b, (r[0] - o[0]).hypot(r[1] - o[1]), skin);
        if i % 5 == 0 && rng.random_bool(0.3) {
            let c = h.apply_f32([rng.random_range(0.2..0.8) * dw, rng.random_range(0.2..0.8) * dh]);
            glare(&mut img, c, [fw as f32 * 0.05, fw as f32 * 0.03], 0.4, 0.6);
        }
        photometry(&mut img, &light, &mut pixel_rng);
        let map = |r: &Rect| r.corners().map(|p| h.apply_f32(p));
        labels.push(VideoFrameLabel {
            index: i,
            time_ms: 0,
            phase: if turned > 0.0 { Phase::DocumentFront } else { Phase::Document },
            requested_challenge: None,
            document_corners: Some(corners),
            mrz_corners: (turned == 0.0).then(|| map(&geom.mrz)),
            face_box: None,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            medium_corners: None,
        });
        frames.push(img);
    }

    // Face and challenge phases.
    let photo = &live_face.photo;
    let psize = photo.dimensions();
    let sway = (rng.random_range(0.5..1.5f32), rng.random_range(0.0..6.0f32));
    let zoom = rng.random_range(0.85..1.05f32);
    let moire = (rng.random_range(0.2..0.6f32), rng.random_range(0.05..0.3f32));
    let screen_bits = rng.random::<u64>();
    let print = if scenario == Scenario::PrintedPhoto { Some(printed(photo, &mut rng)) } else { None };
    let medium_tilt = (rng.random_range(0.0..0.3f64), rng.random_range(0.0..std::f64::consts::TAU));
    let mut still: Option<(RgbImage, VideoFrameLabel)> = None;
    for k in 0..(n[1] + n[2]) {
        let index = n[0] + k;
        let in_challenge = k >= n[1];
        let t = if in_challenge { (k - n[1]) as f32 / n[2].max(1) as f32 } else { 0.0 };
        let time = index as f32 / vspec.fps as f32;
        let (yaw, pitch) = if in_challenge { pose_at(performed, t) } else { (0.0, 0.0) };
        let phase = if in_challenge { Phase::Challenge } else { Phase::Face };
        let requested_challenge = in_challenge.then_some(requested);
        if let Some((img, label)) = &still {
            // A still image: every frame is the same picture.
            let mut l = label.clone();
            l.index = index;
            l.phase = phase;
            l.requested_challenge = requested_challenge;
            frames.push(img.clone());
            labels.push(l);
            continue;
        }
        // Natural sway of a live person (or of the hand holding a print or phone).
        let (dx, dy) =
            ((time * sway.0 * 2.1 + sway.1).sin() * fw as f32 * 0.01, (time * sway.0 * 1.3).cos() * fh as f32 * 0.008);
        let mut img = room.clone();
        let (face_box, medium_corners) = match scenario {
            Scenario::PrintedPhoto | Scenario::ScreenReplay => {
                let medium = if let Some(p) = &print {
                    p.clone()
                } else {
                    // The phone plays a recording of the holder turning as asked.
                    let recorded = turn_face(live_face, yaw, pitch);
                    let mut shot = RgbImage::from_pixel(psize.0, psize.1, Rgb([0, 0, 0]));
                    image::imageops::replace(&mut shot, &recorded, 0, 0);
                    screen(&shot, index, moire, screen_bits)
                };
                let (mw, mh) = (medium.width() as f32, medium.height() as f32);
                // Held at arm's length: covers about 70 % of the frame height, wobbling.
                let wobble = f64::from(time) * 1.7;
                let tilt = if scenario == Scenario::PrintedPhoto && in_challenge {
                    // Tilting the paper to fake the movement.
                    f64::from(t * std::f32::consts::PI).sin() * 0.45
                } else {
                    medium_tilt.0 + 0.05 * wobble.sin()
                };
                let corners = project(
                    (mw, mh),
                    0.04 * wobble.cos(),
                    tilt,
                    medium_tilt.1,
                    fw,
                    fh,
                    0.72,
                    [0.5 + f64::from(dx) / f64::from(fw), 0.5 + f64::from(dy) / f64::from(fh)],
                );
                let src = [[0.0, 0.0], [f64::from(mw), 0.0], [f64::from(mw), f64::from(mh)], [0.0, f64::from(mh)]];
                let h = Homography::from_points(src, corners.map(|p| p.map(f64::from)))
                    .ok_or_else(|| Error::BadSpec { reason: "degenerate medium pose".to_owned() })?;
                warp_onto(&mut img, &medium, &h, (mw, mh), 1.0);
                let margin = (mw - psize.0 as f32) / 2.0;
                let shift = Homography([1.0, 0.0, f64::from(margin), 0.0, 1.0, f64::from(margin), 0.0, 0.0, 1.0]);
                let fb = head_box_in_frame(psize, &h.compose(&shift));
                if scenario == Scenario::ScreenReplay && rng.random_bool(0.3) {
                    let c = h.apply_f32([mw * 0.7, mh * 0.25]);
                    glare(&mut img, c, [fw as f32 * 0.06, fw as f32 * 0.025], 0.8, 0.5);
                }
                (Some(fb), Some(corners))
            }
            _ => {
                let turned = turn_face(live_face, yaw, pitch);
                let h = face_placement(psize, fw, fh, zoom, dx, dy);
                warp_onto(&mut img, &to_rgba(&turned), &h, (psize.0 as f32, psize.1 as f32), 1.0);
                (Some(head_box_in_frame(psize, &h)), None)
            }
        };
        if scenario == Scenario::PrintedPhoto {
            // The thumb holding the print.
            if let Some(c) = medium_corners {
                let a = [c[3][0] - fw as f32 * 0.05, c[3][1] + fh as f32 * 0.05];
                thumb(&mut img, a, [c[3][0] + fw as f32 * 0.04, c[3][1] - fh as f32 * 0.06], fw as f32 * 0.03, skin);
            }
        }
        defocus(&mut img, usize::from(k % 17 == 0));
        let flat = matches!(scenario, Scenario::PrintedPhoto | Scenario::ScreenReplay);
        let label = VideoFrameLabel {
            index,
            time_ms: 0,
            phase,
            requested_challenge,
            document_corners: None,
            mrz_corners: None,
            face_box,
            yaw_deg: if flat && scenario == Scenario::PrintedPhoto { 0.0 } else { yaw },
            pitch_deg: if flat && scenario == Scenario::PrintedPhoto { 0.0 } else { pitch },
            medium_corners,
        };
        if scenario == Scenario::StaticImage {
            // Injected stills carry no sensor noise that changes between frames.
            photometry(&mut img, &Photometry { noise_sigma: 0.0, ..light }, &mut pixel_rng);
            still = Some((img.clone(), label.clone()));
        } else {
            photometry(&mut img, &light, &mut pixel_rng);
        }
        frames.push(img);
        labels.push(label);
    }
    for l in &mut labels {
        l.time_ms = (u64::from(l.index) * 1000 / u64::from(vspec.fps)) as u32;
    }
    let doc_label = doc.label.clone();
    let reasons = reasons(&doc_label, scenario);
    let label = SequenceLabel {
        schema: LABEL_SCHEMA,
        seed,
        scenario,
        requested_challenge: requested,
        performed_challenge: performed,
        replay_of_seed: None,
        document: doc_label,
        document_front: front.map(|f| f.label),
        live_face: live_face.reference(),
        fps: vspec.fps,
        width: fw,
        height: fh,
        frame_count: total,
        accepted: reasons.is_empty(),
        reasons,
    };
    Ok(Sequence { frames, frame_labels: labels, label })
}

/// Generates a sequence and writes it to `dir`: `capture.y4m`, `sequence.json` and
/// `frames/NNNNNN.jpg` with `frames/NNNNNN.json`.
pub fn write_sequence(seed: u64, assets: &Assets, vspec: &VideoSpec, dir: &Path) -> Result<(), Error> {
    let seq = sequence(seed, assets, vspec)?;
    let io = |p: &Path, e: std::io::Error| Error::Io { path: p.display().to_string(), reason: e.to_string() };
    let frames_dir = dir.join("frames");
    std::fs::create_dir_all(&frames_dir).map_err(|e| io(&frames_dir, e))?;
    let y4m_path = dir.join("capture.y4m");
    let file = std::fs::File::create(&y4m_path).map_err(|e| io(&y4m_path, e))?;
    let mut y4m = Y4mWriter::new(std::io::BufWriter::new(file), seq.label.width, seq.label.height, seq.label.fps)?;
    for (img, label) in seq.frames.iter().zip(&seq.frame_labels) {
        y4m.write_frame(img)?;
        let jpg = frames_dir.join(format!("{:06}.jpg", label.index));
        std::fs::write(&jpg, encode_jpeg(img, 90)?).map_err(|e| io(&jpg, e))?;
        let json = frames_dir.join(format!("{:06}.json", label.index));
        let text = serde_json::to_string_pretty(label).map_err(|e| Error::Encode { reason: e.to_string() })?;
        std::fs::write(&json, text).map_err(|e| io(&json, e))?;
    }
    y4m.finish()?;
    let path = dir.join("sequence.json");
    let text = serde_json::to_string_pretty(&seq.label).map_err(|e| Error::Encode { reason: e.to_string() })?;
    std::fs::write(&path, text).map_err(|e| io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the rotation by (yaw, pitch) degrees takes the head point (s, t).
    fn forward(s: f32, t: f32, yaw: f32, pitch: f32) -> (f32, f32) {
        let (yaw, pitch) = (yaw.to_radians(), pitch.to_radians());
        let d = head_depth(s, t);
        (s * yaw.cos() + d * yaw.sin(), t * pitch.cos() - d * pitch.sin())
    }

    /// `source_point` inverts the rotation at `(s, t)`.
    fn check(s: f32, t: f32, yaw: f32, pitch: f32) {
        let (x, y) = forward(s, t, yaw, pitch);
        let (s2, t2) = source_point(x, y, yaw.to_radians(), pitch.to_radians());
        assert!((s2 - s).abs() < 0.01 && (t2 - t).abs() < 0.01, "({s}, {t}) at {yaw}/{pitch}: got ({s2}, {t2})");
    }

    #[test]
    fn source_point_inverts_the_rotation() {
        for (s, t) in [(0.0, 0.08), (0.3, -0.3), (-0.3, -0.3), (0.2, 0.5), (-0.5, 0.1)] {
            check(s, t, 25.0, 0.0);
            check(s, t, -25.0, 0.0);
            check(s, t, 0.0, 20.0);
            check(s, t, 0.0, -20.0);
        }
    }

    #[test]
    fn the_nose_moves_against_the_eyes() {
        // The quality gate's yaw is the nose's offset from the eyes' midpoint in eye distances;
        // a turn must move it (on a bare cylinder it hardly moves).
        let yaw_ratio = |yaw: f32| {
            let (nose, _) = forward(0.0, 0.08, yaw, 0.0);
            let (l, _) = forward(-0.3, -0.3, yaw, 0.0);
            let (r, _) = forward(0.3, -0.3, yaw, 0.0);
            (nose - (l + r) / 2.0) / (r - l)
        };
        assert!(yaw_ratio(0.0).abs() < 1e-6);
        assert!(yaw_ratio(25.0) > 0.15, "{}", yaw_ratio(25.0));
        assert!(yaw_ratio(-25.0) < -0.15);
        let (_, nose_up) = forward(0.0, 0.08, 0.0, 20.0);
        let (_, eye_up) = forward(0.3, -0.3, 0.0, 20.0);
        assert!((0.08 - nose_up) > (-0.3 - eye_up) + 0.05, "looking up lifts the nose more than the eyes");
    }
}
