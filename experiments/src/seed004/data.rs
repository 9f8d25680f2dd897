//! Seed-004 data: lead V6 of LUDB (or of the synthetic LUDB stand-in), one [`Patient`] per
//! record, a patient-wise train/test split, 4-second windows and single-cycle crops.
//!
//! Preprocessing (as the public code): baseline wander removed (two-stage median filter,
//! `signal::remove_baseline`), amplitudes kept in mV (no per-signal scaling). R peaks come from
//! the Pan–Tompkins detector (the paper: "all R-peaks were found on the ECG"); T waves for the
//! cycle study from the LUDB delineation when real data is used, from the generator's event
//! times otherwise.

use std::path::Path;

use anyhow::{Context, Result};
use ecgrad_engine::Rng;

use crate::cli::DataSource;
use crate::data::ludb::{self, WaveKind};
use crate::data::resample::resample_ratio;
use crate::data::signal::{pan_tompkins, remove_baseline};
use crate::data::synthetic::ludb_like_record;

/// Sampling rate of the source records.
pub const FS: f64 = 500.0;

/// One patient's lead V6 (10 s at 500 Hz, baseline removed, mV).
#[derive(Clone, Debug)]
pub struct Patient {
    /// LUDB record id, or the synthetic record's index + 1.
    pub id: u32,
    /// The signal.
    pub v6: Vec<f32>,
    /// Detected R peaks (Pan–Tompkins).
    pub r_peaks: Vec<usize>,
}

/// The loaded patients and a description of where they came from (with a checksum).
#[derive(Clone, Debug)]
pub struct V6Data {
    /// Patients in id order.
    pub patients: Vec<Patient>,
    /// "LUDB 1.0.1 at …, SHA256SUMS sha256 = …" or the synthetic generator's description.
    pub source: String,
    /// True when the synthetic generator was used.
    pub synthetic: bool,
}

/// Loads up to `max_patients` patients (records 1, 2, … in order for real data; for the
/// generator, heart rates drawn uniformly in 55–100 bpm from `seed`).
///
/// # Errors
/// Unreadable LUDB files (naming the record), or generator errors.
pub fn load_v6(source: &DataSource, max_patients: usize, seed: u64) -> Result<V6Data> {
    let mut patients = Vec::new();
    match source {
        DataSource::Real(dir) => {
            let ludb_dir = dir.join("ludb");
            let sums = ludb_dir.join("SHA256SUMS");
            let digest = crate::data::fetch::sha256_file(&sums)
                .with_context(|| format!("checksum of {}", sums.display()))?;
            let li = ludb::LudbRecord::lead_index("v6").context("lead v6")?;
            for id in 1..=200u32.min(max_patients as u32) {
                let rec = ludb::read_record(&ludb_dir, id)?;
                let raw: Vec<f32> = rec.record.physical.row(li).to_vec();
                patients.push(prepare(id, &raw)?);
            }
            Ok(V6Data {
                patients,
                source: format!(
                    "LUDB 1.0.1, lead V6, records 1–{}, at {} (SHA256SUMS sha256 {digest})",
                    max_patients.min(200),
                    ludb_dir.display()
                ),
                synthetic: false,
            })
        }
        DataSource::Synthetic(why) => {
            let mut rng = Rng::stream(seed, "seed004-synthetic-hr");
            for i in 0..max_patients {
                let hr = rng.uniform_range(55.0, 100.0);
                let rec = ludb_like_record(hr, seed.wrapping_add(i as u64))?;
                let li = rec
                    .lead_names
                    .iter()
                    .position(|n| n == "v6")
                    .context("synthetic record has no v6")?;
                let raw: Vec<f32> = rec.signals.row(li).to_vec();
                patients.push(prepare(i as u32 + 1, &raw)?);
            }
            Ok(V6Data {
                patients,
                source: format!(
                    "synthetic LUDB-like records (ECGSYN model, lead V6, HR 55–100 bpm, seed {seed}; {why})"
                ),
                synthetic: true,
            })
        }
    }
}

/// Baseline removal and R-peak detection for one raw V6 signal.
fn prepare(id: u32, raw: &[f32]) -> Result<Patient> {
    let x: Vec<f64> = raw.iter().map(|&v| f64::from(v)).collect();
    let clean = remove_baseline(&x, FS)?;
    let r_peaks = pan_tompkins(&clean, FS)?;
    Ok(Patient {
        id,
        v6: clean.iter().map(|&v| v as f32).collect(),
        r_peaks,
    })
}

/// Patient-wise split: a seeded shuffle of the patients, the first ⌈(1 − test_fraction)·n⌉ for
/// training. Returns indices into `patients` (train, test), each sorted.
pub fn patient_split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::stream(seed, "seed004-split").shuffle(&mut idx);
    let n_test = ((n as f64) * test_fraction).round() as usize;
    let n_test = n_test.clamp(usize::from(n > 1), n.saturating_sub(1));
    let mut test = idx[..n_test].to_vec();
    let mut train = idx[n_test..].to_vec();
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Windows of `seconds` s every `stride_s` s from each patient, resampled to `len` samples
/// (`len` = 512 for 4 s: 128 Hz, the paper's table; `len` = 2000: no resampling). Returns the
/// windows and the patient index of each.
///
/// # Errors
/// Resampling errors.
pub fn windows(
    patients: &[&Patient],
    seconds: f64,
    stride_s: f64,
    len: usize,
) -> Result<(Vec<Vec<f32>>, Vec<usize>)> {
    let (w, s) = (
        (seconds * FS).round() as usize,
        (stride_s * FS).round() as usize,
    );
    let g = crate::data::resample::gcd(len, w).max(1);
    let (up, down) = (len / g, w / g);
    let mut out = Vec::new();
    let mut owner = Vec::new();
    for (pi, p) in patients.iter().enumerate() {
        let mut start = 0;
        while start + w <= p.v6.len() {
            let seg = &p.v6[start..start + w];
            let mut r = if up == down {
                seg.to_vec()
            } else {
                resample_ratio(seg, up, down)?
            };
            r.resize(len, 0.0);
            out.push(r);
            owner.push(pi);
            start += s.max(1);
        }
    }
    Ok((out, owner))
}

/// Single cycles `[R − half, R + half)` around every detected R peak that leaves room (the
/// first and last peaks are skipped, as in the public code). Returns crops and patient index.
pub fn cycles(patients: &[&Patient], half: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut out = Vec::new();
    let mut owner = Vec::new();
    for (pi, p) in patients.iter().enumerate() {
        let n = p.r_peaks.len();
        for &r in p.r_peaks.iter().take(n.saturating_sub(1)).skip(1) {
            if r >= half && r + half <= p.v6.len() {
                out.push(p.v6[r - half..r + half].to_vec());
                owner.push(pi);
            }
        }
    }
    (out, owner)
}

/// Standardises every window in place to mean 0 and (population) standard deviation 1.
///
/// Raw V6 has a standard deviation of about 0.1 mV: an autoencoder fitted to it with MSE sees
/// gradients a hundred times too small and learns a flat line (see `AE_TRAINING_DIAGNOSIS.md`).
/// A flat window (std below 1e-6) is only centred.
pub fn standardise(windows: &mut [Vec<f32>]) {
    for x in windows {
        let n = x.len().max(1) as f32;
        let m = x.iter().sum::<f32>() / n;
        let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / n)
            .sqrt()
            .max(1e-6);
        x.iter_mut().for_each(|v| *v = (*v - m) / sd);
    }
}

/// The mean over patients of the annotated V6 T-wave duration (offset − onset) in samples, for
/// the "relative to T-wave width" scale; `None` without real data or annotations.
pub fn mean_t_width(ludb_dir: &Path, ids: &[u32]) -> Option<f64> {
    let li = ludb::LudbRecord::lead_index("v6")?;
    let mut widths = Vec::new();
    for &id in ids {
        let rec = ludb::read_record(ludb_dir, id).ok()?;
        for w in &rec.waves[li] {
            if let (WaveKind::T, Some(on), Some(off)) = (w.kind, w.onset, w.offset) {
                widths.push((off - on) as f64);
            }
        }
    }
    (!widths.is_empty()).then(|| widths.iter().sum::<f64>() / widths.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_patient_wise_disjoint_and_seeded() {
        let (tr, te) = patient_split(10, 0.2, 1);
        assert_eq!((tr.len(), te.len()), (8, 2));
        assert!(tr.iter().all(|i| !te.contains(i)));
        assert_eq!(patient_split(10, 0.2, 1), (tr, te));
        // Never an empty side when there are two patients or more.
        assert_eq!(patient_split(2, 0.01, 1).1.len(), 1);
    }

    #[test]
    fn windows_resample_to_the_requested_length_and_cycles_skip_edges() {
        let p = Patient {
            id: 1,
            v6: (0..5000).map(|i| (i as f32 * 0.01).sin()).collect(),
            r_peaks: vec![100, 600, 1100, 4900],
        };
        let (w, owner) = windows(&[&p], 4.0, 1.0, 512).expect("windows");
        assert_eq!(w.len(), 7); // starts 0, 500, …, 3000
        assert!(w.iter().all(|x| x.len() == 512));
        assert_eq!(owner, vec![0; 7]);
        let (c, _) = cycles(&[&p], 280);
        // first (100) and last (4900) skipped; 600 and 1100 fit
        assert_eq!(c.len(), 2);
        assert_eq!(c[0][280], p.v6[600]);
    }
}
