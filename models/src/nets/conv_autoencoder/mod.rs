//! `ConvAutoencoder`: the convolutional autoencoders of seed 004 (arXiv 2012.00493, public code
//! github Namenaro/cnn-ecg; see `../shared/docs/PAPERS.md` §C), with `encode` and `decode`
//! callable separately so that latent codes can be interpolated.
//!
//! # Configurations ([`AeConfig`])
//! | constructor | input | encoder (conv channels/kernel, pool) | code | source |
//! |---|---|---|---|---|
//! | [`AeConfig::table512`] | 512 | 30/100 p2, 15/100 p2, 15/30 p2, 5/20 p2 → dense | 30 | the paper's table |
//! | [`AeConfig::keras2000`] | 2000 | 30/100 p2, 20/100 p2, 20/30 p2, 15/20 p2 → dense | 200 | `Keras_ae.py` |
//! | [`AeConfig::qrs560`] | 560 | 30/100 p2, 15/100 **p7**, 15/30 p2, 5/20 p2 → dense | 30 | `Keras_ae_on_QRS_complex.py` |
//! | [`AeConfig::masked`]`(3)` "good" | 5000 | 10/100 p2, 10/80 **p3**, 5/50 p2 (SAME) | 417×5 | `gaussian_experiment/main.py` |
//! | [`AeConfig::masked`]`(7)` "bad" | 5000 | 10/100 p2, 10/80 **p7**, 5/50 p2 (SAME) | 179×5 | same |
//!
//! **Keras style** (the first three; square brackets mark optional parts): each encoder block is Conv1d("same") → ReLU → \[BatchNorm\]
//! → MaxPool(p) → \[Dropout\]; then Flatten → Dense(code), linear. The decoder mirrors it:
//! Dense(flat) → Unflatten → per block Upsample(p, nearest) → \[Dropout\] → Conv1d("same") → ReLU
//! → \[BatchNorm\], with the encoder's kernels reversed and channels `[c₃, c₂, c₁, 1]`; the last
//! conv is linear. Weights Glorot-uniform, biases zero (Keras' defaults).
//!
//! **TF style** (the masked nets): encoder blocks Conv1d("same", bias) → MaxPool(p, "SAME") →
//! LeakyReLU(0.2); no dense layer, the code is the last feature map. Decoder: per block
//! ConvTranspose1d("SAME", stride p, no bias) → LeakyReLU(0.2), output lengths the encoder's
//! lengths reversed (5000 → 2500 → 834 → 417 → 834 → 2500 → 5000 for p = 3). Every weight and
//! bias ~ truncated normal(0, 0.1) (values beyond 2σ redrawn, as `tf.truncated_normal`). The
//! TF code also creates deconvolution biases that it never adds to the output; they are left
//! out here (they only shrink under the L2 penalty), so the count is 23,025 rather than 23,050.
//!
//! **CoordConv variant** ([`AeConfig::with_coordconv`]): every "same" Conv1d becomes a
//! [`CoordConv1d`] (one extra input channel: the position in
//! [−1, 1]); transposed convolutions are unchanged.
//!
//! # Parameter names
//! `encoder.conv{i}.weight/bias`, `encoder.bn{i}.*`, `encoder.fc.weight/bias`,
//! `decoder.fc.*`, `decoder.conv{i}.*` (Keras style: `decoder.deconv{i}.weight` in TF style),
//! `decoder.bn{i}.*` — stable and tested.
//!
//! Cost per sample: dominated by the K = 100 convolutions, ≈ 2·L·K·C_in·C_out FLOPs each
//! (e.g. 2·512·100·1·30 + 2·256·100·30·15 ≈ 2.4 MFLOP for the first two table layers).

mod blocks;

pub use blocks::{MaxPool, PoolMode, SameConv1d, Unflatten};

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::init;
use crate::layers::{
    BatchNorm1d, ConvPadding, ConvTranspose1d, CoordConv1d, Dropout, Flatten, LeakyRelu, Linear,
    Relu, Sequential, TransposePadding, Upsample1d,
};
use crate::module::{Module, SummaryRow, join_path, prefix_names};

/// Which family of network (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeStyle {
    /// Conv-ReLU-BN-pool, dense code, upsample + conv decoder (the Keras scripts).
    Keras,
    /// Conv-pool-LeakyReLU, convolutional code, transposed-conv decoder (the TF1 script).
    TfMasked,
}

/// One encoder block.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderBlock {
    /// Conv output channels.
    pub channels: usize,
    /// Conv kernel length.
    pub kernel: usize,
    /// Max-pool size (= stride).
    pub pool: usize,
    /// Batch norm after the activation (Keras style).
    pub batch_norm: bool,
    /// Dropout probability after the pool (0 = none).
    pub dropout: f64,
}

/// One decoder block (Keras style; TF style uses only `channels`, `kernel`, `upsample`).
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderBlock {
    /// Conv output channels.
    pub channels: usize,
    /// Conv kernel length.
    pub kernel: usize,
    /// Upsampling factor before the conv (the stride of a transposed conv).
    pub upsample: usize,
    /// Batch norm after the activation.
    pub batch_norm: bool,
    /// Dropout probability after the upsampling (0 = none).
    pub dropout: f64,
}

/// A full autoencoder description; the constructors give the seed-004 configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct AeConfig {
    /// Short name (`"table512"`, `"good"`, …) for reports.
    pub name: String,
    /// Signal length L.
    pub input_len: usize,
    /// Encoder blocks in order.
    pub encoder: Vec<EncoderBlock>,
    /// Decoder blocks in order (the last has 1 channel).
    pub decoder: Vec<DecoderBlock>,
    /// Dense code size (Keras style); `None` for the TF style.
    pub latent: Option<usize>,
    /// Family.
    pub style: AeStyle,
    /// CoordConv instead of plain "same" convolutions.
    pub coordconv: bool,
}

fn enc(
    channels: usize,
    kernel: usize,
    pool: usize,
    batch_norm: bool,
    dropout: f64,
) -> EncoderBlock {
    EncoderBlock {
        channels,
        kernel,
        pool,
        batch_norm,
        dropout,
    }
}

fn dec(
    channels: usize,
    kernel: usize,
    upsample: usize,
    batch_norm: bool,
    dropout: f64,
) -> DecoderBlock {
    DecoderBlock {
        channels,
        kernel,
        upsample,
        batch_norm,
        dropout,
    }
}

/// A Keras-style configuration (dense code of `latent` values, plain convolutions).
fn keras(
    name: &str,
    input_len: usize,
    encoder: Vec<EncoderBlock>,
    decoder: Vec<DecoderBlock>,
    latent: usize,
) -> AeConfig {
    AeConfig {
        name: name.into(),
        input_len,
        encoder,
        decoder,
        latent: Some(latent),
        style: AeStyle::Keras,
        coordconv: false,
    }
}

impl AeConfig {
    /// The paper's table: 512 → conv 100/30, pool 2, conv 100/15, pool 2, conv 30/15, pool 2,
    /// conv 20/5, pool 2, dense 30 (BN in every conv block); the decoder mirrors it with BN.
    pub fn table512() -> AeConfig {
        keras(
            "table512",
            512,
            vec![
                enc(30, 100, 2, true, 0.0),
                enc(15, 100, 2, true, 0.0),
                enc(15, 30, 2, true, 0.0),
                enc(5, 20, 2, true, 0.0),
            ],
            vec![
                dec(5, 20, 2, true, 0.0),
                dec(15, 30, 2, true, 0.0),
                dec(15, 100, 2, true, 0.0),
                dec(1, 100, 2, false, 0.0),
            ],
            30,
        )
    }

    /// The public code's whole-ECG net (`Keras_ae.py`): 2000 samples, code 200; BN after the
    /// first two convs only, none in the decoder.
    pub fn keras2000() -> AeConfig {
        keras(
            "keras2000",
            2000,
            vec![
                enc(30, 100, 2, true, 0.0),
                enc(20, 100, 2, true, 0.0),
                enc(20, 30, 2, false, 0.0),
                enc(15, 20, 2, false, 0.0),
            ],
            vec![
                dec(15, 20, 2, false, 0.0),
                dec(20, 30, 2, false, 0.0),
                dec(20, 100, 2, false, 0.0),
                dec(1, 100, 2, false, 0.0),
            ],
            200,
        )
    }

    /// The public code's single-cycle net (`Keras_ae_on_QRS_complex.py`): 560 samples
    /// (R peak ± 280), middle pool 7, dropout 0.2, code 30.
    pub fn qrs560() -> AeConfig {
        keras(
            "qrs560",
            560,
            vec![
                enc(30, 100, 2, true, 0.0),
                enc(15, 100, 7, true, 0.2),
                enc(15, 30, 2, false, 0.0),
                enc(5, 20, 2, false, 0.0),
            ],
            vec![
                dec(5, 20, 2, true, 0.0),
                dec(15, 30, 2, true, 0.2),
                dec(15, 100, 7, false, 0.0),
                dec(1, 100, 2, false, 0.0),
            ],
            30,
        )
    }

    /// The masked-loss net of the "unpunished region" experiment with middle pool `p`
    /// (3 = "good", 7 = "bad") on 5000 samples.
    pub fn masked(p: usize) -> AeConfig {
        AeConfig {
            name: match p {
                3 => "good".into(),
                7 => "bad".into(),
                _ => format!("masked_p{p}"),
            },
            input_len: 5000,
            encoder: vec![
                enc(10, 100, 2, false, 0.0),
                enc(10, 80, p, false, 0.0),
                enc(5, 50, 2, false, 0.0),
            ],
            decoder: vec![
                dec(10, 50, 2, false, 0.0),
                dec(10, 80, p, false, 0.0),
                dec(1, 100, 2, false, 0.0),
            ],
            latent: None,
            style: AeStyle::TfMasked,
            coordconv: false,
        }
    }

    /// The same net on signals of length `l` (quick runs, other window lengths).
    pub fn with_input_len(mut self, l: usize) -> AeConfig {
        self.input_len = l;
        self
    }

    /// CoordConv on (or off) for every "same" convolution.
    pub fn with_coordconv(mut self, on: bool) -> AeConfig {
        self.coordconv = on;
        if on && !self.name.ends_with("+coord") {
            self.name.push_str("+coord");
        }
        self
    }

    /// Feature-map lengths after each encoder block (the input length first).
    pub fn encoder_lengths(&self) -> Vec<usize> {
        let mut ls = vec![self.input_len];
        for b in &self.encoder {
            let l = *ls.last().unwrap_or(&0);
            ls.push(match self.style {
                AeStyle::Keras => l / b.pool,
                AeStyle::TfMasked => l.div_ceil(b.pool),
            });
        }
        ls
    }
}

/// A seed-004 autoencoder; see the module docs.
pub struct ConvAutoencoder {
    /// The configuration it was built from.
    pub config: AeConfig,
    /// x `[N, 1, L]` → code (`[N, latent]` or `[N, C, L']`).
    pub encoder: Sequential,
    /// code → x̂ `[N, 1, L]`.
    pub decoder: Sequential,
}

fn glorot_conv(c_out: usize, c_in: usize, k: usize, rng: &mut Rng) -> Result<Tensor<f32>> {
    init::xavier_uniform(Shape::d3(c_out, c_in, k), 1.0, rng)
}

/// tf.truncated_normal(stddev = σ): N(0, σ²) with draws beyond 2σ redrawn.
fn truncated_normal(shape: Shape, std: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    let data = (0..shape.numel())
        .map(|_| {
            loop {
                let z = rng.normal();
                if z.abs() <= 2.0 {
                    break (z * std) as f32;
                }
            }
        })
        .collect();
    Ok(Tensor::from_vec(shape, data)?)
}

/// A "same" conv layer (plain or CoordConv) boxed as a module.
fn same_conv(
    c_in: usize,
    c_out: usize,
    k: usize,
    coord: bool,
    style: AeStyle,
    rng: &mut Rng,
) -> Result<Box<dyn Module>> {
    let c_total = c_in + usize::from(coord);
    let (w, b) = match style {
        AeStyle::Keras => (
            glorot_conv(c_out, c_total, k, rng)?,
            Tensor::zeros(Shape::d1(c_out)),
        ),
        AeStyle::TfMasked => (
            truncated_normal(Shape::d3(c_out, c_total, k), 0.1, rng)?,
            truncated_normal(Shape::d1(c_out), 0.1, rng)?,
        ),
    };
    if coord {
        let mut layer = CoordConv1d::new(c_in, c_out, k, 1, ConvPadding::Same, true, rng)?;
        layer.weight.value = w;
        layer.bias = Some(Param::new("bias", b));
        Ok(Box::new(layer))
    } else {
        Ok(Box::new(SameConv1d {
            weight: Param::new("weight", w),
            bias: Some(Param::new("bias", b)),
        }))
    }
}

impl ConvAutoencoder {
    /// Builds the network of `config` with weights from `rng` (derive it with
    /// `Rng::stream(seed, "init")`).
    ///
    /// # Errors
    /// An invalid-parameter error when the blocks do not fit the input length (Keras style:
    /// the pools must divide it; the decoder must mirror the encoder's total factor), or for
    /// empty block lists / zero sizes.
    pub fn new(config: AeConfig, rng: &mut Rng) -> Result<ConvAutoencoder> {
        let op = "ConvAutoencoder::new";
        if config.encoder.is_empty() || config.decoder.is_empty() {
            return Err(invalid(
                op,
                "blocks",
                &config.name,
                "needs encoder and decoder blocks",
            ));
        }
        let lens = config.encoder_lengths();
        if lens.contains(&0) {
            return Err(invalid(
                op,
                "input_len",
                config.input_len,
                "pools shrink it to 0",
            ));
        }
        let down: usize = config.encoder.iter().map(|b| b.pool).product();
        let up: usize = config.decoder.iter().map(|b| b.upsample).product();
        if config.style == AeStyle::Keras && (!config.input_len.is_multiple_of(down) || down != up)
        {
            return Err(invalid(
                op,
                "input_len",
                config.input_len,
                format!(
                    "Keras style needs the pool product {down} to divide it and equal the upsampling product {up}"
                ),
            ));
        }
        if config.style == AeStyle::TfMasked && config.decoder.len() != config.encoder.len() {
            return Err(invalid(
                op,
                "decoder",
                config.decoder.len(),
                "TF style mirrors the encoder block for block",
            ));
        }
        let (encoder, decoder) = match config.style {
            AeStyle::Keras => build_keras(&config, &lens, rng)?,
            AeStyle::TfMasked => build_tf(&config, &lens, rng)?,
        };
        let mut ae = ConvAutoencoder {
            config,
            encoder,
            decoder,
        };
        prefix_names(&mut ae.encoder, "encoder");
        prefix_names(&mut ae.decoder, "decoder");
        Ok(ae)
    }

    /// x `[N, 1, L]` → code.
    ///
    /// # Errors
    /// Shape errors when x is not `[N, 1, input_len]`.
    pub fn encode(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let dims = x.shape();
        if dims.dims().len() != 3 || dims.dims()[1] != 1 || dims.dims()[2] != self.config.input_len
        {
            return Err(invalid(
                "ConvAutoencoder::encode",
                "input",
                dims,
                format!("must be [N, 1, {}]", self.config.input_len),
            ));
        }
        self.encoder.forward(tape, x)
    }

    /// code → x̂ `[N, 1, L]`.
    ///
    /// # Errors
    /// Shape errors when z does not have the code's shape.
    pub fn decode(&self, tape: &mut Tape<f32>, z: &Var<f32>) -> Result<Var<f32>> {
        self.decoder.forward(tape, z)
    }

    /// The code's shape without the batch dimension (`[latent]` or `[C, L']`).
    pub fn code_dims(&self) -> Vec<usize> {
        match self.config.latent {
            Some(d) => vec![d],
            None => {
                let lens = self.config.encoder_lengths();
                let c = self.config.encoder.last().map_or(0, |b| b.channels);
                vec![c, *lens.last().unwrap_or(&0)]
            }
        }
    }
}

fn build_keras(cfg: &AeConfig, lens: &[usize], rng: &mut Rng) -> Result<(Sequential, Sequential)> {
    let mut e = Sequential::new();
    let mut c_in = 1;
    for (i, b) in cfg.encoder.iter().enumerate() {
        e.push_named(
            &format!("conv{i}"),
            same_conv(c_in, b.channels, b.kernel, cfg.coordconv, cfg.style, rng)?,
        )?;
        e.push_named(&format!("relu{i}"), Box::new(Relu))?;
        if b.batch_norm {
            e.push_named(&format!("bn{i}"), Box::new(BatchNorm1d::new(b.channels)?))?;
        }
        e.push_named(
            &format!("pool{i}"),
            Box::new(MaxPool {
                size: b.pool,
                mode: PoolMode::Valid,
            }),
        )?;
        if b.dropout > 0.0 {
            let seed = rng.next_u64();
            e.push_named(
                &format!("drop{i}"),
                Box::new(Dropout::new(b.dropout, seed)?),
            )?;
        }
        c_in = b.channels;
    }
    let l_code = *lens.last().unwrap_or(&0);
    let flat = c_in * l_code;
    let latent = cfg.latent.unwrap_or(flat);
    e.push_named("flatten", Box::new(Flatten))?;
    let dense = |i: usize, o: usize, rng: &mut Rng| -> Result<Linear> {
        Linear::from_tensors(
            init::xavier_uniform(Shape::d2(o, i), 1.0, rng)?,
            Some(Tensor::zeros(Shape::d1(o))),
        )
    };
    e.push_named("fc", Box::new(dense(flat, latent, rng)?))?;

    let mut d = Sequential::new();
    d.push_named("fc", Box::new(dense(latent, flat, rng)?))?;
    d.push_named("unflatten", Box::new(Unflatten { c: c_in, l: l_code }))?;
    let last = cfg.decoder.len() - 1;
    for (i, b) in cfg.decoder.iter().enumerate() {
        d.push_named(
            &format!("up{i}"),
            Box::new(Upsample1d::nearest(b.upsample)?),
        )?;
        if b.dropout > 0.0 {
            let seed = rng.next_u64();
            d.push_named(
                &format!("drop{i}"),
                Box::new(Dropout::new(b.dropout, seed)?),
            )?;
        }
        d.push_named(
            &format!("conv{i}"),
            same_conv(c_in, b.channels, b.kernel, cfg.coordconv, cfg.style, rng)?,
        )?;
        if i != last {
            d.push_named(&format!("relu{i}"), Box::new(Relu))?;
        }
        if b.batch_norm {
            d.push_named(&format!("bn{i}"), Box::new(BatchNorm1d::new(b.channels)?))?;
        }
        c_in = b.channels;
    }
    if c_in != 1 {
        return Err(invalid(
            "ConvAutoencoder::new",
            "decoder",
            c_in,
            "the last block must have 1 channel",
        ));
    }
    Ok((e, d))
}

fn build_tf(cfg: &AeConfig, lens: &[usize], rng: &mut Rng) -> Result<(Sequential, Sequential)> {
    let mut e = Sequential::new();
    let mut c_in = 1;
    for (i, b) in cfg.encoder.iter().enumerate() {
        e.push_named(
            &format!("conv{i}"),
            same_conv(c_in, b.channels, b.kernel, cfg.coordconv, cfg.style, rng)?,
        )?;
        e.push_named(
            &format!("pool{i}"),
            Box::new(MaxPool {
                size: b.pool,
                mode: PoolMode::Same,
            }),
        )?;
        e.push_named(&format!("act{i}"), Box::new(LeakyRelu::new(0.2)?))?;
        c_in = b.channels;
    }
    let mut d = Sequential::new();
    let n = cfg.decoder.len();
    for (i, b) in cfg.decoder.iter().enumerate() {
        // Output length: the encoder's length before the mirrored pool.
        let out_len = lens[n - 1 - i];
        let w = truncated_normal(Shape::d3(c_in, b.channels, b.kernel), 0.1, rng)?;
        let layer =
            ConvTranspose1d::from_tensors(w, None, b.upsample, TransposePadding::Same { out_len })?;
        d.push_named(&format!("deconv{i}"), Box::new(layer))?;
        d.push_named(&format!("act{i}"), Box::new(LeakyRelu::new(0.2)?))?;
        c_in = b.channels;
    }
    if c_in != 1 {
        return Err(invalid(
            "ConvAutoencoder::new",
            "decoder",
            c_in,
            "the last block must have 1 channel",
        ));
    }
    Ok((e, d))
}

impl Parameters<f32> for ConvAutoencoder {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.encoder.visit_params(f);
        self.decoder.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.encoder.visit_buffers(f);
        self.decoder.visit_buffers(f);
    }
}

impl Module for ConvAutoencoder {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let z = self.encode(tape, x)?;
        self.decode(tape, &z)
    }
    fn set_training(&mut self, training: bool) {
        self.encoder.set_training(training);
        self.decoder.set_training(training);
    }
    fn describe(&self) -> String {
        format!(
            "ConvAutoencoder({}, L = {})",
            self.config.name, self.config.input_len
        )
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> Result<Var<f32>> {
        let z = self
            .encoder
            .trace(tape, x, &join_path(path, "encoder"), rows)?;
        self.decoder
            .trace(tape, &z, &join_path(path, "decoder"), rows)
    }
}
