//! `table_02_transfer`: see `ecgrad_experiments::exp::table_02_transfer`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_02_transfer")
}
