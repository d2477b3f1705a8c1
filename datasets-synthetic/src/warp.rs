//! Plane projective geometry and image warping: homographies from four point pairs, point mapping,
//! half-resolution pyramids, and an inverse-mapped bilinear warp of an RGBA image onto an RGB frame
//! over the destination quad only.
//!
//! Coordinates are continuous pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1), so its
//! centre is (i + 0.5, j + 0.5). Labels use the same convention.

use image::{RgbImage, RgbaImage};

/// A 3x3 projective transform, row-major, mapping (x, y, 1) to (u, v, w) then (u/w, v/w).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The transform taking each `src[i]` to `dst[i]`, or `None` if the points are degenerate
    /// (three collinear).
    pub fn from_points(src: [[f64; 2]; 4], dst: [[f64; 2]; 4]) -> Option<Homography> {
        // Solve the 8x8 system for h0..h7 with h8 = 1 (direct linear transform).
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ([x, y], [u, v]) = (src[i], dst[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for col in 0..8 {
            let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            for row in 0..8 {
                if row != col {
                    let k = a[row][col] / a[col][col];
                    for c in col..9 {
                        a[row][c] -= k * a[col][c];
                    }
                }
            }
        }
        let mut h = [0.0; 9];
        for i in 0..8 {
            h[i] = a[i][8] / a[i][i];
        }
        h[8] = 1.0;
        Some(Homography(h))
    }

    /// Maps a point.
    pub fn apply(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let h = &self.0;
        let w = h[6] * x + h[7] * y + h[8];
        [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w]
    }

    /// Maps a point given and returned as `f32` (label coordinates).
    pub fn apply_f32(&self, p: [f32; 2]) -> [f32; 2] {
        let [x, y] = self.apply([f64::from(p[0]), f64::from(p[1])]);
        [x as f32, y as f32]
    }

    /// The inverse transform, or `None` if singular.
    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.0;
        let c = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
        if det.abs() < 1e-15 {
            return None;
        }
        Some(Homography(c.map(|v| v / det)))
    }

    /// `self` after `first` (maps p to self(first(p))).
    pub fn compose(&self, first: &Homography) -> Homography {
        let (a, b) = (&self.0, &first.0);
        let mut out = [0.0; 9];
        for r in 0..3 {
            for c in 0..3 {
                out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
            }
        }
        Homography(out)
    }

    /// Scaling by `k` (maps p to k p).
    pub fn scale(k: f64) -> Homography {
        Homography([k, 0.0, 0.0, 0.0, k, 0.0, 0.0, 0.0, 1.0])
    }
}

/// Half-resolution copy (2x2 box filter, alpha-weighted so transparent corners don't darken edges).
pub fn half(img: &RgbaImage) -> RgbaImage {
    if img.width() == 0 || img.height() == 0 {
        return img.clone();
    }
    let (w, h) = ((img.width() / 2).max(1), (img.height() / 2).max(1));
    let src = img.as_raw();
    let sw = img.width() as usize;
    let mut out = RgbaImage::new(w, h);
    let (maxx, maxy) = (img.width() as usize - 1, img.height() as usize - 1);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut acc = [0u32; 4];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (sx, sy) = ((2 * x + dx).min(maxx), (2 * y + dy).min(maxy));
                let i = (sy * sw + sx) * 4;
                let a = u32::from(src[i + 3]);
                for c in 0..3 {
                    acc[c] += u32::from(src[i + c]) * a;
                }
                acc[3] += a;
            }
            let o = (y * w as usize + x) * 4;
            let raw: &mut [u8] = &mut out;
            if let Some(a) = std::num::NonZeroU32::new(acc[3]) {
                for c in 0..3 {
                    raw[o + c] = ((acc[c] + a.get() / 2) / a) as u8;
                }
            }
            raw[o + 3] = ((acc[3] + 2) / 4) as u8;
        }
    }
    out
}

/// Draws `src` onto `dst` through `doc_to_frame`, which maps the level-0 document's coordinates (a
/// document `doc_size` pixels large) to `dst`'s, sampling `src` bilinearly. `level_scale` is the size of `src`
/// relative to the level-0 image (1, 1/2, 1/4...), so callers can pass a pyramid level. Only the
/// bounding box of the destination quad is visited, and each row only between the quad's edges.
/// Source alpha blends over the frame, so card corners and edges are anti-aliased.
pub fn warp_onto(
    dst: &mut RgbImage,
    src: &RgbaImage,
    doc_to_frame: &Homography,
    doc_size: (f32, f32),
    level_scale: f32,
) {
    let Some(inv) = doc_to_frame.inverse() else { return };
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    let (dw, dh) = (dst.width() as i64, dst.height() as i64);
    let corners = [
        [0.0, 0.0],
        [f64::from(doc_size.0), 0.0],
        [f64::from(doc_size.0), f64::from(doc_size.1)],
        [0.0, f64::from(doc_size.1)],
    ]
    .map(|p| doc_to_frame.apply(p));
    let ymin = corners.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min).floor().max(0.0) as i64;
    let ymax = (corners.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max).ceil() as i64).min(dh);
    let h = inv.0;
    let k = f64::from(level_scale);
    let srcraw = src.as_raw();
    let dstw = dst.width() as usize;
    let dstraw: &mut [u8] = dst;
    for y in ymin..ymax {
        let cy = y as f64 + 0.5;
        // Horizontal extent of the quad on this row (convex quad: intersect with its edges).
        let (mut xa, mut xb) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..4 {
            let (p, q) = (corners[i], corners[(i + 1) % 4]);
            let (lo, hi) = if p[1] < q[1] { (p, q) } else { (q, p) };
            if cy >= lo[1] - 1.0 && cy <= hi[1] + 1.0 {
                let x = if (hi[1] - lo[1]).abs() < 1e-9 {
                    xa = xa.min(lo[0].min(hi[0]));
                    xb = xb.max(lo[0].max(hi[0]));
                    continue;
                } else {
                    lo[0] + (hi[0] - lo[0]) * ((cy - lo[1]) / (hi[1] - lo[1])).clamp(0.0, 1.0)
                };
                xa = xa.min(x);
                xb = xb.max(x);
            }
        }
        if xa > xb {
            continue;
        }
        let x0 = (xa.floor() as i64 - 1).max(0);
        let x1 = (xb.ceil() as i64 + 1).min(dw);
        let cx0 = x0 as f64 + 0.5;
        let (mut un, mut vn, mut wn) =
            (h[0] * cx0 + h[1] * cy + h[2], h[3] * cx0 + h[4] * cy + h[5], h[6] * cx0 + h[7] * cy + h[8]);
        for x in x0..x1 {
            let iw = k / wn;
            let (u, v) = (un * iw - 0.5, vn * iw - 0.5);
            un += h[0];
            vn += h[3];
            wn += h[6];
            if u < -1.0 || v < -1.0 || u >= sw as f64 || v >= sh as f64 {
                continue;
            }
            // u, v >= -1 here, so truncating u + 1 is floor(u) + 1 without a libm call.
            let (ix, iy) = ((u + 1.0) as i64 - 1, (v + 1.0) as i64 - 1);
            let (fx, fy) = ((u - ix as f64) as f32, (v - iy as f64) as f32);
            let o = (y as usize * dstw + x as usize) * 3;
            if ix >= 0 && iy >= 0 && ix + 1 < sw && iy + 1 < sh {
                // Interior: all four taps exist.
                let i = ((iy * sw + ix) * 4) as usize;
                let j = i + (sw * 4) as usize;
                let (a, b, c, d) = (&srcraw[i..i + 8], &srcraw[i + 4..i + 8], &srcraw[j..j + 8], &srcraw[j + 4..j + 8]);
                let (wa, wb, wc, wd) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy);
                if a[3] == 255 && b[3] == 255 && c[3] == 255 && d[3] == 255 {
                    for ch in 0..3 {
                        let s = f32::from(a[ch]) * wa
                            + f32::from(b[ch]) * wb
                            + f32::from(c[ch]) * wc
                            + f32::from(d[ch]) * wd;
                        dstraw[o + ch] = (s + 0.5) as u8;
                    }
                    continue;
                }
            }
            let mut acc = [0.0f32; 4];
            for (dx, dy, wgt) in
                [(0, 0, (1.0 - fx) * (1.0 - fy)), (1, 0, fx * (1.0 - fy)), (0, 1, (1.0 - fx) * fy), (1, 1, fx * fy)]
            {
                let (sx, sy) = (ix + dx, iy + dy);
                if sx < 0 || sy < 0 || sx >= sw || sy >= sh {
                    continue;
                }
                let i = ((sy * sw + sx) * 4) as usize;
                let a = f32::from(srcraw[i + 3]) * wgt;
                acc[0] += f32::from(srcraw[i]) * a;
                acc[1] += f32::from(srcraw[i + 1]) * a;
                acc[2] += f32::from(srcraw[i + 2]) * a;
                acc[3] += a;
            }
            if acc[3] <= 0.5 {
                continue;
            }
            let alpha = acc[3] / 255.0;
            for c in 0..3 {
                let s = acc[c] / acc[3];
                let d = f32::from(dstraw[o + c]);
                dstraw[o + c] = (d + (s - d) * alpha + 0.5) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use image::Rgba;

    use super::*;

    #[test]
    fn homography_maps_the_four_points() {
        let src = [[0.0, 0.0], [100.0, 0.0], [100.0, 50.0], [0.0, 50.0]];
        let dst = [[10.0, 20.0], [200.0, 35.0], [180.0, 140.0], [25.0, 120.0]];
        let h = Homography::from_points(src, dst).expect("non-degenerate");
        for i in 0..4 {
            let p = h.apply(src[i]);
            assert!((p[0] - dst[i][0]).abs() < 1e-6 && (p[1] - dst[i][1]).abs() < 1e-6);
        }
        let back = h.inverse().expect("invertible").apply(dst[2]);
        assert!((back[0] - 100.0).abs() < 1e-6 && (back[1] - 50.0).abs() < 1e-6);
        assert!(Homography::from_points(src, [[0.0, 0.0]; 4]).is_none());
    }

    #[test]
    fn identity_warp_copies_pixels() {
        let src = RgbaImage::from_fn(40, 30, |x, y| Rgba([(x * 6) as u8, (y * 8) as u8, 100, 255]));
        let mut dst = RgbImage::new(60, 50);
        let shift = Homography([1.0, 0.0, 10.0, 0.0, 1.0, 5.0, 0.0, 0.0, 1.0]);
        warp_onto(&mut dst, &src, &shift, (40.0, 30.0), 1.0);
        for (x, y) in [(0, 0), (39, 29), (17, 11)] {
            let s = src.get_pixel(x, y).0;
            let d = dst.get_pixel(x + 10, y + 5).0;
            assert_eq!([s[0], s[1], s[2]], d, "({x}, {y})");
        }
        assert_eq!(dst.get_pixel(5, 5).0, [0, 0, 0], "outside the quad untouched");
    }
}
