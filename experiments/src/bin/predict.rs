//! `predict`: run a trained classifier on beats from a `.npy` file — the bridge to PyTorch.
//!
//! ```sh
//! cargo run --release -p ecgrad-experiments --bin predict -- \
//!     --model beat-cnn --weights beat_cnn.safetensors --input beats.npy --output logits.npy
//! ```
//! - `--weights`: a safetensors checkpoint with PyTorch's `state_dict` names (written by
//!   `models::checkpoint::save`, or by `safetensors.torch.save_file(model.state_dict(), …)`);
//!   the load is strict (every tensor, every shape) and names the first mismatch.
//! - `--input`: float32 `.npy` of shape `[N, C, L]`, exactly what PyTorch's `model(x)` takes
//!   (`[N, 1, 187]` for single-lead beats; add the channel axis with `x[:, None, :]`).
//! - `--output`: float32 `.npy` of shape `[N, classes]` holding **logits**, as PyTorch's
//!   `model(x)` returns them (no softmax); `--probabilities` writes softmax probabilities
//!   instead.
//!
//! The model runs in evaluation mode (`model.eval()`: batch norm uses its running statistics,
//! dropout is off) on a no-grad tape, in batches of `--batch-size`. The number of classes (and
//! for `resnet1d` the stage widths, blocks and kernels; for `cnn-lstm-attention` the hidden
//! size, direction count and attention width) is read from the checkpoint's shapes.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use ecgrad_engine::{Shape, Tensor};
use ecgrad_experiments::metrics::softmax_rows;
use ecgrad_experiments::models::autograd::Tape;
use ecgrad_experiments::models::checkpoint::{self, StoredTensor};
use ecgrad_experiments::models::nets::{
    BeatCnn, CnnLstm, CnnLstmAttention, CnnLstmAttentionConfig, ResNet1d, ResNet1dConfig,
};
use ecgrad_experiments::models::{Module, module};
use ecgrad_experiments::npy;

/// The architectures `predict` can build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelKind {
    /// BeatCnn (PERFORMANCE.md's reference beat classifier).
    BeatCnn,
    /// CNN-LSTM (seed 003).
    CnnLstm,
    /// CNN-LSTM with temporal attention (seed 003).
    CnnLstmAttention,
    /// 1D ResNet (torchvision-style names).
    Resnet1d,
}

/// Classify beats from a .npy file with a safetensors checkpoint (PyTorch names and shapes).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// The architecture.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// safetensors checkpoint with PyTorch state_dict names.
    #[arg(long, value_name = "FILE")]
    weights: PathBuf,
    /// float32 .npy input of shape [N, C, L].
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// float32 .npy output [N, classes] (logits unless --probabilities).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Write softmax probabilities instead of logits.
    #[arg(long)]
    probabilities: bool,
    /// Beats per forward pass.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// The shape of tensor `name` in the checkpoint.
fn shape_of<'a>(stored: &'a [StoredTensor], name: &str, file: &str) -> anyhow::Result<&'a [usize]> {
    stored
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.value.dims())
        .with_context(|| format!("{file} has no tensor named {name}"))
}

/// A ResNet1d whose configuration matches the checkpoint: channels, kernels, widths and blocks
/// from the weight shapes; strides 1, 2, 2, … (strides leave no trace in weight shapes).
fn resnet_from(stored: &[StoredTensor], file: &str) -> anyhow::Result<ResNet1d> {
    let conv1 = shape_of(stored, "conv1.weight", file)?;
    let mut widths = Vec::new();
    while let Ok(s) = shape_of(
        stored,
        &format!("layer{}.0.conv1.weight", widths.len() + 1),
        file,
    ) {
        widths.push(s[0]);
    }
    anyhow::ensure!(
        !widths.is_empty(),
        "{file} has no layer1.0.conv1.weight: not a ResNet1d"
    );
    let mut blocks = 0;
    while shape_of(stored, &format!("layer1.{blocks}.conv1.weight"), file).is_ok() {
        blocks += 1;
    }
    let config = ResNet1dConfig {
        in_channels: conv1[1],
        stem_channels: conv1[0],
        stem_kernel: conv1[2],
        strides: (0..widths.len())
            .map(|i| if i == 0 { 1 } else { 2 })
            .collect(),
        kernel: shape_of(stored, "layer1.0.conv1.weight", file)?[2],
        widths,
        blocks,
        classes: shape_of(stored, "fc.weight", file)?[0],
    };
    Ok(ResNet1d::new(0, config)?)
}

fn build(kind: ModelKind, stored: &[StoredTensor], file: &str) -> anyhow::Result<Box<dyn Module>> {
    Ok(match kind {
        ModelKind::BeatCnn => Box::new(BeatCnn::new(0, shape_of(stored, "fc2.weight", file)?[0])?),
        ModelKind::Resnet1d => Box::new(resnet_from(stored, file)?),
        ModelKind::CnnLstm => Box::new(CnnLstm::new(0, shape_of(stored, "fc.weight", file)?[0])?),
        ModelKind::CnnLstmAttention => {
            // H from weight_hh [4H, H], A from attention.weight [A, D·H], D from the reverse
            // direction's presence.
            let config = CnnLstmAttentionConfig {
                classes: shape_of(stored, "fc.weight", file)?[0],
                hidden: shape_of(stored, "lstm.weight_hh_l0", file)?[1],
                bidirectional: shape_of(stored, "lstm.weight_hh_l0_reverse", file).is_ok(),
                attention_dim: shape_of(stored, "attention.weight", file)?[0],
            };
            Box::new(CnnLstmAttention::new(0, config)?)
        }
    })
}

/// The input channels the first convolution expects.
fn in_channels(stored: &[StoredTensor], file: &str) -> anyhow::Result<usize> {
    Ok(shape_of(stored, "conv1.weight", file)?[1])
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ecgrad_engine::init()?;
    if let Some(n) = cli.threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    }
    anyhow::ensure!(cli.batch_size >= 1, "--batch-size must be at least 1");
    let wfile = cli.weights.display().to_string();
    let stored = checkpoint::read_tensors(&cli.weights)?;
    let mut model = build(cli.model, &stored, &wfile)?;
    checkpoint::load(model.as_mut(), &cli.weights)?;
    model.set_training(false);

    let x = npy::read_f32(&cli.input)?;
    let ifile = cli.input.display();
    let channels = in_channels(&stored, &wfile)?;
    let (n, c, l) = match *x.shape.as_slice() {
        [n, c, l] => (n, c, l),
        _ => anyhow::bail!(
            "{ifile}: shape {:?}; the model takes [N, C, L] = [N, {channels}, length] \
             (for [N, L] beats save x[:, None, :])",
            x.shape
        ),
    };
    anyhow::ensure!(
        c == channels,
        "{ifile}: {c} channels, but the checkpoint's conv1.weight expects {channels}"
    );
    anyhow::ensure!(n >= 1 && l >= 1, "{ifile}: shape {:?} is empty", x.shape);

    let params = module::count_params(model.as_mut());
    println!(
        "{}: {} parameters from {wfile}; input {ifile} [{n}, {c}, {l}]",
        model.describe(),
        params.total
    );
    let mut out: Vec<f32> = Vec::with_capacity(n * 8);
    let mut classes = 0;
    for start in (0..n).step_by(cli.batch_size) {
        let b = cli.batch_size.min(n - start);
        let batch = Tensor::from_vec(
            Shape::d3(b, c, l),
            x.data[start * c * l..(start + b) * c * l].to_vec(),
        )?;
        let mut tape = Tape::no_grad();
        let xv = tape.input(batch);
        let y = model.forward(&mut tape, &xv)?;
        let dims = y.value().dims();
        anyhow::ensure!(
            dims.len() == 2 && dims[0] == b,
            "the model returned shape {dims:?}"
        );
        classes = dims[1];
        out.extend_from_slice(y.value().data());
    }
    let mut logits = Tensor::from_vec(Shape::d2(n, classes), out)?;
    let what = if cli.probabilities {
        logits = softmax_rows(&logits)?;
        "softmax probabilities"
    } else {
        "logits (no softmax, as PyTorch's model(x))"
    };
    npy::write_f32(&cli.output, &[n, classes], logits.data())?;
    println!("wrote {} [{n}, {classes}]: {what}", cli.output.display());
    Ok(())
}
