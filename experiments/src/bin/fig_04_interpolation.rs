//! Seed 004, figure: latent interpolation between two whole 4-second ECGs; the number of R
//! peaks and waves tracked along the path. Logic: `ecgrad_experiments::seed004::fig_interp`.

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::seed004::data::load_v6;
use ecgrad_experiments::seed004::fig_interp::{Settings, run, write};
use ecgrad_experiments::seed004::output::Run;

/// Trains the table autoencoder, then decodes straight latent lines between test ECGs.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Override the number of pairs.
    #[arg(long)]
    pairs: Option<usize>,
    /// Override the training epochs.
    #[arg(long)]
    epochs: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let r = Run::start("fig_04_interpolation", a.common)?;
    let mut s = if r.args.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(p) = a.pairs {
        s.pairs = p;
    }
    if let Some(e) = a.epochs {
        s.train.0 = e;
    }
    let data = load_v6(&r.source, s.patients, r.args.seed)?;
    let pb = r.bar(s.train.0, "epochs");
    let o = run(&s, &data, r.args.seed, |_, _| pb.inc(1))?;
    pb.finish();
    println!(
        "{} paths of {} steps: R count not preserved in {:.1} %, wave count in {:.1} %, P/T \
         count in {:.1} %; end points keep the original R count in {:.1} %",
        o.pairs.len(),
        s.steps,
        100.0 * o.r_not_preserved,
        100.0 * o.waves_not_preserved,
        100.0 * o.other_not_preserved,
        100.0 * o.endpoint_r_agreement
    );
    let files = write(&o, &s, &r.dir)?;
    r.finish(&data.source, &s, &o, files)
}
