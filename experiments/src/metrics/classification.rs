//! Confusion matrix and the classification scores derived from it.
//!
//! With k classes, `counts[t][p]` is the number of items of true class t predicted as p. For
//! class c (one-vs-rest):
//!
//! - TP = `counts[c][c]`, FN = Σ_p≠c `counts[c][p]`, FP = Σ_t≠c `counts[t][c]`,
//!   TN = n − TP − FN − FP;
//! - sensitivity (recall) = TP / (TP + FN), PPV (precision) = TP / (TP + FP),
//!   specificity = TN / (TN + FP), F1 = 2·PPV·sens / (PPV + sens) = 2TP / (2TP + FP + FN);
//! - accuracy = Σ_c TP_c / n.
//!
//! Averages over classes: *macro* = unweighted mean over the k classes; *weighted* = mean
//! weighted by support (TP + FN, the number of true items of each class). A ratio whose
//! denominator is 0 is 0 (scikit-learn's `zero_division=0`), e.g. the PPV of a class never
//! predicted; classes absent from the data still count in the macro average, as in
//! scikit-learn when `labels=` lists them.

use serde::Serialize;

/// A k × k confusion matrix (rows: true class, columns: predicted class).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// Number of classes.
    pub k: usize,
    /// `counts[t][p]`.
    pub counts: Vec<Vec<u64>>,
}

/// One class's one-vs-rest scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    /// Items whose true class is this one (TP + FN).
    pub support: u64,
    /// TP / (TP + FN), also called recall.
    pub sensitivity: f64,
    /// TP / (TP + FP), also called precision.
    pub ppv: f64,
    /// TN / (TN + FP).
    pub specificity: f64,
    /// Harmonic mean of PPV and sensitivity.
    pub f1: f64,
}

/// Precision, recall and F1 averaged over classes one way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Averaged {
    /// Mean precision.
    pub precision: f64,
    /// Mean recall.
    pub recall: f64,
    /// Mean F1 (the mean of per-class F1s, not the F1 of the means).
    pub f1: f64,
}

/// Everything derived from one confusion matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Unweighted class means.
    pub macro_avg: Averaged,
    /// Support-weighted class means.
    pub weighted_avg: Averaged,
    /// Per-class scores, indexed by class.
    pub per_class: Vec<ClassScores>,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ConfusionMatrix {
    /// Counts the pairs (`truth[i]`, `predicted[i]`).
    ///
    /// # Errors
    /// Lengths differ, k = 0, or a class id ≥ k.
    pub fn new(truth: &[usize], predicted: &[usize], k: usize) -> anyhow::Result<ConfusionMatrix> {
        anyhow::ensure!(
            truth.len() == predicted.len(),
            "confusion matrix: {} true labels but {} predictions",
            truth.len(),
            predicted.len()
        );
        anyhow::ensure!(k >= 1, "confusion matrix: need at least one class");
        let mut counts = vec![vec![0u64; k]; k];
        for (i, (&t, &p)) in truth.iter().zip(predicted).enumerate() {
            anyhow::ensure!(
                t < k && p < k,
                "confusion matrix: item {i} has true class {t} and prediction {p}, but k = {k}"
            );
            counts[t][p] += 1;
        }
        Ok(ConfusionMatrix { k, counts })
    }

    /// Counts over the items listed in `indices` (a bootstrap resample; repeats count again).
    ///
    /// # Errors
    /// As [`ConfusionMatrix::new`], or an index out of range.
    pub fn from_indices(
        truth: &[usize],
        predicted: &[usize],
        k: usize,
        indices: &[usize],
    ) -> anyhow::Result<ConfusionMatrix> {
        let mut cm = ConfusionMatrix::new(&[], &[], k)?;
        for &i in indices {
            let (t, p) = (truth.get(i), predicted.get(i));
            match (t, p) {
                (Some(&t), Some(&p)) if t < k && p < k => cm.counts[t][p] += 1,
                _ => anyhow::bail!("confusion matrix: bad item index {i} or class id"),
            }
        }
        Ok(cm)
    }

    /// Total number of items.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Σ_c TP_c / n (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let tp: u64 = (0..self.k).map(|c| self.counts[c][c]).sum();
        ratio(tp, self.total())
    }

    /// The one-vs-rest scores of class `c`.
    ///
    /// # Panics
    /// If `c >= k`.
    pub fn class(&self, c: usize) -> ClassScores {
        let tp = self.counts[c][c];
        let support: u64 = self.counts[c].iter().sum();
        let predicted: u64 = (0..self.k).map(|t| self.counts[t][c]).sum();
        let (fn_, fp) = (support - tp, predicted - tp);
        let tn = self.total() - tp - fn_ - fp;
        ClassScores {
            support,
            sensitivity: ratio(tp, tp + fn_),
            ppv: ratio(tp, tp + fp),
            specificity: ratio(tn, tn + fp),
            f1: ratio(2 * tp, 2 * tp + fp + fn_),
        }
    }

    /// Per-class scores for every class.
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.k).map(|c| self.class(c)).collect()
    }

    /// Unweighted means of precision, recall and F1 over the k classes.
    pub fn macro_avg(&self) -> Averaged {
        let s = self.per_class();
        let k = self.k as f64;
        Averaged {
            precision: s.iter().map(|c| c.ppv).sum::<f64>() / k,
            recall: s.iter().map(|c| c.sensitivity).sum::<f64>() / k,
            f1: s.iter().map(|c| c.f1).sum::<f64>() / k,
        }
    }

    /// The macro-averaged F1.
    pub fn macro_f1(&self) -> f64 {
        self.macro_avg().f1
    }

    /// Support-weighted means of precision, recall (equals accuracy) and F1.
    pub fn weighted_avg(&self) -> Averaged {
        let s = self.per_class();
        let n = self.total() as f64;
        if n == 0.0 {
            return Averaged {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
            };
        }
        let w =
            |f: fn(&ClassScores) -> f64| s.iter().map(|c| c.support as f64 * f(c)).sum::<f64>() / n;
        Averaged {
            precision: w(|c| c.ppv),
            recall: w(|c| c.sensitivity),
            f1: w(|c| c.f1),
        }
    }

    /// All scores at once.
    pub fn report(&self) -> ClassificationReport {
        ClassificationReport {
            accuracy: self.accuracy(),
            macro_avg: self.macro_avg(),
            weighted_avg: self.weighted_avg(),
            per_class: self.per_class(),
        }
    }

    /// Rows normalised to sum to 1 (each true class's distribution of predictions; a row with
    /// no items stays 0).
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let s: u64 = row.iter().sum();
                row.iter().map(|&v| ratio(v, s)).collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 classes, 10 items, hand-counted:
    ///
    /// ```text
    ///            pred 0  pred 1  pred 2
    /// true 0       3       1       0      support 4
    /// true 1       1       2       0      support 3
    /// true 2       0       1       2      support 3
    /// ```
    fn example() -> ConfusionMatrix {
        let truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
        let pred = [0, 0, 0, 1, 0, 1, 1, 1, 2, 2];
        ConfusionMatrix::new(&truth, &pred, 3).unwrap()
    }

    #[test]
    fn confusion_matrix_hand_example() {
        let cm = example();
        assert_eq!(cm.counts, vec![vec![3, 1, 0], vec![1, 2, 0], vec![0, 1, 2]]);
        assert!((cm.accuracy() - 0.7).abs() < 1e-12);
        // Class 0: TP 3, FN 1, FP 1, TN 5.
        let c0 = cm.class(0);
        assert!((c0.sensitivity - 0.75).abs() < 1e-12);
        assert!((c0.ppv - 0.75).abs() < 1e-12);
        assert!((c0.specificity - 5.0 / 6.0).abs() < 1e-12);
        assert!((c0.f1 - 0.75).abs() < 1e-12);
        // Class 1: TP 2, FN 1, FP 2, TN 5 → sens 2/3, PPV 1/2, spec 5/7, F1 4/7.
        let c1 = cm.class(1);
        assert!((c1.sensitivity - 2.0 / 3.0).abs() < 1e-12);
        assert!((c1.ppv - 0.5).abs() < 1e-12);
        assert!((c1.specificity - 5.0 / 7.0).abs() < 1e-12);
        assert!((c1.f1 - 4.0 / 7.0).abs() < 1e-12);
        // Class 2: TP 2, FN 1, FP 0, TN 7 → sens 2/3, PPV 1, spec 1, F1 0.8.
        let c2 = cm.class(2);
        assert!((c2.ppv - 1.0).abs() < 1e-12 && (c2.f1 - 0.8).abs() < 1e-12);
        let m = cm.macro_avg();
        assert!((m.precision - (0.75 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert!((m.recall - (0.75 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((m.f1 - (0.75 + 4.0 / 7.0 + 0.8) / 3.0).abs() < 1e-12);
        let w = cm.weighted_avg();
        // Weighted recall equals accuracy.
        assert!((w.recall - 0.7).abs() < 1e-12);
        assert!((w.precision - (4.0 * 0.75 + 3.0 * 0.5 + 3.0 * 1.0) / 10.0).abs() < 1e-12);
        assert!((w.f1 - (4.0 * 0.75 + 3.0 * 4.0 / 7.0 + 3.0 * 0.8) / 10.0).abs() < 1e-12);
    }

    #[test]
    fn never_predicted_class_has_zero_ppv_not_nan() {
        let cm = ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 0], 2).unwrap();
        let c1 = cm.class(1);
        assert_eq!((c1.ppv, c1.sensitivity, c1.f1), (0.0, 0.0, 0.0));
        assert!(cm.macro_f1().is_finite());
    }

    #[test]
    fn from_indices_counts_repeats() {
        let cm = ConfusionMatrix::from_indices(&[0, 1], &[0, 0], 2, &[1, 1, 0]).unwrap();
        assert_eq!(cm.counts, vec![vec![1, 0], vec![2, 0]]);
        assert!(ConfusionMatrix::from_indices(&[0], &[0], 2, &[3]).is_err());
    }

    #[test]
    fn bad_labels_are_named() {
        let e = ConfusionMatrix::new(&[0, 5], &[0, 0], 3).unwrap_err();
        assert!(format!("{e}").contains("item 1"), "{e}");
    }
}
