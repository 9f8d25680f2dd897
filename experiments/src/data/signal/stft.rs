//! Short-time Fourier transform (STFT) spectrograms: a 1D ECG window turned into a
//! time–frequency image that a 2D CNN can read (seed 002's "image" lesson on ECG data).
//!
//! Definition: with a window w of length n (Hann, w_j = ½·(1 − cos(2πj/n)), the periodic form)
//! and hop h, frame m starts at sample m·h and
//!
//!   X[k, m] = Σ_{j=0}^{n−1} x_{m·h + j} · w_j · e^{−2πi·jk/n},   k = 0 … n/2,
//!   S[k, m] = |X[k, m]|²                       (power spectrogram),
//!   S_dB[k, m] = 10·log₁₀(S[k, m] + 1e-10)     (what the images show).
//!
//! Frequency of bin k: k·fs/n Hz; time of frame m: (m·h + n/2)/fs s (the frame's centre).
//! Frames: M = 1 + ⌊(L − n)/h⌋ (no padding: every frame lies inside the signal).
//! Shapes: x `[L]` → S `[n/2 + 1, M]` (row = frequency, column = time; low frequencies first).
//! Cost: M FFTs of length n, ≈ 5·M·n·log₂n FLOPs, plus n multiplies per frame for the window.
//! The FFT is [`super::fft::fft_in_place`] (radix 2, so n must be a power of two); the tests
//! check one frame against the naive DFT and that a sinusoid peaks at its bin.

use ecgrad_engine::Error;
use ndarray::Array2;

use super::fft::{Complex, fft_in_place, is_power_of_two};

/// Settings of [`spectrogram`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StftConfig {
    /// Frame (FFT) length n, a power of two ≥ 2.
    pub n_fft: usize,
    /// Hop h between frame starts, ≥ 1.
    pub hop: usize,
    /// Return 10·log₁₀(power + 1e-10) instead of the power.
    pub log: bool,
}

impl Default for StftConfig {
    /// n = 32, hop 4, log power: for a 187-sample beat at 125 Hz this gives 17 bins of 3.9 Hz
    /// × 39 frames.
    fn default() -> Self {
        StftConfig {
            n_fft: 32,
            hop: 4,
            log: true,
        }
    }
}

/// The periodic Hann window of length n: w_j = ½·(1 − cos(2πj/n)).
pub fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|j| 0.5 * (1.0 - (2.0 * std::f64::consts::PI * j as f64 / n as f64).cos()))
        .collect()
}

/// Number of frames for a signal of `len` samples (0 if the signal is shorter than a frame).
pub fn n_frames(len: usize, cfg: &StftConfig) -> usize {
    if len < cfg.n_fft || cfg.hop == 0 {
        0
    } else {
        1 + (len - cfg.n_fft) / cfg.hop
    }
}

/// The spectrogram S `[n/2 + 1, M]` of `x` (see the module docs).
///
/// # Errors
/// [`Error::InvalidParam`] if `n_fft` is not a power of two ≥ 2, `hop` is 0, or `x` is shorter
/// than one frame.
pub fn spectrogram(x: &[f32], cfg: &StftConfig) -> Result<Array2<f32>, Error> {
    let bad = |name: &'static str, value: String, why: &str| Error::InvalidParam {
        op: "stft::spectrogram",
        name,
        value,
        why: why.into(),
    };
    if cfg.n_fft < 2 || !is_power_of_two(cfg.n_fft) {
        return Err(bad(
            "n_fft",
            cfg.n_fft.to_string(),
            "must be a power of two ≥ 2",
        ));
    }
    if cfg.hop == 0 {
        return Err(bad("hop", "0".into(), "must be ≥ 1"));
    }
    let frames = n_frames(x.len(), cfg);
    if frames == 0 {
        return Err(bad(
            "x",
            format!("{} samples", x.len()),
            &format!("shorter than one frame of n_fft = {}", cfg.n_fft),
        ));
    }
    let n = cfg.n_fft;
    let bins = n / 2 + 1;
    let w = hann(n);
    let mut out = Array2::<f32>::zeros((bins, frames));
    let mut buf: Vec<Complex> = vec![(0.0, 0.0); n];
    for m in 0..frames {
        let start = m * cfg.hop;
        for (j, b) in buf.iter_mut().enumerate() {
            *b = (f64::from(x[start + j]) * w[j], 0.0);
        }
        fft_in_place(&mut buf, false);
        for k in 0..bins {
            let p = buf[k].0 * buf[k].0 + buf[k].1 * buf[k].1;
            out[[k, m]] = if cfg.log {
                (10.0 * (p + 1e-10).log10()) as f32
            } else {
                p as f32
            };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fft::dft_naive;
    use super::*;

    #[test]
    fn sinusoid_peaks_at_its_bin_in_every_frame() {
        // fs = 128 Hz, n = 32 → bins of 4 Hz; a 20 Hz sine sits exactly on bin 5.
        let (fs, f0) = (128.0, 20.0);
        let x: Vec<f32> = (0..300)
            .map(|t| (2.0 * std::f64::consts::PI * f0 * t as f64 / fs).sin() as f32)
            .collect();
        let cfg = StftConfig {
            n_fft: 32,
            hop: 8,
            log: false,
        };
        let s = spectrogram(&x, &cfg).unwrap();
        assert_eq!(s.dim(), (17, n_frames(300, &cfg)));
        assert_eq!(s.dim().1, 1 + (300 - 32) / 8);
        for m in 0..s.dim().1 {
            let col = s.column(m);
            let argmax = (0..17).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
            assert_eq!(argmax, 5, "frame {m}: {col:?}");
            // Hann leaks only into the two neighbours: bin 5 ± 2 and beyond are ~0.
            assert!(col[8] < 1e-6 * col[5], "frame {m}: leakage {}", col[8]);
        }
        // Parseval for a bin-centred sine with the Hann window: |X_5|² = (A·n/4)² with A = 1.
        assert!((s[[5, 0]] - 64.0).abs() < 1e-3, "{}", s[[5, 0]]);
    }

    #[test]
    fn one_frame_matches_the_naive_dft_and_log_is_db() {
        let x: Vec<f32> = (0..16).map(|t| ((t * 7 % 5) as f32) - 2.0).collect();
        let cfg = StftConfig {
            n_fft: 16,
            hop: 1,
            log: false,
        };
        let s = spectrogram(&x, &cfg).unwrap();
        assert_eq!(s.dim(), (9, 1));
        let w = hann(16);
        let xw: Vec<Complex> = x
            .iter()
            .zip(&w)
            .map(|(&a, &b)| (f64::from(a) * b, 0.0))
            .collect();
        let d = dft_naive(&xw, false);
        for k in 0..9 {
            let p = d[k].0 * d[k].0 + d[k].1 * d[k].1;
            assert!(
                (f64::from(s[[k, 0]]) - p).abs() < 1e-4 * p.max(1.0),
                "bin {k}"
            );
        }
        let db = spectrogram(&x, &StftConfig { log: true, ..cfg }).unwrap();
        let p0 = f64::from(s[[0, 0]]);
        assert!((f64::from(db[[0, 0]]) - 10.0 * (p0 + 1e-10).log10()).abs() < 1e-4);
    }

    #[test]
    fn invalid_settings_are_named_errors() {
        let x = vec![0.0f32; 20];
        let e = |cfg| spectrogram(&x, &cfg).unwrap_err().to_string();
        let base = StftConfig::default();
        assert!(e(StftConfig { n_fft: 24, ..base }).contains("n_fft"));
        assert!(e(StftConfig { hop: 0, ..base }).contains("hop"));
        assert!(e(StftConfig { n_fft: 32, ..base }).contains("shorter than one frame"));
    }
}
