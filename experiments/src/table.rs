//! Result tables, written as CSV (for machines) and Markdown (for the report), atomically.
//!
//! A [`Table`] has a title, column names, rows of [`Cell`]s and notes. Numbers carry their
//! number of decimals; a value with a bootstrap interval prints as `0.958 [0.951, 0.964]` in
//! both files (quoted in the CSV because of the comma); NaN prints as `—`.
//!
//! ```
//! use ecgrad_experiments::table::{Cell, Table};
//! use ecgrad_experiments::metrics::Ci;
//! let mut t = Table::new("Models, intra-patient", &["model", "accuracy", "macro F1", "beats"]);
//! t.push(vec![
//!     Cell::text("CNN-LSTM"),
//!     Cell::ci(Ci { estimate: 0.982, low: 0.979, high: 0.985, valid: 1000 }, 3),
//!     Cell::num(0.9123, 3),
//!     Cell::int(21_892),
//! ])?;
//! assert!(t.to_markdown().contains("| CNN-LSTM | 0.982 [0.979, 0.985] | 0.912 | 21892 |"));
//! assert!(t.to_csv().contains("CNN-LSTM,\"0.982 [0.979, 0.985]\",0.912,21892"));
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::metrics::Ci;
use crate::report::write_atomic;

/// One table cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Cell {
    /// Text as is.
    Text(String),
    /// An integer.
    Int(i64),
    /// A number with this many decimals.
    Num(f64, usize),
    /// A number with its interval, this many decimals.
    Ci(Ci, usize),
    /// Nothing.
    Empty,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    /// A number printed with `decimals` decimals.
    pub fn num(v: f64, decimals: usize) -> Cell {
        Cell::Num(v, decimals)
    }
    /// An integer (counts, sizes).
    pub fn int(v: impl TryInto<i64>) -> Cell {
        v.try_into().map_or(Cell::Empty, Cell::Int)
    }
    /// A value with its 95 % interval.
    pub fn ci(ci: Ci, decimals: usize) -> Cell {
        Cell::Ci(ci, decimals)
    }
    /// The cell as printed.
    pub fn render(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::Num(v, d) => fmt_num(*v, *d),
            Cell::Ci(c, d) => {
                if c.valid == 0 {
                    fmt_num(c.estimate, *d)
                } else {
                    format!(
                        "{} [{}, {}]",
                        fmt_num(c.estimate, *d),
                        fmt_num(c.low, *d),
                        fmt_num(c.high, *d)
                    )
                }
            }
            Cell::Empty => String::new(),
        }
    }
    fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num(..) | Cell::Ci(..))
    }
}

fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "—".into()
    } else {
        format!("{v:.decimals$}")
    }
}

/// A titled table with notes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Title (the Markdown heading line; not in the CSV).
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Notes printed under the Markdown table (protocol, what the paper reports, caveats).
    pub notes: Vec<String>,
}

/// The two files of a saved table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableFiles {
    /// The CSV.
    pub csv: PathBuf,
    /// The Markdown.
    pub md: PathBuf,
}

impl Table {
    /// An empty table.
    pub fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Errors
    /// If the row does not have one cell per column.
    pub fn push(&mut self, row: Vec<Cell>) -> anyhow::Result<()> {
        anyhow::ensure!(
            row.len() == self.columns.len(),
            "table '{}': a row of {} cells for {} columns",
            self.title,
            row.len(),
            self.columns.len()
        );
        self.rows.push(row);
        Ok(())
    }

    /// Adds a note.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// RFC 4180 CSV: a header line, then one line per row; fields with commas, quotes or line
    /// breaks are quoted (quotes doubled).
    pub fn to_csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| field(&c.render())).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// A GitHub-flavoured Markdown table under a bold title, numeric columns right-aligned,
    /// notes as a list below. `|` inside cells is escaped.
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&format!("**{}**\n\n", esc(&self.title)));
        }
        let cols: Vec<String> = self.columns.iter().map(|c| esc(c)).collect();
        out.push_str(&format!("| {} |\n", cols.join(" | ")));
        let align: Vec<&str> = (0..self.columns.len())
            .map(|j| {
                let numeric = !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| r[j].is_numeric() || r[j] == Cell::Empty);
                if numeric { "---:" } else { "---" }
            })
            .collect();
        out.push_str(&format!("|{}|\n", align.join("|")));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| esc(&c.render())).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(&format!("- {n}\n"));
            }
        }
        out
    }

    /// Writes `<dir>/<stem>.csv` and `<dir>/<stem>.md` atomically.
    ///
    /// # Errors
    /// Write errors naming the path.
    pub fn save(&self, dir: &Path, stem: &str) -> anyhow::Result<TableFiles> {
        let csv = dir.join(format!("{stem}.csv"));
        let md = dir.join(format!("{stem}.md"));
        write_atomic(&csv, self.to_csv().as_bytes())?;
        write_atomic(&md, self.to_markdown().as_bytes())?;
        Ok(TableFiles { csv, md })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_markdown_aligns() {
        let mut t = Table::new("T", &["name", "value"]);
        t.push(vec![Cell::text("a, \"b\""), Cell::num(f64::NAN, 2)])
            .unwrap();
        t.push(vec![Cell::text("x|y"), Cell::num(1.23456, 2)])
            .unwrap();
        t.note("n1");
        assert_eq!(t.to_csv(), "name,value\n\"a, \"\"b\"\"\",—\nx|y,1.23\n");
        let md = t.to_markdown();
        assert!(
            md.starts_with("**T**\n\n| name | value |\n|---|---:|\n"),
            "{md}"
        );
        assert!(
            md.contains("| x\\|y | 1.23 |") && md.contains("- n1"),
            "{md}"
        );
        assert!(t.push(vec![Cell::Empty]).is_err());
        // An interval-less Ci prints as its estimate.
        assert_eq!(Cell::ci(Ci::point(0.5), 2).render(), "0.50");
        assert_eq!(Cell::int(7u64).render(), "7");
    }

    #[test]
    fn save_writes_both_files() {
        let dir = std::env::temp_dir().join(format!("ecgrad-table-{}", std::process::id()));
        let mut t = Table::new("", &["k"]);
        t.push(vec![Cell::int(3)]).unwrap();
        let f = t.save(&dir, "t").unwrap();
        assert_eq!(std::fs::read_to_string(&f.csv).unwrap(), "k\n3\n");
        assert!(std::fs::read_to_string(&f.md).unwrap().contains("| 3 |"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
