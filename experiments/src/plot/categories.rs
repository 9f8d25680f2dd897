//! A categorical axis: n named categories, category i spanning [i, i + 1) with its tick and
//! label at the centre i + ½. (plotters' own segmented axis cannot hold fractional positions,
//! which box widths and two-line cell labels need.)

use std::ops::Range;

use plotters::coord::ranged1d::{
    KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter,
};

/// The axis: values are f64 in [0, n].
#[derive(Clone, Debug)]
pub(crate) struct Categories {
    pub(crate) names: Vec<String>,
}

impl Ranged for Categories {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let n = self.names.len().max(1) as f64;
        limit.0 + ((limit.1 - limit.0) as f64 * value / n).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Ticks only for the bold (labelled) pass: one per category, thinned if crowded.
        if matches!(hint.weight(), KeyPointWeight::Any) && hint.max_num_points() == 0 {
            return Vec::new();
        }
        let n = self.names.len();
        let step = n.div_ceil(hint.max_num_points().max(1)).max(1);
        (0..n).step_by(step).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.names.len() as f64
    }
}

impl ValueFormatter<f64> for Categories {
    fn format_ext(&self, value: &f64) -> String {
        self.names
            .get(value.floor().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
    }
}
