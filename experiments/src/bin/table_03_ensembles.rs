//! `table_03_ensembles` (see `exp::table_03_ensembles`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_03_ensembles")
}
