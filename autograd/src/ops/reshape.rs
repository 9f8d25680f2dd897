//! `reshape`: the same elements under a new shape (no copy: the buffer is shared).
//!
//! Forward: y = x viewed as `shape` (row-major order unchanged).   Cost: O(1).
//! Gradient: dx = dy viewed as x's shape — reshape only relabels indices, so the Jacobian is the
//! identity on the flat data.
//!
//! Pure data movement; stays in autograd (the engine's `Tensor::reshape` does the work).

use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `reshape`: remembers the input shape.
struct ReshapeBackward {
    input_shape: Shape,
}

impl<T: Real> Backward<T> for ReshapeBackward {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(dy.reshape(self.input_shape)?)
        } else {
            None
        }])
    }
}

/// y = x with shape `shape` (same element count), sharing x's buffer.
///
/// # Errors
/// An engine `DataLength` error if the element counts differ.
pub fn reshape<T: Real>(tape: &mut Tape<T>, x: &Var<T>, shape: Shape) -> Result<Var<T>> {
    let y = x.value().reshape(shape)?;
    let input_shape = x.shape();
    tape.record("reshape", &[x], y, || {
        Box::new(ReshapeBackward { input_shape })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn reshape_gradcheck_x() {
        let x = random_tensor(&[2, 3, 4], -1.0, 1.0, 41);
        assert_gradcheck(
            "reshape",
            |t, v| reshape(t, &v[0], Shape::d2(6, 4)),
            &[x],
            42,
        );
    }

    #[test]
    fn reshape_shares_the_buffer_and_rejects_bad_counts() {
        let mut t = Tape::<f64>::new();
        let x = t.input(random_tensor(&[2, 3], -1.0, 1.0, 43));
        let y = reshape(&mut t, &x, Shape::d1(6)).unwrap();
        assert!(y.value().shares_buffer_with(x.value()));
        assert!(reshape(&mut t, &x, Shape::d1(5)).is_err());
    }
}
