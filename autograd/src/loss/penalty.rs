//! L2 penalty on chosen parameters (Keras-style `kernel_regularizer=l2(λ)`), added to a loss.
//!
//! P = λ·Σₖ Σᵢ wₖᵢ²,  ∂P/∂wₖᵢ = 2λ·wₖᵢ.   Cost: O(total elements).
//!
//! Note: this is **not** the same as an optimizer's `weight_decay`. SGD's weight decay adds
//! λ_wd·w to the gradient, which equals this penalty with λ = λ_wd/2; for Adam the two differ
//! (decay goes through the adaptive denominator), and AdamW's decoupled decay differs again.

use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::{Result, invalid};
use crate::ops::map;
use crate::tape::{Tape, Var};

/// The rule of `l2_penalty`: saves the parameters' values (Arc clones).
struct L2Backward<T: Real> {
    lambda: T,
    values: Vec<Tensor<T>>,
}

impl<T: Real> Backward<T> for L2Backward<T> {
    fn name(&self) -> &'static str {
        "l2_penalty"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let s = T::from_f64(2.0) * self.lambda * dy.data()[0];
        Ok(self
            .values
            .iter()
            .zip(needs)
            .map(|(w, &need)| need.then(|| map(w, |v| s * v)))
            .collect())
    }
}

/// λ·Σ‖w‖² over `params` (typically conv/linear weights, not biases or BN parameters).
///
/// # Errors
/// An invalid-parameter error for an empty list or a negative/non-finite λ.
pub fn l2_penalty<T: Real>(tape: &mut Tape<T>, params: &[&Var<T>], lambda: f64) -> Result<Var<T>> {
    if params.is_empty() {
        return Err(invalid(
            "l2_penalty",
            "params",
            0,
            "need at least one parameter",
        ));
    }
    if !(lambda >= 0.0 && lambda.is_finite()) {
        return Err(invalid(
            "l2_penalty",
            "lambda",
            lambda,
            "must be finite and ≥ 0",
        ));
    }
    let lambda = T::from_f64(lambda);
    let sq: T = params
        .iter()
        .map(|p| p.value().data().iter().map(|&v| v * v).sum::<T>())
        .sum();
    let values = params.iter().map(|p| p.value().clone()).collect();
    tape.record("l2_penalty", params, Tensor::scalar(lambda * sq), || {
        Box::new(L2Backward { lambda, values })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use ecgrad_engine::Shape;

    #[test]
    fn l2_penalty_gradcheck_every_param() {
        let a = random_tensor(&[3, 2, 5], -1.0, 1.0, 121);
        let b = random_tensor(&[4], -1.0, 1.0, 122);
        assert_gradcheck(
            "l2_penalty",
            |t, v| l2_penalty(t, &[&v[0], &v[1]], 0.3),
            &[a, b],
            123,
        );
    }

    #[test]
    fn hand_computed_penalty() {
        // λ = 0.5, w = [1, −2], v = [3]: P = 0.5·(1 + 4 + 9) = 7; ∂P/∂w = 2·0.5·w = w.
        let mut t = Tape::<f64>::new();
        let w = t.leaf(
            Tensor::from_vec(Shape::d1(2), vec![1.0, -2.0]).unwrap(),
            true,
        );
        let v = t.leaf(Tensor::from_vec(Shape::d1(1), vec![3.0]).unwrap(), true);
        let p = l2_penalty(&mut t, &[&w, &v], 0.5).unwrap();
        assert_eq!(p.value().data(), &[7.0]);
        let g = t.backward(&p).unwrap();
        assert_eq!(g.get(w.id()).unwrap().data(), &[1.0, -2.0]);
        assert_eq!(g.get(v.id()).unwrap().data(), &[3.0]);
    }
}
