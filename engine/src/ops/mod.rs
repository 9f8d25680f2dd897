//! The ops, one file each, forward and backward kernels side by side with their naive twins.
//!
//! | op | engine kernel file | autograd file |
//! |---|---|---|
//! | add, sub, mul, div, scale, axpy, channel bias | `ops/elementwise/` | `autograd/src/ops/elementwise.rs` |
//! | relu, leaky_relu, sigmoid, tanh, gelu | `ops/activation/` | `autograd/src/ops/activation.rs` |
//! | sum, mean, max over an axis or all | `ops/reduce/` | `autograd/src/ops/reduce.rs` |
//! | softmax, log_softmax | `ops/softmax/` | `autograd/src/ops/softmax.rs` |
//! | matmul (transpose flags, batched) | `ops/matmul/` | `autograd/src/ops/matmul.rs` |
//! | dropout | `ops/dropout/` | `autograd/src/ops/dropout.rs` |
//! | conv1d | `ops/conv1d/` | `autograd/src/ops/conv1d.rs` |
//! | depthwise conv1d (groups = C) | `ops/depthwise_conv1d/` | `autograd/src/ops/depthwise_conv1d.rs` |
//! | int8 GEMM, quantised conv1d/linear (inference) | `ops/quant/` | — (inference only) |
//! | conv_transpose1d | `ops/conv_transpose1d.rs` | `autograd/src/ops/conv_transpose1d.rs` |
//! | conv2d | `ops/conv2d/` | `autograd/src/ops/conv2d.rs` |
//! | max/avg pool 1D, global avg pool | `ops/pool1d/` | `autograd/src/ops/pool1d.rs` |
//! | max/avg pool 2D | `ops/pool2d/` | `autograd/src/ops/pool2d.rs` |
//! | nearest/linear upsampling | `ops/upsample1d/` | `autograd/src/ops/upsample1d.rs` |
//! | batch norm (1D/2D, train/eval), layer norm | `ops/norm/` | `autograd/src/ops/norm.rs` |
//! | LSTM cell (one step) and LSTM sequence (NTF) | `ops/lstm_cell/` | `autograd/src/ops/lstm.rs` (whole sequence, one direction) |
//! | additive temporal attention pooling (NTF → NF) | `ops/attention/` | `autograd/src/ops/attention.rs` |
//!
//! Each engine entry holds the `_naive` twin (the specification), the fast kernels, the
//! accumulating backward kernels, the Tensor-level functions that validate their inputs, and the
//! tests of fast against naive. The autograd file of the same name records the op on the tape.

pub mod activation;
pub mod attention;
pub mod conv1d;
pub mod conv2d;
pub mod conv_transpose1d;
pub mod depthwise_conv1d;
pub mod dropout;
pub mod elementwise;
pub mod lstm_cell;
pub mod matmul;
pub mod norm;
pub mod pool1d;
pub mod pool2d;
pub mod quant;
pub mod reduce;
pub mod softmax;
pub mod upsample1d;
