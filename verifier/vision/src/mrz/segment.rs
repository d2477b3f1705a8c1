//! Segment: an upright line strip in, one normalised cell per character out, plus the strip's
//! sharpness and saturation for the quality verdict, and where the cells were found (for a
//! second rectification).
//!
//! The strip's grey values become ink darkness (0 = paper, 1 = ink) against a local background
//! and ink level, so shading and glare gradients cancel. The cap band is where the row profile
//! of ink edges is high. Cells are placed by matching, not by the ink's centroids: the pitch comes
//! from the column profile's periodicity, and a dynamic programme picks the `n` windows, about a
//! pitch apart, that best look like centred OCR-B glyphs, so runs of fillers cannot drift. The
//! cap height is then chosen among a few around the measured one by the same template fit. What
//! each cell shows is `recognise.rs`'s question.

use super::cell::{CAP, Cell, NET_W, PAD, TH, TW};
use super::recognise::{Templates, normalise};
use super::rectify::{CELL_W, MARGIN, STRIP_H, STRIP_SPAN, Strip};

/// A segmented line.
#[derive(Clone, Debug)]
pub(crate) struct Segmented {
    /// The cells, left to right.
    pub cells: Vec<Cell>,
    /// The same cells with context: `NET_W * TH` darkness values centred on each cell, for the
    /// recognition network (empty for a first placement).
    pub wide: Vec<Vec<f32>>,
    /// Steepness of the ink edges: the 90th percentile of the darkness step between
    /// neighbouring cell pixels (near 1 for crisp print, under 0.25 when blurred).
    pub sharpness: f32,
    /// Share of the line's cells whose paper is saturated (grey >= 250).
    pub saturated: f32,
    /// Each cell's centre along the strip, strip pixels.
    pub centres: Vec<f32>,
    /// The cap band's centre row at the middle of the strip, strip pixels.
    pub band_centre: f32,
}

fn percentile(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f32 * q) as usize;
    *v.select_nth_unstable_by(k, f32::total_cmp).1
}

/// Cuts a strip into its `strip.cells` character cells. `to_read` marks the cells that will be
/// recognised (not a first placement): only then are other cap heights than the measured one
/// tried and the cells with context (`Segmented::wide`) cut. `spacing_cost` is
/// `recognition.spacing_cost` (see `align`).
pub(crate) fn segment(strip: &Strip, templates: &Templates, to_read: bool, spacing_cost: f32) -> Segmented {
    let (w, h, n) = (strip.w, STRIP_H, strip.cells);
    // Darkness against the paper and ink of a three-cell neighbourhood.
    let mut dark = vec![0f32; w * h];
    let mut saturated = 0usize;
    let mut buf = Vec::with_capacity(3 * CELL_W * h);
    for c in 0..n + 2 * MARGIN {
        let (x0, x1) = (c.saturating_sub(1) * CELL_W, ((c + 2) * CELL_W).min(w));
        buf.clear();
        for y in 0..h {
            buf.extend_from_slice(&strip.px[y * w + x0..y * w + x1]);
        }
        let paper = percentile(&mut buf, 0.9);
        let ink = percentile(&mut buf, 0.03);
        let range = (paper - ink).max(24.0);
        if (MARGIN..MARGIN + n).contains(&c) {
            saturated += usize::from(paper >= 250.0);
        }
        for y in 0..h {
            for x in c * CELL_W..((c + 1) * CELL_W).min(w) {
                dark[y * w + x] = ((paper - strip.px[y * w + x]) / range).clamp(0.0, 1.0);
            }
        }
    }

    // The cap band, per run of a few cells (a line direction estimated from part of the line
    // drifts along it): rows whose ink edges across the line add up to at least a third of the
    // busiest row's. Edges, not darkness: the glyphs' strokes cross every row of the cap, while
    // a long background line (a guilloche, a printed rule) darkens one row a great deal but has
    // no edge along it. The band's centre is then a straight fit along the line, its height a
    // high quantile (fillers are shorter).
    let mut centres = Vec::new();
    let mut heights = Vec::new();
    let chunk = 6;
    for k in (0..n).step_by(chunk) {
        let (cx0, cx1) = ((k + MARGIN) * CELL_W, ((k + chunk).min(n) + MARGIN) * CELL_W);
        let rows: Vec<f32> = (0..h)
            .map(|y| {
                let row = &dark[y * w + cx0..y * w + cx1];
                row.windows(2).map(|p| (p[1] - p[0]).abs()).sum::<f32>()
            })
            .collect();
        if let Some((top, bottom)) = band_of(&rows) {
            centres.push((0.5 * (cx0 + cx1) as f32, 0.5 * (top + bottom), 1.0));
            heights.push(bottom - top);
        }
    }
    let band_h = if heights.is_empty() { h as f32 / 2.2 } else { percentile(&mut heights, 0.75).max(4.0) };
    // A run whose band sits off the others' (a neighbouring line at the strip's edge, a run of
    // fillers read on a background stroke) does not pull the line: the fit keeps the runs near
    // the median centre.
    let mut ys: Vec<f32> = centres.iter().map(|p| p.1).collect();
    let median = percentile(&mut ys, 0.5);
    let near: Vec<_> = centres.iter().copied().filter(|p| (p.1 - median).abs() < band_h / 3.0).collect();
    let (c0, c1) = match weighted_line(&near).or_else(|| weighted_line(&centres)) {
        Some((c0, c1)) if c1.abs() < 0.05 => (c0, c1),
        _ => (h as f32 / 2.0, 0.0),
    };
    let centre_at = |x: f32| c0 + c1 * x;

    if n == 0 {
        return Segmented {
            cells: Vec::new(),
            wide: Vec::new(),
            sharpness: 0.0,
            saturated: 0.0,
            centres: Vec::new(),
            band_centre: 0.0,
        };
    }

    // Cell positions: the pitch from the ink's periodicity, then the placement of the `n` cells
    // that best matches glyph templates (see `align`), at the measured cap height and then at the
    // height that suits the glyphs best (digits stand taller than capitals in some OCR-B
    // printings, so a band measured over a digit-heavy line is too tall for the letters).
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
    let pitch = periodicity(&cols).unwrap_or(CELL_W as f32);
    let mut scratch = Vec::new();
    let mut img = band_image(&dark, w, h, &centre_at, band_h);
    let (mut lefts, mut here) = align(&img, w, n, pitch, templates, spacing_cost, &mut scratch);
    let fit = |img: &[f32], lefts: &[usize], scratch: &mut Vec<f32>| -> f32 {
        window_scores(img, w, lefts, templates, scratch).iter().sum()
    };
    let (mut scale, mut best) = (1.0, here.iter().sum::<f32>());
    for s in HEIGHT_SCALES.into_iter().filter(|_| to_read) {
        let other = band_image(&dark, w, h, &centre_at, band_h * s);
        let score = fit(&other, &lefts, &mut scratch);
        if score > best {
            (scale, best) = (s, score);
        }
    }
    if scale != 1.0 {
        img = band_image(&dark, w, h, &centre_at, band_h * scale);
        (lefts, here) = align(&img, w, n, pitch, templates, spacing_cost, &mut scratch);
    }
    // The alignment steps two pixels; the odd neighbour may fit better.
    let around: Vec<usize> =
        lefts.iter().flat_map(|&x| [x.saturating_sub(1), (x + 1).min(w.saturating_sub(TW))]).collect();
    let scores = window_scores(&img, w, &around, templates, &mut scratch);
    for ((x, &at), (cands, s)) in lefts.iter_mut().zip(&here).zip(around.chunks_exact(2).zip(scores.chunks_exact(2))) {
        let mut best = (at, *x);
        for k in 0..2 {
            if s[k] > best.0 {
                best = (s[k], cands[k]);
            }
        }
        *x = best.1;
    }

    // Resample each cell to the template grid at the line's pitch, and a wider window around it
    // for the recognition network.
    let resample = |c: f32, width: usize| {
        let mut cell = vec![0f32; width * TH];
        for x in 0..width {
            let fx = c + (x as f32 + 0.5 - width as f32 / 2.0) * pitch / TW as f32 - 0.5;
            let x0 = fx.floor();
            let ax = fx - x0;
            let at = |xx: f32, y: usize| if xx < 0.0 || xx >= w as f32 { 0.0 } else { img[y * w + xx as usize] };
            for y in 0..TH {
                cell[y * width + x] = at(x0, y) * (1.0 - ax) + at(x0 + 1.0, y) * ax;
            }
        }
        cell
    };
    let mut cells = Vec::with_capacity(n);
    let mut wide = Vec::with_capacity(n);
    let mut steps = Vec::with_capacity(n * TW * TH);
    for &left in &lefts {
        let c = left as f32 + TW as f32 / 2.0;
        let cell = resample(c, TW);
        for y in 0..TH {
            for x in 0..TW - 1 {
                steps.push((cell[y * TW + x + 1] - cell[y * TW + x]).abs());
            }
        }
        cells.push(cell);
        if to_read {
            wide.push(resample(c, NET_W));
        }
    }
    let sharpness = percentile(&mut steps, 0.9);
    Segmented {
        cells,
        wide,
        sharpness,
        saturated: saturated as f32 / n.max(1) as f32,
        centres: lefts.iter().map(|&x| x as f32 + TW as f32 / 2.0).collect(),
        band_centre: centre_at(w as f32 / 2.0),
    }
}

/// Cap-band heights tried besides the measured one, relative to it. Blur spreads the darkness
/// profile the band is measured on, so a blurred or small print measures up to a third too
/// tall; the template fit picks the height the glyphs really have.
const HEIGHT_SCALES: [f32; 7] = [0.64, 0.72, 0.8, 0.88, 0.94, 1.06, 1.12];
/// Pixels between the window positions `align` tries.
const STEP: usize = 2;

/// The line's cap band resampled to template rows: `TH` rows of `w` columns, the cap on rows
/// `PAD..PAD + CAP`, for a cap `band_h` strip pixels high centred on `centre_at(x)`.
fn band_image(dark: &[f32], w: usize, h: usize, centre_at: &impl Fn(f32) -> f32, band_h: f32) -> Vec<f32> {
    let sy = band_h / CAP as f32;
    let mut img = vec![0f32; TH * w];
    // `sample` at a column's centre: the horizontal weight is 0, so only the rows blend (the
    // same arithmetic, without the horizontal taps).
    let at = |x: usize, yy: f32| if yy < 0.0 || yy >= h as f32 { 0.0 } else { dark[yy as usize * w + x] };
    for x in 0..w {
        let top = centre_at(x as f32 + 0.5) - band_h / 2.0;
        for y in 0..TH {
            let fy = top + (y as f32 + 0.5 - PAD as f32) * sy - 0.5;
            img[y * w + x] = if fy < -1.0 || fy > h as f32 {
                0.0
            } else {
                let y0 = fy.floor();
                let ay = fy - y0;
                at(x, y0) * (1.0 - ay) + at(x, y0 + 1.0) * ay
            };
        }
    }
    img
}

/// How well each window of `TW` columns starting at `lefts[i]` shows a centred glyph (0 when
/// blank); `cells` is scratch space.
fn window_scores(img: &[f32], w: usize, lefts: &[usize], templates: &Templates, cells: &mut Vec<f32>) -> Vec<f32> {
    cells.clear();
    let mut blank = Vec::with_capacity(lefts.len());
    for &left in lefts {
        let start = cells.len();
        for y in 0..TH {
            let row = &img[y * w..(y + 1) * w];
            cells.extend((left..left + TW).map(|x| row.get(x).copied().unwrap_or(0.0)));
        }
        let cell = &mut cells[start..];
        let empty = !normalise(cell);
        if empty {
            cell.fill(0.0);
        }
        blank.push(empty);
    }
    let mut out = vec![0f32; lefts.len()];
    templates.centred_scores(cells, &mut out);
    for (o, &empty) in out.iter_mut().zip(&blank) {
        if empty {
            *o = 0.0;
        }
    }
    out
}

/// The pitch of the column profile in pixels: the lag near `CELL_W` where it best matches
/// itself, refined between lags; `None` when the profile is flat.
fn periodicity(cols: &[f32]) -> Option<f32> {
    let mean = cols.iter().sum::<f32>() / cols.len().max(1) as f32;
    let v: Vec<f32> = cols.iter().map(|c| c - mean).collect();
    let auto = |lag: usize| -> f32 {
        let m = v.len().saturating_sub(lag);
        (0..m).map(|i| v[i] * v[i + lag]).sum::<f32>() / m.max(1) as f32
    };
    let (lo, hi) = ((CELL_W as f32 * 0.8) as usize, (CELL_W as f32 * 1.2).ceil() as usize);
    let r: Vec<f32> = (lo - 1..=hi + 1).map(auto).collect();
    let k = (1..r.len() - 1).max_by(|&a, &b| r[a].total_cmp(&r[b]))?;
    if r[k] <= 0.0 || r[k] < r[k - 1] || r[k] < r[k + 1] {
        return None;
    }
    let denom = r[k - 1] - 2.0 * r[k] + r[k + 1];
    let off = if denom < 0.0 { (0.5 * (r[k - 1] - r[k + 1]) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    Some((lo - 1 + k) as f32 + off)
}

/// The left edges of `n` windows along the band image that together show glyphs best, with
/// neighbouring windows about `pitch` apart: a dynamic programme over window positions `STEP`
/// pixels apart, so a run of fillers cannot drift half a cell (a window straddling two
/// chevrons matches no template well). Falls back to even spacing when the line is too short.
/// Also gives each window's score (`window_scores` at the left edges found). A spacing off the
/// line's pitch costs `spacing_cost` per step squared, in correlation units: a two-pixel wobble
/// should cost less than a misread glyph, a half-cell jump more.
fn align(
    img: &[f32],
    w: usize,
    n: usize,
    pitch: f32,
    templates: &Templates,
    spacing_cost: f32,
    scratch: &mut Vec<f32>,
) -> (Vec<usize>, Vec<f32>) {
    let even = |scratch: &mut Vec<f32>| {
        let lefts: Vec<usize> = (0..n)
            .map(|i| (((MARGIN * CELL_W) as f32 + i as f32 * pitch) as usize).min(w.saturating_sub(TW)))
            .collect();
        let scores = window_scores(img, w, &lefts, templates, scratch);
        (lefts, scores)
    };
    if w < TW + STEP {
        return even(scratch);
    }
    let positions = (w - TW) / STEP + 1;
    let nominal = pitch / STEP as f32;
    let (kmin, kmax) = (((nominal - 2.0).round() as usize).max(1), (nominal + 2.0).round() as usize);
    if (n - 1) * kmin >= positions {
        return even(scratch);
    }
    let starts: Vec<usize> = (0..positions).map(|p| p * STEP).collect();
    let scores = window_scores(img, w, &starts, templates, scratch);
    let cost: Vec<f32> = (kmin..=kmax).map(|k| spacing_cost * (k as f32 - nominal).powi(2)).collect();
    let mut value = scores.clone();
    let mut back = vec![0u8; n * positions];
    for i in 1..n {
        let mut next = vec![f32::NEG_INFINITY; positions];
        for p in 0..positions {
            let mut best = (f32::NEG_INFINITY, 0u8);
            for (j, k) in (kmin..=kmax).enumerate() {
                if k <= p {
                    let v = value[p - k] - cost[j];
                    if v > best.0 {
                        best = (v, j as u8);
                    }
                }
            }
            next[p] = best.0 + scores[p];
            back[i * positions + p] = best.1;
        }
        value = next;
    }
    let Some(mut p) = (0..positions).filter(|&p| value[p].is_finite()).max_by(|&a, &b| value[a].total_cmp(&value[b]))
    else {
        return even(scratch);
    };
    let mut lefts = vec![0usize; n];
    let mut at = vec![0f32; n];
    for i in (0..n).rev() {
        (lefts[i], at[i]) = (p * STEP, scores[p]);
        if i > 0 {
            p -= kmin + usize::from(back[i * positions + p]);
        }
    }
    (lefts, at)
}

/// The rows `(top, bottom)` where a row profile stays above a third of the way from its floor
/// to its peak, around the peak, with sub-pixel edges; `None` for an empty profile. The floor
/// is what rows off the text still have (a busy security background puts edges in every row);
/// most of a strip's rows are off the text, so a low quantile measures it.
fn band_of(rows: &[f32]) -> Option<(f32, f32)> {
    let h = rows.len();
    // The peak is looked for within a cap height of the strip's centre, where the line was
    // located: where lines are set close (a line pitch of 1.3 cap heights on some cards), the
    // strip also shows the neighbouring lines' glyphs near its edges, and a busier neighbour
    // must not take the band.
    let reach = (h as f32 / (2.0 * STRIP_SPAN)).ceil() as usize;
    let (lo, hi) = ((h / 2).saturating_sub(reach), (h / 2 + reach).min(h));
    let (peak, &max) = rows.iter().enumerate().skip(lo).take(hi - lo).max_by(|a, b| a.1.total_cmp(b.1))?;
    let floor = percentile(&mut rows.to_vec(), 0.15);
    if max - floor <= 0.5 {
        return None;
    }
    let level = floor + (max - floor) / 3.0;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A strip of `n` cells of two-stroke glyphs, their cap on rows 12..28 (centre 20), on
    /// paper crossed by long faint horizontal lines (security print) above and below.
    fn strip_with_background_lines(n: usize) -> Strip {
        let w = (n + 2 * MARGIN) * CELL_W;
        let mut px = vec![230f32; w * STRIP_H];
        for y in [3, 4, 35, 36] {
            px[y * w..(y + 1) * w].fill(150.0);
        }
        for c in MARGIN..MARGIN + n {
            for y in 12..28 {
                for x in [4, 5, 11, 12] {
                    px[y * w + c * CELL_W + x] = 40.0;
                }
            }
        }
        Strip { cells: n, w, px }
    }

    #[test]
    fn the_cap_band_follows_the_glyphs_not_long_background_lines() {
        let templates = Templates::from_font(&crate::mrz::service_defaults::ocr_b_font()).expect("OCR-B parses");
        let spacing_cost = crate::mrz::service_defaults::reader_config().recognition.spacing_cost;
        let seg = segment(&strip_with_background_lines(30), &templates, true, spacing_cost);
        assert_eq!(seg.cells.len(), 30);
        assert!((seg.band_centre - 20.0).abs() < 1.0, "band centre {}", seg.band_centre);
    }

    #[test]
    fn band_of_finds_the_run_around_the_peak() {
        // A third of the peak is 2: the band runs from where the profile crosses 2 between
        // rows 2 and 3 (edge 2.5) to where it does between rows 5 and 6 (5.5 + 3/4).
        let rows = [0.0, 0.1, 2.0, 6.0, 6.0, 5.0, 1.0, 0.0];
        let (top, bottom) = band_of(&rows).expect("a band");
        assert!((top - 2.5).abs() < 1e-4 && (bottom - 6.25).abs() < 1e-4, "{top}..{bottom}");
        assert_eq!(band_of(&[0.0; 8]), None);
        // The same text over a background that puts 3 in every row: the same band.
        let busy: Vec<f32> = rows.iter().map(|r| r + 3.0).collect();
        let (top, bottom) = band_of(&busy).expect("a band");
        assert!((top - 2.5).abs() < 1e-4 && (bottom - 6.25).abs() < 1e-4, "{top}..{bottom}");
    }
}
