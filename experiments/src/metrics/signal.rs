//! Denoising quality: SNR, SNR improvement, RMSE and PRD (PAPERS.md §B and §F.3).
//!
//! With x the clean signal, y = x + n the noisy input and x̂ the denoised output:
//!
//! - SNR_in  = 10·log10(Σx² / Σ(y − x)²)
//! - SNR_out = 10·log10(Σx² / Σ(x̂ − x)²)
//! - SNR_imp = SNR_out − SNR_in  (dB; how much the denoiser helped)
//! - RMSE    = √(mean((x − x̂)²))  (in the signal's unit, mV)
//! - PRD     = 100·√(Σ(x − x̂)² / Σx²)  (%)
//! - PRDN    = 100·√(Σ(x − x̂)² / Σ(x − x̄)²)  (%, the mean-removed variant some papers use)
//!
//! Sums are accumulated in f64. These are the power-ratio definitions; the NSTDB `nst`
//! definition of the *input* SNR is in `data::nstdb`.

/// Σ a² in f64.
fn energy(a: &[f32]) -> f64 {
    a.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// Σ (a − b)² in f64.
fn error_energy(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&u, &v)| {
            let d = f64::from(u) - f64::from(v);
            d * d
        })
        .sum()
}

fn check(op: &str, clean: &[f32], other: &[f32]) -> anyhow::Result<()> {
    anyhow::ensure!(
        clean.len() == other.len() && !clean.is_empty(),
        "{op}: signals of {} and {} samples (need equal, non-zero lengths)",
        clean.len(),
        other.len()
    );
    Ok(())
}

/// SNR in dB of `estimate` as a copy of `clean`: 10·log10(Σx² / Σ(estimate − x)²). Applied to
/// the noisy input it is SNR_in, to the denoised output SNR_out. +∞ when the two are equal.
///
/// # Errors
/// Lengths differ or are 0.
pub fn snr_db(clean: &[f32], estimate: &[f32]) -> anyhow::Result<f64> {
    check("snr_db", clean, estimate)?;
    Ok(10.0 * (energy(clean) / error_energy(clean, estimate)).log10())
}

/// SNR_out − SNR_in in dB (see the module docs).
///
/// # Errors
/// Lengths differ or are 0.
pub fn snr_improvement_db(clean: &[f32], noisy: &[f32], denoised: &[f32]) -> anyhow::Result<f64> {
    Ok(snr_db(clean, denoised)? - snr_db(clean, noisy)?)
}

/// √(mean((x − x̂)²)).
///
/// # Errors
/// Lengths differ or are 0.
pub fn rmse(clean: &[f32], estimate: &[f32]) -> anyhow::Result<f64> {
    check("rmse", clean, estimate)?;
    Ok((error_energy(clean, estimate) / clean.len() as f64).sqrt())
}

/// 100·√(Σ(x − x̂)² / Σx²), in percent.
///
/// # Errors
/// Lengths differ or are 0.
pub fn prd(clean: &[f32], estimate: &[f32]) -> anyhow::Result<f64> {
    check("prd", clean, estimate)?;
    Ok(100.0 * (error_energy(clean, estimate) / energy(clean)).sqrt())
}

/// 100·√(Σ(x − x̂)² / Σ(x − x̄)²), in percent (PRD of the mean-removed clean signal).
///
/// # Errors
/// Lengths differ or are 0.
pub fn prdn(clean: &[f32], estimate: &[f32]) -> anyhow::Result<f64> {
    check("prdn", clean, estimate)?;
    let mean = clean.iter().map(|&v| f64::from(v)).sum::<f64>() / clean.len() as f64;
    let centred: f64 = clean.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum();
    Ok(100.0 * (error_energy(clean, estimate) / centred).sqrt())
}

/// All denoising scores of one segment.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct DenoiseScores {
    /// SNR of the noisy input, dB.
    pub snr_in: f64,
    /// SNR of the output, dB.
    pub snr_out: f64,
    /// snr_out − snr_in, dB.
    pub snr_improvement: f64,
    /// RMSE of the output.
    pub rmse: f64,
    /// PRD of the output, %.
    pub prd: f64,
}

/// Every score of [`DenoiseScores`] for one (clean, noisy, denoised) triple.
///
/// # Errors
/// Lengths differ or are 0.
pub fn denoise_scores(
    clean: &[f32],
    noisy: &[f32],
    denoised: &[f32],
) -> anyhow::Result<DenoiseScores> {
    check("denoise_scores", clean, noisy)?;
    let snr_in = snr_db(clean, noisy)?;
    let snr_out = snr_db(clean, denoised)?;
    Ok(DenoiseScores {
        snr_in,
        snr_out,
        snr_improvement: snr_out - snr_in,
        rmse: rmse(clean, denoised)?,
        prd: prd(clean, denoised)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // x = [1, −1, 1, −1]: Σx² = 4. noisy = x + [1, 1, 1, 1]: Σn² = 4 → SNR_in = 0 dB.
        // denoised = x + 0.1: Σe² = 0.04 → SNR_out = 10·log10(100) = 20 dB, improvement 20 dB,
        // RMSE = 0.1, PRD = 100·√(0.04/4) = 10 %.
        let x = [1.0f32, -1.0, 1.0, -1.0];
        let y = [2.0f32, 0.0, 2.0, 0.0];
        let d = [1.1f32, -0.9, 1.1, -0.9];
        let s = denoise_scores(&x, &y, &d).unwrap();
        assert!(s.snr_in.abs() < 1e-6);
        assert!((s.snr_out - 20.0).abs() < 1e-4);
        assert!((s.snr_improvement - 20.0).abs() < 1e-4);
        assert!((s.rmse - 0.1).abs() < 1e-6);
        assert!((s.prd - 10.0).abs() < 1e-4);
        // Mean of x is 0, so PRDN = PRD here; with an offset it differs.
        assert!((prdn(&x, &d).unwrap() - 10.0).abs() < 1e-4);
        let xo = [2.0f32, 0.0, 2.0, 0.0];
        let dof = [2.1f32, 0.1, 2.1, 0.1];
        // Σe² = 0.04, Σx² = 8, Σ(x − x̄)² = 4.
        assert!((prd(&xo, &dof).unwrap() - 100.0 * (0.04f64 / 8.0).sqrt()).abs() < 1e-4);
        assert!((prdn(&xo, &dof).unwrap() - 10.0).abs() < 1e-4);
    }

    #[test]
    fn perfect_copy_is_infinite_snr_and_mismatch_is_an_error() {
        assert_eq!(snr_db(&[1.0, 2.0], &[1.0, 2.0]).unwrap(), f64::INFINITY);
        assert!(rmse(&[1.0], &[1.0, 2.0]).is_err());
        assert!(prd(&[], &[]).is_err());
    }
}
