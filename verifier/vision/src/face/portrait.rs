//! The document portrait: which face in a document frame is the holder's printed photo.
//!
//! When the MRZ has been located, the frame is turned so that the MRZ reads horizontally
//! (YuNet finds upright faces; a document held at 40 degrees would hide its portrait) and the
//! largest face above the MRZ's top edge is taken: on every ICAO layout with a portrait on the
//! MRZ side, the portrait sits above the zone. Without an MRZ location, the largest face in the
//! frame is taken. Landmarks are mapped back to the frame, so alignment samples the original
//! pixels once.

use super::{DetectedFace, FaceAnalyzer, FaceBox, align_face, largest};
use crate::face::Embedding;
use crate::face::align::{Similarity, warp};
use crate::frame::Frame;
use crate::model::ModelError;
use crate::mrz::MrzLocation;

/// The holder's portrait found in a document frame.
#[derive(Debug, Clone)]
pub struct Portrait {
    /// The face, in frame pixels (the box is the upright box's extent, turned back).
    pub face: DetectedFace,
    /// Its embedding, when it could be aligned.
    pub embedding: Option<Embedding>,
    /// How far the frame was turned to read the document upright, in degrees.
    pub turned_deg: f32,
}

/// Finds the holder's portrait in `frame`, using the MRZ's location when known.
pub fn find_portrait(
    frame: &Frame,
    mrz: Option<&MrzLocation>,
    analyzer: &FaceAnalyzer,
) -> Result<Option<Portrait>, ModelError> {
    let (face, turned_deg) = match mrz {
        Some(location) => match portrait_above_mrz(frame, location, analyzer)? {
            Some(found) => found,
            None => return Ok(None),
        },
        None => match largest(&analyzer.detector.detect(frame)?) {
            Some(face) => (face, 0.0),
            None => return Ok(None),
        },
    };
    let embedding = match align_face(frame, &face, analyzer.embedder.input_size()) {
        Some(crop) => analyzer.embedder.embed(std::slice::from_ref(&crop))?.pop(),
        None => None,
    };
    Ok(Some(Portrait { face, embedding, turned_deg }))
}

fn portrait_above_mrz(
    frame: &Frame,
    mrz: &MrzLocation,
    analyzer: &FaceAnalyzer,
) -> Result<Option<(DetectedFace, f32)>, ModelError> {
    let [tl, tr, _, bl] = mrz.corners;
    let angle = (tr[1] - tl[1]).atan2(tr[0] - tl[0]).to_degrees();
    if !angle.is_finite() {
        return Ok(None);
    }
    // The upright image: the frame turned by -angle about its centre, on a canvas big enough
    // to hold all of it.
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let (sin, cos) = angle.to_radians().sin_cos();
    let (uw, uh) = ((w * cos.abs() + h * sin.abs()).ceil(), (w * sin.abs() + h * cos.abs()).ceil());
    let to_upright = {
        let r = Similarity::rotation(-angle, [0.0, 0.0]);
        let c = r.apply([w / 2.0, h / 2.0]);
        Similarity::rotation(-angle, [uw / 2.0 - c[0], uh / 2.0 - c[1]])
    };
    let to_frame = to_upright.inverse();
    let pixels = warp(frame, &to_frame, uw as u32, uh as u32);
    let upright = image::RgbImage::from_raw(uw as u32, uh as u32, pixels)
        .map(Frame::from_rgb)
        .expect("warp returns width * height RGB pixels");
    // The MRZ's top edge in the upright image: faces must lie above it.
    let mrz_top = to_upright.apply(tl)[1].min(to_upright.apply(tr)[1]);
    let mrz_height = (to_upright.apply(bl)[1] - to_upright.apply(tl)[1]).abs();
    let faces: Vec<DetectedFace> = analyzer
        .detector
        .detect(&upright)?
        .into_iter()
        .filter(|f| f.bbox.y + f.bbox.height <= mrz_top + mrz_height * 0.5)
        .collect();
    let Some(face) = largest(&faces) else { return Ok(None) };
    Ok(Some((turned_back(&face, &to_frame), angle)))
}

/// A face detected in the upright image, in frame coordinates.
fn turned_back(face: &DetectedFace, to_frame: &Similarity) -> DetectedFace {
    let b = face.bbox;
    let corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
        .map(|p| to_frame.apply(p));
    let (xs, ys) = (corners.map(|p| p[0]), corners.map(|p| p[1]));
    let min = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
    let max = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
    DetectedFace {
        bbox: FaceBox { x: min(xs), y: min(ys), width: max(xs) - min(xs), height: max(ys) - min(ys) },
        score: face.score,
        landmarks: face.landmarks.map(|p| to_frame.apply(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_turn_back() {
        let up = Similarity::rotation(-30.0, [5.0, 7.0]);
        let p = [12.0, -3.0];
        let back = up.inverse().apply(up.apply(p));
        assert!((back[0] - p[0]).abs() < 1e-4 && (back[1] - p[1]).abs() < 1e-4);
        // Turning by -angle brings a line at +angle to horizontal.
        let r = Similarity::rotation(-30.0, [0.0, 0.0]);
        let (s, c) = 30f32.to_radians().sin_cos();
        let q = r.apply([c, s]);
        assert!(q[1].abs() < 1e-5 && (q[0] - 1.0).abs() < 1e-5, "{q:?}");
    }

    #[test]
    fn faces_map_back_to_the_frame() {
        let face = DetectedFace {
            bbox: FaceBox { x: 10.0, y: 20.0, width: 30.0, height: 40.0 },
            score: 0.9,
            landmarks: [[20.0, 30.0]; 5],
        };
        let shift = Similarity::rotation(0.0, [-100.0, -50.0]);
        let back = turned_back(&face, &shift);
        assert_eq!(back.bbox, FaceBox { x: -90.0, y: -30.0, width: 30.0, height: 40.0 });
        assert_eq!(back.landmarks[0], [-80.0, -20.0]);
    }
}
