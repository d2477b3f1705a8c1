//! Labelled sequences for the passive presentation-attack layer: a live face, or a print, a
//! screen or a still image of one, under the same range of honest capture conditions.
//!
//! Each sequence is what a session's face and challenge steps analyse: a dozen frames a fifth of
//! a second apart, the person holding still then turning a little. The attacks differ from the
//! genuine sequences the way real ones do, not by a marker:
//! - `genuine`: the photo is the scene (the person in their room); the head alone moves (sway,
//!   breathing, a small turn), in front of a background that stays put.
//! - `print`: the photo printed (white margin, ink's compressed range, paper fibre, on half of
//!   them a laser printer's periodic halftone screen), held up by hand: the sheet sways and is
//!   tilted to fake the turn, face and printed background moving as one; its light is the
//!   room's, with no change of its own.
//! - `screen`: a genuine recording played on a phone or tablet held up: bezel, panel glow
//!   (lifted blacks, a bluish white point), moire from the panel grid against the sensor, and on
//!   some a rolling-shutter flicker band pattern; the recorded head keeps its own parallax.
//! - `static`: one frame of a live capture injected for every frame; on half of them fresh
//!   sensor noise is added to each copy, so the bytes differ while nothing moves.
//! - `replay` and `injection` (for the flash layer, which the passive layer is not expected to
//!   catch): a genuine recording replayed (the flash colours it reflects are another session's),
//!   and perfect frames from a virtual camera (no sensor noise, no compression loss).
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
}

/// One frame of a sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LivenessFrame {
    /// File name in the sequence folder.
    pub file: String,
    /// Time from the sequence's start, milliseconds.
    pub time_ms: u32,
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
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LivenessSpec {
    /// Frame size (even).
    pub resolution: (u32, u32),
    /// Frames per sequence.
    pub frames: u32,
    /// Time between frames (a session analyses 3-7 frames a second).
    pub interval_ms: u32,
    /// Force a kind (drawn otherwise: 40 % genuine, 15 % each print, screen, still, 7.5 % each
    /// replay and injection).
    pub kind: Option<LivenessKind>,
}

impl LivenessSpec {
    /// 640x480, 12 frames 200 ms apart.
    pub fn new() -> Self {
        LivenessSpec { resolution: (640, 480), frames: 12, interval_ms: 200, kind: None }
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
/// the rest of the photo (the room) unmoved.
fn live_head(face: &FacePhoto, yaw: f32, pitch: f32, d: [f32; 2]) -> RgbImage {
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

/// Generates one sequence.
pub fn liveness_sequence(seed: u64, assets: &Assets, spec: &LivenessSpec) -> Result<LivenessSequence, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x11FE_0000);
    let (fw, fh) = spec.resolution;
    if fw % 2 == 1 || fh % 2 == 1 || !(64..=4096).contains(&fw) || !(64..=4096).contains(&fh) || spec.frames == 0 {
        return Err(Error::BadSpec { reason: format!("liveness frames {fw}x{fh} x{} are not usable", spec.frames) });
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

    // The person's motion: sway and breathing, then a small turn in the second half.
    let sway_amp = [rng.random_range(0.006..0.016f32), rng.random_range(0.003..0.008f32)];
    let sway_f = [rng.random_range(0.3..0.8f32), rng.random_range(0.2..0.5f32)];
    let sway_ph = [rng.random_range(0.0..std::f32::consts::TAU), rng.random_range(0.0..std::f32::consts::TAU)];
    let turn = *[(20.0f32, 0.0f32), (-20.0, 0.0), (0.0, 14.0), (0.0, -14.0)].choose(&mut rng).unwrap_or(&(20.0, 0.0));
    let psize = face.photo.dimensions();
    let zoom = rng.random_range(0.9..1.05f32);
    let k_photo = zoom * (fh as f32 / psize.1 as f32).max(fw as f32 * 0.6 / psize.0 as f32);
    let ph = |t: f32| -> ([f32; 2], f32, f32) {
        let n = spec.frames.max(2) as f32;
        let along = (t * 1000.0 / spec.interval_ms as f32) / (n - 1.0);
        let turned = if along < 0.45 { 0.0 } else { ((along - 0.45) / 0.35).clamp(0.0, 1.0) };
        let s = turned * turned * (3.0 - 2.0 * turned);
        let d = [
            (t * sway_f[0] * std::f32::consts::TAU + sway_ph[0]).sin() * sway_amp[0] * fw as f32 / k_photo,
            (t * sway_f[1] * std::f32::consts::TAU + sway_ph[1]).sin() * sway_amp[1] * fh as f32 / k_photo,
        ];
        (d, turn.0 * s, turn.1 * s)
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

    let mut frames = Vec::with_capacity(spec.frames as usize);
    let mut labels = Vec::with_capacity(spec.frames as usize);
    let mut still: Option<(RgbImage, [f32; 4])> = None;
    for i in 0..spec.frames {
        let t = (i * spec.interval_ms) as f32 / 1000.0;
        let file = format!("{i:06}.jpg");
        if let Some((img, b)) = &still {
            let mut img = img.clone();
            if fresh_noise == Some(true) {
                let p =
                    Photometry { exposure: 1.0, cast: [1.0; 3], gradient: 0.0, gradient_angle: 0.0, noise_sigma: 2.5 };
                photometry(&mut img, &p, &mut pixel_rng);
            }
            frames.push(img);
            labels.push(LivenessFrame { file, time_ms: i * spec.interval_ms, face_box: *b });
            continue;
        }
        let (d, yaw, pitch) = ph(t);
        let mut img = room.clone();
        let face_box = match kind {
            LivenessKind::Print | LivenessKind::Screen => {
                let medium = match &printed {
                    Some(p) => p.clone(),
                    None => {
                        let recorded = live_head(face, yaw, pitch, d);
                        let bands = flicker.unwrap_or(false).then_some((band_period, t * 9.0));
                        screen(&recorded, moire, bands, glow)
                    }
                };
                let (mw, mh) = (medium.width() as f32, medium.height() as f32);
                // Held by hand: the whole sheet sways; a print is tilted to fake the turn.
                let hand = [d[0] * k_photo / fw as f32, d[1] * k_photo / fh as f32];
                let tilt = if kind == LivenessKind::Print {
                    medium_base_tilt + f64::from((yaw.abs() + pitch.abs()) / 20.0) * 0.35
                } else {
                    medium_base_tilt + 0.03 * f64::from(t * 1.7).sin()
                };
                let corners = project(
                    (mw, mh),
                    0.03 * f64::from(t * 1.3).cos(),
                    tilt,
                    medium_axis,
                    fw,
                    fh,
                    medium_cover,
                    [0.5 + f64::from(hand[0]), 0.5 + f64::from(hand[1])],
                );
                let src = [[0.0, 0.0], [f64::from(mw), 0.0], [f64::from(mw), f64::from(mh)], [0.0, f64::from(mh)]];
                let h = Homography::from_points(src, corners.map(|p| p.map(f64::from)))
                    .ok_or_else(|| Error::BadSpec { reason: "degenerate medium pose".to_owned() })?;
                warp_onto(&mut img, &medium, &h, (mw, mh), 1.0);
                let margin = (mw - psize.0 as f32) / 2.0;
                let shift = Homography([1.0, 0.0, f64::from(margin), 0.0, 1.0, f64::from(margin), 0.0, 0.0, 1.0]);
                let fb = live_box(if kind == LivenessKind::Screen { d } else { [0.0, 0.0] }, &h.compose(&shift));
                // The hand holding it.
                let c = corners;
                thumb(&mut img, [c[3][0] - fw as f32 * 0.05, c[3][1] + fh as f32 * 0.05], c[3], fw as f32 * 0.03, skin);
                fb
            }
            _ => {
                let scene = live_head(face, yaw, pitch, d);
                warp_onto(&mut img, &rgba(&scene), &place, (psize.0 as f32, psize.1 as f32), 1.0);
                live_box(d, &place)
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
        photometry(&mut img, &photometry_p, &mut pixel_rng);
        if kind == LivenessKind::Static {
            still = Some((img.clone(), face_box));
        }
        frames.push(img);
        labels.push(LivenessFrame { file, time_ms: i * spec.interval_ms, face_box });
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
    };
    let label = LivenessLabel { schema: 1, seed, kind, conditions, width: fw, height: fh, frames: labels };
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

    fn check(kind: LivenessKind, expect_identical: bool) {
        let Some(assets) = assets() else { return };
        let spec = LivenessSpec { kind: Some(kind), frames: 4, ..LivenessSpec::new() };
        let a = liveness_sequence(7, &assets, &spec).expect("generates");
        let b = liveness_sequence(7, &assets, &spec).expect("generates");
        assert_eq!(a.label, b.label, "deterministic");
        assert!(a.frames == b.frames, "deterministic pixels");
        assert_eq!(a.frames.len(), 4);
        assert_eq!(a.label.kind, kind);
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
