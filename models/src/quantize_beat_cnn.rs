//! The two beat classifiers as [`FloatStep`] lists, and their int8 versions.
//!
//! Both are described in eval mode: BatchNorm by its running statistics, dropout as the identity
//! (omitted). The max pools run before the ReLUs, as in the networks themselves.

use ecgrad_autograd::engine::Tensor;
use ecgrad_autograd::engine::ops::pool1d::Pool1dParams;
use ecgrad_autograd::engine::ops::quant::Calibration;

use super::{FloatStep, QuantizedNet, float_size_bytes, quantize_steps};
use crate::error::Result;
use crate::layers::{BatchNorm1d, Conv1d, DepthwiseSeparableConv1d, Linear};
use crate::nets::{BeatCnn, SeparableBeatCnn};

fn conv(c: &Conv1d) -> FloatStep {
    FloatStep::Conv1d {
        weight: c.weight.value.clone(),
        bias: c.bias.as_ref().map(|b| b.value.clone()),
        params: c.params,
    }
}

fn separable(c: &DepthwiseSeparableConv1d) -> [FloatStep; 2] {
    [
        FloatStep::DepthwiseConv1d {
            weight: c.depthwise_weight.value.clone(),
            bias: c.depthwise_bias.as_ref().map(|b| b.value.clone()),
            params: c.params,
        },
        FloatStep::Conv1d {
            weight: c.pointwise_weight.value.clone(),
            bias: c.pointwise_bias.as_ref().map(|b| b.value.clone()),
            params: Default::default(),
        },
    ]
}

fn bn(b: &BatchNorm1d) -> FloatStep {
    let (mean, var, _) = b.running_stats();
    FloatStep::BatchNorm {
        gamma: b.weight().value.clone(),
        beta: b.bias().value.clone(),
        mean,
        var,
        eps: b.params().eps,
    }
}

fn linear(l: &Linear) -> FloatStep {
    FloatStep::Linear {
        weight: l.weight.value.clone(),
        bias: l.bias.as_ref().map(|b| b.value.clone()),
    }
}

/// The head shared by both nets: ReLU after bn3, global average pool, fc1, ReLU, fc2.
fn head(fc1: &Linear, fc2: &Linear) -> [FloatStep; 5] {
    [
        FloatStep::Relu,
        FloatStep::GlobalAvgPool1d,
        linear(fc1),
        FloatStep::Relu,
        linear(fc2),
    ]
}

/// `BeatCnn` in eval mode as steps: conv1 bn1 pool ReLU conv2 bn2 pool ReLU conv3 bn3 ReLU
/// GAP fc1 ReLU fc2.
pub fn beat_cnn_steps(m: &BeatCnn) -> Vec<FloatStep> {
    let f = &m.features;
    let pool = FloatStep::MaxPool1d(Pool1dParams::new(2));
    let mut steps = vec![
        conv(&f.conv1),
        bn(&f.bn1),
        pool.clone(),
        FloatStep::Relu,
        conv(&f.conv2),
        bn(&f.bn2),
        pool,
        FloatStep::Relu,
        conv(&f.conv3),
        bn(&f.bn3),
    ];
    steps.extend(head(&m.fc1, &m.fc2));
    steps
}

/// `SeparableBeatCnn` in eval mode as steps (conv2/conv3 as depthwise + pointwise; each BN
/// folds into the pointwise conv before it).
pub fn separable_beat_cnn_steps(m: &SeparableBeatCnn) -> Vec<FloatStep> {
    let pool = FloatStep::MaxPool1d(m.pool.params);
    let mut steps = vec![conv(&m.conv1), bn(&m.bn1), pool.clone(), FloatStep::Relu];
    steps.extend(separable(&m.conv2));
    steps.extend([bn(&m.bn2), pool, FloatStep::Relu]);
    steps.extend(separable(&m.conv3));
    steps.push(bn(&m.bn3));
    steps.extend(head(&m.fc1, &m.fc2));
    steps
}

/// A beat classifier quantised for inference: `[N, 1, L]` beats → `[N, classes]` logits.
#[derive(Clone, Debug)]
pub struct QuantizedBeatCnn {
    /// The int8 network (conv1, conv2, conv3 or their pointwise parts, fc1, fc2 in int8).
    pub net: QuantizedNet,
    /// Bytes of the f32 model it came from (parameters and BN statistics).
    pub f32_size_bytes: usize,
}

impl QuantizedBeatCnn {
    /// Logits `[N, classes]` for beats `[N, 1, L]`.
    ///
    /// # Errors
    /// Shape errors if the input is not `[N, 1, L]` with L ≥ 4.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        self.net.forward(x)
    }

    /// Bytes of the int8 model.
    pub fn size_bytes(&self) -> usize {
        self.net.size_bytes()
    }
}

fn quantize(
    steps: Vec<FloatStep>,
    calibration: &[Tensor<f32>],
    how: Calibration,
) -> Result<QuantizedBeatCnn> {
    Ok(QuantizedBeatCnn {
        net: quantize_steps(&steps, calibration, how)?,
        f32_size_bytes: float_size_bytes(&steps),
    })
}

/// Quantises a trained `BeatCnn` (BN folded, input scales from `calibration` batches `[N, 1,
/// L]` with [`Calibration::Max`]).
///
/// # Errors
/// As [`quantize_steps`].
pub fn quantize_beat_cnn(m: &BeatCnn, calibration: &[Tensor<f32>]) -> Result<QuantizedBeatCnn> {
    quantize_beat_cnn_with(m, calibration, Calibration::Max)
}

/// [`quantize_beat_cnn`] with a chosen calibration rule.
///
/// # Errors
/// As [`quantize_steps`].
pub fn quantize_beat_cnn_with(
    m: &BeatCnn,
    calibration: &[Tensor<f32>],
    how: Calibration,
) -> Result<QuantizedBeatCnn> {
    quantize(beat_cnn_steps(m), calibration, how)
}

/// Quantises a trained `SeparableBeatCnn` (depthwise convs stay in f32, see the module docs
/// of [`super`]) with [`Calibration::Max`].
///
/// # Errors
/// As [`quantize_steps`].
pub fn quantize_separable_beat_cnn(
    m: &SeparableBeatCnn,
    calibration: &[Tensor<f32>],
) -> Result<QuantizedBeatCnn> {
    quantize_separable_beat_cnn_with(m, calibration, Calibration::Max)
}

/// [`quantize_separable_beat_cnn`] with a chosen calibration rule.
///
/// # Errors
/// As [`quantize_steps`].
pub fn quantize_separable_beat_cnn_with(
    m: &SeparableBeatCnn,
    calibration: &[Tensor<f32>],
    how: Calibration,
) -> Result<QuantizedBeatCnn> {
    quantize(separable_beat_cnn_steps(m), calibration, how)
}
