//! `fig_04_coordconv`: see `ecgrad_experiments::exp::fig_04_coordconv`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_04_coordconv")
}
