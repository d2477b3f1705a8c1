//! Labelled sequences for the liveness layers: a live face, or a print, a screen, a still image,
//! a replayed recording or an injected stream, under the same range of honest capture
//! conditions, through a session's face step, screen flash and one challenge movement.
//!
//! Each sequence is what a session analyses from the face step on: `frames` face frames, then
//! the screen flash (the nonce: 4-6 colours drawn and paced as the session does,
//! [`crate::flash`]; the person holds still), then the challenge asks for one movement and the
//! person makes it and holds it. Frames come 100-160 ms apart (drawn per sequence), each with
//! its capture time (page clock) and arrival time (server clock, an upload later); the label
//! records the flash as the server sent it and the movement asked, so the verifier's layers can
//! be replayed over the frames. The attacks differ from the genuine sequences the way real
//! ones do, not by a marker:
//! - `genuine`: the photo is the scene (the person in their room); the head alone moves (sway,
//!   breathing, the asked movement), in front of a background that stays put. The face takes on
//!   the screen's colours (the room a little too), strongly in a dim room, weakly against a
//!   window; the webcam's exposure and white balance take part of it back, late.
//! - `print`: the photo printed (white margin, ink's compressed range, paper fibre, on half of
//!   them a laser printer's periodic halftone screen), held up by hand: the sheet sways and is
//!   tilted when the movement is asked, face and printed background moving as one. Paper is a
//!   diffuse reflector: the sheet reflects this session's colours as a face would (the flash is
//!   not what stops a print).
//! - `screen`: another session's genuine recording played on a phone or tablet held up: bezel,
//!   panel glow (lifted blacks, a bluish white point), moire from the panel grid against the
//!   sensor, on some a rolling-shutter flicker band pattern; the recorded head keeps its own
//!   parallax, makes its own session's movement at its own time and shows the reflection of its
//!   own session's flash; the panel's glass adds a faint veil of this session's colours.
//! - `static`: one frame of a live capture (before any flash) injected for every frame; on half
//!   of them fresh sensor noise is added to each copy, so the bytes differ while nothing moves.
//! - `replay`: another session's genuine recording injected as the stream: a live face, with
//!   that session's flash reflected and that session's movement.
//! - `injection`: perfect frames from a virtual camera (no sensor noise, no compression loss, no
//!   exposure control), puppeted to make the asked movement, reflecting no colour.
//!
//! Conditions are drawn the same way for every kind: normal, dim or backlit light, a good or a
//! cheap noisy webcam, any of the shared photos (the darkest third, by the face's mean luma, is
//! drawn for a third of genuine sequences), so BPCER is measured where it hurts.

use std::path::Path;

use image::{Rgb, RgbImage, Rgba, RgbaImage};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::effects::{BackgroundKind, Photometry, PixelRng, background, defocus, photometry, thumb};
use crate::face::{FacePhoto, FaceRef, head_box};
use crate::flash::{
    Falloff, FlashSpec, FlashStep, draw_camera, draw_flash, glare, light as light_at, reflect, reflect_sheet,
};
use crate::frame::{encode_jpeg, project};
use crate::sample::Assets;
use crate::video::turn_face;
use crate::warp::{Homography, warp_onto};

/// What a sequence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessKind {
    /// A live person.
    Genuine,
    /// A printed photo held up to the camera.
    Print,
    /// A recording played on a screen held up to the camera.
    Screen,
    /// One still image for every frame.
    Static,
    /// A genuine recording replayed into another session (for the flash layer).
    Replay,
    /// Perfect frames from a virtual camera (for the flash layer).
    Injection,
}

impl LivenessKind {
    /// The label's name (`genuine`, `print`, ...).
    pub fn name(self) -> &'static str {
        match self {
            LivenessKind::Genuine => "genuine",
            LivenessKind::Print => "print",
            LivenessKind::Screen => "screen",
            LivenessKind::Static => "static",
            LivenessKind::Replay => "replay",
            LivenessKind::Injection => "injection",
        }
    }
}

/// The scene's light.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// An ordinary room.
    Normal,
    /// A dim room: a third to half the exposure, more noise.
    Dim,
    /// A bright window behind the person: the face underexposed, the background bright.
    Backlight,
}

/// How a sequence was captured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// The light.
    pub light: Light,
    /// A cheap webcam: strong sensor noise, heavy JPEG, soft focus.
    pub noisy_webcam: bool,
    /// JPEG quality of the frames.
    pub jpeg_quality: u8,
    /// The face photo shown.
    pub face: FaceRef,
    /// The photo's mean face luma (0..=255), a rough stand-in for skin tone.
    pub face_luma: f32,
    /// Whether the photo is among the darkest third of the shared photos by `face_luma`.
    pub dark_skin: bool,
    /// Prints: whether the print carries a periodic halftone screen (a laser printer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halftone: Option<bool>,
    /// Screens: whether the panel flickers into rolling-shutter bands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flicker_bands: Option<bool>,
    /// Still images: whether fresh sensor noise is added to each copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_noise: Option<bool>,
    /// The device's frame interval, ms (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<u32>,
    /// From the server sending a colour to the screen showing it, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_lag_ms: Option<u32>,
    /// From a frame's capture to its arrival, ms (plus up to 30 ms of jitter per frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_lag_ms: Option<u32>,
    /// Genuine and print: the screen's light on the face (or sheet) relative to the room's, at
    /// full colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflection_gain: Option<f32>,
    /// The webcam's exposure and white-balance time constant, ms (none for a virtual camera).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_tau_ms: Option<u32>,
}

/// The movement the session's challenge asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeAsked {
    /// The challenge's name for it (`turn_left`, `turn_right`, `look_up`, `look_down`).
    pub action: String,
    /// When the server asked, ms on its clock.
    pub asked_ms: u32,
}

/// The movement the frames show (the person's, or the recording's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// Its name, as [`ChallengeAsked::action`].
    pub action: String,
    /// When the head starts moving, ms on the page's clock.
    pub start_ms: u32,
    /// When it reaches the pose, held to the end of the sequence.
    pub reached_ms: u32,
}

/// The label schema [`liveness_sequence`] writes: 2 added the flash, the challenge, the
/// movement and arrival times.
pub const LIVENESS_SCHEMA: u32 = 2;

/// One frame of a sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LivenessFrame {
    /// File name in the sequence folder.
    pub file: String,
    /// When the page captured it, ms from the sequence's start on the page's clock.
    pub time_ms: u32,
    /// When it arrived at the server, ms on the server's clock (the same origin); the flash's
    /// times are on this clock. Absent in schema 1 labels (then `time_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived_ms: Option<u32>,
    /// Where the face's head box is in the frame, `[x, y, w, h]` (from the rendering, not a
    /// detector).
    pub face_box: [f32; 4],
}

/// A sequence's `label.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LivenessLabel {
    /// Label schema version.
    pub schema: u32,
    /// The sequence's seed.
    pub seed: u64,
    /// What it shows.
    pub kind: LivenessKind,
    /// How it was captured.
    pub conditions: Conditions,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// The frames, in order.
    pub frames: Vec<LivenessFrame>,
    /// This session's screen flash: what the server told the page to show, and when (server
    /// clock). Empty in schema 1 labels, or without a flash.
    #[serde(default)]
    pub flash: Vec<FlashStep>,
    /// When the session started the flash (the face matched on the last face frame), server
    /// clock; the lead-in runs from here to the first colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_started_ms: Option<u32>,
    /// Screen and replay: the flash of the session the recording was made in (what its frames
    /// reflect), for the record; a detector never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_flash: Option<Vec<FlashStep>>,
    /// The movement this session asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeAsked>,
    /// The movement the frames show (none for a still image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movement: Option<Movement>,
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LivenessSpec {
    /// Frame size (even).
    pub resolution: (u32, u32),
    /// Frames of the face step, before the flash starts (the flash's baseline, and the first of
    /// the passive layer's frames).
    pub frames: u32,
    /// Time between frames, ms, drawn per sequence between these (a session analyses 6 to 10
    /// face frames a second).
    pub interval_ms: (u32, u32),
    /// The screen flash after the face step (`None`: the challenge follows the face step).
    pub flash: Option<FlashSpec>,
    /// Force a kind (drawn otherwise: 40 % genuine, 15 % each print, screen, still, 7.5 % each
    /// replay and injection).
    pub kind: Option<LivenessKind>,
}

impl LivenessSpec {
    /// 640x480, 8 face frames, the shipped flash, 100-160 ms between frames.
    pub fn new() -> Self {
        LivenessSpec {
            resolution: (640, 480),
            frames: 8,
            interval_ms: (100, 160),
            flash: Some(FlashSpec::shipped()),
            kind: None,
        }
    }
}

impl Default for LivenessSpec {
    fn default() -> Self {
        Self::new()
    }
}

/// A sequence in memory.
#[derive(Debug)]
pub struct LivenessSequence {
    /// The frames, RGB, as the camera delivered them (before JPEG).
    pub frames: Vec<RgbImage>,
    /// Its label.
    pub label: LivenessLabel,
}

/// The face region of a photo: its detected box, or the heuristic head box's face part.
fn face_region(face: &FacePhoto) -> [f32; 4] {
    match face.face_box {
        Some(b) => b,
        None => {
            let (x, y, w, h) = head_box(face.photo.width(), face.photo.height());
            let (x, y, w, h) = (x as f32, y as f32, w as f32, h as f32);
            [x + 0.1 * w, y + 0.15 * h, 0.8 * w, 0.7 * h]
        }
    }
}

/// Mean luma of the central part of the face.
fn face_luma(face: &FacePhoto) -> f32 {
    let [x, y, w, h] = face_region(face);
    let (mut sum, mut n) = (0.0f32, 0u32);
    let (x0, y0, x1, y1) = ((x + 0.25 * w) as u32, (y + 0.3 * h) as u32, (x + 0.75 * w) as u32, (y + 0.8 * h) as u32);
    for yy in y0..y1.min(face.photo.height()) {
        for xx in x0..x1.min(face.photo.width()) {
            let Rgb(p) = *face.photo.get_pixel(xx, yy);
            sum += 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
            n += 1;
        }
    }
    if n == 0 { 128.0 } else { sum / n as f32 }
}

/// The photo with its head moved by `d` (photo pixels) and turned by (yaw, pitch) degrees,
/// the rest of the photo (the room) unmoved: in 3-D over the photo's face mesh when it has one
/// ([`crate::turn3d`]), else by the cylinder warp, the head pasted back into the room.
fn live_head(face: &FacePhoto, yaw: f32, pitch: f32, d: [f32; 2]) -> RgbImage {
    if let Some(mesh) = &face.mesh {
        return crate::turn3d::turn_head(&face.photo, mesh, yaw, pitch, d);
    }
    let turned = turn_face(face, yaw, pitch);
    let [fx, fy, fw, fh] = face_region(face);
    // The head: the face box and a little hair, down to the chin. (Ears and hair beyond it stay
    // with the room, which a real head would carry along; the motion signal looks at the
    // background past them.)
    let (cx, cy, rx, ry) = (fx + fw / 2.0, fy + fh * 0.45, fw * 0.58, fh * 0.72);
    let (w, h) = face.photo.dimensions();
    let mut out = face.photo.clone();
    let x0 = (cx + d[0] - rx * 1.2).max(0.0) as u32;
    let x1 = ((cx + d[0] + rx * 1.2) as u32).min(w);
    let y0 = (cy + d[1] - ry * 1.2).max(0.0) as u32;
    let y1 = ((cy + d[1] + ry * 1.2) as u32).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let (sx, sy) = (x as f32 - d[0], y as f32 - d[1]);
            let (nx, ny) = ((sx - cx) / rx, (sy - cy) / ry);
            let r2 = nx * nx + ny * ny;
            if r2 >= 1.21 {
                continue;
            }
            let k = if r2 <= 1.0 { 1.0 } else { (1.21 - r2) / 0.21 };
            let c = crate::raster::sample_rgb(&turned, sx, sy);
            let p = out.get_pixel_mut(x, y);
            for ch in 0..3 {
                let orig = f32::from(p.0[ch]);
                p.0[ch] = (orig + (c[ch] - orig) * k).clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

fn rgba(img: &RgbImage) -> RgbaImage {
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let Rgb([r, g, b]) = *img.get_pixel(x, y);
        Rgba([r, g, b, 255])
    })
}

/// The photo printed on paper: a white margin, ink's compressed range, paper fibre, and
/// optionally a halftone screen (period `halftone` print pixels, at 45 degrees).
fn print(photo: &RgbImage, halftone: Option<f32>, rng: &mut ChaCha8Rng) -> RgbaImage {
    let (w, h) = photo.dimensions();
    let m = (w.min(h) / 12).max(2);
    let mut pr = PixelRng::from_rng(rng);
    let warm = rng.random_range(0.0..14.0f32);
    let gamma = rng.random_range(0.85..1.15f32);
    RgbaImage::from_fn(w + 2 * m, h + 2 * m, |x, y| {
        let fibre = ((pr.next_u64() & 0x1f) as f32 - 15.5) * 0.45;
        let c = if x >= m && y >= m && x < w + m && y < h + m {
            let Rgb(p) = *photo.get_pixel(x - m, y - m);
            let l = 0.3 * f32::from(p[0]) + 0.59 * f32::from(p[1]) + 0.11 * f32::from(p[2]);
            let screen = halftone.map_or(0.0, |period| {
                let (u, v) = ((x + y) as f32, (x as f32 - y as f32));
                let t = std::f32::consts::TAU / period;
                ((u * t).cos() * (v * t).cos()) * 9.0
            });
            p.map(|v| {
                let ink = (0.85 * f32::from(v) + 0.15 * l) / 255.0;
                25.0 + 205.0 * ink.powf(gamma) + screen
            })
        } else {
            [244.0, 242.0, 236.0 - warm]
        };
        let c = c.map(|v| (v + fibre).clamp(0.0, 255.0) as u8);
        Rgba([c[0], c[1], c[2], 255])
    })
}

/// A screen showing `content`: bezel, glow, moire fringe (`moire`: period in panel pixels and
/// angle), and flicker bands (`bands`: period in rows and this frame's phase).
fn screen(content: &RgbImage, moire: (f32, f32, f32), bands: Option<(f32, f32)>, glow: f32) -> RgbaImage {
    let (w, h) = content.dimensions();
    let bezel = (w.min(h) / 14).max(2);
    let (bw, bh) = (w + 2 * bezel, h + 2 * bezel);
    let (period, angle, depth) = moire;
    let (ux, uy) = (angle.cos() * std::f32::consts::TAU / period, angle.sin() * std::f32::consts::TAU / period);
    RgbaImage::from_fn(bw, bh, |x, y| {
        if x < bezel || y < bezel || x >= w + bezel || y >= h + bezel {
            return Rgba([16, 16, 19, 255]);
        }
        let (cx, cy) = ((x - bezel) as f32, (y - bezel) as f32);
        let Rgb(p) = *content.get_pixel(x - bezel, y - bezel);
        let fringe = 1.0 + depth * (cx * ux + cy * uy).sin();
        let band =
            bands.map_or(1.0, |(period, phase)| 1.0 + 0.05 * (cy * std::f32::consts::TAU / period + phase).sin());
        let c: [u8; 3] = std::array::from_fn(|i| {
            // The panel's own light: lifted blacks, a bluish white point, brighter than the room.
            let v = (14.0 + f32::from(p[i]) * 0.92) * glow * [0.94, 1.0, 1.1][i] * fringe * band;
            v.clamp(0.0, 255.0) as u8
        });
        Rgba([c[0], c[1], c[2], 255])
    })
}

/// Lifts everything outside the ellipse `[cx, cy, rx, ry]` towards a bright window.
fn backlight(img: &mut RgbImage, e: [f32; 4], strength: f32) {
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (nx, ny) = ((x as f32 - e[0]) / e[2], (y as f32 - e[1]) / e[3]);
        let k = ((nx * nx + ny * ny).sqrt() - 0.8).clamp(0.0, 0.5) * 2.0 * strength;
        for v in &mut p.0 {
            *v = (f32::from(*v) + (245.0 - f32::from(*v)) * k) as u8;
        }
    }
}

/// A sequence's timeline: capture and arrival times, the flash and the movement.
struct Timeline {
    capture_ms: Vec<f32>,
    arrived_ms: Vec<u32>,
    flash: Vec<FlashStep>,
    started: u32,
    challenge: ChallengeAsked,
}

/// The person's (or the recording's) movement: its pose, when it starts and when it is reached.
#[derive(Clone, Copy)]
struct Motion {
    yaw: f32,
    pitch: f32,
    start_ms: f32,
    reached_ms: f32,
}

impl Motion {
    /// How far along the movement is at `ms` (0 to 1, smoothstep).
    fn along(&self, ms: f32) -> f32 {
        let s = ((ms - self.start_ms) / (self.reached_ms - self.start_ms).max(1.0)).clamp(0.0, 1.0);
        s * s * (3.0 - 2.0 * s)
    }
}

/// The movements a challenge asks for, as (name, yaw, pitch) degrees of the head turn in
/// [`crate::video`]'s convention (the subject's left is the image's +x). A person asked to turn
/// does it plainly, 30 to 45 degrees, and the page says "hold it" once the turn is seen, so the
/// upper end is rendered. Turned in 3-D over the photo's mesh ([`crate::turn3d`]) 45 degrees
/// reads 20-37 through the verifier's face mesh (p10 to p90, docs/liveness.md); the cylinder
/// warp used without a mesh reads less than half its angle.
const MOVES: [(&str, f32, f32); 4] =
    [("turn_left", 45.0, 0.0), ("turn_right", -45.0, 0.0), ("look_up", 0.0, 30.0), ("look_down", 0.0, -30.0)];

/// The movement a challenge asks for.
fn draw_action(rng: &mut ChaCha8Rng) -> (&'static str, f32, f32) {
    *MOVES.choose(rng).unwrap_or(&MOVES[0])
}

/// A person's reaction to a movement asked at `asked_ms` (server clock): the instruction
/// reaches the page `display_lag` later, the person starts 300-700 ms after and reaches the
/// pose in half a second.
fn react(asked_ms: u32, display_lag: f32, action: (&str, f32, f32), rng: &mut ChaCha8Rng) -> Motion {
    let start_ms = asked_ms as f32 + display_lag + rng.random_range(300.0..700.0f32);
    Motion { yaw: action.1, pitch: action.2, start_ms, reached_ms: start_ms + 500.0 }
}

/// Generates one sequence.
pub fn liveness_sequence(seed: u64, assets: &Assets, spec: &LivenessSpec) -> Result<LivenessSequence, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x11FE_0000);
    // The flash, the clocks and the movement from their own stream, so the scene's draws stay
    // those of the passive layer's first sequences.
    let mut trng = ChaCha8Rng::seed_from_u64(seed ^ 0xF1A5_0000);
    let (fw, fh) = spec.resolution;
    let (ilo, ihi) = spec.interval_ms;
    if fw % 2 == 1
        || fh % 2 == 1
        || !(64..=4096).contains(&fw)
        || !(64..=4096).contains(&fh)
        || spec.frames == 0
        || ilo == 0
        || ilo > ihi
    {
        return Err(Error::BadSpec {
            reason: format!("liveness frames {fw}x{fh} x{} at {ilo}-{ihi} ms are not usable", spec.frames),
        });
    }
    let kind = spec.kind.unwrap_or_else(|| {
        let r: f32 = rng.random_range(0.0..1.0);
        match r {
            r if r < 0.40 => LivenessKind::Genuine,
            r if r < 0.55 => LivenessKind::Print,
            r if r < 0.70 => LivenessKind::Screen,
            r if r < 0.85 => LivenessKind::Static,
            r if r < 0.925 => LivenessKind::Replay,
            _ => LivenessKind::Injection,
        }
    });
    // Faces: the darkest third by face luma is drawn for a third of every kind.
    let mut by_luma: Vec<(f32, &FacePhoto)> = assets.faces.iter().map(|f| (face_luma(f), f)).collect();
    by_luma.sort_by(|a, b| a.0.total_cmp(&b.0));
    let dark_cut = by_luma[(by_luma.len() - 1) / 3].0;
    let pool: Vec<&(f32, &FacePhoto)> = if rng.random_bool(1.0 / 3.0) {
        by_luma.iter().filter(|(l, _)| *l <= dark_cut).collect()
    } else {
        by_luma.iter().collect()
    };
    let &&(luma, face) = pool.choose(&mut rng).ok_or_else(|| Error::BadSpec { reason: "no faces".to_owned() })?;
    let light =
        *[Light::Normal, Light::Normal, Light::Dim, Light::Backlight].choose(&mut rng).unwrap_or(&Light::Normal);
    let noisy = rng.random_bool(0.35);
    let injection = kind == LivenessKind::Injection;
    let jpeg_quality = if injection {
        97
    } else if noisy {
        rng.random_range(45..65)
    } else {
        rng.random_range(75..93)
    };
    let exposure = match light {
        Light::Normal => rng.random_range(0.85..1.12),
        Light::Dim => rng.random_range(0.35..0.55),
        Light::Backlight => rng.random_range(0.6..0.75),
    };
    let noise_sigma = if injection {
        0.0
    } else {
        (if noisy { rng.random_range(6.0..11.0) } else { rng.random_range(1.0..3.5) })
            + if light == Light::Dim { 2.0 } else { 0.0 }
    };
    let photometry_p = Photometry {
        exposure,
        cast: [rng.random_range(0.92..1.08), 1.0, rng.random_range(0.9..1.1)],
        gradient: rng.random_range(0.0..0.25),
        gradient_angle: rng.random_range(0.0..std::f32::consts::TAU),
        noise_sigma,
    };
    let backlight_strength = rng.random_range(0.5..0.8f32);
    let mut room = RgbImage::new(fw, fh);
    let bg = *[BackgroundKind::Plain, BackgroundKind::Clutter, BackgroundKind::Fabric, BackgroundKind::Wood]
        .choose(&mut rng)
        .unwrap_or(&BackgroundKind::Plain);
    background(&mut room, bg, &mut rng);
    let mut pixel_rng = PixelRng::from_rng(&mut rng);

    // The person's sway and breathing.
    let sway_amp = [rng.random_range(0.006..0.016f32), rng.random_range(0.003..0.008f32)];
    let sway_f = [rng.random_range(0.3..0.8f32), rng.random_range(0.2..0.5f32)];
    let sway_ph = [rng.random_range(0.0..std::f32::consts::TAU), rng.random_range(0.0..std::f32::consts::TAU)];
    let psize = face.photo.dimensions();
    let zoom = rng.random_range(0.9..1.05f32);
    let k_photo = zoom * (fh as f32 / psize.1 as f32).max(fw as f32 * 0.6 / psize.0 as f32);
    let sway = |t: f32| -> [f32; 2] {
        [
            (t * sway_f[0] * std::f32::consts::TAU + sway_ph[0]).sin() * sway_amp[0] * fw as f32 / k_photo,
            (t * sway_f[1] * std::f32::consts::TAU + sway_ph[1]).sin() * sway_amp[1] * fh as f32 / k_photo,
        ]
    };
    // The photo as the camera sees the live person (static placement, the head moving).
    let place = {
        let (pw, phh) = (psize.0 as f32 * k_photo, psize.1 as f32 * k_photo);
        let (ox, oy) = ((fw as f32 - pw) / 2.0, (fh as f32 - phh) / 2.0);
        Homography([f64::from(k_photo), 0.0, f64::from(ox), 0.0, f64::from(k_photo), f64::from(oy), 0.0, 0.0, 1.0])
    };
    let [rx, ry, rw, rh] = face_region(face);
    let live_box = |d: [f32; 2], h: &Homography| {
        let a = h.apply_f32([rx + d[0], ry + d[1]]);
        let b = h.apply_f32([rx + rw + d[0], ry + rh + d[1]]);
        [a[0], a[1], b[0] - a[0], b[1] - a[1]]
    };

    let halftone = (kind == LivenessKind::Print).then(|| rng.random_bool(0.5));
    let printed = (kind == LivenessKind::Print)
        .then(|| print(&face.photo, halftone.unwrap_or(false).then(|| rng.random_range(3.0..5.0)), &mut rng));
    let flicker = (kind == LivenessKind::Screen).then(|| rng.random_bool(0.5));
    let moire =
        (rng.random_range(5.0..14.0f32), rng.random_range(0.0..std::f32::consts::PI), rng.random_range(0.03..0.08f32));
    let band_period = rng.random_range(14.0..40.0f32);
    let glow = rng.random_range(1.05..1.3f32);
    let medium_cover =
        if kind == LivenessKind::Screen { rng.random_range(0.55..0.8) } else { rng.random_range(0.65..0.9) };
    let medium_axis = rng.random_range(0.0..std::f64::consts::TAU);
    let medium_base_tilt = rng.random_range(0.0..0.25f64);
    let fresh_noise = (kind == LivenessKind::Static).then(|| rng.random_bool(0.5));
    let defocus_r = usize::from(noisy && rng.random_bool(0.5));
    let skin = [rng.random_range(120.0..230.0f32), rng.random_range(85.0..185.0), rng.random_range(60.0..155.0)];

    // The clocks: frames `interval` apart (a little jitter) on the page's clock, arriving at the
    // server an upload later; the screen shows a colour a display lag after the server sent it,
    // and a frame sees the light over its exposure.
    let interval = trng.random_range(ilo..=ihi);
    let display_lag = trng.random_range(30.0..120.0f32);
    let upload_lag = trng.random_range(40.0..200.0f32);
    let exposure_ms = trng.random_range(15.0..40.0f32);
    // The screen's light on the face relative to the room's, per channel at full colour: a
    // laptop or phone screen at arm's length against an ordinary room, a dim one, or a window.
    let gain_range = match light {
        Light::Normal => 0.04..0.20f32,
        Light::Dim => 0.15..0.60f32,
        Light::Backlight => 0.02..0.08f32,
    };
    let reflection_gain = trng.random_range(gain_range.clone());
    let room_share = trng.random_range(0.1..0.35f32);
    let mut camera = draw_camera(&mut trng);
    let timeline = |trng: &mut ChaCha8Rng, display_lag: f32, upload_lag: f32| -> Timeline {
        let mut capture_ms: Vec<f32> = Vec::new();
        let mut arrived_ms: Vec<u32> = Vec::new();
        let push = |trng: &mut ChaCha8Rng, capture_ms: &mut Vec<f32>, arrived_ms: &mut Vec<u32>| {
            let i = capture_ms.len() as f32;
            let c = i * interval as f32 + trng.random_range(0.0..8.0f32);
            let a = (c + upload_lag + trng.random_range(0.0..30.0f32)).round() as u32;
            let a = arrived_ms.last().map_or(a, |l| a.max(l + 1));
            capture_ms.push(c);
            arrived_ms.push(a);
        };
        for _ in 0..spec.frames {
            push(trng, &mut capture_ms, &mut arrived_ms);
        }
        // The face has matched on the last face frame: the flash starts as it arrives.
        let started = arrived_ms.last().copied().unwrap_or(0);
        let flash = spec.flash.map(|f| draw_flash(&f, started, interval, trng)).unwrap_or_default();
        let check_at = flash.last().map_or(started, |s| s.end_ms + spec.flash.map_or(0, |f| f.settle_ms));
        let action = draw_action(trng);
        let asked_ms = check_at + trng.random_range(300..=1200u32);
        let challenge = ChallengeAsked { action: action.0.to_owned(), asked_ms };
        // The person turns and holds the pose for 700 ms.
        let motion = react(asked_ms, display_lag, action, trng);
        while capture_ms.last().is_none_or(|c| *c < motion.reached_ms + 700.0) {
            push(trng, &mut capture_ms, &mut arrived_ms);
        }
        Timeline { capture_ms, arrived_ms, flash, started, challenge }
    };
    let this = timeline(&mut trng, display_lag, upload_lag);
    let motion_of = |t: &Timeline, lag: f32, trng: &mut ChaCha8Rng| {
        let (name, yaw, pitch) = MOVES.iter().copied().find(|p| p.0 == t.challenge.action).unwrap_or(MOVES[0]);
        react(t.challenge.asked_ms, lag, (name, yaw, pitch), trng)
    };
    let own_motion = motion_of(&this, display_lag, &mut trng);
    // A recording (screen, replay) is another session's: its own flash, its own movement at its
    // own time, its own light, played from the moment this session starts.
    let recorded = matches!(kind, LivenessKind::Screen | LivenessKind::Replay).then(|| {
        let lag = trng.random_range(30.0..120.0f32);
        let upload = trng.random_range(40.0..200.0f32);
        let t = timeline(&mut trng, lag, upload);
        let gain = trng.random_range(0.04..0.30f32);
        let motion = motion_of(&t, lag, &mut trng);
        (t, lag, gain, motion)
    });
    // What the frames show: this session's movement, the recording's, or none.
    let motion = match (&recorded, kind) {
        (Some((_, _, _, m)), _) => Some(*m),
        (None, LivenessKind::Static) => None,
        _ => Some(own_motion),
    };
    // A glossy panel returns a little of the screen's light towards the camera.
    let veil = trng.random_range(0.005..0.025f32);
    let ellipse = |b: [f32; 4]| [b[0] + b[2] / 2.0, b[1] + b[3] / 2.0, b[2] * 0.6, b[3] * 0.7];

    let n = this.capture_ms.len();
    let mut frames = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut still: Option<(RgbImage, [f32; 4])> = None;
    for (i, (&c_ms, &arrived)) in this.capture_ms.iter().zip(&this.arrived_ms).enumerate() {
        let t = c_ms / 1000.0;
        let time_ms = c_ms.round() as u32;
        let file = format!("{i:06}.jpg");
        if let Some((img, b)) = &still {
            let mut img = img.clone();
            if fresh_noise == Some(true) {
                let p =
                    Photometry { exposure: 1.0, cast: [1.0; 3], gradient: 0.0, gradient_angle: 0.0, noise_sigma: 2.5 };
                photometry(&mut img, &p, &mut pixel_rng);
            }
            frames.push(img);
            labels.push(LivenessFrame { file, time_ms, arrived_ms: Some(arrived), face_box: *b });
            continue;
        }
        let d = sway(t);
        let along = motion.map_or(0.0, |m| m.along(c_ms));
        let (yaw, pitch) = motion.map_or((0.0, 0.0), |m| (m.yaw * along, m.pitch * along));
        // This session's screen light on what is in front of it, and the recording's own.
        let now_light = light_at(&this.flash, display_lag, c_ms - exposure_ms, c_ms);
        let rec_light = recorded.as_ref().map(|(r, lag, _, _)| light_at(&r.flash, *lag, c_ms - exposure_ms, c_ms));
        let mut img = room.clone();
        let mut added = [0.0f32; 3];
        let face_box = match kind {
            LivenessKind::Print | LivenessKind::Screen => {
                let medium = match &printed {
                    Some(p) => {
                        // Paper is a diffuse reflector: the sheet takes the colour as a face would.
                        let mut sheet = p.clone();
                        reflect_sheet(&mut sheet, now_light, reflection_gain);
                        sheet
                    }
                    None => {
                        let mut recorded_head = live_head(face, yaw, pitch, d);
                        if let Some((l, (_, _, gain, _))) = rec_light.zip(recorded.as_ref()) {
                            let f = Falloff { ellipse: ellipse([rx + d[0], ry + d[1], rw, rh]), far: room_share };
                            reflect(&mut recorded_head, l, *gain, &f);
                        }
                        let bands = flicker.unwrap_or(false).then_some((band_period, t * 9.0));
                        let mut panel = screen(&recorded_head, moire, bands, glow);
                        glare(&mut panel, now_light, veil);
                        panel
                    }
                };
                let (mw, mh) = (medium.width() as f32, medium.height() as f32);
                // Held by hand: the whole sheet sways. A print is turned, when the movement is
                // asked, about the axis a head would turn on and the way it would turn (a
                // sheet's face turns as a head's does: about 35 degrees for a turn, 25 for a
                // nod).
                let hand = [d[0] * k_photo / fw as f32, d[1] * k_photo / fh as f32];
                let (tilt, axis) = match (kind, motion) {
                    (LivenessKind::Print, Some(m)) => {
                        let (axis, target) = if m.yaw != 0.0 {
                            (std::f64::consts::FRAC_PI_2, -f64::from(m.yaw / 45.0) * 0.6)
                        } else {
                            (0.0, -f64::from(m.pitch / 30.0) * 0.45)
                        };
                        let held =
                            if medium_axis < std::f64::consts::PI { medium_base_tilt } else { -medium_base_tilt };
                        (held + (target - held) * f64::from(along), axis)
                    }
                    _ => (medium_base_tilt + 0.03 * f64::from(t * 1.7).sin(), medium_axis),
                };
                let corners = project(
                    (mw, mh),
                    0.03 * f64::from(t * 1.3).cos(),
                    tilt,
                    axis,
                    fw,
                    fh,
                    medium_cover,
                    [0.5 + f64::from(hand[0]), 0.5 + f64::from(hand[1])],
                );
                let src = [[0.0, 0.0], [f64::from(mw), 0.0], [f64::from(mw), f64::from(mh)], [0.0, f64::from(mh)]];
                let h = Homography::from_points(src, corners.map(|p| p.map(f64::from)))
                    .ok_or_else(|| Error::BadSpec { reason: "degenerate medium pose".to_owned() })?;
                let margin = (mw - psize.0 as f32) / 2.0;
                let shift = Homography([1.0, 0.0, f64::from(margin), 0.0, 1.0, f64::from(margin), 0.0, 0.0, 1.0]);
                let fb = live_box(if kind == LivenessKind::Screen { d } else { [0.0, 0.0] }, &h.compose(&shift));
                // The room behind takes a little of the screen's light too.
                let f = Falloff { ellipse: ellipse(fb), far: room_share };
                reflect(&mut img, now_light, reflection_gain, &f);
                let spread = f.mean(fw, fh);
                added = now_light.map(|l| l * reflection_gain * spread);
                warp_onto(&mut img, &medium, &h, (mw, mh), 1.0);
                // The hand holding it.
                let c = corners;
                thumb(&mut img, [c[3][0] - fw as f32 * 0.05, c[3][1] + fh as f32 * 0.05], c[3], fw as f32 * 0.03, skin);
                fb
            }
            _ => {
                let scene = live_head(face, yaw, pitch, d);
                warp_onto(&mut img, &rgba(&scene), &place, (psize.0 as f32, psize.1 as f32), 1.0);
                let fb = live_box(d, &place);
                let f = Falloff { ellipse: ellipse(fb), far: room_share };
                // A live face reflects this session's screen; a replayed recording shows the
                // reflection of its own session's, as its camera saw it; an injected stream
                // (and the still image) none.
                let lit = match kind {
                    LivenessKind::Genuine => Some((now_light, reflection_gain)),
                    LivenessKind::Replay => rec_light.zip(recorded.as_ref().map(|r| r.2)),
                    _ => None,
                };
                if let Some((l, gain)) = lit {
                    reflect(&mut img, l, gain, &f);
                    let spread = f.mean(fw, fh);
                    added = l.map(|v| v * gain * spread);
                }
                fb
            }
        };
        if light == Light::Backlight {
            let e = [
                face_box[0] + face_box[2] / 2.0,
                face_box[1] + face_box[3] / 2.0,
                face_box[2] * 0.9,
                face_box[3] * 1.0,
            ];
            backlight(&mut img, e, backlight_strength);
        }
        defocus(&mut img, defocus_r);
        // The camera's exposure and white balance take back part of the light, late; a virtual
        // camera has none (its frames are perfect).
        let mut p = photometry_p;
        if !injection {
            let g = camera.gains(c_ms, added);
            p.cast = std::array::from_fn(|k| photometry_p.cast[k] * g[k]);
            p.exposure *= 1.0 + trng.random_range(-0.006..0.006f32);
        }
        photometry(&mut img, &p, &mut pixel_rng);
        if kind == LivenessKind::Static {
            still = Some((img.clone(), face_box));
        }
        frames.push(img);
        labels.push(LivenessFrame { file, time_ms, arrived_ms: Some(arrived), face_box });
    }
    let conditions = Conditions {
        light,
        noisy_webcam: noisy,
        jpeg_quality,
        face: face.reference(),
        face_luma: luma,
        dark_skin: luma <= dark_cut,
        halftone,
        flicker_bands: flicker,
        fresh_noise,
        interval_ms: Some(interval),
        display_lag_ms: Some(display_lag.round() as u32),
        upload_lag_ms: Some(upload_lag.round() as u32),
        reflection_gain: matches!(kind, LivenessKind::Genuine | LivenessKind::Print).then_some(reflection_gain),
        camera_tau_ms: (!injection).then_some(camera.tau_ms.round() as u32),
    };
    let movement = motion.map(|m| Movement {
        action: MOVES
            .iter()
            .find(|p| p.1 == m.yaw && p.2 == m.pitch)
            .map_or_else(|| "frontal".to_owned(), |p| p.0.to_owned()),
        start_ms: m.start_ms.round() as u32,
        reached_ms: m.reached_ms.round() as u32,
    });
    let label = LivenessLabel {
        schema: LIVENESS_SCHEMA,
        seed,
        kind,
        conditions,
        width: fw,
        height: fh,
        frames: labels,
        flash: this.flash.clone(),
        flash_started_ms: (!this.flash.is_empty()).then_some(this.started),
        recorded_flash: recorded.as_ref().map(|r| r.0.flash.clone()),
        challenge: Some(this.challenge.clone()),
        movement,
    };
    Ok(LivenessSequence { frames, label })
}

/// Generates a sequence and writes it to `dir`: `NNNNNN.jpg` frames and `label.json`.
pub fn write_liveness(seed: u64, assets: &Assets, spec: &LivenessSpec, dir: &Path) -> Result<LivenessLabel, Error> {
    let seq = liveness_sequence(seed, assets, spec)?;
    let io = |p: &Path, e: std::io::Error| Error::Io { path: p.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (img, f) in seq.frames.iter().zip(&seq.label.frames) {
        let path = dir.join(&f.file);
        std::fs::write(&path, encode_jpeg(img, seq.label.conditions.jpeg_quality)?).map_err(|e| io(&path, e))?;
    }
    let path = dir.join("label.json");
    let text = serde_json::to_string_pretty(&seq.label).map_err(|e| Error::Encode { reason: e.to_string() })?;
    std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    Ok(seq.label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::placeholder_faces;

    fn assets() -> Option<Assets> {
        let fonts = crate::Fonts::from_debian_paths().ok()?;
        Some(Assets::new(fonts, placeholder_faces()))
    }

    /// A small sequence of `kind` (160x120 keeps the debug build quick).
    fn small(kind: LivenessKind, seed: u64, assets: &Assets) -> LivenessSequence {
        let spec = LivenessSpec { kind: Some(kind), frames: 4, resolution: (160, 120), ..LivenessSpec::new() };
        liveness_sequence(seed, assets, &spec).expect("generates")
    }

    fn check(kind: LivenessKind, expect_identical: bool) {
        let Some(assets) = assets() else { return };
        let a = small(kind, 7, &assets);
        let b = small(kind, 7, &assets);
        assert_eq!(a.label, b.label, "deterministic");
        assert!(a.frames == b.frames, "deterministic pixels");
        assert_eq!(a.label.kind, kind);
        assert_eq!(a.label.schema, LIVENESS_SCHEMA);
        assert_eq!(a.frames.len(), a.label.frames.len());
        // Face frames, the flash and its settle, the movement: well past the last colour.
        let last = a.label.flash.last().expect("a flash").end_ms;
        assert!((4..=6).contains(&a.label.flash.len()), "{:?}", a.label.flash);
        assert!(a.label.frames.last().and_then(|f| f.arrived_ms).expect("arrivals") > last + 700);
        let arrivals: Vec<u32> = a.label.frames.iter().filter_map(|f| f.arrived_ms).collect();
        assert!(arrivals.windows(2).all(|w| w[0] < w[1]), "{arrivals:?}");
        assert!(a.label.frames.iter().zip(&arrivals).all(|(f, a)| *a > f.time_ms), "arrival after capture");
        let identical = a.frames.windows(2).all(|w| w[0] == w[1]);
        if a.label.conditions.fresh_noise != Some(true) {
            assert_eq!(identical, expect_identical, "{kind:?}");
        }
    }

    #[test]
    fn each_kind_renders_deterministically() {
        check(LivenessKind::Genuine, false);
        check(LivenessKind::Print, false);
        check(LivenessKind::Screen, false);
        check(LivenessKind::Static, true);
        check(LivenessKind::Replay, false);
        check(LivenessKind::Injection, false);
    }

    /// The Pearson correlation, over frames and channels, of each frame's face chromaticity
    /// shift (from the frames before the flash) with the chromaticity the screen's light of
    /// `steps` would add, seen `lag` ms after it was sent.
    fn follows(seq: &LivenessSequence, steps: &[FlashStep], lag: f32) -> f32 {
        let chroma = |img: &RgbImage, b: [f32; 4]| {
            let mut sum = [0f32; 3];
            for y in (b[1] + 0.4 * b[3]) as u32..(b[1] + 0.8 * b[3]) as u32 {
                for x in (b[0] + 0.3 * b[2]) as u32..(b[0] + 0.7 * b[2]) as u32 {
                    let p = img.get_pixel(x.min(img.width() - 1), y.min(img.height() - 1)).0;
                    for k in 0..3 {
                        sum[k] += f32::from(p[k]);
                    }
                }
            }
            let t = sum.iter().sum::<f32>().max(1.0);
            sum.map(|v| v / t)
        };
        let first = steps.first().map_or(u32::MAX, |s| s.start_ms) as f32;
        // The frames a session scores: to the settle after this session's last colour.
        let until = seq.label.flash.last().map_or(0, |s| s.end_ms + 700);
        let measured: Vec<([f32; 3], [f32; 3])> = seq
            .frames
            .iter()
            .zip(&seq.label.frames)
            .filter(|(_, f)| f.time_ms < until)
            .map(|(img, f)| {
                let l = light_at(steps, lag, f.time_ms as f32 - 20.0, f.time_ms as f32);
                let sum = l.iter().sum::<f32>();
                let dir = if sum > 0.0 { l.map(|v| v / sum - 1.0 / 3.0) } else { [0.0; 3] };
                (chroma(img, f.face_box), dir)
            })
            .collect();
        let before: Vec<&[f32; 3]> = measured
            .iter()
            .zip(&seq.label.frames)
            .filter(|(_, f)| (f.time_ms as f32) < first)
            .map(|(m, _)| &m.0)
            .collect();
        let base: [f32; 3] = std::array::from_fn(|k| before.iter().map(|c| c[k]).sum::<f32>() / before.len() as f32);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (c, d) in &measured {
            for k in 0..3 {
                x.push(c[k] - base[k]);
                y.push(d[k]);
            }
        }
        let n = x.len() as f32;
        let (mx, my) = (x.iter().sum::<f32>() / n, y.iter().sum::<f32>() / n);
        let sxy: f32 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f32 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
        let syy: f32 = y.iter().map(|b| (b - my) * (b - my)).sum();
        if sxx * syy <= 0.0 { 0.0 } else { sxy / (sxx * syy).sqrt() }
    }

    #[test]
    fn a_live_face_reflects_its_own_flash_a_replay_another_sessions_an_injection_none() {
        let Some(assets) = assets() else { return };
        for seed in 0..4 {
            let g = small(LivenessKind::Genuine, seed, &assets);
            let lag = g.label.conditions.display_lag_ms.expect("a lag") as f32;
            let own = follows(&g, &g.label.flash, lag);
            assert!(own > 0.5, "seed {seed}: a live face follows its flash: {own} ({:?})", g.label.conditions);
            let r = small(LivenessKind::Replay, seed, &assets);
            let recorded = r.label.recorded_flash.as_deref().expect("the recording's flash");
            assert_ne!(recorded, r.label.flash.as_slice());
            let (this, theirs) = (follows(&r, &r.label.flash, lag), follows(&r, recorded, lag));
            assert!(theirs > this, "seed {seed}: a replay follows its own session's flash: {theirs} vs {this}");
            let i = small(LivenessKind::Injection, seed, &assets);
            let none = follows(&i, &i.label.flash, lag);
            assert!(none.abs() < 0.3, "seed {seed}: an injected stream reflects nothing: {none}");
            // Paper reflects the colours too: the flash is not what stops a print.
            let p = small(LivenessKind::Print, seed, &assets);
            let sheet = follows(&p, &p.label.flash, p.label.conditions.display_lag_ms.expect("a lag") as f32);
            assert!(sheet > 0.3, "seed {seed}: a print reflects the flash: {sheet}");
        }
    }

    #[test]
    fn the_live_head_moves_and_the_room_does_not() {
        let face = &placeholder_faces()[0];
        let a = live_head(face, 0.0, 0.0, [0.0, 0.0]);
        let b = live_head(face, 0.0, 0.0, [6.0, 0.0]);
        let [x, y, w, h] = face_region(face);
        assert_eq!(a.get_pixel(2, 2), b.get_pixel(2, 2), "the room stays put");
        let (x0, y0) = (x.max(0.0) as u32, y.max(0.0) as u32);
        let (x1, y1) = (((x + w) as u32).min(a.width()), ((y + h) as u32).min(a.height()));
        let changed = (y0..y1)
            .flat_map(|yy| (x0..x1).map(move |xx| (xx, yy)))
            .filter(|&(xx, yy)| a.get_pixel(xx, yy) != b.get_pixel(xx, yy))
            .count();
        assert!(changed > 5, "the head moved: {changed}");
    }
}
