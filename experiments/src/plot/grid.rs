//! Several plots in one figure: a grid of panels filled row by row, with an optional overall
//! title (e.g. clean/noisy/denoised overlays at −10, 0, +10 dB × noise type).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    BoxPlot, ConfusionPlot, FONT_FAMILY, HeatMap, LinePlot, Plot, ReliabilityPlot, ScatterPlot,
    SignalPlot, StackedSignals, err,
};

/// Any one plot, for use in a [`Grid`].
#[derive(Clone, Debug, PartialEq)]
pub enum Panel {
    /// Curves.
    Line(LinePlot),
    /// A signal overlay.
    Signal(SignalPlot),
    /// Stacked signals.
    Stacked(StackedSignals),
    /// A heat map.
    Heat(HeatMap),
    /// A confusion matrix.
    Confusion(ConfusionPlot),
    /// Box plots.
    Box(BoxPlot),
    /// A scatter plot.
    Scatter(ScatterPlot),
    /// A reliability diagram.
    Reliability(ReliabilityPlot),
    /// Nothing (a blank cell).
    Empty,
}

impl Plot for Panel {
    fn size(&self) -> (u32, u32) {
        match self {
            Panel::Line(p) => p.size(),
            Panel::Signal(p) => p.size(),
            Panel::Stacked(p) => p.size(),
            Panel::Heat(p) => p.size(),
            Panel::Confusion(p) => p.size(),
            Panel::Box(p) => p.size(),
            Panel::Scatter(p) => p.size(),
            Panel::Reliability(p) => p.size(),
            Panel::Empty => (400, 300),
        }
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        match self {
            Panel::Line(p) => p.draw(area),
            Panel::Signal(p) => p.draw(area),
            Panel::Stacked(p) => p.draw(area),
            Panel::Heat(p) => p.draw(area),
            Panel::Confusion(p) => p.draw(area),
            Panel::Box(p) => p.draw(area),
            Panel::Scatter(p) => p.draw(area),
            Panel::Reliability(p) => p.draw(area),
            Panel::Empty => Ok(()),
        }
    }
}

/// Panels in `cols` columns, each `panel_size` pixels, under an optional title.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Overall title (empty: none).
    pub title: String,
    /// Columns.
    pub cols: usize,
    /// Pixel size of one panel.
    pub panel_size: (u32, u32),
    /// The panels, row by row.
    pub panels: Vec<Panel>,
}

impl Grid {
    /// A grid of `cols` columns with panels of `panel_size`.
    pub fn new(title: &str, cols: usize, panel_size: (u32, u32)) -> Grid {
        Grid {
            title: title.to_string(),
            cols: cols.max(1),
            panel_size,
            panels: Vec::new(),
        }
    }
    /// Adds a panel.
    pub fn with(mut self, p: Panel) -> Grid {
        self.panels.push(p);
        self
    }
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.cols).max(1)
    }
    fn title_height(&self) -> u32 {
        if self.title.is_empty() { 0 } else { 40 }
    }
}

impl Plot for Grid {
    fn size(&self) -> (u32, u32) {
        let cols = self.cols.min(self.panels.len().max(1)) as u32;
        (
            self.panel_size.0 * cols,
            self.panel_size.1 * self.rows() as u32 + self.title_height(),
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.panels.is_empty(),
            "grid '{}' has no panels",
            self.title
        );
        let body = if self.title.is_empty() {
            area.clone()
        } else {
            area.titled(&self.title, (FONT_FAMILY, 24)).map_err(err)?
        };
        let cols = self.cols.min(self.panels.len());
        let cells = body.split_evenly((self.rows(), cols));
        for (p, cell) in self.panels.iter().zip(cells.iter()) {
            p.draw(cell)?;
        }
        Ok(())
    }
}
