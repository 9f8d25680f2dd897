//! The NEON direct correlation kernel (aarch64) behind [`super::direct_conv`]; the same tile as
//! the AVX2 version (`avx2_direct.rs`): R ≤ 4 rows × 16 positions, here 4·R registers of 4 lanes
//! plus 4 for the signal views (at most 20 of the 32 vector registers).

use std::arch::aarch64::*;

/// One tile: rows `o .. o + R`, positions `t .. t + 4·V`, accumulators started at the bias.
///
/// # Safety
/// The caller guarantees `offs[q] + t + 4·V <= x.len()` for every q, `(o + R − 1)·ldy + t + 4·V
/// <= y.len()`, `w.len() >= (o + R)·Q` and `bias.len() >= o + R`.
#[target_feature(enable = "neon")]
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
    let mut acc = [[vdupq_n_f32(0.0); V]; R];
    for (i, row) in acc.iter_mut().enumerate() {
        *row = [vdupq_n_f32(bias[o + i]); V];
    }
    for (q, &off) in offs.iter().enumerate() {
        let mut xv = [vdupq_n_f32(0.0); V];
        for (v, xv) in xv.iter_mut().enumerate() {
            // SAFETY: off + t + 4·v + 4 <= off + t + 4·V <= x.len() (the caller's guarantee).
            *xv = unsafe { vld1q_f32(px.add(off + t + 4 * v)) };
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let wq = w[(o + i) * q_n + q];
            for (a, &xv) in row.iter_mut().zip(&xv) {
                *a = vfmaq_n_f32(*a, xv, wq);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (v, &a) in row.iter().enumerate() {
            // SAFETY: (o + i)·ldy + t + 4·v + 4 <= (o + R − 1)·ldy + t + 4·V <= y.len().
            unsafe { vst1q_f32(py.add((o + i) * ldy + t + 4 * v), a) };
        }
    }
}

/// `y[o·ldy + t] = bias[o] + Σ_q w[o·Q + q]·x[offs[q] + t]` for `o < rows`, `t < len` (see
/// [`super::direct_conv`], which checked every extent).
///
/// # Panics
/// If an extent is violated (re-checked here, so this safe function is sound on its own).
#[target_feature(enable = "neon")]
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
    super::direct_tiling(x, offs, w, bias, y, dims, 4, |y, r, o, t, wide| {
        // SAFETY: the driver hands out t + 16 (wide) or t + 4 <= len and rows o..o + r <=
        // rows, so offs[q] + t + 16 <= max(offs) + len <= x.len() and (o + r − 1)·ldy + t + 16 <=
        // (rows − 1)·ldy + len <= y.len(); rows o..o + r of w and bias exist (all checked above).
        unsafe {
            match (r, wide) {
                (4, true) => tile::<4, 4>(x, offs, w, bias, y, ldy, o, t),
                (3, true) => tile::<3, 4>(x, offs, w, bias, y, ldy, o, t),
                (2, true) => tile::<2, 4>(x, offs, w, bias, y, ldy, o, t),
                (_, true) => tile::<1, 4>(x, offs, w, bias, y, ldy, o, t),
                (4, false) => tile::<4, 1>(x, offs, w, bias, y, ldy, o, t),
                (3, false) => tile::<3, 1>(x, offs, w, bias, y, ldy, o, t),
                (2, false) => tile::<2, 1>(x, offs, w, bias, y, ldy, o, t),
                (_, false) => tile::<1, 1>(x, offs, w, bias, y, ldy, o, t),
            }
        }
    });
}
