//! Reductions to a scalar: `sum` and `mean` over all elements.
//!
//! Forward: s = Σᵢ xᵢ;  m = (1/n)·Σᵢ xᵢ.   Cost: n − 1 adds.
//! Gradients: dx = dy·1 (sum);  dx = (dy/n)·1 (mean): every element contributes once.
//!
//! Sums run in index order (deterministic). Axis reductions and max will come from
//! `engine/src/ops/reduce.rs`; these whole-tensor kernels will move there too.

use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `sum` (`factor = 1`) and `mean` (`factor = 1/n`): remembers the input shape.
struct SumBackward<T> {
    shape: Shape,
    factor: T,
    name: &'static str,
}

impl<T: Real> Backward<T> for SumBackward<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![needs[0].then(|| {
            Tensor::full(self.shape, dy.data()[0] * self.factor)
        })])
    }
}

fn reduce<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    factor: T,
    name: &'static str,
) -> Result<Var<T>> {
    let s: T = x.value().data().iter().copied().sum::<T>() * factor;
    let shape = x.shape();
    tape.record(name, &[x], Tensor::scalar(s), || {
        Box::new(SumBackward {
            shape,
            factor,
            name,
        })
    })
}

/// s = Σᵢ xᵢ, a rank-0 tensor.
///
/// # Errors
/// Only if `x` comes from another tape.
pub fn sum<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    reduce(tape, x, T::ONE, "sum")
}

/// m = (1/n)·Σᵢ xᵢ, a rank-0 tensor.
///
/// # Errors
/// Only if `x` comes from another tape.
pub fn mean<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let n = T::from_usize(x.value().numel());
    reduce(tape, x, T::ONE / n, "mean")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn sum_gradcheck_x() {
        let x = random_tensor(&[2, 3, 4], -1.0, 1.0, 31);
        assert_gradcheck("sum", |t, v| sum(t, &v[0]), &[x], 32);
    }

    #[test]
    fn mean_gradcheck_x() {
        let x = random_tensor(&[5, 3], -1.0, 1.0, 33);
        assert_gradcheck("mean", |t, v| mean(t, &v[0]), &[x], 34);
        let one = random_tensor(&[1], -1.0, 1.0, 35);
        assert_gradcheck("mean of one", |t, v| mean(t, &v[0]), &[one], 36);
    }
}
