//! # ecgrad-autograd: reverse-mode automatic differentiation over the engine's ops
//! (crate docs are completed below)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_engine as engine;

pub mod backward;
pub mod error;
pub mod gradcheck;
pub mod loss;
pub mod ops;
pub mod optim;
pub mod param;
pub mod tape;

pub use backward::Backward;
pub use error::{Error, Result};
pub use param::{Buffer, Param, ParamStore, Parameters};
pub use tape::{Gradients, NodeId, Tape, Var};
