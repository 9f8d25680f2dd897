//! # Test-set scores of one model or ensemble, each with a 95 % bootstrap interval
//!
//! From class probabilities `[n, k]` and true labels: accuracy; macro and weighted precision,
//! recall and F1; the F1 of macro precision and macro recall (2·P·R/(P + R)); per class
//! sensitivity, PPV, F1 and one-vs-rest AUC; and the mean of the per-class AUCs. Every number
//! comes from infra's confusion matrix and ROC code (`crate::metrics`), and every interval
//! from one percentile bootstrap (`metrics::bootstrap`) in which all statistics share the same
//! resamples: by **beat** for intra-patient, by **patient** (whole records drawn with
//! replacement) for inter-patient, where beats of one patient are not independent.
//!
//! **Which F1 is the paper's?** It reports F1 0.958 with precision 0.986 and recall 0.934.
//! Weighted recall equals accuracy, so a weighted recall of 0.934 would mean an accuracy far
//! below the CNN-LSTM's 0.982; and precision well above recall is the signature of a macro
//! average on imbalanced classes (minority recall is what suffers). 2·0.986·0.934/(0.986 +
//! 0.934) = 0.959 ≈ 0.958, so the paper's single F1 most plausibly is a **macro** F1 (either
//! the mean of per-class F1s or the F1 of macro P and R — both are reported here).

use anyhow::Result;
use serde::Serialize;

use crate::metrics::{Ci, ConfusionMatrix, Unit, auc_one_vs_rest_at, bootstrap};

/// Which statement the tables make about the paper's F1.
pub const PAPER_F1_NOTE: &str = "The paper's F1 (0.958 with P 0.986, R 0.934) is most plausibly a macro average: weighted recall equals accuracy, P ≫ R is the imbalanced-macro signature, and 2PR/(P+R) = 0.959.";

/// One class's scores with intervals.
#[derive(Clone, Debug, Serialize)]
pub struct ClassCi {
    /// Class name.
    pub class: String,
    /// Test beats of the class.
    pub support: usize,
    /// Sensitivity (recall).
    pub sensitivity: Ci,
    /// Positive predictive value (precision).
    pub ppv: Ci,
    /// F1.
    pub f1: Ci,
    /// One-vs-rest AUC.
    pub auc: Ci,
}

/// Every score of one model on one test set.
#[derive(Clone, Debug, Serialize)]
pub struct Scores {
    /// Fraction correct.
    pub accuracy: Ci,
    /// Macro precision.
    pub macro_precision: Ci,
    /// Macro recall.
    pub macro_recall: Ci,
    /// Macro F1 (mean of per-class F1).
    pub macro_f1: Ci,
    /// 2·P·R/(P + R) of macro P and R.
    pub f1_of_macro_pr: Ci,
    /// Weighted precision.
    pub weighted_precision: Ci,
    /// Weighted recall (= accuracy).
    pub weighted_recall: Ci,
    /// Weighted F1.
    pub weighted_f1: Ci,
    /// Mean one-vs-rest AUC over the classes.
    pub macro_auc: Ci,
    /// Per-class scores.
    pub per_class: Vec<ClassCi>,
    /// Confusion matrix counts (rows true, columns predicted).
    pub confusion: Vec<Vec<u64>>,
    /// `"beats"` or `"patients"`.
    pub resampled: String,
    /// Bootstrap resamples.
    pub resamples: usize,
}

/// Predicted classes (argmax, first on ties) of `[n, k]` probabilities.
pub fn predicted(probs: &[f32], k: usize) -> Vec<usize> {
    probs.chunks_exact(k).map(super::output::argmax).collect()
}

/// Scores of `probs` (`[n, k]`, row-major) against `truth`; `groups` (patient ids) switches
/// the bootstrap to whole patients. `resamples` ≥ 1000 for reported numbers.
///
/// # Errors
/// Size mismatches, class ids ≥ k, or fewer than 1 resample.
pub fn score(
    probs: &[f32],
    k: usize,
    class_names: &[String],
    truth: &[usize],
    groups: Option<&[usize]>,
    resamples: usize,
    seed: u64,
) -> Result<Scores> {
    let n = truth.len();
    anyhow::ensure!(
        k >= 2 && probs.len() == n * k && class_names.len() == k,
        "score: {} probabilities, {n} labels, {k} classes",
        probs.len()
    );
    let pred = predicted(probs, k);
    let cm = ConfusionMatrix::new(truth, &pred, k)?;
    let stat = |idx: &[usize]| -> Vec<f64> {
        let Ok(cm) = ConfusionMatrix::from_indices(truth, &pred, k, idx) else {
            return vec![f64::NAN; 9 + 4 * k];
        };
        let (m, w) = (cm.macro_avg(), cm.weighted_avg());
        let f1pr = if m.precision + m.recall > 0.0 {
            2.0 * m.precision * m.recall / (m.precision + m.recall)
        } else {
            0.0
        };
        let mut v = vec![
            cm.accuracy(),
            m.precision,
            m.recall,
            m.f1,
            f1pr,
            w.precision,
            w.recall,
            w.f1,
        ];
        let mut auc_sum = 0.0;
        for c in 0..k {
            let s = cm.class(c);
            let auc = auc_one_vs_rest_at(probs, k, truth, c, idx);
            auc_sum += auc;
            v.extend([s.sensitivity, s.ppv, s.f1, auc]);
        }
        v.push(auc_sum / k as f64);
        v
    };
    let unit = match groups {
        Some(g) => Unit::Groups(g),
        None => Unit::Items,
    };
    let ci = bootstrap(n, unit, resamples, seed, stat)?;
    let support = cm.per_class();
    let per_class = (0..k)
        .map(|c| ClassCi {
            class: class_names[c].clone(),
            support: support[c].support as usize,
            sensitivity: ci[8 + 4 * c],
            ppv: ci[9 + 4 * c],
            f1: ci[10 + 4 * c],
            auc: ci[11 + 4 * c],
        })
        .collect();
    Ok(Scores {
        accuracy: ci[0],
        macro_precision: ci[1],
        macro_recall: ci[2],
        macro_f1: ci[3],
        f1_of_macro_pr: ci[4],
        weighted_precision: ci[5],
        weighted_recall: ci[6],
        weighted_f1: ci[7],
        macro_auc: ci[8 + 4 * k],
        per_class,
        confusion: cm.counts,
        resampled: if groups.is_some() {
            "patients".into()
        } else {
            "beats".into()
        },
        resamples,
    })
}
