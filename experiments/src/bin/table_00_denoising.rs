//! `table_00_denoising`: see `ecgrad_experiments::exp::table_00_denoising`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_00_denoising")
}
