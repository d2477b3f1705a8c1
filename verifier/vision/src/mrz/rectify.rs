//! Rectify: a located block and the full-resolution grey frame in, one upright strip per MRZ
//! line out, sampled at a fixed size per character cell.
//!
//! A homography from the block's grid (columns in characters, rows in lines) to the frame is
//! pinned by the ends of the first and last lines, so perspective spreads the cells the way it
//! spreads the print; a single line gets an affine map. Sampling averages several taps per strip
//! pixel when the print is larger than the strip, so fine print and large print look alike.
//! Finding the exact cap band and cell positions inside a strip is `segment.rs`'s job; `refine`
//! turns what it found back into line ends for a second, better pinned rectification.

use super::gray::{Gray, Homography};
use super::locate::{Block, TextLine};

/// Strip pixels per character cell, horizontally.
pub(crate) const CELL_W: usize = 16;
/// Empty cells of margin on each side of a strip: line ends found on the ink may be off by a
/// cell or two (background print next to the zone, a faint last filler), and `segment.rs` finds
/// the text inside the strip.
pub(crate) const MARGIN: usize = 3;
/// Strip rows; the strip spans `STRIP_SPAN` cap heights centred on the line.
pub(crate) const STRIP_H: usize = 40;
pub(crate) const STRIP_SPAN: f32 = 2.2;

/// One MRZ line resampled upright: `(cells + 2 * MARGIN) * CELL_W` by `STRIP_H` grey values
/// (0 = black), with `MARGIN` empty cells on each side.
#[derive(Clone, Debug)]
pub(crate) struct Strip {
    /// Characters the format expects on this line.
    pub cells: usize,
    /// Width in pixels.
    pub w: usize,
    /// Grey values, row-major.
    pub px: Vec<f32>,
}

/// The block's grid mapped into the frame.
#[derive(Clone, Debug)]
pub(crate) struct BlockGeometry {
    /// Grid (column, line) to frame pixels.
    pub to_frame: Homography,
    /// Cap height in line units.
    pub cap: f32,
    /// Longest line length, characters.
    pub width: usize,
    /// Number of lines.
    pub lines: usize,
}

impl BlockGeometry {
    /// The block's corners in the frame: top-left, top-right, bottom-right, bottom-left, with
    /// half a cap height of margin above the first line and below the last.
    pub fn corners(&self) -> [[f32; 2]; 4] {
        let (w, top, bottom) = (self.width as f64, -f64::from(self.cap), (self.lines - 1) as f64 + f64::from(self.cap));
        [(0.0, top), (w, top), (w, bottom), (0.0, bottom)].map(|(u, v)| self.to_frame.apply(u, v))
    }
}

/// The grid of a block, or `None` when its lines do not make a proper quadrilateral.
/// `ink_margin` is where the ink starts and ends inside the first and last cells, in pitches
/// (`recognition.ink_margin`).
pub(crate) fn geometry(block: &Block, ink_margin: f32) -> Option<BlockGeometry> {
    let first = block.lines.iter().position(|_| true)?;
    // The first full-length line pins the top (the Swiss licence's 9-character line does not).
    let top = block.counts.iter().position(|&c| c >= 30).unwrap_or(first);
    let bottom = block.lines.len() - 1;
    let (a, b) = (&block.lines[top], &block.lines[bottom]);
    let (ca, cb) = (block.counts[top] as f64, block.counts[bottom] as f64);
    let m = f64::from(ink_margin);
    let p = |q: [f32; 2]| [f64::from(q[0]), f64::from(q[1])];
    let (src, dst, spacing) = if top != bottom {
        let src = [[m, top as f64], [ca - m, top as f64], [cb - m, bottom as f64], [m, bottom as f64]];
        let spacing = {
            let mid = |l: &super::locate::TextLine| [(l.start[0] + l.end[0]) / 2.0, (l.start[1] + l.end[1]) / 2.0];
            let (ma, mb) = (mid(a), mid(b));
            ((mb[0] - ma[0]).powi(2) + (mb[1] - ma[1]).powi(2)).sqrt() / (bottom - top) as f32
        };
        (src, [p(a.start), p(a.end), p(b.end), p(b.start)], spacing)
    } else {
        // One line: a virtual second line 1.7 cap heights below, parallel.
        let u = a.direction();
        let d = 1.7 * a.height;
        let shift = |q: [f32; 2]| [q[0] - u[1] * d, q[1] + u[0] * d];
        let src = [[m, 0.0], [ca - m, 0.0], [ca - m, 1.0], [m, 1.0]];
        (src, [p(a.start), p(a.end), p(shift(a.end)), p(shift(a.start))], d)
    };
    let to_frame = Homography::from_points(src, dst)?;
    let height = block.lines.iter().map(|l| l.height).sum::<f32>() / block.lines.len() as f32;
    Some(BlockGeometry {
        to_frame,
        cap: height / spacing.max(1e-3),
        width: block.counts.iter().copied().max().unwrap_or(0),
        lines: block.lines.len(),
    })
}

/// Where the text of each line really is, from its cell centres along the strip and its cap
/// band's centre row (strip pixels, as `segment.rs` found them): a block whose line ends sit on
/// the found glyphs, so a second rectification removes the shear and scale that misplaced line
/// ends gave the first. `None` when a line has fewer than two cells. `ink_margin` as for
/// [`geometry`].
pub(crate) fn refine(block: &Block, g: &BlockGeometry, found: &[(Vec<f32>, f32)], ink_margin: f32) -> Option<Block> {
    let span = STRIP_SPAN * g.cap;
    let m = ink_margin;
    let mut lines = Vec::with_capacity(block.lines.len());
    for (j, ((centres, band), old)) in found.iter().zip(&block.lines).enumerate() {
        let n = centres.len();
        if n < 2 {
            return None;
        }
        // Least squares u = a + b i through the cell centres in grid units.
        let us: Vec<f32> = centres.iter().map(|c| c / CELL_W as f32 - MARGIN as f32).collect();
        let mi = (n - 1) as f32 / 2.0;
        let mu = us.iter().sum::<f32>() / n as f32;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, u) in us.iter().enumerate() {
            sxy += (i as f32 - mi) * (u - mu);
            sxx += (i as f32 - mi).powi(2);
        }
        let b = sxy / sxx;
        let a = mu - b * mi;
        if !(0.5..2.0).contains(&b) {
            return None;
        }
        let v = j as f64 - f64::from(span) / 2.0 + f64::from(*band / STRIP_H as f32 * span);
        let at = |u: f32| g.to_frame.apply(f64::from(u), v);
        let (start, end) = (at(a + (m - 0.5) * b), at(a + (n as f32 - m - 0.5) * b));
        let len = ((end[0] - start[0]).powi(2) + (end[1] - start[1]).powi(2)).sqrt();
        lines.push(TextLine { start, end, pitch: len / (n as f32 - 2.0 * m).max(1.0), ..old.clone() });
    }
    Some(Block { lines, counts: block.counts.clone(), score: block.score })
}

/// Local scale of the map: frame pixels per grid unit along columns and along lines.
fn footprint(g: &BlockGeometry, u: f64, v: f64) -> (f32, f32) {
    let o = g.to_frame.apply(u, v);
    let du = g.to_frame.apply(u + 1.0, v);
    let dv = g.to_frame.apply(u, v + 1.0);
    let len = |q: [f32; 2]| ((q[0] - o[0]).powi(2) + (q[1] - o[1]).powi(2)).sqrt();
    (len(du), len(dv))
}

/// Samples line `line` (with `cells` characters) of the block upright from the full frame.
pub(crate) fn strip(gray: &Gray, g: &BlockGeometry, line: usize, cells: usize) -> Strip {
    let w = (cells + 2 * MARGIN) * CELL_W;
    let span = STRIP_SPAN * g.cap;
    let (pu, pv) = footprint(g, cells as f64 / 2.0, line as f64);
    // Frame pixels covered by one strip pixel, each way; average about one tap per pixel.
    let (sx, sy) = (pu / CELL_W as f32, pv * span / STRIP_H as f32);
    let (kx, ky) = ((sx.ceil() as usize).clamp(1, 4), (sy.ceil() as usize).clamp(1, 4));
    let mut px = vec![0f32; w * STRIP_H];
    let v0 = line as f64 - f64::from(span) / 2.0;
    let dv = f64::from(span) / STRIP_H as f64;
    let du = 1.0 / CELL_W as f64;
    // The homography's products with each tap's column and row, computed once per column and
    // once per row instead of at every tap; `to_frame.apply` sums them in the same order, so
    // the taps land where they did.
    let m = &g.to_frame.0;
    let by_u: Vec<[f64; 3]> = (0..w)
        .flat_map(|x| {
            (0..kx).map(move |i| {
                let u = -(MARGIN as f64) + (x as f64 + (i as f64 + 0.5) / kx as f64) * du;
                [m[0] * u, m[3] * u, m[6] * u]
            })
        })
        .collect();
    for y in 0..STRIP_H {
        let by_v: Vec<[f64; 3]> = (0..ky)
            .map(|j| {
                let v = v0 + (y as f64 + (j as f64 + 0.5) / ky as f64) * dv;
                [m[1] * v, m[4] * v, m[7] * v]
            })
            .collect();
        for (x, taps) in by_u.chunks_exact(kx).enumerate() {
            let mut acc = 0.0;
            for bv in &by_v {
                for bu in taps {
                    let q = Homography::apply_parts(m, *bu, *bv);
                    acc += gray.sample(q[0], q[1]);
                }
            }
            px[y * w + x] = acc / (kx * ky) as f32;
        }
    }
    Strip { cells, w, px }
}
