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
    /// Output directory (default: `results/<binary name>`).
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
    /// An option of the experiment, `KEY=VALUE` (repeatable; the last value of a key wins).
    /// `--set help` lists the keys the experiment accepts.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The experiment options given with `--set KEY=VALUE`, parsed and typed on demand.
///
/// Each experiment declares the keys it reads ([`crate::exp::Experiment::options`]); a key it
/// does not know is an error before anything runs, so a typo never silently runs the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pairs: Vec<(String, String)>,
}

impl Options {
    /// Parses `KEY=VALUE` strings.
    ///
    /// # Errors
    /// A string without `=`, or with an empty key.
    pub fn parse(items: &[String]) -> anyhow::Result<Options> {
        let pairs = items
            .iter()
            .map(|item| {
                let (k, v) = item.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!("--set {item}: expected KEY=VALUE (try --set help)")
                })?;
                anyhow::ensure!(!k.trim().is_empty(), "--set {item}: empty key");
                Ok((k.trim().to_string(), v.trim().to_string()))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Options { pairs })
    }

    /// Options from `(key, value)` pairs (for library callers and tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Options {
        Options {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The keys given, in order (repeated keys repeated).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// Back to `--set` arguments (`KEY=VALUE` strings), e.g. to hand a subset on.
    pub fn to_set_args(&self) -> Vec<String> {
        self.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Only the options whose key is in `known`.
    pub fn restricted_to(&self, known: &[&str]) -> Options {
        Options {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| known.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// The value of `key` (the last one given), if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` parsed as `T`.
    ///
    /// # Errors
    /// A value that does not parse (the message names the key and the value).
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> anyhow::Result<Option<T>> {
        self.get(key)
            .map(|v| {
                v.parse::<T>().map_err(|_| {
                    anyhow::anyhow!(
                        "--set {key}={v}: not a valid {}",
                        std::any::type_name::<T>()
                    )
                })
            })
            .transpose()
    }
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
    /// True if `--set help` was given (list the options instead of running).
    pub fn asks_option_help(&self) -> bool {
        self.set.iter().any(|s| s == "help")
    }

    /// The `--set` options.
    ///
    /// # Errors
    /// As [`Options::parse`].
    pub fn options(&self) -> anyhow::Result<Options> {
        Options::parse(&self.set)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_type_and_name_bad_values() {
        let o = Options::parse(&["epochs=3".into(), " models = cnn,resnet1d".into()]).unwrap();
        assert_eq!(o.parsed::<usize>("epochs").unwrap(), Some(3));
        assert_eq!(o.get("models"), Some("cnn,resnet1d"));
        assert_eq!(o.get("absent"), None);
        // The last value of a repeated key wins.
        let o = Options::parse(&["epochs=3".into(), "epochs=5".into()]).unwrap();
        assert_eq!(o.parsed::<usize>("epochs").unwrap(), Some(5));
        let e = Options::parse(&["epochs=x".into()])
            .unwrap()
            .parsed::<usize>("epochs")
            .unwrap_err()
            .to_string();
        assert!(e.contains("epochs=x"), "{e}");
        let e = Options::parse(&["epochs".into()]).unwrap_err().to_string();
        assert!(e.contains("KEY=VALUE"), "{e}");
        assert!(Options::parse(&["=3".into()]).is_err());
        let r = Options::from_pairs(&[("a", "1"), ("b", "2")]).restricted_to(&["b"]);
        assert_eq!(r.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(r.to_set_args(), ["b=2"]);
    }
}
