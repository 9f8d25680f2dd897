//! `fig_03_gradcam` (see `exp::fig_03_gradcam`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_03_gradcam")
}
