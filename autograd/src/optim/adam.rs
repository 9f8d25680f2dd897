//! Adam and AdamW, exactly as PyTorch's `torch.optim.Adam` / `AdamW` (one struct, a flag).
//!
//! With step t (per parameter), g = ∇ (+ wd·θ for Adam), and for AdamW first θ ← θ·(1 − lr·wd):
//!
//!   m ← m + (1 − β₁)(g − m)            (PyTorch's `lerp`, = β₁m + (1 − β₁)g)
//!   v ← β₂v + (1 − β₂)g²
//!   v̂ₘₐₓ ← max(v̂ₘₐₓ, v)  (amsgrad only; then v̂ₘₐₓ replaces v below)
//!   θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//!
//! Note where ε sits: added **after** dividing √v by the bias correction, as PyTorch does.

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use super::{Optimizer, for_each_grad, non_negative, state_for, unit_interval};
use crate::error::Result;
use crate::param::Parameters;

/// Adam/AdamW hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε (default 1e-8).
    pub eps: f64,
    /// Weight decay: coupled L2 for Adam (default 0), decoupled for AdamW (default 1e-2).
    pub weight_decay: f64,
    /// Use the running maximum of v (default false).
    pub amsgrad: bool,
    /// Decoupled weight decay (AdamW).
    pub decoupled: bool,
}

impl AdamConfig {
    /// PyTorch's `Adam` defaults.
    pub fn adam() -> AdamConfig {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled: false,
        }
    }
    /// PyTorch's `AdamW` defaults (weight decay 1e-2, decoupled).
    pub fn adamw() -> AdamConfig {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled: true,
            ..AdamConfig::adam()
        }
    }
}

/// Per-parameter state: step count, first and second moments, max of v (amsgrad).
#[derive(Debug)]
struct AdamState<T> {
    t: u64,
    m: Vec<T>,
    v: Vec<T>,
    v_max: Vec<T>,
}

/// The Adam/AdamW optimizer.
#[derive(Debug)]
pub struct Adam<T: Real> {
    config: AdamConfig,
    states: HashMap<Arc<str>, AdamState<T>>,
}

impl<T: Real> Adam<T> {
    /// A new optimizer.
    ///
    /// # Errors
    /// Negative lr/eps/weight decay, or β outside [0, 1).
    pub fn new(config: AdamConfig) -> Result<Adam<T>> {
        non_negative("Adam", "lr", config.lr)?;
        non_negative("Adam", "eps", config.eps)?;
        non_negative("Adam", "weight_decay", config.weight_decay)?;
        unit_interval("Adam", "beta1", config.betas.0)?;
        unit_interval("Adam", "beta2", config.betas.1)?;
        Ok(Adam {
            config,
            states: HashMap::new(),
        })
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()> {
        let c = &self.config;
        let (b1, b2) = c.betas;
        let (one_minus_b1, beta2, one_minus_b2) = (
            T::from_f64(1.0 - b1),
            T::from_f64(b2),
            T::from_f64(1.0 - b2),
        );
        let (eps, wd) = (T::from_f64(c.eps), T::from_f64(c.weight_decay));
        let decay = T::from_f64(1.0 - c.lr * c.weight_decay);
        let states = &mut self.states;
        for_each_grad(params, |name, theta, grad| {
            let n = theta.len();
            let s = state_for(
                "Adam",
                states,
                name,
                n,
                || AdamState {
                    t: 0,
                    m: vec![T::ZERO; n],
                    v: vec![T::ZERO; n],
                    v_max: Vec::new(),
                },
                |s| s.m.len(),
            )?;
            s.t += 1;
            if c.amsgrad && s.v_max.len() != n {
                s.v_max = vec![T::ZERO; n];
            }
            // Bias corrections in f64, as PyTorch computes them on Python floats.
            let t = s.t as f64;
            let step_size = T::from_f64(c.lr / (1.0 - b1.powf(t)));
            let bc2_sqrt = T::from_f64((1.0 - b2.powf(t)).sqrt());
            for i in 0..n {
                let mut g = grad[i];
                if c.weight_decay != 0.0 {
                    if c.decoupled {
                        theta[i] *= decay;
                    } else {
                        g += wd * theta[i];
                    }
                }
                let m = s.m[i];
                s.m[i] = m + one_minus_b1 * (g - m);
                s.v[i] = beta2 * s.v[i] + one_minus_b2 * g * g;
                let v = if c.amsgrad {
                    s.v_max[i] = s.v_max[i].max(s.v[i]);
                    s.v_max[i]
                } else {
                    s.v[i]
                };
                let denom = v.sqrt() / bc2_sqrt + eps;
                theta[i] -= step_size * s.m[i] / denom;
            }
            Ok(())
        })
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
