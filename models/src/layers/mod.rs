//! Layers: each a struct holding its [`Param`](ecgrad_autograd::Param)s (with dotted names) and
//! hyper-parameters, implementing [`Module`](crate::Module) by calling autograd's recording ops.
//! The catalogue with what exists and what comes next is in the crate docs.

pub mod activation;
pub mod attention;
pub mod attention_gate;
pub mod batchnorm;
pub mod channel_attention;
pub mod conv1d;
pub mod conv2d;
pub mod coordconv;
pub mod depthwise_separable;
pub mod dropout;
pub mod linear;
pub mod lstm;
pub mod pool;
pub mod residual;
pub mod sequential;
pub mod shape;
pub mod upsample;

pub use activation::{Gelu, LeakyRelu, Relu, Sigmoid, Tanh};
pub use attention::TemporalAttention;
pub use attention_gate::AttentionGate;
pub use batchnorm::{BatchNorm1d, BatchNorm2d};
pub use channel_attention::Eca;
pub use conv1d::Conv1d;
pub use conv2d::Conv2d;
pub use coordconv::{ConvPadding, CoordConv1d};
pub use depthwise_separable::DepthwiseSeparableConv1d;
pub use dropout::Dropout;
pub use linear::Linear;
pub use lstm::{Lstm, LstmOutput, LstmWeights};
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d};
pub use residual::{Projection1d, ResidualBlock1d};
pub use sequential::Sequential;
pub use shape::{Flatten, NclToNtf, NtfToNcl};
pub use upsample::{ConvTranspose1d, TransposePadding, Upsample1d};
