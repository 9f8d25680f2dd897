//! 2D max and average pooling over NCHW tensors, recorded on the tape (the max rule saves the
//! argmax, the average rule only the input shape). Kernels: `engine/src/ops/pool2d/`.
//!
//! Forward, with ih = oh·sh + i·dh − ph and iw = ow·sw + j·dw − pw:
//! - max: y\[n,c,oh,ow\] = max_{i,j} x\[n,c,ih,iw\] (padding −∞; ties → the first in row-major
//!   order; argmax stored as ih·W + iw within the plane, as PyTorch);
//! - avg: y\[n,c,oh,ow\] = (1/D)·Σ_{i,j} x\[n,c,ih,iw\], D = KH·KW or the taps inside the image.
//!
//! Cost: N·C·OH·OW·KH·KW comparisons or adds.
//!
//! Gradients: max, dx\[n,c,argmax\] += dy\[n,c,oh,ow\]; avg, dx\[n,c,ih,iw\] += dy\[n,c,oh,ow\]/D
//! for every tap inside the image.

use ecgrad_engine::ops::pool2d::{self as ep, Pool2dParams};
use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `max_pool2d`: saves the argmax positions and the input shape.
struct MaxPool2dBackward {
    argmax: Vec<usize>,
    x_shape: Shape,
}

impl<T: Real> Backward<T> for MaxPool2dBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ep::max_pool2d_backward(dy, &self.argmax, self.x_shape)?)
        } else {
            None
        }])
    }
}

/// Max pooling of NCHW `x`.
///
/// # Errors
/// Rank errors unless x is rank 4; `InvalidParam` for zero kernel/stride/dilation or too much
/// padding; `EmptyOutput` if the window does not fit.
pub fn max_pool2d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    params: &Pool2dParams,
) -> Result<Var<T>> {
    let out = ep::max_pool2d(x.value(), params)?;
    let (x_shape, argmax) = (x.shape(), out.argmax);
    tape.record("max_pool2d", &[x], out.y, || {
        Box::new(MaxPool2dBackward { argmax, x_shape })
    })
}

/// The rule of `avg_pool2d`: saves the input shape and the parameters.
struct AvgPool2dBackward {
    x_shape: Shape,
    params: Pool2dParams,
}

impl<T: Real> Backward<T> for AvgPool2dBackward {
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ep::avg_pool2d_backward(dy, self.x_shape, &self.params)?)
        } else {
            None
        }])
    }
}

/// Average pooling of NCHW `x`.
///
/// # Errors
/// As [`max_pool2d`].
pub fn avg_pool2d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    params: &Pool2dParams,
) -> Result<Var<T>> {
    let y = ep::avg_pool2d(x.value(), params)?;
    let (x_shape, params) = (x.shape(), *params);
    tape.record("avg_pool2d", &[x], y, || {
        Box::new(AvgPool2dBackward { x_shape, params })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::ops::pool1d::tests::distinct;

    /// (n, c, h, w, kernel, stride, padding, dilation)
    #[allow(clippy::type_complexity)]
    const CASES: [(
        usize,
        usize,
        usize,
        usize,
        (usize, usize),
        (usize, usize),
        (usize, usize),
        (usize, usize),
    ); 6] = [
        (1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1)), // 1×1 image
        (2, 2, 4, 6, (2, 2), (2, 2), (0, 0), (1, 1)), // the common 2×2
        (1, 2, 5, 7, (3, 2), (2, 3), (1, 0), (1, 1)), // strides leaving remainders, padding
        (1, 1, 7, 5, (3, 3), (1, 1), (0, 1), (2, 1)), // dilation 2 along H, overlapping
        (2, 1, 2, 3, (3, 3), (1, 1), (1, 1), (1, 1)), // kernel larger than the image, padded
        (1, 3, 1, 9, (1, 4), (1, 3), (0, 2), (1, 1)), // a 1-row image (a 1D signal in 2D)
    ];

    fn params(
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        d: (usize, usize),
    ) -> Pool2dParams {
        Pool2dParams::new(k.0, k.1)
            .with_stride(s.0, s.1)
            .with_padding(p.0, p.1)
            .with_dilation(d.0, d.1)
    }

    #[test]
    fn max_pool2d_gradcheck_x_awkward() {
        for (i, &(n, c, h, w, k, s, p, d)) in CASES.iter().enumerate() {
            let pp = params(k, s, p, d);
            let x = distinct(&[n, c, h, w], 700 + i as u64);
            assert_gradcheck(
                &format!("max_pool2d case {i}"),
                |t, v| max_pool2d(t, &v[0], &pp),
                &[x],
                710,
            );
        }
    }

    #[test]
    fn avg_pool2d_gradcheck_x_awkward_both_divisors() {
        for (i, &(n, c, h, w, k, s, p, d)) in CASES.iter().enumerate() {
            for include in [true, false] {
                let pp = params(k, s, p, d).with_count_include_pad(include);
                let x = random_tensor(&[n, c, h, w], -1.0, 1.0, 720 + i as u64);
                assert_gradcheck(
                    &format!("avg_pool2d case {i} include_pad {include}"),
                    |t, v| avg_pool2d(t, &v[0], &pp),
                    &[x],
                    730,
                );
            }
        }
    }
}
