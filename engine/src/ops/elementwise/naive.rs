//! Naive twins of the elementwise kernels: one plain loop per formula, the specification the
//! fast kernels in [`super`] are tested against.

use super::BinaryOp;
use crate::real::Real;

/// out\[i\] ← a\[i\] ∘ b\[i\] with one plain loop: the specification of [`super::binary_forward`].
pub fn binary_naive<T: Real>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    for i in 0..out.len() {
        out[i] = match op {
            BinaryOp::Add => a[i] + b[i],
            BinaryOp::Sub => a[i] - b[i],
            BinaryOp::Mul => a[i] * b[i],
            BinaryOp::Div => a[i] / b[i],
        };
    }
}

/// Accumulates the gradients of `a ∘ b` with plain loops (see the module doc for the formulas):
/// the specification of [`super::binary_backward`]. `da`/`db` are `None` when not needed.
pub fn binary_backward_naive<T: Real>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    dy: &[T],
    mut da: Option<&mut [T]>,
    mut db: Option<&mut [T]>,
) {
    for i in 0..dy.len() {
        let (ga, gb) = match op {
            BinaryOp::Add => (dy[i], dy[i]),
            BinaryOp::Sub => (dy[i], -dy[i]),
            BinaryOp::Mul => (dy[i] * b[i], dy[i] * a[i]),
            BinaryOp::Div => (dy[i] / b[i], -dy[i] * a[i] / (b[i] * b[i])),
        };
        if let Some(da) = da.as_deref_mut() {
            da[i] += ga;
        }
        if let Some(db) = db.as_deref_mut() {
            db[i] += gb;
        }
    }
}

/// y\[n,c,t\] ← x\[n,c,t\] + b\[c\], written with ndarray indexing exactly as the formula.
pub fn bias_add_ncl_naive<T: Real>(x: &[T], b: &[T], y: &mut [T], n: usize, c: usize, l: usize) {
    let xv = ndarray::ArrayView3::from_shape((n, c, l), x).expect("naive: x is [n, c, l]");
    let mut yv = ndarray::ArrayViewMut3::from_shape((n, c, l), y).expect("naive: y is [n, c, l]");
    for ni in 0..n {
        for ci in 0..c {
            for t in 0..l {
                yv[[ni, ci, t]] = xv[[ni, ci, t]] + b[ci];
            }
        }
    }
}

/// db\[c\] += Σ_{n,t} dy\[n,c,t\] in plain (n, t) order: the specification of
/// [`super::bias_add_ncl_backward_bias`].
pub fn bias_add_ncl_backward_bias_naive<T: Real>(
    dy: &[T],
    db: &mut [T],
    n: usize,
    c: usize,
    l: usize,
) {
    let dyv = ndarray::ArrayView3::from_shape((n, c, l), dy).expect("naive: dy is [n, c, l]");
    for ci in 0..c {
        for ni in 0..n {
            for t in 0..l {
                db[ci] += dyv[[ni, ci, t]];
            }
        }
    }
}
