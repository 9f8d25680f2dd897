//! Normalisation: bit-identity across thread counts and named errors.

use super::super::*;
use crate::error::Error;
use crate::ops::pool1d::tests::random_tensor;
use crate::parallel::with_isa_threads;
use crate::shape::Shape;
use crate::simd::Isa;
use crate::testing::{Rng, threads_to_test};

#[test]
fn norm_reductions_are_bit_identical_across_thread_counts() {
    // Large enough for several reduction blocks and the parallel paths.
    let mut rng = Rng::new(79);
    let x = random_tensor::<f32>(&mut rng, Shape::d3(64, 8, 200));
    let dy = random_tensor::<f32>(&mut rng, x.shape());
    let gamma = random_tensor::<f32>(&mut rng, Shape::d1(8));
    let beta = random_tensor::<f32>(&mut rng, Shape::d1(8));
    let gl = random_tensor::<f32>(&mut rng, Shape::d1(200));
    let bl = random_tensor::<f32>(&mut rng, Shape::d1(200));
    let run = |isa: Isa, threads: usize| {
        with_isa_threads(isa, threads, || {
            let p = BatchNormParams::default();
            let mut running = RunningStats::new(8);
            let out = batch_norm_train(&x, &gamma, &beta, Some(&mut running), &p).unwrap();
            let g = batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std, BnMode::Train)
                .unwrap();
            let ln = layer_norm(&x, &gl, &bl, 1e-5).unwrap();
            let lg = layer_norm_backward(&dy, &x, &gl, &ln.mean, &ln.inv_std).unwrap();
            let all = [
                &out.y,
                &out.mean,
                &out.inv_std,
                &running.mean,
                &running.var,
                &g.dx,
                &g.dgamma,
                &g.dbeta,
                &ln.y,
                &lg.dx,
                &lg.dgamma,
                &lg.dbeta,
            ];
            all.iter()
                .flat_map(|t| t.data().iter().map(|v| v.to_bits()))
                .collect::<Vec<u32>>()
        })
        .unwrap()
    };
    for isa in crate::testing::isas_to_test() {
        let one = run(isa, 1);
        for threads in threads_to_test() {
            assert!(
                one == run(isa, threads),
                "{isa}: results differ between 1 and {threads} threads"
            );
        }
    }
}

#[test]
fn norm_errors_are_named() {
    let x = Tensor::<f32>::zeros(Shape::d3(2, 3, 4));
    let (g, b) = (
        Tensor::<f32>::zeros(Shape::d1(3)),
        Tensor::<f32>::zeros(Shape::d1(3)),
    );
    let p = BatchNormParams::default();
    let e = batch_norm_train(&Tensor::<f32>::zeros(Shape::d1(3)), &g, &b, None, &p).unwrap_err();
    assert!(matches!(e, Error::BadRank { .. }), "{e}");
    let e = batch_norm_train(&x, &Tensor::zeros(Shape::d1(4)), &b, None, &p).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                lhs_name: "gamma",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("gamma must have shape [3]"), "{e}");
    let e =
        batch_norm_train(&Tensor::<f32>::zeros(Shape::d3(1, 3, 1)), &g, &b, None, &p).unwrap_err();
    assert!(matches!(e, Error::InvalidParam { .. }), "{e}");
    let bad = BatchNormParams {
        eps: 1e-5,
        momentum: 1.5,
    };
    assert!(matches!(
        batch_norm_train(&x, &g, &b, None, &bad),
        Err(Error::InvalidParam {
            name: "momentum",
            ..
        })
    ));
    let mut wrong = RunningStats::new(2);
    assert!(matches!(
        batch_norm_train(&x, &g, &b, Some(&mut wrong), &p),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        batch_norm_eval(
            &Tensor::zeros(Shape::d3(0, 3, 4)),
            &g,
            &b,
            &RunningStats::new(3),
            &p
        ),
        Err(Error::EmptyOutput { .. })
    ));
    let e = layer_norm(&x, &g, &b, 1e-5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                lhs_name: "gamma",
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        layer_norm(&Tensor::scalar(1.0f32), &g, &b, 1e-5),
        Err(Error::BadRank { .. })
    ));
}

#[test]
fn norm_backward_kernels_accumulate() {
    use crate::ops::pool1d::tests::plus_one;
    use crate::testing::assert_close;
    let mut rng = Rng::new(80);
    let x = random_tensor::<f64>(&mut rng, Shape::d3(3, 2, 5));
    let dy = random_tensor::<f64>(&mut rng, x.shape());
    let (g, b) = (
        random_tensor::<f64>(&mut rng, Shape::d1(2)),
        random_tensor::<f64>(&mut rng, Shape::d1(2)),
    );
    let out = batch_norm_train(&x, &g, &b, None, &BatchNormParams::default()).unwrap();
    let fresh = batch_norm_backward(&dy, &x, &g, &out.mean, &out.inv_std, BnMode::Train).unwrap();
    let (mut dx, mut dg, mut db) = (vec![1.0; 30], vec![1.0; 2], vec![1.0; 2]);
    batch_norm_backward_kernel(
        dy.data(),
        x.data(),
        3,
        2,
        5,
        g.data(),
        out.mean.data(),
        out.inv_std.data(),
        BnMode::Train,
        &mut dx,
        &mut dg,
        &mut db,
    );
    assert_close(&dx, &plus_one(fresh.dx.data()), 1e-14, 1e-14, "bn dx");
    assert_close(
        &dg,
        &plus_one(fresh.dgamma.data()),
        1e-14,
        1e-14,
        "bn dgamma",
    );
    assert_close(&db, &plus_one(fresh.dbeta.data()), 1e-14, 1e-14, "bn dbeta");
    let (gl, bl) = (
        random_tensor::<f64>(&mut rng, Shape::d1(5)),
        random_tensor::<f64>(&mut rng, Shape::d1(5)),
    );
    let ln = layer_norm(&x, &gl, &bl, 1e-5).unwrap();
    let fresh = layer_norm_backward(&dy, &x, &gl, &ln.mean, &ln.inv_std).unwrap();
    let (mut dx, mut dg, mut db) = (vec![1.0; 30], vec![1.0; 5], vec![1.0; 5]);
    layer_norm_backward_kernel(
        dy.data(),
        x.data(),
        6,
        5,
        gl.data(),
        ln.mean.data(),
        ln.inv_std.data(),
        &mut dx,
        &mut dg,
        &mut db,
    );
    assert_close(&dx, &plus_one(fresh.dx.data()), 1e-14, 1e-14, "ln dx");
    assert_close(
        &dg,
        &plus_one(fresh.dgamma.data()),
        1e-14,
        1e-14,
        "ln dgamma",
    );
    assert_close(&db, &plus_one(fresh.dbeta.data()), 1e-14, 1e-14, "ln dbeta");
}
