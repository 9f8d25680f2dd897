//! Grad-CAM (Selvaraju et al., 2017) for 1D and 2D convolutional features: which parts of the
//! input made the model predict class c.
//!
//! With A `[n, C, L′]` the output of a chosen layer (or `[n, C, H′, W′]` in 2D) and y_c the
//! class-c logit of each sample:
//! ```text
//! α[n, k]  = mean over positions of ∂y_c/∂A[n, k, ·]        (one weight per channel)
//! cam[n, ·] = ReLU( Σ_k α[n, k] · A[n, k, ·] )              ([n, L′] or [n, H′, W′])
//! ```
//! then resized to the input's length (or height × width) by linear (bilinear) interpolation
//! with PyTorch's `align_corners = False` convention. The map is returned unnormalised (divide
//! by its maximum for display).
//!
//! How: one forward pass with [`Module::trace`] on a recording tape, which hands back every leaf
//! layer's output with its node id; the layer is chosen by its dotted path (`"features.3"`),
//! and [`Tape::backward_keep`] keeps exactly that node's gradient. The input is a leaf that
//! requires a gradient, so the map exists even when every parameter is frozen. Samples are
//! independent as long as no layer mixes the batch: put the model in evaluation mode first
//! (`set_training(false)`, so batch norm uses running statistics).
//! Cost: one forward and one backward pass, plus O(n·C·L′) for the map.

use ecgrad_autograd::engine::{Shape, Tensor};
use ecgrad_autograd::{Tape, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// The Grad-CAM map of class `class` at the layer with dotted path `layer`, resized to the
/// input: `[n, L]` for a 1D input `[n, c, L]`, `[n, H, W]` for a 2D input `[n, c, H, W]`.
///
/// # Errors
/// An invalid-parameter error if no leaf layer has that path (the message lists the paths), if
/// its output is not rank 3 (1D) or rank 4 (2D) matching the input's rank, if the model's output
/// is not `[n, classes]`, or if `class` is out of range; the forward pass's own errors.
pub fn grad_cam(
    model: &dyn Module,
    x: &Tensor<f32>,
    layer: &str,
    class: usize,
) -> Result<Tensor<f32>> {
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let mut rows = Vec::new();
    let logits = model.trace(&mut tape, &xv, "", &mut rows)?;
    let Some(row) = rows.iter().find(|r| r.path == layer) else {
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        return Err(invalid(
            "grad_cam",
            "layer",
            layer,
            format!("no leaf layer has this path; the model has {paths:?}"),
        ));
    };
    let a = row.output.clone();
    drop(rows);
    if a.shape().rank() != x.shape().rank() || !(3..=4).contains(&a.shape().rank()) {
        return Err(invalid(
            "grad_cam",
            "layer output",
            a.shape(),
            format!(
                "must be [n, C, L′] for a 1D input or [n, C, H′, W′] for a 2D input (input {})",
                x.shape()
            ),
        ));
    }
    let (n, k) = logits
        .shape()
        .dims2("grad_cam", "model output (n, classes)")?;
    if class >= k {
        return Err(invalid(
            "grad_cam",
            "class",
            class,
            format!("the model has {k} classes"),
        ));
    }
    // Σₙ y_c[n]: the samples do not interact, so ∂/∂A[n] is sample n's own gradient.
    let yc = ops::narrow(&mut tape, &logits, 1, class, 1)?;
    let score = ops::sum(&mut tape, &yc)?;
    let grads = tape.backward_keep(&score, &[a.id()])?;
    let da = grads
        .get(a.id())
        .cloned()
        .unwrap_or_else(|| Tensor::zeros(a.shape()));
    let dims = a.shape().dims().to_vec();
    let channels = dims[1];
    let positions: usize = dims[2..].iter().product();
    let (av, dv) = (a.value().data(), da.data());
    let mut cam = vec![0f32; n * positions];
    for s in 0..n {
        for c in 0..channels {
            let base = (s * channels + c) * positions;
            let alpha = dv[base..base + positions]
                .iter()
                .map(|&g| g as f64)
                .sum::<f64>()
                / positions as f64;
            for p in 0..positions {
                cam[s * positions + p] += (alpha * av[base + p] as f64) as f32;
            }
        }
    }
    cam.iter_mut().for_each(|v| *v = v.max(0.0));
    let xd = x.dims();
    if dims.len() == 3 {
        upsample_linear_1d(&Tensor::from_vec(Shape::d2(n, positions), cam)?, xd[2])
    } else {
        upsample_bilinear_2d(
            &Tensor::from_vec(Shape::d3(n, dims[2], dims[3]), cam)?,
            xd[2],
            xd[3],
        )
    }
}

/// For output index i of `out` samples resized from `len`: the two source indices and the
/// weight of the second (PyTorch `align_corners = False`: src = (i + ½)·len/out − ½, clamped).
fn taps(out: usize, len: usize) -> Vec<(usize, usize, f64)> {
    (0..out)
        .map(|i| {
            let src = ((i as f64 + 0.5) * len as f64 / out as f64 - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            (i0, i1, src - i0 as f64)
        })
        .collect()
}

/// Resizes each row of `[n, l]` to `[n, out]` by linear interpolation (PyTorch
/// `F.interpolate(mode="linear", align_corners=False)`).
///
/// # Errors
/// A rank error for a non-matrix; an invalid-parameter error for empty sizes.
pub fn upsample_linear_1d(x: &Tensor<f32>, out: usize) -> Result<Tensor<f32>> {
    let (n, l) = x.shape().dims2("upsample_linear_1d", "x")?;
    if n == 0 || l == 0 || out == 0 {
        return Err(invalid(
            "upsample_linear_1d",
            "sizes",
            format!("{} → {out}", x.shape()),
            "must be ≥ 1",
        ));
    }
    let t = taps(out, l);
    let mut y = Vec::with_capacity(n * out);
    for s in 0..n {
        let row = &x.data()[s * l..(s + 1) * l];
        for &(i0, i1, w) in &t {
            y.push(((1.0 - w) * row[i0] as f64 + w * row[i1] as f64) as f32);
        }
    }
    Ok(Tensor::from_vec(Shape::d2(n, out), y)?)
}

/// Resizes each `[h, w]` map of `[n, h, w]` to `[n, out_h, out_w]` by bilinear interpolation
/// (PyTorch `mode="bilinear", align_corners=False`): linear along rows, then along columns.
///
/// # Errors
/// A rank error for rank ≠ 3; an invalid-parameter error for empty sizes.
pub fn upsample_bilinear_2d(x: &Tensor<f32>, out_h: usize, out_w: usize) -> Result<Tensor<f32>> {
    let (n, h, w) = x.shape().dims3("upsample_bilinear_2d", "x")?;
    if n == 0 || h == 0 || w == 0 || out_h == 0 || out_w == 0 {
        return Err(invalid(
            "upsample_bilinear_2d",
            "sizes",
            format!("{} → [{out_h}, {out_w}]", x.shape()),
            "must be ≥ 1",
        ));
    }
    let (th, tw) = (taps(out_h, h), taps(out_w, w));
    let mut y = Vec::with_capacity(n * out_h * out_w);
    for s in 0..n {
        let m = |r: usize, c: usize| x.data()[(s * h + r) * w + c] as f64;
        for &(r0, r1, a) in &th {
            for &(c0, c1, b) in &tw {
                let top = (1.0 - b) * m(r0, c0) + b * m(r0, c1);
                let bottom = (1.0 - b) * m(r1, c0) + b * m(r1, c1);
                y.push(((1.0 - a) * top + a * bottom) as f32);
            }
        }
    }
    Ok(Tensor::from_vec(Shape::d3(n, out_h, out_w), y)?)
}
