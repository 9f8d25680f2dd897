//! conv1d benchmarks on the S1–S7 shapes of PERFORMANCE.md.
//!
//! Groups `conv1d_fwd` and `conv1d_fwd_bwd` (forward + input gradient + weight gradient, no
//! bias). Functions:
//! - `ecgrad_t1`, `ecgrad_t2`: the production path (Tensor-level `conv1d` / `conv1d_backward`,
//!   automatic dispatch, output allocation included) inside a 1- or 2-thread rayon pool;
//! - `simd_t1`: the packed path (B panels packed from the signal; the production path for
//!   strides > 1, `ecgrad_t1` reads B in place for stride 1) on the best ISA, 1 thread;
//! - `direct_t1`: the direct path (no packing) on the best ISA, 1 thread, for the shapes with
//!   `C_in·K ≤ 16` (where it can compete; the backward of this variant is the packed one);
//! - `im2col_scalar`: the packed path with the ECGRAD scalar ISA (our portable micro-kernel);
//! - `im2col_mm_t1`: explicit im2col per sample + matrixmultiply GEMM, 1 thread;
//! - `naive`: the direct loops, only for the shapes where that is affordable.
//!
//! Run quickly: `cargo bench -p ecgrad-benches --bench conv1d -- --warm-up-time 1
//! --measurement-time 2 'conv1d_fwd/ecgrad_t1/S2'`.

#![forbid(unsafe_code)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecgrad_benches::{CONV_SHAPES, ConvShape};
use ecgrad_engine::ops::conv1d::{Conv1dImpl, Conv1dNeeds, conv1d_backward_with, conv1d_with};
use ecgrad_engine::{Isa, Tensor, parallel};

/// Forward FLOPs above which the naive loops are skipped (they run at ~1 GFLOP/s).
const NAIVE_MAX_FLOPS: u64 = 60_000_000;
/// Forward FLOPs above which the scalar micro-kernel is skipped (keeps the bench short).
const SCALAR_MAX_FLOPS: u64 = 400_000_000;

fn fwd(imp: Conv1dImpl, s: &ConvShape, x: &Tensor<f32>, w: &Tensor<f32>) -> Tensor<f32> {
    conv1d_with(imp, x, w, None, s.params()).expect("valid shape")
}

fn fwd_bwd(imp: Conv1dImpl, s: &ConvShape, x: &Tensor<f32>, w: &Tensor<f32>, dy: &Tensor<f32>) {
    let y = fwd(imp, s, x, w);
    let needs = Conv1dNeeds {
        input: true,
        weight: true,
        bias: false,
    };
    let g = conv1d_backward_with(imp, x, w, dy, s.params(), needs).expect("valid shape");
    std::hint::black_box((y, g));
}

/// The implementations to run, with the ISA and thread count of their pool.
fn variants(s: &ConvShape) -> Vec<(&'static str, Conv1dImpl, Isa, usize)> {
    let best = Isa::best_supported();
    let mut v = vec![
        ("ecgrad_t1", Conv1dImpl::Auto, best, 1),
        ("ecgrad_t2", Conv1dImpl::Auto, best, 2),
        ("simd_t1", Conv1dImpl::Packed, best, 1),
        ("im2col_mm_t1", Conv1dImpl::Im2col, best, 1),
    ];
    if s.c_in * s.k <= 16 {
        v.push(("direct_t1", Conv1dImpl::Direct, best, 1));
    }
    if s.flops_fwd() <= SCALAR_MAX_FLOPS {
        v.push(("im2col_scalar", Conv1dImpl::Packed, Isa::Scalar, 1));
    }
    if s.flops_fwd() <= NAIVE_MAX_FLOPS {
        v.push(("naive", Conv1dImpl::Naive, Isa::Scalar, 1));
    }
    v
}

fn bench(c: &mut Criterion, group_name: &str, with_backward: bool) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for s in &CONV_SHAPES {
        let (x, w, dy) = s.inputs(42);
        // The elements are FLOPs (2·N·C_out·C_in·K·L forward, 3× that with both gradients), so
        // criterion's "elements/s" reads as FLOP/s.
        let flops = if with_backward {
            s.flops_fwd_bwd()
        } else {
            s.flops_fwd()
        };
        group.throughput(Throughput::Elements(flops));
        for (name, imp, isa, threads) in variants(s) {
            // One pool of `threads` threads pinned to `isa` per variant, kept warm across all of
            // its samples (as in a training run); building it is outside the timed region.
            let pool = parallel::isa_pool(isa, threads).expect("the ISA was listed as supported");
            group.bench_with_input(BenchmarkId::new(name, s.name), s, |b, s| {
                b.iter_custom(|iters| {
                    pool.install(|| {
                        let start = Instant::now();
                        for _ in 0..iters {
                            if with_backward {
                                fwd_bwd(imp, s, &x, &w, &dy);
                            } else {
                                std::hint::black_box(fwd(imp, s, &x, &w));
                            }
                        }
                        start.elapsed()
                    })
                });
            });
        }
    }
    group.finish();
}

fn conv1d_fwd(c: &mut Criterion) {
    bench(c, "conv1d_fwd", false);
}

fn conv1d_fwd_bwd(c: &mut Criterion) {
    bench(c, "conv1d_fwd_bwd", true);
}

criterion_group!(benches, conv1d_fwd, conv1d_fwd_bwd);
criterion_main!(benches);
