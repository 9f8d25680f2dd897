//! The networks of the papers, and what combines them: each network is a file with PyTorch's
//! parameter names (so weights move both ways), and the ensembles are pure functions over
//! probability tensors.
//!
//! - [`BeatCnn`] (`cnn_classifier.rs`): the reference beat classifier of `PERFORMANCE.md`, with
//!   its convolutional front end [`BeatCnnFeatures`] reusable on its own;
//! - [`CnnLstm`] (`cnn_lstm.rs`): the CNN-LSTM variant of `PERFORMANCE.md` (BeatCnn's front end,
//!   LSTM(128 → 64), last hidden state, linear head), for seed 003;
//! - [`CnnLstmAttention`] (`cnn_lstm_attention.rs`): the same front end and LSTM (optionally
//!   bidirectional) with temporal attention pooling over every step, for seed 003;
//! - [`SeparableBeatCnn`] (`cnn_classifier_separable.rs`): BeatCnn with depthwise-separable
//!   conv2/conv3, the edge-size variant (int8 versions of both in [`crate::quantize`]);
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
pub mod cnn_classifier_separable;
pub mod cnn_lstm;
pub mod cnn_lstm_attention;
pub mod conv_autoencoder;
pub mod ensemble;
pub mod gan;
pub mod resnet1d;
pub(crate) mod stage;

pub use acdae::{Acdae, AcdaeConfig, AcdaeOutput};
pub use cnn_classifier::{BeatCnn, BeatCnnFeatures};
pub use cnn_classifier_separable::SeparableBeatCnn;
pub use cnn_lstm::{CnnLstm, cnn_lstm_flops_per_beat};
pub use cnn_lstm_attention::{CnnLstmAttention, CnnLstmAttentionConfig};
pub use cnn2d::{Cnn2d, Cnn2dBackbone, Cnn2dConfig, ConvBlock2d};
pub use conv_autoencoder::{AeConfig, AeStyle, ConvAutoencoder};
pub use gan::{BEAT_LEN, Discriminator, Gan1dConfig, GanLoss, GanStepStats, Generator, gan_step};
pub use resnet1d::{ResNet1d, ResNet1dConfig};
