//! Tests of the tape mechanics: recording, pruning, freeing order, keep, detach, dump, errors.

use std::sync::{Arc, Mutex};

use ecgrad_engine::{Shape, Tensor};

use super::*;
use crate::ops::{add, mul, relu, scale, sum};
use crate::param::ParamStore;

fn t1(v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(Shape::d1(v.len()), v.to_vec()).unwrap()
}

/// A probe op y = x that logs when its rule runs, which `needs` it got, and when it is dropped.
struct Probe {
    tag: usize,
    log: Arc<Mutex<Vec<String>>>,
}
impl Backward<f64> for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn backward(&self, dy: &Tensor<f64>, needs: &[bool]) -> Result<Vec<Option<Tensor<f64>>>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("run{} {needs:?}", self.tag));
        Ok(needs.iter().map(|&n| n.then(|| dy.clone())).collect())
    }
}
impl Drop for Probe {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(format!("drop{}", self.tag));
    }
}
fn probe(
    t: &mut Tape<f64>,
    xs: &[&Var<f64>],
    tag: usize,
    log: &Arc<Mutex<Vec<String>>>,
) -> Var<f64> {
    let v = xs[0].value().clone();
    let log = Arc::clone(log);
    t.record("probe", xs, v, move || Box::new(Probe { tag, log }))
        .unwrap()
}

#[test]
fn saved_state_is_freed_right_after_each_rule_in_reverse_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut t = Tape::new();
    let x = t.leaf(t1(&[1.0]), true);
    let a = probe(&mut t, &[&x], 1, &log);
    let b = probe(&mut t, &[&a], 2, &log);
    let c = probe(&mut t, &[&b], 3, &log);
    let g = t.backward(&c).unwrap();
    assert_eq!(g.get(x.id()).unwrap().data(), &[1.0]);
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "run3 [true]",
            "drop3",
            "run2 [true]",
            "drop2",
            "run1 [true]",
            "drop1"
        ]
    );
}

#[test]
fn gradients_are_requested_only_on_paths_to_leaves_that_require_grad() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut t = Tape::new();
    let w = t.leaf(t1(&[2.0]), true);
    let data = t.input(t1(&[3.0]));
    // probe(w, data): needs = [true, false]; probe on constants alone records no rule at all.
    let y = probe(&mut t, &[&w, &data], 1, &log);
    let _unused = probe(&mut t, &[&data], 2, &log);
    let g = t.backward(&y).unwrap();
    assert!(g.get(data.id()).is_none());
    assert_eq!(g.len(), 1);
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        ["run1 [true, false]", "drop1"],
        "the constant-only probe never built a rule"
    );
}

#[test]
fn nodes_after_the_loss_and_off_path_nodes_get_nothing() {
    let mut t = Tape::new();
    let x = t.leaf(t1(&[1.0, 2.0]), true);
    let z = t.leaf(t1(&[5.0, 5.0]), true);
    let y = sum(&mut t, &x).unwrap();
    let _after = sum(&mut t, &z).unwrap();
    let g = t.backward(&y).unwrap();
    assert_eq!(g.get(x.id()).unwrap().data(), &[1.0, 1.0]);
    assert!(g.get(z.id()).is_none(), "z is not on a path to the loss");
}

#[test]
fn no_grad_records_nothing_and_gives_constants() {
    let mut t = Tape::<f64>::no_grad();
    let x = t.leaf(t1(&[1.0, -2.0]), true);
    let y = relu(&mut t, &x).unwrap();
    let l = sum(&mut t, &y).unwrap();
    assert!(t.is_empty());
    assert_eq!(l.id(), NodeId::NONE);
    assert_eq!(l.value().data(), &[1.0]);
    assert!(t.backward(&l).unwrap().is_empty());
}

#[test]
fn detach_stops_the_gradient() {
    // L = sum(x ⊙ detach(x)) → ∂L/∂x = detach(x) = x (only one path counts), not 2x.
    for on_tape in [false, true] {
        let mut t = Tape::new();
        let x = t.leaf(t1(&[3.0, -1.0]), true);
        let d = if on_tape { t.detach(&x) } else { x.detach() };
        let y = mul(&mut t, &x, &d).unwrap();
        let l = sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[3.0, -1.0]);
        assert!(g.get(d.id()).is_none());
    }
}

#[test]
fn backward_keep_returns_chosen_intermediate_gradients() {
    // h = 2x, y = h ⊙ h, L = Σ y: ∂L/∂h = 2h = 4x; ∂L/∂x = 8x.
    let mut t = Tape::new();
    let x = t.leaf(t1(&[1.0, 2.0]), true);
    let h = scale(&mut t, &x, 2.0).unwrap();
    let y = mul(&mut t, &h, &h).unwrap();
    let l = sum(&mut t, &y).unwrap();
    let g = t.backward_keep(&l, &[h.id()]).unwrap();
    assert_eq!(g.get(h.id()).unwrap().data(), &[4.0, 8.0]);
    assert_eq!(g.get(x.id()).unwrap().data(), &[8.0, 16.0]);
    assert!(g.get(y.id()).is_none(), "not kept, so freed");
}

#[test]
fn params_get_gradients_by_name_and_frozen_params_get_none() {
    let mut store = ParamStore::<f64>::new();
    store.add_param("layer.weight", t1(&[2.0, 3.0])).unwrap();
    store.add_param("layer.bias", t1(&[1.0, 1.0])).unwrap();
    store.get_mut("layer.bias").unwrap().requires_grad = false;
    for _step in 0..2 {
        let mut t = Tape::new();
        let w = t.param(store.get("layer.weight").unwrap());
        let b = t.param(store.get("layer.bias").unwrap());
        let x = t.input(t1(&[5.0, 7.0]));
        let wx = mul(&mut t, &w, &x).unwrap();
        let y = add(&mut t, &wx, &b).unwrap();
        let l = sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        g.accumulate_into(&mut store).unwrap();
    }
    // Two steps without zero_grad: the gradient x accumulates twice, like PyTorch's .grad.
    assert_eq!(
        store
            .get("layer.weight")
            .unwrap()
            .grad
            .as_ref()
            .unwrap()
            .data(),
        &[10.0, 14.0]
    );
    assert!(store.get("layer.bias").unwrap().grad.is_none());
}

#[test]
fn dump_lists_ops_shapes_and_names() {
    let mut store = ParamStore::<f64>::new();
    store.add_param("w", t1(&[1.0, 2.0])).unwrap();
    let mut t = Tape::new();
    let w = t.param(store.get("w").unwrap());
    let x = t.input(t1(&[3.0, 4.0]));
    let y = mul(&mut t, &w, &x).unwrap();
    let _l = sum(&mut t, &y).unwrap();
    let d = t.dump();
    assert_eq!(
        d,
        "%0 = param() [2] \"w\" grad\n%1 = input() [2]\n%2 = mul(%0, %1) [2] grad\n%3 = sum(%2) [] grad\n"
    );
}

#[test]
fn non_finite_loss_and_gradient_are_named_errors() {
    // Loss NaN: named after the op that produced it.
    let mut t = Tape::new();
    let x = t.leaf(t1(&[f64::NAN]), true);
    let l = sum(&mut t, &x).unwrap();
    let e = t.backward(&l).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "sum",
                node: 1,
                ..
            }
        ),
        "{e}"
    );

    // Finite values and loss, infinite gradient: x = 1e-300, y = 1e300·x = 1, L = 1e300·y =
    // 1e300 (finite), but ∂L/∂x = 1e300·1e300 = ∞, produced by the rule of node 1.
    let mut t = Tape::new();
    let x = t.leaf(t1(&[1e-300]), true);
    let y = scale(&mut t, &x, 1e300).unwrap(); // y = 1
    let l = scale(&mut t, &y, 1e300).unwrap(); // L = 1e300, finite; ∂L/∂x = 1e600 = ∞
    let e = t.backward(&l).unwrap_err();
    match e {
        Error::NonFinite {
            op, node, ref what, ..
        } => {
            assert_eq!(
                (op, node, what.as_str()),
                ("scale", 1, "gradient for input 0")
            );
        }
        other => panic!("expected NonFinite, got {other}"),
    }
}

#[test]
fn foreign_vars_and_non_scalar_losses_are_errors() {
    let mut big = Tape::<f64>::new();
    for _ in 0..5 {
        big.input(t1(&[0.0]));
    }
    let foreign = big.input(t1(&[1.0]));
    let mut t = Tape::<f64>::new();
    assert!(matches!(
        relu(&mut t, &foreign),
        Err(Error::ForeignVar { .. })
    ));
    let x = t.leaf(t1(&[1.0, 2.0]), true);
    assert!(t.backward(&x).is_err());
}

#[test]
fn tapes_and_gradients_can_move_between_threads() {
    fn assert_send<S: Send>() {}
    assert_send::<Tape<f32>>();
    assert_send::<Gradients<f32>>();
}
