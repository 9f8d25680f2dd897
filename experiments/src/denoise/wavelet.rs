//! Our own orthogonal discrete wavelet transform (Daubechies db4, periodic) and Donoho–Johnstone
//! soft-threshold denoising — the classical wavelet baseline of `table_00_denoising`.
//!
//! # One level
//! With the scaling (low-pass) filter h of length K = 8 and the wavelet (high-pass) filter
//! gₖ = (−1)ᵏ·h_{K−1−k}, a signal x of even length N splits into
//!
//!   aᵢ = Σₖ hₖ·x\[(2i + k) mod N\],   dᵢ = Σₖ gₖ·x\[(2i + k) mod N\],   i < N/2.
//!
//! Because h is orthonormal to its own even shifts and to g's, this analysis is an orthogonal
//! N×N matrix W, so the synthesis is its transpose: x\[(2i + k) mod N\] += hₖ·aᵢ + gₖ·dᵢ. That
//! is perfect reconstruction (tested to 1e-10; the typed-in coefficients limit it) — and also why thresholding in the wavelet domain
//! changes the signal's energy exactly as much as it changes the coefficients' (Parseval).
//!
//! # Multi-level and odd lengths
//! J levels transform the approximation again and again. A length that is not a multiple of 2ᴶ
//! is first extended by half-sample symmetric reflection (…x₁ x₀ | x₀ x₁ …) to the next
//! multiple and cropped back after synthesis.
//!
//! # Denoising (VisuShrink)
//! σ = median(|d₁|)/0.6745 from the finest details (the MAD of white Gaussian noise), threshold
//! λ = σ·√(2·ln N), soft shrinkage d ← sign(d)·max(|d| − λ, 0) on every detail level; the
//! approximation is kept. Cost: O(K·N) per level, ≈ 2·K·N·2 FLOPs in total.

/// Daubechies-4 scaling filter (8 taps, 4 vanishing moments; PyWavelets' `db4.rec_lo`).
pub const DB4: [f64; 8] = [
    0.230_377_813_308_855_23,
    0.714_846_570_552_541_5,
    0.630_880_767_929_590_4,
    -0.027_983_769_416_983_85,
    -0.187_034_811_718_881_14,
    0.030_841_381_835_986_965,
    0.032_883_011_666_982_945,
    -0.010_597_401_784_997_278,
];

/// The wavelet filter gₖ = (−1)ᵏ·h_{K−1−k} of a scaling filter h.
fn wavelet_filter(h: &[f64]) -> Vec<f64> {
    let k = h.len();
    (0..k)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * h[k - 1 - i])
        .collect()
}

/// One analysis level: (approximation, detail), each of length N/2.
///
/// # Panics
/// If `x.len()` is odd or zero (callers pad first).
pub fn dwt_level(x: &[f64], h: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    assert!(
        n > 0 && n.is_multiple_of(2),
        "dwt_level: length {n} must be even and > 0"
    );
    let g = wavelet_filter(h);
    let mut a = vec![0.0; n / 2];
    let mut d = vec![0.0; n / 2];
    for i in 0..n / 2 {
        for (k, (hk, gk)) in h.iter().zip(&g).enumerate() {
            let v = x[(2 * i + k) % n];
            a[i] += hk * v;
            d[i] += gk * v;
        }
    }
    (a, d)
}

/// One synthesis level: the transpose of [`dwt_level`].
///
/// # Panics
/// If `a` and `d` differ in length.
pub fn idwt_level(a: &[f64], d: &[f64], h: &[f64]) -> Vec<f64> {
    assert_eq!(
        a.len(),
        d.len(),
        "idwt_level: approximation and detail lengths"
    );
    let n = 2 * a.len();
    let g = wavelet_filter(h);
    let mut x = vec![0.0; n];
    for i in 0..a.len() {
        for (k, (hk, gk)) in h.iter().zip(&g).enumerate() {
            x[(2 * i + k) % n] += hk * a[i] + gk * d[i];
        }
    }
    x
}

/// A multi-level decomposition: the coarsest approximation and the details, finest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Decomposition {
    /// Approximation after the last level.
    pub approx: Vec<f64>,
    /// Details d₁ (finest, length N/2), d₂, …, d_J.
    pub details: Vec<Vec<f64>>,
    /// Length of the original signal (before symmetric padding).
    pub len: usize,
}

/// J-level DWT of `x` (padded symmetrically to a multiple of 2ᴶ); J is capped so the
/// coarsest approximation keeps at least as many samples as the filter has taps.
pub fn wavedec(x: &[f64], h: &[f64], levels: usize) -> Decomposition {
    let mut j = levels;
    while j > 0 && x.len() >> j < h.len() {
        j -= 1;
    }
    let block = 1usize << j;
    let padded_len = x.len().div_ceil(block) * block;
    let mut a: Vec<f64> = (0..padded_len).map(|i| x[reflect(i, x.len())]).collect();
    let mut details = Vec::with_capacity(j);
    for _ in 0..j {
        let (na, d) = dwt_level(&a, h);
        details.push(d);
        a = na;
    }
    Decomposition {
        approx: a,
        details,
        len: x.len(),
    }
}

/// Index into a signal of length n extended by half-sample symmetric reflection.
fn reflect(i: usize, n: usize) -> usize {
    let period = 2 * n;
    let m = i % period;
    if m < n { m } else { period - 1 - m }
}

/// Inverse of [`wavedec`] (cropped to the original length).
pub fn waverec(dec: &Decomposition, h: &[f64]) -> Vec<f64> {
    let mut a = dec.approx.clone();
    for d in dec.details.iter().rev() {
        a = idwt_level(&a, d, h);
    }
    a.truncate(dec.len);
    a
}

/// Soft shrinkage: sign(v)·max(|v| − λ, 0).
pub fn soft(v: f64, lambda: f64) -> f64 {
    v.signum() * (v.abs() - lambda).max(0.0)
}

/// Median of |v| (0 for an empty slice).
fn median_abs(v: &[f64]) -> f64 {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    if a.is_empty() {
        return 0.0;
    }
    a.sort_by(f64::total_cmp);
    let m = a.len() / 2;
    if a.len() % 2 == 1 {
        a[m]
    } else {
        0.5 * (a[m - 1] + a[m])
    }
}

/// VisuShrink denoising with db4 over `levels` levels; see the module docs. Returns the
/// threshold λ used alongside the signal.
pub fn wavelet_denoise(x: &[f64], levels: usize) -> (Vec<f64>, f64) {
    let mut dec = wavedec(x, &DB4, levels);
    let Some(finest) = dec.details.first() else {
        return (x.to_vec(), 0.0);
    };
    let sigma = median_abs(finest) / 0.6745;
    let lambda = sigma * (2.0 * (x.len().max(2) as f64).ln()).sqrt();
    for d in &mut dec.details {
        for v in d.iter_mut() {
            *v = soft(*v, lambda);
        }
    }
    (waverec(&dec, &DB4), lambda)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_engine::rng::Rng;

    #[test]
    fn db4_is_orthonormal() {
        let sum: f64 = DB4.iter().sum();
        let sq: f64 = DB4.iter().map(|v| v * v).sum();
        assert!((sum - 2f64.sqrt()).abs() < 1e-12, "Σh = {sum}");
        assert!((sq - 1.0).abs() < 1e-12, "Σh² = {sq}");
        for shift in [2, 4, 6] {
            let dot: f64 = (0..8 - shift).map(|k| DB4[k] * DB4[k + shift]).sum();
            assert!(dot.abs() < 1e-12, "shift {shift}: {dot}");
        }
    }

    #[test]
    fn perfect_reconstruction_single_and_multi_level_and_odd_lengths() {
        let mut rng = Rng::new(3);
        for n in [16, 64, 600, 601, 187, 1000] {
            let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            if n % 2 == 0 {
                let (a, d) = dwt_level(&x, &DB4);
                let y = idwt_level(&a, &d, &DB4);
                let err = x
                    .iter()
                    .zip(&y)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-10, "one level n {n}: {err}");
                // Parseval: the orthogonal transform keeps the energy.
                let e0: f64 = x.iter().map(|v| v * v).sum();
                let e1: f64 = a.iter().chain(&d).map(|v| v * v).sum();
                assert!((e0 - e1).abs() < 1e-9 * e0);
            }
            for levels in [1, 3, 5] {
                let y = waverec(&wavedec(&x, &DB4, levels), &DB4);
                assert_eq!(y.len(), n);
                let err = x
                    .iter()
                    .zip(&y)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-10, "n {n} levels {levels}: {err}");
            }
        }
    }

    #[test]
    fn soft_threshold_by_hand() {
        assert_eq!(soft(3.0, 1.0), 2.0);
        assert_eq!(soft(-3.0, 1.0), -2.0);
        assert_eq!(soft(0.5, 1.0), 0.0);
        assert_eq!(median_abs(&[-3.0, 1.0, 2.0]), 2.0);
    }
}
