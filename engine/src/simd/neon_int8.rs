//! NEON int8 dot products (aarch64): 16 byte pairs per step, exact i32 results.
//!
//! Two bodies:
//! - **baseline NEON** (every aarch64 CPU): `vmull_s8` multiplies 8 i8 pairs into 8 exact i16
//!   products (|−128·−128| = 16 384 fits), and `vpadalq_s16` adds neighbouring i16 products into
//!   4 i32 accumulators — exact for every i8 input, no saturation anywhere;
//! - **`sdot`** (the Armv8.2 dot-product extension, `FEAT_DotProd`, detected at run time with
//!   `is_aarch64_feature_detected!("dotprod")`): one instruction multiplies 16 i8 pairs and adds
//!   each group of 4 products into one of 4 i32 lanes — 4× fewer instructions. Its intrinsic
//!   `vdotq_s32` is still unstable in Rust 1.95, so it is written as one line of `asm!`.
//!
//! Both compute one row of A against four rows of B at a time (A's 16 bytes loaded once).

use std::arch::aarch64::*;

/// Four dot products of `a` with `b0..b3`, baseline NEON (`vmull_s8` + `vpadalq_s16`).
#[target_feature(enable = "neon")]
fn dot4_mull(a: &[i8], b: [&[i8]; 4]) -> [i32; 4] {
    let k = b.iter().fold(a.len(), |k, r| k.min(r.len()));
    let pa = a.as_ptr();
    let pb = b.map(|r| r.as_ptr());
    let mut acc = [vdupq_n_s32(0); 4];
    let mut p = 0;
    while p + 16 <= k {
        // SAFETY: p + 16 <= k <= a.len().
        let va = unsafe { vld1q_s8(pa.add(p)) };
        for (acc_r, pb_r) in acc.iter_mut().zip(pb) {
            // SAFETY: p + 16 <= k <= the length of this row of B.
            let vb = unsafe { vld1q_s8(pb_r.add(p)) };
            *acc_r = vpadalq_s16(*acc_r, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
            *acc_r = vpadalq_s16(*acc_r, vmull_high_s8(va, vb));
        }
        p += 16;
    }
    let mut out = [0i32; 4];
    for r in 0..4 {
        out[r] = vaddvq_s32(acc[r]) + super::scalar_int8::dot_i8(&a[p..k], &b[r][p..k]);
    }
    out
}

/// acc + sdot(a, b): lane i gets Σ_{q<4} a[4i + q]·b[4i + q].
#[target_feature(enable = "neon,dotprod")]
fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: `sdot` only reads and writes the three vector registers named here (no memory,
    // no stack, no flags); this function is compiled with the dotprod feature, and callers reach
    // it only after `is_aarch64_feature_detected!("dotprod")` succeeded.
    unsafe {
        std::arch::asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

/// Four dot products of `a` with `b0..b3`, with `sdot`.
#[target_feature(enable = "neon,dotprod")]
fn dot4_sdot(a: &[i8], b: [&[i8]; 4]) -> [i32; 4] {
    let k = b.iter().fold(a.len(), |k, r| k.min(r.len()));
    let pa = a.as_ptr();
    let pb = b.map(|r| r.as_ptr());
    let mut acc = [vdupq_n_s32(0); 4];
    let mut p = 0;
    while p + 16 <= k {
        // SAFETY: p + 16 <= k <= a.len().
        let va = unsafe { vld1q_s8(pa.add(p)) };
        for (acc_r, pb_r) in acc.iter_mut().zip(pb) {
            // SAFETY: p + 16 <= k <= the length of this row of B.
            let vb = unsafe { vld1q_s8(pb_r.add(p)) };
            *acc_r = sdot(*acc_r, va, vb);
        }
        p += 16;
    }
    let mut out = [0i32; 4];
    for r in 0..4 {
        out[r] = vaddvq_s32(acc[r]) + super::scalar_int8::dot_i8(&a[p..k], &b[r][p..k]);
    }
    out
}

/// Σᵢ aᵢ·bᵢ, exact for every i8 input (baseline NEON).
#[target_feature(enable = "neon")]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = vdupq_n_s32(0);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, within both slices.
        let (va, vb) = unsafe { (vld1q_s8(pa.add(i)), vld1q_s8(pb.add(i))) };
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
        acc = vpadalq_s16(acc, vmull_high_s8(va, vb));
        i += 16;
    }
    vaddvq_s32(acc) + super::scalar_int8::dot_i8(&a[i..n], &b[i..n])
}

/// C = A·Bᵀ with the baseline-NEON blocks; overwrites C.
#[target_feature(enable = "neon")]
pub(crate) fn gemm_i8_nt(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    for i in 0..m {
        let a_row = &a[i * k..][..k];
        let c_row = &mut c[i * n..][..n];
        let mut j = 0;
        while j + 4 <= n {
            let rows = [0, 1, 2, 3].map(|r| &b[(j + r) * k..][..k]);
            c_row[j..j + 4].copy_from_slice(&dot4_mull(a_row, rows));
            j += 4;
        }
        while j < n {
            c_row[j] = dot_i8(a_row, &b[j * k..][..k]);
            j += 1;
        }
    }
}

/// C = A·Bᵀ with the `sdot` blocks; overwrites C.
#[target_feature(enable = "neon,dotprod")]
pub(crate) fn gemm_i8_nt_sdot(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    for i in 0..m {
        let a_row = &a[i * k..][..k];
        let c_row = &mut c[i * n..][..n];
        let mut j = 0;
        while j + 4 <= n {
            let rows = [0, 1, 2, 3].map(|r| &b[(j + r) * k..][..k]);
            c_row[j..j + 4].copy_from_slice(&dot4_sdot(a_row, rows));
            j += 4;
        }
        while j < n {
            c_row[j] = dot_i8(a_row, &b[j * k..][..k]);
            j += 1;
        }
    }
}
