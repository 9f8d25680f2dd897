//! The ops, one file each, forward and backward kernels side by side with their naive twins.
//!
//! | op | engine kernel file | autograd file |
//! |---|---|---|
//! | add, sub, mul, scale, channel bias | `ops/elementwise.rs` | `autograd/src/ops/elementwise.rs` |
//! | relu, leaky_relu, sigmoid, tanh | `ops/activation.rs` | `autograd/src/ops/activation.rs` |
//! | sum, mean, max over an axis | `ops/reduce.rs` | `autograd/src/ops/reduce.rs` |
//! | softmax, log_softmax | `ops/softmax.rs` | `autograd/src/ops/softmax.rs` |
//! | matmul (transpose flags) | `ops/matmul.rs` | `autograd/src/ops/matmul.rs` |
//! | conv1d | `ops/conv1d/` | `autograd/src/ops/conv1d.rs` |
//! | conv_transpose1d | `ops/conv_transpose1d.rs` | `autograd/src/ops/conv_transpose1d.rs` |
//! | conv2d | `ops/conv2d.rs` | `autograd/src/ops/conv2d.rs` |
//! | max/avg pool 1D, global avg pool | `ops/pool1d.rs` | `autograd/src/ops/pool1d.rs` |
//! | max/avg pool 2D | `ops/pool2d.rs` | `autograd/src/ops/pool2d.rs` |
//! | nearest/linear upsampling | `ops/upsample1d.rs` | `autograd/src/ops/upsample1d.rs` |
//! | batch norm | `ops/norm.rs` | `autograd/src/ops/norm.rs` |
//! | dropout | `ops/dropout.rs` | `autograd/src/ops/dropout.rs` |
//! | LSTM cell (one step) and LSTM sequence (NTF) | `ops/lstm_cell/` | `autograd/src/ops/lstm_cell.rs` |
//! | additive temporal attention pooling (NTF → NF) | `ops/attention/` | `autograd/src/ops/attention.rs` |

pub mod activation;
pub mod attention;
pub mod conv1d;
pub mod conv2d;
pub mod conv_transpose1d;
pub mod dropout;
pub mod elementwise;
pub mod lstm_cell;
pub mod matmul;
pub mod norm;
pub mod pool1d;
pub mod pool2d;
pub mod reduce;
pub mod softmax;
pub mod upsample1d;
