//! Recognise: a normalised character cell in, the MRZ characters it may show with scores out.
//!
//! The classifier is template correlation: every MRZ character (`0`-`9`, `A`-`Z`, `<`) is
//! rendered from the caller's OCR-B font at the cell geometry, at several blur levels and shifted
//! by up to one pixel each way. A line's blur is measured first (the level whose templates fit
//! its cells best, `Templates::line_blur`), and a cell's score for a character is its best
//! normalised correlation with that character's templates at that level: blur-matched, so a
//! crisp line is not read against blurred templates that blunt the difference between 0 and O,
//! and a defocused or small print is not read against crisp ones. Correlation ignores contrast
//! and offset, so faint, dark, glared or shaded print score alike.
//! Choosing between the alternatives by field class and check digits is `mrz`'s job.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use std::sync::Arc;

use super::cell::{CAP, NET_W, PAD, TH, TW};
use crate::model::{Model, ModelError, Tensor};

/// The MRZ alphabet, in the order templates are stored.
pub(crate) const ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";
/// Gaussian blurs (template pixels) the templates are rendered at: from crisp print to a
/// defocus that leaves only blobs (on seeds 11 and 23, levels up to 2.4 and then 3.6 each
/// lowered the character error rate).
const BLURS: [f32; 7] = [0.6, 1.0, 1.4, 1.9, 2.4, 3.0, 3.6];
/// The blur levels (indices into `BLURS`) `centred_scores` looks at: a light, a middle and a
/// heavy one tell where glyphs sit in sharp and blurred print alike, at under half the cost of
/// all (the cell alignment calls it at every window position).
const CENTRED_BLURS: [usize; 3] = [0, 2, 5];
/// Width of a glyph relative to its nominal proportions: ICAO prints OCR-B at a 2.54 mm pitch
/// with caps about 2.4 mm high, so a cell one pitch wide shows the glyph about 5 % narrower
/// than the font draws it at this cap height.
const X_SQUEEZE: f32 = 0.95;
const SIZE: usize = TW * TH;

/// Why templates could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The bytes are not a TrueType or OpenType font.
    #[error("the OCR-B font bytes are not a TrueType/OpenType font")]
    BadFont,
    /// The font has no outline for an MRZ character.
    #[error("the font has no glyph for {0:?}")]
    MissingGlyph(char),
}

/// Rendered, normalised templates for every MRZ character.
#[derive(Clone, Debug)]
pub(crate) struct Templates {
    /// `ALPHABET.len() * variants` templates of `SIZE` values, zero mean and unit norm, grouped
    /// by character.
    data: Vec<f32>,
    variants: usize,
    /// The centred templates at the `CENTRED_BLURS` levels, character by character, copied
    /// out of `data` side by side for `centred_scores`.
    centred: Vec<f32>,
}

fn blur(img: &[f32], sigma: f32) -> Vec<f32> {
    let r = (2.5 * sigma).ceil() as i64;
    let k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let ks: f32 = k.iter().sum();
    let pass = |src: &[f32], dx: i64, dy: i64| {
        let mut out = vec![0f32; SIZE];
        for y in 0..TH as i64 {
            for x in 0..TW as i64 {
                let mut acc = 0.0;
                for (t, kv) in k.iter().enumerate() {
                    let o = t as i64 - r;
                    let (xx, yy) = (x + o * dx, y + o * dy);
                    if (0..TW as i64).contains(&xx) && (0..TH as i64).contains(&yy) {
                        acc += kv * src[(yy * TW as i64 + xx) as usize];
                    }
                }
                out[(y * TW as i64 + x) as usize] = acc / ks;
            }
        }
        out
    };
    pass(&pass(img, 1, 0), 0, 1)
}

/// Scales `v` to zero mean and unit norm in place; false when it is flat.
pub(crate) fn normalise(v: &mut [f32]) -> bool {
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let mut norm = 0.0;
    for x in v.iter_mut() {
        *x -= mean;
        norm += *x * *x;
    }
    if norm < 1e-6 {
        return false;
    }
    let inv = norm.sqrt().recip();
    v.iter_mut().for_each(|x| *x *= inv);
    true
}

fn shifted(img: &[f32], dx: i64, dy: i64) -> Vec<f32> {
    let mut out = vec![0f32; SIZE];
    for y in 0..TH as i64 {
        for x in 0..TW as i64 {
            let (sx, sy) = (x - dx, y - dy);
            if (0..TW as i64).contains(&sx) && (0..TH as i64).contains(&sy) {
                out[(y * TW as i64 + x) as usize] = img[(sy * TW as i64 + sx) as usize];
            }
        }
    }
    out
}

impl Templates {
    /// Renders the templates from OCR-B font bytes (TrueType or OpenType).
    pub fn from_font(font: &[u8]) -> Result<Templates, TemplateError> {
        let font = FontRef::try_from_slice(font).map_err(|_| TemplateError::BadFont)?;
        let h_id = font.glyph_id('H');
        let cap_units = font
            .outline(h_id)
            .map(|o| (o.bounds.max.y - o.bounds.min.y).abs())
            .ok_or(TemplateError::MissingGlyph('H'))?;
        let sy = CAP as f32 * font.height_unscaled() / cap_units.max(1.0);
        let scale = PxScale { x: sy * X_SQUEEZE, y: sy };
        let scaled = font.as_scaled(scale);
        let baseline = (PAD + CAP) as f32;
        let mut data = Vec::new();
        let mut variants = 0;
        for &c in ALPHABET {
            let id = font.glyph_id(char::from(c));
            let x = (TW as f32 - scaled.h_advance(id)) / 2.0;
            let glyph = id.with_scale_and_position(scale, point(x, baseline));
            let outline = font.outline_glyph(glyph).ok_or(TemplateError::MissingGlyph(char::from(c)))?;
            let bounds = outline.px_bounds();
            let mut ink = vec![0f32; SIZE];
            outline.draw(|gx, gy, cov| {
                let (xx, yy) = (bounds.min.x as i64 + i64::from(gx), bounds.min.y as i64 + i64::from(gy));
                if (0..TW as i64).contains(&xx) && (0..TH as i64).contains(&yy) {
                    ink[(yy * TW as i64 + xx) as usize] += cov;
                }
            });
            variants = 0;
            for sigma in BLURS {
                let blurred = blur(&ink, sigma);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let mut t = shifted(&blurred, dx, dy);
                        normalise(&mut t);
                        data.extend_from_slice(&t);
                        variants += 1;
                    }
                }
            }
        }
        let centred = (0..ALPHABET.len())
            .flat_map(|k| CENTRED_BLURS.map(|b| (k * variants + b * 9 + 4) * SIZE))
            .flat_map(|start| data[start..start + SIZE].iter().copied())
            .collect();
        Ok(Templates { data, variants, centred })
    }

    /// For each of `out.len()` already normalised cells (zero mean, unit norm, `SIZE` values
    /// each) laid end to end in `cells`, the best correlation with any character's centred
    /// templates, one per blur level (0 at least): a cheap "is a glyph centred here" score for
    /// aligning cells along a line.
    pub fn centred_scores(&self, cells: &[f32], out: &mut [f32]) {
        debug_assert_eq!(cells.len(), out.len() * SIZE);
        for (cell, best) in cells.chunks_exact(SIZE).zip(out.iter_mut()) {
            *best = self.centred.chunks_exact(SIZE).map(|t| dot32(t, cell)).fold(0.0, f32::max);
        }
    }

    /// The blur level (index into the template blurs) whose centred templates fit the line's
    /// cells best, summed over the cells: the print's blur, measured in template units, so a
    /// line is read against templates as blurred as it is (not whichever blur happens to favour
    /// a wrong character in one cell).
    pub fn line_blur(&self, cells: &[Vec<f32>]) -> usize {
        let mut totals = [0f32; BLURS.len()];
        let mut v = vec![0f32; SIZE];
        for cell in cells {
            v.clear();
            v.extend(cell.iter().copied().take(SIZE));
            v.resize(SIZE, 0.0);
            if !normalise(&mut v) {
                continue;
            }
            for (b, total) in totals.iter_mut().enumerate() {
                let mut best = 0f32;
                for k in 0..ALPHABET.len() {
                    let start = (k * self.variants + b * 9 + 4) * SIZE;
                    best = best.max(dot(&self.data[start..start + SIZE], &v));
                }
                *total += best;
            }
        }
        // The lightest level wins ties (a blank line).
        (1..BLURS.len()).fold(0, |best, b| if totals[b] > totals[best] { b } else { best })
    }

    /// Every character's best correlation with the cell (`-1..=1`, in `ALPHABET` order) over
    /// the templates of every blur level; all zero for a blank cell.
    #[cfg(test)]
    pub fn correlate(&self, cell: &[f32]) -> [f32; 37] {
        self.correlate_at(cell, 0, BLURS.len() - 1)
    }

    /// Every character's best correlation with the cell (`-1..=1`, in `ALPHABET` order) over
    /// the templates of blur levels `lo..=hi`; all zero for a blank cell.
    pub fn correlate_at(&self, cell: &[f32], lo: usize, hi: usize) -> [f32; 37] {
        let mut v = cell.to_vec();
        v.resize(SIZE, 0.0);
        let mut out = [0f32; 37];
        let hi = hi.min(BLURS.len() - 1);
        if !normalise(&mut v) || lo > hi {
            return out;
        }
        for (k, best) in out.iter_mut().enumerate() {
            let base = (k * self.variants + lo * 9) * SIZE;
            *best = self.data[base..base + (hi + 1 - lo) * 9 * SIZE]
                .chunks_exact(SIZE)
                .map(|t| dot(t, &v))
                .fold(f32::NEG_INFINITY, f32::max);
        }
        out
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise the sum.
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a.chunks_exact(8).remainder().iter().zip(b.chunks_exact(8).remainder()).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// `dot` with 32 running sums instead of 8: each sum waits on its previous addition, so with
/// eight vector registers of sums in flight the multiplications no longer wait on the adds
/// (the window scores of `centred_scores` are most of a read's arithmetic). The sums are
/// grouped differently from `dot`'s, so the last bits may differ. `SIZE` is a multiple of 32.
#[inline]
fn dot32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    for (x, y) in a.chunks_exact(32).zip(b.chunks_exact(32)) {
        for i in 0..32 {
            acc[i] += x[i] * y[i];
        }
    }
    // Folded in halves, lane by lane (vector additions), rather than one lane after another.
    for n in [16, 8, 4, 2, 1] {
        for i in 0..n {
            acc[i] += acc[i + n];
        }
    }
    acc[0]
}

/// The `k` best characters for a cell as `(byte, score)`, best first; the score is a log-odds
/// style value (correlation times `scale`), so differences add up across positions the way the
/// `mrz` crate's costs expect.
///
/// Characters scoring more than `margin` below the best are left out: the `mrz` crate's check
/// digit repair may take any listed alternative, however unlikely, so listing only plausible
/// ones keeps it from "correcting" a clearly printed character to satisfy a check digit that is
/// really wrong on the document.
pub(crate) fn alternatives(scores: &[f32; 37], k: usize, scale: f32, margin: f32) -> Vec<(u8, f32)> {
    let mut order: Vec<usize> = (0..37).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let best = scores[order[0]] * scale;
    order
        .into_iter()
        .take(k.max(1))
        .map(|i| (ALPHABET[i], scores[i] * scale))
        .enumerate()
        .filter(|&(rank, (_, s))| rank == 0 || s >= best - margin)
        .map(|(_, a)| a)
        .collect()
}

/// The trained character recogniser: a model taking `cells` `[N, 1, NET_CELL_HEIGHT,
/// NET_CELL_WIDTH]` (ink darkness 0..1, as [`super::read_mrz_with_cells`] gives them) and giving
/// `logits` `[N, 37]` in `0-9A-Z<` order. Trained by `models/mrz-ocrb/train.py`.
#[derive(Clone)]
pub struct CellNet {
    model: Arc<dyn Model>,
}

impl std::fmt::Debug for CellNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellNet").field("model", &self.model.name()).finish()
    }
}

impl CellNet {
    /// Wraps a loaded model; its shapes are checked on every run.
    pub fn new(model: Arc<dyn Model>) -> CellNet {
        CellNet { model }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// Log-probabilities of every character, in `ALPHABET` order, for each cell.
    pub(crate) fn classify(&self, cells: &[&[f32]]) -> Result<Vec<[f32; 37]>, ModelError> {
        if cells.is_empty() {
            return Ok(Vec::new());
        }
        let size = NET_W * TH;
        let mut data = Vec::with_capacity(cells.len() * size);
        for cell in cells {
            // Cells come from `segment`, always `size` values; pad or cut defensively anyway.
            data.extend((0..size).map(|i| cell.get(i).copied().unwrap_or(0.0)));
        }
        let shape = vec![cells.len(), 1, TH, NET_W];
        let input = Tensor::new(shape.clone(), data).ok_or_else(|| ModelError::OutputShape {
            name: "cells".into(),
            shape,
            expected: "as many values as the shape holds".into(),
        })?;
        let outputs = self.model.run(&[input])?;
        let logits = outputs.get("logits")?;
        if logits.shape != [cells.len(), ALPHABET.len()] {
            return Err(ModelError::OutputShape {
                name: "logits".into(),
                shape: logits.shape.clone(),
                expected: format!("[{}, {}]", cells.len(), ALPHABET.len()),
            });
        }
        Ok(logits
            .data
            .chunks_exact(ALPHABET.len())
            .map(|row| {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
                let mut out = [0f32; 37];
                for (o, v) in out.iter_mut().zip(row) {
                    *o = if v.is_finite() { v - log_sum } else { f32::NEG_INFINITY };
                }
                out
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(templates: &Templates, c: u8, expect: u8) {
        // The sharp, centred template of `c` as a cell (undoing its normalisation is not needed:
        // correlation ignores scale and offset).
        let k = ALPHABET.iter().position(|&a| a == c).expect("an MRZ character");
        let start = (k * templates.variants + 4) * SIZE;
        let cell = templates.data[start..start + SIZE].to_vec();
        let alts = alternatives(&templates.correlate(&cell), 3, 1.0, f32::INFINITY);
        assert_eq!(alts[0].0, expect, "{} read as {:?}", char::from(c), alts);
    }

    #[test]
    fn every_template_reads_as_itself_and_blank_reads_as_nothing() {
        let templates =
            Templates::from_font(&crate::mrz::service_defaults::ocr_b_font()).expect("Debian's OCR-B font parses");
        for &c in ALPHABET {
            check(&templates, c, c);
        }
        assert_eq!(templates.correlate(&[0.5; SIZE]), [0.0; 37]);
        assert_eq!(templates.correlate(&[]), [0.0; 37]);
        assert_eq!(Templates::from_font(b"not a font").unwrap_err(), TemplateError::BadFont);
    }

    #[test]
    fn line_blur_follows_the_print_and_reads_at_that_level() {
        let templates =
            Templates::from_font(&crate::mrz::service_defaults::ocr_b_font()).expect("Debian's OCR-B font parses");
        // The centred templates of a line's characters at one blur level, as cells.
        let line = |b: usize| -> Vec<Vec<f32>> {
            b"P<UTO0D8"
                .iter()
                .map(|&c| {
                    let k = ALPHABET.iter().position(|&a| a == c).expect("an MRZ character");
                    let start = (k * templates.variants + b * 9 + 4) * SIZE;
                    templates.data[start..start + SIZE].to_vec()
                })
                .collect()
        };
        let heavy = BLURS.len() - 1;
        assert_eq!(templates.line_blur(&line(0)), 0);
        assert_eq!(templates.line_blur(&line(heavy)), heavy);
        for (cell, &c) in line(heavy).iter().zip(b"P<UTO0D8") {
            let alts = alternatives(&templates.correlate_at(cell, heavy, heavy), 3, 1.0, f32::INFINITY);
            assert_eq!(alts[0].0, c);
        }
        assert_eq!(templates.line_blur(&[]), 0);
        assert_eq!(templates.correlate_at(&[0.5; SIZE], 0, heavy), [0.0; 37]);
        assert_eq!(templates.correlate_at(&line(0)[0], 3, 1), [0.0; 37]);
    }
}
