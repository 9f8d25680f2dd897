//! 2D convolution over NCHW tensors, recorded on the tape; kernels are the engine's
//! (`engine/src/ops/conv2d/`: per-sample im2col + GEMM, col2im backward).
//!
//! Forward: y\[n,o,oh,ow\] = b\[o\] + Σ_c Σ_i Σ_j w\[o,c,i,j\]·x\[n,c,ih,iw\],
//! ih = oh·sh + i·dh − ph, iw = ow·sw + j·dw − pw (zero outside the image).
//! x `[N, C_in, H, W]`, w `[C_out, C_in, KH, KW]`, b `[C_out]` → y `[N, C_out, OH, OW]`.
//! Cost: 2·N·C_out·C_in·KH·KW·OH·OW FLOPs, and the same again for each of dx and dw.
//!
//! Gradients (the rule saves x and w as `Arc` clones):
//! - dx\[n,c,ih,iw\] = Σ_{o,i,j} w\[o,c,i,j\]·dy\[n,o,oh,ow\] over the (oh, ow) that read (ih, iw);
//! - dw\[o,c,i,j\] = Σ_{n,oh,ow} dy\[n,o,oh,ow\]·x\[n,c,ih,iw\];
//! - db\[o\] = Σ_{n,oh,ow} dy\[n,o,oh,ow\].
//!
//! Each gradient is a separate engine call, made only if the tape asks for it (a first layer's
//! dx is never computed).

use ecgrad_engine::ops::conv2d::{
    Conv2dParams, conv2d as conv2d_fwd, conv2d_backward_bias, conv2d_backward_input,
    conv2d_backward_weight,
};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `conv2d`: saves x and w.
struct Conv2dBackward<T: Real> {
    x: Tensor<T>,
    w: Tensor<T>,
    params: Conv2dParams,
    has_bias: bool,
}

impl<T: Real> Backward<T> for Conv2dBackward<T> {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let dx = if needs[0] {
            Some(conv2d_backward_input(
                dy,
                &self.w,
                self.x.shape(),
                &self.params,
            )?)
        } else {
            None
        };
        let dw = if needs[1] {
            Some(conv2d_backward_weight(
                dy,
                &self.x,
                self.w.shape(),
                &self.params,
            )?)
        } else {
            None
        };
        let mut out = vec![dx, dw];
        if self.has_bias {
            out.push(if needs[2] {
                Some(conv2d_backward_bias(dy)?)
            } else {
                None
            });
        }
        Ok(out)
    }
}

/// y = conv2d(x, w) + b; see the module docs.
///
/// # Errors
/// Rank errors unless x and w are rank 4; shape mismatches for channel counts or the bias;
/// `InvalidParam` for zero strides/dilations; `EmptyOutput` when the kernel does not fit.
pub fn conv2d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    params: &Conv2dParams,
) -> Result<Var<T>> {
    let y = conv2d_fwd(x.value(), w.value(), b.map(|b| b.value()), params)?;
    let mut inputs = vec![x, w];
    inputs.extend(b);
    let params = *params;
    tape.record("conv2d", &inputs, y, || {
        Box::new(Conv2dBackward {
            x: x.value().clone(),
            w: w.value().clone(),
            params,
            has_bias: b.is_some(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn conv2d_gradcheck_input_weight_bias_awkward() {
        // (n, c_in, c_out, h, w, kh, kw, stride, padding, dilation)
        #[allow(clippy::type_complexity)]
        let cases: [(
            usize,
            usize,
            usize,
            usize,
            usize,
            usize,
            usize,
            (usize, usize),
            (usize, usize),
            (usize, usize),
        ); 7] = [
            (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0), (1, 1)), // 1×1 everything
            (2, 2, 3, 4, 5, 3, 2, (1, 1), (0, 0), (1, 1)), // plain, non-square kernel
            (1, 2, 2, 5, 7, 3, 3, (2, 3), (1, 1), (1, 1)), // strides leaving remainders
            (1, 1, 2, 6, 5, 2, 3, (1, 1), (0, 0), (2, 1)), // dilation 2 along H
            (2, 2, 1, 3, 3, 3, 3, (1, 1), (2, 2), (1, 1)), // padding K − 1
            (1, 3, 2, 1, 6, 1, 3, (1, 2), (0, 1), (1, 1)), // a 1-row image
            (1, 3, 2, 4, 4, 1, 1, (1, 1), (0, 0), (1, 1)), // pointwise (no im2col path)
        ];
        for (i, &(n, ci, co, h, w, kh, kw, stride, padding, dilation)) in cases.iter().enumerate() {
            let params = Conv2dParams {
                stride,
                padding,
                dilation,
            };
            let s = 900 + 10 * i as u64;
            let x = random_tensor(&[n, ci, h, w], -1.0, 1.0, s);
            let wt = random_tensor(&[co, ci, kh, kw], -1.0, 1.0, s + 1);
            let b = random_tensor(&[co], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("conv2d case {i}"),
                |t, v| conv2d(t, &v[0], &v[1], Some(&v[2]), &params),
                &[x.clone(), wt.clone(), b],
                s + 3,
            );
            assert_gradcheck(
                &format!("conv2d case {i}, no bias"),
                |t, v| conv2d(t, &v[0], &v[1], None, &params),
                &[x, wt],
                s + 4,
            );
        }
    }

    #[test]
    fn first_layer_input_gradient_is_not_computed() {
        let mut t = Tape::<f64>::new();
        let x = t.input(random_tensor(&[1, 1, 3, 3], -1.0, 1.0, 990));
        let w = t.leaf(random_tensor(&[2, 1, 2, 2], -1.0, 1.0, 991), true);
        let y = conv2d(&mut t, &x, &w, None, &Conv2dParams::default()).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert!(g.get(x.id()).is_none());
        assert!(g.get(w.id()).is_some());
    }
}
