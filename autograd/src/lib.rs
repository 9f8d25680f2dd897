//! # ecgrad-autograd: reverse-mode automatic differentiation over the engine's ops
//!
//! Work in progress: the tape, the backward rules, losses and optimizers come with the autograd
//! issue. The crate exists now so the workspace builds end to end.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_engine as engine;
