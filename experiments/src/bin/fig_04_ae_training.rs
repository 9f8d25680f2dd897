//! `fig_04_ae_training`: see `ecgrad_experiments::exp::fig_04_ae_training`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_04_ae_training")
}
