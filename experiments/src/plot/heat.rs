//! Matrices as colours: a heat map of rows (e.g. the decoded signals along an interpolation
//! path, one row per step, time across) with a colour bar, and a confusion matrix with counts.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::categories::Categories;
use super::{FONT_FAMILY, Plot, caption_size, diverging, err, range_of, viridis};

/// Rows of values as coloured cells; row 0 at the top.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// Caption.
    pub title: String,
    /// The matrix, one `Vec` per row (rows may differ in length; missing cells stay white).
    pub rows: Vec<Vec<f64>>,
    /// x-axis label (e.g. "time (s)").
    pub x_label: String,
    /// y-axis label (e.g. "interpolation step").
    pub y_label: String,
    /// Column scale: x = column · x_scale (1/fs for seconds).
    pub x_scale: f64,
    /// Colour-bar label (e.g. "mV").
    pub value_label: String,
    /// Colour range (default: the data's min and max).
    pub value_range: Option<(f64, f64)>,
    /// Diverging blue–white–red map centred on 0 instead of viridis.
    pub diverging: bool,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl HeatMap {
    /// A viridis heat map, 900×500.
    pub fn new(title: &str, rows: Vec<Vec<f64>>, x_label: &str, y_label: &str) -> HeatMap {
        HeatMap {
            title: title.to_string(),
            rows,
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_scale: 1.0,
            value_label: String::new(),
            value_range: None,
            diverging: false,
            size: (900, 500),
        }
    }
}

impl Plot for HeatMap {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let n = self.rows.len();
        anyhow::ensure!(cols > 0, "heat map '{}' is empty", self.title);
        let (lo, hi) = self.value_range.unwrap_or_else(|| {
            let r = range_of(self.rows.iter().flatten().copied(), 0.0);
            if self.diverging {
                let m = r.0.abs().max(r.1.abs());
                (-m, m)
            } else {
                r
            }
        });
        let colour = |v: f64| {
            if self.diverging {
                diverging(v / hi.abs().max(lo.abs()).max(1e-12))
            } else {
                viridis((v - lo) / (hi - lo).max(1e-12))
            }
        };
        let (w, h) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(90));
        let xs = self.x_scale;
        let rows_f = n as f64;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(8)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..cols as f64 * xs, 0.0..rows_f)
            .map_err(err)?;
        // Row r occupies y ∈ [n − r − 1, n − r): row 0 on top; labels count rows from the top.
        let row_label = move |y: &f64| {
            let r = rows_f - y;
            if (r - r.round()).abs() < 1e-9 && r >= 0.0 {
                format!("{}", r as usize)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .y_label_formatter(&row_label)
            .label_style((FONT_FAMILY, 12))
            .axis_desc_style((FONT_FAMILY, 14))
            .draw()
            .map_err(err)?;
        let cells = self.rows.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let y = rows_f - r as f64;
                let x = c as f64 * xs;
                Rectangle::new([(x, y - 1.0), (x + xs, y)], colour(v).filled())
            })
        });
        chart.draw_series(cells).map_err(err)?;

        // Colour bar: 64 bands from lo to hi.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(40)
            .margin_right(10)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..1.0, lo..hi.max(lo + 1e-12))
            .map_err(err)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(&self.value_label)
            .label_style((FONT_FAMILY, 11))
            .axis_desc_style((FONT_FAMILY, 12))
            .draw()
            .map_err(err)?;
        let step = (hi - lo) / 64.0;
        cb.draw_series((0..64).map(|i| {
            let a = lo + i as f64 * step;
            Rectangle::new([(0.0, a), (1.0, a + step)], colour(a + step / 2.0).filled())
        }))
        .map_err(err)?;
        Ok(())
    }
}

/// A confusion matrix: cells coloured by the row-normalised fraction (how each true class was
/// predicted), labelled with the count and the percentage of the row.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionPlot {
    /// Caption.
    pub title: String,
    /// Class names, in class-id order.
    pub class_names: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<u64>>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl ConfusionPlot {
    /// A confusion-matrix figure, 560×520.
    pub fn new(title: &str, class_names: &[String], counts: &[Vec<u64>]) -> ConfusionPlot {
        ConfusionPlot {
            title: title.to_string(),
            class_names: class_names.to_vec(),
            counts: counts.to_vec(),
            size: (560, 520),
        }
    }
}

impl Plot for ConfusionPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let k = self.class_names.len();
        anyhow::ensure!(
            k > 0 && self.counts.len() == k && self.counts.iter().all(|r| r.len() == k),
            "confusion plot '{}': {} class names but a {}-row matrix",
            self.title,
            k,
            self.counts.len()
        );
        let kf = k as f64;
        let (_, h) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(
                Categories {
                    names: self.class_names.clone(),
                },
                Categories {
                    names: self.class_names.iter().rev().cloned().collect(),
                },
            )
            .map_err(err)?;
        // Row 0 (true class 0) at the top: the y axis lists the names in reverse.
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted class")
            .y_desc("true class")
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(err)?;
        let cell = (h as f64 / (kf + 2.0)).max(10.0);
        let font = (cell / 4.0).clamp(9.0, 16.0);
        for (t, row) in self.counts.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (p, &c) in row.iter().enumerate() {
                let frac = if total == 0 {
                    0.0
                } else {
                    c as f64 / total as f64
                };
                let (x, y) = (p as f64, kf - t as f64 - 1.0);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        blues(frac).filled(),
                    )))
                    .map_err(err)?;
                let ink = if frac > 0.5 { WHITE } else { BLACK };
                let style = TextStyle::from((FONT_FAMILY, font).into_font())
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                let pct = format!("{:.1}%", 100.0 * frac);
                chart
                    .draw_series([
                        Text::new(c.to_string(), (x + 0.5, y + 0.6), style.clone()),
                        Text::new(pct, (x + 0.5, y + 0.35), style),
                    ])
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

/// White → dark blue at t ∈ [0, 1].
fn blues(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + t * (b - a)) as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}
