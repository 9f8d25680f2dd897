//! `demo_engine`: naive vs production 1D convolution on an ECG (see `exp::demo_engine`).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ecgrad_experiments::exp::main_for("demo_engine")
}
