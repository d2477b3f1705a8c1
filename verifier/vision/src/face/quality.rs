//! The live-face quality gate: is this frame good enough to compare against the document?
//!
//! Each failed check is a [`FaceIssue`] the capture page can turn into an instruction ("only
//! you in the picture", "come closer", "face the camera", "more light"...). Geometry comes from
//! the five landmarks; sharpness, exposure and eye visibility are measured on the aligned crop,
//! so they do not depend on how far the person sits from the camera.

use super::{AlignedFace, DetectedFace, align_face, largest};
use crate::frame::Frame;

/// Quality-gate thresholds; from configuration (see docs/thresholds.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityConfig {
    /// A second face scoring at least this makes the frame ambiguous.
    pub second_face_score: f32,
    /// Smallest distance between the eyes, in frame pixels.
    pub min_eye_distance_px: f32,
    /// Largest |yaw|: nose offset from the eyes' midpoint, in eye distances.
    pub max_yaw: f32,
    /// Pitch window: where the nose sits between the eye line (0) and the mouth line (1).
    pub pitch_range: (f32, f32),
    /// Largest head roll, in degrees.
    pub max_roll_deg: f32,
    /// Smallest variance of the Laplacian over the aligned grey crop.
    pub min_sharpness: f32,
    /// Acceptable mean brightness of the aligned crop's centre, 0..=255.
    pub brightness_range: (f32, f32),
    /// Smallest grey-level standard deviation in each eye's patch of the aligned crop, in
    /// percent of the face's mean brightness.
    pub min_eye_contrast: f32,
}

/// Why a live frame cannot be used; each maps to an instruction for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaceIssue {
    /// No face in the frame.
    NoFace,
    /// More than one face: someone else is in the picture, or a photo is held up.
    SeveralFaces,
    /// The face is partly outside the frame.
    CutOff,
    /// The face is too small: come closer.
    TooSmall,
    /// The head is turned or tilted up or down: face the camera.
    NotFrontal,
    /// The head is tilted sideways.
    Tilted,
    /// The image is blurred (motion or focus).
    Blurry,
    /// Too dark.
    TooDark,
    /// Too bright (overexposed, backlight on the face, glare).
    TooBright,
    /// The eyes cannot be seen (glasses glare, sunglasses, hair, hand).
    EyesNotVisible,
}

impl FaceIssue {
    /// The stable machine-readable code the capture page translates.
    pub fn code(self) -> &'static str {
        match self {
            FaceIssue::NoFace => "face.not_found",
            FaceIssue::SeveralFaces => "face.several_faces",
            FaceIssue::CutOff => "face.cut_off",
            FaceIssue::TooSmall => "face.too_small",
            FaceIssue::NotFrontal => "face.not_frontal",
            FaceIssue::Tilted => "face.tilted",
            FaceIssue::Blurry => "face.too_blurry",
            FaceIssue::TooDark => "face.too_dark",
            FaceIssue::TooBright => "face.too_bright",
            FaceIssue::EyesNotVisible => "face.eyes_not_visible",
        }
    }
}

/// The measurements behind a quality verdict, kept for the evidence and for ranking frames.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceQuality {
    /// Failed checks; empty when the frame is usable.
    pub issues: Vec<FaceIssue>,
    /// The face that was assessed (the largest).
    pub face: Option<DetectedFace>,
    /// Eye distance in frame pixels.
    pub eye_distance_px: f32,
    /// Nose offset from the eye midpoint, in eye distances (0 = frontal).
    pub yaw: f32,
    /// Nose position between eye line and mouth line.
    pub pitch: f32,
    /// Head roll in degrees.
    pub roll_deg: f32,
    /// Variance of the Laplacian on the aligned crop.
    pub sharpness: f32,
    /// Mean brightness of the aligned crop's centre.
    pub brightness: f32,
    /// The lower of the two eye patches' grey-level standard deviations, in percent of the
    /// face's mean brightness.
    pub eye_contrast: f32,
}

impl FaceQuality {
    /// Whether every check passed.
    pub fn usable(&self) -> bool {
        self.issues.is_empty()
    }

    /// A ranking score for usable frames: sharper, more frontal, larger is better.
    pub fn rank(&self) -> f32 {
        let frontal = 1.0 - (self.yaw.abs() * 2.0).min(1.0);
        let size = (self.eye_distance_px / 100.0).min(1.0);
        let sharp = (self.sharpness / 500.0).min(1.0);
        frontal + size + sharp + self.face.map_or(0.0, |f| f.score)
    }
}

/// The side of the aligned crop the photometric checks run on; fixed so that the thresholds do
/// not depend on the embedding model's input size.
const QUALITY_CROP: u32 = 112;

/// Assesses the largest of `faces` (as detected in `frame`).
pub fn assess(frame: &Frame, faces: &[DetectedFace], config: &QualityConfig) -> FaceQuality {
    let crop = largest(faces).and_then(|f| align_face(frame, &f, QUALITY_CROP));
    assess_with_crop(frame, faces, crop.as_ref(), config)
}

/// [`assess`] with the largest face's aligned crop already made.
fn assess_with_crop(
    frame: &Frame,
    faces: &[DetectedFace],
    aligned: Option<&AlignedFace>,
    config: &QualityConfig,
) -> FaceQuality {
    let mut q = FaceQuality {
        issues: Vec::new(),
        face: largest(faces),
        eye_distance_px: 0.0,
        yaw: 0.0,
        pitch: 0.5,
        roll_deg: 0.0,
        sharpness: 0.0,
        brightness: 0.0,
        eye_contrast: 0.0,
    };
    let Some(face) = q.face else {
        q.issues.push(FaceIssue::NoFace);
        return q;
    };
    if faces.iter().filter(|f| f.score >= config.second_face_score).count() > 1 {
        q.issues.push(FaceIssue::SeveralFaces);
    }
    let [right_eye, left_eye, nose, mouth_r, mouth_l] = face.landmarks;
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let b = face.bbox;
    let margin = 2.0;
    let landmark_out = face.landmarks.iter().any(|p| p[0] < 0.0 || p[1] < 0.0 || p[0] >= w || p[1] >= h);
    if landmark_out || b.x <= margin || b.y <= margin || b.x + b.width >= w - margin || b.y + b.height >= h - margin {
        q.issues.push(FaceIssue::CutOff);
    }
    let (dx, dy) = (left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]);
    q.eye_distance_px = (dx * dx + dy * dy).sqrt();
    q.roll_deg = dy.atan2(dx).to_degrees();
    if q.eye_distance_px < config.min_eye_distance_px {
        q.issues.push(FaceIssue::TooSmall);
    }
    if q.eye_distance_px > f32::EPSILON {
        let mid_eye = [(right_eye[0] + left_eye[0]) / 2.0, (right_eye[1] + left_eye[1]) / 2.0];
        let mid_mouth = [(mouth_r[0] + mouth_l[0]) / 2.0, (mouth_r[1] + mouth_l[1]) / 2.0];
        // Project the nose onto the eye axis (yaw) and onto the eye-to-mouth axis (pitch), so
        // a rolled head is not mistaken for a turned one.
        let (ux, uy) = (dx / q.eye_distance_px, dy / q.eye_distance_px);
        let (nx, ny) = (nose[0] - mid_eye[0], nose[1] - mid_eye[1]);
        q.yaw = (nx * ux + ny * uy) / q.eye_distance_px;
        let (mx, my) = (mid_mouth[0] - mid_eye[0], mid_mouth[1] - mid_eye[1]);
        let mouth_len2 = mx * mx + my * my;
        q.pitch = if mouth_len2 > f32::EPSILON { (nx * mx + ny * my) / mouth_len2 } else { 0.5 };
    }
    if q.yaw.abs() > config.max_yaw || q.pitch < config.pitch_range.0 || q.pitch > config.pitch_range.1 {
        q.issues.push(FaceIssue::NotFrontal);
    }
    if q.roll_deg.abs() > config.max_roll_deg {
        q.issues.push(FaceIssue::Tilted);
    }
    if let Some(crop) = aligned {
        let grey = grey_of(crop);
        let n = crop.size() as usize;
        q.sharpness = laplacian_variance(&grey, n);
        q.brightness = mean_in(&grey, n, 0.25, 0.2, 0.75, 0.9);
        // Small patches centred on the template's eye centres (x 0.34 and 0.66, y 0.46 of the
        // side): an open, visible eye has iris, sclera and lid edges there; sunglasses, a hand or
        // hair make the patch flat. Relative to the face's brightness, so dim light is not
        // mistaken for a covered eye.
        let right = std_in(&grey, n, 0.28, 0.42, 0.40, 0.50);
        let left = std_in(&grey, n, 0.60, 0.42, 0.72, 0.50);
        q.eye_contrast = 100.0 * right.min(left) / q.brightness.max(1.0);
        if q.sharpness < config.min_sharpness {
            q.issues.push(FaceIssue::Blurry);
        }
        if q.brightness < config.brightness_range.0 {
            q.issues.push(FaceIssue::TooDark);
        } else if q.brightness > config.brightness_range.1 {
            q.issues.push(FaceIssue::TooBright);
        }
        if q.eye_contrast < config.min_eye_contrast {
            q.issues.push(FaceIssue::EyesNotVisible);
        }
    }
    q
}

/// Rec. 601 luma of an aligned crop, row-major.
fn grey_of(crop: &AlignedFace) -> Vec<f32> {
    crop.rgb()
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect()
}

/// Variance of the 4-neighbour Laplacian over the central region (the template's face area,
/// away from the black border alignment may leave).
fn laplacian_variance(grey: &[f32], n: usize) -> f32 {
    let (lo, hi) = (n / 5, n - n / 5);
    let mut values = Vec::with_capacity((hi - lo) * (hi - lo));
    for y in lo.max(1)..hi.min(n - 1) {
        for x in lo.max(1)..hi.min(n - 1) {
            let c = grey[y * n + x];
            values.push(
                grey[(y - 1) * n + x] + grey[(y + 1) * n + x] + grey[y * n + x - 1] + grey[y * n + x + 1] - 4.0 * c,
            );
        }
    }
    variance(&values)
}

fn region(grey: &[f32], n: usize, x0: f32, y0: f32, x1: f32, y1: f32) -> Vec<f32> {
    let at = |f: f32| ((f * n as f32) as usize).min(n);
    let mut out = Vec::new();
    for y in at(y0)..at(y1) {
        out.extend_from_slice(&grey[y * n + at(x0)..y * n + at(x1)]);
    }
    out
}

fn mean_in(grey: &[f32], n: usize, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
    let r = region(grey, n, x0, y0, x1, y1);
    if r.is_empty() { 0.0 } else { r.iter().sum::<f32>() / r.len() as f32 }
}

fn std_in(grey: &[f32], n: usize, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
    variance(&region(grey, n, x0, y0, x1, y1)).sqrt()
}

fn variance(values: &[f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / values.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceBox;

    const CONFIG: QualityConfig = QualityConfig {
        second_face_score: 0.7,
        min_eye_distance_px: 30.0,
        max_yaw: 0.25,
        pitch_range: (0.3, 0.75),
        max_roll_deg: 15.0,
        min_sharpness: 20.0,
        brightness_range: (50.0, 210.0),
        min_eye_contrast: 6.0,
    };

    /// A frontal face: eyes 60 px apart at y 200, nose below their midpoint, mouth below.
    fn frontal(x: f32) -> DetectedFace {
        DetectedFace {
            bbox: FaceBox { x: x - 40.0, y: 150.0, width: 140.0, height: 180.0 },
            score: 0.95,
            landmarks: [[x, 200.0], [x + 60.0, 200.0], [x + 30.0, 235.0], [x + 5.0, 265.0], [x + 55.0, 265.0]],
        }
    }

    fn check(faces: &[DetectedFace], expect: &[FaceIssue]) {
        let frame = Frame::from_rgb(image::RgbImage::new(640, 480));
        let q = assess_with_crop(&frame, faces, None, &CONFIG);
        assert_eq!(q.issues, expect, "{q:?}");
    }

    #[test]
    fn geometry() {
        check(&[], &[FaceIssue::NoFace]);
        check(&[frontal(300.0)], &[]);
        check(&[frontal(300.0), frontal(100.0)], &[FaceIssue::SeveralFaces]);
        let mut weak_second = frontal(100.0);
        weak_second.score = 0.5;
        check(&[frontal(300.0), weak_second], &[]);
        check(&[frontal(10.0)], &[FaceIssue::CutOff]);
        let mut turned = frontal(300.0);
        turned.landmarks[2][0] += 25.0;
        check(&[turned], &[FaceIssue::NotFrontal]);
        let mut looking_down = frontal(300.0);
        looking_down.landmarks[2][1] = 262.0;
        check(&[looking_down], &[FaceIssue::NotFrontal]);
        let mut small = frontal(300.0);
        small.landmarks[1][0] = 320.0;
        small.landmarks[2][0] = 310.0;
        check(&[small], &[FaceIssue::TooSmall]);
    }

    #[test]
    fn roll_is_not_mistaken_for_yaw() {
        // The frontal face rotated by 30 degrees about the eye midpoint.
        let f = frontal(300.0);
        let (cx, cy) = (330.0f32, 200.0f32);
        let (s, c) = 30f32.to_radians().sin_cos();
        let mut rolled = f;
        for p in &mut rolled.landmarks {
            let (x, y) = (p[0] - cx, p[1] - cy);
            *p = [cx + c * x - s * y, cy + s * x + c * y];
        }
        check(&[rolled], &[FaceIssue::Tilted]);
    }

    fn crop_check(crop: AlignedFace, expect: &[FaceIssue]) {
        let frame = Frame::from_rgb(image::RgbImage::new(640, 480));
        let q = assess_with_crop(&frame, &[frontal(300.0)], Some(&crop), &CONFIG);
        assert_eq!(q.issues, expect, "{q:?}");
    }

    #[test]
    fn photometry_on_the_aligned_crop() {
        // A checkerboard is sharp, mid-grey on average, and has contrast in the eye patches.
        let checker = |lo: u8, hi: u8| {
            let n = 112usize;
            let rgb = (0..n * n).flat_map(|i| {
                let v = if ((i % n) / 4 + (i / n) / 4).is_multiple_of(2) { lo } else { hi };
                [v, v, v]
            });
            AlignedFace::from_rgb(112, rgb.collect())
        };
        crop_check(checker(60, 190), &[]);
        crop_check(AlignedFace::filled(112, [128, 128, 128]), &[FaceIssue::Blurry, FaceIssue::EyesNotVisible]);
        crop_check(checker(0, 40), &[FaceIssue::TooDark]);
        crop_check(checker(215, 255), &[FaceIssue::TooBright]);
    }
}
