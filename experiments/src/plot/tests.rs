//! Every figure kind writes a non-empty, valid PNG and SVG.

use super::*;
use crate::calibration::ReliabilityBin;
use crate::metrics::roc_curve;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ecgrad-plot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The files exist, the PNG starts with the PNG signature and the SVG is an `<svg` document
/// that contains the given text (so labels really were written).
fn check(files: &FigureFiles, text: &str) {
    let png = std::fs::read(&files.png).unwrap();
    assert!(
        png.len() > 1000,
        "{} is {} bytes",
        files.png.display(),
        png.len()
    );
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(text), "{} lacks {text:?}", files.svg.display());
    let dir = files.png.parent().unwrap();
    let leftovers = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

fn font_or_skip() -> bool {
    match ensure_font() {
        Ok(_) => true,
        Err(e) => {
            // CI installs fonts-dejavu-core, so there this path is not taken.
            eprintln!("skipping: {e}");
            false
        }
    }
}

fn sine(n: usize, f: f64, a: f32) -> Vec<f32> {
    (0..n)
        .map(|i| a * (2.0 * std::f64::consts::PI * f * i as f64 / n as f64).sin() as f32)
        .collect()
}

#[test]
fn every_plot_kind_writes_png_and_svg() {
    if !font_or_skip() {
        return;
    }
    let dir = temp_dir("all");
    let line = LinePlot::new("Loss curves", "epoch", "loss")
        .with(Series::from_y("train", &[1.0, 0.6, 0.4, 0.35]))
        .with(
            Series::from_y("validation", &[1.1, 0.8, 0.7, 0.72])
                .style(SeriesStyle::LinePoints)
                .errors(vec![(1.0, 1.2), (0.7, 0.9), (0.6, 0.8), (0.6, 0.84)]),
        );
    check(&save(&line, &dir, "line").unwrap(), "validation");

    let r = roc_curve(
        &[0.9, 0.8, 0.7, 0.6, 0.2],
        &[true, false, true, false, false],
    )
    .unwrap();
    check(
        &save(&roc_plot("ROC", &[("N".into(), &r)]), &dir, "roc").unwrap(),
        "AUC",
    );
    let rc = risk_coverage_plot(
        "Selective",
        &[("CNN".into(), vec![(0.5, 0.01), (1.0, 0.05)])],
    );
    check(&save(&rc, &dir, "risk").unwrap(), "coverage");

    let sig = SignalPlot::new("Denoising at 0 dB", Some(360.0), "mV")
        .with(Trace::new("clean", sine(720, 3.0, 1.0)))
        .with(Trace::new("noisy", sine(720, 31.0, 0.3)))
        .region(100, 200, "QRS", 2)
        .region(400, 500, "QRS", 2);
    let mut sig_cam = sig.clone();
    sig_cam.attribution = Some((0..720).map(|i| i as f64 / 720.0).collect());
    check(&save(&sig_cam, &dir, "signal").unwrap(), "clean");

    let mut stack = StackedSignals::new(
        "Interpolation",
        Some(360.0),
        (0..10)
            .map(|k| sine(300, 1.0 + k as f64 / 5.0, 1.0))
            .collect(),
    );
    stack.ends = ("A".into(), "B".into());
    check(&save(&stack, &dir, "stack").unwrap(), "Interpolation");

    let mut heat = HeatMap::new(
        "Decoded path",
        (0..20)
            .map(|k| {
                sine(100, 1.0 + k as f64 / 10.0, 1.0)
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            })
            .collect(),
        "time (s)",
        "step",
    );
    heat.value_label = "mV".into();
    heat.x_scale = 1.0 / 360.0;
    check(&save(&heat, &dir, "heat").unwrap(), "Decoded path");
    heat.diverging = true;
    check(&save(&heat, &dir, "heat_div").unwrap(), "step");

    let names: Vec<String> = ["N", "S", "V", "F", "Q"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let counts: Vec<Vec<u64>> = (0..5)
        .map(|t| {
            (0..5)
                .map(|p| if t == p { 90 } else { (t + p) as u64 })
                .collect()
        })
        .collect();
    check(
        &save(
            &ConfusionPlot::new("Confusion", &names, &counts),
            &dir,
            "cm",
        )
        .unwrap(),
        "predicted class",
    );

    let boxes = BoxPlot::new("Errors", "MSE")
        .with("good ECG", vec![0.1, 0.2, 0.15, 0.3, 1.5], 0)
        .with("bad ECG", vec![0.4, 0.5, 0.45, 0.6], 1);
    check(&save(&boxes, &dir, "box").unwrap(), "good ECG");

    let scatter = ScatterPlot {
        title: "PCA".into(),
        x_label: "PC1".into(),
        y_label: "PC2".into(),
        points: (0..60)
            .map(|i| ((i % 7) as f64, (i % 5) as f64 + (i / 30) as f64 * 5.0))
            .collect(),
        classes: (0..60).map(|i| i / 30).collect(),
        class_names: vec!["N".into(), "V".into()],
        size: (600, 500),
    };
    check(&save(&scatter, &dir, "scatter").unwrap(), "PC1");

    let bins: Vec<ReliabilityBin> = (0..5)
        .map(|i| ReliabilityBin {
            lo: i as f64 / 5.0,
            hi: (i + 1) as f64 / 5.0,
            count: 10,
            confidence: (i as f64 + 0.5) / 5.0,
            accuracy: i as f64 / 5.0,
        })
        .collect();
    let rel = ReliabilityPlot {
        title: "Reliability".into(),
        models: vec![
            ("raw".into(), bins.clone(), 0.1),
            ("T=1.5".into(), bins, 0.02),
        ],
        size: (600, 560),
    };
    check(&save(&rel, &dir, "reliability").unwrap(), "ECE");

    let grid = Grid::new("Overview", 2, (500, 300))
        .with(Panel::Line(line))
        .with(Panel::Signal(sig))
        .with(Panel::Box(boxes));
    assert_eq!(grid.size(), (1000, 640));
    check(&save(&grid, &dir, "grid").unwrap(), "Overview");
    // ECGRAD_KEEP_PLOTS=1 keeps the figures to look at them.
    if std::env::var_os("ECGRAD_KEEP_PLOTS").is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn empty_data_is_an_error_not_a_blank_figure() {
    if !font_or_skip() {
        return;
    }
    let dir = temp_dir("empty");
    let e = save(&LinePlot::new("nothing", "x", "y"), &dir, "x").unwrap_err();
    assert!(format!("{e:#}").contains("no points"), "{e:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_maps_span_their_anchors() {
    assert_eq!(viridis(0.0), plotters::style::RGBColor(68, 1, 84));
    assert_eq!(viridis(1.0), plotters::style::RGBColor(253, 231, 37));
    assert_eq!(diverging(0.0), plotters::style::RGBColor(255, 255, 255));
    assert_eq!(range_of([1.0, f64::NAN, 3.0], 0.0), (1.0, 3.0));
}
