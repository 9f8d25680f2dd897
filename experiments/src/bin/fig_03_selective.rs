//! `fig_03_selective` (see `exp::fig_03_selective`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_03_selective")
}
