//! `fig_04_cycle_interpolation` (seed 004): latent interpolation between single cycles whose
//! T waves are close or far apart; T-wave centre-of-mass trajectories, drift vs jump.
//! Logic: [`crate::seed004::fig_cycle`].

use anyhow::Result;

use super::Run;
use crate::seed004::fig_cycle::{Outcome, Settings, run as cycles, write};
use crate::seed004::output::bar;

/// Trains and measures one single-cycle network (plain or CoordConv).
///
/// # Errors
/// Data or training errors.
pub fn measure(run: &mut Run, coordconv: bool) -> Result<(Settings, Outcome, String)> {
    let s = if run.quick() {
        Settings::quick(coordconv)
    } else {
        Settings::full(coordconv)
    };
    let data = super::fig_04_ae_training::load(run, s.patients)?;
    let pb = bar(s.train.0, "epochs");
    let o = cycles(&s, &data, run.seed(), |_, _| pb.inc(1))?;
    pb.finish_and_clear();
    let net = if coordconv { "CoordConv AE" } else { "AE" };
    for (g, st) in [("close", &o.close), ("far", &o.far)] {
        run.summary(format!(
            "{net}, {g} T waves: {} pairs, jump rate {:.2}, median jump ratio {:.2}, median \
             amplitude dip {:.2} (mean T width {:.0} samples)",
            st.n, st.jump_rate, st.median_jump_ratio, st.median_amplitude_dip, o.t_width
        ));
    }
    Ok((s, o, data.source))
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let (s, o, data) = measure(run, false)?;
    write(&o, &s, run, "")?;
    run.write_metrics(&serde_json::json!({ "data": data, "settings": s, "results": o }))?;
    Ok(())
}
