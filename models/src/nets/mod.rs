//! The networks of the papers, and what combines them: each network is a file with PyTorch's
//! parameter names (so weights move both ways), and the ensembles are pure functions over
//! probability tensors.
//!
//! - [`BeatCnn`] (`cnn_classifier.rs`): the reference beat classifier of `PERFORMANCE.md`, with
//!   its convolutional front end [`BeatCnnFeatures`] reusable on its own;
//! - [`ResNet1d`] (`resnet1d.rs`): residual blocks with projection shortcuts, for seed 003;
//! - [`Cnn2d`] (`cnn2d.rs`): seed 000's 2D block stacked (plain or residual) with a replaceable
//!   head and a frozen-backbone mode, for transfer learning;
//! - [`ensemble`]: soft/weighted average, majority vote, Top2-Weighted.
//!
//! Networks write their forward pass once over a private `Stages` helper (`stage.rs`), which
//! gives both `forward` and `trace` (summaries, Grad-CAM by layer path).

pub mod cnn2d;
pub mod cnn_classifier;
pub mod ensemble;
pub mod resnet1d;
pub(crate) mod stage;

pub use cnn2d::{Cnn2d, Cnn2dBackbone, Cnn2dConfig, ConvBlock2d};
pub use cnn_classifier::{BeatCnn, BeatCnnFeatures};
pub use resnet1d::{ResNet1d, ResNet1dConfig};
//! The networks of the papers, and what combines them: the ensembles (pure functions over
//! probability tensors) and the seed-004 [`ConvAutoencoder`]s; the classifiers (`BeatCnn`,
//! `CnnLstm`, …) wait for the conv, pooling and batch-norm layers (see the crate docs).
pub mod conv_autoencoder;
pub use conv_autoencoder::{AeConfig, AeStyle, ConvAutoencoder};
//! probability tensors), [`Acdae`] (two-lead denoising autoencoder with channel attention and
//! gated skips) and the 1D GAN ([`Generator`], [`Discriminator`], [`gan_step`]).
pub mod acdae;
pub mod gan;
pub use acdae::{Acdae, AcdaeConfig, AcdaeOutput};
pub use gan::{BEAT_LEN, Discriminator, Gan1dConfig, GanLoss, GanStepStats, Generator, gan_step};
