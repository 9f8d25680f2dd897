//! conv2d: fast vs naive (random and awkward shapes, every ISA × thread count, f32 and f64),
//! a hand-computed anchor, adjoint identities, accumulation, bit-identity across threads, errors.

use ndarray::ArrayView4;

use super::naive::*;
use super::*;
use crate::ops::pool1d::tests::{random_tensor, run_matrix};
use crate::parallel::with_isa_threads;
use crate::testing::{Rng, assert_close, isas_to_test, threads_to_test, tolerance};

fn view4<'a, T>(t: &'a Tensor<T>) -> ArrayView4<'a, T>
where
    T: Real,
{
    let d = t.dims();
    ArrayView4::from_shape((d[0], d[1], d[2], d[3]), t.data()).expect("invariant: rank 4")
}

/// (n, c_in, c_out, h, w, kh, kw, params)
type Case = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    Conv2dParams,
);

const fn p(
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Conv2dParams {
    Conv2dParams {
        stride,
        padding,
        dilation,
    }
}

const AWKWARD: &[Case] = &[
    (1, 1, 1, 1, 1, 1, 1, p((1, 1), (0, 0), (1, 1))), // everything 1
    (2, 3, 4, 5, 7, 3, 3, p((1, 1), (1, 1), (1, 1))), // "same" padding, sizes < 8
    (1, 2, 3, 9, 10, 3, 2, p((2, 3), (0, 1), (1, 1))), // strides 2/3 leaving remainders
    (2, 1, 2, 8, 9, 2, 3, p((1, 1), (1, 2), (2, 2))), // dilation 2, padding K−1 on W
    (1, 2, 2, 2, 3, 3, 3, p((1, 1), (1, 1), (1, 1))), // kernel larger than the image, padding fits
    (1, 3, 5, 4, 6, 1, 1, p((1, 1), (0, 0), (1, 1))), // 1×1: the pointwise (no im2col) path
    (2, 3, 2, 6, 6, 1, 1, p((2, 2), (0, 0), (1, 1))), // 1×1 with stride: im2col path
    (1, 1, 1, 3, 17, 1, 5, p((1, 3), (0, 2), (1, 1))), // 1D-like rows
    (3, 2, 3, 7, 5, 3, 3, p((3, 2), (2, 2), (1, 2))), // padding K−1, mixed everything
    (4, 8, 16, 20, 21, 3, 3, p((1, 1), (1, 1), (1, 1))), // above GRAIN: samples in parallel
    (9, 16, 8, 12, 12, 1, 1, p((1, 1), (0, 0), (1, 1))), // pointwise, above GRAIN, 5 dW blocks
];

fn check_case<T: Real>(case: &Case, with_bias: bool, seed: u64, label: &str) {
    let &(n, c_in, c_out, h, w, kh, kw, params) = case;
    let mut rng = Rng::new(seed);
    let x = random_tensor::<T>(&mut rng, Shape::d4(n, c_in, h, w));
    let wt = random_tensor::<T>(&mut rng, Shape::d4(c_out, c_in, kh, kw));
    let b = random_tensor::<T>(&mut rng, Shape::d1(c_out));
    let g = Conv2dGeometry::new("test", x.shape(), wt.shape(), &params).expect("valid case");
    let dy = random_tensor::<T>(&mut rng, g.y_shape());
    let bias = with_bias.then_some(&b);
    let ctx = format!(
        "{label} {} x {} w {} {params:?} bias {with_bias}",
        T::NAME,
        x.shape(),
        wt.shape()
    );

    let (atol, rtol) = tolerance::<T>(g.taps());
    let y = conv2d(&x, &wt, bias, &params).unwrap();
    let y_want = conv2d_naive(view4(&x), view4(&wt), bias.map(|b| b.data()), &g);
    assert_close(
        y.data(),
        y_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("fwd {ctx}"),
    );

    let (atol, rtol) = tolerance::<T>(c_out * kh * kw);
    let dx = conv2d_backward_input(&dy, &wt, x.shape(), &params).unwrap();
    let dx_want = conv2d_backward_input_naive(view4(&dy), view4(&wt), &g);
    assert_close(
        dx.data(),
        dx_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("dx {ctx}"),
    );

    let (atol, rtol) = tolerance::<T>(n * g.out_pixels());
    let dw = conv2d_backward_weight(&dy, &x, wt.shape(), &params).unwrap();
    let dw_want = conv2d_backward_weight_naive(view4(&dy), view4(&x), &g);
    assert_close(
        dw.data(),
        dw_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("dw {ctx}"),
    );
    let db = conv2d_backward_bias(&dy).unwrap();
    let db_want = conv2d_backward_bias_naive(view4(&dy));
    assert_close(
        db.data(),
        db_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("db {ctx}"),
    );
}

#[test]
fn conv2d_matches_naive_awkward() {
    run_matrix(|label| {
        for (i, case) in AWKWARD.iter().enumerate() {
            for with_bias in [true, false] {
                check_case::<f32>(case, with_bias, 600 + i as u64, label);
                check_case::<f64>(case, with_bias, 600 + i as u64, label);
            }
        }
    });
}

#[test]
fn conv2d_matches_naive_random() {
    run_matrix(|label| {
        let mut rng = Rng::new(0xc2d);
        let mut tested = 0;
        while tested < 15 {
            let (kh, kw) = (1 + rng.below(4), 1 + rng.below(4));
            let params = p(
                (1 + rng.below(3), 1 + rng.below(3)),
                (rng.below(kh), rng.below(kw)),
                (1 + rng.below(2), 1 + rng.below(2)),
            );
            let case = (
                1 + rng.below(3),
                1 + rng.below(4),
                1 + rng.below(5),
                1 + rng.below(12),
                1 + rng.below(12),
                kh,
                kw,
                params,
            );
            if params.out_size(case.3, case.4, kh, kw).is_err() {
                continue;
            }
            let seed = rng.next_u64();
            check_case::<f32>(&case, tested % 2 == 0, seed, label);
            check_case::<f64>(&case, tested % 2 == 0, seed, label);
            tested += 1;
        }
    });
}

#[test]
fn conv2d_anchor_hand_computed() {
    // x = 1..9 in a 3×3 image, w = [[1, 2], [3, 4]], bias 1, stride 1, no padding.
    let x = Tensor::from_vec(Shape::d4(1, 1, 3, 3), (1..=9).map(f64::from).collect()).unwrap();
    let w = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(1), vec![1.0]).unwrap();
    let params = Conv2dParams::default();
    let y = conv2d(&x, &w, Some(&b), &params).unwrap();
    // y[0,0] = 1·1 + 2·2 + 3·4 + 4·5 + 1 = 38, and so on.
    assert_eq!(y.data(), &[38.0, 48.0, 68.0, 78.0]);
    let dy = Tensor::full(y.shape(), 1.0);
    // dW[i,j] = sum of the 2×2 block of x starting at (i, j).
    assert_eq!(
        conv2d_backward_weight(&dy, &x, w.shape(), &params)
            .unwrap()
            .data(),
        &[12.0, 16.0, 24.0, 28.0]
    );
    // dX[ih,iw] = sum of the weights that touch (ih, iw).
    let dx = conv2d_backward_input(&dy, &w, x.shape(), &params).unwrap();
    assert_eq!(dx.data(), &[1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
    assert_eq!(conv2d_backward_bias(&dy).unwrap().data(), &[4.0]);
    // Stride 2 with padding 1: windows start at rows/columns −1 and 1, so each output sees the
    // taps (i, j) whose position is inside the image:
    // y[0,0] = w11·x[0,0]; y[0,1] = w10·x[0,1] + w11·x[0,2];
    // y[1,0] = w01·x[1,0] + w11·x[2,0]; y[1,1] = w00·x[1,1] + w01·x[1,2] + w10·x[2,1] + w11·x[2,2].
    let ps = p((2, 2), (1, 1), (1, 1));
    let y = conv2d(&x, &w, None, &ps).unwrap();
    let want = [
        4.0 * 1.0,
        3.0 * 2.0 + 4.0 * 3.0,
        2.0 * 4.0 + 4.0 * 7.0,
        5.0 + 2.0 * 6.0 + 3.0 * 8.0 + 4.0 * 9.0,
    ];
    assert_eq!(y.data(), &want);
}

#[test]
fn conv2d_backward_is_the_adjoint() {
    // ⟨dy, conv(x, w)⟩ = ⟨dX, x⟩ = ⟨dW, w⟩ (conv is linear in x and in w).
    let mut rng = Rng::new(31);
    let params = p((2, 1), (1, 2), (1, 2));
    let x = random_tensor::<f64>(&mut rng, Shape::d4(3, 2, 7, 8));
    let w = random_tensor::<f64>(&mut rng, Shape::d4(4, 2, 3, 3));
    let y = conv2d(&x, &w, None, &params).unwrap();
    let dy = random_tensor::<f64>(&mut rng, y.shape());
    let dot = |a: &Tensor<f64>, b: &Tensor<f64>| {
        a.data()
            .iter()
            .zip(b.data())
            .map(|(u, v)| u * v)
            .sum::<f64>()
    };
    let dx = conv2d_backward_input(&dy, &w, x.shape(), &params).unwrap();
    let dw = conv2d_backward_weight(&dy, &x, w.shape(), &params).unwrap();
    let (a, b, c) = (dot(&dy, &y), dot(&dx, &x), dot(&dw, &w));
    assert!(
        (a - b).abs() < 1e-11 && (a - c).abs() < 1e-11,
        "{a} {b} {c}"
    );
}

#[test]
fn conv2d_backward_kernels_accumulate() {
    let mut rng = Rng::new(32);
    for params in [p((1, 1), (1, 1), (1, 1)), Conv2dParams::default()] {
        let (kh, kw) = if params.padding == (0, 0) {
            (1, 1)
        } else {
            (3, 3)
        };
        let x = random_tensor::<f64>(&mut rng, Shape::d4(2, 3, 5, 6));
        let w = random_tensor::<f64>(&mut rng, Shape::d4(2, 3, kh, kw));
        let g = Conv2dGeometry::new("test", x.shape(), w.shape(), &params).unwrap();
        let dy = random_tensor::<f64>(&mut rng, g.y_shape());
        let fresh_dx = conv2d_backward_input(&dy, &w, x.shape(), &params).unwrap();
        let mut dx = vec![1.0; x.numel()];
        conv2d_backward_input_kernel(dy.data(), w.data(), &g, &mut dx);
        let want: Vec<f64> = fresh_dx.data().iter().map(|v| v + 1.0).collect();
        assert_close(&dx, &want, 1e-12, 1e-12, "dx accumulates");
        let fresh_dw = conv2d_backward_weight(&dy, &x, w.shape(), &params).unwrap();
        let mut dw = vec![-2.0; w.numel()];
        conv2d_backward_weight_kernel(dy.data(), x.data(), &g, &mut dw);
        let want: Vec<f64> = fresh_dw.data().iter().map(|v| v - 2.0).collect();
        assert_close(&dw, &want, 1e-12, 1e-12, "dw accumulates");
        let mut db = vec![0.5; 2];
        conv2d_backward_bias_kernel(dy.data(), 2, 2, g.out_pixels(), &mut db);
        let want: Vec<f64> = conv2d_backward_bias(&dy)
            .unwrap()
            .data()
            .iter()
            .map(|v| v + 0.5)
            .collect();
        assert_close(&db, &want, 1e-12, 1e-12, "db accumulates");
    }
}

#[test]
fn conv2d_weight_and_bias_grads_are_bit_identical_across_thread_counts() {
    let mut rng = Rng::new(33);
    let params = p((1, 1), (1, 1), (1, 1));
    let x = random_tensor::<f32>(&mut rng, Shape::d4(11, 4, 16, 15));
    let w = random_tensor::<f32>(&mut rng, Shape::d4(8, 4, 3, 3));
    let dy = random_tensor::<f32>(&mut rng, Shape::d4(11, 8, 16, 15));
    for isa in isas_to_test() {
        let run = |threads| {
            with_isa_threads(isa, threads, || {
                let dw = conv2d_backward_weight(&dy, &x, w.shape(), &params).unwrap();
                let db = conv2d_backward_bias(&dy).unwrap();
                let y = conv2d(&x, &w, Some(&db), &params).unwrap();
                let dx = conv2d_backward_input(&dy, &w, x.shape(), &params).unwrap();
                [dw, db, y, dx]
                    .iter()
                    .flat_map(|t| t.data().iter().map(|v| v.to_bits()))
                    .collect::<Vec<u32>>()
            })
            .unwrap()
        };
        let one = run(1);
        for threads in threads_to_test() {
            assert!(one == run(threads), "{isa}: 1 vs {threads} threads differ");
        }
    }
}

#[test]
fn conv2d_errors_are_named() {
    let x = Tensor::<f32>::zeros(Shape::d4(8, 3, 32, 32));
    let e = conv2d(
        &x,
        &Tensor::zeros(Shape::d4(16, 1, 3, 3)),
        None,
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "conv2d: input has 3 channels but weight expects 1 (input [8, 3, 32, 32], weight [16, 1, 3, 3])"
    );
    let w = Tensor::<f32>::zeros(Shape::d4(16, 3, 3, 3));
    let e = conv2d(&x, &w, None, &p((0, 1), (0, 0), (1, 1))).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "stride", .. }),
        "{e}"
    );
    let e = conv2d(
        &x,
        &Tensor::zeros(Shape::d4(16, 3, 40, 3)),
        None,
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::EmptyOutput { .. }), "{e}");
    // ... but padding can make a kernel longer than the image fit.
    assert!(
        conv2d(
            &x,
            &Tensor::zeros(Shape::d4(2, 3, 34, 3)),
            None,
            &p((1, 1), (1, 0), (1, 1))
        )
        .is_ok()
    );
    let e = conv2d(
        &Tensor::<f32>::zeros(Shape::d3(8, 3, 32)),
        &w,
        None,
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadRank { arg: "input", .. }), "{e}");
    let e = conv2d(
        &x,
        &Tensor::zeros(Shape::d3(16, 3, 3)),
        None,
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadRank { arg: "weight", .. }), "{e}");
    let e = conv2d(
        &x,
        &w,
        Some(&Tensor::zeros(Shape::d1(15))),
        &Conv2dParams::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                lhs_name: "bias",
                ..
            }
        ),
        "{e}"
    );
    let dy = Tensor::<f32>::zeros(Shape::d4(8, 16, 30, 31));
    let e = conv2d_backward_input(&dy, &w, x.shape(), &Conv2dParams::default()).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { lhs_name: "dy", .. }),
        "{e}"
    );
    let e = conv2d_backward_weight(&dy, &x, w.shape(), &Conv2dParams::default()).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { lhs_name: "dy", .. }),
        "{e}"
    );
    assert!(matches!(
        conv2d(
            &Tensor::<f32>::zeros(Shape::d4(0, 3, 4, 4)),
            &w,
            None,
            &p((1, 1), (1, 1), (1, 1))
        ),
        Err(Error::EmptyOutput { .. })
    ));
}
