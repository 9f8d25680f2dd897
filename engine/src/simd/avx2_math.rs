//! AVX2 + FMA bodies of exp, sigmoid and tanh (x86_64), 8 lanes at a time.
//!
//! The math, the constants and the error bounds are in `vmath.rs`; each function here is the
//! lane-wise transcription of the scalar model there (`exp_model`, …), operation for
//! operation, so the results are bit-identical to it.
//!
//! **The tail.** Unlike `add` or `relu`, these do not finish with a scalar loop calling the
//! library `exp`: that would give the last few elements of a slice a different rounding than
//! the others. Instead the remainder (< 8 elements) is copied into a zero-padded 8-lane buffer,
//! run through the same vector code, and copied back.

use super::vmath::{EXP_HI, EXP_LO, EXP_P, LN2_HI, LN2_LO, LOG2E, TANH_Q, TANH_SMALL};
use std::arch::x86_64::*;

/// 2ᵏ for integer lanes −126 ≤ k ≤ 127, built from the exponent bits: (k + 127) << 23.
#[target_feature(enable = "avx2,fma")]
fn pow2i(k: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        k,
        _mm256_set1_epi32(127),
    )))
}

/// eˣ on 8 lanes (Cody–Waite reduction, degree-7 polynomial, exponent-bit scaling).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn exp_v(x: __m256) -> __m256 {
    let is_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
    // Clamp so n stays in the exponent trick's range; NaN lanes become EXP_LO here
    // (max returns its second operand on NaN) and are restored at the end.
    let xc = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(EXP_LO)),
        _mm256_set1_ps(EXP_HI),
    );
    // n = round(x·log₂e), ties to even like the model's `round_ties_even`.
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        xc,
        _mm256_set1_ps(LOG2E),
    ));
    // r = x − n·ln2 in two fma steps (head exact, tail small).
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), xc);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    // Horner: P(r) = ((((p0·r + p1)·r + p2)·r + p3)·r + p4)·r + p5.
    let mut p = _mm256_set1_ps(EXP_P[0]);
    for &c in &EXP_P[1..] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    // eʳ ≈ 1 + (r + r²·P(r)).
    let e = _mm256_add_ps(
        _mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r),
        _mm256_set1_ps(1.0),
    );
    // 2ⁿ = 2ⁿ¹·2ⁿ² with n₁ = n >> 1 (arithmetic shift = floor), so both factors are normal.
    let ni = _mm256_cvtps_epi32(n);
    let n1 = _mm256_srai_epi32::<1>(ni);
    let n2 = _mm256_sub_epi32(ni, n1);
    let y = _mm256_mul_ps(_mm256_mul_ps(e, pow2i(n1)), pow2i(n2));
    _mm256_blendv_ps(y, x, is_nan)
}

/// σ(x) on 8 lanes: num/(1 + e) with e = exp(−|x|), num = e if x < 0 else 1.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sigmoid_v(x: __m256) -> __m256 {
    let sign = _mm256_set1_ps(-0.0);
    let neg_abs = _mm256_or_ps(x, sign); // −|x|: set the sign bit
    let e = exp_v(neg_abs);
    let one = _mm256_set1_ps(1.0);
    let negative = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
    let num = _mm256_blendv_ps(one, e, negative);
    _mm256_div_ps(num, _mm256_add_ps(one, e))
}

/// tanh(x) on 8 lanes: odd polynomial for |x| < 0.625, (1 − e)/(1 + e) with e = exp(−2|x|)
/// above; the sign of x is OR-ed back in.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_v(x: __m256) -> __m256 {
    let sign_bit = _mm256_set1_ps(-0.0);
    let a = _mm256_andnot_ps(sign_bit, x); // |x|
    let sign = _mm256_and_ps(sign_bit, x);
    // Small |x|: a + a·z·Q(z).
    let z = _mm256_mul_ps(a, a);
    let mut q = _mm256_set1_ps(TANH_Q[0]);
    for &c in &TANH_Q[1..] {
        q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(c));
    }
    let small = _mm256_fmadd_ps(_mm256_mul_ps(q, z), a, a);
    // Large |x|: (1 − e)/(1 + e).
    let one = _mm256_set1_ps(1.0);
    let e = exp_v(_mm256_mul_ps(_mm256_set1_ps(-2.0), a));
    let large = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(a, _mm256_set1_ps(TANH_SMALL));
    _mm256_or_ps(_mm256_blendv_ps(large, small, is_small), sign)
}

/// out\[i\] ← f(x\[i\]) for a lane-wise `f`, with the padded-buffer tail described above.
#[target_feature(enable = "avx2,fma")]
fn map(x: &[f32], out: &mut [f32], f: impl Fn(__m256) -> __m256) {
    let n = x.len().min(out.len());
    let (px, po) = (x.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        unsafe { _mm256_storeu_ps(po.add(i), f(_mm256_loadu_ps(px.add(i)))) };
        i += 8;
    }
    if i < n {
        let mut buf = [0.0f32; 8];
        buf[..n - i].copy_from_slice(&x[i..n]);
        // SAFETY: `buf` has exactly 8 elements.
        unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), f(_mm256_loadu_ps(buf.as_ptr()))) };
        out[i..n].copy_from_slice(&buf[..n - i]);
    }
}

/// out ← eˣ.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn exp(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| exp_v(v))
}

/// out ← σ(x).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sigmoid(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| sigmoid_v(v))
}

/// out ← tanh(x).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh(x: &[f32], out: &mut [f32]) {
    map(x, out, |v| tanh_v(v))
}
