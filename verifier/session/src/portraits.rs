//! The document portraits a session collects before its face step: each frame's portrait held
//! to the quality bars, and the one embedding the match uses, fused from the best of them.
//!
//! A portrait that meets the bars ([`vision::face::PortraitGate`]) is kept; one below them is
//! kept aside with why (too small, blurred), so the person can be told what to change. The step
//! ends when enough portraits meet the bars, or after a bound on portraits seen: then the best
//! of what was seen is used all the same and the choice says it is below the bars, for the
//! decision to go to a reviewer rather than trust it. The same rules serve the service and
//! `verifier face eval --sessions`, so the figures measure what the product does.
//! What it leaves out: when frames arrive and what the MRZ says (the state machine's).

use vision::face::{Embedding, EmbeddingMismatch, PortraitGate, PortraitIssue, PortraitQuality, fuse};
use vision::frame::FrameId;

/// One portrait seen in a frame.
#[derive(Debug, Clone)]
struct Seen {
    frame: FrameId,
    embedding: Embedding,
    quality: PortraitQuality,
    passed: bool,
}

/// The portraits of one document collected so far: the latest `keep` of them (the caller keeps
/// those frames' pixels as evidence candidates, so a choice never names a frame it dropped).
#[derive(Debug, Clone)]
pub struct PortraitSet {
    kept: std::collections::VecDeque<Seen>,
    keep: usize,
    seen: usize,
}

/// The portrait embedding the match uses, and where it came from.
#[derive(Debug, Clone)]
pub struct PortraitChoice {
    /// The fused embedding.
    pub embedding: Embedding,
    /// The frames whose portraits were fused, best first.
    pub frames: Vec<FrameId>,
    /// Whether the portraits fused are below the bars (none met them within the bound).
    pub below_bars: bool,
}

impl PortraitSet {
    /// An empty set that keeps the latest `keep` portraits (at least one).
    pub fn keeping(keep: usize) -> PortraitSet {
        PortraitSet { kept: std::collections::VecDeque::new(), keep: keep.max(1), seen: 0 }
    }

    /// Adds the portrait of `frame`; returns why it is below the bars, if it is.
    pub fn add(
        &mut self,
        frame: FrameId,
        embedding: Embedding,
        quality: PortraitQuality,
        gate: &PortraitGate,
    ) -> Option<PortraitIssue> {
        let issue = quality.issue(gate);
        self.kept.push_back(Seen { frame, embedding, quality, passed: issue.is_none() });
        if self.kept.len() > self.keep {
            self.kept.pop_front();
        }
        self.seen += 1;
        issue
    }

    /// Kept portraits that met the bars.
    pub fn passed(&self) -> usize {
        self.kept.iter().filter(|s| s.passed).count()
    }

    /// Portraits seen since the set was made or cleared, met the bars or not, kept or not.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Forgets every portrait (they were of another side of the document).
    pub fn clear(&mut self) {
        self.kept.clear();
        self.seen = 0;
    }

    /// Whether the step has what it needs: `wanted` portraits that met the bars, or `max_seen`
    /// portraits seen (the person could not do better; at least one to use).
    pub fn is_ready(&self, wanted: usize, max_seen: usize) -> bool {
        self.passed() >= wanted.max(1) || (self.seen >= max_seen.max(1) && !self.kept.is_empty())
    }

    /// The embedding to match: the mean of the best `fused` portraits that met the bars (by
    /// [`PortraitQuality::rank`]); without any, of the best `fused` below them, marked so.
    /// `Ok(None)` with no portrait at all; an error when portraits of different models were
    /// collected (a configuration fault).
    pub fn choose(&self, fused: usize) -> Result<Option<PortraitChoice>, EmbeddingMismatch> {
        let below_bars = self.passed() == 0;
        let mut ranked: Vec<&Seen> = self.kept.iter().filter(|s| s.passed != below_bars).collect();
        ranked.sort_by(|a, b| b.quality.rank().total_cmp(&a.quality.rank()));
        ranked.truncate(fused.max(1));
        let embeddings: Vec<&Embedding> = ranked.iter().map(|s| &s.embedding).collect();
        Ok(fuse(&embeddings)?.map(|embedding| PortraitChoice {
            embedding,
            frames: ranked.iter().map(|s| s.frame).collect(),
            below_bars,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: PortraitGate = PortraitGate { min_eye_distance_px: 30.0, min_sharpness: 1.0 };

    fn at(deg: f32) -> Embedding {
        let r = deg.to_radians();
        Embedding::new("m", vec![r.cos(), r.sin()]).expect("a unit vector")
    }

    fn quality(eye_distance_px: f32, sharpness: f32) -> PortraitQuality {
        PortraitQuality { eye_distance_px, sharpness, detector_score: 0.9 }
    }

    /// Portraits as (angle, eye distance, sharpness), frames numbered from 1; expects the
    /// issues the adds return, whether the set is ready for (2 wanted, 4 seen at most), and the
    /// choice of 2 fused: its angle, frames and mark.
    fn check(
        portraits: &[(f32, f32, f32)],
        expect_issues: &[Option<PortraitIssue>],
        expect_ready: bool,
        expect_choice: Option<(f32, &[u64], bool)>,
    ) {
        let mut set = PortraitSet::keeping(4);
        let issues: Vec<Option<PortraitIssue>> = portraits
            .iter()
            .enumerate()
            .map(|(i, &(deg, eye, sharp))| set.add(FrameId(i as u64 + 1), at(deg), quality(eye, sharp), &GATE))
            .collect();
        assert_eq!(issues, expect_issues);
        assert_eq!(set.is_ready(2, 4), expect_ready);
        let choice = set.choose(2).expect("one model");
        match (choice, expect_choice) {
            (None, None) => {}
            (Some(c), Some((deg, frames, below))) => {
                let got: Vec<u64> = c.frames.iter().map(|f| f.0).collect();
                assert_eq!((got.as_slice(), c.below_bars), (frames, below));
                assert!((c.embedding.cosine(&at(deg)).expect("one model") - 1.0).abs() < 1e-5, "{deg}");
            }
            (got, want) => panic!("choice {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn the_best_portraits_that_meet_the_bars_are_fused() {
        use PortraitIssue::{Blurry, TooSmall};
        check(&[], &[], false, None);
        // Two that pass: ready, their mean (10 and 30 degrees: 20).
        check(&[(10.0, 40.0, 2.0), (30.0, 50.0, 3.0)], &[None, None], true, Some((20.0, &[2, 1], false)));
        // Three pass: the two sharpest are fused, the blurred-but-passing one is left out.
        check(
            &[(10.0, 40.0, 1.2), (20.0, 40.0, 3.0), (40.0, 40.0, 2.0)],
            &[None, None, None],
            true,
            Some((30.0, &[2, 3], false)),
        );
        // Only refusals, short of the bound: not ready; the best of them would be marked.
        check(
            &[(5.0, 20.0, 9.0), (15.0, 40.0, 0.5)],
            &[Some(TooSmall), Some(Blurry)],
            false,
            Some((10.0, &[1, 2], true)),
        );
        // One pass among refusals, at the bound: that one alone, not the refused ones, even a
        // sharper one.
        check(
            &[(5.0, 20.0, 9.0), (15.0, 40.0, 1.5), (25.0, 40.0, 0.5), (35.0, 10.0, 0.1)],
            &[Some(TooSmall), None, Some(Blurry), Some(TooSmall)],
            true,
            Some((15.0, &[2], false)),
        );
        // Only refusals up to the bound: the best two of them, marked below the bars.
        check(
            &[(0.0, 20.0, 0.9), (60.0, 20.0, 0.2), (40.0, 25.0, 0.8), (90.0, 10.0, 0.1)],
            &[Some(TooSmall); 4],
            true,
            Some((20.0, &[1, 3], true)),
        );
    }

    #[test]
    fn only_the_latest_portraits_are_kept() {
        // Keeping 2: the sharp first portrait is dropped by the time the third comes, so the
        // choice is among the two kept, whose frames the caller still holds.
        let mut set = PortraitSet::keeping(2);
        for (i, (deg, sharp)) in [(0.0, 9.0), (20.0, 2.0), (40.0, 3.0)].into_iter().enumerate() {
            set.add(FrameId(i as u64 + 1), at(deg), quality(40.0, sharp), &GATE);
        }
        assert_eq!((set.seen(), set.passed()), (3, 2));
        let c = set.choose(1).expect("one model").expect("a portrait");
        assert_eq!(c.frames, vec![FrameId(3)]);
    }

    #[test]
    fn clearing_forgets_and_models_must_agree() {
        let mut set = PortraitSet::keeping(4);
        set.add(FrameId(1), at(0.0), quality(40.0, 2.0), &GATE);
        set.clear();
        assert_eq!((set.seen(), set.passed()), (0, 0));
        assert!(!set.is_ready(1, 1), "nothing seen is never ready");
        set.add(FrameId(2), at(0.0), quality(40.0, 2.0), &GATE);
        set.add(FrameId(3), Embedding::new("other", vec![1.0, 0.0]).expect("a unit vector"), quality(40.0, 2.0), &GATE);
        assert!(set.choose(2).is_err());
        assert!(set.choose(1).is_ok(), "one portrait has nothing to disagree with");
    }
}
