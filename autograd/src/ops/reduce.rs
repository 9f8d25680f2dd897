//! Reductions: sum, mean and max over one axis or over all elements, recorded on the tape; the
//! kernels are the engine's (`engine/src/ops/reduce/`).
//!
//! The input is viewed as `[outer, len, inner]` around the reduced axis (no copy); the axis
//! disappears from the output (PyTorch's `keepdim = false`; [`crate::ops::reshape()`] puts a
//! size-1 axis back for free). Reducing over everything gives a rank-0 tensor.
//!
//! Forward: y\[o,i\] = Σₗ x\[o,l,i\] (sum), the same ÷ len (mean), maxₗ x\[o,l,i\] (max, with
//! the first maximal l saved).   Cost: one add or comparison per input element.
//!
//! Gradients (each rule remembers only the input *shape*; max also the argmax indices):
//! - sum:  dx\[o,l,i\] = dy\[o,i\]  (every element contributes once);
//! - mean: dx\[o,l,i\] = dy\[o,i\] / len;
//! - max:  dx\[o,l,i\] = dy\[o,i\] if l is the saved argmax, else 0 (ties: the first index wins,
//!   so exactly one element receives the gradient, as in PyTorch's `max(dim)`).
//!
//! The engine sums each output in a fixed order, so results are bit-identical at any thread count.

use ecgrad_engine::ops::reduce::{self as er, ReduceOver, Reduction};
use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of every reduction: the engine's `reduce_grad`.
struct ReduceBackward {
    how: Reduction,
    over: ReduceOver,
    x_shape: Shape,
    /// The argmax saved by max (empty for sum and mean).
    argmax: Vec<usize>,
}

impl<T: Real> Backward<T> for ReduceBackward {
    fn name(&self) -> &'static str {
        reduction_name(self.how)
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let argmax = (self.how == Reduction::Max).then_some(&self.argmax[..]);
        Ok(vec![Some(er::reduce_grad(
            self.how,
            self.x_shape,
            self.over,
            dy,
            argmax,
        )?)])
    }
}

fn reduction_name(how: Reduction) -> &'static str {
    match how {
        Reduction::Sum => "sum",
        Reduction::Mean => "mean",
        Reduction::Max => "max",
    }
}

/// Reduces `x` by `how` over `over` (one axis, or all elements).
///
/// # Errors
/// `InvalidParam` for an axis out of range; `EmptyOutput` for an empty tensor.
pub fn reduce<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    how: Reduction,
    over: ReduceOver,
) -> Result<Var<T>> {
    let (y, argmax) = match how {
        Reduction::Max => er::max(x.value(), over)?,
        _ => (er::reduce(x.value(), how, over)?, Vec::new()),
    };
    let x_shape = x.shape();
    tape.record(reduction_name(how), &[x], y, || {
        Box::new(ReduceBackward {
            how,
            over,
            x_shape,
            argmax,
        })
    })
}

/// s = Σᵢ xᵢ over all elements, a rank-0 tensor.
///
/// # Errors
/// `EmptyOutput` for an empty tensor.
pub fn sum<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    reduce(tape, x, Reduction::Sum, ReduceOver::All)
}

/// m = (1/n)·Σᵢ xᵢ over all elements, a rank-0 tensor.
///
/// # Errors
/// As [`sum`].
pub fn mean<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    reduce(tape, x, Reduction::Mean, ReduceOver::All)
}

/// Sum over `axis` (removed from the shape).
///
/// # Errors
/// As [`reduce`].
pub fn sum_axis<T: Real>(tape: &mut Tape<T>, x: &Var<T>, axis: usize) -> Result<Var<T>> {
    reduce(tape, x, Reduction::Sum, ReduceOver::Axis(axis))
}

/// Mean over `axis` (removed from the shape), e.g. global average pooling of NCL over axis 2.
///
/// # Errors
/// As [`reduce`].
pub fn mean_axis<T: Real>(tape: &mut Tape<T>, x: &Var<T>, axis: usize) -> Result<Var<T>> {
    reduce(tape, x, Reduction::Mean, ReduceOver::Axis(axis))
}

/// Maximum over `axis` (removed from the shape); the gradient flows to the first maximal element.
///
/// # Errors
/// As [`reduce`].
pub fn max_axis<T: Real>(tape: &mut Tape<T>, x: &Var<T>, axis: usize) -> Result<Var<T>> {
    reduce(tape, x, Reduction::Max, ReduceOver::Axis(axis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    /// Awkward shapes: size-1 axes at either end, odd lengths, rank 1 to 4.
    const SHAPES: [&[usize]; 5] = [&[1], &[7], &[3, 1, 5], &[2, 3, 4], &[2, 1, 3, 5]];

    #[test]
    fn sum_mean_gradcheck_x_all_and_every_axis() {
        for dims in SHAPES {
            let x = random_tensor(dims, -1.0, 1.0, 31);
            assert_gradcheck("sum", |t, v| sum(t, &v[0]), std::slice::from_ref(&x), 32);
            assert_gradcheck("mean", |t, v| mean(t, &v[0]), std::slice::from_ref(&x), 34);
            for axis in 0..dims.len() {
                assert_gradcheck(
                    "sum_axis",
                    |t, v| sum_axis(t, &v[0], axis),
                    std::slice::from_ref(&x),
                    35,
                );
                assert_gradcheck(
                    "mean_axis",
                    |t, v| mean_axis(t, &v[0], axis),
                    std::slice::from_ref(&x),
                    36,
                );
            }
        }
    }

    #[test]
    fn max_gradcheck_x_all_and_every_axis() {
        // Distinct values (a shuffled ramp with gaps of 0.1 ≫ ε), so no ties and no kinks.
        for dims in SHAPES {
            let n: usize = dims.iter().product();
            let mut x = random_tensor(dims, 0.0, 1.0, 37);
            let mut order: Vec<usize> = (0..n).collect();
            ecgrad_engine::Rng::new(38).shuffle(&mut order);
            for (v, &k) in x.data_mut().iter_mut().zip(&order) {
                *v = 0.1 * k as f64 - 0.3;
            }
            let all = |t: &mut Tape<f64>, v: &[Var<f64>]| {
                reduce(t, &v[0], Reduction::Max, ReduceOver::All)
            };
            assert_gradcheck("max", all, std::slice::from_ref(&x), 39);
            for axis in 0..dims.len() {
                assert_gradcheck(
                    "max_axis",
                    |t, v| max_axis(t, &v[0], axis),
                    std::slice::from_ref(&x),
                    40,
                );
            }
        }
    }

    #[test]
    fn max_ties_send_the_gradient_to_the_first_maximum_only() {
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(Shape::d2(2, 3), vec![1.0, 5.0, 5.0, 2.0, 2.0, 2.0]).unwrap(),
            true,
        );
        let y = max_axis(&mut t, &x, 1).unwrap();
        assert_eq!(y.value().data(), &[5.0, 2.0]);
        let g = t
            .backward_from(
                &y,
                Tensor::from_vec(Shape::d1(2), vec![3.0, -1.0]).unwrap(),
                &[],
            )
            .unwrap();
        assert_eq!(
            g.get(x.id()).unwrap().data(),
            &[0.0, 3.0, 0.0, -1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn hand_computed_axis_reductions() {
        // [[1, 2, 3], [4, 5, 6]]: sum over axis 0 = [5, 7, 9]; mean over axis 1 = [2, 5].
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(Shape::d2(2, 3), vec![1., 2., 3., 4., 5., 6.]).unwrap(),
            true,
        );
        assert_eq!(
            sum_axis(&mut t, &x, 0).unwrap().value().data(),
            &[5., 7., 9.]
        );
        let m = mean_axis(&mut t, &x, 1).unwrap();
        assert_eq!(m.value().data(), &[2., 5.]);
        let g = t
            .backward_from(
                &m,
                Tensor::from_vec(Shape::d1(2), vec![3.0, 6.0]).unwrap(),
                &[],
            )
            .unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[1., 1., 1., 2., 2., 2.]);
        let mut t = Tape::<f64>::new();
        let x = t.input(Tensor::zeros(Shape::d2(2, 3)));
        let e = sum_axis(&mut t, &x, 2).unwrap_err().to_string();
        assert!(e.contains("axis"), "{e}");
    }
}
