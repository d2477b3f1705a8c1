//! Paper or bezel edges around the face: long straight edges beside the face on several sides.
//!
//! A print or a phone held up to the camera ends somewhere: its border is a straight edge, with
//! the same brightness step along its whole length (white paper or a black bezel against the
//! room), running beside the face and framing it. A live face's surroundings rarely put straight
//! edges on three or four sides of it at once (a door frame can give two or three: see
//! `docs/liveness.md`).
//!
//! [`framing`] looks, on each side of the face box, for the best straight line roughly parallel
//! to that side (within 12 degrees), 0.15 to 1.5 face widths outside it, and scores it by its
//! support: the fraction of its length, over the face's extent plus half of it either way, where
//! the image steps by at least `min_step` grey levels (`[liveness.passive].framing_min_step`) across the line, all in the same
//! direction. A paper or bezel edge in view scores 0.8-1; clutter, hair and shoulders stay low.

use super::Grey;
use crate::face::FaceBox;

/// The face box is resampled to this width before the search (pixels), so the score does not
/// depend on the face's size in the frame.
const WORK_WIDTH: f32 = 64.0;

/// The best straight edge's support beside each side of the face, 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// Left, top, right, bottom (image directions).
    pub sides: [f32; 4],
}

impl Framing {
    /// How many sides have an edge with at least `min_support`.
    pub fn framed_sides(&self, min_support: f32) -> usize {
        self.sides.iter().filter(|&&s| s >= min_support).count()
    }
}

/// The straight edges framing `face` in `grey`.
pub fn framing(grey: &Grey, face: &FaceBox, min_step: f32) -> Framing {
    if !(face.width >= 8.0 && face.height >= 8.0) {
        return Framing { sides: [0.0; 4] };
    }
    let k = WORK_WIDTH / face.width;
    // Working region: the face box and 1.7 face widths (heights) around it, at scale k.
    let (rx0, ry0) = (face.x - 1.7 * face.width, face.y - 1.7 * face.height);
    let (ww, wh) = ((face.width * 4.4 * k) as usize, (face.height * 4.4 * k) as usize);
    let mut work = vec![f32::NAN; ww * wh];
    for j in 0..wh {
        for i in 0..ww {
            let (x, y) = (rx0 + (i as f32 + 0.5) / k - 0.5, ry0 + (j as f32 + 0.5) / k - 0.5);
            if let Some(v) = grey.sample(x, y) {
                work[j * ww + i] = v;
            }
        }
    }
    let at = |i: isize, j: isize| -> f32 {
        if i < 0 || j < 0 || i as usize >= ww || j as usize >= wh {
            f32::NAN
        } else {
            work[j as usize * ww + i as usize]
        }
    };
    // The face box in working pixels.
    let (fx0, fy0) = ((face.x - rx0) * k, (face.y - ry0) * k);
    let (fw, fh) = (face.width * k, face.height * k);
    let mut sides = [0.0f32; 4];
    for (side, out) in sides.iter_mut().enumerate() {
        let vertical = side % 2 == 0; // left and right edges are vertical lines
        let (len_lo, len_hi) =
            if vertical { (fy0 - 0.5 * fh, fy0 + 1.5 * fh) } else { (fx0 - 0.5 * fw, fx0 + 1.5 * fw) };
        let centre_along = (len_lo + len_hi) / 2.0;
        let extent = if vertical { fw } else { fh };
        let base = match side {
            0 => fx0,
            1 => fy0,
            2 => fx0 + fw,
            _ => fy0 + fh,
        };
        let outward = if side < 2 { -1.0 } else { 1.0 };
        let mut best = 0.0f32;
        let steps = (1.35 * extent) as i32;
        for o in 0..=steps {
            let offset = base + outward * (0.15 * extent + o as f32);
            for a in -4..=4 {
                let slope = (a as f32 * 3.0f32).to_radians().tan();
                let (mut pos, mut neg, mut total) = (0u32, 0u32, 0u32);
                let mut t = len_lo;
                while t <= len_hi {
                    let across = offset + (t - centre_along) * slope;
                    let (i, j) = if vertical { (across, t) } else { (t, across) };
                    let (i, j) = (i.round() as isize, j.round() as isize);
                    // The step across the line, over two pixels, and along it (a line's own
                    // direction must be flat).
                    let (d_across, d_along) = if vertical {
                        (at(i + 1, j) - at(i - 1, j), at(i, j + 1) - at(i, j - 1))
                    } else {
                        (at(i, j + 1) - at(i, j - 1), at(i + 1, j) - at(i - 1, j))
                    };
                    t += 1.0;
                    if d_across.is_nan() || d_along.is_nan() {
                        continue;
                    }
                    total += 1;
                    if d_across.abs() >= min_step && d_across.abs() >= 1.5 * d_along.abs() {
                        if d_across > 0.0 {
                            pos += 1;
                        } else {
                            neg += 1;
                        }
                    }
                }
                // A side mostly outside the frame cannot show an edge: the support is over
                // the line's whole length, seen or not.
                let length = (len_hi - len_lo + 1.0).max(1.0);
                if total as f32 >= 0.5 * length {
                    best = best.max(pos.max(neg) as f32 / length);
                }
            }
        }
        *out = best;
    }
    Framing { sides }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 400x400 scene: textured room, a face-like blob in the middle (box 150..250 x
    /// 140..260), and optionally a light rectangle `[x0, y0, x1, y1]` behind the face.
    fn scene(paper: Option<[f32; 4]>) -> Grey {
        let (w, h) = (400usize, 400usize);
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let room = 70.0 + 15.0 * ((x * 0.11).sin() * (y * 0.07).cos()) + 8.0 * ((x * y * 0.013).sin());
                let on_paper = paper.is_some_and(|[x0, y0, x1, y1]| x >= x0 && x < x1 && y >= y0 && y < y1);
                let face = ((x - 200.0) / 50.0).powi(2) + ((y - 200.0) / 60.0).powi(2) <= 1.0;
                if face {
                    150.0 + 10.0 * (y * 0.2).sin()
                } else if on_paper {
                    215.0
                } else {
                    room
                }
            })
            .collect();
        Grey { width: w, height: h, data }
    }

    const FACE: FaceBox = FaceBox { x: 150.0, y: 140.0, width: 100.0, height: 120.0 };

    fn check(paper: Option<[f32; 4]>, expect_sides: usize) {
        let f = framing(&scene(paper), &FACE, super::super::PassiveConfig::shipped().framing_min_step);
        assert_eq!(f.framed_sides(0.6), expect_sides, "{paper:?}: {:?}", f.sides);
    }

    #[test]
    fn a_print_around_the_face_frames_it() {
        check(Some([60.0, 40.0, 340.0, 370.0]), 4);
    }

    #[test]
    fn a_print_cut_by_the_frame_shows_the_sides_in_view() {
        // Its bottom edge lies outside the frame.
        check(Some([60.0, 40.0, 340.0, 500.0]), 3);
    }

    #[test]
    fn a_face_in_a_room_is_not_framed() {
        check(None, 0);
    }

    #[test]
    fn one_door_edge_is_one_side() {
        // A wall edge running down the left of the scene.
        check(Some([0.0, 0.0, 90.0, 400.0]), 1);
    }
}
