//! `fig_04_coordconv` (beyond seed 004): the single-cycle interpolation study repeated with
//! CoordConv1d layers, against the plain network on the same data and the same pairs — do T
//! waves drift instead of jumping? Logic: [`crate::seed004::fig_cycle`].

use anyhow::Result;

use super::Run;
use crate::seed004::fig_cycle::{add_group_rows, group_table, write};

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let (sp, plain, data) = super::fig_04_cycle_interpolation::measure(run, false)?;
    let (sc, coord, _) = super::fig_04_cycle_interpolation::measure(run, true)?;
    write(&plain, &sp, run, "plain_")?;
    write(&coord, &sc, run, "coordconv_")?;
    let mut t = group_table();
    add_group_rows(&mut t, "AE", &plain);
    add_group_rows(&mut t, "CoordConv AE", &coord);
    run.table(
        &t.titled("Plain vs CoordConv autoencoder: T-wave jump rates on the same pairs")?,
        "comparison",
    )?;
    run.write_metrics(&serde_json::json!({
        "data": data,
        "settings": { "plain": sp, "coordconv": sc },
        "results": { "plain": plain, "coordconv": coord },
    }))?;
    Ok(())
}
