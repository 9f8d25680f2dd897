//! Naive twins of the attention kernels: the equations of the [module doc](super) as loops over
//! n, t, a and f, with library `tanh`/`exp` and no GEMM. The specification of the fast kernels.

use super::{AttentionDims, AttentionGrads, AttentionSaved, AttentionWeights, check_attention};
use crate::real::Real;

/// Attention pooling forward, naive.
///
/// # Panics
/// If a slice length disagrees with `d` or `d.t == 0`.
pub fn attention_forward_naive<T: Real>(
    d: AttentionDims,
    h: &[T],
    w: &AttentionWeights<'_, T>,
) -> AttentionSaved<T> {
    check_attention(d, h, w);
    let (n, steps, f, a) = (d.n, d.t, d.f, d.a);
    let mut u = vec![T::ZERO; n * steps * a];
    let mut alpha = vec![T::ZERO; n * steps];
    let mut context = vec![T::ZERO; n * f];
    for s in 0..n {
        let mut e = vec![T::ZERO; steps];
        for t in 0..steps {
            let ht = &h[(s * steps + t) * f..(s * steps + t + 1) * f];
            for j in 0..a {
                let mut p = w.b[j];
                for k in 0..f {
                    p += w.w[j * f + k] * ht[k];
                }
                let uj = p.tanh();
                u[(s * steps + t) * a + j] = uj;
                e[t] += w.v[j] * uj;
            }
        }
        let mut m = e[0];
        for &x in &e {
            if x > m {
                m = x;
            }
        }
        let mut sum = T::ZERO;
        for x in &e {
            sum += (*x - m).exp();
        }
        for t in 0..steps {
            let al = (e[t] - m).exp() / sum;
            alpha[s * steps + t] = al;
            for k in 0..f {
                context[s * f + k] += al * h[(s * steps + t) * f + k];
            }
        }
    }
    AttentionSaved { u, alpha, context }
}

/// Attention pooling backward, naive; **accumulates** into every gradient in `grads`.
///
/// # Panics
/// If a slice length disagrees with `d`.
pub fn attention_backward_naive<T: Real>(
    d: AttentionDims,
    h: &[T],
    w: &AttentionWeights<'_, T>,
    saved: &AttentionSaved<T>,
    dctx: &[T],
    grads: AttentionGrads<'_, T>,
) {
    check_attention(d, h, w);
    let (n, steps, f, a) = (d.n, d.t, d.f, d.a);
    assert_eq!(dctx.len(), n * f, "attention_backward_naive: dctx");
    for s in 0..n {
        let row = |t: usize| s * steps + t;
        // dαₜ = ⟨dctx, hₜ⟩
        let mut dalpha = vec![T::ZERO; steps];
        for (t, da) in dalpha.iter_mut().enumerate() {
            for k in 0..f {
                *da += dctx[s * f + k] * h[row(t) * f + k];
            }
        }
        let mut dot = T::ZERO;
        for t in 0..steps {
            dot += saved.alpha[row(t)] * dalpha[t];
        }
        for t in 0..steps {
            let al = saved.alpha[row(t)];
            let de = al * (dalpha[t] - dot);
            for k in 0..f {
                grads.dh[row(t) * f + k] += al * dctx[s * f + k];
            }
            for j in 0..a {
                let uj = saved.u[row(t) * a + j];
                grads.dv[j] += de * uj;
                let dpre = de * w.v[j] * (T::ONE - uj * uj);
                grads.db[j] += dpre;
                for k in 0..f {
                    grads.dw[j * f + k] += dpre * h[row(t) * f + k];
                    grads.dh[row(t) * f + k] += dpre * w.w[j * f + k];
                }
            }
        }
    }
}
