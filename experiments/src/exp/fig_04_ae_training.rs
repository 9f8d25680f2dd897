//! `fig_04_ae_training` (seed 004): the convolutional autoencoders trained on 4-second V6
//! windows with a patient-wise split — loss curves, input-vs-reconstruction plots and a
//! reconstruction-error table. Logic: [`crate::seed004::fig_training`].

use anyhow::Result;

use super::Run;
use crate::seed004::fig_training::{Settings, run as train, write};
use crate::seed004::output::{bar, log_line};

/// Loads lead V6 for `patients` patients, recording the LUDB checksum list as an input.
///
/// # Errors
/// Data errors.
pub fn load(run: &mut Run, patients: usize) -> Result<crate::seed004::data::V6Data> {
    if let Some(dir) = run.data_dir().map(|d| d.join("ludb").join("SHA256SUMS")) {
        run.record_input(&dir)?;
    }
    crate::seed004::data::load_v6(run.source(), patients, run.seed())
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let s = if run.quick() {
        Settings::quick()
    } else {
        Settings::full()
    };
    let data = load(run, s.patients)?;
    let pb = bar(s.runs.iter().map(|x| x.epochs).sum(), "epochs");
    let o = train(&s, &data, run.seed(), |cfg, epoch, log| {
        pb.inc(1);
        log_line(
            &pb,
            format!(
                "{cfg} epoch {}: train {:.4e} test {:.4e} (window std)²",
                epoch + 1,
                log.train_loss.last().copied().unwrap_or(f64::NAN),
                log.test_loss.last().copied().unwrap_or(f64::NAN)
            ),
        );
    })?;
    pb.finish_and_clear();
    for x in &o.runs {
        run.summary(format!(
            "{}: {} params, {} train / {} test windows, {} epochs: train MSE {:.4e}, test MSE \
             {:.4e} (window std)² (test MSE / variance {:.3}), {:.1} s",
            x.config,
            x.params,
            x.windows.0,
            x.windows.1,
            x.log.train_loss.len(),
            x.train_mse,
            x.test_mse,
            x.test_relative,
            x.log.seconds
        ));
    }
    write(&o, &s, run)?;
    run.write_metrics(&serde_json::json!({ "data": data.source, "settings": s, "results": o }))?;
    Ok(())
}
