//! Calibration of an activation scale: observe |x| over a few batches, then pick the clip.
//!
//! `Max` keeps every value representable (no clipping, coarser steps if there are outliers);
//! `Percentile(p)` clips the top `100 − p` % of magnitudes to make the steps finer for the rest.
//! The observer keeps every |x| it sees (calibration uses a few batches: for BeatCnn's widest
//! activation, 4 batches of 32 beats are ≈ 0.8 M values, 3 MB), and the percentile is an exact
//! order statistic (`select_nth_unstable`), not a histogram estimate.

use crate::error::{Error, Result};

/// How the clip value of an activation is chosen from the observed magnitudes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Calibration {
    /// clip = the largest |x| observed.
    Max,
    /// clip = the given percentile (0 < p ≤ 100) of the observed |x|, e.g. 99.99.
    Percentile(f64),
}

/// Collects the magnitudes of the activations seen during calibration.
#[derive(Clone, Debug, Default)]
pub struct AbsObserver {
    values: Vec<f32>,
    max: f32,
}

impl AbsObserver {
    /// An empty observer.
    pub fn new() -> AbsObserver {
        AbsObserver::default()
    }

    /// Records |x| for every element (non-finite values are skipped).
    pub fn observe(&mut self, x: &[f32]) {
        for v in x.iter().filter(|v| v.is_finite()).map(|v| v.abs()) {
            self.max = self.max.max(v);
            self.values.push(v);
        }
    }

    /// Number of values observed.
    pub fn count(&self) -> usize {
        self.values.len()
    }

    /// The clip value chosen by `how`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if nothing was observed or the percentile is outside (0, 100].
    pub fn clip(&self, how: Calibration) -> Result<f32> {
        if self.values.is_empty() {
            return Err(Error::InvalidParam {
                op: "AbsObserver::clip",
                name: "observations",
                value: "0".into(),
                why: "run calibration batches through the model first".into(),
            });
        }
        match how {
            Calibration::Max => Ok(self.max),
            Calibration::Percentile(p) => {
                if !(p > 0.0 && p <= 100.0) {
                    return Err(Error::InvalidParam {
                        op: "AbsObserver::clip",
                        name: "percentile",
                        value: p.to_string(),
                        why: "must be in (0, 100]".into(),
                    });
                }
                // Nearest-rank percentile: the ⌈p/100·n⌉-th smallest value.
                let n = self.values.len();
                let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
                let mut v = self.values.clone();
                let (_, kth, _) = v.select_nth_unstable_by(rank - 1, f32::total_cmp);
                Ok(*kth)
            }
        }
    }

    /// The activation scale `clip / 127` (see [`super::scale_for`]).
    ///
    /// # Errors
    /// As [`AbsObserver::clip`].
    pub fn scale(&self, how: Calibration) -> Result<f32> {
        Ok(super::scale_for(self.clip(how)?))
    }
}
