//! Shared pieces of the criterion benchmarks: ECG-realistic shape tables, FLOP formulas and
//! input builders.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use ecgrad_engine::ops::conv1d::{Conv1dDims, Conv1dParams};
use ecgrad_engine::{Rng, Shape, Tensor};

// ---- conv1d ---------------------------------------------------------------------------------

/// One conv1d benchmark shape of PERFORMANCE.md: stride 1, padding "same", no bias.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    /// Bench parameter name, `S1` … `S7`.
    pub name: &'static str,
    /// What the shape stands for in an ECG network.
    pub role: &'static str,
    /// Batch size N.
    pub n: usize,
    /// Input channels C_in.
    pub c_in: usize,
    /// Output channels C_out.
    pub c_out: usize,
    /// Input length L (the output has the same length for odd K, see [`ConvShape::params`]).
    pub l: usize,
    /// Kernel taps K.
    pub k: usize,
    /// PyTorch 2.15 CPU reference times in ms from PERFORMANCE.md:
    /// `[fwd 1T, fwd 2T, fwd+bwd 1T, fwd+bwd 2T]`.
    pub pytorch_ms: [f64; 4],
}

/// The conv1d shape table S1–S7 of PERFORMANCE.md `(N, C_in, C_out, L, K)`.
pub const CONV_SHAPES: [ConvShape; 7] = [
    ConvShape {
        name: "S1",
        role: "first layer, 1 lead",
        n: 32,
        c_in: 1,
        c_out: 32,
        l: 187,
        k: 5,
        pytorch_ms: [0.071, 0.070, 0.293, 0.388],
    },
    ConvShape {
        name: "S2",
        role: "mid layer, beat",
        n: 32,
        c_in: 32,
        c_out: 64,
        l: 187,
        k: 5,
        pytorch_ms: [1.28, 0.687, 4.71, 2.43],
    },
    ConvShape {
        name: "S3",
        role: "deep layer, beat",
        n: 32,
        c_in: 64,
        c_out: 128,
        l: 94,
        k: 3,
        pytorch_ms: [1.68, 0.846, 5.43, 3.02],
    },
    ConvShape {
        name: "S4",
        role: "seed-004 AE, layer 1",
        n: 16,
        c_in: 1,
        c_out: 30,
        l: 512,
        k: 100,
        pytorch_ms: [0.749, 0.429, 2.87, 1.69],
    },
    ConvShape {
        name: "S5",
        role: "seed-004 AE, layer 2",
        n: 16,
        c_in: 30,
        c_out: 15,
        l: 256,
        k: 100,
        pytorch_ms: [7.90, 4.40, 35.6, 18.1],
    },
    ConvShape {
        name: "S6",
        role: "12-lead 10-s record",
        n: 8,
        c_in: 12,
        c_out: 64,
        l: 5000,
        k: 15,
        pytorch_ms: [10.0, 5.27, 41.2, 23.9],
    },
    ConvShape {
        name: "S7",
        role: "batch 1, long signal",
        n: 1,
        c_in: 64,
        c_out: 64,
        l: 4096,
        k: 9,
        pytorch_ms: [2.88, 1.82, 9.56, 5.56],
    },
];

impl ConvShape {
    /// Stride 1 and "same" padding `(K − 1) / 2` zeros on each side. For odd K this is PyTorch's
    /// `padding='same'` exactly (L_out = L). For even K (S4 and S5 have K = 100) PyTorch pads 49
    /// on the left and 50 on the right; [`Conv1dParams`] pads symmetrically, so we pad 49 on both
    /// sides: output t reads t − 49 … t + 50 exactly as PyTorch's, but the last output (which
    /// PyTorch gets from the 50th right zero) is missing, L_out = L − 1. The FLOP counts use
    /// the real L_out, so the throughput stays honest (0.2–0.4 % less work than PyTorch's).
    pub fn params(&self) -> Conv1dParams {
        Conv1dParams {
            padding: (self.k - 1) / 2,
            ..Default::default()
        }
    }

    /// Output length: L for odd K, L − 1 for even K (see [`ConvShape::params`]).
    pub fn l_out(&self) -> usize {
        self.l + 2 * ((self.k - 1) / 2) + 1 - self.k
    }

    /// The sizes for the slice-level kernels.
    pub fn dims(&self) -> Conv1dDims {
        Conv1dDims {
            n: self.n,
            c_in: self.c_in,
            c_out: self.c_out,
            l_in: self.l,
            k: self.k,
        }
    }

    /// Forward FLOPs: 2·N·C_out·C_in·K·L_out.
    pub fn flops_fwd(&self) -> u64 {
        2 * (self.n * self.c_out * self.c_in * self.k * self.l_out()) as u64
    }

    /// Forward + input gradient + weight gradient FLOPs: three GEMMs of the same size.
    pub fn flops_fwd_bwd(&self) -> u64 {
        3 * self.flops_fwd()
    }

    /// Seeded inputs: `x [N, C_in, L]`, `w [C_out, C_in, K]` (scaled like Kaiming init) and an
    /// upstream gradient `dy [N, C_out, L_out]`.
    pub fn inputs(&self, seed: u64) -> (Tensor<f32>, Tensor<f32>, Tensor<f32>) {
        let mut rng = Rng::new(seed);
        let scale = (2.0 / (self.c_in * self.k) as f64).sqrt();
        let mut v = |len: usize, s: f64| -> Vec<f32> {
            (0..len).map(|_| (rng.normal() * s) as f32).collect()
        };
        let x = v(self.n * self.c_in * self.l, 1.0);
        let w = v(self.c_out * self.c_in * self.k, scale);
        let dy = v(self.n * self.c_out * self.l_out(), 1.0);
        let t = |shape: Shape, data| Tensor::from_vec(shape, data).expect("sizes match");
        (
            t(Shape::d3(self.n, self.c_in, self.l), x),
            t(Shape::d3(self.c_out, self.c_in, self.k), w),
            t(Shape::d3(self.n, self.c_out, self.l_out()), dy),
        )
    }
}
