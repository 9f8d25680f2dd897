//! # ecgrad-models: layers, networks, initialisers and checkpoints
//!
//! Everything here is `f32` and built from autograd's recorded ops, so a model's forward pass
//! is ordinary code that a reader can step through, and its backward pass comes from the tape.
//!
//! ## Reading order
//! 1. [`module`]: the [`Module`] trait (`forward`, `visit_params` with dotted names,
//!    `set_training`), counting, freezing, and [`summary`](module::summary).
//! 2. [`layers::Linear`]: the smallest real layer — a weight `[out, in]`, a bias `[out]`, and a
//!    forward of three recorded ops.
//! 3. [`layers::Sequential`]: how dotted names such as `"0.weight"` or `"fc1.bias"` arise.
//! 4. [`init`]: where the initial weights come from (PyTorch's defaults, Kaiming, Xavier,
//!    orthogonal), each from a named [`Rng`](ecgrad_autograd::engine::Rng) stream.
//! 5. [`checkpoint`]: safetensors files PyTorch can read, written atomically and loaded strictly.
//! 6. [`layers::Conv1d`], [`layers::BatchNorm1d`], [`layers::MaxPool1d`]: the convolutional
//!    building blocks, then [`nets::BeatCnn`], the reference beat classifier built from them.
//! 7. [`layers::Lstm`]: a recurrent layer over the engine's fused cell kernels, with its readable
//!    twin composed from ordinary ops (backpropagation through time is the tape walked
//!    backwards); then the other [`nets`], [`gradcam`], [`nets::ensemble`] and [`quantize`].
//!
//! ## A model in a few lines
//! ```
//! use ecgrad_models::{Module, layers::{Linear, Relu, Sequential}, module};
//! use ecgrad_models::autograd::{Tape, engine::{Rng, Shape, Tensor}};
//! let mut rng = Rng::stream(42, "init");
//! let mut mlp = Sequential::new()
//!     .with_named("fc1", Linear::new(16, 8, true, &mut rng)?)?
//!     .with_named("act", Relu)?
//!     .with_named("fc2", Linear::new(8, 2, true, &mut rng)?)?;
//! assert_eq!(module::count_params(&mut mlp).total, 16 * 8 + 8 + 8 * 2 + 2);
//! let mut tape = Tape::no_grad(); // evaluation: nothing is recorded
//! let x = tape.input(Tensor::zeros(Shape::d2(4, 16)));
//! assert_eq!(mlp.forward(&mut tape, &x)?.shape(), Shape::d2(4, 2));
//! println!("{}", module::summary(&mut mlp, Shape::d2(1, 16))?);
//! # Ok::<(), ecgrad_models::Error>(())
//! ```
//!
//! ## Layer catalogue
//! Every layer has a gradient check (`models/tests/layers.rs` and the layer's own tests) and
//! PyTorch's `state_dict` names.
//!
//! | layer | PyTorch names and shapes | file |
//! |---|---|---|
//! | `Linear` | `weight [out, in]`, `bias [out]` | `layers/linear.rs` |
//! | `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Gelu` | — | `layers/activation.rs` |
//! | `Sequential` | `<index or name>.<param>` | `layers/sequential.rs` |
//! | `Flatten`, `NclToNtf`, `NtfToNcl` | — | `layers/shape.rs` |
//! | `Conv1d` | `weight [c_out, c_in, k]`, `bias [c_out]` | `layers/conv1d.rs` |
//! | `DepthwiseSeparableConv1d` | `depthwise.weight [c, 1, k]`, `pointwise.weight [c_out, c, 1]`, biases | `layers/depthwise_separable.rs` |
//! | `CoordConv1d` | as `Conv1d`, with one more input channel (the coordinate) | `layers/coordconv.rs` |
//! | `ConvTranspose1d`, `Upsample1d` | `weight [c_in, c_out, k]` | `layers/upsample.rs` |
//! | `Conv2d` | `weight [c_out, c_in, kh, kw]` | `layers/conv2d.rs` |
//! | `MaxPool1d/2d`, `AvgPool1d/2d`, `GlobalAvgPool1d/2d` | — | `layers/pool.rs` |
//! | `BatchNorm1d/2d` | `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked []` | `layers/batchnorm.rs` |
//! | `Dropout` | — (seeded mask, identity in evaluation) | `layers/dropout.rs` |
//! | `Lstm` (uni/bi, stacked, batch-first NTF) | `weight_ih_l0 [4H, F]`, `weight_hh_l0 [4H, H]`, `bias_ih_l0`, `bias_hh_l0` (`_reverse`, `l1`…), gates i, f, g, o | `layers/lstm.rs` (fused SIMD cells; the composed version is kept as the reference) |
//! | `TemporalAttention` | additive scores against a learned context vector | `layers/attention.rs` |
//! | `Eca` (channel attention), `AttentionGate` (skips) | `conv.weight [1, 1, k]`; 1×1 convs | `layers/channel_attention.rs`, `layers/attention_gate.rs` |
//! | `ResidualBlock1d` | conv-BN-ReLU ×2 + projection shortcut (torchvision names) | `layers/residual.rs` |
//!
//! The networks of the papers are in [`nets`] (one file each: `BeatCnn`, `SeparableBeatCnn`,
//! `CnnLstm`, `CnnLstmAttention`, `ResNet1d`, `ConvAutoencoder`, `Acdae`, the GAN's
//! `Generator`/`Discriminator`, `Cnn2d`) with the ensembles ([`nets::ensemble`]: soft and
//! weighted average, majority vote, Top2-Weighted — pure functions over probability tensors);
//! [`gradcam`] gives 1D and 2D maps at any layer chosen by its dotted path, and [`quantize`]
//! runs a trained `BeatCnn` in int8 (batch norm folded, per-channel weight scales, calibrated
//! activation scales).
//!
//! ## Layouts: NCL and NTF
//! Convolutional tensors are **NCL** — batch, channels, length (`[32, 1, 187]` for 32
//! single-lead beats) — as in PyTorch's `Conv1d`. Sequence tensors are **NTF** — batch, time,
//! features — as in PyTorch's `LSTM(batch_first=True)`. A CNN-LSTM switches between them with an
//! explicit, named step (the [`layers::NclToNtf`] layer over `ops::ncl_to_ntf`), which
//! copies: tensors are always contiguous.
//! `Linear` takes `[n, in]` or NTF `[n, t, in]` (the same weights at every time step).
//!
//! ## Training and evaluation
//! `model.set_training(true)` (PyTorch's `model.train()`) and `set_training(false)`
//! (`model.eval()`) switch dropout and batch norm; containers pass the switch down to every
//! child. Evaluation also runs on a
//! [`Tape::no_grad`](ecgrad_autograd::Tape::no_grad), which records nothing.
//!
//! ## A training step
//! ```text
//! let mut tape = Tape::new();
//! let x = tape.input(batch);
//! let logits = model.forward(&mut tape, &x)?;
//! let loss = loss::cross_entropy(&mut tape, &logits, &labels, &CrossEntropy::default())?;
//! let grads = tape.backward(&loss)?;        // consumes the tape
//! model.zero_grad();
//! grads.accumulate_into(&mut model)?;       // gradients land in Param::grad by dotted name
//! optimizer.step(&mut model)?;
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_autograd as autograd;

pub mod checkpoint;
pub mod error;
pub mod gradcam;
pub mod init;
pub mod layers;
pub mod module;
pub mod nets;
pub mod quantize;

pub use error::{Error, Result};
pub use module::Module;
