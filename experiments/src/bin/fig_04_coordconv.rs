//! Beyond seed 004: the single-cycle interpolation study repeated with CoordConv1d layers in
//! the autoencoder, against the plain network on the same data and pairs — do T waves drift
//! instead of jumping? Logic: `ecgrad_experiments::seed004::fig_cycle`.

use clap::Parser;
use ecgrad_experiments::cli::CommonArgs;
use ecgrad_experiments::seed004::data::load_v6;
use ecgrad_experiments::seed004::fig_cycle::{Settings, add_group_rows, group_table, run, write};
use ecgrad_experiments::seed004::output::Run;
use serde::Serialize;

/// Trains the plain and the CoordConv single-cycle autoencoders and compares their T paths.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Override the pairs per group.
    #[arg(long)]
    pairs: Option<usize>,
    /// Override the training epochs.
    #[arg(long)]
    epochs: Option<usize>,
}

#[derive(Serialize)]
struct Both<'a, T: Serialize> {
    plain: &'a T,
    coordconv: &'a T,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let r = Run::start("fig_04_coordconv", a.common)?;
    let mk = |coord| {
        let mut s = if r.args.quick {
            Settings::quick(coord)
        } else {
            Settings::full(coord)
        };
        if let Some(p) = a.pairs {
            s.pairs = p;
        }
        if let Some(e) = a.epochs {
            s.train.0 = e;
        }
        s
    };
    let (sp, sc) = (mk(false), mk(true));
    let data = load_v6(&r.source, sp.patients, r.args.seed)?;
    let pb = r.bar(sp.train.0 + sc.train.0, "epochs");
    let plain = run(&sp, &data, r.args.seed, |_, _| pb.inc(1))?;
    let coord = run(&sc, &data, r.args.seed, |_, _| pb.inc(1))?;
    pb.finish();
    let mut files = write(&plain, &sp, &r.dir, "plain_")?;
    files.extend(write(&coord, &sc, &r.dir, "coordconv_")?);
    let mut t = group_table();
    add_group_rows(&mut t, "AE", &plain);
    add_group_rows(&mut t, "CoordConv AE", &coord);
    t.save(&r.dir, "comparison")?;
    files.extend(["comparison.csv".to_string(), "comparison.md".to_string()]);
    for (name, o) in [("plain", &plain), ("coordconv", &coord)] {
        println!(
            "{name}: close jump rate {:.2} ({} pairs), far jump rate {:.2} ({} pairs)",
            o.close.jump_rate, o.close.n, o.far.jump_rate, o.far.n
        );
    }
    r.finish(
        &data.source,
        &Both {
            plain: &sp,
            coordconv: &sc,
        },
        &Both {
            plain: &plain,
            coordconv: &coord,
        },
        files,
    )
}
