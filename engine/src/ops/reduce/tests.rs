//! Reductions vs their naive twins on every axis of rank-1 to rank-4 shapes (every ISA × thread
//! count, f32 and f64), determinism across thread counts, ties, NaN, anchors and errors.

use super::*;
use crate::ops::elementwise::testkit::{bits, for_each_isa_threads, random};
use crate::parallel::with_threads;
use crate::testing::{Rng, assert_close, tolerance};

/// Rank 1–4, with size-1 axes, SIMD-tail lengths, and several shapes above the rayon grain
/// (long rows, many rows, and a long reduced axis with inner > 1).
const SHAPES: &[&[usize]] = &[
    &[1],
    &[7],
    &[9],
    &[1023],
    &[GRAIN + 1],
    &[1, 1],
    &[3, 5],
    &[300, 257],
    &[2, GRAIN / 4 + 3],
    &[2, 3, 4],
    &[2, 1, 9],
    &[5, 3000, 3],
    &[4, 3, 7, 5],
    &[1, 2, 1, 17],
];

fn reduce_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    for &dims in SHAPES {
        let shape = Shape::new(dims).unwrap();
        let x: Vec<T> = random(&mut rng, shape.numel());
        let overs = (0..dims.len())
            .map(ReduceOver::Axis)
            .chain([ReduceOver::All]);
        for over in overs {
            let (d, _) = axis_dims("test", shape, over).unwrap();
            let dy: Vec<T> = random(&mut rng, d.out_len());
            let dx0: Vec<T> = random(&mut rng, d.numel());
            let (atol, rtol) = tolerance::<T>(d.len);
            let mut want = [vec![T::ZERO; d.out_len()], vec![T::ZERO; d.out_len()]];
            let mut want_dx = [dx0.clone(), dx0.clone()];
            for (k, mean) in [false, true].into_iter().enumerate() {
                sum_axis_naive(&x, d, mean, &mut want[k]);
                sum_axis_backward_naive(&dy, d, mean, &mut want_dx[k]);
            }
            let mut want_max = vec![T::ZERO; d.out_len()];
            let mut want_arg = vec![0; d.out_len()];
            max_axis_naive(&x, d, &mut want_max, &mut want_arg);
            let mut want_max_dx = dx0.clone();
            max_axis_backward_naive(&dy, &want_arg, d, &mut want_max_dx);
            for_each_isa_threads(|ctx| {
                let ctx = format!("{} {shape} {over:?} seed {seed} ({ctx})", T::NAME);
                for (k, mean) in [false, true].into_iter().enumerate() {
                    let mut y = vec![T::ZERO; d.out_len()];
                    sum_axis_forward(&x, d, mean, &mut y);
                    assert_close(&y, &want[k], atol, rtol, &format!("{ctx}: mean={mean}"));
                    let mut dx = dx0.clone();
                    sum_axis_backward(&dy, d, mean, &mut dx);
                    let (a, r) = tolerance::<T>(1);
                    assert_close(&dx, &want_dx[k], a, r, &format!("{ctx}: mean={mean} dx"));
                }
                let mut y = vec![T::ZERO; d.out_len()];
                let mut arg = vec![0; d.out_len()];
                max_axis_forward(&x, d, &mut y, &mut arg);
                assert_eq!(bits(&y), bits(&want_max), "{ctx}: max values");
                assert_eq!(arg, want_arg, "{ctx}: argmax");
                let mut dx = dx0.clone();
                max_axis_backward(&dy, &arg, d, &mut dx);
                assert_eq!(bits(&dx), bits(&want_max_dx), "{ctx}: max dx");
            });
        }
    }
}

/// The backward of max as a plain loop (the fast one is a scatter too; this fixes the spec).
fn max_axis_backward_naive<T: Real>(dy: &[T], argmax: &[usize], d: AxisDims, dx: &mut [T]) {
    for o in 0..d.outer {
        for l in 0..d.len {
            for i in 0..d.inner {
                if argmax[o * d.inner + i] == l {
                    dx[(o * d.len + l) * d.inner + i] += dy[o * d.inner + i];
                }
            }
        }
    }
}

#[test]
fn reductions_match_naive_on_every_axis() {
    reduce_case::<f32>(51);
    reduce_case::<f64>(52);
}

#[test]
fn sums_are_bit_identical_across_thread_counts() {
    let x: Vec<f32> = random(&mut Rng::new(53), 5 * GRAIN + 17);
    let cases = [
        AxisDims {
            outer: 1,
            len: x.len(),
            inner: 1,
        },
        AxisDims {
            outer: 5,
            len: GRAIN + 3,
            inner: 1,
        }
        .fit(x.len()),
        AxisDims {
            outer: 1,
            len: 17,
            inner: x.len() / 17,
        },
        AxisDims {
            outer: 3,
            len: 1000,
            inner: x.len() / 3000,
        },
    ];
    for d in cases {
        let x = &x[..d.numel()];
        let run = |threads| {
            with_threads(threads, || {
                let mut y = vec![0.0f32; d.out_len()];
                sum_axis_forward(x, d, false, &mut y);
                y
            })
        };
        assert_eq!(bits(&run(1)), bits(&run(2)), "{d:?}");
        assert_eq!(bits(&run(1)), bits(&run(3)), "{d:?}");
    }
}

impl AxisDims {
    /// Test helper: asserts the dims fit in a buffer of `n` elements.
    fn fit(self, n: usize) -> AxisDims {
        assert!(self.numel() <= n);
        self
    }
}

#[test]
fn max_ties_take_the_first_index_and_nan_wins() {
    let d = AxisDims {
        outer: 1,
        len: 4,
        inner: 1,
    };
    for_each_isa_threads(|ctx| {
        let (mut y, mut arg) = ([0.0f64], [0usize]);
        max_axis_forward(&[1.0, 3.0, 3.0, 2.0], d, &mut y, &mut arg);
        assert_eq!((y[0], arg[0]), (3.0, 1), "{ctx}: tie");
        let mut dx = [0.0; 4];
        max_axis_backward(&[5.0], &arg, d, &mut dx);
        assert_eq!(
            dx,
            [0.0, 5.0, 0.0, 0.0],
            "{ctx}: tie gradient goes to the first"
        );
        max_axis_forward(&[1.0, f64::NAN, 5.0, f64::NAN], d, &mut y, &mut arg);
        assert!(y[0].is_nan() && arg[0] == 1, "{ctx}: NaN");
        max_axis_forward(&[f64::NEG_INFINITY; 4], d, &mut y, &mut arg);
        assert_eq!((y[0], arg[0]), (f64::NEG_INFINITY, 0), "{ctx}: all −∞");
    });
}

#[test]
fn reduce_hand_computed_anchor() {
    // x = [[1, 5, 3], [4, 2, 6]]
    let x = [1.0f64, 5.0, 3.0, 4.0, 2.0, 6.0];
    let rows = AxisDims {
        outer: 2,
        len: 3,
        inner: 1,
    }; // over axis 1
    let cols = AxisDims {
        outer: 1,
        len: 2,
        inner: 3,
    }; // over axis 0
    let mut y = [0.0; 3];
    sum_axis_naive(&x, cols, false, &mut y);
    assert_eq!(y, [5.0, 7.0, 9.0]);
    let mut y = [0.0; 2];
    sum_axis_naive(&x, rows, true, &mut y);
    assert_eq!(y, [3.0, 4.0]);
    let mut arg = [0; 2];
    max_axis_naive(&x, rows, &mut y, &mut arg);
    assert_eq!((y, arg), ([5.0, 6.0], [1, 2]));
    // mean over rows, dy = [3, 6]: every element of row o gets dy[o] / 3.
    let mut dx = [1.0; 6];
    sum_axis_backward_naive(&[3.0, 6.0], rows, true, &mut dx);
    assert_eq!(dx, [2.0, 2.0, 2.0, 3.0, 3.0, 3.0]);
}

#[test]
fn tensor_layer_shapes_and_errors() {
    let x = Tensor::from_vec(Shape::d3(2, 3, 4), (0..24).map(f64::from).collect()).unwrap();
    let s = reduce(&x, Reduction::Sum, ReduceOver::Axis(1)).unwrap();
    assert_eq!(s.dims(), &[2, 4]);
    assert_eq!(s.data()[0], 0.0 + 4.0 + 8.0);
    let (m, arg) = max(&x, ReduceOver::All).unwrap();
    assert_eq!((m.dims(), m.data(), arg), (&[][..], &[23.0][..], vec![23]));
    let dy = Tensor::from_vec(Shape::d2(2, 4), vec![1.0; 8]).unwrap();
    let g = reduce_grad(Reduction::Mean, x.shape(), ReduceOver::Axis(1), &dy, None).unwrap();
    assert!(g.data().iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-15));
    let (_, arg) = max(&x, ReduceOver::Axis(1)).unwrap();
    let g = reduce_grad(
        Reduction::Max,
        x.shape(),
        ReduceOver::Axis(1),
        &dy,
        Some(&arg),
    )
    .unwrap();
    assert_eq!(g.data().iter().sum::<f64>(), 8.0);
    assert_eq!(g.data()[8], 1.0); // x[0, 2, 0] is the max of x[0, :, 0]

    let e = reduce(&x, Reduction::Sum, ReduceOver::Axis(3))
        .unwrap_err()
        .to_string();
    assert!(e.contains("axis = 3") && e.contains("[2, 3, 4]"), "{e}");
    let e = reduce_grad(Reduction::Sum, x.shape(), ReduceOver::Axis(0), &dy, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("x [2, 3, 4], dy [2, 4]"), "{e}");
    let bad = reduce_grad(
        Reduction::Max,
        x.shape(),
        ReduceOver::Axis(1),
        &dy,
        Some(&[9; 8]),
    );
    assert!(matches!(bad, Err(Error::InvalidParam { .. })));
    assert!(reduce_grad(Reduction::Max, x.shape(), ReduceOver::Axis(1), &dy, None).is_err());
    let empty = Tensor::<f32>::zeros(Shape::d2(3, 0));
    assert!(matches!(
        max(&empty, ReduceOver::Axis(0)),
        Err(Error::EmptyOutput { .. })
    ));
    assert!(matches!(
        reduce(&empty, Reduction::Sum, ReduceOver::All),
        Err(Error::EmptyOutput { .. })
    ));
}
