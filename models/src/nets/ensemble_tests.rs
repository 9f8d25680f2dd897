//! Ensemble tests: hand-computed examples for each rule, invariants, and errors.

use super::*;

fn t(rows: &[[f32; 3]]) -> Tensor<f32> {
    Tensor::from_vec(Shape::d2(rows.len(), 3), rows.concat()).unwrap()
}

fn close(a: &Tensor<f32>, b: &[f32]) {
    assert_eq!(a.numel(), b.len());
    for (x, y) in a.data().iter().zip(b) {
        assert!((x - y).abs() < 1e-6, "{:?} vs {b:?}", a.data());
    }
}

/// Three models, two samples, three classes.
fn models() -> Vec<Tensor<f32>> {
    vec![
        t(&[[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]),
        t(&[[0.1, 0.5, 0.4], [0.1, 0.8, 0.1]]),
        t(&[[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]]),
    ]
}

#[test]
fn soft_and_weighted_average_by_hand() {
    let p = models();
    close(
        &soft_average(&p).unwrap(),
        &[0.3, 0.5, 0.2, 0.8 / 3.0, 1.1 / 3.0, 1.1 / 3.0],
    );
    // Weights 2, 1, 1: (2·p₀ + p₁ + p₂) / 4.
    let w = weighted_average(&p, &[2.0, 1.0, 1.0]).unwrap();
    close(&w, &[0.375, 0.45, 0.175, 0.25, 0.325, 0.425]);
    // Equal weights are the soft average, whatever their scale.
    let a = weighted_average(&p, &[0.9, 0.9, 0.9]).unwrap();
    close(&a, soft_average(&p).unwrap().data());
}

#[test]
fn majority_vote_by_hand_with_tie_breaks() {
    let p = models();
    // Sample 0: votes 0, 1, 1 → class 1.
    assert_eq!(majority_vote(&p).unwrap()[0], 1);
    let q = vec![t(&[[0.5, 0.4, 0.1]]), t(&[[0.1, 0.3, 0.6]])];
    // One vote each for 0 and 2; summed 0.6 vs 0.7 → 2.
    assert_eq!(majority_vote(&q).unwrap(), vec![2]);
    let r = vec![t(&[[0.5, 0.5, 0.0]])];
    assert_eq!(
        majority_vote(&r).unwrap(),
        vec![0],
        "exact tie → lower index"
    );
}

#[test]
fn top2_weighted_by_hand() {
    let p = models();
    let scores = [0.9, 0.8, 0.7];
    let y = top2_weighted(&p, &scores).unwrap();
    // Sample 0: model 0 keeps {0: 0.6, 1: 0.3} → {2/3, 1/3}; model 1 keeps {1: 0.5, 2: 0.4} →
    // {5/9, 4/9}; model 2 keeps {1: 0.7, 0: 0.2} → {7/9, 2/9}.
    let s = 2.4;
    let row0 = [
        (0.9 * 2.0 / 3.0 + 0.7 * 2.0 / 9.0) / s,
        (0.9 / 3.0 + 0.8 * 5.0 / 9.0 + 0.7 * 7.0 / 9.0) / s,
        (0.8 * 4.0 / 9.0) / s,
    ];
    // Sample 1: model 0 has a tie 0.2/0.2 for second place → lower index 0: {2: 0.75, 0: 0.25};
    // model 1 keeps {1: 0.8, 0: 0.1} (tie 0.1/0.1 → index 0) → {8/9, 1/9};
    // model 2 keeps {0: 0.5, 2: 0.4} → {5/9, 4/9}.
    let row1 = [
        (0.9 * 0.25 + 0.8 / 9.0 + 0.7 * 5.0 / 9.0) / s,
        (0.8 * 8.0 / 9.0) / s,
        (0.9 * 0.75 + 0.7 * 4.0 / 9.0) / s,
    ];
    let want: Vec<f32> = row0.iter().chain(&row1).map(|&v| v as f32).collect();
    close(&y, &want);
    for i in 0..2 {
        let sum: f32 = y.data()[3 * i..3 * i + 3].iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
    }
}

#[test]
fn top2_with_two_classes_is_the_weighted_average() {
    let two = |v: &[f32]| Tensor::from_vec(Shape::d2(v.len() / 2, 2), v.to_vec()).unwrap();
    let p = vec![two(&[0.3, 0.7, 0.9, 0.1]), two(&[0.6, 0.4, 0.5, 0.5])];
    let a = top2_weighted(&p, &[0.5, 1.5]).unwrap();
    let b = weighted_average(&p, &[0.5, 1.5]).unwrap();
    close(&a, b.data());
}

#[test]
fn best_k_weighted_picks_the_best_models() {
    let p = models();
    let y = best_k_weighted(&p, &[0.5, 0.9, 0.8], 2).unwrap();
    let want = weighted_average(&p[1..], &[0.9, 0.8]).unwrap();
    close(&y, want.data());
    // Ties keep the earlier model.
    let y = best_k_weighted(&p, &[0.7, 0.7, 0.7], 1).unwrap();
    close(&y, p[0].data());
    assert!(best_k_weighted(&p, &[1.0; 3], 0).is_err());
    assert!(best_k_weighted(&p, &[1.0; 3], 4).is_err());
}

#[test]
fn bad_inputs_are_named_errors() {
    let p = models();
    let e = soft_average(&[]).unwrap_err().to_string();
    assert!(e.contains("soft_average"), "{e}");
    let odd = vec![p[0].clone(), Tensor::zeros(Shape::d2(3, 3))];
    let e = soft_average(&odd).unwrap_err().to_string();
    assert!(e.contains("model 1") && e.contains("[3, 3]"), "{e}");
    assert!(
        weighted_average(&p, &[1.0, 1.0]).is_err(),
        "one weight per model"
    );
    assert!(weighted_average(&p, &[1.0, -1.0, 1.0]).is_err());
    assert!(weighted_average(&p, &[0.0, 0.0, 0.0]).is_err());
    assert!(weighted_average(&p, &[f64::NAN, 1.0, 1.0]).is_err());
    let one_class = vec![Tensor::from_vec(Shape::d2(2, 1), vec![1.0, 1.0]).unwrap()];
    assert!(top2_weighted(&one_class, &[1.0]).is_err());
    assert!(
        soft_average(&[Tensor::zeros(Shape::d1(3))]).is_err(),
        "rank 1 refused"
    );
}
