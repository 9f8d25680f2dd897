//! The networks of the papers, and what combines them: the ensembles (pure functions over
//! probability tensors) and the seed-004 [`ConvAutoencoder`]s; the classifiers (`BeatCnn`,
//! `CnnLstm`, …) wait for the conv, pooling and batch-norm layers (see the crate docs).

pub mod conv_autoencoder;
pub mod ensemble;

pub use conv_autoencoder::{AeConfig, AeStyle, ConvAutoencoder};
