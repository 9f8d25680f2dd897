//! Softmax kernels vs their naive twins (every ISA × thread count, f32 and f64), the fused
//! log-softmax against log(softmax) in value and gradient, finite differences, numerics, errors.

use super::*;
use crate::ops::elementwise::testkit::{for_each_isa_threads, random};
use crate::testing::{Rng, assert_close, tolerance};

/// (rows, len): one element, SIMD tails, long rows, one row above GRAIN, many short rows.
const SHAPES: &[(usize, usize)] = &[
    (1, 1),
    (4, 1),
    (1, 7),
    (3, 9),
    (2, 1023),
    (1, GRAIN + 1),
    (GRAIN / 8 + 1, 8),
    (257, 5),
];

type Fwd<T> = fn(&[T], usize, &mut [T]);
type Bwd<T> = fn(&[T], &[T], usize, &mut [T]);

/// (name, fast forward, fast backward, naive forward, naive backward).
type Case<T> = (&'static str, Fwd<T>, Bwd<T>, Fwd<T>, Bwd<T>);

fn pairs<T: Real>() -> [Case<T>; 2] {
    [
        (
            "softmax",
            softmax_forward,
            softmax_backward,
            softmax_naive,
            softmax_backward_naive,
        ),
        (
            "log_softmax",
            log_softmax_forward,
            log_softmax_backward,
            log_softmax_naive,
            log_softmax_backward_naive,
        ),
    ]
}

fn softmax_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut shapes = SHAPES.to_vec();
    shapes.extend((0..3).map(|_| (1 + rng.below(40), 1 + rng.below(300))));
    for (rows, len) in shapes {
        let n = rows * len;
        // Logits spread over [−8, 8) so rows have a clear but not overwhelming maximum.
        let x: Vec<T> = random::<T>(&mut rng, n)
            .into_iter()
            .map(|v| v * T::from_f64(8.0))
            .collect();
        let dy: Vec<T> = random(&mut rng, n);
        let dx0: Vec<T> = random(&mut rng, n);
        let (atol, rtol) = tolerance::<T>(len);
        for (name, fwd, bwd, fwd_naive, bwd_naive) in pairs::<T>() {
            let mut want_y = vec![T::ZERO; n];
            fwd_naive(&x, len, &mut want_y);
            let mut want_dx = dx0.clone();
            bwd_naive(&want_y, &dy, len, &mut want_dx);
            for_each_isa_threads(|ctx| {
                let ctx = format!(
                    "{name} {} rows {rows} len {len} seed {seed} ({ctx})",
                    T::NAME
                );
                let mut y = vec![T::ZERO; n];
                fwd(&x, len, &mut y);
                assert_close(&y, &want_y, atol, rtol, &format!("{ctx}: forward"));
                let mut dx = dx0.clone();
                bwd(&want_y, &dy, len, &mut dx);
                assert_close(&dx, &want_dx, atol, rtol, &format!("{ctx}: backward"));
            });
        }
    }
}

#[test]
fn softmax_matches_naive_awkward_and_random() {
    softmax_case::<f32>(61);
    softmax_case::<f64>(62);
}

#[test]
fn softmax_hand_computed_anchor() {
    // x = [0, ln 2]: e⁰ : e^(ln 2) = 1 : 2, so y = [1/3, 2/3].
    let x = [0.0f64, 2.0f64.ln()];
    let mut y = [0.0; 2];
    softmax_naive(&x, 2, &mut y);
    assert_close(&y, &[1.0 / 3.0, 2.0 / 3.0], 1e-15, 0.0, "softmax");
    // dy = [1, 0]: ⟨dy, y⟩ = 1/3, dx = [1/3 · 2/3, 2/3 · (−1/3)] = [2/9, −2/9].
    let mut dx = [0.0; 2];
    softmax_backward_naive(&y, &[1.0, 0.0], 2, &mut dx);
    assert_close(&dx, &[2.0 / 9.0, -2.0 / 9.0], 1e-15, 0.0, "softmax dx");
    let mut ly = [0.0; 2];
    log_softmax_naive(&x, 2, &mut ly);
    assert_close(
        &ly,
        &[(1.0f64 / 3.0).ln(), (2.0f64 / 3.0).ln()],
        1e-15,
        0.0,
        "log_softmax",
    );
    // dy = [1, 0]: Σdy = 1, dx = dy − softmax = [2/3, −2/3].
    let mut dx = [0.0; 2];
    log_softmax_backward_naive(&ly, &[1.0, 0.0], 2, &mut dx);
    assert_close(&dx, &[2.0 / 3.0, -2.0 / 3.0], 1e-15, 0.0, "log_softmax dx");
}

/// The fused op against the composition log(softmax(x)): values, and the gradient obtained by
/// chaining log's backward (ds = dy / s) into softmax's backward.
#[test]
fn fused_log_softmax_equals_log_of_softmax_in_value_and_gradient() {
    let mut rng = Rng::new(63);
    let (rows, len) = (6, 11);
    let x: Vec<f64> = random::<f64>(&mut rng, rows * len)
        .iter()
        .map(|v| 4.0 * v)
        .collect();
    let dy: Vec<f64> = random(&mut rng, rows * len);
    for_each_isa_threads(|ctx| {
        let mut s = vec![0.0; x.len()];
        softmax_forward(&x, len, &mut s);
        let composed: Vec<f64> = s.iter().map(|v| v.ln()).collect();
        let mut fused = vec![0.0; x.len()];
        log_softmax_forward(&x, len, &mut fused);
        assert_close(&fused, &composed, 1e-13, 1e-13, &format!("{ctx}: value"));

        let ds: Vec<f64> = dy.iter().zip(&s).map(|(g, p)| g / p).collect();
        let mut dx_composed = vec![0.0; x.len()];
        softmax_backward(&s, &ds, len, &mut dx_composed);
        let mut dx_fused = vec![0.0; x.len()];
        log_softmax_backward(&fused, &dy, len, &mut dx_fused);
        assert_close(
            &dx_fused,
            &dx_composed,
            1e-12,
            1e-12,
            &format!("{ctx}: gradient"),
        );
    });
}

#[test]
fn fused_log_softmax_is_finite_where_log_of_softmax_is_not() {
    let x = [0.0f32, -1000.0, 1000.0, 999.0];
    for_each_isa_threads(|ctx| {
        // Row 1: e^(−1000) underflows to 0 in f32, so ln(softmax) = −∞, but log_softmax = −1000.
        let (mut s, mut l) = ([0.0f32; 2], [0.0f32; 2]);
        softmax_forward(&x[..2], 2, &mut s);
        log_softmax_forward(&x[..2], 2, &mut l);
        assert_eq!(s[1].ln(), f32::NEG_INFINITY, "{ctx}");
        assert!(
            (l[1] + 1000.0).abs() < 1e-3 && l[0].abs() < 1e-6,
            "{ctx}: {l:?}"
        );
        // Row 2: e^1000 would overflow without the max subtraction.
        softmax_forward(&x[2..], 2, &mut s);
        let e = (1.0f32).exp();
        assert_close(&s, &[e / (1.0 + e), 1.0 / (1.0 + e)], 1e-6, 1e-5, ctx);
    });
}

#[test]
fn naive_backward_matches_finite_differences() {
    // Loss L = Σ r ⊙ f(x) with random r (not all-ones, which hides transposed-index bugs).
    let mut rng = Rng::new(64);
    let len = 5;
    let x: Vec<f64> = random(&mut rng, 2 * len);
    let r: Vec<f64> = random(&mut rng, 2 * len);
    for (name, _, _, fwd, bwd) in pairs::<f64>() {
        let loss = |x: &[f64]| {
            let mut y = vec![0.0; x.len()];
            fwd(x, len, &mut y);
            y.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut y = vec![0.0; x.len()];
        fwd(&x, len, &mut y);
        let mut dx = vec![0.0; x.len()];
        bwd(&y, &r, len, &mut dx);
        for i in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += 1e-6;
            xm[i] -= 1e-6;
            let numeric = (loss(&xp) - loss(&xm)) / 2e-6;
            assert!(
                (dx[i] - numeric).abs() < 1e-8,
                "{name} dx[{i}] {} vs {numeric}",
                dx[i]
            );
        }
    }
}

#[test]
fn tensor_layer_validates() {
    let x = Tensor::from_vec(Shape::d2(2, 3), vec![1.0f32, 2.0, 3.0, 1.0, 1.0, 1.0]).unwrap();
    let y = softmax(&x).unwrap();
    let row_sums: Vec<f32> = y.data().chunks(3).map(|r| r.iter().sum()).collect();
    assert_close(&row_sums, &[1.0, 1.0], 1e-6, 0.0, "rows sum to 1");
    let ly = log_softmax(&x).unwrap();
    assert_close(
        &ly.data()[3..],
        &[-(3.0f32).ln(); 3],
        1e-6,
        0.0,
        "uniform row",
    );
    let dy = Tensor::from_vec(Shape::d2(2, 3), vec![1.0f32; 6]).unwrap();
    // An all-ones upstream gradient gives zero: softmax sums to 1 whatever x is.
    let g = softmax_grad(&y, &dy).unwrap();
    assert!(g.data().iter().all(|v| v.abs() < 1e-6), "{g:?}");
    assert!(log_softmax_grad(&ly, &dy).is_ok());
    let e = softmax_grad(&y, &Tensor::zeros(Shape::d2(3, 2)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("y [2, 3], dy [3, 2]"), "{e}");
    assert!(matches!(
        softmax(&Tensor::scalar(1.0f32)),
        Err(Error::InvalidParam { .. })
    ));
    assert!(matches!(
        log_softmax(&Tensor::<f32>::zeros(Shape::d2(4, 0))),
        Err(Error::EmptyOutput { .. })
    ));
}
