//! Grad-CAM tests: a model whose channel weights can be computed by hand (a linear head over
//! NCL features), the interpolation conventions by hand, and the errors.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::gradcam::{grad_cam, upsample_bilinear_2d, upsample_linear_1d};
use ecgrad_models::layers::{Flatten, Linear, NclToNtf, NtfToNcl, Relu, Sequential};
use ecgrad_models::module;

const C: usize = 3;
const L: usize = 5;
const K: usize = 4;

/// [n, 1, L] → per-position Linear(1 → C) → ReLU → NCL features "feat" [n, C, L] → Linear head.
fn model(seed: u64) -> Sequential {
    let mut rng = Rng::stream(seed, "init");
    Sequential::new()
        .with_named("to_ntf", NclToNtf)
        .unwrap()
        .with_named("embed", Linear::new(1, C, true, &mut rng).unwrap())
        .unwrap()
        .with_named("act", Relu)
        .unwrap()
        .with_named("feat", NtfToNcl)
        .unwrap()
        .with_named("flat", Flatten)
        .unwrap()
        .with_named("head", Linear::new(C * L, K, true, &mut rng).unwrap())
        .unwrap()
}

#[test]
fn grad_cam_matches_the_hand_formula() {
    let mut m = model(1);
    let mut rng = Rng::stream(1, "x");
    let n = 2;
    let x = Tensor::from_vec(Shape::d3(n, 1, L), rng.vec_f32(n * L)).unwrap();
    // A[s, c, l] = ReLU(W_embed[c]·x[s, l] + b_embed[c]), computed by hand below.
    let mut w_embed = Vec::new();
    let mut b_embed = Vec::new();
    let mut w_head = Vec::new();
    m.visit_params_names(&mut w_embed, &mut b_embed, &mut w_head);
    for class in 0..K {
        let cam = grad_cam(&m, &x, "feat", class).unwrap();
        assert_eq!(cam.shape(), Shape::d2(n, L));
        for s in 0..n {
            for l in 0..L {
                let mut v = 0f64;
                for c in 0..C {
                    // ∂y_class/∂A[s, c, l] = W_head[class, c·L + l]; α_c is its mean over l.
                    let alpha: f64 = (0..L)
                        .map(|p| w_head[class * C * L + c * L + p] as f64)
                        .sum::<f64>()
                        / L as f64;
                    let a = (w_embed[c] * x.data()[s * L + l] + b_embed[c]).max(0.0) as f64;
                    v += alpha * a;
                }
                let want = v.max(0.0);
                let got = cam.data()[s * L + l] as f64;
                assert!(
                    (got - want).abs() < 1e-5,
                    "class {class} sample {s} l {l}: {got} vs {want}"
                );
            }
        }
    }
    // Frozen parameters do not matter: the input is the leaf that requires a gradient.
    let trainable = grad_cam(&m, &x, "feat", 1).unwrap();
    module::set_requires_grad(&mut m, false);
    let frozen = grad_cam(&m, &x, "feat", 1).unwrap();
    assert_eq!(frozen.data(), trainable.data());
    assert!(frozen.data().iter().any(|&v| v > 0.0), "a non-trivial map");
}

trait Names {
    fn visit_params_names(&mut self, we: &mut Vec<f32>, be: &mut Vec<f32>, wh: &mut Vec<f32>);
}

impl Names for Sequential {
    fn visit_params_names(&mut self, we: &mut Vec<f32>, be: &mut Vec<f32>, wh: &mut Vec<f32>) {
        use ecgrad_models::autograd::Parameters;
        self.visit_params(&mut |p| match &*p.name {
            "embed.weight" => *we = p.value.data().to_vec(),
            "embed.bias" => *be = p.value.data().to_vec(),
            "head.weight" => *wh = p.value.data().to_vec(),
            _ => {}
        });
    }
}

#[test]
fn interpolation_follows_pytorch_align_corners_false() {
    // Linear 2 → 4: src = (i + ½)/2 − ½ = −¼ (clamped to 0), ¼, ¾, 1¼ (clamped to the end).
    let x = Tensor::from_vec(Shape::d2(1, 2), vec![0.0, 4.0]).unwrap();
    assert_eq!(
        upsample_linear_1d(&x, 4).unwrap().data(),
        &[0.0, 1.0, 3.0, 4.0]
    );
    // Same size is the identity.
    let y = Tensor::from_vec(Shape::d2(1, 3), vec![1.0, -2.0, 5.0]).unwrap();
    assert_eq!(upsample_linear_1d(&y, 3).unwrap().data(), y.data());
    // Bilinear 2×2 → 4×4 is the 1D rule along both axes.
    let z = Tensor::from_vec(Shape::d3(1, 2, 2), vec![0.0, 4.0, 8.0, 12.0]).unwrap();
    let u = upsample_bilinear_2d(&z, 4, 4).unwrap();
    assert_eq!(&u.data()[..4], &[0.0, 1.0, 3.0, 4.0]);
    assert_eq!(&u.data()[4..8], &[2.0, 3.0, 5.0, 6.0]);
    assert_eq!(&u.data()[12..], &[8.0, 9.0, 11.0, 12.0]);
    assert!(upsample_linear_1d(&x, 0).is_err());
}

#[test]
fn bad_layer_or_class_are_named_errors() {
    let m = model(2);
    let x = Tensor::zeros(Shape::d3(1, 1, L));
    let e = grad_cam(&m, &x, "conv9", 0).unwrap_err().to_string();
    assert!(
        e.contains("conv9") && e.contains("\"feat\""),
        "lists the paths: {e}"
    );
    let e = grad_cam(&m, &x, "feat", K).unwrap_err().to_string();
    assert!(e.contains("class"), "{e}");
    let e = grad_cam(&m, &x, "flat", 0).unwrap_err().to_string();
    assert!(
        e.contains("layer output"),
        "a [n, C·L] output is not a feature map: {e}"
    );
}

#[test]
fn a_model_of_two_dimensional_features_gives_a_2d_map() {
    // Not a conv net (none exists yet): the features are ReLU(x) itself, [1, 1, 2, 3], and the
    // head a flatten, so the map is ReLU(x)·α with α the mean of a one-hot gradient.
    let seq = Sequential::new()
        .with_named("act", Relu)
        .unwrap()
        .with_named("flat", Flatten)
        .unwrap();
    let x = Tensor::from_vec(Shape::d4(1, 1, 2, 3), vec![1.0, -1.0, 2.0, 0.5, 3.0, -2.0]).unwrap();
    // Output [1, 6]: class 4 selects position (1, 1); α = mean of a one-hot = 1/6.
    let cam = grad_cam(&seq, &x, "act", 4).unwrap();
    assert_eq!(cam.shape(), Shape::d3(1, 2, 3));
    let want: Vec<f32> = x.data().iter().map(|&v| v.max(0.0) / 6.0).collect();
    for (g, w) in cam.data().iter().zip(&want) {
        assert!((g - w).abs() < 1e-7);
    }
}
