//! Pooling layers (parameter-free): `MaxPool1d`, `AvgPool1d`, `GlobalAvgPool1d` over NCL and
//! `MaxPool2d`, `AvgPool2d` over NCHW, with PyTorch's semantics (stride defaults to the kernel,
//! max-pool padding is −∞, average pools count padded taps unless told otherwise).
//!
//! With pos(t, j) = t·stride + j·dilation − padding:
//! - max: y\[n,c,t\] = max_j x\[n,c,pos(t,j)\]; dx\[n,c,argmax\] += dy\[n,c,t\];
//! - avg: y\[n,c,t\] = (1/D)·Σ_j x\[n,c,pos(t,j)\]; dx\[n,c,pos(t,j)\] += dy\[n,c,t\]/D;
//! - global average: y\[n,c\] = (1/L)·Σ_t x\[n,c,t\] (`[N, C, L]` → `[N, C]`, PyTorch's
//!   `AdaptiveAvgPool1d(1)` followed by `flatten(1)`); dx\[n,c,t\] = dy\[n,c\]/L.
//!
//! The 2D layers apply the same rules along H and W; `GlobalAvgPool2d` averages each H×W plane
//! (`[N, C, H, W]` → `[N, C]`, PyTorch's `AdaptiveAvgPool2d(1)` + `flatten(1)`), written as a
//! free reshape to `[N, C, H·W]` and the 1D global pool. L_out = ⌊(L + 2p − d·(K − 1) − 1)/s⌋ + 1.
//! Cost: N·C·L_out·K comparisons or adds (N·C·L for the global pool). Each layer is one recorded
//! op of autograd (`ops::max_pool1d`, …); a max pool saves its argmax, not its input.

use ecgrad_autograd::engine::Shape;
use ecgrad_autograd::ops::{Pool1dParams, Pool2dParams};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// Checks a 1D pooling configuration once, at construction, so a bad layer fails early.
fn check_1d(op: &'static str, p: &Pool1dParams) -> Result<()> {
    for (name, v) in [
        ("kernel", p.kernel),
        ("stride", p.stride),
        ("dilation", p.dilation),
    ] {
        if v == 0 {
            return Err(invalid(op, name, 0, "must be ≥ 1"));
        }
    }
    let span = p.dilation * (p.kernel - 1) + 1;
    if 2 * p.padding > span {
        return Err(invalid(
            op,
            "padding",
            p.padding,
            format!("must be at most half the window span ({span})"),
        ));
    }
    Ok(())
}

/// Checks a 2D pooling configuration (each axis as in 1D).
fn check_2d(op: &'static str, p: &Pool2dParams) -> Result<()> {
    let axis = |k, s, pad, d| Pool1dParams {
        kernel: k,
        stride: s,
        padding: pad,
        dilation: d,
        count_include_pad: p.count_include_pad,
    };
    check_1d(op, &axis(p.kernel.0, p.stride.0, p.padding.0, p.dilation.0))?;
    check_1d(op, &axis(p.kernel.1, p.stride.1, p.padding.1, p.dilation.1))
}

/// `", stride s, pad p"` for the parts that differ from PyTorch's defaults.
fn extras(kernel: usize, stride: usize, padding: usize, dilation: usize) -> String {
    let mut s = String::new();
    if stride != kernel {
        s += &format!(", stride {stride}");
    }
    if padding != 0 {
        s += &format!(", pad {padding}");
    }
    if dilation != 1 {
        s += &format!(", dilation {dilation}");
    }
    s
}

macro_rules! no_params {
    ($($t:ty),*) => {$(
        impl Parameters<f32> for $t {
            fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
        }
    )*};
}

/// Max pooling over NCL (PyTorch `nn.MaxPool1d`).
#[derive(Clone, Copy, Debug)]
pub struct MaxPool1d {
    /// Kernel, stride, padding, dilation.
    pub params: Pool1dParams,
}

impl MaxPool1d {
    /// Window `kernel`, stride `kernel`, no padding (PyTorch's `nn.MaxPool1d(kernel)`).
    ///
    /// # Errors
    /// An invalid-parameter error for a zero kernel.
    pub fn new(kernel: usize) -> Result<MaxPool1d> {
        MaxPool1d::with_params(Pool1dParams::new(kernel))
    }
    /// A layer with explicit parameters.
    ///
    /// # Errors
    /// An invalid-parameter error for a zero kernel/stride/dilation or padding over half the
    /// window span.
    pub fn with_params(params: Pool1dParams) -> Result<MaxPool1d> {
        check_1d("MaxPool1d", &params)?;
        Ok(MaxPool1d { params })
    }
}

/// Average pooling over NCL (PyTorch `nn.AvgPool1d`).
#[derive(Clone, Copy, Debug)]
pub struct AvgPool1d {
    /// Kernel, stride, padding, dilation (must be 1 in PyTorch), `count_include_pad`.
    pub params: Pool1dParams,
}

impl AvgPool1d {
    /// Window `kernel`, stride `kernel`, no padding (PyTorch's `nn.AvgPool1d(kernel)`).
    ///
    /// # Errors
    /// An invalid-parameter error for a zero kernel.
    pub fn new(kernel: usize) -> Result<AvgPool1d> {
        AvgPool1d::with_params(Pool1dParams::new(kernel))
    }
    /// A layer with explicit parameters.
    ///
    /// # Errors
    /// As [`MaxPool1d::with_params`].
    pub fn with_params(params: Pool1dParams) -> Result<AvgPool1d> {
        check_1d("AvgPool1d", &params)?;
        Ok(AvgPool1d { params })
    }
}

/// Global average pooling over time: `[N, C, L]` → `[N, C]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool1d;

/// Max pooling over NCHW (PyTorch `nn.MaxPool2d`).
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    /// Kernel, stride, padding, dilation per axis (H, W).
    pub params: Pool2dParams,
}

impl MaxPool2d {
    /// Window `kh × kw`, stride = window, no padding (PyTorch's `nn.MaxPool2d((kh, kw))`).
    ///
    /// # Errors
    /// An invalid-parameter error for a zero kernel.
    pub fn new(kh: usize, kw: usize) -> Result<MaxPool2d> {
        MaxPool2d::with_params(Pool2dParams::new(kh, kw))
    }
    /// A layer with explicit parameters.
    ///
    /// # Errors
    /// As [`MaxPool1d::with_params`], per axis.
    pub fn with_params(params: Pool2dParams) -> Result<MaxPool2d> {
        check_2d("MaxPool2d", &params)?;
        Ok(MaxPool2d { params })
    }
}

/// Average pooling over NCHW (PyTorch `nn.AvgPool2d`).
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    /// Kernel, stride, padding, dilation per axis (H, W), `count_include_pad`.
    pub params: Pool2dParams,
}

impl AvgPool2d {
    /// Window `kh × kw`, stride = window, no padding (PyTorch's `nn.AvgPool2d((kh, kw))`).
    ///
    /// # Errors
    /// An invalid-parameter error for a zero kernel.
    pub fn new(kh: usize, kw: usize) -> Result<AvgPool2d> {
        AvgPool2d::with_params(Pool2dParams::new(kh, kw))
    }
    /// A layer with explicit parameters.
    ///
    /// # Errors
    /// As [`MaxPool1d::with_params`], per axis.
    pub fn with_params(params: Pool2dParams) -> Result<AvgPool2d> {
        check_2d("AvgPool2d", &params)?;
        Ok(AvgPool2d { params })
    }
}

/// Global average pooling over each plane: `[N, C, H, W]` → `[N, C]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool2d;

no_params!(
    MaxPool1d,
    AvgPool1d,
    GlobalAvgPool1d,
    MaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d
);

impl Module for GlobalAvgPool2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let (n, c, h, w) = x.shape().dims4("GlobalAvgPool2d", "input")?;
        let flat = ops::reshape(tape, x, Shape::d3(n, c, h * w))?;
        Ok(ops::global_avg_pool1d(tape, &flat)?)
    }
    fn describe(&self) -> String {
        "GlobalAvgPool2d".to_string()
    }
}

impl Module for MaxPool1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::max_pool1d(tape, x, &self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "MaxPool1d(k{}{})",
            p.kernel,
            extras(p.kernel, p.stride, p.padding, p.dilation)
        )
    }
}

impl Module for AvgPool1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::avg_pool1d(tape, x, &self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "AvgPool1d(k{}{})",
            p.kernel,
            extras(p.kernel, p.stride, p.padding, p.dilation)
        )
    }
}

impl Module for GlobalAvgPool1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::global_avg_pool1d(tape, x)?)
    }
    fn describe(&self) -> String {
        "GlobalAvgPool1d".to_string()
    }
}

impl Module for MaxPool2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::max_pool2d(tape, x, &self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "MaxPool2d({}×{}{})",
            p.kernel.0,
            p.kernel.1,
            extras(p.kernel.0, p.stride.0, p.padding.0, p.dilation.0)
        )
    }
}

impl Module for AvgPool2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::avg_pool2d(tape, x, &self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "AvgPool2d({}×{}{})",
            p.kernel.0,
            p.kernel.1,
            extras(p.kernel.0, p.stride.0, p.padding.0, p.dilation.0)
        )
    }
}
