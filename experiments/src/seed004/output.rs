//! Small output helpers of the seed-004 experiments: a string table (CSV/Markdown text, and
//! conversion to the crate's [`crate::table::Table`] for `Run::table`), number formatting, and
//! progress bars that fall back to log lines in background runs.

use anyhow::Result;
use serde::Serialize;

/// A table of strings with a header; numbers are formatted by the caller.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each as long as the header).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The CSV text (cells with commas or quotes are quoted).
    pub fn csv(&self) -> String {
        let cell = |c: &String| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        };
        let mut s = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            s.push_str(&r.iter().map(cell).collect::<Vec<_>>().join(","));
            s.push('\n');
        }
        s
    }

    /// The Markdown text.
    pub fn markdown(&self) -> String {
        let line = |r: &Vec<String>| format!("| {} |\n", r.join(" | ").replace('\n', " "));
        let mut s = line(&self.header);
        s.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            s.push_str(&line(r));
        }
        s
    }

    /// The crate's [`crate::table::Table`] with this title (text cells), for `Run::table`.
    ///
    /// # Errors
    /// A row whose length differs from the header's.
    pub fn titled(&self, title: &str) -> Result<crate::table::Table> {
        let cols: Vec<&str> = self.header.iter().map(String::as_str).collect();
        let mut t = crate::table::Table::new(title, &cols);
        for r in &self.rows {
            t.push(
                r.iter()
                    .map(|c| crate::table::Cell::text(c.clone()))
                    .collect(),
            )?;
        }
        Ok(t)
    }
}

/// `{:.3e}`-style number for tables.
pub fn sci(v: f64) -> String {
    format!("{v:.4e}")
}

/// A progress bar over `total` items (epochs, fits) labelled `what`; hidden when stderr is
/// not a terminal (then [`log_line`] prints plain lines instead).
pub fn bar(total: usize, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
    ) {
        pb.set_style(style);
    }
    pb.set_prefix(what.to_string());
    pb
}

/// Sets the bar's message, or prints it when the bar is hidden (logs of background runs).
pub fn log_line(pb: &indicatif::ProgressBar, msg: String) {
    if pb.is_hidden() {
        println!("  {msg}");
    }
    pb.set_message(msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_markdown() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["1".into(), "x,y".into()]);
        assert_eq!(t.csv(), "a,b\n1,\"x,y\"\n");
        assert_eq!(t.markdown(), "| a | b |\n|---|---|\n| 1 | x,y |\n");
    }
}
