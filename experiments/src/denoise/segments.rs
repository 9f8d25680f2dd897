//! Clean two-lead segments for denoising: MIT-BIH records (both channels, usually MLII and V1)
//! or the synthetic MIT-BIH stand-in, cut into non-overlapping windows, and the per-segment
//! normalisation the network sees.
//!
//! **Clean reference.** MIT-BIH's "clean" signals carry their own baseline drift; each lead of a
//! whole record is high-passed at 0.5 Hz (2nd-order Butterworth, zero phase) before cutting, so
//! the reference has no drift a denoiser would be blamed for removing. Nothing else is done
//! (no low-pass: the reference keeps its own small high-frequency content).
//!
//! **Windows.** Length L (600 samples = 1.67 s at 360 Hz by default, the window the third-party
//! ACDAE "Table I" implies), non-overlapping, spread evenly over the record when only k of them
//! are wanted; windows with a flat lead (power < 1e-4 mV², e.g. a lead off) are skipped.
//!
//! **Normalisation** ([`normalise`]/[`denormalise`]): from the *noisy* input only, per segment:
//! subtract each lead's mean, divide by the segment's standard deviation s; the network's output
//! is multiplied by s and the means are added back. The range −20…+24 dB spans a factor ~250 in
//! noise amplitude; this keeps inputs at unit scale without peeking at the clean signal.

use std::path::Path;

use anyhow::{Context, Result, ensure};

use crate::data::signal::filter::{Pass, butterworth, filtfilt};
use crate::data::synthetic::dataset::mitbih_like_record;
use crate::data::wfdb;

/// Clean two-lead segments, each stored lead-major (`[lead 1 | lead 2]`, 2·L values).
#[derive(Clone, Debug, Default)]
pub struct Segments {
    /// Window length L.
    pub len: usize,
    /// Sampling rate (Hz).
    pub fs: f64,
    /// The segments.
    pub x: Vec<Vec<f32>>,
    /// Record name of each segment (for the patient-wise split).
    pub record: Vec<String>,
}

impl Segments {
    /// Appends `k` (or all, if fewer) evenly spread non-overlapping windows of the two leads.
    fn push_record(&mut self, name: &str, leads: [&[f32]; 2], k: usize) -> Result<()> {
        let n = leads[0].len().min(leads[1].len());
        let hp = butterworth(2, 0.5, self.fs, Pass::High)?;
        let filt = |x: &[f32]| -> Vec<f32> {
            let v: Vec<f64> = x[..n].iter().map(|&s| s as f64).collect();
            filtfilt(&hp, &v).into_iter().map(|s| s as f32).collect()
        };
        let (a, b) = (filt(leads[0]), filt(leads[1]));
        let total = n / self.len;
        let take = k.min(total);
        for i in 0..take {
            // Window index spread evenly over the record.
            let w = i * total / take.max(1);
            let r = w * self.len..(w + 1) * self.len;
            let power =
                |v: &[f32]| v.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / v.len() as f64;
            if power(&a[r.clone()]) < 1e-4 || power(&b[r.clone()]) < 1e-4 {
                continue;
            }
            let mut seg = a[r.clone()].to_vec();
            seg.extend_from_slice(&b[r]);
            self.x.push(seg);
            self.record.push(name.to_string());
        }
        Ok(())
    }

    /// Number of segments.
    pub fn count(&self) -> usize {
        self.x.len()
    }
}

/// Up to `per_record` windows of length `len` from each MIT-BIH record in `records`.
///
/// # Errors
/// WFDB read errors naming the file; a record with fewer than two channels.
pub fn mitbih_segments(
    mitdb: &Path,
    records: &[&str],
    len: usize,
    per_record: usize,
) -> Result<Segments> {
    ensure!(len > 0, "segment length must be positive");
    let mut s = Segments {
        len,
        fs: 360.0,
        ..Segments::default()
    };
    for name in records {
        let rec = wfdb::read_record(mitdb, name)
            .with_context(|| format!("reading MIT-BIH record {name}"))?;
        ensure!(rec.physical.nrows() >= 2, "record {name} has < 2 leads");
        s.fs = rec.fs();
        let (a, b) = (rec.physical.row(0).to_vec(), rec.physical.row(1).to_vec());
        s.push_record(name, [&a, &b], per_record)?;
    }
    Ok(s)
}

/// Segments from `records` synthetic MIT-BIH-like two-lead records (one "patient" each, seeded
/// by `seed + index`), `beats` beats each, all windows.
///
/// # Errors
/// Generator errors.
pub fn synthetic_segments(records: usize, beats: usize, len: usize, seed: u64) -> Result<Segments> {
    let mut s = Segments {
        len,
        fs: 360.0,
        ..Segments::default()
    };
    for r in 0..records {
        let rec = mitbih_like_record(beats, [0.8, 0.08, 0.1, 0.02, 0.0], seed + r as u64)?;
        let (a, b) = (rec.signals.row(0).to_vec(), rec.signals.row(1).to_vec());
        s.push_record(&format!("syn{r}"), [&a, &b], usize::MAX)?;
    }
    Ok(s)
}

/// Per-segment normalisation parameters: each lead's mean and the common scale s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Norm {
    /// Mean of lead 1 and lead 2 of the noisy segment.
    pub mean: [f32; 2],
    /// Standard deviation of the mean-removed noisy segment (both leads), ≥ 1e-6.
    pub scale: f32,
}

/// Normalises a noisy segment (2·L values) in place and returns how (see the module docs).
pub fn normalise(noisy: &mut [f32]) -> Norm {
    let l = noisy.len() / 2;
    let mut mean = [0f32; 2];
    for (m, lead) in mean.iter_mut().zip(noisy.chunks(l.max(1))) {
        *m = (lead.iter().map(|&v| v as f64).sum::<f64>() / lead.len().max(1) as f64) as f32;
    }
    let mut ss = 0f64;
    for (i, v) in noisy.iter().enumerate() {
        let c = (*v - mean[(i / l.max(1)).min(1)]) as f64;
        ss += c * c;
    }
    let scale = ((ss / noisy.len().max(1) as f64).sqrt() as f32).max(1e-6);
    for (i, v) in noisy.iter_mut().enumerate() {
        *v = (*v - mean[(i / l.max(1)).min(1)]) / scale;
    }
    Norm { mean, scale }
}

/// Maps a segment from the normalised scale back (in place): v·s + mean.
pub fn denormalise(x: &mut [f32], norm: Norm) {
    let l = (x.len() / 2).max(1);
    for (i, v) in x.iter_mut().enumerate() {
        *v = *v * norm.scale + norm.mean[(i / l).min(1)];
    }
}

/// Applies a normalisation computed elsewhere (the clean target, with the noisy input's
/// parameters): (v − mean)/s.
pub fn apply_norm(x: &mut [f32], norm: Norm) {
    let l = (x.len() / 2).max(1);
    for (i, v) in x.iter_mut().enumerate() {
        *v = (*v - norm.mean[(i / l).min(1)]) / norm.scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_then_denormalise_is_identity() {
        let x: Vec<f32> = (0..20)
            .map(|i| (i as f32 * 0.7).sin() * 3.0 + 5.0)
            .collect();
        let mut y = x.clone();
        let n = normalise(&mut y);
        let ss: f32 = y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32;
        assert!((ss - 1.0).abs() < 1e-4);
        denormalise(&mut y, n);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn synthetic_segments_have_two_leads_of_length_l() {
        let s = synthetic_segments(2, 12, 600, 3).expect("segments");
        assert!(s.count() >= 10, "{}", s.count());
        assert!(s.x.iter().all(|v| v.len() == 1200));
        assert!(s.record.iter().any(|r| r == "syn1"));
    }
}
