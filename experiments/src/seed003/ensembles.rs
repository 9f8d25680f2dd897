//! # The base models' probabilities, and the ensembles built from them
//!
//! [`BaseSet`] holds, for one protocol, each available network's CE model and its logits on
//! the validation and test parts. [`ensembles`] combines them with `ecgrad_models`'
//! `nets::ensemble` functions; every weight and every choice comes from the **validation**
//! part only (the weights are the models' validation macro-F1):
//!
//! | name | rule |
//! |---|---|
//! | soft average | mean of the M probability vectors |
//! | weighted average | Σ wₘ pₘ / Σ wₘ |
//! | majority vote | the class most models rank first (ties: larger summed probability); as scores for AUC, the vote shares plus 10⁻⁶ × the soft average (which reproduces the tie rule under argmax) |
//! | Top2-Weighted | per model, its two most probable classes renormalised, weighted by wₘ (the reading of the paper) |
//! | best-2 weighted | weighted average of the two models with the best validation macro-F1 (the other plausible reading) |

use anyhow::Result;
use ecgrad_engine::{Shape, Tensor};
use ecgrad_models::nets::ensemble;

use super::common::{Config, base_models};
use super::evaluate::predicted;
use super::protocol::Splits;
use super::run::Trained;
use super::zoo::ModelKind;
use crate::metrics::{ConfusionMatrix, softmax_rows};
use crate::train::predict;

/// The base models of one protocol with their logits and probabilities.
#[derive(Debug)]
pub struct BaseSet {
    /// The models (CE, no GAN), in configuration order.
    pub models: Vec<Trained>,
    /// Networks not available (not implemented yet).
    pub missing: Vec<ModelKind>,
    /// Validation logits `[n_val, k]` per model.
    pub val_logits: Vec<Tensor<f32>>,
    /// Test logits `[n_test, k]` per model.
    pub test_logits: Vec<Tensor<f32>>,
    /// Validation probabilities per model.
    pub val_probs: Vec<Tensor<f32>>,
    /// Test probabilities per model.
    pub test_probs: Vec<Tensor<f32>>,
    /// Validation macro-F1 per model (the ensemble weights).
    pub val_f1: Vec<f64>,
}

/// Macro-F1 of probabilities against labels.
///
/// # Errors
/// Size mismatches.
pub fn macro_f1(probs: &Tensor<f32>, labels: &[usize], k: usize) -> Result<f64> {
    let cm = ConfusionMatrix::new(labels, &predicted(probs.data(), k), k)?;
    Ok(cm.macro_f1())
}

/// Loads or trains the base models of `splits` and computes their outputs.
///
/// # Errors
/// Training, checkpoint or forward errors; no model available.
pub fn base_set(cfg: &Config, splits: &Splits) -> Result<BaseSet> {
    let (mut models, missing) = base_models(cfg, splits)?;
    anyhow::ensure!(!models.is_empty(), "no seed-003 network is available");
    let k = splits.protocol.classes();
    let (mut vl, mut tl, mut vp, mut tp, mut f1) = (vec![], vec![], vec![], vec![], vec![]);
    for t in &mut models {
        let v = predict(&mut t.net, &splits.val.data, 256)?;
        let te = predict(&mut t.net, &splits.test.data, 256)?;
        let pv = softmax_rows(&v)?;
        f1.push(macro_f1(&pv, &splits.val.data.labels, k)?);
        vp.push(pv);
        tp.push(softmax_rows(&te)?);
        vl.push(v);
        tl.push(te);
    }
    Ok(BaseSet {
        models,
        missing,
        val_logits: vl,
        test_logits: tl,
        val_probs: vp,
        test_probs: tp,
        val_f1: f1,
    })
}

/// Vote shares plus 10⁻⁶ × the soft average (see the module docs), `[n, k]`.
fn vote_scores(probs: &[Tensor<f32>]) -> Result<Tensor<f32>> {
    let labels = ensemble::majority_vote(probs)?;
    let soft = ensemble::soft_average(probs)?;
    let (n, k) = (labels.len(), soft.dims()[1]);
    let mut votes = vec![0f32; n * k];
    for p in probs {
        for (i, row) in p.data().chunks_exact(k).enumerate() {
            votes[i * k + super::output::argmax(row)] += 1.0 / probs.len() as f32;
        }
    }
    let data = votes
        .iter()
        .zip(soft.data())
        .map(|(v, s)| v + 1e-6 * s)
        .collect();
    let t = Tensor::from_vec(Shape::d2(n, k), data)?;
    debug_assert_eq!(predicted(t.data(), k), labels);
    Ok(t)
}

/// A combination rule over the models' probabilities.
type Rule<'a> = dyn Fn(&[Tensor<f32>]) -> ecgrad_models::Result<Tensor<f32>> + 'a;

/// One combination rule applied to validation and test.
#[derive(Debug)]
pub struct Combined {
    /// Rule name.
    pub name: &'static str,
    /// Validation scores `[n_val, k]`.
    pub val: Tensor<f32>,
    /// Test scores `[n_test, k]`.
    pub test: Tensor<f32>,
}

/// Every ensemble of the module docs over `set` (needs ≥ 2 models; best-2 needs ≥ 2).
///
/// # Errors
/// Fewer than 2 models; errors of the ensemble functions.
pub fn ensembles(set: &BaseSet) -> Result<Vec<Combined>> {
    anyhow::ensure!(
        set.models.len() >= 2,
        "ensembles need at least 2 base models, {} available",
        set.models.len()
    );
    let w = &set.val_f1;
    let both = |f: &Rule<'_>| -> Result<(Tensor<f32>, Tensor<f32>)> {
        Ok((f(&set.val_probs)?, f(&set.test_probs)?))
    };
    let mut out = Vec::new();
    let (v, t) = both(&|p| ensemble::soft_average(p))?;
    out.push(Combined {
        name: "soft average",
        val: v,
        test: t,
    });
    let (v, t) = both(&|p| ensemble::weighted_average(p, w))?;
    out.push(Combined {
        name: "weighted average",
        val: v,
        test: t,
    });
    out.push(Combined {
        name: "majority vote",
        val: vote_scores(&set.val_probs)?,
        test: vote_scores(&set.test_probs)?,
    });
    let (v, t) = both(&|p| ensemble::top2_weighted(p, w))?;
    out.push(Combined {
        name: "Top2-Weighted",
        val: v,
        test: t,
    });
    let (v, t) = both(&|p| ensemble::best_k_weighted(p, w, 2))?;
    out.push(Combined {
        name: "best-2 weighted",
        val: v,
        test: t,
    });
    Ok(out)
}
