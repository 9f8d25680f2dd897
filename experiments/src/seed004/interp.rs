//! Latent interpolation studies (seed 004 §II): measuring decoded paths.
//!
//! - Whole ECGs ([`whole_path`]): R peaks (Pan–Tompkins) and significant waves counted at each
//!   of the decoded points; a path "preserves" a count when every point's count lies between
//!   the end points' counts (`measure::count_preserved`).
//! - Single cycles ([`cycle_path`]): the T wave's centre of mass and height at each point, and
//!   their continuity (`measure::trajectory`: drift vs jump).
//! - Pair selection ([`pick_pairs`]): pairs of test cycles whose T-wave centres are closer than
//!   `close`·w or farther than `far`·w apart, w = the mean T-wave width of the pool.

use ecgrad_engine::Rng;
use serde::Serialize;

use super::measure::{
    TWave, Trajectory, count_preserved, r_peak_count, t_wave, trajectory, wave_count,
};

/// Counts along one whole-ECG path.
#[derive(Clone, Debug, Serialize)]
pub struct WholePath {
    /// R peaks at each point.
    pub r_counts: Vec<usize>,
    /// Significant waves (P, R, T …) at each point.
    pub wave_counts: Vec<usize>,
    /// P/T-like waves = waves − R peaks (saturating) at each point.
    pub other_counts: Vec<usize>,
    /// R count preserved along the path.
    pub r_preserved: bool,
    /// Wave count preserved.
    pub waves_preserved: bool,
    /// P/T count preserved.
    pub other_preserved: bool,
}

/// Measures a decoded path of whole ECGs sampled at `fs`; waves need prominence ≥ `fraction`
/// of each signal's range.
pub fn whole_path(path: &[Vec<f32>], fs: f64, fraction: f32) -> WholePath {
    let r_counts: Vec<usize> = path.iter().map(|x| r_peak_count(x, fs)).collect();
    let wave_counts: Vec<usize> = path.iter().map(|x| wave_count(x, fs, fraction)).collect();
    let other_counts: Vec<usize> = wave_counts
        .iter()
        .zip(&r_counts)
        .map(|(w, r)| w.saturating_sub(*r))
        .collect();
    WholePath {
        r_preserved: count_preserved(&r_counts),
        waves_preserved: count_preserved(&wave_counts),
        other_preserved: count_preserved(&other_counts),
        r_counts,
        wave_counts,
        other_counts,
    }
}

/// The T-wave track along one single-cycle path.
#[derive(Clone, Debug, Serialize)]
pub struct CyclePath {
    /// Centre of mass at each point (samples; NaN where no T mass was found).
    pub coms: Vec<f64>,
    /// Height at each point (0 where none).
    pub heights: Vec<f64>,
    /// Continuity measures.
    pub trajectory: Trajectory,
}

/// Measures a decoded path of cycles whose R peak sits at sample `r`.
pub fn cycle_path(path: &[Vec<f32>], r: usize, fs: f64) -> CyclePath {
    let tw: Vec<Option<TWave>> = path.iter().map(|x| t_wave(x, r, fs)).collect();
    let coms: Vec<f64> = tw.iter().map(|t| t.map_or(f64::NAN, |t| t.com)).collect();
    let heights: Vec<f64> = tw.iter().map(|t| t.map_or(0.0, |t| t.height)).collect();
    // A point without a T wave breaks continuity: carry the last centre, the height 0 marks it.
    let mut filled = Vec::with_capacity(coms.len());
    let mut last = coms.iter().copied().find(|c| c.is_finite()).unwrap_or(0.0);
    for &c in &coms {
        if c.is_finite() {
            last = c;
        }
        filled.push(last);
    }
    CyclePath {
        trajectory: trajectory(&filled, &heights),
        coms,
        heights,
    }
}

/// Up to `n` random pairs (i < j) from `waves` whose centre distance is < `close`·w ("close")
/// and up to `n` with distance > `far`·w ("far"), w = mean width. Returns (close, far, w).
pub fn pick_pairs(
    waves: &[Option<TWave>],
    close: f64,
    far: f64,
    n: usize,
    seed: u64,
) -> (Vec<(usize, usize)>, Vec<(usize, usize)>, f64) {
    let ok: Vec<(usize, TWave)> = waves
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let w = ok.iter().map(|(_, t)| t.width).sum::<f64>() / ok.len().max(1) as f64;
    let mut close_pairs = Vec::new();
    let mut far_pairs = Vec::new();
    let mut rng = Rng::stream(seed, "seed004-pairs");
    // Random probing keeps the choice unbiased without enumerating all pairs.
    let mut tries = 0;
    while (close_pairs.len() < n || far_pairs.len() < n) && tries < 200 * n.max(1) && ok.len() > 1 {
        tries += 1;
        let a = rng.below(ok.len());
        let b = rng.below(ok.len());
        if a == b {
            continue;
        }
        let (i, j) = (ok[a.min(b)], ok[a.max(b)]);
        let d = (i.1.com - j.1.com).abs();
        let pair = (i.0, j.0);
        if d < close * w && close_pairs.len() < n && !close_pairs.contains(&pair) {
            close_pairs.push(pair);
        } else if d > far * w && far_pairs.len() < n && !far_pairs.contains(&pair) {
            far_pairs.push(pair);
        }
    }
    (close_pairs, far_pairs, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(l: usize, t_centre: f64, t_height: f64) -> Vec<f32> {
        (0..l)
            .map(|t| {
                let t = t as f64;
                let r = 3.0 * (-(t - 20.0).powi(2) / 4.0).exp();
                let tw = t_height * (-(t - t_centre).powi(2) / 72.0).exp();
                (r + tw) as f32
            })
            .collect()
    }

    #[test]
    fn drifting_and_jumping_t_waves_are_told_apart() {
        // Drift: the T wave moves 60 → 70 in 10 steps.
        let drift: Vec<Vec<f32>> = (0..=10).map(|k| cycle(120, 60.0 + k as f64, 0.5)).collect();
        let d = cycle_path(&drift, 20, 200.0);
        assert!(!d.trajectory.jumps, "{:?}", d.trajectory);
        // Vanish-and-grow: a cross-fade between T at 50 and T at 95.
        let fade: Vec<Vec<f32>> = (0..=10)
            .map(|k| {
                let t = k as f32 / 10.0;
                let a = cycle(120, 50.0, 0.5);
                let b = cycle(120, 95.0, 0.5);
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| x * (1.0 - t) + y * t)
                    .collect()
            })
            .collect();
        let j = cycle_path(&fade, 20, 200.0);
        assert!(j.trajectory.jumps, "{:?}", j.trajectory);
        assert!(j.trajectory.amplitude_dip < 0.6, "{:?}", j.trajectory);
    }

    #[test]
    fn whole_path_counts_and_pairs() {
        let sig = |shift: f64| -> Vec<f32> { cycle(120, 60.0 + shift, 0.5) };
        let p = whole_path(&[sig(0.0), sig(2.0), sig(4.0)], 100.0, 0.1);
        assert_eq!(p.wave_counts, vec![2, 2, 2]);
        assert!(p.waves_preserved);
        let t = |c: f64| {
            Some(TWave {
                com: c,
                height: 1.0,
                width: 10.0,
            })
        };
        let waves = [t(50.0), t(52.0), t(80.0), None];
        let (close, far, w) = pick_pairs(&waves, 0.5, 1.5, 2, 3);
        assert_eq!(w, 10.0);
        assert_eq!(close, vec![(0, 1)]);
        assert_eq!(far.len(), 2);
        assert!(far.iter().all(|&(a, b)| b == 2 && a < 2));
    }
}
