//! `fig_04_interpolation` (seed 004): latent interpolation between two whole 4-second ECGs,
//! with R-peak and wave counts along the path. Logic: [`crate::seed004::fig_interp`].

use anyhow::Result;

use super::Run;
use crate::seed004::fig_interp::{Settings, run as interpolate, write};
use crate::seed004::output::bar;

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
    let data = super::fig_04_ae_training::load(run, s.patients)?;
    let pb = bar(s.train.0, "epochs");
    let o = interpolate(&s, &data, run.seed(), |_, _| pb.inc(1))?;
    pb.finish_and_clear();
    run.summary(format!(
        "{} latent paths of {} steps: R count not preserved in {:.1} %, significant-wave count \
         in {:.1} %, P/T count in {:.1} % (end points keep the original R count in {:.1} %)",
        o.pairs.len(),
        s.steps,
        100.0 * o.r_not_preserved,
        100.0 * o.waves_not_preserved,
        100.0 * o.other_not_preserved,
        100.0 * o.endpoint_r_agreement
    ));
    write(&o, &s, run)?;
    run.write_metrics(&serde_json::json!({ "data": data.source, "settings": s, "results": o }))?;
    Ok(())
}
