//! Mini-batches of fixed-length windows as engine tensors, and a small on-disk dataset cache.
//!
//! - [`WindowDataset`]: n windows of shape [channels, length] stored contiguously (row-major
//!   [n, channels, length], exactly the NCL layout of a conv input), with a class label and a
//!   group (patient/record) id per window.
//! - [`BatchIter`]: one epoch of mini-batches. Seeded: the order comes from the named RNG stream
//!   `"data_shuffle"` of the experiment seed, reseeded per epoch, so epoch e is the same on every
//!   machine and independent of model initialisation. Each [`Batch`] holds `x: Tensor<f32>` of
//!   shape [b, channels, length] and the labels. With `balanced`, each sample is drawn by first
//!   choosing a class uniformly, then a window of that class uniformly (with replacement): the
//!   usual remedy for MIT-BIH's 90 % N beats.
//! - [`save_cache`] / [`load_cache`] / [`cached`]: a binary file keyed by a config string, written
//!   atomically (temp file, fsync, rename), so repeated runs do not re-parse 48 records and a
//!   crash never leaves a half-written cache under the final name.

use anyhow::{Context, bail};
use ecgrad_engine::{Error, Rng, Shape, Tensor};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Fixed-length windows with labels (see the module docs for the layout).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDataset {
    /// n·channels·length values, window-major, then channel, then time (NCL).
    pub samples: Vec<f32>,
    /// Class id of each window.
    pub labels: Vec<usize>,
    /// Group (patient / record) id of each window, for patient-wise splits.
    pub groups: Vec<usize>,
    /// Channels (leads) per window.
    pub channels: usize,
    /// Samples per channel.
    pub length: usize,
    /// Class names indexed by id.
    pub class_names: Vec<String>,
    /// Where the data came from (database, split, synthetic seed …), for reports.
    pub source: String,
}

impl WindowDataset {
    /// Number of windows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The values of window `i`, [channels·length].
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn window(&self, i: usize) -> &[f32] {
        let w = self.channels * self.length;
        &self.samples[i * w..(i + 1) * w]
    }

    /// Windows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            if l < counts.len() {
                counts[l] += 1;
            }
        }
        counts
    }

    /// Checks the invariants: sample count = n·channels·length, one group per label, every
    /// label < number of classes, channels and length ≥ 1.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the broken invariant.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |name: &'static str, value: String, why: String| Error::InvalidParam {
            op: "WindowDataset",
            name,
            value,
            why,
        };
        if self.channels == 0 || self.length == 0 {
            return Err(bad(
                "channels×length",
                format!("{}×{}", self.channels, self.length),
                "must be ≥ 1".into(),
            ));
        }
        let want = self.labels.len() * self.channels * self.length;
        if self.samples.len() != want {
            return Err(bad(
                "samples",
                self.samples.len().to_string(),
                format!("expected n·channels·length = {want}"),
            ));
        }
        if self.groups.len() != self.labels.len() {
            return Err(bad(
                "groups",
                self.groups.len().to_string(),
                format!("expected one per label ({})", self.labels.len()),
            ));
        }
        if let Some(&l) = self.labels.iter().find(|&&l| l >= self.class_names.len()) {
            return Err(bad(
                "labels",
                l.to_string(),
                format!("≥ number of classes {}", self.class_names.len()),
            ));
        }
        Ok(())
    }
}

/// One mini-batch.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs, shape [b, channels, length] (NCL).
    pub x: Tensor<f32>,
    /// Class ids, length b.
    pub y: Vec<usize>,
    /// Dataset indices of the windows (for error analysis).
    pub indices: Vec<usize>,
}

/// Options of [`BatchIter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchOptions {
    /// Windows per batch (≥ 1).
    pub batch_size: usize,
    /// Shuffle the order each epoch (ignored when `balanced`).
    pub shuffle: bool,
    /// Class-balanced sampling with replacement (see the module docs); an epoch then has
    /// `len()` draws.
    pub balanced: bool,
    /// Drop the last, smaller batch.
    pub drop_last: bool,
}

/// An iterator over the mini-batches of one epoch.
pub struct BatchIter<'a> {
    data: &'a WindowDataset,
    order: Vec<usize>,
    position: usize,
    options: BatchOptions,
}

impl<'a> BatchIter<'a> {
    /// The batches of epoch `epoch` of `data` under `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if the batch size is 0, the dataset is empty or invalid
    /// ([`WindowDataset::validate`]).
    pub fn new(
        data: &'a WindowDataset,
        options: BatchOptions,
        seed: u64,
        epoch: u64,
    ) -> Result<BatchIter<'a>, Error> {
        data.validate()?;
        if options.batch_size == 0 || data.is_empty() {
            return Err(Error::InvalidParam {
                op: "BatchIter::new",
                name: "batch_size / dataset size",
                value: format!("{} / {}", options.batch_size, data.len()),
                why: "both must be ≥ 1".into(),
            });
        }
        // Per-epoch stream: seed and epoch mixed, then the named stream.
        let mut rng = Rng::stream(
            seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            "data_shuffle",
        );
        let order = if options.balanced {
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); data.class_names.len()];
            for (i, &l) in data.labels.iter().enumerate() {
                by_class[l].push(i);
            }
            let present: Vec<&Vec<usize>> = by_class.iter().filter(|v| !v.is_empty()).collect();
            (0..data.len())
                .map(|_| {
                    let members = present[rng.below(present.len())];
                    members[rng.below(members.len())]
                })
                .collect()
        } else {
            let mut order: Vec<usize> = (0..data.len()).collect();
            if options.shuffle {
                rng.shuffle(&mut order);
            }
            order
        };
        Ok(BatchIter {
            data,
            order,
            position: 0,
            options,
        })
    }

    /// Number of batches this epoch yields.
    pub fn n_batches(&self) -> usize {
        let n = self.order.len();
        if self.options.drop_last {
            n / self.options.batch_size
        } else {
            n.div_ceil(self.options.batch_size)
        }
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let remaining = self.order.len() - self.position;
        let b = remaining.min(self.options.batch_size);
        if b == 0 || (self.options.drop_last && b < self.options.batch_size) {
            return None;
        }
        let indices = self.order[self.position..self.position + b].to_vec();
        self.position += b;
        let w = self.data.channels * self.data.length;
        let mut x = Vec::with_capacity(b * w);
        for &i in &indices {
            x.extend_from_slice(self.data.window(i));
        }
        let shape =
            Shape::new(&[b, self.data.channels, self.data.length]).expect("invariant: rank 3");
        let x =
            Tensor::from_vec(shape, x).expect("invariant: b·channels·length values were copied");
        let y = indices.iter().map(|&i| self.data.labels[i]).collect();
        Some(Batch { x, y, indices })
    }
}

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
