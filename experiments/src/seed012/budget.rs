//! Label budgets: which few examples (or records) get a label in a semi-supervised or
//! few-shot experiment.
//!
//! A budget of fraction f keeps, in every class c with n_c members, max(1, round(f·n_c))
//! of them (never more than n_c): stratified, so rare classes are not lost at 1 %. Members
//! are chosen in the order of one seeded shuffle per class (`Rng::stream(seed,
//! "label_budget/<c>")`), so budgets of the same seed are **nested**: the 1 % set lies inside
//! the 10 % set, which lies inside 100 %. Comparing budgets then measures the labels added,
//! not a different draw. Cost: O(n) plus one shuffle per class.

use ecgrad_engine::{Error, Rng};

/// Indices (sorted) of a stratified, seeded, nested label budget: fraction `fraction` of each
/// class of `labels` (see the module docs).
///
/// # Errors
/// [`Error::InvalidParam`] unless 0 < fraction ≤ 1.
pub fn stratified_fraction(
    labels: &[usize],
    fraction: f64,
    seed: u64,
) -> Result<Vec<usize>, Error> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::InvalidParam {
            op: "stratified_fraction",
            name: "fraction",
            value: fraction.to_string(),
            why: "must be in (0, 1]".into(),
        });
    }
    Ok(pick(labels, seed, |n_c| {
        ((fraction * n_c as f64).round() as usize).clamp(1, n_c)
    }))
}

/// Indices (sorted) of `per_class` members of every class (all of a class that has fewer),
/// chosen as in [`stratified_fraction`]; nested in `per_class` for a fixed seed.
pub fn stratified_count(labels: &[usize], per_class: usize, seed: u64) -> Vec<usize> {
    pick(labels, seed, |n_c| per_class.min(n_c))
}

fn pick(labels: &[usize], seed: u64, take: impl Fn(usize) -> usize) -> Vec<usize> {
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut out = Vec::new();
    for c in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        if members.is_empty() {
            continue;
        }
        let mut rng = Rng::stream(seed, &format!("label_budget/{c}"));
        rng.shuffle(&mut members);
        out.extend_from_slice(&members[..take(members.len())]);
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<usize> {
        // 900 of class 0, 90 of class 1, 10 of class 2, none of class 3, 5 of class 4.
        let mut y = vec![0; 900];
        y.extend(vec![1; 90]);
        y.extend(vec![2; 10]);
        y.extend(vec![4; 5]);
        let mut rng = Rng::new(3);
        rng.shuffle(&mut y);
        y
    }

    fn counts(y: &[usize], idx: &[usize]) -> Vec<usize> {
        let mut c = vec![0; 5];
        for &i in idx {
            c[y[i]] += 1;
        }
        c
    }

    #[test]
    fn fractions_are_stratified_with_at_least_one_per_class() {
        let y = labels();
        let one = stratified_fraction(&y, 0.01, 7).unwrap();
        assert_eq!(counts(&y, &one), [9, 1, 1, 0, 1]);
        let ten = stratified_fraction(&y, 0.1, 7).unwrap();
        assert_eq!(counts(&y, &ten), [90, 9, 1, 0, 1]);
        let all = stratified_fraction(&y, 1.0, 7).unwrap();
        assert_eq!(all, (0..y.len()).collect::<Vec<_>>());
        assert!(stratified_fraction(&y, 0.0, 7).is_err());
        assert!(stratified_fraction(&y, 1.5, 7).is_err());
    }

    #[test]
    fn budgets_are_seeded_and_nested() {
        let y = labels();
        let a = stratified_fraction(&y, 0.1, 7).unwrap();
        assert_eq!(a, stratified_fraction(&y, 0.1, 7).unwrap());
        assert_ne!(a, stratified_fraction(&y, 0.1, 8).unwrap());
        let small = stratified_fraction(&y, 0.01, 7).unwrap();
        assert!(small.iter().all(|i| a.contains(i)));
        let two = stratified_count(&y, 2, 7);
        let five = stratified_count(&y, 5, 7);
        assert_eq!(counts(&y, &two), [2, 2, 2, 0, 2]);
        assert!(two.iter().all(|i| five.contains(i)));
        assert_eq!(counts(&y, &stratified_count(&y, 50, 7)), [50, 50, 10, 0, 5]);
    }
}
