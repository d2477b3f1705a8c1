//! A whole-line recogniser: a CTC text-line model (PP-OCRv6's, see `../shared/models/README.md`)
//! reads each rectified MRZ line, and its per-frame probabilities are decoded to exactly the
//! line's character count, over the MRZ alphabet only.
//!
//! It is the alternative to the cell network (`recognise.rs`): it does not depend on `segment`
//! placing every cell right, and it was trained on printed text of every kind, not on this
//! project's OCR-B renderings; it is also several times slower (one 48-pixel-high run per line).
//!
//! The decoding is pure: [`decode_fixed`] is a Viterbi search over the CTC paths that emit
//! exactly `n` characters; each position's alternatives are then the best log-probability of
//! every character over the frames that position was aligned to, so the `mrz` crate's check
//! digit repair sees the recogniser's rivals, as it does with the cell network's.

use std::sync::Arc;

use super::recognise::ALPHABET;
use super::rectify::{STRIP_H, STRIP_SPAN, Strip};
use crate::model::{Model, ModelError, Tensor};

/// Input height the model takes.
const INPUT_H: usize = 48;
/// Width reduction from input pixels to output frames.
const STRIDE: usize = 8;
/// Cap heights of strip kept above and below the cap band's centre: the crop is 1.6 cap heights
/// high, so capitals fill about 60 % of the input, as in the model's training crops.
const HALF_CROP: f32 = 0.8;
/// Pitches of paper kept before the first cell's centre and after the last's.
const SIDE_PITCHES: f32 = 1.0;
/// Smallest probability taken into a logarithm.
const FLOOR: f32 = 1e-12;

/// The whole-line recogniser: a model taking `x` `[1, 3, 48, W]` (RGB scaled to -1..1) and giving
/// `[1, W / 8, classes]` probabilities, with the class list (after the CTC blank at 0) in the
/// model file's `character` metadata.
#[derive(Clone)]
pub struct LineNet {
    model: Arc<dyn Model>,
    /// Output index of each `ALPHABET` character.
    columns: [usize; 37],
    /// Classes the output has.
    classes: usize,
}

impl std::fmt::Debug for LineNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineNet").field("model", &self.model.name()).finish()
    }
}

impl LineNet {
    /// Wraps a loaded model; fails when its `character` metadata lacks an MRZ character.
    pub fn new(model: Arc<dyn Model>) -> Result<LineNet, ModelError> {
        let missing = |what: String| ModelError::Inference { model: model.name().to_owned(), reason: what };
        let list = model.metadata("character").ok_or_else(|| missing("no `character` metadata".into()))?;
        let chars: Vec<&str> = list.split('\n').collect();
        let mut columns = [0usize; 37];
        for (col, &c) in columns.iter_mut().zip(ALPHABET) {
            let want = char::from(c).to_string();
            let at = chars
                .iter()
                .position(|s| *s == want)
                .ok_or_else(|| missing(format!("its character list lacks {want:?}")))?;
            // Output 0 is the CTC blank; PaddleOCR appends a space class after the list.
            *col = at + 1;
        }
        Ok(LineNet { columns, classes: chars.len() + 2, model })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// Log-probabilities of every character, in `ALPHABET` order, at each of the `centres.len()`
    /// positions of a line strip whose cells `segment` centred at `centres` (strip pixels) on a
    /// cap band centred on row `band_centre`. `Ok(None)` when the model's output is too short to
    /// hold that many characters.
    pub(crate) fn read(
        &self,
        strip: &Strip,
        centres: &[f32],
        band_centre: f32,
    ) -> Result<Option<Vec<[f32; 37]>>, ModelError> {
        let n = centres.len();
        let Some((input, width)) = line_image(strip, centres, band_centre) else { return Ok(None) };
        let tensor = Tensor::new(vec![1, 3, INPUT_H, width], input).ok_or_else(|| ModelError::OutputShape {
            name: "x".into(),
            shape: vec![1, 3, INPUT_H, width],
            expected: "as many values as the shape holds".into(),
        })?;
        let outputs = self.model.run(&[tensor])?;
        let Some((_, probs)) = outputs.0.first() else {
            return Err(ModelError::MissingOutput { name: "probabilities".into() });
        };
        if probs.shape.len() != 3 || probs.shape[0] != 1 || probs.shape[2] != self.classes {
            return Err(ModelError::OutputShape {
                name: "probabilities".into(),
                shape: probs.shape.clone(),
                expected: format!("[1, T, {}]", self.classes),
            });
        }
        // Constrained to the blank and the MRZ alphabet, renormalised.
        let frames: Vec<[f32; 38]> = probs
            .data
            .chunks_exact(self.classes)
            .map(|row| {
                let mut p = [0f32; 38];
                p[0] = row[0].max(0.0);
                for (slot, &col) in p[1..].iter_mut().zip(&self.columns) {
                    *slot = row[col].max(0.0);
                }
                let sum = p.iter().sum::<f32>().max(FLOOR);
                p.map(|v| (v / sum).max(FLOOR).ln())
            })
            .collect();
        Ok(decode_fixed(&frames, n).map(|spans| {
            spans
                .iter()
                .map(|&(t0, t1)| {
                    let mut scores = [f32::NEG_INFINITY; 37];
                    for f in &frames[t0..=t1] {
                        for (s, &v) in scores.iter_mut().zip(&f[1..]) {
                            *s = s.max(v);
                        }
                    }
                    scores
                })
                .collect()
        }))
    }
}

/// The model's input for one strip: the text's box (the cells' extent plus [`SIDE_PITCHES`],
/// [`HALF_CROP`] cap heights either side of the band) resampled to 48 rows at its own aspect
/// ratio, the width rounded to whole output frames; grey becomes three equal channels in -1..1.
/// `None` when there are no cells.
fn line_image(strip: &Strip, centres: &[f32], band_centre: f32) -> Option<(Vec<f32>, usize)> {
    let (first, last) = (*centres.first()?, *centres.last()?);
    let pitch = if centres.len() > 1 { (last - first) / (centres.len() - 1) as f32 } else { 16.0 };
    let cap = STRIP_H as f32 / STRIP_SPAN;
    let (x0, x1) = (first - SIDE_PITCHES * pitch, last + SIDE_PITCHES * pitch);
    let (y0, y1) = (band_centre - HALF_CROP * cap, band_centre + HALF_CROP * cap);
    let scale = INPUT_H as f32 / (y1 - y0);
    let width = (((x1 - x0) * scale / STRIDE as f32).round() as usize).max(1) * STRIDE;
    let (sx, sy) = ((x1 - x0) / width as f32, (y1 - y0) / INPUT_H as f32);
    let mut plane = vec![0f32; INPUT_H * width];
    for y in 0..INPUT_H {
        for x in 0..width {
            let grey = sample_paper(strip, x0 + (x as f32 + 0.5) * sx, y0 + (y as f32 + 0.5) * sy);
            plane[y * width + x] = grey / 127.5 - 1.0;
        }
    }
    let mut input = Vec::with_capacity(3 * plane.len());
    for _ in 0..3 {
        input.extend_from_slice(&plane);
    }
    Some((input, width))
}

/// Bilinear grey value of the strip at a point (pixel centres at `i + 0.5`); outside the strip,
/// the nearest edge pixel, so the crop's margins look like the paper beside them.
fn sample_paper(strip: &Strip, x: f32, y: f32) -> f32 {
    let (w, h) = (strip.w, strip.px.len() / strip.w.max(1));
    if w == 0 || h == 0 {
        return 255.0;
    }
    let fx = (x - 0.5).clamp(0.0, (w - 1) as f32);
    let fy = (y - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let at = |xx: usize, yy: usize| strip.px[yy * w + xx];
    let top = at(x0, y0) * (1.0 - ax) + at(x1, y0) * ax;
    let bottom = at(x0, y1) * (1.0 - ax) + at(x1, y1) * ax;
    top * (1.0 - ay) + bottom * ay
}

/// Where each of exactly `n` characters lies in a CTC output: the most probable path through
/// `frames` (per frame, log-probabilities of the blank at 0 and the 37 MRZ characters after it)
/// that emits `n` characters, as each character's first and last frame. `None` when no path
/// emits `n` (too few frames; two equal neighbours need a blank between them).
pub(crate) fn decode_fixed(frames: &[[f32; 38]], n: usize) -> Option<Vec<(usize, usize)>> {
    const NONE: f32 = f32::NEG_INFINITY;
    let t_len = frames.len();
    if n == 0 || t_len < n {
        return None;
    }
    // States per frame: blank after k characters (k in 0..=n), and character k (1..=n) showing
    // symbol c (1..=37). Back-pointers say where each state came from.
    #[derive(Clone, Copy, PartialEq)]
    enum From {
        Start,
        Blank,
        /// The same character the frame before.
        Stay,
        /// The previous character, showing the given symbol.
        Label(u8),
    }
    let states = 38 * (n + 1);
    let idx = |k: usize, c: usize| k * 38 + c; // c == 0: blank after k; else character k = c.
    let mut score = vec![NONE; states];
    let mut back = vec![From::Start; t_len * states];
    score[idx(0, 0)] = frames[0][0];
    for c in 1..38 {
        score[idx(1, c)] = frames[0][c];
    }
    let mut next = vec![NONE; states];
    for t in 1..t_len {
        let f = &frames[t];
        let b = &mut back[t * states..(t + 1) * states];
        for k in 0..=n {
            // The best and second-best symbol of character k the frame before.
            let (mut best, mut second) = ((NONE, 0usize), (NONE, 0usize));
            if k >= 1 {
                for c in 1..38 {
                    let s = score[idx(k, c)];
                    if s > best.0 {
                        second = best;
                        best = (s, c);
                    } else if s > second.0 {
                        second = (s, c);
                    }
                }
            }
            // Blank after k: stay blank, or end character k.
            let (stay, from) = if score[idx(k, 0)] >= best.0 {
                (score[idx(k, 0)], From::Blank)
            } else {
                (best.0, From::Label(best.1 as u8))
            };
            next[idx(k, 0)] = stay + f[0];
            b[idx(k, 0)] = from;
            // Character k + 1 showing c: stay, start after a blank, or start right after a
            // different character k.
            if k < n {
                for c in 1..38 {
                    let mut cand = (score[idx(k + 1, c)], From::Stay);
                    if score[idx(k, 0)] > cand.0 {
                        cand = (score[idx(k, 0)], From::Blank);
                    }
                    if k >= 1 {
                        let other = if best.1 != c { best } else { second };
                        if other.0 > cand.0 {
                            cand = (other.0, From::Label(other.1 as u8));
                        }
                    }
                    next[idx(k + 1, c)] = cand.0 + f[c];
                    b[idx(k + 1, c)] = cand.1;
                }
            }
        }
        std::mem::swap(&mut score, &mut next);
    }
    // End on the blank after n or on character n.
    let mut end = (score[idx(n, 0)], 0usize);
    for c in 1..38 {
        if score[idx(n, c)] > end.0 {
            end = (score[idx(n, c)], c);
        }
    }
    if !end.0.is_finite() {
        return None;
    }
    let mut spans = vec![(usize::MAX, 0usize); n];
    let (mut k, mut c) = (n, end.1);
    for t in (0..t_len).rev() {
        if c != 0 {
            // Walking backwards, the first frame seen is the character's last.
            let span = &mut spans[k - 1];
            if span.0 == usize::MAX {
                span.1 = t;
            }
            span.0 = t;
        }
        // Step to the state of frame t - 1.
        match back[t * states + idx(k, c)] {
            From::Start => break,
            From::Stay => {}
            From::Blank => {
                if c != 0 {
                    k -= 1;
                }
                c = 0;
            }
            From::Label(p) => {
                if c != 0 {
                    k -= 1;
                }
                c = usize::from(p);
            }
        }
    }
    spans.iter().all(|s| s.0 != usize::MAX).then_some(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames where each listed symbol (0 = blank) is near certain.
    fn frames(symbols: &[usize]) -> Vec<[f32; 38]> {
        symbols
            .iter()
            .map(|&s| {
                let mut f = [(0.01f32 / 37.0).ln(); 38];
                f[s] = 0.99f32.ln();
                f
            })
            .collect()
    }

    #[test]
    fn aligns_each_character_to_its_frames() {
        // "A<<" with the repeat split by a blank: A A _ < _ <
        let (a, lt) = (11, 37);
        let spans = decode_fixed(&frames(&[a, a, 0, lt, 0, lt]), 3).expect("a path exists");
        assert_eq!(spans, vec![(0, 1), (3, 3), (5, 5)]);
    }

    #[test]
    fn forces_the_count_when_the_model_saw_one_character_fewer() {
        // The model merged two different characters' frames into one run: "AB" seen as A A A,
        // decoded to 2 characters, splits the run rather than inventing a blank.
        let spans = decode_fixed(&frames(&[11, 11, 11]), 2).expect("a path exists");
        assert_eq!(spans.len(), 2);
        assert!(spans[0].1 < spans[1].0, "{spans:?}");
    }

    #[test]
    fn refuses_impossible_counts() {
        assert_eq!(decode_fixed(&frames(&[11, 12]), 3), None);
        assert_eq!(decode_fixed(&frames(&[]), 1), None);
        assert_eq!(decode_fixed(&frames(&[11]), 0), None);
    }
}
