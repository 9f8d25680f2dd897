//! The f32 path: every gradcheck above runs in f64 (scalar kernels), while training runs in f32
//! through the engine's SIMD kernels. This test runs one small network through every wired op
//! family in both precisions and checks that the f32 gradients agree with the f64 ones, so a
//! wiring mistake that only affects the f32 dispatch cannot hide.

use ecgrad_engine::ops::conv1d::Conv1dParams;
use ecgrad_engine::ops::norm::{BatchNormParams, RunningStats};
use ecgrad_engine::ops::pool1d::Pool1dParams;
use ecgrad_engine::ops::upsample1d::{Upsample1dParams, UpsampleMode};
use ecgrad_engine::{Real, Rng, Tensor};

use super::*;
use crate::gradcheck::random_tensor;
use crate::tape::{Tape, Var};

/// conv1d → batch norm → GELU → avg pool → upsample → dropout → ·r → sum, then a linear head
/// (global pool → matmul → log_softmax → ·r → sum); returns the loss and the input gradients.
fn run<T: Real>(
    inputs: &[Tensor<f64>],
    r1: &Tensor<f64>,
    r2: &Tensor<f64>,
) -> (f64, Vec<Vec<f64>>) {
    let cast = |t: &Tensor<f64>| {
        Tensor::<T>::from_vec(
            t.shape(),
            t.data().iter().map(|&v| T::from_f64(v)).collect(),
        )
        .expect("same length")
    };
    let mut tape = Tape::<T>::new();
    let vars: Vec<Var<T>> = inputs.iter().map(|t| tape.leaf(cast(t), true)).collect();
    let [x, w, b, g, be, lw] = &vars[..] else {
        unreachable!()
    };
    let t = &mut tape;
    let p = Conv1dParams {
        stride: 2,
        padding: 1,
        dilation: 1,
    };
    let y = conv1d(t, x, w, Some(b), p).unwrap();
    let mut running = RunningStats::new(4);
    let y = batch_norm(
        t,
        &y,
        g,
        be,
        &mut running,
        &BatchNormParams::default(),
        true,
    )
    .unwrap();
    let y = gelu(t, &y).unwrap();
    let y = avg_pool1d(t, &y, &Pool1dParams::new(2)).unwrap();
    let up = Upsample1dParams {
        scale: 2,
        mode: UpsampleMode::Linear,
    };
    let y = upsample1d(t, &y, &up).unwrap();
    let y = dropout(t, &y, 0.25, &mut Rng::stream(5, "dropout"), true).unwrap();
    let r1v = t.input(cast(r1));
    let a = mul(t, &y, &r1v).unwrap();
    let a = sum(t, &a).unwrap();
    let h = global_avg_pool1d(t, &y).unwrap(); // [N, 4]
    let z = matmul(t, &h, lw, false, true).unwrap(); // [N, 3]
    let z = log_softmax(t, &z).unwrap();
    let r2v = t.input(cast(r2));
    let c = mul(t, &z, &r2v).unwrap();
    let c = sum(t, &c).unwrap();
    let loss = add(t, &a, &c).unwrap();
    let value = loss.value().data()[0].to_f64();
    let grads = tape.backward(&loss).unwrap();
    let out = vars
        .iter()
        .map(|v| {
            grads
                .get(v.id())
                .unwrap()
                .data()
                .iter()
                .map(|g| g.to_f64())
                .collect()
        })
        .collect();
    (value, out)
}

#[test]
fn f32_gradients_match_f64_through_every_op_family() {
    let (n, c, l) = (3, 2, 21);
    let inputs = [
        random_tensor(&[n, c, l], -1.0, 1.0, 1),
        random_tensor(&[4, c, 3], -0.5, 0.5, 2),
        random_tensor(&[4], -0.5, 0.5, 3),
        random_tensor(&[4], 0.5, 1.5, 4),
        random_tensor(&[4], -0.5, 0.5, 5),
        random_tensor(&[3, 4], -1.0, 1.0, 6),
    ];
    // conv: L_out = ⌊(21 + 2 − 3)/2⌋ + 1 = 11; pool → 5; upsample → 10.
    let r1 = random_tensor(&[n, 4, 10], -1.0, 1.0, 7);
    let r2 = random_tensor(&[n, 3], -1.0, 1.0, 8);
    let (v64, g64) = run::<f64>(&inputs, &r1, &r2);
    let (v32, g32) = run::<f32>(&inputs, &r1, &r2);
    assert!(
        (v64 - v32).abs() <= 1e-4 * v64.abs().max(1.0),
        "loss {v64} vs {v32}"
    );
    // One scale for all inputs: the conv bias gradient is exactly 0 in exact arithmetic (batch
    // norm removes any per-channel shift), so a per-input relative test would compare noise.
    let scale = g64.iter().flatten().fold(0f64, |m, v| m.max(v.abs()));
    for (k, (a, b)) in g64.iter().zip(&g32).enumerate() {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * scale,
                "input {k}[{i}]: f64 {x} vs f32 {y} (scale {scale})"
            );
        }
    }
}
