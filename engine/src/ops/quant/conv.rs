//! Quantised conv1d: int8 im2col (transposed) + int8 GEMM, f32 in and out.
//!
//! Per sample: `x_n` is quantised with the calibrated `s_x`; `cols[t, (c,j)] = q_x[c, pos(t,j)]`
//! (zero for padding, rows zero-padded to `cols_padded` like the weights) puts each receptive
//! field in one contiguous row; then `acc[o, t] = ⟨q_w[o, :], cols[t, :]⟩` for all `(o, t)` is
//! one [`gemm_i8_nt`] call, already in NCL order, and the epilogue scales each output channel.

use rayon::prelude::*;

use super::naive::{self, dequantize_acc};
use super::{QuantImpl, QuantizedWeights, quantize_slice};
use crate::error::{Error, Result};
use crate::ops::conv1d::im2col::{input_pos, valid_outputs};
use crate::ops::conv1d::{Conv1dDims, Conv1dParams, Geom};
use crate::parallel;
use crate::shape::Shape;
use crate::simd::int8::gemm_i8_nt;
use crate::tensor::Tensor;

const OP: &str = "qconv1d";

/// Checks that an activation scale is usable.
pub(super) fn check_scale(op: &'static str, x_scale: f32) -> Result<()> {
    if x_scale > 0.0 && x_scale.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParam {
            op,
            name: "activation scale",
            value: x_scale.to_string(),
            why: "must be positive and finite (calibrate first)".into(),
        })
    }
}

/// Checks an optional bias against `len` values.
pub(super) fn check_bias(op: &'static str, b: Option<&Tensor<f32>>, len: usize) -> Result<()> {
    match b {
        Some(b) if b.shape() != Shape::d1(len) => Err(Error::InvalidParam {
            op,
            name: "bias",
            value: b.shape().to_string(),
            why: format!("must be [{len}], one value per output channel"),
        }),
        _ => Ok(()),
    }
}

fn validate(x: Shape, w: &QuantizedWeights, params: &Conv1dParams) -> Result<Geom> {
    params.validate(OP)?;
    w.check(OP)?;
    let (n, c_in, l_in) = x.dims3(OP, "input")?;
    let (c_out, w_c_in, k) = w.shape.dims3(OP, "weight")?;
    if x.numel() == 0 {
        return Err(Error::InvalidParam {
            op: OP,
            name: "input",
            value: x.to_string(),
            why: "every dimension must be at least 1".into(),
        });
    }
    if c_in != w_c_in {
        return Err(Error::shape_mismatch(
            OP,
            format!("input has {c_in} channels but weight expects {w_c_in}"),
            ("input", x),
            ("weight", w.shape),
        ));
    }
    params.out_len(l_in, k)?;
    Ok(Conv1dDims {
        n,
        c_in,
        c_out,
        l_in,
        k,
    }
    .geom(params))
}

/// Quantised 1D convolution: `y ≈ b + w ⋆ x` with int8 weights and activations (module docs of
/// [`super`]). `x [N, C_in, L_in]` (f32, quantised here with `x_scale`), `w` quantised from
/// `[C_out, C_in, K]`, `b [C_out]` → `y [N, C_out, L_out]` (f32).
///
/// # Errors
/// Rank and shape errors as [`crate::ops::conv1d::conv1d`]; [`Error::InvalidParam`] for a
/// non-positive or non-finite `x_scale`, or a bias that is not `[C_out]`;
/// [`Error::EmptyOutput`] if the kernel does not fit; [`Error::Isa`] if `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv1d::Conv1dParams;
/// use ecgrad_engine::ops::quant::{QuantizedWeights, qconv1d};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let w = QuantizedWeights::from_tensor(
///     &Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, -1.0]).unwrap()).unwrap();
/// // s_x = 4/127: x quantises to 32, 64, 95, 127; w to 127, −127 with s_w = 1/127.
/// let y = qconv1d(&x, 4.0 / 127.0, &w, None, Conv1dParams::default()).unwrap();
/// assert!(y.data().iter().all(|&v| (v + 1.0).abs() < 0.03)); // x[t] − x[t+1] = −1
/// ```
pub fn qconv1d(
    x: &Tensor<f32>,
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&Tensor<f32>>,
    params: Conv1dParams,
) -> Result<Tensor<f32>> {
    qconv1d_with(QuantImpl::Auto, x, x_scale, w, b, params)
}

/// [`qconv1d`] with a chosen implementation.
///
/// # Errors
/// As [`qconv1d`].
pub fn qconv1d_with(
    imp: QuantImpl,
    x: &Tensor<f32>,
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&Tensor<f32>>,
    params: Conv1dParams,
) -> Result<Tensor<f32>> {
    crate::simd::try_isa()?;
    check_scale(OP, x_scale)?;
    let g = validate(x.shape(), w, &params)?;
    check_bias(OP, b, g.c_out)?;
    let mut y = Tensor::zeros(Shape::d3(g.n, g.c_out, g.l_out));
    let b = b.map(|b| b.data());
    match imp {
        QuantImpl::Naive => naive::qconv1d(&g, x.data(), x_scale, w, b, y.data_mut()),
        QuantImpl::Auto => forward(&g, x.data(), x_scale, w, b, y.data_mut()),
    }
    Ok(y)
}

/// Fills `cols` (`L_out × kp`, zero-initialised) with `cols[t, c·K + j] = xq[c, pos(t, j)]`.
fn im2col_t(g: &Geom, xq: &[i8], kp: usize, cols: &mut [i8]) {
    for c in 0..g.c_in {
        let x_c = &xq[c * g.l_in..][..g.l_in];
        for j in 0..g.k {
            let r = valid_outputs(g, j);
            let Some(start) = r.clone().next().and_then(|t| input_pos(g, t, j)) else {
                continue;
            };
            let p = c * g.k + j;
            for (q, t) in r.enumerate() {
                cols[t * kp + p] = x_c[start + q * g.stride];
            }
        }
    }
}

fn forward(
    g: &Geom,
    x: &[f32],
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&[f32]>,
    y: &mut [f32],
) {
    let (x_len, y_len, kp) = (g.c_in * g.l_in, g.c_out * g.l_out, w.cols_padded);
    let sample = |x_n: &[f32], y_n: &mut [f32]| {
        let mut xq = vec![0i8; x_len];
        quantize_slice(x_n, x_scale, &mut xq);
        let mut cols = vec![0i8; g.l_out * kp];
        im2col_t(g, &xq, kp, &mut cols);
        let mut acc = vec![0i32; y_len];
        gemm_i8_nt(g.c_out, g.l_out, kp, &w.q, &cols, &mut acc);
        for (o, (y_row, acc_row)) in y_n
            .chunks_exact_mut(g.l_out)
            .zip(acc.chunks_exact(g.l_out))
            .enumerate()
        {
            let multiplier = x_scale * w.scales[o];
            let bias = b.map_or(0.0, |b| b[o]);
            for (v, &a) in y_row.iter_mut().zip(acc_row) {
                *v = dequantize_acc(a, multiplier, bias);
            }
        }
    };
    if parallel::current_threads() > 1 && g.n > 1 && g.macs() >= parallel::GRAIN * 16 {
        y.par_chunks_exact_mut(y_len)
            .zip(x.par_chunks_exact(x_len))
            .for_each(|(y_n, x_n)| sample(x_n, y_n));
    } else {
        y.chunks_exact_mut(y_len)
            .zip(x.chunks_exact(x_len))
            .for_each(|(y_n, x_n)| sample(x_n, y_n));
    }
}
