//! Learning-rate schedules with PyTorch's formulas. The closed-form schedules give the rate for
//! an epoch (call `set_lr(schedule.lr_at(epoch))` at the start of each epoch, epoch 0 first);
//! [`ReduceLrOnPlateau`] reacts to a validation metric.
//!
//! - Step: lr = lr₀·γ^⌊e/s⌋.
//! - Exponential: lr = lr₀·γᵉ.
//! - Cosine annealing (no restarts): lr = η_min + (lr₀ − η_min)·(1 + cos(π·e/T_max))/2, PyTorch's
//!   closed form (past T_max it rises again along the same cosine, as PyTorch's does).
//! - Reduce on plateau: after more than `patience` epochs without improvement (relative or
//!   absolute threshold), lr ← max(lr·factor, min_lr), then `cooldown` epochs of rest.

use super::Optimizer;
use ecgrad_engine::Real;

/// A schedule whose rate depends only on the epoch.
pub trait LrSchedule {
    /// The learning rate for epoch `epoch` (0-based).
    fn lr_at(&self, epoch: usize) -> f64;
}

/// lr₀·γ^⌊e/step_size⌋ (PyTorch's `StepLR`).
#[derive(Clone, Debug, PartialEq)]
pub struct StepLr {
    /// Initial rate lr₀.
    pub base_lr: f64,
    /// Epochs between decays.
    pub step_size: usize,
    /// Decay factor γ (PyTorch default 0.1).
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        self.base_lr * self.gamma.powi((epoch / self.step_size.max(1)) as i32)
    }
}

/// lr₀·γᵉ (PyTorch's `ExponentialLR`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialLr {
    /// Initial rate lr₀.
    pub base_lr: f64,
    /// Decay factor per epoch γ.
    pub gamma: f64,
}

impl LrSchedule for ExponentialLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        self.base_lr * self.gamma.powi(epoch as i32)
    }
}

/// Cosine annealing from lr₀ to η_min over `t_max` epochs (PyTorch's `CosineAnnealingLR`).
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingLr {
    /// Initial rate lr₀.
    pub base_lr: f64,
    /// Half period T_max in epochs.
    pub t_max: usize,
    /// Minimum rate η_min (PyTorch default 0).
    pub eta_min: f64,
}

impl LrSchedule for CosineAnnealingLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max.max(1) as f64;
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }
}

/// Whether a smaller or a larger metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How `threshold` defines a significant improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than best·(1 ∓ threshold).
    Rel,
    /// Better than best ∓ threshold.
    Abs,
}

/// Reduces the learning rate when a metric stops improving (PyTorch's `ReduceLROnPlateau`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    /// Min or max.
    pub mode: PlateauMode,
    /// Multiplier on reduction (default 0.1).
    pub factor: f64,
    /// Epochs without improvement tolerated (default 10).
    pub patience: usize,
    /// Significance threshold (default 1e-4).
    pub threshold: f64,
    /// Relative or absolute threshold (default relative).
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting again (default 0).
    pub cooldown: usize,
    /// Lower bound on the rate (default 0).
    pub min_lr: f64,
    /// Reductions smaller than this are skipped (default 1e-8).
    pub eps: f64,
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
}

impl ReduceLrOnPlateau {
    /// PyTorch's defaults for the given mode.
    pub fn new(mode: PlateauMode) -> ReduceLrOnPlateau {
        ReduceLrOnPlateau {
            mode,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            best: match mode {
                PlateauMode::Min => f64::INFINITY,
                PlateauMode::Max => f64::NEG_INFINITY,
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
        }
    }

    fn is_better(&self, a: f64) -> bool {
        let (best, th) = (self.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - th),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - th,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (1.0 + th),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + th,
        }
    }

    /// Feeds one epoch's metric; lowers `optimizer`'s rate when the plateau is long enough.
    /// Returns the (possibly new) learning rate.
    pub fn step<T: Real>(&mut self, metric: f64, optimizer: &mut dyn Optimizer<T>) -> f64 {
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let old = optimizer.lr();
            let new = (old * self.factor).max(self.min_lr);
            if old - new > self.eps {
                optimizer.set_lr(new);
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        optimizer.lr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Sgd, SgdConfig};

    #[test]
    fn schedules_follow_pytorch_formulas() {
        let step = StepLr {
            base_lr: 0.1,
            step_size: 3,
            gamma: 0.5,
        };
        // epochs 0–2: 0.1, 3–5: 0.05, 6: 0.025.
        let got: Vec<f64> = (0..7).map(|e| step.lr_at(e)).collect();
        assert_eq!(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
        let exp = ExponentialLr {
            base_lr: 1.0,
            gamma: 0.5,
        };
        assert_eq!(exp.lr_at(3), 0.125);
        let cos = CosineAnnealingLr {
            base_lr: 1.0,
            t_max: 4,
            eta_min: 0.2,
        };
        // e = 0: 1; e = 2: 0.2 + 0.8·(1 + cos(π/2))/2 = 0.6; e = 4: 0.2.
        assert_eq!(cos.lr_at(0), 1.0);
        assert!((cos.lr_at(2) - 0.6).abs() < 1e-15);
        assert!((cos.lr_at(4) - 0.2).abs() < 1e-15);
    }

    #[test]
    fn reduce_on_plateau_waits_for_patience_then_cools_down() {
        let mut o = Sgd::<f64>::new(SgdConfig::new(1.0)).unwrap();
        let mut p = ReduceLrOnPlateau::new(PlateauMode::Min);
        p.patience = 2;
        p.cooldown = 1;
        p.factor = 0.5;
        // Epoch 1: 1.0 is best. Epochs 2, 3: no (relative) improvement → 2 bad epochs, not > 2.
        // Epoch 4: 3 bad > 2 → lr 0.5, cooldown 1. Epoch 5: bad but cooling down (counter → 0,
        // bad reset to 0). Epochs 6, 7: bad 1, 2. Epoch 8: bad 3 → lr 0.25.
        let metrics = [1.0, 1.0, 0.99995, 1.0, 1.0, 1.0, 1.0, 1.0];
        let lrs: Vec<f64> = metrics.iter().map(|&m| p.step(m, &mut o)).collect();
        assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]);
        // An improvement resets the count.
        let mut p = ReduceLrOnPlateau::new(PlateauMode::Max);
        p.patience = 0;
        assert_eq!(p.step(0.5, &mut o), 0.25);
        assert_eq!(p.step(0.6, &mut o), 0.25);
        assert!((p.step(0.6, &mut o) - 0.025).abs() < 1e-17);
    }
}
