//! int8 post-training quantisation for inference: per-channel int8 weights, calibrated int8
//! activations, exact i32 accumulation, f32 out.
//!
//! # The scheme (symmetric, zero point 0)
//! - **Weights, per output channel** `o`: `s_w[o] = max_p |w[o,p]| / 127`,
//!   `q_w[o,p] = clamp(round(w[o,p] / s_w[o]), −127, 127)`. One scale per output channel
//!   (rather than one per tensor) because channel magnitudes differ by orders of magnitude after
//!   BatchNorm folding; a shared scale would round the small channels to zero.
//! - **Activations, per tensor**: one scale `s_x = clip / 127` fixed before inference from a
//!   few calibration batches ([`Calibration`]): `clip` is the largest |x| seen (`Max`), or a
//!   high percentile of |x| (`Percentile(99.99)`), which clips rare outliers to spend the 8
//!   bits on the bulk of the distribution. `q_x = clamp(round(x / s_x), −127, 127)`.
//! - **Product**: with `x ≈ s_x·q_x` and `w ≈ s_w·q_w`,
//!   ```text
//!   y[o,t] = b[o] + Σ_p w[o,p]·x[p,t] ≈ b[o] + s_x·s_w[o] · Σ_p q_w[o,p]·q_x[p,t]
//!   ```
//!   The sum is computed **exactly** in i32 ([`crate::simd::int8`]: at most 127² per term, so
//!   no overflow below 131 071 terms), then scaled once per output in f32 and the f32 bias
//!   added. Every ISA gives the same bits.
//!
//! Why symmetric i8 for activations instead of asymmetric u8 (PyTorch's `quint8` with a zero
//! point): (1) a zero point `z` adds a correction `−z·Σ_p q_w[o,p]` per output and makes the
//! convolution's zero padding a non-zero code; with `z = 0` padding is exactly 0 and there is
//! no correction; (2) it keeps both operands in −127..=127, where AVX2's `vpmaddubsw` cannot
//! saturate (see `simd/avx2_int8.rs`), whereas u8 × i8 pairs reach 2·255·127 > 32 767. The
//! price: after a ReLU the activations are ≥ 0 and use only 0..=127, 7 of the 8 bits.
//!
//! # The ops
//! - [`QuantizedWeights`]: a weight `[C_out, …]` quantised per row, rows zero-padded to a
//!   multiple of [`K_ALIGN`] so the SIMD dot products never need a scalar tail;
//! - [`qconv1d`]: quantise `x` with `s_x`, im2col *transposed* in int8 (`cols[t, (c,j)]`, one
//!   contiguous row per output position), `acc = W_q · colsᵀ` by [`gemm_i8_nt`](crate::simd::int8::gemm_i8_nt)
//!   straight into NCL, then `y = s_x·s_w[o]·acc + b[o]`. Cost: `2·N·C_out·C_in·K·L_out`
//!   integer ops, as the f32 conv; memory: a quarter of the f32 weights and im2col buffer;
//! - [`qlinear`]: the same with `acc = X_q · W_qᵀ`;
//! - naive twins (`naive.rs`): direct loops with the same quantiser and epilogue, so the fast
//!   paths must match them **bit for bit**.
//!
//! Threads: rayon over samples (outputs are independent, integer sums exact: any thread count
//! gives the same bits).

mod calibrate;
mod conv;
mod linear;
pub(crate) mod naive;
#[cfg(test)]
mod tests;

pub use calibrate::{AbsObserver, Calibration};
pub use conv::{qconv1d, qconv1d_with};
pub use linear::{qlinear, qlinear_with};

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Rows of quantised weights and im2col columns are zero-padded to a multiple of this many
/// values (one AVX2 vector of bytes; two NEON ones). Zeros add nothing to the dot products.
pub const K_ALIGN: usize = 32;

/// Which implementation computes a quantised op (tests and benches compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantImpl {
    /// int8 GEMM through [`crate::simd::int8`] (the production path).
    Auto,
    /// Direct loops (`naive.rs`), the specification.
    Naive,
}

/// The largest value of the symmetric int8 range (−127..=127; −128 is never produced).
pub const QMAX: f32 = 127.0;

/// `clamp(round(x / scale), −127, 127)`, rounding half away from zero; NaN → 0.
///
/// The rounding is written as `trunc(v ± 0.5)` (an add and a truncating conversion, which
/// compile to two inline instructions) rather than `f32::round`, which on the x86_64 baseline
/// is a call into libm per element and was a visible part of the int8 layers' time. The two
/// agree except for `v` within one ulp below a half-integer (where `v ± 0.5` rounds up in f32);
/// every path (naive and fast) uses this one function, so the comparisons stay bit-exact.
#[inline]
pub fn quantize_value(x: f32, scale: f32) -> i8 {
    let v = (x / scale).clamp(-QMAX, QMAX);
    (v + 0.5f32.copysign(v)) as i8
}

/// Quantises a slice with one scale ([`quantize_value`] elementwise).
///
/// # Panics
/// If the lengths differ.
pub fn quantize_slice(x: &[f32], scale: f32, out: &mut [i8]) {
    assert_eq!(x.len(), out.len(), "quantize_slice: lengths differ");
    for (q, &v) in out.iter_mut().zip(x) {
        *q = quantize_value(v, scale);
    }
}

/// The symmetric scale for values whose magnitude reaches `clip`: `clip / 127`, or 1 when
/// `clip` is 0 or not finite (every value then quantises to 0, which is exact for all-zero data).
pub fn scale_for(clip: f32) -> f32 {
    if clip > 0.0 && clip.is_finite() {
        clip / QMAX
    } else {
        1.0
    }
}

/// A weight quantised per output channel (row): `w[o, p] ≈ scales[o]·q[o·cols_padded + p]`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeights {
    /// The int8 codes, `rows × cols_padded`, row-major, zero beyond `cols` in every row.
    pub q: Vec<i8>,
    /// One scale per row, `s_w[o] = max_p |w[o,p]| / 127`.
    pub scales: Vec<f32>,
    /// The shape of the original f32 weight (`[C_out, C_in, K]` or `[out, in]`).
    pub shape: Shape,
    /// Rows = `shape[0]`.
    pub rows: usize,
    /// Values per row = the product of the other dimensions.
    pub cols: usize,
    /// `cols` rounded up to a multiple of [`K_ALIGN`].
    pub cols_padded: usize,
}

impl QuantizedWeights {
    /// Quantises `w` per row (dimension 0), symmetric, see the module docs.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a rank-0/1 or empty tensor, or a non-finite weight.
    pub fn from_tensor(w: &Tensor<f32>) -> Result<QuantizedWeights> {
        let shape = w.shape();
        if shape.rank() < 2 || shape.numel() == 0 {
            return Err(Error::InvalidParam {
                op: "QuantizedWeights::from_tensor",
                name: "weight",
                value: shape.to_string(),
                why: "needs rank ≥ 2 and at least one element".into(),
            });
        }
        if let Some(bad) = w.data().iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidParam {
                op: "QuantizedWeights::from_tensor",
                name: "weight value",
                value: bad.to_string(),
                why: "weights must be finite to be quantised".into(),
            });
        }
        let rows = shape.dims()[0];
        let cols = shape.numel() / rows;
        let cols_padded = cols.div_ceil(K_ALIGN) * K_ALIGN;
        let mut q = vec![0i8; rows * cols_padded];
        let mut scales = Vec::with_capacity(rows);
        for (row, q_row) in w
            .data()
            .chunks_exact(cols)
            .zip(q.chunks_exact_mut(cols_padded))
        {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let s = scale_for(max);
            quantize_slice(row, s, &mut q_row[..cols]);
            scales.push(s);
        }
        Ok(QuantizedWeights {
            q,
            scales,
            shape,
            rows,
            cols,
            cols_padded,
        })
    }

    /// Checks a (possibly hand-built: the fields are public) set of codes before a kernel uses
    /// them: `rows × cols_padded` codes and `rows` scales matching `shape`, and no code −128
    /// (the symmetric range is −127..=127; the AVX2 kernel's sign trick relies on it).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming `op`, the field and the first offending position.
    pub fn check(&self, op: &'static str) -> Result<()> {
        let bad = |name: &'static str, value: String, why: String| {
            Err(Error::InvalidParam {
                op,
                name,
                value,
                why,
            })
        };
        let (rows, cols) = (self.rows, self.cols);
        if rows == 0
            || rows * cols != self.shape.numel()
            || self.shape.dims().first() != Some(&rows)
            || self.cols_padded < cols
            || self.q.len() != rows * self.cols_padded
            || self.scales.len() != rows
        {
            return bad(
                "quantized weights",
                format!(
                    "shape {}, rows {rows}, cols {cols}, cols_padded {}, {} codes, {} scales",
                    self.shape,
                    self.cols_padded,
                    self.q.len(),
                    self.scales.len()
                ),
                "the sizes disagree (build them with QuantizedWeights::from_tensor)".into(),
            );
        }
        if let Some(i) = self.q.iter().position(|&v| v == i8::MIN) {
            return bad(
                "quantized weight code",
                format!(
                    "-128 at row {}, column {}",
                    i / self.cols_padded,
                    i % self.cols_padded
                ),
                "symmetric int8 codes lie in −127..=127".into(),
            );
        }
        Ok(())
    }

    /// The f32 weight these codes stand for, `scales[o]·q[o, p]` (to measure the rounding).
    pub fn dequantize(&self) -> Tensor<f32> {
        let mut data = Vec::with_capacity(self.rows * self.cols);
        for (row, &s) in self.q.chunks_exact(self.cols_padded).zip(&self.scales) {
            data.extend(row[..self.cols].iter().map(|&v| s * f32::from(v)));
        }
        Tensor::from_vec(self.shape, data).expect("invariant: rows·cols = numel")
    }

    /// Bytes needed to store the layer's weights: one byte per weight plus one f32 scale per
    /// row (the zero padding is an in-memory layout choice, not counted).
    pub fn size_bytes(&self) -> usize {
        self.rows * self.cols + 4 * self.rows
    }
}
