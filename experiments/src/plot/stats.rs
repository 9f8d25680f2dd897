//! Distributions and point clouds: box plots (with the mean marked), scatter coloured by
//! class, and the reliability diagram of a classifier's confidence.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::categories::Categories;
use super::{FONT_FAMILY, Plot, caption_size, color, err, range_of};
use crate::calibration::ReliabilityBin;
use crate::metrics::percentile_sorted;

/// One box of a [`BoxPlot`].
#[derive(Clone, Debug, PartialEq)]
pub struct BoxGroup {
    /// Label under the box.
    pub name: String,
    /// The observations (non-finite values are ignored).
    pub values: Vec<f64>,
    /// Palette index.
    pub color: usize,
}

/// Box plots side by side: box from the first to the third quartile, a line at the median, a
/// diamond at the mean, whiskers to the most extreme values within 1.5 IQR of the box
/// (Tukey), and the values beyond drawn as points.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxPlot {
    /// Caption.
    pub title: String,
    /// y-axis label.
    pub y_label: String,
    /// The boxes, left to right.
    pub groups: Vec<BoxGroup>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl BoxPlot {
    /// An empty box plot, 800×500.
    pub fn new(title: &str, y_label: &str) -> BoxPlot {
        BoxPlot {
            title: title.to_string(),
            y_label: y_label.to_string(),
            groups: Vec::new(),
            size: (800, 500),
        }
    }
    /// Adds a box.
    pub fn with(mut self, name: &str, values: Vec<f64>, color: usize) -> BoxPlot {
        self.groups.push(BoxGroup {
            name: name.to_string(),
            values,
            color,
        });
        self
    }
}

/// Tukey's five numbers plus the mean: (whisker low, q1, median, q3, whisker high, mean).
pub(crate) fn tukey(sorted: &[f64]) -> (f64, f64, f64, f64, f64, f64) {
    let q1 = percentile_sorted(sorted, 25.0);
    let med = percentile_sorted(sorted, 50.0);
    let q3 = percentile_sorted(sorted, 75.0);
    let iqr = q3 - q1;
    let lo = sorted
        .iter()
        .copied()
        .find(|&v| v >= q1 - 1.5 * iqr)
        .unwrap_or(q1);
    let hi = sorted
        .iter()
        .rev()
        .copied()
        .find(|&v| v <= q3 + 1.5 * iqr)
        .unwrap_or(q3);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    (lo, q1, med, q3, hi, mean)
}

impl Plot for BoxPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let n = self.groups.len();
        anyhow::ensure!(n > 0, "box plot '{}' has no groups", self.title);
        let (y0, y1) = range_of(
            self.groups.iter().flat_map(|g| g.values.iter().copied()),
            0.05,
        );
        let (_, h) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                Categories {
                    names: self.groups.iter().map(|g| g.name.clone()).collect(),
                },
                y0..y1,
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .y_desc(&self.y_label)
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(err)?;
        for (i, g) in self.groups.iter().enumerate() {
            let mut v: Vec<f64> = g.values.iter().copied().filter(|x| x.is_finite()).collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let (lo, q1, med, q3, hi, mean) = tukey(&v);
            let c = color(g.color);
            let (xl, xc, xr) = (i as f64 + 0.25, i as f64 + 0.5, i as f64 + 0.75);
            let line = ShapeStyle::from(c).stroke_width(2);
            chart
                .draw_series([
                    Rectangle::new([(xl, q1), (xr, q3)], c.mix(0.25).filled()),
                    Rectangle::new([(xl, q1), (xr, q3)], line),
                ])
                .map_err(err)?;
            chart
                .draw_series([
                    PathElement::new(vec![(xl, med), (xr, med)], line.stroke_width(3)),
                    PathElement::new(vec![(xc, q3), (xc, hi)], line),
                    PathElement::new(vec![(xc, q1), (xc, lo)], line),
                    PathElement::new(vec![(xc - 0.1, hi), (xc + 0.1, hi)], line),
                    PathElement::new(vec![(xc - 0.1, lo), (xc + 0.1, lo)], line),
                ])
                .map_err(err)?;
            let outliers = v.iter().filter(|&&x| x < lo || x > hi);
            chart
                .draw_series(outliers.map(|&x| Circle::new((xc, x), 2, c)))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(TriangleMarker::new(
                    (xc, mean),
                    5,
                    BLACK.filled(),
                )))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Points coloured by class, with a legend of class names (a 2-D embedding of features).
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterPlot {
    /// Caption.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Class of each point (indexes `class_names` and the palette).
    pub classes: Vec<usize>,
    /// Legend names.
    pub class_names: Vec<String>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl Plot for ScatterPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.points.is_empty() && self.points.len() == self.classes.len(),
            "scatter '{}': {} points, {} classes",
            self.title,
            self.points.len(),
            self.classes.len()
        );
        let (x0, x1) = range_of(self.points.iter().map(|p| p.0), 0.05);
        let (y0, y1) = range_of(self.points.iter().map(|p| p.1), 0.05);
        let (_, h) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .light_line_style(RGBColor(240, 240, 240))
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(err)?;
        let k = self.classes.iter().copied().max().unwrap_or(0) + 1;
        for c in 0..k {
            let col = color(c);
            let pts: Vec<(f64, f64)> = self
                .points
                .iter()
                .zip(&self.classes)
                .filter(|&(p, &cl)| cl == c && p.0.is_finite() && p.1.is_finite())
                .map(|(&p, _)| p)
                .collect();
            if pts.is_empty() {
                continue;
            }
            let name = self
                .class_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("class {c}"));
            chart
                .draw_series(
                    pts.iter()
                        .map(|&p| Circle::new(p, 2, col.mix(0.7).filled())),
                )
                .map_err(err)?
                .label(format!("{name} ({})", pts.len()))
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, col.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT_FAMILY, 13))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// A reliability diagram: for each confidence bin, a bar at the observed accuracy and a red
/// outline up (or down) to the mean confidence — the calibration gap — beside the diagonal of
/// perfect calibration. Several models (e.g. before/after temperature scaling) share the axes
/// as side-by-side bars.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilityPlot {
    /// Caption.
    pub title: String,
    /// One (name, bins, ECE) per model.
    pub models: Vec<(String, Vec<ReliabilityBin>, f64)>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl Plot for ReliabilityPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        anyhow::ensure!(!self.models.is_empty(), "reliability plot has no models");
        let (_, h) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("confidence")
            .y_desc("accuracy")
            .light_line_style(RGBColor(240, 240, 240))
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                RGBColor(120, 120, 120).into(),
            ))
            .map_err(err)?;
        let m = self.models.len() as f64;
        for (j, (name, bins, ece)) in self.models.iter().enumerate() {
            let c = color(j);
            let bars = bins.iter().filter(|b| b.count > 0).map(|b| {
                let w = (b.hi - b.lo) / m;
                let xa = b.lo + j as f64 * w;
                Rectangle::new([(xa, 0.0), (xa + w, b.accuracy)], c.mix(0.6).filled())
            });
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(format!("{name} (ECE {ece:.3})"))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], c.filled()));
            let gaps = bins.iter().filter(|b| b.count > 0).map(|b| {
                let w = (b.hi - b.lo) / m;
                let xa = b.lo + j as f64 * w;
                Rectangle::new(
                    [(xa, b.accuracy), (xa + w, b.confidence)],
                    RGBColor(214, 39, 40).stroke_width(1),
                )
            });
            chart.draw_series(gaps).map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT_FAMILY, 13))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}
