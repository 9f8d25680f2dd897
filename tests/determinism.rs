//! Same seed → bit-identical results at 1 and 2 threads, through the public engine API.
//!
//! Paper figures must not depend on the machine's core count (DESIGN.md §2.11). Each case runs
//! one op chain inside a 1-thread and a 2-thread rayon pool and compares every output bit.
//! The shapes are chosen above the parallel thresholds so the 2-thread run really splits work.

#![forbid(unsafe_code)]

use ecgrad_engine::gemm::{MatMut, MatRef, gemm};
use ecgrad_engine::ops::conv1d::{Conv1dNeeds, Conv1dParams, conv1d, conv1d_backward};
use ecgrad_engine::ops::norm::{BatchNormParams, BnMode, batch_norm_backward, batch_norm_train};
use ecgrad_engine::parallel::with_threads;
use ecgrad_engine::{Rng, Shape, Tensor};

fn random(rng: &mut Rng, shape: Shape) -> Tensor {
    Tensor::from_vec(shape, rng.vec_f32(shape.numel())).expect("length matches shape")
}

fn bits(t: &[f32]) -> Vec<u32> {
    t.iter().map(|v| v.to_bits()).collect()
}

/// Runs `f` at 1 and 2 threads and asserts every returned buffer is bit-identical.
fn assert_thread_invariant(what: &str, f: impl Fn() -> Vec<Vec<f32>> + Send + Sync) {
    let one = with_threads(1, &f);
    let two = with_threads(2, &f);
    assert_eq!(one.len(), two.len());
    for (i, (a, b)) in one.iter().zip(&two).enumerate() {
        assert!(!a.is_empty(), "{what}: output {i} is empty");
        assert!(
            bits(a) == bits(b),
            "{what}: output {i} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn conv1d_forward_and_backward_are_thread_invariant() {
    let mut rng = Rng::new(2024);
    // A mid-network ECG layer (S2 of PERFORMANCE.md, with stride 2 to leave a remainder).
    let x = random(&mut rng, Shape::d3(32, 32, 187));
    let w = random(&mut rng, Shape::d3(64, 32, 5));
    let b = random(&mut rng, Shape::d1(64));
    for params in [
        Conv1dParams {
            padding: 2,
            ..Conv1dParams::default()
        },
        Conv1dParams {
            stride: 2,
            padding: 1,
            dilation: 2,
        },
    ] {
        assert_thread_invariant(&format!("conv1d {params:?}"), || {
            let y = conv1d(&x, &w, Some(&b), params).expect("valid conv");
            let dy = Tensor::full(y.shape(), 0.5f32);
            let g = conv1d_backward(&x, &w, &dy, params, Conv1dNeeds::all()).expect("valid");
            vec![
                y.into_vec(),
                g.dx.expect("requested").into_vec(),
                g.dw.expect("requested").into_vec(),
                g.db.expect("requested").into_vec(),
            ]
        });
    }
}

#[test]
fn gemm_is_thread_invariant() {
    let mut rng = Rng::new(7);
    let (m, k, n) = (300, 257, 301);
    let a = rng.vec_f32(m * k);
    let b = rng.vec_f32(k * n);
    assert_thread_invariant("gemm 300x257x301", || {
        let mut c = vec![0.0f32; m * n];
        gemm(
            1.0,
            MatRef::row_major(&a, m, k).expect("fits"),
            MatRef::row_major(&b, k, n).expect("fits"),
            0.0,
            MatMut::row_major(&mut c, m, n).expect("fits"),
        )
        .expect("dims agree");
        vec![c]
    });
}

#[test]
fn batch_norm_train_and_backward_are_thread_invariant() {
    let mut rng = Rng::new(99);
    let x = random(&mut rng, Shape::d3(64, 32, 187));
    let gamma = random(&mut rng, Shape::d1(32));
    let beta = random(&mut rng, Shape::d1(32));
    let dy = random(&mut rng, x.shape());
    assert_thread_invariant("batch norm", || {
        let out = batch_norm_train(&x, &gamma, &beta, None, &BatchNormParams::default())
            .expect("valid batch norm");
        let g = batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.inv_std, BnMode::Train)
            .expect("valid backward");
        vec![
            out.y.into_vec(),
            g.dx.into_vec(),
            g.dgamma.into_vec(),
            g.dbeta.into_vec(),
        ]
    });
}
