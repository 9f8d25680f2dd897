//! Recorded ops: one file per op family, mirroring `engine/src/ops/<op>.rs`. Each file holds
//! the recording function(s), the `FooBackward` struct(s) with their rules, and gradchecks.
//!
//! The engine's op kernels are being written in parallel; until they land, the ops here carry
//! their own plain loops (they are all trivial). Each file says which kernels will move to the
//! engine. Ops with no engine counterpart (reshape, the NCL↔NTF transpose, concat/split) are
//! pure data movement and may stay here.
//!
//! | op | file | gradcheck tests |
//! |---|---|---|
//! | add, sub, mul, scale, bias_add | `elementwise.rs` | `elementwise::tests::*_gradcheck_*` |
//! | matmul (transpose flags) | `matmul.rs` | `matmul::tests::matmul_gradcheck_a_and_b_all_flags` |
//! | relu, tanh | `activation.rs` | `activation::tests::*_gradcheck_x` |
//! | sum, mean | `reduce.rs` | `reduce::tests::*_gradcheck_x` |
//! | reshape | `reshape.rs` | `reshape::tests::reshape_gradcheck_x` |
//! | NCL ↔ NTF transpose | `transpose.rs` | `transpose::tests::*_gradcheck_x` |
//! | concat, split (narrow) | `concat.rs` | `concat::tests::*_gradcheck_*` |

pub mod activation;
pub mod concat;
pub mod elementwise;
pub mod matmul;
pub mod reduce;
pub mod reshape;
pub mod transpose;

pub use activation::{relu, tanh};
pub use concat::{concat, narrow, split};
pub use elementwise::{add, bias_add, mul, scale, sub};
pub use matmul::matmul;
pub use reduce::{mean, sum};
pub use reshape::reshape;
pub use transpose::{ncl_to_ntf, ntf_to_ncl};

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

/// Elementwise map of two tensors of equal shape.
pub(crate) fn zip<T: Real>(a: &Tensor<T>, b: &Tensor<T>, f: impl Fn(T, T) -> T) -> Tensor<T> {
    tensor(
        a.shape(),
        a.data()
            .iter()
            .zip(b.data())
            .map(|(&x, &y)| f(x, y))
            .collect(),
    )
}
