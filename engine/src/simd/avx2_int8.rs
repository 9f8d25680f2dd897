//! AVX2 int8 dot products: 32 byte pairs per step, exact i32 results.
//!
//! # The instruction pair, and the saturation trap
//! `vpmaddubsw` (`_mm256_maddubs_epi16`) multiplies 32 **unsigned** bytes of its first operand
//! by 32 **signed** bytes of its second and adds neighbouring products into 16 *saturating* i16
//! lanes; `vpmaddwd` (`_mm256_madd_epi16`) against a vector of ones then adds neighbouring i16
//! lanes into 8 exact i32 lanes. Used naively on u8 activations × i8 weights, a pair can reach
//! 255·127·2 = 64 770 > 32 767 and **saturates silently** — the classic int8 bug (oneDNN and
//! FBGEMM restrict activations to 7 bits or split the sum for this reason).
//!
//! We feed it signed × signed instead, with the sign trick: `|a|` as the unsigned operand and
//! `sign(b, a)` (b negated where a < 0, zeroed where a = 0: `vpsignb`) as the signed one, so each
//! product is |a|·sign(a)·b = a·b. With both operands in −127..=127 (what symmetric quantisation
//! produces) a pair is at most 2·127·127 = 32 258 ≤ 32 767: **no saturation is possible**, and
//! the result is exact. The one value that breaks it is b = −128 where a < 0 (`vpsignb` cannot
//! negate −128), which the dispatcher rules out (`super::int8`).
//!
//! The alternative, sign-extending both operands to i16 (`vpmovsxbw`) then `vpmaddwd`, is exact
//! for every input but handles 16 pairs per multiply instead of 32.
//!
//! # Blocking
//! [`gemm_i8_nt`] computes one row of A against four rows of B at a time: A's 32 bytes and their
//! absolute value are loaded once and reused four times, with four independent accumulators
//! (which also hides the multiply latency). Tails (k not a multiple of 32, n not of 4) fall back
//! to scalar code; the quantised ops pad k to a multiple of 32 so the tail is never hit there.

use std::arch::x86_64::*;

/// Adds the 8 i32 lanes of a vector.
#[target_feature(enable = "avx2")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// 32 products a·b summed into 8 i32 lanes, given `abs_a = |a|` (see the module docs).
#[target_feature(enable = "avx2")]
fn madd32(abs_a: __m256i, a: __m256i, b: __m256i) -> __m256i {
    let pairs = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b, a));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Σᵢ aᵢ·bᵢ, exact (operands in −127..=127, see the module docs).
#[target_feature(enable = "avx2")]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: i + 32 <= n, within both slices.
        let (va, vb) = unsafe {
            (
                _mm256_loadu_si256(pa.add(i).cast()),
                _mm256_loadu_si256(pb.add(i).cast()),
            )
        };
        acc = _mm256_add_epi32(acc, madd32(_mm256_abs_epi8(va), va, vb));
        i += 32;
    }
    hsum_epi32(acc) + super::scalar_int8::dot_i8(&a[i..n], &b[i..n])
}

/// Four dot products of `a` with `b0..b3` (all of length k), sharing the loads of `a`.
#[target_feature(enable = "avx2")]
fn dot4(a: &[i8], b: [&[i8]; 4]) -> [i32; 4] {
    let k = b.iter().fold(a.len(), |k, r| k.min(r.len()));
    let pa = a.as_ptr();
    let pb = b.map(|r| r.as_ptr());
    let mut acc = [_mm256_setzero_si256(); 4];
    let mut p = 0;
    while p + 32 <= k {
        // SAFETY: p + 32 <= k <= a.len().
        let va = unsafe { _mm256_loadu_si256(pa.add(p).cast()) };
        let abs_a = _mm256_abs_epi8(va);
        for (acc_r, pb_r) in acc.iter_mut().zip(pb) {
            // SAFETY: p + 32 <= k <= the length of this row of B.
            let vb = unsafe { _mm256_loadu_si256(pb_r.add(p).cast()) };
            *acc_r = _mm256_add_epi32(*acc_r, madd32(abs_a, va, vb));
        }
        p += 32;
    }
    let mut out = [0i32; 4];
    for r in 0..4 {
        out[r] = hsum_epi32(acc[r]) + super::scalar_int8::dot_i8(&a[p..k], &b[r][p..k]);
    }
    out
}

/// C = A·Bᵀ (A `[m, k]`, B `[n, k]`, C `[m, n]`, all row-major), exact; overwrites C.
#[target_feature(enable = "avx2")]
pub(crate) fn gemm_i8_nt(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    for i in 0..m {
        let a_row = &a[i * k..][..k];
        let c_row = &mut c[i * n..][..n];
        let mut j = 0;
        while j + 4 <= n {
            let rows = [0, 1, 2, 3].map(|r| &b[(j + r) * k..][..k]);
            c_row[j..j + 4].copy_from_slice(&dot4(a_row, rows));
            j += 4;
        }
        while j < n {
            c_row[j] = dot_i8(a_row, &b[j * k..][..k]);
            j += 1;
        }
    }
}
