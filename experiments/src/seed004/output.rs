//! Tables (CSV and Markdown, written atomically) and the `metrics.json` envelope of the seed-004
//! binaries, plus the banner every binary prints about its data source.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{CommonArgs, DataSource};
use crate::report::{Provenance, write_atomic, write_json};

/// A table of strings with a header; numbers are formatted by the caller.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each as long as the header).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The CSV text (cells with commas or quotes are quoted).
    pub fn csv(&self) -> String {
        let cell = |c: &String| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        };
        let mut s = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            s.push_str(&r.iter().map(cell).collect::<Vec<_>>().join(","));
            s.push('\n');
        }
        s
    }

    /// The Markdown text.
    pub fn markdown(&self) -> String {
        let line = |r: &Vec<String>| format!("| {} |\n", r.join(" | ").replace('\n', " "));
        let mut s = line(&self.header);
        s.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            s.push_str(&line(r));
        }
        s
    }

    /// Writes `<dir>/<stem>.csv` and `<dir>/<stem>.md` atomically; returns both paths.
    ///
    /// # Errors
    /// Write errors naming the path.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf)> {
        let csv = dir.join(format!("{stem}.csv"));
        let md = dir.join(format!("{stem}.md"));
        write_atomic(&csv, self.csv().as_bytes())?;
        write_atomic(&md, self.markdown().as_bytes())?;
        Ok((csv, md))
    }
}

/// `{:.3e}`-style number for tables.
pub fn sci(v: f64) -> String {
    format!("{v:.4e}")
}

/// Prints the data-source banner (saying loudly when the generator is used).
pub fn announce(binary: &str, source: &DataSource, quick: bool) {
    if let DataSource::Synthetic(why) = source {
        println!(
            "{binary}: NO REAL DATA ({why}) — running on the built-in synthetic ECG generator; \
             numbers are not the paper's"
        );
    }
    println!(
        "{binary}: {} mode, data: {}",
        if quick { "quick" } else { "full" },
        source.describe()
    );
}

/// The `metrics.json` of a run: provenance, settings, results, wall time.
#[derive(Serialize)]
pub struct Metrics<'a, S: Serialize, R: Serialize> {
    /// Code, ISA, threads, seed, data source.
    pub provenance: Provenance,
    /// `--quick` or not.
    pub quick: bool,
    /// Every hyper-parameter actually used.
    pub settings: &'a S,
    /// The measured numbers.
    pub results: &'a R,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Files written (figures and tables), relative to the output directory.
    pub files: Vec<String>,
}

/// Writes `<dir>/metrics.json`.
///
/// # Errors
/// Serialisation or write errors.
#[allow(clippy::too_many_arguments)]
pub fn write_metrics<S: Serialize, R: Serialize>(
    dir: &Path,
    binary: &str,
    args: &CommonArgs,
    data_source: &str,
    settings: &S,
    results: &R,
    seconds: f64,
    files: Vec<String>,
) -> Result<PathBuf> {
    let m = Metrics {
        provenance: Provenance::collect(binary, args.seed, data_source),
        quick: args.quick,
        settings,
        results,
        seconds,
        files,
    };
    let path = dir.join("metrics.json");
    write_json(&path, &m)?;
    Ok(path)
}

/// The common start of every seed-004 binary.
#[derive(Debug)]
pub struct Run {
    /// The binary's name (`fig_04_…`).
    pub binary: &'static str,
    /// The parsed common arguments.
    pub args: CommonArgs,
    /// Where the data comes from.
    pub source: DataSource,
    /// Output directory (created).
    pub dir: PathBuf,
    /// Worker threads.
    pub threads: usize,
    /// Start time.
    pub start: std::time::Instant,
}

impl Run {
    /// Starts threads, resolves the data source, prints the banner, creates the output folder.
    ///
    /// # Errors
    /// Bad `--threads`, a missing `--data` directory, or an uncreatable output directory.
    pub fn start(binary: &'static str, args: CommonArgs) -> Result<Run> {
        let threads = args.init_threads()?;
        let source = args.data_source()?;
        announce(binary, &source, args.quick);
        let dir = args.out_dir(binary);
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        Ok(Run {
            binary,
            args,
            source,
            dir,
            threads,
            start: std::time::Instant::now(),
        })
    }

    /// A progress bar over `total` items (epochs, fits) labelled `what`.
    pub fn bar(&self, total: usize, what: &str) -> indicatif::ProgressBar {
        let pb = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        ) {
            pb.set_style(style);
        }
        pb.set_prefix(format!("{} {what}", self.binary));
        pb
    }

    /// Writes `metrics.json` and prints the closing line with the run time.
    ///
    /// # Errors
    /// Write errors.
    pub fn finish<S: Serialize, R: Serialize>(
        &self,
        data_source: &str,
        settings: &S,
        results: &R,
        files: Vec<String>,
    ) -> Result<()> {
        let secs = self.start.elapsed().as_secs_f64();
        let path = write_metrics(
            &self.dir,
            self.binary,
            &self.args,
            data_source,
            settings,
            results,
            secs,
            files,
        )?;
        println!(
            "{}: done in {secs:.1} s on {} thread(s); results in {} ({})",
            self.binary,
            self.threads,
            self.dir.display(),
            path.display()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_markdown() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["1".into(), "x,y".into()]);
        assert_eq!(t.csv(), "a,b\n1,\"x,y\"\n");
        assert_eq!(t.markdown(), "| a | b |\n|---|---|\n| 1 | x,y |\n");
    }
}
