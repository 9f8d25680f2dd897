//! # What the five seed-003 experiments share: the run configuration, the checkpoint cache,
//! and "give me the trained base models of this protocol"
//!
//! **Configuration.** `--quick` or not chooses the defaults ([`Config::defaults`]); options
//! given as `--set KEY=VALUE` narrow or resize a run (every value used goes into
//! `metrics.json`; `--set help` lists them):
//!
//! | key | meaning | default (full / quick) |
//! |---|---|---|
//! | `protocols` | `intra,inter` | both / both |
//! | `models` | comma list of `cnn,cnn_lstm,cnn_lstm_attention,resnet1d` | all / all |
//! | `ablation_models` | models that also get wce, focal and CE + GAN (`none`: no ablation) | `cnn` / `cnn` |
//! | `epochs` | maximum epochs | 12 / 2 |
//! | `max_train` | cap on training beats (seeded subset) | none / none |
//! | `resamples` | bootstrap resamples | 1000 / 1000 |
//! | `gan_ratio` | minority classes raised to this × N | 0.15 / 0.5 |
//! | `cache` | checkpoint cache folder | `<out>/../table_03_models/models` |
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
use crate::cli::{DataSource, Options};
use crate::exp::ExpOption;

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

/// The `--set` options every seed-003 binary reads (see the module docs).
pub const OPTIONS: &[ExpOption] = &[
    ExpOption {
        key: "protocols",
        help: "protocols to run: intra,inter (default both)",
    },
    ExpOption {
        key: "models",
        help: "networks: cnn,cnn_lstm,cnn_lstm_attention,resnet1d (default all)",
    },
    ExpOption {
        key: "ablation_models",
        help: "networks that also get weighted CE, focal and CE + GAN, or none (default cnn)",
    },
    ExpOption {
        key: "epochs",
        help: "maximum epochs (default 12; quick 2)",
    },
    ExpOption {
        key: "max_train",
        help: "cap on training beats, a seeded subset (default all)",
    },
    ExpOption {
        key: "resamples",
        help: "bootstrap resamples of the confidence intervals (default 1000)",
    },
    ExpOption {
        key: "gan_ratio",
        help: "GAN raises each minority class to this × the N count (default 0.15; quick 0.5)",
    },
    ExpOption {
        key: "cache",
        help: "checkpoint cache folder (default <out>/../table_03_models/models)",
    },
];

/// A comma-separated option as trimmed names.
fn list(options: &Options, key: &str) -> Option<Vec<String>> {
    options
        .get(key)
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
}

/// A list of network names (`none`: the empty list).
fn model_list(options: &Options, key: &str) -> Result<Option<Vec<ModelKind>>> {
    list(options, key)
        .map(|names| {
            if names == ["none"] {
                return Ok(Vec::new());
            }
            names
                .iter()
                .map(|s| ModelKind::parse(s).with_context(|| format!("--set {key}")))
                .collect()
        })
        .transpose()
}

impl Config {
    /// The defaults for `quick`, then the `--set` overrides in `options`; `out` is the
    /// binary's output folder (the cache goes beside it by default).
    ///
    /// # Errors
    /// An unparsable option (the message names it).
    pub fn defaults(
        quick: bool,
        seed: u64,
        out: &std::path::Path,
        options: &Options,
    ) -> Result<Config> {
        let mut hyper = if quick { Hyper::quick() } else { Hyper::full() };
        if let Some(e) = options.parsed::<usize>("epochs")? {
            hyper.epochs = e.max(1);
        }
        hyper.max_train = options.parsed::<usize>("max_train")?;
        // Quick runs cap the classes (N only 3× the others), so they need a larger ratio for
        // the GAN to add anything.
        let ratio = options
            .parsed::<f64>("gan_ratio")?
            .unwrap_or(if quick { 0.5 } else { 0.15 });
        let protocols = match list(options, "protocols") {
            Some(v) => v
                .iter()
                .map(|s| Protocol::parse(s).context("--set protocols"))
                .collect::<Result<_>>()?,
            None => Protocol::ALL.to_vec(),
        };
        let models = model_list(options, "models")?.unwrap_or_else(|| ModelKind::ALL.to_vec());
        // The loss and GAN ablations run on the CNN only by default: four trainings per
        // network would quadruple the grid, and the CNN is the cheapest network to ablate on.
        let ablation_models =
            model_list(options, "ablation_models")?.unwrap_or_else(|| vec![ModelKind::Cnn]);
        let cache = match options.get("cache").filter(|c| !c.is_empty()) {
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
            resamples: options.parsed::<usize>("resamples")?.unwrap_or(1000),
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
