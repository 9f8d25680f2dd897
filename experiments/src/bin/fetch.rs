//! `fetch mitdb|nstdb|ludb [--dest DIR] [--base-url URL] [--quiet]`: downloads a PhysioNet
//! database into `DIR/<db>/` (default DIR: `$ECGRAD_DATA`, else `data`), verifying every file's
//! SHA-256 and resuming interrupted downloads. See `ecgrad_experiments::data::fetch`.

#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use ecgrad_experiments::data::fetch::{Database, FetchOptions, fetch};

const USAGE: &str = "usage: fetch mitdb|nstdb|ludb [--dest DIR] [--base-url URL] [--quiet]";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut db = None;
    let mut dest = std::env::var("ECGRAD_DATA").unwrap_or_else(|_| "data".into());
    let mut base_url = None;
    let mut quiet = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dest" => dest = args.next().context("--dest needs a directory")?,
            "--base-url" => base_url = Some(args.next().context("--base-url needs a URL")?),
            "--quiet" => quiet = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with('-') => bail!("unknown option {other}\n{USAGE}"),
            other if db.is_none() => db = Some(Database::parse(other)?),
            other => bail!("unexpected argument {other}\n{USAGE}"),
        }
    }
    let Some(db) = db else { bail!("{USAGE}") };
    let mut opts = FetchOptions::new(&dest);
    if let Some(url) = base_url {
        opts.base_url = url;
    }
    opts.progress = !quiet;
    let report = fetch(db, &opts)?;
    println!(
        "{} {}: {} downloaded ({} resumed, {} corrupt local copies replaced), {} already present, {} failed, {} bytes received, into {}/{}",
        db.name(),
        db.version(),
        report.downloaded.len(),
        report.resumed.len(),
        report.replaced_corrupt.len(),
        report.already_ok.len(),
        report.failed.len(),
        report.bytes,
        dest,
        db.name()
    );
    report.ensure_complete()
}
