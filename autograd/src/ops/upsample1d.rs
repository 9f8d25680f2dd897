//! 1D upsampling of NCL tensors by an integer factor s, recorded on the tape. Kernels:
//! `engine/src/ops/upsample1d/`.
//!
//! Forward: nearest, y\[n,c,t\] = x\[n,c,⌊t/s⌋\]; linear (PyTorch `align_corners = false`),
//! y\[n,c,t\] = λ₀·x\[n,c,i₀\] + λ₁·x\[n,c,i₁\] with the source point (t + ½)/s − ½ clamped to
//! the signal. `[N, C, L]` → `[N, C, s·L]`.   Cost: O(s·N·C·L).
//!
//! Gradient (the op is linear in x, so the rule saves only the input shape and parameters):
//! nearest, dx\[n,c,i\] = Σ_{r<s} dy\[n,c,i·s + r\]; linear, each dy\[t\] is split back onto i₀
//! and i₁ with the same weights λ₀, λ₁ (the transpose of the interpolation matrix).

use ecgrad_engine::ops::upsample1d::{self as eu, Upsample1dParams};
use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `upsample1d`: saves the input shape and the parameters.
struct Upsample1dBackward {
    x_shape: Shape,
    params: Upsample1dParams,
}

impl<T: Real> Backward<T> for Upsample1dBackward {
    fn name(&self) -> &'static str {
        "upsample1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(eu::upsample1d_backward(dy, self.x_shape, &self.params)?)
        } else {
            None
        }])
    }
}

/// Upsamples NCL `x` by `params.scale` (nearest or linear).
///
/// # Errors
/// Rank errors unless x is rank 3; `InvalidParam` for scale 0; `EmptyOutput` for an empty x.
pub fn upsample1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    params: &Upsample1dParams,
) -> Result<Var<T>> {
    let y = eu::upsample1d(x.value(), params)?;
    let (x_shape, params) = (x.shape(), *params);
    tape.record("upsample1d", &[x], y, || {
        Box::new(Upsample1dBackward { x_shape, params })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use ecgrad_engine::ops::upsample1d::UpsampleMode;

    #[test]
    fn upsample1d_gradcheck_x_both_modes() {
        for mode in [UpsampleMode::Nearest, UpsampleMode::Linear] {
            for scale in [1, 2, 3] {
                for dims in [[1, 1, 1], [2, 3, 5], [1, 2, 2]] {
                    let p = Upsample1dParams { scale, mode };
                    let x = random_tensor(&dims, -1.0, 1.0, 600);
                    assert_gradcheck(
                        &format!("upsample1d {mode:?} ×{scale} {dims:?}"),
                        |t, v| upsample1d(t, &v[0], &p),
                        &[x],
                        601,
                    );
                }
            }
        }
    }
}
