//! The Fit lab's results: the parameter table with standard errors and bootstrap intervals, the
//! downloads (built by the worker from the full report when asked for), the backtest and allocation tables, and the
//! charts — data and fit with its bands, residuals, the compute-optimal frontier.

use leptos::prelude::*;
use scalelab_core::fit::analysis::{BandKind, CurveAxis};

use super::FitPage;
use crate::download::download_text;
use crate::format::fmt;
use crate::job::{use_job, JobState};
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::worker::jobs::fit::export::{ExportKind, FitExport};
use crate::worker::jobs::fit::prepare::DataAxis;

fn axis_scale(axis: DataAxis) -> ScaleKind {
    match axis {
        DataAxis::Step => ScaleKind::Linear,
        DataAxis::X | DataAxis::Compute => ScaleKind::Log,
    }
}

/// The data-and-fit, residual and frontier charts.
#[component]
pub(super) fn Charts(page: FitPage) -> impl IntoView {
    let prep = page.prep();
    let out = page.fit.output();
    let fit_chart = Signal::derive(move || {
        let data = prep.with(|p| p.as_ref().and_then(|p| p.observations.clone().ok()));
        let Some(data) = data else {
            return ChartSpec::pending(
                "Data and fit",
                "The runs are drawn here once the data are read.",
            );
        };
        let mut series = Vec::new();
        let report = out.get();
        if let Some(r) = &report {
            let c = &r.report.curve;
            if c.prediction_lower.iter().any(|v| v.is_finite()) {
                series.push(Series::band(
                    "95 % prediction band",
                    c.at.clone(),
                    c.prediction_lower.clone(),
                    c.prediction_upper.clone(),
                    PALETTE[5],
                ));
            }
            if c.band != BandKind::None {
                series.push(Series::band(
                    format!("95 % band ({})", c.band.label()),
                    c.at.clone(),
                    c.lower.clone(),
                    c.upper.clone(),
                    PALETTE[0],
                ));
            }
        }
        series.push(Series::new(
            "runs",
            SeriesKind::Scatter,
            data.x.clone(),
            data.y.clone(),
            PALETTE[1],
        ));
        if let Some(r) = &report {
            let label = if r.report.curve.axis == CurveAxis::ComputeOptimal {
                "fit: compute-optimal frontier"
            } else {
                "fit"
            };
            series.push(Series::new(
                label,
                SeriesKind::Line,
                r.report.curve.at.clone(),
                r.report.curve.mean.clone(),
                PALETTE[0],
            ));
            if let Some(b) = &r.report.backtest {
                series.push(Series::new(
                    "held out (backtest prediction)",
                    SeriesKind::Scatter,
                    r.backtest_x.clone(),
                    b.predicted.clone(),
                    PALETTE[3],
                ));
            }
        }
        let title = if data.count > data.x.len() {
            format!(
                "Data and fit ({} of {} observations drawn)",
                data.x.len(),
                data.count
            )
        } else {
            "Data and fit".into()
        };
        ChartSpec::new(
            title,
            (data.axis.label(), axis_scale(data.axis)),
            ("loss", ScaleKind::Log),
            series,
        )
    });
    let residual_chart = Signal::derive(move || {
        let Some(r) = out.get() else {
            return ChartSpec::pending(
                "Residuals",
                "Residuals y − f are drawn after a fit: press Fit.",
            );
        };
        let runs = r.runs;
        ChartSpec::new(
            "Residuals y − f",
            (runs.axis.label(), axis_scale(runs.axis)),
            ("residual", ScaleKind::Linear),
            vec![Series::new(
                "residual",
                SeriesKind::Scatter,
                runs.x,
                runs.residuals,
                PALETTE[2],
            )],
        )
    });
    let frontier_chart = Signal::derive(move || {
        let Some(a) = out.get().and_then(|r| r.report.allocation) else {
            return ChartSpec::pending(
                "Compute-optimal allocation",
                "Fit the Chinchilla law to see its frontier.",
            );
        };
        let cs: Vec<f64> = a.frontier.iter().map(|f| f.compute).collect();
        ChartSpec::new(
            "Compute-optimal allocation",
            ("compute C (FLOPs)", ScaleKind::Log),
            ("N_opt (parameters), D_opt (tokens)", ScaleKind::Log),
            vec![
                Series::new(
                    "N_opt(C)",
                    SeriesKind::Line,
                    cs.clone(),
                    a.frontier.iter().map(|f| f.params).collect(),
                    PALETTE[0],
                ),
                Series::new(
                    "D_opt(C)",
                    SeriesKind::Line,
                    cs,
                    a.frontier.iter().map(|f| f.tokens).collect(),
                    PALETTE[1],
                ),
            ],
        )
    });
    view! {
        <section class="panel fit-charts" aria-label="Charts">
            <Chart spec=fit_chart id="fit" />
            <Chart spec=residual_chart id="residuals" />
            {move || out.with(|o| o.as_ref().is_some_and(|r| r.report.allocation.is_some())).then(|| view! { <Chart spec=frontier_chart id="frontier" /> })}
        </section>
    }
}

/// The result tables and exports.
#[component]
pub(super) fn ResultPanel(page: FitPage) -> impl IntoView {
    let out = page.fit.output();
    // A download is built in the worker from the kept fit when asked for, then saved here.
    let download = use_job::<FitExport>();
    let export_error = RwSignal::new(None::<String>);
    let export = move |kind: ExportKind| {
        let Some(r) = out.get_untracked() else { return };
        export_error.set(None);
        download.run(FitExport { fit: r.kept, kind });
    };
    Effect::new(move |_| {
        if let Some(file) = download.output().get() {
            download.output().set(None);
            if let Err(e) = download_text(file.kind.file_name(), file.kind.mime(), &file.text) {
                export_error.set(Some(format!("Export failed: {e:?}")));
            }
        }
    });
    Effect::new(move |_| {
        if let JobState::Failed(error) = download.state().get() {
            export_error.set(Some(format!("Export failed: {}", error.message)));
        }
    });
    move || {
        out.get().map(|outcome| {
        let r = outcome.report;
        let ses = r.fit.std_errors.clone();
        let boot = r.bootstrap.clone();
        view! {
            <section class="panel" aria-labelledby="results-heading">
                <h2 id="results-heading">"Result"</h2>
                <div class="table-scroll">
                <table class="data" id="fit-params">
                    <caption>{format!("{} — cost {}, RSS {}, {} iterations", r.formula, fmt(r.fit.cost), fmt(r.fit.rss), r.fit.iterations)}</caption>
                    <thead><tr>
                        <th scope="col">"parameter"</th><th scope="col">"value"</th><th scope="col">"standard error"</th>
                        <th scope="col">"bootstrap SE"</th><th scope="col">"95 % CI (bootstrap)"</th>
                    </tr></thead>
                    <tbody>
                        {r.names.iter().enumerate().map(|(i, n)| view! {
                            <tr data-param=n.clone()>
                                <th scope="row">{n.clone()}</th>
                                <td class="num" data-col="value">{fmt(r.fit.params[i])}</td>
                                <td class="num" data-col="se">{ses.as_ref().map(|s| fmt(s[i])).unwrap_or_else(|| "—".into())}</td>
                                <td class="num" data-col="boot-se">{boot.as_ref().map(|b| fmt(b.std_errors[i])).unwrap_or_else(|| "—".into())}</td>
                                <td class="num" data-col="ci">{boot.as_ref().map(|b| format!("{} … {}", fmt(b.lower95[i]), fmt(b.upper95[i]))).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                {ses.is_none().then(|| view! { <p class="hint">"No standard errors: the covariance is singular or not defined for this objective (use the bootstrap)."</p> })}
                <div class="chart-actions">
                    <button type="button" id="export-params-csv" on:click=move |_| export(ExportKind::ParamsCsv)>"Parameters (CSV)"</button>
                    <button type="button" id="export-params-json" on:click=move |_| export(ExportKind::ParamsJson)>"Parameters (JSON)"</button>
                    <button type="button" id="export-predictions" on:click=move |_| export(ExportKind::PredictionsCsv)>"Predictions (CSV)"</button>
                    <button type="button" id="export-predictions-json" on:click=move |_| export(ExportKind::PredictionsJson)>"Predictions (JSON)"</button>
                </div>
                <p class="field-error" role="alert">{move || export_error.get().unwrap_or_default()}</p>
                {r.backtest.clone().map(|b| view! {
                    <div class="table-scroll">
                    <table class="data" id="fit-backtest">
                        <caption>{format!("Backtest: fitted without the {} largest runs, then predicted them ({})", b.indices.len(), b.termination.describe())}</caption>
                        <thead><tr><th scope="col">"row"</th><th scope="col">"actual"</th><th scope="col">"predicted"</th><th scope="col">"relative error"</th></tr></thead>
                        <tbody>
                            {b.indices.iter().enumerate().map(|(k, &i)| view! {
                                <tr><td>{i + 1}</td><td class="num">{fmt(b.actual[k])}</td><td class="num">{fmt(b.predicted[k])}</td>
                                <td class="num" data-col="rel">{format!("{:+.3} %", 100.0 * b.relative_error[k])}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                })}
                {r.allocation.clone().map(|a| view! {
                    <div class="table-scroll">
                    <table class="data" id="fit-allocation">
                        <caption>{format!("Compute-optimal allocation: G = {}, N_opt ∝ C^{}, D_opt ∝ C^{}", fmt(a.rule.g), fmt(a.rule.a), fmt(a.rule.b))}</caption>
                        <thead><tr><th scope="col">"C (FLOPs)"</th><th scope="col">"N_opt"</th><th scope="col">"D_opt"</th><th scope="col">"tokens / parameter"</th></tr></thead>
                        <tbody>
                            {a.frontier.iter().step_by(2).map(|f| view! {
                                <tr><td class="num">{format!("{:.2e}", f.compute)}</td><td class="num">{format!("{:.3e}", f.params)}</td>
                                <td class="num">{format!("{:.3e}", f.tokens)}</td><td class="num">{format!("{:.1}", f.tokens_per_param)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                })}
            </section>
        }
    })
    }
}
