//! Verification metrics over genuine and impostor comparison scores (higher = more similar).
//!
//! ISO/IEC 19795 vocabulary: FMR is the share of impostor comparisons accepted at a threshold,
//! FNMR the share of genuine ones rejected. Pure functions, used by the evaluation commands.

/// FMR and FNMR when scores `>= threshold` are accepted.
pub fn rates_at(genuine: &[f32], impostor: &[f32], threshold: f32) -> (f64, f64) {
    let share = |v: &[f32], pred: &dyn Fn(f32) -> bool| {
        if v.is_empty() { 0.0 } else { v.iter().filter(|&&s| pred(s)).count() as f64 / v.len() as f64 }
    };
    (share(impostor, &|s| s >= threshold), share(genuine, &|s| s < threshold))
}

/// Area under the ROC curve: the probability that a random genuine score beats a random
/// impostor score (ties count half). `None` when either side is empty.
pub fn roc_auc(genuine: &[f32], impostor: &[f32]) -> Option<f64> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut imp: Vec<f32> = impostor.to_vec();
    imp.sort_by(f32::total_cmp);
    let mut wins = 0f64;
    for &g in genuine {
        let below = imp.partition_point(|&s| s < g);
        let not_above = imp.partition_point(|&s| s <= g);
        wins += below as f64 + (not_above - below) as f64 / 2.0;
    }
    Some(wins / (genuine.len() as f64 * imp.len() as f64))
}

/// The candidate thresholds: every observed score, plus one above the highest.
fn thresholds(genuine: &[f32], impostor: &[f32]) -> Vec<f32> {
    let mut t: Vec<f32> = genuine.iter().chain(impostor).copied().filter(|s| s.is_finite()).collect();
    t.sort_by(f32::total_cmp);
    t.dedup();
    if let Some(&top) = t.last() {
        t.push(top + 1e-6_f32.max(top.abs() * 1e-6));
    }
    t
}

/// The equal error rate and the threshold where FMR and FNMR are closest (their mean there).
pub fn eer(genuine: &[f32], impostor: &[f32]) -> Option<(f64, f32)> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    thresholds(genuine, impostor)
        .into_iter()
        .map(|t| {
            let (fmr, fnmr) = rates_at(genuine, impostor, t);
            ((fmr - fnmr).abs(), (fmr + fnmr) / 2.0, t)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, rate, t)| (rate, t))
}

/// The lowest FNMR reachable with FMR at most `max_fmr`, and the threshold that gives it.
pub fn fnmr_at_fmr(genuine: &[f32], impostor: &[f32], max_fmr: f64) -> Option<(f64, f32)> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    // FMR falls as the threshold rises; the first threshold meeting the bound has the lowest FNMR.
    thresholds(genuine, impostor).into_iter().find_map(|t| {
        let (fmr, fnmr) = rates_at(genuine, impostor, t);
        (fmr <= max_fmr).then_some((fnmr, t))
    })
}

/// Points of the DET curve, `(fmr, fnmr)`, one per candidate threshold.
pub fn det_curve(genuine: &[f32], impostor: &[f32]) -> Vec<(f64, f64)> {
    thresholds(genuine, impostor).into_iter().map(|t| rates_at(genuine, impostor, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(genuine: &[f32], impostor: &[f32], expect: (f64, f64, f64)) {
        let auc = roc_auc(genuine, impostor).unwrap();
        let (eer, _) = eer(genuine, impostor).unwrap();
        let (fnmr, _) = fnmr_at_fmr(genuine, impostor, 0.0).unwrap();
        let got = (auc, eer, fnmr);
        assert!(
            (got.0 - expect.0).abs() < 1e-9 && (got.1 - expect.1).abs() < 1e-9 && (got.2 - expect.2).abs() < 1e-9,
            "{got:?} != {expect:?}"
        );
    }

    #[test]
    fn separable_overlapping_and_tied() {
        check(&[0.9, 0.8], &[0.1, 0.2], (1.0, 0.0, 0.0));
        // One impostor (0.85) above one genuine (0.8): AUC 3/4; at FMR 0 the threshold must
        // pass 0.85, losing the 0.8 genuine.
        check(&[0.9, 0.8], &[0.1, 0.85], (0.75, 0.5, 0.5));
        check(&[0.5], &[0.5], (0.5, 0.5, 1.0));
    }

    #[test]
    fn rates_and_empty_inputs() {
        assert_eq!(rates_at(&[0.9, 0.4], &[0.6, 0.1], 0.5), (0.5, 0.5));
        assert_eq!(roc_auc(&[], &[0.1]), None);
        assert_eq!(eer(&[0.1], &[]), None);
        let det = det_curve(&[0.9], &[0.1]);
        assert_eq!(det.first(), Some(&(1.0, 0.0)));
        assert_eq!(det.last(), Some(&(0.0, 1.0)));
    }
}
