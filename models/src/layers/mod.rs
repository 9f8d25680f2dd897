//! Layers: each a struct holding its [`Param`](ecgrad_autograd::Param)s (with dotted names) and
//! hyper-parameters, implementing [`Module`](crate::Module) by calling autograd's recording ops.
//! The catalogue with what exists and what comes next is in the crate docs.

pub mod activation;
pub mod depthwise_separable;
pub mod linear;
pub mod lstm;
pub mod sequential;
pub mod shape;

pub use activation::{Relu, Tanh};
pub use depthwise_separable::DepthwiseSeparableConv1d;
pub use linear::Linear;
pub use lstm::{Lstm, LstmOutput, LstmWeights};
pub use sequential::Sequential;
pub use shape::{Flatten, NclToNtf, NtfToNcl};
