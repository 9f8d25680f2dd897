//! `table_01_edge`: see `ecgrad_experiments::exp::table_01_edge`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_01_edge")
}
