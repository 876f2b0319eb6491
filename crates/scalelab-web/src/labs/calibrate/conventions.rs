//! The same ECE under five libraries' conventions: the matrix (ECE, MCE and RMS per convention,
//! before and after scaling), ECE against the number of bins under each convention, and which
//! bin each convention put any one sample in (asked of the worker, which keeps the scores).

use leptos::prelude::*;
use scalelab_core::calibrate::conventions::Convention;

use super::CalibratePage;
use crate::format::fmt;
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::widgets::field::{parse_whole, Field, Parsed};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::calibrate::{AtTemperature, LocateSample, SampleAt};

fn convention_label(c: Convention) -> &'static str {
    match c {
        Convention::Guo => "Guo et al. / gpleiss: (lo, hi]",
        Convention::Torchmetrics => "torchmetrics: [lo, hi), conf = 1 in an extra bin",
        Convention::Netcal => "netcal: [lo, hi), last bin closed",
        Convention::SklearnUniform => "scikit-learn calibration_curve, uniform",
        Convention::SklearnQuantile => "scikit-learn calibration_curve, quantile",
    }
}

fn by_bins_chart(at: &AtTemperature, title: String) -> ChartSpec {
    ChartSpec::new(
        title,
        ("number of bins M", ScaleKind::Linear),
        ("ECE", ScaleKind::Linear),
        at.conventions
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Series::new(
                    <&'static str>::from(c.convention),
                    SeriesKind::Line,
                    (1..=c.ece_by_bins.len()).map(|m| m as f64).collect(),
                    c.ece_by_bins.clone(),
                    PALETTE[i % PALETTE.len()],
                )
            })
            .collect(),
    )
}

fn bin_text(at: &SampleAt, i: usize) -> (String, String) {
    match at.bins.get(i) {
        Some(b) => match (b.bin, b.edges) {
            (Some(bin), Some((lo, hi))) if lo == hi => {
                (format!("{}", bin + 1), format!("extra bin: conf = {hi}"))
            }
            (Some(bin), Some((lo, hi))) => (format!("{}", bin + 1), format!("{lo:.4} – {hi:.4}")),
            _ => ("none".into(), "in no bin".into()),
        },
        None => (String::new(), String::new()),
    }
}

/// The conventions panel.
#[component]
pub(super) fn ConventionsPanel(page: CalibratePage) -> impl IntoView {
    let out = page.analyse.output();
    let row = Parsed::new(page.url, "row", "0", |t| {
        parse_whole(t, "row", 0, usize::MAX)
    });
    // A row past the data is an error beside the field (the count comes with the analysis).
    let row_error = Signal::derive(move || {
        row.error().get().or_else(|| {
            let r = row.ok()?;
            out.with(|a| {
                let n = a.as_ref()?.rows;
                (r >= n).then(|| {
                    format!(
                        "row {r} is past the last row ({}); rows are numbered from 0",
                        n - 1
                    )
                })
            })
        })
    });
    let sample = use_job::<LocateSample>();
    Effect::new(move |_| {
        let (Some(r), None) = (row.ok(), row_error.get()) else {
            return;
        };
        let req = out.with(|a| {
            a.as_ref().map(|a| LocateSample {
                scores: a.scores,
                row: r,
                bins: a.before.conventions.first().map_or(15, |c| c.bins),
            })
        });
        if let Some(req) = req {
            sample.run(req);
        }
    });
    let found = sample.output();
    let convention_rows = move || {
        out.with(|a| {
            a.as_ref().map(|a| {
                a.before
                    .conventions
                    .iter()
                    .zip(&a.after.conventions)
                    .map(|(b, f)| {
                        let key: &'static str = b.convention.into();
                        view! {
                            <tr data-convention=key>
                                <th scope="row">{convention_label(b.convention)}</th>
                                <td class="num" data-col="bins">{b.bins}</td>
                                <td class="num" data-col="ece-before">{fmt(b.ece)}</td>
                                <td class="num" data-col="mce-before">{fmt(b.mce)}</td>
                                <td class="num" data-col="rms-before">{fmt(b.rms)}</td>
                                <td class="num" data-col="ece-after">{fmt(f.ece)}</td>
                                <td class="num" data-col="mce-after">{fmt(f.mce)}</td>
                                <td class="num" data-col="rms-after">{fmt(f.rms)}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let before_chart = Signal::derive(move || match &*out.read() {
        Some(a) => by_bins_chart(&a.before, "ECE against the number of bins, T = 1".into()),
        None => ChartSpec::pending(
            "ECE against the number of bins",
            "The curves appear when the analysis is done.",
        ),
    });
    let after_chart = Signal::derive(move || match &*out.read() {
        Some(a) => by_bins_chart(
            &a.after,
            format!(
                "ECE against the number of bins, T* = {:.4}",
                a.fit.temperature
            ),
        ),
        None => ChartSpec::pending(
            "ECE against the number of bins after scaling",
            "The curves appear when the analysis is done.",
        ),
    });
    let sample_summary = move || {
        found.with(|s| {
            s.as_ref().map(|s| {
                format!(
                    "Row {}: label {}, predicted {} ({}); top-label confidence {} at T = 1, {} at T* = {:.4}.",
                    s.row,
                    s.label,
                    s.predicted,
                    if s.label == s.predicted { "correct" } else { "wrong" },
                    s.before.confidence,
                    s.after.confidence,
                    s.after.temperature
                )
            })
        })
    };
    let sample_rows = move || {
        found.with(|s| {
            s.as_ref().map(|s| {
                s.before
                    .bins
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let key: &'static str = b.convention.into();
                        let (bb, be) = bin_text(&s.before, i);
                        let (ab, ae) = bin_text(&s.after, i);
                        view! {
                            <tr data-convention=key>
                                <th scope="row">{convention_label(b.convention)}</th>
                                <td class="num" data-col="bin-before">{bb}</td>
                                <td data-col="edges-before">{be}</td>
                                <td class="num" data-col="bin-after">{ab}</td>
                                <td data-col="edges-after">{ae}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    view! {
        <section class="panel" aria-labelledby="cal-conv-heading">
            <h2 id="cal-conv-heading">"One ECE, five conventions"</h2>
            <p>"The same top-label confidences binned as each library bins them, all with the number of bins chosen above: the numbers papers report differ by convention, not only by model."</p>
            <div class="table-scroll">
            <table id="cal-conventions">
                <thead><tr>
                    <th scope="col">"convention"</th><th scope="col">"bins"</th>
                    <th scope="col">"ECE, T = 1"</th><th scope="col">"MCE, T = 1"</th><th scope="col">"RMS, T = 1"</th>
                    <th scope="col">"ECE, T*"</th>
                    <th scope="col">"MCE, T*"</th><th scope="col">"RMS, T*"</th>
                </tr></thead>
                <tbody>{convention_rows}</tbody>
            </table>
            </div>
            <div class="chart-pair">
                <Chart spec=before_chart id="cal-bins-before" />
                <Chart spec=after_chart id="cal-bins-after" />
            </div>
            <h3>"Which bin is a sample in?"</h3>
            <div class="controls">
                <Field key="row" label="Row" text=row.text error=row_error id_prefix="cal-" hint="0-based, as in your file" />
            </div>
            <JobStatus job=sample id="cal-lookup" what="Lookup" idle="The lookup runs when the analysis is done." />
            <p id="cal-sample-summary">{sample_summary}</p>
            <div class="table-scroll">
            <table id="cal-sample">
                <thead><tr>
                    <th scope="col">"convention"</th>
                    <th scope="col">"bin, T = 1"</th><th scope="col">"its edges"</th>
                    <th scope="col">"bin, T*"</th><th scope="col">"its edges"</th>
                </tr></thead>
                <tbody>{sample_rows}</tbody>
            </table>
            </div>
        </section>
    }
}
