//! Helpers shared by the network tests (`nets_cnn.rs`, `cnn_lstm.rs`): a separable synthetic
//! beat set, one Adam training step, an overfitting loop, and evaluation-mode predictions.
//! Each test file includes this module with `mod common;`; not every file uses every helper.

#![allow(dead_code)]

use ecgrad_models::Module;
use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Tape};

/// 8 synthetic single-lead beats `[8, 1, len]` with labels 0..5: class k is a Gaussian bump at a
/// class-dependent position and width, plus a little noise — separable, but only through the
/// shape of the signal.
pub fn synthetic_beats(len: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let labels = vec![0, 1, 2, 3, 4, 0, 1, 2];
    let mut rng = Rng::stream(seed, "beats");
    let mut data = Vec::with_capacity(8 * len);
    for &k in &labels {
        let centre = len as f64 * (0.25 + 0.1 * k as f64);
        let width = len as f64 * (0.02 + 0.015 * k as f64);
        for t in 0..len {
            let z = (t as f64 - centre) / width;
            data.push(((-0.5 * z * z).exp() + 0.05 * rng.normal()) as f32);
        }
    }
    (
        Tensor::from_vec(Shape::d3(8, 1, len), data).unwrap(),
        labels,
    )
}

/// One training step (zero grads, forward in training mode, cross-entropy, backward, Adam);
/// returns the loss.
pub fn step(model: &mut dyn Module, opt: &mut Adam<f32>, x: &Tensor<f32>, y: &[usize]) -> f32 {
    model.zero_grad();
    let mut tape = Tape::new();
    let xv = tape.input(x.clone());
    let logits = model.forward(&mut tape, &xv).unwrap();
    let loss = cross_entropy(&mut tape, &logits, y, &CrossEntropy::default()).unwrap();
    let value = loss.value().data()[0];
    let grads = tape.backward(&loss).unwrap();
    grads.accumulate_into(model).unwrap();
    opt.step(model).unwrap();
    value
}

/// Trains until the loss is below `target` (or `max_steps`); returns (first loss, final loss,
/// steps taken).
pub fn overfit(
    model: &mut dyn Module,
    x: &Tensor<f32>,
    y: &[usize],
    lr: f64,
    target: f32,
    max_steps: usize,
) -> (f32, f32, usize) {
    let mut opt = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })
    .unwrap();
    let first = step(model, &mut opt, x, y);
    let mut last = first;
    for i in 1..max_steps {
        last = step(model, &mut opt, x, y);
        assert!(last.is_finite(), "loss is {last} at step {i}");
        if last < target {
            return (first, last, i + 1);
        }
    }
    (first, last, max_steps)
}

/// Training-mode forwards on a no_grad tape: the weights stay, the running statistics converge
/// to the batch's (geometrically, factor 1 − momentum per pass), so evaluation mode then sees
/// what training saw. Needed when a net overfits in fewer steps than the running averages need.
pub fn settle_running_stats(model: &dyn Module, x: &Tensor<f32>, passes: usize) {
    for _ in 0..passes {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        model.forward(&mut tape, &xv).unwrap();
    }
}

pub fn eval_logits(model: &mut dyn Module, x: &Tensor<f32>) -> Tensor<f32> {
    model.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = model.forward(&mut tape, &xv).unwrap().value().clone();
    model.set_training(true);
    y
}

pub fn argmax_rows(t: &Tensor<f32>) -> Vec<usize> {
    let c = t.dims()[1];
    t.data()
        .chunks(c)
        .map(|r| (0..c).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
        .collect()
}

// ---------------------------------------------------------------- BeatCnn
