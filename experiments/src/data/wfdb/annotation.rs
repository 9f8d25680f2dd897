//! MIT-format annotation files (`.atr`, LUDB's per-lead `.i` … `.v6`).
//!
//! The file is a sequence of 16-bit little-endian words `w = A·1024 + I` (A: top 6 bits,
//! I: low 10 bits):
//!
//! - A in 1..=49 (or A = 0 with I ≠ 0): a new annotation with code A at time `t += I`.
//! - A = 59 SKIP: the next two words hold a 32-bit signed increment (high word first), added
//!   to `t` before the next annotation.
//! - A = 60 NUM, 61 SUB, 62 CHN: set `num`, `subtype`, `chan` of the annotation just read.
//!   `num` and `chan` carry over to later annotations (WFDB writes them only on change);
//!   `subtype` and `aux` do not.
//! - A = 63 AUX: I bytes of text follow, padded to an even count (a trailing NUL is dropped).
//! - w = 0: end of file. A file that stops before this word is reported as truncated.

use std::path::Path;

use super::{Result, WfdbError};

/// One annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Sample index (time from the record start, in samples).
    pub sample: u64,
    /// Annotation code (1 = `N`, 5 = `V`, …).
    pub code: u8,
    /// Subtype (SUB), 0 unless set.
    pub subtype: i16,
    /// Signal number the annotation refers to (CHN).
    pub chan: i16,
    /// Annotator number (NUM).
    pub num: i16,
    /// Auxiliary text (AUX), e.g. MIT-BIH rhythm labels `(AFIB`.
    pub aux: Option<String>,
}

impl Annotation {
    /// The MIT symbol of the code (`"N"`, `"V"`, `"+"`, …; `"?"`-like codes map per WFDB).
    pub fn symbol(&self) -> &'static str {
        symbol_of(self.code)
    }
    /// True for beat annotations `N L R B A a J S V r F e j n E / f Q ?`.
    pub fn is_beat(&self) -> bool {
        matches!(self.code, 1..=13 | 25 | 30 | 34 | 35 | 38 | 41)
    }
}

/// The standard WFDB code → symbol table (codes without a symbol give `"-"`).
pub fn symbol_of(code: u8) -> &'static str {
    const TABLE: [&str; 42] = [
        " ", "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", "-", "|", "-",
        "s", "T", "*", "D", "\"", "=", "p", "B", "^", "t", "+", "u", "?", "!", "[", "]", "e", "n",
        "@", "x", "f", "(", ")", "r",
    ];
    TABLE.get(code as usize).copied().unwrap_or("-")
}

const SKIP: u16 = 59;
const NUM: u16 = 60;
const SUB: u16 = 61;
const CHN: u16 = 62;
const AUX: u16 = 63;

/// Parses an annotation file's bytes; `file` names it in errors.
///
/// # Errors
/// [`WfdbError::Annotation`] with the byte offset: odd length (file ends mid-word), SKIP or
/// AUX payload cut off, a modifier word before any annotation, time running past 2⁶³ or below
/// zero, or no end-of-file word.
pub fn parse_annotations(bytes: &[u8], file: &Path) -> Result<Vec<Annotation>> {
    let e = |offset: usize, msg: String| WfdbError::Annotation {
        file: file.to_path_buf(),
        offset: offset as u64,
        msg,
    };
    let word = |pos: usize| -> Result<u16> {
        match bytes.get(pos..pos + 2) {
            Some(w) => Ok(u16::from_le_bytes([w[0], w[1]])),
            None => Err(e(
                pos,
                format!(
                    "file ends mid-record: {} bytes, a 16-bit word needs 2",
                    bytes.len() - pos
                ),
            )),
        }
    };
    // Each annotation takes at least 2 bytes; this bounds the allocation by the file size.
    let mut out: Vec<Annotation> = Vec::with_capacity(bytes.len() / 2);
    let (mut t, mut pos) = (0i64, 0usize);
    let (mut num, mut chan) = (0i16, 0i16);
    loop {
        if pos >= bytes.len() {
            return Err(e(
                pos,
                "file ends without the end-of-file word 0x0000 (truncated?)".into(),
            ));
        }
        let w = word(pos)?;
        let (a, i) = (w >> 10, w & 0x3FF);
        match a {
            0 if i == 0 => break,
            SKIP => {
                let hi = word(pos + 2)? as u32;
                let lo = word(pos + 4)? as u32;
                let inc = ((hi << 16) | lo) as i32 as i64;
                t = t
                    .checked_add(inc)
                    .ok_or_else(|| e(pos, "SKIP overflows time".into()))?;
                pos += 6;
            }
            NUM | SUB | CHN | AUX => {
                let Some(last) = out.last_mut() else {
                    return Err(e(
                        pos,
                        format!("modifier word (code {a}) before any annotation"),
                    ));
                };
                match a {
                    NUM => {
                        num = i as i16;
                        last.num = num;
                    }
                    SUB => last.subtype = i as i16,
                    CHN => {
                        chan = i as i16;
                        last.chan = chan;
                    }
                    _ => {
                        let n = i as usize;
                        let start = pos + 2;
                        let Some(text) = bytes.get(start..start + n) else {
                            return Err(e(
                                start,
                                format!(
                                    "file ends mid-record: AUX string of {n} bytes runs past the end"
                                ),
                            ));
                        };
                        // WFDB writes C strings: drop trailing NULs.
                        let text = text.strip_suffix(b"\0").unwrap_or(text);
                        last.aux = Some(String::from_utf8_lossy(text).into_owned());
                        pos += n + n % 2;
                    }
                }
                pos += 2;
            }
            _ => {
                t = t
                    .checked_add(i as i64)
                    .ok_or_else(|| e(pos, "time overflows".into()))?;
                let sample = u64::try_from(t)
                    .map_err(|_| e(pos, format!("annotation time {t} is negative")))?;
                out.push(Annotation {
                    sample,
                    code: a as u8,
                    subtype: 0,
                    chan,
                    num,
                    aux: None,
                });
                pos += 2;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u16]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn decodes_hand_built_file() {
        // N at 18, SKIP +100000, V at 100000+18+5, CHN 1, AUX "(N" , then + at +2, end.
        let mut b = words(&[
            1 << 10 | 18,
            SKIP << 10,
            0x0001,
            0x86A0,
            5 << 10 | 5,
            CHN << 10 | 1,
        ]);
        b.extend(words(&[AUX << 10 | 3]));
        b.extend(b"(N\0\0"); // 3 bytes + 1 pad byte
        b.extend(words(&[28 << 10 | 2, SUB << 10 | 7, 0]));
        let a = parse_annotations(&b, Path::new("x.atr")).expect("valid");
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].sample, a[0].symbol()), (18, "N"));
        assert_eq!((a[1].sample, a[1].symbol(), a[1].chan), (100_023, "V", 1));
        assert_eq!(a[1].aux.as_deref(), Some("(N")); // trailing NUL dropped
        // chan carries over, subtype does not.
        assert_eq!(
            (a[2].sample, a[2].symbol(), a[2].chan, a[2].subtype),
            (100_025, "+", 1, 7)
        );
        assert_eq!(a[0].subtype, 0);
        assert!(a[0].is_beat() && a[1].is_beat() && !a[2].is_beat());
    }

    #[test]
    fn truncations_are_named() {
        let f = Path::new("t.atr");
        let m = parse_annotations(&[0x12, 0x04, 0x12], f)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("t.atr: byte offset 2") && m.contains("mid-record"),
            "{m}"
        );
        let m = parse_annotations(&words(&[1 << 10 | 3]), f)
            .unwrap_err()
            .to_string();
        assert!(m.contains("without the end-of-file word"), "{m}");
        let m = parse_annotations(&words(&[1 << 10 | 3, AUX << 10 | 9, 0]), f)
            .unwrap_err()
            .to_string();
        assert!(m.contains("AUX string of 9 bytes"), "{m}");
        let m = parse_annotations(&words(&[NUM << 10 | 3, 0]), f)
            .unwrap_err()
            .to_string();
        assert!(m.contains("before any annotation"), "{m}");
    }
}
