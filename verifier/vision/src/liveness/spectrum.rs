//! Screen moire and refresh banding, from the frequency domain of the face region.
//!
//! A face filmed off a screen carries periodic patterns no skin has: moire (the beat between the
//! panel's pixel grid and the camera's sensor grid, a fringe of one spatial frequency) and, on a
//! rolling-shutter camera, horizontal bands from the panel's backlight or PWM flicker. Printed
//! photos from a laser or offset press carry a halftone screen, periodic too. In a power spectrum
//! such a pattern is a narrow peak far above the other components at the same frequency, while a
//! live face's texture spreads its power smoothly (and falls with frequency).
//!
//! Two pure scores, both "how many times stronger than typical", as log10 (1.0 = ten times):
//! - [`moire_peak`]: the strongest 2-D component of the face's texture over the median power at
//!   its radius (Welch-averaged 32x32 windows tiled over the face box at native pixels),
//!   excluding the lowest frequencies (the face's own shape) and the 8x8 JPEG block lattice.
//! - [`banding_peak`]: the strongest component of the face's row-mean brightness profile over
//!   the profile spectrum's median, for bands with a period of 4 px to a third of the face.
//!
//! They leave out temporal flicker (bands that roll between frames), which needs frame timing.

use super::Grey;
use crate::face::FaceBox;

/// Window side for the 2-D spectrum, native pixels.
const N: usize = 32;
/// Frequencies below this radius (in bins of 1/N cycles per pixel: periods above 10 px) are
/// the face's own shape and shading.
const MIN_RADIUS: f32 = 3.0;

/// One-dimensional DFT power of `x` at bins `0..x.len()/2+1` (naive; the inputs are short).
fn power_1d(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0f32, 0.0f32);
            for (i, &v) in x.iter().enumerate() {
                let a = -std::f32::consts::TAU * (k * i % n) as f32 / n as f32;
                re += v * a.cos();
                im += v * a.sin();
            }
            re * re + im * im
        })
        .collect()
}

/// The 2-D DFT power of an `N x N` window (row-major), full plane, DC at `[0]`.
fn power_2d(win: &[f32]) -> Vec<f32> {
    let tw: Vec<(f32, f32)> =
        (0..N).map(|k| std::f32::consts::TAU * k as f32 / N as f32).map(|a| (a.cos(), -a.sin())).collect();
    // Rows first.
    let mut rows = vec![(0.0f32, 0.0f32); N * N];
    for y in 0..N {
        for k in 0..N {
            let (mut re, mut im) = (0.0, 0.0);
            for x in 0..N {
                let (c, s) = tw[k * x % N];
                let v = win[y * N + x];
                re += v * c;
                im += v * s;
            }
            rows[y * N + k] = (re, im);
        }
    }
    let mut out = vec![0.0f32; N * N];
    for kx in 0..N {
        for ky in 0..N {
            let (mut re, mut im) = (0.0, 0.0);
            for y in 0..N {
                let (c, s) = tw[ky * y % N];
                let (a, b) = rows[y * N + kx];
                re += a * c - b * s;
                im += a * s + b * c;
            }
            out[ky * N + kx] = re * re + im * im;
        }
    }
    out
}

fn hann(i: usize, n: usize) -> f32 {
    0.5 - 0.5 * (std::f32::consts::TAU * (i as f32 + 0.5) / n as f32).cos()
}

/// Removes the least-squares plane `a + b x + c y` from an `N x N` window (the face's shading).
fn detrend_plane(win: &mut [f32]) {
    let c = (N as f32 - 1.0) / 2.0;
    let (mut mean, mut bx, mut by, mut sxx) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for (i, &v) in win.iter().enumerate() {
        let (x, y) = ((i % N) as f32 - c, (i / N) as f32 - c);
        mean += v;
        bx += v * x;
        by += v * y;
        sxx += x * x;
    }
    let n = (N * N) as f32;
    let (mean, gx, gy) = (mean / n, bx / sxx, by / sxx);
    for (i, v) in win.iter_mut().enumerate() {
        let (x, y) = ((i % N) as f32 - c, (i / N) as f32 - c);
        *v -= mean + gx * x + gy * y;
    }
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// The strongest periodic component of the face's texture over the median at its frequency,
/// log10; `None` when the face box holds no 32x32 window (a face under about 40 px).
pub fn moire_peak(grey: &Grey, face: &FaceBox) -> Option<f32> {
    // The box's inner part: cheeks, nose, forehead; not the background at its corners.
    let (x0, y0) = (face.x + 0.15 * face.width, face.y + 0.15 * face.height);
    let (x1, y1) = (face.x + 0.85 * face.width, face.y + 0.9 * face.height);
    let (x0, y0) = (x0.max(0.0) as usize, y0.max(0.0) as usize);
    let (x1, y1) = ((x1.max(0.0) as usize).min(grey.width), (y1.max(0.0) as usize).min(grey.height));
    if x1 < x0 + N || y1 < y0 + N {
        return None;
    }
    // Windows start on the frame's 8-pixel grid and are not tapered, so JPEG's 8x8 blocks (which
    // sit on that grid) put their power exactly on the N/8 lattice excluded below, instead of
    // leaking into neighbouring bins; a fitted plane is removed from each window instead.
    let up8 = |v: usize| v.div_ceil(8) * 8;
    let (x0, y0) = (up8(x0), up8(y0));
    if x1 < x0 + N || y1 < y0 + N {
        return None;
    }
    let stride = |span: usize| (((span - N) / 2) / 8 * 8).max(8);
    let (sx, sy) = (stride(x1 - x0), stride(y1 - y0));
    let mut sum = vec![0.0f32; N * N];
    let mut windows = 0;
    let mut wy = y0;
    while wy + N <= y1 && windows < 9 {
        let mut wx = x0;
        while wx + N <= x1 && windows < 9 {
            let mut win: Vec<f32> = (0..N * N).map(|i| grey.at(wx + i % N, wy + i / N)).collect();
            detrend_plane(&mut win);
            for (s, p) in sum.iter_mut().zip(power_2d(&win)) {
                *s += p;
            }
            windows += 1;
            wx += sx;
        }
        wy += sy;
    }
    // Rings of radius r (bins), over the half plane ky >= 0 (the spectrum is symmetric).
    let mut rings: Vec<Vec<(f32, bool)>> = vec![Vec::new(); N / 2 + 1];
    for ky in 0..=N / 2 {
        for kx in 0..N {
            let fx = if kx > N / 2 { kx as i32 - N as i32 } else { kx as i32 };
            let fy = ky as i32;
            if fy == 0 && fx < 0 {
                continue;
            }
            let r = ((fx * fx + fy * fy) as f32).sqrt();
            if r < MIN_RADIUS || r > (N / 2) as f32 {
                continue;
            }
            // JPEG's 8x8 blocks repeat every 8 px: their harmonics sit on the N/8 lattice.
            let lattice = fx.rem_euclid((N / 8) as i32) == 0 && fy % (N / 8) as i32 == 0;
            rings[r.round() as usize].push((sum[ky * N + kx], lattice));
        }
    }
    let mut best = f32::NEG_INFINITY;
    for ring in rings.iter().filter(|r| r.len() >= 6) {
        let mut all: Vec<f32> = ring.iter().map(|&(p, _)| p).collect();
        let m = median(&mut all).max(1e-6);
        for &(p, lattice) in ring {
            if !lattice {
                best = best.max((p / m).log10());
            }
        }
    }
    best.is_finite().then_some(best)
}

/// The strongest periodic component of the face's row-mean brightness (horizontal bands) over
/// the profile spectrum's median, log10; `None` for a face under 24 rows.
pub fn banding_peak(grey: &Grey, face: &FaceBox) -> Option<f32> {
    let (x0, x1) = ((face.x + 0.2 * face.width).max(0.0) as usize, (face.x + 0.8 * face.width).max(0.0) as usize);
    let (y0, y1) = (face.y.max(0.0) as usize, (face.y + face.height).max(0.0) as usize);
    let (x1, y1) = (x1.min(grey.width), y1.min(grey.height));
    if x1 <= x0 + 4 || y1 < y0 + 24 {
        return None;
    }
    let rows: Vec<f32> = (y0..y1).map(|y| (x0..x1).map(|x| grey.at(x, y)).sum::<f32>() / (x1 - x0) as f32).collect();
    // Detrend: subtract a moving average over a third of the face, which holds the face's
    // shape (brows, eyes, mouth) and leaves periods under a third of its height.
    let half = (rows.len() / 6).max(2);
    let n = rows.len();
    let detrended: Vec<f32> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(n));
            let local = rows[a..b].iter().sum::<f32>() / (b - a) as f32;
            (rows[i] - local) * hann(i, n)
        })
        .collect();
    let power = power_1d(&detrended);
    // Periods from 4 px (k = n/4) down to a third of the face (k = 3).
    let (lo, hi) = (3usize, (n / 4).min(power.len() - 1));
    if hi <= lo + 4 {
        return None;
    }
    // JPEG's 8-row blocks step the profile every 8 rows: leave out their harmonics (periods 8
    // and 4 px, and the window's spread of two bins either side).
    let block = |k: usize| (1..=2).any(|j| (k as f32 - (j * n) as f32 / 8.0).abs() <= 2.0);
    let mut band: Vec<f32> = (lo..=hi).filter(|&k| !block(k)).map(|k| power[k]).collect();
    if band.len() < 4 {
        return None;
    }
    let peak = band.iter().copied().fold(0.0f32, f32::max);
    let m = median(&mut band).max(1e-6);
    Some((peak.max(1e-6) / m).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face-sized patch: smooth shading plus seeded noise, plus `pattern(x, y)`.
    fn patch(pattern: impl Fn(f32, f32) -> f32) -> Grey {
        let (w, h) = (200, 240);
        let mut state = 0x9E37_79B9_u32;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 1000) as f32 / 1000.0 - 0.5
        };
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let shade = 120.0 + 40.0 * ((x - 100.0) / 80.0).cos() * ((y - 120.0) / 100.0).cos();
                shade + 6.0 * noise() + pattern(x, y)
            })
            .collect();
        Grey { width: w, height: h, data }
    }

    const FACE: FaceBox = FaceBox { x: 10.0, y: 10.0, width: 180.0, height: 220.0 };

    /// `moire_above`: `Some(t)` the moire peak exceeds t, `None` it stays low; `check_moire`
    /// false leaves it unchecked (row bands leak a little into the 2-D spectrum).
    fn check(pattern: impl Fn(f32, f32) -> f32, moire_above: Option<f32>, banding_above: Option<f32>) {
        check_with(pattern, moire_above, true, banding_above)
    }

    fn check_with(
        pattern: impl Fn(f32, f32) -> f32,
        moire_above: Option<f32>,
        check_moire: bool,
        banding_above: Option<f32>,
    ) {
        let g = patch(pattern);
        let (m, b) = (moire_peak(&g, &FACE).expect("a score"), banding_peak(&g, &FACE).expect("a score"));
        match moire_above {
            Some(t) => assert!(m > t, "moire {m} should exceed {t}"),
            None if check_moire => assert!(m < 1.3, "moire {m} on a plain face"),
            None => {}
        }
        match banding_above {
            Some(t) => assert!(b > t, "banding {b} should exceed {t}"),
            None => assert!(b < 1.3, "banding {b} on a plain face"),
        }
    }

    #[test]
    fn smooth_skin_has_no_peak() {
        check(|_, _| 0.0, None, None);
    }

    #[test]
    fn a_moire_fringe_peaks() {
        // A slanted fringe with a 6.5 px period, 4 grey levels deep.
        check(|x, y| 4.0 * ((x * 0.8 + y * 0.6) * std::f32::consts::TAU / 6.5).sin(), Some(1.5), None);
    }

    #[test]
    fn horizontal_bands_peak_in_the_row_profile() {
        // Bands every 20 rows, 3 grey levels: periodic in rows only.
        check_with(|_, y| 3.0 * (y * std::f32::consts::TAU / 20.0).sin(), None, false, Some(1.3));
    }

    #[test]
    fn jpeg_block_edges_are_not_moire() {
        // A step every 8 px in both directions, as JPEG blocking leaves.
        check(|x, y| if (x as u32).is_multiple_of(8) ^ (y as u32).is_multiple_of(8) { 3.0 } else { 0.0 }, None, None);
    }

    #[test]
    fn small_faces_give_no_score() {
        let g = patch(|_, _| 0.0);
        assert!(moire_peak(&g, &FaceBox { x: 0.0, y: 0.0, width: 30.0, height: 30.0 }).is_none());
        assert!(banding_peak(&g, &FaceBox { x: 0.0, y: 0.0, width: 30.0, height: 20.0 }).is_none());
    }
}
