//! Denoising metrics (PAPERS.md §B), with x the clean signal, x̂ the estimate, n = noisy − x:
//!
//! - SNR_in  = 10·log10(Σx² / Σn²)
//! - SNR_out = 10·log10(Σx² / Σ(x − x̂)²)
//! - SNR_imp = SNR_out − SNR_in
//! - RMSE    = √(mean((x − x̂)²))            (in the signal's unit, mV)
//! - PRD     = 100·√(Σ(x − x̂)² / Σx²)       (%, without subtracting the mean of x)
//!
//! All computed in f64 over one segment (both leads together). O(n) each.

/// Σ v².
fn energy(v: impl Iterator<Item = f64>) -> f64 {
    v.map(|e| e * e).sum()
}

/// Σ (a − b)².
fn err_energy(a: &[f32], b: &[f32]) -> f64 {
    energy(a.iter().zip(b).map(|(&p, &q)| p as f64 - q as f64))
}

/// The four metrics of one denoised segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentMetrics {
    /// Input SNR (dB).
    pub snr_in: f64,
    /// Output SNR (dB).
    pub snr_out: f64,
    /// SNR improvement (dB).
    pub snr_imp: f64,
    /// Root-mean-square error (mV).
    pub rmse: f64,
    /// Percentage root-mean-square difference (%).
    pub prd: f64,
}

/// Metrics of `denoised` against `clean`, with `noisy` for the input SNR. Slices must have equal
/// lengths (extra samples of a longer slice are ignored).
pub fn segment_metrics(clean: &[f32], noisy: &[f32], denoised: &[f32]) -> SegmentMetrics {
    let sx = energy(clean.iter().map(|&v| v as f64)).max(f64::MIN_POSITIVE);
    let sn = err_energy(noisy, clean).max(f64::MIN_POSITIVE);
    let se = err_energy(denoised, clean).max(f64::MIN_POSITIVE);
    let snr_in = 10.0 * (sx / sn).log10();
    let snr_out = 10.0 * (sx / se).log10();
    SegmentMetrics {
        snr_in,
        snr_out,
        snr_imp: snr_out - snr_in,
        rmse: (se / clean.len().max(1) as f64).sqrt(),
        prd: 100.0 * (se / sx).sqrt(),
    }
}

/// Mean and (population) standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // x = [1, 1, 1, 1] (Σx² = 4); noise 0.1 everywhere (Σn² = 0.04): SNR_in = 20 dB.
        // Estimate off by 0.01 (Σe² = 4e-4): SNR_out = 40 dB, PRD = 1 %, RMSE = 0.01.
        let x = [1.0f32; 4];
        let noisy = [1.1f32; 4];
        let est = [1.01f32; 4];
        let m = segment_metrics(&x, &noisy, &est);
        assert!((m.snr_in - 20.0).abs() < 1e-4, "{m:?}");
        assert!((m.snr_out - 40.0).abs() < 1e-3, "{m:?}");
        assert!((m.snr_imp - 20.0).abs() < 1e-3);
        assert!((m.prd - 1.0).abs() < 1e-4);
        assert!((m.rmse - 0.01).abs() < 1e-6);
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
    }
}
