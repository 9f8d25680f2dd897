//! # ecgrad-engine: tensors and every numeric op, written from scratch
//!
//! This crate is the bottom layer of ecgrad. It holds the [`Tensor`] type and the kernels that
//! compute on it: elementwise ops, reductions, GEMM, convolution, pooling, normalisation. Every
//! fast kernel has a plain *naive twin* beside it that serves as its specification and its test
//! oracle. The autograd crate wires the forward and backward kernels defined here into a tape.
//!
//! ## Reading order
//! 1. [`shape`] → [`tensor`]: what a tensor is (contiguous, row-major, NCL for signals).
//! 2. [`ops::elementwise`]: the simplest op, forward and backward side by side.
//! 3. [`gemm::naive`]: matrix multiply as three loops; then [`gemm`] for the fast paths.
//! 4. `ops/conv1d/naive.rs` → `ops/conv1d/mod.rs`: a 1D convolution, first as its formula, then
//!    as im2col + GEMM.
//! 5. [`simd`]: how the same arithmetic runs 8 lanes at a time, chosen at run time.
//!
//! ## Dimension glossary (used in every kernel)
//! - `n` batch size; `c_in`/`c_out` input/output channels (ECG leads, then feature maps);
//! - `l_in`/`l_out` signal length in samples before/after an op; `k` kernel taps;
//! - `stride`, `padding`, `dilation` spelled out; `t` a time step, `h` hidden size,
//!   `f` features.
//!
//! Convolution tensors are **NCL** (batch, channels, length); sequence tensors for LSTMs are
//! **NTF** (batch, time, features). The transpose between them is an explicit op.
//!
//! ## Conventions
//! - Tensor-level functions validate shapes and parameters and return [`Result`]; the kernels
//!   below them take slices and only assert what the tensor layer already checked.
//! - Backward kernels **accumulate** into their gradient outputs (`dx += …`), as in llm.c, so
//!   branches and residual connections need no extra adds.
//! - Results never depend on the number of threads (see [`parallel`]).
//! - `unsafe` exists only in [`simd`] and [`gemm::mm`].

#![warn(missing_docs)]

pub mod error;
pub mod gemm;
pub mod ops;
pub mod parallel;
pub mod pool;
pub mod real;
pub mod rng;
pub mod shape;
pub mod simd;
pub mod tensor;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, Result};
pub use real::Real;
pub use rng::Rng;
pub use shape::Shape;
pub use simd::Isa;
pub use tensor::Tensor;

/// Checks the `ECGRAD_ISA` setting and returns the instruction set the kernels will use.
/// Binaries call this first so that a bad setting is a clean error before any work starts.
///
/// # Errors
/// [`Error::Isa`] if `ECGRAD_ISA` names an unknown ISA or one this CPU cannot run.
pub fn init() -> Result<Isa> {
    simd::detected()
}
