//! Softmax and log-softmax over the last axis, recorded on the tape; max-subtracted forward and
//! backward kernels are the engine's (`engine/src/ops/softmax/`).
//!
//! Forward, per row x of the last axis, m = maxₖ xₖ:
//! softmax yⱼ = e^(xⱼ − m) / Σₖ e^(xₖ − m);  log_softmax yⱼ = (xⱼ − m) − ln Σₖ e^(xₖ − m).
//! Shapes: y has x's shape.   Cost: ≈ 4 FLOPs + 1 exp per element, the same backward.
//!
//! Gradients, both from the saved **output** y only (the input is not kept):
//! - softmax:     dx = y ⊙ (dy − ⟨dy, y⟩)        (∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ));
//! - log_softmax: dx = dy − e^y · Σⱼ dyⱼ          (∂yᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ, softmax = e^y).
//!
//! The fused loss [`crate::loss::cross_entropy()`] equals `−Σ (one-hot ⊙ log_softmax) / N`; the
//! test `fused_cross_entropy_matches_log_softmax_and_gather` checks it in value and gradient.

use ecgrad_engine::ops::softmax as es;
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `softmax` (`log = false`) and `log_softmax` (`log = true`): saves the output.
struct SoftmaxBackward<T: Real> {
    y: Tensor<T>,
    log: bool,
}

impl<T: Real> Backward<T> for SoftmaxBackward<T> {
    fn name(&self) -> &'static str {
        if self.log { "log_softmax" } else { "softmax" }
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let dx = if self.log {
            es::log_softmax_grad(&self.y, dy)?
        } else {
            es::softmax_grad(&self.y, dy)?
        };
        Ok(vec![Some(dx)])
    }
}

/// Softmax over the last axis (e.g. the classes of `[N, C]` logits).
///
/// # Errors
/// `InvalidParam` for a rank-0 tensor; `EmptyOutput` for an empty one.
pub fn softmax<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let y = es::softmax(x.value())?;
    let saved = y.clone();
    tape.record("softmax", &[x], y, || {
        Box::new(SoftmaxBackward {
            y: saved,
            log: false,
        })
    })
}

/// Log-softmax over the last axis (fused: finite where `ln(softmax)` would be −∞).
///
/// # Errors
/// As [`softmax`].
pub fn log_softmax<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let y = es::log_softmax(x.value())?;
    let saved = y.clone();
    tape.record("log_softmax", &[x], y, || {
        Box::new(SoftmaxBackward {
            y: saved,
            log: true,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::loss::{CrossEntropy, cross_entropy};
    use crate::ops::{mul, scale, sum};
    use ecgrad_engine::Shape;

    /// Rank 1 to 4, a single class, odd row lengths.
    const SHAPES: [&[usize]; 5] = [&[1], &[5], &[3, 1], &[2, 3, 7], &[2, 1, 2, 9]];

    #[test]
    fn softmax_and_log_softmax_gradcheck_x() {
        for dims in SHAPES {
            let x = random_tensor(dims, -3.0, 3.0, 51);
            assert_gradcheck(
                "softmax",
                |t, v| softmax(t, &v[0]),
                std::slice::from_ref(&x),
                52,
            );
            assert_gradcheck("log_softmax", |t, v| log_softmax(t, &v[0]), &[x], 53);
        }
    }

    #[test]
    fn softmax_gradcheck_with_large_logits() {
        // Logits around 500 overflow e^x in f64 without the max subtraction.
        let mut x = random_tensor(&[3, 4], -2.0, 2.0, 54);
        x.data_mut().iter_mut().for_each(|v| *v += 500.0);
        assert_gradcheck(
            "softmax",
            |t, v| softmax(t, &v[0]),
            std::slice::from_ref(&x),
            55,
        );
        assert_gradcheck("log_softmax", |t, v| log_softmax(t, &v[0]), &[x], 56);
    }

    /// −Σₙ Σ_c M\[n,c\]·log_softmax(z)\[n,c\] / D with the constant M\[n,c\] =
    /// (1 − ε)·w_{yₙ}·δ_{c,yₙ} + (ε/C)·w_c: "log_softmax then gather the target" (the one-hot
    /// part) plus the smoothing term, built from separately checked ops.
    fn composed(
        tape: &mut Tape<f64>,
        z: &Var<f64>,
        targets: &[usize],
        w: &[f64],
        eps: f64,
    ) -> Result<Var<f64>> {
        let (n, c) = z.shape().dims2("composed", "z")?;
        let mut m = vec![0.0; n * c];
        for (row, &y) in targets.iter().enumerate() {
            m[row * c + y] += (1.0 - eps) * w[y];
            for k in 0..c {
                m[row * c + k] += eps / c as f64 * w[k];
            }
        }
        let d: f64 = targets.iter().map(|&y| w[y]).sum();
        let m = tape.input(Tensor::from_vec(Shape::d2(n, c), m)?);
        let logp = log_softmax(tape, z)?;
        let picked = mul(tape, &logp, &m)?;
        let s = sum(tape, &picked)?;
        scale(tape, &s, -1.0 / d)
    }

    #[test]
    fn fused_cross_entropy_matches_log_softmax_and_gather() {
        let (n, c) = (5, 4);
        let targets = [0, 3, 1, 3, 2];
        for (weights, eps) in [
            (None, 0.0),
            (Some(vec![0.5, 2.0, 1.0, 0.25]), 0.0),
            (Some(vec![0.5, 2.0, 1.0, 0.25]), 0.1),
            (None, 0.3),
        ] {
            let w = weights.clone().unwrap_or(vec![1.0; c]);
            let opts = CrossEntropy {
                weights,
                label_smoothing: eps,
                ..Default::default()
            };
            let z0 = random_tensor(&[n, c], -3.0, 3.0, 57);
            let run = |fused: bool| {
                let mut t = Tape::<f64>::new();
                let z = t.leaf(z0.clone(), true);
                let l = if fused {
                    cross_entropy(&mut t, &z, &targets, &opts).unwrap()
                } else {
                    composed(&mut t, &z, &targets, &w, eps).unwrap()
                };
                let value = l.value().data()[0];
                let g = t.backward(&l).unwrap();
                (value, g.get(z.id()).unwrap().clone())
            };
            let ((vf, gf), (vc, gc)) = (run(true), run(false));
            assert!(
                (vf - vc).abs() <= 1e-13 * vf.abs().max(1.0),
                "value {vf} vs {vc}"
            );
            for (i, (a, b)) in gf.data().iter().zip(gc.data()).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-13,
                    "grad[{i}]: fused {a} vs composed {b}"
                );
            }
            // And the composition itself passes the gradcheck.
            assert_gradcheck(
                "composed cross-entropy",
                |t, v| composed(t, &v[0], &targets, &w, eps),
                &[z0],
                58,
            );
        }
    }

    #[test]
    fn hand_computed_softmax() {
        // softmax([0, ln 2]) = [1/3, 2/3]; with dy = [1, 0]: ⟨dy, y⟩ = 1/3, dx = y ⊙ (dy − 1/3)
        // = [1/3·2/3, 2/3·(−1/3)] = [2/9, −2/9].
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(Shape::d1(2), vec![0.0, 2f64.ln()]).unwrap(),
            true,
        );
        let y = softmax(&mut t, &x).unwrap();
        assert!((y.value().data()[0] - 1.0 / 3.0).abs() < 1e-15);
        let g = t
            .backward_from(
                &y,
                Tensor::from_vec(Shape::d1(2), vec![1.0, 0.0]).unwrap(),
                &[],
            )
            .unwrap();
        let dx = g.get(x.id()).unwrap().data();
        assert!(
            (dx[0] - 2.0 / 9.0).abs() < 1e-15 && (dx[1] + 2.0 / 9.0).abs() < 1e-15,
            "{dx:?}"
        );
    }
}
