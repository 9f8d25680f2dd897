//! `DepthwiseSeparableConv1d`: a depthwise conv (one K-tap kernel per channel) followed by a
//! pointwise 1×1 conv that mixes channels — MobileNet's factorisation of a dense Conv1d.
//!
//! ```text
//! h[n,c,t] = b_d[c] + Σ_j w_d[c,0,j]·x[n,c,t·s + j·d − p]        (depthwise, groups = C_in)
//! y[n,o,t] = b_p[o] + Σ_c w_p[o,c,0]·h[n,c,t]                    (pointwise, K = 1)
//! ```
//! Shapes and PyTorch names (as `nn.Sequential`-free submodules called `depthwise` and
//! `pointwise`): `depthwise.weight [C_in, 1, K]`, `depthwise.bias [C_in]`,
//! `pointwise.weight [C_out, C_in, 1]`, `pointwise.bias [C_out]`. Input `[N, C_in, L_in]`,
//! output `[N, C_out, L_out]` with conv1d's `L_out`.
//!
//! Cost: `2·N·L_out·C_in·(K + C_out)` FLOPs instead of a dense conv's `2·N·L_out·C_in·K·C_out`,
//! and `C_in·(K + C_out)` weights instead of `C_in·K·C_out` — about K× fewer for wide layers
//! (conv3 of BeatCnn: 64·(3 + 128) = 8 384 weights instead of 24 576).
//!
//! Gradients: from autograd's `depthwise_conv1d` and `conv1d` rules (the pointwise conv runs the
//! engine's K = 1 path, a plain GEMM with no im2col).

use ecgrad_autograd::engine::ops::conv1d::Conv1dParams;
use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// Depthwise conv (K taps, stride/padding/dilation) + pointwise 1×1 conv.
#[derive(Clone, Debug)]
pub struct DepthwiseSeparableConv1d {
    /// Depthwise kernels `[C_in, 1, K]` (`"depthwise.weight"`).
    pub depthwise_weight: Param<f32>,
    /// Depthwise bias `[C_in]` (`"depthwise.bias"`), if any.
    pub depthwise_bias: Option<Param<f32>>,
    /// Pointwise weight `[C_out, C_in, 1]` (`"pointwise.weight"`).
    pub pointwise_weight: Param<f32>,
    /// Pointwise bias `[C_out]` (`"pointwise.bias"`), if any.
    pub pointwise_bias: Option<Param<f32>>,
    /// Stride, padding and dilation of the depthwise conv (the pointwise one has the defaults).
    pub params: Conv1dParams,
}

impl DepthwiseSeparableConv1d {
    /// A layer with PyTorch's default initialisation for both convs (U(±1/√fan_in), fan_in = K
    /// for the depthwise weight, C_in for the pointwise one), depthwise drawn first. `bias` adds
    /// a bias to both convs.
    ///
    /// # Errors
    /// An invalid-parameter error if a size is zero or stride/dilation is zero.
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        params: Conv1dParams,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<DepthwiseSeparableConv1d> {
        let (wd, bd) = init::pytorch_default(Shape::d3(c_in, 1, k), bias, rng)?;
        let (wp, bp) = init::pytorch_default(Shape::d3(c_out, c_in, 1), bias, rng)?;
        DepthwiseSeparableConv1d::from_tensors(wd, bd, wp, bp, params)
    }

    /// A layer with the given tensors: depthwise `[C_in, 1, K]` (+ bias `[C_in]`), pointwise
    /// `[C_out, C_in, 1]` (+ bias `[C_out]`).
    ///
    /// # Errors
    /// A rank error for non-3D weights; an invalid-parameter error for inconsistent shapes, a
    /// zero size, or a zero stride/dilation.
    pub fn from_tensors(
        depthwise: Tensor<f32>,
        depthwise_bias: Option<Tensor<f32>>,
        pointwise: Tensor<f32>,
        pointwise_bias: Option<Tensor<f32>>,
        params: Conv1dParams,
    ) -> Result<DepthwiseSeparableConv1d> {
        const OP: &str = "DepthwiseSeparableConv1d";
        params
            .validate(OP)
            .map_err(ecgrad_autograd::Error::Engine)?;
        let (c_in, one, k) = depthwise.shape().dims3(OP, "depthwise.weight")?;
        let (c_out, c_in_p, k_p) = pointwise.shape().dims3(OP, "pointwise.weight")?;
        if one != 1 || c_in == 0 || k == 0 {
            return Err(invalid(
                OP,
                "depthwise.weight",
                depthwise.shape(),
                "must be [C_in, 1, K] with C_in, K ≥ 1",
            ));
        }
        if c_in_p != c_in || k_p != 1 || c_out == 0 {
            return Err(invalid(
                OP,
                "pointwise.weight",
                pointwise.shape(),
                format!("must be [C_out, {c_in}, 1] with C_out ≥ 1"),
            ));
        }
        for (name, b, want) in [
            ("depthwise.bias", &depthwise_bias, c_in),
            ("pointwise.bias", &pointwise_bias, c_out),
        ] {
            if let Some(b) = b {
                if b.shape() != Shape::d1(want) {
                    return Err(invalid(OP, name, b.shape(), format!("must be [{want}]")));
                }
            }
        }
        Ok(DepthwiseSeparableConv1d {
            depthwise_weight: Param::new("depthwise.weight", depthwise),
            depthwise_bias: depthwise_bias.map(|b| Param::new("depthwise.bias", b)),
            pointwise_weight: Param::new("pointwise.weight", pointwise),
            pointwise_bias: pointwise_bias.map(|b| Param::new("pointwise.bias", b)),
            params,
        })
    }

    /// Input channels C_in.
    pub fn in_channels(&self) -> usize {
        self.depthwise_weight.value.dims()[0]
    }
    /// Output channels C_out.
    pub fn out_channels(&self) -> usize {
        self.pointwise_weight.value.dims()[0]
    }
    /// Depthwise kernel taps K.
    pub fn kernel_size(&self) -> usize {
        self.depthwise_weight.value.dims()[2]
    }
}

impl Parameters<f32> for DepthwiseSeparableConv1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.depthwise_weight);
        if let Some(b) = &mut self.depthwise_bias {
            f(b);
        }
        f(&mut self.pointwise_weight);
        if let Some(b) = &mut self.pointwise_bias {
            f(b);
        }
    }
}

impl Module for DepthwiseSeparableConv1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let wd = tape.param(&self.depthwise_weight);
        let bd = self.depthwise_bias.as_ref().map(|b| tape.param(b));
        let h = ops::depthwise_conv1d(tape, x, &wd, bd.as_ref(), self.params)?;
        let wp = tape.param(&self.pointwise_weight);
        let bp = self.pointwise_bias.as_ref().map(|b| tape.param(b));
        Ok(ops::conv1d(
            tape,
            &h,
            &wp,
            bp.as_ref(),
            Conv1dParams::default(),
        )?)
    }
    fn describe(&self) -> String {
        let p = self.params;
        format!(
            "DepthwiseSeparableConv1d({} → {}, k{}, stride {}, padding {}, dilation {})",
            self.in_channels(),
            self.out_channels(),
            self.kernel_size(),
            p.stride,
            p.padding,
            p.dilation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module;

    /// The layer in f64 as plain loops (the reference for the value and, through central
    /// differences, for every gradient).
    fn reference(
        x: &[f64],
        [n, c_in, l_in]: [usize; 3],
        wd: &[f64],
        bd: &[f64],
        wp: &[f64],
        bp: &[f64],
        k: usize,
        p: Conv1dParams,
    ) -> Vec<f64> {
        let c_out = bp.len();
        let l_out = p.out_len(l_in, k).unwrap();
        let mut y = vec![0.0; n * c_out * l_out];
        for s in 0..n {
            let mut h = vec![0.0; c_in * l_out];
            for c in 0..c_in {
                for t in 0..l_out {
                    let mut acc = bd[c];
                    for j in 0..k {
                        let pos = (t * p.stride + j * p.dilation) as isize - p.padding as isize;
                        if pos >= 0 && (pos as usize) < l_in {
                            acc += wd[c * k + j] * x[(s * c_in + c) * l_in + pos as usize];
                        }
                    }
                    h[c * l_out + t] = acc;
                }
            }
            for o in 0..c_out {
                for t in 0..l_out {
                    y[(s * c_out + o) * l_out + t] = bp[o]
                        + (0..c_in)
                            .map(|c| wp[o * c_in + c] * h[c * l_out + t])
                            .sum::<f64>();
                }
            }
        }
        y
    }

    fn to64(t: &Tensor<f32>) -> Vec<f64> {
        t.data().iter().map(|&v| v as f64).collect()
    }

    #[test]
    fn names_shapes_and_counts_follow_pytorch() {
        let mut rng = Rng::stream(1, "init");
        let mut m = DepthwiseSeparableConv1d::new(
            64,
            128,
            3,
            Conv1dParams {
                padding: 1,
                ..Default::default()
            },
            true,
            &mut rng,
        )
        .unwrap();
        let shapes = module::named_shapes(&mut m);
        let want = [
            ("depthwise.weight", Shape::d3(64, 1, 3)),
            ("depthwise.bias", Shape::d1(64)),
            ("pointwise.weight", Shape::d3(128, 64, 1)),
            ("pointwise.bias", Shape::d1(128)),
        ];
        assert_eq!(shapes.len(), 4);
        for ((name, shape), (wn, ws)) in shapes.iter().zip(want) {
            assert_eq!((name.as_str(), *shape), (wn, ws));
        }
        assert_eq!(
            module::count_params(&mut m).total,
            64 * 3 + 64 + 128 * 64 + 128
        );
        let bad = DepthwiseSeparableConv1d::from_tensors(
            Tensor::zeros(Shape::d3(4, 1, 3)),
            None,
            Tensor::zeros(Shape::d3(8, 5, 1)),
            None,
            Conv1dParams::default(),
        );
        assert!(bad.unwrap_err().to_string().contains("pointwise.weight"));
    }

    /// Layer-level gradcheck in f32 (DESIGN.md §2.7): the tape's gradients for x and all four
    /// parameters against central differences of the f64 reference, loss Σ r ⊙ y.
    #[test]
    fn depthwise_separable_gradcheck_x_and_params() {
        for (case, (n, c_in, c_out, l_in, k, p)) in [
            (
                2,
                3,
                4,
                11,
                3,
                Conv1dParams {
                    padding: 1,
                    ..Default::default()
                },
            ),
            (
                1,
                2,
                3,
                9,
                4,
                Conv1dParams {
                    stride: 2,
                    padding: 3,
                    dilation: 1,
                },
            ),
            (
                2,
                4,
                2,
                13,
                3,
                Conv1dParams {
                    stride: 1,
                    padding: 2,
                    dilation: 2,
                },
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = Rng::stream(10 + case as u64, "init");
            let layer = DepthwiseSeparableConv1d::new(c_in, c_out, k, p, true, &mut rng).unwrap();
            let x: Vec<f32> = (0..n * c_in * l_in)
                .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
                .collect();
            let xt = Tensor::from_vec(Shape::d3(n, c_in, l_in), x).unwrap();
            let mut tape = Tape::new();
            let xv = tape.leaf(xt.clone(), true);
            let y = layer.forward(&mut tape, &xv).unwrap();
            let r: Vec<f32> = (0..y.value().numel())
                .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
                .collect();
            let rt = Tensor::from_vec(y.shape(), r.clone()).unwrap();
            let grads = tape.backward_from(&y, rt, &[]).unwrap();

            let mut inputs = [
                to64(&xt),
                to64(&layer.depthwise_weight.value),
                to64(&layer.depthwise_bias.as_ref().unwrap().value),
                to64(&layer.pointwise_weight.value),
                to64(&layer.pointwise_bias.as_ref().unwrap().value),
            ];
            let loss = |v: &[Vec<f64>; 5]| -> f64 {
                let yr = reference(&v[0], [n, c_in, l_in], &v[1], &v[2], &v[3], &v[4], k, p);
                yr.iter().zip(&r).map(|(a, &b)| a * b as f64).sum()
            };
            // The forward value itself.
            let yr = reference(
                &inputs[0],
                [n, c_in, l_in],
                &inputs[1],
                &inputs[2],
                &inputs[3],
                &inputs[4],
                k,
                p,
            );
            for (a, b) in y.value().data().iter().zip(&yr) {
                assert!(
                    (*a as f64 - b).abs() < 1e-5,
                    "forward case {case}: {a} vs {b}"
                );
            }
            let analytic = [
                to64(grads.get(xv.id()).unwrap()),
                to64(&grads.param("depthwise.weight").unwrap().unwrap()),
                to64(&grads.param("depthwise.bias").unwrap().unwrap()),
                to64(&grads.param("pointwise.weight").unwrap().unwrap()),
                to64(&grads.param("pointwise.bias").unwrap().unwrap()),
            ];
            for i in 0..5 {
                for j in 0..inputs[i].len() {
                    let x0 = inputs[i][j];
                    let eps = 1e-6;
                    inputs[i][j] = x0 + eps;
                    let lp = loss(&inputs);
                    inputs[i][j] = x0 - eps;
                    let lm = loss(&inputs);
                    inputs[i][j] = x0;
                    let numeric = (lp - lm) / (2.0 * eps);
                    let a = analytic[i][j];
                    assert!(
                        (a - numeric).abs() <= 1e-4 + 2e-2 * numeric.abs(),
                        "case {case} input {i} index {j}: analytic {a}, numeric {numeric}"
                    );
                }
            }
        }
    }
}
