//! Softmax cross-entropy on logits, with class weights and label smoothing (PyTorch semantics).
//!
//! Shapes: logits z `[N, C]` with N class indices, or `[N, C, L]` (a class per time step) with
//! N·L indices in `[N, L]` order; weights w: C values (default all 1).
//! With log p = log_softmax(z) (max-subtracted) and smoothing ε:
//!
//!   ℓₙ = (1 − ε)·w_{yₙ}·(−log p_{n,yₙ}) + (ε/C)·Σ_c w_c·(−log p_{n,c})
//!   L  = Σₙ ℓₙ / D,   D = Σₙ w_{yₙ} (Mean) or 1 (Sum).
//!
//! Note PyTorch's convention: with weights, `mean` divides by the **sum of the targets'
//! weights**, not by N, for both the NLL and the smoothing term (so with w = 1 it is N).
//!
//! Gradient (using ∂(−log p_k)/∂z_c = p_c − δ_{kc} and W = Σ_k w_k):
//!   ∂ℓₙ/∂z_c = (1 − ε)·w_{yₙ}·(p_c − δ_{c,yₙ}) + (ε/C)·(W·p_c − w_c),   then ÷ D.
//! Cost: about 3·N·C exp/add. No `ignore_index`: every target counts.

use ecgrad_engine::{Real, Tensor};

use super::{Reduction, ScaledGradBackward, log_softmax_row};
use crate::error::{Result, invalid};
use crate::ops::tensor;
use crate::tape::{Tape, Var};

/// Options of [`cross_entropy`]; `Default` is PyTorch's (no weights, ε = 0, mean).
#[derive(Clone, Debug, Default)]
pub struct CrossEntropy<T: Real> {
    /// Per-class weights (length C), or `None` for all ones.
    pub weights: Option<Vec<T>>,
    /// Label smoothing ε in [0, 1].
    pub label_smoothing: f64,
    /// Mean (÷ Σ target weights) or sum.
    pub reduction: Reduction,
}

/// How class scores are laid out: logits `[N, C]` (inner = 1) or `[N, C, L]` (inner = L, one
/// prediction per time step, as for ECG delineation). A "row" is one (n, l) position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassLayout {
    /// Number of rows, N·inner (= the number of targets).
    pub(crate) rows: usize,
    /// Number of classes C.
    pub(crate) c: usize,
    /// Positions per sample (1 or L).
    pub(crate) inner: usize,
}

impl ClassLayout {
    /// Flat index of class k's score in row r = n·inner + l: ((n·C + k)·inner + l).
    pub(crate) fn index(&self, r: usize, k: usize) -> usize {
        let (n, l) = (r / self.inner, r % self.inner);
        (n * self.c + k) * self.inner + l
    }
}

/// Checks targets and weights against the logits' layout (shared with focal loss).
pub(crate) fn validate<T: Real>(
    op: &'static str,
    logits: &Var<T>,
    targets: &[usize],
    weights: Option<&[T]>,
) -> Result<ClassLayout> {
    let (n, c, inner) = match *logits.shape().dims() {
        [n, c] => (n, c, 1),
        [n, c, l] => (n, c, l),
        _ => {
            return Err(invalid(
                op,
                "logits",
                logits.shape(),
                "must be [N, C] or [N, C, L]",
            ));
        }
    };
    let n = n * inner;
    if targets.len() != n {
        return Err(invalid(
            op,
            "targets",
            format!("{} labels", targets.len()),
            format!(
                "need one label per row (N, or N·L in [N, L] order) of logits {}",
                logits.shape()
            ),
        ));
    }
    if let Some(&bad) = targets.iter().find(|&&t| t >= c) {
        return Err(invalid(
            op,
            "target",
            bad,
            format!("class index must be < C = {c}"),
        ));
    }
    if let Some(w) = weights {
        if w.len() != c {
            return Err(invalid(
                op,
                "weights",
                format!("{} values", w.len()),
                format!("need one weight per class (C = {c})"),
            ));
        }
        if let Some(bad) = w.iter().find(|v| !v.is_finite() || **v < T::ZERO) {
            return Err(invalid(
                op,
                "weight",
                bad,
                "class weights must be finite and ≥ 0",
            ));
        }
    }
    Ok(ClassLayout { rows: n, c, inner })
}

/// Softmax cross-entropy of `logits` `[N, C]` against class indices; see the module docs.
///
/// # Errors
/// Rank/parameter errors for a non-`[N, C]` input, wrong target count, a class index ≥ C, a
/// weight vector of the wrong length or with negative entries, ε outside [0, 1], or (Mean) a
/// zero total target weight (PyTorch would return NaN).
pub fn cross_entropy<T: Real>(
    tape: &mut Tape<T>,
    logits: &Var<T>,
    targets: &[usize],
    opts: &CrossEntropy<T>,
) -> Result<Var<T>> {
    let op = "cross_entropy";
    let layout = validate(op, logits, targets, opts.weights.as_deref())?;
    let c = layout.c;
    let eps = opts.label_smoothing;
    if !(0.0..=1.0).contains(&eps) {
        return Err(invalid(op, "label_smoothing", eps, "must be in [0, 1]"));
    }
    let ones = vec![T::ONE; c];
    let w = opts.weights.as_deref().unwrap_or(&ones);
    let w_total: T = w.iter().copied().sum();
    let denom = match opts.reduction {
        Reduction::Sum => T::ONE,
        Reduction::Mean => targets.iter().map(|&y| w[y]).sum(),
    };
    if !denom.is_finite() || denom <= T::ZERO {
        return Err(invalid(
            op,
            "weights",
            "Σ w[target] = 0",
            "mean reduction divides by the targets' total weight",
        ));
    }
    let (keep, smooth) = (T::from_f64(1.0 - eps), T::from_f64(eps) / T::from_usize(c));
    let z = logits.value().data();
    let mut logp = vec![T::ZERO; c];
    let mut loss = T::ZERO;
    let mut zrow = vec![T::ZERO; c];
    let want = tape.requires_grad(logits);
    let mut grad = if want {
        vec![T::ZERO; z.len()]
    } else {
        Vec::new()
    };
    for (row, &y) in targets.iter().enumerate() {
        // Gather the row's C scores (stride `inner` for [N, C, L] logits).
        for (k, v) in zrow.iter_mut().enumerate() {
            *v = z[layout.index(row, k)];
        }
        log_softmax_row(&zrow, &mut logp);
        let smooth_term: T = (0..c).map(|k| w[k] * -logp[k]).sum();
        loss += keep * w[y] * -logp[y] + smooth * smooth_term;
        for k in (0..c).filter(|_| want) {
            let p = logp[k].exp();
            let onehot = if k == y { T::ONE } else { T::ZERO };
            grad[layout.index(row, k)] =
                (keep * w[y] * (p - onehot) + smooth * (w_total * p - w[k])) / denom;
        }
    }
    let value = Tensor::scalar(loss / denom);
    // The gradient was only computed if something will use it (not under no_grad/eval).
    let shape = logits.shape();
    tape.record(op, &[logits], value, move || {
        Box::new(ScaledGradBackward {
            name: op,
            grads: vec![Some(tensor(shape, grad))],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use ecgrad_engine::Shape;

    fn value(logits: Tensor<f64>, targets: &[usize], opts: &CrossEntropy<f64>) -> f64 {
        let mut t = Tape::no_grad();
        let z = t.input(logits);
        cross_entropy(&mut t, &z, targets, opts)
            .unwrap()
            .value()
            .data()[0]
    }

    #[test]
    fn cross_entropy_gradcheck_logits_all_options() {
        let z = random_tensor(&[4, 3], -3.0, 3.0, 71);
        let targets = [2, 0, 1, 2];
        for weights in [None, Some(vec![0.2, 1.0, 3.0])] {
            for label_smoothing in [0.0, 0.1] {
                for reduction in [Reduction::Mean, Reduction::Sum] {
                    let opts = CrossEntropy {
                        weights: weights.clone(),
                        label_smoothing,
                        reduction,
                    };
                    assert_gradcheck(
                        "cross_entropy",
                        |t, v| cross_entropy(t, &v[0], &targets, &opts),
                        std::slice::from_ref(&z),
                        72,
                    );
                }
            }
        }
    }

    #[test]
    fn cross_entropy_gradcheck_per_time_step_logits() {
        // [N, C, L] = [2, 3, 4]: one class per time step, targets in [N, L] order.
        let z = random_tensor(&[2, 3, 4], -3.0, 3.0, 74);
        let targets = [0, 1, 2, 2, 1, 0, 0, 2];
        let opts = CrossEntropy {
            weights: Some(vec![0.5, 1.0, 2.0]),
            label_smoothing: 0.1,
            reduction: Reduction::Mean,
        };
        assert_gradcheck(
            "cross_entropy [N, C, L]",
            |t, v| cross_entropy(t, &v[0], &targets, &opts),
            std::slice::from_ref(&z),
            75,
        );
        // Same value as the [N·L, C] layout built by moving the class axis last.
        let mut rows = Vec::new();
        for n in 0..2 {
            for l in 0..4 {
                for c in 0..3 {
                    rows.push(z.data()[(n * 3 + c) * 4 + l]);
                }
            }
        }
        let flat = Tensor::from_vec(Shape::d2(8, 3), rows).unwrap();
        let (a, b) = (value(z, &targets, &opts), value(flat, &targets, &opts));
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }

    #[test]
    fn hand_computed_uniform_logits() {
        // All logits 0 with C = 4 → p = 1/4, −log p = ln 4 for every class.
        let z = Tensor::zeros(Shape::d2(2, 4));
        let ln4 = 4f64.ln();
        assert!((value(z.clone(), &[0, 3], &CrossEntropy::default()) - ln4).abs() < 1e-15);
        // Weights w = [1, 2, 3, 4], targets 0 and 3: NLL part = (1 + 4)·ln4 / (1 + 4) = ln4;
        // smoothing ε = 0.2: per row (ε/C)·Σ w_c·ln4 = 0.05·10·ln4 = 0.5·ln4, two rows → ln4,
        // divided by D = 5 → 0.2·ln4. Total = 0.8·ln4 + 0.2·ln4 = ln4.
        let opts = CrossEntropy {
            weights: Some(vec![1.0, 2.0, 3.0, 4.0]),
            label_smoothing: 0.2,
            reduction: Reduction::Mean,
        };
        assert!((value(z.clone(), &[0, 3], &opts) - ln4).abs() < 1e-15);
        // Sum: NLL (0.8)·(1 + 4)·ln4 = 4·ln4 plus smoothing 2·0.5·ln4 = ln4 → 5·ln4.
        let opts = CrossEntropy {
            reduction: Reduction::Sum,
            ..opts
        };
        assert!((value(z, &[0, 3], &opts) - 5.0 * ln4).abs() < 1e-14);
    }

    #[test]
    fn weighted_mean_divides_by_target_weights_not_n() {
        // Logits row 0 = [ln 3, 0] → p = [3/4, 1/4]; row 1 = [0, 0] → p = [1/2, 1/2].
        // targets [0, 1], weights [2, 1]: Σ w·nll = 2·ln(4/3) + 1·ln 2, D = 2 + 1 = 3.
        let z = Tensor::from_vec(Shape::d2(2, 2), vec![3f64.ln(), 0.0, 0.0, 0.0]).unwrap();
        let opts = CrossEntropy {
            weights: Some(vec![2.0, 1.0]),
            ..Default::default()
        };
        let want = (2.0 * (4.0f64 / 3.0).ln() + 2f64.ln()) / 3.0;
        assert!((value(z, &[0, 1], &opts) - want).abs() < 1e-15);
    }

    #[test]
    fn large_logits_stay_finite() {
        let z = Tensor::from_vec(Shape::d2(1, 3), vec![1000.0, -1000.0, 0.0]).unwrap();
        let v = value(z.clone(), &[1], &CrossEntropy::default());
        assert!((v - 2000.0).abs() < 1e-9, "{v}");
        assert_eq!(value(z, &[0], &CrossEntropy::default()), 0.0);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut t = Tape::<f64>::new();
        let z = t.input(Tensor::zeros(Shape::d2(2, 3)));
        let d = CrossEntropy::default();
        assert!(cross_entropy(&mut t, &z, &[0], &d).is_err());
        assert!(cross_entropy(&mut t, &z, &[0, 3], &d).is_err());
        let w = CrossEntropy {
            weights: Some(vec![1.0, 1.0]),
            ..Default::default()
        };
        assert!(cross_entropy(&mut t, &z, &[0, 1], &w).is_err());
        let w = CrossEntropy {
            weights: Some(vec![0.0, 1.0, 1.0]),
            ..Default::default()
        };
        assert!(
            cross_entropy(&mut t, &z, &[0, 0], &w).is_err(),
            "zero total weight"
        );
        let r1 = t.input(Tensor::zeros(Shape::d1(3)));
        assert!(
            cross_entropy(&mut t, &r1, &[0], &d).is_err(),
            "rank-1 logits"
        );
        let s = CrossEntropy {
            label_smoothing: 1.5,
            ..Default::default()
        };
        assert!(cross_entropy(&mut t, &z, &[0, 1], &s).is_err());
    }
}
