//! ROC curves and the area under them, one-vs-rest for k classes.
//!
//! For a score s and a binary truth, each threshold θ gives TPR(θ) = #{pos: s ≥ θ}/P and
//! FPR(θ) = #{neg: s ≥ θ}/N. Sorting by descending score and lowering θ through every
//! *distinct* score traces the curve from (0, 0) to (1, 1). **Ties:** items with equal scores
//! enter together, as one diagonal step — the curve never depends on how a sort ordered equal
//! scores, and the trapezoidal area then equals the Mann–Whitney probability
//! AUC = P(s_pos > s_neg) + ½·P(s_pos = s_neg). scikit-learn's `roc_curve`/`roc_auc_score` do
//! the same (without dropping collinear points).
//!
//! Cost: one sort, O(n log n).

use serde::Serialize;

/// One ROC curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RocCurve {
    /// False-positive rates, from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rates, from 0 to 1.
    pub tpr: Vec<f64>,
    /// Threshold of each point (the first is +∞: nothing predicted positive).
    pub thresholds: Vec<f64>,
    /// Area under the curve (trapezoidal rule).
    pub auc: f64,
}

/// The ROC curve of `scores` against `positive`.
///
/// # Errors
/// Lengths differ, a score is NaN, or the truth has no positive or no negative (the curve is
/// undefined).
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> anyhow::Result<RocCurve> {
    anyhow::ensure!(
        scores.len() == positive.len(),
        "roc_curve: {} scores but {} labels",
        scores.len(),
        positive.len()
    );
    anyhow::ensure!(
        scores.iter().all(|s| !s.is_nan()),
        "roc_curve: a score is NaN"
    );
    let p = positive.iter().filter(|&&b| b).count();
    let n = positive.len() - p;
    anyhow::ensure!(
        p > 0 && n > 0,
        "roc_curve: need both classes, got {p} positives and {n} negatives"
    );
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fpr, mut tpr, mut thresholds) = (vec![0.0], vec![0.0], vec![f64::INFINITY]);
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        // Take every item with this exact score at once (ties → one diagonal step).
        let s = scores[order[i]];
        while i < order.len() && scores[order[i]] == s {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        fpr.push(fp as f64 / n as f64);
        tpr.push(tp as f64 / p as f64);
        thresholds.push(s);
    }
    let auc = trapezoid(&fpr, &tpr);
    Ok(RocCurve {
        fpr,
        tpr,
        thresholds,
        auc,
    })
}

/// ∫ y dx by the trapezoidal rule over points sorted by x.
pub fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
        .sum()
}

/// The AUC of `scores` against `positive`, or NaN when it is undefined (one class missing —
/// as happens in small bootstrap resamples).
pub fn auc(scores: &[f64], positive: &[bool]) -> f64 {
    roc_curve(scores, positive).map_or(f64::NAN, |r| r.auc)
}

/// One-vs-rest ROC curves: `probs` holds n rows of k scores (row-major), `truth` the classes.
/// Entry c is the curve of class c (score column c, positive = truth is c), or `None` when
/// class c is absent from `truth` or present everywhere.
///
/// # Errors
/// `probs.len() != n·k`, a class id ≥ k, or a NaN score.
pub fn roc_one_vs_rest(
    probs: &[f32],
    k: usize,
    truth: &[usize],
) -> anyhow::Result<Vec<Option<RocCurve>>> {
    anyhow::ensure!(
        k >= 1 && probs.len() == truth.len() * k,
        "roc_one_vs_rest: {} scores for {} items × {k} classes",
        probs.len(),
        truth.len()
    );
    anyhow::ensure!(
        truth.iter().all(|&t| t < k),
        "roc_one_vs_rest: a class id is ≥ k = {k}"
    );
    (0..k)
        .map(|c| {
            let pos: Vec<bool> = truth.iter().map(|&t| t == c).collect();
            let count = pos.iter().filter(|&&b| b).count();
            if count == 0 || count == truth.len() {
                return Ok(None);
            }
            let scores: Vec<f64> = (0..truth.len())
                .map(|i| f64::from(probs[i * k + c]))
                .collect();
            roc_curve(&scores, &pos).map(Some)
        })
        .collect()
}

/// One-vs-rest AUC of class c over the items in `indices` (a bootstrap resample), NaN when
/// undefined there.
pub fn auc_one_vs_rest_at(
    probs: &[f32],
    k: usize,
    truth: &[usize],
    c: usize,
    indices: &[usize],
) -> f64 {
    let scores: Vec<f64> = indices
        .iter()
        .map(|&i| f64::from(probs[i * k + c]))
        .collect();
    let pos: Vec<bool> = indices.iter().map(|&i| truth[i] == c).collect();
    auc(&scores, &pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(s_pos > s_neg) + ½ P(=): the definition, in O(P·N).
    fn auc_mann_whitney(scores: &[f64], pos: &[bool]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if pos[i] && !pos[j] {
                    pairs += 1.0;
                    if scores[i] > scores[j] {
                        wins += 1.0;
                    } else if scores[i] == scores[j] {
                        wins += 0.5;
                    }
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn roc_hand_example() {
        // scores 0.9(+) 0.8(−) 0.7(+) 0.6(−): pairs (+,−) ordered correctly: (0.9,0.8),
        // (0.9,0.6), (0.7,0.6) = 3 of 4 → AUC 0.75.
        let r = roc_curve(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]).unwrap();
        assert_eq!(r.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(r.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert!((r.auc - 0.75).abs() < 1e-12);
        assert_eq!(r.thresholds[0], f64::INFINITY);
    }

    #[test]
    fn ties_count_half_and_do_not_depend_on_order() {
        // All scores equal: one diagonal step, AUC ½ whatever the order.
        let r = roc_curve(&[0.5; 4], &[true, false, false, true]).unwrap();
        assert_eq!(r.fpr, vec![0.0, 1.0]);
        assert!((r.auc - 0.5).abs() < 1e-12);
        // A tie between one positive and one negative among others.
        let s = [0.9, 0.5, 0.5, 0.1, 0.3];
        let p = [true, true, false, false, true];
        let a = roc_curve(&s, &p).unwrap().auc;
        assert!((a - auc_mann_whitney(&s, &p)).abs() < 1e-12);
        // 2/3 + … by hand: positives 0.9, 0.5, 0.3 vs negatives 0.5, 0.1:
        // 0.9 beats both (2), 0.5 ties 0.5 (½) and beats 0.1 (1), 0.3 beats 0.1 (1) → 4.5/6.
        assert!((a - 0.75).abs() < 1e-12);
    }

    #[test]
    fn auc_matches_mann_whitney_on_random_scores_with_ties() {
        let mut rng = ecgrad_engine::Rng::new(7);
        for _ in 0..20 {
            let n = 5 + rng.below(40);
            let s: Vec<f64> = (0..n).map(|_| (rng.below(6) as f64) / 5.0).collect();
            let mut p: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.4).collect();
            p[0] = true;
            p[1] = false;
            let a = roc_curve(&s, &p).unwrap().auc;
            assert!((a - auc_mann_whitney(&s, &p)).abs() < 1e-12);
        }
    }

    #[test]
    fn one_class_missing_is_an_error_or_nan() {
        assert!(roc_curve(&[0.1, 0.2], &[true, true]).is_err());
        assert!(auc(&[0.1, 0.2], &[false, false]).is_nan());
    }

    #[test]
    fn one_vs_rest_uses_each_column() {
        // 3 items × 2 classes; class 0 is perfectly ranked by column 0.
        let probs = [0.9f32, 0.1, 0.2, 0.8, 0.3, 0.7];
        let r = roc_one_vs_rest(&probs, 2, &[0, 1, 1]).unwrap();
        assert!((r[0].as_ref().unwrap().auc - 1.0).abs() < 1e-12);
        assert!((r[1].as_ref().unwrap().auc - 1.0).abs() < 1e-12);
        let r = roc_one_vs_rest(&probs, 2, &[1, 1, 1]).unwrap();
        assert!(r[0].is_none() && r[1].is_none());
        assert!((auc_one_vs_rest_at(&probs, 2, &[0, 1, 1], 0, &[0, 1]) - 1.0).abs() < 1e-12);
    }
}
