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
//! - [`save_cache`] / [`load_cache`] / [`cached`] (in [`cache`]): a binary file keyed by a
//!   config string, written atomically (temp file, fsync, rename), so repeated runs do not
//!   re-parse 48 records and a crash never leaves a half-written cache under the final name.
//! - `From<&BeatDataset>`: MIT-BIH / LUDB windows from `data::windows` become a
//!   [`WindowDataset`] (one channel; groups numbered by record in order of appearance).

pub mod cache;

pub use cache::{cache_path, cached, fnv1a64, load_cache, save_cache};

use crate::data::windows::BeatDataset;
use ecgrad_engine::{Error, Rng, Shape, Tensor};

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

impl From<&BeatDataset> for WindowDataset {
    fn from(beats: &BeatDataset) -> WindowDataset {
        let mut record_ids: Vec<&str> = Vec::new();
        let groups = beats
            .record
            .iter()
            .map(|r| match record_ids.iter().position(|&x| x == r) {
                Some(i) => i,
                None => {
                    record_ids.push(r);
                    record_ids.len() - 1
                }
            })
            .collect();
        WindowDataset {
            samples: beats.x.iter().copied().collect(),
            labels: beats.y.iter().map(|&y| y as usize).collect(),
            groups,
            channels: 1,
            length: beats.x.ncols(),
            class_names: beats.classes.clone(),
            source: beats.source.clone(),
        }
    }
}
