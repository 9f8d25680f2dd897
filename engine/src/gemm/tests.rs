//! Every GEMM implementation against the naive triple loop: awkward and random shapes, transposed
//! and strided views, α/β combinations, β = 0 over NaN, f32 and f64, every ISA at 1 and N threads;
//! the blocked GEMM bit-identical across thread counts; dimension errors named.

use super::blocked::{self, Blocking, PAR_MIN_MACS};
use super::*;
use crate::parallel::{with_isa_threads, with_threads};
use crate::simd::{MR, NR};
use crate::testing::{Rng, assert_close, cast_vec, isas_to_test, threads_to_test, tolerance};
use rayon::prelude::*;

/// The awkward dimension list: empty, 1, around MR = 6 and NR = 16, odd, above KC = 256.
const DIMS: [usize; 11] = [0, 1, 5, 6, 7, 15, 16, 17, 33, 100, 257];

/// How a logical rows×cols matrix is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Dense row-major.
    RowMajor,
    /// Dense column-major, i.e. the `.t()` view of a row-major cols×rows buffer.
    Transposed,
    /// Row-major with padded rows and every second column (non-unit strides).
    Strided,
}

const LAYOUTS: [Layout; 3] = [Layout::RowMajor, Layout::Transposed, Layout::Strided];

/// A buffer plus the strides of a rows×cols view of it in `layout`.
struct Stored<T> {
    data: Vec<T>,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<T: Real> Stored<T> {
    /// Stores the logical matrix `m` (row-major values, rows×cols) in `layout`, with `fill` in the
    /// gaps.
    fn new(values: &[T], rows: usize, cols: usize, layout: Layout, fill: T) -> Self {
        let (rs, cs, len) = match layout {
            Layout::RowMajor => (cols, 1, rows * cols),
            Layout::Transposed => (1, rows, rows * cols),
            Layout::Strided => (2 * cols + 3, 2, rows * (2 * cols + 3)),
        };
        let mut data = vec![fill; len.max(1)];
        for i in 0..rows {
            for j in 0..cols {
                data[i * rs + j * cs] = values[i * cols + j];
            }
        }
        Stored {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    fn view(&self) -> MatRef<'_, T> {
        MatRef::new(&self.data, self.rows, self.cols, self.rs, self.cs).expect("view fits")
    }

    fn view_mut(&mut self) -> MatMut<'_, T> {
        MatMut::new(&mut self.data, self.rows, self.cols, self.rs, self.cs).expect("view fits")
    }

    /// The logical matrix back, row-major.
    fn values(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.push(self.data[i * self.rs + j * self.cs]);
            }
        }
        out
    }
}

/// One test problem: A (m×k), B (k×n), C₀ (m×n) as row-major values in f64.
struct Problem {
    m: usize,
    k: usize,
    n: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl Problem {
    fn random(rng: &mut Rng, m: usize, k: usize, n: usize) -> Self {
        Problem {
            m,
            k,
            n,
            a: rng.vec_f64(m * k),
            b: rng.vec_f64(k * n),
            c: rng.vec_f64(m * n),
        }
    }

    /// C ← α·A·B + β·C₀ with `how`, every operand in the given layout; returns C row-major.
    /// When β = 0 the initial C is NaN everywhere (it must not be read).
    fn run<T: Real>(&self, how: How, alpha: f64, beta: f64, layouts: [Layout; 3]) -> Vec<T> {
        let (m, k, n) = (self.m, self.k, self.n);
        let a = Stored::new(&cast_vec::<T>(&self.a), m, k, layouts[0], T::ZERO);
        let b = Stored::new(&cast_vec::<T>(&self.b), k, n, layouts[1], T::ZERO);
        let c0 = if beta == 0.0 {
            vec![T::from_f64(f64::NAN); m * n]
        } else {
            cast_vec::<T>(&self.c)
        };
        // NaN in the gaps of a strided C: a write outside the view would show up as a changed
        // gap, a read from it as NaN in the result.
        let mut c = Stored::new(&c0, m, n, layouts[2], T::from_f64(f64::NAN));
        let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
        match how {
            How::Impl(which) => gemm_with(which, alpha, a.view(), b.view(), beta, c.view_mut())
                .expect("dimensions agree"),
            How::Auto => gemm(alpha, a.view(), b.view(), beta, c.view_mut()).expect("agree"),
            How::Blocking(bl) => {
                blocked::gemm_blocking(bl, alpha, a.view(), b.view(), beta, c.view_mut())
            }
        }
        let mut inside = vec![false; c.data.len()];
        for i in 0..m {
            for j in 0..n {
                inside[i * c.rs + j * c.cs] = true;
            }
        }
        let gaps_untouched = c
            .data
            .iter()
            .zip(&inside)
            .all(|(v, &inside)| inside || v.to_f64().is_nan());
        assert!(gaps_untouched, "{how:?} wrote outside the C view");
        c.values()
    }
}

/// Which code path computes the product.
#[derive(Clone, Copy, Debug)]
enum How {
    Impl(GemmImpl),
    Auto,
    Blocking(Blocking),
}

/// Tiny blocks so that small matrices cross every loop boundary (several jc, pc and ic blocks).
const TINY: Blocking = Blocking {
    mc: 2 * MR,
    kc: 5,
    nc: 2 * NR,
};

const HOWS: [How; 5] = [
    How::Impl(GemmImpl::MatrixMultiply),
    How::Impl(GemmImpl::Blocked),
    How::Auto,
    How::Blocking(TINY),
    How::Blocking(Blocking {
        mc: MR,
        kc: 1,
        nc: NR,
    }),
];

const ALPHA_BETA: [(f64, f64); 4] = [(1.0, 0.0), (1.0, 1.0), (-1.5, 0.25), (0.5, 0.0)];

/// Compares every implementation with naive on `p`, for all layouts and α/β, in type T.
fn check_problem<T: Real>(p: &Problem, ctx: &str) {
    for (abi, &(alpha, beta)) in ALPHA_BETA.iter().enumerate() {
        // All 27 layout combinations for one α/β pair on shapes up to 64³ multiply-adds, the
        // plain and the transposed/strided one otherwise: the layouts only change how the
        // packing routines read A, B and C, which the small shapes cover cell by cell, while
        // the large shapes are there for the block boundaries (KC, MC, threads). Running the
        // full cube on 257-sized problems took most of the engine suite's time under qemu.
        let small = p.m * p.k * p.n <= 1 << 18;
        let layout_sets: Vec<[Layout; 3]> = if abi == 2 && small {
            LAYOUTS
                .iter()
                .flat_map(|&la| {
                    LAYOUTS
                        .iter()
                        .flat_map(move |&lb| LAYOUTS.map(|lc| [la, lb, lc]))
                })
                .collect()
        } else {
            vec![
                [Layout::RowMajor; 3],
                [Layout::Transposed, Layout::Strided, Layout::Transposed],
            ]
        };
        let want = p.run::<T>(
            How::Impl(GemmImpl::Naive),
            alpha,
            beta,
            [Layout::RowMajor; 3],
        );
        let (atol, rtol) = tolerance::<T>(p.k);
        for layouts in layout_sets {
            // The tiny blockings exist to make small matrices cross every block boundary;
            // on the large shapes the real blockings already do.
            for how in HOWS
                .into_iter()
                .filter(|h| small || !matches!(h, How::Blocking(_)))
            {
                let got = p.run::<T>(how, alpha, beta, layouts);
                let ctx = format!(
                    "{ctx} {}: m={} k={} n={} alpha={alpha} beta={beta} {layouts:?} {how:?}",
                    T::NAME,
                    p.m,
                    p.k,
                    p.n
                );
                assert_close(&got, &want, atol, rtol, &ctx);
            }
        }
    }
}

#[test]
fn naive_matches_hand_computed_example() {
    // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]]:
    // A·B = [[1+3, 2+3], [4+6, 5+6]] = [[4, 5], [10, 11]];
    // 2·A·B − 1·C with C = [[1, 1], [1, 1]] gives [[7, 9], [19, 21]].
    let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0];
    let mut c = [1.0f64; 4];
    gemm_with(
        GemmImpl::Naive,
        2.0,
        MatRef::row_major(&a, 2, 3).unwrap(),
        MatRef::row_major(&b, 3, 2).unwrap(),
        -1.0,
        MatMut::row_major(&mut c, 2, 2).unwrap(),
    )
    .unwrap();
    assert_eq!(c, [7.0, 9.0, 19.0, 21.0]);
}

#[test]
fn all_impls_match_naive_on_awkward_shapes() {
    let mut rng = Rng::new(2024);
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            with_isa_threads(isa, threads, || {
                // Every (m, n) pair of the awkward list, with k cycling through the list too (the
                // full cube would repeat the 257³ case dozens of times).
                for (mi, &m) in DIMS.iter().enumerate() {
                    for (ni, &n) in DIMS.iter().enumerate() {
                        let k = DIMS[(mi * 3 + ni * 7) % DIMS.len()];
                        // Keep the debug-cost of the 27 layout combinations bounded.
                        if m * k * n > 100 * 257 * 100 {
                            continue;
                        }
                        let p = Problem::random(&mut rng, m, k, n);
                        let ctx = format!("{isa} t{threads}");
                        check_problem::<f32>(&p, &ctx);
                        check_problem::<f64>(&p, &ctx);
                    }
                }
            })
            .unwrap();
        }
    }
}

#[test]
fn all_impls_match_naive_on_random_and_large_shapes() {
    let mut rng = Rng::new(99);
    let mut shapes: Vec<(usize, usize, usize)> = (0..6)
        .map(|_| (1 + rng.below(150), 1 + rng.below(300), 1 + rng.below(150)))
        .collect();
    // k above KC (two pc blocks), m above MC, n not a multiple of NR; and one above the
    // parallel threshold.
    shapes.extend([
        (257, 257, 33),
        (150, 300, 70),
        (7, 520, 257),
        (100, 257, 100),
    ]);
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            with_isa_threads(isa, threads, || {
                for &(m, k, n) in &shapes {
                    let p = Problem::random(&mut rng, m, k, n);
                    let ctx = format!("{isa} t{threads}");
                    check_problem::<f32>(&p, &ctx);
                    check_problem::<f64>(&p, &ctx);
                }
            })
            .unwrap();
        }
    }
}

/// The blocked GEMM (directly, tiny blocks, and through the dispatcher) at 1 and N threads on a
/// shape above the parallel threshold: identical bits.
#[test]
fn blocked_is_bit_identical_across_threads() {
    let mut rng = Rng::new(5);
    let shapes = [
        (100, 257, 33),
        (257, 100, 257),
        (33, 600, 130),
        (64, 320, 600),
    ];
    for &(m, k, n) in &shapes {
        assert!(
            m * k * n >= PAR_MIN_MACS,
            "test shape must take the parallel path"
        );
        let p = Problem::random(&mut rng, m, k, n);
        for isa in isas_to_test() {
            for how in [How::Impl(GemmImpl::Blocked), How::Auto, How::Blocking(TINY)] {
                for (alpha, beta) in [(1.0, 0.0), (-0.75, 1.5)] {
                    for layouts in [
                        [Layout::RowMajor; 3],
                        [Layout::Transposed, Layout::Strided, Layout::Transposed],
                    ] {
                        let run = |threads| {
                            with_isa_threads(isa, threads, || {
                                p.run::<f32>(how, alpha, beta, layouts)
                            })
                            .unwrap()
                        };
                        let one = run(1);
                        for threads in threads_to_test().into_iter().filter(|&t| t > 1) {
                            let many = run(threads);
                            let same = one
                                .iter()
                                .zip(&many)
                                .all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(
                                same,
                                "{isa} {how:?} m={m} k={k} n={n} {layouts:?}: 1 vs {threads} threads differ"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Many GEMMs at once inside a parallel loop (how conv calls it, per sample): the per-thread
/// packing buffers must survive work stealing and nested calls.
#[test]
fn nested_parallel_calls_are_correct() {
    let mut rng = Rng::new(8);
    let problems: Vec<Problem> = (0..12)
        .map(|i| Problem::random(&mut rng, 40 + i, 300, 50 + 3 * i))
        .collect();
    let want: Vec<Vec<f32>> = problems
        .iter()
        .map(|p| p.run::<f32>(How::Impl(GemmImpl::Naive), 1.0, 0.0, [Layout::RowMajor; 3]))
        .collect();
    let got: Vec<Vec<f32>> = with_threads(2, || {
        problems
            .par_iter()
            .map(|p| {
                p.run::<f32>(
                    How::Impl(GemmImpl::Blocked),
                    1.0,
                    0.0,
                    [Layout::RowMajor; 3],
                )
            })
            .collect()
    });
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let (atol, rtol) = tolerance::<f32>(300);
        assert_close(g, w, atol, rtol, &format!("nested problem {i}"));
    }
}

#[test]
fn dimension_mismatch_is_a_named_error() {
    let a = [0.0f32; 6];
    let b = [0.0f32; 8];
    let mut c = [0.0f32; 8];
    for which in [GemmImpl::Naive, GemmImpl::MatrixMultiply, GemmImpl::Blocked] {
        // A is 2×3, B is 4×2: inner dimensions disagree.
        let err = gemm_with(
            which,
            1.0,
            MatRef::row_major(&a, 2, 3).unwrap(),
            MatRef::row_major(&b, 4, 2).unwrap(),
            0.0,
            MatMut::row_major(&mut c, 2, 2).unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("gemm") && err.contains("A has 3 columns but B has 4 rows"),
            "{which:?}: {err}"
        );
        // A is 2×4, B is 4×2, but C is 4×2.
        let err = gemm_with(
            which,
            1.0,
            MatRef::row_major(&b, 2, 4).unwrap(),
            MatRef::row_major(&b, 4, 2).unwrap(),
            0.0,
            MatMut::row_major(&mut c, 4, 2).unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("C must be 2×2"), "{which:?}: {err}");
    }
    // A view reaching past its buffer is refused when the view is made.
    let err = MatRef::new(&a, 2, 3, 4, 1).unwrap_err().to_string();
    assert!(
        err.contains("MatRef::new") && err.contains("past a buffer of 6"),
        "{err}"
    );
}

#[test]
fn dispatch_rule_follows_the_documented_classes() {
    // f64 and small or thin products always go to matrixmultiply.
    assert_eq!(choose_impl::<f64>(512, 512, 512), GemmImpl::MatrixMultiply);
    assert_eq!(choose_impl::<f32>(16, 16, 16), GemmImpl::MatrixMultiply);
    assert_eq!(choose_impl::<f32>(4, 4096, 4096), GemmImpl::MatrixMultiply);
    assert_eq!(choose_impl::<f32>(4096, 4096, 8), GemmImpl::MatrixMultiply);
    for isa in isas_to_test() {
        let (big, small_k_t1, small_k_t2) = (
            with_isa_threads(isa, 1, || choose_impl::<f32>(256, 256, 256)).unwrap(),
            with_isa_threads(isa, 1, || choose_impl::<f32>(128, 9, 4096)).unwrap(),
            with_isa_threads(isa, 2, || choose_impl::<f32>(128, 9, 4096)).unwrap(),
        );
        if isa == crate::simd::Isa::Avx2Fma {
            assert_eq!(big, GemmImpl::Blocked);
            assert_eq!(small_k_t1, GemmImpl::MatrixMultiply);
            assert_eq!(small_k_t2, GemmImpl::Blocked);
        } else {
            assert_eq!(big, GemmImpl::MatrixMultiply, "{isa}");
        }
    }
}
