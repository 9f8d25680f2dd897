//! The dataset cache: a small binary file per config key, written atomically (see
//! [`save_cache`] for the format). Loading validates every count against the file size before
//! allocating, so a corrupt or hostile file cannot make us allocate gigabytes.

use super::WindowDataset;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ECGRDS01";

/// FNV-1a 64-bit hash, used to name cache files after their config key.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// The cache file for `key` inside `dir`: `<dir>/dataset-<16 hex digits of FNV-1a(key)>.bin`.
pub fn cache_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("dataset-{:016x}.bin", fnv1a64(key.as_bytes())))
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Writes `data` to `path` tagged with `key`, atomically: the bytes go to `<path>.tmp-<pid>`,
/// are flushed to disk, and the file is renamed over `path` (rename is atomic on POSIX).
///
/// Format (little-endian): magic "ECGRDS01"; key, source (u64 length + UTF-8); channels, length,
/// n, number of classes (u64 each); class names; labels and groups (u64 each); samples (f32).
///
/// # Errors
/// I/O errors, with the path in the message.
pub fn save_cache(path: &Path, key: &str, data: &WindowDataset) -> anyhow::Result<()> {
    data.validate()?;
    let mut out = Vec::with_capacity(64 + data.samples.len() * 4 + data.labels.len() * 16);
    out.extend_from_slice(MAGIC);
    put_str(&mut out, key);
    put_str(&mut out, &data.source);
    for v in [
        data.channels,
        data.length,
        data.labels.len(),
        data.class_names.len(),
    ] {
        put_u64(&mut out, v as u64);
    }
    for name in &data.class_names {
        put_str(&mut out, name);
    }
    for &l in &data.labels {
        put_u64(&mut out, l as u64);
    }
    for &g in &data.groups {
        put_u64(&mut out, g as u64);
    }
    for &s in &data.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating cache dir {}", parent.display()))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(&out)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.sync_all()
        .with_context(|| format!("syncing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// A cursor over the cache bytes that names the offset of any truncation.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> anyhow::Result<&[u8]> {
        if self.bytes.len() - self.at < n {
            bail!(
                "{}: truncated at byte {} reading {what} ({n} bytes wanted)",
                self.path.display(),
                self.at
            );
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u64(&mut self, what: &str) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("invariant: 8 bytes"),
        ))
    }
    fn count(&mut self, what: &str, elem: usize) -> anyhow::Result<usize> {
        let n = self.u64(what)?;
        // Reject counts the remaining bytes cannot hold before allocating anything.
        if n.saturating_mul(elem as u64) > (self.bytes.len() - self.at) as u64 {
            bail!(
                "{}: {what} = {n} at byte {} exceeds the file size",
                self.path.display(),
                self.at - 8
            );
        }
        Ok(n as usize)
    }
    fn string(&mut self, what: &str) -> anyhow::Result<String> {
        let n = self.count(what, 1)?;
        let at = self.at;
        String::from_utf8(self.take(n, what)?.to_vec())
            .with_context(|| format!("{}: {what} at byte {at} is not UTF-8", self.path.display()))
    }
}

/// Reads a cache file. Returns `Ok(None)` when the file does not exist or was written for a
/// different key (a hash collision or a stale file), so the caller rebuilds.
///
/// # Errors
/// I/O errors other than "not found", and corrupt files (bad magic, truncation, absurd counts),
/// each naming the path and byte offset.
pub fn load_cache(path: &Path, key: &str) -> anyhow::Result<Option<WindowDataset>> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(mut f) => f
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
        path,
    };
    if r.take(8, "magic")? != MAGIC {
        bail!(
            "{}: not a dataset cache (bad magic at byte 0)",
            path.display()
        );
    }
    if r.string("key")? != key {
        return Ok(None);
    }
    let source = r.string("source")?;
    let channels = r.u64("channels")? as usize;
    let length = r.u64("length")? as usize;
    let n = r.count("window count", 16)?;
    let n_classes = r.count("class count", 8)?;
    let class_names = (0..n_classes)
        .map(|_| r.string("class name"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let labels = (0..n)
        .map(|_| Ok(r.u64("label")? as usize))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let groups = (0..n)
        .map(|_| Ok(r.u64("group")? as usize))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let total = n
        .checked_mul(channels)
        .and_then(|v| v.checked_mul(length))
        .filter(|&v| v.saturating_mul(4) == bytes.len() - r.at);
    let Some(total) = total else {
        bail!(
            "{}: {} sample bytes at byte {} do not match n·channels·length = {n}·{channels}·{length}",
            path.display(),
            bytes.len() - r.at,
            r.at
        );
    };
    let raw = r.take(total * 4, "samples")?;
    let samples = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("invariant: 4 bytes")))
        .collect();
    let data = WindowDataset {
        samples,
        labels,
        groups,
        channels,
        length,
        class_names,
        source,
    };
    data.validate()
        .with_context(|| format!("{}: invalid dataset", path.display()))?;
    Ok(Some(data))
}

/// Loads the dataset for `key` from `dir`, or builds it with `build` and caches it.
/// Returns the dataset and whether it came from the cache.
///
/// # Errors
/// Errors of `build`, of reading a corrupt cache, or of writing the new one.
pub fn cached(
    dir: &Path,
    key: &str,
    build: impl FnOnce() -> anyhow::Result<WindowDataset>,
) -> anyhow::Result<(WindowDataset, bool)> {
    let path = cache_path(dir, key);
    if let Some(data) = load_cache(&path, key)? {
        return Ok((data, true));
    }
    let data = build()?;
    save_cache(&path, key, &data)?;
    Ok((data, false))
}
