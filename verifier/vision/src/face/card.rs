//! The card around a portrait: finding the outline of an ID-1 card (85.6 x 54 mm) from its
//! edges, given a face that could be its portrait.
//!
//! On the front of a TD1 card (the French card since 2021) there is no MRZ to place the
//! document from, so the card is found by search: rectangles of the card's aspect, turned like
//! the face's eye line, at every scale where the face would be a printed portrait's face (9 to
//! 24 mm wide) and every position where the face would sit in the card's portrait zone (ICAO
//! 9303 part 5, zone V: the left part of the front), each scored by the brightness step across
//! its four sides. The best rectangle wholly inside the frame is taken if its weakest side's
//! step reaches the configured contrast: a card's border is a step on all four sides, while the
//! same rectangle around a live face runs through hair, skin, clothes and background.
//!
//! What it leaves out: perspective (a card tilted out of the camera's plane is still close
//! enough to a rectangle at the tolerances used) and a card whose border cannot be seen against
//! its background (the same brightness as the table or the hand): that card is not found.

use super::DetectedFace;
use crate::frame::Frame;

/// ID-1 card size, millimetres (ISO/IEC 7810).
const CARD_MM: (f32, f32) = (85.6, 54.0);

/// Card search settings; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardConfig {
    /// The weakest side's mean brightness step (0..=255, across the border, 1.5 mm inside
    /// against 1.5 mm outside) at or above which a rectangle is taken as the card.
    pub min_contrast: f32,
}

/// A card found in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Card {
    /// Corners in frame pixels: top-left, top-right, bottom-right, bottom-left of the card upright.
    pub corners: [[f32; 2]; 4],
    /// The weakest side's brightness step.
    pub contrast: f32,
}

/// Luma plane for sampling.
struct Luma {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Luma {
    fn of(frame: &Frame) -> Luma {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let v = frame
            .as_raw()
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Luma { w, h, v }
    }

    /// Nearest-pixel sample; `None` outside.
    fn at(&self, p: [f32; 2]) -> Option<f32> {
        let (x, y) = (p[0].round(), p[1].round());
        if x < 0.0 || y < 0.0 || x >= self.w as f32 || y >= self.h as f32 {
            return None;
        }
        Some(self.v[y as usize * self.w + x as usize])
    }
}

/// The card around `face`, if one can be seen (see the module docs).
pub fn find_card(frame: &Frame, face: &DetectedFace, config: &CardConfig) -> Option<Card> {
    let luma = Luma::of(frame);
    let [right_eye, left_eye] = [face.landmarks[0], face.landmarks[1]];
    let angle = (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]);
    let angle = if angle.is_finite() { angle } else { 0.0 };
    let (sin, cos) = angle.sin_cos();
    let (across, down) = ([cos, sin], [-sin, cos]);
    let b = face.bbox;
    let centre = [b.x + b.width / 2.0, b.y + b.height / 2.0];
    let mut best: Option<Card> = None;
    // Face widths of 9 to 24 mm, in steps of about 6 %.
    let mut face_mm = 9.0f32;
    while face_mm <= 24.0 {
        let s = b.width / face_mm;
        // The face's centre 6 to 38 mm from the card's left edge, 12 to 45 mm from its top.
        let mut cx = 6.0f32;
        while cx <= 38.0 {
            let mut cy = 12.0f32;
            while cy <= 45.0 {
                let origin =
                    [centre[0] - s * (cx * across[0] + cy * down[0]), centre[1] - s * (cx * across[1] + cy * down[1])];
                let at = |x: f32, y: f32| {
                    [origin[0] + s * (x * across[0] + y * down[0]), origin[1] + s * (x * across[1] + y * down[1])]
                };
                if let Some(contrast) = border_contrast(&luma, &at, s)
                    && best.is_none_or(|c| contrast > c.contrast)
                {
                    let (w, h) = CARD_MM;
                    best = Some(Card { corners: [at(0.0, 0.0), at(w, 0.0), at(w, h), at(0.0, h)], contrast });
                }
                cy += 1.5;
            }
            cx += 1.5;
        }
        face_mm *= 1.06;
    }
    best.filter(|c| c.contrast >= config.min_contrast)
}

/// A side of the card: a point along it from t in 0..1, and the inward normal (document mm).
type Side<'a> = (&'a dyn Fn(f32) -> (f32, f32), (f32, f32));

/// The weakest side's mean |inside - outside| brightness across the card's border, sampled
/// 1.5 mm either side of it; `None` when the card is not wholly inside the frame.
fn border_contrast(luma: &Luma, at: &dyn Fn(f32, f32) -> [f32; 2], px_per_mm: f32) -> Option<f32> {
    let (w, h) = CARD_MM;
    // At least two pixels either side, so a small card's border is not sampled on itself.
    let d = (1.5f32).max(2.0 / px_per_mm);
    for corner in [at(-d, -d), at(w + d, -d), at(w + d, h + d), at(-d, h + d)] {
        luma.at(corner)?;
    }
    const SAMPLES: usize = 24;
    // Each side: a point along it from t in 0..1, and the inward normal in document mm.
    let sides: [Side<'_>; 4] = [
        (&|t| (w * t, 0.0), (0.0, 1.0)),
        (&|t| (w, h * t), (-1.0, 0.0)),
        (&|t| (w * t, h), (0.0, -1.0)),
        (&|t| (0.0, h * t), (1.0, 0.0)),
    ];
    let mut weakest = f32::INFINITY;
    for (point, (nx, ny)) in sides {
        let mut sum = 0.0;
        for k in 0..SAMPLES {
            // Away from the rounded corners: the middle 80 % of each side.
            let t = 0.1 + 0.8 * (k as f32 + 0.5) / SAMPLES as f32;
            let (x, y) = point(t);
            let inside = luma.at(at(x + nx * d, y + ny * d))?;
            let outside = luma.at(at(x - nx * d, y - ny * d))?;
            sum += (inside - outside).abs();
        }
        weakest = weakest.min(sum / SAMPLES as f32);
    }
    Some(weakest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceBox;

    /// A frame of `bg` with a `card` grey ID-1 card at `s` px/mm, top-left at `origin`, and a
    /// face box where a portrait's face would be (centre 18, 28 mm; 16 mm wide).
    fn scene(bg: u8, card: u8, s: f32, origin: [f32; 2]) -> (Frame, DetectedFace) {
        let mut img = image::RgbImage::from_pixel(640, 480, image::Rgb([bg; 3]));
        let (w, h) = CARD_MM;
        for y in 0..480 {
            for x in 0..640 {
                let (u, v) = ((x as f32 - origin[0]) / s, (y as f32 - origin[1]) / s);
                if (0.0..w).contains(&u) && (0.0..h).contains(&v) {
                    img.put_pixel(x, y, image::Rgb([card; 3]));
                }
            }
        }
        let (fx, fy, fw) = (origin[0] + 18.0 * s, origin[1] + 28.0 * s, 16.0 * s);
        let face = DetectedFace {
            bbox: FaceBox { x: fx - fw / 2.0, y: fy - fw * 0.6, width: fw, height: fw * 1.2 },
            score: 0.9,
            landmarks: [[fx - 0.2 * fw, fy - 0.2 * fw], [fx + 0.2 * fw, fy - 0.2 * fw], [fx, fy], [fx, fy], [fx, fy]],
        };
        (Frame::from_rgb(img), face)
    }

    const CONFIG: CardConfig = CardConfig { min_contrast: 20.0 };

    fn check(bg: u8, card: u8, expect_found: bool) {
        let (s, origin) = (5.0, [100.0, 90.0]);
        let (frame, face) = scene(bg, card, s, origin);
        let found = find_card(&frame, &face, &CONFIG);
        assert_eq!(found.is_some(), expect_found, "{bg} {card}: {found:?}");
        if let Some(c) = found {
            let want = [origin, [origin[0] + 85.6 * s, origin[1]]];
            for (g, w) in c.corners.iter().zip(want) {
                assert!((g[0] - w[0]).abs() < 3.0 * s && (g[1] - w[1]).abs() < 3.0 * s, "{c:?}");
            }
        }
    }

    #[test]
    fn a_card_with_visible_edges_is_found() {
        check(40, 210, true);
        // A dark card on a bright table.
        check(220, 90, true);
        // No border to see.
        check(128, 128, false);
    }

    #[test]
    fn a_card_partly_outside_the_frame_is_not_taken() {
        let (frame, face) = scene(40, 210, 5.0, [-40.0, 90.0]);
        assert_eq!(find_card(&frame, &face, &CONFIG), None);
    }
}
