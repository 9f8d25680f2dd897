//! Run-time dispatched SIMD primitives (f32) and the [`Isa`] choice.
//!
//! # How dispatch works
//! The instruction set is detected once ([`detected`]): AVX2+FMA on x86_64 when the CPU has both,
//! NEON on aarch64 (part of its baseline), otherwise [`Isa::Scalar`]. The environment variable
//! `ECGRAD_ISA=scalar|avx2|neon` can only *lower* that choice; asking for an instruction set this
//! CPU lacks is an [`Error::Isa`], never a crash. Tests can pin a thread (or a whole rayon pool,
//! see [`crate::parallel::with_isa_threads`]) to one ISA with [`with_isa`].
//!
//! Each primitive below checks its slice lengths once, then matches on [`isa`] and calls the ISA
//! body. The bodies live in `scalar.rs` (portable loops, also the f64 path), `avx2.rs`
//! (`#[target_feature(enable = "avx2,fma")]`) and `neon.rs`. This module and `gemm/mm.rs` are the
//! only places in the workspace with `unsafe`; here it is only the call into a `#[target_feature]`
//! function, which is sound because [`isa`] returns an ISA only after the CPU reported it.

use crate::error::{Error, Result};
use std::cell::Cell;
use std::sync::OnceLock;

pub mod scalar;
pub mod vmath;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_gemm;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_math;

#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_gemm;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_math;

/// Rows of the GEMM micro-kernel tile (the `MR` of BLIS): one broadcast of A per row.
pub const MR: usize = 6;
/// Columns of the GEMM micro-kernel tile (`NR`): two 8-lane AVX2 vectors, four 4-lane NEON vectors.
pub const NR: usize = 16;

/// An instruction set the kernels can run on. Ordered: a later variant is "more" than `Scalar`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust loops; always available, and the f64 path.
    Scalar,
    /// x86_64 AVX2 with fused multiply-add (256-bit vectors, 8 f32 lanes).
    Avx2Fma,
    /// aarch64 Advanced SIMD (128-bit vectors, 4 f32 lanes).
    Neon,
}

impl Isa {
    /// The short name used by `ECGRAD_ISA` and in reports: `scalar`, `avx2`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
            Isa::Neon => "neon",
        }
    }

    /// Parses a short name (`scalar`, `avx2`, `neon`; case-insensitive).
    pub fn parse(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Isa::Scalar),
            "avx2" | "avx2fma" | "avx2+fma" => Some(Isa::Avx2Fma),
            "neon" => Some(Isa::Neon),
            _ => None,
        }
    }

    /// Whether this CPU can execute the instruction set.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            // NEON is part of the aarch64 baseline: every aarch64 CPU has it.
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The best instruction set this CPU supports, ignoring `ECGRAD_ISA`.
    pub fn best_supported() -> Isa {
        [Isa::Avx2Fma, Isa::Neon]
            .into_iter()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    /// Every instruction set the kernels may use here: the scalar path plus the detected SIMD one,
    /// unless `ECGRAD_ISA` lowered the choice to scalar. Tests loop over this list.
    pub fn available() -> Vec<Isa> {
        match detected() {
            Ok(Isa::Scalar) | Err(_) => vec![Isa::Scalar],
            Ok(best) => vec![Isa::Scalar, best],
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Applies the `ECGRAD_ISA` request (if any) to the best supported ISA.
fn choose(request: Option<&str>) -> Result<Isa> {
    let best = Isa::best_supported();
    let Some(request) = request else {
        return Ok(best);
    };
    let Some(wanted) = Isa::parse(request) else {
        return Err(Error::Isa(format!(
            "ECGRAD_ISA={request:?} is not one of scalar, avx2, neon"
        )));
    };
    if wanted == Isa::Scalar || wanted == best {
        Ok(wanted)
    } else {
        Err(Error::Isa(format!(
            "ECGRAD_ISA={request} asks for {wanted}, which this CPU cannot run \
             (best available: {best}); ECGRAD_ISA can only lower the choice"
        )))
    }
}

/// The process-wide instruction set: detected once, lowered by `ECGRAD_ISA` if set.
///
/// # Errors
/// [`Error::Isa`] if `ECGRAD_ISA` names an unknown ISA or one this CPU cannot run.
pub fn detected() -> Result<Isa> {
    static DETECTED: OnceLock<Result<Isa>> = OnceLock::new();
    DETECTED
        .get_or_init(|| choose(std::env::var("ECGRAD_ISA").ok().as_deref()))
        .clone()
}

thread_local! {
    /// A per-thread override set by [`with_isa`] (tests, benches comparing ISAs).
    static OVERRIDE: Cell<Option<Isa>> = const { Cell::new(None) };
}

/// The instruction set the kernels use on this thread: the [`with_isa`] override if one is set,
/// otherwise [`detected`].
///
/// # Panics
/// If `ECGRAD_ISA` is invalid. Every tensor-level op calls [`try_isa`] first and returns that
/// error instead, so the panic is only reachable by calling a raw kernel directly.
pub fn isa() -> Isa {
    match OVERRIDE.with(Cell::get) {
        Some(isa) => isa,
        None => detected().unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Like [`isa`], but returns the `ECGRAD_ISA` error instead of panicking.
///
/// # Errors
/// [`Error::Isa`] if `ECGRAD_ISA` is invalid.
pub fn try_isa() -> Result<Isa> {
    match OVERRIDE.with(Cell::get) {
        Some(isa) => Ok(isa),
        None => detected(),
    }
}

/// Runs `f` with this thread's kernels pinned to `isa`, restoring the previous choice after.
///
/// # Errors
/// [`Error::Isa`] if this CPU cannot run `isa`.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> Result<R> {
    if !isa.is_supported() {
        return Err(Error::Isa(format!("{isa} is not supported by this CPU")));
    }
    let previous = OVERRIDE.with(|o| o.replace(Some(isa)));
    // Restore even if `f` panics, so one failing test cannot pin the ISA of the next.
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(previous);
    Ok(f())
}

/// Sets this thread's override without a scope; used by rayon pool start handlers.
pub(crate) fn set_thread_isa(isa: Option<Isa>) {
    OVERRIDE.with(|o| o.set(isa));
}

#[cold]
#[track_caller]
fn length_mismatch(op: &str, a: usize, b: usize) -> ! {
    panic!("simd::{op}: slice lengths differ ({a} vs {b})")
}

#[inline]
#[track_caller]
fn same_len(op: &str, a: usize, b: usize) {
    if a != b {
        length_mismatch(op, a, b)
    }
}

// ---- the dispatched primitives -------------------------------------------------------------
// Each: check lengths once, then one arm per ISA. The `unsafe` on the AVX2 arm is only the call
// into a `#[target_feature]` function (for NEON the feature is always present on aarch64, but
// Rust still asks for the `unsafe`). `Isa::Neon` never reaches an x86 build (and vice versa):
// `is_supported` is false there, so `with_isa` refuses it and `detected` never returns it.

/// Σᵢ aᵢ·bᵢ (the SIMD paths sum in a different order: expect rounding differences).
///
/// # Panics
/// If the lengths differ.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    same_len("dot", a.len(), b.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::dot(a, b) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::dot(a, b) },
        _ => scalar::dot(a, b),
    }
}

/// Σᵢ aᵢ (the SIMD paths sum in a different order: expect rounding differences).
pub fn sum(a: &[f32]) -> f32 {
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::sum(a) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::sum(a) },
        _ => scalar::sum(a),
    }
}

/// y ← y + α·x (the SIMD paths use one fused multiply-add, so one rounding instead of two).
///
/// # Panics
/// If the lengths differ.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    same_len("axpy", x.len(), y.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::axpy(alpha, x, y) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::axpy(alpha, x, y) },
        _ => scalar::axpy(alpha, x, y),
    }
}

/// x ← α·x.
pub fn scale(alpha: f32, x: &mut [f32]) {
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::scale(alpha, x) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::scale(alpha, x) },
        _ => scalar::scale(alpha, x),
    }
}

/// out ← a + b.
///
/// # Panics
/// If the lengths differ.
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    same_len("add", a.len(), b.len());
    same_len("add", a.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::add(a, b, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::add(a, b, out) },
        _ => scalar::add(a, b, out),
    }
}

/// out ← a ⊙ b.
///
/// # Panics
/// If the lengths differ.
pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    same_len("mul", a.len(), b.len());
    same_len("mul", a.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::mul(a, b, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::mul(a, b, out) },
        _ => scalar::mul(a, b, out),
    }
}

/// maxᵢ aᵢ (−∞ for an empty slice). NaN elements are skipped on every ISA.
pub fn max(a: &[f32]) -> f32 {
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::max(a) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::max(a) },
        _ => scalar::max(a),
    }
}

/// out ← max(x, 0) (NaN → 0, −0 → +0 on every ISA, bit-identical across ISAs).
///
/// # Panics
/// If the lengths differ.
pub fn relu(x: &[f32], out: &mut [f32]) {
    same_len("relu", x.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::relu(x, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::relu(x, out) },
        _ => scalar::relu(x, out),
    }
}

/// dx ← dx + dy ⊙ \[y > 0\] (accumulates; bit-identical across ISAs).
///
/// # Panics
/// If the lengths differ.
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    same_len("relu_backward", y.len(), dy.len());
    same_len("relu_backward", y.len(), dx.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::relu_backward(y, dy, dx) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::relu_backward(y, dy, dx) },
        _ => scalar::relu_backward(y, dy, dx),
    }
}

/// out ← eˣ. SIMD paths: relative error ≤ [`vmath::EXP_MAX_REL_ERR`] for normal results,
/// +∞ above ln(f32::MAX), 0 far below, NaN for NaN (see [`vmath`]).
///
/// # Panics
/// If the lengths differ.
pub fn exp(x: &[f32], out: &mut [f32]) {
    same_len("exp", x.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_math::exp(x, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_math::exp(x, out) },
        _ => scalar::exp(x, out),
    }
}

/// out ← 1 / (1 + e⁻ˣ), without overflow for large |x|. SIMD error bounds:
/// [`vmath::SIGMOID_MAX_REL_ERR`], [`vmath::SIGMOID_MAX_ABS_ERR`].
///
/// # Panics
/// If the lengths differ.
pub fn sigmoid(x: &[f32], out: &mut [f32]) {
    same_len("sigmoid", x.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_math::sigmoid(x, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_math::sigmoid(x, out) },
        _ => scalar::sigmoid(x, out),
    }
}

/// out ← tanh(x). SIMD error bounds: [`vmath::TANH_MAX_REL_ERR`], [`vmath::TANH_MAX_ABS_ERR`].
///
/// # Panics
/// If the lengths differ.
pub fn tanh(x: &[f32], out: &mut [f32]) {
    same_len("tanh", x.len(), out.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_math::tanh(x, out) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_math::tanh(x, out) },
        _ => scalar::tanh(x, out),
    }
}

/// dst\[i\] ← src\[start + i·step\] for i < dst.len() (one im2col row).
///
/// # Panics
/// If the last index read, `start + (dst.len()−1)·step`, is outside `src`.
pub fn gather_strided(src: &[f32], start: usize, step: usize, dst: &mut [f32]) {
    check_strided("gather_strided", src.len(), start, step, dst.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::gather_strided(src, start, step, dst) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::gather_strided(src, start, step, dst) },
        _ => scalar::gather_strided(src, start, step, dst),
    }
}

/// dst\[start + i·step\] += src\[i\] for i < src.len() (one col2im row; accumulates).
///
/// # Panics
/// If the last index written, `start + (src.len()−1)·step`, is outside `dst`.
pub fn scatter_add_strided(src: &[f32], dst: &mut [f32], start: usize, step: usize) {
    check_strided("scatter_add_strided", dst.len(), start, step, src.len());
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2::scatter_add_strided(src, dst, start, step) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::scatter_add_strided(src, dst, start, step) },
        _ => scalar::scatter_add_strided(src, dst, start, step),
    }
}

/// Checks that `start + (count−1)·step < len` (nothing to check when `count` is 0).
#[inline]
#[track_caller]
fn check_strided(op: &str, len: usize, start: usize, step: usize, count: usize) {
    if count == 0 {
        return;
    }
    let last = (count - 1)
        .checked_mul(step)
        .and_then(|o| o.checked_add(start));
    if last.is_none_or(|l| l >= len) {
        panic!(
            "simd::{op}: {count} elements from {start} with step {step} reach past the strided \
             slice of length {len}"
        );
    }
}

/// The GEMM micro-kernel: C ← α·A·B + β·C on one [`MR`]×[`NR`] tile.
///
/// `a_panel` holds A packed column by column (`a_panel[p·MR + i] = A[i, p]`), `b_panel` holds B
/// packed row by row (`b_panel[p·NR + j] = B[p, j]`), for `p < k`. `c[i·ldc + j]` is C\[i, j\].
/// When β = 0, C is only written, never read (so stale NaNs in an output buffer cannot leak in).
///
/// # Panics
/// If `a_panel.len() < k·MR`, `b_panel.len() < k·NR`, `ldc < NR` or
/// `c.len() < (MR−1)·ldc + NR`.
pub fn gemm_kernel(
    k: usize,
    alpha: f32,
    a_panel: &[f32],
    b_panel: &[f32],
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    check_gemm_kernel_args(k, a_panel.len(), b_panel.len(), c.len(), ldc);
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected; the extents were
        // checked just above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_gemm::gemm_kernel(k, alpha, a_panel, b_panel, beta, c, ldc) },
        // SAFETY: NEON is part of the aarch64 baseline; the extents were checked just above.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_gemm::gemm_kernel(k, alpha, a_panel, b_panel, beta, c, ldc) },
        _ => scalar::gemm_kernel(k, alpha, a_panel, b_panel, beta, c, ldc),
    }
}

#[inline]
#[track_caller]
pub(crate) fn check_gemm_kernel_args(k: usize, a: usize, b: usize, c: usize, ldc: usize) {
    assert!(
        a >= k * MR && b >= k * NR && ldc >= NR && c >= (MR - 1) * ldc + NR,
        "gemm_kernel: panels too short (k = {k}, a {a} < {}, b {b} < {}) or tile out of range \
         (ldc {ldc}, c {c})",
        k * MR,
        k * NR
    );
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_math;
