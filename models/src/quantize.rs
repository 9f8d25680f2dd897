//! int8 post-training quantisation of trained CNNs for inference (seed 001's edge device).
//!
//! # Pipeline
//! 1. **Describe** the trained network in eval mode as a list of [`FloatStep`]s (conv, BN,
//!    ReLU, pooling, linear, depthwise conv) — [`beat_cnn_steps`] does it for `BeatCnn`.
//! 2. **Fold BatchNorm** into the convolution (or linear layer) before it ([`fold_steps`]). In
//!    eval mode BN is a per-channel affine map of the conv output, so it can be absorbed:
//!    ```text
//!    BN(z)[o] = γ[o]·(z[o] − μ[o]) / √(σ²[o] + ε) + β[o],   z[o] = b[o] + Σ_p w[o,p]·x[p]
//!    ⇒ with a[o] = γ[o] / √(σ²[o] + ε):
//!      w'[o,p] = a[o]·w[o,p],   b'[o] = a[o]·(b[o] − μ[o]) + β[o]
//!    ```
//!    (computed in f64, rounded once to f32). Folding first matters: quantising the folded
//!    weights keeps BN's per-channel rescaling inside the per-channel weight scale, instead of
//!    multiplying an already-rounded conv output.
//! 3. **Calibrate**: run the folded f32 network on a few batches and record |x| at the input of
//!    every conv/linear layer ([`AbsObserver`]); each input scale is `clip / 127` with the
//!    clip chosen by [`Calibration`] (`Max`, or a percentile such as 99.99 that ignores rare
//!    outliers).
//! 4. **Quantise** every conv and linear weight per output channel (`s_w[o] = max|w'[o,:]|/127`)
//!    and run them in int8 with i32 accumulation ([`QuantizedConv1d`], [`QuantizedLinear`]):
//!    `y[o] = s_x·s_w[o]·Σ_p q_w[o,p]·q_x[p] + b'[o]` (the math and the integer kernels are in
//!    `ecgrad_engine::ops::quant`). ReLU, max/global pooling, and the depthwise convs of a
//!    separable network stay in f32 between the int8 layers (depthwise convs are
//!    memory-bound, K multiply-adds per output: int8 would save little and needs a separate
//!    kernel). A BN with no conv before it becomes an f32 per-channel affine step.
//!
//! For the beat classifiers: [`quantize_beat_cnn`] and [`quantize_separable_beat_cnn`]
//! (`quantize_beat_cnn.rs`) return a [`QuantizedBeatCnn`].
//!
//! # Size
//! [`float_size_bytes`] counts what an f32 checkpoint stores (every parameter and BN running
//! statistic, 4 bytes each); [`QuantizedNet::size_bytes`] what the int8 model needs: 1 byte per
//! conv/linear weight, plus 4 bytes per output-channel scale, per (folded) bias, per f32 weight
//! left in f32, and per input scale.

use ecgrad_autograd::engine::ops::conv1d::{Conv1dParams, conv1d};
use ecgrad_autograd::engine::ops::depthwise_conv1d::depthwise_conv1d;
use ecgrad_autograd::engine::ops::matmul::{MatmulParams, matmul};
use ecgrad_autograd::engine::ops::pool1d::{Pool1dParams, global_avg_pool1d, max_pool1d};
pub use ecgrad_autograd::engine::ops::quant::{AbsObserver, Calibration, QuantizedWeights};
use ecgrad_autograd::engine::ops::quant::{qconv1d, qlinear};
use ecgrad_autograd::engine::{Shape, Tensor};

use crate::error::{Result, invalid};

#[path = "quantize_beat_cnn.rs"]
mod beat_cnn;
pub use beat_cnn::{
    QuantizedBeatCnn, beat_cnn_steps, quantize_beat_cnn, quantize_beat_cnn_with,
    quantize_separable_beat_cnn, quantize_separable_beat_cnn_with, separable_beat_cnn_steps,
};

/// A convolution with int8 weights (per output channel) and a calibrated int8 input scale.
#[derive(Clone, Debug)]
pub struct QuantizedConv1d {
    /// The int8 weight `[C_out, C_in, K]` with one scale per output channel.
    pub weight: QuantizedWeights,
    /// f32 bias `[C_out]` (BatchNorm folded in), added after the integer sum is rescaled.
    pub bias: Option<Tensor<f32>>,
    /// Stride, padding, dilation.
    pub params: Conv1dParams,
    /// The calibrated activation scale `s_x` of the input.
    pub input_scale: f32,
}

impl QuantizedConv1d {
    /// Quantises an f32 weight `[C_out, C_in, K]` per output channel.
    ///
    /// # Errors
    /// A rank error unless the weight is rank 3; invalid parameters for non-finite weights, a
    /// bias that is not `[C_out]`, or a non-positive input scale.
    pub fn new(
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
        params: Conv1dParams,
        input_scale: f32,
    ) -> Result<QuantizedConv1d> {
        let (c_out, _, _) = weight.shape().dims3("QuantizedConv1d", "weight")?;
        check_layer("QuantizedConv1d", bias, c_out, input_scale)?;
        Ok(QuantizedConv1d {
            weight: QuantizedWeights::from_tensor(weight)?,
            bias: bias.cloned(),
            params,
            input_scale,
        })
    }

    /// `[N, C_in, L_in]` → `[N, C_out, L_out]` in int8 with i32 accumulation, f32 out.
    ///
    /// # Errors
    /// Shape errors as `qconv1d` when x does not fit.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        Ok(qconv1d(
            x,
            self.input_scale,
            &self.weight,
            self.bias.as_ref(),
            self.params,
        )?)
    }

    /// Bytes of the int8 layer: codes + per-channel scales + f32 bias + the input scale.
    pub fn size_bytes(&self) -> usize {
        self.weight.size_bytes() + 4 * self.bias.as_ref().map_or(0, |b| b.numel()) + 4
    }
}

/// A linear layer with int8 weights (per output feature) and a calibrated int8 input scale.
#[derive(Clone, Debug)]
pub struct QuantizedLinear {
    /// The int8 weight `[out, in]` with one scale per output feature.
    pub weight: QuantizedWeights,
    /// f32 bias `[out]`.
    pub bias: Option<Tensor<f32>>,
    /// The calibrated activation scale `s_x` of the input.
    pub input_scale: f32,
}

impl QuantizedLinear {
    /// Quantises an f32 weight `[out, in]` per output feature.
    ///
    /// # Errors
    /// A rank error unless the weight is a matrix; invalid parameters as [`QuantizedConv1d::new`].
    pub fn new(
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
        input_scale: f32,
    ) -> Result<QuantizedLinear> {
        let (out, _) = weight.shape().dims2("QuantizedLinear", "weight")?;
        check_layer("QuantizedLinear", bias, out, input_scale)?;
        Ok(QuantizedLinear {
            weight: QuantizedWeights::from_tensor(weight)?,
            bias: bias.cloned(),
            input_scale,
        })
    }

    /// `[N, in]` → `[N, out]` in int8 with i32 accumulation, f32 out.
    ///
    /// # Errors
    /// Shape errors as `qlinear` when x does not fit.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        Ok(qlinear(
            x,
            self.input_scale,
            &self.weight,
            self.bias.as_ref(),
        )?)
    }

    /// Bytes of the int8 layer: codes + per-feature scales + f32 bias + the input scale.
    pub fn size_bytes(&self) -> usize {
        self.weight.size_bytes() + 4 * self.bias.as_ref().map_or(0, |b| b.numel()) + 4
    }
}

fn check_layer(
    op: &'static str,
    bias: Option<&Tensor<f32>>,
    out: usize,
    input_scale: f32,
) -> Result<()> {
    if let Some(b) = bias {
        if b.shape() != Shape::d1(out) {
            return Err(invalid(op, "bias", b.shape(), format!("must be [{out}]")));
        }
    }
    if !(input_scale > 0.0 && input_scale.is_finite()) {
        return Err(invalid(
            op,
            "input_scale",
            input_scale,
            "must be positive and finite",
        ));
    }
    Ok(())
}

/// One step of a trained network's eval-mode forward pass, in f32.
#[derive(Clone, Debug)]
pub enum FloatStep {
    /// Dense conv: weight `[C_out, C_in, K]`, optional bias `[C_out]`.
    Conv1d {
        /// Weight.
        weight: Tensor<f32>,
        /// Bias.
        bias: Option<Tensor<f32>>,
        /// Stride, padding, dilation.
        params: Conv1dParams,
    },
    /// Depthwise conv (groups = C): weight `[C, 1, K]`, optional bias `[C]`.
    DepthwiseConv1d {
        /// Weight.
        weight: Tensor<f32>,
        /// Bias.
        bias: Option<Tensor<f32>>,
        /// Stride, padding, dilation.
        params: Conv1dParams,
    },
    /// BatchNorm in eval mode: `γ·(x − μ)/√(σ² + ε) + β` per channel (dimension 1).
    BatchNorm {
        /// γ `[C]`.
        gamma: Tensor<f32>,
        /// β `[C]`.
        beta: Tensor<f32>,
        /// Running mean μ `[C]`.
        mean: Tensor<f32>,
        /// Running variance σ² `[C]`.
        var: Tensor<f32>,
        /// ε.
        eps: f64,
    },
    /// max(x, 0).
    Relu,
    /// Max pooling over time.
    MaxPool1d(Pool1dParams),
    /// Mean over time: `[N, C, L]` → `[N, C]`.
    GlobalAvgPool1d,
    /// `x·Wᵀ + b`: weight `[out, in]`, optional bias `[out]`; input `[N, in]`.
    Linear {
        /// Weight.
        weight: Tensor<f32>,
        /// Bias.
        bias: Option<Tensor<f32>>,
    },
}

/// One step of a quantised network.
#[derive(Clone, Debug)]
pub enum QuantizedStep {
    /// int8 convolution (BN folded in).
    Conv1d(QuantizedConv1d),
    /// int8 linear layer.
    Linear(QuantizedLinear),
    /// A step kept in f32 (ReLU, pooling, depthwise conv, a BN with nothing to fold into).
    Float(FloatStep),
}

/// A network quantised for inference: int8 convs/linears with f32 steps between them.
#[derive(Clone, Debug)]
pub struct QuantizedNet {
    /// The steps, run in order.
    pub steps: Vec<QuantizedStep>,
}

impl QuantizedNet {
    /// Runs the network (inference only; nothing is recorded).
    ///
    /// # Errors
    /// Shape errors of the first step that does not fit.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let mut h = x.clone();
        for step in &self.steps {
            h = match step {
                QuantizedStep::Conv1d(c) => c.forward(&h)?,
                QuantizedStep::Linear(l) => l.forward(&h)?,
                QuantizedStep::Float(f) => float_step(f, &h)?,
            };
        }
        Ok(h)
    }

    /// Bytes needed to store the quantised model (see the module docs).
    pub fn size_bytes(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                QuantizedStep::Conv1d(c) => c.size_bytes(),
                QuantizedStep::Linear(l) => l.size_bytes(),
                QuantizedStep::Float(f) => float_size_bytes(std::slice::from_ref(f)),
            })
            .sum()
    }

    /// Number of int8 layers (convs and linears).
    pub fn int8_layers(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| !matches!(s, QuantizedStep::Float(_)))
            .count()
    }
}

/// Bytes of the f32 tensors a step list stores (4 per parameter or running statistic).
pub fn float_size_bytes(steps: &[FloatStep]) -> usize {
    let n = |t: &Option<Tensor<f32>>| t.as_ref().map_or(0, |t| t.numel());
    4 * steps
        .iter()
        .map(|s| match s {
            FloatStep::Conv1d { weight, bias, .. }
            | FloatStep::DepthwiseConv1d { weight, bias, .. }
            | FloatStep::Linear { weight, bias } => weight.numel() + n(bias),
            FloatStep::BatchNorm { gamma, .. } => 4 * gamma.numel(),
            _ => 0,
        })
        .sum::<usize>()
}

/// `a[o] = γ[o]/√(σ²[o] + ε)` and the folded shift `β[o] − a[o]·μ[o]`, in f64.
fn bn_affine(
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    mean: &Tensor<f32>,
    var: &Tensor<f32>,
    eps: f64,
) -> Result<Vec<(f64, f64)>> {
    let c = gamma.numel();
    for (name, t) in [("beta", beta), ("running_mean", mean), ("running_var", var)] {
        if t.shape() != Shape::d1(c) || gamma.shape() != Shape::d1(c) {
            return Err(invalid(
                "fold_batch_norm",
                name,
                t.shape(),
                format!("must be [{c}]"),
            ));
        }
    }
    Ok((0..c)
        .map(|o| {
            let a = f64::from(gamma.data()[o]) / (f64::from(var.data()[o]) + eps).sqrt();
            (a, f64::from(beta.data()[o]) - a * f64::from(mean.data()[o]))
        })
        .collect())
}

/// Folds an eval-mode BatchNorm into the layer before it (module docs, step 2): returns
/// `(w', b')` with `w'[o,…] = a[o]·w[o,…]` and `b'[o] = a[o]·(b[o] − μ[o]) + β[o]`.
///
/// # Errors
/// An invalid-parameter error if the BN tensors are not `[C_out]` (C_out = `weight.dims()[0]`)
/// or the bias is not `[C_out]`.
pub fn fold_batch_norm(
    weight: &Tensor<f32>,
    bias: Option<&Tensor<f32>>,
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    mean: &Tensor<f32>,
    var: &Tensor<f32>,
    eps: f64,
) -> Result<(Tensor<f32>, Tensor<f32>)> {
    let c_out = weight.dims().first().copied().unwrap_or(0);
    let affine = bn_affine(gamma, beta, mean, var, eps)?;
    if affine.len() != c_out || bias.is_some_and(|b| b.shape() != Shape::d1(c_out)) {
        return Err(invalid(
            "fold_batch_norm",
            "channels",
            gamma.shape(),
            format!("BatchNorm and bias must have one value per output channel ({c_out})"),
        ));
    }
    let per_row = weight.numel() / c_out.max(1);
    let mut w = weight.data().to_vec();
    let mut b = vec![0.0f32; c_out];
    for (o, &(a, shift)) in affine.iter().enumerate() {
        for v in &mut w[o * per_row..(o + 1) * per_row] {
            *v = (a * f64::from(*v)) as f32;
        }
        // a·(b − μ) + β = a·b + (β − a·μ)
        let b0 = bias.map_or(0.0, |b| f64::from(b.data()[o]));
        b[o] = (a * b0 + shift) as f32;
    }
    Ok((
        Tensor::from_vec(weight.shape(), w)?,
        Tensor::from_vec(Shape::d1(c_out), b)?,
    ))
}

/// Folds every BatchNorm that directly follows a conv, depthwise conv or linear layer into it;
/// other BNs are kept.
///
/// # Errors
/// As [`fold_batch_norm`].
pub fn fold_steps(steps: &[FloatStep]) -> Result<Vec<FloatStep>> {
    let mut out: Vec<FloatStep> = Vec::with_capacity(steps.len());
    for step in steps {
        if let FloatStep::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        } = step
        {
            if let Some(
                FloatStep::Conv1d { weight, bias, .. }
                | FloatStep::DepthwiseConv1d { weight, bias, .. }
                | FloatStep::Linear { weight, bias },
            ) = out.last_mut()
            {
                let (w, b) = fold_batch_norm(weight, bias.as_ref(), gamma, beta, mean, var, *eps)?;
                *weight = w;
                *bias = Some(b);
                continue;
            }
        }
        out.push(step.clone());
    }
    Ok(out)
}

/// Runs one f32 step.
///
/// # Errors
/// The engine op's shape errors.
pub fn float_step(step: &FloatStep, x: &Tensor<f32>) -> Result<Tensor<f32>> {
    Ok(match step {
        FloatStep::Conv1d {
            weight,
            bias,
            params,
        } => conv1d(x, weight, bias.as_ref(), *params)?,
        FloatStep::DepthwiseConv1d {
            weight,
            bias,
            params,
        } => depthwise_conv1d(x, weight, bias.as_ref(), *params)?,
        FloatStep::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        } => {
            let affine = bn_affine(gamma, beta, mean, var, *eps)?;
            let dims = x.dims();
            if dims.len() < 2 || dims[1] != affine.len() {
                return Err(invalid(
                    "BatchNorm (eval)",
                    "input",
                    x.shape(),
                    format!("needs {} channels in dimension 1", affine.len()),
                ));
            }
            let inner: usize = dims[2..].iter().product();
            let mut y = x.data().to_vec();
            for (i, row) in y.chunks_exact_mut(inner).enumerate() {
                let (a, shift) = affine[i % affine.len()];
                row.iter_mut()
                    .for_each(|v| *v = (a * f64::from(*v) + shift) as f32);
            }
            Tensor::from_vec(x.shape(), y)?
        }
        FloatStep::Relu => {
            let y = x.data().iter().map(|&v| v.max(0.0)).collect();
            Tensor::from_vec(x.shape(), y)?
        }
        FloatStep::MaxPool1d(p) => max_pool1d(x, p)?.y,
        FloatStep::GlobalAvgPool1d => global_avg_pool1d(x)?,
        FloatStep::Linear { weight, bias } => {
            let mut y = matmul(
                x,
                weight,
                MatmulParams {
                    trans_a: false,
                    trans_b: true,
                },
            )?;
            if let Some(b) = bias {
                let out = b.numel();
                for row in y.data_mut().chunks_exact_mut(out) {
                    row.iter_mut().zip(b.data()).for_each(|(v, &bb)| *v += bb);
                }
            }
            y
        }
    })
}

/// Runs a list of f32 steps (the reference the quantised network is compared with).
///
/// # Errors
/// Shape errors of the first step that does not fit.
pub fn float_forward(steps: &[FloatStep], x: &Tensor<f32>) -> Result<Tensor<f32>> {
    let mut h = x.clone();
    for s in steps {
        h = float_step(s, &h)?;
    }
    Ok(h)
}

/// Folds BN, calibrates the input scale of every conv/linear on `calibration` batches with
/// `how`, and quantises (module docs, steps 2–4).
///
/// # Errors
/// An invalid-parameter error if `calibration` is empty; shape errors if a batch does not fit
/// the network; folding errors as [`fold_batch_norm`].
pub fn quantize_steps(
    steps: &[FloatStep],
    calibration: &[Tensor<f32>],
    how: Calibration,
) -> Result<QuantizedNet> {
    if calibration.is_empty() {
        return Err(invalid(
            "quantize_steps",
            "calibration batches",
            0,
            "need at least one batch to calibrate the activation scales",
        ));
    }
    let folded = fold_steps(steps)?;
    let mut observers = vec![AbsObserver::new(); folded.len()];
    for batch in calibration {
        let mut h = batch.clone();
        for (step, obs) in folded.iter().zip(&mut observers) {
            if matches!(step, FloatStep::Conv1d { .. } | FloatStep::Linear { .. }) {
                obs.observe(h.data());
            }
            h = float_step(step, &h)?;
        }
    }
    let mut out = Vec::with_capacity(folded.len());
    for (step, obs) in folded.into_iter().zip(&observers) {
        out.push(match step {
            FloatStep::Conv1d {
                weight,
                bias,
                params,
            } => QuantizedStep::Conv1d(QuantizedConv1d::new(
                &weight,
                bias.as_ref(),
                params,
                obs.scale(how)?,
            )?),
            FloatStep::Linear { weight, bias } => QuantizedStep::Linear(QuantizedLinear::new(
                &weight,
                bias.as_ref(),
                obs.scale(how)?,
            )?),
            other => QuantizedStep::Float(other),
        });
    }
    Ok(QuantizedNet { steps: out })
}

#[cfg(test)]
#[path = "quantize_tests.rs"]
mod tests;
