//! Grey images for the MRZ reader: conversion from a [`Frame`], a 2x pyramid (and a 2x
//! enlargement for small prints), quarter turns, bilinear sampling and a plane homography.
//!
//! Owns pixel access only; what the pixels mean (ink, lines, glyphs) belongs to the stages.
//! Coordinates are continuous: pixel `(i, j)` covers `[i, i + 1) x [j, j + 1)`, so its centre is
//! `(i + 0.5, j + 0.5)` and a 2x downscale maps a point by halving it.

use crate::frame::Frame;

/// An 8-bit grey image (luma, 0 = black), rows top to bottom.
#[derive(Clone, Debug)]
pub(crate) struct Gray {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Gray {
    /// The brightest channel of an RGB frame. MRZ ink is black or grey (print, laser
    /// engraving), dark in every channel; coloured print over the zone (a red `SPECIMEN` stamp,
    /// rainbow security print) is bright in at least one, so it fades instead of joining the
    /// glyphs as luma would make it.
    pub fn from_frame(frame: &Frame) -> Gray {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let px = frame.as_raw().chunks_exact(3).map(|p| p[0].max(p[1]).max(p[2])).collect();
        Gray { w, h, px }
    }

    /// How steep the image's sharpest edges are: the 99.5th percentile of the larger step to the
    /// right or downward neighbour, over the 1st-to-99th percentile grey range. Crisp print at
    /// this scale gives 0.5 and more, defocus a fraction of that. `None` for an image without
    /// that much contrast (under 24 grey levels), which shows nothing to be sharp or blurred.
    pub fn steepness(&self) -> Option<f32> {
        if self.w < 2 || self.h < 2 {
            return None;
        }
        let (mut steps, mut levels) = ([0u32; 256], [0u32; 256]);
        for y in 0..self.h - 1 {
            let (row, below) = (&self.px[y * self.w..(y + 1) * self.w], &self.px[(y + 1) * self.w..(y + 2) * self.w]);
            for x in 0..self.w - 1 {
                let dx = row[x].abs_diff(row[x + 1]);
                let dy = row[x].abs_diff(below[x]);
                steps[usize::from(dx.max(dy))] += 1;
                levels[usize::from(row[x])] += 1;
            }
        }
        let quantile = |hist: &[u32; 256], q: f64| -> f32 {
            let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
            let target = (total as f64 * q) as u64;
            let mut seen = 0u64;
            for (v, &c) in hist.iter().enumerate() {
                seen += u64::from(c);
                if seen > target {
                    return v as f32;
                }
            }
            255.0
        };
        let range = quantile(&levels, 0.99) - quantile(&levels, 0.01);
        (range >= 24.0).then(|| (quantile(&steps, 0.995) / range).min(1.0))
    }

    /// Half the size (each side rounded down, at least 1), each pixel the mean of a 2x2 block.
    pub fn half(&self) -> Gray {
        let (w, h) = ((self.w / 2).max(1), (self.h / 2).max(1));
        let mut px = vec![0u8; w * h];
        for y in 0..h {
            let (y0, y1) = ((2 * y).min(self.h - 1), (2 * y + 1).min(self.h - 1));
            for x in 0..w {
                let (x0, x1) = ((2 * x).min(self.w - 1), (2 * x + 1).min(self.w - 1));
                let s = u32::from(self.px[y0 * self.w + x0])
                    + u32::from(self.px[y0 * self.w + x1])
                    + u32::from(self.px[y1 * self.w + x0])
                    + u32::from(self.px[y1 * self.w + x1]);
                px[y * w + x] = ((s + 2) / 4) as u8;
            }
        }
        Gray { w, h, px }
    }

    /// Twice the size, bilinear (pixel centres of the result fall a quarter pixel inside the
    /// source's), so print of 7 to 10 pixels per character is located at a glyph size the
    /// chaining is sure of.
    pub fn double(&self) -> Gray {
        let (w, h) = (self.w * 2, self.h * 2);
        // `sample`'s neighbours and weights at each column and row of the result, found once.
        // The weights are 0, 1/4 or 3/4, so every value is a multiple of 1/16, exact in f32,
        // and adding a half before truncating rounds it as `round` would.
        let taps = |i: usize, n: usize| {
            let f = ((i as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (n - 1) as f32);
            let i0 = f as usize;
            (i0, (i0 + 1).min(n - 1), f - i0 as f32)
        };
        let cols: Vec<(usize, usize, f32)> = (0..w).map(|x| taps(x, self.w)).collect();
        let mut px = vec![0u8; w * h];
        for y in 0..h {
            let (y0, y1, ay) = taps(y, self.h);
            let (r0, r1) = (&self.px[y0 * self.w..(y0 + 1) * self.w], &self.px[y1 * self.w..(y1 + 1) * self.w]);
            for (out, &(x0, x1, ax)) in px[y * w..(y + 1) * w].iter_mut().zip(&cols) {
                let p = |r: &[u8], xx: usize| f32::from(r[xx]);
                let top = p(r0, x0) + (p(r0, x1) - p(r0, x0)) * ax;
                let bottom = p(r1, x0) + (p(r1, x1) - p(r1, x0)) * ax;
                *out = (top + (bottom - top) * ay + 0.5) as u8;
            }
        }
        Gray { w, h, px }
    }

    /// The image turned by `quarters` quarter turns clockwise (0 to 3).
    pub fn turned(&self, quarters: u8) -> Gray {
        let (w, h) = (self.w, self.h);
        match quarters % 4 {
            0 => self.clone(),
            2 => Gray { w, h, px: self.px.iter().rev().copied().collect() },
            q => {
                // Clockwise: the result is h wide; its pixel (x, y) is the source's (y, h-1-x)
                // for one quarter turn, (w-1-y, x) for three.
                let mut px = vec![0u8; w * h];
                for y in 0..w {
                    for x in 0..h {
                        let (sx, sy) = if q == 1 { (y, h - 1 - x) } else { (w - 1 - y, x) };
                        px[y * h + x] = self.px[sy * w + sx];
                    }
                }
                Gray { w: h, h: w, px }
            }
        }
    }

    /// Where a point of [`Gray::turned`]`(quarters)` lies in this image (continuous
    /// coordinates).
    pub fn unturn(&self, quarters: u8, [x, y]: [f32; 2]) -> [f32; 2] {
        let (w, h) = (self.w as f32, self.h as f32);
        match quarters % 4 {
            0 => [x, y],
            1 => [y, h - x],
            2 => [w - x, h - y],
            _ => [w - y, x],
        }
    }

    /// Bilinear value at a continuous point; points outside take the nearest edge pixel.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let fx = (x - 0.5).clamp(0.0, (self.w - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
        let p = |xx: usize, yy: usize| f32::from(self.px[yy * self.w + xx]);
        let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * ax;
        let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * ax;
        top + (bottom - top) * ay
    }
}

/// A plane projective map, row-major 3x3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Homography(pub [f64; 9]);

impl Homography {
    /// The map taking each `src[i]` to `dst[i]`; `None` when three points are collinear.
    // Elimination reads one row while writing another, which iterators cannot borrow.
    #[allow(clippy::needless_range_loop)]
    pub fn from_points(src: [[f64; 2]; 4], dst: [[f64; 2]; 4]) -> Option<Homography> {
        let mut a = [[0f64; 9]; 8];
        for i in 0..4 {
            let ([x, y], [u, v]) = (src[i], dst[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        // Gaussian elimination with partial pivoting on the 8x8 system (last column = right side).
        for col in 0..8 {
            let pivot = (col..8).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            for row in 0..8 {
                if row != col {
                    let f = a[row][col] / a[col][col];
                    for k in col..9 {
                        a[row][k] -= f * a[col][k];
                    }
                }
            }
        }
        let h: [f64; 8] = std::array::from_fn(|i| a[i][8] / a[i][i]);
        let m = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0];
        m.iter().all(|v| v.is_finite()).then_some(Homography(m))
    }

    /// The image of a point (a point at infinity maps far away, never to NaN).
    #[inline]
    pub fn apply(&self, x: f64, y: f64) -> [f32; 2] {
        let m = &self.0;
        Homography::apply_parts(m, [m[0] * x, m[3] * x, m[6] * x], [m[1] * y, m[4] * y, m[7] * y])
    }

    /// [`Homography::apply`] from the products of `m`'s first column with `x` and of its second
    /// with `y`, `[m0 x, m3 x, m6 x]` and `[m1 y, m4 y, m7 y]`: for sampling a grid, where they
    /// are shared by whole rows and columns.
    #[inline]
    pub fn apply_parts(m: &[f64; 9], x: [f64; 3], y: [f64; 3]) -> [f32; 2] {
        let w = x[2] + y[2] + m[8];
        let w = if w.abs() < 1e-9 { 1e-9f64.copysign(w) } else { w };
        [((x[0] + y[0] + m[2]) / w) as f32, ((x[1] + y[1] + m[5]) / w) as f32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steepness_tells_crisp_edges_from_soft_ones() {
        // Vertical bars 8 px wide with hard edges, then a triangle wave ramping over 8 pixels.
        let bars = |ramp: f32| Gray {
            w: 64,
            h: 16,
            px: (0..16 * 64)
                .map(|i| {
                    let phase = (i % 64) as f32 % 16.0;
                    let t =
                        if ramp == 0.0 { f32::from(u8::from(phase >= 8.0)) } else { 1.0 - (phase - ramp).abs() / ramp };
                    (40.0 + 180.0 * t) as u8
                })
                .collect(),
        };
        let (crisp, soft) = (bars(0.0).steepness().expect("contrast"), bars(8.0).steepness().expect("contrast"));
        assert!(crisp > 0.9, "{crisp}");
        assert!(soft < 0.2, "{soft}");
        assert_eq!(Gray { w: 1, h: 1, px: vec![0] }.steepness(), None);
        assert_eq!(Gray { w: 8, h: 8, px: vec![128; 64] }.steepness(), None);
    }

    #[test]
    fn quarter_turns_map_points_back() {
        let g = Gray { w: 5, h: 3, px: (0..15).collect() };
        for q in 0..4u8 {
            let t = g.turned(q);
            assert_eq!((t.w, t.h), if q % 2 == 1 { (3, 5) } else { (5, 3) });
            for y in 0..t.h {
                for x in 0..t.w {
                    let [sx, sy] = g.unturn(q, [x as f32 + 0.5, y as f32 + 0.5]);
                    assert_eq!(t.px[y * t.w + x], g.px[sy as usize * g.w + sx as usize], "turn {q} at {x},{y}");
                }
            }
        }
        let d = g.double();
        assert_eq!((d.w, d.h), (10, 6));
        assert_eq!(d.px[0], 0);
    }

    fn check(gray: &Gray, point: (f32, f32), expect: f32) {
        let got = gray.sample(point.0, point.1);
        assert!((got - expect).abs() < 1e-3, "sample at {point:?}: {got}, expected {expect}");
    }

    #[test]
    fn samples_between_and_beyond_pixels() {
        let gray = Gray { w: 2, h: 1, px: vec![0, 100] };
        check(&gray, (0.5, 0.5), 0.0);
        check(&gray, (1.0, 0.5), 50.0);
        check(&gray, (-10.0, 30.0), 0.0);
        check(&gray, (9.0, -3.0), 100.0);
        let half = Gray { w: 1, h: 1, px: vec![7] }.half();
        check(&half, (0.5, 0.5), 7.0);
    }

    #[test]
    fn homography_maps_its_points() {
        let src = [[0.0, 0.0], [10.0, 0.0], [10.0, 2.0], [0.0, 2.0]];
        let dst = [[5.0, 5.0], [105.0, 15.0], [100.0, 40.0], [3.0, 30.0]];
        let h = Homography::from_points(src, dst).expect("a proper quadrilateral");
        for (s, d) in src.iter().zip(dst) {
            let p = h.apply(s[0], s[1]);
            assert!((p[0] as f64 - d[0]).abs() < 1e-3 && (p[1] as f64 - d[1]).abs() < 1e-3);
        }
        assert!(Homography::from_points(src, [[0.0, 0.0]; 4]).is_none());
    }
}
