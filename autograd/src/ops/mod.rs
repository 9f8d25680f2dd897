//! Recorded ops: one file per op family, mirroring `engine/src/ops/<op>`. Each file holds
//! the recording function(s), the `FooBackward` struct(s) with their rules, and gradchecks.
//!
//! Forward and backward arithmetic is the engine's: a recording function calls the engine's
//! tensor-layer op (which validates and runs the fast kernel), and its rule calls the matching
//! `*_grad` function. What stays here is the bookkeeping: what to save, which gradients to ask
//! for. Ops with no engine counterpart (reshape, the NCL↔NTF transpose, concat/split) are pure
//! data movement and live only here.
//!
//! | op | file | gradcheck tests |
//! |---|---|---|
//! | add, sub, mul, div, scale, axpy, bias_add | `elementwise.rs` | `elementwise::tests::*_gradcheck_*` |
//! | matmul (transpose flags, rank 2, batched, shared B) | `matmul.rs` | `matmul::tests::*matmul_gradcheck_*` |
//! | relu, leaky_relu, sigmoid, tanh, gelu | `activation.rs` | `activation::tests::*_gradcheck_x*` |
//! | sum, mean, max (all or one axis) | `reduce.rs` | `reduce::tests::*_gradcheck_x_*` |
//! | softmax, log_softmax | `softmax.rs` | `softmax::tests::*gradcheck*`, `fused_cross_entropy_matches_log_softmax_and_gather` |
//! | dropout (train / eval) | `dropout.rs` | `dropout::tests::dropout_gradcheck_x_every_p` |
//! | conv1d (x, w, b; `needs`) | `conv1d.rs` | `conv1d::tests::conv1d_gradcheck_input_weight_bias_awkward` |
//! | depthwise conv1d (groups = C) | `depthwise_conv1d.rs` | `depthwise_conv1d::tests::depthwise_conv1d_gradcheck_input_weight_bias_awkward` |
//! | conv_transpose1d | `conv_transpose1d.rs` | `conv_transpose1d::tests::conv_transpose1d_gradcheck_input_weight_bias_awkward` |
//! | conv2d | `conv2d.rs` | `conv2d::tests::conv2d_gradcheck_input_weight_bias_awkward` |
//! | max/avg pool 1D, global avg pool | `pool1d.rs` | `pool1d::tests::*_gradcheck_x*` |
//! | max/avg pool 2D | `pool2d.rs` | `pool2d::tests::*_gradcheck_x_awkward*` |
//! | nearest/linear upsampling | `upsample1d.rs` | `upsample1d::tests::upsample1d_gradcheck_x_both_modes` |
//! | batch norm (train/eval), layer norm | `norm.rs` | `norm::tests::*_gradcheck_x_gamma_beta` |
//! | reshape | `reshape.rs` | `reshape::tests::reshape_gradcheck_x` |
//! | NCL ↔ NTF transpose | `transpose.rs` | `transpose::tests::*_gradcheck_x` |
//! | concat, split (narrow) | `concat.rs` | `concat::tests::*_gradcheck_*` |
//! | LSTM layer, one direction (fused sequence kernels; output, h_n, c_n) | `lstm.rs` | `lstm::tests::lstm_gradcheck_*` |
//! | additive temporal attention pooling (context + weights α) | `attention.rs` | `attention::tests::attention_pool_gradcheck_h_w_b_v` |

pub mod activation;
pub mod attention;
pub mod concat;
pub mod conv1d;
pub mod conv2d;
pub mod conv_transpose1d;
pub mod depthwise_conv1d;
pub mod dropout;
pub mod elementwise;
pub mod lstm;
pub mod matmul;
pub mod norm;
pub mod pool1d;
pub mod pool2d;
pub mod reduce;
pub mod reshape;
pub mod softmax;
pub mod transpose;
pub mod upsample1d;

pub use activation::{activation, gelu, leaky_relu, relu, sigmoid, tanh};
pub use attention::{AttentionPoolVars, attention_pool};
pub use concat::{concat, narrow, split};
pub use conv_transpose1d::conv_transpose1d;
pub use conv1d::conv1d;
pub use conv2d::conv2d;
pub use depthwise_conv1d::depthwise_conv1d;
pub use dropout::dropout;
pub use elementwise::{add, axpy, bias_add, div, mul, scale, sub};
pub use lstm::{LstmParams, LstmVars, lstm};
pub use matmul::matmul;
pub use norm::{batch_norm, layer_norm};
pub use pool1d::{avg_pool1d, global_avg_pool1d, max_pool1d};
pub use pool2d::{avg_pool2d, max_pool2d};
pub use reduce::{max_axis, mean, mean_axis, reduce, sum, sum_axis};
pub use reshape::reshape;
pub use softmax::{log_softmax, softmax};
pub use transpose::{ncl_to_ntf, ntf_to_ncl};
pub use upsample1d::upsample1d;

// The parameter types the recording functions take, so callers need not reach into the engine.
pub use ecgrad_engine::ops::activation::Activation;
pub use ecgrad_engine::ops::conv_transpose1d::ConvTranspose1dParams;
pub use ecgrad_engine::ops::conv1d::Conv1dParams;
pub use ecgrad_engine::ops::conv2d::Conv2dParams;
pub use ecgrad_engine::ops::norm::{BatchNormParams, RunningStats};
pub use ecgrad_engine::ops::pool1d::Pool1dParams;
pub use ecgrad_engine::ops::pool2d::Pool2dParams;
pub use ecgrad_engine::ops::reduce::{ReduceOver, Reduction};
pub use ecgrad_engine::ops::upsample1d::{Upsample1dParams, UpsampleMode};

use ecgrad_engine::{Real, Shape, Tensor};

use crate::error::{Result, mismatch};

/// Errors unless `a` and `b` have the same shape.
pub(crate) fn same_shape(op: &'static str, a: Shape, b: Shape) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(mismatch(op, "shapes must be equal", "lhs", a, "rhs", b))
    }
}

/// A tensor from a shape and data whose length is right by construction.
pub(crate) fn tensor<T: Real>(shape: Shape, data: Vec<T>) -> Tensor<T> {
    Tensor::from_vec(shape, data).expect("invariant: data length equals shape.numel()")
}

/// Elementwise map of one tensor.
pub(crate) fn map<T: Real>(x: &Tensor<T>, f: impl Fn(T) -> T) -> Tensor<T> {
    tensor(x.shape(), x.data().iter().map(|&v| f(v)).collect())
}

#[cfg(test)]
mod f32_tests;
