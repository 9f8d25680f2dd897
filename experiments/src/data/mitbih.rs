//! # MIT-BIH Arrhythmia Database: AAMI beat classes, beat datasets, de Chazal splits
//!
//! AAMI EC57 maps the MIT-BIH beat symbols to five classes:
//! N = {N, L, R, e, j}, S = {A, a, J, S}, V = {V, E}, F = {F}, Q = {/, f, Q}.
//! Other beat symbols (B, r, n, ?) do not occur in mitdb 1.0.0; non-beat annotations are
//! ignored. The paced records 102, 104, 107 and 217 are excluded by default.
//!
//! [`load_beats`]: for each record, take the chosen lead in mV, resample it (360 → `target_fs`
//! with [`crate::data::resample`]), map each R-peak annotation r to round(r·up/down), cut
//! `[r − before, r + after)`, normalise each window, optionally attach RR features.
//! Shapes: `x` is `[beats, before + after]`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::Array2;
use rayon::prelude::*;

use super::resample;
use super::wfdb;
use super::windows::{self, BeatDataset, Normalisation, RR_FEATURES, SplitInfo};

/// The 48 record names of mitdb.
pub const RECORDS: [&str; 48] = [
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "112", "113",
    "114", "115", "116", "117", "118", "119", "121", "122", "123", "124", "200", "201", "202",
    "203", "205", "207", "208", "209", "210", "212", "213", "214", "215", "217", "219", "220",
    "221", "222", "223", "228", "230", "231", "232", "233", "234",
];

/// Records with paced beats, excluded under the AAMI recommendation.
pub const PACED: [&str; 4] = ["102", "104", "107", "217"];

/// de Chazal et al. 2004 inter-patient training set DS1.
pub const DS1: [&str; 22] = [
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201",
    "203", "205", "207", "208", "209", "215", "220", "223", "230",
];

/// de Chazal et al. 2004 inter-patient test set DS2.
pub const DS2: [&str; 22] = [
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213",
    "214", "219", "221", "222", "228", "231", "232", "233", "234",
];

/// AAMI class names in index order.
pub const AAMI_CLASSES: [&str; 5] = ["N", "S", "V", "F", "Q"];

/// AAMI EC57 class index (0 N, 1 S, 2 V, 3 F, 4 Q) of a MIT-BIH beat symbol, if mapped.
pub fn aami_class(symbol: &str) -> Option<u8> {
    Some(match symbol {
        "N" | "L" | "R" | "e" | "j" => 0,
        "A" | "a" | "J" | "S" => 1,
        "V" | "E" => 2,
        "F" => 3,
        "/" | "f" | "Q" => 4,
        _ => return None,
    })
}

/// Which signal to use.
#[derive(Clone, Debug, PartialEq)]
pub enum Lead {
    /// By description, e.g. `"MLII"` (record 114 stores it second); error if absent.
    Name(String),
    /// By position in the header.
    Index(usize),
}

/// Settings of [`load_beats`].
#[derive(Clone, Debug)]
pub struct BeatConfig {
    /// Records to use (default: all 48).
    pub records: Vec<String>,
    /// Drop 102, 104, 107, 217 (default true).
    pub exclude_paced: bool,
    /// Lead (default MLII).
    pub lead: Lead,
    /// Rate of the windows in Hz (default 125; 360 keeps the original rate).
    pub target_fs: f64,
    /// Samples before the R peak at `target_fs` (default 62).
    pub before: usize,
    /// Samples from the R peak on, at `target_fs` (default 125; 62 + 125 = 187 samples).
    pub after: usize,
    /// Per-window normalisation (default z-score).
    pub normalisation: Normalisation,
    /// Attach RR features (default false).
    pub rr_features: bool,
    /// Keep class Q (default false: most papers drop it).
    pub include_q: bool,
}

impl Default for BeatConfig {
    fn default() -> Self {
        BeatConfig {
            records: RECORDS.iter().map(|s| s.to_string()).collect(),
            exclude_paced: true,
            lead: Lead::Name("MLII".into()),
            target_fs: 125.0,
            before: 62,
            after: 125,
            normalisation: Normalisation::ZScore,
            rr_features: false,
            include_q: false,
        }
    }
}

/// Beats of one record, before concatenation.
struct RecordBeats {
    x: Vec<f32>,
    y: Vec<u8>,
    r: Vec<usize>,
    sym: Vec<String>,
    rr: Vec<[f32; RR_FEATURES]>,
    dropped: usize,
    fs: f64,
}

fn record_beats(dir: &Path, name: &str, cfg: &BeatConfig) -> Result<RecordBeats> {
    let rec = wfdb::read_record(dir, name)?;
    let lead = match &cfg.lead {
        Lead::Index(i) if *i < rec.header.signals.len() => *i,
        Lead::Index(i) => bail!(
            "record {name}: lead index {i} but only {} signals",
            rec.header.signals.len()
        ),
        Lead::Name(n) => rec
            .signal_index(n)
            .with_context(|| format!("record {name}: no signal named `{n}`"))?,
    };
    let x = rec.physical.row(lead).to_vec();
    let (up, down) = resample::rational(rec.fs(), cfg.target_fs)?;
    let xs = resample::resample_ratio(&x, up, down)?;
    let ann = wfdb::read_annotations(dir, name, "atr")?;
    let beats: Vec<&wfdb::Annotation> = ann.iter().filter(|a| a.is_beat()).collect();
    let peaks: Vec<usize> = beats.iter().map(|a| a.sample as usize).collect();
    let rr_all = windows::rr_features(&peaks, rec.fs());
    let len = cfg.before + cfg.after;
    let mut out = RecordBeats {
        x: Vec::new(),
        y: Vec::new(),
        r: Vec::new(),
        sym: Vec::new(),
        rr: Vec::new(),
        dropped: 0,
        fs: rec.fs(),
    };
    for (a, rr) in beats.iter().zip(&rr_all) {
        let Some(c) = aami_class(a.symbol()) else {
            continue;
        };
        if c == 4 && !cfg.include_q {
            continue;
        }
        let center =
            ((a.sample as u128 * up as u128 * 2 + down as u128) / (2 * down as u128)) as usize;
        let Some(w) = windows::window(&xs, center, cfg.before, cfg.after) else {
            out.dropped += 1;
            continue;
        };
        let start = out.x.len();
        out.x.extend_from_slice(w);
        windows::normalise(&mut out.x[start..start + len], cfg.normalisation);
        out.y.push(c);
        out.r.push(a.sample as usize);
        out.sym.push(a.symbol().to_string());
        out.rr.push(*rr);
    }
    Ok(out)
}

/// Loads AAMI-labelled beat windows from the mitdb folder `dir` (records in parallel).
///
/// # Errors
/// Any WFDB error (names file/record/offset), a missing lead, an invalid rate, or an empty
/// window (`before + after == 0`), each with the record in the context.
pub fn load_beats(dir: &Path, cfg: &BeatConfig) -> Result<BeatDataset> {
    let len = cfg.before + cfg.after;
    if len == 0 {
        bail!("mitbih::load_beats: window length before + after is 0");
    }
    let names: Vec<&String> = cfg
        .records
        .iter()
        .filter(|r| !(cfg.exclude_paced && PACED.contains(&r.as_str())))
        .collect();
    let parts: Vec<RecordBeats> = names
        .par_iter()
        .map(|r| {
            record_beats(dir, r, cfg)
                .with_context(|| format!("mitdb record {r} in {}", dir.display()))
        })
        .collect::<Result<_>>()?;
    let n: usize = parts.iter().map(|p| p.y.len()).sum();
    let mut x = Vec::with_capacity(n * len);
    let mut ds_rr = Vec::with_capacity(n * RR_FEATURES);
    let (mut y, mut record, mut r_sample, mut symbol) = (vec![], vec![], vec![], vec![]);
    let mut dropped = 0;
    for (p, name) in parts.iter().zip(&names) {
        x.extend_from_slice(&p.x);
        y.extend_from_slice(&p.y);
        r_sample.extend_from_slice(&p.r);
        symbol.extend(p.sym.iter().cloned());
        record.extend(std::iter::repeat_n((*name).clone(), p.y.len()));
        ds_rr.extend(p.rr.iter().flatten());
        dropped += p.dropped;
    }
    let fs_in = parts.first().map_or(360.0, |p| p.fs);
    Ok(BeatDataset {
        x: Array2::from_shape_vec((n, len), x).expect("invariant: n windows of len samples"),
        y,
        classes: AAMI_CLASSES.iter().map(|s| s.to_string()).collect(),
        record,
        r_sample,
        symbol,
        rr: cfg.rr_features.then(|| {
            Array2::from_shape_vec((n, RR_FEATURES), ds_rr).expect("invariant: 4 per beat")
        }),
        fs: cfg.target_fs,
        split: SplitInfo::Full,
        source: format!(
            "mitdb {} records ({}), lead {:?}, {fs_in} -> {} Hz, window -{}..+{} samples, {:?}, Q {}",
            names.len(),
            if cfg.exclude_paced {
                "paced 102/104/107/217 excluded"
            } else {
                "paced kept"
            },
            cfg.lead,
            cfg.target_fs,
            cfg.before,
            cfg.after,
            cfg.normalisation,
            if cfg.include_q { "kept" } else { "dropped" },
        ),
        dropped_at_edges: dropped,
    })
}

/// de Chazal inter-patient split: (DS1 train, DS2 test). Records outside both lists (the
/// paced ones) are left out.
pub fn inter_patient(ds: &BeatDataset) -> (BeatDataset, BeatDataset) {
    ds.split_by_records("de Chazal 2004 DS1/DS2", &DS1, &DS2)
}

/// Intra-patient split: stratified random beats, seeded; (train, test).
pub fn intra_patient(
    ds: &BeatDataset,
    test_fraction: f64,
    seed: u64,
) -> (BeatDataset, BeatDataset) {
    ds.split_intra(test_fraction, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aami_mapping_and_lists() {
        for (s, c) in [
            ("N", 0),
            ("e", 0),
            ("j", 0),
            ("a", 1),
            ("J", 1),
            ("E", 2),
            ("F", 3),
            ("f", 4),
        ] {
            assert_eq!(aami_class(s), Some(c), "{s}");
        }
        assert_eq!(aami_class("+"), None);
        let mut all: Vec<&str> = DS1.iter().chain(&DS2).chain(&PACED).copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            RECORDS.to_vec(),
            "DS1 ∪ DS2 ∪ paced = all 48, disjoint"
        );
    }
}
