//! upsample1d: fast vs naive on every ISA × thread count, anchors, adjoint, errors.

use super::*;
use crate::ops::pool1d::tests::{random_tensor, run_matrix};
use crate::testing::{Rng, assert_close, tolerance};

fn check_case<T: Real>(n: usize, c: usize, l: usize, p: Upsample1dParams, seed: u64, label: &str) {
    let mut rng = Rng::new(seed);
    let x = random_tensor::<T>(&mut rng, Shape::d3(n, c, l));
    let dy = random_tensor::<T>(&mut rng, Shape::d3(n, c, l * p.scale));
    let ctx = format!("{label} {} x [{n}, {c}, {l}] {p:?}", T::NAME);
    let xa = ArrayView3::from_shape((n, c, l), x.data()).unwrap();
    let dya = ArrayView3::from_shape((n, c, l * p.scale), dy.data()).unwrap();
    let (atol, rtol) = tolerance::<T>(2 * p.scale);
    let y = upsample1d(&x, &p).unwrap();
    assert_close(
        y.data(),
        upsample1d_naive(xa, &p).as_slice().unwrap(),
        atol,
        rtol,
        &format!("fwd {ctx}"),
    );
    let dx = upsample1d_backward(&dy, x.shape(), &p).unwrap();
    let want = upsample1d_backward_naive(dya, &p);
    assert_close(
        dx.data(),
        want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("bwd {ctx}"),
    );
}

const MODES: [UpsampleMode; 2] = [UpsampleMode::Nearest, UpsampleMode::Linear];

#[test]
fn upsample1d_matches_naive_awkward() {
    // (n, c, l, scale): length 1, lengths < 8 and not multiples of 8, scale 1, odd and even
    // scales, and one size above parallel::GRAIN.
    let cases = [
        (1, 1, 1, 2),
        (1, 1, 1, 3),
        (2, 3, 5, 2),
        (1, 2, 7, 3),
        (2, 1, 9, 4),
        (1, 1, 13, 1),
        (3, 2, 6, 5),
        (4, 16, 300, 2),
    ];
    run_matrix(|label| {
        for (i, &(n, c, l, s)) in cases.iter().enumerate() {
            for mode in MODES {
                let p = Upsample1dParams { scale: s, mode };
                check_case::<f32>(n, c, l, p, 300 + i as u64, label);
                check_case::<f64>(n, c, l, p, 300 + i as u64, label);
            }
        }
    });
}

#[test]
fn upsample1d_matches_naive_random() {
    run_matrix(|label| {
        let mut rng = Rng::new(0x5a);
        for _ in 0..20 {
            let (n, c, l, s) = (
                1 + rng.below(3),
                1 + rng.below(3),
                1 + rng.below(30),
                1 + rng.below(6),
            );
            let seed = rng.next_u64();
            for mode in MODES {
                let p = Upsample1dParams { scale: s, mode };
                check_case::<f32>(n, c, l, p, seed, label);
                check_case::<f64>(n, c, l, p, seed, label);
            }
        }
    });
}

#[test]
fn upsample1d_anchor_hand_computed() {
    let x = Tensor::from_vec(Shape::d3(1, 1, 3), vec![0.0f64, 4.0, 8.0]).unwrap();
    let near = Upsample1dParams {
        scale: 2,
        mode: UpsampleMode::Nearest,
    };
    assert_eq!(
        upsample1d(&x, &near).unwrap().data(),
        &[0.0, 0.0, 4.0, 4.0, 8.0, 8.0]
    );
    // Scale 2: src = t/2 − 1/4 → 0 (clamped), 0.25, 0.75, 1.25, 1.75, 2.25 (i1 clamped).
    let lin = Upsample1dParams {
        scale: 2,
        mode: UpsampleMode::Linear,
    };
    assert_eq!(
        upsample1d(&x, &lin).unwrap().data(),
        &[0.0, 1.0, 3.0, 5.0, 7.0, 8.0]
    );
    // Scale 3: src = (t + ½)/3 − ½ → 0 (clamped), 0, 1/3, 2/3, 1, 4/3, 5/3, 2, 2.
    let lin3 = Upsample1dParams {
        scale: 3,
        mode: UpsampleMode::Linear,
    };
    let y = upsample1d(&x, &lin3).unwrap();
    let want = [
        0.0,
        0.0,
        4.0 / 3.0,
        8.0 / 3.0,
        4.0,
        16.0 / 3.0,
        20.0 / 3.0,
        8.0,
        8.0,
    ];
    assert_close(y.data(), &want, 1e-14, 1e-14, "scale 3");
    // Backward of nearest: sums of each group of `scale` outputs.
    let dy = Tensor::from_vec(Shape::d3(1, 1, 6), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(
        upsample1d_backward(&dy, x.shape(), &near).unwrap().data(),
        &[3.0, 7.0, 11.0]
    );
    // Linear, scale 2: output t feeds (i0, i1) with weights (1−λ, λ); collected per input:
    // dx0 = 1·dy0 + .75·dy1 + .25·dy2, dx1 = .25·dy1 + .75·dy2 + .75·dy3 + .25·dy4,
    // dx2 = .25·dy3 + .75·dy4 + 1·dy5.
    let dx = upsample1d_backward(&dy, x.shape(), &lin).unwrap();
    assert_close(
        dx.data(),
        &[1.0 + 1.5 + 0.75, 0.5 + 2.25 + 3.0 + 1.25, 1.0 + 3.75 + 6.0],
        1e-14,
        1e-14,
        "bwd",
    );
}

#[test]
fn upsample1d_backward_is_the_adjoint() {
    let mut rng = Rng::new(9);
    let x = random_tensor::<f64>(&mut rng, Shape::d3(2, 2, 11));
    for mode in MODES {
        for scale in [1, 2, 3, 4] {
            let p = Upsample1dParams { scale, mode };
            let y = upsample1d(&x, &p).unwrap();
            let dy = random_tensor::<f64>(&mut rng, y.shape());
            let dx = upsample1d_backward(&dy, x.shape(), &p).unwrap();
            let lhs: f64 = dy.data().iter().zip(y.data()).map(|(a, b)| a * b).sum();
            let rhs: f64 = dx.data().iter().zip(x.data()).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-12, "{p:?}: {lhs} vs {rhs}");
        }
    }
}

#[test]
fn upsample1d_errors_are_named() {
    let x = Tensor::<f32>::zeros(Shape::d3(1, 2, 3));
    let p0 = Upsample1dParams {
        scale: 0,
        mode: UpsampleMode::Nearest,
    };
    assert!(matches!(
        upsample1d(&x, &p0),
        Err(Error::InvalidParam { name: "scale", .. })
    ));
    let p = Upsample1dParams {
        scale: 2,
        mode: UpsampleMode::Linear,
    };
    assert!(matches!(
        upsample1d(&Tensor::<f32>::zeros(Shape::d2(2, 3)), &p),
        Err(Error::BadRank { .. })
    ));
    assert!(matches!(
        upsample1d(&Tensor::<f32>::zeros(Shape::d3(1, 0, 3)), &p),
        Err(Error::EmptyOutput { .. })
    ));
    let dy = Tensor::<f32>::zeros(Shape::d3(1, 2, 5));
    assert!(matches!(
        upsample1d_backward(&dy, x.shape(), &p),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn upsample1d_backward_kernel_accumulates() {
    let mut rng = Rng::new(10);
    for mode in MODES {
        let p = Upsample1dParams { scale: 3, mode };
        let dy = random_tensor::<f64>(&mut rng, Shape::d3(2, 2, 21));
        let mut dx = vec![1.0; 2 * 2 * 7];
        upsample1d_backward_input(dy.data(), 7, &p, &mut dx);
        let fresh = upsample1d_backward(&dy, Shape::d3(2, 2, 7), &p).unwrap();
        let want = crate::ops::pool1d::tests::plus_one(fresh.data());
        assert_close(&dx, &want, 1e-14, 1e-14, "upsample");
    }
}
