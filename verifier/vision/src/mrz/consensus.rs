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
//!
//! It settles when the fused reading is trustworthy and enough frames each read it
//! trustworthily alone, as many more as the most frames that trustworthily read anything else
//! (so one confident misread cannot settle it, whatever the order of frames). It fails for
//! good, with the fused reading's `mrz.*` reasons, when enough frames read the same fields
//! cleanly and the same check digits fail (a misprinted document: no frame will ever pass), or
//! after a configured number of frames. Each frame is answered with a [`FrameVerdict`], and the
//! final state names the frames behind it.

use super::recognise::ALPHABET;
use super::{MrzFrameRead, QualityIssue};
use crate::frame::FrameId;

/// When the consensus settles, and when it gives up; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusConfig {
    /// Frames (at least 1) that must each read trustworthily to the same fields as the fused
    /// reading before it settles.
    pub confirmations: usize,
    /// Frames (at least 1) whose own reading is clean except for failing check digits and which
    /// agree on the same fields, after which the document is judged misprinted (or damaged) and
    /// the consensus fails with the check-digit reasons instead of waiting for a frame that
    /// will never come.
    pub failing_agreements: usize,
    /// Frames with MRZ lines after which a consensus that has not settled fails.
    pub max_frames: usize,
    /// Log-probability given to a character a frame did not list among its alternatives
    /// (negative).
    pub unlisted: f32,
    /// Alternatives further than this below the summed best are not offered to the parser:
    /// frames that agree make the gaps grow, so only characters the frames disagree on can be
    /// corrected (the single-frame `recognition.network_margin`, for the same reason).
    pub plausible_margin: f32,
    /// How close a rival must score to the chosen character, in the frames' summed evidence,
    /// to leave the fused reading doubtful (see [`mrz::parse_alternatives`]).
    pub doubt_margin: f32,
}

/// What became of one frame's read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameVerdict {
    /// Its own reading was trustworthy and is the fused reading: it counts as a confirmation.
    Confirmed,
    /// Its characters were added to the evidence, but its reading could not be relied on alone;
    /// `issue` says why when the reader knew (what to ask the person to change).
    Used {
        /// The frame's quality issue, if any.
        issue: Option<QualityIssue>,
    },
    /// Added, but it disagrees with the fused reading (a trustworthy-looking misread outvoted by
    /// the other frames, or line lengths that the other frames do not share).
    Outvoted,
    /// The frame gave no MRZ lines: nothing was added.
    Unreadable(QualityIssue),
    /// The consensus had already settled or failed: the frame was not looked at.
    Ignored,
}

/// Why a consensus failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureCause {
    /// Enough frames read the same fields cleanly and the same check digits failed every time:
    /// the document itself is wrong (misprinted, altered or damaged).
    ChecksFailConsistently,
    /// The configured number of frames passed without a settled reading.
    TooManyFrames,
}

/// A settled reading and the frames behind it.
#[derive(Debug, Clone)]
pub struct SettledMrz {
    /// The fused reading (trustworthy).
    pub reading: mrz::MrzRead,
    /// The frames whose own trustworthy readings confirmed it, in the order added.
    pub confirmed_by: Vec<FrameId>,
    /// Every frame whose characters went into it, in the order added.
    pub evidence: Vec<FrameId>,
}

/// A consensus that will not settle.
#[derive(Debug, Clone)]
pub struct FailedMrz {
    /// Why.
    pub cause: FailureCause,
    /// The reasons to refuse the document that the fused reading gives (for a misprint, its
    /// `mrz.check_digit_failed` reasons with their fields); empty when nothing parsed.
    pub reasons: Vec<mrz::Reason>,
    /// The fused reading, when the frames' lines parsed at all.
    pub reading: Option<mrz::MrzRead>,
    /// For a misprint, the frames that agreed on it; otherwise every frame with lines.
    pub frames: Vec<FrameId>,
}

/// Where the consensus stands.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConsensusState {
    /// More frames are needed.
    Collecting,
    /// The reading is settled: stop capturing the MRZ.
    Settled(SettledMrz),
    /// The document will not read: stop capturing and decide with the reasons.
    Failed(FailedMrz),
}

/// Evidence from the frames of one document.
#[derive(Clone)]
pub struct MrzConsensus {
    today: mrz::Date,
    config: ConsensusConfig,
    groups: Vec<Group>,
    frames: usize,
    /// Frames with lines, in the order added.
    ids: Vec<FrameId>,
    /// Set once settled or failed; later frames are ignored.
    done: Option<ConsensusState>,
}

/// The frames whose lines had the same lengths.
#[derive(Clone)]
struct Group {
    /// Per line, per position, summed log-probability of each `ALPHABET` character.
    evidence: Vec<Vec<[f32; 37]>>,
    /// Frames added to the group.
    frames: usize,
    /// Those frames' ids.
    ids: Vec<FrameId>,
    /// Frames whose single read was trustworthy.
    valid: usize,
    /// Per trustworthy single-frame reading: its key and the frames that read it.
    trusted: Vec<(String, Vec<FrameId>)>,
    /// Per reading that was clean except for failing check digits: its key and frames.
    failing: Vec<(String, Vec<FrameId>)>,
}

impl std::fmt::Debug for MrzConsensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MrzConsensus({} frames, {} groups)", self.frames, self.groups.len())
    }
}

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

/// Counts frame `id` for reading `k`.
fn tally(counts: &mut Vec<(String, Vec<FrameId>)>, k: &str, id: FrameId) {
    match counts.iter_mut().find(|(ck, _)| ck == k) {
        Some((_, ids)) => ids.push(id),
        None => counts.push((k.to_owned(), vec![id])),
    }
}

/// Whether a reading is clean except for its check digits: read without doubt, every field
/// well-formed, and at least one check digit failing.
fn fails_only_checks(read: &mrz::MrzRead) -> bool {
    !read.valid
        && read.doubtful == 0
        && read.checks.iter().any(|c| !c.passed)
        && read.invalid_fields.is_empty()
        && read.invalid_characters.is_empty()
}

/// The reasons a reading gives that concern the MRZ itself (check digits, malformed fields).
fn mrz_reasons(read: &mrz::MrzRead) -> Vec<mrz::Reason> {
    let checks = read
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| mrz::Reason { code: mrz::ReasonCode::CheckDigitFailed, field: Some(c.field) });
    let fields =
        read.invalid_fields.iter().map(|&f| mrz::Reason { code: mrz::ReasonCode::FieldInvalid, field: Some(f) });
    checks.chain(fields).collect()
}

impl MrzConsensus {
    /// An empty consensus judging expiry against `today`, settling and failing as `config`
    /// says.
    pub fn new(today: mrz::Date, config: ConsensusConfig) -> MrzConsensus {
        let config = ConsensusConfig {
            confirmations: config.confirmations.max(1),
            failing_agreements: config.failing_agreements.max(1),
            max_frames: config.max_frames.max(1),
            ..config
        };
        MrzConsensus { today, config, groups: Vec::new(), frames: 0, ids: Vec::new(), done: None }
    }

    /// Frames added so far (frames with no lines excluded).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Adds frame `id`'s read and says what became of it. Frames with no lines add nothing;
    /// once the consensus has settled or failed, frames are ignored.
    pub fn add(&mut self, id: FrameId, read: &MrzFrameRead) -> FrameVerdict {
        if self.done.is_some() {
            return FrameVerdict::Ignored;
        }
        if read.lines().is_empty() {
            return FrameVerdict::Unreadable(read.issue().unwrap_or(QualityIssue::NotFound));
        }
        let lengths: Vec<usize> = read.lines().iter().map(|l| l.alternatives.len()).collect();
        let index = match self.groups.iter().position(|g| g.evidence.iter().map(Vec::len).eq(lengths.iter().copied())) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    evidence: lengths.iter().map(|&n| vec![[0f32; 37]; n]).collect(),
                    frames: 0,
                    ids: Vec::new(),
                    valid: 0,
                    trusted: Vec::new(),
                    failing: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        for (line, ev) in read.lines().iter().zip(group.evidence.iter_mut()) {
            for (alts, slot) in line.alternatives.iter().zip(ev.iter_mut()) {
                let top = alts.iter().map(|a| a.1).fold(f32::NEG_INFINITY, f32::max);
                if !top.is_finite() {
                    continue;
                }
                let z = top + alts.iter().map(|a| (a.1 - top).exp()).sum::<f32>().ln();
                let mut add = [self.config.unlisted; 37];
                for &(c, s) in alts {
                    if let Some(k) = ALPHABET.iter().position(|&a| a == c) {
                        add[k] = add[k].max(s - z);
                    }
                }
                slot.iter_mut().zip(add).for_each(|(e, a)| *e += a);
            }
        }
        self.frames += 1;
        self.ids.push(id);
        group.frames += 1;
        group.ids.push(id);
        let own = read.read();
        let own_key = own.filter(|r| r.is_trustworthy()).map(key);
        if let Some(k) = &own_key {
            group.valid += 1;
            tally(&mut group.trusted, k, id);
        }
        if let Some(r) = own.filter(|r| fails_only_checks(r)) {
            tally(&mut group.failing, &key(r), id);
        }
        let leading = self.leading_index() == Some(index);
        let best = self.best();
        let verdict = match (&own_key, leading) {
            (_, false) => FrameVerdict::Outvoted,
            (Some(k), true) if best.as_ref().is_some_and(|b| key(b) == *k) => FrameVerdict::Confirmed,
            (Some(_), true) => FrameVerdict::Outvoted,
            (None, true) => FrameVerdict::Used { issue: read.issue() },
        };
        self.done = self.terminal();
        verdict
    }

    /// The index of the group the reading comes from: the most valid frames, then the most
    /// frames (the later group on a tie).
    fn leading_index(&self) -> Option<usize> {
        self.groups.iter().enumerate().rev().max_by_key(|(_, g)| (g.valid, g.frames)).map(|(i, _)| i)
    }

    fn leading(&self) -> Option<&Group> {
        self.leading_index().map(|i| &self.groups[i])
    }

    /// The reading from all evidence so far, if any frame had lines that parse.
    pub fn best(&self) -> Option<mrz::MrzRead> {
        self.leading()?.best(self.today, &self.config)
    }

    /// Whether the reading is valid and confirmed by enough frames to stop capturing.
    pub fn is_settled(&self) -> bool {
        matches!(self.state(), ConsensusState::Settled(_))
    }

    /// Where the consensus stands: collecting, settled (with the frames behind the reading) or
    /// failed for good (with the reasons).
    pub fn state(&self) -> ConsensusState {
        match &self.done {
            Some(state) => state.clone(),
            None => ConsensusState::Collecting,
        }
    }

    /// The settled or failed state the evidence has reached, if any.
    fn terminal(&self) -> Option<ConsensusState> {
        let group = self.leading()?;
        let best = group.best(self.today, &self.config);
        if let Some(b) = best.as_ref().filter(|b| b.is_trustworthy()) {
            let k = key(b);
            let confirmed_by = group.trusted.iter().find(|(tk, _)| *tk == k).map(|(_, ids)| ids.clone());
            let rival = group.trusted.iter().filter(|(tk, _)| *tk != k).map(|(_, ids)| ids.len()).max();
            // Frames that read other fields trustworthily must be outvoted by as many
            // confirmations again: one confident misread cannot settle the document.
            if let Some(confirmed_by) = confirmed_by
                && confirmed_by.len() >= self.config.confirmations + rival.unwrap_or(0)
            {
                return Some(ConsensusState::Settled(SettledMrz {
                    reading: b.clone(),
                    confirmed_by,
                    evidence: group.ids.clone(),
                }));
            }
        }
        // A misprint: enough clean frames agree on fields whose checks fail, and the fused
        // reading says the same.
        if let Some(b) = best.as_ref().filter(|b| fails_only_checks(b)) {
            let k = key(b);
            if let Some((_, ids)) =
                group.failing.iter().find(|(fk, ids)| *fk == k && ids.len() >= self.config.failing_agreements)
            {
                return Some(ConsensusState::Failed(FailedMrz {
                    cause: FailureCause::ChecksFailConsistently,
                    reasons: mrz_reasons(b),
                    reading: best.clone(),
                    frames: ids.clone(),
                }));
            }
        }
        (self.frames >= self.config.max_frames).then(|| {
            ConsensusState::Failed(FailedMrz {
                cause: FailureCause::TooManyFrames,
                reasons: best.as_ref().map(mrz_reasons).unwrap_or_default(),
                reading: best,
                frames: self.ids.clone(),
            })
        })
    }
}

impl Group {
    fn best(&self, today: mrz::Date, config: &ConsensusConfig) -> Option<mrz::MrzRead> {
        let (margin, doubt_margin) = (config.plausible_margin, config.doubt_margin);
        let lines: Vec<Vec<Vec<(u8, f32)>>> = self
            .evidence
            .iter()
            .map(|line| line.iter().map(|ev| super::recognise::alternatives(ev, 6, 1.0, margin)).collect())
            .collect();
        mrz::parse_alternatives(&lines, today, doubt_margin).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mrz::{FoundZone, MrzLine, MrzLocation, ZoneReading};

    // ICAO 9303 part 4's specimen passport; the second line with its check digits.
    const L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
    // A confident misread of the document number (C3 read as C8) with its check digit read to
    // match and the composite check digit too: a trustworthy single-frame reading of other fields.
    const L2_MISREAD: &str = "L898902C81UTO7408122F1204159ZE184226B<<<<<10";
    // The document number's check digit misprinted (6 printed as 5): fails however it is read.
    const L2_MISPRINT: &str = "L898902C35UTO7408122F1204159ZE184226B<<<<<10";

    fn today() -> mrz::Date {
        mrz::Date::new(2026, 12, 1).expect("a valid date")
    }

    /// A frame that read `lines` with full confidence.
    fn frame(lines: &[&str]) -> MrzFrameRead {
        let lines: Vec<MrzLine> =
            lines.iter().map(|l| MrzLine { alternatives: l.bytes().map(|c| vec![(c, 0.0)]).collect() }).collect();
        let alts: Vec<Vec<Vec<(u8, f32)>>> = lines.iter().map(|l| l.alternatives.clone()).collect();
        let reading = ZoneReading::new(mrz::parse_alternatives(&alts, today(), 1.0), || QualityIssue::Unreadable);
        let location = MrzLocation { corners: [[0.0; 2]; 4], pitch_px: 10.0 };
        MrzFrameRead::Found { zone: FoundZone { location, lines, sharpness: 1.0 }, reading }
    }

    /// The service's settings, with fewer frames before giving up.
    fn config() -> ConsensusConfig {
        ConsensusConfig { max_frames: 8, ..crate::mrz::service_defaults::consensus_config() }
    }

    /// Adds `frames` in order (frame ids from 1) and compares each verdict (`None`: either, for a
    /// frame whose evidence ties with another's) and the final state (`settled` with the
    /// confirming frame ids, or `failed` with the cause, or `collecting`).
    fn check(frames: &[&MrzFrameRead], verdicts: &[Option<FrameVerdict>], expect: &str) {
        let mut consensus = MrzConsensus::new(today(), config());
        let got: Vec<FrameVerdict> =
            frames.iter().enumerate().map(|(i, f)| consensus.add(FrameId(i as u64 + 1), f)).collect();
        assert_eq!(got.len(), verdicts.len());
        for (g, v) in got.iter().zip(verdicts) {
            assert!(v.is_none_or(|v| v == *g), "{got:?} vs {verdicts:?}");
        }
        let state = match consensus.state() {
            ConsensusState::Collecting => "collecting".to_owned(),
            ConsensusState::Settled(s) => {
                assert!(s.reading.is_trustworthy());
                format!("settled {:?}", s.confirmed_by.iter().map(|f| f.0).collect::<Vec<_>>())
            }
            ConsensusState::Failed(f) => format!(
                "failed {:?} {:?} {}",
                f.cause,
                f.frames.iter().map(|f| f.0).collect::<Vec<_>>(),
                f.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",")
            ),
        };
        assert_eq!(state, expect);
    }

    use FrameVerdict::{Confirmed, Ignored, Outvoted, Unreadable, Used};

    #[test]
    fn agreeing_frames_settle_and_are_named() {
        let right = frame(&[L1, L2]);
        assert!(right.is_trustworthy(), "the specimen reads trustworthily");
        let none = MrzFrameRead::NotFound { issue: QualityIssue::Glare };
        check(
            &[&none, &right, &right, &right],
            &[Some(Unreadable(QualityIssue::Glare)), Some(Confirmed), Some(Confirmed), Some(Ignored)],
            "settled [2, 3]",
        );
    }

    #[test]
    fn a_confident_misread_cannot_settle_when_other_frames_disagree() {
        let (right, wrong) = (frame(&[L1, L2]), frame(&[L1, L2_MISREAD]));
        assert!(wrong.is_trustworthy(), "the misread passes every check alone");
        // The misread first, then the right reading: two against one do not settle yet (the
        // second frame's evidence ties with the first's, so either reading may lead there).
        let (c, o) = (Some(Confirmed), Some(Outvoted));
        check(&[&wrong, &right, &right], &[c, None, c], "collecting");
        check(&[&wrong, &right, &right, &right], &[c, None, c, c], "settled [2, 3, 4]");
        // The misread between right readings does not count; once outnumbered it is outvoted.
        check(&[&right, &wrong, &right], &[c, None, c], "collecting");
        check(&[&right, &right, &wrong], &[c, c, Some(Ignored)], "settled [1, 2]");
        check(&[&right, &wrong, &right, &wrong, &right, &right], &[c, None, c, o, c, c], "settled [1, 3, 5, 6]");
        // Alone, the misread never settles against as many right frames.
        check(&[&wrong, &right, &wrong, &right], &[c, None, None, None], "collecting");
    }

    #[test]
    fn a_misprinted_check_digit_fails_for_good() {
        let misprint = frame(&[L1, L2_MISPRINT]);
        assert!(!misprint.is_trustworthy());
        // The helper's reads that are not trustworthy say they are unreadable.
        let used = Some(Used { issue: Some(QualityIssue::Unreadable) });
        check(&[&misprint, &misprint], &[used, used], "collecting");
        check(
            &[&misprint, &misprint, &misprint, &misprint],
            &[used, used, used, Some(Ignored)],
            "failed ChecksFailConsistently [1, 2, 3] mrz.check_digit_failed(document_number),mrz.check_digit_failed(composite)",
        );
    }

    #[test]
    fn too_many_frames_fail() {
        let misprint = frame(&[L1, L2_MISPRINT]);
        // Line lengths that match nothing: every frame in its own group, nothing parses.
        let junk = |n: usize| frame(&[L1, &L2[..n]]);
        let frames: Vec<MrzFrameRead> =
            (0..8).map(|i| if i % 4 == 0 { misprint.clone() } else { junk(30 + i) }).collect();
        let mut consensus = MrzConsensus::new(today(), config());
        for (i, f) in frames.iter().enumerate() {
            consensus.add(FrameId(i as u64), f);
        }
        let ConsensusState::Failed(failed) = consensus.state() else { panic!("eight frames without settling fail") };
        assert_eq!(failed.cause, FailureCause::TooManyFrames);
        assert_eq!(failed.frames.len(), 8);
    }
}
