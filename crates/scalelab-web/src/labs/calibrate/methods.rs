//! Is temperature scaling enough? Every recalibration method — temperature, vector and matrix
//! scaling, histogram binning, isotonic regression — fitted on a seeded calibration split of the
//! analysed scores and scored on the rest, with the chosen method's test reliability diagram.
//! The worker keeps the scores after the analysis, so only the split's options cross.

use leptos::prelude::*;
use scalelab_core::calibrate::methods::{
    Method, MethodComparison, MethodOutcome, MethodScore, DEFAULT_CALIBRATION_FRACTION,
    DEFAULT_PENALTY,
};
use scalelab_core::calibrate::scaling::MAX_PENALTY;

use super::results::reliability_diagram;
use super::CalibratePage;
use crate::format::fmt;
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec};
use crate::widgets::field::{parse_in_range, parse_whole, Field, Parsed};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::calibrate::CompareMethods;

fn method_label(m: Method) -> &'static str {
    match m {
        Method::Uncalibrated => "Uncalibrated",
        Method::Temperature => "Temperature scaling",
        Method::VectorScaling => "Vector scaling",
        Method::MatrixScaling => "Matrix scaling",
        Method::HistogramBinning => "Histogram binning",
        Method::Isotonic => "Isotonic regression",
    }
}

fn scored(c: &MethodComparison, m: Method) -> Option<&MethodScore> {
    c.outcomes.iter().find_map(|o| match o {
        MethodOutcome::Scored(s) if s.method == m => Some(s),
        _ => None,
    })
}

/// The method comparison panel.
#[component]
pub(super) fn MethodsPanel(page: CalibratePage) -> impl IntoView {
    let url = page.url;
    let analysis = page.analyse.output();
    let fraction = Parsed::new(url, "cf", DEFAULT_CALIBRATION_FRACTION.to_string(), |t| {
        parse_in_range(t, "calibration share", 0.01, 0.99)
    });
    let split_seed = Parsed::new(url, "cs", "0", |t| {
        parse_whole(t, "split seed", 0, u32::MAX as usize)
    });
    let penalty = Parsed::new(url, "lam", DEFAULT_PENALTY.to_string(), |t| {
        parse_in_range(t, "L2 penalty λ", 0.0, MAX_PENALTY)
    });
    let shown = url.read("cm_show");
    let job = use_job::<CompareMethods>();
    let request = Memo::new(move |_| -> Option<CompareMethods> {
        let scores = analysis.with(|a| a.as_ref().map(|a| a.scores))?;
        Some(CompareMethods {
            scores,
            fraction: fraction.ok()?,
            seed: split_seed.ok()? as u64,
            binning: page.binning.get()?,
            penalty: penalty.ok()?,
        })
    });
    let out = job.output();
    let summary = Signal::derive(move || {
        out.with(|c| {
            c.as_ref()
                .map(|c| {
                    format!(
                        "Fitted on {} calibration rows, scored on {} test rows.",
                        c.calibration_rows, c.test_rows
                    )
                })
                .unwrap_or_default()
        })
    });
    let rows = move || {
        out.with(|c| {
            c.as_ref().map(|c| {
                c.outcomes
                    .iter()
                    .map(|o| match o {
                        MethodOutcome::Scored(s) => {
                            let key: &'static str = s.method.into();
                            let fit = match (s.temperature, s.gradient) {
                                (Some(t), Some(g)) => format!("T = {t:.4}, |∂NLL/∂β| = {g:.1e}"),
                                (None, Some(g)) => format!("max |∂F/∂θ| = {g:.1e}"),
                                _ => String::new(),
                            };
                            let opt = |v: Option<f64>| v.map(fmt).unwrap_or_else(|| "—".into());
                            view! {
                                <tr data-method=key>
                                    <th scope="row">{method_label(s.method)}</th>
                                    <td class="num" data-col="accuracy">{fmt(s.accuracy)}</td>
                                    <td class="num" data-col="nll">{opt(s.nll)}</td>
                                    <td class="num" data-col="brier">{opt(s.brier)}</td>
                                    <td class="num" data-col="ece">{fmt(s.ece)}</td>
                                    <td class="num" data-col="mce">{fmt(s.mce)}</td>
                                    <td class="num" data-col="rms">{fmt(s.rms)}</td>
                                    <td data-col="fit">{fit}</td>
                                </tr>
                            }
                            .into_any()
                        }
                        MethodOutcome::Refused {
                            method,
                            code,
                            message,
                        } => {
                            let key: &'static str = (*method).into();
                            view! {
                                <tr data-method=key data-refused=code.as_str()>
                                    <th scope="row">{method_label(*method)}</th>
                                    <td colspan="7" class="field-error">{message.clone()}</td>
                                </tr>
                            }
                            .into_any()
                        }
                    })
                    .collect_view()
            })
        })
    };
    let chart = Signal::derive(move || {
        let which = shown
            .get()
            .and_then(|k| k.parse::<Method>().ok())
            .unwrap_or(Method::Temperature);
        out.with(|c| match c.as_ref().and_then(|c| scored(c, which)) {
            Some(s) => reliability_diagram(
                format!("Test reliability: {}", method_label(which)),
                &s.reliability,
                "test bins: accuracy at mean confidence",
                Vec::new(),
            ),
            None => ChartSpec::pending(
                "Test reliability",
                "Press Compare: the diagram shows the chosen method on the test rows.",
            ),
        })
    });
    view! {
        <section class="panel" aria-labelledby="cm-heading">
            <h2 id="cm-heading">"Is temperature scaling enough? Every method on a held-out split"</h2>
            <p>"Each method is fitted on a seeded share of the rows and scored on the others (Guo et al. 2017): temperature scaling (one parameter), vector and matrix scaling (an affine map of the logits with an L2 penalty towards the identity), histogram binning and isotonic regression (maps of the top-label confidence only, so they have no NLL or Brier score). The errors use the binning chosen above."</p>
            <div class="controls">
                <Field key="cf" label="Calibration share" text=fraction.text error=fraction.error() id_prefix="cm-" hint="0.01 to 0.99 of the rows" />
                <Field key="cs" label="Split seed" text=split_seed.text error=split_seed.error() id_prefix="cm-" />
                <Field key="lam" label="L2 penalty λ" text=penalty.text error=penalty.error() id_prefix="cm-" hint="vector and matrix scaling, 0 to 10⁶" />
                <div class="field sweep-actions">
                    <button type="button" id="cm-run" disabled=move || request.with(|r| r.is_none())
                        on:click=move |_| if let Some(r) = request.get_untracked() { job.run(r) }>"Compare"</button>
                </div>
            </div>
            <JobStatus job=job id="cm" what="Comparison" summary=summary idle="Press Compare when the analysis is done: each method fits in the worker." />
            <div class="table-scroll">
            <table id="cm-table">
                <thead><tr>
                    <th scope="col">"method"</th><th scope="col">"accuracy"</th><th scope="col">"NLL"</th>
                    <th scope="col">"Brier"</th><th scope="col">"ECE"</th><th scope="col">"MCE"</th>
                    <th scope="col">"RMS"</th><th scope="col">"fit"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
            <div class="field">
                <label for="cm-show">"Diagram of"</label>
                <select id="cm-show" on:change=move |ev| url.set("cm_show", Some(event_target_value(&ev)))
                    prop:value=move || shown.get().unwrap_or_else(|| "temperature".into())>
                    {<Method as strum::VariantArray>::VARIANTS.iter().map(|&m| {
                        let key: &'static str = m.into();
                        view! { <option value=key>{method_label(m)}</option> }
                    }).collect_view()}
                </select>
            </div>
            <Chart spec=chart id="cm-rel" />
        </section>
    }
}
