//! The multi-frame face decision: several good live frames against the document portrait.
//!
//! Usable live frames are ranked by quality, the best few are compared with the portrait, and
//! the median similarity decides, so one lucky or unlucky frame cannot. A median at or above
//! the match threshold is a match, one below the review threshold a mismatch, and one between
//! goes to a person (`Review`). Every score is kept for the evidence, with the frame it came
//! from. Embeddings of different models are never compared: that is an error, not a score.

use super::Embedding;
use super::embed::EmbeddingMismatch;
use crate::frame::FrameId;

/// Decision settings; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchPolicy {
    /// Median similarity at or above which the person matches the portrait.
    pub threshold: f32,
    /// Median similarity below which the person does not match; from here up to `threshold`
    /// the decision is left to a reviewer. At most `threshold`.
    pub review_threshold: f32,
    /// How many of the best live frames are compared.
    pub frames: usize,
    /// Fewer usable frames than this: no decision yet.
    pub min_frames: usize,
}

/// One usable live frame: which frame, its quality rank (higher is better) and embedding.
#[derive(Debug, Clone)]
pub struct LiveSample {
    /// The frame it came from.
    pub frame: FrameId,
    /// From [`super::FaceQuality::rank`].
    pub rank: f32,
    /// The live face's embedding.
    pub embedding: Embedding,
}

/// The outcome of the face comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchOutcome {
    /// The live person is the portrait's holder.
    Match,
    /// Neither clearly the holder nor clearly someone else: a person decides.
    Review,
    /// The live person is not the portrait's holder.
    NoMatch,
    /// Not enough usable live frames to decide.
    NotEnoughFrames,
}

/// One live frame compared with the portrait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compared {
    /// The live frame.
    pub frame: FrameId,
    /// Its cosine similarity with the portrait.
    pub score: f32,
}

/// The decision with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchDecision {
    /// What was decided.
    pub outcome: MatchOutcome,
    /// The median similarity of the compared frames (absent without a decision).
    pub score: Option<f32>,
    /// Each compared frame and its similarity, best-ranked frame first.
    pub compared: Vec<Compared>,
    /// The match threshold applied.
    pub threshold: f32,
    /// The review threshold applied.
    pub review_threshold: f32,
}

/// Decides whether the live samples show the holder of `portrait`; an error when a live
/// embedding comes from another model than the portrait's.
pub fn decide(
    portrait: &Embedding,
    live: &[LiveSample],
    policy: &MatchPolicy,
) -> Result<MatchDecision, EmbeddingMismatch> {
    let mut ranked: Vec<&LiveSample> = live.iter().collect();
    ranked.sort_by(|a, b| b.rank.total_cmp(&a.rank));
    ranked.truncate(policy.frames.max(1));
    let compared = ranked
        .iter()
        .map(|s| Ok(Compared { frame: s.frame, score: s.embedding.cosine(portrait)? }))
        .collect::<Result<Vec<Compared>, EmbeddingMismatch>>()?;
    let decision = |outcome, score| MatchDecision {
        outcome,
        score,
        compared: compared.clone(),
        threshold: policy.threshold,
        review_threshold: policy.review_threshold,
    };
    if compared.len() < policy.min_frames.max(1) {
        return Ok(decision(MatchOutcome::NotEnoughFrames, None));
    }
    let score = median(&compared.iter().map(|c| c.score).collect::<Vec<f32>>());
    let outcome = if score >= policy.threshold {
        MatchOutcome::Match
    } else if score >= policy.review_threshold {
        MatchOutcome::Review
    } else {
        MatchOutcome::NoMatch
    };
    Ok(decision(outcome, Some(score)))
}

fn median(values: &[f32]) -> f32 {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector at `deg` degrees from the x axis: cosine with x is cos(deg).
    fn at(deg: f32) -> Embedding {
        let r = deg.to_radians();
        Embedding::new("test-model", vec![r.cos(), r.sin()]).unwrap()
    }

    const POLICY: MatchPolicy = MatchPolicy { threshold: 0.6, review_threshold: 0.45, frames: 3, min_frames: 2 };

    /// Live frames as (rank, angle from the portrait); frame ids count from 10. Expects the
    /// outcome and the frames compared.
    fn check(live: &[(f32, f32)], expect: MatchOutcome, expect_frames: &[u64]) {
        let samples: Vec<LiveSample> = live
            .iter()
            .enumerate()
            .map(|(i, &(rank, deg))| LiveSample { frame: FrameId(10 + i as u64), rank, embedding: at(deg) })
            .collect();
        let d = decide(&at(0.0), &samples, &POLICY).expect("one model");
        let frames: Vec<u64> = d.compared.iter().map(|c| c.frame.0).collect();
        assert_eq!((d.outcome, frames.as_slice()), (expect, expect_frames), "{d:?}");
    }

    #[test]
    fn median_of_the_best_ranked_frames_decides() {
        // cos 30 = 0.87, cos 70 = 0.34, cos 55 = 0.57 (between the thresholds).
        check(&[(0.9, 30.0), (0.8, 30.0), (0.7, 70.0)], MatchOutcome::Match, &[10, 11, 12]);
        check(&[(0.9, 70.0), (0.8, 70.0), (0.7, 30.0)], MatchOutcome::NoMatch, &[10, 11, 12]);
        check(&[(0.9, 55.0), (0.8, 55.0), (0.7, 30.0)], MatchOutcome::Review, &[10, 11, 12]);
        // The low-ranked good frames are not among the best three.
        check(&[(0.1, 0.0), (0.9, 70.0), (0.8, 70.0), (0.7, 70.0), (0.1, 0.0)], MatchOutcome::NoMatch, &[11, 12, 13]);
        check(&[(0.9, 0.0)], MatchOutcome::NotEnoughFrames, &[10]);
        check(&[], MatchOutcome::NotEnoughFrames, &[]);
    }

    #[test]
    fn embeddings_of_another_model_are_an_error() {
        let other = Embedding::new("other-model", vec![1.0, 0.0]).unwrap();
        let live = [
            LiveSample { frame: FrameId(1), rank: 0.9, embedding: at(0.0) },
            LiveSample { frame: FrameId(2), rank: 0.8, embedding: other },
        ];
        let err = decide(&at(0.0), &live, &POLICY).unwrap_err();
        assert_eq!((err.left.as_str(), err.right.as_str()), ("other-model", "test-model"));
    }
}
