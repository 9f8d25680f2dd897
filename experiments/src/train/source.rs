//! Where the training loop's mini-batches come from: the [`BatchSource`] trait and three
//! sources — labelled windows ([`Windows`]), input/target pairs for autoencoders and denoisers
//! ([`Pairs`]), and any closure ([`FnSource`]).
//!
//! Every source is seeded: epoch `e` yields the same batches in the same order on every machine
//! (the order comes from [`BatchIter`]'s `"data_shuffle"` stream of the experiment seed, mixed
//! with the epoch number).

use ecgrad_engine::{Shape, Tensor};

use crate::data::batch::{Batch, BatchIter, BatchOptions, WindowDataset};

/// A seeded supply of mini-batches, epoch by epoch.
pub trait BatchSource {
    /// What one mini-batch is.
    type Batch;
    /// How many batches one epoch yields (for the progress bar).
    fn batches_per_epoch(&self) -> usize;
    /// The batches of epoch `epoch` (from 0), in order.
    ///
    /// # Errors
    /// If the batches cannot be made (empty or inconsistent data).
    fn epoch(
        &self,
        epoch: usize,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<Self::Batch>> + '_>>;
}

/// Labelled windows of a [`WindowDataset`], batched by [`BatchIter`].
#[derive(Clone, Copy, Debug)]
pub struct Windows<'a> {
    /// The data.
    pub data: &'a WindowDataset,
    /// Batch size, shuffling, class balancing, dropping the last batch.
    pub options: BatchOptions,
    /// The experiment seed.
    pub seed: u64,
}

impl<'a> Windows<'a> {
    /// Shuffled batches of `batch_size`, keeping the last smaller batch.
    pub fn shuffled(data: &'a WindowDataset, batch_size: usize, seed: u64) -> Windows<'a> {
        Windows {
            data,
            options: BatchOptions {
                batch_size,
                shuffle: true,
                balanced: false,
                drop_last: false,
            },
            seed,
        }
    }
}

impl BatchSource for Windows<'_> {
    type Batch = Batch;
    fn batches_per_epoch(&self) -> usize {
        let n = self.data.len();
        let b = self.options.batch_size.max(1);
        if self.options.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }
    fn epoch(
        &self,
        epoch: usize,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<Batch>> + '_>> {
        let it = BatchIter::new(self.data, self.options, self.seed, epoch as u64)?;
        Ok(Box::new(it.map(Ok)))
    }
}

/// A batch of inputs with a target of the same layout (clean signal for a denoiser, the input
/// itself for an autoencoder).
#[derive(Clone, Debug)]
pub struct PairBatch {
    /// Inputs `[b, channels, length]`.
    pub x: Tensor<f32>,
    /// Targets `[b, target channels, target length]`.
    pub target: Tensor<f32>,
    /// Dataset indices of the pairs.
    pub indices: Vec<usize>,
}

/// Input/target window pairs: window i of `inputs` goes with window i of `targets`.
#[derive(Clone, Copy, Debug)]
pub struct Pairs<'a> {
    /// Inputs (their labels and groups are ignored here).
    pub inputs: &'a WindowDataset,
    /// Targets, one per input.
    pub targets: &'a WindowDataset,
    /// Batch size, shuffling, dropping the last batch (`balanced` uses the inputs' labels).
    pub options: BatchOptions,
    /// The experiment seed.
    pub seed: u64,
}

impl BatchSource for Pairs<'_> {
    type Batch = PairBatch;
    fn batches_per_epoch(&self) -> usize {
        Windows {
            data: self.inputs,
            options: self.options,
            seed: self.seed,
        }
        .batches_per_epoch()
    }
    fn epoch(
        &self,
        epoch: usize,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<PairBatch>> + '_>> {
        anyhow::ensure!(
            self.inputs.len() == self.targets.len(),
            "Pairs: {} inputs but {} targets",
            self.inputs.len(),
            self.targets.len()
        );
        self.targets.validate()?;
        let it = BatchIter::new(self.inputs, self.options, self.seed, epoch as u64)?;
        let targets = self.targets;
        Ok(Box::new(it.map(move |b| {
            let w = targets.channels * targets.length;
            let mut t = Vec::with_capacity(b.indices.len() * w);
            for &i in &b.indices {
                t.extend_from_slice(targets.window(i));
            }
            let shape = Shape::d3(b.indices.len(), targets.channels, targets.length);
            Ok(PairBatch {
                x: b.x,
                target: Tensor::from_vec(shape, t)?,
                indices: b.indices,
            })
        })))
    }
}

/// A source made of a closure returning the whole epoch's batches (for anything the other
/// sources do not cover: GAN noise, a fixed list of batches, one signal per step …).
pub struct FnSource<B, F: Fn(usize) -> anyhow::Result<Vec<B>>> {
    /// Batches per epoch (for the progress bar).
    pub batches: usize,
    /// `make(epoch)` returns the batches of that epoch.
    pub make: F,
}

impl<B, F: Fn(usize) -> anyhow::Result<Vec<B>>> BatchSource for FnSource<B, F> {
    type Batch = B;
    fn batches_per_epoch(&self) -> usize {
        self.batches
    }
    fn epoch(
        &self,
        epoch: usize,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<B>> + '_>> {
        let v = (self.make)(epoch)?;
        Ok(Box::new(v.into_iter().map(Ok)))
    }
}
