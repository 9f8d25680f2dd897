//! Run-time dispatched int8 primitives: exact dot products and C = A·Bᵀ in i32.
//!
//! These are the arithmetic core of int8 inference (`crate::ops::quant`): a quantised
//! convolution or linear layer is one [`gemm_i8_nt`] per sample between int8 weights and int8
//! activations, accumulated in i32. Like the f32 primitives in [`super`], each function checks
//! its arguments once and then matches on [`isa`]; unlike them, **every ISA returns the same
//! bits** (integer sums do not depend on their order), and the tests compare with `assert_eq!`.
//!
//! | ISA | body | per step |
//! |---|---|---|
//! | scalar | `scalar_int8.rs` (i8 → i32 widening loop) | 1 pair |
//! | AVX2 | `avx2_int8.rs`: `vpabsb`/`vpsignb` + `vpmaddubsw` + `vpmaddwd` (no saturation, see there) | 32 pairs |
//! | NEON | `neon_int8.rs`: `vmull_s8` + `vpadalq_s16` | 16 pairs |
//! | NEON + dotprod | `neon_int8.rs`: `sdot` (run-time detected) | 16 pairs, 1 instruction |
//!
//! **Operand range.** Symmetric quantisation produces values in −127..=127, never −128. The AVX2
//! body relies on it for the *second* operand `b` (see `avx2_int8.rs`), so the dispatcher checks
//! `b` (a cheap scan: `n·k` bytes against the `m·n·k` multiply-adds of the product).
//!
//! **Overflow.** A product is at most 128·128 = 2¹⁴ in magnitude, so an i32 sum of up to
//! [`MAX_K`] products cannot overflow; longer reductions are refused.

#[cfg(target_arch = "x86_64")]
use super::avx2_int8;
#[cfg(target_arch = "aarch64")]
use super::neon_int8;
use super::scalar_int8;
use super::{Isa, isa};

/// Longest reduction the int8 primitives accept: ⌊(2³¹ − 1) / 2¹⁴⌋, so no i32 sum can overflow.
pub const MAX_K: usize = 131_071;

/// Whether this aarch64 CPU has the `sdot` dot-product instructions (cached by the std macro).
#[cfg(target_arch = "aarch64")]
pub fn has_dotprod() -> bool {
    std::arch::is_aarch64_feature_detected!("dotprod")
}

#[cold]
#[track_caller]
fn bad_args(op: &str, detail: String) -> ! {
    panic!("simd::{op}: {detail}")
}

#[inline]
#[track_caller]
fn check_b(op: &str, b: &[i8]) {
    if b.contains(&i8::MIN) {
        bad_args(
            op,
            "the second operand contains −128 (symmetric int8 is −127..=127)".into(),
        )
    }
}

/// Σᵢ aᵢ·bᵢ in i32, exact on every ISA.
///
/// # Panics
/// If the lengths differ, exceed [`MAX_K`], or `b` contains −128.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    if a.len() != b.len() || a.len() > MAX_K {
        bad_args(
            "dot_i8",
            format!(
                "lengths {} and {} (must be equal, ≤ {MAX_K})",
                a.len(),
                b.len()
            ),
        )
    }
    check_b("dot_i8", b);
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_int8::dot_i8(a, b) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_int8::dot_i8(a, b) },
        _ => scalar_int8::dot_i8(a, b),
    }
}

/// `c[i·n + j] = Σ_p a[i·k + p]·b[j·k + p]`: C `[m, n]` = A `[m, k]` · B `[n, k]`ᵀ, all
/// row-major, in i32, exact on every ISA. Overwrites C. ("nt": B is used transposed, so every
/// output is a dot product of two contiguous rows.)
///
/// # Panics
/// If `a.len() != m·k`, `b.len() != n·k`, `c.len() != m·n`, `k > MAX_K`, or `b` contains −128.
pub fn gemm_i8_nt(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    if a.len() != m * k || b.len() != n * k || c.len() != m * n || k > MAX_K {
        bad_args(
            "gemm_i8_nt",
            format!(
                "m {m}, n {n}, k {k} (≤ {MAX_K}) but a has {}, b {}, c {} elements",
                a.len(),
                b.len(),
                c.len()
            ),
        )
    }
    check_b("gemm_i8_nt", b);
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_int8::gemm_i8_nt(m, n, k, a, b, c) },
        // SAFETY: dotprod was detected at run time just before this call.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon if has_dotprod() => unsafe { neon_int8::gemm_i8_nt_sdot(m, n, k, a, b, c) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_int8::gemm_i8_nt(m, n, k, a, b, c) },
        _ => scalar_int8::gemm_i8_nt(m, n, k, a, b, c),
    }
}
