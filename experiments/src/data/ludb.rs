//! # LUDB (Lobachevsky University ECG Database): 12 leads, per-lead P/QRS/T delineation
//!
//! Each record `data/N` is 12 × 5000 samples at 500 Hz (format 16, per-lead gains like
//! `1716(6)/mV`). Each lead has its own annotation file `data/N.<lead>` where a wave is
//! written `(` onset, peak (`p` P wave, `N` QRS, `t` T wave), `)` offset. 102 waves in the
//! release lack the `(`, so [`parse_waves`] pairs markers by order and leaves a missing onset
//! or offset as `None` instead of assuming triples. Age, sex and diagnoses are `#` comments
//! in the header (`#<age>: 51`, `#<sex>: F`, `#<diagnoses>:` then one line each); `ludb.csv`
//! holds the same metadata by column ([`read_csv`]).
//!
//! Crops for the seed-004 experiments: 4-second windows of lead V6 ([`lead_windows`]) and
//! single cycles of ±0.5 s around each annotated R peak ([`cycle_crops`]).

use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::Array2;

use super::wfdb;

/// Lead names in file/header order; also the annotation file extensions.
pub const LEADS: [&str; 12] = [
    "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6",
];

/// Sampling rate of LUDB.
pub const FS: f64 = 500.0;

/// The kind of a delineated wave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaveKind {
    /// P wave (peak symbol `p`).
    P,
    /// QRS complex (`N`).
    Qrs,
    /// T wave (`t`).
    T,
}

/// One delineated wave (samples at 500 Hz).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wave {
    /// P, QRS or T.
    pub kind: WaveKind,
    /// Onset `(`, if annotated.
    pub onset: Option<usize>,
    /// Peak.
    pub peak: usize,
    /// Offset `)`, if annotated.
    pub offset: Option<usize>,
}

/// Waves of one lead plus the markers that fit no wave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delineation {
    /// The waves, one per peak annotation, in time order.
    pub waves: Vec<Wave>,
    /// `(` markers not followed by a peak before the next `)` (misplaced onsets).
    pub stray_onsets: usize,
    /// `)` markers with no open wave before them.
    pub stray_offsets: usize,
}

/// Groups `(`, peak, `)` annotations into waves, one wave per peak. The release is not
/// strictly `( peak )` triples: a file may start inside a wave (peak and `)` without `(`),
/// a `(` may come just *after* its peak (`N ( )`: the onset was placed 2 samples late), and a
/// `( )` pair may hold no peak at all. Rules: a `(` becomes the onset of the next peak; a `)`
/// closes the wave whose peak is the most recent one still open; any `(` still pending at a
/// `)` is counted as a stray onset (never placed after its peak), and a `)` with no open wave
/// as a stray offset.
pub fn parse_waves(anns: &[wfdb::Annotation]) -> Delineation {
    let mut d = Delineation::default();
    let mut onset: Option<usize> = None;
    let mut open = false; // the most recent wave still waits for its `)`
    for a in anns {
        let t = a.sample as usize;
        let kind = match a.symbol() {
            "(" => {
                d.stray_onsets += usize::from(onset.is_some());
                onset = Some(t);
                continue;
            }
            ")" => {
                d.stray_onsets += usize::from(onset.take().is_some());
                match d.waves.last_mut() {
                    Some(w) if open => w.offset = Some(t),
                    _ => d.stray_offsets += 1,
                }
                open = false;
                continue;
            }
            "p" => WaveKind::P,
            "N" => WaveKind::Qrs,
            "t" => WaveKind::T,
            _ => continue,
        };
        d.waves.push(Wave {
            kind,
            onset: onset.take(),
            peak: t,
            offset: None,
        });
        open = true;
    }
    d.stray_onsets += usize::from(onset.is_some());
    d
}

/// A LUDB record with its delineation and metadata.
#[derive(Clone, Debug)]
pub struct LudbRecord {
    /// Record id (1 … 200).
    pub id: u32,
    /// The 12 × 5000 signal in mV and its header.
    pub record: wfdb::Record,
    /// Waves per lead, in [`LEADS`] order.
    pub waves: Vec<Vec<Wave>>,
    /// Markers per lead that belong to no wave (see [`parse_waves`]): (stray `(`, stray `)`).
    pub stray_markers: Vec<(usize, usize)>,
    /// Age from the header, if a number.
    pub age: Option<u32>,
    /// Sex (`"M"`/`"F"`) from the header.
    pub sex: Option<String>,
    /// Diagnosis lines from the header (trailing `.` removed).
    pub diagnoses: Vec<String>,
}

impl LudbRecord {
    /// Index of a lead name in [`LEADS`].
    pub fn lead_index(name: &str) -> Option<usize> {
        LEADS.iter().position(|l| l.eq_ignore_ascii_case(name))
    }
}

/// Reads record `id` from the LUDB folder (which holds `data/`).
///
/// # Errors
/// WFDB errors (file/line/offset), a record that is not 12 × 5000 at 500 Hz, or leads out of
/// order, with the record in the context.
pub fn read_record(ludb_dir: &Path, id: u32) -> Result<LudbRecord> {
    let name = format!("data/{id}");
    let record = wfdb::read_record(ludb_dir, &name)?;
    let descs: Vec<&str> = record
        .header
        .signals
        .iter()
        .map(|s| s.description.as_str())
        .collect();
    if descs != LEADS || record.fs() != FS {
        bail!(
            "ludb record {id}: expected leads {LEADS:?} at 500 Hz, got {descs:?} at {} Hz",
            record.fs()
        );
    }
    let (mut waves, mut stray_markers) = (Vec::with_capacity(12), Vec::with_capacity(12));
    for lead in LEADS {
        let a = wfdb::read_annotations(ludb_dir, &name, lead)
            .with_context(|| format!("ludb record {id}, lead {lead}"))?;
        let d = parse_waves(&a);
        waves.push(d.waves);
        stray_markers.push((d.stray_onsets, d.stray_offsets));
    }
    let (mut age, mut sex, mut diagnoses, mut in_dx) = (None, None, Vec::new(), false);
    for c in &record.header.comments {
        let c = c.trim();
        if let Some(v) = c.strip_prefix("<age>:") {
            age = v.trim().parse().ok();
        } else if let Some(v) = c.strip_prefix("<sex>:") {
            sex = Some(v.trim().to_string());
        } else if c.starts_with("<diagnoses>") {
            in_dx = true;
        } else if in_dx && !c.is_empty() {
            diagnoses.push(c.trim_end_matches('.').trim().to_string());
        }
    }
    Ok(LudbRecord {
        id,
        record,
        waves,
        stray_markers,
        age,
        sex,
        diagnoses,
    })
}

/// `ludb.csv` parsed: the header row and one row per record (quoted cells may hold newlines
/// and `""` escapes; cells are trimmed).
///
/// # Errors
/// I/O errors, an unterminated quote (with its line), or a row whose cell count differs
/// from the header's.
pub fn read_csv(ludb_dir: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let path = ludb_dir.join("ludb.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let rows = parse_csv(&text).with_context(|| format!("{}", path.display()))?;
    let mut it = rows.into_iter();
    let header = it.next().context("ludb.csv is empty")?;
    let rows: Vec<Vec<String>> = it.collect();
    for (i, r) in rows.iter().enumerate() {
        if r.len() != header.len() {
            bail!(
                "{}: data row {} has {} cells, header has {}",
                path.display(),
                i + 1,
                r.len(),
                header.len()
            );
        }
    }
    Ok((header, rows))
}

/// Minimal RFC 4180 CSV parser (the only dialect `ludb.csv` uses).
///
/// # Errors
/// An unterminated quoted cell, naming the line where it starts.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut line, mut quote_line) = (false, 1usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                quote_line = line;
            }
            ',' => row.push(std::mem::take(&mut cell).trim().to_string()),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cell).trim().to_string());
                rows.push(std::mem::take(&mut row));
            }
            _ => cell.push(c),
        }
    }
    if quoted {
        bail!("line {quote_line}: quoted cell is never closed");
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell.trim().to_string());
        rows.push(row);
    }
    Ok(rows)
}

/// Windows of `len` samples every `stride` samples of one lead: `[k, len]`.
///
/// # Errors
/// Unknown lead, `len` or `stride` zero, or `len` longer than the record.
pub fn lead_windows(
    rec: &LudbRecord,
    lead: &str,
    len: usize,
    stride: usize,
) -> Result<Array2<f32>> {
    let li =
        LudbRecord::lead_index(lead).with_context(|| format!("ludb: unknown lead `{lead}`"))?;
    let x = rec.record.physical.row(li).to_vec();
    if len == 0 || stride == 0 || len > x.len() {
        bail!(
            "ludb record {}: window {len} / stride {stride} does not fit {} samples",
            rec.id,
            x.len()
        );
    }
    let k = (x.len() - len) / stride + 1;
    let mut out = Array2::zeros((k, len));
    for (j, mut row) in out.outer_iter_mut().enumerate() {
        row.assign(&ndarray::ArrayView1::from(&x[j * stride..j * stride + len]));
    }
    Ok(out)
}

/// Single-cycle crops `[R − half, R + half)` around each annotated QRS peak of `lead`
/// (`half` = 250 samples for ±0.5 s); crops leaving the record are skipped. Returns the crops
/// `[k, 2·half]` and the peak sample of each.
///
/// # Errors
/// Unknown lead or `half` zero.
pub fn cycle_crops(rec: &LudbRecord, lead: &str, half: usize) -> Result<(Array2<f32>, Vec<usize>)> {
    let li =
        LudbRecord::lead_index(lead).with_context(|| format!("ludb: unknown lead `{lead}`"))?;
    if half == 0 {
        bail!("ludb: crop half-width must be positive");
    }
    let x = rec.record.physical.row(li).to_vec();
    let peaks: Vec<usize> = rec.waves[li]
        .iter()
        .filter(|w| w.kind == WaveKind::Qrs && w.peak >= half && w.peak + half <= x.len())
        .map(|w| w.peak)
        .collect();
    let mut out = Array2::zeros((peaks.len(), 2 * half));
    for (row, &p) in out.outer_iter_mut().zip(&peaks) {
        let mut row = row;
        row.assign(&ndarray::ArrayView1::from(&x[p - half..p + half]));
    }
    Ok((out, peaks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(sample: u64, code: u8) -> wfdb::Annotation {
        wfdb::Annotation {
            sample,
            code,
            subtype: 0,
            chan: 0,
            num: 0,
            aux: None,
        }
    }

    #[test]
    fn waves_tolerate_missing_onsets_and_offsets() {
        // ( N )  N )  ( t  ( p )  N ( )  ( )  — codes: ( 39, ) 40, N 1, t 27, p 24.
        let a = [
            ann(10, 39),
            ann(12, 1),
            ann(14, 40),
            ann(20, 1),
            ann(22, 40),
            ann(30, 39),
            ann(31, 27),
            ann(40, 39),
            ann(41, 24),
            ann(43, 40),
            ann(50, 1),
            ann(52, 39),
            ann(60, 40),
            ann(70, 39),
            ann(80, 40),
        ];
        let d = parse_waves(&a);
        let w = &d.waves;
        assert_eq!(w.len(), 5);
        assert_eq!(
            w[4],
            Wave {
                kind: WaveKind::Qrs,
                onset: None,
                peak: 50,
                offset: Some(60)
            }
        );
        assert_eq!((d.stray_onsets, d.stray_offsets), (2, 1));
        assert_eq!(
            w[0],
            Wave {
                kind: WaveKind::Qrs,
                onset: Some(10),
                peak: 12,
                offset: Some(14)
            }
        );
        assert_eq!(
            w[1],
            Wave {
                kind: WaveKind::Qrs,
                onset: None,
                peak: 20,
                offset: Some(22)
            }
        );
        assert_eq!(
            w[2],
            Wave {
                kind: WaveKind::T,
                onset: Some(30),
                peak: 31,
                offset: None
            }
        );
        assert_eq!(
            w[3],
            Wave {
                kind: WaveKind::P,
                onset: Some(40),
                peak: 41,
                offset: Some(43)
            }
        );
    }

    #[test]
    fn csv_with_quoted_newlines() {
        let rows = parse_csv("ID,Sex,Dx\n1,\"F\n\",\"a\nb \"\"q\"\"\"\n2,M,\n").expect("valid");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], vec!["1", "F", "a\nb \"q\""]);
        assert_eq!(rows[2], vec!["2", "M", ""]);
        let e = parse_csv("a,b\n1,\"x\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
