//! Seed 004, figure/table: training the convolutional autoencoders on 4-second V6 windows
//! (patient-wise split) — loss curves, input-vs-reconstruction plots, reconstruction errors.
//! Logic: `ecgrad_experiments::seed004::fig_training`.

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::seed004::data::load_v6;
use ecgrad_experiments::seed004::fig_training::{Settings, run, write};
use ecgrad_experiments::seed004::output::Run;

/// Trains the paper's table network (512 samples, code 30) and the public code's 2000-sample,
/// code-200 network on LUDB lead V6 (synthetic ECGs when no data is present).
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Override the number of patients loaded.
    #[arg(long)]
    patients: Option<usize>,
    /// Override every network's epoch count.
    #[arg(long)]
    epochs: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let r = Run::start("fig_04_ae_training", a.common)?;
    let mut s = if r.args.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(p) = a.patients {
        s.patients = p;
    }
    if let Some(e) = a.epochs {
        s.runs.iter_mut().for_each(|run| run.epochs = e);
    }
    let data = load_v6(&r.source, s.patients, r.args.seed)?;
    let total: usize = s.runs.iter().map(|x| x.epochs).sum();
    let pb = r.bar(total, "epochs");
    let o = run(&s, &data, r.args.seed, |cfg, epoch, log| {
        pb.inc(1);
        let msg = format!(
            "{cfg} epoch {}: train {:.4e} test {:.4e} mV² ({:.0} s)",
            epoch + 1,
            log.train_loss.last().copied().unwrap_or(f64::NAN),
            log.test_loss.last().copied().unwrap_or(f64::NAN),
            r.start.elapsed().as_secs_f64()
        );
        if pb.is_hidden() {
            println!("{msg}");
        }
        pb.set_message(msg);
    })?;
    pb.finish();
    for x in &o.runs {
        println!(
            "{}: {} params, {} train / {} test windows, train MSE {:.4e}, test MSE {:.4e} mV² \
             (relative {:.3}), {:.1} s",
            x.config,
            x.params,
            x.windows.0,
            x.windows.1,
            x.train_mse,
            x.test_mse,
            x.test_relative,
            x.log.seconds
        );
    }
    let files = write(&o, &s, &r.dir)?;
    r.finish(&data.source, &s, &o, files)
}
