//! [`Real`]: the element types the engine computes in (f32 and f64).
//!
//! Everything above the SIMD layer is generic over `Real`, so the gradient checks of the autograd
//! crate can run the very same code in f64. The trait also carries the *vector primitives* the
//! fast kernels are built from (dot, axpy, the GEMM micro-kernel, …). Their default bodies are the
//! portable loops of [`crate::simd::scalar`]; `f32` overrides them with the run-time dispatched
//! SIMD versions of [`crate::simd`]. So a kernel written once, generically, runs AVX2/NEON code in
//! f32 and plain loops in f64.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::gemm::{MatMut, MatRef, mm};
use crate::simd::{self, RowOffsets, scalar};

/// A floating-point element type: `f32` (the models) or `f64` (gradient checks).
pub trait Real:
    Copy
    + Send
    + Sync
    + Debug
    + Display
    + Default
    + PartialOrd
    + Sum
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Name of the type, for messages (`"f32"`).
    const NAME: &'static str;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Default relative tolerance when comparing a fast kernel with its naive twin. It is scaled
    /// by √(reduction length) in `crate::testing`.
    const TEST_RTOL: f64;
    /// Default absolute tolerance for the same comparison.
    const TEST_ATOL: f64;

    /// Converts from f64 (rounding for f32).
    fn from_f64(v: f64) -> Self;
    /// Converts to f64 (exact).
    fn to_f64(self) -> f64;
    /// Converts from a count or index.
    fn from_usize(v: usize) -> Self {
        Self::from_f64(v as f64)
    }
    /// eˣ.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// The larger of two values (NaN-ignoring as `f32::max`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values.
    fn min(self, other: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;

    // ---- vector primitives: scalar loops by default, SIMD for f32 ----

    /// Σᵢ aᵢ·bᵢ. Lengths must be equal (checked by the caller).
    fn vec_dot(a: &[Self], b: &[Self]) -> Self {
        scalar::dot(a, b)
    }
    /// Σᵢ aᵢ.
    fn vec_sum(a: &[Self]) -> Self {
        scalar::sum(a)
    }
    /// y ← y + α·x.
    fn vec_axpy(alpha: Self, x: &[Self], y: &mut [Self]) {
        scalar::axpy(alpha, x, y)
    }
    /// x ← α·x.
    fn vec_scale(alpha: Self, x: &mut [Self]) {
        scalar::scale(alpha, x)
    }
    /// out ← a + b.
    fn vec_add(a: &[Self], b: &[Self], out: &mut [Self]) {
        scalar::add(a, b, out)
    }
    /// out ← a ⊙ b (elementwise product).
    fn vec_mul(a: &[Self], b: &[Self], out: &mut [Self]) {
        scalar::mul(a, b, out)
    }
    /// maxᵢ aᵢ (−∞ for an empty slice).
    fn vec_max(a: &[Self]) -> Self {
        scalar::max(a)
    }
    /// out ← max(x, 0).
    fn vec_relu(x: &[Self], out: &mut [Self]) {
        scalar::relu(x, out)
    }
    /// dx ← dx + dy ⊙ \[y > 0\]: the ReLU backward, from the *output* y (accumulates).
    fn vec_relu_backward(y: &[Self], dy: &[Self], dx: &mut [Self]) {
        scalar::relu_backward(y, dy, dx)
    }
    /// out ← eˣ (vectorised approximation for f32; see [`crate::simd`] for its error bound).
    fn vec_exp(x: &[Self], out: &mut [Self]) {
        scalar::exp(x, out)
    }
    /// out ← 1 / (1 + e⁻ˣ).
    fn vec_sigmoid(x: &[Self], out: &mut [Self]) {
        scalar::sigmoid(x, out)
    }
    /// out ← tanh(x).
    fn vec_tanh(x: &[Self], out: &mut [Self]) {
        scalar::tanh(x, out)
    }
    /// dst\[i\] ← src\[start + i·step\] for every i < dst.len(): one im2col row.
    fn vec_gather_strided(src: &[Self], start: usize, step: usize, dst: &mut [Self]) {
        scalar::gather_strided(src, start, step, dst)
    }
    /// dst\[start + i·step\] ← dst\[start + i·step\] + src\[i\]: one col2im row, scatter-added.
    fn vec_scatter_add_strided(src: &[Self], dst: &mut [Self], start: usize, step: usize) {
        scalar::scatter_add_strided(src, dst, start, step)
    }
    /// The GEMM micro-kernel on packed panels, see [`crate::simd::gemm_kernel`].
    fn gemm_kernel(
        k: usize,
        alpha: Self,
        a_panel: &[Self],
        b_panel: &[Self],
        beta: Self,
        c: &mut [Self],
        ldc: usize,
    ) {
        scalar::gemm_kernel(k, alpha, a_panel, b_panel, beta, c, ldc)
    }
    /// The GEMM micro-kernel with B read in place, see [`crate::simd::conv_kernel`].
    fn conv_kernel(
        rows: usize,
        a_panel: &[Self],
        x: &[Self],
        offs: &RowOffsets,
        beta: Self,
        c: &mut [Self],
        ldc: usize,
    ) {
        crate::simd::check_conv_kernel_args(rows, a_panel.len(), x.len(), offs, c.len(), ldc);
        scalar::conv_kernel(rows, a_panel, x, offs, beta, c, ldc)
    }
    /// Direct correlation with taps at arbitrary offsets, see [`crate::simd::direct_conv`].
    fn direct_conv(
        x: &[Self],
        offs: &[usize],
        w: &[Self],
        bias: &[Self],
        y: &mut [Self],
        dims: (usize, usize, usize),
    ) {
        crate::simd::check_direct_conv_args(x.len(), offs, w.len(), bias.len(), y.len(), dims);
        scalar::direct_conv(x, offs, w, bias, y, dims)
    }
    /// C ← α·A·B + β·C through the `matrixmultiply` crate (`sgemm` or `dgemm`); see
    /// [`crate::gemm::mm`]. Dimensions were checked by the caller.
    fn mm_gemm(
        alpha: Self,
        a: MatRef<'_, Self>,
        b: MatRef<'_, Self>,
        beta: Self,
        c: MatMut<'_, Self>,
    );
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAME: &'static str = "f32";
    const EPSILON: f32 = f32::EPSILON;
    const TEST_RTOL: f64 = 2e-5;
    const TEST_ATOL: f64 = 1e-5;
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn exp(self) -> f32 {
        f32::exp(self)
    }
    fn ln(self) -> f32 {
        f32::ln(self)
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn tanh(self) -> f32 {
        f32::tanh(self)
    }
    fn abs(self) -> f32 {
        f32::abs(self)
    }
    fn max(self, other: f32) -> f32 {
        f32::max(self, other)
    }
    fn min(self, other: f32) -> f32 {
        f32::min(self, other)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }

    fn vec_dot(a: &[f32], b: &[f32]) -> f32 {
        simd::dot(a, b)
    }
    fn vec_sum(a: &[f32]) -> f32 {
        simd::sum(a)
    }
    fn vec_axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        simd::axpy(alpha, x, y)
    }
    fn vec_scale(alpha: f32, x: &mut [f32]) {
        simd::scale(alpha, x)
    }
    fn vec_add(a: &[f32], b: &[f32], out: &mut [f32]) {
        simd::add(a, b, out)
    }
    fn vec_mul(a: &[f32], b: &[f32], out: &mut [f32]) {
        simd::mul(a, b, out)
    }
    fn vec_max(a: &[f32]) -> f32 {
        simd::max(a)
    }
    fn vec_relu(x: &[f32], out: &mut [f32]) {
        simd::relu(x, out)
    }
    fn vec_relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        simd::relu_backward(y, dy, dx)
    }
    fn vec_exp(x: &[f32], out: &mut [f32]) {
        simd::exp(x, out)
    }
    fn vec_sigmoid(x: &[f32], out: &mut [f32]) {
        simd::sigmoid(x, out)
    }
    fn vec_tanh(x: &[f32], out: &mut [f32]) {
        simd::tanh(x, out)
    }
    fn vec_gather_strided(src: &[f32], start: usize, step: usize, dst: &mut [f32]) {
        simd::gather_strided(src, start, step, dst)
    }
    fn vec_scatter_add_strided(src: &[f32], dst: &mut [f32], start: usize, step: usize) {
        simd::scatter_add_strided(src, dst, start, step)
    }
    fn gemm_kernel(
        k: usize,
        alpha: f32,
        a_panel: &[f32],
        b_panel: &[f32],
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        simd::gemm_kernel(k, alpha, a_panel, b_panel, beta, c, ldc)
    }
    fn conv_kernel(
        rows: usize,
        a_panel: &[f32],
        x: &[f32],
        offs: &RowOffsets,
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        simd::conv_kernel(rows, a_panel, x, offs, beta, c, ldc)
    }
    fn direct_conv(
        x: &[f32],
        offs: &[usize],
        w: &[f32],
        bias: &[f32],
        y: &mut [f32],
        dims: (usize, usize, usize),
    ) {
        simd::direct_conv(x, offs, w, bias, y, dims)
    }
    fn mm_gemm(alpha: f32, a: MatRef<'_, f32>, b: MatRef<'_, f32>, beta: f32, c: MatMut<'_, f32>) {
        mm::sgemm(alpha, a, b, beta, c)
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NAME: &'static str = "f64";
    const EPSILON: f64 = f64::EPSILON;
    const TEST_RTOL: f64 = 1e-12;
    const TEST_ATOL: f64 = 1e-12;
    fn from_f64(v: f64) -> f64 {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn tanh(self) -> f64 {
        f64::tanh(self)
    }
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    fn max(self, other: f64) -> f64 {
        f64::max(self, other)
    }
    fn min(self, other: f64) -> f64 {
        f64::min(self, other)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn mm_gemm(alpha: f64, a: MatRef<'_, f64>, b: MatRef<'_, f64>, beta: f64, c: MatMut<'_, f64>) {
        mm::dgemm(alpha, a, b, beta, c)
    }
}
