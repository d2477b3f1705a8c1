//! Security-print-like backgrounds: colour gradients under families of fine sine lines
//! (guilloche-like) and wavy concentric rings.
//!
//! Owns only the background fill of a document region. The lines are evaluated per pixel from a
//! phase field, with the sine terms precomputed per row and column, so a full passport page costs
//! a few milliseconds.

use image::RgbaImage;

/// Distance from `x` to the nearest integer, without a libm rounding call (the per-pixel hot path).
#[inline]
fn to_nearest_integer(x: f32) -> f32 {
    let f = (x - x as i64 as f32).abs();
    f.min(1.0 - f)
}
use rand::{Rng, RngExt};

/// Colours of a background: a vertical gradient and two line inks.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// Gradient colour at the top.
    pub top: [u8; 3],
    /// Gradient colour at the bottom.
    pub bottom: [u8; 3],
    /// First line ink.
    pub ink_a: [u8; 3],
    /// Second line ink.
    pub ink_b: [u8; 3],
}

struct Family {
    /// Lines are the level sets `phase = k` of `phase = t / spacing + amp * sin(s * freq + shift)`,
    /// where `t` runs across the lines and `s` along them.
    spacing: f32,
    amp: f32,
    freq: f32,
    shift: f32,
    vertical: bool,
    ink_b: bool,
    strength: f32,
}

/// Fills the rectangle [x0, x1) x [y0, y1) of `img` with a gradient and line pattern (opaque).
/// `scale` is pixels per millimetre, so line spacing stays physical.
pub fn guilloche<R: Rng>(img: &mut RgbaImage, rect: (u32, u32, u32, u32), palette: Palette, scale: f32, rng: &mut R) {
    let (x0, y0, x1, y1) = rect;
    let (x1, y1) = (x1.min(img.width()), y1.min(img.height()));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let families: Vec<Family> = (0..rng.random_range(2..=4))
        .map(|i| Family {
            spacing: scale * rng.random_range(0.9..2.2),
            amp: rng.random_range(0.5..2.5),
            freq: std::f32::consts::TAU / (scale * rng.random_range(8.0..30.0)),
            shift: rng.random_range(0.0..std::f32::consts::TAU),
            vertical: i % 2 == 1,
            ink_b: rng.random_bool(0.5),
            strength: rng.random_range(0.25..0.6),
        })
        .collect();
    // Precompute the sine term of each family along its "along" axis.
    let along: Vec<Vec<f32>> = families
        .iter()
        .map(|f| {
            let n = if f.vertical { y1 } else { x1 };
            (0..n).map(|s| f.amp * (s as f32 * f.freq + f.shift).sin()).collect()
        })
        .collect();
    // Wavy rings centred somewhere on the region.
    let cx = rng.random_range(x0 as f32..x1 as f32);
    let cy = rng.random_range(y0 as f32..y1 as f32);
    let ring_spacing = scale * rng.random_range(1.2..2.5);
    let ring_strength = rng.random_range(0.0..0.45);
    let ring_wave_x: Vec<f32> = (0..x1).map(|x| (x as f32 * std::f32::consts::TAU / (scale * 6.0)).sin()).collect();
    let ring_wave_y: Vec<f32> = (0..y1).map(|y| (y as f32 * std::f32::consts::TAU / (scale * 7.0)).cos()).collect();
    // Line half-width in phase units: about 0.12 mm wide lines. Per family: 1 / spacing, the
    // reach of a line (twice its half-width) and its reciprocal.
    let line_reach = |spacing: f32| 2.0 * (0.06 * scale / spacing).max(0.02);
    let per_family: Vec<(f32, f32, f32)> =
        families.iter().map(|f| (1.0 / f.spacing, line_reach(f.spacing), 1.0 / line_reach(f.spacing))).collect();
    let (ring_reach, inv_ring_spacing) = (line_reach(ring_spacing), 1.0 / ring_spacing);
    let height = (y1 - y0).max(1) as f32;
    for y in y0..y1 {
        let t = (y - y0) as f32 / height;
        let base: [f32; 3] = std::array::from_fn(|c| {
            f32::from(palette.top[c]) + (f32::from(palette.bottom[c]) - f32::from(palette.top[c])) * t
        });
        for x in x0..x1 {
            let mut color = base;
            for ((f, table), &(inv_spacing, reach, inv_reach)) in families.iter().zip(&along).zip(&per_family) {
                let (across, s) = if f.vertical { (x, y) } else { (y, x) };
                let phase = across as f32 * inv_spacing + table[s as usize];
                let d = to_nearest_integer(phase);
                if d < reach {
                    let k = f.strength * (1.0 - d * inv_reach);
                    let ink = if f.ink_b { palette.ink_b } else { palette.ink_a };
                    for c in 0..3 {
                        color[c] += (f32::from(ink[c]) - color[c]) * k;
                    }
                }
            }
            if ring_strength > 0.0 {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let r = (dx * dx + dy * dy).sqrt() * inv_ring_spacing
                    + 0.6 * ring_wave_x[x as usize] * ring_wave_y[y as usize];
                let d = to_nearest_integer(r);
                if d < ring_reach {
                    let k = ring_strength * (1.0 - d / ring_reach);
                    for c in 0..3 {
                        color[c] += (f32::from(palette.ink_b[c]) - color[c]) * k;
                    }
                }
            }
            img.put_pixel(x, y, image::Rgba([color[0] as u8, color[1] as u8, color[2] as u8, 255]));
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn draws_lines_over_the_gradient() {
        let mut img = RgbaImage::new(200, 120);
        let palette =
            Palette { top: [240, 240, 250], bottom: [230, 240, 235], ink_a: [90, 120, 200], ink_b: [200, 100, 150] };
        guilloche(&mut img, (0, 0, 200, 120), palette, 12.0, &mut ChaCha8Rng::seed_from_u64(1));
        let lum: Vec<u32> = img.pixels().map(|p| u32::from(p.0[0]) + u32::from(p.0[1]) + u32::from(p.0[2])).collect();
        let (min, max) = (lum.iter().min().copied().unwrap_or(0), lum.iter().max().copied().unwrap_or(0));
        assert!(max - min > 60, "some pixels carry ink: {min}..{max}");
        let inked = lum.iter().filter(|&&l| l + 30 < max).count();
        assert!(inked < lum.len() / 2, "lines are fine, the background dominates ({inked})");
        assert!(img.pixels().all(|p| p.0[3] == 255));
    }
}
