//! `Linear`: a fully connected layer, y = x·Wᵀ + b, with PyTorch's layout and names.
//!
//! Shapes: weight W `[out, in]` (`"weight"`), bias b `[out]` (`"bias"`); input `[n, in]` or
//! `[n, t, in]` (NTF: the same W applied at every time step, as PyTorch does for `[*, in]`),
//! output `[n, out]` or `[n, t, out]`.
//! Cost: 2·rows·in·out FLOPs forward (rows = n or n·t), twice that backward.
//! Gradients (from autograd's matmul and bias_add rules): dx = dy·W, dW = dyᵀ·x,
//! db = Σ_rows dy.
//!
//! The forward is composed of recorded ops: `matmul(x, W, trans_b = true)` (no transposed copy
//! of W), then the bias as a channel bias over a `[rows, out, 1]` view (free reshapes).

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// Fully connected layer (PyTorch `nn.Linear`).
#[derive(Clone, Debug)]
pub struct Linear {
    /// W `[out, in]`.
    pub weight: Param<f32>,
    /// b `[out]`, if the layer has a bias.
    pub bias: Option<Param<f32>>,
}

impl Linear {
    /// A layer with PyTorch's default initialisation (W and b from U(±1/√in)), drawn from `rng`
    /// (derive it with `Rng::stream(seed, "init")`).
    ///
    /// # Errors
    /// An invalid-parameter error if a size is zero.
    pub fn new(
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Linear> {
        let (w, b) = init::pytorch_default(Shape::d2(out_features, in_features), bias, rng)?;
        Linear::from_tensors(w, b)
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    ///
    /// # Errors
    /// A rank error if the weight is not a matrix; an invalid-parameter error if the bias is not
    /// `[out]` or a size is zero.
    pub fn from_tensors(weight: Tensor<f32>, bias: Option<Tensor<f32>>) -> Result<Linear> {
        let (out, inp) = weight.shape().dims2("Linear", "weight")?;
        if out == 0 || inp == 0 {
            return Err(invalid(
                "Linear",
                "weight",
                weight.shape(),
                "sizes must be ≥ 1",
            ));
        }
        if let Some(b) = &bias {
            if b.shape() != Shape::d1(out) {
                return Err(invalid(
                    "Linear",
                    "bias",
                    b.shape(),
                    format!("must be [{out}] (one per output feature)"),
                ));
            }
        }
        Ok(Linear {
            weight: Param::new("weight", weight),
            bias: bias.map(|b| Param::new("bias", b)),
        })
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.value.dims()[1]
    }
    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.value.dims()[0]
    }
}

impl Parameters<f32> for Linear {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for Linear {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let dims = x.shape().dims().to_vec();
        let (rows, leading) = match dims.as_slice() {
            [n, f] if *f == self.in_features() => (*n, vec![*n]),
            [n, t, f] if *f == self.in_features() => (n * t, vec![*n, *t]),
            _ => {
                return Err(invalid(
                    "Linear",
                    "input",
                    x.shape(),
                    format!(
                        "must be [n, {0}] or [n, t, {0}] (in_features = {0})",
                        self.in_features()
                    ),
                ));
            }
        };
        let out = self.out_features();
        let x2 = if leading.len() == 1 {
            x.clone()
        } else {
            ops::reshape(tape, x, Shape::d2(rows, self.in_features()))?
        };
        let w = tape.param(&self.weight);
        let mut y = ops::matmul(tape, &x2, &w, false, true)?;
        if let Some(bias) = &self.bias {
            let b = tape.param(bias);
            let y3 = ops::reshape(tape, &y, Shape::d3(rows, out, 1))?;
            y = ops::bias_add(tape, &y3, &b)?;
        }
        let mut final_dims = leading;
        final_dims.push(out);
        Ok(ops::reshape(tape, &y, Shape::new(&final_dims)?)?)
    }
    fn describe(&self) -> String {
        format!(
            "Linear({} → {}{})",
            self.in_features(),
            self.out_features(),
            if self.bias.is_some() { "" } else { ", no bias" }
        )
    }
}
