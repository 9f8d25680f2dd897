//! CNN basics for educators (seeds 000 and 002): sliding a hand-set kernel over an ECG, the
//! receptive field of a layer stack, and why a dense layer on a flattened image is hopeless.
//!
//! **Sliding a kernel.** A 1D convolution layer (cross-correlation, as in PyTorch) computes
//!
//!   y[t] = Σ_{j=0}^{K−1} w[j] · x[t + j − p],   t = 0 … L − 1  (zero padding p = ⌊K/2⌋, "same")
//!
//! so y is large where the signal under the kernel looks like the kernel. [`qrs_kernel`] is a
//! hand-set Ricker ("Mexican hat") wavelet — a narrow positive peak with negative side lobes,
//! about as wide as a QRS complex — and [`edge_kernel`] is the central difference
//! [−1, 0, 1]/2, the 1D analogue of an image edge detector. Cost of [`slide`]: 2·K·L FLOPs.
//!
//! **Receptive field.** For layers l = 1 … D with kernel k_l, stride s_l and dilation d_l, the
//! number of input samples that can influence one output of layer l is
//!
//!   r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1},   j_l = j_{l−1}·s_l,   r_0 = 1, j_0 = 1,
//!
//! where j_l (the "jump") is the distance in input samples between neighbouring outputs of
//! layer l. Pooling layers count as layers with k = s = pool size. [`receptive_fields`]
//! evaluates the recursion; its twin [`receptive_field_naive`] marks the input positions that
//! reach output 0 by walking the layers backwards, and the tests check they agree.
//!
//! **Parameter counts.** A dense layer with U units on a flattened H×W×C image has
//! H·W·C·U + U parameters; a k×k convolution with F filters has k·k·C·F + F, independent of
//! the image size. [`dense_params`] and [`conv2d_params`] are the formulas; the tests and the
//! `fig_00_cnn_basics` binary check them against the parameter counts of real layers.

use anyhow::Context;
use ecgrad_engine::Error;

/// The Ricker wavelet ψ(t) = (1 − t²/σ²)·exp(−t²/(2σ²)) sampled at fs over ±3σ, with its mean
/// removed (so a flat baseline gives zero response) and scaled to unit L2 norm. σ in seconds:
/// σ ≈ 0.015 s gives a main lobe of ≈ 2σ = 30 ms and zero crossings ±σ, the width of the
/// R wave; the kernel spans ±45 ms.
///
/// # Errors
/// [`Error::InvalidParam`] unless fs and σ are positive and finite with 3σ·fs ≥ 1.
pub fn qrs_kernel(fs: f64, sigma_s: f64) -> Result<Vec<f32>, Error> {
    let half = (3.0 * sigma_s * fs).round();
    if !(fs.is_finite() && sigma_s.is_finite() && fs > 0.0 && sigma_s > 0.0 && half >= 1.0) {
        return Err(Error::InvalidParam {
            op: "qrs_kernel",
            name: "fs / sigma",
            value: format!("{fs} Hz / {sigma_s} s"),
            why: "must be positive and finite with 3σ·fs ≥ 1 sample".into(),
        });
    }
    let half = half as i64;
    let raw: Vec<f64> = (-half..=half)
        .map(|j| {
            let t = j as f64 / fs;
            let u = (t / sigma_s).powi(2);
            (1.0 - u) * (-u / 2.0).exp()
        })
        .collect();
    let mean = raw.iter().sum::<f64>() / raw.len() as f64;
    let centred: Vec<f64> = raw.iter().map(|v| v - mean).collect();
    let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
    Ok(centred.iter().map(|v| (v / norm) as f32).collect())
}

/// The central-difference edge detector [−½, 0, ½]: y[t] ≈ x′(t) in samples⁻¹.
pub fn edge_kernel() -> Vec<f32> {
    vec![-0.5, 0.0, 0.5]
}

/// Slides `kernel` (length K ≥ 1) over `x` with "same" zero padding p = ⌊K/2⌋ (see the module
/// docs): returns y with y.len() = x.len().
///
/// # Errors
/// [`Error::InvalidParam`] for an empty kernel or signal.
pub fn slide(x: &[f32], kernel: &[f32]) -> Result<Vec<f32>, Error> {
    if kernel.is_empty() || x.is_empty() {
        return Err(Error::InvalidParam {
            op: "slide",
            name: "kernel / x",
            value: format!("{} / {} samples", kernel.len(), x.len()),
            why: "both must be non-empty".into(),
        });
    }
    let p = kernel.len() / 2;
    Ok((0..x.len())
        .map(|t| {
            kernel
                .iter()
                .enumerate()
                .filter_map(|(j, w)| (t + j).checked_sub(p).and_then(|i| x.get(i)).map(|v| w * v))
                .sum()
        })
        .collect())
}

/// One layer of a stack, as the receptive-field recursion sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerGeometry {
    /// Layer name (`"conv1"`, `"pool1"`).
    pub name: String,
    /// Kernel (or pooling window) size k ≥ 1.
    pub kernel: usize,
    /// Stride s ≥ 1.
    pub stride: usize,
    /// Dilation d ≥ 1.
    pub dilation: usize,
}

impl LayerGeometry {
    /// A layer with dilation 1.
    pub fn new(name: &str, kernel: usize, stride: usize) -> LayerGeometry {
        LayerGeometry {
            name: name.to_string(),
            kernel,
            stride,
            dilation: 1,
        }
    }
}

/// The receptive field after one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceptiveField {
    /// Layer name.
    pub name: String,
    /// r_l: input samples that can influence one output of this layer.
    pub field: usize,
    /// j_l: input samples between neighbouring outputs of this layer.
    pub jump: usize,
}

/// The geometry of `BeatCnn`'s convolution stack (conv1 k5 → pool 2 → conv2 k5 → pool 2 →
/// conv3 k3), read from `models::nets::cnn_classifier`'s documented architecture; batch norm
/// and ReLU act per sample and do not widen the field.
pub fn beat_cnn_geometry() -> Vec<LayerGeometry> {
    vec![
        LayerGeometry::new("conv1", 5, 1),
        LayerGeometry::new("pool1", 2, 2),
        LayerGeometry::new("conv2", 5, 1),
        LayerGeometry::new("pool2", 2, 2),
        LayerGeometry::new("conv3", 3, 1),
    ]
}

fn check_layers(op: &'static str, layers: &[LayerGeometry]) -> Result<(), Error> {
    match layers
        .iter()
        .find(|l| l.kernel == 0 || l.stride == 0 || l.dilation == 0)
    {
        Some(l) => Err(Error::InvalidParam {
            op,
            name: "layer",
            value: format!("{l:?}"),
            why: "kernel, stride and dilation must all be ≥ 1".into(),
        }),
        None => Ok(()),
    }
}

/// r_l and j_l after every layer (module docs' recursion).
///
/// # Errors
/// [`Error::InvalidParam`] if a layer has a zero kernel, stride or dilation.
pub fn receptive_fields(layers: &[LayerGeometry]) -> Result<Vec<ReceptiveField>, Error> {
    check_layers("receptive_fields", layers)?;
    let (mut r, mut j) = (1usize, 1usize);
    Ok(layers
        .iter()
        .map(|l| {
            r += (l.kernel - 1) * l.dilation * j;
            j *= l.stride;
            ReceptiveField {
                name: l.name.clone(),
                field: r,
                jump: j,
            }
        })
        .collect())
}

/// The receptive field of output 0 of the whole stack by brute force: start from the single
/// output position {0} and map each set of positions back through the layers (output t of a
/// layer reads inputs t·s + i·d, i < k); the field is max − min + 1 of the final set.
///
/// # Errors
/// As [`receptive_fields`].
pub fn receptive_field_naive(layers: &[LayerGeometry]) -> Result<usize, Error> {
    check_layers("receptive_field_naive", layers)?;
    let mut positions = vec![0usize];
    for l in layers.iter().rev() {
        let mut prev: Vec<usize> = positions
            .iter()
            .flat_map(|&t| (0..l.kernel).map(move |i| t * l.stride + i * l.dilation))
            .collect();
        prev.sort_unstable();
        prev.dedup();
        positions = prev;
    }
    let lo = positions.first().copied().unwrap_or(0);
    let hi = positions.last().copied().unwrap_or(0);
    Ok(hi - lo + 1)
}

/// Parameters of a dense layer from `inputs` features to `units` units with bias: in·U + U.
pub fn dense_params(inputs: usize, units: usize) -> usize {
    inputs * units + units
}

/// Parameters of a k×k 2D convolution from `c_in` to `filters` channels with bias:
/// k·k·C_in·F + F (independent of the image size).
pub fn conv2d_params(kernel: usize, c_in: usize, filters: usize) -> usize {
    kernel * kernel * c_in * filters + filters
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_engine::Rng;

    #[test]
    fn beat_cnn_receptive_field_by_hand() {
        // conv1: 1 + 4 = 5; pool1: 5 + 1 = 6, jump 2; conv2: 6 + 4·2 = 14; pool2: 14 + 1·2 = 16,
        // jump 4; conv3: 16 + 2·4 = 24 samples (192 ms at 125 Hz).
        let rf = receptive_fields(&beat_cnn_geometry()).unwrap();
        let fields: Vec<usize> = rf.iter().map(|r| r.field).collect();
        let jumps: Vec<usize> = rf.iter().map(|r| r.jump).collect();
        assert_eq!(fields, [5, 6, 14, 16, 24]);
        assert_eq!(jumps, [1, 2, 2, 4, 4]);
        assert_eq!(receptive_field_naive(&beat_cnn_geometry()).unwrap(), 24);
    }

    #[test]
    fn recursion_matches_brute_force_on_random_stacks() {
        let mut rng = Rng::new(12);
        for case in 0..200 {
            let depth = 1 + rng.below(5);
            let layers: Vec<LayerGeometry> = (0..depth)
                .map(|i| LayerGeometry {
                    name: format!("l{i}"),
                    kernel: 1 + rng.below(6),
                    stride: 1 + rng.below(3),
                    dilation: 1 + rng.below(3),
                })
                .collect();
            let fast = receptive_fields(&layers).unwrap();
            let last = fast.last().unwrap().field;
            assert_eq!(
                last,
                receptive_field_naive(&layers).unwrap(),
                "case {case}: {layers:?}"
            );
            // Every prefix too.
            for p in 1..=depth {
                assert_eq!(
                    fast[p - 1].field,
                    receptive_field_naive(&layers[..p]).unwrap()
                );
            }
        }
    }

    #[test]
    fn zero_sizes_are_named_errors() {
        let bad = [LayerGeometry::new("c", 3, 0)];
        assert!(
            receptive_fields(&bad)
                .unwrap_err()
                .to_string()
                .contains("stride")
        );
        assert!(receptive_field_naive(&bad).is_err());
    }

    #[test]
    fn parameter_formulas_by_hand_and_against_a_real_layer() {
        assert_eq!(256 * 256 * 3, 196_608);
        assert_eq!(dense_params(196_608, 32), 6_291_488);
        assert_eq!(conv2d_params(3, 3, 32), 896);
        let mut rng = ecgrad_autograd::engine::Rng::new(1);
        let mut lin = crate::models::layers::Linear::new(30, 7, true, &mut rng).unwrap();
        assert_eq!(
            crate::models::module::count_params(&mut lin).total,
            dense_params(30, 7)
        );
    }

    #[test]
    fn slide_computes_the_correlation_by_hand() {
        let y = slide(&[1.0, 2.0, 4.0, 8.0], &edge_kernel()).unwrap();
        // y[t] = (x[t+1] − x[t−1])/2 with zeros outside.
        assert_eq!(y, vec![1.0, 1.5, 3.0, -2.0]);
        assert!(slide(&[], &[1.0]).is_err());
        assert!(slide(&[1.0], &[]).is_err());
    }

    #[test]
    fn qrs_kernel_is_zero_mean_unit_norm_and_finds_a_spike() {
        let k = qrs_kernel(125.0, 0.015).unwrap();
        assert_eq!(k.len(), 2 * 6 + 1);
        let sum: f32 = k.iter().sum();
        let norm: f32 = k.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(sum.abs() < 1e-5 && (norm - 1.0).abs() < 1e-5);
        // A slow wave (T-wave-like bump, 200 ms wide) plus one narrow spike at t = 150: the
        // kernel's response peaks at the spike, not at the larger slow bump.
        let x: Vec<f32> = (0..300)
            .map(|t| {
                let t = t as f64;
                let slow = 1.5 * (-((t - 60.0) / 12.0).powi(2) / 2.0).exp();
                let spike = (-((t - 150.0) / 1.5).powi(2) / 2.0).exp();
                (slow + spike) as f32
            })
            .collect();
        let y = slide(&x, &k).unwrap();
        let argmax = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
        assert_eq!(argmax, 150);
        assert!(qrs_kernel(125.0, 0.001).is_err());
    }
}

/// Peaks of a feature map: local maxima above `threshold_frac`·max(y), at least `refractory`
/// samples apart (the larger wins), in increasing order. The simplest possible QRS detector on
/// top of [`slide`] with [`qrs_kernel`].
pub fn detect_peaks(y: &[f32], threshold_frac: f32, refractory: usize) -> Vec<usize> {
    let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let thr = threshold_frac * max;
    let mut cands: Vec<usize> = (1..y.len().saturating_sub(1))
        .filter(|&t| y[t] >= thr && y[t] >= y[t - 1] && y[t] > y[t + 1])
        .collect();
    // Strongest first; keep a candidate unless a kept one lies within the refractory period.
    cands.sort_by(|&a, &b| y[b].total_cmp(&y[a]).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for c in cands {
        if kept.iter().all(|&k| k.abs_diff(c) >= refractory) {
            kept.push(c);
        }
    }
    kept.sort_unstable();
    kept
}

/// Matches detections to reference peaks within ±`tolerance` samples (each reference at most
/// once, greedily in time order): returns (true positives, false positives, false negatives).
pub fn match_peaks(
    detected: &[usize],
    reference: &[usize],
    tolerance: usize,
) -> (usize, usize, usize) {
    let mut used = vec![false; reference.len()];
    let mut tp = 0;
    for &d in detected {
        if let Some(j) =
            (0..reference.len()).find(|&j| !used[j] && reference[j].abs_diff(d) <= tolerance)
        {
            used[j] = true;
            tp += 1;
        }
    }
    (tp, detected.len() - tp, reference.len() - tp)
}

#[cfg(test)]
mod detector_tests {
    use super::*;

    #[test]
    fn peaks_respect_threshold_and_refractory() {
        let mut y = vec![0.0f32; 100];
        y[10] = 1.0;
        y[14] = 0.8; // inside the refractory period of 10
        y[50] = 0.9;
        y[80] = 0.1; // below threshold
        assert_eq!(detect_peaks(&y, 0.5, 10), vec![10, 50]);
        assert_eq!(match_peaks(&[10, 50], &[12, 70], 3), (1, 1, 1));
        assert_eq!(match_peaks(&[], &[1], 3), (0, 0, 1));
    }
}

/// The receptive field of `BeatCnn`'s feature map measured by autograd: the input positions
/// whose gradient ∂(Σ_c h[0, c, t])/∂x is non-zero for one random beat, returned as
/// (first, last) sample. The model must be in evaluation mode (batch norm then acts per sample).
/// For an interior t the span last − first + 1 is the receptive field of the last layer
/// (unless ReLUs happen to block its edges: the span can only be smaller, never larger).
///
/// # Errors
/// Forward/backward errors; `t` outside the feature map; no non-zero gradient at all.
pub fn measured_receptive_field(
    model: &crate::models::nets::BeatCnn,
    t: usize,
    seed: u64,
) -> anyhow::Result<(usize, usize)> {
    use crate::models::autograd::engine::{Rng, Shape, Tensor};
    use crate::models::autograd::{Tape, ops};
    let len = crate::models::nets::cnn_classifier::BEAT_LEN;
    let mut rng = Rng::stream(seed, "receptive_field");
    let x = Tensor::from_vec(Shape::d3(1, 1, len), rng.vec_f32(len))?;
    let mut tape = Tape::new();
    let xv = tape.leaf(x, true);
    let h = model.forward_features(&mut tape, &xv)?;
    let steps = h.shape().dims()[2];
    anyhow::ensure!(
        t < steps,
        "time step {t} is outside the feature map ({steps} steps)"
    );
    let at = ops::narrow(&mut tape, &h, 2, t, 1)?;
    let s = ops::sum(&mut tape, &at)?;
    let grads = tape.backward(&s)?;
    let g = grads
        .get(xv.id())
        .context("the input received no gradient")?;
    let nz: Vec<usize> = (0..len).filter(|&i| g.data()[i] != 0.0).collect();
    match (nz.first(), nz.last()) {
        (Some(&a), Some(&b)) => Ok((a, b)),
        _ => anyhow::bail!("all input gradients are zero at t = {t}"),
    }
}

#[cfg(test)]
mod measured_tests {
    use super::*;
    use crate::models::Module;

    #[test]
    fn autograd_sees_the_computed_receptive_field() {
        let mut m = crate::models::nets::BeatCnn::new(5, 4).unwrap();
        m.set_training(false);
        // Output t reads inputs 4t − 10 … 4t + 13 (padding 2, 2, 1 and two pools of 2).
        let (a, b) = measured_receptive_field(&m, 23, 1).unwrap();
        assert_eq!((a, b), (82, 105));
        let rf = receptive_fields(&beat_cnn_geometry()).unwrap();
        assert_eq!(b - a + 1, rf.last().unwrap().field);
        assert!(measured_receptive_field(&m, 46, 1).is_err());
    }
}
