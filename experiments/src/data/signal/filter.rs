//! Linear and median filters for ECG preprocessing.
//!
//! **Butterworth biquads.** An order-N Butterworth low-pass has |H(f)|² = 1/(1 + (f/f_c)^{2N}):
//! maximally flat, −3 dB at f_c. We build it as a cascade of second-order sections (biquads),
//! each the bilinear transform s → 2f_s·(1 − z⁻¹)/(1 + z⁻¹) of 1/(s² + s/Q_k + 1) with the
//! cut-off pre-warped (tan(π f_c/f_s)) so the digital −3 dB point lands exactly on f_c; the
//! Butterworth pole pairs have Q_k = 1/(2·sin((2k+1)π/(2N))) (RBJ audio-EQ cookbook formulas),
//! plus one first-order section when N is odd. Each section runs in transposed direct form II:
//! y = b₀x + s₁, s₁ ← b₁x − a₁y + s₂, s₂ ← b₂x − a₂y — 5 multiply-adds per sample per section.
//!
//! **Zero phase (`filtfilt`).** Filtering forward then backward squares the magnitude response
//! and cancels the phase, so R peaks do not move. Edges: the signal is extended by an odd
//! reflection (2x₀ − x_{k}) of 3·(2·sections + 1) samples and each pass starts from the
//! steady state of its first input (like SciPy's `sosfiltfilt`), which avoids start-up
//! transients.
//!
//! **Median baseline removal.** The classic two-stage median filter (200 ms then 600 ms)
//! removes the QRS complex and then the P and T waves, leaving the baseline wander, which is
//! subtracted. A running median over a sorted window costs O(w) per sample (binary search plus
//! one shift on insert/remove) instead of O(w log w) for re-sorting.

use ecgrad_engine::Error;
use std::f64::consts::PI;

/// One second-order section, normalised so a₀ = 1: H(z) = (b₀ + b₁z⁻¹ + b₂z⁻²)/(1 + a₁z⁻¹ + a₂z⁻²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    /// Numerator b₀, b₁, b₂.
    pub b: [f64; 3],
    /// Denominator a₁, a₂ (a₀ = 1).
    pub a: [f64; 2],
}

/// Which side of the cut-off passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Frequencies below the cut-off pass.
    Low,
    /// Frequencies above the cut-off pass.
    High,
}

/// An order-`order` Butterworth low- or high-pass as biquads.
///
/// # Errors
/// [`Error::InvalidParam`] unless 1 ≤ order ≤ 12 and 0 < cutoff < fs/2.
pub fn butterworth(
    order: usize,
    cutoff_hz: f64,
    fs: f64,
    pass: Pass,
) -> Result<Vec<Biquad>, Error> {
    if !(1..=12).contains(&order) {
        return Err(Error::InvalidParam {
            op: "butterworth",
            name: "order",
            value: order.to_string(),
            why: "must be in 1..=12".into(),
        });
    }
    if !(cutoff_hz > 0.0 && fs.is_finite() && cutoff_hz < fs / 2.0) {
        return Err(Error::InvalidParam {
            op: "butterworth",
            name: "cutoff_hz",
            value: format!("{cutoff_hz} (fs {fs})"),
            why: "must lie strictly between 0 and fs/2".into(),
        });
    }
    let w0 = 2.0 * PI * cutoff_hz / fs;
    let (sin, cos) = w0.sin_cos();
    let mut sections = Vec::new();
    for k in 0..order / 2 {
        let q = 1.0 / (2.0 * ((2 * k + 1) as f64 * PI / (2 * order) as f64).sin());
        let alpha = sin / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b = match pass {
            Pass::Low => [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0],
            Pass::High => [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0],
        };
        sections.push(Biquad {
            b: [b[0] / a0, b[1] / a0, b[2] / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
        });
    }
    if order % 2 == 1 {
        // First-order section: bilinear transform of 1/(s + 1) (low) or s/(s + 1) (high).
        let k = (w0 / 2.0).tan();
        let a1 = (k - 1.0) / (k + 1.0);
        let b = match pass {
            Pass::Low => [k / (1.0 + k), k / (1.0 + k), 0.0],
            Pass::High => [1.0 / (1.0 + k), -1.0 / (1.0 + k), 0.0],
        };
        sections.push(Biquad { b, a: [a1, 0.0] });
    }
    Ok(sections)
}

/// A Butterworth band-pass [low, high] Hz: a high-pass at `low` cascaded with a low-pass at
/// `high`, each of order `order` (fine for the wide ECG bands, e.g. 0.5–40 Hz or 5–15 Hz).
///
/// # Errors
/// As [`butterworth`], and if low ≥ high.
pub fn butterworth_bandpass(
    order: usize,
    low_hz: f64,
    high_hz: f64,
    fs: f64,
) -> Result<Vec<Biquad>, Error> {
    if low_hz.is_nan() || high_hz.is_nan() || low_hz >= high_hz {
        return Err(Error::InvalidParam {
            op: "butterworth_bandpass",
            name: "low_hz",
            value: format!("{low_hz} ≥ high {high_hz}"),
            why: "low must be below high".into(),
        });
    }
    let mut s = butterworth(order, low_hz, fs, Pass::High)?;
    s.extend(butterworth(order, high_hz, fs, Pass::Low)?);
    Ok(s)
}

/// |H(e^{iω})| of a cascade at frequency `f_hz`.
pub fn magnitude_response(sections: &[Biquad], f_hz: f64, fs: f64) -> f64 {
    let w = 2.0 * PI * f_hz / fs;
    let z1 = (w.cos(), -w.sin()); // z⁻¹
    let z2 = ((2.0 * w).cos(), -(2.0 * w).sin()); // z⁻²
    let mut mag = 1.0;
    for s in sections {
        let num = (
            s.b[0] + s.b[1] * z1.0 + s.b[2] * z2.0,
            s.b[1] * z1.1 + s.b[2] * z2.1,
        );
        let den = (
            1.0 + s.a[0] * z1.0 + s.a[1] * z2.0,
            s.a[0] * z1.1 + s.a[1] * z2.1,
        );
        mag *= (num.0.hypot(num.1)) / (den.0.hypot(den.1));
    }
    mag
}

/// Causal filtering through the cascade; with `steady_start`, each section's state starts at
/// the steady state for a constant input equal to x\[0\] (no start-up transient).
pub fn sosfilt(sections: &[Biquad], x: &[f64], steady_start: bool) -> Vec<f64> {
    let mut y = x.to_vec();
    for s in sections {
        let (mut s1, mut s2) = (0.0, 0.0);
        if steady_start && !y.is_empty() {
            // Constant input u gives output g·u with g = H(1) = Σb/(1 + a₁ + a₂).
            let u = y[0];
            let g = (s.b[0] + s.b[1] + s.b[2]) / (1.0 + s.a[0] + s.a[1]);
            let out = g * u;
            s2 = s.b[2] * u - s.a[1] * out;
            s1 = s.b[1] * u - s.a[0] * out + s2;
        }
        for v in y.iter_mut() {
            let input = *v;
            let out = s.b[0] * input + s1;
            s1 = s.b[1] * input - s.a[0] * out + s2;
            s2 = s.b[2] * input - s.a[1] * out;
            *v = out;
        }
    }
    y
}

/// Zero-phase filtering (forward, then backward) with odd-reflection padding; see module docs.
/// Signals shorter than 2 samples are returned unchanged.
pub fn filtfilt(sections: &[Biquad], x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return x.to_vec();
    }
    let pad = (3 * (2 * sections.len() + 1)).min(n - 1);
    let mut ext = Vec::with_capacity(n + 2 * pad);
    ext.extend((1..=pad).rev().map(|k| 2.0 * x[0] - x[k]));
    ext.extend_from_slice(x);
    ext.extend((1..=pad).map(|k| 2.0 * x[n - 1] - x[n - 1 - k]));
    let mut y = sosfilt(sections, &ext, true);
    y.reverse();
    let mut y = sosfilt(sections, &y, true);
    y.reverse();
    y[pad..pad + n].to_vec()
}

/// Running median with an odd window `w` (even `w` is rounded up), edges padded by repeating
/// the end samples.
pub fn median_filter(x: &[f64], w: usize) -> Vec<f64> {
    let n = x.len();
    if n == 0 || w <= 1 {
        return x.to_vec();
    }
    let half = w / 2;
    let at = |i: isize| x[i.clamp(0, n as isize - 1) as usize];
    let mut window: Vec<f64> = (-(half as isize)..=half as isize).map(at).collect();
    window.sort_by(f64::total_cmp);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(window[half]);
        // Slide: remove x[i − half], insert x[i + half + 1].
        let old = at(i as isize - half as isize);
        let new = at((i + half + 1) as isize);
        let pos = window.partition_point(|v| v.total_cmp(&old).is_lt());
        window.remove(pos);
        let pos = window.partition_point(|v| v.total_cmp(&new).is_lt());
        window.insert(pos, new);
    }
    out
}

/// Removes baseline wander with the two-stage median filter (200 ms, then 600 ms windows):
/// returns x − median₆₀₀(median₂₀₀(x)).
///
/// # Errors
/// [`Error::InvalidParam`] if `fs` is not positive and finite.
pub fn remove_baseline(x: &[f64], fs: f64) -> Result<Vec<f64>, Error> {
    if !(fs > 0.0 && fs.is_finite()) {
        return Err(Error::InvalidParam {
            op: "remove_baseline",
            name: "fs",
            value: fs.to_string(),
            why: "must be positive".into(),
        });
    }
    let odd = |s: f64| ((s * fs).round() as usize) | 1;
    let baseline = median_filter(&median_filter(x, odd(0.2)), odd(0.6));
    Ok(x.iter().zip(&baseline).map(|(v, b)| v - b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn butterworth_is_minus_3_db_at_cutoff_and_flat_in_passband() {
        // The bilinear transform maps analog frequency tan(πf/f_s) onto digital f, so the exact
        // digital Butterworth magnitude is 1/√(1 + r^{±2N}), r = tan(πf/f_s)/tan(πf_c/f_s).
        let (fs, fc) = (360.0, 40.0);
        for order in [1, 2, 3, 4, 5] {
            for pass in [Pass::Low, Pass::High] {
                let s = butterworth(order, fc, fs, pass).expect("valid");
                let at_cut = magnitude_response(&s, fc, fs);
                assert!(
                    (at_cut - 0.5f64.sqrt()).abs() < 1e-9,
                    "order {order} {pass:?}: {at_cut}"
                );
                for f in [0.5, 2.0, 10.0, 39.0, 41.0, 80.0, 160.0, 179.0] {
                    let r = (PI * f / fs).tan() / (PI * fc / fs).tan();
                    let r = if pass == Pass::Low { r } else { 1.0 / r };
                    let want = 1.0 / (1.0 + r.powi(2 * order as i32)).sqrt();
                    let got = magnitude_response(&s, f, fs);
                    assert!(
                        (got - want).abs() < 1e-9,
                        "order {order} {pass:?} f {f}: {got} vs {want}"
                    );
                }
            }
        }
        assert!(butterworth(0, 1.0, 360.0, Pass::Low).is_err());
        assert!(butterworth(2, 180.0, 360.0, Pass::Low).is_err());
        assert!(butterworth_bandpass(2, 15.0, 5.0, 360.0).is_err());
    }

    #[test]
    fn sosfilt_matches_the_difference_equation_and_starts_steady() {
        // Hand check: one section with b = [0.5, 0.5, 0], a = [−0.5, 0]:
        // y[n] = 0.5x[n] + 0.5x[n−1] + 0.5y[n−1]; impulse → 0.5, 0.75, 0.375.
        let s = [Biquad {
            b: [0.5, 0.5, 0.0],
            a: [-0.5, 0.0],
        }];
        let y = sosfilt(&s, &[1.0, 0.0, 0.0], false);
        assert_eq!(y, vec![0.5, 0.75, 0.375]);
        // A constant input stays constant (DC gain 2) when started in steady state.
        let y = sosfilt(&s, &[3.0; 5], true);
        assert!(y.iter().all(|v| (v - 6.0).abs() < 1e-12), "{y:?}");
    }

    #[test]
    fn filtfilt_keeps_passband_phase_and_removes_stopband() {
        let fs = 360.0;
        let s = butterworth_bandpass(2, 0.5, 40.0, fs).expect("valid");
        let n = 3600;
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                (2.0 * PI * 10.0 * t).sin() + 0.8 * (2.0 * PI * 120.0 * t).sin() + 2.0
            })
            .collect();
        let y = filtfilt(&s, &x);
        // Away from the edges (the 0.5 Hz high-pass rings for ≈ 2 s there) the 10 Hz sine
        // survives with no phase shift; 120 Hz (×0.012 after two passes) and DC go.
        for i in 720..n - 720 {
            let want = (2.0 * PI * 10.0 * i as f64 / fs).sin();
            assert!((y[i] - want).abs() < 0.03, "i={i} {} vs {want}", y[i]);
        }
    }

    #[test]
    fn median_filter_matches_sorting_and_baseline_removal_removes_a_ramp() {
        let x: Vec<f64> = (0..50)
            .map(|i| ((i * 37) % 11) as f64 - (i as f64) * 0.1)
            .collect();
        let w = 7;
        let fast = median_filter(&x, w);
        for i in 0..x.len() {
            let mut win: Vec<f64> = (i as isize - 3..=i as isize + 3)
                .map(|j| x[j.clamp(0, 49) as usize])
                .collect();
            win.sort_by(f64::total_cmp);
            assert_eq!(fast[i], win[3], "i={i}");
        }
        // A slow ramp plus sparse narrow spikes: the ramp is removed, the spikes survive (up to
        // one ramp step, 0.01: the spike shifts the 200 ms median by one rank).
        let fs = 100.0;
        let x: Vec<f64> = (0..1000)
            .map(|i| 0.01 * i as f64 + if i % 100 == 50 { 1.0 } else { 0.0 })
            .collect();
        let y = remove_baseline(&x, fs).expect("valid fs");
        for i in 100..900 {
            let want = if i % 100 == 50 { 1.0 } else { 0.0 };
            assert!((y[i] - want).abs() < 0.0100001, "i={i}: {}", y[i]);
        }
    }
}
