//! `fig_00_cnn_basics`: see `ecgrad_experiments::exp::fig_00_cnn_basics`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_00_cnn_basics")
}
