//! A spike for issue 12: does a head turn rendered in 3-D from a photo's own face mesh read as a
//! turn through the face mesh, where the generator's cylinder warp (`datasets_synthetic::video::
//! turn_face`) reads less than half its angle? For each shared photo: the mesh's 468 points are
//! rotated about a vertical (yaw) or horizontal (pitch) axis behind the face, the photo is
//! re-rendered triangle by triangle (Delaunay over the points and a fixed ring around the head,
//! far triangles first), and the pose read from the rendering is compared with the unturned one.
//!
//! ```text
//! cargo run --release -p vision --example head_turn_3d -- [axis=0.6] [save=DIR]
//! ```
//!
//! `axis` is the rotation axis's distance behind the face's mean depth, in face-box widths;
//! `save` writes the first three renderings of each angle to DIR, to look at (never under the
//! repository: they are people's faces).
//! Models come from `.cache/models` and `.cache/onnxruntime`; photos from
//! `../shared/datasets/faces`. Prints figures only.
#![allow(clippy::disallowed_methods)] // A measurement tool: it reads models and photos.

mod pose;

use std::path::Path;

use image::RgbImage;
use vision::face::{HeadPose, head_pose, largest};
use vision::frame::Frame;

type Error = Box<dyn std::error::Error>;
/// What a photo reads as: its pose, its mesh's points and its face box.
type Reading = (HeadPose, Vec<[f32; 3]>, [f32; 4]);

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let axis: f32 = args.iter().find_map(|a| a.strip_prefix("axis=")?.parse().ok()).unwrap_or(0.6);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (detector, mesh) = pose::models()?;
    let read = |img: &RgbImage| -> Result<Option<Reading>, Error> {
        let frame = Frame::from_rgb(img.clone());
        let Some(face) = largest(&detector.detect(&frame)?) else { return Ok(None) };
        let b = face.bbox;
        Ok(mesh.landmarks(&frame, &face)?.map(|m| (head_pose(&m), m.points().to_vec(), [b.x, b.y, b.width, b.height])))
    };

    let faces = datasets_synthetic::face::load_faces(&root.join("../shared/datasets/faces"))?;
    println!("shared photos: {}, axis {axis} face widths behind the face", faces.len());
    for (yaw, pitch) in [(45.0f32, 0.0f32), (-45.0, 0.0), (30.0, 0.0), (0.0, 30.0), (0.0, -30.0)] {
        let mut changes = Vec::new();
        let mut missed = 0;
        for f in &faces {
            let Some((base, points, bbox)) = read(&f.photo)? else {
                missed += 1;
                continue;
            };
            let turned = render_turn(&f.photo, &points, bbox, yaw, pitch, axis);
            if let Some(dir) = args.iter().find_map(|a| a.strip_prefix("save="))
                && changes.len() < 3
            {
                turned.save(Path::new(dir).join(format!("turn_{yaw}_{pitch}_{}.png", changes.len())))?;
            }
            match read(&turned)? {
                Some((p, ..)) => changes.push([p.yaw_deg - base.yaw_deg, p.pitch_deg - base.pitch_deg]),
                None => missed += 1,
            }
        }
        let main: Vec<f32> = changes.iter().map(|c| if yaw != 0.0 { c[0] } else { c[1] }).collect();
        let want = if yaw != 0.0 { yaw } else { pitch };
        let mut sorted = main.clone();
        sorted.sort_by(f32::total_cmp);
        let q = |p: f32| sorted.get(((sorted.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(f32::NAN);
        let wrong = main.iter().filter(|v| v.signum() != want.signum()).count();
        println!(
            "yaw {yaw:+}, pitch {pitch:+}: read change n = {} (no face or mesh, unturned or turned: {missed}), mean {:.1}, p10 {:.1}, median {:.1}, p90 {:.1}, wrong sign {wrong}",
            main.len(),
            main.iter().sum::<f32>() / main.len().max(1) as f32,
            q(0.1),
            q(0.5),
            q(0.9)
        );
    }
    Ok(())
}

/// The photo with the head turned: mesh points rotated about an axis `axis` face widths behind
/// their mean depth, a ring around the head and the photo's border held still.
fn render_turn(
    photo: &RgbImage,
    points: &[[f32; 3]],
    bbox: [f32; 4],
    yaw_deg: f32,
    pitch_deg: f32,
    axis: f32,
) -> RgbImage {
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let n = points.len() as f32;
    let mean = points.iter().fold([0f32; 3], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n, a[2] + p[2] / n]);
    let centre = [mean[0], mean[1], mean[2] + axis * bbox[2]];
    let (sy, cy) = yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pitch_deg.to_radians().sin_cos();
    // Source and destination positions, and each destination point's depth.
    let mut src: Vec<[f32; 2]> = Vec::new();
    let mut dst: Vec<[f32; 3]> = Vec::new();
    for p in points {
        let (x, y, z) = (p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);
        // Yaw: nose (z < 0) to +x for yaw > 0. Pitch: nose up (-y) for pitch > 0.
        let (x1, z1) = (x * cy - z * sy, x * sy + z * cy);
        let (y2, z2) = (y * cp + z1 * sp, -y * sp + z1 * cp);
        src.push([p[0], p[1]]);
        dst.push([x1 + centre[0], y2 + centre[1], z2 + centre[2]]);
    }
    // A ring around the head (hair and ears stretch between it and the mesh) and the border.
    let (bcx, bcy) = (bbox[0] + bbox[2] / 2.0, bbox[1] + bbox[3] * 0.45);
    let far = centre[2] + bbox[2];
    for k in 0..32 {
        let t = k as f32 / 32.0 * std::f32::consts::TAU;
        let p = [bcx + 1.1 * bbox[2] * t.cos(), bcy + 1.0 * bbox[3] * t.sin()];
        src.push(p);
        dst.push([p[0], p[1], far]);
    }
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
        dst.push([p[0], p[1], far + 1.0]);
    }
    let triangles = delaunay(&src);
    let mut order: Vec<usize> = (0..triangles.len()).collect();
    let depth = |t: &[usize; 3]| (dst[t[0]][2] + dst[t[1]][2] + dst[t[2]][2]) / 3.0;
    order.sort_by(|&a, &b| depth(&triangles[b]).total_cmp(&depth(&triangles[a])));
    let mut out = photo.clone();
    for i in order {
        let t = triangles[i];
        let d = [dst[t[0]], dst[t[1]], dst[t[2]]].map(|p| [p[0], p[1]]);
        let s = [src[t[0]], src[t[1]], src[t[2]]];
        // Back-facing after the rotation (its winding flipped): hidden.
        if area(&d) * area(&s) <= 0.0 {
            continue;
        }
        fill(&mut out, photo, d, s);
    }
    out
}

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
    let x0 = d.iter().map(|p| p[0]).fold(f32::INFINITY, f32::min).floor().max(0.0) as u32;
    let x1 = d.iter().map(|p| p[0]).fold(f32::NEG_INFINITY, f32::max).ceil().min(w - 1.0) as u32;
    let y0 = d.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min).floor().max(0.0) as u32;
    let y1 = d.iter().map(|p| p[1]).fold(f32::NEG_INFINITY, f32::max).ceil().min(h - 1.0) as u32;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let l1 = area(&[p, d[1], d[2]]) / a;
            let l2 = area(&[d[0], p, d[2]]) / a;
            let l3 = 1.0 - l1 - l2;
            if l1 < -1e-4 || l2 < -1e-4 || l3 < -1e-4 {
                continue;
            }
            let sx = l1 * s[0][0] + l2 * s[1][0] + l3 * s[2][0];
            let sy = l1 * s[0][1] + l2 * s[1][1] + l3 * s[2][1];
            let c = datasets_synthetic::raster::sample_rgb(photo, sx - 0.5, sy - 0.5);
            out.put_pixel(x, y, image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8)));
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
