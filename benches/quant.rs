//! int8 vs f32 inference latency for one beat (batch 1, 1 thread) — seed 001's edge-device
//! question, for `BeatCnn` and `SeparableBeatCnn`.
//!
//! - group `quant/beat_latency_t1`, parameter = the network: `f32` (the model's eval forward on
//!   a `no_grad` tape, BN unfolded), `f32_folded` (the same network as a folded step list, what
//!   int8 is derived from), `int8` (`QuantizedBeatCnn`: int8 convs/linears, f32 pooling, ReLU
//!   and depthwise convs);
//! - group `quant/conv_b1_t1`: the conv2 and conv3 layers of BeatCnn alone at batch 1, f32
//!   `conv1d` vs int8 `qconv1d` (which includes quantising the input and the int8 im2col).
//!
//! Weights are the random initialisation (latency does not depend on the values), calibrated
//! on two random batches. Throughput is in FLOPs (forward FLOPs per beat, as
//! `train_step.rs` counts them; the int8 path does the same number of integer operations).
//!
//! Run quickly: `cargo bench -p ecgrad-benches --bench quant -- --warm-up-time 1
//! --measurement-time 2`.

#![forbid(unsafe_code)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Instant;

use criterion::{Bencher, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecgrad_engine::ops::conv1d::{Conv1dParams, conv1d};
use ecgrad_engine::ops::quant::{QuantizedWeights, qconv1d};
use ecgrad_engine::{Rng, Shape, Tensor, parallel};
use ecgrad_models::Module;
use ecgrad_models::autograd::Tape;
use ecgrad_models::nets::{BeatCnn, SeparableBeatCnn};
use ecgrad_models::quantize::{
    FloatStep, QuantizedBeatCnn, beat_cnn_steps, float_forward, fold_steps, quantize_beat_cnn,
    quantize_separable_beat_cnn, separable_beat_cnn_steps,
};

/// Samples per beat.
const BEAT: usize = 187;

fn random(shape: Shape, seed: u64) -> Tensor<f32> {
    let mut rng = Rng::stream(seed, "bench-quant");
    let data = (0..shape.numel()).map(|_| rng.normal() as f32).collect();
    Tensor::from_vec(shape, data).expect("length matches")
}

/// Forward FLOPs per beat: 2·C_out·C_in·K·L_out per (depthwise, pointwise) conv, 2·in·out per
/// linear.
fn flops(separable: bool) -> u64 {
    let conv = |co: u64, ci: u64, k: u64, l: u64| 2 * co * ci * k * l;
    let mid = if separable {
        conv(32, 1, 5, 93) + conv(64, 32, 1, 93) + conv(64, 1, 3, 46) + conv(128, 64, 1, 46)
    } else {
        conv(64, 32, 5, 93) + conv(128, 64, 3, 46)
    };
    conv(32, 1, 5, 187) + mid + 2 * 128 * 64 + 2 * 64 * 5
}

struct Net {
    name: &'static str,
    model: Box<dyn Module + Send + Sync>,
    folded: Vec<FloatStep>,
    int8: QuantizedBeatCnn,
    flops: u64,
}

fn nets() -> Vec<Net> {
    let calib = [
        random(Shape::d3(32, 1, BEAT), 1),
        random(Shape::d3(32, 1, BEAT), 2),
    ];
    let mut cnn = BeatCnn::new(0, 5).expect("valid BeatCnn");
    cnn.set_training(false);
    let mut sep = SeparableBeatCnn::new(0, 5).expect("valid SeparableBeatCnn");
    sep.set_training(false);
    vec![
        Net {
            name: "beat_cnn",
            folded: fold_steps(&beat_cnn_steps(&cnn)).expect("fold"),
            int8: quantize_beat_cnn(&cnn, &calib).expect("quantise"),
            model: Box::new(cnn),
            flops: flops(false),
        },
        Net {
            name: "separable_beat_cnn",
            folded: fold_steps(&separable_beat_cnn_steps(&sep)).expect("fold"),
            int8: quantize_separable_beat_cnn(&sep, &calib).expect("quantise"),
            model: Box::new(sep),
            flops: flops(true),
        },
    ]
}

/// Times `f` on one rayon thread: each timed batch runs inside a fresh 1-thread pool, built
/// outside the timed region.
fn one_thread<R>(b: &mut Bencher<'_>, f: impl Fn() -> R + Sync) {
    b.iter_custom(|iters| {
        parallel::with_threads(1, || {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(f());
            }
            start.elapsed()
        })
    });
}

fn beat_latency(c: &mut Criterion) {
    let x = random(Shape::d3(1, 1, BEAT), 3);
    let mut g = c.benchmark_group("quant/beat_latency_t1");
    for net in nets() {
        g.throughput(Throughput::Elements(net.flops)); // elements = FLOPs
        g.bench_with_input(BenchmarkId::new("f32", net.name), &x, |b, x| {
            one_thread(b, || {
                let mut tape = Tape::no_grad();
                let xv = tape.input(x.clone());
                net.model.forward(&mut tape, &xv).expect("forward")
            })
        });
        g.bench_with_input(BenchmarkId::new("f32_folded", net.name), &x, |b, x| {
            one_thread(b, || float_forward(&net.folded, x).expect("forward"))
        });
        g.bench_with_input(BenchmarkId::new("int8", net.name), &x, |b, x| {
            one_thread(b, || net.int8.forward(x).expect("forward"))
        });
    }
    g.finish();
}

fn conv_b1(c: &mut Criterion) {
    let mut g = c.benchmark_group("quant/conv_b1_t1");
    // (name, C_in, C_out, L, K, padding): BeatCnn's conv2 and conv3 for one beat.
    for (name, ci, co, l, k, p) in [("conv2", 32, 64, 93, 5, 2), ("conv3", 64, 128, 46, 3, 1)] {
        let x = random(Shape::d3(1, ci, l), 4);
        let w = random(Shape::d3(co, ci, k), 5);
        let q = QuantizedWeights::from_tensor(&w).expect("quantise");
        let params = Conv1dParams {
            padding: p,
            ..Default::default()
        };
        g.throughput(Throughput::Elements((2 * co * ci * k * l) as u64)); // elements = FLOPs
        g.bench_with_input(BenchmarkId::new("f32", name), &x, |b, x| {
            one_thread(b, || conv1d(x, &w, None, params).expect("conv"))
        });
        g.bench_with_input(BenchmarkId::new("int8", name), &x, |b, x| {
            one_thread(b, || {
                qconv1d(x, 3.0 / 127.0, &q, None, params).expect("qconv")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, beat_latency, conv_b1);
criterion_main!(benches);
