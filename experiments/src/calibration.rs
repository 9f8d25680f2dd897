//! Calibration and selective prediction: temperature scaling, expected calibration error,
//! reliability bins, and risk–coverage curves.
//!
//! # Temperature scaling (Guo et al. 2017)
//! Probabilities p = softmax(z / T) with one scalar T > 0 fitted on *validation* logits by
//! minimising the negative log-likelihood
//!   NLL(T) = (1/n) Σᵢ [ log Σₖ e^{zᵢₖ/T} − zᵢ,yᵢ/T ].
//! Written in β = 1/T, NLL(β) = mean(LSE(β·zᵢ) − β·zᵢ,yᵢ) is **convex** (log-sum-exp of a
//! linear function of β minus a linear term), so a golden-section search on β finds the global
//! minimum; we search β ∈ [1/100, 100] in log space to 1e-6 relative precision. T never changes
//! the argmax, so accuracy is unchanged — only confidence moves.
//!
//! # ECE and reliability bins
//! Confidence cᵢ = maxₖ pᵢₖ, correctness aᵢ = [argmax pᵢ = yᵢ]. With B equal-width bins
//! (0, 1/B], (1/B, 2/B], … (the first also takes 0):
//!   ECE = Σ_b (n_b / n) · |acc_b − conf_b|,
//! acc_b and conf_b being the mean correctness and mean confidence in bin b. B = 15 as in Guo
//! et al.
//!
//! # Risk–coverage
//! Sort items by a certainty score (descending) and keep the top fraction c (coverage); risk is
//! the error rate among the kept items. Items with equal scores are kept or dropped together
//! (one point per distinct score), so the curve does not depend on an arbitrary tie order.
//! AURC is the mean of the risk over the n prefix sizes (lower is better).

use serde::Serialize;

/// Row-wise softmax of `logits / temperature` (`[n, k]` row-major), max-subtracted, in f64.
///
/// # Errors
/// `logits.len()` not a multiple of k, k = 0, or T ≤ 0.
pub fn softmax_with_temperature(
    logits: &[f32],
    k: usize,
    temperature: f64,
) -> anyhow::Result<Vec<f64>> {
    anyhow::ensure!(
        k >= 1 && logits.len().is_multiple_of(k),
        "softmax: {} logits is not a whole number of rows of {k}",
        logits.len()
    );
    anyhow::ensure!(
        temperature > 0.0,
        "temperature must be > 0, got {temperature}"
    );
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(k) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = row
            .iter()
            .map(|&z| (f64::from(z - m) / temperature).exp())
            .collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    Ok(out)
}

/// Mean negative log-likelihood of `labels` under softmax(logits / T).
///
/// # Errors
/// Shape errors as [`softmax_with_temperature`], a label ≥ k, or a label count ≠ rows.
pub fn nll(logits: &[f32], k: usize, labels: &[usize], temperature: f64) -> anyhow::Result<f64> {
    anyhow::ensure!(
        k >= 1 && logits.len() == labels.len() * k,
        "nll: {} logits for {} labels × {k} classes",
        logits.len(),
        labels.len()
    );
    anyhow::ensure!(
        temperature > 0.0,
        "temperature must be > 0, got {temperature}"
    );
    anyhow::ensure!(!labels.is_empty(), "nll: no items");
    let mut total = 0.0;
    for (row, &y) in logits.chunks(k).zip(labels) {
        anyhow::ensure!(y < k, "nll: label {y} ≥ k = {k}");
        // log-sum-exp with the max subtracted: LSE(z/T) = m/T + ln Σ e^{(z−m)/T}.
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let s: f64 = row
            .iter()
            .map(|&z| (f64::from(z - m) / temperature).exp())
            .sum();
        total += f64::from(m) / temperature + s.ln() - f64::from(row[y]) / temperature;
    }
    Ok(total / labels.len() as f64)
}

/// Fits the temperature T minimising [`nll`] on validation logits (see the module docs).
///
/// # Errors
/// As [`nll`].
pub fn fit_temperature(logits: &[f32], k: usize, labels: &[usize]) -> anyhow::Result<f64> {
    nll(logits, k, labels, 1.0)?; // validates once
    // Golden-section search on u = ln β over [ln 0.01, ln 100]; NLL is convex in β and β ↦ ln β
    // is monotone, so NLL is unimodal in u.
    let f = |u: f64| nll(logits, k, labels, (-u).exp()).unwrap_or(f64::INFINITY);
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (0.01f64.ln(), 100f64.ln());
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-6 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    let beta = ((a + b) / 2.0).exp();
    Ok(1.0 / beta)
}

/// One confidence bin of a reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge (exclusive, except 0 for the first bin).
    pub lo: f64,
    /// Upper edge (inclusive).
    pub hi: f64,
    /// Items in the bin.
    pub count: usize,
    /// Mean confidence of those items (bin centre when empty).
    pub confidence: f64,
    /// Their accuracy (0 when empty).
    pub accuracy: f64,
}

/// Confidence (max probability) and correctness of each row of `probs` (`[n, k]`).
///
/// # Errors
/// `probs.len() != labels.len()·k`.
pub fn confidence_and_correct(
    probs: &[f64],
    k: usize,
    labels: &[usize],
) -> anyhow::Result<(Vec<f64>, Vec<bool>)> {
    anyhow::ensure!(
        k >= 1 && probs.len() == labels.len() * k,
        "{} probabilities for {} labels × {k} classes",
        probs.len(),
        labels.len()
    );
    Ok(probs
        .chunks(k)
        .zip(labels)
        .map(|(row, &y)| {
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            (row[best], best == y)
        })
        .unzip())
}

/// `bins` equal-width reliability bins of (confidence, correct) pairs.
///
/// # Errors
/// bins = 0 or lengths differ.
pub fn reliability_bins(
    confidence: &[f64],
    correct: &[bool],
    bins: usize,
) -> anyhow::Result<Vec<ReliabilityBin>> {
    anyhow::ensure!(bins >= 1, "reliability: need at least one bin");
    anyhow::ensure!(
        confidence.len() == correct.len(),
        "reliability: {} confidences, {} correctness flags",
        confidence.len(),
        correct.len()
    );
    let mut count = vec![0usize; bins];
    let mut conf = vec![0.0f64; bins];
    let mut acc = vec![0.0f64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        // Bin b holds (b/B, (b+1)/B]: ceil(c·B) − 1, with c = 0 in bin 0.
        let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[b] += 1;
        conf[b] += c;
        acc[b] += if ok { 1.0 } else { 0.0 };
    }
    Ok((0..bins)
        .map(|b| {
            let (lo, hi) = (b as f64 / bins as f64, (b + 1) as f64 / bins as f64);
            let n = count[b] as f64;
            ReliabilityBin {
                lo,
                hi,
                count: count[b],
                confidence: if count[b] > 0 {
                    conf[b] / n
                } else {
                    (lo + hi) / 2.0
                },
                accuracy: if count[b] > 0 { acc[b] / n } else { 0.0 },
            }
        })
        .collect())
}

/// Expected calibration error of the bins: Σ (n_b/n)·|acc_b − conf_b|.
pub fn ece_of_bins(bins: &[ReliabilityBin]) -> f64 {
    let n: usize = bins.iter().map(|b| b.count).sum();
    if n == 0 {
        return 0.0;
    }
    bins.iter()
        .map(|b| b.count as f64 / n as f64 * (b.accuracy - b.confidence).abs())
        .sum()
}

/// ECE with 15 bins of probabilities `[n, k]` against labels.
///
/// # Errors
/// As [`confidence_and_correct`].
pub fn ece(probs: &[f64], k: usize, labels: &[usize]) -> anyhow::Result<f64> {
    let (c, ok) = confidence_and_correct(probs, k, labels)?;
    Ok(ece_of_bins(&reliability_bins(&c, &ok, 15)?))
}

/// The risk–coverage curve: (coverage, risk) after each distinct certainty value, most certain
/// first (see the module docs). Higher `certainty` means more confident.
///
/// # Errors
/// Lengths differ, no items, or a NaN certainty.
pub fn risk_coverage(certainty: &[f64], correct: &[bool]) -> anyhow::Result<Vec<(f64, f64)>> {
    let order = certainty_order(certainty, correct)?;
    let n = order.len();
    let mut out = Vec::new();
    let mut errors = 0usize;
    let mut i = 0;
    while i < n {
        let s = certainty[order[i]];
        while i < n && certainty[order[i]] == s {
            errors += usize::from(!correct[order[i]]);
            i += 1;
        }
        out.push((i as f64 / n as f64, errors as f64 / i as f64));
    }
    Ok(out)
}

fn certainty_order(certainty: &[f64], correct: &[bool]) -> anyhow::Result<Vec<usize>> {
    anyhow::ensure!(
        certainty.len() == correct.len() && !certainty.is_empty(),
        "risk–coverage: {} scores, {} correctness flags (need equal, non-zero)",
        certainty.len(),
        correct.len()
    );
    anyhow::ensure!(
        certainty.iter().all(|v| !v.is_nan()),
        "risk–coverage: a score is NaN"
    );
    let mut order: Vec<usize> = (0..certainty.len()).collect();
    order.sort_by(|&a, &b| certainty[b].total_cmp(&certainty[a]));
    Ok(order)
}

/// Area under the risk–coverage curve: mean over m = 1..n of the error rate of the m most
/// certain items (ties in index order).
///
/// # Errors
/// As [`risk_coverage`].
pub fn aurc(certainty: &[f64], correct: &[bool]) -> anyhow::Result<f64> {
    let order = certainty_order(certainty, correct)?;
    let mut errors = 0usize;
    let mut total = 0.0;
    for (m, &i) in order.iter().enumerate() {
        errors += usize::from(!correct[i]);
        total += errors as f64 / (m + 1) as f64;
    }
    Ok(total / order.len() as f64)
}

/// Selective accuracy at a target coverage: keep the ⌈coverage·n⌉ most certain items (ties in
/// index order) and return (their accuracy, the certainty threshold of the last kept item).
///
/// # Errors
/// As [`risk_coverage`], or coverage outside (0, 1].
pub fn accuracy_at_coverage(
    certainty: &[f64],
    correct: &[bool],
    coverage: f64,
) -> anyhow::Result<(f64, f64)> {
    anyhow::ensure!(
        coverage > 0.0 && coverage <= 1.0,
        "coverage must be in (0, 1], got {coverage}"
    );
    let order = certainty_order(certainty, correct)?;
    let m = ((coverage * order.len() as f64).ceil() as usize).clamp(1, order.len());
    let ok = order[..m].iter().filter(|&&i| correct[i]).count();
    Ok((ok as f64 / m as f64, certainty[order[m - 1]]))
}

/// Predictive entropy −Σₖ pₖ ln pₖ of each row (an uncertainty score: higher = less certain).
pub fn entropy_rows(probs: &[f64], k: usize) -> Vec<f64> {
    probs
        .chunks(k.max(1))
        .map(|row| {
            -row.iter()
                .filter(|&&p| p > 0.0)
                .map(|&p| p * p.ln())
                .sum::<f64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_recovers_the_generating_temperature() {
        // Labels drawn from softmax(z/2): the NLL-optimal temperature on many samples is ≈ 2.
        let mut rng = ecgrad_engine::Rng::new(11);
        let (n, k) = (4000, 3);
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let z: Vec<f32> = (0..k).map(|_| (3.0 * rng.normal()) as f32).collect();
            let p = softmax_with_temperature(&z, k, 2.0).unwrap();
            let u = rng.uniform();
            let mut acc = 0.0;
            let mut y = k - 1;
            for (j, &pj) in p.iter().enumerate() {
                acc += pj;
                if u < acc {
                    y = j;
                    break;
                }
            }
            logits.extend(z);
            labels.push(y);
        }
        let t = fit_temperature(&logits, k, &labels).unwrap();
        assert!((t - 2.0).abs() < 0.15, "T = {t}");
        // It is a minimum: the NLL is higher on both sides.
        let at = |t| nll(&logits, k, &labels, t).unwrap();
        assert!(at(t) <= at(t * 1.1) && at(t) <= at(t / 1.1));
    }

    #[test]
    fn nll_hand_example() {
        // One row z = [0, ln 3]: softmax = [1/4, 3/4]; label 1 → NLL = −ln(3/4).
        let z = [0.0f32, 3f32.ln()];
        assert!((nll(&z, 2, &[1], 1.0).unwrap() + (0.75f64).ln()).abs() < 1e-6);
        // T = ∞-like (large): probabilities → ½, NLL → ln 2.
        assert!((nll(&z, 2, &[1], 1e6).unwrap() - 2f64.ln()).abs() < 1e-5);
    }

    #[test]
    fn ece_and_bins_hand_example() {
        // Confidences 0.95 (correct), 0.95 (wrong), 0.25 (correct) with 4 bins:
        // bin (0.75, 1]: conf 0.95, acc 0.5; bin (0, 0.25]: conf 0.25, acc 1.
        // ECE = 2/3·0.45 + 1/3·0.75 = 0.55.
        let bins = reliability_bins(&[0.95, 0.95, 0.25], &[true, false, true], 4).unwrap();
        assert_eq!(
            bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            [1, 0, 0, 2]
        );
        assert!((bins[3].accuracy - 0.5).abs() < 1e-12);
        assert!((ece_of_bins(&bins) - 0.55).abs() < 1e-12);
        // Probabilities → confidence and correctness.
        let (c, ok) = confidence_and_correct(&[0.2, 0.8, 0.6, 0.4], 2, &[1, 1]).unwrap();
        assert_eq!(c, vec![0.8, 0.6]);
        assert_eq!(ok, vec![true, false]);
    }

    #[test]
    fn risk_coverage_hand_example() {
        // Certainties 0.9 ✓, 0.8 ✗, 0.8 ✓, 0.1 ✗: the two 0.8 enter together.
        let cert = [0.9, 0.8, 0.8, 0.1];
        let ok = [true, false, true, false];
        let rc = risk_coverage(&cert, &ok).unwrap();
        assert_eq!(rc, vec![(0.25, 0.0), (0.75, 1.0 / 3.0), (1.0, 0.5)]);
        // Keep ⌈0.5·4⌉ = 2: items 0 and 1 → accuracy ½, threshold 0.8.
        assert_eq!(accuracy_at_coverage(&cert, &ok, 0.5).unwrap(), (0.5, 0.8));
        // AURC = mean(0, ½, ⅓, ½).
        assert!((aurc(&cert, &ok).unwrap() - (0.0 + 0.5 + 1.0 / 3.0 + 0.5) / 4.0).abs() < 1e-12);
        assert!(accuracy_at_coverage(&cert, &ok, 0.0).is_err());
    }

    #[test]
    fn entropy_is_zero_for_certain_and_ln_k_for_uniform() {
        let e = entropy_rows(&[1.0, 0.0, 0.5, 0.5], 2);
        assert!(e[0].abs() < 1e-12 && (e[1] - 2f64.ln()).abs() < 1e-12);
    }
}
