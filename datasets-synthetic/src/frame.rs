//! Camera frames: a document placed in a scene by a random 3-D pose and pinhole projection, then
//! occluded, lit and degraded like a webcam capture, with labels that map the document into the
//! frame.
//!
//! Owns the pose model, the order of effects and the frame label. Effects themselves live in
//! [`crate::effects`], the warp in [`crate::warp`].

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::effects::{
    BackgroundKind, Photometry, PixelRng, background, defocus, glare, motion_blur, photometry, shadow, thumb,
};
use crate::render::Rect;
use crate::sample::{Assets, DocumentLabel, DocumentSample, LABEL_SCHEMA, Spec, document};
use crate::warp::{Homography, warp_onto};

/// Frame sizes drawn when the spec does not force one.
pub const RESOLUTIONS: [(u32, u32); 5] = [(640, 480), (960, 540), (1280, 720), (1280, 960), (1920, 1080)];
/// JPEG qualities drawn for degraded frames.
pub const JPEG_QUALITIES: [u8; 5] = [35, 50, 65, 80, 92];

/// How the frame was made (for analysis; the verifier must not read it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    /// Out-of-plane tilt of the document, degrees (0..=30).
    pub tilt_deg: f32,
    /// Axis of the tilt in the document plane, degrees.
    pub tilt_axis_deg: f32,
    /// In-plane rotation, degrees.
    pub roll_deg: f32,
    /// Share of the frame the document's bounding box spans in its limiting dimension.
    pub coverage: f32,
    /// Surface behind the document.
    pub background: BackgroundKind,
    /// Box-blur radius of the defocus (0 = sharp).
    pub defocus_radius: u32,
    /// Motion blur length in pixels and angle in degrees, if any.
    pub motion_blur: Option<(f32, f32)>,
    /// Exposure, colour cast and noise.
    pub photometry: Photometry,
    /// Pyramid level the document was sampled from.
    pub pyramid_level: u32,
}

/// A frame's label, written as JSON beside its image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameLabel {
    /// Label schema version.
    pub schema: u32,
    /// The frame's seed.
    pub seed: u64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// JPEG quality the frame is saved at.
    pub jpeg_quality: u8,
    /// The document shown: content, MRZ lines, format, holder, face, expected decision (with its
    /// reference date).
    pub document: DocumentLabel,
    /// The document's corners in the frame, in the document's order top-left, top-right,
    /// bottom-right, bottom-left (continuous pixel coordinates).
    pub corners: [[f32; 2]; 4],
    /// The MRZ block's corners in the frame (same order).
    pub mrz_corners: [[f32; 2]; 4],
    /// The main portrait's corners in the frame, if the side shows one.
    pub portrait_corners: Option<[[f32; 2]; 4]>,
    /// The main portrait's axis-aligned box in the frame (x, y, w, h).
    pub portrait_box: Option<[f32; 4]>,
    /// The ghost portrait's corners in the frame, if any.
    pub ghost_portrait_corners: Option<[[f32; 2]; 4]>,
    /// The hand-like occluder's box (x, y, w, h), if any.
    pub occluder_box: Option<[f32; 4]>,
    /// Boxes (x, y, w, h) of specular glare spots.
    pub glare_boxes: Vec<[f32; 4]>,
    /// How the frame was made.
    pub capture: Capture,
}

/// A frame and its label.
#[derive(Clone, Debug)]
pub struct FrameSample {
    /// The frame, RGB, before JPEG compression.
    pub image: RgbImage,
    /// The label.
    pub label: FrameLabel,
}

impl FrameSample {
    /// The frame encoded as JPEG at the label's quality (the bytes a dataset stores).
    pub fn jpeg(&self) -> Result<Vec<u8>, Error> {
        encode_jpeg(&self.image, self.label.jpeg_quality)
    }
}

/// Encodes an RGB image as baseline JPEG.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    let (w, h) = (u16::try_from(img.width()), u16::try_from(img.height()));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Error::Encode { reason: format!("{}x{} is too large for JPEG", img.width(), img.height()) });
    };
    let mut out = Vec::with_capacity(img.len() / 8);
    // 4:2:0 chroma subsampling, as webcams and browsers produce.
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder.encode(img.as_raw(), w, h, ColorType::Rgb).map_err(|e| Error::Encode { reason: e.to_string() })?;
    Ok(out)
}

/// Generates one frame from its seed: renders its document (seeded from the frame seed), then
/// places it.
pub fn frame(seed: u64, assets: &Assets, spec: &Spec) -> Result<FrameSample, Error> {
    let doc = document(seed ^ 0x5EED_D0C5, assets, spec)?;
    frame_of(&doc, seed, spec)
}

fn rotate(p: [f64; 3], axis: [f64; 3], angle: f64) -> [f64; 3] {
    // Rodrigues' rotation about a unit axis.
    let (s, c) = angle.sin_cos();
    let dot = axis[0] * p[0] + axis[1] * p[1] + axis[2] * p[2];
    let cross = [axis[1] * p[2] - axis[2] * p[1], axis[2] * p[0] - axis[0] * p[2], axis[0] * p[1] - axis[1] * p[0]];
    std::array::from_fn(|i| p[i] * c + cross[i] * s + axis[i] * dot * (1.0 - c))
}

/// The document's corners in a `fw` x `fh` frame for a pose: in-plane `roll`, then `tilt` about an
/// in-plane axis at `axis` (radians), seen by a pinhole camera (about 58 degrees horizontal field
/// of view), scaled so its bounding box spans `coverage` of the frame, and shifted by `shift`
/// (0..1 within the free space on each axis).
#[allow(clippy::too_many_arguments)]
pub fn project(
    size_mm: (f32, f32),
    roll: f64,
    tilt: f64,
    axis: f64,
    fw: u32,
    fh: u32,
    coverage: f64,
    shift: [f64; 2],
) -> [[f32; 2]; 4] {
    let (w, h) = (f64::from(size_mm.0), f64::from(size_mm.1));
    let f = 0.9 * f64::from(fw);
    let distance = 2.5 * w.max(h);
    let tilt_axis = [axis.cos(), axis.sin(), 0.0];
    let pts = [[-w / 2.0, -h / 2.0], [w / 2.0, -h / 2.0], [w / 2.0, h / 2.0], [-w / 2.0, h / 2.0]].map(|[x, y]| {
        let p = rotate([x, y, 0.0], [0.0, 0.0, 1.0], roll);
        let p = rotate(p, tilt_axis, tilt);
        let z = distance + p[2];
        [f * p[0] / z, f * p[1] / z]
    });
    let min_x = pts.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
    let max_x = pts.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max);
    let min_y = pts.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
    let max_y = pts.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
    let (fwf, fhf) = (f64::from(fw), f64::from(fh));
    let k = coverage * (fwf / (max_x - min_x)).min(fhf / (max_y - min_y));
    let (bw, bh) = ((max_x - min_x) * k, (max_y - min_y) * k);
    let margin = 2.0;
    let ox = margin + (fwf - bw - 2.0 * margin).max(0.0) * shift[0] - min_x * k;
    let oy = margin + (fhf - bh - 2.0 * margin).max(0.0) * shift[1] - min_y * k;
    pts.map(|[x, y]| [(x * k + ox) as f32, (y * k + oy) as f32])
}

fn bbox(q: &[[f32; 2]; 4]) -> [f32; 4] {
    let x0 = q.iter().map(|p| p[0]).fold(f32::INFINITY, f32::min);
    let x1 = q.iter().map(|p| p[0]).fold(f32::NEG_INFINITY, f32::max);
    let y0 = q.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min);
    let y1 = q.iter().map(|p| p[1]).fold(f32::NEG_INFINITY, f32::max);
    [x0, y0, x1 - x0, y1 - y0]
}

fn quad_area(q: &[[f32; 2]; 4]) -> f32 {
    let mut a = 0.0;
    for i in 0..4 {
        let (p, r) = (q[i], q[(i + 1) % 4]);
        a += p[0] * r[1] - r[0] * p[1];
    }
    a.abs() / 2.0
}

const SKIN: [[f32; 3]; 5] =
    [[236.0, 194.0, 164.0], [214.0, 160.0, 122.0], [176.0, 120.0, 86.0], [120.0, 78.0, 52.0], [240.0, 205.0, 180.0]];

/// Places an already rendered document in a new frame drawn from `seed`.
pub fn frame_of(doc: &DocumentSample, seed: u64, spec: &Spec) -> Result<FrameSample, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xF4A3_E5EE);
    let (fw, fh) = match spec.resolution {
        Some((w, h)) if (16..=8192).contains(&w) && (16..=8192).contains(&h) => (w, h),
        Some((w, h)) => return Err(Error::BadSpec { reason: format!("resolution {w}x{h} outside 16..=8192") }),
        None => *RESOLUTIONS.choose(&mut rng).unwrap_or(&(1280, 720)),
    };
    let clean = spec.clean;
    let mut img = RgbImage::new(fw, fh);
    let bg = *[BackgroundKind::Wood, BackgroundKind::Fabric, BackgroundKind::Plain, BackgroundKind::Clutter]
        .choose(&mut rng)
        .unwrap_or(&BackgroundKind::Plain);
    background(&mut img, bg, &mut rng);

    // Pose.
    let max_tilt = if clean { 8.0 } else { 30.0 };
    let max_roll = if clean { 5.0 } else { 25.0 };
    let tilt_deg: f64 = rng.random_range(0.0..max_tilt);
    let axis_deg: f64 = rng.random_range(0.0..360.0);
    let roll_deg: f64 = rng.random_range(-max_roll..max_roll);
    let coverage: f64 = if clean { rng.random_range(0.6..0.85) } else { rng.random_range(0.33..0.95) };
    let shift = [rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)];
    let geom = &doc.label.geometry;
    let corners = project(
        geom.size_mm,
        roll_deg.to_radians(),
        tilt_deg.to_radians(),
        axis_deg.to_radians(),
        fw,
        fh,
        coverage,
        shift,
    );
    let (dw, dh) = (geom.size_px.0 as f32, geom.size_px.1 as f32);
    let doc_corners = Rect { x: 0.0, y: 0.0, w: dw, h: dh }.corners();
    let h = Homography::from_points(doc_corners.map(|p| p.map(f64::from)), corners.map(|p| p.map(f64::from)))
        .ok_or_else(|| Error::BadSpec { reason: "degenerate pose".to_owned() })?;

    if !clean && rng.random_bool(0.6) {
        let d = 0.012 * fw as f32;
        shadow(&mut img, corners, [rng.random_range(-d..d), rng.random_range(0.0..d)], rng.random_range(0.15..0.4));
    }
    // Pick the pyramid level whose resolution is closest above the frame's.
    let linear = (quad_area(&corners) / (dw * dh)).sqrt();
    let level = if linear > 0.6 {
        0
    } else if linear > 0.3 {
        1
    } else {
        2
    };
    let src = doc.level(level);
    warp_onto(&mut img, src, &h, (dw, dh), src.width() as f32 / dw);

    let map = |r: &Rect| r.corners().map(|p| h.apply_f32(p));
    let mrz_corners = map(&geom.mrz);
    let portrait_corners = geom.portrait.as_ref().map(map);
    let ghost_portrait_corners = geom.ghost_portrait.as_ref().map(map);

    // A thumb over the left, right or top edge, kept above the MRZ.
    let mut occluder_box = None;
    if !clean && rng.random_bool(0.55) {
        let (wm, hm) = geom.size_mm;
        let s = geom.px_per_mm;
        let mrz_top_mm = geom.mrz.y / s;
        let (edge, inside) = match rng.random_range(0..3) {
            0 => {
                let y = rng.random_range(0.15 * hm..(mrz_top_mm - 10.0).max(0.16 * hm));
                ([-14.0, y + 4.0], [rng.random_range(4.0..11.0), y])
            }
            1 => {
                let y = rng.random_range(0.15 * hm..(mrz_top_mm - 10.0).max(0.16 * hm));
                ([wm + 14.0, y + 4.0], [wm - rng.random_range(4.0..11.0), y])
            }
            _ => {
                let x = rng.random_range(0.2 * wm..0.8 * wm);
                ([x + 3.0, -14.0], [x, rng.random_range(4.0..9.0)])
            }
        };
        let to_frame = |p: [f32; 2]| h.apply_f32([p[0] * s, p[1] * s]);
        let (a, b) = (to_frame(edge), to_frame(inside));
        // About 18 mm wide, in frame pixels at the thumb's position.
        let c = to_frame([inside[0] + 9.0, inside[1]]);
        let radius = ((c[0] - b[0]).powi(2) + (c[1] - b[1]).powi(2)).sqrt();
        let skin = *SKIN.choose(&mut rng).unwrap_or(&SKIN[0]);
        occluder_box = thumb(&mut img, a, b, radius, skin);
    }

    // Specular glare inside the document.
    let mut glare_boxes = Vec::new();
    if !clean && rng.random_bool(0.35) {
        let n = rng.random_range(1..=2);
        let diag = (dw * dw + dh * dh).sqrt();
        for _ in 0..n {
            let p = h.apply_f32([rng.random_range(0.1..0.9) * dw, rng.random_range(0.1..0.9) * dh]);
            let q = h.apply_f32([dw / 2.0 + 0.1 * diag, dh / 2.0]);
            let centre = h.apply_f32([dw / 2.0, dh / 2.0]);
            let unit = ((q[0] - centre[0]).powi(2) + (q[1] - centre[1]).powi(2)).sqrt() / 0.1;
            let r = [unit * rng.random_range(0.04..0.16), unit * rng.random_range(0.02..0.07)];
            glare(&mut img, p, r, rng.random_range(0.0..std::f32::consts::PI), rng.random_range(0.5..1.0));
            let rm = r[0].max(r[1]);
            glare_boxes.push([p[0] - rm, p[1] - rm, 2.0 * rm, 2.0 * rm]);
        }
    }

    // Optics.
    let mut defocus_radius = 0;
    let mut motion = None;
    if !clean {
        defocus_radius = *[0u32, 0, 0, 0, 0, 0, 1, 1, 2, 3].choose(&mut rng).unwrap_or(&0);
        defocus(&mut img, defocus_radius as usize);
        if rng.random_bool(0.12) {
            let len: f32 = rng.random_range(3.0..12.0);
            let angle: f32 = rng.random_range(0.0..180.0);
            motion_blur(&mut img, len, angle.to_radians());
            motion = Some((len, angle));
        }
    }

    // Sensor.
    let p = if clean {
        Photometry { exposure: 1.0, cast: [1.0; 3], gradient: 0.0, gradient_angle: 0.0, noise_sigma: 0.0 }
    } else {
        Photometry {
            exposure: rng.random_range(0.6..1.35),
            cast: [rng.random_range(0.85..1.15), rng.random_range(0.9..1.1), rng.random_range(0.85..1.15)],
            gradient: rng.random_range(0.0..0.4),
            gradient_angle: rng.random_range(0.0..std::f32::consts::TAU),
            noise_sigma: rng.random_range(0.0..7.0),
        }
    };
    if !clean {
        photometry(&mut img, &p, &mut PixelRng::from_rng(&mut rng));
    }
    let jpeg_quality = if clean { 95 } else { *JPEG_QUALITIES.choose(&mut rng).unwrap_or(&80) };

    let label = FrameLabel {
        schema: LABEL_SCHEMA,
        seed,
        width: fw,
        height: fh,
        jpeg_quality,
        document: doc.label.clone(),
        corners,
        mrz_corners,
        portrait_box: portrait_corners.as_ref().map(bbox),
        portrait_corners,
        ghost_portrait_corners,
        occluder_box,
        glare_boxes,
        capture: Capture {
            tilt_deg: tilt_deg as f32,
            tilt_axis_deg: axis_deg as f32,
            roll_deg: roll_deg as f32,
            coverage: coverage as f32,
            background: bg,
            defocus_radius,
            motion_blur: motion,
            photometry: p,
            pyramid_level: level as u32,
        },
    };
    Ok(FrameSample { image: img, label })
}
