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
//! [`gemm_i8_nt`] computes two rows of A against four rows of B at a time: each 32-byte chunk of
//! A (and its absolute value) is reused four times and each chunk of B twice, with eight
//! independent accumulators (which also hide the multiply latency), reduced together at the end
//! by horizontal adds. Tails (k not a multiple of 32, n not of 4) fall back
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

/// The four sums `[Σ acc[0], Σ acc[1], Σ acc[2], Σ acc[3]]` of four 8-lane accumulators, by
/// three horizontal adds and one cross-lane add (instead of four separate reductions).
#[target_feature(enable = "avx2")]
fn hsum4(acc: &[__m256i; 4]) -> [i32; 4] {
    // Within each 128-bit half, hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3]; twice gives
    // [Σa0..3, Σb0..3, Σc0..3, Σd0..3] (low half) and the same over lanes 4..7 (high half).
    let s01 = _mm256_hadd_epi32(acc[0], acc[1]);
    let s23 = _mm256_hadd_epi32(acc[2], acc[3]);
    let s = _mm256_hadd_epi32(s01, s23);
    let r = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    let mut out = [0i32; 4];
    // SAFETY: `out` holds exactly 4 i32 = 16 bytes, the size of one unaligned 128-bit store.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), r) };
    out
}

/// Dot products of `R` rows of A with four rows of B (all of length k): `R·4` accumulators,
/// each 32-byte chunk of A and of B loaded once per block.
#[target_feature(enable = "avx2")]
fn dot_rx4<const R: usize>(a: [&[i8]; R], b: [&[i8]; 4]) -> [[i32; 4]; R] {
    let k = b
        .iter()
        .chain(a.iter())
        .fold(usize::MAX, |k, r| k.min(r.len()));
    let pa = a.map(|r| r.as_ptr());
    let pb = b.map(|r| r.as_ptr());
    let mut acc = [[_mm256_setzero_si256(); 4]; R];
    let mut p = 0;
    while p + 32 <= k {
        // SAFETY: p + 32 <= k <= the length of every row of A.
        let va = pa.map(|ptr| unsafe { _mm256_loadu_si256(ptr.add(p).cast()) });
        let abs_a = va.map(|v| _mm256_abs_epi8(v));
        for (c, pb_c) in pb.iter().enumerate() {
            // SAFETY: p + 32 <= k <= the length of every row of B.
            let vb = unsafe { _mm256_loadu_si256(pb_c.add(p).cast()) };
            for r in 0..R {
                acc[r][c] = _mm256_add_epi32(acc[r][c], madd32(abs_a[r], va[r], vb));
            }
        }
        p += 32;
    }
    let mut out = [[0i32; 4]; R];
    for r in 0..R {
        out[r] = hsum4(&acc[r]);
        for c in 0..4 {
            out[r][c] += super::scalar_int8::dot_i8(&a[r][p..k], &b[c][p..k]);
        }
    }
    out
}

/// C = A·Bᵀ (A `[m, k]`, B `[n, k]`, C `[m, n]`, all row-major), exact; overwrites C.
/// Blocks of 2 rows of A × 4 rows of B (8 accumulators); an odd last row uses 1 × 4.
#[target_feature(enable = "avx2")]
pub(crate) fn gemm_i8_nt(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    let b_rows = |j: usize| [0, 1, 2, 3].map(|q| &b[(j + q) * k..][..k]);
    let mut i = 0;
    while i < m {
        let rows = if i + 2 <= m { 2 } else { 1 };
        let mut j = 0;
        while j + 4 <= n {
            if rows == 2 {
                let out = dot_rx4([&a[i * k..][..k], &a[(i + 1) * k..][..k]], b_rows(j));
                c[i * n + j..][..4].copy_from_slice(&out[0]);
                c[(i + 1) * n + j..][..4].copy_from_slice(&out[1]);
            } else {
                let out = dot_rx4([&a[i * k..][..k]], b_rows(j));
                c[i * n + j..][..4].copy_from_slice(&out[0]);
            }
            j += 4;
        }
        for jj in j..n {
            for ii in i..i + rows {
                c[ii * n + jj] = dot_i8(&a[ii * k..][..k], &b[jj * k..][..k]);
            }
        }
        i += rows;
    }
}
