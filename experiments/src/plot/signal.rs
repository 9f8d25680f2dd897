//! Signals against time: overlays (clean / noisy / denoised, input / reconstruction) with
//! shaded regions (P/QRS/T windows, an unpunished region) and an optional attribution strip
//! (Grad-CAM) behind the trace; and many signals stacked with a vertical offset.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT_FAMILY, Plot, caption_size, color, err, range_of};

/// One signal of an overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Legend entry.
    pub name: String,
    /// Samples.
    pub values: Vec<f32>,
    /// Palette index; `None`: the trace's position.
    pub color: Option<usize>,
    /// Line width in pixels.
    pub width: u32,
}

impl Trace {
    /// A 1-px trace.
    pub fn new(name: &str, values: Vec<f32>) -> Trace {
        Trace {
            name: name.to_string(),
            values,
            color: None,
            width: 1,
        }
    }
    /// With palette colour `i`.
    pub fn color(mut self, i: usize) -> Trace {
        self.color = Some(i);
        self
    }
}

/// A shaded interval of the time axis, in samples `[start, end)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
    /// Legend entry (regions with equal labels share one entry).
    pub label: String,
    /// Palette index of the shade.
    pub color: usize,
}

/// Signals overlaid on one time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalPlot {
    /// Caption.
    pub title: String,
    /// Sampling rate in Hz: the x axis is in seconds; `None`: in samples.
    pub fs: Option<f64>,
    /// y-axis label (e.g. "mV").
    pub y_label: String,
    /// The signals (drawn in order, the last on top).
    pub traces: Vec<Trace>,
    /// Shaded intervals behind the traces.
    pub regions: Vec<Region>,
    /// Per-sample attribution in [0, 1] drawn as a red strip behind the traces (Grad-CAM).
    pub attribution: Option<Vec<f64>>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl SignalPlot {
    /// An empty overlay, 900×350.
    pub fn new(title: &str, fs: Option<f64>, y_label: &str) -> SignalPlot {
        SignalPlot {
            title: title.to_string(),
            fs,
            y_label: y_label.to_string(),
            traces: Vec::new(),
            regions: Vec::new(),
            attribution: None,
            size: (900, 350),
        }
    }
    /// Adds a trace.
    pub fn with(mut self, t: Trace) -> SignalPlot {
        self.traces.push(t);
        self
    }
    /// Adds a shaded region.
    pub fn region(mut self, start: usize, end: usize, label: &str, color: usize) -> SignalPlot {
        self.regions.push(Region {
            start,
            end,
            label: label.to_string(),
            color,
        });
        self
    }
}

impl Plot for SignalPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let len = self
            .traces
            .iter()
            .map(|t| t.values.len())
            .max()
            .unwrap_or(0);
        anyhow::ensure!(len > 0, "signal plot '{}' has no samples", self.title);
        let scale = self.fs.map_or(1.0, |fs| 1.0 / fs);
        let x_label = if self.fs.is_some() {
            "time (s)"
        } else {
            "sample"
        };
        let (y0, y1) = range_of(
            self.traces
                .iter()
                .flat_map(|t| t.values.iter().map(|&v| f64::from(v))),
            0.08,
        );
        let (_, h) = area.dim_in_pixel();
        let x1 = (len.max(2) - 1) as f64 * scale;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(8)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(&self.y_label)
            .light_line_style(RGBColor(240, 240, 240))
            .label_style((FONT_FAMILY, 12))
            .axis_desc_style((FONT_FAMILY, 14))
            .draw()
            .map_err(err)?;
        if let Some(a) = &self.attribution {
            chart
                .draw_series(
                    a.iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            let c = RGBColor(214, 39, 40).mix(0.6 * v.clamp(0.0, 1.0));
                            let (xa, xb) = ((i as f64 - 0.5) * scale, (i as f64 + 0.5) * scale);
                            Rectangle::new([(xa, y0), (xb, y1)], c.filled())
                        }),
                )
                .map_err(err)?;
        }
        let mut seen: Vec<&str> = Vec::new();
        for r in &self.regions {
            let c = color(r.color).mix(0.18);
            let (xa, xb) = (r.start as f64 * scale, r.end as f64 * scale);
            let anno = chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(xa, y0), (xb, y1)],
                    c.filled(),
                )))
                .map_err(err)?;
            if !r.label.is_empty() && !seen.contains(&r.label.as_str()) {
                seen.push(&r.label);
                anno.label(r.label.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], c.filled())
                });
            }
        }
        for (i, t) in self.traces.iter().enumerate() {
            let c = color(t.color.unwrap_or(i));
            let style = ShapeStyle::from(c).stroke_width(t.width);
            let pts = t
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(j, &v)| (j as f64 * scale, f64::from(v)));
            let anno = chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err)?;
            if !t.name.is_empty() {
                anno.label(t.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT_FAMILY, 12))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// Many signals stacked top to bottom with a constant vertical offset (an interpolation path
/// drawn as a "waterfall"): signal i is drawn at baseline −i·offset.
#[derive(Clone, Debug, PartialEq)]
pub struct StackedSignals {
    /// Caption.
    pub title: String,
    /// Sampling rate for a time axis in seconds; `None`: samples.
    pub fs: Option<f64>,
    /// The signals, first on top.
    pub signals: Vec<Vec<f32>>,
    /// Vertical distance between baselines; `None`: 1.2 × the largest peak-to-peak amplitude.
    pub offset: Option<f64>,
    /// Label of the first and last signal (e.g. "A", "B").
    pub ends: (String, String),
    /// Size in pixels.
    pub size: (u32, u32),
}

impl StackedSignals {
    /// A stack of `signals`, 700 px wide and 30 px per signal (at least 400).
    pub fn new(title: &str, fs: Option<f64>, signals: Vec<Vec<f32>>) -> StackedSignals {
        let h = (signals.len() as u32 * 30).max(400);
        StackedSignals {
            title: title.to_string(),
            fs,
            signals,
            offset: None,
            ends: (String::new(), String::new()),
            size: (700, h),
        }
    }
}

impl Plot for StackedSignals {
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let len = self.signals.iter().map(Vec::len).max().unwrap_or(0);
        anyhow::ensure!(len > 0, "stacked plot '{}' has no samples", self.title);
        let p2p = self
            .signals
            .iter()
            .map(|s| {
                let (lo, hi) = range_of(s.iter().map(|&v| f64::from(v)), 0.0);
                hi - lo
            })
            .fold(0.0, f64::max);
        let offset = self.offset.unwrap_or(1.2 * p2p.max(1e-6));
        let n = self.signals.len();
        let scale = self.fs.map_or(1.0, |fs| 1.0 / fs);
        let all = self
            .signals
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |&v| f64::from(v) - i as f64 * offset));
        let (y0, y1) = range_of(all, 0.03);
        let (_, h) = area.dim_in_pixel();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT_FAMILY, caption_size(h)))
            .margin(8)
            .x_label_area_size(35)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..(len.max(2) - 1) as f64 * scale, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(if self.fs.is_some() {
                "time (s)"
            } else {
                "sample"
            })
            .y_desc("step (offset)")
            .disable_y_mesh()
            .y_label_formatter(&|_| String::new())
            .label_style((FONT_FAMILY, 12))
            .axis_desc_style((FONT_FAMILY, 14))
            .draw()
            .map_err(err)?;
        for (i, s) in self.signals.iter().enumerate() {
            // Colour runs along the path: first signal blue, last vermillion.
            let t = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            };
            let (a, b) = (color(0), color(1));
            let mix = |u: u8, v: u8| (f64::from(u) + t * (f64::from(v) - f64::from(u))) as u8;
            let c = RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
            let pts = s
                .iter()
                .enumerate()
                .map(|(j, &v)| (j as f64 * scale, f64::from(v) - i as f64 * offset));
            chart.draw_series(LineSeries::new(pts, c)).map_err(err)?;
        }
        for (label, i) in [(&self.ends.0, 0usize), (&self.ends.1, n - 1)] {
            if !label.is_empty() {
                let y = -(i as f64) * offset + 0.3 * offset;
                chart
                    .draw_series(std::iter::once(Text::new(
                        label.clone(),
                        (0.0, y),
                        (FONT_FAMILY, 14),
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}
