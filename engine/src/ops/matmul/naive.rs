//! Naive twins of the matmul kernels: triple loops over explicit index formulas, the
//! specification the GEMM-based kernels of [`super`] are tested against.

use super::{MatmulDims, MatmulParams};
use crate::real::Real;

/// Element (i, p) of op(A_b), read straight from the index formula.
fn a_at<T: Real>(a: &[T], d: MatmulDims, p: MatmulParams, bi: usize, i: usize, q: usize) -> T {
    let base = bi * d.m * d.k;
    if p.trans_a {
        a[base + q * d.m + i]
    } else {
        a[base + i * d.k + q]
    }
}

/// Element (q, j) of op(B_b).
fn b_at<T: Real>(b: &[T], d: MatmulDims, p: MatmulParams, bi: usize, q: usize, j: usize) -> T {
    let base = if d.b_batched { bi * d.k * d.n } else { 0 };
    if p.trans_b {
        b[base + j * d.k + q]
    } else {
        b[base + q * d.n + j]
    }
}

/// C\[b,i,j\] = Σ_q op(A)\[b,i,q\]·op(B)\[b,q,j\] as three loops; overwrites C.
pub fn matmul_naive<T: Real>(a: &[T], b: &[T], c: &mut [T], d: MatmulDims, p: MatmulParams) {
    for bi in 0..d.batch {
        for i in 0..d.m {
            for j in 0..d.n {
                let mut acc = T::ZERO;
                for q in 0..d.k {
                    acc += a_at(a, d, p, bi, i, q) * b_at(b, d, p, bi, q, j);
                }
                c[(bi * d.m + i) * d.n + j] = acc;
            }
        }
    }
}

/// Accumulates d op(A)\[b,i,q\] += Σ_j dC\[b,i,j\]·op(B)\[b,q,j\] into dA's storage layout.
pub fn matmul_backward_a_naive<T: Real>(
    dc: &[T],
    b: &[T],
    da: &mut [T],
    d: MatmulDims,
    p: MatmulParams,
) {
    for bi in 0..d.batch {
        for i in 0..d.m {
            for q in 0..d.k {
                let mut acc = T::ZERO;
                for j in 0..d.n {
                    acc += dc[(bi * d.m + i) * d.n + j] * b_at(b, d, p, bi, q, j);
                }
                let at = if p.trans_a { q * d.m + i } else { i * d.k + q };
                da[bi * d.m * d.k + at] += acc;
            }
        }
    }
}

/// Accumulates d op(B)\[q,j\] += Σ_i op(A)\[b,i,q\]·dC\[b,i,j\] into dB's storage layout (for a
/// shared B, every batch element adds into the one dB).
pub fn matmul_backward_b_naive<T: Real>(
    a: &[T],
    dc: &[T],
    db: &mut [T],
    d: MatmulDims,
    p: MatmulParams,
) {
    for bi in 0..d.batch {
        let base = if d.b_batched { bi * d.k * d.n } else { 0 };
        for q in 0..d.k {
            for j in 0..d.n {
                let mut acc = T::ZERO;
                for i in 0..d.m {
                    acc += a_at(a, d, p, bi, i, q) * dc[(bi * d.m + i) * d.n + j];
                }
                let at = if p.trans_b { j * d.k + q } else { q * d.n + j };
                db[base + at] += acc;
            }
        }
    }
}
