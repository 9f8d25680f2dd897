//! Quantised linear layer: `y[n,o] = s_x·s_w[o]·Σ_i q_w[o,i]·q_x[n,i] + b[o]`, one
//! [`gemm_i8_nt`] with the quantised input rows as A and the weight rows as B.

use super::conv::{check_bias, check_scale};
use super::naive::{self, dequantize_acc};
use super::{QuantImpl, QuantizedWeights, quantize_slice};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::simd::int8::gemm_i8_nt;
use crate::tensor::Tensor;

const OP: &str = "qlinear";

/// Quantised `y = x·Wᵀ + b`: `x [N, in]` (f32, quantised with `x_scale`), `w` quantised from
/// `[out, in]`, `b [out]` → `y [N, out]` (f32). Cost: `2·N·in·out` integer ops.
///
/// # Errors
/// [`Error::BadRank`] unless `x` and the weight are matrices; [`Error::ShapeMismatch`] if the
/// feature counts differ; [`Error::InvalidParam`] for a bad scale, bias or empty input;
/// [`Error::Isa`] if `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::quant::{QuantizedWeights, qlinear};
/// let w = QuantizedWeights::from_tensor(
///     &Tensor::from_vec(Shape::d2(1, 2), vec![0.5f32, -1.0]).unwrap()).unwrap();
/// let x = Tensor::from_vec(Shape::d2(1, 2), vec![2.0f32, 1.0]).unwrap();
/// let y = qlinear(&x, 2.0 / 127.0, &w, None).unwrap();
/// assert!((y.data()[0] - 0.0).abs() < 0.02); // 0.5·2 − 1·1
/// ```
pub fn qlinear(
    x: &Tensor<f32>,
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&Tensor<f32>>,
) -> Result<Tensor<f32>> {
    qlinear_with(QuantImpl::Auto, x, x_scale, w, b)
}

/// [`qlinear`] with a chosen implementation.
///
/// # Errors
/// As [`qlinear`].
pub fn qlinear_with(
    imp: QuantImpl,
    x: &Tensor<f32>,
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&Tensor<f32>>,
) -> Result<Tensor<f32>> {
    crate::simd::try_isa()?;
    check_scale(OP, x_scale)?;
    w.check(OP)?;
    let (n, inp) = x.shape().dims2(OP, "input")?;
    let (out, w_in) = w.shape.dims2(OP, "weight")?;
    if n == 0 || inp == 0 {
        return Err(Error::InvalidParam {
            op: OP,
            name: "input",
            value: x.shape().to_string(),
            why: "every dimension must be at least 1".into(),
        });
    }
    if inp != w_in {
        return Err(Error::shape_mismatch(
            OP,
            format!("input has {inp} features but weight expects {w_in}"),
            ("input", x.shape()),
            ("weight", w.shape),
        ));
    }
    check_bias(OP, b, out)?;
    let mut y = Tensor::zeros(Shape::d2(n, out));
    let b = b.map(|b| b.data());
    match imp {
        QuantImpl::Naive => naive::qlinear(n, x.data(), x_scale, w, b, y.data_mut()),
        QuantImpl::Auto => {
            let kp = w.cols_padded;
            // Quantised input rows, zero-padded to the weights' row length.
            let mut xq = vec![0i8; n * kp];
            for (row, q) in x.data().chunks_exact(inp).zip(xq.chunks_exact_mut(kp)) {
                quantize_slice(row, x_scale, &mut q[..inp]);
            }
            let mut acc = vec![0i32; n * out];
            gemm_i8_nt(n, out, kp, &xq, &w.q, &mut acc);
            for (y_row, acc_row) in y
                .data_mut()
                .chunks_exact_mut(out)
                .zip(acc.chunks_exact(out))
            {
                for (o, (v, &a)) in y_row.iter_mut().zip(acc_row).enumerate() {
                    *v = dequantize_acc(a, x_scale * w.scales[o], b.map_or(0.0, |b| b[o]));
                }
            }
        }
    }
    Ok(y)
}
