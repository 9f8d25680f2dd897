//! `fig_04_unpunished` (seed 004): the "unpunished region" study — good (pool 3) vs bad
//! (pool 7) networks on V6 ECGs and on Gaussian-process trajectories with the same mean and
//! std; errors inside/outside the hole and the hole-size sweep.
//! Logic: [`crate::seed004::fig_unpunished`].

use anyhow::Result;

use super::Run;
use crate::seed004::fig_unpunished::{Settings, run as fits, write};
use crate::seed004::output::bar;

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, fitting or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let s = if run.quick() {
        Settings::quick()
    } else {
        Settings::full()
    };
    let data = super::fig_04_ae_training::load(run, s.patients)?;
    let n = s.patients.min(data.patients.len());
    let pb = bar(n * 4 + s.sweep_patients.min(n) * 4 * s.sweep.len(), "fits");
    let o = fits(&s, &data, run.seed(), |_, _| pb.inc(1))?;
    pb.finish_and_clear();
    for c in &o.cells {
        run.summary(format!(
            "{} net on {}: error inside {:.4e} ± {:.2e}, outside {:.4e} ± {:.2e} (µV², ÷ L)",
            c.net, c.kind, c.inside.0, c.inside.1, c.outside.0, c.outside.1
        ));
    }
    run.summary(format!(
        "inside error lower on ECG than on GP: good net in {:.0} % of patients, bad net in {:.0} %",
        100.0 * o.good_ecg_below_gp,
        100.0 * o.bad_ecg_below_gp
    ));
    write(&o, &s, run)?;
    run.write_metrics(&serde_json::json!({ "data": data.source, "settings": s, "results": o }))?;
    Ok(())
}
