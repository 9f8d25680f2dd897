//! Regression losses between a prediction and a constant target of the same shape:
//! MSE, masked MSE and L1.
//!
//! - MSE: L = (1/D)·Σᵢ (pᵢ − tᵢ)²,  ∂L/∂pᵢ = 2(pᵢ − tᵢ)/D.
//! - Masked MSE: L = (1/D)·Σᵢ mᵢ(pᵢ − tᵢ)² with a 0/1 mask m over time ("unpunished region":
//!   masked samples contribute neither loss nor gradient), ∂L/∂pᵢ = 2mᵢ(pᵢ − tᵢ)/D, where
//!   D = number of all elements ([`MaskNorm::AllElements`]) or of unmasked ones
//!   ([`MaskNorm::Unmasked`]). The choice changes the effective learning rate when the mask
//!   covers much of the signal, so it is explicit.
//! - L1: L = (1/D)·Σᵢ |pᵢ − tᵢ|,  ∂L/∂pᵢ = sign(pᵢ − tᵢ)/D with sign(0) = 0 (as PyTorch).
//!
//! D = element count for `Mean`, 1 for `Sum`. Cost: O(n).

use ecgrad_engine::{Real, Shape, Tensor};

use super::{Reduction, ScaledGradBackward};
use crate::error::{Result, invalid, mismatch};
use crate::ops::tensor;
use crate::tape::{Tape, Var};

/// What masked MSE divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskNorm {
    /// Every element of the prediction, masked or not.
    AllElements,
    /// Only the elements whose mask is 1.
    Unmasked,
}

fn check_target<T: Real>(op: &'static str, pred: &Var<T>, target: &Tensor<T>) -> Result<()> {
    if pred.shape() != target.shape() {
        return Err(mismatch(
            op,
            "prediction and target must have the same shape",
            "prediction",
            pred.shape(),
            "target",
            target.shape(),
        ));
    }
    Ok(())
}

/// Records a loss whose value and gradient (for a unit upstream gradient) are computed; `grad`
/// is empty when `pred` needs no gradient (then the closure never runs).
fn record<T: Real>(
    tape: &mut Tape<T>,
    op: &'static str,
    pred: &Var<T>,
    value: T,
    grad: Vec<T>,
) -> Result<Var<T>> {
    let shape = pred.shape();
    tape.record(op, &[pred], Tensor::scalar(value), move || {
        Box::new(ScaledGradBackward {
            name: op,
            grads: vec![Some(tensor(shape, grad))],
        })
    })
}

fn divisor<T: Real>(reduction: Reduction, n: usize) -> T {
    match reduction {
        Reduction::Mean => T::from_usize(n),
        Reduction::Sum => T::ONE,
    }
}

/// Mean (or summed) squared error.
///
/// # Errors
/// A shape mismatch if `target` differs in shape from `pred`.
pub fn mse<T: Real>(
    tape: &mut Tape<T>,
    pred: &Var<T>,
    target: &Tensor<T>,
    reduction: Reduction,
) -> Result<Var<T>> {
    check_target("mse", pred, target)?;
    let d = divisor::<T>(reduction, target.numel());
    let two = T::from_f64(2.0);
    let diff: Vec<T> = pred
        .value()
        .data()
        .iter()
        .zip(target.data())
        .map(|(&p, &t)| p - t)
        .collect();
    let value = diff.iter().map(|&e| e * e).sum::<T>() / d;
    let grad = if tape.requires_grad(pred) {
        diff.iter().map(|&e| two * e / d).collect()
    } else {
        Vec::new()
    };
    record(tape, "mse", pred, value, grad)
}

/// Mean (or summed) absolute error.
///
/// # Errors
/// A shape mismatch if `target` differs in shape from `pred`.
pub fn l1<T: Real>(
    tape: &mut Tape<T>,
    pred: &Var<T>,
    target: &Tensor<T>,
    reduction: Reduction,
) -> Result<Var<T>> {
    check_target("l1", pred, target)?;
    let d = divisor::<T>(reduction, target.numel());
    let diff: Vec<T> = pred
        .value()
        .data()
        .iter()
        .zip(target.data())
        .map(|(&p, &t)| p - t)
        .collect();
    let value = diff.iter().map(|&e| e.abs()).sum::<T>() / d;
    let sign = |e: T| {
        if e > T::ZERO {
            T::ONE
        } else if e < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        }
    };
    let grad = if tape.requires_grad(pred) {
        diff.iter().map(|&e| sign(e) / d).collect()
    } else {
        Vec::new()
    };
    record(tape, "l1", pred, value, grad)
}

/// Maps a flat prediction index to its mask index. Accepted masks: the prediction's shape;
/// `[L]` (one mask over time for everything); `[N, L]` for an NCL prediction (one per sample,
/// shared by its channels).
fn mask_indexer(pred: Shape, mask: Shape) -> Result<Box<dyn Fn(usize) -> usize>> {
    let pd = pred.dims();
    let l = *pd.last().unwrap_or(&1);
    if mask == pred {
        return Ok(Box::new(|i| i));
    }
    if mask.dims() == [l] {
        return Ok(Box::new(move |i| i % l));
    }
    if pd.len() == 3 && mask.dims() == [pd[0], pd[2]] {
        let cl = pd[1] * pd[2];
        return Ok(Box::new(move |i| (i / cl) * l + i % l));
    }
    Err(mismatch(
        "masked_mse",
        "mask must have the prediction's shape, [L], or [N, L] for an [N, C, L] prediction",
        "prediction",
        pred,
        "mask",
        mask,
    ))
}

/// Squared error counted only where the mask is 1; see the module docs.
///
/// # Errors
/// Shape errors for the target or an unsupported mask shape; an invalid-parameter error if a
/// mask value is not exactly 0 or 1, or if `MaskNorm::Unmasked` finds no unmasked element.
pub fn masked_mse<T: Real>(
    tape: &mut Tape<T>,
    pred: &Var<T>,
    target: &Tensor<T>,
    mask: &Tensor<T>,
    norm: MaskNorm,
) -> Result<Var<T>> {
    let op = "masked_mse";
    check_target(op, pred, target)?;
    let index = mask_indexer(pred.shape(), mask.shape())?;
    let m = mask.data();
    if let Some(bad) = m.iter().find(|&&v| v != T::ZERO && v != T::ONE) {
        return Err(invalid(op, "mask", bad, "mask values must be 0 or 1"));
    }
    let n = target.numel();
    let d = match norm {
        MaskNorm::AllElements => T::from_usize(n),
        MaskNorm::Unmasked => {
            let count = (0..n).filter(|&i| m[index(i)] == T::ONE).count();
            if count == 0 {
                return Err(invalid(
                    op,
                    "mask",
                    "all zeros",
                    "MaskNorm::Unmasked needs at least one unmasked element",
                ));
            }
            T::from_usize(count)
        }
    };
    let two = T::from_f64(2.0);
    let (p, t) = (pred.value().data(), target.data());
    let mut value = T::ZERO;
    let want = tape.requires_grad(pred);
    let mut grad = if want { vec![T::ZERO; n] } else { Vec::new() };
    for i in 0..n {
        if m[index(i)] == T::ONE {
            let e = p[i] - t[i];
            value += e * e;
            if want {
                grad[i] = two * e / d;
            }
        }
    }
    record(tape, op, pred, value / d, grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn mse_gradcheck_pred() {
        let p = random_tensor(&[2, 3, 5], -1.0, 1.0, 91);
        let t = random_tensor(&[2, 3, 5], -1.0, 1.0, 92);
        for r in [Reduction::Mean, Reduction::Sum] {
            assert_gradcheck(
                "mse",
                |tp, v| mse(tp, &v[0], &t, r),
                std::slice::from_ref(&p),
                93,
            );
        }
    }

    #[test]
    fn l1_gradcheck_pred() {
        // |p − t| ≥ 0.05 everywhere, away from the kink.
        let t = random_tensor(&[3, 4], -1.0, 1.0, 94);
        let off = random_tensor(&[3, 4], 0.05, 1.0, 95);
        let mut p = t.clone();
        for (i, v) in p.data_mut().iter_mut().enumerate() {
            *v += if i % 2 == 0 {
                off.data()[i]
            } else {
                -off.data()[i]
            };
        }
        for r in [Reduction::Mean, Reduction::Sum] {
            assert_gradcheck(
                "l1",
                |tp, v| l1(tp, &v[0], &t, r),
                std::slice::from_ref(&p),
                96,
            );
        }
    }

    fn mask_of(dims: &[usize], seed: u64) -> Tensor<f64> {
        let mut m = random_tensor(dims, 0.0, 1.0, seed);
        m.data_mut()
            .iter_mut()
            .for_each(|v| *v = if *v < 0.4 { 0.0 } else { 1.0 });
        m
    }

    #[test]
    fn masked_mse_gradcheck_pred_every_mask_shape_and_norm() {
        let p = random_tensor(&[2, 3, 6], -1.0, 1.0, 97);
        let t = random_tensor(&[2, 3, 6], -1.0, 1.0, 98);
        for mask in [
            mask_of(&[2, 3, 6], 99),
            mask_of(&[6], 100),
            mask_of(&[2, 6], 101),
        ] {
            for norm in [MaskNorm::AllElements, MaskNorm::Unmasked] {
                assert_gradcheck(
                    "masked_mse",
                    |tp, v| masked_mse(tp, &v[0], &t, &mask, norm),
                    std::slice::from_ref(&p),
                    102,
                );
            }
        }
    }

    #[test]
    fn masked_samples_give_no_gradient_and_norms_differ_as_computed() {
        // pred [1, 1, 4] = [1, 2, 3, 4], target 0, mask over time [1, 0, 1, 0].
        let p = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let mask = Tensor::from_vec(Shape::d1(4), vec![1.0, 0.0, 1.0, 0.0]).unwrap();
        let target = Tensor::zeros(p.shape());
        for (norm, d) in [(MaskNorm::AllElements, 4.0), (MaskNorm::Unmasked, 2.0)] {
            let mut t = Tape::<f64>::new();
            let x = t.leaf(p.clone(), true);
            let l = masked_mse(&mut t, &x, &target, &mask, norm).unwrap();
            // Σ m·e² = 1 + 9 = 10.
            assert_eq!(l.value().data()[0], 10.0 / d);
            let g = t.backward(&l).unwrap();
            // ∂L/∂p = 2·m·p/D: [2/D, 0, 6/D, 0].
            assert_eq!(g.get(x.id()).unwrap().data(), &[2.0 / d, 0.0, 6.0 / d, 0.0]);
        }
        let mut t = Tape::<f64>::new();
        let x = t.input(p.clone());
        let zeros = Tensor::zeros(Shape::d1(4));
        assert!(masked_mse(&mut t, &x, &target, &zeros, MaskNorm::Unmasked).is_err());
        let half = Tensor::full(Shape::d1(4), 0.5);
        assert!(masked_mse(&mut t, &x, &target, &half, MaskNorm::AllElements).is_err());
        let wrong = Tensor::zeros(Shape::d1(3));
        assert!(masked_mse(&mut t, &x, &target, &wrong, MaskNorm::AllElements).is_err());
    }

    #[test]
    fn l1_at_a_tie_uses_sign_zero() {
        // p = t exactly: PyTorch's sign(0) = 0, so no gradient; elsewhere ±1/n.
        let p = Tensor::from_vec(Shape::d1(3), vec![1.0, 2.0, -1.0]).unwrap();
        let target = Tensor::from_vec(Shape::d1(3), vec![1.0, 0.0, 0.0]).unwrap();
        let mut t = Tape::<f64>::new();
        let x = t.leaf(p, true);
        let l = l1(&mut t, &x, &target, Reduction::Mean).unwrap();
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[0.0, 1.0 / 3.0, -1.0 / 3.0]);
    }

    #[test]
    fn hand_computed_mse_and_l1() {
        let p = Tensor::from_vec(Shape::d1(2), vec![1.0, -2.0]).unwrap();
        let target = Tensor::from_vec(Shape::d1(2), vec![0.0, 1.0]).unwrap();
        let mut t = Tape::<f64>::no_grad();
        let x = t.input(p);
        // errors [1, −3]: MSE = (1 + 9)/2 = 5, L1 = (1 + 3)/2 = 2.
        assert_eq!(
            mse(&mut t, &x, &target, Reduction::Mean)
                .unwrap()
                .value()
                .data(),
            &[5.0]
        );
        assert_eq!(
            l1(&mut t, &x, &target, Reduction::Mean)
                .unwrap()
                .value()
                .data(),
            &[2.0]
        );
        assert!(mse(&mut t, &x, &Tensor::zeros(Shape::d1(3)), Reduction::Mean).is_err());
    }
}
