//! Threads (rayon) and deterministic reductions.
//!
//! Rules (DESIGN.md §2.11):
//! - one parallel level: rayon over independent outputs (samples, channel blocks, chunks);
//! - below [`GRAIN`] elements of work, run serially: the pool's overhead would exceed the work;
//! - reductions over a batch (dW, db, BN statistics) never use `par_iter().sum()`, whose split
//!   depends on scheduling. [`block_reduce`] cuts the items into blocks whose boundaries depend
//!   only on the item count, reduces each block in order, and adds the partials in block order,
//!   so the result is bit-identical at any thread count.

use crate::real::Real;
use crate::simd::{self, Isa};
use rayon::prelude::*;

/// Work (in elements or multiply-adds) below which a kernel stays on the calling thread.
pub const GRAIN: usize = 32 * 1024;

/// Number of threads of the rayon pool the caller runs in.
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

/// Runs `f` inside a fresh rayon pool of `threads` threads (tests, benches, `--threads`).
///
/// # Panics
/// If the operating system refuses to start the threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .expect("invariant: a small rayon pool can always be built");
    pool.install(f)
}

/// Runs `f` inside a fresh pool of `threads` threads whose every thread uses `isa`: the way tests
/// compare each ISA at 1 and N threads.
///
/// # Errors
/// [`crate::Error::Isa`] if this CPU cannot run `isa`.
pub fn with_isa_threads<R: Send>(
    isa: Isa,
    threads: usize,
    f: impl FnOnce() -> R + Send,
) -> crate::Result<R> {
    // `install` runs `f` on one of the pool's threads, so `f` itself sees the override too.
    Ok(isa_pool(isa, threads)?.install(f))
}

/// A pool of `threads` threads whose every thread uses `isa`, to keep and reuse: benchmarks
/// build one per configuration, so that the timed loops see warm, already-spawned workers as a
/// long-running program does (a fresh pool per measurement adds thread start-up and cold
/// caches to every sample).
///
/// # Errors
/// [`crate::Error::Isa`] if this CPU cannot run `isa`.
pub fn isa_pool(isa: Isa, threads: usize) -> crate::Result<rayon::ThreadPool> {
    if !isa.is_supported() {
        return Err(crate::Error::Isa(format!(
            "{isa} is not supported by this CPU"
        )));
    }
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .start_handler(move |_| simd::set_thread_isa(Some(isa)))
        .build()
        .expect("invariant: a small rayon pool can always be built"))
}

/// Deterministic parallel reduction of per-item contributions into one buffer.
///
/// Items `0..n_items` are cut into consecutive blocks of `block` items. For each block (in
/// parallel), `add_item(i, partial)` is called for its items in increasing order on a zeroed
/// buffer of `out_len` values; then the block partials are added into `out` **in block order**.
/// Block boundaries depend only on `n_items` and `block`, never on the thread count, so the
/// floating-point result is bit-identical however many threads run it. The final sum is
/// accumulated into `out` (`+=`), like every backward kernel.
///
/// # Panics
/// If `block == 0` or `out.len() != out_len`.
pub fn block_reduce<T: Real>(
    n_items: usize,
    block: usize,
    out: &mut [T],
    add_item: impl Fn(usize, &mut [T]) + Sync,
) {
    assert!(block > 0, "block_reduce: block must be positive");
    let out_len = out.len();
    let n_blocks = n_items.div_ceil(block);
    let run_block = |b: usize| {
        let mut partial = vec![T::ZERO; out_len];
        for i in b * block..((b + 1) * block).min(n_items) {
            add_item(i, &mut partial);
        }
        partial
    };
    let partials: Vec<Vec<T>> = if n_blocks > 1 && current_threads() > 1 {
        (0..n_blocks).into_par_iter().map(run_block).collect()
    } else {
        (0..n_blocks).map(run_block).collect()
    };
    for p in &partials {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_reduce_is_bit_identical_across_thread_counts() {
        let xs: Vec<f32> = (0..10_001)
            .map(|i| ((i as f32) * 0.37).sin() * 1e3)
            .collect();
        let run = |threads| {
            with_threads(threads, || {
                let mut out = vec![0.0f32; 3];
                block_reduce(xs.len(), 64, &mut out, |i, p| {
                    p[i % 3] += xs[i];
                });
                out
            })
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(
            one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            two.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let exact: f64 = xs.iter().map(|&v| v as f64).sum();
        let got: f64 = one.iter().map(|&v| v as f64).sum();
        assert!((exact - got).abs() < 1e-2 * (1.0 + exact.abs()));
    }

    #[test]
    fn isa_override_reaches_pool_threads() {
        let seen = with_isa_threads(Isa::Scalar, 2, || {
            (0..64)
                .into_par_iter()
                .map(|_| simd::isa())
                .collect::<Vec<_>>()
        })
        .unwrap();
        assert!(seen.iter().all(|&i| i == Isa::Scalar));
    }
}
