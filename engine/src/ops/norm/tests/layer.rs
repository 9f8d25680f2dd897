//! Layer norm: fast vs naive, anchor, finite differences.

use ndarray::ArrayView2;

use super::super::naive::*;
use super::super::*;
use super::{dot, numeric_grad};
use crate::ops::pool1d::tests::{random_tensor, run_matrix};
use crate::shape::Shape;
use crate::testing::{Rng, assert_close, cast_vec, tolerance};

fn check_layer_norm<T: Real>(shape: Shape, seed: u64, label: &str) {
    let f = *shape.dims().last().unwrap();
    let rows = shape.numel() / f;
    let mut rng = Rng::new(seed);
    let xv: Vec<f64> = (0..shape.numel())
        .map(|_| 2.0 * rng.normal() + 1.5)
        .collect();
    let x = Tensor::<T>::from_vec(shape, cast_vec(&xv)).unwrap();
    let gamma = random_tensor::<T>(&mut rng, Shape::d1(f));
    let beta = random_tensor::<T>(&mut rng, Shape::d1(f));
    let dy = random_tensor::<T>(&mut rng, shape);
    let ctx = format!("{label} {} x {shape} seed {seed}", T::NAME);
    let (atol, rtol) = tolerance::<T>(f);
    let out = layer_norm(&x, &gamma, &beta, 1e-5).unwrap();
    let xa = ArrayView2::from_shape((rows, f), x.data()).unwrap();
    let (y, mean, inv_std) = layer_norm_naive(xa, gamma.data(), beta.data(), T::from_f64(1e-5));
    assert_close(
        out.y.data(),
        y.as_slice().unwrap(),
        atol,
        rtol,
        &format!("ln y {ctx}"),
    );
    assert_close(
        out.mean.data(),
        &mean,
        atol,
        rtol,
        &format!("ln mean {ctx}"),
    );
    assert_close(
        out.inv_std.data(),
        &inv_std,
        atol,
        rtol,
        &format!("ln inv_std {ctx}"),
    );
    let g = layer_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std).unwrap();
    let dya = ArrayView2::from_shape((rows, f), dy.data()).unwrap();
    let (dx, dg, db) =
        layer_norm_backward_naive(dya, xa, gamma.data(), out.mean.data(), out.inv_std.data());
    let (atol_r, rtol_r) = tolerance::<T>(rows.max(f));
    assert_close(
        g.dx.data(),
        dx.as_slice().unwrap(),
        atol,
        rtol,
        &format!("ln dx {ctx}"),
    );
    assert_close(
        g.dgamma.data(),
        &dg,
        atol_r,
        rtol_r,
        &format!("ln dgamma {ctx}"),
    );
    assert_close(
        g.dbeta.data(),
        &db,
        atol_r,
        rtol_r,
        &format!("ln dbeta {ctx}"),
    );
}

#[test]
fn layer_norm_matches_naive() {
    run_matrix(|label| {
        let shapes: &[&[usize]] = &[
            &[1],
            &[3, 1],
            &[2, 7],
            &[4, 13],
            &[2, 3, 33],
            &[2, 2, 2, 64],
            &[600, 64],
            &[46, 128],
        ];
        for (i, d) in shapes.iter().enumerate() {
            let s = Shape::new(d).unwrap();
            check_layer_norm::<f32>(s, 500 + i as u64, label);
            check_layer_norm::<f64>(s, 500 + i as u64, label);
        }
    });
}

#[test]
fn layer_norm_anchor_hand_computed() {
    let x = Tensor::from_vec(Shape::d2(2, 3), vec![1.0f64, 2.0, 3.0, 0.0, 0.0, 6.0]).unwrap();
    let g = Tensor::from_vec(Shape::d1(3), vec![1.0, 2.0, 3.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(3), vec![0.0, 0.0, 1.0]).unwrap();
    let out = layer_norm(&x, &g, &b, 0.0).unwrap();
    // Row 0: μ 2, σ² 2/3; row 1: μ 2, σ² (4 + 4 + 16)/3 = 8.
    let (r0, r1) = (1.0 / (2.0f64 / 3.0).sqrt(), 1.0 / 8.0f64.sqrt());
    let want = [
        -r0,
        0.0,
        3.0 * r0 + 1.0,
        -2.0 * r1,
        -4.0 * r1,
        12.0 * r1 + 1.0,
    ];
    assert_close(out.y.data(), &want, 1e-14, 1e-14, "y");
    assert_eq!(out.mean.data(), &[2.0, 2.0]);
    // dy = const/γ makes dx̂ constant along the row: normalisation undoes it, dx = 0.
    let dy = Tensor::from_vec(Shape::d2(2, 3), vec![6.0, 3.0, 2.0, 6.0, 3.0, 2.0]).unwrap();
    let gr = layer_norm_backward(&dy, &x, &g, &out.mean, &out.inv_std).unwrap();
    assert_close(gr.dx.data(), &[0.0; 6], 1e-13, 0.0, "dx");
    assert_eq!(gr.dbeta.data(), &[12.0, 6.0, 4.0]);
}

#[test]
fn layer_norm_gradient_matches_finite_differences() {
    let mut rng = Rng::new(78);
    let shape = Shape::d3(2, 3, 5);
    let x = random_tensor::<f64>(&mut rng, shape);
    let gamma = random_tensor::<f64>(&mut rng, Shape::d1(5));
    let beta = random_tensor::<f64>(&mut rng, Shape::d1(5));
    let w = rng.vec_f64(x.numel());
    let loss = |xv: &[f64], gv: &[f64], bv: &[f64]| {
        let t = |v: &[f64], s| Tensor::from_vec(s, v.to_vec()).unwrap();
        let y = layer_norm(
            &t(xv, shape),
            &t(gv, Shape::d1(5)),
            &t(bv, Shape::d1(5)),
            1e-3,
        )
        .unwrap()
        .y;
        dot(&w, y.data())
    };
    let out = layer_norm(&x, &gamma, &beta, 1e-3).unwrap();
    let dy = Tensor::from_vec(shape, w.clone()).unwrap();
    let gr = layer_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std).unwrap();
    let (xd, gd, bd) = (x.data(), gamma.data(), beta.data());
    assert_close(
        gr.dx.data(),
        &numeric_grad(xd, |v| loss(v, gd, bd)),
        1e-7,
        1e-5,
        "dx",
    );
    assert_close(
        gr.dgamma.data(),
        &numeric_grad(gd, |v| loss(xd, v, bd)),
        1e-7,
        1e-5,
        "dgamma",
    );
    assert_close(
        gr.dbeta.data(),
        &numeric_grad(bd, |v| loss(xd, gd, v)),
        1e-7,
        1e-5,
        "dbeta",
    );
}
