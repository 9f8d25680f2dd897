//! `fig_03_gradcam`: Grad-CAM heat maps (at each network's last convolutional feature map,
//! for the **predicted** class) over correctly and wrongly classified test beats of every
//! class, overlaid on the waveform with the P, QRS and T windows marked; and a table of the
//! fraction of Grad-CAM mass in each window per network, class and correct/wrong
//! (`seed003::regions`: fixed windows relative to the R peak, the four fractions sum to 1).
//!
//! The figure shows the CNN-LSTM (the paper's Grad-CAM model) when it is available, else the
//! first base model: one correct and one wrong beat per class. The summary averages up to 200
//! beats per (class, correct/wrong) in full runs (20 in `--quick`).

use anyhow::Result;
use ecgrad_engine::{Shape, Tensor};
use ecgrad_models::Module;
use serde_json::json;

use super::Run;
use crate::plot::{Grid, Panel, SignalPlot, Trace};
use crate::seed003::common::Config;
use crate::seed003::ensembles::base_set;
use crate::seed003::evaluate::predicted;
use crate::seed003::protocol::{BEAT_LEN, FS, Part};
use crate::seed003::regions::{MassSummary, wave_windows};
use crate::seed003::zoo::{ModelKind, Net};
use crate::table::{Cell, Table};

/// Grad-CAM maps `[BEAT_LEN]` of the beats `idx` of `part` for `class`, in batches of 64.
fn cams(net: &Net, part: &Part, idx: &[usize], class: usize) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(64) {
        let mut x = Vec::with_capacity(chunk.len() * BEAT_LEN);
        for &i in chunk {
            x.extend_from_slice(part.data.window(i));
        }
        let x = Tensor::from_vec(Shape::d3(chunk.len(), 1, BEAT_LEN), x)?;
        let cam = ecgrad_models::gradcam::grad_cam(net, &x, net.kind().gradcam_layer(), class)?;
        out.extend(cam.data().chunks_exact(BEAT_LEN).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, checkpoint, Grad-CAM or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let cfg = Config::defaults(run.quick(), run.seed(), &run.out, &run.options)?;
    let per_group = if cfg.quick { 20 } else { 200 };
    let mut table = Table::new(
        &format!(
            "Grad-CAM mass per region (mean fraction over ≤ {per_group} test beats per row; {})",
            if cfg.quick { "QUICK run" } else { "full run" }
        ),
        &[
            "protocol",
            "model",
            "class",
            "classified",
            "beats",
            "P",
            "QRS",
            "T",
            "other",
            "densest (× flat map)",
        ],
    );
    let [pw, qw, tw] = wave_windows(BEAT_LEN);
    let mut results = Vec::new();
    for &p in &cfg.protocols {
        let splits = cfg.splits(p, run.source())?;
        let mut set = base_set(&cfg, &splits)?;
        let k = p.classes();
        let classes = splits.test.data.class_names.clone();
        let labels = splits.test.data.labels.clone();
        let shown = set
            .models
            .iter()
            .position(|m| m.spec.model == ModelKind::CnnLstm)
            .unwrap_or(0);
        let mut grid = Grid::new(
            &format!(
                "Grad-CAM ({}), {}: correct (left) and wrong (right) beats; red strip = attribution",
                set.models[shown].spec.model.display(),
                p.name()
            ),
            2,
            (520, 300),
        );
        for (mi, t) in set.models.iter_mut().enumerate() {
            t.net.set_training(false);
            let pred = predicted(set.test_probs[mi].data(), k);
            for c in 0..k {
                for correct in [true, false] {
                    let idx: Vec<usize> = (0..labels.len())
                        .filter(|&i| labels[i] == c && (pred[i] == c) == correct)
                        .take(per_group)
                        .collect();
                    let mut summary = MassSummary::default();
                    // Grad-CAM of the predicted class: one call per predicted class.
                    let mut first: Option<(usize, Vec<f32>)> = None;
                    for q in 0..k {
                        let sub: Vec<usize> =
                            idx.iter().copied().filter(|&i| pred[i] == q).collect();
                        if sub.is_empty() {
                            continue;
                        }
                        let maps = cams(&t.net, &splits.test, &sub, q)?;
                        for m in &maps {
                            summary.add(m);
                        }
                        if first.is_none() {
                            first = Some((sub[0], maps[0].clone()));
                        }
                    }
                    let which = if correct { "correct" } else { "wrong" };
                    if mi == shown {
                        let title = format!("true {} ({which})", classes[c]);
                        let panel = match &first {
                            Some((i, map)) => {
                                let max = map.iter().copied().fold(0.0f32, f32::max);
                                let mut sp = SignalPlot::new(
                                    &format!("{title}, predicted {}", classes[pred[*i]]),
                                    Some(FS),
                                    "normalised",
                                )
                                .with(
                                    Trace::new("beat", splits.test.data.window(*i).to_vec())
                                        .color(0),
                                )
                                .region(pw.start, pw.end, "P", 2)
                                .region(qw.start, qw.end, "QRS", 3)
                                .region(tw.start, tw.end, "T", 4);
                                sp.attribution = Some(
                                    map.iter()
                                        .map(|&v| if max > 0.0 { f64::from(v / max) } else { 0.0 })
                                        .collect(),
                                );
                                sp.size = (520, 300);
                                Panel::Signal(sp)
                            }
                            None => Panel::Empty,
                        };
                        grid = grid.with(panel);
                    }
                    let m = summary.mean;
                    table.push(vec![
                        Cell::text(p.name()),
                        Cell::text(t.spec.model.display()),
                        Cell::text(classes[c].clone()),
                        Cell::text(which),
                        Cell::int(summary.n as i64),
                        Cell::num(m.p, 3),
                        Cell::num(m.qrs, 3),
                        Cell::num(m.t, 3),
                        Cell::num(m.other, 3),
                        Cell::text(summary.dominant()),
                    ])?;
                    results.push(json!({
                        "protocol": p.name(), "model": t.spec.model.name(), "class": classes[c],
                        "classified": which, "summary": summary,
                    }));
                }
            }
        }
        run.figure(
            &grid,
            &format!("fig_03_gradcam_{}", p.name()),
            "Grad-CAM over correct and wrong beats",
        )?;
    }
    table.note(format!(
        "Windows (125 Hz, R at sample 62): P [{}, {}), QRS [{}, {}), T [{}, {}) samples — fixed typical timings, not per-beat delineation (a V beat has no P wave in its 'P' window).",
        pw.start, pw.end, qw.start, qw.end, tw.start, tw.end
    ));
    table.note("P, QRS, T, other: mean fraction of the Grad-CAM mass; they favour wide regions (a flat map gives 'other' 0.58). 'Densest': the region with the largest mass per sample, as a multiple of a flat map's.");
    table.note("Grad-CAM of the predicted class at the last convolutional feature map (relu3; ResNet-1D: layer3.1.relu2), linearly upsampled to 187 samples; maps with no positive mass are not averaged.");
    run.table(&table, "table_03_gradcam_regions")?;
    run.write_metrics(&json!({"config": cfg, "beats_per_row": per_group, "results": results}))?;
    Ok(())
}
