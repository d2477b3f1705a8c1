//! The document portrait's quality: whether the printed face found in a frame carries enough
//! detail to be compared, measured from the pixels, and the fusion of several frames' portraits
//! into one embedding.
//!
//! Two measures decide ([`PortraitGate`]): the portrait's size (the distance between its eyes in
//! frame pixels) and its sharpness (the 4-neighbour Laplacian's RMS over the grey level's
//! standard deviation, on the face aligned to a fixed 112-pixel crop with a box filter, so the
//! value does not follow the print's contrast, the light or the embedding model). A small
//! portrait is refused before a blurred one: "bring the document closer" is the hint that helps
//! both. What it leaves out: glare over the portrait (the detector's landmarks usually fail
//! first) and which frames to keep (the session's).

use super::align::{TEMPLATE_112, align_to_template};
use super::embed::EmbeddingMismatch;
use super::{AlignedFace, DetectedFace, Embedding};
use crate::frame::Frame;

/// The side of the aligned crop sharpness is measured on; fixed so that the bar does not depend
/// on the embedding model's input size.
const SHARPNESS_CROP: u32 = 112;

/// The bars a document portrait must meet to be compared; from configuration
/// (`face.portrait.min_eye_distance_px`, `face.portrait.min_sharpness`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitGate {
    /// Smallest distance between the portrait's eyes, in frame pixels.
    pub min_eye_distance_px: f32,
    /// Smallest [`PortraitQuality::sharpness`].
    pub min_sharpness: f32,
}

/// Why a found portrait is not good enough to compare; each a code the capture page translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortraitIssue {
    /// The portrait is too small in the frame: bring the document closer.
    TooSmall,
    /// The portrait is blurred (focus or motion): hold the document still.
    Blurry,
}

impl PortraitIssue {
    /// The stable machine-readable code, e.g. `document.portrait_too_small`.
    pub fn code(self) -> &'static str {
        match self {
            PortraitIssue::TooSmall => "document.portrait_too_small",
            PortraitIssue::Blurry => "document.portrait_blurry",
        }
    }
}

/// What was measured of one portrait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitQuality {
    /// Distance between the eyes (the detector's landmarks), in frame pixels.
    pub eye_distance_px: f32,
    /// RMS of the 4-neighbour Laplacian over the standard deviation of the grey level, both
    /// over the centre of the face aligned to a 112-pixel crop (ArcFace template, box-filtered);
    /// unit-free: scaling the contrast leaves it unchanged. 0 when the crop is flat or could not
    /// be made.
    pub sharpness: f32,
    /// The detector's confidence, 0 to 1.
    pub detector_score: f32,
}

impl PortraitQuality {
    /// The first bar this portrait fails, size before sharpness; `None` when it passes.
    ///
    /// A portrait smaller than the crop it is measured on (eyes closer than the template's) is
    /// enlarged into it and reads soft however well it is focused: failing the sharpness bar,
    /// it is called too small, since bringing it closer is what helps.
    pub fn issue(&self, gate: &PortraitGate) -> Option<PortraitIssue> {
        // A NaN meets no bar.
        let meets = |value: f32, bar: f32| value.partial_cmp(&bar).is_some_and(|o| o.is_ge());
        if !meets(self.eye_distance_px, gate.min_eye_distance_px) {
            Some(PortraitIssue::TooSmall)
        } else if !meets(self.sharpness, gate.min_sharpness) {
            let [right, left, ..] = TEMPLATE_112;
            let crop_eyes = (left[0] - right[0]) * SHARPNESS_CROP as f32 / 112.0;
            Some(if self.eye_distance_px < crop_eyes { PortraitIssue::TooSmall } else { PortraitIssue::Blurry })
        } else {
            None
        }
    }

    /// How much detail the portrait gives the embedder, for choosing among portraits (higher
    /// is better): its sharpness, since the bars already keep out what is too small. A NaN
    /// ranks last.
    pub fn rank(&self) -> f32 {
        if self.sharpness.is_finite() { self.sharpness } else { f32::NEG_INFINITY }
    }
}

/// Measures the portrait `face` found in `frame`.
pub fn measure_portrait(frame: &Frame, face: &DetectedFace) -> PortraitQuality {
    let template = TEMPLATE_112.map(|[x, y]| [x * SHARPNESS_CROP as f32 / 112.0, y * SHARPNESS_CROP as f32 / 112.0]);
    let crop = align_to_template(frame, face, &template, SHARPNESS_CROP);
    measure_with_crop(face, crop.as_ref())
}

fn measure_with_crop(face: &DetectedFace, crop: Option<&AlignedFace>) -> PortraitQuality {
    let [right_eye, left_eye, ..] = face.landmarks;
    let eye_distance_px = (left_eye[0] - right_eye[0]).hypot(left_eye[1] - right_eye[1]);
    PortraitQuality {
        eye_distance_px: if eye_distance_px.is_finite() { eye_distance_px } else { 0.0 },
        sharpness: crop.map_or(0.0, sharpness),
        detector_score: face.score,
    }
}

/// The Laplacian's RMS over the grey level's standard deviation, over the crop's centre (the
/// eyes, nose and mouth of the template, away from the border alignment may leave black).
fn sharpness(crop: &AlignedFace) -> f32 {
    let n = crop.size() as usize;
    let grey: Vec<f32> = crop
        .rgb()
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let (lo, hi) = ((n / 5).max(1), (n - n / 5).min(n.saturating_sub(1)));
    let (mut lap, mut sum, mut sum2, mut count) = (0f64, 0f64, 0f64, 0usize);
    for y in lo..hi {
        for x in lo..hi {
            let c = grey[y * n + x];
            let l = grey[(y - 1) * n + x] + grey[(y + 1) * n + x] + grey[y * n + x - 1] + grey[y * n + x + 1] - 4.0 * c;
            lap += f64::from(l * l);
            sum += f64::from(c);
            sum2 += f64::from(c * c);
            count += 1;
        }
    }
    if count == 0 {
        return 0.0;
    }
    let n = count as f64;
    let variance = (sum2 / n - (sum / n).powi(2)).max(0.0);
    // A flat crop (no contrast at all) has no detail, whatever the ratio would say.
    if variance < 1.0 {
        return 0.0;
    }
    ((lap / n).sqrt() / variance.sqrt()) as f32
}

/// One embedding for several portraits of the same document: the mean of the unit embeddings,
/// renormalised. `Ok(None)` for no embedding (or ones that cancel out); an error when they come
/// from different models.
pub fn fuse(embeddings: &[&Embedding]) -> Result<Option<Embedding>, EmbeddingMismatch> {
    let Some(first) = embeddings.first() else { return Ok(None) };
    for e in &embeddings[1..] {
        // Compared for its check of model and dimension alone.
        first.cosine(e)?;
    }
    let mut sum = vec![0f32; first.dim()];
    for e in embeddings {
        sum.iter_mut().zip(e.values()).for_each(|(s, v)| *s += v);
    }
    Ok(Embedding::new(first.model(), sum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceBox;

    const GATE: PortraitGate = PortraitGate { min_eye_distance_px: 30.0, min_sharpness: 1.0 };

    fn face(eye_distance: f32) -> DetectedFace {
        DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 2.0 * eye_distance, height: 2.5 * eye_distance },
            score: 0.9,
            landmarks: [[10.0, 10.0], [10.0 + eye_distance, 10.0], [0.0; 2], [0.0; 2], [0.0; 2]],
        }
    }

    /// A 112-pixel crop of squares `period` pixels wide alternating between `lo` and `hi`.
    fn checker(period: usize, lo: u8, hi: u8) -> AlignedFace {
        let n = 112usize;
        let rgb = (0..n * n).flat_map(|i| {
            let v = if ((i % n) / period + (i / n) / period).is_multiple_of(2) { lo } else { hi };
            [v, v, v]
        });
        AlignedFace::from_rgb(112, rgb.collect())
    }

    fn check(eye_distance: f32, crop: Option<AlignedFace>, expect: Option<PortraitIssue>) -> PortraitQuality {
        let q = measure_with_crop(&face(eye_distance), crop.as_ref());
        assert_eq!(q.issue(&GATE), expect, "{q:?}");
        q
    }

    #[test]
    fn small_portraits_are_refused_before_blurred_ones() {
        check(40.0, Some(checker(2, 50, 200)), None);
        check(20.0, Some(checker(2, 50, 200)), Some(PortraitIssue::TooSmall));
        check(20.0, Some(AlignedFace::filled(112, [128; 3])), Some(PortraitIssue::TooSmall));
        check(40.0, Some(AlignedFace::filled(112, [128; 3])), Some(PortraitIssue::Blurry));
        check(40.0, None, Some(PortraitIssue::Blurry));
        // Over the size bar but smaller than the crop's eyes (35 px): soft because enlarged.
        check(32.0, Some(AlignedFace::filled(112, [128; 3])), Some(PortraitIssue::TooSmall));
        assert_eq!(PortraitIssue::TooSmall.code(), "document.portrait_too_small");
        assert_eq!(PortraitIssue::Blurry.code(), "document.portrait_blurry");
    }

    #[test]
    fn sharpness_follows_detail_not_contrast() {
        let fine = check(40.0, Some(checker(2, 100, 150)), None).sharpness;
        let fine_strong = check(40.0, Some(checker(2, 20, 240)), None).sharpness;
        let coarse = check(40.0, Some(checker(32, 20, 240)), Some(PortraitIssue::Blurry)).sharpness;
        assert!((fine - fine_strong).abs() < 0.01 * fine, "contrast changed it: {fine} vs {fine_strong}");
        assert!(coarse < 0.25 * fine, "coarse {coarse} vs fine {fine}");
    }

    #[test]
    fn a_measured_face_ranks_by_sharpness_and_nan_fails() {
        let frame = Frame::from_rgb(image::RgbImage::from_fn(200, 200, |x, y| {
            if (x / 2 + y / 2) % 2 == 0 { image::Rgb([30; 3]) } else { image::Rgb([220; 3]) }
        }));
        let f = DetectedFace {
            bbox: FaceBox { x: 40.0, y: 40.0, width: 120.0, height: 140.0 },
            score: 0.8,
            landmarks: TEMPLATE_112.map(|[x, y]| [x + 44.0, y + 44.0]),
        };
        let q = measure_portrait(&frame, &f);
        assert!((q.eye_distance_px - 35.24).abs() < 0.1, "{q:?}");
        assert!(q.sharpness > 1.0 && q.issue(&GATE).is_none(), "{q:?}");
        assert_eq!(q.detector_score, 0.8);
        let nan = PortraitQuality { eye_distance_px: f32::NAN, sharpness: f32::NAN, detector_score: 0.0 };
        assert_eq!(nan.issue(&GATE), Some(PortraitIssue::TooSmall));
        assert!(nan.rank() < q.rank());
        // Degenerate landmarks make no crop, and no panic.
        let flat = DetectedFace { landmarks: [[5.0, 5.0]; 5], ..f };
        assert_eq!(measure_portrait(&frame, &flat).sharpness, 0.0);
    }

    #[test]
    fn fusion_averages_unit_embeddings() {
        let at = |deg: f32| {
            let r = deg.to_radians();
            Embedding::new("m", vec![r.cos(), r.sin()]).unwrap()
        };
        let fused = fuse(&[&at(0.0), &at(60.0)]).unwrap().unwrap();
        assert!((fused.cosine(&at(30.0)).unwrap() - 1.0).abs() < 1e-6);
        assert_eq!(fuse(&[]).unwrap(), None);
        assert_eq!(fuse(&[&at(0.0), &at(180.0)]).unwrap(), None, "opposite embeddings cancel out");
        let other = Embedding::new("other", vec![1.0, 0.0]).unwrap();
        assert!(fuse(&[&at(0.0), &other]).is_err());
    }
}
