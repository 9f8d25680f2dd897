//! `fig_04_unpunished`: see `ecgrad_experiments::exp::fig_04_unpunished`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("fig_04_unpunished")
}
