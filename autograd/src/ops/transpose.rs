//! The NCL ↔ NTF transpose at the CNN → LSTM boundary: swaps the last two axes of a rank-3
//! tensor, with a copy (tensors are always contiguous, DESIGN.md §2.3).
//!
//! Forward: y[n, j, i] = x[n, i, j], so `[N, C, L]` becomes `[N, L, C]` (`ncl_to_ntf`: channels
//! become features, length becomes time) and back (`ntf_to_ncl`).   Cost: one copy of n·a·b values.
//! Gradient: a permutation's Jacobian is a permutation matrix, whose transpose is the inverse
//! permutation, so dx = swap(dy) — the same copy in the other direction.
//!
//! Pure data movement; stays in autograd.

use ecgrad_engine::{Real, Shape, Tensor};

use super::tensor;
use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// Copies `[n, a, b]` data into `[n, b, a]` order.
fn swap_last_two<T: Real>(x: &[T], n: usize, a: usize, b: usize) -> Vec<T> {
    let mut y = vec![T::ZERO; x.len()];
    for s in 0..n {
        let (xs, ys) = (&x[s * a * b..][..a * b], &mut y[s * a * b..][..a * b]);
        for i in 0..a {
            for j in 0..b {
                ys[j * a + i] = xs[i * b + j];
            }
        }
    }
    y
}

/// The rule of both transposes: remembers the input dims `[n, a, b]`.
struct SwapBackward {
    n: usize,
    a: usize,
    b: usize,
    name: &'static str,
}

impl<T: Real> Backward<T> for SwapBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        // dy is [n, b, a]; swapping back gives [n, a, b].
        Ok(vec![needs[0].then(|| {
            tensor(
                Shape::d3(self.n, self.a, self.b),
                swap_last_two(dy.data(), self.n, self.b, self.a),
            )
        })])
    }
}

fn swap<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    name: &'static str,
    layout: &'static str,
) -> Result<Var<T>> {
    let (n, a, b) = x.shape().dims3(name, "input").map_err(|e| match e {
        ecgrad_engine::Error::BadRank {
            op,
            arg,
            expected,
            got,
            ..
        } => ecgrad_engine::Error::BadRank {
            op,
            arg,
            expected,
            layout,
            got,
        },
        other => other,
    })?;
    let y = tensor(Shape::d3(n, b, a), swap_last_two(x.value().data(), n, a, b));
    tape.record(name, &[x], y, || Box::new(SwapBackward { n, a, b, name }))
}

/// `[N, C, L]` → `[N, L, C]` (conv features become a sequence of feature vectors).
///
/// # Errors
/// A rank error if `x` is not rank 3.
pub fn ncl_to_ntf<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    swap(tape, x, "ncl_to_ntf", "N, C, L")
}

/// `[N, T, F]` → `[N, F, T]` (a sequence back to conv layout).
///
/// # Errors
/// A rank error if `x` is not rank 3.
pub fn ntf_to_ncl<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    swap(tape, x, "ntf_to_ncl", "N, T, F")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn ncl_to_ntf_gradcheck_x() {
        for dims in [[1, 1, 1], [2, 3, 5], [1, 4, 1]] {
            let x = random_tensor(&dims, -1.0, 1.0, 51);
            assert_gradcheck("ncl_to_ntf", |t, v| ncl_to_ntf(t, &v[0]), &[x], 52);
        }
    }

    #[test]
    fn ntf_to_ncl_gradcheck_x() {
        let x = random_tensor(&[2, 7, 3], -1.0, 1.0, 53);
        assert_gradcheck("ntf_to_ncl", |t, v| ntf_to_ncl(t, &v[0]), &[x], 54);
    }

    #[test]
    fn transpose_moves_elements_and_round_trips() {
        let mut t = Tape::<f64>::new();
        // x[0] = [[0, 1, 2], [3, 4, 5]] (C = 2, L = 3) → y[0] = [[0, 3], [1, 4], [2, 5]].
        let x = t.input(tensor(Shape::d3(1, 2, 3), vec![0., 1., 2., 3., 4., 5.]));
        let y = ncl_to_ntf(&mut t, &x).unwrap();
        assert_eq!(y.shape(), Shape::d3(1, 3, 2));
        assert_eq!(y.value().data(), &[0., 3., 1., 4., 2., 5.]);
        let z = ntf_to_ncl(&mut t, &y).unwrap();
        assert_eq!(z.value(), x.value());
        let bad = t.input(Tensor::zeros(Shape::d2(2, 2)));
        let e = ncl_to_ntf(&mut t, &bad).unwrap_err().to_string();
        assert!(e.contains("ncl_to_ntf: input must have rank 3"), "{e}");
    }
}
