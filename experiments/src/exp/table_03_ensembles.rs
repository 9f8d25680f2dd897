//! `table_03_ensembles`: soft average, weighted average, majority vote, Top2-Weighted and
//! best-2 weighted over the four base networks (CE models from `table_03_models`' checkpoint
//! cache, trained here if missing), weights = validation macro-F1 (validation only); test
//! scores with 95 % bootstrap CIs (by beat intra-patient, by patient inter-patient), and
//! `predictions.csv`. The paper's Top2-Weighted: F1 0.958 (P 0.986, R 0.934).

use anyhow::Result;
use serde_json::json;

use super::Run;
use crate::seed003::common::Config;
use crate::seed003::ensembles::{base_set, ensembles, macro_f1};
use crate::seed003::evaluate::{PAPER_F1_NOTE, score};
use crate::seed003::output::{append_rows, header};
use crate::seed003::protocol::Protocol;
use crate::table::{Cell, Table};

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, checkpoint or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let cfg = Config::defaults(run.quick(), run.seed(), &run.out, &run.options)?;
    let mut csv = header();
    csv.push('\n');
    let mut results = Vec::new();
    for &p in &cfg.protocols {
        let splits = cfg.splits(p, run.source())?;
        let set = base_set(&cfg, &splits)?;
        let k = p.classes();
        let classes = splits.test.data.class_names.clone();
        let groups = splits.test.data.groups.clone();
        let by_patient = p == Protocol::InterPatient;
        let mut table = Table::new(
            &format!(
                "Table 03 — ensembles, {} ({}): test scores with 95 % CIs ({} resamples by {})",
                p.name(),
                if cfg.quick { "QUICK run" } else { "full run" },
                cfg.resamples,
                if by_patient { "patient" } else { "beat" }
            ),
            &[
                "ensemble",
                "val macro F1",
                "accuracy",
                "macro P",
                "macro R",
                "macro F1",
                "F1(macro P,R)",
                "weighted F1",
                "mean AUC",
            ],
        );
        let mut rows: Vec<(String, f64, &ecgrad_engine::Tensor<f32>)> = set
            .models
            .iter()
            .zip(&set.test_probs)
            .zip(&set.val_f1)
            .map(|((m, t), &f)| (format!("{} (single)", m.spec.model.display()), f, t))
            .collect();
        let combined = match ensembles(&set) {
            Ok(c) => c,
            Err(e) => {
                table.note(format!("no ensembles: {e}"));
                Vec::new()
            }
        };
        for c in &combined {
            rows.push((
                c.name.to_string(),
                macro_f1(&c.val, &splits.val.data.labels, k)?,
                &c.test,
            ));
        }
        for (name, vf1, probs) in rows {
            let s = score(
                probs.data(),
                k,
                &classes,
                &splits.test.data.labels,
                by_patient.then_some(groups.as_slice()),
                cfg.resamples,
                cfg.seed,
            )?;
            table.push(vec![
                Cell::text(name.clone()),
                Cell::num(vf1, 3),
                Cell::ci(s.accuracy, 3),
                Cell::ci(s.macro_precision, 3),
                Cell::ci(s.macro_recall, 3),
                Cell::ci(s.macro_f1, 3),
                Cell::ci(s.f1_of_macro_pr, 3),
                Cell::ci(s.weighted_f1, 3),
                Cell::ci(s.macro_auc, 3),
            ])?;
            if !name.ends_with("(single)") {
                append_rows(&mut csv, p.name(), &name, &splits.test, probs.data())?;
                run.summary(format!(
                    "{} {name}: macro F1 {}, macro P {}, macro R {}, accuracy {}",
                    p.name(),
                    s.macro_f1,
                    s.macro_precision,
                    s.macro_recall,
                    s.accuracy
                ));
            }
            results.push(
                json!({"protocol": p.name(), "name": name, "val_macro_f1": vf1, "scores": s}),
            );
        }
        let names: Vec<&str> = set.models.iter().map(|m| m.spec.model.name()).collect();
        table.note(format!(
            "Base models (CE, no GAN): {names:?}; weights = validation macro-F1 {:?}.",
            set.val_f1
        ));
        for m in &set.missing {
            table.note(format!(
                "{} not available yet (not in ecgrad-models): left out.",
                m.display()
            ));
        }
        table.note("Top2-Weighted = per model its two most probable classes renormalised, weighted by validation macro-F1; best-2 weighted = weighted average of the two best models by validation macro-F1 (both readings of the paper's undefined rule).");
        table.note(PAPER_F1_NOTE);
        table.note(format!("Data: {}", splits.description));
        run.table(&table, &format!("table_03_ensembles_{}", p.name()))?;
    }
    crate::report::write_atomic(&run.path("predictions.csv"), csv.as_bytes())?;
    run.file("predictions.csv", "every ensemble test prediction");
    run.write_metrics(&json!({"config": cfg, "paper": {"top2_weighted_f1": 0.958, "precision": 0.986, "recall": 0.934}, "results": results}))?;
    Ok(())
}
