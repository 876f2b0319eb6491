//! What the analysis returns, drawn: the fitted temperature and its certificate, the metric table
//! with bootstrap intervals, reliability diagrams before and after with CORP's band and the bins'
//! counts, the NLL against the temperature with a slider, the Murphy decomposition, the
//! class-frequency forecaster, and the exports.

use leptos::prelude::*;
use scalelab_core::calibrate::bootstrap::{MetricInterval, MAX_CLASSWISE_WORK};
use scalelab_core::calibrate::metrics::{MetricReport, Reliability};
use scalelab_core::calibrate::temperature::nll_on_curve;
use scalelab_core::io::scores::ScoreKind;

use super::CalibratePage;
use crate::download::download_text;
use crate::format::fmt;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::widgets::field::Field;
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::calibrate::{Analysis, AtTemperature};

type Metric = (
    &'static str,
    &'static str,
    fn(&MetricReport) -> Option<f64>,
    Option<fn(&AtTemperature) -> Option<MetricInterval>>,
);

/// The metric table's rows: key, label, value, bootstrap interval.
const METRICS: [Metric; 14] = [
    (
        "accuracy",
        "Accuracy",
        |m| Some(m.accuracy),
        Some(|a| a.intervals.map(|i| i.accuracy)),
    ),
    (
        "nll",
        "NLL (mean)",
        |m| Some(m.nll),
        Some(|a| a.intervals.map(|i| i.nll)),
    ),
    (
        "brier",
        "Brier (sum over classes)",
        |m| Some(m.brier),
        Some(|a| a.intervals.map(|i| i.brier)),
    ),
    (
        "brier_per_class",
        "Brier per class (÷ K)",
        |m| Some(m.brier_per_class),
        Some(|a| a.intervals.map(|i| i.brier_per_class)),
    ),
    (
        "ece",
        "ECE (top label)",
        |m| Some(m.ece),
        Some(|a| a.intervals.map(|i| i.ece)),
    ),
    (
        "mce",
        "MCE",
        |m| Some(m.mce),
        Some(|a| a.intervals.map(|i| i.mce)),
    ),
    (
        "rms",
        "RMS calibration error",
        |m| Some(m.rms),
        Some(|a| a.intervals.map(|i| i.rms)),
    ),
    (
        "ace",
        "ACE (equal mass)",
        |m| Some(m.ace),
        Some(|a| a.intervals.map(|i| i.ace)),
    ),
    (
        "adaptive_ce",
        "Adaptive CE (classwise, equal mass)",
        |m| Some(m.adaptive_ce),
        Some(|a| a.classwise_intervals.map(|i| i.adaptive_ce)),
    ),
    (
        "classwise_ece",
        "Classwise ECE",
        |m| Some(m.classwise_ece),
        Some(|a| a.classwise_intervals.map(|i| i.classwise_ece)),
    ),
    (
        "debiased_l2",
        "Debiased L2 (Kumar et al.)",
        |m| Some(m.debiased_l2),
        Some(|a| a.intervals.map(|i| i.debiased_l2)),
    ),
    (
        "binary_ece",
        "Binary ECE, p(y = 1) (two classes)",
        |m| m.binary.map(|b| b.ece),
        None,
    ),
    (
        "binary_mce",
        "Binary MCE, p(y = 1)",
        |m| m.binary.map(|b| b.mce),
        None,
    ),
    (
        "binary_rms",
        "Binary RMS, p(y = 1)",
        |m| m.binary.map(|b| b.rms),
        None,
    ),
];

fn interval(i: &MetricInterval) -> String {
    format!("[{:.4}, {:.4}]", i.lower, i.upper)
}

/// The metric table as CSV (one row per metric, before and after with their intervals).
fn metrics_csv(a: &Analysis) -> String {
    let mut out =
        String::from("metric,before,before_lower,before_upper,after,after_lower,after_upper\n");
    for (key, _, value, ci) in METRICS {
        let cells = |at: &AtTemperature| {
            let i = ci.and_then(|f| f(at));
            format!(
                "{},{},{}",
                value(&at.metrics)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                i.map(|i| i.lower.to_string()).unwrap_or_default(),
                i.map(|i| i.upper.to_string()).unwrap_or_default()
            )
        };
        out.push_str(&format!("{key},{},{}\n", cells(&a.before), cells(&a.after)));
    }
    out
}

/// A reliability diagram on the unit square: the diagonal, `extra` series (CORP's band and
/// curve), and each non-empty bin's accuracy at its mean confidence.
pub(super) fn reliability_diagram(
    title: String,
    r: &Reliability,
    bins_label: &str,
    extra: Vec<Series>,
) -> ChartSpec {
    let bins: Vec<_> = r.bins.iter().filter(|b| b.count > 0).collect();
    let mut series = vec![Series::new(
        "perfectly calibrated",
        SeriesKind::Line,
        vec![0.0, 1.0],
        vec![0.0, 1.0],
        PALETTE[4],
    )];
    series.extend(extra);
    series.push(Series::new(
        bins_label,
        SeriesKind::Scatter,
        bins.iter().map(|b| b.confidence).collect(),
        bins.iter().map(|b| b.accuracy).collect(),
        PALETTE[0],
    ));
    let mut spec = ChartSpec::new(
        title,
        ("confidence", ScaleKind::Linear),
        ("accuracy", ScaleKind::Linear),
        series,
    );
    spec.x_range = Some((0.0, 1.0));
    spec.y_range = Some((0.0, 1.0));
    spec
}

fn reliability_chart(at: &AtTemperature, title: String) -> ChartSpec {
    let band = &at.corp.band;
    reliability_diagram(
        title,
        &at.metrics.reliability,
        "bins: accuracy at mean confidence",
        vec![
            Series::band(
                "CORP 90 % consistency band",
                band.iter().map(|p| p.x).collect(),
                band.iter().map(|p| p.lower).collect(),
                band.iter().map(|p| p.upper).collect(),
                PALETTE[5],
            ),
            Series::new(
                "CORP (isotonic)",
                SeriesKind::Line,
                at.corp.curve.x.clone(),
                at.corp.curve.y.clone(),
                PALETTE[2],
            ),
        ],
    )
}

fn histogram_chart(a: &Analysis) -> ChartSpec {
    let counts = |at: &AtTemperature| -> Vec<f64> {
        at.metrics
            .reliability
            .bins
            .iter()
            .map(|b| b.count as f64)
            .collect()
    };
    let (before, after) = (counts(&a.before), counts(&a.after));
    let x: Vec<f64> = (0..before.len().max(after.len()))
        .map(|i| i as f64)
        .collect();
    let mut spec = ChartSpec::new(
        "Samples per bin",
        ("bin", ScaleKind::Linear),
        ("samples", ScaleKind::Linear),
        vec![
            Series::new("T = 1", SeriesKind::Bars, x.clone(), before, PALETTE[1]),
            Series::new(
                format!("T* = {:.4}", a.fit.temperature),
                SeriesKind::Bars,
                x.clone(),
                after,
                PALETTE[0],
            ),
        ],
    );
    spec.categories = x.iter().map(|i| format!("{}", *i as usize + 1)).collect();
    spec
}

fn nll_chart(a: &Analysis, slider: Option<f64>) -> ChartSpec {
    let (t, y): (Vec<f64>, Vec<f64>) = a.nll_curve.iter().map(|p| (p[0], p[1])).unzip();
    let (lo, hi) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let mut series = vec![
        Series::new("mean NLL", SeriesKind::Line, t, y, PALETTE[0]),
        Series::new(
            format!("T* = {:.6}", a.fit.temperature),
            SeriesKind::Scatter,
            vec![a.fit.temperature],
            vec![a.fit.nll],
            PALETTE[1],
        ),
    ];
    if let Some(s) = slider {
        series.push(Series::new(
            format!("T = {s}"),
            SeriesKind::Line,
            vec![s, s],
            vec![lo, hi],
            PALETTE[2],
        ));
    }
    ChartSpec::new(
        "Mean NLL against the temperature",
        ("temperature T", ScaleKind::Log),
        ("mean NLL", ScaleKind::Linear),
        series,
    )
}

/// The results panel.
#[component]
pub(super) fn ResultPanel(page: CalibratePage) -> impl IntoView {
    let out = page.analyse.output();
    let url = page.url;
    let summary = Signal::derive(move || {
        out.with(|a| {
            a.as_ref()
                .map(|a| {
                    format!(
                        "{} rows × {} classes ({}): T* = {:.6} after {} Newton steps, |∂NLL/∂β| = {:.1e}; mean NLL {:.6} → {:.6}.",
                        a.rows,
                        a.classes,
                        match a.kind {
                            ScoreKind::Logits => "logits",
                            ScoreKind::Probabilities => "probabilities",
                        },
                        a.fit.temperature,
                        a.fit.iterations,
                        a.fit.gradient.abs(),
                        a.fit.nll_before,
                        a.fit.nll
                    )
                })
                .unwrap_or_default()
        })
    });
    let export_error = RwSignal::new(None::<String>);
    let export = move |json: bool| {
        let Some(a) = out.get_untracked() else { return };
        let (name, mime, text) = if json {
            match serde_json::to_string_pretty(&a) {
                Ok(t) => ("calibration.json", "application/json", t),
                Err(e) => {
                    export_error.set(Some(format!("Export failed: {e}")));
                    return;
                }
            }
        } else {
            ("calibration-metrics.csv", "text/csv", metrics_csv(&a))
        };
        export_error.set(
            download_text(name, mime, &text)
                .err()
                .map(|e| format!("Export failed: {e:?}")),
        );
    };
    let before_chart = Signal::derive(move || match out.get() {
        Some(a) => reliability_chart(&a.before, "Reliability at T = 1".into()),
        None => ChartSpec::pending(
            "Reliability at T = 1",
            "The diagram appears when the analysis is done.",
        ),
    });
    let after_chart = Signal::derive(move || match out.get() {
        Some(a) => reliability_chart(
            &a.after,
            format!("Reliability at T* = {:.4}", a.fit.temperature),
        ),
        None => ChartSpec::pending(
            "Reliability after temperature scaling",
            "The diagram appears when the analysis is done.",
        ),
    });
    let counts_chart = Signal::derive(move || match out.get() {
        Some(a) => histogram_chart(&a),
        None => ChartSpec::pending(
            "Samples per bin",
            "The histogram appears when the analysis is done.",
        ),
    });
    let slider = page.slider;
    let curve_chart = Signal::derive(move || match out.get() {
        Some(a) => nll_chart(&a, slider.ok()),
        None => ChartSpec::pending(
            "Mean NLL against the temperature",
            "The curve appears when the analysis is done.",
        ),
    });
    let slider_readout = move || {
        let t = slider.ok()?;
        out.with(|a| {
            let a = a.as_ref()?;
            Some(match nll_on_curve(&a.nll_curve, t) {
                Some(v) => format!("At T = {t}: mean NLL ≈ {v:.6} (read off the curve; the minimum is {:.6} at T* = {:.6}).", a.fit.nll, a.fit.temperature),
                None => format!("T = {t} is outside the curve (T*/8 to 8·T*)."),
            })
        })
    };
    let metric_rows = move || {
        out.with(|a| {
            a.as_ref().map(|a| {
                METRICS
                    .iter()
                    .map(|(key, label, value, ci)| {
                        let cell = |at: &AtTemperature, col: &'static str| {
                            let i = ci.and_then(|f| f(at));
                            // Intervals asked for but this one's work too large (class-wise only).
                            let ci_text = match (i, ci.is_some() && at.intervals.is_some()) {
                                (Some(i), _) => interval(&i),
                                (None, true) => format!("not computed: rows × classes × resamples > {MAX_CLASSWISE_WORK:.0e}"),
                                (None, false) => String::new(),
                            };
                            view! {
                                <td class="num" data-col=col>{value(&at.metrics).map(fmt).unwrap_or_else(|| "—".into())}</td>
                                <td class="num" data-col=format!("{col}-ci")>{ci_text}</td>
                            }
                        };
                        view! {
                            <tr data-metric=*key>
                                <th scope="row">{*label}</th>
                                {cell(&a.before, "before")}
                                {cell(&a.after, "after")}
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let murphy_rows = move || {
        out.with(|a| {
            a.as_ref().map(|a| {
                [("before", &a.before), ("after", &a.after)]
                    .into_iter()
                    .map(|(key, at)| {
                        let m = &at.corp.murphy;
                        view! {
                            <tr data-at=key>
                                <th scope="row">{format!("T = {:.4}", at.temperature)}</th>
                                <td class="num" data-col="brier">{fmt(m.brier)}</td>
                                <td class="num" data-col="miscalibration">{fmt(m.miscalibration)}</td>
                                <td class="num" data-col="discrimination">{fmt(m.discrimination)}</td>
                                <td class="num" data-col="uncertainty">{fmt(m.uncertainty)}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let properness_rows = move || {
        out.with(|a| {
            a.as_ref().map(|a| {
                let p = &a.properness;
                [
                    (
                        "model",
                        format!("The model at T* = {:.4}", a.fit.temperature),
                        &p.model,
                    ),
                    (
                        "frequency",
                        "The class-frequency forecaster".to_string(),
                        &p.frequency_forecaster,
                    ),
                ]
                .into_iter()
                .map(|(key, label, c)| {
                    view! {
                        <tr data-forecaster=key>
                            <th scope="row">{label}</th>
                            <td class="num" data-col="accuracy">{fmt(c.accuracy)}</td>
                            <td class="num" data-col="ece">{fmt(c.ece)}</td>
                            <td class="num" data-col="nll">{fmt(c.nll)}</td>
                            <td class="num" data-col="brier">{fmt(c.brier)}</td>
                        </tr>
                    }
                })
                .collect_view()
            })
        })
    };
    let has = move || out.with(|a| a.is_some());

    view! {
        <section class="panel" aria-labelledby="cal-ts-heading">
            <h2 id="cal-ts-heading">"Temperature scaling"</h2>
            <p>"T* minimises the mean NLL of softmax(z / T) (Guo et al. 2017), found by Newton's method on β = 1/T to the spacing of doubles; the certificate is the derivative there. The intervals are bootstrap percentiles (95 %) over resampled rows."</p>
            <JobStatus job=page.analyse id="cal" what="Analysis" summary=summary />
            <div class="table-scroll">
            <table id="cal-metrics">
                <thead><tr>
                    <th scope="col">"metric"</th>
                    <th scope="col">"T = 1"</th><th scope="col">"95 % interval"</th>
                    <th scope="col">"T = T*"</th><th scope="col">"95 % interval"</th>
                </tr></thead>
                <tbody>{metric_rows}</tbody>
            </table>
            </div>
            <div class="chart-actions">
                <button type="button" id="cal-export-json" disabled=move || !has() on:click=move |_| export(true)>"Analysis (JSON)"</button>
                <button type="button" id="cal-export-csv" disabled=move || !has() on:click=move |_| export(false)>"Metrics (CSV)"</button>
            </div>
            <p class="field-error" role="alert">{move || export_error.get().unwrap_or_default()}</p>
        </section>
        <section class="panel" aria-labelledby="cal-rel-heading">
            <h2 id="cal-rel-heading">"Reliability diagrams"</h2>
            <p>"Each bin's accuracy at its mean confidence; the isotonic (PAV) curve is CORP's reliability diagram (Dimitriadis et al. 2021), and its band holds 90 % of the curves of data drawn from a calibrated model with these confidences."</p>
            <div class="chart-pair">
                <Chart spec=before_chart id="cal-rel-before" />
                <Chart spec=after_chart id="cal-rel-after" />
            </div>
            <Chart spec=counts_chart id="cal-counts" />
        </section>
        <section class="panel" aria-labelledby="cal-nll-heading">
            <h2 id="cal-nll-heading">"NLL against the temperature"</h2>
            <div class="controls">
                <div class="field wide">
                    <label for="cal-t-slider">"Temperature (log scale)"</label>
                    <input id="cal-t-slider" type="range" min="-2" max="2" step="0.001"
                        prop:value=move || slider.ok().map(|t| t.log10()).unwrap_or(0.0).to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                url.set("tt", Some(format!("{:.4}", 10f64.powf(v))));
                            }
                        } />
                </div>
                <Field key="tt" label="T" text=slider.text error=slider.error() id_prefix="cal-" hint="0.01 to 100" />
            </div>
            <p id="cal-slider-readout">{slider_readout}</p>
            <Chart spec=curve_chart id="cal-nll" />
        </section>
        <section class="panel" aria-labelledby="cal-murphy-heading">
            <h2 id="cal-murphy-heading">"Murphy decomposition (CORP)"</h2>
            <p>"The top-label Brier score = miscalibration − discrimination + uncertainty, with the isotonic fit as the recalibrated forecast."</p>
            <div class="table-scroll">
            <table id="cal-murphy">
                <thead><tr>
                    <th scope="col">""</th><th scope="col">"Brier"</th><th scope="col">"miscalibration"</th>
                    <th scope="col">"discrimination"</th><th scope="col">"uncertainty"</th>
                </tr></thead>
                <tbody>{murphy_rows}</tbody>
            </table>
            </div>
        </section>
        <section class="panel" aria-labelledby="cal-proper-heading">
            <h2 id="cal-proper-heading">"ECE is not a proper score"</h2>
            <p>"A forecaster that ignores the input and always predicts the class frequencies is perfectly calibrated — ECE 0 — and useless; NLL and Brier, which are proper, rank it below the model."</p>
            <div class="table-scroll">
            <table id="cal-properness">
                <thead><tr>
                    <th scope="col">""</th><th scope="col">"accuracy"</th><th scope="col">"ECE"</th>
                    <th scope="col">"NLL"</th><th scope="col">"Brier"</th>
                </tr></thead>
                <tbody>{properness_rows}</tbody>
            </table>
            </div>
        </section>
    }
}
