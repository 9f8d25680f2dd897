//! The AVX2+FMA direct correlation kernel (x86_64) behind [`super::direct_conv`]: the first layer
//! of an ECG network (one or two leads, a short kernel) without packing anything.
//!
//! **Tile.** R ≤ 4 output rows × 16 positions in 2·R registers. For each of the Q taps, two
//! unaligned loads bring `x[offs[q] + t .. + 16]` (the tap's view of the signal) and each row
//! broadcasts its weight and issues two FMAs: 2·R FMAs per 2 + R loads, against one FMA per load
//! and store for an axpy along time. The signal views are re-read from L1 for every tile of rows;
//! with Q ≤ 16 taps there is nothing to pack and no edge tile to copy, which is what makes this
//! cheaper than the packed GEMM when the reduction is this short.

use std::arch::x86_64::*;

/// One tile: rows `o .. o + R`, positions `t .. t + 8·V`, accumulators started at the bias.
///
/// # Safety
/// The caller guarantees `offs[q] + t + 8·V <= x.len()` for every q, `(o + R − 1)·ldy + t + 8·V
/// <= y.len()`, `w.len() >= (o + R)·Q` and `bias.len() >= o + R`.
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize, const V: usize>(
    x: &[f32],
    offs: &[usize],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    ldy: usize,
    o: usize,
    t: usize,
) {
    let q_n = offs.len();
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    for (i, row) in acc.iter_mut().enumerate() {
        *row = [_mm256_set1_ps(bias[o + i]); V];
    }
    for (q, &off) in offs.iter().enumerate() {
        let mut xv = [_mm256_setzero_ps(); V];
        for (v, xv) in xv.iter_mut().enumerate() {
            // SAFETY: off + t + 8·v + 8 <= off + t + 8·V <= x.len() (the caller's guarantee).
            *xv = unsafe { _mm256_loadu_ps(px.add(off + t + 8 * v)) };
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let wv = _mm256_set1_ps(w[(o + i) * q_n + q]);
            for (a, &xv) in row.iter_mut().zip(&xv) {
                *a = _mm256_fmadd_ps(wv, xv, *a);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (v, &a) in row.iter().enumerate() {
            // SAFETY: (o + i)·ldy + t + 8·v + 8 <= (o + R − 1)·ldy + t + 8·V <= y.len().
            unsafe { _mm256_storeu_ps(py.add((o + i) * ldy + t + 8 * v), a) };
        }
    }
}

/// `y[o·ldy + t] = bias[o] + Σ_q w[o·Q + q]·x[offs[q] + t]` for `o < rows`, `t < len` (see
/// [`super::direct_conv`], which checked every extent).
///
/// # Panics
/// If an extent is violated (re-checked here, so this safe function is sound on its own).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn direct_conv(
    x: &[f32],
    offs: &[usize],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    (rows, len, ldy): (usize, usize, usize),
) {
    super::check_direct_conv_args(
        x.len(),
        offs,
        w.len(),
        bias.len(),
        y.len(),
        (rows, len, ldy),
    );
    if rows == 0 || len == 0 {
        return;
    }
    let dims = (rows, len, ldy);
    super::direct_tiling(x, offs, w, bias, y, dims, 8, |y, r, o, t, wide| {
        // SAFETY: the driver hands out t + 16 (wide) or t + 8 <= len and rows o..o + r <=
        // rows, so offs[q] + t + 16 <= max(offs) + len <= x.len() and (o + r − 1)·ldy + t + 16 <=
        // (rows − 1)·ldy + len <= y.len(); rows o..o + r of w and bias exist (all checked above).
        unsafe {
            match (r, wide) {
                (4, true) => tile::<4, 2>(x, offs, w, bias, y, ldy, o, t),
                (3, true) => tile::<3, 2>(x, offs, w, bias, y, ldy, o, t),
                (2, true) => tile::<2, 2>(x, offs, w, bias, y, ldy, o, t),
                (_, true) => tile::<1, 2>(x, offs, w, bias, y, ldy, o, t),
                (4, false) => tile::<4, 1>(x, offs, w, bias, y, ldy, o, t),
                (3, false) => tile::<3, 1>(x, offs, w, bias, y, ldy, o, t),
                (2, false) => tile::<2, 1>(x, offs, w, bias, y, ldy, o, t),
                (_, false) => tile::<1, 1>(x, offs, w, bias, y, ldy, o, t),
            }
        }
    });
}
