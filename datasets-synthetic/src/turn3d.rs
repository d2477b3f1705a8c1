//! A head turned in 3-D from a photo's own face mesh: the mesh's points (468, with their depth,
//! from `verifier face mesh`) are rotated about an axis behind the face and moved with the head,
//! and the photo is re-rendered triangle by triangle over them, far triangles first, those that
//! turned their back to the camera hidden. Around the face, an outline of the head (the hair
//! above, the ears beside, a little below the chin) moves with the head without turning, as a
//! head's silhouette does, so the hair and ears between it and the face stretch and follow
//! instead of tearing; a ring further out, and the photo's border, stay still, and the room
//! between the two rings takes up the head's sway.
//!
//! Why not a 2-D warp: `crate::video::turn_face` (a cylinder) reads through the verifier's face
//! mesh as well under half its angle, so a synthetic person asked to turn could not; a rotation
//! of the face's own geometry reads as about 60 % of its angle (docs/liveness.md, "A head turn
//! rendered in 3-D"). Since the geometry is the mesh's own, what the verifier reads back measures
//! its challenge against the mesh's reading of its own shape, not the mesh's accuracy on people.

use image::{Rgb, RgbImage};

use crate::raster::sample_rgb;

/// The rotation axis's distance behind the face's mean depth, in face widths (a head's centre
/// lies about that far behind its face; 0.3 to 1.0 moved the read angle by about 3 degrees).
const AXIS_BEHIND: f32 = 0.6;
/// Directions around the face at which the head's outline and the still ring are placed.
const OUTLINE_POINTS: usize = 36;
/// How far the still ring lies outside the head's outline, in face widths.
const STILL_RING: f32 = 0.15;
/// The share of the face's movement in the image that the head's outline follows: the
/// silhouette of a turning head stays about where it was while the face slides across it, but
/// an outline held quite still stretches the trailing cheek's edge over the whole gap, and one
/// that follows far pushes the hair out into the room.
const OUTLINE_FOLLOWS: f32 = 0.25;

/// `photo` with the head whose mesh is `mesh` (points `[x, y, z]` in `photo`'s pixels) turned by
/// `yaw_deg` (positive: the nose to the image's +x, the subject turning to their left) and
/// `pitch_deg` (positive: looking up), and moved by `shift` pixels. An empty mesh or no turn and
/// no shift gives the photo back.
pub fn turn_head(photo: &RgbImage, mesh: &[[f32; 3]], yaw_deg: f32, pitch_deg: f32, shift: [f32; 2]) -> RgbImage {
    let still = yaw_deg.abs() < 0.01 && pitch_deg.abs() < 0.01 && shift[0].abs() < 0.01 && shift[1].abs() < 0.01;
    if mesh.len() < 3 || still {
        return photo.clone();
    }
    let n = mesh.len() as f32;
    let mean = mesh.iter().fold([0f32; 3], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n, a[2] + p[2] / n]);
    let (lo, hi) = mesh.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    let width = (hi - lo).max(1.0);
    let centre = [mean[0], mean[1], mean[2] + AXIS_BEHIND * width];
    let (sy, cy) = yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pitch_deg.to_radians().sin_cos();

    // Source positions (in the photo) and destination positions with their depth.
    let mut src: Vec<[f32; 2]> = Vec::with_capacity(mesh.len() + 2 * OUTLINE_POINTS + 8);
    let mut dst: Vec<[f32; 3]> = Vec::with_capacity(src.capacity());
    let turn = |p: [f32; 3]| {
        let (x, y, z) = (p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);
        let (x1, z1) = (x * cy - z * sy, x * sy + z * cy);
        let (y2, z2) = (y * cp + z1 * sp, -y * sp + z1 * cp);
        [x1 + centre[0] + shift[0], y2 + centre[1] + shift[1], z2 + centre[2]]
    };
    for &p in mesh {
        src.push([p[0], p[1]]);
        dst.push(turn(p));
    }
    // The head's outline: the face's extent in each direction (its support) and a margin for
    // hair above, ears beside and the neck below (what stretches when the chin rises); it
    // follows part of the face's movement without turning. Then the still ring outside it.
    let moved = dst.iter().zip(&src).fold([0f32; 2], |a, (d, s)| [a[0] + (d[0] - s[0]) / n, a[1] + (d[1] - s[1]) / n]);
    let follow = [0, 1].map(|i| OUTLINE_FOLLOWS * (moved[i] - shift[i]) + shift[i]);
    for k in 0..OUTLINE_POINTS {
        let t = k as f32 / OUTLINE_POINTS as f32 * std::f32::consts::TAU;
        let u = [t.cos(), t.sin()];
        let support = mesh.iter().map(|p| (p[0] - mean[0]) * u[0] + (p[1] - mean[1]) * u[1]).fold(0.0f32, f32::max);
        let margin = width * (0.15 + 0.15 * (-u[1]).max(0.0) + 0.1 * u[1].max(0.0));
        let r = support + margin;
        let outline = [mean[0] + r * u[0], mean[1] + r * u[1]];
        src.push(outline);
        dst.push([outline[0] + follow[0], outline[1] + follow[1], centre[2]]);
        let ring = [mean[0] + (r + STILL_RING * width) * u[0], mean[1] + (r + STILL_RING * width) * u[1]];
        src.push(ring);
        dst.push([ring[0], ring[1], centre[2] + width]);
    }
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let far = centre[2] + 2.0 * width;
    for p in [
        [0.0, 0.0],
        [w - 1.0, 0.0],
        [0.0, h - 1.0],
        [w - 1.0, h - 1.0],
        [w / 2.0, 0.0],
        [w / 2.0, h - 1.0],
        [0.0, h / 2.0],
        [w - 1.0, h / 2.0],
    ] {
        src.push(p);
        dst.push([p[0], p[1], far]);
    }

    let triangles = delaunay(&src);
    let depth = |t: &[usize; 3]| (dst[t[0]][2] + dst[t[1]][2] + dst[t[2]][2]) / 3.0;
    let mut order: Vec<&[usize; 3]> = triangles.iter().collect();
    order.sort_by(|a, b| depth(b).total_cmp(&depth(a)));
    let mut out = photo.clone();
    for t in order {
        let s = t.map(|i| src[i]);
        let d = t.map(|i| [dst[i][0], dst[i][1]]);
        // Unmoved (the room beyond the still ring): already in place.
        if s == d {
            continue;
        }
        // Turned its back to the camera (its winding flipped): hidden.
        if area(&d) * area(&s) <= 0.0 {
            continue;
        }
        fill(&mut out, photo, d, s);
    }
    out
}

/// Twice the signed area of a triangle.
fn area(t: &[[f32; 2]; 3]) -> f32 {
    (t[1][0] - t[0][0]) * (t[2][1] - t[0][1]) - (t[2][0] - t[0][0]) * (t[1][1] - t[0][1])
}

/// Paints destination triangle `d` of `out` with `photo` sampled through the affine map that
/// carries `d` onto `s`.
fn fill(out: &mut RgbImage, photo: &RgbImage, d: [[f32; 2]; 3], s: [[f32; 2]; 3]) {
    let a = area(&d);
    if a.abs() < 1e-6 {
        return;
    }
    let (w, h) = (out.width() as f32, out.height() as f32);
    let x0 = d.iter().map(|p| p[0]).fold(f32::INFINITY, f32::min).floor().max(0.0);
    let x1 = d.iter().map(|p| p[0]).fold(f32::NEG_INFINITY, f32::max).ceil().min(w - 1.0);
    let y0 = d.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min).floor().max(0.0);
    let y1 = d.iter().map(|p| p[1]).fold(f32::NEG_INFINITY, f32::max).ceil().min(h - 1.0);
    if x1 < x0 || y1 < y0 {
        return;
    }
    for y in y0 as u32..=y1 as u32 {
        for x in x0 as u32..=x1 as u32 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let l1 = area(&[p, d[1], d[2]]) / a;
            let l2 = area(&[d[0], p, d[2]]) / a;
            let l3 = 1.0 - l1 - l2;
            if l1 < -1e-4 || l2 < -1e-4 || l3 < -1e-4 {
                continue;
            }
            let sx = l1 * s[0][0] + l2 * s[1][0] + l3 * s[2][0];
            let sy = l1 * s[0][1] + l2 * s[1][1] + l3 * s[2][1];
            let c = sample_rgb(photo, sx - 0.5, sy - 0.5);
            out.put_pixel(x, y, Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8)));
        }
    }
}

/// Bowyer-Watson Delaunay triangulation of `points` (indices into it).
fn delaunay(points: &[[f32; 2]]) -> Vec<[usize; 3]> {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in points {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1.0) * 20.0;
    let mut all: Vec<[f64; 2]> = points.iter().map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
    let n = all.len();
    let (cx, cy, s) = (f64::from(lo[0] + hi[0]) / 2.0, f64::from(lo[1] + hi[1]) / 2.0, f64::from(span));
    all.extend([[cx - s, cy - s], [cx + s, cy - s], [cx, cy + s]]);
    let mut tris: Vec<[usize; 3]> = vec![[n, n + 1, n + 2]];
    let circum = |t: &[usize; 3]| {
        let (a, b, c) = (all[t[0]], all[t[1]], all[t[2]]);
        let d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
        let sq = |p: [f64; 2]| p[0] * p[0] + p[1] * p[1];
        let ux = (sq(a) * (b[1] - c[1]) + sq(b) * (c[1] - a[1]) + sq(c) * (a[1] - b[1])) / d;
        let uy = (sq(a) * (c[0] - b[0]) + sq(b) * (a[0] - c[0]) + sq(c) * (b[0] - a[0])) / d;
        (ux, uy, (a[0] - ux).powi(2) + (a[1] - uy).powi(2))
    };
    for (i, &p) in all.iter().enumerate().take(n) {
        let (bad, good): (Vec<[usize; 3]>, Vec<[usize; 3]>) = tris.into_iter().partition(|t| {
            let (ux, uy, r2) = circum(t);
            (p[0] - ux).powi(2) + (p[1] - uy).powi(2) < r2
        });
        let mut edges: Vec<[usize; 2]> = Vec::new();
        for t in &bad {
            for e in [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]] {
                let shared = bad.iter().filter(|u| u.contains(&e[0]) && u.contains(&e[1])).count() > 1;
                if !shared {
                    edges.push(e);
                }
            }
        }
        tris = good;
        tris.extend(edges.into_iter().map(|e| [e[0], e[1], i]));
    }
    tris.retain(|t| t.iter().all(|&v| v < n));
    tris
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dome of points (a face-like bump, nearer the camera at its centre) over a photo with a
    /// bright dot at the dome's top, a dark room and a grey patch far away in a corner.
    fn scene() -> (RgbImage, Vec<[f32; 3]>) {
        let mut photo = RgbImage::from_pixel(200, 200, Rgb([40, 40, 40]));
        for y in 95..105 {
            for x in 95..105 {
                photo.put_pixel(x, y, Rgb([250, 250, 250]));
            }
        }
        for y in 0..10 {
            for x in 0..10 {
                photo.put_pixel(x, y, Rgb([128, 128, 128]));
            }
        }
        let mut mesh = Vec::new();
        for i in -6i32..=6 {
            for j in -6i32..=6 {
                let (x, y) = (i as f32 * 5.0, j as f32 * 5.0);
                let r2 = (x * x + y * y) / (30.0 * 30.0);
                if r2 <= 1.0 {
                    mesh.push([100.0 + x, 100.0 + y, -30.0 * (1.0 - r2).sqrt()]);
                }
            }
        }
        (photo, mesh)
    }

    /// The bright dot's centroid.
    fn dot(img: &RgbImage) -> [f32; 2] {
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for (x, y, p) in img.enumerate_pixels() {
            if p.0[0] > 200 {
                sx += x as f32;
                sy += y as f32;
                n += 1.0;
            }
        }
        [sx / n, sy / n]
    }

    #[test]
    fn the_nearest_point_moves_the_way_of_the_turn_and_the_room_stays() {
        let (photo, mesh) = scene();
        let at = dot(&photo);
        let left = turn_head(&photo, &mesh, 30.0, 0.0, [0.0, 0.0]);
        let up = turn_head(&photo, &mesh, 0.0, 20.0, [0.0, 0.0]);
        let moved = turn_head(&photo, &mesh, 0.0, 0.0, [6.0, -4.0]);
        // Yaw: the dome's top (the nose) to +x; pitch: up (-y); a shift carries it along.
        assert!(dot(&left)[0] > at[0] + 10.0 && (dot(&left)[1] - at[1]).abs() < 1.5, "{:?} {at:?}", dot(&left));
        assert!(dot(&up)[1] < at[1] - 5.0 && (dot(&up)[0] - at[0]).abs() < 1.5, "{:?} {at:?}", dot(&up));
        let m = dot(&moved);
        assert!((m[0] - at[0] - 6.0).abs() < 1.0 && (m[1] - at[1] + 4.0).abs() < 1.0, "{m:?} {at:?}");
        // The far corner is untouched.
        for img in [&left, &up, &moved] {
            assert_eq!(img.get_pixel(3, 3), &Rgb([128, 128, 128]));
        }
    }

    #[test]
    fn no_turn_or_no_mesh_gives_the_photo_back() {
        let (photo, mesh) = scene();
        assert_eq!(turn_head(&photo, &mesh, 0.0, 0.0, [0.0, 0.0]), photo);
        assert_eq!(turn_head(&photo, &[], 30.0, 10.0, [3.0, 0.0]), photo);
    }

    #[test]
    fn triangulates_a_square_into_two_triangles() {
        let t = delaunay(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.1]]);
        assert_eq!(t.len(), 2, "{t:?}");
        let total: f32 =
            t.iter().map(|t| area(&t.map(|i| [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.1]][i])).abs()).sum();
        assert!((total - 2.0 * 1.05).abs() < 1e-4, "{total}");
    }
}
