//! `table_01_unsupervised`: see `ecgrad_experiments::exp::table_01_unsupervised`.

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("table_01_unsupervised")
}
