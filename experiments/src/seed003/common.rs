//! # What the five seed-003 experiments share: the run configuration, the checkpoint cache,
//! and "give me the trained base models of this protocol"
//!
//! **Configuration.** `--quick` or not chooses the defaults ([`Config::defaults`]); the binaries
//! take only the common arguments, so a few environment variables narrow or resize a run
//! (handy for a partial run in the background; every value used goes into `metrics.json`):
//!
//! | variable | meaning | default (full / quick) |
//! |---|---|---|
//! | `SEED003_PROTOCOLS` | `intra,inter` | both / both |
//! | `SEED003_MODELS` | comma list of `cnn,cnn_lstm,cnn_lstm_attention,resnet1d` | all / all |
//! | `SEED003_ABLATION_MODELS` | models that also get wce, focal and CE + GAN (`none`: no ablation) | all / `cnn` |
//! | `SEED003_EPOCHS` | maximum epochs | 20 / 2 |
//! | `SEED003_MAX_TRAIN` | cap on training beats (seeded subset) | none / none |
//! | `SEED003_RESAMPLES` | bootstrap resamples | 1000 / 1000 |
//! | `SEED003_GAN_RATIO` | minority classes raised to this × N | 0.15 / 0.5 |
//! | `SEED003_CACHE` | checkpoint cache folder | `<out>/../table_03_models/models` |
//!
//! **Base models.** Ensembles, ROC, Grad-CAM and selective prediction use each network's
//! plain cross-entropy model without GAN (the "base" models); [`base_models`] loads them from
//! the cache or trains the missing ones, and skips networks that are not implemented yet.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::protocol::{Protocol, QuickCaps, Splits, prepare};
use super::run::{Trained, train_or_load};
use super::spec::{GanConfig, Hyper, LossKind, TrainSpec};
use super::zoo::{ModelKind, Net};
use crate::cli::DataSource;

/// The configuration of one seed-003 run (see the module docs).
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    /// `--quick`.
    pub quick: bool,
    /// Experiment seed.
    pub seed: u64,
    /// Protocols to run.
    pub protocols: Vec<Protocol>,
    /// Networks.
    pub models: Vec<ModelKind>,
    /// Networks that also get the loss and GAN ablations.
    pub ablation_models: Vec<ModelKind>,
    /// Optimisation settings.
    pub hyper: Hyper,
    /// GAN settings of the GAN ablation.
    pub gan: GanConfig,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Per-class caps of `--quick` (None in full runs).
    pub caps: Option<QuickCaps>,
    /// Checkpoint cache folder.
    pub cache: PathBuf,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    env(name)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("{name} = `{v}` is not a number"))
        })
        .transpose()
}

fn env_models(name: &str) -> Result<Option<Vec<ModelKind>>> {
    env(name)
        .map(|v| {
            if v.trim() == "none" {
                return Ok(Vec::new());
            }
            v.split(',').map(|s| ModelKind::parse(s.trim())).collect()
        })
        .transpose()
}

impl Config {
    /// The defaults for `quick`, then the `SEED003_*` overrides; `out` is the binary's output
    /// folder (the cache goes beside it by default).
    ///
    /// # Errors
    /// An unparsable environment variable (the message names it).
    pub fn defaults(quick: bool, seed: u64, out: &std::path::Path) -> Result<Config> {
        let mut hyper = if quick { Hyper::quick() } else { Hyper::full() };
        if let Some(e) = env_num::<usize>("SEED003_EPOCHS")? {
            hyper.epochs = e.max(1);
        }
        hyper.max_train = env_num::<usize>("SEED003_MAX_TRAIN")?;
        // Quick runs cap the classes (N only 3× the others), so they need a larger ratio for
        // the GAN to add anything.
        let ratio = env_num::<f64>("SEED003_GAN_RATIO")?.unwrap_or(if quick { 0.5 } else { 0.15 });
        let protocols = match env("SEED003_PROTOCOLS") {
            Some(v) => v
                .split(',')
                .map(|s| Protocol::parse(s.trim()))
                .collect::<Result<_>>()?,
            None => Protocol::ALL.to_vec(),
        };
        let models = env_models("SEED003_MODELS")?.unwrap_or_else(|| ModelKind::ALL.to_vec());
        let ablation_models = env_models("SEED003_ABLATION_MODELS")?.unwrap_or_else(|| {
            if quick {
                vec![ModelKind::Cnn]
            } else {
                ModelKind::ALL.to_vec()
            }
        });
        let cache = match env("SEED003_CACHE") {
            Some(c) => PathBuf::from(c),
            None => out
                .parent()
                .map_or_else(|| PathBuf::from("results"), |p| p.to_path_buf())
                .join("table_03_models")
                .join("models"),
        };
        Ok(Config {
            quick,
            seed,
            protocols,
            models,
            ablation_models,
            hyper,
            gan: if quick {
                GanConfig::quick(ratio)
            } else {
                GanConfig::full(ratio)
            },
            resamples: env_num::<usize>("SEED003_RESAMPLES")?.unwrap_or(1000),
            caps: quick.then(QuickCaps::quick),
            cache,
        })
    }

    /// The data of `protocol`, with a line on stdout describing it.
    ///
    /// # Errors
    /// As [`prepare`].
    pub fn splits(&self, protocol: Protocol, source: &DataSource) -> Result<Splits> {
        let s = prepare(protocol, source, self.caps, self.seed)
            .with_context(|| format!("preparing the {} protocol", protocol.name()))?;
        println!(
            "{}: train {} {:?}, validation {} {:?}, test {} {:?}",
            protocol.name(),
            s.train.len(),
            s.train.data.class_counts(),
            s.val.len(),
            s.val.data.class_counts(),
            s.test.len(),
            s.test.data.class_counts()
        );
        Ok(s)
    }

    /// The spec of `model` with `loss` (and GAN or not) on `splits`.
    pub fn spec(&self, splits: &Splits, model: ModelKind, loss: LossKind, gan: bool) -> TrainSpec {
        TrainSpec {
            protocol: splits.protocol,
            model,
            loss,
            gan: gan.then(|| self.gan.clone()),
            seed: self.seed,
            quick: self.quick,
            hyper: self.hyper.clone(),
            data: splits.description.clone(),
        }
    }

    /// Every spec of table 03 for `splits`: each model with CE; the ablation models also with
    /// weighted CE, focal, and CE + GAN.
    pub fn table_specs(&self, splits: &Splits) -> Vec<TrainSpec> {
        let mut v = Vec::new();
        for &m in &self.models {
            v.push(self.spec(splits, m, LossKind::Ce, false));
            if self.ablation_models.contains(&m) {
                v.push(self.spec(splits, m, LossKind::WeightedCe, false));
                v.push(self.spec(
                    splits,
                    m,
                    LossKind::Focal {
                        gamma: LossKind::FOCAL_GAMMA,
                    },
                    false,
                ));
                v.push(self.spec(splits, m, LossKind::Ce, true));
            }
        }
        v
    }
}

/// True if `kind` can be built (its network exists in `ecgrad-models`).
pub fn available(kind: ModelKind) -> bool {
    Net::new(kind, 0, 2).is_ok()
}

/// The base models (CE, no GAN) of every configured and available network on `splits`,
/// loaded from the cache or trained now; unavailable networks are listed in the second value.
///
/// # Errors
/// Training or checkpoint errors.
pub fn base_models(cfg: &Config, splits: &Splits) -> Result<(Vec<Trained>, Vec<ModelKind>)> {
    let (mut out, mut missing) = (Vec::new(), Vec::new());
    for &m in &cfg.models {
        if !available(m) {
            missing.push(m);
            continue;
        }
        let spec = cfg.spec(splits, m, LossKind::Ce, false);
        let t = train_or_load(&spec, splits, &cfg.cache, false)?;
        println!(
            "  {}: {} ({:.1} s of training)",
            spec.label(),
            if t.from_cache {
                "loaded from the cache"
            } else {
                "trained"
            },
            t.train_seconds()
        );
        out.push(t);
    }
    Ok((out, missing))
}
