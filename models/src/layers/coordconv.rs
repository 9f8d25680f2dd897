//! `CoordConv1d` (Liu et al. 2018, "An intriguing failing of convolutional neural networks and
//! the CoordConv solution"): a coordinate channel is appended to the input, then an ordinary
//! 1D convolution runs. Also the "same"-padding convolution helper used by the seed-004
//! autoencoders ([`conv1d_padded`]).
//!
//! Coordinate channel: c\[t\] = −1 + 2t/(L − 1) for t = 0 … L − 1 (c = 0 when L = 1), the same
//! for every sample of the batch, appended **after** the C_in data channels:
//! x′ = concat(x, c) `[N, C_in + 1, L]`, y = conv1d(x′, w) + b with w `[C_out, C_in + 1, K]`
//! (`"weight"`), b `[C_out]` (`"bias"`). The coordinate is a constant: no gradient flows into
//! it, so dx is dx′ without its last channel; dw and db are conv1d's.
//! Cost: conv1d's 2·N·C_out·(C_in + 1)·K·L_out FLOPs plus one copy of x (the concat).
//!
//! Why: a plain convolution is translation-equivariant, so it cannot know *where* in the window
//! a wave sits; the coordinate channel lets a filter respond to absolute position, which is what
//! an autoencoder needs to decode a latent code into a wave at a given place.
//!
//! # "same" padding
//! Keras' and PyTorch's `padding = "same"` (stride 1) pads P = d(K − 1) samples, ⌊P/2⌋ on the
//! left and ⌈P/2⌉ on the right — asymmetric for an even kernel such as the seed's K = 100. The
//! conv op pads symmetrically, so [`conv1d_padded`] pads ⌈P/2⌉ on both ends and, when P is odd,
//! drops the first output sample (a `narrow`), which gives exactly the asymmetric result.

use ecgrad_autograd::engine::ops::conv1d::Conv1dParams;
use ecgrad_autograd::engine::{Real, Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// How a convolution pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPadding {
    /// The same number of zeros on both ends (PyTorch's integer `padding`).
    Explicit(usize),
    /// Output length = input length (stride 1): ⌊P/2⌋ left, ⌈P/2⌉ right, P = d(K − 1).
    Same,
}

/// conv1d with [`ConvPadding`]; generic over the float type so the composition is gradchecked
/// in f64.
///
/// # Errors
/// The conv op's shape errors; an invalid-parameter error for `Same` with a stride other than 1.
pub fn conv1d_padded<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    stride: usize,
    dilation: usize,
    padding: ConvPadding,
) -> Result<Var<T>> {
    match padding {
        ConvPadding::Explicit(padding) => {
            let p = Conv1dParams {
                stride,
                padding,
                dilation,
            };
            Ok(ops::conv1d(tape, x, w, b, p)?)
        }
        ConvPadding::Same => {
            if stride != 1 {
                return Err(invalid(
                    "conv1d_padded",
                    "stride",
                    stride,
                    "\"same\" padding needs stride 1",
                ));
            }
            let (_, _, l) = x.shape().dims3("conv1d_padded", "input")?;
            let k = w.shape().dims3("conv1d_padded", "weight")?.2;
            let total = dilation * k.saturating_sub(1);
            let p = Conv1dParams {
                stride: 1,
                padding: total.div_ceil(2),
                dilation,
            };
            let y = ops::conv1d(tape, x, w, b, p)?;
            if total % 2 == 1 {
                Ok(ops::narrow(tape, &y, 2, 1, l)?)
            } else {
                Ok(y)
            }
        }
    }
}

/// The coordinate channel `[N, 1, L]`: c\[t\] = −1 + 2t/(L − 1), or 0 when L = 1.
pub fn coordinate_channel<T: Real>(n: usize, l: usize) -> Tensor<T> {
    let row: Vec<T> = (0..l)
        .map(|t| {
            if l == 1 {
                T::ZERO
            } else {
                T::from_f64(-1.0 + 2.0 * t as f64 / (l - 1) as f64)
            }
        })
        .collect();
    let data: Vec<T> = (0..n).flat_map(|_| row.iter().copied()).collect();
    Tensor::from_vec(Shape::d3(n, 1, l), data).expect("invariant: n·l values for [n, 1, l]")
}

/// concat(x, coordinates) then [`conv1d_padded`]: the CoordConv forward, generic for gradchecks.
///
/// # Errors
/// As [`conv1d_padded`]; a rank error unless x is `[N, C, L]`.
pub fn coord_conv1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: &Var<T>,
    b: Option<&Var<T>>,
    stride: usize,
    padding: ConvPadding,
) -> Result<Var<T>> {
    let (n, _, l) = x.shape().dims3("CoordConv1d", "input")?;
    let c = tape.input(coordinate_channel(n, l));
    let xc = ops::concat(tape, &[x, &c], 1)?;
    conv1d_padded(tape, &xc, w, b, stride, 1, padding)
}

/// A 1D convolution that also sees where it is: see the module docs.
#[derive(Clone, Debug)]
pub struct CoordConv1d {
    /// w `[C_out, C_in + 1, K]`; input channel C_in (the last) is the coordinate.
    pub weight: Param<f32>,
    /// b `[C_out]`, if present.
    pub bias: Option<Param<f32>>,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub padding: ConvPadding,
}

impl CoordConv1d {
    /// A layer with PyTorch's default initialisation of a `Conv1d(C_in + 1, C_out, K)`.
    ///
    /// # Errors
    /// An invalid-parameter error if a size or the stride is zero.
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: ConvPadding,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<CoordConv1d> {
        if c_in == 0 || c_out == 0 || kernel == 0 || stride == 0 {
            return Err(invalid(
                "CoordConv1d",
                "sizes",
                format!("c_in {c_in}, c_out {c_out}, kernel {kernel}, stride {stride}"),
                "must all be ≥ 1",
            ));
        }
        let (w, b) = init::pytorch_default(Shape::d3(c_out, c_in + 1, kernel), bias, rng)?;
        Ok(CoordConv1d {
            weight: Param::new("weight", w),
            bias: b.map(|b| Param::new("bias", b)),
            stride,
            padding,
        })
    }

    /// Data input channels (without the coordinate).
    pub fn in_channels(&self) -> usize {
        self.weight.value.dims()[1] - 1
    }
}

impl Parameters<f32> for CoordConv1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for CoordConv1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let c = x.shape().dims3("CoordConv1d", "input")?.1;
        if c != self.in_channels() {
            return Err(invalid(
                "CoordConv1d",
                "input",
                x.shape(),
                format!("must have {} channels", self.in_channels()),
            ));
        }
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        coord_conv1d(tape, x, &w, b.as_ref(), self.stride, self.padding)
    }
    fn describe(&self) -> String {
        let d = self.weight.value.dims();
        format!(
            "CoordConv1d({}+xy → {}, k={}, {:?})",
            d[1] - 1,
            d[0],
            d[2],
            self.padding
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
    fn coordinate_channel_values() {
        let c = coordinate_channel::<f64>(2, 5);
        assert_eq!(
            c.data(),
            &[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0]
        );
        assert_eq!(coordinate_channel::<f64>(1, 1).data(), &[0.0]);
    }

    #[test]
    fn same_padding_gradcheck_and_length() {
        // even and odd kernels, dilation 2, length 1, kernel longer than the signal
        for (i, &(c, l, k, d)) in [
            (2, 7, 4, 1),
            (1, 6, 3, 1),
            (2, 5, 3, 2),
            (1, 1, 4, 1),
            (1, 3, 6, 1),
        ]
        .iter()
        .enumerate()
        {
            let s = 700 + 10 * i as u64;
            let x = random_tensor(&[2, c, l], -1.0, 1.0, s);
            let w = random_tensor(&[3, c, k], -1.0, 1.0, s + 1);
            let b = random_tensor(&[3], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("same conv case {i}"),
                |t, v| {
                    ag(conv1d_padded(
                        t,
                        &v[0],
                        &v[1],
                        Some(&v[2]),
                        1,
                        d,
                        ConvPadding::Same,
                    ))
                },
                &[x.clone(), w.clone(), b],
                s + 3,
            );
            let mut tape = Tape::<f64>::no_grad();
            let (xv, wv) = (tape.input(x), tape.input(w));
            let y = conv1d_padded(&mut tape, &xv, &wv, None, 1, d, ConvPadding::Same).expect("y");
            assert_eq!(y.shape().dims(), &[2, 3, l], "case {i}");
        }
    }

    /// Keras "same" with K = 2 pads 0 left, 1 right: y[t] = w0·x[t] + w1·x[t+1].
    #[test]
    fn same_padding_even_kernel_hand_example() {
        let mut tape = Tape::<f64>::no_grad();
        let x = tape.input(Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0, 2.0, 3.0]).expect("x"));
        let w = tape.input(Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0, 10.0]).expect("w"));
        let y = conv1d_padded(&mut tape, &x, &w, None, 1, 1, ConvPadding::Same).expect("y");
        assert_eq!(y.value().data(), &[21.0, 32.0, 3.0]);
    }

    #[test]
    fn coord_conv_gradcheck() {
        for (i, &(c, l, k, pad)) in [
            (1, 8, 3, ConvPadding::Same),
            (2, 5, 4, ConvPadding::Same),
            (2, 6, 3, ConvPadding::Explicit(0)),
            (1, 1, 1, ConvPadding::Explicit(0)),
        ]
        .iter()
        .enumerate()
        {
            let s = 800 + 10 * i as u64;
            let x = random_tensor(&[2, c, l], -1.0, 1.0, s);
            let w = random_tensor(&[2, c + 1, k], -1.0, 1.0, s + 1);
            let b = random_tensor(&[2], -1.0, 1.0, s + 2);
            assert_gradcheck(
                &format!("coord conv case {i}"),
                |t, v| ag(coord_conv1d(t, &v[0], &v[1], Some(&v[2]), 1, pad)),
                &[x, w, b],
                s + 3,
            );
        }
    }

    /// With data weights zero and coordinate weight 1 (K = 1), the output is the coordinate:
    /// the layer sees position, which a plain conv on a constant input cannot.
    #[test]
    fn coord_conv_outputs_position() {
        let mut rng = Rng::new(1);
        let mut layer =
            CoordConv1d::new(1, 1, 1, 1, ConvPadding::Explicit(0), true, &mut rng).expect("layer");
        layer.weight.value = Tensor::from_vec(Shape::d3(1, 2, 1), vec![0.0, 1.0]).expect("weight");
        layer.bias = None;
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::full(Shape::d3(1, 1, 3), 5.0));
        let y = layer.forward(&mut tape, &x).expect("fwd");
        assert_eq!(y.value().data(), &[-1.0, 0.0, 1.0]);
        let mut names = Vec::new();
        layer.visit_params(&mut |p| names.push(p.name.to_string()));
        assert_eq!(names, vec!["weight"]);
        let bad = tape.input(Tensor::zeros(Shape::d3(1, 2, 3)));
        assert!(layer.forward(&mut tape, &bad).is_err());
    }
}
