//! The networks of the papers, and what combines them. Only the ensembles exist so far: they
//! are pure functions over probability tensors and need no layer; the networks (`BeatCnn`,
//! `CnnLstm`, …) wait for the conv, pooling, batch-norm and LSTM layers (see the crate docs).

pub mod acdae;
pub mod ensemble;

pub use acdae::{Acdae, AcdaeConfig, AcdaeOutput};
