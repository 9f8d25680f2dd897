//! Normalisation tests: batch norm here; layer norm in `layer.rs`. Fast vs naive (every ISA ×
//! thread count, f32 and f64), hand-computed anchors, finite differences, the composition check,
//! bit-identity across thread counts, errors.

use ndarray::ArrayView3;

use super::naive::*;
use super::*;
use crate::ops::pool1d::tests::{random_tensor, run_matrix};
use crate::shape::Shape;
use crate::testing::{Rng, assert_close, cast_vec, tolerance};
mod checks;
mod layer;

/// (n, c, l) view of a batch-norm input of rank 2, 3 or 4.
fn dims_of(s: Shape) -> (usize, usize, usize) {
    let d = s.dims();
    match d.len() {
        2 => (d[0], d[1], 1),
        3 => (d[0], d[1], d[2]),
        _ => (d[0], d[1], d[2] * d[3]),
    }
}

fn check_batch_norm<T: Real>(shape: Shape, seed: u64, label: &str) {
    let (n, c, l) = dims_of(shape);
    let mut rng = Rng::new(seed);
    // An offset mean and a spread scale per channel, as after a conv layer.
    let xv: Vec<f64> = (0..shape.numel())
        .map(|i| 3.0 * rng.normal() + ((i / l) % c) as f64)
        .collect();
    let x = Tensor::<T>::from_vec(shape, cast_vec(&xv)).unwrap();
    let gamma = random_tensor::<T>(&mut rng, Shape::d1(c));
    let beta = random_tensor::<T>(&mut rng, Shape::d1(c));
    let dy = random_tensor::<T>(&mut rng, shape);
    let p = BatchNormParams::default();
    let ctx = format!("{label} {} x {shape} seed {seed}", T::NAME);
    let xa = ArrayView3::from_shape((n, c, l), x.data()).unwrap();
    let dya = ArrayView3::from_shape((n, c, l), dy.data()).unwrap();
    let (atol, rtol) = tolerance::<T>(n * l);

    let mut running = RunningStats::<T>::new(c);
    let out = batch_norm_train(&x, &gamma, &beta, Some(&mut running), &p).unwrap();
    let (mean, var) = batch_norm_stats_naive(xa);
    let eps = T::from_f64(p.eps);
    let inv_std: Vec<T> = var.iter().map(|&v| T::ONE / (v + eps).sqrt()).collect();
    assert_close(
        out.mean.data(),
        mean.as_slice().unwrap(),
        atol,
        rtol,
        &format!("mean {ctx}"),
    );
    assert_close(
        out.inv_std.data(),
        &inv_std,
        atol,
        rtol,
        &format!("inv_std {ctx}"),
    );
    let y_want = batch_norm_forward_naive(
        xa,
        gamma.data(),
        beta.data(),
        mean.as_slice().unwrap(),
        &inv_std,
    );
    assert_close(
        out.y.data(),
        y_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("train y {ctx}"),
    );
    let m = T::from_f64(p.momentum);
    let unbias = T::from_usize(n * l) / T::from_usize(n * l - 1);
    let rm: Vec<T> = mean.iter().map(|&v| m * v).collect();
    let rv: Vec<T> = var.iter().map(|&v| (T::ONE - m) + m * v * unbias).collect();
    assert_close(
        running.mean.data(),
        &rm,
        atol,
        rtol,
        &format!("running mean {ctx}"),
    );
    assert_close(
        running.var.data(),
        &rv,
        atol,
        rtol,
        &format!("running var {ctx}"),
    );

    let g = batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std, BnMode::Train).unwrap();
    let (dx, dg, db) = batch_norm_backward_naive(
        dya,
        xa,
        gamma.data(),
        out.mean.data(),
        out.inv_std.data(),
        BnMode::Train,
    );
    assert_close(
        g.dx.data(),
        dx.as_slice().unwrap(),
        atol,
        rtol,
        &format!("train dx {ctx}"),
    );
    assert_close(
        g.dgamma.data(),
        &dg,
        atol,
        rtol,
        &format!("train dgamma {ctx}"),
    );
    assert_close(
        g.dbeta.data(),
        &db,
        atol,
        rtol,
        &format!("train dbeta {ctx}"),
    );

    let ev = batch_norm_eval(&x, &gamma, &beta, &running, &p).unwrap();
    let inv_run: Vec<T> = running
        .var
        .data()
        .iter()
        .map(|&v| T::ONE / (v + eps).sqrt())
        .collect();
    let y_want =
        batch_norm_forward_naive(xa, gamma.data(), beta.data(), running.mean.data(), &inv_run);
    assert_close(
        ev.y.data(),
        y_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("eval y {ctx}"),
    );
    let g = batch_norm_backward(&dy, &x, &gamma, &ev.mean, &ev.inv_std, BnMode::Eval).unwrap();
    let (dx, dg, db) = batch_norm_backward_naive(
        dya,
        xa,
        gamma.data(),
        ev.mean.data(),
        ev.inv_std.data(),
        BnMode::Eval,
    );
    assert_close(
        g.dx.data(),
        dx.as_slice().unwrap(),
        atol,
        rtol,
        &format!("eval dx {ctx}"),
    );
    assert_close(
        g.dgamma.data(),
        &dg,
        atol,
        rtol,
        &format!("eval dgamma {ctx}"),
    );
    assert_close(
        g.dbeta.data(),
        &db,
        atol,
        rtol,
        &format!("eval dbeta {ctx}"),
    );
}

const BN_SHAPES: &[&[usize]] = &[
    &[2, 1],        // N×F, two values per channel
    &[5, 3],        // N×F
    &[1, 1, 2],     // batch 1, channel 1
    &[3, 2, 7],     // length < 8
    &[2, 4, 13],    // not a multiple of 8
    &[1, 3, 33],    // batch 1
    &[2, 3, 4, 5],  // BatchNorm2d
    &[1, 2, 1, 9],  // NCHW with H = 1
    &[32, 16, 187], // a beat CNN layer: above GRAIN, several reduction blocks
    &[300, 128],    // N×F above GRAIN
];

#[test]
fn batch_norm_matches_naive_awkward() {
    run_matrix(|label| {
        for (i, d) in BN_SHAPES.iter().enumerate() {
            let s = Shape::new(d).unwrap();
            check_batch_norm::<f32>(s, 400 + i as u64, label);
            check_batch_norm::<f64>(s, 400 + i as u64, label);
        }
    });
}

#[test]
fn batch_norm_matches_naive_random() {
    run_matrix(|label| {
        let mut rng = Rng::new(0xb7);
        for _ in 0..15 {
            let rank = 2 + rng.below(3);
            let mut d = vec![1 + rng.below(4), 1 + rng.below(5)];
            for _ in 2..rank {
                d.push(1 + rng.below(20));
            }
            if d[0] * d[2..].iter().product::<usize>() < 2 {
                d[0] = 2;
            }
            let s = Shape::new(&d).unwrap();
            let seed = rng.next_u64();
            check_batch_norm::<f32>(s, seed, label);
            check_batch_norm::<f64>(s, seed, label);
        }
    });
}

#[test]
fn batch_norm_anchor_hand_computed() {
    // One channel, values 1, 2, 3, 6: μ = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5.
    let x = Tensor::from_vec(Shape::d3(2, 1, 2), vec![1.0f64, 2.0, 3.0, 6.0]).unwrap();
    let (g, b) = (
        Tensor::full(Shape::d1(1), 2.0),
        Tensor::full(Shape::d1(1), 0.5),
    );
    let p = BatchNormParams {
        eps: 0.0,
        momentum: 0.1,
    };
    let mut running = RunningStats::new(1);
    let out = batch_norm_train(&x, &g, &b, Some(&mut running), &p).unwrap();
    let s = 3.5f64.sqrt();
    let want: Vec<f64> = [-2.0, -1.0, 0.0, 3.0]
        .iter()
        .map(|v| 2.0 * v / s + 0.5)
        .collect();
    assert_close(out.y.data(), &want, 1e-15, 1e-15, "y");
    assert_eq!(out.mean.data(), &[3.0]);
    // Running stats: 0.9·0 + 0.1·3 and 0.9·1 + 0.1·(3.5·4/3) (unbiased).
    assert_close(running.mean.data(), &[0.3], 1e-15, 1e-15, "running mean");
    assert_close(
        running.var.data(),
        &[0.9 + 0.1 * 14.0 / 3.0],
        1e-15,
        1e-15,
        "running var",
    );
    // Evaluation mode uses the running statistics, so it differs from training mode.
    let ev = batch_norm_eval(&x, &g, &b, &running, &p).unwrap();
    let r = 1.0 / (0.9 + 0.1 * 14.0 / 3.0f64).sqrt();
    assert_close(
        ev.y.data(),
        &[
            2.0 * 0.7 * r + 0.5,
            2.0 * 1.7 * r + 0.5,
            2.0 * 2.7 * r + 0.5,
            2.0 * 5.7 * r + 0.5,
        ],
        1e-14,
        1e-14,
        "eval y",
    );
    // A constant dy moves every output equally, which normalisation undoes: dx = 0, dβ = Σdy.
    let dy = Tensor::full(x.shape(), 1.5);
    let gr = batch_norm_backward(&dy, &x, &g, &out.mean, &out.inv_std, BnMode::Train).unwrap();
    assert_close(gr.dx.data(), &[0.0; 4], 1e-14, 0.0, "dx of constant dy");
    assert_eq!(gr.dbeta.data(), &[6.0]);
    assert_close(gr.dgamma.data(), &[0.0], 1e-14, 0.0, "Σ x̂ = 0");
    // dy = x̂ only rescales the batch, which normalisation also undoes (ε = 0): dx = 0, dγ = M.
    let xhat = Tensor::from_vec(
        x.shape(),
        [-2.0, -1.0, 0.0, 3.0].iter().map(|v| v / s).collect(),
    )
    .unwrap();
    let gr = batch_norm_backward(&xhat, &x, &g, &out.mean, &out.inv_std, BnMode::Train).unwrap();
    assert_close(gr.dx.data(), &[0.0; 4], 1e-14, 0.0, "dx of dy = x̂");
    assert_close(gr.dgamma.data(), &[4.0], 1e-14, 1e-14, "Σ x̂² = M");
    // In evaluation mode dx is the per-channel scale γ·r times dy.
    let ge = batch_norm_backward(&dy, &x, &g, &ev.mean, &ev.inv_std, BnMode::Eval).unwrap();
    assert_close(ge.dx.data(), &[1.5 * 2.0 * r; 4], 1e-14, 1e-14, "eval dx");
}

/// Central differences of `loss(x) = Σ w ⊙ f(x)` in f64.
pub(super) fn numeric_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            let keep = x[i];
            x[i] = keep + h;
            let up = f(&x);
            x[i] = keep - h;
            let down = f(&x);
            x[i] = keep;
            (up - down) / (2.0 * h)
        })
        .collect()
}

pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Batch norm written as the composition mean → subtract → variance → divide → affine, with
/// plain loops and nothing shared with the kernels.
fn batch_norm_composed(
    x: &[f64],
    (n, c, l): (usize, usize, usize),
    g: &[f64],
    b: &[f64],
    eps: f64,
) -> Vec<f64> {
    let idx = |i: usize, ch: usize, t: usize| (i * c + ch) * l + t;
    let mut y = vec![0.0; x.len()];
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|i| (0..l).map(move |t| idx(i, ch, t)))
            .map(|k| x[k])
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let centred: Vec<f64> = vals.iter().map(|v| v - mean).collect();
        let var = centred.iter().map(|d| d * d).sum::<f64>() / vals.len() as f64;
        let std = (var + eps).sqrt();
        for (k, d) in (0..n)
            .flat_map(|i| (0..l).map(move |t| idx(i, ch, t)))
            .zip(&centred)
        {
            y[k] = g[ch] * (d / std) + b[ch];
        }
    }
    y
}

#[test]
fn batch_norm_matches_its_composition_in_value_and_gradient() {
    let mut rng = Rng::new(77);
    for d in [&[4usize, 3][..], &[2, 3, 5], &[2, 2, 3, 2]] {
        let shape = Shape::new(d).unwrap();
        let (n, c, l) = dims_of(shape);
        let x = random_tensor::<f64>(&mut rng, shape);
        let gamma = random_tensor::<f64>(&mut rng, Shape::d1(c));
        let beta = random_tensor::<f64>(&mut rng, Shape::d1(c));
        let w = rng.vec_f64(x.numel()); // a random projection: hides no transposed-dy bug
        let p = BatchNormParams {
            eps: 1e-3,
            momentum: 0.1,
        };
        let out = batch_norm_train(&x, &gamma, &beta, None, &p).unwrap();
        let composed = batch_norm_composed(x.data(), (n, c, l), gamma.data(), beta.data(), p.eps);
        assert_close(
            out.y.data(),
            &composed,
            1e-13,
            1e-13,
            &format!("value {shape}"),
        );
        let dy = Tensor::from_vec(shape, w.clone()).unwrap();
        let gr =
            batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std, BnMode::Train).unwrap();
        let (gd, bd) = (gamma.data().to_vec(), beta.data().to_vec());
        let dx = numeric_grad(x.data(), |xv| {
            dot(&w, &batch_norm_composed(xv, (n, c, l), &gd, &bd, p.eps))
        });
        assert_close(gr.dx.data(), &dx, 1e-7, 1e-5, &format!("dx {shape}"));
        let dg = numeric_grad(&gd, |gv| {
            dot(
                &w,
                &batch_norm_composed(x.data(), (n, c, l), gv, &bd, p.eps),
            )
        });
        assert_close(
            gr.dgamma.data(),
            &dg,
            1e-7,
            1e-5,
            &format!("dgamma {shape}"),
        );
        let db = numeric_grad(&bd, |bv| {
            dot(
                &w,
                &batch_norm_composed(x.data(), (n, c, l), &gd, bv, p.eps),
            )
        });
        assert_close(gr.dbeta.data(), &db, 1e-7, 1e-5, &format!("dbeta {shape}"));
    }
}
