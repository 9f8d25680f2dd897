//! Matmul kernels vs their naive twins for all four flag combinations, rank 2, batched and
//! shared B (every ISA × thread count, f32 and f64), flag semantics against explicit transposes,
//! determinism, a hand-computed anchor and the named errors.

use super::*;
use crate::ops::elementwise::testkit::{bits, for_each_isa_threads, random};
use crate::parallel::with_threads;
use crate::testing::{Rng, assert_close, tolerance};

const FLAGS: [MatmulParams; 4] = [
    MatmulParams {
        trans_a: false,
        trans_b: false,
    },
    MatmulParams {
        trans_a: true,
        trans_b: false,
    },
    MatmulParams {
        trans_a: false,
        trans_b: true,
    },
    MatmulParams {
        trans_a: true,
        trans_b: true,
    },
];

fn dims(batch: usize, m: usize, k: usize, n: usize, b_batched: bool) -> MatmulDims {
    MatmulDims {
        batch,
        m,
        k,
        n,
        b_batched,
    }
}

/// Awkward sizes: all-ones, SIMD tails, k = 1, a long inner dimension, the 6×16 micro-tile ± 1,
/// batched and shared B, and batches whose work is above GRAIN (so threads split them).
fn cases(rng: &mut Rng) -> Vec<MatmulDims> {
    let mut v = vec![
        dims(1, 1, 1, 1, false),
        dims(1, 7, 9, 5, false),
        dims(1, 13, 1, 1, false),
        dims(1, 1, 1023, 1, false),
        dims(1, 7, 17, 15, false),
        dims(1, 64, 40, 70, false),
        dims(3, 5, 7, 4, true),
        dims(3, 5, 7, 4, false),
        dims(1, 2, 3, 4, true),
        dims(8, 33, 65, 20, true),
        dims(8, 33, 65, 20, false),
    ];
    for _ in 0..3 {
        let b = 1 + rng.below(4);
        v.push(dims(
            b,
            1 + rng.below(30),
            1 + rng.below(30),
            1 + rng.below(30),
            rng.below(2) == 0,
        ));
    }
    v
}

fn matmul_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    for d in cases(&mut rng) {
        let b_len = if d.b_batched { d.batch } else { 1 } * d.k * d.n;
        let a: Vec<T> = random(&mut rng, d.batch * d.m * d.k);
        let b: Vec<T> = random(&mut rng, b_len);
        let dc: Vec<T> = random(&mut rng, d.batch * d.m * d.n);
        let da0: Vec<T> = random(&mut rng, a.len());
        let db0: Vec<T> = random(&mut rng, b.len());
        for p in FLAGS {
            let mut want_c = vec![T::ZERO; dc.len()];
            matmul_naive(&a, &b, &mut want_c, d, p);
            let mut want_da = da0.clone();
            matmul_backward_a_naive(&dc, &b, &mut want_da, d, p);
            let mut want_db = db0.clone();
            matmul_backward_b_naive(&a, &dc, &mut want_db, d, p);
            for_each_isa_threads(|ctx| {
                let ctx = format!("{} {d:?} {p:?} seed {seed} ({ctx})", T::NAME);
                let mut c = vec![T::ZERO; dc.len()];
                matmul_forward(&a, &b, &mut c, d, p);
                let (at, rt) = tolerance::<T>(d.k);
                assert_close(&c, &want_c, at, rt, &format!("{ctx}: C"));
                let mut da = da0.clone();
                matmul_backward_a(&dc, &b, &mut da, d, p);
                let (at, rt) = tolerance::<T>(d.n);
                assert_close(&da, &want_da, at, rt, &format!("{ctx}: dA"));
                let mut db = db0.clone();
                matmul_backward_b(&a, &dc, &mut db, d, p);
                let (at, rt) = tolerance::<T>(d.m * d.batch);
                assert_close(&db, &want_db, at, rt, &format!("{ctx}: dB"));
            });
        }
    }
}

#[test]
fn matmul_matches_naive_all_flags_awkward_and_random() {
    matmul_case::<f32>(71);
    matmul_case::<f64>(72);
}

/// Transposes a row-major rows × cols matrix (an explicit copy, only for this test).
fn transpose(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; x.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = x[i * cols + j];
        }
    }
    t
}

/// The flags mean "this operand is stored transposed": storing Aᵀ and setting trans_a must
/// give the same C, dA (transposed back) and dB as the plain product.
#[test]
fn flags_agree_with_explicitly_transposed_storage() {
    let mut rng = Rng::new(73);
    let (m, k, n) = (5, 7, 3);
    let d = dims(1, m, k, n, false);
    let a: Vec<f64> = random(&mut rng, m * k);
    let b: Vec<f64> = random(&mut rng, k * n);
    let dc: Vec<f64> = random(&mut rng, m * n);
    let plain = MatmulParams::default();
    let mut c0 = vec![0.0; m * n];
    matmul_forward(&a, &b, &mut c0, d, plain);
    let (mut da0, mut db0) = (vec![0.0; m * k], vec![0.0; k * n]);
    matmul_backward_a(&dc, &b, &mut da0, d, plain);
    matmul_backward_b(&a, &dc, &mut db0, d, plain);
    let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
    for p in FLAGS {
        let a_s = if p.trans_a { &at } else { &a };
        let b_s = if p.trans_b { &bt } else { &b };
        let mut c = vec![0.0; m * n];
        matmul_forward(a_s, b_s, &mut c, d, p);
        assert_close(&c, &c0, 1e-14, 1e-14, &format!("{p:?}: C"));
        let (mut da, mut db) = (vec![0.0; m * k], vec![0.0; k * n]);
        matmul_backward_a(&dc, b_s, &mut da, d, p);
        matmul_backward_b(a_s, &dc, &mut db, d, p);
        let da = if p.trans_a { transpose(&da, k, m) } else { da };
        let db = if p.trans_b { transpose(&db, n, k) } else { db };
        assert_close(&da, &da0, 1e-14, 1e-14, &format!("{p:?}: dA"));
        assert_close(&db, &db0, 1e-14, 1e-14, &format!("{p:?}: dB"));
    }
}

#[test]
fn matmul_hand_computed_anchor() {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
    let d = dims(1, 2, 2, 2, false);
    let p = MatmulParams::default();
    let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [5.0f64, 6.0, 7.0, 8.0]);
    let mut c = [0.0; 4];
    matmul_naive(&a, &b, &mut c, d, p);
    assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
    // dC = ones: dA = dC·Bᵀ = [[11, 15], [11, 15]], dB = Aᵀ·dC = [[4, 4], [6, 6]].
    let mut da = [0.0; 4];
    matmul_backward_a_naive(&[1.0; 4], &b, &mut da, d, p);
    assert_eq!(da, [11.0, 15.0, 11.0, 15.0]);
    let mut db = [1.0; 4]; // accumulates onto 1
    matmul_backward_b_naive(&a, &[1.0; 4], &mut db, d, p);
    assert_eq!(db, [5.0, 5.0, 7.0, 7.0]);
}

#[test]
fn batched_results_are_bit_identical_across_thread_counts() {
    let mut rng = Rng::new(74);
    for (d, p) in [
        (dims(16, 20, 30, 40, true), MatmulParams::default()),
        (
            dims(16, 20, 30, 40, false),
            MatmulParams {
                trans_a: true,
                trans_b: true,
            },
        ),
    ] {
        let b_len = if d.b_batched { d.batch } else { 1 } * d.k * d.n;
        let a: Vec<f32> = random(&mut rng, d.batch * d.m * d.k);
        let b: Vec<f32> = random(&mut rng, b_len);
        let dc: Vec<f32> = random(&mut rng, d.batch * d.m * d.n);
        let run = |threads| {
            with_threads(threads, || {
                let mut c = vec![0.0f32; dc.len()];
                matmul_forward(&a, &b, &mut c, d, p);
                let mut da = vec![0.0f32; a.len()];
                matmul_backward_a(&dc, &b, &mut da, d, p);
                let mut db = vec![0.0f32; b.len()];
                matmul_backward_b(&a, &dc, &mut db, d, p);
                [bits(&c), bits(&da), bits(&db)]
            })
        };
        assert_eq!(run(1), run(2), "{d:?} {p:?}");
    }
}

#[test]
fn tensor_layer_shapes_and_errors() {
    let a = Tensor::<f64>::from_vec(Shape::d3(2, 3, 4), (0..24).map(f64::from).collect()).unwrap();
    let w = Tensor::<f64>::full(Shape::d2(5, 4), 1.0);
    // x·Wᵀ with a shared W, as a linear layer over a batch: [2, 3, 4] · [4, 5]ᵀ-stored → [2, 3, 5]
    let p = MatmulParams {
        trans_a: false,
        trans_b: true,
    };
    let y = matmul(&a, &w, p).unwrap();
    assert_eq!(y.dims(), &[2, 3, 5]);
    assert_eq!(y.data()[0], 0.0 + 1.0 + 2.0 + 3.0);
    let (da, dw) = matmul_grad(&a, &w, &y, p, (true, true)).unwrap();
    assert_eq!(
        (da.unwrap().dims(), dw.unwrap().dims()),
        (&[2, 3, 4][..], &[5, 4][..])
    );
    let (da, dw) = matmul_grad(&a, &w, &y, p, (false, true)).unwrap();
    assert!(da.is_none() && dw.is_some());

    let e = matmul(&a, &w, MatmulParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("A [2, 3, 4], B [5, 4]") && e.contains("trans_a = false, trans_b = false"),
        "{e}"
    );
    assert!(e.contains("op(A) is 3×4 but op(B) is 5×4"), "{e}");
    let b3 = Tensor::<f64>::zeros(Shape::d3(3, 4, 2));
    let e = matmul(&a, &b3, MatmulParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch sizes differ (2 vs 3)"), "{e}");
    let e = matmul(&w, &b3, MatmulParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("rank 2 or 3"), "{e}");
    let e = matmul_grad(&a, &w, &a, p, (true, true))
        .unwrap_err()
        .to_string();
    assert!(e.contains("C [2, 3, 5], dC [2, 3, 4]"), "{e}");
    let empty = Tensor::<f64>::zeros(Shape::d2(0, 4));
    let four = Tensor::<f64>::zeros(Shape::d2(4, 4));
    assert!(matches!(
        matmul(&empty, &four, MatmulParams::default()),
        Err(Error::EmptyOutput { .. })
    ));
}
