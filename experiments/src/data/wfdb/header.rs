//! WFDB header (`.hea`) parser.
//!
//! Record line: `NAME[/SEGMENTS] NSIG [FS[/COUNTERFREQ[(BASECOUNTER)]] [NSAMP [TIME [DATE]]]]`.
//! Signal line: `FILE FORMAT[xSPF][:SKEW][+OFFSET] [GAIN[(BASELINE)][/UNITS] [ADCRES [ADCZERO
//! [INITVAL [CHECKSUM [BLOCKSIZE [DESCRIPTION…]]]]]]]`. Lines are LF or CRLF; `#` starts a
//! comment line (kept in [`Header::comments`], LUDB puts its diagnoses there).
//! Multi-segment records, several samples per frame and skew are rejected with a clear error.

use std::ops::Range;
use std::path::Path;

use super::{DEFAULT_GAIN, Result, WfdbError};

/// Most signals a header may declare; far above any PhysioNet record, it bounds allocation.
pub const MAX_SIGNALS: usize = 4096;

/// One signal line of a header.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalSpec {
    /// Signal file name, relative to the header's folder.
    pub file: String,
    /// Storage format: 212, 16 or 80.
    pub format: u16,
    /// Byte offset of the first sample in the file (`+OFFSET`; usually 0).
    pub byte_offset: u64,
    /// Gain in adu per physical unit as written (0 = uncalibrated; see [`Self::effective_gain`]).
    pub gain: f64,
    /// Baseline in adu: the `(BASELINE)` field, or ADCZERO when absent.
    pub baseline: i32,
    /// Physical units (default `mV`).
    pub units: String,
    /// ADC resolution in bits (0 if unknown).
    pub adc_res: u32,
    /// ADC zero in adu.
    pub adc_zero: i32,
    /// First sample value, if given.
    pub init_val: Option<i32>,
    /// 16-bit sum of all samples, if given.
    pub checksum: Option<i16>,
    /// Block size (0 for ordinary files).
    pub block_size: u32,
    /// Description (lead name such as `MLII`, `V1`, `v6`).
    pub description: String,
}

impl SignalSpec {
    /// The gain used for physical conversion: `gain`, or 200 adu/unit when the header says 0.
    pub fn effective_gain(&self) -> f64 {
        if self.gain == 0.0 {
            DEFAULT_GAIN
        } else {
            self.gain
        }
    }
}

/// A parsed header.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// Record name from the record line.
    pub name: String,
    /// Sampling frequency in Hz (WFDB default 250 when absent).
    pub fs: f64,
    /// Samples per signal, if the header gives it (absent or 0: derived from the file length).
    pub nsamp: Option<usize>,
    /// Base time and date fields, verbatim, if present.
    pub base_time: Option<String>,
    /// One entry per signal line, in order.
    pub signals: Vec<SignalSpec>,
    /// Text of the `#` comment lines, without the `#` and trailing spaces.
    pub comments: Vec<String>,
}

impl Header {
    /// Consecutive runs of signals that share one file (WFDB "groups"), as index ranges.
    pub fn groups(&self) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        for (i, s) in self.signals.iter().enumerate() {
            match out.last_mut() {
                Some(r) if self.signals[r.start].file == s.file => r.end = i + 1,
                _ => out.push(i..i + 1),
            }
        }
        out
    }
}

fn err(file: &Path, line: usize, msg: impl Into<String>) -> WfdbError {
    WfdbError::Header {
        file: file.to_path_buf(),
        line,
        msg: msg.into(),
    }
}

/// Parses a `.hea` file's bytes; `file` names it in errors.
///
/// # Errors
/// [`WfdbError::Header`] with the 1-based line: non-UTF-8 text, missing or malformed record
/// line, a field that is not a number, unsupported format, more or fewer signal lines than
/// the record line declares.
pub fn parse_header(bytes: &[u8], file: &Path) -> Result<Header> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut comments = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|e| {
            err(
                file,
                line_no,
                format!("not valid UTF-8 at column {}", e.valid_up_to() + 1),
            )
        })?;
        let t = text.trim();
        if let Some(c) = t.strip_prefix('#') {
            comments.push(c.trim_end().to_string());
        } else if !t.is_empty() {
            lines.push((line_no, t));
        }
    }
    let Some(&(rline, record_line)) = lines.first() else {
        return Err(err(
            file,
            1,
            "no record line (file is empty or only comments)",
        ));
    };
    let f: Vec<&str> = record_line.split_whitespace().collect();
    let name = f[0];
    if name.contains('/') {
        return Err(err(
            file,
            rline,
            format!("record `{name}`: multi-segment records are not supported"),
        ));
    }
    let nsig: usize = match f.get(1) {
        Some(s) => s.parse().map_err(|_| {
            err(
                file,
                rline,
                format!("record `{name}`: signal count `{s}` is not a number"),
            )
        })?,
        None => {
            return Err(err(
                file,
                rline,
                format!("record `{name}`: no signal count"),
            ));
        }
    };
    if nsig > MAX_SIGNALS {
        return Err(err(
            file,
            rline,
            format!("record `{name}`: {nsig} signals exceeds the limit {MAX_SIGNALS}"),
        ));
    }
    let fs = match f.get(2) {
        Some(s) => {
            // FS may be followed by /COUNTERFREQ(BASECOUNTER); only FS matters here.
            let v = s.split(['/', '(']).next().unwrap_or("");
            let fs: f64 = v.parse().map_err(|_| {
                err(
                    file,
                    rline,
                    format!("record `{name}`: sampling frequency `{s}` is not a number"),
                )
            })?;
            if !(fs.is_finite() && fs > 0.0) {
                return Err(err(
                    file,
                    rline,
                    format!("record `{name}`: sampling frequency {fs} must be positive"),
                ));
            }
            fs
        }
        None => 250.0,
    };
    let nsamp = match f.get(3) {
        Some(s) => {
            let n: u64 = s.parse().map_err(|_| {
                err(
                    file,
                    rline,
                    format!("record `{name}`: sample count `{s}` is not a non-negative integer"),
                )
            })?;
            let n = usize::try_from(n).map_err(|_| {
                err(
                    file,
                    rline,
                    format!("record `{name}`: sample count {n} is too large"),
                )
            })?;
            (n > 0).then_some(n)
        }
        None => None,
    };
    let base_time = (f.len() > 4).then(|| f[4..].join(" "));
    let sig_lines = &lines[1..];
    if sig_lines.len() != nsig {
        let line = sig_lines.get(nsig).map_or(rline, |l| l.0);
        return Err(err(
            file,
            line,
            format!(
                "record `{name}`: record line declares {nsig} signals but {} signal lines follow",
                sig_lines.len()
            ),
        ));
    }
    let mut signals = Vec::with_capacity(nsig);
    for (k, &(ln, text)) in sig_lines.iter().enumerate() {
        signals.push(parse_signal_line(text, file, ln, name, k)?);
    }
    Ok(Header {
        name: name.to_string(),
        fs,
        nsamp,
        base_time,
        signals,
        comments,
    })
}

fn num<T: std::str::FromStr>(s: &str, what: &str, file: &Path, ln: usize, ctx: &str) -> Result<T> {
    s.parse().map_err(|_| {
        err(
            file,
            ln,
            format!("{ctx}: {what} `{s}` is not a valid number"),
        )
    })
}

/// Parses one signal line (`k` is the 0-based signal number, for messages).
fn parse_signal_line(
    text: &str,
    file: &Path,
    ln: usize,
    rec: &str,
    k: usize,
) -> Result<SignalSpec> {
    let ctx = format!("record `{rec}`, signal {k}");
    let mut it = text.split_whitespace();
    let fname = it.next().expect("invariant: line is non-empty").to_string();
    let Some(fmt_field) = it.next() else {
        return Err(err(file, ln, format!("{ctx}: no format field")));
    };
    // FORMAT[xSPF][:SKEW][+OFFSET]
    let (fmt_skew, offset) = match fmt_field.split_once('+') {
        Some((a, o)) => (a, num::<u64>(o, "byte offset", file, ln, &ctx)?),
        None => (fmt_field, 0),
    };
    let (fmt_spf, skew) = match fmt_skew.split_once(':') {
        Some((a, s)) => (a, num::<i64>(s, "skew", file, ln, &ctx)?),
        None => (fmt_skew, 0),
    };
    let (fmt_s, spf) = match fmt_spf.split_once('x') {
        Some((a, s)) => (a, num::<u32>(s, "samples per frame", file, ln, &ctx)?),
        None => (fmt_spf, 1),
    };
    let format: u16 = num(fmt_s, "format", file, ln, &ctx)?;
    if !matches!(format, 212 | 16 | 80) {
        return Err(err(
            file,
            ln,
            format!("{ctx}: unsupported format {format} (this reader handles 212, 16 and 80)"),
        ));
    }
    if spf != 1 || skew != 0 {
        return Err(err(
            file,
            ln,
            format!("{ctx}: {spf} samples per frame / skew {skew} are not supported (need 1 / 0)"),
        ));
    }
    // GAIN[(BASELINE)][/UNITS]
    let (mut gain, mut baseline, mut units) = (0.0, None, "mV".to_string());
    if let Some(g) = it.next() {
        let (gb, u) = match g.split_once('/') {
            Some((a, u)) => (a, Some(u)),
            None => (g, None),
        };
        if let Some(u) = u {
            units = u.to_string();
        }
        let gain_s = match gb.split_once('(') {
            Some((a, b)) => {
                let Some(b) = b.strip_suffix(')') else {
                    return Err(err(file, ln, format!("{ctx}: baseline in `{g}` lacks `)`")));
                };
                baseline = Some(num::<i32>(b, "baseline", file, ln, &ctx)?);
                a
            }
            None => gb,
        };
        gain = num::<f64>(gain_s, "gain", file, ln, &ctx)?;
        if !gain.is_finite() || gain < 0.0 {
            return Err(err(
                file,
                ln,
                format!("{ctx}: gain {gain} must be finite and >= 0"),
            ));
        }
    }
    let default_res = match format {
        212 => 12,
        16 => 16,
        _ => 8,
    };
    let adc_res = match it.next() {
        Some(s) => num::<u32>(s, "ADC resolution", file, ln, &ctx)?,
        None => default_res,
    };
    let adc_zero = match it.next() {
        Some(s) => num::<i32>(s, "ADC zero", file, ln, &ctx)?,
        None => 0,
    };
    let init_val = it
        .next()
        .map(|s| num::<i32>(s, "initial value", file, ln, &ctx))
        .transpose()?;
    let checksum = it
        .next()
        .map(|s| num::<i32>(s, "checksum", file, ln, &ctx).map(|c| c as i16))
        .transpose()?;
    let block_size = match it.next() {
        Some(s) => num::<u32>(s, "block size", file, ln, &ctx)?,
        None => 0,
    };
    let description = it.collect::<Vec<_>>().join(" ");
    Ok(SignalSpec {
        file: fname,
        format,
        byte_offset: offset,
        gain,
        baseline: baseline.unwrap_or(adc_zero),
        units,
        adc_res,
        adc_zero,
        init_val,
        checksum,
        block_size,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mitdb_crlf_header() {
        let h = b"100 2 360 650000\r\n100.dat 212 200 11 1024 995 -22131 0 MLII\r\n\
                  100.dat 212 200 11 1024 1011 20052 0 V5\r\n# 69 M 1085 1629 x1\r\n";
        let h = parse_header(h, Path::new("100.hea")).expect("valid header");
        assert_eq!(
            (h.name.as_str(), h.fs, h.nsamp),
            ("100", 360.0, Some(650000))
        );
        assert_eq!(h.signals.len(), 2);
        let s = &h.signals[1];
        assert_eq!(
            (s.format, s.gain, s.baseline, s.adc_res, s.adc_zero),
            (212, 200.0, 1024, 11, 1024)
        );
        assert_eq!(
            (s.init_val, s.checksum, s.description.as_str()),
            (Some(1011), Some(20052), "V5")
        );
        assert_eq!(h.comments, vec![" 69 M 1085 1629 x1".to_string()]);
        assert_eq!(h.groups(), vec![0..2]);
    }

    #[test]
    fn parses_baseline_units_and_uncalibrated_gain() {
        let h = b"1 2 500 5000\n1.dat 16 1716(6)/mV 0 0 -120 -32198 0 i\nn.dat 212 0 12 0 -29 -3562 0 noise 1\n";
        let h = parse_header(h, Path::new("1.hea")).expect("valid header");
        assert_eq!(
            (
                h.signals[0].gain,
                h.signals[0].baseline,
                h.signals[0].units.as_str()
            ),
            (1716.0, 6, "mV")
        );
        assert_eq!(h.signals[1].effective_gain(), 200.0);
        assert_eq!(h.signals[1].description, "noise 1");
        assert_eq!(h.groups(), vec![0..1, 1..2]);
    }

    #[test]
    fn minimal_signal_line_gets_defaults() {
        let h = parse_header(b"r 1\nr.dat 16\n", Path::new("r.hea")).expect("valid");
        assert_eq!((h.fs, h.nsamp), (250.0, None));
        let s = &h.signals[0];
        assert_eq!(
            (s.gain, s.effective_gain(), s.adc_res, s.init_val),
            (0.0, 200.0, 16, None)
        );
    }

    #[test]
    fn errors_name_line() {
        let e = parse_header(b"r 1 360 10\nr.dat 311 200\n", Path::new("r.hea")).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("r.hea: line 2") && m.contains("unsupported format 311"),
            "{m}"
        );
        let e = parse_header(b"r 2 360 10\nr.dat 16\n", Path::new("r.hea")).unwrap_err();
        assert!(e.to_string().contains("declares 2 signals but 1"), "{e}");
        let e = parse_header(b"r 1 360 10\nr.dat 16 2\xff0\n", Path::new("r.hea")).unwrap_err();
        assert!(e.to_string().contains("line 2: not valid UTF-8"), "{e}");
    }
}
