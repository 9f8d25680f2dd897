//! # predictions.csv: every test-set prediction, so anyone can recompute the metrics
//!
//! One row per (protocol, model, test beat):
//! ```text
//! protocol,model,record,sample,true,predicted,p_N,p_S,p_V,p_F,p_Q
//! intra,cnn/ce,208,1234,V,V,0.00012,0.00301,0.99650,0.00037,0.00000
//! ```
//! `record` and `sample` identify the beat in MIT-BIH (the R-peak sample at 360 Hz of the
//! record's annotation; synthetic beats: `syn<k>` and the beat's index); `p_*` are the softmax
//! probabilities (blank for classes the protocol does not have: Q inter-patient); `predicted`
//! is the class of largest probability (lowest index on ties).

use std::fmt::Write as _;

use super::protocol::Part;

/// Class names of every column, in order (the intra-patient set; inter-patient has the first 4).
pub const ALL_CLASSES: [&str; 5] = ["N", "S", "V", "F", "Q"];

/// The header line (without newline).
pub fn header() -> String {
    let mut s = "protocol,model,record,sample,true,predicted".to_string();
    for c in ALL_CLASSES {
        let _ = write!(s, ",p_{c}");
    }
    s
}

/// Index of the largest value (the first on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Appends the rows of one model's test predictions: `probs` is `[n, k]` row-major for the
/// `n` beats of `part`.
///
/// # Errors
/// If `probs` does not hold `n·k` values for the part's `k` classes.
pub fn append_rows(
    out: &mut String,
    protocol: &str,
    model: &str,
    part: &Part,
    probs: &[f32],
) -> anyhow::Result<()> {
    let k = part.data.class_names.len();
    anyhow::ensure!(
        probs.len() == part.len() * k && k <= ALL_CLASSES.len(),
        "predictions of {model}: {} probabilities for {} beats × {k} classes",
        probs.len(),
        part.len()
    );
    for i in 0..part.len() {
        let row = &probs[i * k..(i + 1) * k];
        let _ = write!(
            out,
            "{protocol},{model},{},{},{},{}",
            part.record[i],
            part.sample[i],
            ALL_CLASSES[part.data.labels[i]],
            ALL_CLASSES[argmax(row)]
        );
        for c in 0..ALL_CLASSES.len() {
            match row.get(c) {
                Some(p) => {
                    let _ = write!(out, ",{p:.5}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    Ok(())
}
