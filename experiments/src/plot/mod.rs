//! Figures with plotters, every one written as PNG **and** SVG, atomically.
//!
//! A figure is a value describing what to draw (a [`LinePlot`], a [`SignalPlot`], a
//! [`HeatMap`] …); [`save`] renders it twice, once per backend, to `<dir>/<stem>.png` and
//! `<dir>/<stem>.svg`. Several plots side by side make a [`Grid`] of [`Panel`]s.
//!
//! ```no_run
//! use ecgrad_experiments::plot::{self, LinePlot, Series};
//! let fig = LinePlot::new("Training", "epoch", "loss")
//!     .with(Series::line("train", vec![(1.0, 0.9), (2.0, 0.5), (3.0, 0.4)]))
//!     .with(Series::line("validation", vec![(1.0, 1.0), (2.0, 0.7), (3.0, 0.6)]));
//! let files = plot::save(&fig, "results/fig_demo".as_ref(), "loss")?;
//! println!("wrote {}", files.png.display());
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! | kind | type | file |
//! |---|---|---|
//! | curves (several series, legend, error bars), ROC, risk–coverage | [`LinePlot`], [`roc_plot`], [`risk_coverage_plot`] | `line.rs` |
//! | signal overlays with shaded regions and an attribution strip; stacked signals | [`SignalPlot`], [`StackedSignals`] | `signal.rs` |
//! | heat map (interpolation paths), confusion matrix with counts | [`HeatMap`], [`ConfusionPlot`] | `heat.rs` |
//! | box plots, scatter coloured by class, reliability diagram | [`BoxPlot`], [`ScatterPlot`], [`ReliabilityPlot`] | `stats.rs` |
//! | several panels in one figure | [`Grid`], [`Panel`] | `grid.rs` |
//!
//! # Text and fonts
//! plotters is built without its `ttf` feature (which links fontconfig and FreeType through
//! font-kit). Text is rasterised by the pure-Rust `ab_glyph` from a TrueType file loaded once at
//! run time: `$ECGRAD_FONT` if set, else DejaVu Sans or Liberation Sans at the usual system
//! paths (Debian/Ubuntu: package `fonts-dejavu-core`, which `.ci/run` installs). Without a font,
//! [`save`] fails with an error saying exactly that; nothing is vendored in the repository.

mod categories;
mod fonts;
mod grid;
mod heat;
mod line;
mod signal;
mod stats;

pub use fonts::{FONT_FAMILY, ensure_font};
pub use grid::{Grid, Panel};
pub use heat::{ConfusionPlot, HeatMap};
pub use line::{LinePlot, Series, SeriesStyle, risk_coverage_plot, roc_plot};
pub use signal::{Region, SignalPlot, StackedSignals, Trace};
pub use stats::{BoxGroup, BoxPlot, ReliabilityPlot, ScatterPlot};

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::write_atomic;

/// Something that can draw itself on any plotters backend.
pub trait Plot {
    /// Preferred size in pixels (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws onto `area` (already filled white).
    ///
    /// # Errors
    /// plotters' drawing errors, or invalid data (e.g. empty series), as text.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// The two files of a saved figure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FigureFiles {
    /// The PNG.
    pub png: PathBuf,
    /// The SVG.
    pub svg: PathBuf,
}

/// Renders `plot` to `<dir>/<stem>.png` and `<dir>/<stem>.svg`, each written atomically
/// (temporary file, then rename).
///
/// # Errors
/// No usable font (see the module docs), a drawing error, or a write error naming the path.
pub fn save<P: Plot>(plot: &P, dir: &Path, stem: &str) -> anyhow::Result<FigureFiles> {
    ensure_font()?;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create directory {}: {e}", dir.display()))?;
    let size = plot.size();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));

    // SVG: render into a string, then write it atomically.
    let mut text = String::new();
    {
        let area = SVGBackend::with_string(&mut text, size).into_drawing_area();
        area.fill(&WHITE).map_err(err)?;
        plot.draw(&area)
            .map_err(|e| e.context(format!("drawing {}", svg.display())))?;
        area.present().map_err(err)?;
    }
    write_atomic(&svg, text.as_bytes())?;

    // PNG: plotters encodes on `present`; render to a temporary name (the extension picks the
    // encoder) and rename it over the destination.
    let tmp = dir.join(format!(".{stem}.{}.tmp.png", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let area = BitMapBackend::new(&tmp, size).into_drawing_area();
        area.fill(&WHITE).map_err(err)?;
        plot.draw(&area)?;
        area.present().map_err(err)?;
        drop(area);
        std::fs::rename(&tmp, &png)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write {}", png.display())));
    }
    Ok(FigureFiles { png, svg })
}

/// plotters' errors carry the backend's error type; figures only need their message.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e}")
}

/// A colour-blind-friendly qualitative palette (Okabe–Ito, then a few extra), cycled by index.
pub fn color(i: usize) -> RGBColor {
    const PALETTE: [(u8, u8, u8); 10] = [
        (0, 114, 178),   // blue
        (213, 94, 0),    // vermillion
        (0, 158, 115),   // bluish green
        (204, 121, 167), // reddish purple
        (230, 159, 0),   // orange
        (86, 180, 233),  // sky blue
        (240, 228, 66),  // yellow
        (0, 0, 0),       // black
        (127, 127, 127), // grey
        (140, 86, 75),   // brown
    ];
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// The viridis colour map at t ∈ [0, 1] (linear interpolation between 9 anchor colours of
/// matplotlib's viridis); values outside are clamped, NaN is light grey.
pub fn viridis(t: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    if t.is_nan() {
        return RGBColor(220, 220, 220);
    }
    let x = t.clamp(0.0, 1.0) * (ANCHORS.len() - 1) as f64;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A diverging blue–white–red map at t ∈ [−1, 1] (for signed values); NaN is light grey.
pub fn diverging(t: f64) -> RGBColor {
    if t.is_nan() {
        return RGBColor(220, 220, 220);
    }
    let t = t.clamp(-1.0, 1.0);
    let (r, g, b) = if t < 0.0 {
        let f = -t;
        (255.0 - f * 196.0, 255.0 - f * 138.0, 255.0 - f * 78.0) // towards (59, 117, 177)
    } else {
        (255.0 - t * 41.0, 255.0 - t * 216.0, 255.0 - t * 213.0) // towards (214, 39, 42)
    };
    RGBColor(r as u8, g as u8, b as u8)
}

/// (min, max) of the finite values, widened by `pad` of the span on each side; (0, 1) when
/// there are none, and ±0.5 around a constant.
pub(crate) fn range_of(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let d = (hi - lo) * pad;
    (lo - d, hi + d)
}

/// Caption font size for a panel of this height.
pub(crate) fn caption_size(height: u32) -> u32 {
    (height / 22).clamp(14, 24)
}

#[cfg(test)]
mod tests;
