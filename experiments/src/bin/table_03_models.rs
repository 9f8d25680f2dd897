//! `table_03_models`: seed 003's four networks on MIT-BIH, both protocols, loss and GAN
//! ablations, 95 % CIs (see `exp::table_03_models`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_03_models")
}
