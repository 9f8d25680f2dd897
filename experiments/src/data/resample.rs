//! # Band-limited resampling by a rational factor (polyphase FIR with a Kaiser-windowed sinc)
//!
//! To change the rate by up/down (reduced by their gcd, e.g. 360 → 125 Hz is 25/72):
//!
//! 1. conceptually insert `up − 1` zeros between samples (rate × up),
//! 2. low-pass at the lower of the two Nyquist frequencies, fc = 1 / (2·max(up, down))
//!    cycles per upsampled sample, with h[k] = 2fc·sinc(2fc(k − K))·w_Kaiser(k), k = 0 … 2K,
//!    K = 10·max(up, down), β = 5 (the same design as SciPy's `resample_poly`), scaled so that
//!    Σh = up (the zero-stuffing divided the DC level by up),
//! 3. keep every `down`-th sample.
//!
//! The polyphase form never builds the zero-stuffed signal: output m at upsampled time
//! t = m·down only meets the input samples n with 0 ≤ t + K − n·up ≤ 2K, so
//! y[m] = Σₙ x[n]·h[m·down + K − n·up]. Cost: about (2K+1)/up multiply-adds per output
//! sample (≈ 58 for 360 → 125 Hz). The signal is zero-padded at both ends, so the first and
//! last ~K/up input samples see an edge transient.
//!
//! Output length = round(n·up/down) (halves round up). [`resample_naive`] is the literal
//! three-step version, kept as the test reference.

/// A bad resampling request.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A rate or factor is zero, negative, not finite, or not a ratio of integers (in mHz).
    #[error("resample: {0}")]
    InvalidParam(String),
}

/// Greatest common divisor.
pub fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// round(n·up/down) with halves rounded up.
pub fn output_len(n: usize, up: usize, down: usize) -> usize {
    ((n as u128 * up as u128 * 2 + down as u128) / (2 * down as u128)) as usize
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the
/// β ≤ 20 used by Kaiser windows).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// The low-pass prototype for factors `up`/`down` (already reduced): 2K+1 taps, Σh = up.
pub fn design_filter(up: usize, down: usize) -> Vec<f64> {
    let m = up.max(down);
    let half = 10 * m;
    let fc = 0.5 / m as f64;
    let beta = 5.0;
    let len = 2 * half + 1;
    let mut h: Vec<f64> = (0..len)
        .map(|k| {
            let x = k as f64 - half as f64;
            let arg = 2.0 * fc * x;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            let r = x / half as f64;
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta);
            2.0 * fc * sinc * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    for v in &mut h {
        *v *= up as f64 / s;
    }
    h
}

fn check(n: usize, up: usize, down: usize) -> Result<(usize, usize), ResampleError> {
    if up == 0 || down == 0 {
        return Err(ResampleError::InvalidParam(format!(
            "factors must be positive (up {up}, down {down})"
        )));
    }
    if n == 0 {
        return Err(ResampleError::InvalidParam("input signal is empty".into()));
    }
    let g = gcd(up, down);
    Ok((up / g, down / g))
}

/// Resamples `x` by the rational factor `up/down` (reduced by the gcd first).
///
/// # Errors
/// [`ResampleError::InvalidParam`] if `up` or `down` is 0 or `x` is empty.
pub fn resample_ratio(x: &[f32], up: usize, down: usize) -> Result<Vec<f32>, ResampleError> {
    let (up, down) = check(x.len(), up, down)?;
    if up == 1 && down == 1 {
        return Ok(x.to_vec());
    }
    let h = design_filter(up, down);
    let half = (h.len() - 1) / 2;
    let n_out = output_len(x.len(), up, down);
    let mut y = Vec::with_capacity(n_out);
    for m in 0..n_out {
        let t = m * down + half; // index into h when n = 0
        // n·up ≤ t and t − n·up ≤ 2·half  ⇒  n ∈ [ceil((t − 2·half)/up), floor(t/up)].
        let n_lo = t.saturating_sub(2 * half).div_ceil(up);
        let n_hi = (t / up).min(x.len() - 1);
        let mut acc = 0.0f64;
        let mut n = n_lo;
        while n <= n_hi {
            acc += h[t - n * up] * x[n] as f64;
            n += 1;
        }
        y.push(acc as f32);
    }
    Ok(y)
}

/// Resamples from `from_hz` to `to_hz`; the rates must be exact multiples of 1 mHz so that
/// their ratio is rational (360 → 125 Hz gives 25/72).
///
/// # Errors
/// [`ResampleError::InvalidParam`] for non-positive, non-finite or non-mHz rates, empty input.
pub fn resample(x: &[f32], from_hz: f64, to_hz: f64) -> Result<Vec<f32>, ResampleError> {
    let (up, down) = rational(from_hz, to_hz)?;
    resample_ratio(x, up, down)
}

/// The reduced factors (up, down) for a rate change `from_hz` → `to_hz`.
///
/// # Errors
/// [`ResampleError::InvalidParam`] as in [`resample`].
pub fn rational(from_hz: f64, to_hz: f64) -> Result<(usize, usize), ResampleError> {
    let milli = |f: f64| -> Result<usize, ResampleError> {
        let m = (f * 1000.0).round();
        if !(f.is_finite() && f > 0.0 && m < 1e12 && (f * 1000.0 - m).abs() < 1e-6) {
            return Err(ResampleError::InvalidParam(format!(
                "rate {f} Hz must be positive and a whole number of mHz"
            )));
        }
        Ok(m as usize)
    };
    let (a, b) = (milli(from_hz)?, milli(to_hz)?);
    let g = gcd(a, b);
    Ok((b / g, a / g))
}

/// Reference: zero-stuff, full convolution with the same filter, decimate. O(n·up·(2K+1)).
///
/// # Errors
/// As [`resample_ratio`].
pub fn resample_naive(x: &[f32], up: usize, down: usize) -> Result<Vec<f32>, ResampleError> {
    let (up, down) = check(x.len(), up, down)?;
    if up == 1 && down == 1 {
        return Ok(x.to_vec());
    }
    let h = design_filter(up, down);
    let half = (h.len() - 1) / 2;
    let mut z = vec![0.0f64; x.len() * up];
    for (i, &v) in x.iter().enumerate() {
        z[i * up] = v as f64;
    }
    let n_out = output_len(x.len(), up, down);
    Ok((0..n_out)
        .map(|m| {
            // y[m] = Σ_j z[j]·h[m·down + half − j]
            let t = m * down + half;
            let mut acc = 0.0;
            for (j, &zj) in z.iter().enumerate() {
                if j <= t && t - j < h.len() {
                    acc += zj * h[t - j];
                }
            }
            acc as f32
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, f: f64, fs: f64) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / fs).sin() as f32)
            .collect()
    }

    #[test]
    fn lengths_are_rounded_ratio() {
        assert_eq!(output_len(650_000, 25, 72), 225_694); // 225 694.44
        assert_eq!(output_len(3, 1, 2), 2); // 1.5 rounds up
        for (n, up, down) in [(1, 25, 72), (7, 3, 2), (100, 5, 3), (1000, 125, 360)] {
            let y = resample_ratio(&vec![1.0; n], up, down).expect("valid");
            let g = gcd(up, down);
            assert_eq!(y.len(), output_len(n, up / g, down / g));
        }
        assert_eq!(rational(360.0, 125.0).expect("ok"), (25, 72));
        assert_eq!(rational(500.0, 250.0).expect("ok"), (1, 2));
        assert!(rational(360.0, 0.0).is_err() && resample_ratio(&[], 1, 2).is_err());
    }

    #[test]
    fn sine_keeps_frequency_and_amplitude() {
        for (fs_in, fs_out, f) in [
            (360.0, 125.0, 5.0),
            (125.0, 360.0, 7.0),
            (500.0, 250.0, 20.0),
        ] {
            let x = sine(3600, f, fs_in);
            let y = resample(&x, fs_in, fs_out).expect("valid");
            let want = sine(y.len(), f, fs_out);
            // Skip the edge transients (≈ 10 output samples each side per the filter length).
            let edge = 40;
            let err = y[edge..y.len() - edge]
                .iter()
                .zip(&want[edge..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                err < 2e-3,
                "{fs_in}->{fs_out} Hz, {f} Hz sine: max error {err}"
            );
        }
    }

    #[test]
    fn removes_tones_above_new_nyquist() {
        let x = sine(7200, 100.0, 360.0); // above 62.5 Hz, the Nyquist of 125 Hz
        let y = resample(&x, 360.0, 125.0).expect("valid");
        let rms = (y[50..y.len() - 50].iter().map(|v| v * v).sum::<f32>() / (y.len() - 100) as f32)
            .sqrt();
        assert!(rms < 0.01, "aliased tone rms {rms}");
    }

    #[test]
    fn polyphase_matches_naive() {
        let mut r = ecgrad_engine::rng::Rng::new(5);
        for (n, up, down) in [(1, 2, 3), (5, 25, 72), (97, 3, 2), (64, 1, 4), (33, 4, 1)] {
            let x = r.vec_f32(n);
            let a = resample_ratio(&x, up, down).expect("valid");
            let b = resample_naive(&x, up, down).expect("valid");
            assert_eq!(a.len(), b.len());
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-5, "{n} {up}/{down}: {p} vs {q}");
            }
        }
    }

    #[test]
    fn bessel_i0_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-12);
        assert!((bessel_i0(5.0) - 27.239_871_823_604_45).abs() < 1e-9);
    }
}
