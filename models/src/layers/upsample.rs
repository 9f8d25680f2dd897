//! Decoder layers that make a signal longer: [`Upsample1d`] (fixed, nearest or linear) and
//! [`ConvTranspose1d`] (learned), with PyTorch's layout and names.
//!
//! - Upsample1d: y\[n,c,t\] = x\[n,c,⌊t/s⌋\] (nearest) or the linear interpolation of PyTorch's
//!   `align_corners = false`; `[N, C, L]` → `[N, C, s·L]`; no parameters; O(s·N·C·L).
//!   Gradient: dx\[i\] = Σ of the dy that copied (or interpolated from) x\[i\].
//! - ConvTranspose1d: y\[n,o,i·s + j·d − p\] += x\[n,c,i\]·w\[c,o,j\], then + b\[o\];
//!   weight w `[C_in, C_out, K]` (`"weight"`), bias b `[C_out]` (`"bias"`);
//!   L_out = (L_in − 1)·s − 2p + d(K − 1) + output_padding + 1;
//!   cost 2·N·C_in·C_out·K·L_in FLOPs forward, about twice that backward.
//!   Gradients: dx = conv1d(dy, w) (the adjoint), dw\[c,o,j\] = Σ_n Σ_i x\[n,c,i\]·dy\[n,o,i·s + j·d − p\],
//!   db\[o\] = Σ_n Σ_t dy\[n,o,t\].
//!
//! # TensorFlow's "SAME" transposed convolution
//! The seed-004 public code (TF1) calls `conv1d_transpose(…, output_shape = L_out, padding =
//! "SAME")`. That is the adjoint of a SAME strided conv that maps L_out → ⌈L_out/s⌉, whose
//! padding is P = max((L_in − 1)·s + K − L_out, 0), split ⌊P/2⌋ left and ⌈P/2⌉ right. In
//! PyTorch terms: padding p = ⌊P/2⌋ on both ends, then cut (or, when P = 0 and the kernel is short,
//! extend by `output_padding`) the end to L_out. [`TransposePadding::Same`] does exactly that with
//! a `narrow`, so the weights of a TF network give the same output here.

use ecgrad_autograd::engine::ops::conv_transpose1d::ConvTranspose1dParams;
use ecgrad_autograd::engine::ops::upsample1d::{Upsample1dParams, UpsampleMode};
use ecgrad_autograd::engine::{Real, Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// Fixed upsampling by an integer factor (PyTorch `nn.Upsample(scale_factor = s)` on NCL,
/// Keras `UpSampling1D(s)` for the nearest mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsample1d {
    /// Factor and mode.
    pub params: Upsample1dParams,
}

impl Upsample1d {
    /// Nearest-neighbour upsampling by `scale` (Keras' `UpSampling1D`).
    ///
    /// # Errors
    /// An invalid-parameter error for `scale = 0`.
    pub fn nearest(scale: usize) -> Result<Upsample1d> {
        Upsample1d::new(scale, UpsampleMode::Nearest)
    }

    /// Upsampling by `scale` in the given mode.
    ///
    /// # Errors
    /// An invalid-parameter error for `scale = 0`.
    pub fn new(scale: usize, mode: UpsampleMode) -> Result<Upsample1d> {
        if scale == 0 {
            return Err(invalid("Upsample1d", "scale", scale, "must be ≥ 1"));
        }
        Ok(Upsample1d {
            params: Upsample1dParams { scale, mode },
        })
    }
}

impl Parameters<f32> for Upsample1d {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Upsample1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::upsample1d(tape, x, &self.params)?)
    }
    fn describe(&self) -> String {
        format!("Upsample1d(×{}, {:?})", self.params.scale, self.params.mode)
    }
}

/// How a [`ConvTranspose1d`] sets its output length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransposePadding {
    /// PyTorch's `padding` and `output_padding`.
    Explicit {
        /// Samples cut from each end of the full scatter result.
        padding: usize,
        /// Samples added at the end (< max(stride, dilation)).
        output_padding: usize,
    },
    /// TensorFlow's `padding = "SAME"` with an explicit output length (see the module docs);
    /// needs ⌈out_len/stride⌉ = L_in and dilation 1.
    Same {
        /// The output length L_out.
        out_len: usize,
    },
}

/// The transposed convolution with either padding convention; generic over the float type so
/// that the composition is gradchecked in f64. `stride` and `dilation` as in PyTorch.
///
/// # Errors
/// The op's shape errors; an invalid-parameter error when a SAME output length does not fit
/// the input (⌈out_len/stride⌉ ≠ L_in) or dilation ≠ 1 with SAME.
pub fn conv_transpose1d_padded<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    stride: usize,
    dilation: usize,
    padding: TransposePadding,
) -> Result<Var<T>> {
    match padding {
        TransposePadding::Explicit {
            padding,
            output_padding,
        } => {
            let p = ConvTranspose1dParams {
                stride,
                padding,
                output_padding,
                dilation,
            };
            Ok(ops::conv_transpose1d(tape, x, w, b, p)?)
        }
        TransposePadding::Same { out_len } => {
            let (_, _, l_in) = x.shape().dims3("ConvTranspose1d", "input")?;
            let k = w.shape().dims3("ConvTranspose1d", "weight")?.2;
            if stride == 0 || dilation != 1 || out_len.div_ceil(stride) != l_in {
                return Err(invalid(
                    "ConvTranspose1d",
                    "out_len",
                    out_len,
                    format!(
                        "SAME needs dilation 1 and ⌈out_len/stride⌉ = input length {l_in} \
                         (stride {stride}, dilation {dilation})"
                    ),
                ));
            }
            let total = ((l_in - 1) * stride + k).saturating_sub(out_len);
            let left = total / 2;
            let natural = (l_in - 1) * stride + k - 2 * left;
            let output_padding = out_len.saturating_sub(natural);
            let p = ConvTranspose1dParams {
                stride,
                padding: left,
                output_padding,
                dilation,
            };
            let y = ops::conv_transpose1d(tape, x, w, b, p)?;
            if y.shape().dims()[2] == out_len {
                Ok(y)
            } else {
                Ok(ops::narrow(tape, &y, 2, 0, out_len)?)
            }
        }
    }
}

/// Learned upsampling (PyTorch `nn.ConvTranspose1d`, or TF `conv1d_transpose` with SAME).
#[derive(Clone, Debug)]
pub struct ConvTranspose1d {
    /// w `[C_in, C_out, K]` (PyTorch's layout).
    pub weight: Param<f32>,
    /// b `[C_out]`, if present.
    pub bias: Option<Param<f32>>,
    /// The upsampling factor.
    pub stride: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
    /// Padding convention and output length.
    pub padding: TransposePadding,
}

impl ConvTranspose1d {
    /// A layer with PyTorch's default initialisation: w ~ U(±1/√(C_out·K)) (PyTorch's fan-in of
    /// a transposed conv weight is its dimension 1 times K), b ~ U(±1/√(C_out·K)).
    ///
    /// # Errors
    /// An invalid-parameter error if a size or the stride is zero.
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: TransposePadding,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<ConvTranspose1d> {
        let shape = Shape::d3(c_in, c_out, kernel);
        let w = init::kaiming_uniform(shape, 5f64.sqrt(), init::FanMode::FanIn, rng)?;
        let b = if bias {
            let bound = 1.0 / ((c_out * kernel) as f64).sqrt();
            Some(init::uniform(Shape::d1(c_out), -bound, bound, rng)?)
        } else {
            None
        };
        ConvTranspose1d::from_tensors(w, b, stride, padding)
    }

    /// A layer with the given weight `[C_in, C_out, K]` and optional bias `[C_out]`.
    ///
    /// # Errors
    /// A rank error if the weight is not rank 3; an invalid-parameter error for a bias that is
    /// not `[C_out]`, a zero size or a zero stride.
    pub fn from_tensors(
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
        stride: usize,
        padding: TransposePadding,
    ) -> Result<ConvTranspose1d> {
        let (ci, co, k) = weight.shape().dims3("ConvTranspose1d", "weight")?;
        if ci == 0 || co == 0 || k == 0 || stride == 0 {
            return Err(invalid(
                "ConvTranspose1d",
                "weight/stride",
                format!("{} / {stride}", weight.shape()),
                "sizes and stride must be ≥ 1",
            ));
        }
        if let Some(b) = &bias {
            if b.shape() != Shape::d1(co) {
                return Err(invalid(
                    "ConvTranspose1d",
                    "bias",
                    b.shape(),
                    format!("must be [{co}] (one per output channel)"),
                ));
            }
        }
        Ok(ConvTranspose1d {
            weight: Param::new("weight", weight),
            bias: bias.map(|b| Param::new("bias", b)),
            stride,
            dilation: 1,
            padding,
        })
    }
}

impl Parameters<f32> for ConvTranspose1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for ConvTranspose1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        conv_transpose1d_padded(
            tape,
            x,
            &w,
            b.as_ref(),
            self.stride,
            self.dilation,
            self.padding,
        )
    }
    fn describe(&self) -> String {
        let d = self.weight.value.dims();
        format!(
            "ConvTranspose1d({} → {}, k={}, s={}, {:?})",
            d[0], d[1], d[2], self.stride, self.padding
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_autograd::gradcheck::{assert_gradcheck, random_tensor};

    /// Gradcheck closures return autograd's error type.
    fn ag<T>(r: Result<T>) -> ecgrad_autograd::Result<T> {
        r.map_err(|e| match e {
            crate::Error::Autograd(e) => e,
            other => panic!("unexpected model error: {other}"),
        })
    }

    #[test]
    fn same_transpose_gradcheck_and_lengths() {
        // (c_in, c_out, l_in, k, stride, out_len): the seed-004 shapes scaled down, odd and even
        // SAME padding totals, a short kernel needing output_padding, stride 1.
        let cases = [
            (2, 3, 4, 5, 2, 8),  // total 1 → narrow
            (2, 2, 3, 6, 3, 9),  // total 3 → narrow
            (1, 2, 5, 4, 2, 10), // total 2, symmetric
            (2, 1, 3, 2, 3, 9),  // P = 0 and K < s: natural length 8, output_padding 1 → 9
            (1, 1, 6, 3, 1, 6),  // stride 1 SAME
            (2, 2, 3, 7, 3, 7),  // ⌈7/3⌉ = 3
        ];
        for (i, &(ci, co, l, k, s, out)) in cases.iter().enumerate() {
            let seed = 900 + 10 * i as u64;
            let x = random_tensor(&[2, ci, l], -1.0, 1.0, seed);
            let w = random_tensor(&[ci, co, k], -1.0, 1.0, seed + 1);
            let b = random_tensor(&[co], -1.0, 1.0, seed + 2);
            let pad = TransposePadding::Same { out_len: out };
            assert_gradcheck(
                &format!("SAME transpose case {i}"),
                |t, v| {
                    ag(conv_transpose1d_padded(
                        t,
                        &v[0],
                        &v[1],
                        Some(&v[2]),
                        s,
                        1,
                        pad,
                    ))
                },
                &[x.clone(), w.clone(), b],
                seed + 3,
            );
            let mut tape = Tape::<f64>::no_grad();
            let (xv, wv) = (tape.input(x), tape.input(w));
            let y = conv_transpose1d_padded(&mut tape, &xv, &wv, None, s, 1, pad)
                .expect("SAME transpose runs");
            assert_eq!(y.shape().dims(), &[2, co, out], "case {i}");
        }
    }

    /// Hand-computed TF SAME example: x = [1, 2], w = [1, 10, 100] (K = 3), stride 2, out 4.
    /// P = (2−1)·2 + 3 − 4 = 1, left 0: the full scatter is
    /// [1, 10, 100+2, 20, 200] and SAME keeps the first 4 samples.
    #[test]
    fn same_transpose_hand_example() {
        let mut tape = Tape::<f64>::no_grad();
        let x = tape.input(Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0, 2.0]).expect("x"));
        let w =
            tape.input(Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0, 10.0, 100.0]).expect("w"));
        let y = conv_transpose1d_padded(
            &mut tape,
            &x,
            &w,
            None,
            2,
            1,
            TransposePadding::Same { out_len: 4 },
        )
        .expect("runs");
        assert_eq!(y.value().data(), &[1.0, 10.0, 102.0, 20.0]);
    }

    #[test]
    fn same_transpose_rejects_wrong_out_len() {
        let mut tape = Tape::<f64>::no_grad();
        let x = tape.input(Tensor::zeros(Shape::d3(1, 1, 4)));
        let w = tape.input(Tensor::zeros(Shape::d3(1, 1, 3)));
        let e = conv_transpose1d_padded(
            &mut tape,
            &x,
            &w,
            None,
            2,
            1,
            TransposePadding::Same { out_len: 10 },
        );
        assert!(e.is_err());
    }

    #[test]
    fn layers_forward_shapes_and_names() {
        let mut rng = Rng::new(3);
        let mut ct = ConvTranspose1d::new(
            3,
            2,
            4,
            2,
            TransposePadding::Explicit {
                padding: 1,
                output_padding: 0,
            },
            true,
            &mut rng,
        )
        .expect("layer");
        let mut names = Vec::new();
        ct.visit_params(&mut |p| names.push((p.name.to_string(), p.value.dims().to_vec())));
        assert_eq!(
            names,
            vec![
                ("weight".to_string(), vec![3, 2, 4]),
                ("bias".to_string(), vec![2])
            ]
        );
        let bound = 1.0 / (2.0f32 * 4.0).sqrt();
        assert!(ct.weight.value.data().iter().all(|v| v.abs() <= bound));
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::zeros(Shape::d3(2, 3, 5)));
        // (5 − 1)·2 − 2 + 3 + 1 = 10
        assert_eq!(
            ct.forward(&mut tape, &x).expect("fwd").shape(),
            Shape::d3(2, 2, 10)
        );
        let up = Upsample1d::nearest(3).expect("up");
        assert_eq!(
            up.forward(&mut tape, &x).expect("up fwd").shape(),
            Shape::d3(2, 3, 15)
        );
        assert!(Upsample1d::nearest(0).is_err());
    }
}
