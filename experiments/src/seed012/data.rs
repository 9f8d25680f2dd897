//! Beat data for the seed 000–002 experiments: `BeatCnn`-sized windows (187 samples at 125 Hz,
//! R peak at sample 62, z-scored per beat) from MIT-BIH with the de Chazal inter-patient split
//! (DS1 train, DS2 test; paced records excluded; AAMI N/S/V/F), or — when no real data is
//! present — from the synthetic ECGSYN generator, split by synthetic patient.
//!
//! Class counts are capped per class (seeded choice) so that quick runs stay small and the
//! N-dominated MIT-BIH does not drown the rare classes in training. Test sets keep the true
//! class mix up to the cap.
//!
//! **Validation is patient-disjoint and carved from the training side only.** A few training
//! records (synthetic patients) are held out as the validation set — chosen by seed 003's
//! seeded record search ([`crate::seed003::protocol::choose_val_records`]: about a quarter of
//! the training records, accepted when every class has a few beats and the share is 10–35 %)
//! and split off with [`crate::data::windows::group_split`]. Models pick their best epoch on
//! `val`; the test records (DS2) are scored once at the end and never steer training.

use anyhow::Context;

use crate::cli::DataSource;
use crate::data::batch::WindowDataset;
use crate::data::mitbih::{self, BeatConfig};
use crate::data::synthetic::dataset::{BeatDatasetConfig, beat_dataset};
use crate::data::windows::{Normalisation, normalise};
use ecgrad_engine::Rng;

/// Train and test beats with where they came from.
#[derive(Clone, Debug)]
pub struct BeatSplit {
    /// Training beats `[n, 1, 187]` (NCL in `samples`), without the validation records.
    pub train: WindowDataset,
    /// Validation beats: whole training-side records held out (patient-disjoint from `train`
    /// and `test`), capped like the test set; used for best-epoch selection.
    pub val: WindowDataset,
    /// The held-out validation record names (MIT-BIH record or synthetic patient number).
    pub val_records: Vec<String>,
    /// Test beats (other patients).
    pub test: WindowDataset,
    /// One line of provenance (database, split, caps).
    pub source: String,
    /// True when the synthetic generator was used.
    pub synthetic: bool,
    /// The data files read (WFDB header, signal and annotation files), for
    /// [`crate::exp::Run::record_input`]; empty for synthetic data.
    pub inputs: Vec<std::path::PathBuf>,
}

/// How many beats to keep.
#[derive(Clone, Copy, Debug)]
pub struct BeatCaps {
    /// At most this many training beats per class.
    pub train_per_class: usize,
    /// At most this many test (and validation) beats per class.
    pub test_per_class: usize,
}

/// The rows `idx` of `ds` as a new dataset.
pub fn select(ds: &WindowDataset, idx: &[usize]) -> WindowDataset {
    let w = ds.channels * ds.length;
    let mut samples = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        samples.extend_from_slice(&ds.samples[i * w..(i + 1) * w]);
    }
    WindowDataset {
        samples,
        labels: idx.iter().map(|&i| ds.labels[i]).collect(),
        groups: idx.iter().map(|&i| ds.groups[i]).collect(),
        channels: ds.channels,
        length: ds.length,
        class_names: ds.class_names.clone(),
        source: ds.source.clone(),
    }
}

/// At most `cap` rows per class, chosen by a seeded shuffle, in original order.
pub fn cap_per_class(ds: &WindowDataset, cap: usize, seed: u64) -> WindowDataset {
    let idx = super::budget::stratified_count(&ds.labels, cap, seed);
    select(ds, &idx)
}

/// Loads the beats (see the module docs); `quick` reads 6 + 6 records instead of 22 + 22.
///
/// # Errors
/// WFDB read errors with the record named, or synthetic-generator errors.
pub fn load_beat_split(
    source: &DataSource,
    caps: BeatCaps,
    quick: bool,
    seed: u64,
) -> anyhow::Result<BeatSplit> {
    let mut inputs = Vec::new();
    let (train, test, what, synthetic, train_names) = match source {
        DataSource::Real(dir) => {
            let (ds1, ds2): (Vec<&str>, Vec<&str>) = if quick {
                (
                    vec!["101", "106", "108", "109", "118", "207"],
                    vec!["100", "105", "200", "202", "210", "232"],
                )
            } else {
                (mitbih::DS1.to_vec(), mitbih::DS2.to_vec())
            };
            let cfg = BeatConfig {
                records: ds1.iter().chain(&ds2).map(|s| s.to_string()).collect(),
                ..BeatConfig::default()
            };
            let dir = dir.join("mitdb");
            let all = mitbih::load_beats(&dir, &cfg)
                .with_context(|| format!("loading MIT-BIH beats from {}", dir.display()))?;
            let (tr, te) = all.split_by_records("de Chazal DS1/DS2", &ds1, &ds2);
            inputs = cfg
                .records
                .iter()
                .flat_map(|r| ["hea", "dat", "atr"].map(|e| dir.join(format!("{r}.{e}"))))
                .filter(|p| p.exists())
                .collect();
            let what = format!(
                "MIT-BIH, {}; train {} records of DS1, test {} records of DS2",
                all.source,
                ds1.len(),
                ds2.len()
            );
            (
                WindowDataset::from(&tr),
                WindowDataset::from(&te),
                what,
                false,
                tr.record.clone(),
            )
        }
        DataSource::Synthetic(_) => {
            // Synthetic beats are generated to order: 2·cap per class, at most 400 (quick) or
            // 1500 (full) — generation costs time, and the caps are often "all".
            let limit = if quick { 200 } else { 750 };
            let per = caps.train_per_class.max(caps.test_per_class).min(limit) * 2;
            let mut ds = beat_dataset(&BeatDatasetConfig {
                fs: 125.0,
                before_s: 62.0 / 125.0,
                after_s: 1.0,
                per_class: [per, per, per, per, 0],
                beats_per_record: 60,
                noise_mv: 0.02,
                seed,
            })?;
            let len = ds.length;
            for w in ds.samples.chunks_mut(len) {
                normalise(w, Normalisation::ZScore);
            }
            // Every fourth synthetic patient is a test patient.
            let (tr, te): (Vec<usize>, Vec<usize>) =
                (0..ds.len()).partition(|&i| ds.groups[i] % 4 != 0);
            let what = format!("{} (z-scored; patients ≡ 0 mod 4 are test)", ds.source);
            let train = select(&ds, &tr);
            let names = train
                .groups
                .iter()
                .map(|g| format!("patient {g}"))
                .collect();
            (train, select(&ds, &te), what, true, names)
        }
    };
    // Q is dropped (as most papers do): the class list is N, S, V, F, so models have 4 outputs
    // and macro averages run over the 4 classes.
    let (mut train, mut test) = (train, test);
    for d in [&mut train, &mut test] {
        anyhow::ensure!(
            d.labels.iter().all(|&y| y < 4),
            "beat labels beyond N/S/V/F after dropping Q"
        );
        d.class_names.truncate(4);
    }
    // Patient-disjoint validation from the training side (see the module docs).
    let (train, val, val_records, accepted) = carve_validation(&train, train_names, seed)?;
    let train = cap_per_class(&train, caps.train_per_class, seed);
    let val = cap_per_class(&val, caps.test_per_class, seed ^ 2);
    let test = cap_per_class(&test, caps.test_per_class, seed ^ 1);
    let cap = |c: usize| {
        if c == usize::MAX {
            "all".to_string()
        } else {
            format!("≤ {c}")
        }
    };
    let source = format!(
        "{what}; validation = training-side records {val_records:?} held out (patient-disjoint{}); {} train / {} validation and test beats per class",
        if accepted {
            ""
        } else {
            ", class-coverage rule not met: best draw kept"
        },
        cap(caps.train_per_class),
        cap(caps.test_per_class)
    );
    Ok(BeatSplit {
        train,
        val,
        val_records,
        test,
        source,
        synthetic,
        inputs,
    })
}

/// Splits `train` (whose row `i` comes from record `names[i]`) by record into (train, validation, validation record names, whether seed
/// 003's acceptance rule was met): the records are chosen with
/// [`crate::seed003::protocol::choose_val_records`] (a quarter of them, at least one) and the
/// rows split with [`crate::data::windows::group_split`].
///
/// # Errors
/// Fewer than two training records, or an empty part after the split.
fn carve_validation(
    train: &WindowDataset,
    names: Vec<String>,
    seed: u64,
) -> anyhow::Result<(WindowDataset, WindowDataset, Vec<String>, bool)> {
    use crate::seed003::protocol::{Part, choose_val_records};
    anyhow::ensure!(
        names.len() == train.len(),
        "{} record names for {} beats",
        names.len(),
        train.len()
    );
    let part = Part {
        data: train.clone(),
        record: names.clone(),
        sample: vec![0; train.len()],
    };
    let records = part.records();
    anyhow::ensure!(
        records.len() >= 2,
        "need at least two training records to hold one out for validation, have {}",
        records.len()
    );
    let k = (records.len() / 4).max(1);
    let (chosen, accepted) = choose_val_records(&part, k, seed ^ 0x0012_5A1D);
    let keep: Vec<&str> = records
        .iter()
        .filter(|r| !chosen.contains(r))
        .map(String::as_str)
        .collect();
    let held: Vec<&str> = chosen.iter().map(String::as_str).collect();
    let (tr, va) = crate::data::windows::group_split(&names, &keep, &held);
    anyhow::ensure!(
        !tr.is_empty() && !va.is_empty(),
        "validation split left an empty part ({} train, {} validation beats)",
        tr.len(),
        va.len()
    );
    Ok((select(train, &tr), select(train, &va), chosen, accepted))
}

/// A seeded random permutation of 0..n (for subsampling figures).
pub fn permutation(n: usize, seed: u64, name: &str) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    Rng::stream(seed, name).shuffle(&mut v);
    v
}

/// A strip of ECG for figures: lead MLII (or the synthetic lead 0), baseline removed, in mV.
#[derive(Clone, Debug)]
pub struct Strip {
    /// Samples, mV.
    pub x: Vec<f32>,
    /// Sampling rate, Hz.
    pub fs: f64,
    /// Annotated R peaks inside the strip (sample indices into `x`).
    pub r_peaks: Vec<usize>,
    /// Where it came from.
    pub source: String,
}

/// The first `seconds` of MIT-BIH record `record` (lead MLII, 360 Hz, baseline removed with the
/// two-stage median filter), or of a synthetic MIT-BIH-like record.
///
/// # Errors
/// WFDB errors naming the record; a record shorter than `seconds`.
pub fn ecg_strip(
    source: &DataSource,
    record: &str,
    seconds: f64,
    seed: u64,
) -> anyhow::Result<Strip> {
    let (raw, fs, peaks, what) = match source {
        DataSource::Real(dir) => {
            let dir = dir.join("mitdb");
            let rec = crate::data::wfdb::read_record(&dir, record)
                .with_context(|| format!("MIT-BIH record {record} in {}", dir.display()))?;
            let lead = rec
                .signal_index("MLII")
                .with_context(|| format!("record {record} has no MLII lead"))?;
            let ann = crate::data::wfdb::read_annotations(&dir, record, "atr")?;
            let peaks: Vec<usize> = ann
                .iter()
                .filter(|a| a.is_beat())
                .map(|a| a.sample as usize)
                .collect();
            (
                rec.physical.row(lead).to_vec(),
                rec.fs(),
                peaks,
                format!("MIT-BIH record {record}, lead MLII"),
            )
        }
        DataSource::Synthetic(_) => {
            let beats = (seconds * 1.6).ceil() as usize + 4;
            let rec = crate::data::synthetic::mitbih_like_record(
                beats,
                [0.9, 0.05, 0.05, 0.0, 0.0],
                seed,
            )?;
            let peaks = rec.beats.iter().map(|b| b.r_sample).collect();
            (rec.signals.row(0).to_vec(), rec.fs, peaks, rec.source)
        }
    };
    let n = (seconds * fs).round() as usize;
    anyhow::ensure!(
        raw.len() >= n && n > 0,
        "{what}: {} samples, the strip needs {n}",
        raw.len()
    );
    let x64: Vec<f64> = raw[..n].iter().map(|&v| f64::from(v)).collect();
    let clean = crate::data::signal::remove_baseline(&x64, fs)?;
    Ok(Strip {
        x: clean.iter().map(|&v| v as f32).collect(),
        fs,
        r_peaks: peaks.into_iter().filter(|&p| p < n).collect(),
        source: format!("{what}, first {seconds} s, baseline removed (median 200/600 ms)"),
    })
}
