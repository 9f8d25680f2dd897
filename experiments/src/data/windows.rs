//! # Beat/segment windows, per-window normalisation, RR features and train/test splits
//!
//! A beat window is the slice `x[r − before .. r + after]` around an annotated R peak r
//! (length `before + after`); windows that would leave the signal are dropped and counted.
//! Normalisation acts on each window alone: z-score (x − μ)/σ or min–max to \[0, 1\].
//! RR features (de Chazal 2004) per beat, in seconds: previous RR, next RR, the mean of the
//! last ≤ 10 previous RRs (local), and the record's mean RR.
//!
//! Splits return index lists and every dataset built from them carries a [`SplitInfo`]
//! saying which split produced it:
//! - **intra-patient**: per class, a seeded shuffle puts round(fraction·nᶜ) beats in test
//!   (beats of one patient land on both sides, which is why such scores are optimistic);
//! - **by group** (inter-patient): whole records go to train or to test.

use ndarray::{Array2, Axis};

use ecgrad_engine::rng::Rng;

/// How each window is rescaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalisation {
    /// Leave the physical values (mV).
    None,
    /// (x − mean) / std (std floored at 1e-6 so a flat window stays finite).
    ZScore,
    /// (x − min) / (max − min), into \[0, 1\] (a flat window becomes 0).
    MinMax,
}

/// Normalises one window in place.
pub fn normalise(w: &mut [f32], how: Normalisation) {
    if w.is_empty() {
        return;
    }
    match how {
        Normalisation::None => {}
        Normalisation::ZScore => {
            let n = w.len() as f64;
            let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let sd = var.sqrt().max(1e-6);
            w.iter_mut()
                .for_each(|v| *v = ((*v as f64 - mean) / sd) as f32);
        }
        Normalisation::MinMax => {
            let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let span = hi - lo;
            w.iter_mut()
                .for_each(|v| *v = if span > 0.0 { (*v - lo) / span } else { 0.0 });
        }
    }
}

/// The window `x[center − before .. center + after]`, or None if it leaves the signal.
pub fn window(x: &[f32], center: usize, before: usize, after: usize) -> Option<&[f32]> {
    let start = center.checked_sub(before)?;
    let end = center.checked_add(after)?;
    x.get(start..end)
}

/// Number of RR features per beat from [`rr_features`].
pub const RR_FEATURES: usize = 4;

/// RR features in seconds for sorted R-peak samples: `[pre, post, local mean of ≤ 10
/// previous, record mean]`. The first beat borrows `post` as its `pre`, the last beat `pre` as
/// its `post`; a record with one beat gets zeros.
pub fn rr_features(peaks: &[usize], fs: f64) -> Vec<[f32; RR_FEATURES]> {
    let n = peaks.len();
    if n < 2 {
        return vec![[0.0; RR_FEATURES]; n];
    }
    let rr: Vec<f64> = peaks
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / fs)
        .collect();
    let mean = rr.iter().sum::<f64>() / rr.len() as f64;
    (0..n)
        .map(|i| {
            let pre = if i > 0 { rr[i - 1] } else { rr[0] };
            let post = if i < n - 1 { rr[i] } else { rr[n - 2] };
            let lo = i.saturating_sub(10);
            let local = if i > 0 {
                rr[lo..i].iter().sum::<f64>() / (i - lo) as f64
            } else {
                pre
            };
            [pre as f32, post as f32, local as f32, mean as f32]
        })
        .collect()
}

/// Which split produced a dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitInfo {
    /// The full dataset, not split.
    Full,
    /// Stratified random beats (intra-patient).
    IntraPatient {
        /// Seed of the shuffle.
        seed: u64,
        /// Fraction of each class sent to test.
        test_fraction: f64,
        /// True for the test part.
        test: bool,
    },
    /// Whole records (patients) per side, e.g. de Chazal DS1/DS2.
    InterPatient {
        /// Name of the split (`"de Chazal 2004 DS1/DS2"`).
        name: String,
        /// True for the test part.
        test: bool,
    },
}

/// Labelled fixed-length windows with their provenance.
#[derive(Clone, Debug)]
pub struct BeatDataset {
    /// Windows `[n, len]`.
    pub x: Array2<f32>,
    /// Class index per window (into `classes`).
    pub y: Vec<u8>,
    /// Class names (`["N", "S", "V", "F", "Q"]` for AAMI).
    pub classes: Vec<String>,
    /// Record (patient) of each window.
    pub record: Vec<String>,
    /// R-peak sample of each window in the original record's sampling rate.
    pub r_sample: Vec<usize>,
    /// Original annotation symbol of each window.
    pub symbol: Vec<String>,
    /// Optional RR features `[n, RR_FEATURES]` (seconds).
    pub rr: Option<Array2<f32>>,
    /// Sampling rate of the windows in Hz.
    pub fs: f64,
    /// Which split produced this dataset.
    pub split: SplitInfo,
    /// Human-readable provenance: database, lead, window, normalisation, exclusions.
    pub source: String,
    /// Beats skipped because their window left the record.
    pub dropped_at_edges: usize,
}

impl BeatDataset {
    /// Number of windows.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// True if there are no windows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// Count of windows per class index.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes.len()];
        for &y in &self.y {
            c[y as usize] += 1;
        }
        c
    }
    /// The rows `idx` (in that order) as a new dataset labelled with `split`.
    pub fn subset(&self, idx: &[usize], split: SplitInfo) -> BeatDataset {
        BeatDataset {
            x: self.x.select(Axis(0), idx),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            classes: self.classes.clone(),
            record: idx.iter().map(|&i| self.record[i].clone()).collect(),
            r_sample: idx.iter().map(|&i| self.r_sample[i]).collect(),
            symbol: idx.iter().map(|&i| self.symbol[i].clone()).collect(),
            rr: self.rr.as_ref().map(|r| r.select(Axis(0), idx)),
            fs: self.fs,
            split,
            source: self.source.clone(),
            dropped_at_edges: self.dropped_at_edges,
        }
    }

    /// Intra-patient split: stratified, seeded; returns (train, test).
    pub fn split_intra(&self, test_fraction: f64, seed: u64) -> (BeatDataset, BeatDataset) {
        let (tr, te) = stratified_split(&self.y, test_fraction, seed);
        let info = |test| SplitInfo::IntraPatient {
            seed,
            test_fraction,
            test,
        };
        (self.subset(&tr, info(false)), self.subset(&te, info(true)))
    }

    /// Split by record: rows of `train` records, rows of `test` records; returns (train, test).
    pub fn split_by_records(
        &self,
        name: &str,
        train: &[&str],
        test: &[&str],
    ) -> (BeatDataset, BeatDataset) {
        let (tr, te) = group_split(&self.record, train, test);
        let info = |test| SplitInfo::InterPatient {
            name: name.to_string(),
            test,
        };
        (self.subset(&tr, info(false)), self.subset(&te, info(true)))
    }
}

/// Stratified random split: in each class, round(fraction·nᶜ) shuffled indices go to test.
/// The shuffle uses `Rng::stream(seed, "split")`; both outputs are sorted.
pub fn stratified_split(labels: &[u8], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let frac = test_fraction.clamp(0.0, 1.0);
    let mut rng = Rng::stream(seed, "split");
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] as usize == c)
            .collect();
        rng.shuffle(&mut idx);
        let k = (frac * idx.len() as f64).round() as usize;
        test.extend_from_slice(&idx[..k]);
        train.extend_from_slice(&idx[k..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Indices whose group is in `train`, and those in `test` (others are left out).
pub fn group_split(groups: &[String], train: &[&str], test: &[&str]) -> (Vec<usize>, Vec<usize>) {
    let pick = |set: &[&str]| -> Vec<usize> {
        (0..groups.len())
            .filter(|&i| set.contains(&groups[i].as_str()))
            .collect()
    };
    (pick(train), pick(test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisations() {
        let mut w = [1.0, 2.0, 3.0];
        normalise(&mut w, Normalisation::MinMax);
        assert_eq!(w, [0.0, 0.5, 1.0]);
        let mut w = [1.0, 2.0, 3.0];
        normalise(&mut w, Normalisation::ZScore);
        let s = (2.0f32 / 3.0).sqrt();
        assert!((w[0] + 1.0 / s).abs() < 1e-6 && w[1].abs() < 1e-6);
        let mut flat = [2.0; 4];
        normalise(&mut flat, Normalisation::MinMax);
        assert_eq!(flat, [0.0; 4]);
    }

    #[test]
    fn windows_and_rr() {
        let x: Vec<f32> = (0..10).map(|v| v as f32).collect();
        assert_eq!(window(&x, 3, 2, 3), Some(&x[1..6]));
        assert_eq!(window(&x, 1, 2, 3), None);
        assert_eq!(window(&x, 8, 2, 3), None);
        let f = rr_features(&[0, 100, 300, 400], 100.0);
        assert_eq!(f[0], [1.0, 1.0, 1.0, 4.0 / 3.0]);
        assert_eq!(f[2], [2.0, 1.0, 1.5, 4.0 / 3.0]);
        assert_eq!(f[3][1], 1.0);
    }

    #[test]
    fn stratified_split_is_seeded_and_stratified() {
        let labels: Vec<u8> = (0..1000).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let (tr, te) = stratified_split(&labels, 0.2, 7);
        assert_eq!((tr.len(), te.len()), (800, 200));
        assert_eq!(te.iter().filter(|&&i| labels[i] == 1).count(), 20);
        assert_eq!(stratified_split(&labels, 0.2, 7), (tr.clone(), te.clone()));
        assert_ne!(stratified_split(&labels, 0.2, 8).1, te);
        let mut all: Vec<usize> = tr.iter().chain(&te).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }
}
