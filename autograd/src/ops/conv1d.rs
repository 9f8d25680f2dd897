//! 1D convolution over NCL tensors, recorded on the tape; forward and gradient kernels are the
//! engine's (`engine/src/ops/conv1d/`: im2col/packed GEMM paths with a naive twin).
//!
//! Forward: y\[n,o,t\] = b\[o\] + Σ_c Σ_j w\[o,c,j\]·x\[n,c, t·s + j·d − p\] (zero outside the
//! signal), x `[N, C_in, L_in]`, w `[C_out, C_in, K]`, b `[C_out]` → y `[N, C_out, L_out]`,
//! L_out = ⌊(L_in + 2p − d(K − 1) − 1)/s⌋ + 1.   Cost: 2·N·C_out·C_in·K·L_out FLOPs, and about
//! the same again for each of dx and dw.
//!
//! Gradients (the rule saves x and w as `Arc` clones, no copies; the engine recomputes im2col):
//! - dx\[n,c,i\] = Σ_o Σ_j w\[o,c,j\]·dy\[n,o,t\] over the t with t·s + j·d − p = i (a transposed conv);
//! - dw\[o,c,j\] = Σ_n Σ_t dy\[n,o,t\]·x\[n,c,t·s + j·d − p\];
//! - db\[o\] = Σ_n Σ_t dy\[n,o,t\].
//!
//! Only the gradients the tape asks for are computed: for a first layer, whose input is data,
//! `needs[0]` is false and the (costly) dx is never formed.

use ecgrad_engine::ops::conv1d::{
    Conv1dNeeds, Conv1dParams, conv1d as conv1d_fwd, conv1d_backward,
};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `conv1d`: saves x and w (not the bias, which its gradient does not need).
struct Conv1dBackward<T: Real> {
    x: Tensor<T>,
    w: Tensor<T>,
    params: Conv1dParams,
    has_bias: bool,
}

impl<T: Real> Backward<T> for Conv1dBackward<T> {
    fn name(&self) -> &'static str {
        "conv1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let want = Conv1dNeeds {
            input: needs[0],
            weight: needs[1],
            bias: self.has_bias && needs[2],
        };
        let g = conv1d_backward(&self.x, &self.w, dy, self.params, want)?;
        let mut out = vec![g.dx, g.dw];
        if self.has_bias {
            out.push(g.db);
        }
        Ok(out)
    }
}

/// y = conv1d(x, w) + b; see the module docs for the formula and shapes.
///
/// # Errors
/// Rank errors unless x and w are rank 3; shape mismatches for channel counts or the bias
/// length; `InvalidParam` for a zero stride/dilation; `EmptyOutput` when the kernel does not fit.
pub fn conv1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    params: Conv1dParams,
) -> Result<Var<T>> {
    let y = conv1d_fwd(x.value(), w.value(), b.map(|b| b.value()), params)?;
    let mut inputs = vec![x, w];
    inputs.extend(b);
    tape.record("conv1d", &inputs, y, || {
        Box::new(Conv1dBackward {
            x: x.value().clone(),
            w: w.value().clone(),
            params,
            has_bias: b.is_some(),
        })
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use ecgrad_engine::Shape;

    /// (n, c_in, c_out, l_in, k, stride, padding, dilation): the awkward list of DESIGN.md §2.7.
    #[allow(clippy::type_complexity)]
    pub(crate) const CASES: [(usize, usize, usize, usize, usize, usize, usize, usize); 10] = [
        (1, 1, 1, 1, 1, 1, 0, 1),  // length 1, everything 1
        (2, 3, 2, 7, 3, 1, 0, 1),  // plain, odd length
        (1, 2, 3, 9, 3, 2, 1, 1),  // stride 2 leaving a remainder, padding 1
        (2, 1, 2, 10, 3, 3, 0, 1), // stride 3 leaving a remainder, one input channel
        (1, 2, 2, 9, 3, 1, 0, 2),  // dilation 2
        (2, 2, 1, 6, 4, 1, 3, 1),  // padding K − 1 (a "full" convolution)
        (1, 1, 2, 1, 3, 1, 2, 1),  // length 1 reached only through padding K − 1
        (1, 2, 2, 3, 5, 1, 2, 1),  // kernel longer than the signal, fits with padding
        (2, 3, 4, 11, 2, 2, 1, 2), // stride, padding and dilation together
        (1, 5, 1, 4, 1, 1, 0, 1),  // pointwise (K = 1), channels down to 1
    ];

    #[test]
    fn conv1d_gradcheck_input_weight_bias_awkward() {
        for (i, &(n, ci, co, l, k, stride, padding, dilation)) in CASES.iter().enumerate() {
            let params = Conv1dParams {
                stride,
                padding,
                dilation,
            };
            let s = 200 + 10 * i as u64;
            let x = random_tensor(&[n, ci, l], -1.0, 1.0, s);
            let w = random_tensor(&[co, ci, k], -1.0, 1.0, s + 1);
            let b = random_tensor(&[co], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("conv1d case {i}"),
                |t, v| conv1d(t, &v[0], &v[1], Some(&v[2]), params),
                &[x.clone(), w.clone(), b],
                s + 3,
            );
            assert_gradcheck(
                &format!("conv1d case {i}, no bias"),
                |t, v| conv1d(t, &v[0], &v[1], None, params),
                &[x, w],
                s + 4,
            );
        }
    }

    #[test]
    fn first_layer_input_gradient_is_not_computed() {
        // x is data (no grad): the rule is asked only for dw and db, and returns no dx.
        let mut t = Tape::<f64>::new();
        let x = t.input(random_tensor(&[2, 1, 8], -1.0, 1.0, 300));
        let w = t.leaf(random_tensor(&[3, 1, 3], -1.0, 1.0, 301), true);
        let b = t.leaf(random_tensor(&[3], -1.0, 1.0, 302), true);
        let y = conv1d(&mut t, &x, &w, Some(&b), Conv1dParams::default()).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert!(g.get(x.id()).is_none());
        assert_eq!(g.get(w.id()).unwrap().shape(), Shape::d3(3, 1, 3));
        // db[o] = Σ dy = number of outputs per channel (dy = 1): N·L_out = 2·6.
        assert_eq!(g.get(b.id()).unwrap().data(), &[12.0, 12.0, 12.0]);
        // And the rule itself honours a `needs` mask directly.
        let rule = Conv1dBackward {
            x: random_tensor(&[1, 1, 4], -1.0, 1.0, 303),
            w: random_tensor(&[1, 1, 2], -1.0, 1.0, 304),
            params: Conv1dParams::default(),
            has_bias: true,
        };
        let dy = random_tensor(&[1, 1, 3], -1.0, 1.0, 305);
        let out = rule.backward(&dy, &[false, true, false]).unwrap();
        assert!(out[0].is_none() && out[1].is_some() && out[2].is_none());
    }

    #[test]
    fn kernel_that_does_not_fit_is_a_named_error() {
        let mut t = Tape::<f64>::new();
        let x = t.input(Tensor::zeros(Shape::d3(1, 1, 2)));
        let w = t.input(Tensor::zeros(Shape::d3(1, 1, 5)));
        let e = conv1d(&mut t, &x, &w, None, Conv1dParams::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("conv1d"), "{e}");
    }
}
