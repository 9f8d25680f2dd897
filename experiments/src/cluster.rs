//! Unsupervised tools: K-means (k-means++ seeding), DBSCAN, the adjusted Rand index and
//! normalised mutual information, and PCA by Jacobi eigen-decomposition of the covariance.
//!
//! Points are `n` rows of `d` f64 features, row-major (`points[i·d + j]`); distances are
//! Euclidean.
//!
//! - **K-means** (Lloyd): assign each point to its nearest centre, move each centre to the mean
//!   of its points, repeat until no assignment changes. Seeding by k-means++ (Arthur &
//!   Vassilvitskii 2007): the first centre uniformly, each next one with probability ∝ D(x)²,
//!   the squared distance to the nearest chosen centre. `n_init` seeded restarts, keeping the
//!   lowest inertia Σᵢ‖xᵢ − c_{a(i)}‖². Cost O(n·k·d) per iteration.
//! - **DBSCAN** (Ester et al. 1996): a point with at least `min_samples` points (itself
//!   included, as scikit-learn) within `eps` is a core point; clusters are the connected
//!   components of core points plus the border points they reach; the rest is noise. Cost
//!   O(n²·d) (brute-force neighbourhoods).
//! - **ARI** = (Σᵢⱼ C(nᵢⱼ,2) − E) / (½(Σᵢ C(aᵢ,2) + Σⱼ C(bⱼ,2)) − E), with
//!   E = Σᵢ C(aᵢ,2)·Σⱼ C(bⱼ,2) / C(n,2), over the contingency table nᵢⱼ (Hubert & Arabie).
//! - **NMI** = I(U; V) / ((H(U) + H(V)) / 2) (natural logs; scikit-learn's default
//!   "arithmetic" normalisation); 1 when both labelings are a single cluster.
//! - **PCA**: the covariance Σ = XᵀX/(n−1) of the centred data, diagonalised by cyclic Jacobi
//!   rotations (each rotation zeroes one off-diagonal pair; sweeps until the off-diagonal mass
//!   is < 1e-12 of the total). Components are sorted by variance and signed so that their
//!   largest-magnitude entry is positive (deterministic). Cost O(n·d²) + O(d³) per sweep.

use ecgrad_engine::Rng;
use serde::Serialize;

fn check_points(op: &str, points: &[f64], d: usize) -> anyhow::Result<usize> {
    anyhow::ensure!(
        d >= 1 && !points.is_empty() && points.len().is_multiple_of(d),
        "{op}: {} values are not a whole number of rows of {d} features",
        points.len()
    );
    anyhow::ensure!(
        points.iter().all(|v| v.is_finite()),
        "{op}: a feature is NaN or infinite"
    );
    Ok(points.len() / d)
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The result of [`kmeans`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KMeans {
    /// k centres, row-major `[k, d]`.
    pub centres: Vec<f64>,
    /// Cluster of each point.
    pub labels: Vec<usize>,
    /// Σ squared distance of each point to its centre.
    pub inertia: f64,
    /// Lloyd iterations of the kept restart.
    pub iterations: usize,
}

/// K-means with k-means++ seeding and `n_init` restarts from the RNG stream `"kmeans"` of
/// `seed` (see the module docs).
///
/// # Errors
/// Bad shapes, non-finite features, k = 0 or k > n.
pub fn kmeans(
    points: &[f64],
    d: usize,
    k: usize,
    n_init: usize,
    seed: u64,
) -> anyhow::Result<KMeans> {
    let n = check_points("kmeans", points, d)?;
    anyhow::ensure!(k >= 1 && k <= n, "kmeans: k = {k} with {n} points");
    let mut rng = Rng::stream(seed, "kmeans");
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let mut best: Option<KMeans> = None;
    for _ in 0..n_init.max(1) {
        // k-means++ seeding.
        let mut centres: Vec<f64> = row(rng.below(n)).to_vec();
        let mut nearest: Vec<f64> = (0..n).map(|i| dist2(row(i), &centres[..d])).collect();
        while centres.len() < k * d {
            let total: f64 = nearest.iter().sum();
            let next = if total <= 0.0 {
                rng.below(n) // all points coincide with centres
            } else {
                let mut u = rng.uniform() * total;
                let mut pick = n - 1;
                for (i, &w) in nearest.iter().enumerate() {
                    if u < w {
                        pick = i;
                        break;
                    }
                    u -= w;
                }
                pick
            };
            let c = row(next).to_vec();
            for (i, m) in nearest.iter_mut().enumerate() {
                *m = m.min(dist2(row(i), &c));
            }
            centres.extend(c);
        }
        // Lloyd iterations.
        let mut labels = vec![usize::MAX; n];
        let mut iterations = 0;
        loop {
            iterations += 1;
            let mut changed = false;
            for i in 0..n {
                let mut best_c = 0;
                let mut best_d = f64::INFINITY;
                for c in 0..k {
                    let dd = dist2(row(i), &centres[c * d..(c + 1) * d]);
                    if dd < best_d {
                        best_d = dd;
                        best_c = c;
                    }
                }
                if labels[i] != best_c {
                    labels[i] = best_c;
                    changed = true;
                }
            }
            if !changed || iterations >= 300 {
                break;
            }
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0usize; k];
            for i in 0..n {
                counts[labels[i]] += 1;
                for j in 0..d {
                    sums[labels[i] * d + j] += points[i * d + j];
                }
            }
            for c in 0..k {
                if counts[c] == 0 {
                    // An empty cluster takes the point farthest from its centre.
                    let far = (0..n)
                        .max_by(|&a, &b| {
                            let da = dist2(row(a), &centres[labels[a] * d..(labels[a] + 1) * d]);
                            let db = dist2(row(b), &centres[labels[b] * d..(labels[b] + 1) * d]);
                            da.total_cmp(&db)
                        })
                        .expect("invariant: n ≥ 1");
                    centres[c * d..(c + 1) * d].copy_from_slice(row(far));
                } else {
                    for j in 0..d {
                        centres[c * d + j] = sums[c * d + j] / counts[c] as f64;
                    }
                }
            }
        }
        let inertia = (0..n)
            .map(|i| dist2(row(i), &centres[labels[i] * d..(labels[i] + 1) * d]))
            .sum();
        if best.as_ref().is_none_or(|b| inertia < b.inertia) {
            best = Some(KMeans {
                centres,
                labels,
                inertia,
                iterations,
            });
        }
    }
    Ok(best.expect("invariant: at least one restart"))
}

/// DBSCAN labels: `Some(cluster)` or `None` for noise (see the module docs).
///
/// # Errors
/// Bad shapes, non-finite features, eps ≤ 0 or min_samples = 0.
pub fn dbscan(
    points: &[f64],
    d: usize,
    eps: f64,
    min_samples: usize,
) -> anyhow::Result<Vec<Option<usize>>> {
    let n = check_points("dbscan", points, d)?;
    anyhow::ensure!(
        eps > 0.0 && min_samples >= 1,
        "dbscan: eps {eps}, min_samples {min_samples}"
    );
    let eps2 = eps * eps;
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let neighbours =
        |i: usize| -> Vec<usize> { (0..n).filter(|&j| dist2(row(i), row(j)) <= eps2).collect() };
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let mut visited = vec![false; n];
    let mut next = 0;
    for i in 0..n {
        if visited[i] {
            continue;
        }
        visited[i] = true;
        let nb = neighbours(i);
        if nb.len() < min_samples {
            continue; // noise unless a core point reaches it later
        }
        let c = next;
        next += 1;
        labels[i] = Some(c);
        let mut queue = nb;
        while let Some(j) = queue.pop() {
            if labels[j].is_none() {
                labels[j] = Some(c);
            }
            if visited[j] {
                continue;
            }
            visited[j] = true;
            let nbj = neighbours(j);
            if nbj.len() >= min_samples {
                queue.extend(
                    nbj.into_iter()
                        .filter(|&m| labels[m].is_none() || !visited[m]),
                );
            }
        }
    }
    Ok(labels)
}

/// Noise (`None`) as one extra label after the clusters, for [`ari`]/[`nmi`] (scikit-learn
/// treats DBSCAN's −1 the same way).
pub fn noise_as_label(labels: &[Option<usize>]) -> Vec<usize> {
    let k = labels.iter().flatten().max().map_or(0, |m| m + 1);
    labels.iter().map(|l| l.unwrap_or(k)).collect()
}

/// Contingency counts of two labelings: (table nᵢⱼ, row sums aᵢ, column sums bⱼ).
type Contingency = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>);

fn contingency(u: &[usize], v: &[usize]) -> anyhow::Result<Contingency> {
    anyhow::ensure!(
        u.len() == v.len() && !u.is_empty(),
        "labelings of {} and {} items (need equal, non-zero)",
        u.len(),
        v.len()
    );
    let ku = u.iter().max().map_or(0, |m| m + 1);
    let kv = v.iter().max().map_or(0, |m| m + 1);
    let mut t = vec![vec![0.0; kv]; ku];
    for (&a, &b) in u.iter().zip(v) {
        t[a][b] += 1.0;
    }
    let a: Vec<f64> = t.iter().map(|r| r.iter().sum()).collect();
    let b: Vec<f64> = (0..kv).map(|j| t.iter().map(|r| r[j]).sum()).collect();
    Ok((t, a, b))
}

/// Adjusted Rand index of two labelings (1 identical up to renaming, ≈ 0 random).
///
/// # Errors
/// Lengths differ or are 0.
pub fn ari(u: &[usize], v: &[usize]) -> anyhow::Result<f64> {
    let (t, a, b) = contingency(u, v)?;
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let index: f64 = t.iter().flatten().map(|&x| c2(x)).sum();
    let sa: f64 = a.iter().map(|&x| c2(x)).sum();
    let sb: f64 = b.iter().map(|&x| c2(x)).sum();
    let expected = sa * sb / c2(u.len() as f64).max(1.0);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < 1e-15 {
        return Ok(1.0); // both labelings trivial (scikit-learn's convention)
    }
    Ok((index - expected) / (max - expected))
}

/// Normalised mutual information (arithmetic mean of the entropies).
///
/// # Errors
/// Lengths differ or are 0.
pub fn nmi(u: &[usize], v: &[usize]) -> anyhow::Result<f64> {
    let (t, a, b) = contingency(u, v)?;
    let n = u.len() as f64;
    let h = |s: &[f64]| {
        -s.iter()
            .filter(|&&x| x > 0.0)
            .map(|&x| x / n * (x / n).ln())
            .sum::<f64>()
    };
    let (hu, hv) = (h(&a), h(&b));
    if hu == 0.0 && hv == 0.0 {
        return Ok(1.0);
    }
    let mut mi = 0.0;
    for (i, r) in t.iter().enumerate() {
        for (j, &x) in r.iter().enumerate() {
            if x > 0.0 {
                mi += x / n * (n * x / (a[i] * b[j])).ln();
            }
        }
    }
    Ok(mi / ((hu + hv) / 2.0))
}

/// A fitted PCA.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pca {
    /// Feature means, length d.
    pub mean: Vec<f64>,
    /// Components (unit vectors), row-major `[m, d]`, by decreasing variance.
    pub components: Vec<f64>,
    /// Variance along each component (eigenvalues of the covariance).
    pub variance: Vec<f64>,
    /// Each component's share of the total variance.
    pub explained_ratio: Vec<f64>,
    /// Features per point.
    pub d: usize,
}

/// Eigen-decomposition of a symmetric d×d matrix by cyclic Jacobi rotations: (eigenvalues,
/// eigenvectors as the columns of a row-major d×d matrix), unsorted.
pub fn jacobi_eigen(matrix: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum::<f64>().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|p| (0..d).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p * d + q] * a[p * d + q])
            .sum();
        if off <= 1e-24 * total {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // Rotation angle θ with tan 2θ = 2a_pq / (a_qq − a_pp), via the stable
                // t = sgn(τ)/(|τ| + √(1 + τ²)), τ = (a_qq − a_pp)/(2a_pq).
                let tau = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                // A ← Jᵀ A J on rows/columns p and q; V ← V J.
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// Fits a PCA keeping `m` components (see the module docs).
///
/// # Errors
/// Bad shapes, non-finite features, fewer than 2 points, m = 0 or m > d.
pub fn pca(points: &[f64], d: usize, m: usize) -> anyhow::Result<Pca> {
    let n = check_points("pca", points, d)?;
    anyhow::ensure!(n >= 2, "pca: need at least 2 points, got {n}");
    anyhow::ensure!(m >= 1 && m <= d, "pca: {m} components of {d} features");
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| points[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![0.0; d * d];
    for i in 0..n {
        let x: Vec<f64> = (0..d).map(|j| points[i * d + j] - mean[j]).collect();
        for p in 0..d {
            for q in p..d {
                cov[p * d + q] += x[p] * x[q];
            }
        }
    }
    for p in 0..d {
        for q in p..d {
            cov[p * d + q] /= (n - 1) as f64;
            cov[q * d + p] = cov[p * d + q];
        }
    }
    let (values, vectors) = jacobi_eigen(&cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum::<f64>().max(1e-300);
    let mut components = Vec::with_capacity(m * d);
    for &c in order.iter().take(m) {
        let mut col: Vec<f64> = (0..d).map(|k| vectors[k * d + c]).collect();
        let big = col
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(1.0);
        if big < 0.0 {
            col.iter_mut().for_each(|x| *x = -*x);
        }
        components.extend(col);
    }
    let variance: Vec<f64> = order.iter().take(m).map(|&c| values[c].max(0.0)).collect();
    Ok(Pca {
        explained_ratio: variance.iter().map(|v| v / total).collect(),
        mean,
        components,
        variance,
        d,
    })
}

impl Pca {
    /// Projects points `[n, d]` onto the components: `[n, m]` row-major.
    ///
    /// # Errors
    /// Points of another dimension.
    pub fn transform(&self, points: &[f64]) -> anyhow::Result<Vec<f64>> {
        let n = check_points("pca transform", points, self.d)?;
        let m = self.variance.len();
        let mut out = Vec::with_capacity(n * m);
        for i in 0..n {
            for c in 0..m {
                out.push(
                    (0..self.d)
                        .map(|j| {
                            (points[i * self.d + j] - self.mean[j])
                                * self.components[c * self.d + j]
                        })
                        .sum(),
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight blobs in 2-D around (0,0), (10,0), (0,10), 20 points each.
    fn blobs() -> (Vec<f64>, Vec<usize>) {
        let mut rng = Rng::new(5);
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        let mut p = Vec::new();
        let mut y = Vec::new();
        for (c, &(cx, cy)) in centres.iter().enumerate() {
            for _ in 0..20 {
                p.push(cx + 0.5 * rng.normal());
                p.push(cy + 0.5 * rng.normal());
                y.push(c);
            }
        }
        (p, y)
    }

    #[test]
    fn kmeans_finds_separated_blobs_and_is_seeded() {
        let (p, y) = blobs();
        let km = kmeans(&p, 2, 3, 4, 1).unwrap();
        assert!((ari(&y, &km.labels).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(kmeans(&p, 2, 3, 4, 1).unwrap(), km);
        assert!(kmeans(&p, 2, 0, 1, 1).is_err());
    }

    #[test]
    fn dbscan_separates_blobs_and_flags_an_outlier() {
        let (mut p, mut y) = blobs();
        p.extend([50.0, 50.0]);
        y.push(3);
        let l = dbscan(&p, 2, 2.0, 4).unwrap();
        assert_eq!(l[60], None);
        assert!(l[..60].iter().all(Option::is_some));
        assert!((ari(&y, &noise_as_label(&l)).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ari_and_nmi_hand_examples() {
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 4/7;
        // normalized_mutual_info_score(...) = 0.8 (MI = ln 2, H(U) = ln 2, H(V) = 1.5 ln 2).
        let (u, v) = ([0, 0, 1, 1], [0, 0, 1, 2]);
        assert!((ari(&u, &v).unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert!((nmi(&u, &v).unwrap() - 0.8).abs() < 1e-12);
        // Renaming does not matter; independent labelings score ≤ 0 ARI here.
        assert!((ari(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap() + 0.5).abs() < 1e-12);
        assert!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap().abs() < 1e-12);
    }

    #[test]
    fn jacobi_hand_example_and_pca_on_a_line() {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1,1)/√2) and 1.
        let (mut vals, _) = jacobi_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-12 && (vals[1] - 3.0).abs() < 1e-12);
        // Points along y = 2x with a little orthogonal noise.
        let mut rng = Rng::new(2);
        let mut p = Vec::new();
        for _ in 0..200 {
            let t = rng.normal();
            let e = 0.01 * rng.normal();
            p.push(t - 2.0 * e);
            p.push(2.0 * t + e);
        }
        let fit = pca(&p, 2, 2).unwrap();
        let s5 = 5f64.sqrt();
        assert!(
            (fit.components[0] - 1.0 / s5).abs() < 1e-3,
            "{:?}",
            fit.components
        );
        assert!((fit.components[1] - 2.0 / s5).abs() < 1e-3);
        assert!(fit.explained_ratio[0] > 0.999);
        let z = fit.transform(&p).unwrap();
        assert_eq!(z.len(), 400);
        // Projections onto the second component are tiny.
        assert!(z.iter().skip(1).step_by(2).all(|v| v.abs() < 0.1));
    }
}
