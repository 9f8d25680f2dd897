//! Matrix multiply with transpose flags, recorded on the tape: C = op(A)·op(B), op(X) = X or Xᵀ
//! (read through a transposed view, never copied). Kernels: the engine's GEMM-based
//! `engine/src/ops/matmul/`.
//!
//! Shapes (m × k times k × n gives m × n):
//! - rank 2:    A `[m, k]` (`[k, m]` if `trans_a`), B `[k, n]` (`[n, k]` if `trans_b`) → C `[m, n]`;
//! - batched:   A `[batch, m, k]`, B `[batch, k, n]` → C `[batch, m, n]`;
//! - shared B:  A `[batch, m, k]`, B `[k, n]` → C `[batch, m, n]` (a linear layer per time step).
//!
//! Cost: 2·batch·m·k·n FLOPs forward, the same again for each of dA and dB.
//!
//! Gradients (from dC = ∂L/∂C): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC; an operand used
//! transposed receives the transpose of that (the engine writes it through a transposed output
//! view); a shared B sums its gradient over the batch. The rule saves both operands (Arc clones).

use ecgrad_engine::ops::matmul::{self as em, MatmulParams};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `matmul`: saves both operands and the flags.
struct MatmulBackward<T: Real> {
    a: Tensor<T>,
    b: Tensor<T>,
    p: MatmulParams,
}

impl<T: Real> Backward<T> for MatmulBackward<T> {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, dc: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let (da, db) = em::matmul_grad(&self.a, &self.b, dc, self.p, (needs[0], needs[1]))?;
        Ok(vec![da, db])
    }
}

/// C = op(A)·op(B); see the module docs for the accepted shapes and the flags.
///
/// # Errors
/// A shape mismatch naming both shapes and flags for bad ranks, differing batch sizes or
/// differing inner dimensions; `EmptyOutput` for empty operands.
pub fn matmul<T: Real>(
    tape: &mut Tape<T>,
    a: &Var<T>,
    b: &Var<T>,
    trans_a: bool,
    trans_b: bool,
) -> Result<Var<T>> {
    let p = MatmulParams { trans_a, trans_b };
    let c = em::matmul(a.value(), b.value(), p)?;
    tape.record("matmul", &[a, b], c, || {
        Box::new(MatmulBackward {
            a: a.value().clone(),
            b: b.value().clone(),
            p,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::ops::tensor;
    use ecgrad_engine::Shape;

    /// Stored dims of an operand: `[rows, cols]` of op(X), swapped when transposed, after `batch`.
    fn stored(batch: Option<usize>, rows: usize, cols: usize, trans: bool) -> Vec<usize> {
        let mat = if trans { [cols, rows] } else { [rows, cols] };
        batch.into_iter().chain(mat).collect()
    }

    const SIZES: [(usize, usize, usize); 5] =
        [(1, 1, 1), (2, 3, 4), (3, 1, 2), (4, 5, 1), (7, 3, 5)];

    #[test]
    fn matmul_gradcheck_a_and_b_all_flags() {
        for (m, k, n) in SIZES {
            for trans_a in [false, true] {
                for trans_b in [false, true] {
                    let a = random_tensor(&stored(None, m, k, trans_a), -1.0, 1.0, 131);
                    let b = random_tensor(&stored(None, k, n, trans_b), -1.0, 1.0, 132);
                    assert_gradcheck(
                        "matmul",
                        |t, v| matmul(t, &v[0], &v[1], trans_a, trans_b),
                        &[a, b],
                        133,
                    );
                }
            }
        }
    }

    #[test]
    fn batched_and_shared_b_matmul_gradcheck_all_flags() {
        for (m, k, n) in SIZES {
            for batch in [1, 3] {
                for trans_a in [false, true] {
                    for trans_b in [false, true] {
                        let a = random_tensor(&stored(Some(batch), m, k, trans_a), -1.0, 1.0, 134);
                        for b_batch in [Some(batch), None] {
                            let b = random_tensor(&stored(b_batch, k, n, trans_b), -1.0, 1.0, 135);
                            assert_gradcheck(
                                "batched matmul",
                                |t, v| matmul(t, &v[0], &v[1], trans_a, trans_b),
                                &[a.clone(), b],
                                136,
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matmul_gradcheck_same_var_twice() {
        // C = X·Xᵀ: both operands are one node; dX = dC·X + dCᵀ·X.
        let x = random_tensor(&[3, 4], -1.0, 1.0, 137);
        assert_gradcheck(
            "x·xᵀ",
            |t, v| matmul(t, &v[0], &v[0], false, true),
            &[x],
            138,
        );
    }

    #[test]
    fn hand_computed_matmul_and_flags() {
        // [[1, 2], [3, 4]]·[[5], [6]] = [[17], [39]]; with trans_a: [[1, 3], [2, 4]]·[[5], [6]] = [[23], [34]].
        let mut t = Tape::<f64>::new();
        let a = t.input(tensor(Shape::d2(2, 2), vec![1., 2., 3., 4.]));
        let b = t.input(tensor(Shape::d2(2, 1), vec![5., 6.]));
        assert_eq!(
            matmul(&mut t, &a, &b, false, false).unwrap().value().data(),
            &[17., 39.]
        );
        assert_eq!(
            matmul(&mut t, &a, &b, true, false).unwrap().value().data(),
            &[23., 34.]
        );
        let bt = t.input(tensor(Shape::d2(1, 2), vec![5., 6.]));
        assert_eq!(
            matmul(&mut t, &a, &bt, false, true).unwrap().value().data(),
            &[17., 39.]
        );
        let e = matmul(&mut t, &a, &bt, false, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("matmul:") && e.contains("inner dimensions"),
            "{e}"
        );
    }
}
