//! `Eca`: Efficient Channel Attention (Wang et al., ECA-Net, CVPR 2020) for NCL feature maps —
//! the channel reweighting of ACDAE's decoder.
//!
//! For x of shape `[N, C, L]` and a kernel w `[1, 1, k]` (k odd, no bias):
//!
//!   sₙ,c = (1/L) Σₗ xₙ,c,ₗ                      (global average pool: one number per channel)
//!   aₙ,c = σ( Σⱼ wⱼ · sₙ, c + j − (k−1)/2 )     (1D conv *across the channel axis*, zero padded)
//!   yₙ,c,ₗ = aₙ,c · xₙ,c,ₗ                       (each channel scaled by its gate)
//!
//! The conv over channels is "local cross-channel interaction": channel c's gate looks at its
//! k neighbours only, with k shared weights (no squeeze-excite bottleneck MLP). ECA-Net picks k
//! from C: t = ⌊(log₂C + b)/γ⌋ with γ = 2, b = 1, rounded up to odd ([`eca_kernel_size`]).
//!
//! Shapes: x `[N, C, L]` → y `[N, C, L]`; parameter `conv.weight` `[1, 1, k]` (PyTorch's ECA
//! module names its `nn.Conv1d(1, 1, k, bias=False)` `conv`).
//! Cost: N·C·L (pool) + 2·N·C·k (conv) + N·C (sigmoid) + N·C·L (scale) FLOPs — negligible next
//! to the convs it follows.
//!
//! Gradients (each from the recorded op that computes it):
//! - dx = dy ⊙ a + (dL/ds)/L broadcast over time (through the pool);
//! - da = Σₗ dy ⊙ x, then dz = da ⊙ a(1 − a) through the sigmoid;
//! - dw and ds from the conv1d rule on the `[N, 1, C]` view of s.
//!
//! How it is built: only existing recorded ops — `global_avg_pool1d`, `reshape` (free),
//! `conv1d`, `sigmoid`, then the gate is broadcast over time with a *nearest upsample by L*
//! (whose backward is exactly the sum over time that broadcasting needs) and applied with `mul`.
//! The broadcast costs one `[N, C, L]` buffer; a fused channel-scale op would avoid it.

use ecgrad_autograd::engine::{Real, Rng, Shape};
use ecgrad_autograd::ops::{Conv1dParams, Upsample1dParams, UpsampleMode};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// ECA-Net's adaptive kernel size for `channels` channels: t = ⌊(log₂C + 1)/2⌋, made odd
/// (t + 1 when t is even). C = 16, 32, 64 → 3; 128 → 5 (as in ECA-Net: k = 3 for the
/// small stages, 5 and more for the wide ones).
pub fn eca_kernel_size(channels: usize) -> usize {
    let c = channels.max(1) as f64;
    let t = ((c.log2() + 1.0) / 2.0).floor().max(1.0) as usize;
    if t.is_multiple_of(2) { t + 1 } else { t }
}

/// The ECA forward as a function of recorded ops, generic over the element type so the
/// gradient check runs it in f64 (the [`Eca`] layer calls it with f32).
///
/// `x` is `[N, C, L]`, `w` is `[1, 1, k]` with k odd.
///
/// # Errors
/// An invalid-parameter error if x is not rank 3 or k is even; the ops' shape errors.
pub fn eca<T: Real>(tape: &mut Tape<T>, x: &Var<T>, w: &Var<T>) -> Result<Var<T>> {
    let (n, c, l) = x.shape().dims3("Eca", "x")?;
    let k = w.shape().dims3("Eca", "weight")?.2;
    if k.is_multiple_of(2) {
        return Err(invalid("Eca", "kernel", k, "must be odd (centred conv)"));
    }
    let s = ops::global_avg_pool1d(tape, x)?; // [N, C]
    let s = ops::reshape(tape, &s, Shape::d3(n, 1, c))?; // channels become the "time" axis
    let conv = Conv1dParams {
        padding: (k - 1) / 2,
        ..Default::default()
    };
    let z = ops::conv1d(tape, &s, w, None, conv)?; // [N, 1, C]
    let a = ops::sigmoid(tape, &z)?;
    let a = ops::reshape(tape, &a, Shape::d3(n, c, 1))?;
    let a = if l == 1 {
        a
    } else {
        let up = Upsample1dParams {
            scale: l,
            mode: UpsampleMode::Nearest,
        };
        ops::upsample1d(tape, &a, &up)? // [N, C, L]: the gate repeated over time
    };
    Ok(ops::mul(tape, x, &a)?)
}

/// Efficient Channel Attention layer; see the module docs.
#[derive(Clone, Debug)]
pub struct Eca {
    /// The cross-channel kernel `[1, 1, k]`, named `conv.weight`.
    pub weight: Param<f32>,
}

impl Eca {
    /// An ECA layer with kernel size `k` (odd), initialised as PyTorch's `Conv1d(1, 1, k)`:
    /// U(±1/√k).
    ///
    /// # Errors
    /// An invalid-parameter error if `k` is zero or even.
    pub fn new(k: usize, rng: &mut Rng) -> Result<Eca> {
        if k == 0 || k.is_multiple_of(2) {
            return Err(invalid("Eca", "k", k, "must be odd and ≥ 1"));
        }
        let (w, _) = init::pytorch_default(Shape::d3(1, 1, k), false, rng)?;
        Ok(Eca {
            weight: Param::new("conv.weight", w),
        })
    }

    /// An ECA layer with ECA-Net's adaptive kernel size for `channels` ([`eca_kernel_size`]).
    ///
    /// # Errors
    /// As [`Eca::new`] (never for the adaptive size, which is always odd).
    pub fn for_channels(channels: usize, rng: &mut Rng) -> Result<Eca> {
        Eca::new(eca_kernel_size(channels), rng)
    }

    /// Kernel size k.
    pub fn kernel_size(&self) -> usize {
        self.weight.value.dims()[2]
    }
}

impl Parameters<f32> for Eca {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
    }
}

impl Module for Eca {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let w = tape.param(&self.weight);
        eca(tape, x, &w)
    }
    fn describe(&self) -> String {
        format!("Eca(k = {})", self.kernel_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_autograd::engine::Tensor;
    use ecgrad_autograd::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn adaptive_kernel_sizes_follow_eca_net() {
        let ks: Vec<usize> = [1, 2, 16, 32, 64, 128, 256, 512]
            .iter()
            .map(|&c| eca_kernel_size(c))
            .collect();
        assert_eq!(ks, vec![1, 1, 3, 3, 3, 5, 5, 5]);
    }

    #[test]
    fn eca_gradcheck_x_and_weight() {
        // Awkward: channels fewer than taps (C = 2 < k = 3), L = 1, and a typical shape.
        for (dims, k) in [
            ([2, 4, 5], 3),
            ([1, 2, 3], 3),
            ([3, 5, 1], 1),
            ([2, 6, 7], 5),
        ] {
            let x = random_tensor(&dims, -1.0, 1.0, 11);
            let w = random_tensor(&[1, 1, k], -1.0, 1.0, 12);
            assert_gradcheck(
                &format!("eca {dims:?} k={k}"),
                |t, v| Ok(eca(t, &v[0], &v[1]).expect("eca forward")),
                &[x, w],
                3,
            );
        }
    }

    #[test]
    fn eca_matches_hand_computation() {
        // N = 1, C = 3, L = 2, k = 3 with w = [1, 2, 3]:
        // s = [1.5, 0, -1]; z₀ = 2·1.5 + 3·0 = 3, z₁ = 1.5 + 0 − 3 = −1.5, z₂ = 0 + 2·(−1) = −2.
        let x = Tensor::from_vec(Shape::d3(1, 3, 2), vec![1.0f64, 2.0, -1.0, 1.0, -1.0, -1.0])
            .expect("test tensor");
        let w = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f64, 2.0, 3.0]).expect("test tensor");
        let mut tape = Tape::no_grad();
        let (xv, wv) = (tape.input(x.clone()), tape.input(w));
        let y = eca(&mut tape, &xv, &wv).expect("eca");
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let a = [sig(3.0), sig(-1.5), sig(-2.0)];
        for c in 0..3 {
            for l in 0..2 {
                let want = a[c] * x.data()[c * 2 + l];
                assert!((y.value().data()[c * 2 + l] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn even_kernel_is_an_error() {
        let mut rng = Rng::new(1);
        assert!(Eca::new(4, &mut rng).is_err());
        assert!(Eca::new(0, &mut rng).is_err());
        let e = Eca::for_channels(128, &mut rng).expect("eca");
        assert_eq!(e.kernel_size(), 5);
        assert_eq!(&*e.weight.name, "conv.weight");
    }
}
