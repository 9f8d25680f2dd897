//! The ECGSYN RR-interval process: a Gaussian random process whose power spectrum has two
//! Gaussian bumps, the LF (Mayer-wave, ≈ 0.1 Hz) and HF (respiratory sinus arrhythmia, ≈ 0.25 Hz)
//! peaks of heart-rate variability (McSharry et al. 2003; PhysioNet `ecgsyn.m`, `rrprocess`).
//!
//! S(f) = σ₁²/√(2πc₁²)·exp(−(f−f₁)²/(2c₁²)) + σ₂²/√(2πc₂²)·exp(−(f−f₂)²/(2c₂²)),
//! with σ₁²/σ₂² = LF/HF. A series with that spectrum is drawn by giving every frequency bin the
//! amplitude √S and a uniformly random phase, then inverse-transforming (our own FFT,
//! [`crate::data::signal::fft`]); the phases are mirrored (φ₋ₖ = −φₖ) so the result is real.
//! Finally the series is rescaled to the requested mean and standard deviation of RR:
//! rr = 60/hr_mean + x·(rr_std/std(x)), rr_std = 60·hr_std/hr_mean².
//!
//! Cost: one FFT of n = 2^⌈log₂(beats·RR)⌉ points, O(n log n) — negligible.

use crate::data::signal::fft::{Complex, fft_in_place, is_power_of_two};
use ecgrad_engine::Rng;
use std::f64::consts::PI;

/// Parameters of the RR process (defaults are ECGSYN's).
#[derive(Clone, Debug, PartialEq)]
pub struct RrParams {
    /// Mean heart rate in beats per minute (ECGSYN default 60).
    pub hr_mean: f64,
    /// Standard deviation of the heart rate in bpm (default 1).
    pub hr_std: f64,
    /// LF/HF power ratio σ₁²/σ₂² (default 0.5).
    pub lf_hf_ratio: f64,
    /// LF (Mayer wave) centre frequency, Hz (0.1).
    pub lf_hz: f64,
    /// HF (respiratory) centre frequency, Hz (0.25); also the baseline-wander frequency.
    pub hf_hz: f64,
    /// Width c₁ of the LF bump, Hz (0.01).
    pub lf_width_hz: f64,
    /// Width c₂ of the HF bump, Hz (0.01).
    pub hf_width_hz: f64,
}

impl Default for RrParams {
    fn default() -> Self {
        RrParams {
            hr_mean: 60.0,
            hr_std: 1.0,
            lf_hf_ratio: 0.5,
            lf_hz: 0.1,
            hf_hz: 0.25,
            lf_width_hz: 0.01,
            hf_width_hz: 0.01,
        }
    }
}

/// Draws `n` RR intervals (seconds) sampled at 1 Hz (`n` a power of two), following `rrprocess`
/// of `ecgsyn.m` step by step. The series is periodic with period n (it comes from an inverse
/// DFT), so callers may index it modulo n.
///
/// # Panics
/// If `n` is not a power of two or is < 4 (internal helper; [`super::generate`] validates).
pub fn rr_process(params: &RrParams, n: usize, rng: &mut Rng) -> Vec<f64> {
    assert!(is_power_of_two(n) && n >= 4, "rr_process: n = {n}");
    let sfrr = 1.0; // the RR series is sampled at 1 Hz, as in ecgsyn.m
    // Work in rad/s like the original: w = 2πf, widths likewise.
    let (w1, w2) = (2.0 * PI * params.lf_hz, 2.0 * PI * params.hf_hz);
    let (c1, c2) = (2.0 * PI * params.lf_width_hz, 2.0 * PI * params.hf_width_hz);
    let (sig2, sig1) = (1.0, params.lf_hf_ratio);
    let hw = |w: f64| {
        sig1 * (-0.5 * ((w - w1) / c1).powi(2)).exp() / (2.0 * PI * c1 * c1).sqrt()
            + sig2 * (-0.5 * ((w - w2) / c2).powi(2)).exp() / (2.0 * PI * c2 * c2).sqrt()
    };
    // Hw0 = [Hw(1:n/2); Hw(n/2:-1:1)]: bins 0..n/2 hold w_k = 2πk·sfrr/n, mirrored above n/2.
    let half = n / 2;
    let mut spectrum = vec![(0.0, 0.0); n];
    let phases: Vec<f64> = (1..half).map(|_| 2.0 * PI * rng.uniform()).collect();
    for k in 0..n {
        let kk = if k < half { k } else { n - 1 - k };
        let amplitude = (sfrr / 2.0) * hw(2.0 * PI * kk as f64 * sfrr / n as f64).sqrt();
        // ph = [0; φ(1..n/2−1); 0; −flip(φ)]: Hermitian symmetry so the inverse is real.
        let phase = if k == 0 || k == half {
            0.0
        } else if k < half {
            phases[k - 1]
        } else {
            -phases[n - k - 1]
        };
        spectrum[k] = (amplitude * phase.cos(), amplitude * phase.sin());
    }
    let mut x: Vec<Complex> = spectrum;
    fft_in_place(&mut x, true);
    let series: Vec<f64> = x.iter().map(|v| v.0 / n as f64).collect();
    // Rescale to the target mean and std (MATLAB std: n − 1 denominator).
    let mean = series.iter().sum::<f64>() / n as f64;
    let std = (series.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let rr_mean = 60.0 / params.hr_mean;
    let rr_std = 60.0 * params.hr_std / (params.hr_mean * params.hr_mean);
    let scale = if std > 0.0 { rr_std / std } else { 0.0 };
    series.iter().map(|v| rr_mean + v * scale).collect()
}

/// The RR value (s) at time `t` seconds: linear interpolation of the 1 Hz series, periodic.
/// (ecgsyn.m upsamples with MATLAB `interp`, a low-pass interpolator; on a signal this smooth
/// — nothing above 0.3 Hz — linear interpolation differs by a fraction of a millisecond.)
pub fn rr_at(series: &[f64], t: f64) -> f64 {
    let n = series.len();
    let i = t.floor();
    let frac = t - i;
    let i0 = (i as i64).rem_euclid(n as i64) as usize;
    let i1 = (i0 + 1) % n;
    series[i0] * (1.0 - frac) + series[i1] * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rr_series_has_the_requested_mean_std_and_spectral_peaks() {
        let params = RrParams {
            hr_mean: 75.0,
            hr_std: 3.0,
            ..RrParams::default()
        };
        let n = 1024;
        let rr = rr_process(&params, n, &mut Rng::new(11));
        let mean = rr.iter().sum::<f64>() / n as f64;
        let std = (rr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        assert!((mean - 0.8).abs() < 1e-12, "mean {mean}");
        assert!(
            (std - 60.0 * 3.0 / 75.0_f64.powi(2)).abs() < 1e-12,
            "std {std}"
        );
        // Power spectrum: the largest bin must sit at 0.25 Hz (HF, twice the LF power), the
        // largest below 0.18 Hz at 0.1 Hz (LF); bins far from both carry ~nothing.
        let mut x: Vec<Complex> = rr.iter().map(|v| (v - mean, 0.0)).collect();
        fft_in_place(&mut x, false);
        let power: Vec<f64> = x[..n / 2].iter().map(|c| c.0 * c.0 + c.1 * c.1).collect();
        let argmax = |lo: usize, hi: usize| {
            (lo..hi)
                .max_by(|&a, &b| power[a].total_cmp(&power[b]))
                .expect("invariant: non-empty range")
        };
        let f = |k: usize| k as f64 / n as f64;
        assert!((f(argmax(1, n / 2)) - 0.25).abs() < 0.02);
        assert!((f(argmax(1, 184)) - 0.1).abs() < 0.02);
        let total: f64 = power.iter().sum();
        let far: f64 = power[(0.4 * n as f64) as usize..].iter().sum();
        assert!(far < 1e-6 * total, "far power {far} of {total}");
    }
}
