//! Transposed 1D convolution (a decoder's learned upsampling), recorded on the tape; kernels are
//! the engine's (`engine/src/ops/conv_transpose1d.rs`, built on conv1d's).
//!
//! Forward: every input sample scatters a weighted kernel, y\[n,o,i·s + j·d − p\] +=
//! x\[n,c,i\]·w\[c,o,j\], then y\[n,o,·\] += b\[o\]. x `[N, C_in, L_in]`, w `[C_in, C_out, K]`
//! (PyTorch's layout), b `[C_out]` → y `[N, C_out, L_out]`,
//! L_out = (L_in − 1)·s − 2p + d(K − 1) + output_padding + 1.   Cost: 2·N·C_in·C_out·K·L_in FLOPs.
//!
//! Gradients (the rule saves x and w as `Arc` clones):
//! - dx\[n,c,i\] = Σ_o Σ_j w\[c,o,j\]·dy\[n,o,i·s + j·d − p\]  (a conv1d of dy with w);
//! - dw\[c,o,j\] = Σ_n Σ_i x\[n,c,i\]·dy\[n,o,i·s + j·d − p\];
//! - db\[o\] = Σ_n Σ_t dy\[n,o,t\].
//!
//! As for conv1d, gradients the tape does not ask for are not computed.

use ecgrad_engine::ops::conv_transpose1d::{
    ConvTranspose1dParams, conv_transpose1d as convt_fwd, conv_transpose1d_backward,
};
use ecgrad_engine::ops::conv1d::Conv1dNeeds;
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `conv_transpose1d`: saves x and w.
struct ConvTranspose1dBackward<T: Real> {
    x: Tensor<T>,
    w: Tensor<T>,
    params: ConvTranspose1dParams,
    has_bias: bool,
}

impl<T: Real> Backward<T> for ConvTranspose1dBackward<T> {
    fn name(&self) -> &'static str {
        "conv_transpose1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let want = Conv1dNeeds {
            input: needs[0],
            weight: needs[1],
            bias: self.has_bias && needs[2],
        };
        let g = conv_transpose1d_backward(&self.x, &self.w, dy, self.params, want)?;
        let mut out = vec![g.dx, g.dw];
        if self.has_bias {
            out.push(g.db);
        }
        Ok(out)
    }
}

/// y = conv_transpose1d(x, w) + b; see the module docs.
///
/// # Errors
/// Rank errors unless x and w are rank 3; shape mismatches for channel counts or the bias;
/// `InvalidParam` for a zero stride/dilation or output_padding ≥ max(stride, dilation);
/// `EmptyOutput` when the padding removes every sample.
pub fn conv_transpose1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    params: ConvTranspose1dParams,
) -> Result<Var<T>> {
    let y = convt_fwd(x.value(), w.value(), b.map(|b| b.value()), params)?;
    let mut inputs = vec![x, w];
    inputs.extend(b);
    tape.record("conv_transpose1d", &inputs, y, || {
        Box::new(ConvTranspose1dBackward {
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
    fn conv_transpose1d_gradcheck_input_weight_bias_awkward() {
        // (n, c_in, c_out, l_in, k, stride, padding, output_padding, dilation)
        let cases = [
            (1, 1, 1, 1, 1, 1, 0, 0, 1), // length 1, everything 1
            (2, 3, 2, 5, 3, 1, 0, 0, 1), // plain
            (1, 2, 3, 4, 3, 2, 1, 1, 1), // stride 2, padding 1, output padding 1
            (2, 1, 2, 3, 4, 3, 0, 2, 1), // stride 3 with output padding 2, K > stride
            (1, 2, 2, 5, 3, 1, 0, 0, 2), // dilation 2
            (2, 2, 1, 6, 4, 1, 3, 0, 1), // padding K − 1 (inverse of a "full" conv)
            (1, 3, 2, 1, 5, 2, 2, 1, 1), // length 1, kernel longer than the input
            (2, 2, 3, 4, 2, 2, 1, 1, 2), // everything together
        ];
        for (i, &(n, ci, co, l, k, stride, padding, output_padding, dilation)) in
            cases.iter().enumerate()
        {
            let params = ConvTranspose1dParams {
                stride,
                padding,
                output_padding,
                dilation,
            };
            let s = 400 + 10 * i as u64;
            let x = random_tensor(&[n, ci, l], -1.0, 1.0, s);
            let w = random_tensor(&[ci, co, k], -1.0, 1.0, s + 1);
            let b = random_tensor(&[co], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("conv_transpose1d case {i}"),
                |t, v| conv_transpose1d(t, &v[0], &v[1], Some(&v[2]), params),
                &[x.clone(), w.clone(), b],
                s + 3,
            );
            assert_gradcheck(
                &format!("conv_transpose1d case {i}, no bias"),
                |t, v| conv_transpose1d(t, &v[0], &v[1], None, params),
                &[x, w],
                s + 4,
            );
        }
    }

    #[test]
    fn only_requested_gradients_are_returned() {
        let rule = ConvTranspose1dBackward {
            x: random_tensor(&[1, 2, 3], -1.0, 1.0, 490),
            w: random_tensor(&[2, 1, 2], -1.0, 1.0, 491),
            params: ConvTranspose1dParams::default(),
            has_bias: false,
        };
        let dy = random_tensor(&[1, 1, 4], -1.0, 1.0, 492);
        let out = rule.backward(&dy, &[false, true]).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].is_none() && out[1].is_some());
    }
}
