//! Curves: any number of named series on shared axes, with a legend, optional error bars and
//! a reference diagonal; ROC and risk–coverage figures are line plots.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Plot, caption_size, color, err, range_of};
use crate::metrics::RocCurve;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// Markers only.
    Points,
    /// A line with markers.
    LinePoints,
}

/// One named curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry (empty: no legend entry).
    pub name: String,
    /// (x, y) points, drawn in order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Optional vertical error bars: (low, high) per point.
    pub y_err: Option<Vec<(f64, f64)>>,
    /// Line or markers.
    pub style: SeriesStyle,
    /// Palette index (see [`super::color`]); `None`: the series' position.
    pub color: Option<usize>,
}

impl Series {
    /// A solid line.
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            points,
            y_err: None,
            style: SeriesStyle::Line,
            color: None,
        }
    }
    /// A series from y values at x = 1, 2, … (epochs).
    pub fn from_y(name: &str, ys: &[f64]) -> Series {
        Series::line(
            name,
            ys.iter()
                .enumerate()
                .map(|(i, &y)| ((i + 1) as f64, y))
                .collect(),
        )
    }
    /// The same series in another style.
    pub fn style(mut self, style: SeriesStyle) -> Series {
        self.style = style;
        self
    }
    /// With error bars (low, high) per point.
    pub fn errors(mut self, y_err: Vec<(f64, f64)>) -> Series {
        self.y_err = Some(y_err);
        self
    }
    /// With palette colour `i`.
    pub fn color(mut self, i: usize) -> Series {
        self.color = Some(i);
        self
    }
}

/// Curves on shared axes.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePlot {
    /// Caption.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The curves.
    pub series: Vec<Series>,
    /// Fixed x range (default: the data's).
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range (default: the data's, padded 5 %).
    pub y_range: Option<(f64, f64)>,
    /// Draw the dashed diagonal y = x (ROC chance line, reliability).
    pub diagonal: bool,
    /// Horizontal reference lines (e.g. a paper's reported value), with a label each.
    pub h_lines: Vec<(f64, String)>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl LinePlot {
    /// An empty plot with a title and axis labels, 800×500.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> LinePlot {
        LinePlot {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            x_range: None,
            y_range: None,
            diagonal: false,
            h_lines: Vec::new(),
            size: (800, 500),
        }
    }
    /// Adds a series.
    pub fn with(mut self, s: Series) -> LinePlot {
        self.series.push(s);
        self
    }
    /// Fixes the axes' ranges.
    pub fn ranges(mut self, x: (f64, f64), y: (f64, f64)) -> LinePlot {
        self.x_range = Some(x);
        self.y_range = Some(y);
        self
    }
}

impl Plot for LinePlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.series.iter().any(|s| !s.points.is_empty()),
            "line plot '{}' has no points",
            self.title
        );
        let (_, h) = area.dim_in_pixel();
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let ys = self.series.iter().flat_map(|s| {
            let errs = s.y_err.iter().flatten().flat_map(|&(lo, hi)| [lo, hi]);
            s.points.iter().map(|p| p.1).chain(errs)
        });
        let ys = ys.chain(self.h_lines.iter().map(|l| l.0));
        let (x0, x1) = self.x_range.unwrap_or_else(|| range_of(xs, 0.0));
        let (y0, y1) = self.y_range.unwrap_or_else(|| range_of(ys, 0.05));
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
            .light_line_style(RGBColor(235, 235, 235))
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(err)?;
        if self.diagonal {
            let (lo, hi) = (x0.max(y0), x1.min(y1));
            chart
                .draw_series(DashedLineSeries::new(
                    [(lo, lo), (hi, hi)],
                    6,
                    4,
                    RGBColor(150, 150, 150).into(),
                ))
                .map_err(err)?;
        }
        for (y, label) in &self.h_lines {
            let style = ShapeStyle::from(RGBColor(100, 100, 100)).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new([(x0, *y), (x1, *y)], 3, 3, style))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        let mut any_legend = !self.h_lines.is_empty();
        for (i, s) in self.series.iter().enumerate() {
            let c = color(s.color.unwrap_or(i));
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            let line = ShapeStyle::from(c).stroke_width(2);
            let anno = match s.style {
                SeriesStyle::Line => chart.draw_series(LineSeries::new(pts.clone(), line)),
                SeriesStyle::Dashed => {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 4, line))
                }
                SeriesStyle::Points => {
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                }
                SeriesStyle::LinePoints => {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                        .map_err(err)?;
                    chart.draw_series(LineSeries::new(pts.clone(), line))
                }
            }
            .map_err(err)?;
            if !s.name.is_empty() {
                any_legend = true;
                anno.label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
            }
            if let Some(errs) = &s.y_err {
                let bars = s
                    .points
                    .iter()
                    .zip(errs)
                    .filter(|(p, e)| p.0.is_finite() && e.0.is_finite() && e.1.is_finite());
                chart
                    .draw_series(bars.map(|(&(x, y), &(lo, hi))| {
                        ErrorBar::new_vertical(x, lo, y, hi, c.stroke_width(1), 6)
                    }))
                    .map_err(err)?;
            }
        }
        if any_legend {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font((FONT_FAMILY, 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

/// ROC curves (one per entry, legend with the AUC) with the chance diagonal.
pub fn roc_plot(title: &str, curves: &[(String, &RocCurve)]) -> LinePlot {
    let mut p = LinePlot::new(title, "false-positive rate", "true-positive rate")
        .ranges((0.0, 1.0), (0.0, 1.0));
    p.diagonal = true;
    p.size = (600, 560);
    for (name, c) in curves {
        let pts = c.fpr.iter().copied().zip(c.tpr.iter().copied()).collect();
        p.series
            .push(Series::line(&format!("{name} (AUC {:.3})", c.auc), pts));
    }
    p
}

/// Risk–coverage curves: error rate among the kept items against the fraction kept, one curve
/// per (name, [(coverage, risk)]).
pub fn risk_coverage_plot(title: &str, curves: &[(String, Vec<(f64, f64)>)]) -> LinePlot {
    let mut p = LinePlot::new(
        title,
        "coverage (fraction of items kept)",
        "risk (error rate)",
    );
    p.x_range = Some((0.0, 1.0));
    for (name, pts) in curves {
        p.series.push(Series::line(name, pts.clone()));
    }
    p
}
