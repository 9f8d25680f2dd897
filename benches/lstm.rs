//! LSTM benchmarks at the CNN-LSTM shape of PERFORMANCE.md: batch N = 64, T = 46 steps,
//! F = 128 input features (the conv3 channels), H = 64 hidden units (plus the attention pooling
//! of the CNN-LSTM-attention over that output).
//!
//! Groups (the elements of `Throughput::Elements` are **FLOPs**, so criterion's "elements/s"
//! reads as FLOP/s; the pointwise work is not counted):
//! - `lstm_cell_fwd`, `lstm_cell_fwd_bwd`: one time step, 2·N·4H·(F + H) FLOPs forward, 3× that
//!   with all gradients. Functions: `fused_t1`, `fused_t2` (the engine's GEMM + SIMD cell in a
//!   1- or 2-thread pool), `naive` (the plain-loop twin).
//! - `lstm_seq_fwd`, `lstm_seq_fwd_bwd`: the whole layer over T steps, T× the cell's FLOPs.
//!   Functions: `fused_t1`, `fused_t2` (the models `Lstm` layer's default path: one autograd
//!   node over the engine's sequence kernels), `composed_t1`, `composed_t2` (the same layer's
//!   `forward_reference`, ~25 recorded elementary ops per step), `naive` (the engine's naive
//!   sequence twin; forward only, it runs at ~1 GFLOP/s). fwd runs on a `no_grad` tape
//!   (inference); fwd_bwd on a recording tape, with the input gradient (a CNN-LSTM needs it)
//!   and a random upstream gradient on every output step.
//! - `attention_pool_fwd_bwd`: the additive attention pooling of the CNN-LSTM-attention over
//!   `[64, 46, 64]` with A = 64, `fused_t1`, `fused_t2`.
//!
//! Run quickly: `cargo bench -p ecgrad-benches --bench lstm -- --warm-up-time 1
//! --measurement-time 2 lstm_seq_fwd_bwd`.

#![forbid(unsafe_code)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecgrad_engine::ops::lstm_cell::{
    LstmCellGrads, LstmCellInputs, LstmDims, LstmSeqInputs, LstmWeights, lstm_cell_backward,
    lstm_cell_backward_naive, lstm_cell_forward, lstm_cell_forward_naive,
    lstm_forward_sequence_naive,
};
use ecgrad_engine::{Rng, Shape, Tensor, parallel};
use ecgrad_models::Module;
use ecgrad_models::autograd::Tape;
use ecgrad_models::layers::{Lstm, TemporalAttention};

/// Batch N.
const N: usize = 64;
/// Time steps T (187 samples after two max-pools of 2).
const T: usize = 46;
/// Input features F.
const F: usize = 128;
/// Hidden units H.
const H: usize = 64;

/// FLOPs of the two GEMMs of one step: 2·N·4H·(F + H).
const CELL_FLOPS: u64 = (2 * N * 4 * H * (F + H)) as u64;

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| rng.uniform_range(-0.5, 0.5) as f32)
        .collect()
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
}

/// Owned weights and one step's inputs for the cell benches.
struct CellCase {
    x: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Vec<f32>,
    b_hh: Vec<f32>,
    dh: Vec<f32>,
    dc: Vec<f32>,
}

impl CellCase {
    fn new() -> CellCase {
        let mut rng = Rng::new(42);
        CellCase {
            x: random(&mut rng, N * F),
            h: random(&mut rng, N * H),
            c: random(&mut rng, N * H),
            w_ih: random(&mut rng, 4 * H * F),
            w_hh: random(&mut rng, 4 * H * H),
            b_ih: random(&mut rng, 4 * H),
            b_hh: random(&mut rng, 4 * H),
            dh: random(&mut rng, N * H),
            dc: random(&mut rng, N * H),
        }
    }
    fn w(&self) -> LstmWeights<'_, f32> {
        LstmWeights {
            w_ih: &self.w_ih,
            w_hh: &self.w_hh,
            b_ih: &self.b_ih,
            b_hh: &self.b_hh,
        }
    }
    fn inputs(&self) -> LstmCellInputs<'_, f32> {
        LstmCellInputs {
            x: &self.x,
            h_prev: &self.h,
            c_prev: &self.c,
        }
    }
    /// One step forward (and backward), fused or naive.
    fn run(&self, naive: bool, backward: bool) {
        let d = LstmDims { n: N, f: F, h: H };
        let step = if naive {
            lstm_cell_forward_naive(d, self.inputs(), &self.w())
        } else {
            lstm_cell_forward(d, self.inputs(), &self.w())
        };
        if backward {
            let (mut dx, mut dhp, mut dcp) = (vec![0.0; N * F], vec![0.0; N * H], vec![0.0; N * H]);
            let (mut dwi, mut dwh, mut db) =
                (vec![0.0; 4 * H * F], vec![0.0; 4 * H * H], vec![0.0; 4 * H]);
            let g = LstmCellGrads {
                dx: &mut dx,
                dh_prev: &mut dhp,
                dc_prev: &mut dcp,
                dw_ih: &mut dwi,
                dw_hh: &mut dwh,
                db: &mut db,
            };
            let da = if naive {
                lstm_cell_backward_naive(d, self.inputs(), &self.w(), &step, &self.dh, &self.dc, g)
            } else {
                lstm_cell_backward(d, self.inputs(), &self.w(), &step, &self.dh, &self.dc, g)
            };
            std::hint::black_box((da, dx, dwi));
        }
        std::hint::black_box(step);
    }
}

fn bench_cell(c: &mut Criterion) {
    let case = CellCase::new();
    for (group_name, backward) in [("lstm_cell_fwd", false), ("lstm_cell_fwd_bwd", true)] {
        let mut group = c.benchmark_group(group_name);
        configure(&mut group);
        group.throughput(Throughput::Elements(
            CELL_FLOPS * if backward { 3 } else { 1 },
        ));
        for (name, naive, threads) in [
            ("fused_t1", false, 1),
            ("fused_t2", false, 2),
            ("naive", true, 1),
        ] {
            group.bench_function(BenchmarkId::new(name, "N64_F128_H64"), |b| {
                parallel::with_threads(threads, || b.iter(|| case.run(naive, backward)));
            });
        }
        group.finish();
    }
}

/// The models layer's forward (no_grad) or forward + backward (recording tape, dx included).
fn run_layer(m: &Lstm, x: &Tensor<f32>, dy: &Tensor<f32>, composed: bool, backward: bool) {
    let mut tape = if backward {
        Tape::new()
    } else {
        Tape::no_grad()
    };
    let xv = tape.leaf(x.clone(), backward);
    let out = if composed {
        m.forward_reference(&mut tape, &xv)
    } else {
        m.forward_with_state(&mut tape, &xv)
    }
    .expect("valid shapes");
    if backward {
        let g = tape
            .backward_from(&out.output, dy.clone(), &[])
            .expect("finite gradients");
        std::hint::black_box(g);
    } else {
        std::hint::black_box(out.output);
    }
}

fn bench_sequence(c: &mut Criterion) {
    let mut rng = Rng::stream(42, "init");
    let m = Lstm::new(F, H, 1, false, &mut rng).expect("valid sizes");
    let x = Tensor::from_vec(Shape::d3(N, T, F), random(&mut rng, N * T * F)).expect("length");
    let dy = Tensor::from_vec(Shape::d3(N, T, H), random(&mut rng, N * T * H)).expect("length");
    // Naive forward through the engine's slices, with the layer's own weights.
    let w = &m.weights[0];
    let (zeros, d) = (vec![0.0f32; N * H], LstmDims { n: N, f: F, h: H });
    for (group_name, backward) in [("lstm_seq_fwd", false), ("lstm_seq_fwd_bwd", true)] {
        let mut group = c.benchmark_group(group_name);
        configure(&mut group);
        group.throughput(Throughput::Elements(
            T as u64 * CELL_FLOPS * if backward { 3 } else { 1 },
        ));
        let param = "T46_N64_F128_H64";
        for (name, composed, threads) in [
            ("fused_t1", false, 1),
            ("fused_t2", false, 2),
            ("composed_t1", true, 1),
            ("composed_t2", true, 2),
        ] {
            group.bench_function(BenchmarkId::new(name, param), |b| {
                parallel::with_threads(threads, || {
                    b.iter(|| run_layer(&m, &x, &dy, composed, backward));
                });
            });
        }
        if !backward {
            group.bench_function(BenchmarkId::new("naive", param), |b| {
                let weights = LstmWeights {
                    w_ih: w.weight_ih.value.data(),
                    w_hh: w.weight_hh.value.data(),
                    b_ih: w.bias_ih.value.data(),
                    b_hh: w.bias_hh.value.data(),
                };
                let inp = LstmSeqInputs {
                    x: x.data(),
                    h0: &zeros,
                    c0: &zeros,
                };
                b.iter(|| std::hint::black_box(lstm_forward_sequence_naive(d, T, inp, &weights)));
            });
        }
        group.finish();
    }
}

fn bench_attention(c: &mut Criterion) {
    let mut rng = Rng::stream(43, "init");
    let att = TemporalAttention::new(H, H, &mut rng).expect("valid sizes");
    let h = Tensor::from_vec(Shape::d3(N, T, H), random(&mut rng, N * T * H)).expect("length");
    let dy = Tensor::from_vec(Shape::d2(N, H), random(&mut rng, N * H)).expect("length");
    let mut group = c.benchmark_group("attention_pool_fwd_bwd");
    configure(&mut group);
    // Projection 2·N·T·A·F plus scores and weighted sum 2·N·T·(A + F); ~3× with gradients.
    let fwd = (2 * N * T * H * H + 2 * N * T * 2 * H) as u64;
    group.throughput(Throughput::Elements(3 * fwd));
    for (name, threads) in [("fused_t1", 1), ("fused_t2", 2)] {
        group.bench_function(BenchmarkId::new(name, "N64_T46_F64_A64"), |b| {
            parallel::with_threads(threads, || {
                b.iter(|| {
                    let mut tape = Tape::new();
                    let hv = tape.leaf(h.clone(), true);
                    let y = att.forward(&mut tape, &hv).expect("valid shapes");
                    let g = tape.backward_from(&y, dy.clone(), &[]).expect("finite");
                    std::hint::black_box(g);
                });
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_cell, bench_sequence, bench_attention);
criterion_main!(benches);
