//! # The two evaluation protocols of seed 003, and the beats they are built from
//!
//! Every experiment of this issue classifies single beats: 187 samples at 125 Hz around an
//! annotated R peak (62 before, 125 from the peak on: the Kaggle/Kachuee window, which the
//! paper most plausibly used, PAPERS.md §A), min–max normalised to \[0, 1\] per beat (as the
//! Kaggle CSVs are). Labels are AAMI classes N 0, S 1, V 2, F 3, Q 4.
//!
//! | protocol | records | classes | train / validation / test |
//! |---|---|---|---|
//! | **intra-patient** | 46 (paced 107 and 217 kept as in the Kaggle set; 102 and 104 have no MLII) | N S V F Q | stratified random beats: 20 % test; 10 % of the rest validation |
//! | **inter-patient** | de Chazal DS1 ∪ DS2 (paced excluded) | N S V F (Q dropped) | DS1 split **by patient** into train and validation; DS2 test |
//!
//! Intra-patient puts beats of one patient on both sides of the split, so its scores are
//! optimistic; inter-patient never does (tested: the record sets are disjoint).
//!
//! The inter-patient validation records are drawn from DS1 by a seeded search: shuffle DS1,
//! take the first `k` records, and accept the draw if the validation part holds at least
//! [`MIN_VAL_PER_CLASS`] beats of every class and 10–35 % of DS1's beats; else draw again
//! (up to 500 draws; the best draw is kept if none qualifies, and the report says so).
//!
//! Without the real data, the same protocols run on the synthetic generator's beats (each
//! synthetic "patient" is a record, so inter-patient is still patient-disjoint).
//! `--quick` keeps a few records and caps every class ([`QuickCaps`]).

use std::path::Path;

use anyhow::{Context, Result};
use ecgrad_engine::Rng;
use serde::Serialize;

use crate::cli::DataSource;
use crate::data::batch::WindowDataset;
use crate::data::mitbih::{self, BeatConfig};
use crate::data::synthetic::{BeatDatasetConfig, beat_dataset};
use crate::data::windows::{BeatDataset, Normalisation, normalise, stratified_split};

/// Window length of a beat (samples at 125 Hz).
pub const BEAT_LEN: usize = 187;
/// Sampling rate of the beats, Hz.
pub const FS: f64 = 125.0;
/// Samples before the R peak in a window (the R peak is sample 62).
pub const R_INDEX: usize = 62;
/// Inter-patient validation must hold at least this many beats of every class.
pub const MIN_VAL_PER_CLASS: usize = 5;

/// Which train/test protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Protocol {
    /// Stratified random beats (the paper's most plausible setting).
    IntraPatient,
    /// de Chazal DS1 → DS2, patient-disjoint.
    InterPatient,
}

impl Protocol {
    /// Both protocols, in report order.
    pub const ALL: [Protocol; 2] = [Protocol::IntraPatient, Protocol::InterPatient];

    /// Short name used in file names and tables (`"intra"`, `"inter"`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::IntraPatient => "intra",
            Protocol::InterPatient => "inter",
        }
    }

    /// Parses `"intra"` / `"inter"`.
    ///
    /// # Errors
    /// For any other string.
    pub fn parse(s: &str) -> Result<Protocol> {
        match s {
            "intra" => Ok(Protocol::IntraPatient),
            "inter" => Ok(Protocol::InterPatient),
            _ => anyhow::bail!("unknown protocol `{s}` (expected intra or inter)"),
        }
    }

    /// Number of classes: 5 (N S V F Q) intra-patient, 4 (N S V F) inter-patient.
    pub fn classes(self) -> usize {
        match self {
            Protocol::IntraPatient => 5,
            Protocol::InterPatient => 4,
        }
    }
}

/// One part of a split: the windows plus, for each, its record and R-peak sample (in the
/// record's original 360 Hz numbering for real data; the beat's index for synthetic data).
#[derive(Clone, Debug)]
pub struct Part {
    /// Windows `[n, 1, 187]`, labels and groups.
    pub data: WindowDataset,
    /// Record (patient) name of each window.
    pub record: Vec<String>,
    /// R-peak sample index of each window.
    pub sample: Vec<usize>,
}

impl Part {
    /// The rows `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Part {
        let w = self.data.channels * self.data.length;
        let mut samples = Vec::with_capacity(idx.len() * w);
        for &i in idx {
            samples.extend_from_slice(self.data.window(i));
        }
        Part {
            data: WindowDataset {
                samples,
                labels: idx.iter().map(|&i| self.data.labels[i]).collect(),
                groups: idx.iter().map(|&i| self.data.groups[i]).collect(),
                channels: self.data.channels,
                length: self.data.length,
                class_names: self.data.class_names.clone(),
                source: self.data.source.clone(),
            },
            record: idx.iter().map(|&i| self.record[i].clone()).collect(),
            sample: idx.iter().map(|&i| self.sample[i]).collect(),
        }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The distinct record names, sorted.
    pub fn records(&self) -> Vec<String> {
        let mut r = self.record.clone();
        r.sort_unstable();
        r.dedup();
        r
    }
}

/// Train, validation and test parts of one protocol, and how they were made.
#[derive(Clone, Debug)]
pub struct Splits {
    /// The protocol.
    pub protocol: Protocol,
    /// Training beats.
    pub train: Part,
    /// Validation beats (early stopping, ensemble weights, temperature scaling).
    pub val: Part,
    /// Test beats (reported once).
    pub test: Part,
    /// Human-readable description of the data and the split.
    pub description: String,
}

/// In `--quick` runs class N keeps this many times the per-class cap.
pub const QUICK_N_FACTOR: usize = 3;

/// Per-class caps for `--quick` (train, validation, test beats per class; N gets
/// [`QUICK_N_FACTOR`] times as many).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QuickCaps {
    /// Training beats per class at most.
    pub train: usize,
    /// Validation beats per class at most.
    pub val: usize,
    /// Test beats per class at most.
    pub test: usize,
}

impl QuickCaps {
    /// The `--quick` default: 30 / 10 / 20 beats per class (N: 90 / 30 / 60).
    pub fn quick() -> QuickCaps {
        QuickCaps {
            train: 30,
            val: 10,
            test: 20,
        }
    }
}

/// Paced records without an MLII lead (V5 and V2 only): left out of the intra-patient set.
pub const NO_MLII: [&str; 2] = ["102", "104"];

/// Records read in `--quick` runs with real data (intra: a paced record for Q and records rich
/// in S, V, F; inter: a few DS1 and DS2 records holding every class).
const QUICK_INTRA: [&str; 6] = ["106", "118", "208", "209", "213", "217"];
const QUICK_DS1: [&str; 7] = ["106", "118", "201", "203", "208", "209", "223"];
const QUICK_DS2: [&str; 5] = ["100", "105", "213", "232", "233"];

/// A [`BeatDataset`] (mitbih) as a [`Part`] keeping only classes `< classes`.
fn part_from_beats(ds: &BeatDataset, classes: usize) -> Part {
    let keep: Vec<usize> = (0..ds.len())
        .filter(|&i| (ds.y[i] as usize) < classes)
        .collect();
    let ds = ds.subset(&keep, ds.split.clone());
    let mut data = WindowDataset::from(&ds);
    data.class_names.truncate(classes);
    Part {
        data,
        record: ds.record.clone(),
        sample: ds.r_sample.clone(),
    }
}

/// Loads real MIT-BIH beats of `records` (paced records kept only if `keep_paced`).
fn load_real(dir: &Path, records: &[&str], keep_paced: bool, classes: usize) -> Result<Part> {
    let cfg = BeatConfig {
        records: records.iter().map(|s| s.to_string()).collect(),
        exclude_paced: !keep_paced,
        normalisation: Normalisation::MinMax,
        include_q: classes == 5,
        ..BeatConfig::default()
    };
    let ds = mitbih::load_beats(&dir.join("mitdb"), &cfg)
        .with_context(|| format!("loading MIT-BIH beats from {}", dir.display()))?;
    anyhow::ensure!(
        ds.x.ncols() == BEAT_LEN,
        "beat windows have {} samples, expected {BEAT_LEN}",
        ds.x.ncols()
    );
    Ok(part_from_beats(&ds, classes))
}

/// Synthetic beats in the same window (125 Hz, 62 + 125 samples, min–max per beat); every
/// synthetic patient is a record `syn<k>`.
fn load_synthetic(per_class: [usize; 5], classes: usize, seed: u64) -> Result<Part> {
    let mut per = per_class;
    per.iter_mut().skip(classes).for_each(|c| *c = 0);
    let cfg = BeatDatasetConfig {
        fs: FS,
        before_s: R_INDEX as f64 / FS,
        after_s: (BEAT_LEN - R_INDEX) as f64 / FS,
        per_class: per,
        beats_per_record: 40,
        noise_mv: 0.02,
        seed,
    };
    let mut data = beat_dataset(&cfg)?;
    anyhow::ensure!(data.length == BEAT_LEN, "synthetic window {}", data.length);
    for w in data.samples.chunks_exact_mut(BEAT_LEN) {
        normalise(w, Normalisation::MinMax);
    }
    data.class_names.truncate(classes);
    let record = data.groups.iter().map(|g| format!("syn{g}")).collect();
    let sample = (0..data.len()).collect();
    Ok(Part {
        data,
        record,
        sample,
    })
}

/// Keeps at most `cap` beats of each class, and `QUICK_N_FACTOR`·`cap` of class N (index 0),
/// so that quick runs keep some imbalance (seeded random choice, original order kept).
pub fn cap_per_class(part: &Part, cap: usize, seed: u64) -> Part {
    let mut rng = Rng::stream(seed, "seed003_cap");
    let k = part.data.class_names.len();
    let mut keep = Vec::new();
    for c in 0..k {
        let mut idx: Vec<usize> = (0..part.len())
            .filter(|&i| part.data.labels[i] == c)
            .collect();
        rng.shuffle(&mut idx);
        idx.truncate(if c == 0 { QUICK_N_FACTOR * cap } else { cap });
        keep.extend(idx);
    }
    keep.sort_unstable();
    part.subset(&keep)
}

/// Stratified (train, test) of a part: `fraction` of each class to the second part.
fn stratified(part: &Part, fraction: f64, seed: u64) -> (Part, Part) {
    let labels: Vec<u8> = part.data.labels.iter().map(|&l| l as u8).collect();
    let (a, b) = stratified_split(&labels, fraction, seed);
    (part.subset(&a), part.subset(&b))
}

/// Picks `k` validation records among `records` (see the module docs); returns them and
/// whether the acceptance rule was met.
pub fn choose_val_records(part: &Part, k: usize, seed: u64) -> (Vec<String>, bool) {
    let mut records = part.records();
    let classes = part.data.class_names.len();
    let total = part.len().max(1);
    let mut rng = Rng::stream(seed, "seed003_val_records");
    let k = k.clamp(1, records.len().saturating_sub(1).max(1));
    let mut best: Option<(usize, Vec<String>)> = None;
    for _ in 0..500 {
        rng.shuffle(&mut records);
        let mut pick = records[..k].to_vec();
        pick.sort_unstable();
        let mut counts = vec![0usize; classes];
        let mut n = 0;
        for (r, &l) in part.record.iter().zip(&part.data.labels) {
            if pick.contains(r) {
                counts[l] += 1;
                n += 1;
            }
        }
        let frac = n as f64 / total as f64;
        let min = counts.iter().copied().min().unwrap_or(0);
        if min >= MIN_VAL_PER_CLASS && (0.10..=0.35).contains(&frac) {
            return (pick, true);
        }
        // Otherwise remember the draw with the best worst-class count.
        if best.as_ref().is_none_or(|(m, _)| min > *m) {
            best = Some((min, pick));
        }
    }
    (best.map(|(_, p)| p).unwrap_or_default(), false)
}

/// Splits a part by records: rows whose record is in `chosen` go to the second part.
pub fn split_by_records(part: &Part, chosen: &[String]) -> (Part, Part) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, r) in part.record.iter().enumerate() {
        if chosen.contains(r) {
            b.push(i);
        } else {
            a.push(i);
        }
    }
    (part.subset(&a), part.subset(&b))
}

/// Builds the train/validation/test parts of `protocol` from `source` (real MIT-BIH or the
/// synthetic generator); `quick` reads few records and caps every class.
///
/// # Errors
/// Reading the records; an empty part.
pub fn prepare(
    protocol: Protocol,
    source: &DataSource,
    quick: Option<QuickCaps>,
    seed: u64,
) -> Result<Splits> {
    let classes = protocol.classes();
    let (train, val, test, mut description) = match (protocol, source) {
        (Protocol::IntraPatient, src) => {
            let (all, what) = match src {
                DataSource::Real(dir) => {
                    let recs: Vec<&str> = match quick {
                        Some(_) => QUICK_INTRA.to_vec(),
                        None => mitbih::RECORDS
                            .iter()
                            .copied()
                            .filter(|r| !NO_MLII.contains(r))
                            .collect(),
                    };
                    let p = load_real(dir, &recs, true, classes)?;
                    (
                        p,
                        format!(
                            "MIT-BIH {} records (paced 107 and 217 kept; 102 and 104 have no MLII lead)",
                            recs.len()
                        ),
                    )
                }
                DataSource::Synthetic(_) => {
                    let n = if quick.is_some() { 120 } else { 2000 };
                    let p = load_synthetic([4 * n, n, n, n / 2, n / 2], classes, seed)?;
                    let what = p_source(&p);
                    (p, what)
                }
            };
            let (trainval, test) = stratified(&all, 0.2, seed);
            let (train, val) = stratified(&trainval, 0.1, seed ^ 0x5EED_0003);
            let d = format!(
                "intra-patient: {what}; stratified random beats, 20 % test, 10 % of the rest validation (seed {seed})"
            );
            (train, val, test, d)
        }
        (Protocol::InterPatient, src) => {
            let (ds1, ds2, what) = match src {
                DataSource::Real(dir) => {
                    let (r1, r2): (Vec<&str>, Vec<&str>) = match quick {
                        Some(_) => (QUICK_DS1.to_vec(), QUICK_DS2.to_vec()),
                        None => (mitbih::DS1.to_vec(), mitbih::DS2.to_vec()),
                    };
                    let p1 = load_real(dir, &r1, false, classes)?;
                    let p2 = load_real(dir, &r2, false, classes)?;
                    (
                        p1,
                        p2,
                        format!(
                            "MIT-BIH DS1 ({} records) → DS2 ({} records)",
                            r1.len(),
                            r2.len()
                        ),
                    )
                }
                DataSource::Synthetic(_) => {
                    let n = if quick.is_some() { 120 } else { 2000 };
                    let all = load_synthetic([4 * n, n, n, n / 2, 0], classes, seed)?;
                    let what = p_source(&all);
                    let (chosen, _) =
                        choose_val_records(&all, all.records().len() / 3, seed ^ 0xD52);
                    let (ds1, ds2) = split_by_records(&all, &chosen);
                    (
                        ds1,
                        ds2,
                        format!("{what}; a third of the synthetic patients as 'DS2'"),
                    )
                }
            };
            let k = (ds1.records().len() as f64 * 0.2).round().max(1.0) as usize;
            let (chosen, ok) = choose_val_records(&ds1, k, seed);
            let (train, val) = split_by_records(&ds1, &chosen);
            let d = format!(
                "inter-patient: {what}; validation records {chosen:?} from DS1{} (seed {seed})",
                if ok {
                    ""
                } else {
                    " (acceptance rule NOT met: best draw kept)"
                }
            );
            (train, val, ds2, d)
        }
    };
    let (train, val, test) = match quick {
        Some(c) => (
            cap_per_class(&train, c.train, seed),
            cap_per_class(&val, c.val, seed),
            cap_per_class(&test, c.test, seed),
        ),
        None => (train, val, test),
    };
    for (name, p) in [("train", &train), ("validation", &val), ("test", &test)] {
        anyhow::ensure!(
            !p.is_empty(),
            "{}: the {name} part is empty",
            protocol.name()
        );
    }
    if quick.is_some() {
        description.push_str("; --quick: classes capped");
    }
    Ok(Splits {
        protocol,
        train,
        val,
        test,
        description,
    })
}

fn p_source(p: &Part) -> String {
    p.data.source.clone()
}
