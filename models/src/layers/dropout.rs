//! `Dropout`: inverted dropout with a seeded mask, identity in evaluation (PyTorch
//! `nn.Dropout`).
//!
//! Training: y = x ⊙ m, mᵢ = 1/(1 − p) with probability 1 − p, else 0 (so E\[y\] = x);
//! evaluation: y = x (nothing recorded, the generator does not advance).
//! Gradient: dx = dy ⊙ m. Any shape; cost one draw and one multiply per element.
//!
//! The masks come from the layer's own [`Rng`], built from a seed and the stream name
//! `"dropout"`, so a run is reproducible; every training-mode forward advances it (one uniform
//! per element, in order). Because [`Module::forward`] takes `&self`, the generator sits behind
//! a `Mutex` (uncontended; the layer stays `Send + Sync`). The generator state is not saved in
//! checkpoints (PyTorch does not save it either).

use std::sync::Mutex;

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// Dropout layer with drop probability `p`.
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    rng: Mutex<Rng>,
    training: bool,
}

impl Clone for Dropout {
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            rng: Mutex::new(self.rng.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            training: self.training,
        }
    }
}

impl Dropout {
    /// Drop probability `p` (0 ≤ p ≤ 1), masks from `Rng::stream(seed, "dropout")`; starts in
    /// training mode.
    ///
    /// # Errors
    /// An invalid-parameter error unless 0 ≤ p ≤ 1.
    pub fn new(p: f64, seed: u64) -> Result<Dropout> {
        Dropout::with_rng(p, Rng::stream(seed, "dropout"))
    }

    /// Drop probability `p` with masks from the given generator.
    ///
    /// # Errors
    /// An invalid-parameter error unless 0 ≤ p ≤ 1.
    pub fn with_rng(p: f64, rng: Rng) -> Result<Dropout> {
        if !(0.0..=1.0).contains(&p) {
            return Err(invalid("Dropout", "p", p, "must be in [0, 1]"));
        }
        Ok(Dropout {
            p,
            rng: Mutex::new(rng),
            training: true,
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl Parameters<f32> for Dropout {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Dropout {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Ok(ops::dropout(tape, x, self.p, &mut rng, true)?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn describe(&self) -> String {
        format!("Dropout(p = {})", self.p)
    }
}
