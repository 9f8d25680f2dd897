//! Depthwise 1D convolution (`groups = C`) over NCL tensors, recorded on the tape; kernels are
//! the engine's (`engine/src/ops/depthwise_conv1d/`: vectorised along time, with a naive twin).
//!
//! Forward: y\[n,c,t\] = b\[c\] + Σ_j w\[c,0,j\]·x\[n,c, t·s + j·d − p\], x `[N, C, L_in]`,
//! w `[C, 1, K]`, b `[C]` → y `[N, C, L_out]` (L_out as for conv1d). Cost: 2·N·C·K·L_out FLOPs,
//! and about the same again for each of dx and dw.
//!
//! Gradients (the rule saves x and w as `Arc` clones):
//! - dx\[n,c,t·s + j·d − p\] += w\[c,0,j\]·dy\[n,c,t\];
//! - dw\[c,0,j\] = Σ_n Σ_t dy\[n,c,t\]·x\[n,c,t·s + j·d − p\];
//! - db\[c\] = Σ_n Σ_t dy\[n,c,t\].

use ecgrad_engine::ops::conv1d::{Conv1dNeeds, Conv1dParams};
use ecgrad_engine::ops::depthwise_conv1d::{
    depthwise_conv1d as depthwise_fwd, depthwise_conv1d_backward,
};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `depthwise_conv1d`: saves x and w (not the bias).
struct DepthwiseConv1dBackward<T: Real> {
    x: Tensor<T>,
    w: Tensor<T>,
    params: Conv1dParams,
    has_bias: bool,
}

impl<T: Real> Backward<T> for DepthwiseConv1dBackward<T> {
    fn name(&self) -> &'static str {
        "depthwise_conv1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let want = Conv1dNeeds {
            input: needs[0],
            weight: needs[1],
            bias: self.has_bias && needs[2],
        };
        let g = depthwise_conv1d_backward(&self.x, &self.w, dy, self.params, want)?;
        let mut out = vec![g.dx, g.dw];
        if self.has_bias {
            out.push(g.db);
        }
        Ok(out)
    }
}

/// y = depthwise_conv1d(x, w) + b; see the module docs for the formula and shapes.
///
/// # Errors
/// Rank errors unless x and w are rank 3; shape mismatches unless w is `[C, 1, K]` and the bias
/// `[C]`; `InvalidParam` for a zero stride/dilation; `EmptyOutput` when the kernel does not fit.
pub fn depthwise_conv1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    params: Conv1dParams,
) -> Result<Var<T>> {
    let y = depthwise_fwd(x.value(), w.value(), b.map(|b| b.value()), params)?;
    let mut inputs = vec![x, w];
    inputs.extend(b);
    tape.record("depthwise_conv1d", &inputs, y, || {
        Box::new(DepthwiseConv1dBackward {
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
    use ecgrad_engine::Shape;

    #[test]
    fn depthwise_conv1d_gradcheck_input_weight_bias_awkward() {
        // conv1d's awkward list, with C = c_in (c_out is meaningless for a depthwise conv).
        for (i, &(n, c, _, l, k, stride, padding, dilation)) in
            crate::ops::conv1d::tests::CASES.iter().enumerate()
        {
            let params = Conv1dParams {
                stride,
                padding,
                dilation,
            };
            let s = 700 + 10 * i as u64;
            let x = random_tensor(&[n, c, l], -1.0, 1.0, s);
            let w = random_tensor(&[c, 1, k], -1.0, 1.0, s + 1);
            let b = random_tensor(&[c], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("depthwise_conv1d case {i}"),
                |t, v| depthwise_conv1d(t, &v[0], &v[1], Some(&v[2]), params),
                &[x.clone(), w.clone(), b],
                s + 3,
            );
            assert_gradcheck(
                &format!("depthwise_conv1d case {i}, no bias"),
                |t, v| depthwise_conv1d(t, &v[0], &v[1], None, params),
                &[x, w],
                s + 4,
            );
        }
    }

    #[test]
    fn wrong_weight_shape_is_a_named_error() {
        let mut t = Tape::<f64>::new();
        let x = t.input(Tensor::zeros(Shape::d3(1, 3, 8)));
        let w = t.input(Tensor::zeros(Shape::d3(3, 3, 3)));
        let e = depthwise_conv1d(&mut t, &x, &w, None, Conv1dParams::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("depthwise_conv1d") && e.contains("[3, 1, K]"),
            "{e}"
        );
    }
}
