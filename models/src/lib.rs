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
//! 6. [`layers::Lstm`]: a recurrent layer composed from the same ops (backpropagation through
//!    time is just the tape walked backwards); [`gradcam`] and [`nets::ensemble`] after.
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
//! ✓ = exists; … = next, waiting for autograd's recording of the engine op named.
//!
//! | layer | PyTorch names and shapes | status |
//! |---|---|---|
//! | `Linear` | `weight [out, in]`, `bias [out]` | ✓ `layers/linear.rs` |
//! | `Relu`, `Tanh` | — | ✓ `layers/activation.rs` |
//! | `Sequential` | `<index or name>.<param>` | ✓ `layers/sequential.rs` |
//! | `Flatten`, `NclToNtf`, `NtfToNcl` | — | ✓ `layers/shape.rs` |
//! | `LeakyRelu`, `Sigmoid` | — | … activation ops |
//! | `Conv1d`, CoordConv1d | `weight [c_out, c_in, k]`, `bias [c_out]` | … conv1d |
//! | `DepthwiseSeparableConv1d` | `depthwise.weight [c_in, 1, k]`, `depthwise.bias`, `pointwise.weight [c_out, c_in, 1]`, `pointwise.bias` | ✓ `layers/depthwise_separable.rs` |
//! | `ConvTranspose1d`, `Upsample1d` | `weight [c_in, c_out, k]` | … conv_transpose1d, upsample1d |
//! | `Conv2d` | `weight [c_out, c_in, kh, kw]` | … conv2d |
//! | `MaxPool1d/2d`, `AvgPool1d/2d`, `GlobalAvgPool1d` | — | … pooling |
//! | `BatchNorm1d/2d` | `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked []` | … batch norm |
//! | `Dropout` | — | … dropout |
//! | `Lstm` (uni/bi, stacked, batch-first NTF) | `weight_ih_l0 [4H, F]`, `weight_hh_l0 [4H, H]`, `bias_ih_l0`, `bias_hh_l0` (`_reverse`, `l1`…), gates i, f, g, o | ✓ `layers/lstm.rs`, composed from existing ops (the reference); … fused SIMD cell |
//! | temporal attention, ECA channel attention, attention gate | — | … softmax, sigmoid, conv1d |
//! | residual block | conv-BN-ReLU + projection shortcut | … conv1d, batch norm |
//!
//! The ensembles exist ([`nets::ensemble`]: soft and weighted average, majority vote,
//! Top2-Weighted, best-k weighted — pure functions over probability tensors), and so does
//! [`gradcam`] (1D and 2D maps at any leaf layer chosen by its dotted path). The networks of
//! the papers (`BeatCnn`, `CnnLstm`, `CnnLstmAttention`, `ResNet1d`, autoencoders, ACDAE, GAN,
//! 2D CNN) follow the layers above; int8 post-training quantisation (BN folding, calibration,
//! int8 conv/linear, `quantize_beat_cnn`) is in [`quantize`].
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
//! (`model.eval()`) switch dropout and batch norm; the layers here have no mode yet, but
//! containers already pass the switch down. Evaluation also runs on a
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
