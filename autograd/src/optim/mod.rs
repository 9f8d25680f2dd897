//! Optimizers with PyTorch's exact update rules and defaults, gradient clipping, and
//! learning-rate schedules.
//!
//! Each optimizer keeps its state (momentum buffers, moment estimates, step counts) in a map
//! keyed by the parameter's dotted name, so the state follows a parameter however the model
//! visits them, and a checkpoint could save it by name. Parameters with `requires_grad = false`
//! or no gradient (`grad = None`) are skipped, as in PyTorch. Arithmetic runs in the parameter's
//! type T (PyTorch runs it in the parameter's dtype); bias corrections βᵗ are computed in f64.
//!
//! | optimizer | file | PyTorch defaults |
//! |---|---|---|
//! | SGD (momentum, dampening, Nesterov, weight decay) | `sgd.rs` | lr required, momentum 0 |
//! | Adam, AdamW (amsgrad optional) | `adam.rs` | lr 1e-3, β (0.9, 0.999), eps 1e-8, wd 0 / 1e-2 |
//! | Adagrad | `adagrad.rs` | lr 1e-2, lr_decay 0, initial accumulator 0, eps 1e-10 |
//! | Adadelta | `adadelta.rs` | lr 1.0, ρ 0.9, eps 1e-6 |
//! | RMSprop (momentum, centered) | `rmsprop.rs` | lr 1e-2, α 0.99, eps 1e-8 |

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod rmsprop;
pub mod schedule;
pub mod sgd;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{
    CosineAnnealingLr, ExponentialLr, LrSchedule, PlateauMode, ReduceLrOnPlateau, StepLr,
    ThresholdMode,
};
pub use sgd::{Sgd, SgdConfig};

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use crate::error::{Error, Result, invalid};
use crate::param::Parameters;

/// An optimizer: updates parameters from their accumulated gradients.
pub trait Optimizer<T: Real> {
    /// One update of every parameter that has a gradient.
    ///
    /// # Errors
    /// An invalid-parameter error if a parameter changed its element count since its state was
    /// created (a different tensor under the same name).
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()>;
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (schedules call this).
    fn set_lr(&mut self, lr: f64);
}

/// Calls `f(name, value, grad)` for every trainable parameter that has a gradient, stopping at
/// the first error.
pub(crate) fn for_each_grad<T: Real>(
    params: &mut dyn Parameters<T>,
    mut f: impl FnMut(&Arc<str>, &mut [T], &[T]) -> Result<()>,
) -> Result<()> {
    let mut result = Ok(());
    params.visit_params(&mut |p| {
        if result.is_err() || !p.requires_grad {
            return;
        }
        if let Some(g) = &p.grad {
            result = f(&p.name, p.value.data_mut(), g.data());
        }
    });
    result
}

/// The state of `name` in `states`, created by `init` on first use; errors if its size no
/// longer matches the parameter.
pub(crate) fn state_for<'a, S>(
    op: &'static str,
    states: &'a mut HashMap<Arc<str>, S>,
    name: &Arc<str>,
    numel: usize,
    init: impl FnOnce() -> S,
    len: impl Fn(&S) -> usize,
) -> Result<&'a mut S> {
    let s = states.entry(Arc::clone(name)).or_insert_with(init);
    if len(s) != numel {
        return Err(invalid(
            op,
            "parameter",
            name,
            format!(
                "has {numel} elements but its optimizer state has {}",
                len(s)
            ),
        ));
    }
    Ok(s)
}

/// Checks that a hyper-parameter is finite and ≥ 0.
pub(crate) fn non_negative(op: &'static str, name: &'static str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(op, name, v, "must be finite and ≥ 0"))
    }
}

/// Checks 0 ≤ v < 1 (β, ρ, α).
pub(crate) fn unit_interval(op: &'static str, name: &'static str, v: f64) -> Result<()> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(op, name, v, "must be in [0, 1)"))
    }
}

/// Rescales all gradients so their global L2 norm is at most `max_norm`, and returns the norm
/// before clipping (PyTorch's `clip_grad_norm_` with `norm_type = 2`).
///
/// ‖g‖ = √(Σ_params Σᵢ gᵢ²) (accumulated in f64, in visiting order, so deterministic); when
/// c = max_norm / (‖g‖ + 1e-6) < 1 every gradient is multiplied by c.
///
/// # Errors
/// An invalid-parameter error for a negative `max_norm`; [`Error::NonFinite`] if the norm is
/// NaN/∞ (PyTorch's `error_if_nonfinite = True`), naming the first offending parameter.
pub fn clip_grad_norm<T: Real>(params: &mut dyn Parameters<T>, max_norm: f64) -> Result<f64> {
    non_negative("clip_grad_norm", "max_norm", max_norm)?;
    let mut sq = 0.0f64;
    let mut bad: Option<(String, usize, f64)> = None;
    params.visit_params(&mut |p| {
        if let Some(g) = &p.grad {
            for (i, v) in g.data().iter().enumerate() {
                let v = v.to_f64();
                if !v.is_finite() && bad.is_none() {
                    bad = Some((p.name.to_string(), i, v));
                }
                sq += v * v;
            }
        }
    });
    if let Some((name, index, value)) = bad {
        return Err(Error::NonFinite {
            op: "clip_grad_norm",
            node: 0,
            what: format!("gradient of parameter {name}"),
            index,
            value,
        });
    }
    let norm = sq.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = T::from_f64(coef);
        params.visit_params(&mut |p| {
            if let Some(g) = &mut p.grad {
                g.data_mut().iter_mut().for_each(|v| *v *= c);
            }
        });
    }
    Ok(norm)
}

#[cfg(test)]
mod tests;
