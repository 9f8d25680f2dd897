//! Binary cross-entropy on logits (PyTorch's `BCEWithLogitsLoss`, with optional `pos_weight`).
//!
//! For logit z and target y ∈ [0, 1]: ℓ = −y·log σ(z) − (1 − y)·log(1 − σ(z)), written in the
//! stable form
//!
//!   ℓ = max(z, 0) − z·y + ln(1 + e^{−|z|})
//!
//! which never exponentiates a positive number (σ(z) itself would round to 1 for z ≳ 37 and the
//! log would give −∞). Gradient: ∂ℓ/∂z = σ(z) − y, with σ evaluated on the side where e^{·} ≤ 1.
//!
//! With `pos_weight` p (one per class on the last axis, to up-weight rare positives), PyTorch's
//! ℓ = −p·y·log σ(z) − (1 − y)·log(1 − σ(z)) = (1 − y)·z + lw·softplus(−z), lw = 1 + (p − 1)·y,
//! and ∂ℓ/∂z = (1 − y) + lw·(σ(z) − 1) (for p = 1 both reduce to the lines above).
//! L = Σ ℓ / D, D = element count (Mean) or 1 (Sum). Cost: O(n) exp/ln.

use ecgrad_engine::{Real, Tensor};

use super::{Reduction, ScaledGradBackward};
use crate::error::{Result, invalid, mismatch};
use crate::ops::tensor;
use crate::tape::{Tape, Var};

/// σ(z) = 1/(1 + e^{−z}) without overflow for either sign of z.
fn sigmoid<T: Real>(z: T) -> T {
    if z >= T::ZERO {
        T::ONE / (T::ONE + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::ONE + e)
    }
}

/// Binary cross-entropy of `logits` against `targets` (same shape, values in [0, 1]).
///
/// # Errors
/// A shape mismatch, or an invalid-parameter error for a target outside [0, 1].
pub fn bce_with_logits<T: Real>(
    tape: &mut Tape<T>,
    logits: &Var<T>,
    targets: &Tensor<T>,
    pos_weight: Option<&[T]>,
    reduction: Reduction,
) -> Result<Var<T>> {
    let op = "bce_with_logits";
    let classes = *logits.shape().dims().last().unwrap_or(&1);
    if let Some(pw) = pos_weight {
        if pw.len() != classes {
            return Err(invalid(
                op,
                "pos_weight",
                format!("{} values", pw.len()),
                format!("need one per class on the last axis ({classes})"),
            ));
        }
        if let Some(bad) = pw.iter().find(|v| !v.is_finite() || **v < T::ZERO) {
            return Err(invalid(op, "pos_weight", bad, "must be finite and ≥ 0"));
        }
    }
    if logits.shape() != targets.shape() {
        return Err(mismatch(
            op,
            "logits and targets must have the same shape",
            "logits",
            logits.shape(),
            "targets",
            targets.shape(),
        ));
    }
    if let Some(bad) = targets
        .data()
        .iter()
        .find(|&&y| !(y >= T::ZERO && y <= T::ONE))
    {
        return Err(invalid(op, "target", bad, "targets must lie in [0, 1]"));
    }
    let d = match reduction {
        Reduction::Mean => T::from_usize(targets.numel()),
        Reduction::Sum => T::ONE,
    };
    let mut value = T::ZERO;
    let want = tape.requires_grad(logits);
    let mut grad = Vec::with_capacity(if want { targets.numel() } else { 0 });
    for (i, (&z, &y)) in logits.value().data().iter().zip(targets.data()).enumerate() {
        // ℓ = [max(z, 0) − z·y + ln(1 + e^{−|z|})] + (lw − 1)·softplus(−z): the bracket is the
        // unweighted loss in the form without cancellation; lw − 1 = (p − 1)·y is the extra
        // weight of the positive part.
        let extra = pos_weight.map_or(T::ZERO, |pw| (pw[i % classes] - T::ONE) * y);
        let log1p_term = (T::ONE + (-z.abs()).exp()).ln();
        let softplus_neg = log1p_term + (-z).max(T::ZERO);
        value += z.max(T::ZERO) - z * y + log1p_term + extra * softplus_neg;
        if want {
            let s = sigmoid(z);
            grad.push((s - y + extra * (s - T::ONE)) / d);
        }
    }
    // The gradient was only computed if something will use it (not under no_grad/eval).
    let shape = logits.shape();
    tape.record(op, &[logits], Tensor::scalar(value / d), move || {
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

    #[test]
    fn bce_gradcheck_logits() {
        let z = random_tensor(&[3, 5], -4.0, 4.0, 111);
        let y = random_tensor(&[3, 5], 0.0, 1.0, 112);
        for r in [Reduction::Mean, Reduction::Sum] {
            assert_gradcheck(
                "bce_with_logits",
                |t, v| bce_with_logits(t, &v[0], &y, None, r),
                std::slice::from_ref(&z),
                113,
            );
        }
    }

    #[test]
    fn bce_gradcheck_logits_with_pos_weight() {
        let z = random_tensor(&[4, 3], -4.0, 4.0, 114);
        let y = random_tensor(&[4, 3], 0.0, 1.0, 115);
        let pw = [0.5, 1.0, 3.0];
        assert_gradcheck(
            "bce pos_weight",
            |t, v| bce_with_logits(t, &v[0], &y, Some(&pw), Reduction::Mean),
            std::slice::from_ref(&z),
            116,
        );
        // p = 1 everywhere equals no pos_weight; p = 3 with y = 1, z = 0 gives 3·ln 2.
        let mut t = Tape::<f64>::no_grad();
        let x = t.input(z.clone());
        let ones = [1.0; 3];
        let a = bce_with_logits(&mut t, &x, &y, Some(&ones), Reduction::Mean)
            .unwrap()
            .value()
            .data()[0];
        let b = bce_with_logits(&mut t, &x, &y, None, Reduction::Mean)
            .unwrap()
            .value()
            .data()[0];
        assert!((a - b).abs() < 1e-15);
        let x0 = t.input(Tensor::zeros(Shape::d1(1)));
        let y1 = Tensor::full(Shape::d1(1), 1.0);
        let v = bce_with_logits(&mut t, &x0, &y1, Some(&[3.0]), Reduction::Sum)
            .unwrap()
            .value()
            .data()[0];
        assert!((v - 3.0 * 2f64.ln()).abs() < 1e-15);
        assert!(bce_with_logits(&mut t, &x, &y, Some(&[1.0]), Reduction::Sum).is_err());
    }

    #[test]
    fn hand_computed_and_extreme_logits() {
        // z = 0: σ = 1/2, ℓ = ln 2 for any y. z = ±1000 with the right label: ℓ = 0 (not NaN).
        let z = Tensor::from_vec(Shape::d1(3), vec![0.0, 1000.0, -1000.0]).unwrap();
        let y = Tensor::from_vec(Shape::d1(3), vec![0.3, 1.0, 0.0]).unwrap();
        let mut t = Tape::<f64>::new();
        let x = t.leaf(z, true);
        let l = bce_with_logits(&mut t, &x, &y, None, Reduction::Sum).unwrap();
        assert!((l.value().data()[0] - 2f64.ln()).abs() < 1e-15);
        let g = t.backward(&l).unwrap();
        // σ − y = [0.5 − 0.3, 1 − 1, 0 − 0].
        let g = g.get(x.id()).unwrap().data().to_vec();
        assert!(
            (g[0] - 0.2).abs() < 1e-15 && g[1] == 0.0 && g[2] == 0.0,
            "{g:?}"
        );
    }

    #[test]
    fn targets_outside_unit_interval_are_errors() {
        let mut t = Tape::<f64>::new();
        let x = t.input(Tensor::zeros(Shape::d1(2)));
        let y = Tensor::from_vec(Shape::d1(2), vec![0.0, 2.0]).unwrap();
        assert!(bce_with_logits(&mut t, &x, &y, None, Reduction::Mean).is_err());
    }
}
