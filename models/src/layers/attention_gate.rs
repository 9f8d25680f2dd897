//! `AttentionGate`: the additive attention gate of Attention U-Net (Oktay et al., 2018) for 1D
//! skip connections, as used on ACDAE's encoder→decoder skips.
//!
//! A skip feature map x `[N, Cx, L]` is weighted, position by position, by a gate computed from x
//! and a gating signal g `[N, Cg, L]` (the decoder feature at the same resolution):
//!
//!   q = ReLU(W_x ∗ x + W_g ∗ g + b_g)        (1×1 convs to Ci "inter" channels)
//!   αₙ,ₗ = σ(ψ ∗ q + b_ψ)                    (1×1 conv to one channel: α ∈ (0, 1) per time step)
//!   yₙ,c,ₗ = αₙ,ₗ · xₙ,c,ₗ                    (the same α for every channel of x)
//!
//! So the decoder decides *where in time* the encoder's detail is let through (e.g. around the
//! QRS complex, not in a noisy baseline). Our choices (the ACDAE paper's layer table is not
//! available, see PAPERS.md §B): W_x without bias and W_g with bias (the two biases would add up
//! to one), no batch norm inside the gate.
//!
//! Parameters (PyTorch-style names): `w_x.weight [Ci, Cx, 1]`, `w_g.weight [Ci, Cg, 1]`,
//! `w_g.bias [Ci]`, `psi.weight [1, Ci, 1]`, `psi.bias [1]`.
//! Cost: 2·N·L·Ci·(Cx + Cg + 1) FLOPs for the convs, plus O(N·L·(Ci + Cx)).
//!
//! Gradients (from the recorded ops): dx = dy ⊙ α + W_xᵀ dq; dg = W_gᵀ dq;
//! dα = Σ_c dy ⊙ x; dz = dα ⊙ α(1 − α); dq = ψᵀ dz ⊙ \[q > 0\]; weight gradients by the conv rule.
//!
//! How α is broadcast over channels: a 1×1 conv with a *constant* all-ones kernel `[Cx, 1, 1]`
//! copies the single channel Cx times, and its input gradient is exactly the channel sum that
//! broadcasting needs — no new op.

use ecgrad_autograd::engine::{Real, Rng, Shape, Tensor};
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;

/// The gate's parameters as tape variables (see [`attention_gate`]).
#[derive(Clone, Debug)]
pub struct GateVars<T: Real> {
    /// W_x `[Ci, Cx, 1]`.
    pub w_x: Var<T>,
    /// W_g `[Ci, Cg, 1]`.
    pub w_g: Var<T>,
    /// b_g `[Ci]`.
    pub b_g: Var<T>,
    /// ψ `[1, Ci, 1]`.
    pub psi_w: Var<T>,
    /// b_ψ `[1]`.
    pub psi_b: Var<T>,
}

/// The gate as a function of recorded ops, generic so it can be gradchecked in f64. Returns
/// (y `[N, Cx, L]`, α `[N, 1, L]`); α is returned for inspection (attention maps).
///
/// # Errors
/// An invalid-parameter error if x and g differ in batch size or length; the convs' shape
/// errors otherwise.
pub fn attention_gate<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    g: &Var<T>,
    p: &GateVars<T>,
) -> Result<(Var<T>, Var<T>)> {
    let (n, cx, l) = x.shape().dims3("AttentionGate", "x")?;
    let (ng, _, lg) = g.shape().dims3("AttentionGate", "g")?;
    if (ng, lg) != (n, l) {
        return Err(invalid(
            "AttentionGate",
            "g",
            g.shape(),
            format!("must have the batch size and length of x {}", x.shape()),
        ));
    }
    let one = Conv1dParams::default();
    let ax = ops::conv1d(tape, x, &p.w_x, None, one)?;
    let ag = ops::conv1d(tape, g, &p.w_g, Some(&p.b_g), one)?;
    let q = ops::add(tape, &ax, &ag)?;
    let q = ops::relu(tape, &q)?;
    let z = ops::conv1d(tape, &q, &p.psi_w, Some(&p.psi_b), one)?; // [N, 1, L]
    let alpha = ops::sigmoid(tape, &z)?;
    let wide = if cx == 1 {
        alpha.clone()
    } else {
        let ones = Tensor::from_vec(Shape::d3(cx, 1, 1), vec![T::ONE; cx])?;
        ops::conv1d(tape, &alpha, &Var::constant(ones), None, one)? // [N, Cx, L]
    };
    let y = ops::mul(tape, x, &wide)?;
    Ok((y, alpha))
}

/// Additive attention gate for a skip connection; see the module docs. It takes two inputs, so
/// it is not a [`Module`](crate::Module): call [`AttentionGate::forward`] with x and g.
#[derive(Clone, Debug)]
pub struct AttentionGate {
    /// W_x `[Ci, Cx, 1]` (`w_x.weight`).
    pub w_x: Param<f32>,
    /// W_g `[Ci, Cg, 1]` (`w_g.weight`).
    pub w_g: Param<f32>,
    /// b_g `[Ci]` (`w_g.bias`).
    pub b_g: Param<f32>,
    /// ψ `[1, Ci, 1]` (`psi.weight`).
    pub psi_w: Param<f32>,
    /// b_ψ `[1]` (`psi.bias`).
    pub psi_b: Param<f32>,
}

impl AttentionGate {
    /// A gate for a skip with `cx` channels, a gating signal with `cg` channels and `ci` inter
    /// channels, each 1×1 conv initialised as PyTorch's `Conv1d` default.
    ///
    /// # Errors
    /// An invalid-parameter error if a channel count is zero.
    pub fn new(cx: usize, cg: usize, ci: usize, rng: &mut Rng) -> Result<AttentionGate> {
        if cx == 0 || cg == 0 || ci == 0 {
            return Err(invalid(
                "AttentionGate",
                "channels",
                format!("cx {cx}, cg {cg}, ci {ci}"),
                "must all be ≥ 1",
            ));
        }
        let (w_x, _) = init::pytorch_default(Shape::d3(ci, cx, 1), false, rng)?;
        let (w_g, b_g) = init::pytorch_default(Shape::d3(ci, cg, 1), true, rng)?;
        let (psi_w, psi_b) = init::pytorch_default(Shape::d3(1, ci, 1), true, rng)?;
        let bias = |b: Option<Tensor<f32>>| b.expect("invariant: pytorch_default(bias = true)");
        Ok(AttentionGate {
            w_x: Param::new("w_x.weight", w_x),
            w_g: Param::new("w_g.weight", w_g),
            b_g: Param::new("w_g.bias", bias(b_g)),
            psi_w: Param::new("psi.weight", psi_w),
            psi_b: Param::new("psi.bias", bias(psi_b)),
        })
    }

    /// y = α ⊙ x with α from x and g (see the module docs); returns (y, α `[N, 1, L]`).
    ///
    /// # Errors
    /// As [`attention_gate`].
    pub fn forward(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        g: &Var<f32>,
    ) -> Result<(Var<f32>, Var<f32>)> {
        let vars = GateVars {
            w_x: tape.param(&self.w_x),
            w_g: tape.param(&self.w_g),
            b_g: tape.param(&self.b_g),
            psi_w: tape.param(&self.psi_w),
            psi_b: tape.param(&self.psi_b),
        };
        attention_gate(tape, x, g, &vars)
    }

    /// `"AttentionGate(x 32, g 32 → 16)"`.
    pub fn describe(&self) -> String {
        let d = self.w_x.value.dims();
        format!(
            "AttentionGate(x {}, g {} → {})",
            d[1],
            self.w_g.value.dims()[1],
            d[0]
        )
    }
}

impl Parameters<f32> for AttentionGate {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.w_x);
        f(&mut self.w_g);
        f(&mut self.b_g);
        f(&mut self.psi_w);
        f(&mut self.psi_b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_autograd::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn gate_gradcheck_every_input_and_parameter() {
        // (n, cx, cg, ci, l): a typical case, one-channel skip, length 1.
        for (n, cx, cg, ci, l) in [(2, 3, 4, 2, 5), (1, 1, 2, 3, 4), (2, 2, 2, 2, 1)] {
            let inputs = vec![
                random_tensor(&[n, cx, l], -1.0, 1.0, 1),
                random_tensor(&[n, cg, l], -1.0, 1.0, 2),
                random_tensor(&[ci, cx, 1], -1.0, 1.0, 3),
                random_tensor(&[ci, cg, 1], -1.0, 1.0, 4),
                // Biases away from making q exactly 0 (the ReLU kink).
                random_tensor(&[ci], 0.1, 0.5, 5),
                random_tensor(&[1, ci, 1], -1.0, 1.0, 6),
                random_tensor(&[1], -0.5, 0.5, 7),
            ];
            assert_gradcheck(
                &format!("attention gate n{n} cx{cx} cg{cg} ci{ci} l{l}"),
                |t, v| {
                    let p = GateVars {
                        w_x: v[2].clone(),
                        w_g: v[3].clone(),
                        b_g: v[4].clone(),
                        psi_w: v[5].clone(),
                        psi_b: v[6].clone(),
                    };
                    Ok(attention_gate(t, &v[0], &v[1], &p).expect("gate forward").0)
                },
                &inputs,
                9,
            );
        }
    }

    #[test]
    fn alpha_scales_every_channel_alike_and_lies_in_0_1() {
        let mut rng = Rng::new(5);
        let gate = AttentionGate::new(3, 2, 4, &mut rng).expect("gate");
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::from_vec(Shape::d3(1, 3, 4), vec![1.0; 12]).expect("x"));
        let g = tape.input(
            Tensor::from_vec(Shape::d3(1, 2, 4), (0..8).map(|i| i as f32).collect()).expect("g"),
        );
        let (y, a) = gate.forward(&mut tape, &x, &g).expect("forward");
        assert_eq!(a.shape(), Shape::d3(1, 1, 4));
        for l in 0..4 {
            let al = a.value().data()[l];
            assert!(al > 0.0 && al < 1.0);
            for c in 0..3 {
                assert_eq!(y.value().data()[c * 4 + l], al);
            }
        }
        let mismatched = tape.input(Tensor::zeros(Shape::d3(1, 2, 5)));
        assert!(gate.forward(&mut tape, &x, &mismatched).is_err());
    }
}
