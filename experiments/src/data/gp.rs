//! Gaussian-process trajectories: the aperiodic control signals of seed 004's "unpunished
//! region" experiment (arXiv 2012.00493, `gaussian_experiment/stochastic_proc.py`).
//!
//! What: draws of a zero-mean GP with the squared-exponential (RBF) kernel
//! k(s, t) = σ²·exp(−(s − t)²/(2ℓ²)) on the grid tᵢ = linspace(−140, 140, 5000), ℓ = σ = 1, then
//! normalised to a target ECG's mean and population std: y' = (y − ȳ)/sd(y)·std + mean.
//! The grid step is h = 280/4999 ≈ 0.056, so the correlation length is ℓ/h ≈ 17.9 samples.
//!
//! **Why not Cholesky of the 5000 × 5000 covariance?** Its eigenvalues are the kernel's spectrum
//! ∝ exp(−(ℓω)²/2) sampled up to the grid's Nyquist frequency ω = π/h ≈ 56: they fall to
//! ≈ e^{−1500}, far below f64's 1e−16 relative precision, so K is singular to machine
//! precision and Cholesky breaks down. Adding jitter εI (ε ≈ 1e−6) repairs it but costs
//! n³/3 ≈ 4·10¹⁰ flops and 200 MB per factorisation, and perturbs the draw by white noise of
//! std √ε.
//!
//! **Our choice: circulant embedding** (Dietrich & Newsam 1997), exact and O(m log m).
//! On a regular grid K is Toeplitz, K_ij = c_{|i−j|}, c_j = k(j·h). Embed its first row in a
//! symmetric circulant of size m = 2^⌈log₂ 2n⌉ (16 384): C_j = c_{min(j, m−j)}. A circulant is
//! diagonalised by the DFT: its eigenvalues λ = DFT(C) are real. If all λ ≥ 0, then with
//! ξ_j = a_j + i·b_j (a, b ~ N(0,1) i.i.d.), w = DFT(√(λ/m)·ξ) has E[w wᴴ] = 2C and E[w wᵀ] = 0,
//! so Re w and Im w are two *independent* exact draws with covariance C, whose first n entries
//! have covariance K. Here c_j has decayed to exp(−0.5·(m/2·h)²) = 0 long before the wrap, so
//! the embedding is nonnegative definite up to round-off (measured: λ_min/λ_max ≈ −1.8e−16 for
//! the seed-004 grid); those tiny negative λ are set to 0 — a change far below sampling noise. If a kernel ever produced a
//! clearly negative eigenvalue (< −1e−8·λ_max), m is doubled.
//!
//! The naive twin [`sample_cholesky`] (jitter + Cholesky, O(n³), small n only) is the
//! specification the tests compare statistics against.

use crate::data::signal::fft::{Complex, fft_in_place};
use ecgrad_engine::{Error, Rng};

/// The grid and kernel of the GP (defaults: seed 004's settings).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpConfig {
    /// Number of grid points (5000).
    pub n: usize,
    /// First grid point (−140).
    pub x_min: f64,
    /// Last grid point (140).
    pub x_max: f64,
    /// RBF length scale ℓ (1).
    pub length_scale: f64,
    /// RBF variance σ² (1).
    pub variance: f64,
}

impl Default for GpConfig {
    fn default() -> Self {
        GpConfig {
            n: 5000,
            x_min: -140.0,
            x_max: 140.0,
            length_scale: 1.0,
            variance: 1.0,
        }
    }
}

impl GpConfig {
    /// Grid step h = (x_max − x_min)/(n − 1).
    pub fn step(&self) -> f64 {
        (self.x_max - self.x_min) / (self.n - 1) as f64
    }

    /// Kernel value at a lag of `lag` grid steps.
    pub fn kernel_at_lag(&self, lag: usize) -> f64 {
        let d = lag as f64 * self.step() / self.length_scale;
        self.variance * (-0.5 * d * d).exp()
    }

    fn validate(&self, op: &'static str) -> Result<(), Error> {
        let bad = |name: &'static str, value: String, why: &str| {
            Err(Error::InvalidParam {
                op,
                name,
                value,
                why: why.into(),
            })
        };
        if self.n < 2 || self.n > 1 << 24 {
            return bad("n", self.n.to_string(), "must be in 2..=2^24");
        }
        if !self.x_min.is_finite() || !self.x_max.is_finite() || self.x_max <= self.x_min {
            return bad(
                "x range",
                format!("[{}, {}]", self.x_min, self.x_max),
                "must be finite with x_max > x_min",
            );
        }
        if !(self.length_scale > 0.0 && self.variance > 0.0) {
            return bad(
                "length_scale / variance",
                format!("{} / {}", self.length_scale, self.variance),
                "must be > 0",
            );
        }
        Ok(())
    }
}

/// A prepared circulant-embedding sampler: √(λ/m) for the embedding of size m.
#[derive(Clone, Debug)]
pub struct CirculantSampler {
    n: usize,
    sqrt_eig: Vec<f64>,
    /// Most negative eigenvalue clipped to 0, relative to the largest (diagnostic).
    pub clipped_relative: f64,
}

impl CirculantSampler {
    /// Builds the sampler (one FFT of size m).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for an invalid config, or if no embedding up to 2^26 points is
    /// nonnegative definite.
    pub fn new(cfg: &GpConfig) -> Result<CirculantSampler, Error> {
        cfg.validate("gp::CirculantSampler")?;
        let mut m = (2 * cfg.n).next_power_of_two();
        loop {
            let mut row: Vec<Complex> = (0..m)
                .map(|j| (cfg.kernel_at_lag(j.min(m - j)), 0.0))
                .collect();
            fft_in_place(&mut row, false);
            let max = row.iter().map(|v| v.0).fold(f64::NEG_INFINITY, f64::max);
            let min = row.iter().map(|v| v.0).fold(f64::INFINITY, f64::min);
            if min >= -1e-8 * max {
                let sqrt_eig = row
                    .iter()
                    .map(|v| (v.0.max(0.0) / m as f64).sqrt())
                    .collect();
                return Ok(CirculantSampler {
                    n: cfg.n,
                    sqrt_eig,
                    clipped_relative: (min.min(0.0)) / max,
                });
            }
            if m >= 1 << 26 {
                return Err(Error::InvalidParam {
                    op: "gp::CirculantSampler",
                    name: "embedding size",
                    value: m.to_string(),
                    why: format!(
                        "still not nonnegative definite (λ_min/λ_max = {})",
                        min / max
                    ),
                });
            }
            m *= 2;
        }
    }

    /// Two independent zero-mean draws (the real and imaginary parts of one FFT).
    pub fn sample_pair(&self, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
        let mut w: Vec<Complex> = self
            .sqrt_eig
            .iter()
            .map(|&s| (s * rng.normal(), s * rng.normal()))
            .collect();
        fft_in_place(&mut w, false);
        (
            w[..self.n].iter().map(|v| v.0).collect(),
            w[..self.n].iter().map(|v| v.1).collect(),
        )
    }
}

/// `count` zero-mean GP draws by circulant embedding (pairs from one FFT each).
///
/// # Errors
/// As [`CirculantSampler::new`].
pub fn sample_circulant(
    cfg: &GpConfig,
    count: usize,
    rng: &mut Rng,
) -> Result<Vec<Vec<f64>>, Error> {
    let sampler = CirculantSampler::new(cfg)?;
    let mut out = Vec::with_capacity(count + 1);
    while out.len() < count {
        let (a, b) = sampler.sample_pair(rng);
        out.push(a);
        out.push(b);
    }
    out.truncate(count);
    Ok(out)
}

/// The naive twin: one draw y = L·z with L Lᵀ = K + jitter·I (dense Cholesky, O(n³)).
///
/// # Errors
/// [`Error::InvalidParam`] if n > 3000 (too slow; use [`sample_circulant`]), or if the
/// factorisation meets a non-positive pivot (jitter too small), naming the row.
pub fn sample_cholesky(cfg: &GpConfig, jitter: f64, rng: &mut Rng) -> Result<Vec<f64>, Error> {
    cfg.validate("gp::sample_cholesky")?;
    let n = cfg.n;
    if n > 3000 {
        return Err(Error::InvalidParam {
            op: "gp::sample_cholesky",
            name: "n",
            value: n.to_string(),
            why: "dense Cholesky is limited to n ≤ 3000".into(),
        });
    }
    // Lower-triangular L, row-major; K_ij = c_{|i−j|} + jitter·δ_ij.
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = cfg.kernel_at_lag(i - j) + if i == j { jitter } else { 0.0 };
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return Err(Error::InvalidParam {
                        op: "gp::sample_cholesky",
                        name: "jitter",
                        value: jitter.to_string(),
                        why: format!("covariance not positive definite at row {i} (pivot {sum:e})"),
                    });
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let z: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    Ok((0..n)
        .map(|i| (0..=i).map(|k| l[i * n + k] * z[k]).sum())
        .collect())
}

/// Rescales `y` in place to mean `mean` and population (ddof 0) std `std`, as numpy does in
/// the original code. A constant `y` becomes constant `mean`.
pub fn match_mean_std(y: &mut [f64], mean: f64, std: f64) {
    let n = y.len() as f64;
    let m = y.iter().sum::<f64>() / n;
    let s = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
    for v in y.iter_mut() {
        *v = if s > 0.0 {
            (*v - m) / s * std + mean
        } else {
            mean
        };
    }
}

/// Seed 004's control signal: one GP trajectory of `cfg.n` points with the given ECG's mean and
/// population std.
///
/// # Errors
/// As [`CirculantSampler::new`]; [`Error::InvalidParam`] if std < 0 or mean/std not finite.
pub fn gp_trajectory(
    cfg: &GpConfig,
    mean: f64,
    std: f64,
    rng: &mut Rng,
) -> Result<Vec<f64>, Error> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::InvalidParam {
            op: "gp::gp_trajectory",
            name: "mean / std",
            value: format!("{mean} / {std}"),
            why: "must be finite, std ≥ 0".into(),
        });
    }
    let mut y = sample_circulant(cfg, 1, rng)?.remove(0);
    match_mean_std(&mut y, mean, std);
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean over draws of the lag-k autocovariance (draws have known mean 0).
    fn autocov(draws: &[Vec<f64>], lag: usize) -> f64 {
        let mut acc = 0.0;
        let mut count = 0.0;
        for d in draws {
            for i in 0..d.len() - lag {
                acc += d[i] * d[i + lag];
                count += 1.0;
            }
        }
        acc / count
    }

    #[test]
    fn circulant_draws_have_the_rbf_autocovariance() {
        let cfg = GpConfig::default();
        let draws = sample_circulant(&cfg, 40, &mut Rng::new(1)).expect("valid");
        assert_eq!(draws[0].len(), 5000);
        // 40 draws × 5000 points ≈ 40·5000/18 ≈ 11 000 effective samples: ±0.03 is ≈ 3σ.
        for lag in [0usize, 5, 10, 18, 30, 60] {
            let got = autocov(&draws, lag);
            let want = cfg.kernel_at_lag(lag);
            assert!((got - want).abs() < 0.04, "lag {lag}: {got} vs {want}");
        }
        let sampler = CirculantSampler::new(&cfg).expect("valid");
        println!(
            "circulant embedding: λ_min/λ_max = {:e}",
            sampler.clipped_relative
        );
        assert!(
            sampler.clipped_relative > -1e-10,
            "{}",
            sampler.clipped_relative
        );
    }

    #[test]
    fn circulant_agrees_with_the_cholesky_twin() {
        let cfg = GpConfig {
            n: 300,
            x_min: -8.0,
            x_max: 8.0,
            length_scale: 1.0,
            variance: 2.0,
        };
        let fast = sample_circulant(&cfg, 200, &mut Rng::new(2)).expect("valid");
        let mut rng = Rng::new(3);
        let slow: Vec<Vec<f64>> = (0..200)
            .map(|_| sample_cholesky(&cfg, 1e-8, &mut rng).expect("jitter suffices"))
            .collect();
        for lag in [0usize, 3, 10, 20] {
            let (a, b, want) = (
                autocov(&fast, lag),
                autocov(&slow, lag),
                cfg.kernel_at_lag(lag),
            );
            assert!(
                (a - want).abs() < 0.15 && (b - want).abs() < 0.15,
                "lag {lag}: fast {a} slow {b} want {want}"
            );
        }
        // Without jitter the seed-004 covariance is singular to machine precision.
        let singular = GpConfig {
            n: 1000,
            x_min: -28.0,
            x_max: 28.0,
            ..GpConfig::default()
        };
        assert!(sample_cholesky(&singular, 0.0, &mut rng).is_err());
    }

    #[test]
    fn trajectory_matches_target_mean_and_std_and_is_seeded() {
        let cfg = GpConfig::default();
        let y = gp_trajectory(&cfg, -5.475, 188.577, &mut Rng::new(4)).expect("valid");
        let n = y.len() as f64;
        let m = y.iter().sum::<f64>() / n;
        let s = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        assert!(
            (m + 5.475).abs() < 1e-9 && (s - 188.577).abs() < 1e-9,
            "{m} {s}"
        );
        assert_eq!(
            y,
            gp_trajectory(&cfg, -5.475, 188.577, &mut Rng::new(4)).expect("valid")
        );
        assert!(gp_trajectory(&cfg, 0.0, -1.0, &mut Rng::new(4)).is_err());
        assert!(CirculantSampler::new(&GpConfig { n: 1, ..cfg }).is_err());
    }
}
