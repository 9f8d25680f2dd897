//! Tensor-level LSTM layer: validates shapes (named errors, never a panic), then calls the
//! sequence kernels of [`super::sequence`].

use super::{
    LstmDims, LstmSeqGrads, LstmSeqInputs, LstmSeqUpstream, LstmSequence, LstmWeights,
    lstm_backward_sequence, lstm_forward_sequence, lstm_forward_sequence_inference,
};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The four parameter tensors of one LSTM layer, PyTorch names and layout.
#[derive(Clone, Copy, Debug)]
pub struct LstmTensors<'a, T: Real> {
    /// `weight_ih_l0` `[4H, F]`.
    pub w_ih: &'a Tensor<T>,
    /// `weight_hh_l0` `[4H, H]`.
    pub w_hh: &'a Tensor<T>,
    /// `bias_ih_l0` `[4H]`.
    pub b_ih: &'a Tensor<T>,
    /// `bias_hh_l0` `[4H]`.
    pub b_hh: &'a Tensor<T>,
}

/// What [`lstm`] returns: the output sequence, the last state and the saved state for backward.
#[derive(Clone, Debug)]
pub struct LstmOutput<T: Real> {
    /// All hₜ `[N, T, H]`.
    pub output: Tensor<T>,
    /// The last hidden state h_n `[N, H]`.
    pub h_n: Tensor<T>,
    /// The last cell state c_n `[N, H]`.
    pub c_n: Tensor<T>,
    /// Gates and cell states of every step, for [`lstm_backward`].
    pub saved: LstmSequence<T>,
}

/// The gradients [`lstm_backward`] returns (fresh tensors, not accumulated).
#[derive(Clone, Debug)]
pub struct LstmGradients<T: Real> {
    /// dx `[N, T, F]`.
    pub dx: Tensor<T>,
    /// dh0 `[N, H]`.
    pub dh0: Tensor<T>,
    /// dc0 `[N, H]`.
    pub dc0: Tensor<T>,
    /// dW_ih `[4H, F]`.
    pub dw_ih: Tensor<T>,
    /// dW_hh `[4H, H]`.
    pub dw_hh: Tensor<T>,
    /// db `[4H]`: the gradient of `bias_ih_l0` and of `bias_hh_l0` alike.
    pub db: Tensor<T>,
}

fn mismatch(detail: String, lhs: (&'static str, Shape), rhs: (&'static str, Shape)) -> Error {
    Error::shape_mismatch("lstm", detail, lhs, rhs)
}

/// Checks every shape; returns the dims and the step count.
fn validate<T: Real>(
    x: &Tensor<T>,
    state: Option<(&Tensor<T>, &Tensor<T>)>,
    w: &LstmTensors<'_, T>,
) -> Result<(LstmDims, usize)> {
    crate::simd::try_isa()?;
    let xs = x.shape();
    if xs.rank() != 3 {
        return Err(Error::BadRank {
            op: "lstm",
            arg: "input",
            expected: 3,
            layout: "N, T, F",
            got: xs,
        });
    }
    let (n, steps, f) = (xs.dims()[0], xs.dims()[1], xs.dims()[2]);
    if n == 0 || steps == 0 || f == 0 {
        return Err(Error::EmptyOutput {
            op: "lstm",
            detail: format!("input {xs} has a zero dimension"),
        });
    }
    let (g4, wf) = w.w_ih.shape().dims2("lstm", "weight_ih")?;
    if g4 == 0 || g4 % 4 != 0 {
        return Err(Error::InvalidParam {
            op: "lstm",
            name: "weight_ih rows",
            value: g4.to_string(),
            why: "must be 4·hidden_size > 0 (gates i, f, g, o)".into(),
        });
    }
    let h = g4 / 4;
    if wf != f {
        return Err(mismatch(
            format!("input has {f} features but weight_ih expects {wf}"),
            ("input", xs),
            ("weight_ih", w.w_ih.shape()),
        ));
    }
    let want = [
        ("weight_hh", w.w_hh, Shape::d2(g4, h)),
        ("bias_ih", w.b_ih, Shape::d1(g4)),
        ("bias_hh", w.b_hh, Shape::d1(g4)),
    ];
    for (name, t, shape) in want {
        if t.shape() != shape {
            return Err(mismatch(
                format!("{name} must be {shape} for hidden size {h}"),
                (name, t.shape()),
                ("weight_ih", w.w_ih.shape()),
            ));
        }
    }
    if let Some((h0, c0)) = state {
        for (name, t) in [("h0", h0), ("c0", c0)] {
            if t.shape() != Shape::d2(n, h) {
                return Err(mismatch(
                    format!("{name} must be [N, H] = [{n}, {h}]"),
                    (name, t.shape()),
                    ("input", xs),
                ));
            }
        }
    }
    Ok((LstmDims { n, f, h }, steps))
}

fn weights<'a, T: Real>(w: &LstmTensors<'a, T>) -> LstmWeights<'a, T> {
    LstmWeights {
        w_ih: w.w_ih.data(),
        w_hh: w.w_hh.data(),
        b_ih: w.b_ih.data(),
        b_hh: w.b_hh.data(),
    }
}

/// One LSTM layer over a batch-first sequence x `[N, T, F]`, from `state` = (h0, c0) `[N, H]`
/// (zeros when `None`), like PyTorch's `nn.LSTM(batch_first=True)`.
///
/// # Errors
/// [`Error::BadRank`] if x is not rank 3; [`Error::EmptyOutput`] for a zero dimension;
/// [`Error::InvalidParam`] if `weight_ih` has a row count that is not a positive multiple of 4;
/// [`Error::ShapeMismatch`] naming the first tensor whose shape disagrees; [`Error::Isa`] if
/// `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::ops::lstm_cell::{lstm, LstmTensors};
/// use ecgrad_engine::{Shape, Tensor};
/// let x = Tensor::<f32>::full(Shape::d3(2, 3, 1), 1.0);
/// let (w_ih, w_hh) = (Tensor::zeros(Shape::d2(4, 1)), Tensor::zeros(Shape::d2(4, 1)));
/// let b = Tensor::zeros(Shape::d1(4));
/// let w = LstmTensors { w_ih: &w_ih, w_hh: &w_hh, b_ih: &b, b_hh: &b };
/// let out = lstm(&x, None, w).unwrap();
/// assert_eq!(out.output.dims(), &[2, 3, 1]);
/// // All gates are σ(0) = ½ and g = tanh(0) = 0, so c stays 0 and h = ½·tanh(0) = 0.
/// assert!(out.output.data().iter().all(|&v| v == 0.0));
/// ```
pub fn lstm<T: Real>(
    x: &Tensor<T>,
    state: Option<(&Tensor<T>, &Tensor<T>)>,
    w: LstmTensors<'_, T>,
) -> Result<LstmOutput<T>> {
    let (d, steps) = validate(x, state, &w)?;
    let zeros = vec![T::ZERO; d.n * d.h];
    let (h0, c0) = state.map_or((&zeros[..], &zeros[..]), |(h, c)| (h.data(), c.data()));
    let inp = LstmSeqInputs {
        x: x.data(),
        h0,
        c0,
    };
    let saved = lstm_forward_sequence(d, steps, inp, &weights(&w));
    let last = |buf: &[T]| -> Vec<T> {
        let mut v = Vec::with_capacity(d.n * d.h);
        for s in 0..d.n {
            let at = ((s + 1) * steps - 1) * d.h;
            v.extend_from_slice(&buf[at..at + d.h]);
        }
        v
    };
    let nh = Shape::d2(d.n, d.h);
    Ok(LstmOutput {
        output: Tensor::from_vec(Shape::d3(d.n, steps, d.h), saved.h.clone())?,
        h_n: Tensor::from_vec(nh, last(&saved.h))?,
        c_n: Tensor::from_vec(nh, last(&saved.c))?,
        saved,
    })
}

/// What [`lstm_inference`] returns: the outputs of [`lstm`] without the saved state.
#[derive(Clone, Debug)]
pub struct LstmInferenceOutput<T: Real> {
    /// All hₜ `[N, T, H]`.
    pub output: Tensor<T>,
    /// The last hidden state h_n `[N, H]`.
    pub h_n: Tensor<T>,
    /// The last cell state c_n `[N, H]`.
    pub c_n: Tensor<T>,
}

/// [`lstm`] for inference: the same outputs, computed one step at a time with nothing saved
/// for backward (see [`super::inference`]), so far less memory is touched.
///
/// # Errors
/// As [`lstm`].
pub fn lstm_inference<T: Real>(
    x: &Tensor<T>,
    state: Option<(&Tensor<T>, &Tensor<T>)>,
    w: LstmTensors<'_, T>,
) -> Result<LstmInferenceOutput<T>> {
    let (d, steps) = validate(x, state, &w)?;
    let zeros = vec![T::ZERO; d.n * d.h];
    let (h0, c0) = state.map_or((&zeros[..], &zeros[..]), |(h, c)| (h.data(), c.data()));
    let inp = LstmSeqInputs {
        x: x.data(),
        h0,
        c0,
    };
    let r = lstm_forward_sequence_inference(d, steps, inp, &weights(&w));
    let mut h_n = Vec::with_capacity(d.n * d.h);
    for s in 0..d.n {
        let at = ((s + 1) * steps - 1) * d.h;
        h_n.extend_from_slice(&r.h[at..at + d.h]);
    }
    let nh = Shape::d2(d.n, d.h);
    Ok(LstmInferenceOutput {
        output: Tensor::from_vec(Shape::d3(d.n, steps, d.h), r.h)?,
        h_n: Tensor::from_vec(nh, h_n)?,
        c_n: Tensor::from_vec(nh, r.c_n)?,
    })
}

/// Gradients of one LSTM layer given the upstream gradient `d_output` `[N, T, H]` of every hₜ
/// (put the gradient of h_n into its last step) and, if c_n is used, its gradient `d_c_n`
/// `[N, H]` (`None` = zero); returns fresh gradient tensors.
///
/// # Errors
/// As [`lstm`], plus [`Error::ShapeMismatch`] if `d_output` is not `[N, T, H]`, `d_c_n` is not
/// `[N, H]`, or `saved` does not belong to these shapes.
pub fn lstm_backward<T: Real>(
    x: &Tensor<T>,
    state: Option<(&Tensor<T>, &Tensor<T>)>,
    w: LstmTensors<'_, T>,
    saved: &LstmSequence<T>,
    d_output: &Tensor<T>,
    d_c_n: Option<&Tensor<T>>,
) -> Result<LstmGradients<T>> {
    let (d, steps) = validate(x, state, &w)?;
    let out_shape = Shape::d3(d.n, steps, d.h);
    if d_output.shape() != out_shape {
        return Err(mismatch(
            format!("d_output must be [N, T, H] = {out_shape}"),
            ("d_output", d_output.shape()),
            ("input", x.shape()),
        ));
    }
    if let Some(dc) = d_c_n {
        if dc.shape() != Shape::d2(d.n, d.h) {
            return Err(mismatch(
                format!("d_c_n must be [N, H] = [{}, {}]", d.n, d.h),
                ("d_c_n", dc.shape()),
                ("input", x.shape()),
            ));
        }
    }
    let (nth, nt4h) = (d.n * steps * d.h, d.n * steps * 4 * d.h);
    if saved.h.len() != nth
        || saved.c.len() != nth
        || saved.tanh_c.len() != nth
        || saved.gates.len() != nt4h
    {
        return Err(mismatch(
            format!(
                "saved state has {} gate values, expected {nt4h}",
                saved.gates.len()
            ),
            ("saved gates", Shape::d1(saved.gates.len())),
            ("input", x.shape()),
        ));
    }
    let zeros = vec![T::ZERO; d.n * d.h];
    let (h0, c0) = state.map_or((&zeros[..], &zeros[..]), |(h, c)| (h.data(), c.data()));
    let inp = LstmSeqInputs {
        x: x.data(),
        h0,
        c0,
    };
    let g4 = 4 * d.h;
    let mut dx = vec![T::ZERO; d.n * steps * d.f];
    let mut dh0 = vec![T::ZERO; d.n * d.h];
    let mut dc0 = vec![T::ZERO; d.n * d.h];
    let mut dw_ih = vec![T::ZERO; g4 * d.f];
    let mut dw_hh = vec![T::ZERO; g4 * d.h];
    let mut db = vec![T::ZERO; g4];
    let grads = LstmSeqGrads {
        dx: &mut dx,
        dh0: &mut dh0,
        dc0: &mut dc0,
        dw_ih: &mut dw_ih,
        dw_hh: &mut dw_hh,
        db: &mut db,
    };
    let up = LstmSeqUpstream {
        dh: d_output.data(),
        dc_n: d_c_n.map(Tensor::data),
    };
    lstm_backward_sequence(d, steps, inp, &weights(&w), saved, up, grads);
    Ok(LstmGradients {
        dx: Tensor::from_vec(x.shape(), dx)?,
        dh0: Tensor::from_vec(Shape::d2(d.n, d.h), dh0)?,
        dc0: Tensor::from_vec(Shape::d2(d.n, d.h), dc0)?,
        dw_ih: Tensor::from_vec(w.w_ih.shape(), dw_ih)?,
        dw_hh: Tensor::from_vec(w.w_hh.shape(), dw_hh)?,
        db: Tensor::from_vec(Shape::d1(g4), db)?,
    })
}
