//! `demo_engine`: the engine on an ECG (what `reproduce` ran before the paper experiments).
//!
//! One ECG (MIT-BIH record 100 when the real data is present, otherwise the built-in synthetic
//! ECG) goes through a two-layer 1D convolution, once with the naive loops that define the op
//! and once with the production kernels (im2col fused into a packed GEMM, SIMD, threads). It
//! checks that both give the same numbers, reports the speed of each, and writes
//! `engine_demo.json`, a table of the timings and a figure of the input with one feature map.
//!
//! Reading the data path: WFDB file → `wfdb::read_record` (ndarray `[leads, samples]`, mV) →
//! 10-s windows stacked into an NCL `Tensor` → `conv1d` → feature maps.

use std::time::Instant;

use anyhow::Context;
use ecgrad_engine::ops::conv1d::{Conv1dImpl, Conv1dParams, conv1d_with};
use ecgrad_engine::{Rng, Shape, Tensor};
use serde::Serialize;

use super::Run;
use crate::cli::DataSource;
use crate::data::{synthetic, wfdb};
use crate::plot::{SignalPlot, Trace};
use crate::report::{Provenance, write_json};
use crate::table::{Cell, Table};

/// One 10-second window at 360 Hz, as in a MIT-BIH strip.
const WINDOW: usize = 3600;

/// Loads `n` consecutive two-lead 10-s windows (NCL, mV) and says where they came from.
fn load_windows(run: &mut Run, n: usize) -> anyhow::Result<(Tensor, String)> {
    let (signals, from) = match run.source().clone() {
        DataSource::Real(dir) => {
            let dir = dir.join("mitdb");
            let rec = wfdb::read_record(&dir, "100")
                .with_context(|| format!("reading MIT-BIH record 100 in {}", dir.display()))?;
            let dat = dir.join("100.dat");
            if dat.is_file() {
                run.record_input(&dat)?;
            }
            (
                rec.physical,
                "MIT-BIH Arrhythmia record 100 (MLII, V5)".to_string(),
            )
        }
        DataSource::Synthetic(_) => {
            let beats = n * 15; // ~75 bpm over n·10 s
            let rec =
                synthetic::mitbih_like_record(beats, [0.8, 0.08, 0.08, 0.02, 0.02], run.seed())?;
            (rec.signals, rec.source)
        }
    };
    let (leads, len) = signals.dim();
    anyhow::ensure!(
        leads >= 2 && len >= n * WINDOW,
        "the ECG has {leads} leads × {len} samples; the demo needs 2 × {}",
        n * WINDOW
    );
    // NCL: x[w, lead, t] = signal[lead, w·WINDOW + t].
    let mut data = Vec::with_capacity(n * 2 * WINDOW);
    for w in 0..n {
        for lead in 0..2 {
            data.extend(signals.row(lead).iter().skip(w * WINDOW).take(WINDOW));
        }
    }
    Ok((Tensor::from_vec(Shape::d3(n, 2, WINDOW), data)?, from))
}

/// A weight tensor with PyTorch's default uniform(±1/√fan_in) initialisation.
fn random_weight(rng: &mut Rng, c_out: usize, c_in: usize, k: usize) -> anyhow::Result<Tensor> {
    let bound = 1.0 / ((c_in * k) as f64).sqrt();
    let data = (0..c_out * c_in * k)
        .map(|_| rng.uniform_range(-bound, bound) as f32)
        .collect();
    Ok(Tensor::from_vec(Shape::d3(c_out, c_in, k), data)?)
}

#[derive(Serialize)]
struct LayerTiming {
    layer: String,
    input: Vec<usize>,
    output: Vec<usize>,
    gflop: f64,
    naive_ms: f64,
    fast_ms: f64,
    speedup: f64,
    fast_gflops: f64,
    max_abs_diff: f32,
}

#[derive(Serialize)]
struct Report {
    provenance: Provenance,
    signal: String,
    layers: Vec<LayerTiming>,
}

/// Median wall time of `reps` runs of `f`, in milliseconds, and the last result.
fn time_ms(
    reps: usize,
    mut f: impl FnMut() -> anyhow::Result<Tensor>,
) -> anyhow::Result<(f64, Tensor)> {
    let mut times = Vec::with_capacity(reps);
    let mut out = None;
    for _ in 0..reps {
        let start = Instant::now();
        out = Some(f()?);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], out.expect("invariant: reps >= 1")))
}

/// Runs the demo (see the module docs).
///
/// # Errors
/// Data reading errors, or the fast and naive convolutions disagreeing by more than 1e-3.
pub fn run(run: &mut Run) -> anyhow::Result<()> {
    let n = if run.quick() { 2 } else { 8 };
    let (x, from) = load_windows(run, n)?;
    println!("signal: {from}; input tensor {} (N, C, L)", x.shape());

    let mut rng = Rng::stream(run.seed(), "init");
    // Two layers of a typical ECG front end: 2 leads → 32 maps (k 15), then 32 → 64 (k 7).
    let layers = [(32usize, 15usize), (64, 7)];
    let mut input = x.clone();
    let mut timings = Vec::new();
    let mut first_map: Vec<f32> = Vec::new();
    let mut table = Table::new(
        "Naive loops vs production 1D convolution",
        &[
            "layer",
            "output (N, C, L)",
            "naive ms",
            "fast ms",
            "speed-up",
            "GFLOP/s",
            "max |Δ|",
        ],
    );
    for (i, &(c_out, k)) in layers.iter().enumerate() {
        let c_in = input.dims()[1];
        let w = random_weight(&mut rng, c_out, c_in, k)?;
        let params = Conv1dParams {
            padding: (k - 1) / 2,
            ..Conv1dParams::default()
        };
        let reps = if run.quick() { 1 } else { 3 };
        let (naive_ms, y_naive) = time_ms(reps, || {
            Ok(conv1d_with(Conv1dImpl::Naive, &input, &w, None, params)?)
        })?;
        let (fast_ms, y) = time_ms(reps.max(5), || {
            Ok(conv1d_with(Conv1dImpl::Auto, &input, &w, None, params)?)
        })?;
        let max_abs_diff = y
            .data()
            .iter()
            .zip(y_naive.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let (nb, lo) = (y.dims()[0], y.dims()[2]);
        let gflop = 2.0 * (nb * c_out * c_in * k * lo) as f64 / 1e9;
        let name = format!("conv{} {c_in}→{c_out}, k {k}", i + 1);
        anyhow::ensure!(
            max_abs_diff <= 1e-3,
            "{name}: fast and naive convolutions disagree by {max_abs_diff}"
        );
        table.push(vec![
            Cell::text(&name),
            Cell::text(y.shape().to_string()),
            Cell::num(naive_ms, 2),
            Cell::num(fast_ms, 3),
            Cell::num(naive_ms / fast_ms, 0),
            Cell::num(gflop / (fast_ms / 1e3), 1),
            Cell::text(format!("{max_abs_diff:.2e}")),
        ])?;
        run.summary(format!(
            "{name}: naive {naive_ms:.2} ms, fast {fast_ms:.3} ms ({:.0}×), max |Δ| {max_abs_diff:.1e}",
            naive_ms / fast_ms
        ));
        timings.push(LayerTiming {
            layer: name,
            input: input.dims().to_vec(),
            output: y.dims().to_vec(),
            gflop,
            naive_ms,
            fast_ms,
            speedup: naive_ms / fast_ms,
            fast_gflops: gflop / (fast_ms / 1e3),
            max_abs_diff,
        });
        // ReLU between layers, as in a real network.
        let relu: Vec<f32> = y.data().iter().map(|&v| v.max(0.0)).collect();
        if i == 0 {
            first_map = relu[..lo].to_vec(); // window 0, channel 0
        }
        input = Tensor::from_vec(y.shape(), relu)?;
    }
    table.note(format!(
        "Signal: {from}. Timings are medians of 1–5 runs on a shared machine; the speed-up is \
         what matters, not the absolute times."
    ));
    run.table(&table, "conv_timings")?;

    let show = 3 * 360; // the first 3 seconds
    let fig = SignalPlot::new(
        "Input ECG (lead 0) and the first feature map of conv1 after ReLU",
        Some(360.0),
        "mV / activation",
    )
    .with(Trace::new("ECG lead 0", x.data()[..show].to_vec()))
    .with(Trace::new("conv1 channel 0", first_map[..show].to_vec()));
    run.figure(
        &fig,
        "feature_map",
        "The input and one feature map (random weights)",
    )?;

    let report = Report {
        provenance: Provenance::collect(&run.name, run.seed(), &run.source().describe()),
        signal: from,
        layers: timings,
    };
    write_json(&run.path("engine_demo.json"), &report)?;
    run.file("engine_demo.json", "timings and provenance");
    run.write_metrics(&serde_json::json!({ "windows": n, "layers": [[32, 15], [64, 7]] }))?;
    Ok(())
}
