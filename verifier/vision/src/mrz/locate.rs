//! Locate: one pyramid level of a grey frame in, candidate MRZ blocks (1 to 3 text lines with
//! their ends, pitch and height) out.
//!
//! The MRZ is found as text, not as a dark rectangle: ink is separated from paper with a local
//! mean threshold, glyph-sized connected components are chained into lines along the dominant
//! text direction (any rotation within +-45 degrees), each line is extended cell by cell over the
//! ink (so fillers that merged into one blob still count) and stacked, left-aligned, parallel
//! lines whose character counts fit an ICAO 9303 format become candidates. Reading the glyphs
//! and deciding which candidate is really an MRZ is left to the later stages.

use super::LocateConfig;
use super::gray::Gray;

/// Line lengths of the formats the `mrz` crate reads, longest lines first within each.
pub(crate) const FORMATS: [&[usize]; 5] = [&[44, 44], &[36, 36], &[30, 30, 30], &[9, 30, 30], &[30]];

/// One text line, in frame pixels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TextLine {
    /// The centre line at the left edge of the ink.
    pub start: [f32; 2],
    /// The centre line at the right edge of the ink.
    pub end: [f32; 2],
    /// Rough cap height.
    pub height: f32,
    /// Median distance between neighbouring glyphs.
    pub pitch: f32,
    /// Spread of the glyph spacing (median absolute deviation over the pitch).
    pub irregularity: f32,
    /// The centre line at the first and last regularly spaced glyph, before the ink walk
    /// (which may overshoot into a card's edge or the background beside it).
    pub core: [[f32; 2]; 2],
}

impl TextLine {
    fn length(&self) -> f32 {
        ((self.end[0] - self.start[0]).powi(2) + (self.end[1] - self.start[1]).powi(2)).sqrt()
    }

    /// Unit direction from start to end.
    pub fn direction(&self) -> [f32; 2] {
        let l = self.length().max(1e-6);
        [(self.end[0] - self.start[0]) / l, (self.end[1] - self.start[1]) / l]
    }

    /// Characters the ink spans at this pitch: the ink covers `(n - 1)` pitches plus about one
    /// glyph width.
    pub fn chars(&self) -> f32 {
        self.length() / self.pitch.max(1e-3) + 0.25
    }

    fn scaled(&self, k: f32) -> TextLine {
        TextLine {
            start: [self.start[0] * k, self.start[1] * k],
            end: [self.end[0] * k, self.end[1] * k],
            height: self.height * k,
            pitch: self.pitch * k,
            irregularity: self.irregularity,
            core: self.core.map(|p| [p[0] * k, p[1] * k]),
        }
    }

    /// This line's extent moved across onto `other`'s centre line (along the normal), keeping
    /// `other`'s pitch and height.
    fn moved_to(&self, other: &TextLine) -> TextLine {
        let u = self.direction();
        let n = [-u[1], u[0]];
        let mid = |l: &TextLine| [(l.start[0] + l.end[0]) / 2.0, (l.start[1] + l.end[1]) / 2.0];
        let (a, b) = (mid(self), mid(other));
        let d = (b[0] - a[0]) * n[0] + (b[1] - a[1]) * n[1];
        let shift = |p: [f32; 2]| [p[0] + d * n[0], p[1] + d * n[1]];
        TextLine {
            start: shift(self.start),
            end: shift(self.end),
            height: other.height,
            pitch: self.pitch,
            irregularity: other.irregularity,
            core: self.core.map(shift),
        }
    }

    /// The line cut back to its glyph chain: from the outer edge of its first glyph to that of
    /// its last (an OCR-B glyph is about 0.75 of a pitch wide).
    fn core_line(&self) -> TextLine {
        let u = self.direction();
        let half = 0.38 * self.pitch;
        let [a, b] = self.core;
        TextLine {
            start: [a[0] - half * u[0], a[1] - half * u[1]],
            end: [b[0] + half * u[0], b[1] + half * u[1]],
            ..self.clone()
        }
    }
}

/// Lines stacked top to bottom that fit a format's line lengths.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Block {
    /// The lines, top first.
    pub lines: Vec<TextLine>,
    /// The format's character count for each line.
    pub counts: Vec<usize>,
    /// Higher is more MRZ-like.
    pub score: f32,
}

/// Candidate blocks on one pyramid level whose pixels are `scale` frame pixels wide, best first.
pub(crate) fn locate(level: &Gray, scale: f32, cfg: &LocateConfig) -> Vec<Block> {
    if level.w < 16 || level.h < 8 {
        return Vec::new();
    }
    let mask = ink_mask(level, cfg);
    let blobs = glyph_blobs(&mask, level.w, level.h, cfg);
    if blobs.len() < cfg.min_chain {
        return Vec::new();
    }
    let Some(theta) = dominant_angle(&blobs, cfg) else { return Vec::new() };
    let chains = chain(&blobs, theta, cfg);
    let mut segments: Vec<Segment> = chains.iter().filter_map(|c| Segment::fit(&blobs, c, cfg.min_chain)).collect();
    merge_collinear(&blobs, &mut segments, cfg.min_chain);
    let lines: Vec<TextLine> = segments
        .iter()
        .filter_map(|s| extend(s, &mask, level.w, level.h, cfg.min_cell_ink))
        .map(|l| l.scaled(scale))
        .collect();
    stack(&lines, theta, cfg)
}

/// Ink: pixels darker than their neighbourhood mean by `cfg.ink_delta`.
fn ink_mask(g: &Gray, cfg: &LocateConfig) -> Vec<bool> {
    let (w, h) = (g.w, g.h);
    // Wrapping sums: every window's true sum fits in u32, so differences of wrapped integrals
    // are exact whatever the image size.
    let mut ii = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row = row.wrapping_add(u32::from(g.px[y * w + x]));
            ii[(y + 1) * (w + 1) + x + 1] = ii[y * (w + 1) + x + 1].wrapping_add(row);
        }
    }
    let r = cfg.mean_radius;
    let mut mask = vec![false; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = ii[y1 * (w + 1) + x1]
                .wrapping_sub(ii[y0 * (w + 1) + x1])
                .wrapping_sub(ii[y1 * (w + 1) + x0])
                .wrapping_add(ii[y0 * (w + 1) + x0]);
            let n = ((x1 - x0) * (y1 - y0)) as u32;
            mask[y * w + x] = (u32::from(g.px[y * w + x]) + cfg.ink_delta) * n < sum;
        }
    }
    mask
}

/// A glyph-sized connected component.
#[derive(Clone, Copy, Debug)]
struct Blob {
    cx: f32,
    cy: f32,
    /// Largest bounding-box side.
    size: f32,
    /// Bounding-box height.
    bh: f32,
}

fn find(parent: &mut [u32], mut a: u32) -> u32 {
    while parent[a as usize] != a {
        parent[a as usize] = parent[parent[a as usize] as usize];
        a = parent[a as usize];
    }
    a
}

/// 8-connected components of the mask with a glyph's size and fill.
fn glyph_blobs(mask: &[bool], w: usize, h: usize, cfg: &LocateConfig) -> Vec<Blob> {
    let mut labels = vec![0u32; w * h];
    let mut parent: Vec<u32> = vec![0];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !mask[i] {
                continue;
            }
            let mut near = [0u32; 4];
            if x > 0 {
                near[0] = labels[i - 1];
            }
            if y > 0 {
                near[1] = labels[i - w];
                if x > 0 {
                    near[2] = labels[i - w - 1];
                }
                if x + 1 < w {
                    near[3] = labels[i - w + 1];
                }
            }
            let Some(&first) = near.iter().filter(|&&l| l != 0).min() else {
                let l = parent.len() as u32;
                parent.push(l);
                labels[i] = l;
                continue;
            };
            let root = find(&mut parent, first);
            for &l in near.iter().filter(|&&l| l != 0 && l != first) {
                let other = find(&mut parent, l);
                if other != root {
                    let (lo, hi) = (root.min(other), root.max(other));
                    parent[hi as usize] = lo;
                }
            }
            labels[i] = find(&mut parent, root);
        }
    }
    #[derive(Clone, Copy)]
    struct Acc {
        x0: usize,
        x1: usize,
        y0: usize,
        y1: usize,
        n: usize,
        sx: usize,
        sy: usize,
    }
    let empty = Acc { x0: usize::MAX, x1: 0, y0: usize::MAX, y1: 0, n: 0, sx: 0, sy: 0 };
    let mut acc = vec![empty; parent.len()];
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            if l == 0 {
                continue;
            }
            let r = find(&mut parent, l) as usize;
            let a = &mut acc[r];
            a.x0 = a.x0.min(x);
            a.x1 = a.x1.max(x);
            a.y0 = a.y0.min(y);
            a.y1 = a.y1.max(y);
            a.n += 1;
            a.sx += x;
            a.sy += y;
        }
    }
    acc.iter()
        .filter(|a| a.n >= 4)
        .filter_map(|a| {
            let (bw, bh) = (a.x1 - a.x0 + 1, a.y1 - a.y0 + 1);
            let size = bw.max(bh);
            let fill = a.n as f32 / (bw * bh) as f32;
            ((cfg.min_glyph..=cfg.max_glyph).contains(&size) && (0.1..0.92).contains(&fill)).then(|| Blob {
                cx: a.sx as f32 / a.n as f32 + 0.5,
                cy: a.sy as f32 / a.n as f32 + 0.5,
                size: size as f32,
                bh: bh as f32,
            })
        })
        .collect()
}

/// Blobs by grid cell, for neighbour queries within `cell` pixels.
struct Grid {
    cell: f32,
    gw: usize,
    gh: usize,
    bins: Vec<Vec<usize>>,
}

impl Grid {
    fn new(blobs: &[Blob], cell: f32) -> Grid {
        let gw = (blobs.iter().map(|b| b.cx).fold(0.0, f32::max) / cell) as usize + 1;
        let gh = (blobs.iter().map(|b| b.cy).fold(0.0, f32::max) / cell) as usize + 1;
        let mut bins = vec![Vec::new(); gw * gh];
        for (i, b) in blobs.iter().enumerate() {
            bins[(b.cy / cell) as usize * gw + (b.cx / cell) as usize].push(i);
        }
        Grid { cell, gw, gh, bins }
    }

    fn near(&self, b: &Blob) -> impl Iterator<Item = usize> + '_ {
        let (gx, gy) = ((b.cx / self.cell) as usize, (b.cy / self.cell) as usize);
        let xs = gx.saturating_sub(1)..(gx + 2).min(self.gw);
        let ys = gy.saturating_sub(1)..(gy + 2).min(self.gh);
        ys.flat_map(move |y| xs.clone().map(move |x| y * self.gw + x)).flat_map(|c| self.bins[c].iter().copied())
    }
}

fn similar(a: &Blob, b: &Blob) -> bool {
    let r = a.size / b.size;
    (0.5..=2.0).contains(&r)
}

/// The most common direction between neighbouring glyphs, radians within +-45 degrees.
fn dominant_angle(blobs: &[Blob], cfg: &LocateConfig) -> Option<f32> {
    let grid = Grid::new(blobs, 2.0 * cfg.max_glyph as f32);
    let mut hist = [0f32; 91];
    for (i, a) in blobs.iter().enumerate() {
        for j in grid.near(a).filter(|&j| j > i) {
            let b = &blobs[j];
            let (dx, dy) = (b.cx - a.cx, b.cy - a.cy);
            let d = (dx * dx + dy * dy).sqrt();
            let s = a.size.max(b.size);
            if !similar(a, b) || d < 0.4 * s || d > 1.8 * s {
                continue;
            }
            let (dx, dy) = if dx < 0.0 { (-dx, -dy) } else { (dx, dy) };
            let deg = dy.atan2(dx).to_degrees();
            if deg.abs() <= 45.0 {
                hist[(deg + 45.0).round() as usize] += 1.0;
            }
        }
    }
    let smooth = |k: usize| (k.saturating_sub(2)..(k + 3).min(91)).map(|j| hist[j]).sum::<f32>();
    let best = (0..91).max_by(|&a, &b| smooth(a).total_cmp(&smooth(b)))?;
    if smooth(best) < 3.0 {
        return None;
    }
    // Refine to the weighted mean inside the peak.
    let range = best.saturating_sub(2)..(best + 3).min(91);
    let (sw, swk) = range.fold((0.0, 0.0), |(sw, swk), k| (sw + hist[k], swk + hist[k] * k as f32));
    Some((swk / sw.max(1e-6) - 45.0).to_radians())
}

/// Chains of blobs, each blob linked to its best right neighbour along `theta` when that choice
/// is mutual.
fn chain(blobs: &[Blob], theta: f32, cfg: &LocateConfig) -> Vec<Vec<usize>> {
    let (u, n) = ([theta.cos(), theta.sin()], [-theta.sin(), theta.cos()]);
    let grid = Grid::new(blobs, 2.0 * cfg.max_glyph as f32);
    let mut right: Vec<Option<(usize, f32)>> = vec![None; blobs.len()];
    for (i, a) in blobs.iter().enumerate() {
        for j in grid.near(a) {
            let b = &blobs[j];
            if j == i || !similar(a, b) {
                continue;
            }
            let (dx, dy) = (b.cx - a.cx, b.cy - a.cy);
            let along = dx * u[0] + dy * u[1];
            let across = (dx * n[0] + dy * n[1]).abs();
            let s = a.size.max(b.size);
            let d = (dx * dx + dy * dy).sqrt();
            if along <= 0.0 || across > 0.36 * along || d < 0.35 * s || d > 1.9 * s {
                continue;
            }
            let cost = d * (1.0 + 2.0 * across / along);
            if right[i].is_none_or(|(_, c)| cost < c) {
                right[i] = Some((j, cost));
            }
        }
    }
    let mut left: Vec<Option<(usize, f32)>> = vec![None; blobs.len()];
    for (i, r) in right.iter().enumerate() {
        if let Some((j, cost)) = *r
            && left[j].is_none_or(|(_, c)| cost < c)
        {
            left[j] = Some((i, cost));
        }
    }
    let mutual_right = |i: usize| right[i].map(|(j, _)| j).filter(|&j| left[j].map(|(k, _)| k) == Some(i));
    let has_left = |i: usize| left[i].is_some_and(|(k, _)| mutual_right(k) == Some(i));
    let mut chains = Vec::new();
    for start in (0..blobs.len()).filter(|&i| !has_left(i)) {
        let mut c = vec![start];
        let mut at = start;
        while let Some(next) = mutual_right(at) {
            if c.len() > blobs.len() {
                break;
            }
            c.push(next);
            at = next;
        }
        if c.len() >= cfg.min_chain {
            chains.push(c);
        }
    }
    chains
}

/// A straight run of glyphs.
#[derive(Clone, Debug)]
struct Segment {
    members: Vec<usize>,
    mean: [f32; 2],
    u: [f32; 2],
    t0: f32,
    t1: f32,
    pitch: f32,
    height: f32,
    irregularity: f32,
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable_by(mid, f32::total_cmp).1
}

impl Segment {
    /// The segment through `members`; its ends are cut back to regularly spaced glyphs while
    /// `min_chain` remain.
    fn fit(blobs: &[Blob], members: &[usize], min_chain: usize) -> Option<Segment> {
        let n = members.len() as f32;
        let mean = [
            members.iter().map(|&i| blobs[i].cx).sum::<f32>() / n,
            members.iter().map(|&i| blobs[i].cy).sum::<f32>() / n,
        ];
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &i in members {
            let (dx, dy) = (blobs[i].cx - mean[0], blobs[i].cy - mean[1]);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let mut u = [angle.cos(), angle.sin()];
        if u[0] < 0.0 {
            u = [-u[0], -u[1]];
        }
        let mut ts: Vec<f32> =
            members.iter().map(|&i| (blobs[i].cx - mean[0]) * u[0] + (blobs[i].cy - mean[1]) * u[1]).collect();
        ts.sort_by(f32::total_cmp);
        let mut gaps: Vec<f32> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        let pitch = median(&mut gaps);
        if pitch <= 1.0 {
            return None;
        }
        let mut dev: Vec<f32> = gaps.iter().map(|g| (g - pitch).abs()).collect();
        let irregularity = median(&mut dev) / pitch;
        // A glyph of cap height c and width ~0.7c rotated by a has a box c(cos a + 0.7 sin a) high.
        let mut heights: Vec<f32> = members.iter().map(|&i| blobs[i].bh).collect();
        heights.sort_by(f32::total_cmp);
        let h75 = heights[(heights.len() * 3 / 4).min(heights.len() - 1)];
        let height = h75 / (u[0].abs() + 0.7 * u[1].abs());
        // The line's ends are its outermost glyphs a regular pitch from their neighbours: a blob
        // further off (a card's edge or the shadow beside it, aligned with a line printed close
        // to it) is left to `extend`, which takes it only if it looks like a character cell.
        let regular = |gap: f32| (0.7 * pitch..=1.3 * pitch).contains(&gap);
        let (mut lo, mut hi) = (0, ts.len() - 1);
        while hi - lo >= min_chain && !regular(ts[lo + 1] - ts[lo]) {
            lo += 1;
        }
        while hi - lo >= min_chain && !regular(ts[hi] - ts[hi - 1]) {
            hi -= 1;
        }
        Some(Segment { members: members.to_vec(), mean, u, t0: ts[lo], t1: ts[hi], pitch, height, irregularity })
    }

    fn point(&self, t: f32) -> [f32; 2] {
        [self.mean[0] + t * self.u[0], self.mean[1] + t * self.u[1]]
    }
}

/// Joins segments of one line split by merged or missing glyphs.
fn merge_collinear(blobs: &[Blob], segments: &mut Vec<Segment>, min_chain: usize) {
    loop {
        let mut joined = false;
        'outer: for i in 0..segments.len() {
            for j in 0..segments.len() {
                if i == j {
                    continue;
                }
                let (a, b) = (&segments[i], &segments[j]);
                let cos = a.u[0] * b.u[0] + a.u[1] * b.u[1];
                let ratio = a.pitch / b.pitch;
                let (dx, dy) = (b.mean[0] - a.mean[0], b.mean[1] - a.mean[1]);
                let across = (dx * -a.u[1] + dy * a.u[0]).abs();
                let along = dx * a.u[0] + dy * a.u[1];
                // b starts after a ends, within a few cells.
                let gap = along + b.t0 - a.t1;
                if cos > 0.995
                    && (0.75..1.33).contains(&ratio)
                    && across < 0.4 * a.height.max(b.height)
                    && gap > -a.pitch
                    && gap < 8.0 * a.pitch
                {
                    let mut members = a.members.clone();
                    members.extend_from_slice(&b.members);
                    if let Some(s) = Segment::fit(blobs, &members, min_chain) {
                        segments[i] = s;
                        segments.swap_remove(j);
                        joined = true;
                        break 'outer;
                    }
                }
            }
        }
        if !joined {
            return;
        }
    }
}

// A box is a centre, a direction and two extents: grouping them would not read better.
#[allow(clippy::too_many_arguments)]
/// Share of ink in a box centred on `c`, `du` long along the line and `dn` across it.
fn ink_share(mask: &[bool], w: usize, h: usize, c: [f32; 2], u: [f32; 2], du: f32, dn: f32, steps: usize) -> f32 {
    let mut hits = 0usize;
    for i in 0..steps {
        let a = (i as f32 / (steps - 1).max(1) as f32 - 0.5) * du;
        for j in 0..5 {
            let b = (j as f32 / 4.0 - 0.5) * dn;
            let (x, y) = (c[0] + a * u[0] - b * u[1], c[1] + a * u[1] + b * u[0]);
            if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h && mask[y as usize * w + x as usize] {
                hits += 1;
            }
        }
    }
    hits as f32 / (steps * 5) as f32
}

/// The line through a segment, extended over neighbouring ink to the ends of the text.
/// Cells past the glyph chain need `min_cell_ink` of the line's typical cell ink.
fn extend(s: &Segment, mask: &[bool], w: usize, h: usize, min_cell_ink: f32) -> Option<TextLine> {
    let (p, dn) = (s.pitch, 0.9 * s.height);
    // The ink a cell of this line holds, typically: cells past the ends with much less are not
    // characters (a card's edge, the shading beside it), even where little is above or below.
    let cells = ((s.t1 - s.t0) / p).round().max(0.0) as usize;
    let mut shares: Vec<f32> =
        (0..=cells).map(|k| ink_share(mask, w, h, s.point(s.t0 + k as f32 * p), s.u, 0.7 * p, dn, 5)).collect();
    let typical = median(&mut shares);
    let edge = |from: f32, sign: f32| {
        let mut t = from;
        for _ in 0..60 {
            let next = t + sign * p;
            // A character cell has ink on the line and little in the blank band above or below
            // it; paper texture, backgrounds and pictures past the end of the line have both.
            let c = s.point(next);
            let band = ink_share(mask, w, h, c, s.u, 0.7 * p, dn, 5);
            let off = 0.5 * dn + 0.5 * s.height;
            let shifted = |k: f32| [c[0] - k * off * s.u[1], c[1] + k * off * s.u[0]];
            let around = ink_share(mask, w, h, shifted(-1.0), s.u, 0.7 * p, 0.5 * s.height, 5).min(ink_share(
                mask,
                w,
                h,
                shifted(1.0),
                s.u,
                0.7 * p,
                0.5 * s.height,
                5,
            ));
            if band < 0.08f32.max(min_cell_ink * typical) || around > 0.5 * band {
                break;
            }
            t = next;
        }
        // Refine to the outermost column with ink within the last cell.
        let mut last = t;
        for k in 1..=9 {
            let tt = t + sign * 0.1 * p * k as f32;
            if ink_share(mask, w, h, s.point(tt), s.u, 0.0, dn, 1) > 0.0 {
                last = tt;
            }
        }
        last
    };
    let (t0, t1) = (edge(s.t0, -1.0), edge(s.t1, 1.0));
    (t1 - t0 > 3.0 * p).then(|| TextLine {
        start: s.point(t0),
        end: s.point(t1),
        height: s.height,
        pitch: s.pitch,
        irregularity: s.irregularity,
        core: [s.point(s.t0), s.point(s.t1)],
    })
}

/// Stacks of parallel, left-aligned lines that fit a format, best first.
fn stack(lines: &[TextLine], theta: f32, cfg: &LocateConfig) -> Vec<Block> {
    let n = [-theta.sin(), theta.cos()];
    let offset = |l: &TextLine| (l.start[0] + l.end[0]) * 0.5 * n[0] + (l.start[1] + l.end[1]) * 0.5 * n[1];
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|&a, &b| offset(&lines[a]).total_cmp(&offset(&lines[b])));
    // The lines that could be below each line in the same block.
    let candidates = |i: usize| -> Vec<usize> {
        let a = &lines[i];
        let u = a.direction();
        order
            .iter()
            .copied()
            .filter(|&j| j != i)
            .filter(|&j| {
                let b = &lines[j];
                let v = b.direction();
                let (dx, dy) = (b.start[0] - a.start[0], b.start[1] - a.start[1]);
                let across = dx * -u[1] + dy * u[0];
                // Left-aligned: the starts, or the starts of the glyph chains (an ink walk that
                // overshot one line's start must not split the block). Or right-aligned: a line
                // broken by a stamp or security print across its start still ends where the
                // others do (its extent is then borrowed, see below).
                let (ca, cb) = (a.core_line(), b.core_line());
                let gap = |p: [f32; 2], q: [f32; 2]| ((q[0] - p[0]) * u[0] + (q[1] - p[1]) * u[1]).abs();
                let along =
                    gap(a.start, b.start).min(gap(ca.start, cb.start)).min(gap(a.end, b.end)).min(gap(ca.end, cb.end));
                u[0] * v[0] + u[1] * v[1] > 0.985
                    && (0.8..1.25).contains(&(a.pitch / b.pitch))
                    && across > 1.0 * a.pitch
                    && across < cfg.max_line_spacing * a.pitch
                    && along < 1.5 * a.pitch
            })
            .collect::<Vec<_>>()
    };
    // The lines directly below: the nearest row's, all of them (one text line may have given
    // two: a full one and a broken or overshooting one).
    let below = |i: usize| -> Vec<usize> {
        let all = candidates(i);
        let nearest = all.iter().map(|&j| offset(&lines[j])).fold(f32::INFINITY, f32::min);
        all.into_iter().filter(|&j| offset(&lines[j]) < nearest + 0.5 * lines[i].pitch).collect()
    };
    // Every run of up to three lines down from each line, through every same-row alternative.
    let mut runs: Vec<Vec<usize>> = order.iter().map(|&top| vec![top]).collect();
    let mut k = 0;
    while k < runs.len() {
        if runs[k].len() < 3 {
            let last = runs[k][runs[k].len() - 1];
            let nexts: Vec<usize> = below(last).into_iter().filter(|j| !runs[k].contains(j)).collect();
            let mut grown = Vec::with_capacity(nexts.len());
            for next in nexts {
                let mut r = runs[k].clone();
                r.push(next);
                grown.push(r);
            }
            if let Some(first) = grown.first() {
                runs[k] = first.clone();
                runs.extend(grown.into_iter().skip(1));
                continue;
            }
        }
        k += 1;
    }
    let mut blocks = Vec::new();
    for run in runs {
        for format in FORMATS {
            if format.len() > run.len() {
                continue;
            }
            let mut chosen: Vec<TextLine> = Vec::with_capacity(format.len());
            let mut fit = 0.0;
            let mut ok = true;
            // Every line of a zone has the same length but the Swiss licence's first: a line
            // whose own extent fits no format (broken by a stamp, its start lost in security
            // print) takes the extent of the run's line that fits best, moved across to it.
            // Such a block ranks below one whose lines all fit on their own.
            let equal = format.iter().all(|&c| c == format[0]);
            let reference = run
                .iter()
                .take(format.len())
                .map(|&i| &lines[i])
                .min_by(|a, b| {
                    let e = |l: &TextLine| (l.chars() - format[0] as f32).abs();
                    e(a).total_cmp(&e(b))
                })
                .filter(|_| equal)
                .cloned();
            for (&i, &count) in run.iter().zip(format.iter()) {
                // A line the ink walk took too far (over a card's edge, into background print
                // beside the zone) is cut back to its glyph chain when that fits the format
                // better by half a character or more: the strips are cut from these ends, and a
                // strip a few cells too long misplaces the cells.
                let err = |l: &TextLine| (l.chars() - count as f32).abs() / count as f32;
                let mut line = lines[i].clone();
                if line.chars() > count as f32 {
                    let core = line.core_line();
                    if err(&core) + 0.5 / count as f32 <= err(&line) {
                        line = core;
                    }
                }
                if err(&line) > cfg.count_tolerance
                    && let Some(r) = reference.as_ref().filter(|r| err(r) <= cfg.count_tolerance)
                {
                    line = r.moved_to(&line);
                    fit -= 1.0;
                }
                let e = err(&line);
                ok &= e <= cfg.count_tolerance;
                fit += (1.0 - e / cfg.count_tolerance) + (1.0 - line.irregularity.min(1.0));
                chosen.push(line);
            }
            if ok {
                let long = format.iter().filter(|&&c| c >= 30).count() as f32;
                blocks.push(Block { lines: chosen, counts: format.to_vec(), score: fit + 2.0 * long });
            }
        }
    }
    blocks.sort_by(|a, b| b.score.total_cmp(&a.score));
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service's settings.
    fn cfg() -> LocateConfig {
        crate::mrz::service_defaults::reader_config().locate
    }

    fn glyph(cx: f32) -> Blob {
        Blob { cx, cy: 50.0, size: 14.0, bh: 14.0 }
    }

    #[test]
    fn a_line_ends_at_its_last_regularly_spaced_glyph() {
        // Twelve glyphs 10 px apart, and a blob 15 px before the first (a card's edge).
        let mut blobs: Vec<Blob> = (0..12).map(|i| glyph(100.0 + 10.0 * i as f32)).collect();
        blobs.push(glyph(85.0));
        let members: Vec<usize> = (0..blobs.len()).collect();
        let s = Segment::fit(&blobs, &members, cfg().min_chain).expect("a straight run");
        assert!((s.pitch - 10.0).abs() < 0.01, "{}", s.pitch);
        assert!((s.point(s.t0)[0] - 100.0).abs() < 0.01, "starts at {:?}", s.point(s.t0));
        assert!((s.point(s.t1)[0] - 210.0).abs() < 0.01, "ends at {:?}", s.point(s.t1));

        // A chain keeps at least `min_chain` glyphs (5 here).
        let few: Vec<Blob> = [85.0, 100.0, 110.0, 120.0, 130.0].into_iter().map(glyph).collect();
        let s = Segment::fit(&few, &(0..few.len()).collect::<Vec<_>>(), 5).expect("a straight run");
        assert!((s.point(s.t0)[0] - 85.0).abs() < 0.01);
    }

    #[test]
    fn a_line_the_ink_walk_took_too_far_is_cut_back_to_its_glyphs() {
        // Three TD1 lines, 10 px pitch, 18 px apart; the first ran 4 cells past its last glyph.
        let line = |y: f32, overshoot: f32| TextLine {
            start: [96.0, y],
            end: [104.0 + 290.0 + overshoot, y],
            height: 12.0,
            pitch: 10.0,
            irregularity: 0.05,
            core: [[100.0, y], [390.0, y]],
        };
        let lines = [line(50.0, 40.0), line(68.0, 0.0), line(86.0, 0.0)];
        let blocks = stack(&lines, 0.0, &cfg());
        let td1 = blocks.iter().find(|b| b.counts == [30, 30, 30]).expect("a TD1 block");
        assert!((td1.lines[0].chars() - 30.0).abs() < 1.0, "{}", td1.lines[0].chars());
        assert_eq!(td1.lines[1], lines[1]);
        // Without the cut the first line would be 34 characters long, too long for TD1.
        assert!(lines[0].chars() > 30.0 * (1.0 + cfg().count_tolerance));

        // Two cells too far would still pass for 30 characters, but the glyph chain fits
        // better, and strips cut from the longer ends misplace the cells.
        let lines = [line(50.0, 20.0), line(68.0, 0.0), line(86.0, 0.0)];
        assert!(lines[0].chars() < 30.0 * (1.0 + cfg().count_tolerance));
        let blocks = stack(&lines, 0.0, &cfg());
        let td1 = blocks.iter().find(|b| b.counts == [30, 30, 30]).expect("a TD1 block");
        assert!((td1.lines[0].chars() - 30.0).abs() < 0.5, "{}", td1.lines[0].chars());
    }
}
