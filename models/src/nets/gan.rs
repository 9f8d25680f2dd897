//! `Gan1d`: a DCGAN-style 1D generator and discriminator for one-class beat synthesis (seed
//! 003's GAN augmentation of minority classes), and [`gan_step`], one training step with two
//! optimizers and `detach`.
//!
//! # Networks (beat length 187, MIT-BIH/Kaggle beats scaled to [−1, 1])
//! ```text
//! Generator      z [N, Z] → Linear(Z → 64·24) → reshape [N, 64, 24] → LeakyReLU(0.2)
//!                → ConvT1d 64→32, k4 s2 p1 → [N, 32, 48] → LeakyReLU
//!                → ConvT1d 32→16, k4 s2 p1 → [N, 16, 96] → LeakyReLU
//!                → ConvT1d 16→8,  k4 s2 p1 → [N,  8, 192] → LeakyReLU
//!                → Conv1d   8→1,  k6 (valid) → [N, 1, 187] → tanh
//! Discriminator  x [N, 1, 187] → Conv1d 1→16, k4 s2 p1 → [N, 16, 93] → LeakyReLU(0.2)
//!                → Conv1d 16→32, k4 s2 p1 → [N, 32, 46] → LeakyReLU
//!                → Conv1d 32→64, k4 s2 p1 → [N, 64, 23] → LeakyReLU
//!                → flatten → Linear(64·23 → 1): one logit (BCE) or critic score (WGAN)
//! ```
//! DCGAN's ingredients kept: strided (transposed) convs instead of pooling, LeakyReLU(0.2) in the
//! discriminator, tanh output, N(0, 0.02) weight init, Adam(β₁ = 0.5). Left out (our choice): batch
//! norm (no BN layer in this crate yet; the nets are small enough to train without it).
//!
//! # Losses ([`GanLoss`])
//! - `Bce`: the non-saturating GAN. D minimises BCE(D(x), 1) + BCE(D(G(z)), 0); G minimises
//!   BCE(D(G(z)), 1).
//! - `WganClip`: Wasserstein GAN with **weight clipping** (Arjovsky et al. 2017): the critic
//!   minimises mean D(G(z)) − mean D(x), and after each critic step every critic parameter is
//!   clipped to [−c, c]; G minimises −mean D(G(z)). The critic takes `n_critic` steps per G step.
//!
//!   **Why not WGAN-GP.** The gradient penalty (‖∇ₓ D(x̂)‖ − 1)² needs the gradient of a gradient:
//!   ∇ₓD must itself be a recorded function of the critic's weights. Our tape's backward rules
//!   (`Backward::backward`) take and return plain tensors; they record nothing, so there is no
//!   double backward. Weight clipping enforces the Lipschitz bound crudely (it is what the
//!   original WGAN did); that is what is implemented, not GP.
//!
//! # Detach and the two optimizers
//! The D step draws G(z) on its tape and cuts it with `Tape::detach`, so D's loss sends no
//! gradient into G (and G's backward is never computed). The G step freezes D's parameters
//! (`requires_grad = false`, so no weight gradients are computed for D) and lets the gradient
//! flow *through* D into G. Each net has its own optimizer.
//!
//! # Cost
//! Generator ≈ 2·(Z·1536 + 48·32·64·4 + 96·16·32·4 + 192·8·16·4 + 187·8·6) ≈ 1.5 MFLOP per beat;
//! discriminator ≈ 1.3 MFLOP per beat.

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::loss::{Reduction, bce_with_logits};
use ecgrad_autograd::ops::{Conv1dParams, ConvTranspose1dParams};
use ecgrad_autograd::{Optimizer, Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::layers::Linear;
use crate::module::{Module, prefix_names, set_requires_grad};

/// Length of a generated beat.
pub const BEAT_LEN: usize = 187;
const SLOPE: f64 = 0.2;

/// Sizes of [`Generator`] and [`Discriminator`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gan1dConfig {
    /// Latent dimension Z.
    pub latent: usize,
}

impl Default for Gan1dConfig {
    fn default() -> Self {
        Gan1dConfig { latent: 32 }
    }
}

/// The adversarial loss; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GanLoss {
    /// Non-saturating GAN with binary cross-entropy on logits.
    Bce,
    /// Wasserstein GAN with weight clipping to [−clip, clip] and `n_critic` critic steps per
    /// generator step (Arjovsky et al.: clip 0.01, n_critic 5).
    WganClip {
        /// Clipping bound c.
        clip: f32,
        /// Critic steps per generator step.
        n_critic: usize,
    },
}

/// A conv weight `[a, b, k]` drawn from N(0, 0.02) (DCGAN) and a zero bias `[out]`.
fn dcgan_conv(
    name: &str,
    shape: Shape,
    out: usize,
    rng: &mut Rng,
) -> Result<(Param<f32>, Param<f32>)> {
    let w = init::normal(shape, 0.0, 0.02, rng)?;
    Ok((
        Param::new(format!("{name}.weight"), w),
        Param::new(format!("{name}.bias"), Tensor::zeros(Shape::d1(out))),
    ))
}

/// DCGAN-style 1D generator: z `[N, Z]` → beat `[N, 1, 187]` in (−1, 1).
#[derive(Clone, Debug)]
pub struct Generator {
    fc: Linear,
    /// (weight `[c_in, c_out, 4]`, bias) of the three transposed convs.
    up: Vec<(Param<f32>, Param<f32>)>,
    out: (Param<f32>, Param<f32>),
    latent: usize,
}

impl Generator {
    /// A generator with DCGAN initialisation; parameter names start with `gen.`.
    ///
    /// # Errors
    /// An invalid-parameter error for a zero latent size.
    pub fn new(config: Gan1dConfig, rng: &mut Rng) -> Result<Generator> {
        if config.latent == 0 {
            return Err(invalid("Generator", "latent", 0, "must be ≥ 1"));
        }
        let w = init::normal(Shape::d2(64 * 24, config.latent), 0.0, 0.02, rng)?;
        let mut fc = Linear::from_tensors(w, Some(Tensor::zeros(Shape::d1(64 * 24))))?;
        prefix_names(&mut fc, "gen.fc");
        let mut up = Vec::new();
        for (i, (ci, co)) in [(64, 32), (32, 16), (16, 8)].into_iter().enumerate() {
            up.push(dcgan_conv(
                &format!("gen.up{}", i + 1),
                Shape::d3(ci, co, 4),
                co,
                rng,
            )?);
        }
        let out = dcgan_conv("gen.out", Shape::d3(1, 8, 6), 1, rng)?;
        Ok(Generator {
            fc,
            up,
            out,
            latent: config.latent,
        })
    }

    /// Latent dimension Z.
    pub fn latent(&self) -> usize {
        self.latent
    }

    /// `n` latent vectors from N(0, I), `[n, Z]`.
    ///
    /// # Errors
    /// Never in practice (the length matches by construction).
    pub fn sample_latent(&self, n: usize, rng: &mut Rng) -> Result<Tensor<f32>> {
        let data = (0..n * self.latent).map(|_| rng.normal() as f32).collect();
        Ok(Tensor::from_vec(Shape::d2(n, self.latent), data)?)
    }

    /// Generates `n` beats `[n, 1, 187]` on a `no_grad` tape.
    ///
    /// # Errors
    /// As [`Module::forward`].
    pub fn generate(&self, n: usize, rng: &mut Rng) -> Result<Tensor<f32>> {
        let mut tape = Tape::no_grad();
        let z = tape.input(self.sample_latent(n, rng)?);
        Ok(self.forward(&mut tape, &z)?.value().clone())
    }
}

impl Parameters<f32> for Generator {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.fc.visit_params(f);
        for (w, b) in &mut self.up {
            f(w);
            f(b);
        }
        f(&mut self.out.0);
        f(&mut self.out.1);
    }
}

impl Module for Generator {
    fn forward(&self, tape: &mut Tape<f32>, z: &Var<f32>) -> Result<Var<f32>> {
        let (n, _) = z.shape().dims2("Generator", "z")?;
        let h = self.fc.forward(tape, z)?;
        let mut h = ops::reshape(tape, &h, Shape::d3(n, 64, 24))?;
        h = ops::leaky_relu(tape, &h, SLOPE)?;
        let p = ConvTranspose1dParams {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        for (w, b) in &self.up {
            let (w, b) = (tape.param(w), tape.param(b));
            h = ops::conv_transpose1d(tape, &h, &w, Some(&b), p)?;
            h = ops::leaky_relu(tape, &h, SLOPE)?;
        }
        let (w, b) = (tape.param(&self.out.0), tape.param(&self.out.1));
        let h = ops::conv1d(tape, &h, &w, Some(&b), Conv1dParams::default())?; // 192 − 5 = 187
        Ok(ops::tanh(tape, &h)?)
    }
    fn describe(&self) -> String {
        format!("Generator(z {} → [1, {BEAT_LEN}])", self.latent)
    }
}

/// DCGAN-style 1D discriminator (or WGAN critic): beat `[N, 1, 187]` → score `[N, 1]`.
#[derive(Clone, Debug)]
pub struct Discriminator {
    convs: Vec<(Param<f32>, Param<f32>)>,
    fc: Linear,
}

impl Discriminator {
    /// A discriminator with DCGAN initialisation; parameter names start with `disc.`.
    ///
    /// # Errors
    /// Never for the fixed sizes (initialiser errors are propagated).
    pub fn new(rng: &mut Rng) -> Result<Discriminator> {
        let mut convs = Vec::new();
        for (i, (ci, co)) in [(1, 16), (16, 32), (32, 64)].into_iter().enumerate() {
            convs.push(dcgan_conv(
                &format!("disc.conv{}", i + 1),
                Shape::d3(co, ci, 4),
                co,
                rng,
            )?);
        }
        let w = init::normal(Shape::d2(1, 64 * 23), 0.0, 0.02, rng)?;
        let mut fc = Linear::from_tensors(w, Some(Tensor::zeros(Shape::d1(1))))?;
        prefix_names(&mut fc, "disc.fc");
        Ok(Discriminator { convs, fc })
    }

    /// Clips every parameter to [−c, c] (the WGAN critic's Lipschitz constraint).
    pub fn clip_weights(&mut self, c: f32) {
        self.visit_params(&mut |p| {
            for v in p.value.data_mut() {
                *v = v.clamp(-c, c);
            }
        });
    }
}

impl Parameters<f32> for Discriminator {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        for (w, b) in &mut self.convs {
            f(w);
            f(b);
        }
        self.fc.visit_params(f);
    }
}

impl Module for Discriminator {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let (n, c, l) = x.shape().dims3("Discriminator", "x")?;
        if (c, l) != (1, BEAT_LEN) {
            return Err(invalid(
                "Discriminator",
                "x",
                x.shape(),
                format!("must be [N, 1, {BEAT_LEN}]"),
            ));
        }
        let p = Conv1dParams {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let mut h = x.clone();
        for (w, b) in &self.convs {
            let (w, b) = (tape.param(w), tape.param(b));
            h = ops::conv1d(tape, &h, &w, Some(&b), p)?;
            h = ops::leaky_relu(tape, &h, SLOPE)?;
        }
        let h = ops::reshape(tape, &h, Shape::d2(n, 64 * 23))?;
        self.fc.forward(tape, &h)
    }
    fn describe(&self) -> String {
        format!("Discriminator([1, {BEAT_LEN}] → 1)")
    }
}

/// Losses of one [`gan_step`] (the last critic step's loss for WGAN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GanStepStats {
    /// Discriminator (critic) loss.
    pub d_loss: f32,
    /// Generator loss.
    pub g_loss: f32,
}

/// D's loss on a real batch and a (detached) fake batch.
fn d_loss(tape: &mut Tape<f32>, dr: &Var<f32>, df: &Var<f32>, loss: GanLoss) -> Result<Var<f32>> {
    let n = dr.shape().dims()[0];
    Ok(match loss {
        GanLoss::Bce => {
            let ones = Tensor::from_vec(Shape::d2(n, 1), vec![1.0; n])?;
            let zeros = Tensor::zeros(df.shape());
            let lr = bce_with_logits(tape, dr, &ones, None, Reduction::Mean)?;
            let lf = bce_with_logits(tape, df, &zeros, None, Reduction::Mean)?;
            ops::add(tape, &lr, &lf)?
        }
        GanLoss::WganClip { .. } => {
            let mr = ops::mean(tape, dr)?;
            let mf = ops::mean(tape, df)?;
            ops::sub(tape, &mf, &mr)?
        }
    })
}

/// One training step: D (the critic: `n_critic` times for WGAN) on `real` `[N, 1, 187]` versus
/// detached fakes, then G through a frozen D; each with its own optimizer. Gradients are zeroed
/// before each update, so the nets' `Param::grad` need no care from the caller.
///
/// # Errors
/// Shape errors if `real` is not `[N, 1, 187]`; backward's non-finite-loss errors.
pub fn gan_step(
    gen_net: &mut Generator,
    disc: &mut Discriminator,
    opt_g: &mut dyn Optimizer<f32>,
    opt_d: &mut dyn Optimizer<f32>,
    real: &Tensor<f32>,
    loss: GanLoss,
    rng: &mut Rng,
) -> Result<GanStepStats> {
    let n = real.shape().dims3("gan_step", "real")?.0;
    let d_steps = match loss {
        GanLoss::Bce => 1,
        GanLoss::WganClip { n_critic, .. } => n_critic.max(1),
    };
    let mut d_value = 0.0;
    for _ in 0..d_steps {
        let grads = {
            let mut tape = Tape::new();
            let z = tape.input(gen_net.sample_latent(n, rng)?);
            let fake = gen_net.forward(&mut tape, &z)?;
            // Cut the graph: D's loss must not reach G's weights.
            let fake = tape.detach(&fake);
            let xr = tape.input(real.clone());
            let dr = disc.forward(&mut tape, &xr)?;
            let df = disc.forward(&mut tape, &fake)?;
            let l = d_loss(&mut tape, &dr, &df, loss)?;
            d_value = l.value().data()[0];
            tape.backward(&l)?
        };
        disc.zero_grad();
        grads.accumulate_into(disc)?;
        opt_d.step(disc)?;
        if let GanLoss::WganClip { clip, .. } = loss {
            disc.clip_weights(clip);
        }
    }
    // G step: D frozen (no weight gradients), the gradient flows through D into G.
    set_requires_grad(disc, false);
    let result = (|| -> Result<f32> {
        let grads = {
            let mut tape = Tape::new();
            let z = tape.input(gen_net.sample_latent(n, rng)?);
            let fake = gen_net.forward(&mut tape, &z)?;
            let df = disc.forward(&mut tape, &fake)?;
            let l = match loss {
                GanLoss::Bce => {
                    let ones = Tensor::from_vec(Shape::d2(n, 1), vec![1.0; n])?;
                    bce_with_logits(&mut tape, &df, &ones, None, Reduction::Mean)?
                }
                GanLoss::WganClip { .. } => {
                    let m = ops::mean(&mut tape, &df)?;
                    ops::scale(&mut tape, &m, -1.0)?
                }
            };
            let value = l.value().data()[0];
            let g = tape.backward(&l)?;
            (g, value)
        };
        gen_net.zero_grad();
        grads.0.accumulate_into(gen_net)?;
        opt_g.step(gen_net)?;
        Ok(grads.1)
    })();
    set_requires_grad(disc, true);
    Ok(GanStepStats {
        d_loss: d_value,
        g_loss: result?,
    })
}
