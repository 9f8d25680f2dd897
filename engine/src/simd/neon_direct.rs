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
    let q_n = offs.len();
    let mut o = 0;
    while o < rows {
        let r = (rows - o).min(4);
        let mut t = 0;
        // SAFETY (all tiles): t + 16 (or + 4) <= len, so offs[q] + t + 16 <= max(offs) + len <=
        // x.len() and (o + r − 1)·ldy + t + 16 <= (rows − 1)·ldy + len <= y.len(); rows o..o+r
        // of w and bias exist (all checked above).
        while t + 16 <= len {
            // SAFETY: see above (t + 16 <= len).
            unsafe {
                match r {
                    4 => tile::<4, 4>(x, offs, w, bias, y, ldy, o, t),
                    3 => tile::<3, 4>(x, offs, w, bias, y, ldy, o, t),
                    2 => tile::<2, 4>(x, offs, w, bias, y, ldy, o, t),
                    _ => tile::<1, 4>(x, offs, w, bias, y, ldy, o, t),
                }
            }
            t += 16;
        }
        while t + 4 <= len {
            // SAFETY: see above (t + 4 <= len).
            unsafe {
                match r {
                    4 => tile::<4, 1>(x, offs, w, bias, y, ldy, o, t),
                    3 => tile::<3, 1>(x, offs, w, bias, y, ldy, o, t),
                    2 => tile::<2, 1>(x, offs, w, bias, y, ldy, o, t),
                    _ => tile::<1, 1>(x, offs, w, bias, y, ldy, o, t),
                }
            }
            t += 4;
        }
        for i in o..o + r {
            for tt in t..len {
                let mut s = bias[i];
                for (q, &off) in offs.iter().enumerate() {
                    s = w[i * q_n + q].mul_add(x[off + tt], s);
                }
                y[i * ldy + tt] = s;
            }
        }
        o += r;
    }
}
