//! Signal-file decoding for formats 212, 16 and 80.
//!
//! Samples of the signals stored in one file are interleaved frame by frame:
//! `s0[0] s1[0] … s0[1] s1[1] …`. Seen as one stream of samples:
//!
//! - **212**: each pair (A, B) fills 3 bytes: `b0` = low 8 bits of A, low nibble of `b1` =
//!   high 4 bits of A, high nibble of `b1` = high 4 bits of B, `b2` = low 8 bits of B; both are
//!   12-bit two's complement (sign-extend bit 11). An odd final sample takes 2 bytes.
//! - **16**: little-endian i16.
//! - **80**: one byte, offset binary (sample = byte − 128).
//!
//! The header's INITVAL must equal the first sample and CHECKSUM the 16-bit wrapping sum of
//! all samples of that signal; both are checked, which catches most decoder bugs.

use std::path::Path;

use ndarray::Array2;

use super::header::SignalSpec;
use super::{Result, WfdbError};

/// Bytes needed to hold `samples` samples in `format` (u128: cannot overflow for usize inputs).
pub fn bytes_for(format: u16, samples: u128) -> u128 {
    match format {
        212 => samples / 2 * 3 + (samples % 2) * 2,
        16 => samples * 2,
        _ => samples,
    }
}

/// Whole frames that fit in a file of `len` bytes for the signals `specs` (one group).
pub fn frames_in(len: usize, specs: &[SignalSpec]) -> usize {
    let m = specs.len().max(1);
    let len = len.saturating_sub(usize::try_from(specs[0].byte_offset).unwrap_or(usize::MAX));
    let samples = match specs[0].format {
        212 => len / 3 * 2 + usize::from(len % 3 >= 2),
        16 => len / 2,
        _ => len,
    };
    samples / m
}

fn file_of(base: &Path, specs: &[SignalSpec]) -> std::path::PathBuf {
    base.join(&specs[0].file)
}

/// Checks that a file of `len` bytes holds `nsamp` frames of `specs`, and that the group is
/// consistent (one format, one byte offset). Call before allocating.
///
/// # Errors
/// [`WfdbError::Signal`] naming the file, record and the byte offset where data runs out.
pub fn check_length(
    len: usize,
    specs: &[SignalSpec],
    nsamp: usize,
    record: &str,
    base: &Path,
) -> Result<()> {
    let e = |offset: u64, msg: String| WfdbError::Signal {
        file: file_of(base, specs),
        record: record.to_string(),
        offset,
        msg,
    };
    let (fmt, off) = (specs[0].format, specs[0].byte_offset);
    if let Some(s) = specs
        .iter()
        .find(|s| s.format != fmt || s.byte_offset != off)
    {
        return Err(e(
            0,
            format!(
                "signals sharing this file disagree: format {fmt}+{off} vs {}+{} (`{}`)",
                s.format, s.byte_offset, s.description
            ),
        ));
    }
    let needed = off as u128 + bytes_for(fmt, nsamp as u128 * specs.len() as u128);
    if needed > len as u128 {
        return Err(e(
            len as u64,
            format!(
                "file ends after {len} bytes but the header needs {needed} \
                 ({nsamp} samples × {} signals in format {fmt}, starting at byte {off}): \
                 truncated file or wrong sample count",
                specs.len()
            ),
        ));
    }
    Ok(())
}

/// Decodes `nsamp` frames of one file's signals into ADC units, `[specs.len(), nsamp]`,
/// and checks INITVAL and CHECKSUM of each signal.
///
/// # Errors
/// [`WfdbError::Signal`] (file, record, byte offset): file too short (see [`check_length`]),
/// INITVAL or CHECKSUM disagreeing with the decoded samples.
pub fn decode_file(
    bytes: &[u8],
    specs: &[SignalSpec],
    nsamp: usize,
    record: &str,
    base: &Path,
) -> Result<Array2<i32>> {
    check_length(bytes.len(), specs, nsamp, record, base)?;
    let m = specs.len();
    let off = usize::try_from(specs[0].byte_offset).expect("invariant: offset <= file length");
    let data = &bytes[off..];
    let total = nsamp * m;
    let mut out = Array2::<i32>::zeros((m, nsamp));
    {
        let flat = out
            .as_slice_mut()
            .expect("invariant: fresh array is contiguous");
        // Stream index k = frame·m + signal goes to flat[signal·nsamp + frame].
        let mut put = |k: usize, v: i32| flat[(k % m) * nsamp + k / m] = v;
        match specs[0].format {
            212 => {
                let sext = |v: i32| if v & 0x800 != 0 { v - 0x1000 } else { v };
                let mut k = 0;
                while k < total {
                    let b = &data[k / 2 * 3..];
                    let (b0, b1) = (b[0] as i32, b[1] as i32);
                    put(k, sext(b0 | ((b1 & 0x0F) << 8)));
                    if k + 1 < total {
                        let b2 = b[2] as i32;
                        put(k + 1, sext(b2 | ((b1 & 0xF0) << 4)));
                    }
                    k += 2;
                }
            }
            16 => {
                for k in 0..total {
                    put(k, i16::from_le_bytes([data[2 * k], data[2 * k + 1]]) as i32);
                }
            }
            _ => {
                for k in 0..total {
                    put(k, data[k] as i32 - 128);
                }
            }
        }
    }
    for (s, spec) in specs.iter().enumerate() {
        let row = out.row(s);
        let e = |msg: String| WfdbError::Signal {
            file: file_of(base, specs),
            record: record.to_string(),
            offset: off as u64,
            msg: format!("signal {s} (`{}`): {msg}", spec.description),
        };
        if let (Some(iv), Some(&first)) = (spec.init_val, row.first()) {
            if iv != first {
                return Err(e(format!(
                    "first sample is {first} but the header's INITVAL is {iv}"
                )));
            }
        }
        if let Some(cs) = spec.checksum {
            let sum = row.iter().fold(0i16, |a, &v| a.wrapping_add(v as i16));
            if sum != cs {
                return Err(e(format!(
                    "16-bit sum of {nsamp} samples is {sum} but the header's CHECKSUM is {cs}"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::wfdb::header::parse_header;

    fn specs(fmt: u16, n: usize) -> Vec<SignalSpec> {
        let mut h = format!("r {n} 360\n");
        for _ in 0..n {
            h.push_str(&format!("r.dat {fmt} 200 12 0\n"));
        }
        parse_header(h.as_bytes(), Path::new("r.hea"))
            .expect("valid")
            .signals
    }

    #[test]
    fn format_212_hand_example() {
        // A = 0x123 = 291, B = 0xFFE (−2) → b0 = 0x23, b1 = (0xF << 4) | 0x1, b2 = 0xFE.
        // Then a lone third sample A = −2048 (0x800): b0 = 0x00, b1 = 0x08.
        let bytes = [0x23, 0xF1, 0xFE, 0x00, 0x08];
        let s = specs(212, 1);
        let out = decode_file(&bytes, &s, 3, "r", Path::new(".")).expect("decodes");
        assert_eq!(out.row(0).to_vec(), vec![291, -2, -2048]);
        let two = decode_file(&bytes[..3], &specs(212, 2), 1, "r", Path::new(".")).expect("ok");
        assert_eq!(two.column(0).to_vec(), vec![291, -2]);
    }

    #[test]
    fn format_16_and_80() {
        let out = decode_file(
            &[0x01, 0x80, 0xFF, 0x7F],
            &specs(16, 2),
            1,
            "r",
            Path::new("."),
        );
        assert_eq!(out.expect("ok").column(0).to_vec(), vec![-32767, 32767]);
        let out = decode_file(&[0, 128, 255], &specs(80, 1), 3, "r", Path::new("."));
        assert_eq!(out.expect("ok").row(0).to_vec(), vec![-128, 0, 127]);
    }

    #[test]
    fn short_file_and_checksum_errors() {
        let e = decode_file(&[0; 5], &specs(16, 1), 3, "r", Path::new("d")).unwrap_err();
        assert!(
            e.to_string().contains("byte offset 5") && e.to_string().contains("record r"),
            "{e}"
        );
        let mut s = specs(16, 1);
        s[0].checksum = Some(7);
        let e = decode_file(&[1, 0, 2, 0], &s, 2, "r", Path::new("d")).unwrap_err();
        assert!(e.to_string().contains("sum of 2 samples is 3"), "{e}");
        assert_eq!(frames_in(7, &specs(212, 2)), 2);
    }
}
