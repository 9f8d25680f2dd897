//! The NEON GEMM micro-kernel (aarch64): a 6×16 tile of C in twenty-four 4-lane registers.
//! Called only through [`super::gemm_kernel`], which checked the extents (and re-checked here,
//! so this safe function is sound on its own).
//!
//! **Register budget.** aarch64 has 32 vector registers of 4 f32. The 6×16 tile of C needs
//! 6 rows × 4 vectors = 24 accumulators; one packed row of B takes 4 more, and the 6 values of
//! the A column 2 more: 30 of 32, so the whole k loop runs without spilling.
//!
//! **Why `vfmaq_laneq_f32`.** x86 broadcasts each A element into a full register before the
//! FMA (`_mm256_broadcast_ss`). NEON's by-element FMA, `vfmaq_laneq_f32(acc, b, a, l)` =
//! acc + b·a\[l\], reads the multiplier straight out of one lane of a vector register. So we load
//! the 6 A values as two vectors (elements 0..4 and 2..6 of the column; the overlap is free) and
//! issue 24 FMAs per 6 loads, with no broadcast instructions at all.

use super::{MR, NR};
use std::arch::aarch64::*;

/// The 6×16 GEMM micro-kernel (see [`super::gemm_kernel`] for the contract):
/// C ← α·(Σₚ A\[:, p\]·B\[p, :\]) + β·C, and β = 0 never reads C.
///
/// # Panics
/// If a panel is shorter than `k` steps or the tile does not fit in `c`.
#[target_feature(enable = "neon")]
pub(crate) fn gemm_kernel(
    k: usize,
    alpha: f32,
    a_panel: &[f32],
    b_panel: &[f32],
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    assert!(a_panel.len() >= k * MR && b_panel.len() >= k * NR);
    assert!(ldc >= NR && c.len() >= (MR - 1) * ldc + NR);
    let (pa, pb) = (a_panel.as_ptr(), b_panel.as_ptr());
    // acc[i][v] holds C[i, 4v .. 4v + 4].
    let mut acc = [[vdupq_n_f32(0.0); 4]; MR];
    for p in 0..k {
        // SAFETY: p < k, so p·NR + 16 <= k·NR <= b_panel.len() and p·MR + 6 <= k·MR <=
        // a_panel.len() (asserted above); the loads below stay inside those ranges.
        let (b, a03, a25) = unsafe {
            let bp = pb.add(p * NR);
            let b = [
                vld1q_f32(bp),
                vld1q_f32(bp.add(4)),
                vld1q_f32(bp.add(8)),
                vld1q_f32(bp.add(12)),
            ];
            // a03 = A[0..4, p], a25 = A[2..6, p]: rows 4 and 5 are lanes 2 and 3 of a25.
            (b, vld1q_f32(pa.add(p * MR)), vld1q_f32(pa.add(p * MR + 2)))
        };
        // Fully unrolled by the compiler: the loops have constant bounds and the lane index
        // must be a constant, so each row picks its (register, lane) pair explicitly.
        for v in 0..4 {
            acc[0][v] = vfmaq_laneq_f32::<0>(acc[0][v], b[v], a03);
            acc[1][v] = vfmaq_laneq_f32::<1>(acc[1][v], b[v], a03);
            acc[2][v] = vfmaq_laneq_f32::<2>(acc[2][v], b[v], a03);
            acc[3][v] = vfmaq_laneq_f32::<3>(acc[3][v], b[v], a03);
            acc[4][v] = vfmaq_laneq_f32::<2>(acc[4][v], b[v], a25);
            acc[5][v] = vfmaq_laneq_f32::<3>(acc[5][v], b[v], a25);
        }
    }
    let va = vdupq_n_f32(alpha);
    let vb = vdupq_n_f32(beta);
    let pc = c.as_mut_ptr();
    for (i, row_acc) in acc.iter().enumerate() {
        for (v, &acc_v) in row_acc.iter().enumerate() {
            // SAFETY: i·ldc + 4v + 4 <= (MR−1)·ldc + NR <= c.len() (asserted above).
            unsafe {
                let dst = pc.add(i * ldc + 4 * v);
                let mut out = vmulq_f32(va, acc_v);
                // β = 0 must not read C: it may hold garbage or NaN.
                if beta != 0.0 {
                    out = vfmaq_f32(out, vb, vld1q_f32(dst));
                }
                vst1q_f32(dst, out);
            }
        }
    }
}

/// The micro-kernel with B read in place (see [`super::conv_kernel`] for the contract): the
/// first `rows` rows of a 6×16 tile, where row `p` of B is the 16 floats at `x[offs[p]..]`,
/// four unaligned loads straight from the signal; otherwise the register tile of
/// [`gemm_kernel`].
///
/// # Panics
/// If an extent is violated (re-checked here, so this safe function is sound on its own).
#[target_feature(enable = "neon")]
pub(crate) fn conv_kernel(
    rows: usize,
    a_panel: &[f32],
    x: &[f32],
    offs: &super::RowOffsets,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    super::check_conv_kernel_args(rows, a_panel.len(), x.len(), offs, c.len(), ldc);
    match rows {
        6 => conv_tile::<6>(a_panel, x, offs, beta, c, ldc),
        5 => conv_tile::<5>(a_panel, x, offs, beta, c, ldc),
        4 => conv_tile::<4>(a_panel, x, offs, beta, c, ldc),
        3 => conv_tile::<3>(a_panel, x, offs, beta, c, ldc),
        2 => conv_tile::<2>(a_panel, x, offs, beta, c, ldc),
        _ => conv_tile::<1>(a_panel, x, offs, beta, c, ldc),
    }
}

/// One FMA of row `i` of the tile: `acc + b·A[i, p]`, with A's column held as a03 = rows 0..4,
/// a25 = rows 2..6 (the lane must be a constant; `i` is one after unrolling).
#[target_feature(enable = "neon")]
#[inline]
fn fma_row(
    i: usize,
    acc: float32x4_t,
    b: float32x4_t,
    a03: float32x4_t,
    a25: float32x4_t,
) -> float32x4_t {
    match i {
        0 => vfmaq_laneq_f32::<0>(acc, b, a03),
        1 => vfmaq_laneq_f32::<1>(acc, b, a03),
        2 => vfmaq_laneq_f32::<2>(acc, b, a03),
        3 => vfmaq_laneq_f32::<3>(acc, b, a03),
        4 => vfmaq_laneq_f32::<2>(acc, b, a25),
        _ => vfmaq_laneq_f32::<3>(acc, b, a25),
    }
}

/// [`conv_kernel`] for `R` rows, whose caller checked the extents for `R`.
#[target_feature(enable = "neon")]
#[inline]
fn conv_tile<const R: usize>(
    a_panel: &[f32],
    x: &[f32],
    offs: &super::RowOffsets,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let (pa, px) = (a_panel.as_ptr(), x.as_ptr());
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (p, &off) in offs.as_slice().iter().enumerate() {
        // SAFETY: off + 16 <= offs.max() + NR <= x.len() and p·MR + 6 <= k·MR <= a_panel.len()
        // (checked by the caller; A panels are always MR wide).
        let (b, a03, a25) = unsafe {
            let bp = px.add(off);
            let b = [
                vld1q_f32(bp),
                vld1q_f32(bp.add(4)),
                vld1q_f32(bp.add(8)),
                vld1q_f32(bp.add(12)),
            ];
            (b, vld1q_f32(pa.add(p * MR)), vld1q_f32(pa.add(p * MR + 2)))
        };
        for (i, row) in acc.iter_mut().enumerate() {
            for (v, a) in row.iter_mut().enumerate() {
                *a = fma_row(i, *a, b[v], a03, a25);
            }
        }
    }
    let vb = vdupq_n_f32(beta);
    let pc = c.as_mut_ptr();
    for (i, row_acc) in acc.iter().enumerate() {
        for (v, &acc_v) in row_acc.iter().enumerate() {
            // SAFETY: i·ldc + 4v + 4 <= (R−1)·ldc + NR <= c.len() (checked by the caller).
            unsafe {
                let dst = pc.add(i * ldc + 4 * v);
                let mut out = acc_v;
                // β = 0 must not read C: it may hold garbage or NaN.
                if beta != 0.0 {
                    out = vfmaq_f32(out, vb, vld1q_f32(dst));
                }
                vst1q_f32(dst, out);
            }
        }
    }
}
