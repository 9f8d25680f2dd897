//! The main job: run every experiment and write `results/REPORT.md`.
//!
//! `cargo run --release -p ecgrad-experiments --bin reproduce` runs each experiment of
//! `ecgrad_experiments::exp::ALL` (the one list) in this process, as library calls — so this
//! one binary is all `cargo run` has to build — in the quick configuration, each into
//! `results/<name>/`, then writes `results/REPORT.md` linking every figure and table with each
//! experiment's run time and data source, and prints where it is. `--full` runs the full
//! configurations; `--only a,b` a subset; `--list` lists the experiments. Without PhysioNet data
//! (`--data`, `ECGRAD_DATA`, `../shared/data`) the experiments run on the built-in synthetic
//! generator and the report says so. Exits non-zero if any experiment failed (after running
//! the others and writing the report).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::exp::{self, ALL};
use ecgrad_experiments::report::{Provenance, write_atomic};

/// Reproduce every paper figure and table (quick by default; --full for the real runs).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Run the full configurations (hours) instead of the quick ones (about a minute each).
    #[arg(long)]
    full: bool,
    /// Run only these experiments (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only: Vec<String>,
    /// List the experiments and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.list {
        for e in ALL {
            println!("{:<28} {}", e.name, e.about);
        }
        return Ok(());
    }
    anyhow::ensure!(
        !(cli.full && cli.common.quick),
        "--full and --quick contradict each other"
    );
    for name in &cli.only {
        exp::find(name)?;
    }
    let selected: Vec<&exp::Experiment> = ALL
        .iter()
        .filter(|e| cli.only.is_empty() || cli.only.iter().any(|n| n == e.name))
        .collect();
    if cli.common.asks_option_help() {
        for e in &selected {
            print!("{}", e.options_help());
        }
        return Ok(());
    }
    let options = cli.common.options()?;
    for key in options.keys() {
        anyhow::ensure!(
            selected.iter().any(|e| e.option_keys().contains(&key)),
            "--set {key}: no selected experiment reads this option (see --set help)"
        );
    }
    let start = Instant::now();
    let isa = ecgrad_engine::init()?;
    let threads = cli.common.init_threads()?;
    let base = cli
        .common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results"));
    let mut args = cli.common.clone();
    args.quick = !cli.full;
    args.out = None;
    let mode = if args.quick { "quick" } else { "full" };
    println!(
        "ecgrad reproduce ({mode}): instruction set {isa}, {threads} threads, seed {}, results in {}",
        args.seed,
        base.display()
    );
    println!("data: {}", args.data_source()?.describe());

    // Each experiment gets the `--set` options it reads; a key no selected experiment reads
    // was refused above.
    let outcomes: Vec<exp::Outcome> = selected
        .iter()
        .map(|e| {
            let mut own = args.clone();
            own.set = options.restricted_to(&e.option_keys()).to_set_args();
            exp::execute(e, &own, base.join(e.name))
        })
        .collect();

    let provenance = Provenance::collect("reproduce", args.seed, "");
    let header = exp::report::ReportHeader {
        mode: mode.to_string(),
        seed: args.seed,
        isa: isa.to_string(),
        threads,
        git_revision: provenance.git_revision,
        finished: exp::report::utc_now(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let report = base.join("REPORT.md");
    write_atomic(
        &report,
        exp::report::render(&outcomes, &header, &base).as_bytes(),
    )?;

    println!("\n{:<28} {:>12}  status", "experiment", "time");
    for o in &outcomes {
        println!(
            "{:<28} {:>12}  {}{}",
            o.name,
            exp::report::human_time(o.seconds),
            if o.error.is_some() { "FAILED" } else { "ok" },
            if o.synthetic { " (synthetic data)" } else { "" }
        );
    }
    let shown = std::fs::canonicalize(&report).unwrap_or(report);
    println!("\nreport: {}", shown.display());
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .map(|o| o.name.as_str())
        .collect();
    anyhow::ensure!(failed.is_empty(), "failed: {}", failed.join(", "));
    Ok(())
}
