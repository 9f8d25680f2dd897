//! `Acdae`: attention-based convolutional denoising autoencoder for two-lead ECG (Singh &
//! Sharma, IEEE TIM 2022; PAPERS.md §B), with an optional beat classifier on the bottleneck.
//!
//! # Architecture (input `[N, 2, L]`, L a multiple of 8; the default window is 600 samples)
//! ```text
//! enc1  Conv1d  2→16,  k13, same  + LeakyReLU(0.2)        [N,  16, L]    ─────────────┐ skip 1
//!       MaxPool ×2                                        [N,  16, L/2]               │
//! enc2  Conv1d 16→32,  k7,  same  + LeakyReLU             [N,  32, L/2]   ──────────┐ │ skip 2
//!       MaxPool ×2                                        [N,  32, L/4]             │ │
//! enc3  Conv1d 32→64,  k7,  same  + LeakyReLU             [N,  64, L/4]   ───────┐  │ │ skip 3
//!       MaxPool ×2                                        [N,  64, L/8]          │  │ │
//! enc4  Conv1d 64→128, k7,  same  + LeakyReLU = bottleneck [N, 128, L/8] → (head) │  │ │
//! dec1  ConvT1d 128→64, k7 + LeakyReLU, ECA, Upsample ×2 (linear)  [N, 64, L/4]  + gate3(skip 3)
//! dec2  ConvT1d  64→32, k7 + LeakyReLU, ECA, Upsample ×2           [N, 32, L/2]  + gate2(skip 2)
//! dec3  ConvT1d  32→16, k7 + LeakyReLU, ECA, Upsample ×2           [N, 16, L]    + gate1(skip 1)
//! dec4  ConvT1d  16→16, k13 + LeakyReLU                             [N, 16, L]
//! out   Conv1d  16→2, k1 (linear)                                   [N,  2, L]   both leads denoised
//! head  (optional) global average pool of the bottleneck → Linear(128 → classes)
//! ```
//! Each skip is `d ← d + AttentionGate(x = skip, g = d)`: the decoder feature decides where in
//! time the encoder's detail passes (additive skip with an attention gate).
//!
//! # What is from the paper and what is our choice
//! From the paper's abstract: two leads in, skip connections encoder→decoder, ECA channel
//! attention. From third-party re-implementations (PAPERS.md §B, not authoritative): channels
//! 2→16→32→64→128, kernels 13/7/7/7 with 'same' padding, LeakyReLU(0.2), max pooling ×2, a
//! mirrored ConvTranspose1d decoder with linear ×2 upsampling, ECA only after the first three
//! decoder convs with ECA-Net's adaptive kernel, a 600-sample window with a 75-sample bottleneck
//! (so three poolings, as that "Table I" lists). **Our choices** (not known from the paper):
//! the attention gate on every skip (Attention U-Net style, inter channels = skip channels / 2),
//! no batch norm, a two-channel linear 1×1 output (both leads denoised; the third-party table
//! outputs one), the classifier head as global average pool + one Linear layer.
//! With `attention = false` the same net has plain additive skips and no ECA (a CDAE ablation).
//!
//! # Cost
//! Forward, per sample: encoder 2·L·(2·16·13 + 16·32·7/2 + 32·64·7/4 + 64·128·7/8) = 2·L·12 960
//! FLOPs, the mirrored decoder about as much (2·L·13 200), gates and ECA < 2 %: ≈ 31 MFLOP
//! for L = 600; training (forward + backward) ≈ 3× that.
//!
//! # Gradients
//! All from the tape: every op used is a recorded autograd op (conv1d, conv_transpose1d,
//! max/global-avg pool, upsample1d, leaky ReLU, sigmoid, mul, add), each gradchecked where it is
//! defined; [`Eca`] and [`AttentionGate`] are gradchecked in their own files.

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::ops::{
    Conv1dParams, ConvTranspose1dParams, Pool1dParams, Upsample1dParams, UpsampleMode,
};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::layers::{AttentionGate, Eca, Linear};
use crate::module::{Module, prefix_names};

/// Hyper-parameters of [`Acdae`].
#[derive(Clone, Debug, PartialEq)]
pub struct AcdaeConfig {
    /// Input (and output) leads: 2.
    pub leads: usize,
    /// Encoder channels per stage: `[16, 32, 64, 128]`.
    pub channels: [usize; 4],
    /// Encoder kernel sizes per stage (odd, 'same' padding): `[13, 7, 7, 7]`.
    pub kernels: [usize; 4],
    /// LeakyReLU negative slope: 0.2.
    pub slope: f64,
    /// ECA on the decoder and attention gates on the skips (`false`: plain additive skips).
    pub attention: bool,
    /// Classes of the optional bottleneck classifier (`None`: no head).
    pub classes: Option<usize>,
}

impl Default for AcdaeConfig {
    fn default() -> Self {
        AcdaeConfig {
            leads: 2,
            channels: [16, 32, 64, 128],
            kernels: [13, 7, 7, 7],
            slope: 0.2,
            attention: true,
            classes: None,
        }
    }
}

/// A convolution's weight and bias (conv or transposed conv, 'same' padding, stride 1).
#[derive(Clone, Debug)]
struct ConvParams {
    weight: Param<f32>,
    bias: Param<f32>,
}

impl ConvParams {
    /// `weight_shape` is `[c_out, c_in, k]` for a conv and `[c_in, c_out, k]` for a transposed
    /// conv; PyTorch's default init uses dim 1 as fan-in in both cases, as here.
    fn new(name: &str, weight_shape: Shape, out: usize, rng: &mut Rng) -> Result<ConvParams> {
        let (w, _) = init::pytorch_default(weight_shape, false, rng)?;
        let (fan_in, _) = init::fans(weight_shape)?;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let b = init::uniform(Shape::d1(out), -bound, bound, rng)?;
        Ok(ConvParams {
            weight: Param::new(format!("{name}.weight"), w),
            bias: Param::new(format!("{name}.bias"), b),
        })
    }
    fn kernel(&self) -> usize {
        self.weight.value.dims()[2]
    }
    fn conv(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let (w, b) = (tape.param(&self.weight), tape.param(&self.bias));
        let p = Conv1dParams {
            padding: (self.kernel() - 1) / 2,
            ..Default::default()
        };
        Ok(ops::conv1d(tape, x, &w, Some(&b), p)?)
    }
    fn conv_t(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let (w, b) = (tape.param(&self.weight), tape.param(&self.bias));
        let p = ConvTranspose1dParams {
            padding: (self.kernel() - 1) / 2,
            ..Default::default()
        };
        Ok(ops::conv_transpose1d(tape, x, &w, Some(&b), p)?)
    }
}

/// The two outputs of [`Acdae::forward_full`].
#[derive(Clone, Debug)]
pub struct AcdaeOutput {
    /// Denoised signal `[N, leads, L]`.
    pub denoised: Var<f32>,
    /// Bottleneck features `[N, 128, L/8]`.
    pub bottleneck: Var<f32>,
    /// Class logits `[N, classes]` when the net has a head.
    pub logits: Option<Var<f32>>,
}

/// Attention-based convolutional denoising autoencoder; see the module docs.
#[derive(Clone, Debug)]
pub struct Acdae {
    config: AcdaeConfig,
    /// enc1..enc4: Conv1d `[c_out, c_in, k]`.
    enc: Vec<ConvParams>,
    /// dec1..dec4: ConvTranspose1d `[c_in, c_out, k]`.
    dec: Vec<ConvParams>,
    /// eca1..eca3 after dec1..dec3 (empty without attention).
    eca: Vec<Eca>,
    /// gate3, gate2, gate1 in decoder order (empty without attention).
    gates: Vec<AttentionGate>,
    /// out: Conv1d 16 → leads, k 1.
    out: ConvParams,
    /// head: Linear 128 → classes.
    head: Option<Linear>,
    slope: f64,
}

impl Acdae {
    /// Builds the net with PyTorch-default initialisation drawn from `rng`.
    ///
    /// # Errors
    /// An invalid-parameter error for zero leads/channels/classes or an even kernel.
    pub fn new(config: AcdaeConfig, rng: &mut Rng) -> Result<Acdae> {
        if config.leads == 0 || config.channels.contains(&0) || config.classes == Some(0) {
            return Err(invalid(
                "Acdae",
                "config",
                format!("{config:?}"),
                "leads, channels and classes must be ≥ 1",
            ));
        }
        if let Some(k) = config.kernels.iter().find(|k| k.is_multiple_of(2)) {
            return Err(invalid(
                "Acdae",
                "kernels",
                k,
                "must be odd ('same' padding)",
            ));
        }
        let c = config.channels;
        let k = config.kernels;
        let ins = [config.leads, c[0], c[1], c[2]];
        let mut enc = Vec::new();
        for i in 0..4 {
            let shape = Shape::d3(c[i], ins[i], k[i]);
            enc.push(ConvParams::new(&format!("enc{}", i + 1), shape, c[i], rng)?);
        }
        // Decoder: dec1 128→64 (k of enc4), dec2 64→32 (k of enc3), dec3 32→16 (k of enc2),
        // dec4 16→16 (k of enc1). ConvTranspose1d weights are [c_in, c_out, k].
        let dec_io = [(c[3], c[2], k[3]), (c[2], c[1], k[2]), (c[1], c[0], k[1])];
        let mut dec = Vec::new();
        for (i, &(ci, co, kk)) in dec_io.iter().enumerate() {
            let name = format!("dec{}", i + 1);
            dec.push(ConvParams::new(&name, Shape::d3(ci, co, kk), co, rng)?);
        }
        dec.push(ConvParams::new(
            "dec4",
            Shape::d3(c[0], c[0], k[0]),
            c[0],
            rng,
        )?);
        let mut eca = Vec::new();
        let mut gates = Vec::new();
        if config.attention {
            for (i, &(_, co, _)) in dec_io.iter().enumerate() {
                let mut e = Eca::for_channels(co, rng)?;
                prefix_names(&mut e, &format!("eca{}", i + 1));
                eca.push(e);
            }
            // Skip 3 (c[2] channels) joins after dec1, skip 2 after dec2, skip 1 after dec3.
            for (skip, ch) in [(3, c[2]), (2, c[1]), (1, c[0])] {
                let mut g = AttentionGate::new(ch, ch, (ch / 2).max(1), rng)?;
                prefix_names(&mut g, &format!("gate{skip}"));
                gates.push(g);
            }
        }
        let out = ConvParams::new("out", Shape::d3(config.leads, c[0], 1), config.leads, rng)?;
        let head = match config.classes {
            Some(classes) => {
                let mut h = Linear::new(c[3], classes, true, rng)?;
                prefix_names(&mut h, "head");
                Some(h)
            }
            None => None,
        };
        Ok(Acdae {
            slope: config.slope,
            config,
            enc,
            dec,
            eca,
            gates,
            out,
            head,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &AcdaeConfig {
        &self.config
    }

    /// Denoised signal, bottleneck and (with a head) class logits, in one pass.
    ///
    /// # Errors
    /// An invalid-parameter error unless x is `[N, leads, L]` with L a positive multiple of 8.
    pub fn forward_full(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<AcdaeOutput> {
        self.run(tape, x, None)
    }

    /// The forward pass; pushes each gate's α into `maps` when given.
    fn run(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        mut maps: Option<&mut Vec<Tensor<f32>>>,
    ) -> Result<AcdaeOutput> {
        let (_, leads, l) = x.shape().dims3("Acdae", "x")?;
        if leads != self.config.leads || l == 0 || !l.is_multiple_of(8) {
            return Err(invalid(
                "Acdae",
                "x",
                x.shape(),
                format!(
                    "must be [N, {}, L] with L a positive multiple of 8 (three ×2 poolings)",
                    self.config.leads
                ),
            ));
        }
        let pool = Pool1dParams::new(2);
        let mut skips = Vec::new();
        let mut h = x.clone();
        for (i, conv) in self.enc.iter().enumerate() {
            if i > 0 {
                h = ops::max_pool1d(tape, &h, &pool)?;
            }
            h = conv.conv(tape, &h)?;
            h = ops::leaky_relu(tape, &h, self.slope)?;
            if i < 3 {
                skips.push(h.clone());
            }
        }
        let bottleneck = h.clone();
        let up = Upsample1dParams {
            scale: 2,
            mode: UpsampleMode::Linear,
        };
        for i in 0..3 {
            h = self.dec[i].conv_t(tape, &h)?;
            h = ops::leaky_relu(tape, &h, self.slope)?;
            if let Some(e) = self.eca.get(i) {
                h = e.forward(tape, &h)?;
            }
            h = ops::upsample1d(tape, &h, &up)?;
            let skip = &skips[2 - i];
            let passed = match self.gates.get(i) {
                Some(g) => {
                    let (passed, alpha) = g.forward(tape, skip, &h)?;
                    if let Some(m) = maps.as_deref_mut() {
                        m.push(alpha.value().clone());
                    }
                    passed
                }
                None => skip.clone(),
            };
            h = ops::add(tape, &h, &passed)?;
        }
        h = self.dec[3].conv_t(tape, &h)?;
        h = ops::leaky_relu(tape, &h, self.slope)?;
        let denoised = self.out.conv(tape, &h)?;
        let logits = match &self.head {
            Some(head) => {
                let f = ops::global_avg_pool1d(tape, &bottleneck)?;
                Some(head.forward(tape, &f)?)
            }
            None => None,
        };
        Ok(AcdaeOutput {
            denoised,
            bottleneck,
            logits,
        })
    }

    /// Attention maps α `[N, 1, L_k]` of the three gates (skip 3, 2, 1) for input x, computed on
    /// a `no_grad` tape; empty without attention.
    ///
    /// # Errors
    /// As [`Acdae::forward_full`].
    pub fn attention_maps(&self, x: &Tensor<f32>) -> Result<Vec<Tensor<f32>>> {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        let mut maps = Vec::new();
        self.run(&mut tape, &xv, Some(&mut maps))?;
        Ok(maps)
    }
}

impl Parameters<f32> for Acdae {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        for c in self.enc.iter_mut().chain(self.dec.iter_mut()) {
            f(&mut c.weight);
            f(&mut c.bias);
        }
        for e in &mut self.eca {
            e.visit_params(f);
        }
        for g in &mut self.gates {
            g.visit_params(f);
        }
        f(&mut self.out.weight);
        f(&mut self.out.bias);
        if let Some(h) = &mut self.head {
            h.visit_params(f);
        }
    }
}

impl Module for Acdae {
    /// The denoised signal `[N, leads, L]` (use [`Acdae::forward_full`] for the logits).
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(self.forward_full(tape, x)?.denoised)
    }
    fn describe(&self) -> String {
        format!(
            "Acdae(leads {}, channels {:?}, kernels {:?}, attention {}, head {:?})",
            self.config.leads,
            self.config.channels,
            self.config.kernels,
            self.config.attention,
            self.config.classes
        )
    }
}
