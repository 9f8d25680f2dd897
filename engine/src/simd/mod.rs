//! Run-time dispatched SIMD primitives (f32) and the [`Isa`] choice.
//!
//! # How dispatch works
//! The instruction set is detected once ([`detected`]): AVX2+FMA on x86_64 when the CPU has both,
//! NEON on aarch64 (part of its baseline), otherwise [`Isa::Scalar`]. The environment variable
//! `ECGRAD_ISA=scalar|avx2|neon` can only *lower* that choice; asking for an instruction set this
//! CPU lacks is an `Error::Isa`, never a crash. Tests can pin a thread (or a whole rayon pool,
//! see [`crate::parallel::with_isa_threads`]) to one ISA with [`with_isa`] (all in `detect.rs`).
//!
//! Each primitive below checks its slice lengths once, then matches on [`isa`] and calls the ISA
//! body; kernels elsewhere only ever call these safe primitives. The bodies:
//! - `scalar.rs`: portable loops, the f32 fallback and the f64 path;
//! - `avx2.rs`, `avx2_math.rs`, `avx2_gemm.rs`: `#[target_feature(enable = "avx2,fma")]`, 8 lanes;
//! - `neon.rs`, `neon_math.rs`, `neon_gemm.rs`: `#[target_feature(enable = "neon")]`, 4 lanes;
//! - [`int8`]: exact int8 dot products and GEMM for quantised inference (`scalar_int8.rs`,
//!   `avx2_int8.rs`, `neon_int8.rs`; dispatched in `int8.rs`, every ISA bit-identical);
//! - [`vmath`]: the math of the vectorised exp/sigmoid/tanh (range reduction, polynomials),
//!   their documented error bounds, and scalar models of the exact SIMD arithmetic.
//!
//! The ISA bodies are safe functions over slices; calling one is `unsafe` only because the CPU
//! must have the feature, which [`isa`] guarantees (the `// SAFETY:` on each arm). Inside them,
//! only raw-pointer loads and stores are `unsafe`, each tied to a slice-length bound. This
//! module and `gemm/mm.rs` are the only places in the workspace with `unsafe`.
//!
//! # What to expect from the SIMD paths
//! Elementwise ops (`add`, `mul`, `scale`, `relu`, `relu_backward`, `gather_strided`,
//! `scatter_add_strided`) and `max` give bit-identical results on every ISA. `dot` and `sum`
//! add in a different order (several accumulators), and `axpy`/`dot` use fused multiply-adds,
//! so they differ from scalar by rounding. `exp`, `sigmoid` and `tanh` use our own polynomial
//! code on SIMD ISAs (identical bits on AVX2 and NEON) and the library functions on scalar;
//! their error bounds are in [`vmath`].

mod detect;
pub mod int8;
pub mod scalar;
pub mod scalar_int8;

#[cfg(feature = "testing")]
pub mod counting_alloc;
pub mod vmath;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_direct;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_gemm;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_int8;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_math;

#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_direct;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_gemm;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_int8;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon_math;

/// Rows of the GEMM micro-kernel tile (the `MR` of BLIS): one broadcast of A per row.
pub const MR: usize = 6;
/// Columns of the GEMM micro-kernel tile (`NR`): two 8-lane AVX2 vectors, four 4-lane NEON vectors.
pub const NR: usize = 16;

#[cfg(test)]
pub(crate) use detect::choose;
pub(crate) use detect::set_thread_isa;
pub use detect::{Isa, detected, isa, try_isa, with_isa};

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

/// Where each row of B starts inside one buffer, for [`conv_kernel`]: `B[p, j] = x[offs[p] + j]`.
///
/// For a stride-1 convolution of a zero-padded signal (`L_pad` samples per channel), row
/// `p = c·K + j` of im2col's `cols` starting at output `t0` *is* the slice of `x_pad` at
/// `c·L_pad + j·d + t0`: the kernel can read B where it already lies instead of copying it into
/// a packed panel. The largest offset is kept so the kernel checks its reach once per call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowOffsets {
    offs: Vec<usize>,
    max: usize,
}

impl RowOffsets {
    /// Wraps the row offsets (one per step of the reduction).
    pub fn new(offs: Vec<usize>) -> Self {
        let max = offs.iter().copied().max().unwrap_or(0);
        RowOffsets { offs, max }
    }

    /// The offsets, in reduction order.
    pub fn as_slice(&self) -> &[usize] {
        &self.offs
    }

    /// The number of rows (the reduction length `k`).
    pub fn len(&self) -> usize {
        self.offs.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.offs.is_empty()
    }

    /// The largest offset (0 when empty): the kernel reads `x[..max + NR]`.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// The GEMM micro-kernel with B read in place: on the first `rows` (1 ≤ rows ≤ [`MR`]) rows
/// of one [`MR`]×[`NR`] tile,
/// ```text
/// C[i, j] ← Σ_p a_panel[p·MR + i] · x[offs[p] + j]  +  β·C[i, j]     (i < rows, p < offs.len())
/// ```
/// i.e. [`gemm_kernel`] with α = 1 whose B rows are slices of `x` at the given offsets instead
/// of a packed panel. A stride-1 convolution gives every row of B as a slice of the zero-padded
/// signal ([`RowOffsets`]), so nothing is packed and the B working set is the signal window
/// (`C_in · (NR + d·(K−1))` values) instead of a `C_in·K × NR` panel. `rows < MR` serves the
/// last row panel of a layer whose channel count is not a multiple of MR (64 = 10·6 + 4)
/// without computing the missing rows. β = 0 never reads C.
///
/// # Panics
/// If `rows` is 0 or above MR, `a_panel.len() < k·MR`, `x.len() < offs.max() + NR` (with
/// k > 0), `ldc < NR` or `c.len() < (rows−1)·ldc + NR`.
pub fn conv_kernel(
    rows: usize,
    a_panel: &[f32],
    x: &[f32],
    offs: &RowOffsets,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    check_conv_kernel_args(rows, a_panel.len(), x.len(), offs, c.len(), ldc);
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected; the extents were
        // checked just above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_gemm::conv_kernel(rows, a_panel, x, offs, beta, c, ldc) },
        // SAFETY: NEON is part of the aarch64 baseline; the extents were checked just above.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_gemm::conv_kernel(rows, a_panel, x, offs, beta, c, ldc) },
        _ => scalar::conv_kernel(rows, a_panel, x, offs, beta, c, ldc),
    }
}

#[inline]
#[track_caller]
pub(crate) fn check_conv_kernel_args(
    rows: usize,
    a: usize,
    x: usize,
    offs: &RowOffsets,
    c: usize,
    ldc: usize,
) {
    let k = offs.len();
    assert!(
        (1..=MR).contains(&rows)
            && a >= k * MR
            && (k == 0 || x >= offs.max() + NR)
            && ldc >= NR
            && c >= (rows - 1) * ldc + NR,
        "conv_kernel: {rows} tile rows (1..={MR}) and k = {k} steps need a ≥ {} and x ≥ {} \
         (largest offset {} + {NR}); got a {a}, x {x}; or the tile is out of range (ldc {ldc}, \
         c {c})",
        k * MR,
        offs.max() + NR,
        offs.max()
    );
}

/// Direct correlation with a few taps read at arbitrary offsets of one buffer: for `o < rows`,
/// `t < len`,
/// ```text
/// y[o·ldy + t] = bias[o] + Σ_q w[o·Q + q] · x[offs[q] + t]        (Q = offs.len())
/// ```
/// A stride-1 convolution of a zero-padded signal is exactly this with `offs[c·K + j] = c·L_pad +
/// j·dilation`: the kernel of the one- or two-lead first layer, where the reduction is too short
/// for packed GEMM panels to pay off. The SIMD versions use fused multiply-adds (one rounding per
/// tap instead of two).
///
/// # Panics
/// If `w.len() < rows·Q`, `bias.len() < rows`, `ldy < len` (with more than one row),
/// `y.len() < (rows − 1)·ldy + len`, or `x.len() < max(offs) + len`.
pub fn direct_conv(
    x: &[f32],
    offs: &[usize],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    dims: (usize, usize, usize),
) {
    check_direct_conv_args(x.len(), offs, w.len(), bias.len(), y.len(), dims);
    match isa() {
        // SAFETY: isa() returns Avx2Fma only after avx2 and fma were detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { avx2_direct::direct_conv(x, offs, w, bias, y, dims) },
        // SAFETY: NEON is part of the aarch64 baseline, so every aarch64 CPU has it.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon_direct::direct_conv(x, offs, w, bias, y, dims) },
        _ => scalar::direct_conv(x, offs, w, bias, y, dims),
    }
}

/// The tiling shared by the SIMD direct-correlation kernels (`avx2_direct.rs`,
/// `neon_direct.rs`): rows in blocks of at most 4; positions in blocks of 16, then of `narrow`
/// (one vector: 8 lanes on AVX2, 4 on NEON); `tile(rows_in_tile, o, t, wide)` computes one block
/// (`wide`: 16 positions, else `narrow`). The last `< narrow` positions of each row are summed
/// here, one at a time, in the same tap order.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn direct_tiling(
    x: &[f32],
    offs: &[usize],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    (rows, len, ldy): (usize, usize, usize),
    narrow: usize,
    mut tile: impl FnMut(&mut [f32], usize, usize, usize, bool),
) {
    let q_n = offs.len();
    let mut o = 0;
    while o < rows {
        let r = (rows - o).min(4);
        let mut t = 0;
        while t + 16 <= len {
            tile(y, r, o, t, true);
            t += 16;
        }
        while t + narrow <= len {
            tile(y, r, o, t, false);
            t += narrow;
        }
        for i in o..o + r {
            for tt in t..len {
                let mut s = bias[i];
                for (q, &off) in offs.iter().enumerate() {
                    s += w[i * q_n + q] * x[off + tt];
                }
                y[i * ldy + tt] = s;
            }
        }
        o += r;
    }
}

#[track_caller]
pub(crate) fn check_direct_conv_args(
    x: usize,
    offs: &[usize],
    w: usize,
    bias: usize,
    y: usize,
    (rows, len, ldy): (usize, usize, usize),
) {
    if rows == 0 || len == 0 {
        return;
    }
    let reach = offs.iter().max().map_or(0, |&m| m + len);
    assert!(
        w >= rows * offs.len()
            && bias >= rows
            && (rows == 1 || ldy >= len)
            && y >= (rows - 1) * ldy + len
            && x >= reach,
        "direct_conv: {rows} rows × {len} positions (ldy {ldy}) with {} taps need w ≥ {}, \
         bias ≥ {rows}, y ≥ {}, x ≥ {reach}; got w {w}, bias {bias}, y {y}, x {x}",
        offs.len(),
        rows * offs.len(),
        (rows - 1) * ldy + len
    );
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_int8;
#[cfg(test)]
mod tests_math;
