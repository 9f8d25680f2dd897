//! Activations: ReLU and tanh (the two the tape tests and the worked example need).
//!
//! Forward: relu(x) = max(x, 0);  tanh(x).   Cost: O(n).
//!
//! Gradients, both written in terms of the **output** y, so only y is saved (dfdx's
//! `DF_USES_FX` idea; the input can be freed):
//! - relu: dx = dy ⊙ \[y > 0\]   (the subgradient 0 is used at x = 0);
//! - tanh: dx = dy ⊙ (1 − y²), since d tanh/dx = 1 − tanh².
//!
//! Kernels: plain loops for now; they will move to `engine/src/ops/activation.rs` (where f32
//! uses the SIMD `vec_relu`/`vec_tanh`) when the engine's activation kernels land.

use ecgrad_engine::{Real, Tensor};

use super::{map, zip};
use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `relu`: saves the output y.
struct ReluBackward<T: Real> {
    y: Tensor<T>,
}

impl<T: Real> Backward<T> for ReluBackward<T> {
    fn name(&self) -> &'static str {
        "relu"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![needs[0].then(|| {
            zip(dy, &self.y, |g, y| if y > T::ZERO { g } else { T::ZERO })
        })])
    }
}

/// y = max(x, 0).
///
/// # Errors
/// Only if `x` comes from another tape.
pub fn relu<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let y = map(x.value(), |v| if v > T::ZERO { v } else { T::ZERO });
    let saved = y.clone();
    tape.record("relu", &[x], y, || Box::new(ReluBackward { y: saved }))
}

/// The rule of `tanh`: saves the output y.
struct TanhBackward<T: Real> {
    y: Tensor<T>,
}

impl<T: Real> Backward<T> for TanhBackward<T> {
    fn name(&self) -> &'static str {
        "tanh"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![
            needs[0].then(|| zip(dy, &self.y, |g, y| g * (T::ONE - y * y))),
        ])
    }
}

/// y = tanh(x).
///
/// # Errors
/// Only if `x` comes from another tape.
pub fn tanh<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let y = map(x.value(), |v| v.tanh());
    let saved = y.clone();
    tape.record("tanh", &[x], y, || Box::new(TanhBackward { y: saved }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn relu_gradcheck_x() {
        // Sample away from the kink at 0: |x| ≥ 0.1, random signs.
        let mut x = random_tensor(&[2, 3, 5], 0.1, 2.0, 21);
        let signs = random_tensor(&[2, 3, 5], -1.0, 1.0, 22);
        for (v, s) in x.data_mut().iter_mut().zip(signs.data()) {
            if *s < 0.0 {
                *v = -*v;
            }
        }
        assert_gradcheck("relu", |t, v| relu(t, &v[0]), &[x], 23);
    }

    #[test]
    fn relu_at_zero_uses_subgradient_zero() {
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(ecgrad_engine::Shape::d1(3), vec![-1.0, 0.0, 2.0]).unwrap(),
            true,
        );
        let y = relu(&mut t, &x).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[0.0, 0.0, 1.0]);
    }

    #[test]
    fn tanh_gradcheck_x() {
        let x = random_tensor(&[3, 4], -2.5, 2.5, 24);
        assert_gradcheck("tanh", |t, v| tanh(t, &v[0]), &[x], 25);
    }
}
