//! Whole-model benchmarks (PERFORMANCE.md, "Whole models").
//!
//! - group `train_step`: one optimiser step at batch 64 = zero grads + forward in training mode
//!   + cross-entropy + backward + Adam (lr 1e-3), on a persistent model and optimizer;
//! - group `inference`: a forward pass at batch 256 in evaluation mode on a `no_grad` tape.
//!
//! Function IDs `beat_cnn_t1`, `beat_cnn_t2`, `cnn_lstm_t1`, `cnn_lstm_t2` (1 or 2 rayon
//! threads, best ISA; `cnn_lstm` is PERFORMANCE.md's CNN-LSTM variant, [`CnnLstm`]). Inputs are random beats `[N, 1, 187]` with
//! random labels (the speed does not depend on the values).
//!
//! Run quickly: `cargo bench -p ecgrad-benches --bench train_step -- --warm-up-time 1
//! --measurement-time 2`.

#![forbid(unsafe_code)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecgrad_engine::{Isa, Rng, Shape, Tensor, parallel};
use ecgrad_models::Module;
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Tape};
use ecgrad_models::nets::{BeatCnn, CnnLstm, cnn_lstm_flops_per_beat};

/// Training batch size (PERFORMANCE.md).
const TRAIN_BATCH: usize = 64;
/// Inference batch size (PERFORMANCE.md).
const INFER_BATCH: usize = 256;
/// Samples per beat.
const BEAT: usize = 187;
/// AAMI classes.
const CLASSES: usize = 5;

/// Forward FLOPs of one BeatCnn beat: 2·C_out·C_in·K·L_out per conv, 2·in·out per linear
/// (BN, ReLU, pooling and the softmax are O(elements) and not counted, as in PERFORMANCE.md).
fn beat_cnn_flops_per_beat() -> u64 {
    let conv = |co: u64, ci: u64, k: u64, l: u64| 2 * co * ci * k * l;
    conv(32, 1, 5, 187) + conv(64, 32, 5, 93) + conv(128, 64, 3, 46) + 2 * 128 * 64 + 2 * 64 * 5
}

/// A benchmarked model: its name, how to build it, its forward FLOPs per beat.
struct Workload {
    name: &'static str,
    build: fn() -> Box<dyn Module + Send + Sync>,
    flops_per_beat: u64,
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "beat_cnn",
            build: || Box::new(BeatCnn::new(0, CLASSES).expect("valid BeatCnn")),
            flops_per_beat: beat_cnn_flops_per_beat(),
        },
        Workload {
            name: "cnn_lstm",
            build: || Box::new(CnnLstm::new(0, CLASSES).expect("valid CnnLstm")),
            // ≈ 8.8 MFLOP per beat: BeatCnn's convolutions plus the LSTM's 2·46·4·64·(128 + 64).
            flops_per_beat: cnn_lstm_flops_per_beat(CLASSES),
        },
    ]
}

fn random_batch(n: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let mut rng = Rng::stream(seed, "bench-beats");
    let data = (0..n * BEAT).map(|_| rng.normal() as f32).collect();
    let labels = (0..n).map(|_| rng.below(CLASSES)).collect();
    (
        Tensor::from_vec(Shape::d3(n, 1, BEAT), data).expect("length matches"),
        labels,
    )
}

/// One training step; returns the loss so nothing is optimised away.
fn train_step(model: &mut dyn Module, opt: &mut Adam<f32>, x: &Tensor<f32>, y: &[usize]) -> f32 {
    model.zero_grad();
    let mut tape = Tape::new();
    let xv = tape.input(x.clone());
    let logits = model.forward(&mut tape, &xv).expect("forward");
    let loss = cross_entropy(&mut tape, &logits, y, &CrossEntropy::default()).expect("loss");
    let value = loss.value().data()[0];
    let grads = tape.backward(&loss).expect("backward");
    grads.accumulate_into(model).expect("grads");
    opt.step(model).expect("adam");
    value
}

fn infer(model: &dyn Module, x: &Tensor<f32>) -> Tensor<f32> {
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    model
        .forward(&mut tape, &xv)
        .expect("forward")
        .value()
        .clone()
}

fn group(c: &mut Criterion, name: &str, train: bool) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    let batch = if train { TRAIN_BATCH } else { INFER_BATCH };
    let (x, y) = random_batch(batch, 7);
    let isa = Isa::best_supported();
    for w in workloads() {
        // The elements are FLOPs, so criterion's "elements/s" reads as FLOP/s: the forward
        // FLOPs of the batch, times 3 for a training step (forward + input and weight
        // gradients; ≈ 815 MFLOP for BeatCnn at batch 64). Beats/s = batch / time.
        let fwd = w.flops_per_beat * batch as u64;
        g.throughput(Throughput::Elements(if train { 3 * fwd } else { fwd }));
        for threads in [1usize, 2] {
            let id = BenchmarkId::from_parameter(format!("{}_t{threads}", w.name));
            let mut model = (w.build)();
            model.set_training(train);
            let mut opt = Adam::new(AdamConfig::adam()).expect("valid Adam config");
            // One warm pool per thread count, reused by every sample (as in a training run).
            let pool = parallel::isa_pool(isa, threads).expect("the best ISA is supported");
            g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    pool.install(|| {
                        let start = Instant::now();
                        for _ in 0..iters {
                            if train {
                                std::hint::black_box(train_step(model.as_mut(), &mut opt, &x, &y));
                            } else {
                                std::hint::black_box(infer(model.as_ref(), &x));
                            }
                        }
                        start.elapsed()
                    })
                });
            });
        }
    }
    g.finish();
}

fn train_step_group(c: &mut Criterion) {
    group(c, "train_step", true);
}

fn inference_group(c: &mut Criterion) {
    group(c, "inference", false);
}

criterion_group!(benches, train_step_group, inference_group);
criterion_main!(benches);
