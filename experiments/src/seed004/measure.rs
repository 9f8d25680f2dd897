//! The measurements that turn seed 004's qualitative claims into numbers.
//!
//! - **Wave counts** ([`significant_peaks`]): local maxima whose topographic prominence is at
//!   least a fraction of the signal's range (10 % by default) and that are at least
//!   `min_distance` apart — in lead V6 the P, R and T waves are upright, so this counts the
//!   visible waves; R peaks are counted separately with Pan–Tompkins ([`r_peak_count`]), and
//!   "P/T waves" = significant peaks − R peaks.
//! - **Count preservation** ([`count_preserved`]): along an interpolation path from A to B a
//!   count is preserved when every intermediate count lies between the counts of A and B; a wave
//!   that vanishes in one place and grows in another makes the count dip or overshoot.
//! - **Centre of mass** ([`centre_of_mass`]): c = Σ t·m(t) / Σ m(t) over a window with
//!   m(t) = max(x(t) − baseline, 0), the positive mass above the isoelectric level (the median
//!   of the signal). [`t_wave`] applies it to the T wave of a cycle centred on its R peak (the
//!   window R + 100 ms … R + 450 ms) and also returns the wave's peak height and its full width
//!   at half maximum.
//! - **Trajectory continuity** ([`trajectory`]): for a T-wave centre path c₀ … c_n, the jump
//!   ratio max_k |c_{k+1} − c_k| / (|c_n − c₀| / n) is 1 for a uniform drift and ≈ n for a
//!   single jump; the amplitude dip min_k h_k / min(h₀, h_n) is ≈ 1 when the wave keeps its size
//!   and ≪ 1 when it vanishes mid-path. A path is called a **jump** when the jump ratio > 4 or
//!   the dip < 0.5, else a **drift**.
//! - **Masked errors** ([`mask_errors`]): the public code's error_inside = Σ_{t∈hole}(ŷ − x)²/L
//!   and error_outside = Σ_{t∉hole}(ŷ − x)²/L, both divided by the full length L.

use serde::Serialize;

use crate::data::signal::pan_tompkins;

/// Indices of the local maxima of `x` with prominence ≥ `min_prominence` (absolute units),
/// keeping the higher of two peaks closer than `min_distance` samples.
///
/// Prominence of a peak at i: x\[i\] − max(left base, right base), where a base is the minimum
/// between i and the nearest higher sample on that side (or the signal's end). Cost O(n·w)
/// with w the typical distance to a higher sample (fine for n ≤ a few thousand).
pub fn significant_peaks(x: &[f32], min_prominence: f32, min_distance: usize) -> Vec<usize> {
    let n = x.len();
    let mut peaks: Vec<(usize, f32)> = Vec::new();
    let mut i = 1;
    while i + 1 < n {
        // A plateau counts once, at its first sample.
        if x[i] > x[i - 1] {
            let mut j = i;
            while j + 1 < n && x[j + 1] == x[i] {
                j += 1;
            }
            if j + 1 < n && x[j + 1] < x[i] {
                let prom = prominence(x, i, j);
                if prom >= min_prominence {
                    peaks.push((i, x[i]));
                }
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    // Enforce the minimum distance, tallest first.
    let mut order: Vec<usize> = (0..peaks.len()).collect();
    order.sort_by(|&a, &b| peaks[b].1.total_cmp(&peaks[a].1));
    let mut kept: Vec<usize> = Vec::new();
    for k in order {
        let p = peaks[k].0;
        if kept.iter().all(|&q| p.abs_diff(q) >= min_distance) {
            kept.push(p);
        }
    }
    kept.sort_unstable();
    kept
}

fn prominence(x: &[f32], start: usize, end: usize) -> f32 {
    let h = x[start];
    let mut left_min = h;
    for k in (0..start).rev() {
        if x[k] > h {
            break;
        }
        left_min = left_min.min(x[k]);
    }
    let mut right_min = h;
    for &v in &x[end + 1..] {
        if v > h {
            break;
        }
        right_min = right_min.min(v);
    }
    h - left_min.max(right_min)
}

/// Significant peaks with prominence ≥ `fraction` of the signal's range, at least 120 ms apart.
pub fn wave_count(x: &[f32], fs: f64, fraction: f32) -> usize {
    let (lo, hi) = x
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if x.is_empty() || hi <= lo {
        return 0;
    }
    significant_peaks(x, fraction * (hi - lo), (0.12 * fs).round() as usize).len()
}

/// R peaks found by Pan–Tompkins in `x` at `fs` Hz (0 when the detector refuses the signal,
/// e.g. shorter than 2 s).
pub fn r_peak_count(x: &[f32], fs: f64) -> usize {
    let v: Vec<f64> = x.iter().map(|&a| f64::from(a)).collect();
    pan_tompkins(&v, fs).map_or(0, |p| p.len())
}

/// True when every count lies between the first and the last (inclusive).
pub fn count_preserved(counts: &[usize]) -> bool {
    match (counts.first(), counts.last()) {
        (Some(&a), Some(&b)) => {
            let (lo, hi) = (a.min(b), a.max(b));
            counts.iter().all(|&c| (lo..=hi).contains(&c))
        }
        _ => true,
    }
}

/// The median of `x` (the isoelectric level of an ECG segment); 0 for an empty slice.
pub fn median(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Centre of mass and total mass of m(t) = max(x(t) − baseline, 0) over `lo..hi` (clamped to
/// the signal); `None` when there is no positive mass.
pub fn centre_of_mass(x: &[f32], lo: usize, hi: usize, baseline: f32) -> Option<(f64, f64)> {
    let hi = hi.min(x.len());
    let (mut m, mut mt) = (0.0f64, 0.0f64);
    for (t, &v) in x.iter().enumerate().take(hi).skip(lo) {
        let w = f64::from((v - baseline).max(0.0));
        m += w;
        mt += w * t as f64;
    }
    (m > 0.0).then(|| (mt / m, m))
}

/// A T wave seen by [`t_wave`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TWave {
    /// Centre of mass, samples from the start of the cycle.
    pub com: f64,
    /// Peak height above the baseline.
    pub height: f64,
    /// Full width at half maximum, samples.
    pub width: f64,
}

/// The T wave of a cycle whose R peak is at `r` (sampling rate `fs`): the positive mass above
/// the cycle's median in the window R + 100 ms … R + 450 ms (where T waves live; the window
/// stops before the next beat's P wave at heart rates up to ≈ 110 bpm). `width` is the full
/// width at half maximum around the highest sample. `None` if there is no positive mass.
pub fn t_wave(x: &[f32], r: usize, fs: f64) -> Option<TWave> {
    let base = median(x);
    let lo = r + (0.1 * fs).round() as usize;
    let hi = (r + (0.45 * fs).round() as usize).min(x.len());
    let (com, _) = centre_of_mass(x, lo, hi, base)?;
    let w = |t: usize| f64::from(x[t] - base);
    let peak = (lo..hi).max_by(|&a, &b| w(a).total_cmp(&w(b)))?;
    let height = w(peak);
    let half = height / 2.0;
    let mut a = peak;
    while a > lo && w(a - 1) >= half {
        a -= 1;
    }
    let mut b = peak;
    while b + 1 < hi && w(b + 1) >= half {
        b += 1;
    }
    Some(TWave {
        com,
        height,
        width: (b - a + 1) as f64,
    })
}

/// Continuity of a wave-centre path: see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Trajectory {
    /// max step / mean step (1 = uniform drift, ≈ n = one jump).
    pub jump_ratio: f64,
    /// min height / min(end heights) (≈ 1 = the wave stays, ≪ 1 = it vanishes mid-path).
    pub amplitude_dip: f64,
    /// |c_n − c₀| in samples.
    pub displacement: f64,
    /// jump_ratio > 4 or amplitude_dip < 0.5.
    pub jumps: bool,
}

/// Measures a path of centres `coms` and heights `heights` (same length ≥ 2).
pub fn trajectory(coms: &[f64], heights: &[f64]) -> Trajectory {
    let n = coms.len().saturating_sub(1).max(1);
    let displacement = match (coms.first(), coms.last()) {
        (Some(a), Some(b)) => (b - a).abs(),
        _ => 0.0,
    };
    let max_step = coms
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f64::max);
    // A path that barely moves has no meaningful ratio: use one sample as the mean step floor.
    let mean_step = (displacement / n as f64).max(1.0);
    let jump_ratio = max_step / mean_step;
    let ends = match (heights.first(), heights.last()) {
        (Some(a), Some(b)) => a.min(*b),
        _ => 0.0,
    };
    let min_h = heights.iter().copied().fold(f64::INFINITY, f64::min);
    let amplitude_dip = if ends > 0.0 { min_h / ends } else { 1.0 };
    Trajectory {
        jump_ratio,
        amplitude_dip,
        displacement,
        jumps: jump_ratio > 4.0 || amplitude_dip < 0.5,
    }
}

/// (error_inside, error_outside) of a reconstruction with the unpunished hole `[lo, hi)`, both
/// divided by the full length (the public code's definition).
pub fn mask_errors(pred: &[f32], target: &[f32], lo: usize, hi: usize) -> (f64, f64) {
    let l = pred.len().min(target.len());
    let (mut inside, mut outside) = (0.0, 0.0);
    for t in 0..l {
        let e = f64::from(pred[t] - target[t]).powi(2);
        if (lo..hi).contains(&t) {
            inside += e;
        } else {
            outside += e;
        }
    }
    let d = l.max(1) as f64;
    (inside / d, outside / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump(l: usize, centre: f64, width: f64, h: f64) -> Vec<f32> {
        (0..l)
            .map(|t| (h * (-(t as f64 - centre).powi(2) / (2.0 * width * width)).exp()) as f32)
            .collect()
    }

    fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }

    #[test]
    fn peaks_and_prominence() {
        // Two clear bumps and one tiny ripple on the first.
        let mut x = add(&bump(200, 50.0, 5.0, 1.0), &bump(200, 150.0, 8.0, 0.5));
        x[80] += 0.02;
        assert_eq!(significant_peaks(&x, 0.1, 10), vec![50, 150]);
        assert_eq!(wave_count(&x, 100.0, 0.1), 2);
        // Plateau peak counted once; too-close peaks merged to the taller.
        let y = [0.0, 1.0, 1.0, 0.0, 0.8, 0.0];
        assert_eq!(significant_peaks(&y, 0.5, 1), vec![1, 4]);
        assert_eq!(significant_peaks(&y, 0.5, 4), vec![1]);
        assert!(significant_peaks(&[1.0; 5], 0.0, 1).is_empty());
    }

    #[test]
    fn preservation() {
        assert!(count_preserved(&[5, 5, 5]));
        assert!(count_preserved(&[4, 5, 5, 6]));
        assert!(!count_preserved(&[5, 4, 5]));
        assert!(!count_preserved(&[4, 7, 6]));
        assert!(count_preserved(&[]));
    }

    #[test]
    fn centre_of_mass_of_symmetric_bump_and_t_wave() {
        let x = bump(100, 60.0, 4.0, 2.0);
        let (c, m) = centre_of_mass(&x, 0, 100, 0.0).expect("mass");
        assert!((c - 60.0).abs() < 1e-6, "{c}");
        assert!(
            (m - 2.0 * 4.0 * (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-3,
            "{m}"
        );
        assert!(centre_of_mass(&x, 0, 100, 5.0).is_none());
        // A cycle: R at 20 (tall, narrow), T at 45 (σ = 4); fs 100 → T window 30 … 65.
        let cyc = add(&bump(100, 20.0, 1.5, 3.0), &bump(100, 45.0, 4.0, 0.5));
        let t = t_wave(&cyc, 20, 100.0).expect("T");
        assert!((t.com - 45.0).abs() < 0.5, "{t:?}");
        assert!((t.height - 0.5).abs() < 0.01, "{t:?}");
        // FWHM = 2.355σ ≈ 9.4 → 9 or 10 whole samples
        assert!((t.width - 9.4).abs() <= 1.0, "{t:?}");
    }

    #[test]
    fn drift_versus_jump() {
        // Uniform drift 60 → 70 over 10 steps, constant height.
        let coms: Vec<f64> = (0..=10).map(|k| 60.0 + k as f64).collect();
        let d = trajectory(&coms, &[1.0; 11]);
        assert!((d.jump_ratio - 1.0).abs() < 1e-9 && !d.jumps, "{d:?}");
        // Jump: stays at 60, then 90 at once; the height dips to 0.3 at the switch.
        let coms: Vec<f64> = (0..=10).map(|k| if k < 5 { 60.0 } else { 90.0 }).collect();
        let mut h = vec![1.0; 11];
        h[5] = 0.3;
        let j = trajectory(&coms, &h);
        assert!((j.jump_ratio - 10.0).abs() < 1e-9 && j.jumps, "{j:?}");
        assert!((j.amplitude_dip - 0.3).abs() < 1e-12);
    }

    #[test]
    fn mask_errors_divide_by_full_length() {
        let pred = [1.0, 1.0, 1.0, 1.0];
        let target = [0.0, 0.0, 2.0, 1.0];
        // hole [0, 2): inside (1 + 1)/4, outside (1 + 0)/4
        assert_eq!(mask_errors(&pred, &target, 0, 2), (0.5, 0.25));
    }
}
