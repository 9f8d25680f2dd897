//! Seed 004, figure: latent interpolation between single cardiac cycles whose T waves are close
//! or far apart; T-wave centre-of-mass trajectories (drift vs jump).
//! Logic: `ecgrad_experiments::seed004::fig_cycle`.

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::seed004::data::load_v6;
use ecgrad_experiments::seed004::fig_cycle::{Settings, run, write};
use ecgrad_experiments::seed004::output::Run;

/// Trains the single-cycle autoencoder (560 samples, code 30) and measures T-wave paths.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Override the pairs per group.
    #[arg(long)]
    pairs: Option<usize>,
    /// Override the training epochs.
    #[arg(long)]
    epochs: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let r = Run::start("fig_04_cycle_interpolation", a.common)?;
    let mut s = if r.args.quick {
        Settings::quick(false)
    } else {
        Settings::full(false)
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
    for (g, st) in [("close", &o.close), ("far", &o.far)] {
        println!(
            "{g} T waves: {} pairs, jump rate {:.2}, median jump ratio {:.2}, median amplitude dip {:.2}",
            st.n, st.jump_rate, st.median_jump_ratio, st.median_amplitude_dip
        );
    }
    let files = write(&o, &s, &r.dir, "")?;
    r.finish(&data.source, &s, &o, files)
}
