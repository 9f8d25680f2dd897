//! `fig_03_roc`: per-class one-vs-rest ROC curves with AUC for the best single model and the
//! best ensemble of each protocol — "best" by **validation** macro-F1, so the choice does not
//! peek at the test set — plus a table of the AUCs with 95 % bootstrap CIs.

use anyhow::Result;
use serde_json::json;

use super::Run;
use crate::metrics::roc_one_vs_rest;
use crate::plot::{Grid, Panel, roc_plot};
use crate::seed003::common::Config;
use crate::seed003::ensembles::{base_set, ensembles, macro_f1};
use crate::seed003::evaluate::score;
use crate::seed003::protocol::Protocol;
use crate::table::{Cell, Table};

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, checkpoint or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let cfg = Config::defaults(run.quick(), run.seed(), &run.out, &run.options)?;
    let mut table = Table::new(
        &format!(
            "One-vs-rest AUC with 95 % CIs ({}; {} resamples, by beat intra, by patient inter)",
            if cfg.quick { "QUICK run" } else { "full run" },
            cfg.resamples
        ),
        &["protocol", "which", "model", "class", "AUC"],
    );
    let mut results = Vec::new();
    let mut grid = Grid::new("ROC curves per class (one vs rest)", 2, (600, 560));
    for &p in &cfg.protocols {
        let splits = cfg.splits(p, run.source())?;
        let set = base_set(&cfg, &splits)?;
        let k = p.classes();
        let classes = splits.test.data.class_names.clone();
        let labels = &splits.test.data.labels;
        let best_single = (0..set.models.len())
            .max_by(|&a, &b| set.val_f1[a].total_cmp(&set.val_f1[b]))
            .unwrap_or(0);
        let mut picks = vec![(
            "best single".to_string(),
            set.models[best_single].spec.model.display().to_string(),
            set.test_probs[best_single].clone(),
        )];
        if let Ok(ens) = ensembles(&set) {
            let mut best: Option<(f64, usize)> = None;
            for (i, c) in ens.iter().enumerate() {
                let f = macro_f1(&c.val, &splits.val.data.labels, k)?;
                if best.is_none_or(|(bf, _)| f > bf) {
                    best = Some((f, i));
                }
            }
            if let Some((_, i)) = best {
                picks.push((
                    "best ensemble".into(),
                    ens[i].name.to_string(),
                    ens[i].test.clone(),
                ));
            }
        }
        let groups = splits.test.data.groups.clone();
        for (which, name, probs) in &picks {
            let curves = roc_one_vs_rest(probs.data(), k, labels)?;
            let named: Vec<(String, &crate::metrics::RocCurve)> = curves
                .iter()
                .enumerate()
                .filter_map(|(c, r)| r.as_ref().map(|r| (classes[c].clone(), r)))
                .collect();
            grid = grid.with(Panel::Line(roc_plot(
                &format!("{} — {which}: {name}", p.name()),
                &named,
            )));
            let s = score(
                probs.data(),
                k,
                &classes,
                labels,
                (p == Protocol::InterPatient).then_some(groups.as_slice()),
                cfg.resamples,
                cfg.seed,
            )?;
            for c in &s.per_class {
                table.push(vec![
                    Cell::text(p.name()),
                    Cell::text(which.clone()),
                    Cell::text(name.clone()),
                    Cell::text(c.class.clone()),
                    Cell::ci(c.auc, 3),
                ])?;
            }
            run.summary(format!(
                "{} {which} ({name}): mean AUC {}",
                p.name(),
                s.macro_auc
            ));
            results.push(json!({"protocol": p.name(), "which": which, "model": name, "scores": s}));
        }
    }
    run.figure(&grid, "fig_03_roc", "per-class ROC curves with AUC")?;
    run.table(&table, "table_03_auc")?;
    run.write_metrics(
        &json!({"config": cfg, "selection": "best by validation macro-F1", "results": results}),
    )?;
    Ok(())
}
