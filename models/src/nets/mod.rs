//! The networks of the papers, and what combines them: the ensembles (pure functions over
//! probability tensors), [`Acdae`] (two-lead denoising autoencoder with channel attention and
//! gated skips) and the 1D GAN ([`Generator`], [`Discriminator`], [`gan_step`]).

pub mod acdae;
pub mod ensemble;
pub mod gan;

pub use acdae::{Acdae, AcdaeConfig, AcdaeOutput};
pub use gan::{BEAT_LEN, Discriminator, Gan1dConfig, GanLoss, GanStepStats, Generator, gan_step};
