//! The networks of the papers, and what combines them: each network is a file with PyTorch's
//! parameter names (so weights move both ways), and the ensembles are pure functions over
//! probability tensors.
//!
//! - [`BeatCnn`] (`cnn_classifier.rs`): the reference beat classifier of `PERFORMANCE.md`, with
//!   its convolutional front end [`BeatCnnFeatures`] reusable on its own;
//! - [`ResNet1d`] (`resnet1d.rs`): residual blocks with projection shortcuts, for seed 003;
//! - [`Cnn2d`] (`cnn2d.rs`): seed 000's 2D block stacked (plain or residual) with a replaceable
//!   head and a frozen-backbone mode, for transfer learning;
//! - [`ConvAutoencoder`] (`conv_autoencoder/`): seed 004's autoencoders, encoder and decoder
//!   callable separately, with an optional CoordConv variant;
//! - [`Acdae`] (`acdae.rs`): seed 000's two-lead denoising autoencoder with channel attention
//!   and gated skips, with an optional classification head;
//! - [`Generator`] / [`Discriminator`] / [`gan_step`] (`gan.rs`): the 1D GAN for beat synthesis;
//! - [`ensemble`]: soft/weighted average, majority vote, Top2-Weighted.
//!
//! Networks write their forward pass once over a private `Stages` helper (`stage.rs`), which
//! gives both `forward` and `trace` (summaries, Grad-CAM by layer path).

pub mod acdae;
pub mod cnn2d;
pub mod cnn_classifier;
pub mod conv_autoencoder;
pub mod ensemble;
pub mod gan;
pub mod resnet1d;
pub(crate) mod stage;

pub use acdae::{Acdae, AcdaeConfig, AcdaeOutput};
pub use cnn_classifier::{BeatCnn, BeatCnnFeatures};
pub use cnn2d::{Cnn2d, Cnn2dBackbone, Cnn2dConfig, ConvBlock2d};
pub use conv_autoencoder::{AeConfig, AeStyle, ConvAutoencoder};
pub use gan::{BEAT_LEN, Discriminator, Gan1dConfig, GanLoss, GanStepStats, Generator, gan_step};
pub use resnet1d::{ResNet1d, ResNet1dConfig};
