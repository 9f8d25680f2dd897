//! NumPy `.npy` files of float32, read and written without numpy: how arrays travel between
//! ecgrad and PyTorch (`np.save("x.npy", x.numpy())`, `torch.from_numpy(np.load("y.npy"))`).
//!
//! # The format (numpy's `format.py`, versions 1.0 / 2.0 / 3.0)
//! ```text
//! \x93NUMPY  major minor  header_len (u16 LE in 1.0; u32 LE in 2.0 and 3.0)
//! {'descr': '<f4', 'fortran_order': False, 'shape': (2, 187), }   ← padded with spaces, ends in \n
//! raw data: little-endian f32, C (row-major) order
//! ```
//! The preamble plus header is padded to a multiple of 64 bytes. We accept only `'<f4'`
//! (`'=f4'` too, meaning native order — little-endian on every machine ecgrad targets is not
//! guaranteed, so it is rejected on big-endian hosts) and `fortran_order: False`; everything
//! else is an error that names the file and says how to convert the array in numpy. We write
//! version 1.0 (2.0 when the header would not fit in 65 535 bytes), atomically.

use std::path::Path;

use ecgrad_engine::{Shape, Tensor};

use crate::report::write_atomic;

/// What can be wrong with a `.npy` file; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a .npy file.
    #[error("{file}: not a .npy file (it does not start with \\x93NUMPY)")]
    Magic {
        /// The file.
        file: String,
    },
    /// A format version we do not read.
    #[error("{file}: .npy format version {major}.{minor} is not supported (1.0, 2.0, 3.0 are)")]
    Version {
        /// The file.
        file: String,
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The header dictionary is malformed.
    #[error("{file}: malformed .npy header ({why}): {header}")]
    Header {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
        /// The header text.
        header: String,
    },
    /// Not little-endian float32.
    #[error(
        "{file}: dtype '{descr}' is not little-endian float32 ('<f4'); convert it with \
         np.save(path, x.astype('<f4'))"
    )]
    Dtype {
        /// The file.
        file: String,
        /// The dtype descriptor found.
        descr: String,
    },
    /// Fortran (column-major) order.
    #[error(
        "{file}: the array is in Fortran (column-major) order; save a C-ordered array with \
         np.save(path, np.ascontiguousarray(x))"
    )]
    FortranOrder {
        /// The file.
        file: String,
    },
    /// Data size does not match the shape.
    #[error("{file}: shape {shape:?} needs {expected} bytes of data, the file has {got}")]
    Size {
        /// The file.
        file: String,
        /// The declared shape.
        shape: Vec<usize>,
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
}

/// A float32 array: shape and row-major data.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions (empty for a 0-d scalar).
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f32>,
}

impl NpyArray {
    /// The array as an engine tensor.
    ///
    /// # Errors
    /// Rank above 4 or 0 (the engine's limits).
    pub fn into_tensor(self) -> anyhow::Result<Tensor<f32>> {
        anyhow::ensure!(
            (1..=4).contains(&self.shape.len()),
            "an array of shape {:?} has rank {}; tensors have rank 1 to 4",
            self.shape,
            self.shape.len()
        );
        Ok(Tensor::from_vec(Shape::new(&self.shape)?, self.data)?)
    }
}

/// Parses the bytes of a `.npy` file; `file` names it in errors.
///
/// # Errors
/// [`NpyError`] for every way the bytes can be wrong.
pub fn parse_f32(bytes: &[u8], file: &str) -> Result<NpyArray, NpyError> {
    let file = file.to_string();
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(NpyError::Magic { file });
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(NpyError::Version { file, major, minor }),
    };
    let header_bytes = bytes
        .get(start..start + len)
        .ok_or_else(|| NpyError::Header {
            file: file.clone(),
            why: format!("header of {len} bytes runs past the end of the file"),
            header: String::new(),
        })?;
    let header = String::from_utf8_lossy(header_bytes).trim().to_string();
    let bad = |why: &str| NpyError::Header {
        file: file.clone(),
        why: why.to_string(),
        header: header.clone(),
    };
    let descr = dict_value(&header, "descr").ok_or_else(|| bad("no 'descr'"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran = dict_value(&header, "fortran_order").ok_or_else(|| bad("no 'fortran_order'"))?;
    let shape_text = dict_value(&header, "shape").ok_or_else(|| bad("no 'shape'"))?;
    let little_native = cfg!(target_endian = "little") && descr == "=f4";
    if descr != "<f4" && !little_native {
        return Err(NpyError::Dtype { file, descr });
    }
    match fortran.as_str() {
        "False" => {}
        "True" => return Err(NpyError::FortranOrder { file }),
        _ => return Err(bad("fortran_order is neither True nor False")),
    }
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad("shape is not a tuple"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("shape holds something other than integers"))?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + len..];
    if data.len() != count * 4 {
        return Err(NpyError::Size {
            file,
            shape,
            expected: count * 4,
            got: data.len(),
        });
    }
    let data = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` up to the next top-level comma (tuples kept whole).
fn dict_value(header: &str, key: &str) -> Option<String> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    Some(rest[..end].trim().to_string())
}

/// Reads a float32 `.npy` file.
///
/// # Errors
/// [`NpyError`] naming the file.
pub fn read_f32(path: &Path) -> Result<NpyArray, NpyError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        file: file.clone(),
        source,
    })?;
    parse_f32(&bytes, &file)
}

/// The bytes of a float32 `.npy` file (version 1.0, or 2.0 for a huge header).
///
/// # Errors
/// If `data.len()` is not the product of `shape`.
pub fn to_bytes(shape: &[usize], data: &[f32]) -> anyhow::Result<Vec<u8>> {
    let count: usize = shape.iter().product();
    anyhow::ensure!(
        count == data.len(),
        "npy: shape {shape:?} holds {count} values, got {}",
        data.len()
    );
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // Python's tuple syntax: a 1-tuple needs a trailing comma.
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    let (major, prefix) = if header.len() + 11 <= 65_535 {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    // Pad with spaces so that preamble + header + '\n' is a multiple of 64 bytes.
    let total = (prefix + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - prefix - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes a float32 `.npy` file atomically.
///
/// # Errors
/// Shape/data mismatch, or write errors naming the path.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> anyhow::Result<()> {
    write_atomic(path, &to_bytes(shape, data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact bytes numpy 1.x writes for `np.save(f, np.array([[1, 2, 3], [4, 5, 6]],
    /// dtype='<f4'))`: version 1.0, a 118-byte header (10 + 118 = 128).
    fn numpy_2x3() -> Vec<u8> {
        let mut h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".to_string();
        h.push_str(&" ".repeat(128 - 10 - h.len() - 1));
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_numpy_bytes_and_writes_them_identically() {
        let a = parse_f32(&numpy_2x3(), "x.npy").unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(to_bytes(&[2, 3], &a.data).unwrap(), numpy_2x3());
        let t = a.into_tensor().unwrap();
        assert_eq!(t.dims(), &[2, 3]);
    }

    #[test]
    fn round_trips_1d_0d_and_version_2() {
        let b = to_bytes(&[4], &[1.0, -2.0, 0.5, f32::MAX]).unwrap();
        assert!(String::from_utf8_lossy(&b[10..70]).contains("'shape': (4,)"));
        assert_eq!(b.iter().position(|&c| c == b'\n'), Some(127));
        assert_eq!(
            parse_f32(&b, "a").unwrap().data,
            vec![1.0, -2.0, 0.5, f32::MAX]
        );
        let s = parse_f32(&to_bytes(&[], &[7.0]).unwrap(), "s").unwrap();
        assert_eq!((s.shape.len(), s.data[0]), (0, 7.0));
        // A version-2.0 file with the same header is read too.
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
        v2.extend_from_slice(&(h.len() as u32).to_le_bytes());
        v2.extend_from_slice(h.as_bytes());
        v2.extend_from_slice(&3.5f32.to_le_bytes());
        assert_eq!(parse_f32(&v2, "v2").unwrap().data, vec![3.5]);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let with_header = |h: &str, data: usize| {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(h.len() as u16).to_le_bytes());
            b.extend_from_slice(h.as_bytes());
            b.extend(std::iter::repeat_n(0u8, data));
            b
        };
        let e = parse_f32(
            &with_header(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                16,
            ),
            "d.npy",
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::Dtype { .. }));
        assert!(
            e.to_string().contains("d.npy") && e.to_string().contains("'<f8'"),
            "{e}"
        );
        let e = parse_f32(
            &with_header(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                8,
            ),
            "b.npy",
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::Dtype { .. }), "{e}");
        let e = parse_f32(
            &with_header(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                16,
            ),
            "f.npy",
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::FortranOrder { .. }) && e.to_string().contains("f.npy"));
        let e = parse_f32(
            &with_header(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                12,
            ),
            "s.npy",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("needs 16 bytes") && e.to_string().contains("s.npy"),
            "{e}"
        );
        let e = parse_f32(b"PK\x03\x04 not npy at all", "z.npy").unwrap_err();
        assert!(matches!(e, NpyError::Magic { .. }));
        let e = read_f32(Path::new("/nonexistent/q.npy")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/q.npy"));
        assert!(to_bytes(&[2, 2], &[1.0]).is_err());
    }

    #[test]
    fn write_is_atomic_and_readable() {
        let p = std::env::temp_dir().join(format!("ecgrad-npy-{}.npy", std::process::id()));
        write_f32(&p, &[1, 2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape, vec![1, 2, 3]);
        std::fs::remove_file(&p).unwrap();
    }
}
