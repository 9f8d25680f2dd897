//! Every classification score of a test set with its bootstrap 95 % interval, in one call:
//! accuracy, macro and weighted precision/recall/F1, macro one-vs-rest AUC, and per class
//! sensitivity, PPV, specificity, F1 and AUC — all on the *same* resamples.
//!
//! Speed: a resample is represented by how many times each item was drawn (its weight), so the
//! confusion matrix is a weighted count, and each class's AUC is one weighted sweep over an
//! order of the scores sorted **once** — O(n·k) per resample instead of a sort. The weighted
//! sweep groups equal scores exactly as [`super::roc_curve`] does, so it equals the AUC of the
//! resample with its repeats (tested).

use serde::Serialize;

use super::{Ci, ConfusionMatrix, Unit, bootstrap};

/// One class's scores with intervals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassCis {
    /// True items of this class in the test set.
    pub support: u64,
    /// Sensitivity (recall).
    pub sensitivity: Ci,
    /// Positive predictive value (precision).
    pub ppv: Ci,
    /// Specificity.
    pub specificity: Ci,
    /// F1.
    pub f1: Ci,
    /// One-vs-rest AUC of this class's probability (NaN estimate when undefined).
    pub auc: Ci,
}

/// All scores of a classifier on a test set, each with its interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassificationCis {
    /// Accuracy.
    pub accuracy: Ci,
    /// Macro-averaged precision.
    pub macro_precision: Ci,
    /// Macro-averaged recall.
    pub macro_recall: Ci,
    /// Macro-averaged F1.
    pub macro_f1: Ci,
    /// Support-weighted precision.
    pub weighted_precision: Ci,
    /// Support-weighted recall (= accuracy).
    pub weighted_recall: Ci,
    /// Support-weighted F1.
    pub weighted_f1: Ci,
    /// Mean of the defined one-vs-rest AUCs.
    pub macro_auc: Ci,
    /// Per class.
    pub per_class: Vec<ClassCis>,
    /// The confusion matrix of the whole test set (predicted = argmax of the probabilities).
    pub confusion: ConfusionMatrix,
    /// Resamples drawn.
    pub resamples: usize,
    /// `"item"` or `"group"`: what was resampled.
    pub unit: String,
}

/// AUC of `score` for the positives, with item weights, over a precomputed descending order;
/// NaN when the weighted positives or negatives are 0.
pub fn weighted_auc(
    order: &[usize],
    score: impl Fn(usize) -> f32,
    positive: impl Fn(usize) -> bool,
    weight: &[u32],
) -> f64 {
    let (mut p, mut n) = (0.0f64, 0.0f64);
    for &i in order {
        let w = f64::from(weight[i]);
        if positive(i) {
            p += w;
        } else {
            n += w;
        }
    }
    if p == 0.0 || n == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut fp, mut area) = (0.0f64, 0.0f64, 0.0f64);
    let mut j = 0;
    while j < order.len() {
        let s = score(order[j]);
        let (tp0, fp0) = (tp, fp);
        while j < order.len() && score(order[j]) == s {
            let i = order[j];
            let w = f64::from(weight[i]);
            if positive(i) {
                tp += w;
            } else {
                fp += w;
            }
            j += 1;
        }
        // Trapezoid between (fp0/n, tp0/p) and (fp/n, tp/p).
        area += (fp - fp0) / n * (tp0 + tp) / (2.0 * p);
    }
    area
}

/// Scores with intervals for `probs` (`[n, k]` row-major) against `truth`; `unit` says whether
/// items or groups (patients) are resampled (see [`super::bootstrap()`]).
///
/// # Errors
/// Shape mismatches, a class id ≥ k, NaN probabilities, or the bootstrap's errors.
pub fn classification_cis(
    truth: &[usize],
    probs: &[f32],
    k: usize,
    unit: Unit<'_>,
    resamples: usize,
    seed: u64,
) -> anyhow::Result<ClassificationCis> {
    let n = truth.len();
    anyhow::ensure!(
        k >= 1 && probs.len() == n * k,
        "classification_cis: {} probabilities for {n} items × {k} classes",
        probs.len()
    );
    anyhow::ensure!(
        probs.iter().all(|p| !p.is_nan()),
        "classification_cis: a probability is NaN"
    );
    let predicted: Vec<usize> = probs
        .chunks(k)
        .map(|row| {
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect();
    let confusion = ConfusionMatrix::new(truth, &predicted, k)?;
    // One descending order per class, computed once.
    let orders: Vec<Vec<usize>> = (0..k)
        .map(|c| {
            let mut o: Vec<usize> = (0..n).collect();
            o.sort_by(|&a, &b| probs[b * k + c].total_cmp(&probs[a * k + c]));
            o
        })
        .collect();
    let stat = |idx: &[usize]| -> Vec<f64> {
        let mut weight = vec![0u32; n];
        for &i in idx {
            weight[i] += 1;
        }
        let mut cm = ConfusionMatrix {
            k,
            counts: vec![vec![0; k]; k],
        };
        for i in 0..n {
            cm.counts[truth[i]][predicted[i]] += u64::from(weight[i]);
        }
        let (m, w) = (cm.macro_avg(), cm.weighted_avg());
        let aucs: Vec<f64> = (0..k)
            .map(|c| weighted_auc(&orders[c], |i| probs[i * k + c], |i| truth[i] == c, &weight))
            .collect();
        let defined: Vec<f64> = aucs.iter().copied().filter(|a| a.is_finite()).collect();
        let macro_auc = if defined.is_empty() {
            f64::NAN
        } else {
            defined.iter().sum::<f64>() / defined.len() as f64
        };
        let mut v = vec![
            cm.accuracy(),
            m.precision,
            m.recall,
            m.f1,
            w.precision,
            w.recall,
            w.f1,
            macro_auc,
        ];
        for (c, s) in cm.per_class().iter().enumerate() {
            v.extend([s.sensitivity, s.ppv, s.specificity, s.f1, aucs[c]]);
        }
        v
    };
    let cis = bootstrap(n, unit, resamples, seed, stat)?;
    let per_class = (0..k)
        .map(|c| {
            let b = 8 + 5 * c;
            ClassCis {
                support: confusion.counts[c].iter().sum(),
                sensitivity: cis[b],
                ppv: cis[b + 1],
                specificity: cis[b + 2],
                f1: cis[b + 3],
                auc: cis[b + 4],
            }
        })
        .collect();
    Ok(ClassificationCis {
        accuracy: cis[0],
        macro_precision: cis[1],
        macro_recall: cis[2],
        macro_f1: cis[3],
        weighted_precision: cis[4],
        weighted_recall: cis[5],
        weighted_f1: cis[6],
        macro_auc: cis[7],
        per_class,
        confusion,
        resamples,
        unit: match unit {
            Unit::Items => "item".into(),
            Unit::Groups(_) => "group".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{auc, roc_one_vs_rest};
    use ecgrad_engine::Rng;

    fn random_probs(n: usize, k: usize, seed: u64) -> (Vec<usize>, Vec<f32>) {
        let mut rng = Rng::new(seed);
        let truth: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
        let mut probs = Vec::new();
        for &t in &truth {
            // Coarse values so that ties occur; the true class gets a bonus.
            let mut row: Vec<f32> = (0..k).map(|_| rng.below(5) as f32).collect();
            row[t] += 2.0;
            let s: f32 = row.iter().sum();
            probs.extend(row.iter().map(|v| v / s));
        }
        (truth, probs)
    }

    #[test]
    fn weighted_auc_equals_the_auc_of_the_resample_with_repeats() {
        let (truth, probs) = random_probs(60, 3, 1);
        let mut rng = Rng::new(2);
        for c in 0..3 {
            let mut order: Vec<usize> = (0..60).collect();
            order.sort_by(|&a, &b| probs[b * 3 + c].total_cmp(&probs[a * 3 + c]));
            for _ in 0..10 {
                let idx: Vec<usize> = (0..60).map(|_| rng.below(60)).collect();
                let mut w = vec![0u32; 60];
                idx.iter().for_each(|&i| w[i] += 1);
                let fast = weighted_auc(&order, |i| probs[i * 3 + c], |i| truth[i] == c, &w);
                let s: Vec<f64> = idx.iter().map(|&i| f64::from(probs[i * 3 + c])).collect();
                let p: Vec<bool> = idx.iter().map(|&i| truth[i] == c).collect();
                let slow = auc(&s, &p);
                assert!((fast - slow).abs() < 1e-12 || (fast.is_nan() && slow.is_nan()));
            }
        }
    }

    #[test]
    fn estimates_match_the_plain_metrics_and_intervals_contain_them() {
        let (truth, probs) = random_probs(300, 4, 3);
        let r = classification_cis(&truth, &probs, 4, Unit::Items, 400, 5).unwrap();
        let report = r.confusion.report();
        assert_eq!(r.accuracy.estimate, report.accuracy);
        assert_eq!(r.macro_f1.estimate, report.macro_avg.f1);
        assert_eq!(r.weighted_recall.estimate, report.accuracy);
        let roc = roc_one_vs_rest(&probs, 4, &truth).unwrap();
        for c in 0..4 {
            let a = roc[c].as_ref().unwrap().auc;
            assert!((r.per_class[c].auc.estimate - a).abs() < 1e-12);
            assert!(r.per_class[c].auc.low <= a && a <= r.per_class[c].auc.high);
            assert_eq!(r.per_class[c].f1.estimate, report.per_class[c].f1);
        }
        assert!(r.accuracy.low < r.accuracy.estimate && r.accuracy.estimate < r.accuracy.high);
        assert_eq!(r.unit, "item");
        // Groups: 10 patients.
        let groups: Vec<usize> = (0..300).map(|i| i % 10).collect();
        let g = classification_cis(&truth, &probs, 4, Unit::Groups(&groups), 200, 5).unwrap();
        assert_eq!(g.accuracy.estimate, r.accuracy.estimate);
        assert_eq!(g.unit, "group");
    }
}
