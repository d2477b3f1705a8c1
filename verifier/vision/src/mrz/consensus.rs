//! Consensus: the reads of several frames of one document in, one reading out, and whether it
//! is settled enough to stop asking for frames.
//!
//! Per-character evidence adds up across frames as log-probabilities (a softmax over each
//! frame's alternatives), so a character misread in one frame is outvoted by the others, and
//! the sum goes through [`mrz::parse_alternatives`] like a single frame's alternatives. Frames
//! whose line lengths differ from the first read's are another document (or a misread layout)
//! and are ignored. The consensus keeps no pixels.

use super::MrzFrameRead;
use super::recognise::ALPHABET;

/// Evidence from the frames of one document.
#[derive(Clone)]
pub struct MrzConsensus {
    today: mrz::Date,
    confirmations: usize,
    /// Per line, per position, summed log-probability of each `ALPHABET` character.
    evidence: Vec<Vec<[f32; 37]>>,
    frames: usize,
    /// Valid single-frame readings that agree with the current best.
    agreeing: usize,
    last_key: Option<String>,
}

impl std::fmt::Debug for MrzConsensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MrzConsensus({} frames, {} agreeing)", self.frames, self.agreeing)
    }
}

/// Log-probability given to a character a frame did not list among its alternatives.
const UNLISTED: f32 = -8.0;

/// What identifies a reading (kept in memory only; it holds document data).
fn key(read: &mrz::MrzRead) -> String {
    format!(
        "{:?}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}",
        read.format,
        read.document_code,
        read.issuing_state,
        read.document_number.expose(),
        read.surname.expose(),
        read.given_names.expose(),
        read.birth_date.as_ref().map(|d| *d.expose()),
        read.expiry.map(|e| e.date),
        read.sex,
        read.optional_data.expose(),
    )
}

impl MrzConsensus {
    /// An empty consensus. It settles once its reading is valid and `confirmations` frames
    /// (at least 1) each read validly to the same fields.
    pub fn new(today: mrz::Date, confirmations: usize) -> MrzConsensus {
        MrzConsensus {
            today,
            confirmations: confirmations.max(1),
            evidence: Vec::new(),
            frames: 0,
            agreeing: 0,
            last_key: None,
        }
    }

    /// Frames added so far (ignored ones excluded).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Adds a frame's read; frames with no lines, or lines of other lengths than the first
    /// frame's, are ignored.
    pub fn add(&mut self, read: &MrzFrameRead) {
        if read.lines.is_empty() {
            return;
        }
        let lengths: Vec<usize> = read.lines.iter().map(|l| l.alternatives.len()).collect();
        if self.evidence.is_empty() {
            self.evidence = lengths.iter().map(|&n| vec![[0f32; 37]; n]).collect();
        } else if self.evidence.iter().map(Vec::len).ne(lengths.iter().copied()) {
            return;
        }
        for (line, ev) in read.lines.iter().zip(self.evidence.iter_mut()) {
            for (alts, slot) in line.alternatives.iter().zip(ev.iter_mut()) {
                let top = alts.iter().map(|a| a.1).fold(f32::NEG_INFINITY, f32::max);
                if !top.is_finite() {
                    continue;
                }
                let z = top + alts.iter().map(|a| (a.1 - top).exp()).sum::<f32>().ln();
                let mut add = [UNLISTED; 37];
                for &(c, s) in alts {
                    if let Some(k) = ALPHABET.iter().position(|&a| a == c) {
                        add[k] = add[k].max(s - z);
                    }
                }
                slot.iter_mut().zip(add).for_each(|(e, a)| *e += a);
            }
        }
        self.frames += 1;
        if let Some(Ok(r)) = &read.parsed
            && r.valid
        {
            let k = key(r);
            if self.last_key.as_deref() == Some(k.as_str()) {
                self.agreeing += 1;
            } else {
                let best = self.best();
                let same = best.as_ref().is_some_and(|b| b.valid && key(b) == k);
                self.agreeing = if same { self.agreeing + 1 } else { 1 };
                self.last_key = Some(k);
            }
        }
    }

    /// The reading from all evidence so far, if any frame had lines that parse.
    pub fn best(&self) -> Option<mrz::MrzRead> {
        if self.evidence.is_empty() {
            return None;
        }
        let lines: Vec<Vec<Vec<(u8, f32)>>> = self
            .evidence
            .iter()
            .map(|line| line.iter().map(|ev| super::recognise::alternatives(ev, 6, 1.0, f32::INFINITY)).collect())
            .collect();
        mrz::parse_alternatives(&lines, self.today).ok()
    }

    /// Whether the reading is valid and confirmed by enough frames to stop capturing.
    pub fn is_settled(&self) -> bool {
        self.agreeing >= self.confirmations
            && self.best().is_some_and(|b| b.valid && self.last_key.as_deref() == Some(key(&b).as_str()))
    }
}
