//! A small radix-2 fast Fourier transform (FFT) of our own, for the RR-interval spectrum of the
//! synthetic ECG and the circulant-embedding Gaussian-process sampler.
//!
//! What it computes: the discrete Fourier transform X_k = Σ_{j=0}^{n−1} x_j · e^{∓2πi·jk/n}
//! (sign − forward, + inverse; the inverse here is *unnormalised*, like the forward), for n a
//! power of two. Complex numbers are `(re, im)` pairs of f64.
//!
//! Cost: (n/2)·log₂n butterflies, each one complex multiply and two adds (≈ 5·n·log₂n FLOPs),
//! versus 8·n² FLOPs for the naive twin [`dft_naive`], which is the specification the tests
//! compare against.
//!
//! How it works (iterative Cooley–Tukey): reorder the input by bit-reversed index, then merge
//! length-2, 4, 8 … sub-transforms in place; each merge combines X_even and w·X_odd where
//! w = e^{∓2πi·k/len} is the twiddle factor. Twiddles are computed directly with sin/cos per
//! stage (not by repeated multiplication), so rounding error stays O(ε·log n).

use std::f64::consts::PI;

/// A complex number as (real, imaginary).
pub type Complex = (f64, f64);

/// Is `n` a power of two (n ≥ 1)?
pub fn is_power_of_two(n: usize) -> bool {
    n >= 1 && n & (n - 1) == 0
}

/// In-place FFT of `data` (length a power of two). `inverse` flips the exponent's sign; neither
/// direction divides by n.
///
/// # Panics
/// If `data.len()` is not a power of two (callers pad to one; this is an internal helper).
pub fn fft_in_place(data: &mut [Complex], inverse: bool) {
    let n = data.len();
    assert!(is_power_of_two(n), "fft: length {n} is not a power of two");
    // Bit-reversal permutation: element j goes to position reverse_bits(j).
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            data.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        for k in 0..half {
            let angle = sign * 2.0 * PI * k as f64 / len as f64;
            let w = (angle.cos(), angle.sin());
            for start in (0..n).step_by(len) {
                let a = data[start + k];
                let b = data[start + k + half];
                let wb = (w.0 * b.0 - w.1 * b.1, w.0 * b.1 + w.1 * b.0);
                data[start + k] = (a.0 + wb.0, a.1 + wb.1);
                data[start + k + half] = (a.0 - wb.0, a.1 - wb.1);
            }
        }
        len *= 2;
    }
}

/// The naive O(n²) DFT, any length: the specification [`fft_in_place`] is tested against.
pub fn dft_naive(data: &[Complex], inverse: bool) -> Vec<Complex> {
    let n = data.len();
    let sign = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            let mut acc = (0.0, 0.0);
            for (j, x) in data.iter().enumerate() {
                // Reduce jk mod n first so the angle stays small and exact.
                let angle = sign * 2.0 * PI * ((j * k) % n) as f64 / n as f64;
                let (s, c) = angle.sin_cos();
                acc.0 += x.0 * c - x.1 * s;
                acc.1 += x.0 * s + x.1 * c;
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_engine::Rng;

    #[test]
    fn fft_matches_naive_dft() {
        let mut rng = Rng::new(7);
        for n in [1usize, 2, 4, 8, 64, 256] {
            let x: Vec<Complex> = (0..n).map(|_| (rng.normal(), rng.normal())).collect();
            for inverse in [false, true] {
                let mut fast = x.clone();
                fft_in_place(&mut fast, inverse);
                let slow = dft_naive(&x, inverse);
                for (k, (a, b)) in fast.iter().zip(&slow).enumerate() {
                    assert!(
                        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9,
                        "n={n} inverse={inverse} k={k}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn dft_of_a_cosine_is_two_spikes() {
        // x_j = cos(2π·3j/8) → X_3 = X_5 = 4 (= n/2), all else 0: anchors the sign convention.
        let x: Vec<Complex> = (0..8)
            .map(|j| ((2.0 * PI * 3.0 * j as f64 / 8.0).cos(), 0.0))
            .collect();
        let mut y = x.clone();
        fft_in_place(&mut y, false);
        for (k, v) in y.iter().enumerate() {
            let want = if k == 3 || k == 5 { 4.0 } else { 0.0 };
            assert!(
                (v.0 - want).abs() < 1e-12 && v.1.abs() < 1e-12,
                "k={k} {v:?}"
            );
        }
        // Forward then inverse returns n·x.
        fft_in_place(&mut y, true);
        for (a, b) in y.iter().zip(&x) {
            assert!((a.0 / 8.0 - b.0).abs() < 1e-12 && (a.1 / 8.0).abs() < 1e-12);
        }
    }
}
