//! Fast elementwise kernels vs their naive twins (every ISA × thread count, f32 and f64), a
//! hand-computed anchor per op, determinism of the bias gradient, and the named errors.

use super::testkit::{AWKWARD_LENS, bits, for_each_isa_threads, random, random_range};
use super::*;
use crate::parallel::with_threads;
use crate::tensor::Tensor;
use crate::testing::{Rng, assert_close, tolerance};

const OPS: [BinaryOp; 4] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];

fn lens_with_random(seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut lens = AWKWARD_LENS.to_vec();
    lens.extend((0..3).map(|_| 1 + rng.below(5000)));
    lens
}

fn binary_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    let (atol, rtol) = tolerance::<T>(1);
    for len in lens_with_random(seed) {
        let a: Vec<T> = random(&mut rng, len);
        // Divisors are kept away from zero: |b| in [0.5, 2).
        let b: Vec<T> = random_range::<T>(&mut rng, len, 0.5, 2.0)
            .into_iter()
            .zip(random::<T>(&mut rng, len))
            .map(|(m, s)| if s < T::ZERO { -m } else { m })
            .collect();
        let dy: Vec<T> = random(&mut rng, len);
        // Non-zero starting gradients check that the backward kernels accumulate.
        let da0: Vec<T> = random(&mut rng, len);
        let db0: Vec<T> = random(&mut rng, len);
        for op in OPS {
            let mut want = vec![T::ZERO; len];
            binary_naive(op, &a, &b, &mut want);
            let (mut want_da, mut want_db) = (da0.clone(), db0.clone());
            binary_backward_naive(op, &a, &b, &dy, Some(&mut want_da), Some(&mut want_db));
            for_each_isa_threads(|ctx| {
                let ctx = format!("{op:?} {} len {len} seed {seed} ({ctx})", T::NAME);
                let mut got = vec![T::ZERO; len];
                binary_forward(op, &a, &b, &mut got);
                assert_close(&got, &want, atol, rtol, &format!("{ctx}: forward"));
                let (mut da, mut db) = (da0.clone(), db0.clone());
                binary_backward(op, &a, &b, &dy, Some(&mut da), Some(&mut db));
                assert_close(&da, &want_da, atol, rtol, &format!("{ctx}: da"));
                assert_close(&db, &want_db, atol, rtol, &format!("{ctx}: db"));
                // Only one gradient requested: the other stays untouched.
                let mut db_only = db0.clone();
                binary_backward(op, &a, &b, &dy, None, Some(&mut db_only));
                assert_close(&db_only, &want_db, atol, rtol, &format!("{ctx}: db alone"));
            });
        }
    }
}

#[test]
fn binary_matches_naive_awkward_and_random() {
    binary_case::<f32>(11);
    binary_case::<f64>(12);
}

fn scale_axpy_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    let (atol, rtol) = tolerance::<T>(1);
    let alpha = T::from_f64(-1.75);
    for len in lens_with_random(seed) {
        let x: Vec<T> = random(&mut rng, len);
        let z: Vec<T> = random(&mut rng, len);
        let want_scale: Vec<T> = x.iter().map(|&v| alpha * v).collect();
        let want_axpy: Vec<T> = x.iter().zip(&z).map(|(&v, &w)| w + alpha * v).collect();
        for_each_isa_threads(|ctx| {
            let ctx = format!("{} len {len} ({ctx})", T::NAME);
            let mut got = vec![T::ZERO; len];
            scale_forward(alpha, &x, &mut got);
            assert_close(&got, &want_scale, atol, rtol, &format!("scale {ctx}"));
            let mut got = z.clone();
            axpy_accumulate(alpha, &x, &mut got);
            assert_close(&got, &want_axpy, atol, rtol, &format!("axpy {ctx}"));
        });
    }
}

#[test]
fn scale_and_axpy_match_naive() {
    scale_axpy_case::<f32>(21);
    scale_axpy_case::<f64>(22);
}

#[test]
fn binary_hand_computed_anchor() {
    let a = [2.0f64, -3.0];
    let b = [4.0f64, 0.5];
    let dy = [1.0f64, 2.0];
    let expect = [
        (BinaryOp::Add, [6.0, -2.5], [1.0, 2.0], [1.0, 2.0]),
        (BinaryOp::Sub, [-2.0, -3.5], [1.0, 2.0], [-1.0, -2.0]),
        // mul: da = dy·b = [4, 1], db = dy·a = [2, −6]
        (BinaryOp::Mul, [8.0, -1.5], [4.0, 1.0], [2.0, -6.0]),
        // div: da = dy/b = [0.25, 4], db = −dy·a/b² = [−2/16, 2·3/0.25] = [−0.125, 24]
        (BinaryOp::Div, [0.5, -6.0], [0.25, 4.0], [-0.125, 24.0]),
    ];
    for (op, y, da_want, db_want) in expect {
        let mut out = [0.0; 2];
        binary_naive(op, &a, &b, &mut out);
        assert_eq!(out, y, "{op:?}");
        let (mut da, mut db) = ([1.0, 1.0], [0.0, 0.0]);
        binary_backward_naive(op, &a, &b, &dy, Some(&mut da), Some(&mut db));
        assert_eq!(
            da,
            [1.0 + da_want[0], 1.0 + da_want[1]],
            "{op:?} da accumulates"
        );
        assert_eq!(db, db_want, "{op:?} db");
    }
}

const BIAS_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 1, 7),
    (2, 3, 9),
    (3, 5, 1023),
    (1, 1, GRAIN + 1),
    (2, 2, GRAIN / 2 + 3),
    (40, 7, 129),
];

fn bias_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    for &(n, c, l) in BIAS_SHAPES {
        let x: Vec<T> = random(&mut rng, n * c * l);
        let b: Vec<T> = random(&mut rng, c);
        let dy: Vec<T> = random(&mut rng, n * c * l);
        let db0: Vec<T> = random(&mut rng, c);
        let mut want_y = vec![T::ZERO; x.len()];
        bias_add_ncl_naive(&x, &b, &mut want_y, n, c, l);
        let mut want_db = db0.clone();
        bias_add_ncl_backward_bias_naive(&dy, &mut want_db, n, c, l);
        let (atol, rtol) = tolerance::<T>(n * l);
        for_each_isa_threads(|ctx| {
            let ctx = format!("bias {} [{n}, {c}, {l}] ({ctx})", T::NAME);
            let mut y = vec![T::ZERO; x.len()];
            bias_add_ncl_forward(&x, &b, &mut y, n, c, l);
            assert_close(&y, &want_y, 0.0, 0.0, &format!("{ctx}: forward"));
            let mut db = db0.clone();
            bias_add_ncl_backward_bias(&dy, &mut db, n, c, l);
            assert_close(&db, &want_db, atol, rtol, &format!("{ctx}: db"));
        });
    }
}

#[test]
fn bias_add_ncl_matches_naive_awkward() {
    bias_case::<f32>(31);
    bias_case::<f64>(32);
}

#[test]
fn bias_grad_is_bit_identical_across_thread_counts() {
    // Many samples so that several blocks exist and the pool really splits the work.
    let (n, c, l) = (64, 3, 1000);
    let dy: Vec<f32> = random(&mut Rng::new(5), n * c * l);
    let run = |threads| {
        with_threads(threads, || {
            let mut db = vec![0.0f32; c];
            bias_add_ncl_backward_bias(&dy, &mut db, n, c, l);
            db
        })
    };
    assert_eq!(bits(&run(1)), bits(&run(2)));
    assert_eq!(bits(&run(1)), bits(&run(3)));
}

#[test]
fn bias_add_hand_computed_anchor() {
    // x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] (N = 2, C = 2, L = 2), b = [10, 100].
    let x: Vec<f64> = (1..=8).map(f64::from).collect();
    let mut y = vec![0.0; 8];
    bias_add_ncl_naive(&x, &[10.0, 100.0], &mut y, 2, 2, 2);
    assert_eq!(y, [11.0, 12.0, 103.0, 104.0, 15.0, 16.0, 107.0, 108.0]);
    // db[0] = 1 + 2 + 5 + 6 = 14 (on top of 0.5), db[1] = 3 + 4 + 7 + 8 = 22.
    let mut db = vec![0.5, 0.0];
    bias_add_ncl_backward_bias_naive(&x, &mut db, 2, 2, 2);
    assert_eq!(db, [14.5, 22.0]);
}

#[test]
fn tensor_layer_validates_and_names_shapes() {
    let a = Tensor::<f32>::zeros(Shape::d2(2, 3));
    let b = Tensor::<f32>::zeros(Shape::d2(3, 2));
    let e = mul(&a, &b).unwrap_err().to_string();
    assert!(
        e.starts_with("mul:") && e.contains("a [2, 3], b [3, 2]"),
        "{e}"
    );
    let empty = Tensor::<f32>::zeros(Shape::d2(0, 3));
    assert!(matches!(
        add(&empty, &empty),
        Err(Error::EmptyOutput { .. })
    ));
    assert!(matches!(
        scale(&a, f32::NAN),
        Err(Error::InvalidParam { .. })
    ));
    let x = Tensor::<f32>::zeros(Shape::d3(2, 3, 4));
    let e = bias_add_ncl(&x, &Tensor::zeros(Shape::d1(4)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("x [2, 3, 4], bias [4]"), "{e}");
    assert!(matches!(bias_add_ncl(&a, &a), Err(Error::BadRank { .. })));
    // Values flow through the tensor layer.
    let t = Tensor::from_vec(Shape::d1(2), vec![3.0f64, 4.0]).unwrap();
    assert_eq!(div(&t, &t).unwrap().data(), &[1.0, 1.0]);
    assert_eq!(sub(&t, &t).unwrap().data(), &[0.0, 0.0]);
    assert_eq!(axpy(2.0, &t, &t).unwrap().data(), &[9.0, 12.0]);
    assert_eq!(scale(&t, -1.0).unwrap().data(), &[-3.0, -4.0]);
    let (da, db) = binary_grad(BinaryOp::Mul, &t, &t, &t, (true, false)).unwrap();
    assert_eq!(da.unwrap().data(), &[9.0, 16.0]);
    assert!(db.is_none());
    let g = bias_add_ncl_grad_bias(&x.reshape(Shape::d3(2, 3, 4)).unwrap()).unwrap();
    assert_eq!(g.dims(), &[3]);
}
