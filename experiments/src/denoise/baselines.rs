//! Classical denoisers, the baselines of `table_00_denoising`, applied per lead:
//!
//! - [`bandpass_median`]: two-stage median baseline removal (200 ms then 600 ms medians; the
//!   baseline estimate is subtracted) followed by a zero-phase 2nd-order Butterworth band-pass
//!   0.5–40 Hz (`filtfilt`, so 4th order in effect, no phase shift). Removes baseline wander and
//!   out-of-band muscle noise; cannot touch in-band noise (white noise below 40 Hz, most of em).
//! - [`wavelet`]: db4, 5 levels, VisuShrink soft threshold ([`super::wavelet`]). Removes broadband
//!   noise; leaves baseline wander in the approximation.
//!
//! Both work in f64 and cost O(N·w) (median) and O(N) (filters, DWT) per lead.

use anyhow::Result;

use super::wavelet::wavelet_denoise;
use crate::data::signal::filter::{butterworth_bandpass, filtfilt, remove_baseline};

/// A classical method, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// Median baseline removal + band-pass 0.5–40 Hz.
    BandpassMedian,
    /// db4 wavelet soft threshold.
    Wavelet,
}

impl Baseline {
    /// Both baselines.
    pub const ALL: [Baseline; 2] = [Baseline::BandpassMedian, Baseline::Wavelet];
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::BandpassMedian => "bandpass+median",
            Baseline::Wavelet => "wavelet-db4-soft",
        }
    }
    /// Denoises one lead sampled at `fs`.
    ///
    /// # Errors
    /// Filter design errors for an `fs` at or below 80 Hz (the 40 Hz edge must be below Nyquist).
    pub fn apply(self, x: &[f32], fs: f64) -> Result<Vec<f32>> {
        match self {
            Baseline::BandpassMedian => bandpass_median(x, fs),
            Baseline::Wavelet => Ok(wavelet(x)),
        }
    }
}

/// Median baseline removal, then zero-phase Butterworth band-pass 0.5–40 Hz (order 2).
///
/// # Errors
/// As [`Baseline::apply`].
pub fn bandpass_median(x: &[f32], fs: f64) -> Result<Vec<f32>> {
    let v: Vec<f64> = x.iter().map(|&s| s as f64).collect();
    let v = remove_baseline(&v, fs)?;
    let sos = butterworth_bandpass(2, 0.5, 40.0, fs)?;
    Ok(filtfilt(&sos, &v).into_iter().map(|s| s as f32).collect())
}

/// db4 VisuShrink over 5 levels.
pub fn wavelet(x: &[f32]) -> Vec<f32> {
    let v: Vec<f64> = x.iter().map(|&s| s as f64).collect();
    wavelet_denoise(&v, 5)
        .0
        .into_iter()
        .map(|s| s as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::dataset::mitbih_like_record;
    use crate::metrics::denoise_scores;
    use ecgrad_engine::rng::Rng;

    #[test]
    fn both_baselines_improve_snr_on_a_synthetic_case() {
        let rec = mitbih_like_record(8, [1.0, 0.0, 0.0, 0.0, 0.0], 4).expect("record");
        let clean: Vec<f32> = rec.signals.row(0).iter().take(1800).copied().collect();
        let fs = 360.0;
        let mut rng = Rng::new(9);
        // White noise (0.15 mV) plus a 0.3 Hz baseline wander of 0.5 mV.
        let noisy: Vec<f32> = clean
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let t = i as f64 / fs;
                c + (0.15 * rng.normal() + 0.5 * (2.0 * std::f64::consts::PI * 0.3 * t).sin())
                    as f32
            })
            .collect();
        // White noise only, for the wavelet (it does not target baseline wander).
        let mut rng = Rng::new(10);
        let white: Vec<f32> = clean
            .iter()
            .map(|&c| c + (0.15 * rng.normal()) as f32)
            .collect();
        let bp = bandpass_median(&noisy, fs).expect("bandpass");
        let m = denoise_scores(&clean, &noisy, &bp).expect("scores");
        assert!(m.snr_improvement > 5.0, "band-pass+median: {m:?}");
        let wv = wavelet(&white);
        let m = denoise_scores(&clean, &white, &wv).expect("scores");
        assert!(m.snr_improvement > 3.0, "wavelet: {m:?}");
    }
}
