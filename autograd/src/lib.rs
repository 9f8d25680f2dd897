//! # ecgrad-autograd: reverse-mode automatic differentiation over the engine's ops
//!
//! Training a network means computing ∂L/∂θ for every parameter θ of a scalar loss L. This crate
//! does it the way backpropagation is usually explained: run the forward pass while **recording**
//! each op on a tape, then walk the tape **backwards**, applying the chain rule once per op.
//!
//! ## A worked example
//! ```
//! use ecgrad_autograd::{Tape, ops, engine::{Shape, Tensor}};
//! let mut tape = Tape::<f64>::new();
//! let x = tape.leaf(Tensor::from_vec(Shape::d1(2), vec![1.0, 2.0])?, true); // needs ∂L/∂x
//! let w = tape.input(Tensor::from_vec(Shape::d1(2), vec![3.0, -1.0])?);     // a constant
//! let y = ops::mul(&mut tape, &x, &w)?;          // y = x ⊙ w = [3, −2]
//! let h = ops::tanh(&mut tape, &y)?;             // h = tanh(y)
//! let loss = ops::sum(&mut tape, &h)?;           // L = Σ h
//! print!("{}", tape.dump());                     // %0 = leaf() [2] grad, … %4 = sum(%3) [] grad
//! let grads = tape.backward(&loss)?;             // consumes the tape
//! let dx = grads.get(x.id()).expect("x requires grad");
//! // ∂L/∂xᵢ = (1 − tanh²(xᵢwᵢ))·wᵢ
//! assert!((dx.data()[0] - (1.0 - 3f64.tanh().powi(2)) * 3.0).abs() < 1e-15);
//! # Ok::<(), ecgrad_autograd::Error>(())
//! ```
//!
//! ## How the tape works
//! - **Recording.** Each op computes its output with the engine's tensor-layer function (which
//!   validates the shapes and runs the fast kernel: SIMD for f32, scalar for f64), then calls
//!   [`Tape::record`] with the ids of its inputs and a [`Backward`] rule that owns what the
//!   backward pass needs (inputs or the output, as `Arc` clones: no copies). The rule is built
//!   only if some input depends on a leaf that requires a gradient, so constant sub-graphs
//!   (data preprocessing, frozen layers) save nothing.
//! - **Order.** An op can only consume variables that already exist, so the tape's creation
//!   order is a topological order. `backward` walks it from the end; no graph search is needed.
//! - **Chain rule.** For node i it hands the rule `dy = ∂L/∂yᵢ` and a `needs` mask; the rule
//!   returns `∂L/∂xₖ = (∂yᵢ/∂xₖ)ᵀ dy` for each input that needs one, which is added into that
//!   input's gradient slot (an input used twice collects both contributions).
//! - **Memory.** A rule and its saved tensors are dropped the moment the rule has run, and each
//!   gradient slot once passed on, so memory falls as backward proceeds. `backward` takes the
//!   tape by value, so no graph survives a training step. [`Tape::no_grad`] records nothing.
//! - **Safety net.** A NaN/∞ loss or gradient stops backward with [`Error::NonFinite`] naming
//!   the op and node, instead of silently poisoning every parameter.
//! - **Proof.** Every rule is checked against central finite differences in f64 by
//!   [`gradcheck`] with a random projection of the output, never a plain sum.
//!
//! ## Where things are
//! - [`tape`]: [`Tape`], [`Var`], [`NodeId`]; [`gradients`]: [`Gradients`]; [`backward`]: the [`Backward`] trait.
//! - [`param`]: [`Param`] (dotted PyTorch names), [`Buffer`], [`ParamStore`], [`Parameters`].
//! - [`ops`]: recorded ops, one file per engine op file (the rule's math beside the recording
//!   function; the arithmetic is the engine's `*_grad`/`*_backward`); [`loss`]: fused losses.
//! - [`optim`]: SGD, Adam/AdamW, Adagrad, Adadelta, RMSprop, clipping, schedules.
//! - [`gradcheck`]: the finite-difference checker used by every op's tests.
//!
//! A training step reads: `tape.param(p)` for each parameter → forward ops → a loss →
//! `tape.backward(&loss)?` → `store.zero_grad(); grads.accumulate_into(&mut store)?` →
//! `optimizer.step(&mut store)?`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_engine as engine;

pub mod backward;
pub mod error;
pub mod gradcheck;
pub mod gradients;
pub mod loss;
pub mod ops;
pub mod optim;
pub mod param;
pub mod tape;

pub use backward::Backward;
pub use error::{Error, Result};
pub use gradients::Gradients;
pub use optim::Optimizer;
pub use param::{Buffer, Param, ParamStore, Parameters};
pub use tape::{NodeId, Tape, Var};
