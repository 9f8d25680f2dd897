//! pool2d: fast vs naive (random and awkward shapes, every ISA × thread count, f32 and f64),
//! hand-computed anchors, ties, errors.

use ndarray::ArrayView4;

use super::naive::*;
use super::*;
use crate::ops::pool1d::tests::{random_tensor, run_matrix};
use crate::testing::{Rng, assert_close, tolerance};

fn view4<T>(data: &[T], d: (usize, usize, usize, usize)) -> ArrayView4<'_, T> {
    ArrayView4::from_shape(d, data).expect("invariant: test shapes agree")
}

fn check_case<T: Real>(
    dims: (usize, usize, usize, usize),
    p: Pool2dParams,
    seed: u64,
    label: &str,
) {
    let (n, c, h, w) = dims;
    let mut rng = Rng::new(seed);
    let x = random_tensor::<T>(&mut rng, Shape::d4(n, c, h, w));
    let (ah, aw) = p.axes("test", h, w).expect("test cases are valid");
    let out_dims = (n, c, ah.out_len, aw.out_len);
    let ctx = format!("{label} {} x {:?} {p:?} seed {seed}", T::NAME, dims);
    let dy = random_tensor::<T>(&mut rng, Shape::d4(n, c, ah.out_len, aw.out_len));
    let (xa, dya) = (view4(x.data(), dims), view4(dy.data(), out_dims));
    let (atol, rtol) = tolerance::<T>(p.kernel.0 * p.kernel.1);

    let (y_want, a_want) = max_pool2d_naive(xa, &ah, &aw);
    let out = max_pool2d(&x, &p).unwrap();
    assert_eq!(out.y.data(), y_want.as_slice().unwrap(), "max fwd {ctx}");
    assert_eq!(
        out.argmax.as_slice(),
        a_want.as_slice().unwrap(),
        "argmax {ctx}"
    );
    let dx = max_pool2d_backward(&dy, &out.argmax, x.shape()).unwrap();
    let dx_want = max_pool2d_backward_naive(dya, a_want.view(), h, w);
    assert_close(
        dx.data(),
        dx_want.as_slice().unwrap(),
        atol,
        rtol,
        &format!("max bwd {ctx}"),
    );

    for include in [true, false] {
        let p = p.with_count_include_pad(include);
        let y = avg_pool2d(&x, &p).unwrap();
        let y_want = avg_pool2d_naive(xa, &ah, &aw, include);
        assert_close(
            y.data(),
            y_want.as_slice().unwrap(),
            atol,
            rtol,
            &format!("avg fwd {ctx} {include}"),
        );
        let dx = avg_pool2d_backward(&dy, x.shape(), &p).unwrap();
        let dx_want = avg_pool2d_backward_naive(dya, &ah, &aw, include);
        assert_close(
            dx.data(),
            dx_want.as_slice().unwrap(),
            atol,
            rtol,
            &format!("avg bwd {ctx} {include}"),
        );
    }
}

/// ((n, c, h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
type Case = (
    (usize, usize, usize, usize),
    (usize, usize),
    (usize, usize),
    (usize, usize),
    (usize, usize),
);
const AWKWARD: &[Case] = &[
    ((1, 1, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1)),  // 1×1
    ((1, 1, 5, 7), (2, 2), (2, 2), (0, 0), (1, 1)),  // stride 2 leaves remainders on both axes
    ((2, 3, 7, 9), (3, 3), (3, 2), (1, 1), (1, 1)),  // stride 3 / 2, padding 1
    ((1, 2, 4, 13), (2, 3), (1, 3), (1, 0), (1, 1)), // padding K−1 on H, stride 3 on W
    ((2, 1, 9, 10), (2, 2), (1, 2), (0, 1), (2, 2)), // dilation 2
    ((1, 1, 2, 2), (3, 3), (1, 1), (1, 1), (1, 1)),  // kernel larger than the image, padding fits
    ((1, 1, 1, 17), (1, 4), (1, 3), (0, 2), (1, 1)), // a single row (1D data as NCHW)
    ((2, 8, 64, 65), (2, 2), (2, 2), (0, 0), (1, 1)), // 16 planes × 32×32 × 4 taps: above GRAIN
];

#[test]
fn pool2d_matches_naive_awkward() {
    run_matrix(|label| {
        for (i, &(dims, k, s, p, d)) in AWKWARD.iter().enumerate() {
            let params = Pool2dParams::new(k.0, k.1)
                .with_stride(s.0, s.1)
                .with_padding(p.0, p.1)
                .with_dilation(d.0, d.1);
            check_case::<f32>(dims, params, 200 + i as u64, label);
            check_case::<f64>(dims, params, 200 + i as u64, label);
        }
    });
}

#[test]
fn pool2d_matches_naive_random() {
    run_matrix(|label| {
        let mut rng = Rng::new(0x2d);
        let mut tested = 0;
        while tested < 20 {
            let dims = (
                1 + rng.below(2),
                1 + rng.below(3),
                1 + rng.below(12),
                1 + rng.below(12),
            );
            let k = (1 + rng.below(4), 1 + rng.below(4));
            let params = Pool2dParams::new(k.0, k.1)
                .with_stride(1 + rng.below(3), 1 + rng.below(3))
                .with_padding(rng.below(k.0 / 2 + 1), rng.below(k.1 / 2 + 1));
            if params.axes("test", dims.2, dims.3).is_err() {
                continue;
            }
            let seed = rng.next_u64();
            check_case::<f32>(dims, params, seed, label);
            check_case::<f64>(dims, params, seed, label);
            tested += 1;
        }
    });
}

#[test]
fn pool2d_anchor_hand_computed() {
    // 3×4 image, 2×2 windows with stride 2 and padding (1, 0): rows {−1,0}, {1,2}.
    #[rustfmt::skip]
    let x = Tensor::from_vec(Shape::d4(1, 1, 3, 4), vec![
        1.0f64, 2., 3., 4.,
        5.,     6., 7., 0.,
        9.,    -1., 2., 8.,
    ]).unwrap();
    let p = Pool2dParams::new(2, 2).with_padding(1, 0);
    let out = max_pool2d(&x, &p).unwrap();
    assert_eq!(out.y.dims(), &[1, 1, 2, 2]);
    assert_eq!(out.y.data(), &[2.0, 4.0, 9.0, 8.0]);
    assert_eq!(out.argmax, vec![1, 3, 8, 11]);
    let avg = avg_pool2d(&x, &p).unwrap();
    assert_eq!(avg.data(), &[0.75, 1.75, 4.75, 4.25]);
    let avg = avg_pool2d(&x, &p.with_count_include_pad(false)).unwrap();
    assert_eq!(avg.data(), &[1.5, 3.5, 4.75, 4.25]);
    let dy = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![4.0, 8.0, 12.0, 16.0]).unwrap();
    let dx = avg_pool2d_backward(&dy, x.shape(), &p).unwrap();
    assert_eq!(
        dx.data(),
        &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0]
    );
    let dx = max_pool2d_backward(&dy, &out.argmax, x.shape()).unwrap();
    assert_eq!(
        dx.data(),
        &[0.0, 4.0, 0.0, 8.0, 0.0, 0.0, 0.0, 0.0, 12.0, 0.0, 0.0, 16.0]
    );
}

#[test]
fn max_pool2d_ties_take_first_in_row_major_order() {
    run_matrix(|label| {
        // A constant image: every window's maximum is its top-left valid sample.
        let x = Tensor::from_vec(Shape::d4(1, 1, 3, 3), vec![1.0f32; 9]).unwrap();
        let p = Pool2dParams::new(2, 2).with_stride(1, 1).with_padding(1, 1);
        let out = max_pool2d(&x, &p).unwrap();
        // Output is 4×4; window (oh, ow) starts at (oh−1, ow−1), so its first valid sample is
        // (max(oh−1, 0), max(ow−1, 0)).
        let want: Vec<usize> = (0..16)
            .map(|i| {
                let (oh, ow) = (i / 4, i % 4);
                (oh.max(1) - 1).min(2) * 3 + (ow.max(1) - 1).min(2)
            })
            .collect();
        assert_eq!(out.argmax, want, "{label}");
    });
}

#[test]
fn pool2d_errors_are_named() {
    let x = Tensor::<f32>::zeros(Shape::d4(1, 2, 4, 4));
    let e = max_pool2d(&x, &Pool2dParams::new(2, 2).with_stride(1, 0)).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "stride", .. }),
        "{e}"
    );
    let e = avg_pool2d(&x, &Pool2dParams::new(5, 1)).unwrap_err();
    assert!(matches!(e, Error::EmptyOutput { .. }), "{e}");
    let e = avg_pool2d(
        &Tensor::<f32>::zeros(Shape::d3(1, 2, 4)),
        &Pool2dParams::new(2, 2),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadRank { expected: 4, .. }), "{e}");
    let e = max_pool2d_backward(
        &Tensor::<f32>::zeros(Shape::d4(1, 2, 2, 2)),
        &[99; 8],
        x.shape(),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "argmax", .. }),
        "{e}"
    );
}

#[test]
fn avg_pool2d_backward_kernel_accumulates() {
    let mut rng = Rng::new(7);
    let p = Pool2dParams::new(2, 3).with_stride(1, 2).with_padding(1, 1);
    let (ah, aw) = p.axes("t", 5, 7).unwrap();
    let dy = random_tensor::<f64>(&mut rng, Shape::d4(2, 2, ah.out_len, aw.out_len));
    let mut dx = vec![1.0; 2 * 2 * 5 * 7];
    avg_pool2d_backward_input(dy.data(), 4, &ah, &aw, false, &mut dx);
    let fresh =
        avg_pool2d_backward(&dy, Shape::d4(2, 2, 5, 7), &p.with_count_include_pad(false)).unwrap();
    let want = crate::ops::pool1d::tests::plus_one(fresh.data());
    assert_close(&dx, &want, 1e-15, 1e-15, "avg2d");
}
