//! Focal loss (Lin et al. 2017) for class-imbalanced beats: cross-entropy down-weighted on easy
//! examples.
//!
//! Shapes: logits z `[N, C]` with N class indices, or `[N, C, L]` with N·L indices (as
//! [`super::cross_entropy()`]); α: C per-class weights (default all 1), γ ≥ 0.
//! With p = softmax(z), pₜ = p_{n,yₙ} and qₜ = 1 − pₜ:
//!
//!   ℓₙ = −α_{yₙ}·qₜ^γ·log pₜ
//!
//! For γ = 0 this is exactly weighted cross-entropy (tested). Reductions: `Mean` ÷ the number of targets (the usual
//! focal convention), `WeightedMean` ÷ Σₙ α_{yₙ} (PyTorch's weighted-CE convention), `Sum`.
//!
//! Gradient: ∂ℓ/∂pₜ = α(γ·qₜ^{γ−1}·log pₜ − qₜ^γ/pₜ) and ∂pₜ/∂z_c = pₜ(δ_{c,y} − p_c), so
//!   ∂ℓₙ/∂z_c = gₙ·(δ_{c,y} − p_c),   gₙ = α_y·(γ·qₜ^{γ−1}·pₜ·log pₜ − qₜ^γ).
//! Numerics: log pₜ comes from the max-subtracted log-softmax; qₜ is computed as Σ_{c≠y} p_c,
//! which keeps its relative accuracy when pₜ ≈ 1 (1 − pₜ would cancel); q^γ = exp(γ·ln q), and
//! the γ·q^{γ−1}·pₜ·log pₜ term is taken as 0 when q = 0 (then log pₜ = 0 as well).

use ecgrad_engine::{Real, Tensor};

use super::{ScaledGradBackward, log_softmax_row};
use crate::error::{Result, invalid};
use crate::ops::tensor;
use crate::tape::{Tape, Var};

/// How focal losses are combined over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FocalReduction {
    /// ÷ N.
    #[default]
    Mean,
    /// ÷ Σₙ α_{yₙ}: with γ = 0 this equals `cross_entropy` with `weights = α` and mean reduction.
    WeightedMean,
    /// No division.
    Sum,
}

/// Options of [`focal`].
#[derive(Clone, Debug, Default)]
pub struct Focal<T: Real> {
    /// Per-class α (length C), or `None` for all ones.
    pub alpha: Option<Vec<T>>,
    /// Focusing parameter γ ≥ 0 (2 in the paper).
    pub gamma: f64,
    /// Batch reduction.
    pub reduction: FocalReduction,
}

/// q^p for q ≥ 0, with 0^p = 0 for p > 0 and q^0 = 1.
fn pow<T: Real>(q: T, p: T) -> T {
    if p == T::ZERO {
        T::ONE
    } else if q > T::ZERO {
        (p * q.ln()).exp()
    } else {
        T::ZERO
    }
}

/// Focal loss of `logits` `[N, C]` against class indices; see the module docs.
///
/// # Errors
/// As [`super::cross_entropy()`] for shapes, targets and α; γ must be finite and ≥ 0.
pub fn focal<T: Real>(
    tape: &mut Tape<T>,
    logits: &Var<T>,
    targets: &[usize],
    opts: &Focal<T>,
) -> Result<Var<T>> {
    let op = "focal";
    let layout = super::cross_entropy::validate(op, logits, targets, opts.alpha.as_deref())?;
    let (n, c) = (layout.rows, layout.c);
    if !(opts.gamma >= 0.0 && opts.gamma.is_finite()) {
        return Err(invalid(op, "gamma", opts.gamma, "must be finite and ≥ 0"));
    }
    let gamma = T::from_f64(opts.gamma);
    let ones = vec![T::ONE; c];
    let alpha = opts.alpha.as_deref().unwrap_or(&ones);
    let denom = match opts.reduction {
        FocalReduction::Mean => T::from_usize(n),
        FocalReduction::WeightedMean => targets.iter().map(|&y| alpha[y]).sum(),
        FocalReduction::Sum => T::ONE,
    };
    if !denom.is_finite() || denom <= T::ZERO {
        return Err(invalid(
            op,
            "alpha",
            "Σ α[target] = 0",
            "weighted mean divides by the targets' total α",
        ));
    }
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
        for (k, v) in zrow.iter_mut().enumerate() {
            *v = z[layout.index(row, k)];
        }
        log_softmax_row(&zrow, &mut logp);
        let pt = logp[y].exp();
        let q: T = (0..c).filter(|&k| k != y).map(|k| logp[k].exp()).sum();
        let qg = pow(q, gamma);
        loss += -alpha[y] * qg * logp[y];
        let focus = if gamma == T::ZERO || q <= T::ZERO {
            T::ZERO
        } else {
            gamma * pow(q, gamma - T::ONE) * pt * logp[y]
        };
        let g_row = alpha[y] * (focus - qg);
        for k in (0..c).filter(|_| want) {
            let onehot = if k == y { T::ONE } else { T::ZERO };
            grad[layout.index(row, k)] = g_row * (onehot - logp[k].exp()) / denom;
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
    use crate::loss::{CrossEntropy, Reduction, cross_entropy};
    use ecgrad_engine::Shape;

    #[test]
    fn focal_gradcheck_logits() {
        let z = random_tensor(&[5, 4], -3.0, 3.0, 81);
        let targets = [3, 0, 1, 1, 2];
        for gamma in [0.0, 0.5, 2.0, 3.5] {
            for alpha in [None, Some(vec![0.25, 1.0, 0.5, 2.0])] {
                for reduction in [
                    FocalReduction::Mean,
                    FocalReduction::WeightedMean,
                    FocalReduction::Sum,
                ] {
                    let opts = Focal {
                        alpha: alpha.clone(),
                        gamma,
                        reduction,
                    };
                    assert_gradcheck(
                        "focal",
                        |t, v| focal(t, &v[0], &targets, &opts),
                        std::slice::from_ref(&z),
                        82,
                    );
                }
            }
        }
    }

    #[test]
    fn focal_gradcheck_per_time_step_logits() {
        let z = random_tensor(&[2, 3, 5], -3.0, 3.0, 84);
        let targets = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1];
        let opts = Focal {
            alpha: Some(vec![0.5, 1.0, 2.0]),
            gamma: 2.0,
            reduction: FocalReduction::Mean,
        };
        assert_gradcheck(
            "focal [N, C, L]",
            |t, v| focal(t, &v[0], &targets, &opts),
            std::slice::from_ref(&z),
            85,
        );
    }

    #[test]
    fn focal_with_gamma_zero_equals_weighted_cross_entropy() {
        let z = random_tensor(&[6, 3], -4.0, 4.0, 83);
        let targets = [0, 2, 1, 1, 0, 2];
        let alpha = vec![0.3, 1.7, 0.9];
        let pairs = [
            (FocalReduction::WeightedMean, Reduction::Mean),
            (FocalReduction::Sum, Reduction::Sum),
        ];
        for (fr, cr) in pairs {
            let mut t = Tape::<f64>::new();
            let x = t.leaf(z.clone(), true);
            let fl = focal(
                &mut t,
                &x,
                &targets,
                &Focal {
                    alpha: Some(alpha.clone()),
                    gamma: 0.0,
                    reduction: fr,
                },
            )
            .unwrap();
            let ce = cross_entropy(
                &mut t,
                &x,
                &targets,
                &CrossEntropy {
                    weights: Some(alpha.clone()),
                    label_smoothing: 0.0,
                    reduction: cr,
                },
            )
            .unwrap();
            let (a, b) = (fl.value().data()[0], ce.value().data()[0]);
            assert!((a - b).abs() <= 1e-14 * b.abs(), "value {a} vs {b}");
            // Gradients too: backward from each separately.
            let gf = {
                let mut t = Tape::<f64>::new();
                let x = t.leaf(z.clone(), true);
                let l = focal(
                    &mut t,
                    &x,
                    &targets,
                    &Focal {
                        alpha: Some(alpha.clone()),
                        gamma: 0.0,
                        reduction: fr,
                    },
                )
                .unwrap();
                t.backward(&l).unwrap().get(x.id()).unwrap().clone()
            };
            let gc = {
                let mut t = Tape::<f64>::new();
                let x = t.leaf(z.clone(), true);
                let l = cross_entropy(
                    &mut t,
                    &x,
                    &targets,
                    &CrossEntropy {
                        weights: Some(alpha.clone()),
                        label_smoothing: 0.0,
                        reduction: cr,
                    },
                )
                .unwrap();
                t.backward(&l).unwrap().get(x.id()).unwrap().clone()
            };
            ecgrad_engine::testing::assert_close(
                gf.data(),
                gc.data(),
                1e-15,
                1e-13,
                "focal γ=0 vs CE gradient",
            );
        }
    }

    #[test]
    fn hand_computed_focal_value() {
        // Logits [ln 3, 0] → p = [3/4, 1/4]; target 0, γ = 2, α = 1: ℓ = −(1/4)²·ln(3/4).
        let z = Tensor::from_vec(Shape::d2(1, 2), vec![3f64.ln(), 0.0]).unwrap();
        let mut t = Tape::<f64>::no_grad();
        let x = t.input(z);
        let l = focal(
            &mut t,
            &x,
            &[0],
            &Focal {
                gamma: 2.0,
                ..Default::default()
            },
        )
        .unwrap();
        let want = -(0.25f64 * 0.25) * 0.75f64.ln();
        assert!((l.value().data()[0] - want).abs() < 1e-16);
    }

    #[test]
    fn certain_prediction_gives_zero_loss_and_finite_gradient() {
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(Shape::d2(1, 2), vec![800.0, -800.0]).unwrap(),
            true,
        );
        let l = focal(
            &mut t,
            &x,
            &[0],
            &Focal {
                gamma: 0.5,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.value().data()[0], 0.0);
        let g = t.backward(&l).unwrap();
        assert!(g.get(x.id()).unwrap().data().iter().all(|v| v.is_finite()));
    }
}
