//! Matrix multiply with transpose flags: C = op(A)·op(B), op(X) = X or Xᵀ (no transposed copy).
//!
//! Shapes: op(A) is `[m, k]`, op(B) is `[k, n]`, C is `[m, n]`; with `trans_a` A is stored as
//! `[k, m]`, with `trans_b` B as `[n, k]`.   Cost: 2·m·k·n FLOPs.
//!
//! Gradients (from dC = ∂L/∂C): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC; when an operand was
//! used transposed, its gradient is the transpose of that, i.e.
//! - dA\[i, p\] (or dA\[p, i\] if `trans_a`) = Σⱼ dC\[i, j\]·op(B)\[p, j\];
//! - dB\[p, j\] (or dB\[j, p\] if `trans_b`) = Σᵢ op(A)\[i, p\]·dC\[i, j\].
//!
//! Kernels: the naive triple loop for now (read through index closures, so the four flag
//! combinations share one loop); this will call `engine/src/ops/matmul.rs` (GEMM with the same
//! flags) when it lands.

use ecgrad_engine::{Real, Shape, Tensor};

use super::tensor;
use crate::backward::Backward;
use crate::error::{Result, mismatch};
use crate::tape::{Tape, Var};

/// Element (i, p) of op(X) for X stored row-major with `cols` columns.
fn at<T: Real>(x: &[T], cols: usize, trans: bool, i: usize, p: usize) -> T {
    if trans {
        x[p * cols + i]
    } else {
        x[i * cols + p]
    }
}

/// The rule of `matmul`: saves both operands (Arc clones) and the dimensions.
struct MatmulBackward<T: Real> {
    a: Tensor<T>,
    b: Tensor<T>,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    k: usize,
    n: usize,
}

impl<T: Real> Backward<T> for MatmulBackward<T> {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, dc: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let (m, k, n) = (self.m, self.k, self.n);
        let (a, b, dc) = (self.a.data(), self.b.data(), dc.data());
        let (a_cols, b_cols) = (self.a.dims()[1], self.b.dims()[1]);
        let da = needs[0].then(|| {
            let mut da = vec![T::ZERO; m * k];
            for i in 0..m {
                for p in 0..k {
                    let s: T = (0..n)
                        .map(|j| dc[i * n + j] * at(b, b_cols, self.trans_b, p, j))
                        .sum();
                    // Store at A's own layout: [m, k], or [k, m] when A was used transposed.
                    let idx = if self.trans_a { p * m + i } else { i * k + p };
                    da[idx] = s;
                }
            }
            tensor(self.a.shape(), da)
        });
        let db = needs[1].then(|| {
            let mut db = vec![T::ZERO; k * n];
            for p in 0..k {
                for j in 0..n {
                    let s: T = (0..m)
                        .map(|i| at(a, a_cols, self.trans_a, i, p) * dc[i * n + j])
                        .sum();
                    let idx = if self.trans_b { j * k + p } else { p * n + j };
                    db[idx] = s;
                }
            }
            tensor(self.b.shape(), db)
        });
        Ok(vec![da, db])
    }
}

/// C = op(A)·op(B) for rank-2 A and B; see the module docs for the flags.
///
/// # Errors
/// Rank errors for non-matrices; a shape mismatch when the inner dimensions differ.
pub fn matmul<T: Real>(
    tape: &mut Tape<T>,
    a: &Var<T>,
    b: &Var<T>,
    trans_a: bool,
    trans_b: bool,
) -> Result<Var<T>> {
    let (ar, ac) = a.shape().dims2("matmul", "a")?;
    let (br, bc) = b.shape().dims2("matmul", "b")?;
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if trans_b { (bc, br) } else { (br, bc) };
    if k != k2 {
        return Err(mismatch(
            "matmul",
            format!(
                "inner dimensions differ: op(a) has {k} columns, op(b) has {k2} rows (trans_a = {trans_a}, trans_b = {trans_b})"
            ),
            "a",
            a.shape(),
            "b",
            b.shape(),
        ));
    }
    let (ad, bd) = (a.value().data(), b.value().data());
    let mut c = vec![T::ZERO; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|p| at(ad, ac, trans_a, i, p) * at(bd, bc, trans_b, p, j))
                .sum();
        }
    }
    let (sa, sb) = (a.value().clone(), b.value().clone());
    tape.record("matmul", &[a, b], tensor(Shape::d2(m, n), c), || {
        Box::new(MatmulBackward {
            a: sa,
            b: sb,
            trans_a,
            trans_b,
            m,
            k,
            n,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn matmul_gradcheck_a_and_b_all_flags() {
        for (m, k, n) in [(1, 1, 1), (2, 3, 4), (3, 1, 2), (4, 5, 1)] {
            for trans_a in [false, true] {
                for trans_b in [false, true] {
                    let a = random_tensor(&(if trans_a { [k, m] } else { [m, k] }), -1.0, 1.0, 131);
                    let b = random_tensor(&(if trans_b { [n, k] } else { [k, n] }), -1.0, 1.0, 132);
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
        assert!(e.starts_with("matmul: inner dimensions differ"), "{e}");
    }
}
