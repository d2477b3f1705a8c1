//! Consensus: the reads of several frames of one document in, one reading out, and whether it
//! is settled enough to stop asking for frames.
//!
//! Per-character evidence adds up across frames as log-probabilities (a softmax over each
//! frame's alternatives), so a character misread in one frame is outvoted by the others, and
//! the sum goes through [`mrz::parse_alternatives`] like a single frame's alternatives. Frames
//! are grouped by their line lengths: a frame whose lengths were misread (a TD3 line cut to 36
//! characters) starts a group of its own instead of poisoning the others or locking them out,
//! and the reading comes from the group with the most valid frames. The consensus keeps no
//! pixels.

use super::MrzFrameRead;
use super::recognise::ALPHABET;

/// Evidence from the frames of one document.
#[derive(Clone)]
pub struct MrzConsensus {
    today: mrz::Date,
    confirmations: usize,
    groups: Vec<Group>,
    frames: usize,
}

/// The frames whose lines had the same lengths.
#[derive(Clone)]
struct Group {
    /// Per line, per position, summed log-probability of each `ALPHABET` character.
    evidence: Vec<Vec<[f32; 37]>>,
    /// Frames added to the group.
    frames: usize,
    /// Frames whose single read was trustworthy.
    valid: usize,
    /// Valid single-frame readings that agree with the current best.
    agreeing: usize,
    last_key: Option<String>,
}

impl std::fmt::Debug for MrzConsensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MrzConsensus({} frames, {} groups)", self.frames, self.groups.len())
    }
}

/// Log-probability given to a character a frame did not list among its alternatives.
const UNLISTED: f32 = -8.0;
/// Alternatives further than this below the summed best are not offered to the parser: frames
/// that agree make the gaps grow, so only characters the frames disagree on can be corrected
/// (the single-frame margin, `NET_PLAUSIBLE_MARGIN`, for the same reason).
const PLAUSIBLE_MARGIN: f32 = 4.0;

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
    /// An empty consensus. It settles once its reading is trustworthy (every check passed, no
    /// doubtful or malformed field) and `confirmations` frames (at least 1) each read
    /// trustworthily to the same fields.
    pub fn new(today: mrz::Date, confirmations: usize) -> MrzConsensus {
        MrzConsensus { today, confirmations: confirmations.max(1), groups: Vec::new(), frames: 0 }
    }

    /// Frames added so far (frames with no lines excluded).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Adds a frame's read; frames with no lines are ignored.
    pub fn add(&mut self, read: &MrzFrameRead) {
        if read.lines.is_empty() {
            return;
        }
        let lengths: Vec<usize> = read.lines.iter().map(|l| l.alternatives.len()).collect();
        let index = match self.groups.iter().position(|g| g.evidence.iter().map(Vec::len).eq(lengths.iter().copied())) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    evidence: lengths.iter().map(|&n| vec![[0f32; 37]; n]).collect(),
                    frames: 0,
                    valid: 0,
                    agreeing: 0,
                    last_key: None,
                });
                self.groups.len() - 1
            }
        };
        let today = self.today;
        let group = &mut self.groups[index];
        for (line, ev) in read.lines.iter().zip(group.evidence.iter_mut()) {
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
        group.frames += 1;
        if let Some(Ok(r)) = &read.parsed
            && r.is_trustworthy()
        {
            group.valid += 1;
            let k = key(r);
            if group.last_key.as_deref() == Some(k.as_str()) {
                group.agreeing += 1;
            } else {
                let best = group.best(today);
                let same = best.as_ref().is_some_and(|b| b.is_trustworthy() && key(b) == k);
                group.agreeing = if same { group.agreeing + 1 } else { 1 };
                group.last_key = Some(k);
            }
        }
    }

    /// The group the reading comes from: the most valid frames, then the most frames.
    fn leading(&self) -> Option<&Group> {
        self.groups.iter().rev().max_by_key(|g| (g.valid, g.frames))
    }

    /// The reading from all evidence so far, if any frame had lines that parse.
    pub fn best(&self) -> Option<mrz::MrzRead> {
        self.leading()?.best(self.today)
    }

    /// Whether the reading is valid and confirmed by enough frames to stop capturing.
    pub fn is_settled(&self) -> bool {
        self.leading().is_some_and(|g| {
            g.agreeing >= self.confirmations
                && g.best(self.today)
                    .is_some_and(|b| b.is_trustworthy() && g.last_key.as_deref() == Some(key(&b).as_str()))
        })
    }
}

impl Group {
    fn best(&self, today: mrz::Date) -> Option<mrz::MrzRead> {
        let lines: Vec<Vec<Vec<(u8, f32)>>> = self
            .evidence
            .iter()
            .map(|line| line.iter().map(|ev| super::recognise::alternatives(ev, 6, 1.0, PLAUSIBLE_MARGIN)).collect())
            .collect();
        mrz::parse_alternatives(&lines, today).ok()
    }
}
