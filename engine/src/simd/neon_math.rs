//! NEON bodies of exp, sigmoid and tanh (aarch64), 4 lanes at a time.
//!
//! The math, constants and error bounds are in `vmath.rs`; each function here is the lane-wise
//! transcription of the scalar model there, with `vfmaq_f32`/`vfmsq_f32` wherever the model
//! uses `mul_add`, so the results are bit-identical to the model and to the AVX2 version.
//! As in `avx2_math.rs`, the tail goes through the same vector code in a zero-padded buffer so
//! every element of a slice is rounded the same way.

use super::vmath::{EXP_HI, EXP_LO, EXP_P, LN2_HI, LN2_LO, LOG2E, TANH_Q, TANH_SMALL};
use std::arch::aarch64::*;

/// 2ᵏ for integer lanes −126 ≤ k ≤ 127, built from the exponent bits: (k + 127) << 23.
#[target_feature(enable = "neon")]
fn pow2i(k: int32x4_t) -> float32x4_t {
    vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(k, vdupq_n_s32(127))))
}

/// eˣ on 4 lanes (Cody–Waite reduction, polynomial, exponent-bit scaling; see `vmath.rs`).
#[target_feature(enable = "neon")]
pub(crate) fn exp_v(x: float32x4_t) -> float32x4_t {
    let is_num = vceqq_f32(x, x); // false only for NaN lanes
    let xc = vminq_f32(vmaxq_f32(x, vdupq_n_f32(EXP_LO)), vdupq_n_f32(EXP_HI));
    // n = round(x·log₂e), ties to even (FRINTN).
    let n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(LOG2E)));
    // r = x − n·ln2 in two fused steps: vfmsq_f32(a, b, c) = a − b·c.
    let r = vfmsq_f32(xc, n, vdupq_n_f32(LN2_HI));
    let r = vfmsq_f32(r, n, vdupq_n_f32(LN2_LO));
    let mut p = vdupq_n_f32(EXP_P[0]);
    for &c in &EXP_P[1..] {
        p = vfmaq_f32(vdupq_n_f32(c), p, r);
    }
    // eʳ ≈ 1 + (r + r²·P(r)).
    let e = vaddq_f32(vfmaq_f32(r, vmulq_f32(r, r), p), vdupq_n_f32(1.0));
    // 2ⁿ = 2ⁿ¹·2ⁿ², n₁ = n >> 1; n is integral so the conversion is exact (NaN lanes give 0).
    let ni = vcvtq_s32_f32(n);
    let n1 = vshrq_n_s32::<1>(ni);
    let n2 = vsubq_s32(ni, n1);
    let y = vmulq_f32(vmulq_f32(e, pow2i(n1)), pow2i(n2));
    vbslq_f32(is_num, y, x)
}

/// σ(x) on 4 lanes: num/(1 + e) with e = exp(−|x|), num = e if x < 0 else 1.
#[target_feature(enable = "neon")]
pub(crate) fn sigmoid_v(x: float32x4_t) -> float32x4_t {
    let e = exp_v(vnegq_f32(vabsq_f32(x)));
    let one = vdupq_n_f32(1.0);
    let num = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0)), e, one);
    vdivq_f32(num, vaddq_f32(one, e))
}

/// tanh(x) on 4 lanes: odd polynomial for |x| < 0.625, (1 − e)/(1 + e) with e = exp(−2|x|)
/// above, then the sign of x OR-ed back in.
#[target_feature(enable = "neon")]
pub(crate) fn tanh_v(x: float32x4_t) -> float32x4_t {
    let a = vabsq_f32(x);
    let sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x8000_0000));
    let z = vmulq_f32(a, a);
    let mut q = vdupq_n_f32(TANH_Q[0]);
    for &c in &TANH_Q[1..] {
        q = vfmaq_f32(vdupq_n_f32(c), q, z);
    }
    let small = vfmaq_f32(a, vmulq_f32(q, z), a);
    let one = vdupq_n_f32(1.0);
    let e = exp_v(vmulq_f32(vdupq_n_f32(-2.0), a));
    let large = vdivq_f32(vsubq_f32(one, e), vaddq_f32(one, e));
    let t = vbslq_f32(vcltq_f32(a, vdupq_n_f32(TANH_SMALL)), small, large);
    vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(t), sign))
}

/// out\[i\] ← f(x\[i\]) for a lane-wise `f`, with the padded-buffer tail.
#[target_feature(enable = "neon")]
fn map(x: &[f32], out: &mut [f32], f: impl Fn(float32x4_t) -> float32x4_t) {
    let n = x.len().min(out.len());
    let (px, po) = (x.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, within both slices.
        unsafe { vst1q_f32(po.add(i), f(vld1q_f32(px.add(i)))) };
        i += 4;
    }
    if i < n {
        let mut buf = [0.0f32; 4];
        buf[..n - i].copy_from_slice(&x[i..n]);
        // SAFETY: `buf` has exactly 4 elements.
        unsafe { vst1q_f32(buf.as_mut_ptr(), f(vld1q_f32(buf.as_ptr()))) };
        out[i..n].copy_from_slice(&buf[..n - i]);
    }
}

/// out ← eˣ.
#[target_feature(enable = "neon")]
pub(crate) fn exp(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| exp_v(v))
}

/// out ← σ(x).
#[target_feature(enable = "neon")]
pub(crate) fn sigmoid(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| sigmoid_v(v))
}

/// out ← tanh(x).
#[target_feature(enable = "neon")]
pub(crate) fn tanh(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| tanh_v(v))
}
