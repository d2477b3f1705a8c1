//! Segment: an upright line strip in, one normalised cell per character out, plus the strip's
//! sharpness and saturation for the quality verdict.
//!
//! The strip's grey values become ink darkness (0 = paper, 1 = ink) against a local background
//! and ink level, so shading and glare gradients cancel. The cap band is where the row profile
//! of darkness is high; cell centres are a straight fit through the ink centroids of the
//! expected cells, because OCR-B prints at a fixed pitch and the rectification has already
//! removed perspective. What each cell shows is `recognise.rs`'s question.

use super::rectify::{CELL_W, STRIP_H, Strip};

/// Template cell width in pixels (one pitch).
pub(crate) const TW: usize = 16;
/// Template cell height in pixels.
pub(crate) const TH: usize = 22;
/// Cap height inside the cell, in pixels.
pub(crate) const CAP: usize = 16;
/// Rows above the cap band inside the cell.
pub(crate) const PAD: usize = 3;

/// One character cell: `TW * TH` darkness values in 0..=1, row-major, the cap band on rows
/// `PAD..PAD + CAP`.
pub(crate) type Cell = Vec<f32>;

/// A segmented line.
#[derive(Clone, Debug)]
pub(crate) struct Segmented {
    /// The cells, left to right.
    pub cells: Vec<Cell>,
    /// Steepness of the ink edges: the 90th percentile of the darkness step between
    /// neighbouring cell pixels (near 1 for crisp print, under 0.25 when blurred).
    pub sharpness: f32,
    /// Share of the line's cells whose paper is saturated (grey >= 250).
    pub saturated: f32,
}

fn percentile(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f32 * q) as usize;
    *v.select_nth_unstable_by(k, f32::total_cmp).1
}

/// Bilinear value of a row-major image at a continuous point (pixel centres at `i + 0.5`),
/// 0 outside.
fn sample(px: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let (fx, fy) = (x - 0.5, y - 0.5);
    if fx < -1.0 || fy < -1.0 || fx > w as f32 || fy > h as f32 {
        return 0.0;
    }
    let (x0, y0) = (fx.floor(), fy.floor());
    let (ax, ay) = (fx - x0, fy - y0);
    let at = |xx: f32, yy: f32| {
        if xx < 0.0 || yy < 0.0 || xx >= w as f32 || yy >= h as f32 { 0.0 } else { px[yy as usize * w + xx as usize] }
    };
    let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1.0, y0) * ax;
    let bottom = at(x0, y0 + 1.0) * (1.0 - ax) + at(x0 + 1.0, y0 + 1.0) * ax;
    top * (1.0 - ay) + bottom * ay
}

/// Cuts a strip into its `strip.cells` character cells.
pub(crate) fn segment(strip: &Strip) -> Segmented {
    let (w, h, n) = (strip.w, STRIP_H, strip.cells);
    // Darkness against the paper and ink of a three-cell neighbourhood.
    let mut dark = vec![0f32; w * h];
    let mut saturated = 0usize;
    let mut buf = Vec::with_capacity(3 * CELL_W * h);
    for c in 0..n + 2 {
        let (x0, x1) = (c.saturating_sub(1) * CELL_W, ((c + 2) * CELL_W).min(w));
        buf.clear();
        for y in 0..h {
            buf.extend_from_slice(&strip.px[y * w + x0..y * w + x1]);
        }
        let paper = percentile(&mut buf, 0.9);
        let ink = percentile(&mut buf, 0.03);
        let range = (paper - ink).max(24.0);
        if (1..=n).contains(&c) {
            saturated += usize::from(paper >= 250.0);
        }
        for y in 0..h {
            for x in c * CELL_W..((c + 1) * CELL_W).min(w) {
                dark[y * w + x] = ((paper - strip.px[y * w + x]) / range).clamp(0.0, 1.0);
            }
        }
    }

    // The cap band, per run of a few cells (a line direction estimated from part of the line
    // drifts along it): rows whose darkness is at least a third of the densest row's. Its centre
    // is then a straight fit along the line, its height a high quantile (fillers are shorter).
    let mut centres = Vec::new();
    let mut heights = Vec::new();
    let chunk = 6;
    for k in (0..n).step_by(chunk) {
        let (cx0, cx1) = ((k + 1) * CELL_W, ((k + chunk).min(n) + 1) * CELL_W);
        let rows: Vec<f32> = (0..h).map(|y| dark[y * w + cx0..y * w + cx1].iter().sum::<f32>()).collect();
        if let Some((top, bottom)) = band_of(&rows) {
            centres.push((0.5 * (cx0 + cx1) as f32, 0.5 * (top + bottom), 1.0));
            heights.push(bottom - top);
        }
    }
    let (c0, c1) = match weighted_line(&centres) {
        Some((c0, c1)) if c1.abs() < 0.05 => (c0, c1),
        _ => (h as f32 / 2.0, 0.0),
    };
    let band_h = if heights.is_empty() { h as f32 / 2.2 } else { percentile(&mut heights, 0.75).max(4.0) };
    let centre_at = |x: f32| c0 + c1 * x;
    let band = (centre_at(w as f32 / 2.0) - band_h / 2.0, centre_at(w as f32 / 2.0) + band_h / 2.0);

    // Cell centres: a weighted straight fit through the ink centroid of each expected cell.
    let cols: Vec<f32> = (0..w)
        .map(|x| {
            let mid = centre_at(x as f32 + 0.5);
            let (y0, y1) = (
                (mid - band_h / 2.0).floor().max(0.0) as usize,
                ((mid + band_h / 2.0).ceil().max(0.0) as usize).min(h),
            );
            (y0..y1).map(|y| dark[y * w + x]).sum()
        })
        .collect();
    // Centres x(i) = a + b i + q i^2: the quadratic term absorbs what the rectification left of
    // perspective and of misplaced line ends.
    let (mut a, mut b, mut q) = (1.5 * CELL_W as f32, CELL_W as f32, 0.0f32);
    let centre = |a: f32, b: f32, q: f32, i: f32| a + b * i + q * i * i;
    for _ in 0..5 {
        let mut fits = Vec::with_capacity(n);
        for i in 0..n {
            let c = centre(a, b, q, i as f32);
            let half = 0.5 * (b + 2.0 * q * i as f32).max(0.5 * CELL_W as f32);
            let (lo, hi) = ((c - half).max(0.0) as usize, ((c + half).ceil().max(0.0) as usize).min(w));
            let (mut m, mut mx) = (0.0, 0.0);
            for (x, &v) in cols.iter().enumerate().take(hi).skip(lo) {
                m += v;
                mx += v * (x as f32 + 0.5);
            }
            if m > 0.5 {
                fits.push((i as f32, mx / m, m));
            }
        }
        let Some((na, nb, nq)) = weighted_quadratic(&fits) else { break };
        // Keep to plausible corrections of the rectification.
        let last = (n.max(1) - 1) as f32;
        let nq = nq.clamp(-0.1 * CELL_W as f32 / last.max(1.0), 0.1 * CELL_W as f32 / last.max(1.0));
        a = na.clamp(1.0 * CELL_W as f32, 2.0 * CELL_W as f32);
        b = nb.clamp(0.85 * CELL_W as f32, 1.15 * CELL_W as f32);
        q = nq;
    }

    // Resample each cell to the template grid.
    let sy = (band.1 - band.0) / CAP as f32;
    let _ = band;
    let mut cells = Vec::with_capacity(n);
    let mut steps = Vec::with_capacity(n * TW * TH);
    for i in 0..n {
        let local = b + 2.0 * q * i as f32;
        let left = centre(a, b, q, i as f32) - 0.5 * local;
        let sx = local / TW as f32;
        let top = centre_at(left + 0.5 * local) - band_h / 2.0;
        let mut cell = vec![0f32; TW * TH];
        for y in 0..TH {
            let yy = top + (y as f32 + 0.5 - PAD as f32) * sy;
            for x in 0..TW {
                cell[y * TW + x] = sample(&dark, w, h, left + (x as f32 + 0.5) * sx, yy);
            }
        }
        for y in 0..TH {
            for x in 0..TW - 1 {
                steps.push((cell[y * TW + x + 1] - cell[y * TW + x]).abs());
            }
        }
        cells.push(cell);
    }
    let sharpness = percentile(&mut steps, 0.9);
    Segmented { cells, sharpness, saturated: saturated as f32 / n.max(1) as f32 }
}

/// The rows `(top, bottom)` where a row profile stays above a third of its peak around the
/// peak, with sub-pixel edges; `None` for an empty profile.
fn band_of(rows: &[f32]) -> Option<(f32, f32)> {
    let h = rows.len();
    let (peak, &max) = rows.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    if max <= 0.5 {
        return None;
    }
    let level = max / 3.0;
    let mut top = peak;
    while top > 0 && rows[top - 1] > level {
        top -= 1;
    }
    let mut bottom = peak;
    while bottom + 1 < h && rows[bottom + 1] > level {
        bottom += 1;
    }
    let cross = |inside: usize, outside: Option<usize>| match outside {
        Some(o) if rows[inside] > rows[o] => (rows[inside] - level) / (rows[inside] - rows[o]),
        Some(_) => 0.5,
        None => 0.0,
    };
    let t = top as f32 + 0.5 - cross(top, top.checked_sub(1));
    let b = bottom as f32 + 0.5 + cross(bottom, (bottom + 1 < h).then_some(bottom + 1));
    Some((t, b.max(t + 2.0)))
}

/// Weighted least squares `y = a + b x + q x^2` (straight when too few points).
// Elimination reads one row while writing another, which iterators cannot borrow.
#[allow(clippy::needless_range_loop)]
fn weighted_quadratic(points: &[(f32, f32, f32)]) -> Option<(f32, f32, f32)> {
    if points.len() < 8 {
        return weighted_line(points).map(|(a, b)| (a, b, 0.0));
    }
    // Normal equations in f64 on x scaled to 0..1 for conditioning.
    let xmax = points.iter().map(|p| p.0).fold(1.0f32, f32::max) as f64;
    let mut m = [[0f64; 4]; 3];
    for &(x, y, wgt) in points {
        let (x, y, wgt) = (x as f64 / xmax, y as f64, wgt as f64);
        let v = [1.0, x, x * x];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] += wgt * v[r] * v[c];
            }
            m[r][3] += wgt * v[r] * y;
        }
    }
    for col in 0..3 {
        let pivot = (col..3).max_by(|&r, &s| m[r][col].abs().total_cmp(&m[s][col].abs()))?;
        if m[pivot][col].abs() < 1e-9 {
            return None;
        }
        m.swap(col, pivot);
        for r in 0..3 {
            if r != col {
                let f = m[r][col] / m[col][col];
                for c in col..4 {
                    m[r][c] -= f * m[col][c];
                }
            }
        }
    }
    let (a, b, q) = (m[0][3] / m[0][0], m[1][3] / m[1][1] / xmax, m[2][3] / m[2][2] / (xmax * xmax));
    (a.is_finite() && b.is_finite() && q.is_finite()).then_some((a as f32, b as f32, q as f32))
}

/// Weighted least squares `y = a + b x` through `(x, y, weight)`; `None` when degenerate.
fn weighted_line(points: &[(f32, f32, f32)]) -> Option<(f32, f32)> {
    let sw: f32 = points.iter().map(|p| p.2).sum();
    if points.len() < 3 || sw <= 0.0 {
        return None;
    }
    let mx = points.iter().map(|p| p.0 * p.2).sum::<f32>() / sw;
    let my = points.iter().map(|p| p.1 * p.2).sum::<f32>() / sw;
    let sxx: f32 = points.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f32 = points.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 1e-6 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}
