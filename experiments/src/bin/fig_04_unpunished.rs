//! Seed 004, figure: the "unpunished region" study — good (pool 3) vs bad (pool 7) networks on
//! V6 ECGs and on Gaussian-process trajectories with the same mean and std, errors inside and
//! outside the hole, and the hole-size sweep. Logic: `ecgrad_experiments::seed004::fig_unpunished`.

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::seed004::data::load_v6;
use ecgrad_experiments::seed004::fig_unpunished::{Settings, run, write};
use ecgrad_experiments::seed004::output::Run;

/// One fresh network per (patient, network, signal kind), fitted with the masked loss.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Override the number of patients.
    #[arg(long)]
    patients: Option<usize>,
    /// Override the steps of the main comparison.
    #[arg(long)]
    steps: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let r = Run::start("fig_04_unpunished", a.common)?;
    let mut s = if r.args.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(p) = a.patients {
        s.patients = p;
    }
    if let Some(st) = a.steps {
        s.main.0 = st;
    }
    let data = load_v6(&r.source, s.patients, r.args.seed)?;
    let jobs = s.patients.min(data.patients.len()) * 4
        + s.sweep_patients.min(s.patients) * 4 * s.sweep.len();
    let pb = r.bar(jobs, "fits");
    let o = run(&s, &data, r.args.seed, |_, _| pb.inc(1))?;
    pb.finish();
    for c in &o.cells {
        println!(
            "{} net on {}: inside {:.4e} ± {:.2e}, outside {:.4e} ± {:.2e}",
            c.net, c.kind, c.inside.0, c.inside.1, c.outside.0, c.outside.1
        );
    }
    println!(
        "inside error lower on ECG than on GP: good net {:.0} % of patients, bad net {:.0} %",
        100.0 * o.good_ecg_below_gp,
        100.0 * o.bad_ecg_below_gp
    );
    let files = write(&o, &s, &r.dir)?;
    r.finish(&data.source, &s, &o, files)
}
