//! Signal augmentation as seed 000 prescribes for ECG: **time-warping, amplitude scaling and
//! additive noise — never flips** (a time-reversed or inverted ECG is not a plausible ECG: the
//! P–QRS–T order and the polarities carry the diagnosis).
//!
//! - Time warp (Um et al. 2017): the window is resampled along a smooth random time axis. The
//!   local speed is 1 + σ·ε at `knots` evenly spaced points (ε ~ N(0,1), speed clamped to
//!   [0.5, 1.5]), linearly interpolated, integrated into a monotone map τ(t), and rescaled so
//!   τ(0) = 0 and τ(L−1) = L−1: the length and both ends stay, durations inside change by
//!   ≈ ±σ. Samples are read at τ(t) by linear interpolation.
//! - Amplitude scaling: one factor s ~ N(1, σ²), clamped to [0.5, 1.5], for all channels.
//! - Additive noise: white Gaussian noise at a target power-ratio SNR
//!   (10·log10(mean(x²)/σ_n²)), per channel.
//!
//! All channels of a window share the warp and the scale (the leads are one heartbeat).
//! Randomness comes from the caller's [`Rng`] (use a named stream, e.g. "augment").

use ecgrad_engine::{Error, Rng};

/// What to apply; a `None` skips that step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Time-warp strength σ (relative speed std, e.g. 0.1) and number of knots (e.g. 4).
    pub time_warp: Option<(f64, usize)>,
    /// Amplitude scale std σ (e.g. 0.1).
    pub amplitude_std: Option<f64>,
    /// Additive white-noise SNR in dB (e.g. 20).
    pub noise_snr_db: Option<f64>,
}

impl Default for AugmentConfig {
    /// σ = 0.1 warp with 4 knots, 10 % amplitude scaling, noise at 25 dB.
    fn default() -> Self {
        AugmentConfig {
            time_warp: Some((0.1, 4)),
            amplitude_std: Some(0.1),
            noise_snr_db: Some(25.0),
        }
    }
}

/// The monotone warp τ(t), t = 0..length, with τ(0) = 0 and τ(length−1) = length−1.
pub fn warp_path(length: usize, sigma: f64, knots: usize, rng: &mut Rng) -> Vec<f64> {
    if length < 2 {
        return (0..length).map(|t| t as f64).collect();
    }
    let knots = knots.max(2);
    let speeds: Vec<f64> = (0..knots)
        .map(|_| (1.0 + sigma * rng.normal()).clamp(0.5, 1.5))
        .collect();
    let speed_at = |t: usize| {
        let pos = t as f64 / (length - 1) as f64 * (knots - 1) as f64;
        let i = (pos.floor() as usize).min(knots - 2);
        let f = pos - i as f64;
        speeds[i] * (1.0 - f) + speeds[i + 1] * f
    };
    let mut tau = vec![0.0; length];
    for t in 1..length {
        tau[t] = tau[t - 1] + 0.5 * (speed_at(t - 1) + speed_at(t));
    }
    let scale = (length - 1) as f64 / tau[length - 1];
    tau.iter_mut().for_each(|v| *v *= scale);
    tau
}

/// Reads `x` at fractional positions `tau` by linear interpolation.
pub fn resample_at(x: &[f32], tau: &[f64]) -> Vec<f32> {
    let last = x.len() - 1;
    tau.iter()
        .map(|&p| {
            let p = p.clamp(0.0, last as f64);
            let i = (p.floor() as usize).min(last.saturating_sub(1));
            let f = p - i as f64;
            if last == 0 {
                x[0]
            } else {
                (x[i] as f64 * (1.0 - f) + x[i + 1] as f64 * f) as f32
            }
        })
        .collect()
}

/// Augments one window of `channels` × `length` values (channel-major) and returns a new one.
///
/// # Errors
/// [`Error::InvalidParam`] if `window.len() != channels·length`, `length == 0`, or a strength is
/// negative or non-finite.
pub fn augment_window(
    window: &[f32],
    channels: usize,
    length: usize,
    cfg: &AugmentConfig,
    rng: &mut Rng,
) -> Result<Vec<f32>, Error> {
    let bad = |name: &'static str, value: String, why: &str| Error::InvalidParam {
        op: "augment_window",
        name,
        value,
        why: why.into(),
    };
    if length == 0 || window.len() != channels * length {
        return Err(bad(
            "window",
            format!("{} values", window.len()),
            &format!("expected channels·length = {channels}·{length} ≥ 1"),
        ));
    }
    for (name, v) in [
        ("time_warp σ", cfg.time_warp.map(|w| w.0)),
        ("amplitude_std", cfg.amplitude_std),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(name, v.to_string(), "must be finite and ≥ 0"));
            }
        }
    }
    if let Some(snr) = cfg.noise_snr_db {
        if !snr.is_finite() {
            return Err(bad("noise_snr_db", snr.to_string(), "must be finite"));
        }
    }
    let mut out = window.to_vec();
    if let Some((sigma, knots)) = cfg.time_warp {
        let tau = warp_path(length, sigma, knots, rng);
        for c in 0..channels {
            let warped = resample_at(&window[c * length..(c + 1) * length], &tau);
            out[c * length..(c + 1) * length].copy_from_slice(&warped);
        }
    }
    if let Some(sigma) = cfg.amplitude_std {
        let s = (1.0 + sigma * rng.normal()).clamp(0.5, 1.5) as f32;
        out.iter_mut().for_each(|v| *v *= s);
    }
    if let Some(snr) = cfg.noise_snr_db {
        for c in 0..channels {
            let ch = &mut out[c * length..(c + 1) * length];
            let power = ch.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / length as f64;
            let std = (power / 10f64.powf(snr / 10.0)).sqrt();
            ch.iter_mut()
                .for_each(|v| *v += (std * rng.normal()) as f32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warp_keeps_ends_and_is_monotone_and_identity_at_zero_strength() {
        let mut rng = Rng::new(5);
        let tau = warp_path(200, 0.2, 4, &mut rng);
        assert_eq!(tau[0], 0.0);
        assert!((tau[199] - 199.0).abs() < 1e-9);
        assert!(tau.windows(2).all(|w| w[1] > w[0]));
        assert!(
            tau.iter()
                .enumerate()
                .any(|(t, v)| (v - t as f64).abs() > 1.0),
            "σ = 0.2 must move something"
        );
        let x: Vec<f32> = (0..50).map(|i| (i as f32 * 0.3).sin()).collect();
        let cfg = AugmentConfig {
            time_warp: Some((0.0, 4)),
            amplitude_std: None,
            noise_snr_db: None,
        };
        let y = augment_window(&x, 1, 50, &cfg, &mut rng).expect("valid");
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn scaling_never_flips_and_noise_hits_its_snr() {
        let mut rng = Rng::new(9);
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
        for _ in 0..50 {
            let cfg = AugmentConfig {
                time_warp: None,
                amplitude_std: Some(1.0),
                noise_snr_db: None,
            };
            let y = augment_window(&x, 1, 4000, &cfg, &mut rng).expect("valid");
            let s = y[100] / x[100];
            assert!((0.5..=1.5).contains(&s), "scale {s}");
            assert!(x.iter().zip(&y).all(|(a, b)| (b - a * s).abs() < 1e-5));
        }
        let cfg = AugmentConfig {
            time_warp: None,
            amplitude_std: None,
            noise_snr_db: Some(10.0),
        };
        let y = augment_window(&x, 1, 4000, &cfg, &mut rng).expect("valid");
        let ps: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        let pn: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| ((b - a) as f64).powi(2))
            .sum();
        let snr = 10.0 * (ps / pn).log10();
        assert!((snr - 10.0).abs() < 0.3, "snr {snr}");
        assert!(augment_window(&x, 2, 4000, &cfg, &mut rng).is_err());
    }
}
