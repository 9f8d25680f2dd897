//! pool1d: fast vs naive (random and awkward shapes, every ISA × thread count, f32 and f64),
//! hand-computed anchors, ties, errors.

use ndarray::ArrayView3;

use super::naive::*;
use super::*;
use crate::parallel::with_isa_threads;
use crate::testing::{Rng, assert_close, cast_vec, isas_to_test, threads_to_test, tolerance};

/// Runs `f(label)` once for every ISA this host can run × every thread count to test, inside a
/// pool of that size whose threads use that ISA. Shared by the tests of this op family.
pub(crate) fn run_matrix(f: impl Fn(&str) + Sync) {
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            let label = format!("{isa}/{threads}t");
            with_isa_threads(isa, threads, || f(&label))
                .expect("invariant: isas_to_test lists only runnable ISAs");
        }
    }
}

/// A seeded NCL tensor with values in [−1, 1).
pub(crate) fn random_tensor<T: Real>(rng: &mut Rng, shape: Shape) -> Tensor<T> {
    Tensor::from_vec(shape, cast_vec(&rng.vec_f64(shape.numel())))
        .expect("invariant: length matches shape")
}

fn view3<T>(data: &[T], n: usize, c: usize, l: usize) -> ArrayView3<'_, T> {
    ArrayView3::from_shape((n, c, l), data).expect("invariant: test shapes agree")
}

/// Every pooling op, forward and backward, fast vs naive on one case.
fn check_case<T: Real>(n: usize, c: usize, l: usize, p: Pool1dParams, seed: u64, label: &str) {
    let mut rng = Rng::new(seed);
    let x = random_tensor::<T>(&mut rng, Shape::d3(n, c, l));
    let axis = p.axis("test", l).expect("test cases are valid");
    let l_out = axis.out_len;
    let ctx = format!("{label} {} x [{n}, {c}, {l}] {p:?} seed {seed}", T::NAME);
    let xa = view3(x.data(), n, c, l);
    let dy = random_tensor::<T>(&mut rng, Shape::d3(n, c, l_out));
    let dya = view3(dy.data(), n, c, l_out);
    let (atol, rtol) = tolerance::<T>(p.kernel);

    // Max pool: the same element must be picked, so values and indices are exact.
    let (y_want, a_want) = max_pool1d_naive(xa, &axis);
    let out = max_pool1d(&x, &p).unwrap();
    assert_eq!(out.y.dims(), &[n, c, l_out], "{ctx}");
    assert_eq!(out.y.data(), y_want.as_slice().unwrap(), "max fwd {ctx}");
    assert_eq!(
        out.argmax.as_slice(),
        a_want.as_slice().unwrap(),
        "argmax {ctx}"
    );
    let dx = max_pool1d_backward(&dy, &out.argmax, x.shape()).unwrap();
    let dx_want = max_pool1d_backward_naive(dya, a_want.view(), l);
    assert_close(
        dx.data(),
        dx_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("max bwd {ctx}"),
    );

    for include in [true, false] {
        let p = p.with_count_include_pad(include);
        let y = avg_pool1d(&x, &p).unwrap();
        let y_want = avg_pool1d_naive(xa, &axis, include);
        assert_close(
            y.data(),
            y_want.as_slice().unwrap(),
            atol,
            rtol,
            &format!("avg fwd {ctx} incl {include}"),
        );
        let dx = avg_pool1d_backward(&dy, x.shape(), &p).unwrap();
        let dx_want = avg_pool1d_backward_naive(dya, &axis, include);
        assert_close(
            dx.data(),
            dx_want.as_slice().unwrap(),
            atol,
            rtol,
            &format!("avg bwd {ctx} incl {include}"),
        );
    }

    let (atol, rtol) = tolerance::<T>(l);
    let g = global_avg_pool1d(&x).unwrap();
    assert_close(
        g.data(),
        &global_avg_pool1d_naive(xa),
        atol,
        rtol,
        &format!("global fwd {ctx}"),
    );
    let dg = random_tensor::<T>(&mut rng, Shape::d2(n, c));
    let dx = global_avg_pool1d_backward(&dg, x.shape()).unwrap();
    let dx_want = global_avg_pool1d_backward_naive(dg.data(), n, c, l);
    assert_close(
        dx.data(),
        dx_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("global bwd {ctx}"),
    );
}

/// (n, c, l, kernel, stride, padding, dilation)
const AWKWARD: &[(usize, usize, usize, usize, usize, usize, usize)] = &[
    (1, 1, 1, 1, 1, 0, 1),     // length 1
    (1, 1, 5, 2, 2, 0, 1),     // stride 2 leaves a remainder
    (2, 3, 7, 3, 2, 1, 1),     // < 8, padding 1
    (1, 2, 13, 3, 3, 1, 1),    // stride 3 leaves a remainder
    (2, 1, 10, 2, 3, 0, 2),    // dilation 2
    (1, 1, 2, 3, 1, 1, 1),     // kernel longer than the signal, padding makes it fit
    (3, 5, 17, 4, 3, 2, 1),    // padding = kernel / 2
    (1, 3, 9, 2, 1, 1, 1),     // padding = kernel − 1
    (2, 4, 33, 5, 1, 2, 1),    // stride 1, long window, SIMD tails
    (2, 2, 21, 3, 2, 2, 2),    // dilation with padding
    (4, 8, 1200, 3, 2, 1, 1),  // 32 rows × 600 × 3 taps: above parallel::GRAIN
    (1, 64, 1030, 2, 2, 0, 1), // MaxPool1d(2) of a beat CNN, above GRAIN, odd-ish length
    (2, 3, 37, 2, 2, 0, 1),    // MaxPool1d(2) fast path, odd length (last sample unread)
];

#[test]
fn pool1d_matches_naive_awkward() {
    run_matrix(|label| {
        for (i, &(n, c, l, k, s, p, d)) in AWKWARD.iter().enumerate() {
            let params = Pool1dParams::new(k)
                .with_stride(s)
                .with_padding(p)
                .with_dilation(d);
            check_case::<f32>(n, c, l, params, 100 + i as u64, label);
            check_case::<f64>(n, c, l, params, 100 + i as u64, label);
        }
    });
}

#[test]
fn pool1d_matches_naive_random() {
    run_matrix(|label| {
        let mut rng = Rng::new(0x9001);
        let mut tested = 0;
        while tested < 25 {
            let (n, c, l) = (1 + rng.below(3), 1 + rng.below(4), 1 + rng.below(40));
            let (k, s, d) = (1 + rng.below(5), 1 + rng.below(4), 1 + rng.below(3));
            let span = d * (k - 1) + 1;
            let params = Pool1dParams::new(k)
                .with_stride(s)
                .with_padding(rng.below(span / 2 + 1))
                .with_dilation(d);
            if params.axis("test", l).is_err() {
                continue;
            }
            let seed = rng.next_u64();
            check_case::<f32>(n, c, l, params, seed, label);
            check_case::<f64>(n, c, l, params, seed, label);
            tested += 1;
        }
    });
}

#[test]
fn max_pool1d_anchor_hand_computed() {
    let x = Tensor::from_vec(Shape::d3(1, 1, 5), vec![1.0f64, 3., 2., 5., 4.]).unwrap();
    // Padding 1, kernel 2, stride 2: windows {−1, 0}, {1, 2}, {3, 4}.
    let p = Pool1dParams::new(2).with_padding(1);
    let out = max_pool1d(&x, &p).unwrap();
    assert_eq!(out.y.data(), &[1.0, 3.0, 5.0]);
    assert_eq!(out.argmax, vec![0, 1, 3]);
    let dy = Tensor::from_vec(Shape::d3(1, 1, 3), vec![10.0, 20.0, 30.0]).unwrap();
    let dx = max_pool1d_backward(&dy, &out.argmax, x.shape()).unwrap();
    assert_eq!(dx.data(), &[10.0, 20.0, 0.0, 30.0, 0.0]);
    // Dilation 2, kernel 2, stride 1: windows {0, 2}, {1, 3}, {2, 4}.
    let out = max_pool1d(&x, &Pool1dParams::new(2).with_stride(1).with_dilation(2)).unwrap();
    assert_eq!(out.y.data(), &[2.0, 5.0, 4.0]);
    assert_eq!(out.argmax, vec![2, 3, 4]);
}

#[test]
fn avg_pool1d_anchor_hand_computed() {
    let x = Tensor::from_vec(Shape::d3(1, 1, 5), vec![1.0f64, 2., 3., 4., 5.]).unwrap();
    // Kernel 3, stride 2, padding 1: windows {−1,0,1}, {1,2,3}, {3,4,5}; 5 is padding too.
    let p = Pool1dParams::new(3).with_stride(2).with_padding(1);
    assert_eq!(avg_pool1d(&x, &p).unwrap().data(), &[1.0, 3.0, 3.0]);
    let p_ex = p.with_count_include_pad(false);
    assert_eq!(avg_pool1d(&x, &p_ex).unwrap().data(), &[1.5, 3.0, 4.5]);
    let dy = Tensor::from_vec(Shape::d3(1, 1, 3), vec![3.0, 6.0, 12.0]).unwrap();
    // Each output spreads dy/3 over its valid taps; position 1 and 3 belong to two windows.
    let dx = avg_pool1d_backward(&dy, x.shape(), &p).unwrap();
    assert_eq!(dx.data(), &[1.0, 3.0, 2.0, 6.0, 4.0]);
    let dx = avg_pool1d_backward(&dy, x.shape(), &p_ex).unwrap();
    assert_eq!(dx.data(), &[1.5, 3.5, 2.0, 8.0, 6.0]);
}

#[test]
fn global_avg_pool1d_anchor_hand_computed() {
    let x = Tensor::from_vec(Shape::d3(2, 1, 3), vec![1.0f64, 2., 6., -3., 0., 0.]).unwrap();
    let y = global_avg_pool1d(&x).unwrap();
    assert_eq!(y.dims(), &[2, 1]);
    assert_eq!(y.data(), &[3.0, -1.0]);
    let dy = Tensor::from_vec(Shape::d2(2, 1), vec![3.0, 6.0]).unwrap();
    let dx = global_avg_pool1d_backward(&dy, x.shape()).unwrap();
    assert_eq!(dx.data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
}

#[test]
fn max_pool1d_ties_take_first_index() {
    run_matrix(|label| {
        // Overlapping windows (kernel 3, stride 1) over plateaus: every window picks its
        // leftmost maximum, in the fast path and the naive one alike.
        let vals = [2.0f32, 2.0, 2.0, 1.0, 5.0, 5.0, 0.0, 0.0];
        let x = Tensor::from_vec(Shape::d3(1, 1, vals.len()), vals.to_vec()).unwrap();
        let p = Pool1dParams::new(3).with_stride(1).with_padding(1);
        let out = max_pool1d(&x, &p).unwrap();
        // windows: {−1,0,1} {0,1,2} {1,2,3} {2,3,4} {3,4,5} {4,5,6} {5,6,7} {6,7,8}
        assert_eq!(out.argmax, vec![0, 0, 1, 4, 4, 4, 5, 6], "{label}");
        let (_, a_naive) =
            max_pool1d_naive(view3(x.data(), 1, 1, vals.len()), &p.axis("t", 8).unwrap());
        assert_eq!(
            out.argmax.as_slice(),
            a_naive.as_slice().unwrap(),
            "{label}"
        );
        // The MaxPool1d(2) fast path keeps the same rule: a tie takes the first position.
        let x2 = Tensor::from_vec(Shape::d3(1, 1, 5), vec![3.0f32, 3.0, 1.0, 4.0, 9.0]).unwrap();
        let out2 = max_pool1d(&x2, &Pool1dParams::new(2)).unwrap();
        assert_eq!(out2.argmax, vec![0, 3], "{label}");
        assert_eq!(out2.y.data(), &[3.0, 4.0], "{label}");
        // The gradient of a tie goes to the first position only, and overlaps accumulate.
        let dy = Tensor::from_vec(Shape::d3(1, 1, 8), vec![1.0f32; 8]).unwrap();
        let dx = max_pool1d_backward(&dy, &out.argmax, x.shape()).unwrap();
        assert_eq!(
            dx.data(),
            &[2.0, 1.0, 0.0, 0.0, 3.0, 1.0, 1.0, 0.0],
            "{label}"
        );
    });
}

#[test]
fn avg_pool1d_backward_is_the_adjoint() {
    // ⟨dy, A·x⟩ = ⟨Aᵀ·dy, x⟩ for the linear map A = avg_pool1d: checks the backward against the
    // forward independently of the naive twin.
    let mut rng = Rng::new(5);
    let x = random_tensor::<f64>(&mut rng, Shape::d3(2, 3, 19));
    for include in [true, false] {
        let p = Pool1dParams::new(4)
            .with_stride(3)
            .with_padding(2)
            .with_count_include_pad(include);
        let y = avg_pool1d(&x, &p).unwrap();
        let dy = random_tensor::<f64>(&mut rng, y.shape());
        let dx = avg_pool1d_backward(&dy, x.shape(), &p).unwrap();
        let lhs: f64 = dy.data().iter().zip(y.data()).map(|(a, b)| a * b).sum();
        let rhs: f64 = dx.data().iter().zip(x.data()).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}

#[test]
fn pool1d_errors_are_named() {
    let x = Tensor::<f32>::zeros(Shape::d3(2, 3, 4));
    let e = max_pool1d(&x, &Pool1dParams::new(2).with_stride(0)).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "stride", .. }),
        "{e}"
    );
    let e = avg_pool1d(&x, &Pool1dParams::new(5)).unwrap_err();
    assert!(matches!(e, Error::EmptyOutput { .. }), "{e}");
    assert!(e.to_string().contains("window span 5"), "{e}");
    let e = max_pool1d(&x, &Pool1dParams::new(2).with_padding(2)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParam {
                name: "padding",
                ..
            }
        ),
        "{e}"
    );
    let e = max_pool1d(
        &Tensor::<f32>::zeros(Shape::d2(3, 4)),
        &Pool1dParams::new(2),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadRank { expected: 3, .. }), "{e}");
    let e = global_avg_pool1d(&Tensor::<f32>::zeros(Shape::d3(0, 3, 4))).unwrap_err();
    assert!(matches!(e, Error::EmptyOutput { .. }), "{e}");
    let dy = Tensor::<f32>::zeros(Shape::d3(2, 3, 3));
    let e = avg_pool1d_backward(&dy, x.shape(), &Pool1dParams::new(2)).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = max_pool1d_backward(
        &Tensor::<f32>::zeros(Shape::d3(2, 3, 2)),
        &[9; 12],
        x.shape(),
    );
    assert!(matches!(e, Err(Error::InvalidParam { name: "argmax", .. })));
}

/// `v + 1` elementwise: what an accumulating kernel must produce on a buffer of ones.
pub(crate) fn plus_one<T: Real>(v: &[T]) -> Vec<T> {
    v.iter().map(|&x| x + T::ONE).collect()
}

#[test]
fn pool1d_backward_kernels_accumulate() {
    let mut rng = Rng::new(6);
    let x = random_tensor::<f64>(&mut rng, Shape::d3(2, 3, 11));
    let p = Pool1dParams::new(3).with_stride(2).with_padding(1);
    let axis = p.axis("t", 11).unwrap();
    let dy = random_tensor::<f64>(&mut rng, Shape::d3(2, 3, axis.out_len));
    let out = max_pool1d(&x, &p).unwrap();
    let mut dx = vec![1.0; x.numel()];
    max_pool1d_backward_input(dy.data(), &out.argmax, axis.out_len, 11, &mut dx);
    assert_eq!(
        dx,
        plus_one(
            max_pool1d_backward(&dy, &out.argmax, x.shape())
                .unwrap()
                .data()
        )
    );
    let mut dx = vec![1.0; x.numel()];
    avg_pool1d_backward_input(dy.data(), 6, &axis, true, &mut dx);
    let want = plus_one(avg_pool1d_backward(&dy, x.shape(), &p).unwrap().data());
    assert_close(&dx, &want, 1e-15, 1e-15, "avg");
    let dg = random_tensor::<f64>(&mut rng, Shape::d2(2, 3));
    let mut dx = vec![1.0; x.numel()];
    global_avg_pool1d_backward_input(dg.data(), 11, &mut dx);
    let want = plus_one(global_avg_pool1d_backward(&dg, x.shape()).unwrap().data());
    assert_close(&dx, &want, 1e-15, 1e-15, "global");
}
