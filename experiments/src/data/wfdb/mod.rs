//! # WFDB reader: PhysioNet headers, signal files and MIT-format annotations
//!
//! A record `NAME` is a text header `NAME.hea`, one or more signal files (usually `NAME.dat`)
//! and any number of annotation files `NAME.<ext>` (`atr` for MIT-BIH, `i` … `v6` for LUDB).
//!
//! The data path, from bytes to a matrix:
//!
//! 1. [`header::parse_header`] reads the record line (`NAME NSIG FS NSAMP`) and one line per
//!    signal (`FILE FORMAT GAIN(BASELINE)/UNITS ADCRES ADCZERO INITVAL CHECKSUM BLOCKSIZE DESC`).
//! 2. [`signal::decode_file`] unpacks the interleaved samples of one file (format 212: two
//!    12-bit samples in 3 bytes; 16: little-endian i16; 80: offset-binary u8) into ADC units,
//!    checking the header's INITVAL (first sample) and CHECKSUM (16-bit sum of all samples).
//! 3. Physical value x = (adu − baseline) / gain, with gain 0 meaning "uncalibrated" and read
//!    as 200 adu/mV, as WFDB does.
//! 4. [`annotation::parse_annotations`] decodes the 16-bit annotation words (6-bit code, 10-bit
//!    time increment, SKIP/NUM/SUB/CHN/AUX pseudo-codes).
//!
//! Shapes: a [`Record`] holds `adu` (i32) and `physical` (f32), both `[signals, samples]`.
//! Cost: one pass over the file bytes, O(signals × samples).
//!
//! Every error is a [`WfdbError`] that names the file, the record and the line (headers) or
//! the byte offset (signals, annotations). Sizes written in a header are never trusted: the
//! sample count is checked against the file length before anything is allocated.

pub mod annotation;
pub mod header;
pub mod signal;

use std::path::{Path, PathBuf};

use ndarray::Array2;

pub use annotation::{Annotation, parse_annotations, symbol_of};
pub use header::{Header, SignalSpec, parse_header};

/// Default gain in adu per physical unit when a header writes gain 0 ("uncalibrated").
pub const DEFAULT_GAIN: f64 = 200.0;

/// Every way a WFDB file can be wrong; each message names the file and where in it.
#[derive(Debug, thiserror::Error)]
pub enum WfdbError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A header line is malformed (line numbers start at 1).
    #[error("{file}: line {line}: {msg}")]
    Header {
        /// The header file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A signal file is malformed or disagrees with its header.
    #[error("{file} (record {record}): byte offset {offset}: {msg}")]
    Signal {
        /// The signal file.
        file: PathBuf,
        /// The record name from the header.
        record: String,
        /// Byte offset in the signal file where the problem is.
        offset: u64,
        /// What is wrong.
        msg: String,
    },
    /// An annotation file is malformed.
    #[error("{file}: byte offset {offset}: {msg}")]
    Annotation {
        /// The annotation file.
        file: PathBuf,
        /// Byte offset of the offending word.
        offset: u64,
        /// What is wrong.
        msg: String,
    },
}

/// Result alias for the WFDB reader.
pub type Result<T> = std::result::Result<T, WfdbError>;

/// A decoded record: header metadata plus all samples.
#[derive(Clone, Debug)]
pub struct Record {
    /// The parsed header (record line, signal specs, comments).
    pub header: Header,
    /// Raw samples in ADC units, `[signals, samples]`.
    pub adu: Array2<i32>,
    /// Physical samples `(adu − baseline) / gain`, `[signals, samples]`, in each signal's units.
    pub physical: Array2<f32>,
}

impl Record {
    /// Sampling frequency in Hz.
    pub fn fs(&self) -> f64 {
        self.header.fs
    }
    /// Number of samples per signal.
    pub fn len(&self) -> usize {
        self.physical.ncols()
    }
    /// True when the record holds no samples.
    pub fn is_empty(&self) -> bool {
        self.physical.ncols() == 0
    }
    /// Index of the first signal whose description equals `name` (e.g. `"MLII"`, `"v6"`).
    pub fn signal_index(&self, name: &str) -> Option<usize> {
        self.header
            .signals
            .iter()
            .position(|s| s.description.eq_ignore_ascii_case(name))
    }
}

/// Reads a whole file, mapping the I/O error to one that names the file.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| WfdbError::Io {
        file: path.to_path_buf(),
        source,
    })
}

/// Reads record `name` (e.g. `"100"` or `"data/1"`) from directory `dir`: header, all signal
/// files, INITVAL/CHECKSUM checks, physical conversion.
///
/// # Errors
/// [`WfdbError`] naming the file and line/offset: unreadable file, malformed header,
/// unsupported format, signal file shorter than the header says, checksum mismatch.
pub fn read_record(dir: &Path, name: &str) -> Result<Record> {
    let hea = dir.join(format!("{name}.hea"));
    let header = parse_header(&read_bytes(&hea)?, &hea)?;
    // The signal files live next to the header (LUDB's `data/1.hea` names `1.dat`).
    let base = hea.parent().unwrap_or(dir).to_path_buf();
    let mut files: Vec<Vec<u8>> = Vec::new();
    for group in header.groups() {
        let path = base.join(&header.signals[group.start].file);
        files.push(read_bytes(&path)?);
    }
    decode_record(header, &files, &base)
}

/// Decodes a record from its parsed header and the bytes of each signal-file group (in the
/// order of [`Header::groups`]); `base` is used only to name files in errors.
///
/// # Errors
/// As [`read_record`], except I/O errors.
pub fn decode_record(header: Header, files: &[Vec<u8>], base: &Path) -> Result<Record> {
    let groups = header.groups();
    if groups.len() != files.len() {
        return Err(WfdbError::Signal {
            file: base.to_path_buf(),
            record: header.name.clone(),
            offset: 0,
            msg: format!(
                "{} signal files given, header names {}",
                files.len(),
                groups.len()
            ),
        });
    }
    // Decide the sample count first: from the header, or, when it is absent, from the
    // shortest file. Every file is checked against it before allocating.
    let mut nsamp = header.nsamp;
    if nsamp.is_none() {
        let mut n = usize::MAX;
        for (g, bytes) in groups.iter().zip(files) {
            let specs = &header.signals[g.clone()];
            n = n.min(signal::frames_in(bytes.len(), specs));
        }
        nsamp = Some(if n == usize::MAX { 0 } else { n });
    }
    let nsamp = nsamp.expect("invariant: set above");
    for (g, bytes) in groups.iter().zip(files) {
        let specs = &header.signals[g.clone()];
        signal::check_length(bytes.len(), specs, nsamp, &header.name, base)?;
    }
    let nsig = header.signals.len();
    let mut adu = Array2::<i32>::zeros((nsig, nsamp));
    for (g, bytes) in groups.iter().zip(files) {
        let specs = &header.signals[g.clone()];
        let block = signal::decode_file(bytes, specs, nsamp, &header.name, base)?;
        for (k, row) in block.outer_iter().enumerate() {
            adu.row_mut(g.start + k).assign(&row);
        }
    }
    let mut physical = Array2::<f32>::zeros((nsig, nsamp));
    for (s, spec) in header.signals.iter().enumerate() {
        let (gain, baseline) = (spec.effective_gain(), spec.baseline as f64);
        for (p, &a) in physical.row_mut(s).iter_mut().zip(adu.row(s).iter()) {
            *p = ((a as f64 - baseline) / gain) as f32;
        }
    }
    Ok(Record {
        header,
        adu,
        physical,
    })
}

/// Reads the annotation file `NAME.ext` (e.g. ext `"atr"`, or LUDB's `"ii"`) from `dir`.
///
/// # Errors
/// [`WfdbError::Io`] or [`WfdbError::Annotation`] with the byte offset.
pub fn read_annotations(dir: &Path, name: &str, ext: &str) -> Result<Vec<Annotation>> {
    let path = dir.join(format!("{name}.{ext}"));
    parse_annotations(&read_bytes(&path)?, &path)
}

/// Where the PhysioNet data lives: `$ECGRAD_DATA` if set, else `../shared/data` relative to the
/// workspace root, if that folder exists. `None` means "no real data: use the synthetic
/// generator" (callers must say so).
pub fn locate_data() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ECGRAD_DATA") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    // experiments/ → workspace root → its parent.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let p = root.join("..").join("shared").join("data");
    p.is_dir().then_some(p)
}
