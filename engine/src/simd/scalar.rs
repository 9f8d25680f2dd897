//! Portable loops: the scalar fallback for f32 and the only path for f64.
//!
//! These are written generically over [`Real`] and are also the reference the SIMD bodies are
//! tested against, so they stay as plain as possible. Callers ([`crate::simd`] dispatchers, or
//! the `Real` trait's default methods) have already checked slice lengths.

use super::{MR, NR};
use crate::real::Real;

/// Σᵢ aᵢ·bᵢ.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = T::ZERO;
    for (&x, &y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// Σᵢ aᵢ.
pub fn sum<T: Real>(a: &[T]) -> T {
    let mut acc = T::ZERO;
    for &x in a {
        acc += x;
    }
    acc
}

/// y ← y + α·x.
pub fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// x ← α·x.
pub fn scale<T: Real>(alpha: T, x: &mut [T]) {
    for v in x {
        *v *= alpha;
    }
}

/// out ← a + b.
pub fn add<T: Real>(a: &[T], b: &[T], out: &mut [T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

/// out ← a ⊙ b.
pub fn mul<T: Real>(a: &[T], b: &[T], out: &mut [T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// maxᵢ aᵢ, or −∞ (as −1/0 would be) for an empty slice.
pub fn max<T: Real>(a: &[T]) -> T {
    let mut m = T::from_f64(f64::NEG_INFINITY);
    for &x in a {
        if x > m {
            m = x;
        }
    }
    m
}

/// out ← max(x, 0).
pub fn relu<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = if v > T::ZERO { v } else { T::ZERO };
    }
}

/// dx ← dx + dy ⊙ \[y > 0\]. Uses the output y: y > 0 exactly where x > 0.
pub fn relu_backward<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    for ((d, &yv), &g) in dx.iter_mut().zip(y).zip(dy) {
        if yv > T::ZERO {
            *d += g;
        }
    }
}

/// out ← eˣ (the library exp: exact to the last bit or so).
pub fn exp<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v.exp();
    }
}

/// out ← σ(x) = 1 / (1 + e⁻ˣ), computed without overflow for large |x|.
pub fn sigmoid<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        // For v < 0 use eᵛ / (1 + eᵛ), so e^{−v} never overflows.
        *o = if v >= T::ZERO {
            T::ONE / (T::ONE + (-v).exp())
        } else {
            let e = v.exp();
            e / (T::ONE + e)
        };
    }
}

/// out ← tanh(x).
pub fn tanh<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v.tanh();
    }
}

/// dst\[i\] ← src\[start + i·step\].
pub fn gather_strided<T: Real>(src: &[T], start: usize, step: usize, dst: &mut [T]) {
    for (i, d) in dst.iter_mut().enumerate() {
        *d = src[start + i * step];
    }
}

/// dst\[start + i·step\] += src\[i\].
pub fn scatter_add_strided<T: Real>(src: &[T], dst: &mut [T], start: usize, step: usize) {
    for (i, &s) in src.iter().enumerate() {
        dst[start + i * step] += s;
    }
}

/// The GEMM micro-kernel, plainly: C ← α·(Σₚ a\[p·MR+i\]·b\[p·NR+j\]) + β·C on an MR×NR tile.
/// β = 0 overwrites C without reading it.
pub fn gemm_kernel<T: Real>(
    k: usize,
    alpha: T,
    a_panel: &[T],
    b_panel: &[T],
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    tile(
        MR,
        k,
        a_panel,
        |p| &b_panel[p * NR..p * NR + NR],
        (alpha, beta),
        c,
        ldc,
    )
}

/// The in-place GEMM micro-kernel, plainly: C ← (Σₚ a\[p·MR+i\]·x\[offs\[p\]+j\]) + β·C on the
/// first `rows` rows of an MR×NR tile (see [`super::conv_kernel`]). β = 0 overwrites C without
/// reading it.
pub fn conv_kernel<T: Real>(
    rows: usize,
    a_panel: &[T],
    x: &[T],
    offs: &super::RowOffsets,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let offs = offs.as_slice();
    let b_row = |p: usize| &x[offs[p]..offs[p] + NR];
    tile(rows, offs.len(), a_panel, b_row, (T::ONE, beta), c, ldc)
}

/// Both kernels: rows `i < rows` of C ← α·(Σ_{p<k} a\[p·MR+i\]·B\[p\]\[j\]) + β·C, row `p` of B
/// given by `b_row(p)` (a packed panel's row, or a slice of the signal).
fn tile<'b, T: Real + 'b>(
    rows: usize,
    k: usize,
    a_panel: &[T],
    b_row: impl Fn(usize) -> &'b [T],
    (alpha, beta): (T, T),
    c: &mut [T],
    ldc: usize,
) {
    let mut acc = [[T::ZERO; NR]; MR];
    for p in 0..k {
        let a = &a_panel[p * MR..p * MR + MR];
        let b = b_row(p);
        for i in 0..MR {
            for j in 0..NR {
                acc[i][j] += a[i] * b[j];
            }
        }
    }
    for i in 0..rows {
        let row = &mut c[i * ldc..i * ldc + NR];
        for j in 0..NR {
            row[j] = if beta == T::ZERO {
                alpha * acc[i][j]
            } else {
                alpha * acc[i][j] + beta * row[j]
            };
        }
    }
}

/// The direct correlation, plainly (the reference for the SIMD kernels, and the f64 path):
/// `y[o·ldy + t] = bias[o] + Σ_q w[o·Q + q]·x[offs[q] + t]` for `o < rows`, `t < len`.
pub fn direct_conv<T: Real>(
    x: &[T],
    offs: &[usize],
    w: &[T],
    bias: &[T],
    y: &mut [T],
    (rows, len, ldy): (usize, usize, usize),
) {
    let q_n = offs.len();
    for o in 0..rows {
        for t in 0..len {
            let mut s = bias[o];
            for (q, &off) in offs.iter().enumerate() {
                s += w[o * q_n + q] * x[off + t];
            }
            y[o * ldy + t] = s;
        }
    }
}
