//! The AVX2+FMA GEMM micro-kernel (x86_64): a 6×16 tile of C held in twelve 8-lane registers.
//! Called only through [`super::gemm_kernel`], which checked the CPU features and the extents.

use super::{MR, NR};
use std::arch::x86_64::*;

/// The 6×16 GEMM micro-kernel (see [`super::gemm_kernel`] for the contract).
///
/// Twelve accumulators (6 rows × 2 vectors of 8) stay in registers for the whole k loop. Each
/// step loads one packed row of B (two vectors), then for each of the 6 rows broadcasts one
/// element of A and issues two FMAs: 12 FMAs per 2 loads + 6 broadcasts, enough to keep both FMA
/// ports busy. This is the classic BLIS Haswell shape.
///
/// Tuning, measured with the blocked GEMM on this Zen 4 (1 thread, GFLOP/s from CPU time, machine
/// loaded by other jobs so ±5–10 %): prefetching the C tile at entry raised 1024³ from 74–80 to
/// 84–91 (the C rows are 4 KiB apart there and otherwise miss at the end of every call); the
/// 4× k unroll is neutral within noise (kept: fewer loop instructions per FMA); prefetching A 16
/// steps ahead was slightly worse (79–88), so it is not done. B panels come 64-byte aligned
/// from the packing buffers; unaligned loads are used so the contract needs no alignment.
#[target_feature(enable = "avx2,fma")]
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
    let pc = c.as_mut_ptr();
    // Prefetch the C tile now: it is read (β ≠ 0) or written only after the k loop, and with a
    // large C (1024², row stride 4 KiB) each of its 6 rows is a likely cache (and TLB) miss
    // that would otherwise stall the end of every call. Both cache lines a 16-float row may
    // straddle are requested.
    for i in 0..MR {
        // SAFETY: i·ldc + 15 < (MR−1)·ldc + NR <= c.len() (asserted above), so both addresses are
        // inside `c`; a prefetch never faults anyway.
        unsafe {
            let row = pc.add(i * ldc);
            _mm_prefetch::<_MM_HINT_T0>(row as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(row.add(NR - 1) as *const i8);
        }
    }
    let mut c00 = _mm256_setzero_ps();
    let mut c01 = _mm256_setzero_ps();
    let mut c10 = _mm256_setzero_ps();
    let mut c11 = _mm256_setzero_ps();
    let mut c20 = _mm256_setzero_ps();
    let mut c21 = _mm256_setzero_ps();
    let mut c30 = _mm256_setzero_ps();
    let mut c31 = _mm256_setzero_ps();
    let mut c40 = _mm256_setzero_ps();
    let mut c41 = _mm256_setzero_ps();
    let mut c50 = _mm256_setzero_ps();
    let mut c51 = _mm256_setzero_ps();
    // One k step: 2 loads of B, 6 broadcasts of A, 12 FMAs into the 12 accumulators.
    macro_rules! step {
        ($p:expr) => {{
            let p = $p;
            // SAFETY: every caller passes p < k, so p·NR + 16 <= k·NR <= b_panel.len() and
            // p·MR + 6 <= k·MR <= a_panel.len() (asserted above).
            unsafe {
                let b0 = _mm256_loadu_ps(pb.add(p * NR));
                let b1 = _mm256_loadu_ps(pb.add(p * NR + 8));
                let a = pa.add(p * MR);
                let a0 = _mm256_broadcast_ss(&*a);
                c00 = _mm256_fmadd_ps(a0, b0, c00);
                c01 = _mm256_fmadd_ps(a0, b1, c01);
                let a1 = _mm256_broadcast_ss(&*a.add(1));
                c10 = _mm256_fmadd_ps(a1, b0, c10);
                c11 = _mm256_fmadd_ps(a1, b1, c11);
                let a2 = _mm256_broadcast_ss(&*a.add(2));
                c20 = _mm256_fmadd_ps(a2, b0, c20);
                c21 = _mm256_fmadd_ps(a2, b1, c21);
                let a3 = _mm256_broadcast_ss(&*a.add(3));
                c30 = _mm256_fmadd_ps(a3, b0, c30);
                c31 = _mm256_fmadd_ps(a3, b1, c31);
                let a4 = _mm256_broadcast_ss(&*a.add(4));
                c40 = _mm256_fmadd_ps(a4, b0, c40);
                c41 = _mm256_fmadd_ps(a4, b1, c41);
                let a5 = _mm256_broadcast_ss(&*a.add(5));
                c50 = _mm256_fmadd_ps(a5, b0, c50);
                c51 = _mm256_fmadd_ps(a5, b1, c51);
            }
        }};
    }
    // Unrolled by 4: fewer loop-counter instructions per FMA, and the loads of the next steps
    // can be scheduled early.
    let k4 = k - k % 4;
    let mut p = 0;
    while p < k4 {
        step!(p);
        step!(p + 1);
        step!(p + 2);
        step!(p + 3);
        p += 4;
    }
    while p < k {
        step!(p);
        p += 1;
    }
    let rows = [
        (c00, c01),
        (c10, c11),
        (c20, c21),
        (c30, c31),
        (c40, c41),
        (c50, c51),
    ];
    let va = _mm256_set1_ps(alpha);
    let vb = _mm256_set1_ps(beta);
    for (i, (lo, hi)) in rows.into_iter().enumerate() {
        // SAFETY: i·ldc + 16 <= (MR−1)·ldc + NR <= c.len() (asserted above).
        unsafe {
            let row = pc.add(i * ldc);
            let (mut lo, mut hi) = (_mm256_mul_ps(va, lo), _mm256_mul_ps(va, hi));
            // β = 0 must not read C: it may hold garbage or NaN.
            if beta != 0.0 {
                lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), lo);
                hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row.add(8)), hi);
            }
            _mm256_storeu_ps(row, lo);
            _mm256_storeu_ps(row.add(8), hi);
        }
    }
}

/// The micro-kernel with B read in place (see [`super::conv_kernel`] for the contract): the
/// first `rows` rows of a 6×16 tile, where row `p` of B is the 16 floats at `x[offs[p]..]`,
/// loaded unaligned straight from the signal.
///
/// The same register tile as [`gemm_kernel`] (12 accumulators, 2 loads of B + 6 broadcasts of A
/// per step); what changes is where B comes from. A convolution's B rows overlap (tap `j + 1`
/// of a channel is tap `j` shifted by one sample), so the 16-column window of a whole
/// `C_in`-channel signal, `C_in · (16 + K − 1)` floats, stays in L1 while the kernel walks
/// through `C_in·K` rows — where a packed panel of the same rows would be K times larger.
/// With `rows < 6` (the last panel of 64 channels has 4) only those rows are computed: fewer
/// FMAs per step, none wasted on rows that do not exist.
///
/// # Panics
/// If an extent is violated (re-checked here, so this safe function is sound on its own).
#[target_feature(enable = "avx2,fma")]
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
    // SAFETY (all arms): the extents were checked just above for this `rows`.
    match rows {
        6 => conv_tile::<6>(a_panel, x, offs, beta, c, ldc),
        5 => conv_tile::<5>(a_panel, x, offs, beta, c, ldc),
        4 => conv_tile::<4>(a_panel, x, offs, beta, c, ldc),
        3 => conv_tile::<3>(a_panel, x, offs, beta, c, ldc),
        2 => conv_tile::<2>(a_panel, x, offs, beta, c, ldc),
        _ => conv_tile::<1>(a_panel, x, offs, beta, c, ldc),
    }
}

/// [`conv_kernel`] for `R` rows, whose caller checked the extents for `R`: `a_panel.len() ≥
/// k·MR`, `x.len() ≥ offs.max() + NR`, `c.len() ≥ (R − 1)·ldc + NR`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn conv_tile<const R: usize>(
    a_panel: &[f32],
    x: &[f32],
    offs: &super::RowOffsets,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let (pa, px, pc) = (a_panel.as_ptr(), x.as_ptr(), c.as_mut_ptr());
    for i in 0..R {
        // SAFETY: i·ldc + 15 < (R−1)·ldc + NR <= c.len(); a prefetch never faults anyway.
        unsafe {
            let row = pc.add(i * ldc);
            _mm_prefetch::<_MM_HINT_T0>(row as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(row.add(NR - 1) as *const i8);
        }
    }
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    for (p, &off) in offs.as_slice().iter().enumerate() {
        // SAFETY: off + 16 <= offs.max() + NR <= x.len() and p·MR + R <= k·MR <= a_panel.len().
        unsafe {
            let b0 = _mm256_loadu_ps(px.add(off));
            let b1 = _mm256_loadu_ps(px.add(off + 8));
            let a = pa.add(p * MR);
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
        }
    }
    let vb = _mm256_set1_ps(beta);
    for (i, [mut lo, mut hi]) in acc.into_iter().enumerate() {
        // SAFETY: i·ldc + 16 <= (R−1)·ldc + NR <= c.len().
        unsafe {
            let row = pc.add(i * ldc);
            // β = 0 must not read C: it may hold garbage or NaN.
            if beta != 0.0 {
                lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), lo);
                hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row.add(8)), hi);
            }
            _mm256_storeu_ps(row, lo);
            _mm256_storeu_ps(row.add(8), hi);
        }
    }
}
