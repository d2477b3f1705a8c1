//! Camera and scene effects on RGB frames: background textures, a hand-like occluder, specular
//! glare, defocus (repeated box blur) and motion blur, exposure and colour cast, sensor noise.
//!
//! Owns the per-pixel work after the document is placed; every effect is linear in the pixel count
//! (box blurs use running sums) so 720p frames stay within a few milliseconds each. Randomness for
//! per-pixel noise comes from a small xorshift generator seeded by the sample's ChaCha stream, so
//! outputs are reproducible.

use image::RgbImage;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// A fast per-pixel generator (xorshift64*), seeded from the sample's stream.
pub struct PixelRng(u64);

impl PixelRng {
    /// Seeds from `rng`.
    pub fn from_rng<R: Rng>(rng: &mut R) -> PixelRng {
        PixelRng(rng.random::<u64>() | 1)
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The kind of surface behind the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundKind {
    /// Wood-like grain.
    Wood,
    /// Woven fabric.
    Fabric,
    /// Plain surface with soft blotches.
    Plain,
    /// A cluttered desk (blocks of colour).
    Clutter,
}

/// A 4096-entry sine table (accurate to about 0.002), for per-pixel texture terms.
fn sine_table() -> &'static [f32; 4096] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<[f32; 4096]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| (i as f32 * std::f32::consts::TAU / 4096.0).sin()))
}

/// Sine of `x` from `table`. Wrapping through i64 and a mask handles negative angles.
#[inline]
fn table_sin(table: &[f32; 4096], x: f32) -> f32 {
    table[((x * (4096.0 / std::f32::consts::TAU)) as i64 & 4095) as usize]
}

/// Fills the frame with a random surface texture.
pub fn background<R: Rng>(img: &mut RgbImage, kind: BackgroundKind, rng: &mut R) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    // Muted colours: desks, tables and fabrics rather than saturated primaries.
    let grey: f32 = rng.random_range(50.0..200.0);
    let base: [f32; 3] = std::array::from_fn(|_| grey + rng.random_range(-35.0..35.0f32));
    // Low-frequency value noise on a coarse grid, bilinearly upsampled.
    let cell = 48usize;
    let (gw, gh) = (w / cell + 2, h / cell + 2);
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-1.0..1.0f32)).collect();
    let blotch = rng.random_range(8.0..30.0f32);
    let (fa, fb) = (rng.random_range(0.02..0.09f32), rng.random_range(0.1..0.6f32));
    let phase_x: Vec<f32> = (0..w).map(|x| (x as f32 * fa).sin()).collect();
    let phase_y: Vec<f32> = (0..h).map(|y| (y as f32 * fa * 0.9).sin()).collect();
    let weave_x: Vec<f32> = (0..w).map(|x| (x as f32 * fb * 3.0).sin()).collect();
    let weave_y: Vec<f32> = (0..h).map(|y| (y as f32 * fb * 3.0).sin()).collect();
    let blocks: Vec<(usize, usize, usize, usize, [f32; 3])> = if kind == BackgroundKind::Clutter {
        (0..rng.random_range(2..6))
            .map(|_| {
                let (bw, bh) = (rng.random_range(w / 8..w / 2), rng.random_range(h / 8..h / 2));
                let (bx, by) = (rng.random_range(0..w - bw / 2), rng.random_range(0..h - bh / 2));
                let g: f32 = rng.random_range(20.0..240.0);
                (bx, by, bw, bh, std::array::from_fn(|_| g + rng.random_range(-50.0..50.0f32)))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut row_noise = vec![0.0f32; w];
    let mut row_base = vec![base; w];
    let mut column = vec![0.0f32; gw];
    let sines = sine_table();
    let raw: &mut [u8] = img;
    for y in 0..h {
        // Interpolate the grid vertically once per row, then horizontally per pixel.
        let (gy0, fy) = (y / cell, (y % cell) as f32 / cell as f32);
        for (i, c) in column.iter_mut().enumerate() {
            *c = grid[gy0 * gw + i] * (1.0 - fy) + grid[(gy0 + 1) * gw + i] * fy;
        }
        for (x, n) in row_noise.iter_mut().enumerate() {
            let (gx0, fx) = (x / cell, (x % cell) as f32 / cell as f32);
            *n = column[gx0] + (column[gx0 + 1] - column[gx0]) * fx;
        }
        row_base.fill(base);
        for &(bx, by, bw, bh, col) in &blocks {
            if y >= by && y < by + bh {
                row_base[bx.min(w)..(bx + bw).min(w)].fill(col);
            }
        }
        let out = &mut raw[y * w * 3..(y + 1) * w * 3];
        // The texture term per pixel, one loop per kind so each vectorises.
        let wood_y = y as f32 * fa * 4.0;
        match kind {
            BackgroundKind::Wood => {
                for (n, &p) in row_noise.iter_mut().zip(&phase_x) {
                    *n = 18.0 * table_sin(sines, wood_y + 3.0 * *n + p) + blotch * 0.5 * *n;
                }
            }
            BackgroundKind::Fabric => {
                let wy = weave_y[y];
                for (n, &wx) in row_noise.iter_mut().zip(&weave_x) {
                    *n = 10.0 * wx * wy + blotch * 0.4 * *n;
                }
            }
            BackgroundKind::Plain | BackgroundKind::Clutter => {
                let py = phase_y[y];
                for (n, &px) in row_noise.iter_mut().zip(&phase_x) {
                    *n = blotch * *n + 4.0 * px * py;
                }
            }
        }
        for x in 0..w {
            let t = row_noise[x];
            let c = row_base[x];
            out[x * 3] = (c[0] + t).clamp(0.0, 255.0) as u8;
            out[x * 3 + 1] = (c[1] + t).clamp(0.0, 255.0) as u8;
            out[x * 3 + 2] = (c[2] + t).clamp(0.0, 255.0) as u8;
        }
    }
}

/// A soft shadow: darkens the frame inside `quad` shifted by `offset`, before the document is drawn.
pub fn shadow(img: &mut RgbImage, quad: [[f32; 2]; 4], offset: [f32; 2], strength: f32) {
    let q = quad.map(|p| [p[0] + offset[0], p[1] + offset[1]]);
    fill_convex(img, q, |_, _, px| {
        for c in px.iter_mut() {
            *c = (f32::from(*c) * (1.0 - strength)) as u8;
        }
    });
}

/// Calls `f(x, y, pixel)` for every pixel whose centre lies in the convex quad.
fn fill_convex(img: &mut RgbImage, q: [[f32; 2]; 4], mut f: impl FnMut(u32, u32, &mut [u8])) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let ymin = q.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min).floor().max(0.0) as i64;
    let ymax = (q.iter().map(|p| p[1]).fold(f32::NEG_INFINITY, f32::max).ceil() as i64).min(h);
    let raw: &mut [u8] = img;
    for y in ymin..ymax {
        let cy = y as f32 + 0.5;
        let (mut xa, mut xb) = (f32::INFINITY, f32::NEG_INFINITY);
        for i in 0..4 {
            let (p, r) = (q[i], q[(i + 1) % 4]);
            if (p[1] <= cy && r[1] > cy) || (r[1] <= cy && p[1] > cy) {
                let x = p[0] + (r[0] - p[0]) * (cy - p[1]) / (r[1] - p[1]);
                xa = xa.min(x);
                xb = xb.max(x);
            }
        }
        if xa > xb {
            continue;
        }
        let (x0, x1) = ((xa - 0.5).ceil().max(0.0) as i64, ((xb - 0.5).floor() as i64 + 1).min(w));
        for x in x0..x1 {
            let o = ((y * w + x) * 3) as usize;
            f(x as u32, y as u32, &mut raw[o..o + 3]);
        }
    }
}

/// A thumb-like occluder: a skin-coloured capsule from `from` to `to` with `radius`, softly shaded.
/// Returns its bounding box (x, y, w, h) clipped to the frame.
pub fn thumb(img: &mut RgbImage, from: [f32; 2], to: [f32; 2], radius: f32, skin: [f32; 3]) -> Option<[f32; 4]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = (from[0].min(to[0]) - radius).max(0.0);
    let x1 = (from[0].max(to[0]) + radius).min(w);
    let y0 = (from[1].min(to[1]) - radius).max(0.0);
    let y1 = (from[1].max(to[1]) + radius).min(h);
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    let (dx, dy) = (to[0] - from[0], to[1] - from[1]);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    let iw = img.width() as usize;
    let raw: &mut [u8] = img;
    for y in y0 as usize..y1.ceil() as usize {
        for x in x0 as usize..x1.ceil() as usize {
            let (px, py) = (x as f32 + 0.5 - from[0], y as f32 + 0.5 - from[1]);
            let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
            let (ex, ey) = (px - t * dx, py - t * dy);
            let d = (ex * ex + ey * ey).sqrt();
            let cover = (radius - d + 0.5).clamp(0.0, 1.0);
            if cover <= 0.0 {
                continue;
            }
            // Rounded shading: brighter along the ridge, a nail near the tip.
            let ridge = 1.0 - (d / radius).powi(2);
            let nail = t > 0.8 && d < radius * 0.55;
            let shade = 0.72 + 0.32 * ridge;
            let o = (y * iw + x) * 3;
            for k in 0..3 {
                let c = if nail { skin[k] * 0.95 + 18.0 } else { skin[k] * shade };
                let dst = f32::from(raw[o + k]);
                raw[o + k] = (dst + (c.min(255.0) - dst) * cover) as u8;
            }
        }
    }
    Some([x0, y0, x1 - x0, y1 - y0])
}

/// A specular highlight: an elliptical additive bloom centred at `c` with radii `r`, rotated by
/// `angle`, of peak `strength` (0..1 of the way to white).
pub fn glare(img: &mut RgbImage, c: [f32; 2], r: [f32; 2], angle: f32, strength: f32) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let rmax = r[0].max(r[1]);
    let (x0, x1) = ((c[0] - rmax).max(0.0) as usize, (c[0] + rmax).min(w).max(0.0) as usize);
    let (y0, y1) = ((c[1] - rmax).max(0.0) as usize, (c[1] + rmax).min(h).max(0.0) as usize);
    let (ca, sa) = (angle.cos(), angle.sin());
    let iw = img.width() as usize;
    let raw: &mut [u8] = img;
    for y in y0..y1 {
        for x in x0..x1 {
            let (px, py) = (x as f32 + 0.5 - c[0], y as f32 + 0.5 - c[1]);
            let (u, v) = ((px * ca + py * sa) / r[0], (-px * sa + py * ca) / r[1]);
            let d2 = u * u + v * v;
            if d2 >= 1.0 {
                continue;
            }
            // A saturated core with a soft falloff, as a specular reflection clips the sensor.
            let k = strength * ((1.0 - d2) * 1.6).min(1.0).powi(2);
            let o = (y * iw + x) * 3;
            for ch in 0..3 {
                let dst = f32::from(raw[o + ch]);
                raw[o + ch] = (dst + (255.0 - dst) * k) as u8;
            }
        }
    }
}

/// `65536 / n` rounded to nearest, so that `(sum * inv + 32768) >> 16` divides by `n`.
fn reciprocal_16(n: u32) -> u32 {
    (65_536 + n / 2) / n
}

/// One horizontal box-blur pass of radius `r` (window 2r+1, edges clamped), in place through
/// `scratch` (one row).
fn box_h(img: &mut [u8], scratch: &mut [u8], w: usize, r: usize) {
    // Division by the window as a 16.16 multiply.
    let inv = reciprocal_16(2 * r as u32 + 1);
    let last = w - 1;
    for row in img.chunks_exact_mut(w * 3) {
        scratch.copy_from_slice(row);
        let mut sum = [0u32; 3];
        for i in 0..=2 * r {
            let x = i.saturating_sub(r).min(last);
            for c in 0..3 {
                sum[c] += u32::from(scratch[x * 3 + c]);
            }
        }
        for x in 0..w {
            let add = (x + r + 1).min(last) * 3;
            let sub = x.saturating_sub(r) * 3;
            for c in 0..3 {
                row[x * 3 + c] = ((sum[c] * inv + 32_768) >> 16) as u8;
                sum[c] = sum[c] + u32::from(scratch[add + c]) - u32::from(scratch[sub + c]);
            }
        }
    }
}

/// One vertical box-blur pass of radius `r` with running column sums (rows stay contiguous, so
/// this vectorises), from `src` into `dst`.
fn box_v(src: &[u8], dst: &mut [u8], w: usize, h: usize, r: usize) {
    let inv = reciprocal_16(2 * r as u32 + 1);
    let stride = w * 3;
    let row = |y: usize| &src[y * stride..(y + 1) * stride];
    let mut sums = vec![0u32; stride];
    for i in 0..=2 * r {
        let y = i.saturating_sub(r).min(h - 1);
        for (s, &v) in sums.iter_mut().zip(row(y)) {
            *s += u32::from(v);
        }
    }
    for y in 0..h {
        let out = &mut dst[y * stride..(y + 1) * stride];
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = ((s * inv + 32_768) >> 16) as u8;
        }
        let (add, sub) = (row((y + r + 1).min(h - 1)), row(y.saturating_sub(r)));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}

/// Defocus: two box-blur passes of radius `r` in each direction (close to a Gaussian of sigma
/// about 0.8 r).
pub fn defocus(img: &mut RgbImage, r: usize) {
    if r == 0 || img.width() == 0 || img.height() == 0 {
        return;
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut scratch = vec![0u8; w * 3];
    let raw: &mut [u8] = img;
    box_h(raw, &mut scratch, w, r);
    box_h(raw, &mut scratch, w, r);
    let mut tmp = vec![0u8; raw.len()];
    box_v(raw, &mut tmp, w, h, r);
    box_v(&tmp, raw, w, h, r);
}

/// Motion blur: the average of `taps` copies shifted along `angle` over `length` pixels.
pub fn motion_blur(img: &mut RgbImage, length: f32, angle: f32) {
    let taps = (length as i64).clamp(2, 11);
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let src = img.as_raw().clone();
    let offsets: Vec<(isize, isize)> = (0..taps)
        .map(|i| {
            // Evenly spaced taps centred on the pixel, about one pixel apart.
            let t = (i as f32 - (taps - 1) as f32 / 2.0) * (length / taps as f32);
            ((t * angle.cos()).round() as isize, (t * angle.sin()).round() as isize)
        })
        .collect();
    let inv = reciprocal_16(taps as u32);
    let stride = w * 3;
    // Sum shifted rows: the interior of each shifted row is one contiguous slice (which
    // vectorises); the few clamped pixels at the ends are added one by one.
    let mut acc = vec![0u32; stride];
    let raw: &mut [u8] = img;
    for (y, out) in raw.chunks_exact_mut(stride).enumerate() {
        acc.fill(0);
        for &(dx, dy) in &offsets {
            let sy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
            let row = &src[sy * stride..(sy + 1) * stride];
            let lo = (-dx).clamp(0, w as isize) as usize;
            let hi = (w as isize - dx).clamp(lo as isize, w as isize) as usize;
            let shift = (lo as isize + dx) as usize;
            for (a, &v) in acc[lo * 3..hi * 3].iter_mut().zip(&row[shift * 3..]) {
                *a += u32::from(v);
            }
            for x in (0..lo).chain(hi..w) {
                let sx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                for c in 0..3 {
                    acc[x * 3 + c] += u32::from(row[sx * 3 + c]);
                }
            }
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = ((a * inv + 32_768) >> 16) as u8;
        }
    }
}

/// Exposure, colour cast, a linear illumination gradient and sensor noise, in one pass.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Photometry {
    /// Overall gain (1 = unchanged).
    pub exposure: f32,
    /// Per-channel gains (colour cast / white balance error).
    pub cast: [f32; 3],
    /// Illumination gradient: gain changes by this much across the frame...
    pub gradient: f32,
    /// ...in this direction (radians).
    pub gradient_angle: f32,
    /// Gaussian-like noise standard deviation, in 8-bit levels.
    pub noise_sigma: f32,
}

/// 65 536 approximately Gaussian noise samples (unit variance, scaled by 16), made once from a
/// fixed seed; frames read it at random offsets, which costs far less than drawing per pixel.
fn noise_table() -> &'static [i16] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<i16>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut r = PixelRng(0x9E37_79B9_7F4A_7C15);
        (0..65_536)
            .map(|_| {
                let b = r.next_u64();
                // Sum of four uniform bytes: mean 510, variance 4 * 255^2 / 12.
                let s = (b & 0xff) + ((b >> 8) & 0xff) + ((b >> 16) & 0xff) + ((b >> 24) & 0xff);
                ((s as f32 - 510.0) / 147.2 * 16.0) as i16
            })
            .collect()
    })
}

/// Applies `p` to the frame.
pub fn photometry(img: &mut RgbImage, p: &Photometry, rng: &mut PixelRng) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (gx, gy) = (p.gradient * p.gradient_angle.cos() / w as f32, p.gradient * p.gradient_angle.sin() / h as f32);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    // Per-byte gain of a row at the centre line: exposure, cast and the horizontal gradient.
    let col_gain: Vec<f32> = (0..w * 3).map(|i| p.exposure * p.cast[i % 3] * ((i / 3) as f32 - cx) * gx).collect();
    let base_gain: Vec<f32> = (0..w * 3).map(|i| p.exposure * p.cast[i % 3]).collect();
    let mut gain = vec![0.0f32; w * 3];
    let table = noise_table();
    let noise_k = p.noise_sigma / 16.0;
    let raw: &mut [u8] = img;
    for (y, row) in raw.chunks_exact_mut(w * 3).enumerate() {
        let row_gain = 1.0 + (y as f32 - cy) * gy;
        for ((g, &b), &c) in gain.iter_mut().zip(&base_gain).zip(&col_gain) {
            *g = b * row_gain + c;
        }
        // A random window of the table per row (cycling for rows wider than the table).
        let offset = (rng.next_u64() as usize) & 0x7fff;
        let noise = table[offset..].iter().chain(table.iter().cycle());
        for ((v, &g), &n) in row.iter_mut().zip(&gain).zip(noise) {
            *v = (f32::from(*v) * g + f32::from(n) * noise_k).clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn defocus_preserves_flat_regions_and_softens_edges() {
        let mut img =
            RgbImage::from_fn(64, 48, |x, _| if x < 32 { image::Rgb([0, 0, 0]) } else { image::Rgb([200, 200, 200]) });
        defocus(&mut img, 3);
        assert_eq!(img.get_pixel(2, 10).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(60, 10).0, [200, 200, 200]);
        let mid = img.get_pixel(32, 10).0[0];
        assert!(mid > 40 && mid < 160, "edge is blurred: {mid}");
    }

    #[test]
    fn motion_blur_averages_along_the_direction() {
        let mut img =
            RgbImage::from_fn(40, 20, |x, _| if x == 20 { image::Rgb([250, 250, 250]) } else { image::Rgb([0, 0, 0]) });
        motion_blur(&mut img, 5.0, 0.0);
        // A vertical line smeared horizontally over 5 pixels: each gets a fifth.
        for x in 18..=22 {
            assert_eq!(img.get_pixel(x, 10).0, [50, 50, 50], "x = {x}");
        }
        assert_eq!(img.get_pixel(17, 10).0, [0, 0, 0]);
        let mut v =
            RgbImage::from_fn(20, 40, |_, y| if y == 20 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 0]) });
        motion_blur(&mut v, 5.0, std::f32::consts::FRAC_PI_2);
        assert_eq!(v.get_pixel(3, 22).0, [50, 0, 0]);
        motion_blur(&mut RgbImage::new(0, 0), 5.0, 0.0);
        defocus(&mut RgbImage::new(0, 3), 2);
    }

    #[test]
    fn background_and_photometry_are_deterministic() {
        let make = || {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let mut img = RgbImage::new(96, 64);
            background(&mut img, BackgroundKind::Wood, &mut rng);
            let p = Photometry {
                exposure: 1.1,
                cast: [1.0, 0.95, 0.9],
                gradient: 0.2,
                gradient_angle: 0.3,
                noise_sigma: 4.0,
            };
            photometry(&mut img, &p, &mut PixelRng::from_rng(&mut rng));
            img
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn glare_brightens_and_thumb_reports_its_box() {
        let mut img = RgbImage::from_pixel(100, 80, image::Rgb([50, 50, 50]));
        glare(&mut img, [50.0, 40.0], [20.0, 10.0], 0.3, 0.9);
        assert!(img.get_pixel(50, 40).0[0] > 200);
        assert_eq!(img.get_pixel(5, 5).0, [50, 50, 50]);
        let b = thumb(&mut img, [-10.0, 70.0], [30.0, 60.0], 8.0, [220.0, 170.0, 140.0]).expect("visible");
        assert!(b[0] == 0.0 && b[2] > 30.0);
    }
}
