//! Criterion benchmarks of sgemm, C = A·B (row-major, α = 1, β = 0), bench IDs as in
//! PERFORMANCE.md: group `sgemm`, functions
//! - `naive`: the triple loop (64³ only, it is slow),
//! - `blocked`: our BLIS-style packed GEMM, 1 thread,
//! - `matrixmultiply`: the `matrixmultiply` crate (its own threading is off), 1 thread,
//! - `ecgrad_t1`, `ecgrad_t2`: the production dispatch `gemm::gemm` inside a 1- or 2-thread
//!   rayon pool,
//!
//! and parameters `64`, `256`, `1024` (cubes) and `64x320x5984` (M×K×N). Throughput is reported
//! as `Elements(2·m·k·n)`: the "elements" are FLOPs, so criterion's "elem/s" reads as FLOP/s
//! (the machine's FMA peak is 116 GFLOP/s per core, PERFORMANCE.md).
//!
//! Quick run: `cargo bench --bench gemm -- --warm-up-time 1 --measurement-time 2`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecgrad_engine::gemm::{GemmImpl, MatMut, MatRef, gemm, gemm_with};
use ecgrad_engine::testing::Rng;
use std::hint::black_box;
use std::time::Duration;

/// (parameter name, m, k, n).
const SHAPES: [(&str, usize, usize, usize); 4] = [
    ("64", 64, 64, 64),
    ("256", 256, 256, 256),
    ("1024", 1024, 1024, 1024),
    ("64x320x5984", 64, 320, 5984),
];

/// A rayon pool of `threads` threads, built once per bench function (not per iteration).
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a small rayon pool can be built")
}

fn sgemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    let (t1, t2) = (pool(1), pool(2));
    for (name, m, k, n) in SHAPES {
        let mut rng = Rng::new(42);
        let a = rng.vec_f32(m * k);
        let b = rng.vec_f32(k * n);
        let mut out = vec![0.0f32; m * n];
        // Elements = FLOPs: one multiply and one add per term of every dot product.
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let mut run = |id: &str, pool: &rayon::ThreadPool, which: Option<GemmImpl>| {
            group.bench_with_input(BenchmarkId::new(id, name), &(), |bench, _| {
                pool.install(|| {
                    bench.iter(|| {
                        let av = MatRef::row_major(&a, m, k).expect("A fits");
                        let bv = MatRef::row_major(&b, k, n).expect("B fits");
                        let cv = MatMut::row_major(&mut out, m, n).expect("C fits");
                        match which {
                            Some(w) => gemm_with(w, 1.0, av, bv, 0.0, cv),
                            None => gemm(1.0, av, bv, 0.0, cv),
                        }
                        .expect("dimensions agree");
                        black_box(&mut out);
                    })
                })
            });
        };
        if m * k * n <= 64 * 64 * 64 {
            run("naive", &t1, Some(GemmImpl::Naive));
        }
        run("blocked", &t1, Some(GemmImpl::Blocked));
        run("matrixmultiply", &t1, Some(GemmImpl::MatrixMultiply));
        run("ecgrad_t1", &t1, None);
        run("ecgrad_t2", &t2, None);
    }
    group.finish();
}

criterion_group!(benches, sgemm);
criterion_main!(benches);
