//! Motion of the face against its background between two frames: natural micro-motion and
//! parallax.
//!
//! A live head is never still (breathing, balance, the challenge's turns) and moves in front of
//! a background that stays where it is (the camera stands on a desk or a laptop's lid). A photo
//! held up to the camera moves as one sheet: the face and the background printed around it
//! shift together (`rigidity` near 1); a still image does not move at all. A replayed recording
//! of a live person keeps its own parallax (the recorded head moved in front of the recorded
//! room), so this signal does not catch screen replays; the spectrum and framing do.
//!
//! [`motion_patch`] keeps a small grey patch around the face (three face widths a side, the
//! face resampled to 48 px wide); [`motion_between`] maps the later patch into the earlier's
//! frame coordinates, then finds by block matching (zero-mean SAD, +-8 px, parabolic sub-pixel)
//! how far the face moved and how far the background strips beside and above it moved. A strip
//! with too little texture to match (a plain wall) is left out.

use super::Grey;
use crate::face::FaceBox;

/// Patch side, pixels.
const SIDE: usize = 144;
/// The face box's width in the patch.
const FACE_PX: f32 = 48.0;
/// Block-matching search radius, patch pixels (a sixth of a face width per step).
const SEARCH: i32 = 8;

/// A grey patch around one frame's face, in frame coordinates `origin + p / scale`. Its `Debug`
/// prints only its placement: the pixels are a face.
#[derive(Clone, PartialEq)]
pub struct MotionPatch {
    pixels: Vec<f32>,
    origin: [f32; 2],
    scale: f32,
}

impl std::fmt::Debug for MotionPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MotionPatch(at {:?}, scale {:.3})", self.origin, self.scale)
    }
}

/// How far the face and its background moved between two frames, in face widths (frame
/// directions: x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionStep {
    /// The face's displacement.
    pub face: [f32; 2],
    /// The background's (the median of the strips that had texture), `None` when none had.
    pub background: Option<[f32; 2]>,
}

impl MotionStep {
    /// The face's displacement's length, face widths.
    pub fn face_distance(&self) -> f32 {
        self.face[0].hypot(self.face[1])
    }

    /// The share of the face's motion the background shares: 0 for a still background behind a
    /// moving head, 1 for a sheet moving as one. `None` when the face moved less than
    /// `min_face` face widths or the background could not be matched.
    pub fn rigidity(&self, min_face: f32) -> Option<f32> {
        let b = self.background?;
        let d2 = self.face[0] * self.face[0] + self.face[1] * self.face[1];
        (d2.sqrt() >= min_face && d2 > 0.0).then(|| (b[0] * self.face[0] + b[1] * self.face[1]) / d2)
    }
}

/// The patch around `face`; `None` for a degenerate box.
pub fn motion_patch(grey: &Grey, face: &FaceBox) -> Option<MotionPatch> {
    if !(face.width >= 4.0 && face.height >= 4.0 && face.x.is_finite() && face.y.is_finite()) {
        return None;
    }
    let scale = FACE_PX / face.width;
    let (cx, cy) = (face.x + face.width / 2.0, face.y + face.height / 2.0);
    let origin = [cx - SIDE as f32 / 2.0 / scale, cy - SIDE as f32 / 2.0 / scale];
    let pixels = (0..SIDE * SIDE)
        .map(|i| {
            let (px, py) = ((i % SIDE) as f32, (i / SIDE) as f32);
            grey.sample(origin[0] + px / scale, origin[1] + py / scale).unwrap_or(f32::NAN)
        })
        .collect();
    Some(MotionPatch { pixels, origin, scale })
}

/// Regions of the patch, `[x0, y0, x1, y1)`: the face (the box's inner part) and the background
/// strips left of, right of and above it, past the ears and hair.
const FACE_REGION: [usize; 4] = [56, 52, 88, 96];
const STRIPS: [[usize; 4]; 3] = [[10, 40, 34, 100], [110, 40, 134, 100], [44, 10, 100, 30]];

impl MotionPatch {
    fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * SIDE + x]
    }

    /// This patch's pixels at the earlier patch's positions (NaN outside this one).
    fn resampled_as(&self, earlier: &MotionPatch) -> Vec<f32> {
        (0..SIDE * SIDE)
            .map(|i| {
                let (px, py) = ((i % SIDE) as f32, (i / SIDE) as f32);
                let fx = earlier.origin[0] + px / earlier.scale;
                let fy = earlier.origin[1] + py / earlier.scale;
                let (qx, qy) = ((fx - self.origin[0]) * self.scale, (fy - self.origin[1]) * self.scale);
                let inside = 0.0..=(SIDE - 1) as f32;
                if !(inside.contains(&qx) && inside.contains(&qy)) {
                    return f32::NAN;
                }
                let (x0, y0) = (qx as usize, qy as usize);
                let (x1, y1) = ((x0 + 1).min(SIDE - 1), (y0 + 1).min(SIDE - 1));
                let (ax, ay) = (qx - x0 as f32, qy - y0 as f32);
                let top = self.at(x0, y0) * (1.0 - ax) + self.at(x1, y0) * ax;
                let bottom = self.at(x0, y1) * (1.0 - ax) + self.at(x1, y1) * ax;
                top * (1.0 - ay) + bottom * ay
            })
            .collect()
    }
}

/// Where the `region` of `a` went in `b` (both `SIDE x SIDE`), patch pixels; `None` when the
/// region has too little texture or too few pixels in view.
fn track(a: &[f32], b: &[f32], [x0, y0, x1, y1]: [usize; 4], min_texture: f32) -> Option<[f32; 2]> {
    let mut values: Vec<f32> = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            values.push(a[y * SIDE + x]);
        }
    }
    let seen: Vec<f32> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if seen.len() * 4 < values.len() * 3 {
        return None;
    }
    let mean_a = seen.iter().sum::<f32>() / seen.len() as f32;
    let sd = (seen.iter().map(|v| (v - mean_a).powi(2)).sum::<f32>() / seen.len() as f32).sqrt();
    if sd < min_texture {
        return None;
    }
    let side = (2 * SEARCH + 1) as usize;
    let mut cost = vec![f32::INFINITY; side * side];
    for dy in -SEARCH..=SEARCH {
        for dx in -SEARCH..=SEARCH {
            // Zero-mean SAD: a change of exposure between frames is not motion.
            let (mut sa, mut sb, mut n) = (0.0f32, 0.0f32, 0u32);
            let mut pairs = Vec::with_capacity(values.len());
            for y in y0..y1 {
                for x in x0..x1 {
                    let (bx, by) = (x as i32 + dx, y as i32 + dy);
                    if bx < 0 || by < 0 || bx >= SIDE as i32 || by >= SIDE as i32 {
                        continue;
                    }
                    let (va, vb) = (a[y * SIDE + x], b[by as usize * SIDE + bx as usize]);
                    if va.is_nan() || vb.is_nan() {
                        continue;
                    }
                    sa += va;
                    sb += vb;
                    n += 1;
                    pairs.push((va, vb));
                }
            }
            if (n as usize) * 4 < values.len() * 3 {
                continue;
            }
            let shift = (sb - sa) / n as f32;
            let sad = pairs.iter().map(|(va, vb)| (vb - va - shift).abs()).sum::<f32>() / n as f32;
            cost[(dy + SEARCH) as usize * side + (dx + SEARCH) as usize] = sad;
        }
    }
    let (best, &c) = cost.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
    if !c.is_finite() {
        return None;
    }
    let (bx, by) = (best % side, best / side);
    // Sub-pixel: a parabola through the best cost and its neighbours on each axis.
    let refine = |lo: Option<f32>, mid: f32, hi: Option<f32>| match (lo, hi) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() && l + h - 2.0 * mid > 1e-6 => {
            (0.5 * (l - h) / (l + h - 2.0 * mid)).clamp(-0.5, 0.5)
        }
        _ => 0.0,
    };
    let get = |x: usize, y: usize| cost.get(y * side + x).copied();
    let sx = refine(bx.checked_sub(1).and_then(|x| get(x, by)), c, (bx + 1 < side).then(|| get(bx + 1, by)).flatten());
    let sy = refine(by.checked_sub(1).and_then(|y| get(bx, y)), c, (by + 1 < side).then(|| get(bx, by + 1)).flatten());
    Some([bx as f32 - SEARCH as f32 + sx, by as f32 - SEARCH as f32 + sy])
}

/// How far the face and its background moved from `earlier` to `later`; `None` when the face
/// itself cannot be tracked (no texture: grey values' standard deviation under `min_texture`,
/// `[liveness.passive].motion_min_texture`; out of view).
pub fn motion_between(earlier: &MotionPatch, later: &MotionPatch, min_texture: f32) -> Option<MotionStep> {
    let b = later.resampled_as(earlier);
    let a = &earlier.pixels;
    let face = track(a, &b, FACE_REGION, min_texture)?;
    let strips: Vec<[f32; 2]> = STRIPS.iter().filter_map(|&r| track(a, &b, r, min_texture)).collect();
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
    };
    let background = (!strips.is_empty())
        .then(|| [median(strips.iter().map(|s| s[0]).collect()), median(strips.iter().map(|s| s[1]).collect())]);
    let to_widths = |d: [f32; 2]| [d[0] / FACE_PX, d[1] / FACE_PX];
    Some(MotionStep { face: to_widths(face), background: background.map(to_widths) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped `[liveness.passive].motion_min_texture`.
    const TEXTURE: f32 = 3.0;

    /// A textured scene, the face (box 100..200 x 90..210) displaced by `face_shift` and the rest
    /// by `background_shift`, in frame pixels.
    fn scene(face_shift: [f32; 2], background_shift: [f32; 2]) -> Grey {
        let (w, h) = (300usize, 300usize);
        // Not periodic (a chirp plus two waves), so block matching has one answer.
        let texture = |x: f32, y: f32, k: f32| {
            100.0 + 25.0 * (x * 0.31 * k).sin() * (y * 0.23).cos() + 25.0 * (x * x * 0.0021 * k + y * y * 0.0017).sin()
        };
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let (fx, fy) = (x - face_shift[0], y - face_shift[1]);
                if ((fx - 150.0) / 55.0).powi(2) + ((fy - 150.0) / 70.0).powi(2) <= 1.0 {
                    texture(fx, fy, 1.7) + 40.0
                } else {
                    texture(x - background_shift[0], y - background_shift[1], 1.0)
                }
            })
            .collect();
        Grey { width: w, height: h, data }
    }

    const FACE: FaceBox = FaceBox { x: 100.0, y: 90.0, width: 100.0, height: 120.0 };

    fn step(face: [f32; 2], background: [f32; 2]) -> MotionStep {
        let a = motion_patch(&scene([0.0, 0.0], [0.0, 0.0]), &FACE).expect("a patch");
        // The detector's box follows the face, a little off: the patch coordinates take it out.
        let moved = FaceBox { x: FACE.x + face[0] + 1.3, y: FACE.y + face[1] - 0.7, ..FACE };
        let b = motion_patch(&scene(face, background), &moved).expect("a patch");
        motion_between(&a, &b, TEXTURE).expect("the face is tracked")
    }

    fn check(face: [f32; 2], background: [f32; 2], rigidity: Option<(f32, f32)>) {
        let s = step(face, background);
        let expect = face[0].hypot(face[1]) / 100.0;
        assert!((s.face_distance() - expect).abs() < 0.01, "{s:?}: face moved {expect}");
        match (s.rigidity(0.01), rigidity) {
            (Some(r), Some((lo, hi))) => assert!(r >= lo && r <= hi, "{s:?}: rigidity {r}"),
            (None, None) => {}
            (got, want) => panic!("{s:?}: rigidity {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn a_live_head_moves_in_front_of_a_still_room() {
        check([4.0, 1.5], [0.0, 0.0], Some((-0.2, 0.2)));
    }

    #[test]
    fn a_sheet_moves_as_one() {
        check([4.0, 1.5], [4.0, 1.5], Some((0.8, 1.2)));
    }

    #[test]
    fn a_still_image_does_not_move() {
        let s = step([0.0, 0.0], [0.0, 0.0]);
        assert!(s.face_distance() < 0.005, "{s:?}");
        assert_eq!(s.rigidity(0.01), None);
    }

    #[test]
    fn a_plain_wall_gives_no_background() {
        let flat = Grey { width: 300, height: 300, data: vec![90.0; 300 * 300] };
        let mut g = scene([0.0, 0.0], [0.0, 0.0]);
        for (i, v) in g.data.iter_mut().enumerate() {
            let (x, y) = ((i % 300) as f32, (i / 300) as f32);
            if ((x - 150.0) / 55.0).powi(2) + ((y - 150.0) / 70.0).powi(2) > 1.0 {
                *v = flat.data[i];
            }
        }
        let a = motion_patch(&g, &FACE).expect("a patch");
        let s = motion_between(&a, &a.clone(), TEXTURE).expect("tracked");
        assert_eq!(s.background, None);
    }
}
