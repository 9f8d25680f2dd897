//! Data and glue for the 2D / transfer-learning lessons of seed 002 on ECG data.
//!
//! **Images.** Each 187-sample beat (125 Hz) becomes a log-power STFT spectrogram
//! ([`crate::data::signal::stft`], Hann n = 32, hop 4 → 17 frequency bins of 3.9 Hz × 39
//! frames), z-scored per image, stored flattened in a [`WindowDataset`] with one channel of
//! length H·W so the ordinary batching and training code applies; [`Image2d`] reshapes
//! `[N, 1, H·W]` → `[N, 1, H, W]` in front of a 2D network (`Cnn2d`).
//!
//! **LUDB diagnoses.** The target task of the transfer experiment is a record-level
//! diagnosis from `ludb.csv`: *any conduction abnormality* (the "Conduction abnormalities"
//! column is non-empty: bundle-branch blocks, hemiblocks, AV blocks — 66 of 200 records),
//! which changes QRS morphology that MIT-BIH-pretrained beat filters may already detect. Beats
//! of lead II are cut around LUDB's annotated QRS peaks, [R − 248, R + 500) at 500 Hz,
//! resampled to 125 Hz (187 samples, the MIT-BIH beat geometry), z-scored. Each record keeps
//! its sex and age for the subgroup breakdown; a record's probability is the mean of its
//! beats' probabilities.

use anyhow::Context;

use crate::cli::DataSource;
use crate::data::batch::WindowDataset;
use crate::data::ludb;
use crate::data::signal::stft::{StftConfig, spectrogram};
use crate::data::windows::{Normalisation, normalise};
use crate::models::Module;
use crate::models::autograd::engine::{Rng, Shape};
use crate::models::autograd::{Buffer, Param, Parameters, Tape, Var, ops};
use crate::models::module::SummaryRow;

/// Turns every window of `ds` (one channel) into a z-scored log spectrogram, flattened;
/// returns the dataset and the image size (H, W).
///
/// # Errors
/// STFT errors (a window shorter than a frame), or a dataset with more than one channel.
pub fn spectrogram_dataset(
    ds: &WindowDataset,
    cfg: &StftConfig,
) -> anyhow::Result<(WindowDataset, (usize, usize))> {
    anyhow::ensure!(
        ds.channels == 1,
        "spectrogram_dataset: {} channels, need 1",
        ds.channels
    );
    let mut hw = (0, 0);
    let mut samples = Vec::new();
    for i in 0..ds.len() {
        let s = spectrogram(ds.window(i), cfg)?;
        hw = s.dim();
        let start = samples.len();
        samples.extend(s.iter().copied());
        normalise(&mut samples[start..], Normalisation::ZScore);
    }
    Ok((
        WindowDataset {
            samples,
            labels: ds.labels.clone(),
            groups: ds.groups.clone(),
            channels: 1,
            length: hw.0 * hw.1,
            class_names: ds.class_names.clone(),
            source: format!(
                "{} → STFT n={} hop={} log, z-scored",
                ds.source, cfg.n_fft, cfg.hop
            ),
        },
        hw,
    ))
}

/// A 2D network fed with flattened images: reshapes `[N, 1, H·W]` to `[N, 1, H, W]` and runs
/// `inner` (parameter names are the inner network's, unprefixed).
pub struct Image2d<M: Module> {
    /// Image height H (frequency bins).
    pub h: usize,
    /// Image width W (frames).
    pub w: usize,
    /// The 2D network.
    pub inner: M,
}

impl<M: Module> Parameters<f32> for Image2d<M> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.inner.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.inner.visit_buffers(f);
    }
}

impl<M: Module> Image2d<M> {
    fn reshape(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> crate::models::Result<Var<f32>> {
        let n = x.shape().dims().first().copied().unwrap_or(0);
        Ok(ops::reshape(tape, x, Shape::d4(n, 1, self.h, self.w))?)
    }
}

impl<M: Module> Module for Image2d<M> {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> crate::models::Result<Var<f32>> {
        let x = self.reshape(tape, x)?;
        self.inner.forward(tape, &x)
    }
    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training);
    }
    fn describe(&self) -> String {
        format!("Image2d({}×{} → {})", self.h, self.w, self.inner.describe())
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> crate::models::Result<Var<f32>> {
        let x = self.reshape(tape, x)?;
        self.inner.trace(tape, &x, path, rows)
    }
}

/// One LUDB record's metadata and label.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecordMeta {
    /// Record id (1 … 200), or the synthetic patient index.
    pub id: u32,
    /// `"M"`, `"F"` or `"?"`.
    pub sex: String,
    /// Age in years, if known.
    pub age: Option<u32>,
    /// 1 = conduction abnormality, 0 = none.
    pub label: usize,
}

impl RecordMeta {
    /// `"<50"`, `"50-64"`, `"≥65"` or `"unknown"`.
    pub fn age_band(&self) -> &'static str {
        match self.age {
            Some(a) if a < 50 => "<50",
            Some(a) if a < 65 => "50-64",
            Some(_) => "≥65",
            None => "unknown",
        }
    }
}

/// LUDB beats (groups = index into `records`) and the records.
#[derive(Clone, Debug)]
pub struct LudbBeats {
    /// Beats `[n, 1, 187]`, labels = their record's label.
    pub beats: WindowDataset,
    /// The records, in group order.
    pub records: Vec<RecordMeta>,
    /// Provenance.
    pub source: String,
}

/// Beats of lead II around each annotated QRS of one 500 Hz signal (see the module docs).
fn beats_of(x: &[f32], peaks: &[usize]) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::new();
    for &p in peaks {
        if p < 248 || p + 500 > x.len() {
            continue;
        }
        let mut b = crate::data::resample::resample_ratio(&x[p - 248..p + 500], 1, 4)?;
        b.truncate(187);
        if b.len() == 187 {
            normalise(&mut b, Normalisation::ZScore);
            out.push(b);
        }
    }
    Ok(out)
}

/// Loads LUDB (all 200 records, or the first 60 when `quick`) with the conduction-abnormality
/// label, or a synthetic stand-in (see [`synthetic_ludb`]) when no real data is present.
///
/// # Errors
/// LUDB read errors naming the record; a malformed `ludb.csv`.
pub fn load_ludb_beats(source: &DataSource, quick: bool, seed: u64) -> anyhow::Result<LudbBeats> {
    let DataSource::Real(dir) = source else {
        return synthetic_ludb(if quick { 40 } else { 120 }, seed);
    };
    let dir = dir.join("ludb");
    let (header, rows) = ludb::read_csv(&dir)?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("ludb.csv has no column `{name}`"))
    };
    let (c_id, c_cond) = (col("ID")?, col("Conduction abnormalities")?);
    let n = if quick { 60 } else { rows.len() };
    let mut records = Vec::new();
    let (mut samples, mut labels, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    let li = ludb::LudbRecord::lead_index("ii").context("LUDB has no lead ii")?;
    for row in rows.iter().take(n) {
        let id: u32 = row[c_id]
            .parse()
            .with_context(|| format!("ludb.csv id `{}`", row[c_id]))?;
        let label = usize::from(!row[c_cond].trim().is_empty());
        let rec = ludb::read_record(&dir, id)?;
        let x = rec.record.physical.row(li).to_vec();
        let peaks: Vec<usize> = rec.waves[li]
            .iter()
            .filter(|w| w.kind == ludb::WaveKind::Qrs)
            .map(|w| w.peak)
            .collect();
        let beats = beats_of(&x, &peaks)?;
        if beats.is_empty() {
            continue;
        }
        let g = records.len();
        for b in beats {
            samples.extend(b);
            labels.push(label);
            groups.push(g);
        }
        records.push(RecordMeta {
            id,
            sex: rec.sex.clone().unwrap_or_else(|| "?".into()),
            age: rec.age,
            label,
        });
    }
    let source = format!(
        "LUDB {} records, lead II beats [R−0.496 s, R+1 s) at 125 Hz, label = any conduction abnormality (ludb.csv)",
        records.len()
    );
    Ok(LudbBeats {
        beats: WindowDataset {
            samples,
            labels,
            groups,
            channels: 1,
            length: 187,
            class_names: vec![
                "no conduction abnormality".into(),
                "conduction abnormality".into(),
            ],
            source: source.clone(),
        },
        records,
        source,
    })
}

/// A synthetic stand-in for LUDB: `n_records` synthetic patients, label 1 for every third one,
/// whose beats are drawn from the generator's ventricular (wide-QRS) morphology instead of the
/// normal one; sex and age drawn at random. Only for runs without the real databases.
///
/// # Errors
/// Generator errors.
pub fn synthetic_ludb(n_records: usize, seed: u64) -> anyhow::Result<LudbBeats> {
    use crate::data::synthetic::dataset::{BeatDatasetConfig, beat_dataset};
    let per = 12;
    let ds = beat_dataset(&BeatDatasetConfig {
        fs: 125.0,
        before_s: 62.0 / 125.0,
        after_s: 1.0,
        per_class: [n_records * per, 0, n_records * per, 0, 0],
        beats_per_record: 60,
        noise_mv: 0.03,
        seed: seed ^ 0x1ddb,
    })?;
    let mut rng = Rng::stream(seed, "synthetic_ludb");
    let normal: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == 0).collect();
    let wide: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == 2).collect();
    let (mut samples, mut labels, mut groups, mut records) = (vec![], vec![], vec![], vec![]);
    for r in 0..n_records {
        let label = usize::from(r % 3 == 0);
        let pool = if label == 1 { &wide } else { &normal };
        for k in 0..per {
            let Some(&i) = pool.get(r * per + k) else {
                break;
            };
            let mut b = ds.window(i).to_vec();
            normalise(&mut b, Normalisation::ZScore);
            samples.extend(b);
            labels.push(label);
            groups.push(r);
        }
        records.push(RecordMeta {
            id: r as u32 + 1,
            sex: if rng.uniform() < 0.5 {
                "M".into()
            } else {
                "F".into()
            },
            age: Some(30 + rng.below(55) as u32),
            label,
        });
    }
    let source =
        format!("synthetic LUDB stand-in ({n_records} patients, label 1 = wide-QRS beats)");
    Ok(LudbBeats {
        beats: WindowDataset {
            samples,
            labels,
            groups,
            channels: 1,
            length: ds.length,
            class_names: vec![
                "no conduction abnormality".into(),
                "conduction abnormality".into(),
            ],
            source: source.clone(),
        },
        records,
        source,
    })
}

/// Mean of the beats' class-1 probabilities per record (`groups` index records); records
/// without beats get NaN.
pub fn record_probabilities(p1: &[f64], groups: &[usize], n_records: usize) -> Vec<f64> {
    let mut sum = vec![0.0; n_records];
    let mut count = vec![0usize; n_records];
    for (&p, &g) in p1.iter().zip(groups) {
        sum[g] += p;
        count[g] += 1;
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| if c == 0 { f64::NAN } else { s / c as f64 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrogram_dataset_shapes_and_zscore() {
        let ds = WindowDataset {
            samples: (0..2 * 187).map(|t| ((t as f32) * 0.3).sin()).collect(),
            labels: vec![0, 1],
            groups: vec![0, 1],
            channels: 1,
            length: 187,
            class_names: vec!["a".into(), "b".into()],
            source: "test".into(),
        };
        let (img, hw) = spectrogram_dataset(&ds, &StftConfig::default()).unwrap();
        assert_eq!(hw, (17, 39));
        assert_eq!(img.length, 17 * 39);
        assert_eq!(img.len(), 2);
        let w = img.window(0);
        let mean: f32 = w.iter().sum::<f32>() / w.len() as f32;
        assert!(mean.abs() < 1e-4);
    }

    #[test]
    fn record_probabilities_average_per_group() {
        let p = record_probabilities(&[0.2, 0.4, 0.9], &[0, 0, 2], 3);
        assert!((p[0] - 0.3).abs() < 1e-12 && p[1].is_nan() && p[2] == 0.9);
    }

    #[test]
    fn age_bands() {
        let m = |age| RecordMeta {
            id: 1,
            sex: "F".into(),
            age,
            label: 0,
        };
        assert_eq!(m(Some(49)).age_band(), "<50");
        assert_eq!(m(Some(50)).age_band(), "50-64");
        assert_eq!(m(Some(65)).age_band(), "≥65");
        assert_eq!(m(None).age_band(), "unknown");
    }

    #[test]
    fn synthetic_ludb_labels_every_third_record() {
        let l = synthetic_ludb(6, 1).unwrap();
        assert_eq!(l.records.len(), 6);
        assert_eq!(l.records.iter().filter(|r| r.label == 1).count(), 2);
        assert_eq!(l.beats.length, 187);
        assert!(l.beats.groups.iter().all(|&g| g < 6));
        assert!(
            l.beats
                .labels
                .iter()
                .zip(&l.beats.groups)
                .all(|(&y, &g)| y == l.records[g].label)
        );
    }
}
