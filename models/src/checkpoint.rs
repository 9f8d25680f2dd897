//! Checkpoints in the safetensors format, keyed by dotted PyTorch `state_dict` names, so that
//! `safetensors.torch.load_file("model.safetensors")` gives PyTorch a state dict it can pass to
//! `model.load_state_dict` for the same architecture, and back.
//!
//! # The format (written and read here by hand: it is small enough to read in one sitting)
//! ```text
//! [0, 8)        N, the header length, u64 little endian
//! [8, 8 + N)    header: a JSON object, padded with spaces to a multiple of 8 bytes
//!                 { "__metadata__": {"format": "pt"},
//!                   "fc1.weight": {"dtype": "F32", "shape": [8, 16], "data_offsets": [0, 512]},
//!                   … }
//! [8 + N, end)  the data: each tensor's elements, row-major, little endian, at its
//!               data_offsets (relative to the start of the data); the tensors tile it exactly
//! ```
//! We write every tensor as F32, in name order. When reading we accept F32, and I64 for buffers
//! only (PyTorch stores BatchNorm's `num_batches_tracked` as int64), converted exactly.
//!
//! # Guarantees
//! - **Atomic writes**: the bytes go to a temporary file in the same directory, are synced, and
//!   the temporary file is renamed over the target (rename is atomic on POSIX). A failure at any
//!   point removes the temporary file; the old checkpoint, if any, is untouched.
//! - **Strict loads**: every tensor of the model must be in the file with the same shape and no
//!   other tensor may be; the first problem is reported with the tensor's and the file's name.
//!   Everything is checked before anything is assigned, so a failed load leaves the model as it
//!   was.
//! - **Bit-identical round trips**: values are copied as their IEEE bit patterns (NaN payloads,
//!   −0 and subnormals included).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ecgrad_autograd::Parameters;
use ecgrad_autograd::engine::{Shape, Tensor};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

const HEADER: &str = "<header>";

fn ckpt_err(op: &'static str, path: &Path, tensor: &str, why: impl Into<String>) -> Error {
    Error::Checkpoint {
        op,
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        why: why.into(),
    }
}

/// The element type of a stored tensor, as the format spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit IEEE float (`"F32"`).
    F32,
    /// 64-bit signed integer (`"I64"`), e.g. PyTorch's `num_batches_tracked`.
    I64,
}

/// One tensor read from a file.
#[derive(Clone, Debug)]
pub struct StoredTensor {
    /// Dotted name.
    pub name: String,
    /// Its dtype in the file (the values are converted to f32 either way).
    pub dtype: Dtype,
    /// The values.
    pub value: Tensor<f32>,
}

/// Saves every parameter and buffer of `model` under its dotted name (atomically, see the
/// module docs).
///
/// # Errors
/// [`Error::Checkpoint`] if two tensors share a name; [`Error::Io`] (naming the file) if the
/// file cannot be written — in which case no file is left under `path` except a previous one.
pub fn save(model: &mut dyn Parameters<f32>, path: impl AsRef<Path>) -> Result<()> {
    let mut tensors = Vec::new();
    model.visit_params(&mut |p| tensors.push((p.name.to_string(), p.value.clone())));
    model.visit_buffers(&mut |b| tensors.push((b.name.to_string(), b.value.clone())));
    save_tensors(&tensors, path)
}

/// Saves named f32 tensors as a safetensors file (atomically).
///
/// # Errors
/// As [`save`].
pub fn save_tensors(tensors: &[(String, Tensor<f32>)], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode(tensors, path)?;
    write_atomic(path, "checkpoint::save", |f| f.write_all(&bytes))
}

/// The whole file's bytes for `tensors` (name order).
fn encode(tensors: &[(String, Tensor<f32>)], path: &Path) -> Result<Vec<u8>> {
    let mut sorted: BTreeMap<&str, &Tensor<f32>> = BTreeMap::new();
    for (name, t) in tensors {
        if sorted.insert(name, t).is_some() {
            return Err(ckpt_err(
                "checkpoint::save",
                path,
                name,
                "two tensors have this name",
            ));
        }
    }
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0usize;
    for (name, t) in &sorted {
        let end = offset + 4 * t.numel();
        header.insert(
            name.to_string(),
            json!({"dtype": "F32", "shape": t.dims(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut header = Value::Object(header).to_string().into_bytes();
    // Pad with spaces so the data starts 8-byte aligned (as the reference writer does).
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for t in sorted.values() {
        for &x in t.data() {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
    }
    Ok(bytes)
}

/// Writes a file atomically: `write` fills a temporary file next to `path`, which is synced and
/// renamed to `path`; on any failure the temporary file is removed and `path` is untouched.
///
/// # Errors
/// [`Error::Io`] naming `path` (or the temporary file) and the operating-system error.
pub fn write_atomic(
    path: &Path,
    op: &'static str,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io {
            op,
            path: p,
            source,
        }
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| ckpt_err(op, path, HEADER, "the path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    // Process id + a per-process counter: concurrent saves (threads or processes) to the same
    // target never share a temporary file; the last rename wins, and each file is whole.
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    tmp_name.push(format!(".tmp-{}-{k}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        write(&mut f).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(path))?;
        // Best effort: sync the directory so the rename itself survives a power cut (POSIX;
        // opening a directory fails on some platforms, which only weakens durability).
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads every tensor of a safetensors file (F32, or I64 converted exactly to f32), in the
/// order of their data in the file.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Checkpoint`] naming the tensor (or
/// `<header>`) for a short or truncated file, a malformed header, an unsupported dtype, a shape
/// that does not match its byte count, or data regions that overlap or leave gaps.
pub fn read_tensors(path: impl AsRef<Path>) -> Result<Vec<StoredTensor>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        op: "checkpoint::load",
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

fn decode(bytes: &[u8], path: &Path) -> Result<Vec<StoredTensor>> {
    let err = |tensor: &str, why: String| ckpt_err("checkpoint::load", path, tensor, why);
    if bytes.len() < 8 {
        return Err(err(
            HEADER,
            format!(
                "file has {} bytes, fewer than the 8-byte header length (truncated or not safetensors)",
                bytes.len()
            ),
        ));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("invariant: 8 bytes"));
    let rest = (bytes.len() - 8) as u64;
    if n > rest {
        return Err(err(
            HEADER,
            format!(
                "header length says {n} bytes but only {rest} follow (truncated or not safetensors)"
            ),
        ));
    }
    let n = n as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n])
        .map_err(|e| err(HEADER, format!("header is not valid JSON: {e}")))?;
    let Value::Object(header) = header else {
        return Err(err(HEADER, "header is not a JSON object".into()));
    };
    let data = &bytes[8 + n..];
    // (begin, end, name, dtype, shape)
    let mut entries: Vec<(usize, usize, String, Dtype, Shape)> = Vec::new();
    for (name, info) in &header {
        if name == "__metadata__" {
            continue;
        }
        let field = |key: &str| {
            info.get(key)
                .ok_or_else(|| err(name, format!("header entry has no \"{key}\"")))
        };
        let dtype = match field("dtype")?.as_str() {
            Some("F32") => Dtype::F32,
            Some("I64") => Dtype::I64,
            other => {
                return Err(err(
                    name,
                    format!("dtype {other:?} is not supported (only F32, and I64 for buffers)"),
                ));
            }
        };
        let usizes = |v: &Value, what: &str| -> Result<Vec<usize>> {
            v.as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|d| d.as_u64().map(|d| d as usize))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    err(
                        name,
                        format!("\"{what}\" is not a list of non-negative integers"),
                    )
                })
        };
        let dims = usizes(field("shape")?, "shape")?;
        let shape = Shape::new(&dims).map_err(|e| err(name, e.to_string()))?;
        let offsets = usizes(field("data_offsets")?, "data_offsets")?;
        let [begin, end] = offsets[..] else {
            return Err(err(
                name,
                format!("data_offsets {offsets:?} must be [begin, end]"),
            ));
        };
        let width = 4 * (1 + (dtype == Dtype::I64) as usize);
        if begin > end || end - begin != width * shape.numel() {
            return Err(err(
                name,
                format!(
                    "data_offsets [{begin}, {end}] do not hold shape {shape} of {dtype:?} ({} bytes)",
                    width * shape.numel()
                ),
            ));
        }
        if end > data.len() {
            return Err(err(
                name,
                format!(
                    "data ends at byte {end} but the file has only {} data bytes (truncated file)",
                    data.len()
                ),
            ));
        }
        entries.push((begin, end, name.clone(), dtype, shape));
    }
    // The tensors must tile the data exactly: no overlap, no gap, nothing after the last one.
    entries.sort_by_key(|e| (e.0, e.1));
    let mut at = 0;
    for (begin, end, name, _, _) in &entries {
        if *begin != at {
            return Err(err(
                name,
                format!("data starts at byte {begin}, expected {at} (overlap or gap)"),
            ));
        }
        at = *end;
    }
    if at != data.len() {
        return Err(err(
            HEADER,
            format!(
                "tensors cover {at} data bytes but the file has {}",
                data.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (begin, end, name, dtype, shape) in entries {
        let raw = &data[begin..end];
        let values: Vec<f32> = match dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("invariant: 4 bytes")))
                .collect(),
            Dtype::I64 => {
                let mut v = Vec::with_capacity(raw.len() / 8);
                for c in raw.chunks_exact(8) {
                    let i = i64::from_le_bytes(c.try_into().expect("invariant: 8 bytes"));
                    if i.unsigned_abs() > 1 << 24 {
                        return Err(err(
                            &name,
                            format!("I64 value {i} is not exactly representable as f32"),
                        ));
                    }
                    v.push(i as f32);
                }
                v
            }
        };
        let value = Tensor::from_vec(shape, values).map_err(|e| err(&name, e.to_string()))?;
        out.push(StoredTensor { name, dtype, value });
    }
    Ok(out)
}

/// Loads every parameter and buffer of `model` from `path` (strict: see the module docs).
///
/// # Errors
/// Those of [`read_tensors`], and [`Error::Checkpoint`] naming the tensor and the file for the
/// first tensor of the model that is missing from the file, has another shape, or is a
/// parameter stored as I64, then for the first tensor in the file the model does not have.
/// On error the model is unchanged.
pub fn load(model: &mut dyn Parameters<f32>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let stored = read_tensors(path)?;
    let mut by_name: HashMap<&str, &StoredTensor> = HashMap::new();
    for t in &stored {
        by_name.insert(&t.name, t);
    }
    // Pass 1: check everything (the model is untouched until all checks pass).
    let mut wanted: Vec<(String, Shape, bool)> = Vec::new();
    model.visit_params(&mut |p| wanted.push((p.name.to_string(), p.value.shape(), true)));
    model.visit_buffers(&mut |b| wanted.push((b.name.to_string(), b.value.shape(), false)));
    let err = |tensor: &str, why: String| ckpt_err("checkpoint::load", path, tensor, why);
    for (name, shape, is_param) in &wanted {
        let Some(t) = by_name.get(name.as_str()) else {
            return Err(err(name, "missing from the file".into()));
        };
        if t.value.shape() != *shape {
            return Err(err(
                name,
                format!(
                    "shape mismatch: the model has {shape}, the file has {}",
                    t.value.shape()
                ),
            ));
        }
        if *is_param && t.dtype != Dtype::F32 {
            return Err(err(
                name,
                format!(
                    "dtype {:?} in the file, but parameters must be F32",
                    t.dtype
                ),
            ));
        }
    }
    if let Some(extra) = stored
        .iter()
        .find(|t| !wanted.iter().any(|(n, _, _)| *n == t.name))
    {
        return Err(err(
            &extra.name,
            "unexpected: the file has it but the model does not".into(),
        ));
    }
    // Pass 2: assign.
    model.visit_params(&mut |p| {
        p.value = by_name[&*p.name].value.clone();
    });
    model.visit_buffers(&mut |b| {
        b.value = by_name[&*b.name].value.clone();
    });
    Ok(())
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
