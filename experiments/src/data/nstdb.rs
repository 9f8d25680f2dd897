//! # Noise mixing at a target SNR: NSTDB noise (bw, em, ma), white noise, two SNR definitions
//!
//! `noisy = clean + a·noise` (noise repeated cyclically if shorter), with the gain a chosen so
//! that the SNR equals the target under one of two definitions, recorded in [`MixReport`]:
//!
//! - **Power ratio** (most deep-learning papers): SNR = 10·log10(P_x / (a²·P_n)) with
//!   P_x = mean(x²), P_n = mean(n²) over the segment, so a = sqrt(P_x / (P_n·10^(SNR/10))).
//! - **WFDB `nst`** (how the NSTDB test records were made; Moody's `nst` and `sigamp`):
//!   S = pp²/8, where pp is the trimmed mean (drop the lowest and highest 5%) of the
//!   peak-to-peak amplitude in a window of ±50 ms (37 samples at 360 Hz) around each of the
//!   first 300 normal QRS annotations; N = rms², where rms is the trimmed mean of the RMS
//!   deviation from its own mean of each of the first 300 one-second chunks of the noise.
//!   SNR = 10·log10(S / (a²·N)) ⇒ a = 10^(−SNR/20)·(√2/4)·pp/rms.
//!
//! Because pp²/8 weighs the QRS peak and the per-second mean removal ignores slow drift, the
//! same nominal dB puts more noise in under `nst` than under the power ratio (a few dB).

use std::path::Path;

use ecgrad_engine::rng::Rng;

use super::wfdb;

/// The three NSTDB noise records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseKind {
    /// Baseline wander.
    Bw,
    /// Electrode motion artifact.
    Em,
    /// Muscle (EMG) artifact.
    Ma,
}

impl NoiseKind {
    /// Record name in nstdb (`"bw"`, `"em"`, `"ma"`).
    pub fn record(self) -> &'static str {
        match self {
            NoiseKind::Bw => "bw",
            NoiseKind::Em => "em",
            NoiseKind::Ma => "ma",
        }
    }
}

/// Reads a noise record (2 × 650 000 at 360 Hz; gain 0 in the header, read as 200 adu/mV).
///
/// # Errors
/// WFDB errors naming the file.
pub fn load_noise(nstdb_dir: &Path, kind: NoiseKind) -> wfdb::Result<wfdb::Record> {
    wfdb::read_record(nstdb_dir, kind.record())
}

/// How the SNR is defined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SnrDefinition<'a> {
    /// mean(x²) / mean((a·n)²).
    PowerRatio,
    /// WFDB `nst`: QRS peak-to-peak based signal, per-second RMS noise.
    Nst {
        /// Sample indices (in the clean segment) of normal QRS complexes.
        qrs: &'a [usize],
        /// Sampling rate in Hz (sets the ±50 ms window and the 1 s chunks).
        fs: f64,
    },
}

/// What a mix did: enough to reproduce it and to report it.
#[derive(Clone, Debug, PartialEq)]
pub struct MixReport {
    /// `"power-ratio"`, `"nst"` or `"white-gaussian (power-ratio)"`.
    pub definition: &'static str,
    /// Target SNR in dB.
    pub snr_db: f64,
    /// Gain a applied to the noise.
    pub gain: f64,
    /// Signal power S under the definition (mV²).
    pub signal_power: f64,
    /// Unscaled noise power N under the definition (mV²).
    pub noise_power: f64,
}

/// Errors of noise mixing.
#[derive(Debug, thiserror::Error)]
pub enum MixError {
    /// Empty input, a zero-power signal or noise, too few QRS complexes, bad rate.
    #[error("nstdb::mix ({definition}): {msg}")]
    Invalid {
        /// Definition in use.
        definition: &'static str,
        /// What is wrong.
        msg: String,
    },
}

/// True for beats that WFDB's `map1` calls NORMAL (N, L, R, B and the escape beats e, j, n),
/// the ones `sigamp` measures.
pub fn nst_is_normal(symbol: &str) -> bool {
    matches!(symbol, "N" | "L" | "R" | "B" | "e" | "j" | "n")
}

/// Mean of the middle 90% (WFDB drops ⌊n/20⌋ values at each end after sorting).
fn trimmed_mean(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let lo = v.len() / 20;
    let hi = v.len() - lo;
    Some(v[lo..hi].iter().sum::<f64>() / (hi - lo) as f64)
}

/// `sigamp -a`: trimmed-mean peak-to-peak amplitude over windows [q − 50 ms, q + 50 ms] at the
/// first 300 `qrs` samples whose window fits. None if no window fits.
pub fn nst_qrs_amplitude(x: &[f32], qrs: &[usize], fs: f64) -> Option<f64> {
    let d = (0.05 * fs).round() as usize;
    let pp: Vec<f64> = qrs
        .iter()
        .filter_map(|&q| x.get(q.checked_sub(d)?..=q.checked_add(d)?))
        .take(300)
        .map(|w| {
            let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
            (hi - lo) as f64
        })
        .collect();
    trimmed_mean(pp)
}

/// `sigamp` without annotations: trimmed-mean RMS deviation of the first 300 one-second
/// chunks (each about its own mean). None if the noise is shorter than one second.
pub fn nst_noise_rms(n: &[f32], fs: f64) -> Option<f64> {
    let w = (fs.round() as usize).max(1);
    let rms: Vec<f64> = n
        .chunks_exact(w)
        .take(300)
        .map(|c| {
            let m = c.iter().map(|&v| v as f64).sum::<f64>() / w as f64;
            (c.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / w as f64).sqrt()
        })
        .collect();
    trimmed_mean(rms)
}

fn mean_square(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64
}

/// Signal power S and unscaled noise power N under `def`.
///
/// # Errors
/// [`MixError::Invalid`] if either is zero or cannot be measured.
pub fn powers(
    clean: &[f32],
    noise: &[f32],
    def: &SnrDefinition<'_>,
) -> Result<(f64, f64, &'static str), MixError> {
    let (s, n, name) = match def {
        SnrDefinition::PowerRatio => (
            Some(mean_square(clean)),
            Some(mean_square(noise)),
            "power-ratio",
        ),
        SnrDefinition::Nst { qrs, fs } => (
            nst_qrs_amplitude(clean, qrs, *fs).map(|pp| pp * pp / 8.0),
            nst_noise_rms(noise, *fs).map(|r| r * r),
            "nst",
        ),
    };
    let bad = |msg: &str| MixError::Invalid {
        definition: name,
        msg: msg.to_string(),
    };
    let s = s.ok_or_else(|| bad("no QRS window fits in the clean signal"))?;
    let n = n.ok_or_else(|| bad("noise is shorter than one second"))?;
    if !(s > 0.0 && s.is_finite()) {
        return Err(bad(&format!("signal power {s} must be positive")));
    }
    if !(n > 0.0 && n.is_finite()) {
        return Err(bad(&format!("noise power {n} must be positive")));
    }
    Ok((s, n, name))
}

/// Adds `noise` (cycled if shorter) to `clean` scaled to `snr_db` under `def`.
///
/// # Errors
/// [`MixError::Invalid`]: empty inputs, non-finite SNR, zero signal or noise power, no
/// measurable QRS (nst).
pub fn mix(
    clean: &[f32],
    noise: &[f32],
    snr_db: f64,
    def: &SnrDefinition<'_>,
) -> Result<(Vec<f32>, MixReport), MixError> {
    if clean.is_empty() || noise.is_empty() || !snr_db.is_finite() {
        return Err(MixError::Invalid {
            definition: "input",
            msg: format!(
                "clean {} samples, noise {} samples, SNR {snr_db} dB",
                clean.len(),
                noise.len()
            ),
        });
    }
    let (s, n, name) = powers(clean, noise, def)?;
    let gain = (s / (n * 10f64.powf(snr_db / 10.0))).sqrt();
    let out = clean
        .iter()
        .zip(noise.iter().cycle())
        .map(|(&c, &v)| (c as f64 + gain * v as f64) as f32)
        .collect();
    Ok((
        out,
        MixReport {
            definition: name,
            snr_db,
            gain,
            signal_power: s,
            noise_power: n,
        },
    ))
}

/// The SNR in dB of `clean` against an already-scaled `noise` under `def`.
///
/// # Errors
/// As [`powers`].
pub fn snr_db(clean: &[f32], noise: &[f32], def: &SnrDefinition<'_>) -> Result<f64, MixError> {
    let (s, n, _) = powers(clean, noise, def)?;
    Ok(10.0 * (s / n).log10())
}

/// Adds white Gaussian noise at `snr_db` (power ratio: σ² = mean(x²)/10^(SNR/10)).
///
/// # Errors
/// [`MixError::Invalid`] for an empty or all-zero signal or non-finite SNR.
pub fn add_white_noise(
    clean: &[f32],
    snr_db: f64,
    rng: &mut Rng,
) -> Result<(Vec<f32>, MixReport), MixError> {
    let s = mean_square(clean);
    if clean.is_empty() || s <= 0.0 || !snr_db.is_finite() {
        return Err(MixError::Invalid {
            definition: "white-gaussian (power-ratio)",
            msg: format!("{} samples, signal power {s}, SNR {snr_db} dB", clean.len()),
        });
    }
    let sigma = (s / 10f64.powf(snr_db / 10.0)).sqrt();
    let out = clean
        .iter()
        .map(|&c| (c as f64 + sigma * rng.normal()) as f32)
        .collect();
    Ok((
        out,
        MixReport {
            definition: "white-gaussian (power-ratio)",
            snr_db,
            gain: sigma,
            signal_power: s,
            noise_power: 1.0,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_ratio_hits_target() {
        let mut r = Rng::new(1);
        let x: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.05).sin()).collect();
        let n: Vec<f32> = (0..3000).map(|_| r.normal() as f32).collect();
        for snr in [-6.0, 0.0, 12.0, 24.0] {
            let (y, rep) = mix(&x, &n, snr, &SnrDefinition::PowerRatio).expect("valid");
            let added: Vec<f32> = y.iter().zip(&x).map(|(a, b)| a - b).collect();
            let got = snr_db(&x, &added, &SnrDefinition::PowerRatio).expect("valid");
            // The noise is cycled (5000 > 3000), so its power differs slightly from P_n.
            assert!((got - snr).abs() < 0.1, "{snr}: {got}");
            assert_eq!(rep.definition, "power-ratio");
        }
    }

    #[test]
    fn nst_definition_hand_example() {
        // Spikes of height 2 every 360 samples (pp = 2 → S = 0.5); noise ±1 square wave
        // (per-second rms 1 → N = 1). At 0 dB: a = sqrt(0.5) under nst.
        let mut x = vec![0.0f32; 36_000];
        let qrs: Vec<usize> = (1..100).map(|k| k * 360).collect();
        for &q in &qrs {
            x[q] = 2.0;
        }
        let n: Vec<f32> = (0..36_000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let def = SnrDefinition::Nst {
            qrs: &qrs,
            fs: 360.0,
        };
        let (_, rep) = mix(&x, &n, 0.0, &def).expect("valid");
        assert!((rep.signal_power - 0.5).abs() < 1e-12 && (rep.noise_power - 1.0).abs() < 1e-12);
        assert!((rep.gain - 0.5f64.sqrt()).abs() < 1e-12);
        // The same data under the power ratio: P_x = 99·4/36000, far smaller than 0.5.
        let (_, pr) = mix(&x, &n, 0.0, &SnrDefinition::PowerRatio).expect("valid");
        assert!(pr.gain < rep.gain / 5.0);
    }

    #[test]
    fn white_noise_level_and_errors() {
        let x: Vec<f32> = (0..20_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let (y, _) = add_white_noise(&x, 6.0, &mut Rng::new(2)).expect("valid");
        let added: Vec<f32> = y.iter().zip(&x).map(|(a, b)| a - b).collect();
        let got = snr_db(&x, &added, &SnrDefinition::PowerRatio).expect("valid");
        assert!((got - 6.0).abs() < 0.1, "{got}");
        assert!(add_white_noise(&[0.0; 8], 6.0, &mut Rng::new(2)).is_err());
        assert!(mix(&x, &[], 6.0, &SnrDefinition::PowerRatio).is_err());
        let e = mix(&x, &[0.0; 10], 6.0, &SnrDefinition::PowerRatio).unwrap_err();
        assert!(e.to_string().contains("noise power 0"), "{e}");
    }
}
