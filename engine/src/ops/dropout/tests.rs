//! Dropout: fast path vs naive twin (bit-identical masks, every ISA × thread count, f32 and
//! f64), thread-count independence, p = 0 / p = 1 semantics, keep-rate statistics, a pinned
//! anchor, and the named errors.

use super::*;
use crate::ops::elementwise::testkit::{AWKWARD_LENS, bits, for_each_isa_threads, random};
use crate::parallel::with_threads;
use crate::shape::Shape;
use crate::testing::{assert_close, tolerance};

fn dropout_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    let (atol, rtol) = tolerance::<T>(1);
    for &len in AWKWARD_LENS {
        let x: Vec<T> = random(&mut rng, len);
        let dy: Vec<T> = random(&mut rng, len);
        let dx0: Vec<T> = random(&mut rng, len);
        for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let (mut want_y, mut want_mask) = (vec![T::ZERO; len], vec![T::ZERO; len]);
            dropout_naive(p, &mut Rng::new(seed + 1), &x, &mut want_y, &mut want_mask);
            let want_dx: Vec<T> = (0..len).map(|i| dx0[i] + dy[i] * want_mask[i]).collect();
            for_each_isa_threads(|ctx| {
                let ctx = format!("{} len {len} p {p} ({ctx})", T::NAME);
                let mut mask = vec![T::ZERO; len];
                dropout_mask(p, &mut Rng::new(seed + 1), &mut mask);
                assert_eq!(bits(&mask), bits(&want_mask), "{ctx}: mask");
                let mut y = vec![T::ZERO; len];
                dropout_forward(&x, &mask, &mut y);
                assert_close(&y, &want_y, atol, rtol, &format!("{ctx}: y"));
                let mut dx = dx0.clone();
                dropout_backward(&dy, &mask, &mut dx);
                assert_close(&dx, &want_dx, atol, rtol, &format!("{ctx}: dx"));
            });
        }
    }
}

#[test]
fn dropout_matches_naive_awkward() {
    dropout_case::<f32>(81);
    dropout_case::<f64>(82);
}

#[test]
fn mask_is_independent_of_thread_count() {
    let x = Tensor::from_vec(
        Shape::d2(3, 50_000),
        random::<f32>(&mut Rng::new(83), 150_000),
    )
    .unwrap();
    let run = |threads| {
        with_threads(threads, || {
            dropout(&x, 0.3, &mut Rng::stream(9, "dropout")).unwrap()
        })
    };
    let ((y1, m1), (y2, m2)) = (run(1), run(2));
    assert_eq!(bits(m1.data()), bits(m2.data()));
    assert_eq!(bits(y1.data()), bits(y2.data()));
}

#[test]
fn p_zero_is_identity_and_p_one_is_zero_without_drawing() {
    let x = Tensor::from_vec(Shape::d1(5), vec![1.0f64, -2.0, 3.0, f64::MAX, -0.0]).unwrap();
    let mut rng = Rng::new(84);
    let (y, m) = dropout(&x, 0.0, &mut rng).unwrap();
    assert_eq!(bits(y.data()), bits(x.data()));
    assert!(m.data().iter().all(|&v| v == 1.0));
    let (y, m) = dropout(&x, 1.0, &mut rng).unwrap();
    assert!(y.data().iter().chain(m.data()).all(|&v| v == 0.0));
    let g = dropout_grad(&m, &x).unwrap();
    assert!(g.data().iter().all(|&v| v == 0.0));
    // The generator was not advanced by either call.
    assert_eq!(rng.next_u64(), Rng::new(84).next_u64());
}

#[test]
fn keep_rate_and_scale_match_p() {
    let n = 200_000;
    for p in [0.1, 0.5, 0.8] {
        let mut mask = vec![0.0f64; n];
        dropout_mask(p, &mut Rng::stream(85, "dropout"), &mut mask);
        let kept = mask.iter().filter(|&&v| v != 0.0).count() as f64;
        // Binomial(n, 1 − p): allow 5 standard deviations.
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (kept - n as f64 * (1.0 - p)).abs() < 5.0 * sd,
            "p {p}: kept {kept}"
        );
        assert!(mask.iter().all(|&v| v == 0.0 || v == 1.0 / (1.0 - p)));
        // Inverted dropout keeps the mean: E[m] = 1.
        let mean = mask.iter().sum::<f64>() / n as f64;
        assert!(
            (mean - 1.0).abs() < 5.0 * sd / (n as f64 * (1.0 - p)),
            "p {p}: mean {mean}"
        );
    }
}

#[test]
fn dropout_hand_computed_anchor() {
    // The first six draws of Rng::new(42), computed independently with a 15-line Python
    // re-implementation of SplitMix64 + xoshiro256** (`(next >> 11) / 2⁵³`), are
    // 0.0839, 0.3790, 0.6800, 0.9247, 0.9918, 0.7697. With p = 0.5, elements 2–5 are kept
    // (u ≥ 0.5) and scaled by 1/(1 − 0.5) = 2.
    let mut r = Rng::new(42);
    let u: Vec<f64> = (0..6).map(|_| r.uniform()).collect();
    let want_u = [0.0839, 0.3790, 0.6800, 0.9247, 0.9918, 0.7697];
    assert_close(&u, &want_u, 1e-4, 0.0, "pinned draws");
    let x = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (mut y, mut mask) = ([0.0; 6], [0.0; 6]);
    dropout_naive(0.5, &mut Rng::new(42), &x, &mut y, &mut mask);
    assert_eq!(mask, [0.0, 0.0, 2.0, 2.0, 2.0, 2.0]);
    assert_eq!(y, [0.0, 0.0, 6.0, 8.0, 10.0, 12.0]);
    let mut dx = [1.0; 6];
    dropout_backward(&[1.0; 6], &mask, &mut dx);
    assert_eq!(dx, [1.0, 1.0, 3.0, 3.0, 3.0, 3.0]);
}

#[test]
fn bad_p_and_shapes_are_named_errors() {
    let x = Tensor::<f32>::zeros(Shape::d1(4));
    for p in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let e = dropout(&x, p, &mut Rng::new(1)).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParam { name: "p", .. }),
            "{p}: {e}"
        );
    }
    let e = dropout_grad(&x, &Tensor::zeros(Shape::d1(5)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mask [4], dy [5]"), "{e}");
    let empty = Tensor::<f32>::zeros(Shape::d1(0));
    assert!(matches!(
        dropout(&empty, 0.5, &mut Rng::new(1)),
        Err(Error::EmptyOutput { .. })
    ));
}
