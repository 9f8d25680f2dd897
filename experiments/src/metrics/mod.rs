//! Metrics: classification scores from a confusion matrix, ROC/AUC, bootstrap confidence
//! intervals (by item or by patient), and the denoising scores (SNR, RMSE, PRD).
//!
//! | what | file |
//! |---|---|
//! | confusion matrix, accuracy, per-class sensitivity/PPV/specificity/F1, macro & weighted P/R/F1 | `classification.rs` |
//! | one-vs-rest ROC curves and AUC (ties handled) | `roc.rs` |
//! | percentile bootstrap 95 % CIs, resampling items or groups | `bootstrap.rs` |
//! | SNR, SNR improvement, RMSE, PRD | `signal.rs` |
//! | every classification score with its CI in one call (fast AUC per resample) | `summary.rs` |
//!
//! A typical table cell with its interval (every statistic on the same resamples):
//! ```
//! use ecgrad_experiments::metrics::{ConfusionMatrix, bootstrap, Unit};
//! let truth = [0, 0, 1, 1, 1, 2];
//! let pred = [0, 1, 1, 1, 1, 2];
//! let cis = bootstrap(truth.len(), Unit::Items, 1000, 42, |idx| {
//!     let cm = ConfusionMatrix::from_indices(&truth, &pred, 3, idx).expect("valid labels");
//!     vec![cm.accuracy(), cm.macro_f1()]
//! })?;
//! println!("accuracy {}", cis[0]); // "0.833 [0.500, 1.000]"
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod bootstrap;
pub mod classification;
pub mod roc;
pub mod signal;
pub mod summary;

pub use bootstrap::{Ci, DEFAULT_RESAMPLES, Unit, bootstrap, percentile_sorted};
pub use classification::{Averaged, ClassScores, ClassificationReport, ConfusionMatrix};
pub use roc::{RocCurve, auc, auc_one_vs_rest_at, roc_curve, roc_one_vs_rest, trapezoid};
pub use signal::{DenoiseScores, denoise_scores, prd, prdn, rmse, snr_db, snr_improvement_db};
pub use summary::{ClassCis, ClassificationCis, classification_cis, weighted_auc};

use ecgrad_engine::Tensor;

/// The index of the largest value of each row of a `[n, k]` tensor (the predicted class; the
/// first index wins ties, as `torch.argmax`).
///
/// # Errors
/// If the tensor is not rank 2 with k ≥ 1.
pub fn argmax_rows(x: &Tensor<f32>) -> anyhow::Result<Vec<usize>> {
    let (n, k) = rows_cols(x)?;
    Ok((0..n)
        .map(|i| {
            let row = &x.data()[i * k..(i + 1) * k];
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect())
}

/// Row-wise softmax of `[n, k]` logits, max-subtracted so exp never overflows:
/// pⱼ = e^{zⱼ−m} / Σₖ e^{zₖ−m} (computed in f64, returned as f32).
///
/// # Errors
/// If the tensor is not rank 2 with k ≥ 1.
pub fn softmax_rows(x: &Tensor<f32>) -> anyhow::Result<Tensor<f32>> {
    let (n, k) = rows_cols(x)?;
    let mut out = Vec::with_capacity(n * k);
    for row in x.data().chunks(k) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = row.iter().map(|&z| f64::from(z - m).exp()).collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| (v / s) as f32));
    }
    Ok(Tensor::from_vec(x.shape(), out)?)
}

fn rows_cols(x: &Tensor<f32>) -> anyhow::Result<(usize, usize)> {
    match *x.dims() {
        [n, k] if k >= 1 => Ok((n, k)),
        _ => anyhow::bail!("expected a [n, classes] tensor, got shape {}", x.shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_engine::Shape;

    #[test]
    fn argmax_and_softmax_rows() {
        let x = Tensor::from_vec(Shape::d2(2, 3), vec![1.0, 3.0, 3.0, 0.0, 0.0, 1000.0]).unwrap();
        assert_eq!(argmax_rows(&x).unwrap(), vec![1, 2]);
        let p = softmax_rows(&x).unwrap();
        let d = p.data();
        // Row 0: e¹, e³, e³ over their sum.
        let s = 1f64.exp() + 2.0 * 3f64.exp();
        assert!((f64::from(d[0]) - 1f64.exp() / s).abs() < 1e-6);
        assert!((d[5] - 1.0).abs() < 1e-6 && d[3].is_finite());
        assert!(argmax_rows(&Tensor::zeros(Shape::d1(3))).is_err());
    }
}
