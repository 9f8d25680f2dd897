//! A small two-convolution network and its data, shared by the training and memory tests.
//!
//! Task: 64-sample signals of two classes — class 0 carries one narrow spike (a QRS-like
//! event), class 1 a wide smooth bump — at random positions and amplitudes, plus noise. Only a
//! shape detector (a convolution) separates them; their energy is similar.
//!
//! Network (NCL, f32): conv1 (1 → 8, k 7, pad 3) → ReLU → max pool 2 → conv2 (8 → 16, k 5,
//! pad 2) → ReLU → global average pool → fc (16 → 2), PyTorch parameter names.

use ecgrad_autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_autograd::ops::{
    Conv1dParams, Pool1dParams, bias_add, conv1d, global_avg_pool1d, matmul, max_pool1d, relu,
    reshape,
};
use ecgrad_autograd::{Optimizer, ParamStore, Parameters, Result, Tape};
use ecgrad_engine::{Rng, Shape, Tensor};

/// Batch size and signal length.
pub const N: usize = 64;
/// Samples per signal.
pub const L: usize = 64;

/// The labelled training set: `x [N, 1, L]`, labels 0/1 alternating.
pub fn dataset(seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let mut rng = Rng::stream(seed, "data");
    let mut x = Vec::with_capacity(N * L);
    let mut y = Vec::with_capacity(N);
    for i in 0..N {
        let class = i % 2;
        let centre = rng.uniform_range(12.0, L as f64 - 12.0);
        let amp = rng.uniform_range(0.7, 1.3);
        let width = if class == 0 { 1.0 } else { 6.0 };
        for t in 0..L {
            let d = (t as f64 - centre) / width;
            x.push((amp * (-0.5 * d * d).exp() + 0.05 * rng.normal()) as f32);
        }
        y.push(class);
    }
    (
        Tensor::from_vec(Shape::d3(N, 1, L), x).expect("length matches"),
        y,
    )
}

/// PyTorch's default init: uniform(±1/√fan_in) for every weight and bias of this small net.
pub fn init(seed: u64) -> ParamStore<f32> {
    let mut rng = Rng::stream(seed, "init");
    let mut uniform = |dims: &[usize], fan_in: usize| {
        let bound = 1.0 / (fan_in as f64).sqrt();
        let shape = Shape::new(dims).expect("rank <= 4");
        let data = (0..shape.numel())
            .map(|_| rng.uniform_range(-bound, bound) as f32)
            .collect();
        Tensor::from_vec(shape, data).expect("length matches")
    };
    let mut s = ParamStore::new();
    let params = [
        ("conv1.weight", vec![8, 1, 7], 7),
        ("conv1.bias", vec![8], 7),
        ("conv2.weight", vec![16, 8, 5], 40),
        ("conv2.bias", vec![16], 40),
        ("fc.weight", vec![2, 16], 16),
        ("fc.bias", vec![2], 16),
    ];
    for (name, dims, fan_in) in params {
        s.add_param(name, uniform(&dims, fan_in))
            .expect("unique names");
    }
    s
}

/// One full-batch training step; returns (loss, training accuracy, tape length before backward).
pub fn step(
    store: &mut ParamStore<f32>,
    opt: &mut dyn Optimizer<f32>,
    x: &Tensor<f32>,
    y: &[usize],
) -> Result<(f32, f64, usize)> {
    // Every Var holds an Arc to a parameter; they all die with this block, before the
    // optimizer updates the parameters in place (so nothing is copied).
    let (loss, correct, tape_len, grads) = {
        let mut t = Tape::new();
        let p = |t: &mut Tape<f32>, name: &str| t.param(store.get(name).expect("param exists"));
        let xv = t.input(x.clone());
        let (w1, b1) = (p(&mut t, "conv1.weight"), p(&mut t, "conv1.bias"));
        let (w2, b2) = (p(&mut t, "conv2.weight"), p(&mut t, "conv2.bias"));
        let (wf, bf) = (p(&mut t, "fc.weight"), p(&mut t, "fc.bias"));
        let same = |k: usize| Conv1dParams {
            padding: (k - 1) / 2,
            ..Conv1dParams::default()
        };
        let h = conv1d(&mut t, &xv, &w1, Some(&b1), same(7))?;
        let h = relu(&mut t, &h)?;
        let h = max_pool1d(&mut t, &h, &Pool1dParams::new(2))?;
        let h = conv1d(&mut t, &h, &w2, Some(&b2), same(5))?;
        let h = relu(&mut t, &h)?;
        let h = global_avg_pool1d(&mut t, &h)?; // [N, 16]
        let z = matmul(&mut t, &h, &wf, false, true)?; // [N, 2]
        let z = reshape(&mut t, &z, Shape::d3(N, 2, 1))?;
        let z = bias_add(&mut t, &z, &bf)?;
        let logits = reshape(&mut t, &z, Shape::d2(N, 2))?;
        let loss = cross_entropy(&mut t, &logits, y, &CrossEntropy::default())?;
        let zs = logits.value().data();
        let correct = y
            .iter()
            .enumerate()
            .filter(|&(i, &c)| (zs[2 * i + 1] > zs[2 * i]) == (c == 1))
            .count();
        let tape_len = t.len();
        (
            loss.value().data()[0],
            correct,
            tape_len,
            t.backward(&loss)?,
        )
    };
    store.zero_grad();
    grads.accumulate_into(store)?;
    drop(grads);
    opt.step(store)?;
    Ok((loss, correct as f64 / y.len() as f64, tape_len))
}
