//! The experiments as library functions, one module per binary, and the [`Run`] context they
//! write their results through.
//!
//! # The pattern (for everyone adding an experiment)
//! 1. Write `experiments/src/exp/<name>.rs` with
//!    `pub fn run(run: &mut Run) -> anyhow::Result<()>` — read `run.seed()`, `run.quick()`,
//!    `run.source()`; save figures with [`Run::figure`], tables with [`Run::table`], other files
//!    with [`Run::file`], key numbers with [`Run::summary`], and the hyper-parameters with
//!    [`Run::write_metrics`] (which adds seed, ISA, threads, git revision, data source and the
//!    checksums of the inputs recorded with [`Run::record_input`]).
//! 2. Add `pub mod <name>;` below and one [`Experiment`] entry to [`ALL`] (the one list of
//!    experiments: `reproduce` runs them in this order).
//! 3. Add `experiments/src/bin/<name>.rs` with exactly
//!    ```text
//!    fn main() -> anyhow::Result<()> {
//!        ecgrad_experiments::exp::main_for("<name>")
//!    }
//!    ```
//!    so `cargo run --release -p ecgrad-experiments --bin <name> -- --quick` runs it alone
//!    (common arguments of [`crate::cli::CommonArgs`]; output in `results/<name>/` or `--out`).
//!
//! `reproduce` calls the same functions in one process (no sibling binaries to build or find):
//! `--quick` by default, `--full` for the full configuration; each experiment writes into
//! `<out>/<name>/` and the report links what the [`Run`] recorded. A failing experiment is
//! reported and the others still run.
//!
//! Rules of thumb: `--quick` must finish in under a minute on 2 cores (it is CI's smoke test);
//! say on stdout when the data is synthetic (the [`Run`] already prints it once); write every
//! file through `report::write_atomic`, [`Run::figure`] or [`Run::table`] (atomic).

pub mod demo_engine;
pub mod fig_00_cnn_basics;
pub mod fig_03_gradcam;
pub mod fig_03_roc;
pub mod fig_03_selective;
pub mod fig_04_ae_training;
pub mod fig_04_coordconv;
pub mod fig_04_cycle_interpolation;
pub mod fig_04_interpolation;
pub mod fig_04_unpunished;
pub mod report;
pub mod table_00_denoising;
pub mod table_01_edge;
pub mod table_01_unsupervised;
pub mod table_02_transfer;
pub mod table_03_ensembles;
pub mod table_03_models;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use crate::cli::{CommonArgs, DataSource, Options};
use crate::plot::{FigureFiles, Plot};
use crate::report::{Provenance, write_json};
use crate::table::{Table, TableFiles};

/// One experiment: its binary name, a one-line description, and its function.
#[derive(Clone, Copy, Debug)]
pub struct Experiment {
    /// Binary name, results folder name (`fig_03_roc`, `table_01_edge`, `demo_engine`).
    pub name: &'static str,
    /// What it reproduces, in one line (the report's subtitle).
    pub about: &'static str,
    /// The experiment itself.
    pub run: fn(&mut Run) -> anyhow::Result<()>,
    /// The `--set KEY=VALUE` options it reads (empty for most).
    pub options: &'static [ExpOption],
}

/// One `--set` option of an experiment: its key and what it does (with its defaults).
#[derive(Clone, Copy, Debug)]
pub struct ExpOption {
    /// The key.
    pub key: &'static str,
    /// Meaning and defaults, one line.
    pub help: &'static str,
}

impl Experiment {
    /// The keys of [`Experiment::options`].
    pub fn option_keys(&self) -> Vec<&'static str> {
        self.options.iter().map(|o| o.key).collect()
    }

    /// The `--set help` text: every option with its meaning.
    pub fn options_help(&self) -> String {
        if self.options.is_empty() {
            return format!("{} takes no --set options\n", self.name);
        }
        let mut s = format!("options of {} (--set KEY=VALUE):\n", self.name);
        for o in self.options {
            s.push_str(&format!("  {:<16} {}\n", o.key, o.help));
        }
        s
    }

    /// Checks that every `--set` key is one this experiment reads.
    ///
    /// # Errors
    /// The first unknown key, with the known ones.
    pub fn check_options(&self, options: &Options) -> anyhow::Result<()> {
        let known = self.option_keys();
        for k in options.keys() {
            anyhow::ensure!(
                known.contains(&k),
                "{}: unknown option `{k}` (known: {})",
                self.name,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        Ok(())
    }
}

/// Every experiment, in the order `reproduce` runs them.
pub const ALL: &[Experiment] = &[
    Experiment {
        name: "demo_engine",
        about: "the engine on an ECG: naive vs production 1D convolution, same numbers, speed-up",
        options: &[],
        run: demo_engine::run,
    },
    Experiment {
        name: "table_00_denoising",
        about: "seed 000: ACDAE vs band-pass/median and wavelet denoisers, white and NSTDB noise across input SNRs; beat accuracy on noisy vs denoised beats",
        options: &[],
        run: table_00_denoising::run,
    },
    Experiment {
        name: "fig_00_cnn_basics",
        about: "CNN basics: a hand-set QRS kernel on an ECG, learned filters, receptive fields, dense vs conv parameters",
        options: &[],
        run: fig_00_cnn_basics::run,
    },
    Experiment {
        name: "table_01_edge",
        about: "edge models: standard vs depthwise-separable BeatCnn in f32 and int8 — size, FLOPs, latency, accuracy",
        options: &[],
        run: table_01_edge::run,
    },
    Experiment {
        name: "table_01_unsupervised",
        about: "features without labels: autoencoder and contrastive encoder, K-means/DBSCAN, anomaly AUROC, linear probes",
        options: &[],
        run: table_01_unsupervised::run,
    },
    Experiment {
        name: "table_02_transfer",
        about: "spectrogram Cnn2d, residual vs plain, MIT-BIH → LUDB transfer with AUC, ECE and subgroups",
        options: &[],
        run: table_02_transfer::run,
    },
    Experiment {
        name: "fig_04_ae_training",
        about: "seed 004: convolutional autoencoders on 4-s V6 windows, loss curves and reconstruction errors",
        options: &[],
        run: fig_04_ae_training::run,
    },
    Experiment {
        name: "fig_04_interpolation",
        about: "seed 004: latent interpolation between whole ECGs, R-peak and wave counts along the path",
        options: &[],
        run: fig_04_interpolation::run,
    },
    Experiment {
        name: "fig_04_cycle_interpolation",
        about: "seed 004: latent interpolation between single cycles, T-wave drift vs jump",
        options: &[],
        run: fig_04_cycle_interpolation::run,
    },
    Experiment {
        name: "fig_04_unpunished",
        about: "seed 004: masked-loss good vs bad networks on ECG vs Gaussian-process signals",
        options: &[],
        run: fig_04_unpunished::run,
    },
    Experiment {
        name: "fig_04_coordconv",
        about: "beyond seed 004: single-cycle interpolation with CoordConv1d vs plain convolutions",
        options: &[],
        run: fig_04_coordconv::run,
    },
    Experiment {
        name: "table_03_models",
        about: "seed 003: CNN, CNN-LSTM, CNN-LSTM-Attention, ResNet-1D on MIT-BIH, both protocols, loss and GAN ablations, 95 % CIs",
        options: crate::seed003::common::OPTIONS,
        run: table_03_models::run,
    },
    Experiment {
        name: "table_03_ensembles",
        about: "seed 003: soft/weighted average, majority vote, Top2-Weighted, best-2 over the base networks (validation weights), 95 % CIs",
        options: crate::seed003::common::OPTIONS,
        run: table_03_ensembles::run,
    },
    Experiment {
        name: "fig_03_roc",
        about: "seed 003: per-class ROC curves with AUC for the best single model and the best ensemble",
        options: crate::seed003::common::OPTIONS,
        run: fig_03_roc::run,
    },
    Experiment {
        name: "fig_03_gradcam",
        about: "seed 003: Grad-CAM over correct and wrong beats per class, mass in the P/QRS/T windows",
        options: crate::seed003::common::OPTIONS,
        run: fig_03_gradcam::run,
    },
    Experiment {
        name: "fig_03_selective",
        about: "seed 003: temperature scaling, ECE, ensemble and MC-dropout uncertainty, risk–coverage, noise OOD check",
        options: crate::seed003::common::OPTIONS,
        run: fig_03_selective::run,
    },
];

/// The experiment named `name`.
///
/// # Errors
/// If no experiment has that name (the message lists them).
pub fn find(name: &str) -> anyhow::Result<&'static Experiment> {
    ALL.iter().find(|e| e.name == name).with_context(|| {
        let names: Vec<&str> = ALL.iter().map(|e| e.name).collect();
        format!("no experiment named {name}; known: {}", names.join(", "))
    })
}

/// What a run produced, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ArtifactKind {
    /// A figure (PNG + SVG).
    Figure,
    /// A table (CSV + Markdown).
    Table,
    /// Any other file (predictions, weights, JSON).
    File,
}

/// One recorded output, with paths relative to the run's output directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Figure, table or file.
    pub kind: ArtifactKind,
    /// Caption (a table's title).
    pub caption: String,
    /// Files, relative to the run's directory (figure: PNG then SVG; table: Markdown then CSV).
    pub files: Vec<PathBuf>,
}

/// The context of one experiment run: arguments, output directory, data source, and what it
/// has produced so far.
#[derive(Debug)]
pub struct Run {
    /// Experiment name.
    pub name: String,
    /// The common arguments.
    pub args: CommonArgs,
    /// Output directory (created).
    pub out: PathBuf,
    /// Where the ECGs come from.
    pub source: DataSource,
    /// Outputs recorded so far.
    pub artifacts: Vec<Artifact>,
    /// Key numbers and findings, one line each.
    pub summary: Vec<String>,
    /// Inputs read (path, SHA-256), for metrics.json.
    pub inputs: Vec<(String, String)>,
    /// The `--set` options (checked against the experiment's keys by [`execute`]).
    pub options: Options,
}

impl Run {
    /// A run of `name` writing into `out` (created now).
    ///
    /// # Errors
    /// An invalid `--data`/`ECGRAD_DATA`, or `out` cannot be created.
    pub fn new(name: &str, args: &CommonArgs, out: PathBuf) -> anyhow::Result<Run> {
        let source = args.data_source()?;
        let options = args.options()?;
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create output directory {}", out.display()))?;
        Ok(Run {
            name: name.to_string(),
            args: args.clone(),
            out,
            source,
            artifacts: Vec::new(),
            summary: Vec::new(),
            inputs: Vec::new(),
            options,
        })
    }
    /// The experiment seed.
    pub fn seed(&self) -> u64 {
        self.args.seed
    }
    /// True for the small CI configuration.
    pub fn quick(&self) -> bool {
        self.args.quick
    }
    /// The data source.
    pub fn source(&self) -> &DataSource {
        &self.source
    }
    /// The real-data directory, or `None` on the synthetic generator.
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.source {
            DataSource::Real(d) => Some(d),
            DataSource::Synthetic(_) => None,
        }
    }
    /// `<out>/<file>`.
    pub fn path(&self, file: &str) -> PathBuf {
        self.out.join(file)
    }

    /// Saves a figure as `<stem>.png` and `<stem>.svg` and records it.
    ///
    /// # Errors
    /// As [`crate::plot::save`].
    pub fn figure<P: Plot>(
        &mut self,
        plot: &P,
        stem: &str,
        caption: &str,
    ) -> anyhow::Result<FigureFiles> {
        let f = crate::plot::save(plot, &self.out, stem)?;
        self.artifacts.push(Artifact {
            kind: ArtifactKind::Figure,
            caption: caption.to_string(),
            files: vec![format!("{stem}.png").into(), format!("{stem}.svg").into()],
        });
        Ok(f)
    }

    /// Saves a table as `<stem>.csv` and `<stem>.md` and records it (caption: its title).
    ///
    /// # Errors
    /// As [`Table::save`].
    pub fn table(&mut self, table: &Table, stem: &str) -> anyhow::Result<TableFiles> {
        let f = table.save(&self.out, stem)?;
        self.artifacts.push(Artifact {
            kind: ArtifactKind::Table,
            caption: table.title.clone(),
            files: vec![format!("{stem}.md").into(), format!("{stem}.csv").into()],
        });
        Ok(f)
    }

    /// Records a file already written under the output directory (`relative` to it).
    pub fn file(&mut self, relative: &str, caption: &str) {
        self.artifacts.push(Artifact {
            kind: ArtifactKind::File,
            caption: caption.to_string(),
            files: vec![relative.into()],
        });
    }

    /// Prints a key result and keeps it for the report.
    pub fn summary(&mut self, line: impl Into<String>) {
        let line = line.into();
        println!("  {line}");
        self.summary.push(line);
    }

    /// Records an input file with its SHA-256 (listed in metrics.json).
    ///
    /// # Errors
    /// If the file cannot be read.
    pub fn record_input(&mut self, path: &Path) -> anyhow::Result<()> {
        let hash = crate::data::fetch::sha256_file(path)
            .with_context(|| format!("checksum of {}", path.display()))?;
        self.inputs.push((path.display().to_string(), hash));
        Ok(())
    }

    /// Writes `metrics.json`: the provenance (seed, ISA, threads, git revision, data source),
    /// whether the run was quick, the recorded inputs with checksums, the summary lines, and
    /// `params` (every hyper-parameter actually used, and any numbers worth keeping).
    ///
    /// # Errors
    /// Write errors.
    pub fn write_metrics<S: Serialize>(&mut self, params: &S) -> anyhow::Result<PathBuf> {
        let path = self.path("metrics.json");
        let value = serde_json::json!({
            "provenance": Provenance::collect(&self.name, self.seed(), &self.source.describe()),
            "quick": self.quick(),
            "synthetic_data": matches!(self.source, DataSource::Synthetic(_)),
            "inputs": self.inputs.iter().map(|(p, h)| serde_json::json!({"path": p, "sha256": h})).collect::<Vec<_>>(),
            "summary": self.summary,
            "params": params,
        });
        write_json(&path, &value)?;
        if !self
            .artifacts
            .iter()
            .any(|a| a.files == [PathBuf::from("metrics.json")])
        {
            self.file(
                "metrics.json",
                "hyper-parameters, provenance and key numbers",
            );
        }
        Ok(path)
    }
}

/// The record of one finished (or failed) run, written as `outcome.json` in its directory.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Experiment name.
    pub name: String,
    /// Its one-line description.
    pub about: String,
    /// Output directory.
    pub out: PathBuf,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Quick or full.
    pub quick: bool,
    /// Data source description.
    pub data_source: String,
    /// True on the synthetic generator.
    pub synthetic: bool,
    /// What it wrote.
    pub artifacts: Vec<Artifact>,
    /// Key numbers.
    pub summary: Vec<String>,
    /// The error (or panic message) if it failed.
    pub error: Option<String>,
}

/// Runs `exp` with `args`, writing into `out`; never fails itself — errors and panics of the
/// experiment are captured in [`Outcome::error`]. Prints a header, the synthetic-data notice,
/// and the time taken; writes `<out>/outcome.json`.
pub fn execute(exp: &Experiment, args: &CommonArgs, out: PathBuf) -> Outcome {
    let start = Instant::now();
    println!(
        "\n=== {} ({}) — {}",
        exp.name,
        if args.quick { "quick" } else { "full" },
        exp.about
    );
    let mut outcome = Outcome {
        name: exp.name.to_string(),
        about: exp.about.to_string(),
        out: out.clone(),
        seconds: 0.0,
        quick: args.quick,
        data_source: String::new(),
        synthetic: false,
        artifacts: Vec::new(),
        summary: Vec::new(),
        error: None,
    };
    let mut run = match Run::new(exp.name, args, out)
        .and_then(|r| exp.check_options(&r.options).map(|()| r))
    {
        Ok(r) => r,
        Err(e) => {
            outcome.error = Some(format!("{e:#}"));
            eprintln!("{} failed: {e:#}", exp.name);
            return outcome;
        }
    };
    outcome.data_source = run.source.describe();
    if let DataSource::Synthetic(why) = &run.source {
        outcome.synthetic = true;
        println!("NOTE: running on the built-in synthetic ECG generator ({why})");
    } else {
        println!("data: {}", outcome.data_source);
    }
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| (exp.run)(&mut run)));
    outcome.error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(panic) => Some(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into())
        )),
    };
    outcome.seconds = start.elapsed().as_secs_f64();
    outcome.artifacts = run.artifacts;
    outcome.summary = run.summary;
    match &outcome.error {
        None => println!(
            "{} done in {:.1} s → {}",
            exp.name,
            outcome.seconds,
            run.out.display()
        ),
        Some(e) => eprintln!("{} FAILED after {:.1} s: {e}", exp.name, outcome.seconds),
    }
    if let Err(e) = write_json(&run.out.join("outcome.json"), &outcome) {
        eprintln!("cannot write outcome.json: {e:#}");
    }
    outcome
}

/// Command line of a single experiment binary.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs one ecgrad experiment (see experiments/src/exp/)"
)]
struct SingleCli {
    #[command(flatten)]
    common: CommonArgs,
}

/// The `main` of an experiment binary: parses the common arguments, starts the engine and the
/// thread pool, runs the experiment into `--out` (default `results/<name>`), and fails if the
/// experiment failed.
///
/// # Errors
/// Unknown experiment, bad arguments, engine start-up errors, or the experiment's error.
pub fn main_for(name: &str) -> anyhow::Result<()> {
    let exp = find(name)?;
    let cli = SingleCli::parse();
    if cli.common.asks_option_help() {
        print!("{}", exp.options_help());
        return Ok(());
    }
    exp.check_options(&cli.common.options()?)?;
    let isa = ecgrad_engine::init()?;
    let threads = cli.common.init_threads()?;
    println!(
        "ecgrad {name}: instruction set {isa}, {threads} threads, seed {}",
        cli.common.seed
    );
    let outcome = execute(exp, &cli.common, cli.common.out_dir(name));
    match outcome.error {
        None => Ok(()),
        Some(e) => anyhow::bail!("{name} failed: {e}"),
    }
}
