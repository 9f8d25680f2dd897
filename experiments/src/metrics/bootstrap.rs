//! Bootstrap confidence intervals (percentile method), resampling items or whole groups.
//!
//! A statistic θ computed on n items has sampling uncertainty. The bootstrap draws B resamples
//! of the same size *with replacement*, computes θ*₁ … θ*_B, and reports the 2.5th and 97.5th
//! percentiles of the θ* as the 95 % interval (Efron's percentile interval). The point
//! estimate is θ on the original sample.
//!
//! **Unit of resampling.** Beats of one patient are not independent: resampling beats makes
//! intervals too narrow when a test set has few patients. With [`Unit::Groups`] (patient or
//! record ids) whole groups are drawn with replacement — as many as there are distinct groups —
//! and all their items go into the resample (the cluster bootstrap). Use it for inter-patient
//! results.
//!
//! **Determinism.** Resample r draws from the RNG stream `"bootstrap"` of `seed` mixed with r,
//! so the B resamples are the same whatever the thread count; rayon only spreads them over
//! cores and `collect` keeps their order. Resamples where θ is undefined (NaN, e.g. an AUC
//! when a class is missing) are left out, and [`Ci::valid`] says how many remained.
//!
//! Percentiles use linear interpolation between order statistics (numpy's default).
//! Cost: B evaluations of θ on n items.

use ecgrad_engine::Rng;
use rayon::prelude::*;
use serde::Serialize;

/// The default number of resamples (the issues ask for ≥ 1000).
pub const DEFAULT_RESAMPLES: usize = 1000;

/// A point estimate with a 95 % bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ci {
    /// The statistic on the original sample.
    pub estimate: f64,
    /// 2.5th percentile of the bootstrap distribution.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
    /// Resamples where the statistic was defined (finite).
    pub valid: usize,
}

impl Ci {
    /// An interval-less value (e.g. a single run), low = high = estimate.
    pub fn point(estimate: f64) -> Ci {
        Ci {
            estimate,
            low: estimate,
            high: estimate,
            valid: 0,
        }
    }
    /// `"0.958 [0.951, 0.964]"` with `decimals` digits.
    pub fn format(&self, decimals: usize) -> String {
        format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            self.estimate,
            self.low,
            self.high,
            d = decimals
        )
    }
}

impl std::fmt::Display for Ci {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.format(3))
    }
}

/// What is drawn with replacement.
#[derive(Clone, Copy, Debug)]
pub enum Unit<'a> {
    /// Individual items (beats, windows).
    Items,
    /// Whole groups: `groups[i]` is the group (patient/record) id of item i.
    Groups(&'a [usize]),
}

/// The p-th percentile (0 ≤ p ≤ 100) of sorted values, interpolating linearly.
///
/// # Panics
/// If `sorted` is empty.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let pos = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Bootstrap intervals of several statistics at once: `stat(indices)` returns the statistics
/// on the items listed (with repeats) — on `0..n` for the estimates and on each resample for
/// the intervals. Computing all statistics per resample keeps them on the same resamples.
///
/// # Errors
/// n = 0, fewer than 1 resample, group ids of the wrong length, or `stat` returning a
/// different number of values for different index sets.
pub fn bootstrap<F>(
    n: usize,
    unit: Unit<'_>,
    resamples: usize,
    seed: u64,
    stat: F,
) -> anyhow::Result<Vec<Ci>>
where
    F: Fn(&[usize]) -> Vec<f64> + Sync,
{
    anyhow::ensure!(n > 0, "bootstrap: no items");
    anyhow::ensure!(resamples > 0, "bootstrap: need at least one resample");
    // Members of each group, groups in order of first appearance (Items: one per item).
    let members: Vec<Vec<usize>> = match unit {
        Unit::Items => (0..n).map(|i| vec![i]).collect(),
        Unit::Groups(groups) => {
            anyhow::ensure!(
                groups.len() == n,
                "bootstrap: {} group ids for {n} items",
                groups.len()
            );
            let mut ids: Vec<usize> = Vec::new();
            let mut members: Vec<Vec<usize>> = Vec::new();
            for (i, &g) in groups.iter().enumerate() {
                match ids.iter().position(|&x| x == g) {
                    Some(j) => members[j].push(i),
                    None => {
                        ids.push(g);
                        members.push(vec![i]);
                    }
                }
            }
            members
        }
    };
    let all: Vec<usize> = (0..n).collect();
    let estimates = stat(&all);
    let m = estimates.len();
    let draws: Vec<Vec<f64>> = (0..resamples)
        .into_par_iter()
        .map(|r| {
            let mut rng = Rng::stream(
                seed ^ (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "bootstrap",
            );
            let mut idx = Vec::with_capacity(n);
            for _ in 0..members.len() {
                idx.extend_from_slice(&members[rng.below(members.len())]);
            }
            stat(&idx)
        })
        .collect();
    if let Some(bad) = draws.iter().find(|d| d.len() != m) {
        anyhow::bail!(
            "bootstrap: the statistic returned {} values on a resample but {m} on the sample",
            bad.len()
        );
    }
    Ok((0..m)
        .map(|j| {
            let mut v: Vec<f64> = draws
                .iter()
                .map(|d| d[j])
                .filter(|x| x.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            let (low, high) = if v.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (percentile_sorted(&v, 2.5), percentile_sorted(&v, 97.5))
            };
            Ci {
                estimate: estimates[j],
                low,
                high,
                valid: v.len(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 25) = 1.75; 97.5 → 3.925.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile_sorted(&v, 25.0) - 1.75).abs() < 1e-12);
        assert!((percentile_sorted(&v, 97.5) - 3.925).abs() < 1e-12);
        assert_eq!(percentile_sorted(&[5.0], 50.0), 5.0);
    }

    fn mean_of(data: &[f64]) -> impl Fn(&[usize]) -> Vec<f64> + Sync + '_ {
        move |idx| vec![idx.iter().map(|&i| data[i]).sum::<f64>() / idx.len() as f64]
    }

    #[test]
    fn mean_interval_matches_normal_theory() {
        // 400 values of a 0/1 variable with p = 0.25: the 95 % interval of the mean is about
        // ±1.96·sqrt(p(1−p)/n) = ±0.042.
        let data: Vec<f64> = (0..400)
            .map(|i| if i % 4 == 0 { 1.0 } else { 0.0 })
            .collect();
        let ci = bootstrap(data.len(), Unit::Items, 2000, 1, mean_of(&data)).unwrap()[0];
        assert!((ci.estimate - 0.25).abs() < 1e-12);
        assert_eq!(ci.valid, 2000);
        let half = (ci.high - ci.low) / 2.0;
        assert!((half - 0.042).abs() < 0.006, "{ci:?}");
        assert!(ci.low < 0.25 && ci.high > 0.25);
    }

    #[test]
    fn same_seed_same_interval_any_thread_count() {
        let data: Vec<f64> = (0..50).map(|i| (i * 7 % 11) as f64).collect();
        let run = |t| {
            ecgrad_engine::parallel::with_threads(t, || {
                bootstrap(data.len(), Unit::Items, 300, 9, mean_of(&data)).unwrap()
            })
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn groups_widen_the_interval_when_items_in_a_group_agree() {
        // 10 groups of 20 identical items each: item resampling sees 200 "independent" values,
        // group resampling only 10, so its interval must be much wider.
        let groups: Vec<usize> = (0..200).map(|i| i / 20).collect();
        let data: Vec<f64> = groups.iter().map(|&g| (g % 2) as f64).collect();
        let items = bootstrap(200, Unit::Items, 1000, 3, mean_of(&data)).unwrap()[0];
        let by_group = bootstrap(200, Unit::Groups(&groups), 1000, 3, mean_of(&data)).unwrap()[0];
        let (wi, wg) = (items.high - items.low, by_group.high - by_group.low);
        assert!(wg > 2.5 * wi, "items {items:?} groups {by_group:?}");
    }

    #[test]
    fn undefined_resamples_are_skipped_and_counted() {
        // The statistic is NaN on resamples that contain item 0.
        let ci = bootstrap(5, Unit::Items, 200, 4, |idx: &[usize]| {
            vec![if idx.contains(&0) { f64::NAN } else { 1.0 }]
        })
        .unwrap()[0];
        assert!(ci.valid < 200 && ci.valid > 0);
        assert_eq!((ci.low, ci.high), (1.0, 1.0));
        assert_eq!(Ci::point(0.5).format(2), "0.50 [0.50, 0.50]");
        let c = Ci {
            estimate: 0.958,
            low: 0.951,
            high: 0.964,
            valid: 1000,
        };
        assert_eq!(c.to_string(), "0.958 [0.951, 0.964]");
    }
}
