//! `fig_03_roc` (see `exp::fig_03_roc`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_03_roc")
}
