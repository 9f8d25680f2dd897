//! # ecgrad-models: layers and the networks of the papers
//!
//! Work in progress: layers and networks come with the models issue. The crate exists now so the
//! workspace builds end to end.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_autograd as autograd;
