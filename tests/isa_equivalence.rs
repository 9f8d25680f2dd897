//! Whole networks give the same answer on every instruction set.
//!
//! The kernel tests compare each SIMD body with its scalar twin one op at a time; this test
//! checks what a user sees: a full forward pass in training mode, a loss, and backpropagation
//! through every layer of each network of `models::nets`, once with the scalar fallback and once
//! with each SIMD ISA this CPU (or qemu) runs. The output, the input gradient and every parameter
//! gradient must agree within f32 round-off scaled by the depth of the network.
//!
//! Why not bit-identical: a vectorised dot product adds in a different order (8 or 4 partial
//! sums, fused multiply-adds), so results differ in the last bits, and these differences grow a
//! little through each layer. The tolerance below (1e-3 relative plus 1e-4 of the network's
//! largest gradient) is far below what a wrong kernel produces (an error of the size
//! of the values themselves).

#![forbid(unsafe_code)]

use ecgrad_autograd::engine::simd::Isa;
use ecgrad_autograd::engine::{Rng, Shape, Tensor, parallel::with_isa_threads, testing};
use ecgrad_autograd::{Tape, ops};
use ecgrad_models::Module;
use ecgrad_models::nets::{
    Acdae, AcdaeConfig, AeConfig, BeatCnn, Cnn2d, Cnn2dConfig, CnnLstm, CnnLstmAttention,
    CnnLstmAttentionConfig, ConvAutoencoder, Discriminator, Gan1dConfig, Generator, ResNet1d,
    ResNet1dConfig, SeparableBeatCnn,
};

/// Output, input gradient and `(name, gradient)` of every parameter, all flattened.
struct Run {
    output: Vec<f32>,
    input_grad: Vec<f32>,
    param_grads: Vec<(String, Vec<f32>)>,
}

/// Builds a fresh network (same seed → same weights), runs forward in training mode on `x`,
/// takes the loss Σ y ⊙ r with a fixed random `r` (so every output element gets a different
/// upstream gradient), and backpropagates.
fn run(make: &(dyn Fn() -> Box<dyn Module> + Sync), x: &Tensor<f32>) -> Run {
    let mut model = make();
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let y = model.forward(&mut tape, &xv).expect("forward");
    let mut rng = Rng::new(11);
    let r = Tensor::from_vec(y.shape(), rng.vec_f32(y.shape().numel())).expect("shape");
    let rv = tape.input(r);
    let prod = ops::mul(&mut tape, &y, &rv).expect("mul");
    let loss = ops::sum(&mut tape, &prod).expect("sum");
    let output = y.value().data().to_vec();
    let grads = tape.backward(&loss).expect("backward");
    let input_grad = grads
        .get(xv.id())
        .expect("the input is a leaf that requires a gradient")
        .data()
        .to_vec();
    grads.accumulate_into(model.as_mut()).expect("accumulate");
    let mut param_grads = Vec::new();
    model.visit_params(&mut |p| {
        if let Some(g) = &p.grad {
            param_grads.push((p.name.to_string(), g.data().to_vec()));
        }
    });
    Run {
        output,
        input_grad,
        param_grads,
    }
}

/// Largest magnitude in a buffer.
fn max_abs(v: &[f32]) -> f64 {
    v.iter().fold(0f32, |m, x| m.max(x.abs())) as f64
}

/// `|a − b| ≤ 1e-4·scale + 1e-3·|b|` elementwise, with the worst element named on failure.
/// `scale` is the largest gradient of the whole network, not of this tensor: the bias of a conv
/// followed by batch norm has a true gradient of exactly zero (BN subtracts the mean), so its
/// computed value is pure round-off and only a network-wide scale says whether it is small.
fn close(what: &str, got: &[f32], want: &[f32], scale: f64) {
    testing::assert_close(got, want, 1e-4 * scale.max(1e-6), 1e-3, what);
}

/// Compares every SIMD ISA available here with the scalar fallback, for one network.
fn check(net: &str, make: &(dyn Fn() -> Box<dyn Module> + Sync), input: Shape) {
    check_with_input_seed(net, make, input, 7)
}

/// [`check`] on an input drawn from `seed`.
///
/// Max pooling routes each window's gradient to its largest input. When two inputs of a window
/// are equal up to rounding, the ISAs (which round differently: FMA, summation order) may pick
/// different winners, and the input gradient then legitimately differs over the receptive field
/// of that window — a discontinuity of the network, not an error of either ISA. A network with
/// long kernels and many windows meets such a near-tie for some inputs; its test uses an input
/// without one. (If such a test starts failing in the input gradient over a wide region after a
/// change of summation order, try another seed first: a real kernel error fails on every seed.)
fn check_with_input_seed(
    net: &str,
    make: &(dyn Fn() -> Box<dyn Module> + Sync),
    input: Shape,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let x = Tensor::from_vec(input, rng.vec_f32(input.numel())).expect("shape");
    let want = with_isa_threads(Isa::Scalar, 1, || run(make, &x)).expect("scalar runs anywhere");
    assert!(
        !want.param_grads.is_empty(),
        "{net}: no parameter received a gradient"
    );
    let grad_scale = want
        .param_grads
        .iter()
        .map(|(_, g)| max_abs(g))
        .fold(max_abs(&want.input_grad), f64::max);
    let mut compared = 0;
    for isa in testing::isas_to_test() {
        if isa == Isa::Scalar {
            continue;
        }
        for threads in [1, 2] {
            let got = with_isa_threads(isa, threads, || run(make, &x)).expect("supported ISA");
            let ctx = |part: &str| format!("{net} {isa} {threads}T: {part}");
            close(
                &ctx("output"),
                &got.output,
                &want.output,
                max_abs(&want.output),
            );
            close(
                &ctx("input gradient"),
                &got.input_grad,
                &want.input_grad,
                grad_scale,
            );
            assert_eq!(got.param_grads.len(), want.param_grads.len(), "{net}");
            for ((name, g), (name_w, w)) in got.param_grads.iter().zip(&want.param_grads) {
                assert_eq!(name, name_w, "{net}: parameter order");
                close(&ctx(name), g, w, grad_scale);
            }
            compared += 1;
        }
    }
    if compared == 0 {
        println!("{net}: no SIMD ISA on this machine; only the scalar path ran");
    }
}

#[test]
fn beat_cnn() {
    check(
        "BeatCnn",
        &|| Box::new(BeatCnn::new(3, 5).expect("valid")),
        Shape::d3(4, 1, 187),
    );
}

#[test]
fn resnet1d() {
    check(
        "ResNet1d",
        &|| Box::new(ResNet1d::new(3, ResNet1dConfig::aami()).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn cnn2d() {
    check(
        "Cnn2d",
        &|| Box::new(Cnn2d::new(3, &Cnn2dConfig::seed000(4)).expect("valid")),
        Shape::d4(2, 1, 16, 20),
    );
}

#[test]
fn conv_autoencoder() {
    // 15 channels × 257 positions of K = 100 sums feed 2-wide max pools: inputs 7, 8 and 11 hit
    // a near-tie in some window under one summation order or another (measured); 10 in none.
    check_with_input_seed(
        "ConvAutoencoder",
        &|| {
            let mut rng = Rng::new(3);
            Box::new(ConvAutoencoder::new(AeConfig::table512(), &mut rng).expect("valid"))
        },
        Shape::d3(2, 1, 512),
        10,
    );
}

#[test]
fn acdae() {
    check(
        "Acdae",
        &|| {
            let mut rng = Rng::new(3);
            Box::new(Acdae::new(AcdaeConfig::default(), &mut rng).expect("valid"))
        },
        Shape::d3(2, 2, 256),
    );
}

#[test]
fn gan() {
    let latent = Gan1dConfig::default().latent;
    check(
        "Generator",
        &|| {
            let mut rng = Rng::new(3);
            Box::new(Generator::new(Gan1dConfig::default(), &mut rng).expect("valid"))
        },
        Shape::d2(4, latent),
    );
    check(
        "Discriminator",
        &|| {
            let mut rng = Rng::new(3);
            Box::new(Discriminator::new(&mut rng).expect("valid"))
        },
        Shape::d3(4, 1, ecgrad_models::nets::BEAT_LEN),
    );
}

#[test]
fn cnn_lstm() {
    check(
        "CnnLstm",
        &|| Box::new(CnnLstm::new(3, 5).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn cnn_lstm_attention() {
    check(
        "CnnLstmAttention",
        &|| Box::new(CnnLstmAttention::new(3, CnnLstmAttentionConfig::default()).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn separable_beat_cnn() {
    check(
        "SeparableBeatCnn",
        &|| Box::new(SeparableBeatCnn::new(3, 5).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}
