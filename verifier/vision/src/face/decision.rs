//! The multi-frame face decision: several good live frames against the document portrait.
//!
//! Usable live frames are ranked by quality, the best few are compared with the portrait, and
//! the median similarity decides, so one lucky or unlucky frame cannot. Every score is kept for
//! the evidence.

use super::Embedding;

/// Decision settings; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchPolicy {
    /// Median similarity at or above which the person matches the portrait.
    pub threshold: f32,
    /// How many of the best live frames are compared.
    pub frames: usize,
    /// Fewer usable frames than this: no decision yet.
    pub min_frames: usize,
}

/// One usable live frame: its quality rank (higher is better) and embedding.
#[derive(Debug, Clone)]
pub struct LiveSample {
    /// From [`super::FaceQuality::rank`].
    pub rank: f32,
    /// The live face's embedding.
    pub embedding: Embedding,
}

/// The outcome of the face comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOutcome {
    /// The live person is the portrait's holder.
    Match,
    /// The live person is not the portrait's holder.
    NoMatch,
    /// Not enough usable live frames to decide.
    NotEnoughFrames,
}

/// The decision with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchDecision {
    /// What was decided.
    pub outcome: MatchOutcome,
    /// The median similarity of the compared frames (absent without a decision).
    pub score: Option<f32>,
    /// Each compared frame's similarity, best-ranked frame first.
    pub scores: Vec<f32>,
    /// The threshold applied.
    pub threshold: f32,
}

/// Decides whether the live samples show the holder of `portrait`.
pub fn decide(portrait: &Embedding, live: &[LiveSample], policy: &MatchPolicy) -> MatchDecision {
    let mut ranked: Vec<&LiveSample> = live.iter().collect();
    ranked.sort_by(|a, b| b.rank.total_cmp(&a.rank));
    ranked.truncate(policy.frames.max(1));
    let scores: Vec<f32> = ranked.iter().map(|s| s.embedding.cosine(portrait)).collect();
    if scores.len() < policy.min_frames.max(1) {
        return MatchDecision {
            outcome: MatchOutcome::NotEnoughFrames,
            score: None,
            scores,
            threshold: policy.threshold,
        };
    }
    let score = median(&scores);
    let outcome = if score >= policy.threshold { MatchOutcome::Match } else { MatchOutcome::NoMatch };
    MatchDecision { outcome, score: Some(score), scores, threshold: policy.threshold }
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
        Embedding::new(vec![r.cos(), r.sin()]).unwrap()
    }

    const POLICY: MatchPolicy = MatchPolicy { threshold: 0.6, frames: 3, min_frames: 2 };

    fn check(live: &[(f32, f32)], expect: MatchOutcome, expect_scores: usize) {
        let samples: Vec<LiveSample> =
            live.iter().map(|&(rank, deg)| LiveSample { rank, embedding: at(deg) }).collect();
        let d = decide(&at(0.0), &samples, &POLICY);
        assert_eq!((d.outcome, d.scores.len()), (expect, expect_scores), "{d:?}");
    }

    #[test]
    fn median_of_the_best_ranked_frames_decides() {
        // cos 30 = 0.87, cos 70 = 0.34.
        check(&[(0.9, 30.0), (0.8, 30.0), (0.7, 70.0)], MatchOutcome::Match, 3);
        check(&[(0.9, 70.0), (0.8, 70.0), (0.7, 30.0)], MatchOutcome::NoMatch, 3);
        // The low-ranked good frames are not among the best three.
        check(&[(0.9, 70.0), (0.8, 70.0), (0.7, 70.0), (0.1, 0.0), (0.1, 0.0)], MatchOutcome::NoMatch, 3);
        check(&[(0.9, 0.0)], MatchOutcome::NotEnoughFrames, 1);
        check(&[], MatchOutcome::NotEnoughFrames, 0);
    }
}
