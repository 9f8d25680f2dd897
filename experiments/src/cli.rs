//! The command-line arguments every experiment binary shares, and where the data comes from.
//!
//! `--data DIR` (or `ECGRAD_DATA`) points at the PhysioNet databases; without either, the
//! default is `../shared/data` when it exists. When no real data is found the binaries run on the
//! built-in synthetic ECG generator and say so, in stdout and in their report.

use std::path::{Path, PathBuf};

use clap::Args;

/// Arguments common to every experiment binary (flatten into each binary's own parser).
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Directory holding the PhysioNet databases (mitdb/, nstdb/, ludb/). Overrides ECGRAD_DATA.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Output directory (default: results/<binary name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of every random stream of the experiment.
    #[arg(long, default_value_t = 20_201_201)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// A small configuration for smoke runs and CI.
    #[arg(long)]
    pub quick: bool,
}

/// Where an experiment's ECGs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// Real PhysioNet databases under this directory.
    Real(PathBuf),
    /// The built-in synthetic generator; the string says why no real data was used.
    Synthetic(String),
}

impl DataSource {
    /// A one-line description for logs and reports.
    pub fn describe(&self) -> String {
        match self {
            DataSource::Real(dir) => format!("PhysioNet databases in {}", dir.display()),
            DataSource::Synthetic(why) => format!("built-in synthetic ECG generator ({why})"),
        }
    }
}

impl CommonArgs {
    /// Resolves the data directory: `--data`, then `ECGRAD_DATA`, then `../shared/data`.
    ///
    /// # Errors
    /// If `--data` or `ECGRAD_DATA` names a directory that does not exist: a typo must not
    /// silently fall back to synthetic data.
    pub fn data_source(&self) -> anyhow::Result<DataSource> {
        let explicit = self
            .data
            .clone()
            .map(|d| ("--data", d))
            .or_else(|| std::env::var_os("ECGRAD_DATA").map(|d| ("ECGRAD_DATA", d.into())));
        if let Some((from, dir)) = explicit {
            anyhow::ensure!(
                dir.is_dir(),
                "{from} = {} is not a directory (unset it to use ../shared/data or the synthetic generator)",
                dir.display()
            );
            return Ok(DataSource::Real(dir));
        }
        let default = Path::new("../shared/data");
        if default.is_dir() {
            Ok(DataSource::Real(default.to_path_buf()))
        } else {
            Ok(DataSource::Synthetic(
                "no --data, no ECGRAD_DATA, and ../shared/data does not exist".into(),
            ))
        }
    }

    /// The output directory: `--out`, or `results/<binary>`.
    pub fn out_dir(&self, binary: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("results").join(binary))
    }

    /// Builds the global rayon pool with `--threads` (if given) and returns the thread count.
    ///
    /// # Errors
    /// If the pool was already built with another size.
    pub fn init_threads(&self) -> anyhow::Result<usize> {
        if let Some(n) = self.threads {
            anyhow::ensure!(n > 0, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
        }
        Ok(rayon::current_num_threads())
    }
}
