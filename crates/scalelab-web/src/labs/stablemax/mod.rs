//! The StableMax numerics explorer: softmax against StableMax on a logit vector — a handful of
//! classes or a whole LLM vocabulary — under a scale and an emulated precision, where Softmax
//! Collapse sets in, and the correct-class gradient against the scale in all four precisions. All
//! of it is computed in the worker from the logits' text; the page shows a summary and the top
//! classes, so 250 000 logits cost the page no more than four.

mod grokking;
mod grokking_form;

use leptos::prelude::*;
use scalelab_core::stablemax::Loss;
use scalelab_core::Precision;

use crate::format::fmt;
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_whole, Field};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::stablemax::{
    CollapseOnsets, Exploration, Explore, ExplorerView, GradientSweep, MAX_SCALE, MIN_SCALE,
    TOP_ROWS,
};

const DEFAULT_LOGITS: &str = "2, 1, 0.5, -1";
const DEFAULT_POINTS: &str = "400";
/// Largest class index the field accepts (the worker checks it against the logits).
const MAX_CLASS: usize = 10_000_000;

const PRESETS: [(&str, &str); 5] = [
    ("2, 1, 0.5, -1", "Four classes"),
    ("0, 1, 2", "[0, 1, 2]: StableMax = [1/6, 1/3, 1/2]"),
    ("5, -5, 0", "[5, −5, 0]: StableMax = [36/43, 1/43, 6/43]"),
    ("-1, -3, 0, 2", "[−1, −3, 0, 2]: s = [1/2, 1/4, 1, 3]"),
    ("1, 0", "Two classes [Δ, 0]: collapse at Δ ≈ p·ln 2"),
];

fn err<T>(r: &Result<T, scalelab_core::CoreError>) -> Option<String> {
    r.as_ref().err().map(|e| e.to_string())
}

/// The StableMax lab page.
#[component]
pub fn StableMaxLab() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let logits_text = raw("z", DEFAULT_LOGITS);
    let logits_local = url.is_local("z");
    let target_text = raw("t", "0");
    let scale_text = raw("k", "1");
    let precision_text = raw("p", "f32");
    let points_text = raw("n", DEFAULT_POINTS);
    let chart_loss_text = raw("cl", "softmax");

    let target_parsed =
        Memo::new(move |_| target_text.with(|t| parse_whole(t, "correct class", 0, MAX_CLASS)));
    let scale_parsed =
        Memo::new(move |_| scale_text.with(|t| parse_in_range(t, "scale", MIN_SCALE, MAX_SCALE)));
    let precision_parsed = Memo::new(move |_| precision_text.with(|t| t.parse::<Precision>()));
    let points_parsed = Memo::new(move |_| {
        points_text.with(|t| parse_whole(t, "number of scales", 2, GradientSweep::MAX_POINTS))
    });
    let chart_loss =
        Memo::new(move |_| chart_loss_text.with(|t| t.parse::<Loss>().unwrap_or(Loss::Softmax)));
    let precision = Memo::new(move |prev: Option<&Precision>| {
        precision_parsed
            .get()
            .unwrap_or_else(|_| prev.copied().unwrap_or(Precision::F32))
    });

    // The worker's jobs: the explorer at (z, t, k, p), the onsets of z, the sweep of (z, t, loss, n).
    let explore = use_job::<Explore>();
    let onsets = use_job::<CollapseOnsets>();
    let sweep = use_job::<GradientSweep>();
    Effect::new(move |_| {
        if let (Ok(target), Ok(scale), Ok(precision)) = (
            target_parsed.get(),
            scale_parsed.get(),
            precision_parsed.get(),
        ) {
            explore.run(Explore {
                logits: logits_text.get(),
                target,
                scale,
                precision,
            });
        }
    });
    Effect::new(move |_| {
        onsets.run(CollapseOnsets {
            logits: logits_text.get(),
        })
    });
    let run_sweep = move || {
        if let (Ok(target), Ok(points)) = (target_parsed.get(), points_parsed.get()) {
            sweep.run(GradientSweep {
                logits: logits_text.get(),
                target,
                loss: chart_loss.get(),
                points,
            });
        }
    };
    Effect::new(move |_| run_sweep());

    // The last good view stays on screen while a field is wrong.
    let exploration = explore.output();
    let view_ok = Memo::new(
        move |prev: Option<&Option<ExplorerView>>| match exploration.get() {
            Some(Exploration::Ready(v)) => Some(v),
            _ => prev.cloned().flatten(),
        },
    );
    let logits_error = Signal::derive(move || match exploration.get() {
        Some(Exploration::BadLogits(f)) => Some(f.message),
        _ => None,
    });
    let target_error = Signal::derive(move || match (target_parsed.get(), exploration.get()) {
        (Err(e), _) => Some(e.to_string()),
        (Ok(_), Some(Exploration::BadTarget { failure, .. })) => Some(failure.message),
        _ => None,
    });
    let scale_error = Signal::derive(move || scale_parsed.with(err));
    let points_error = Signal::derive(move || points_parsed.with(err));
    let precision_error =
        Signal::derive(move || precision_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));

    let set_preset =
        move |z: &str| url.set_many(&[("z", Some(z.to_string())), ("t", Some("0".into()))]);
    let slider_value = move || format!("{:.3}", scale_parsed.get().unwrap_or(1.0).log10());
    let on_slider = move |ev| {
        let Ok(v) = event_target_value(&ev).parse::<f64>() else {
            return;
        };
        url.set("k", Some(fmt((10f64.powf(v) * 1000.0).round() / 1000.0)));
    };

    let probs_chart = Signal::derive(move || {
        let Some(v) = view_ok.get() else {
            return ChartSpec::pending("Probabilities", "Computing the probabilities…");
        };
        let x: Vec<f64> = (0..v.rows.len()).map(|i| i as f64).collect();
        let title = if v.all_rows {
            format!(
                "Probabilities at ×{} in {}",
                fmt(scale_parsed.get().unwrap_or(1.0)),
                precision.get()
            )
        } else {
            format!(
                "Probabilities of the {} most probable classes (of {})",
                v.rows.len(),
                v.classes
            )
        };
        ChartSpec {
            y_range: Some((0.0, 1.0)),
            categories: v.rows.iter().map(|r| r.class.to_string()).collect(),
            ..ChartSpec::new(
                title,
                ("class", ScaleKind::Linear),
                ("probability", ScaleKind::Linear),
                vec![
                    Series::new(
                        "softmax",
                        SeriesKind::Bars,
                        x.clone(),
                        v.rows.iter().map(|r| r.softmax).collect(),
                        PALETTE[0],
                    ),
                    Series::new(
                        "StableMax",
                        SeriesKind::Bars,
                        x,
                        v.rows.iter().map(|r| r.stablemax).collect(),
                        PALETTE[1],
                    ),
                ],
            )
        }
    });

    let sweep_out = sweep.output();
    let onset_of = move |p: Precision| {
        onsets.output().with(|o| {
            o.as_ref()
                .and_then(|o| o.onsets.iter().find(|(q, _)| *q == p).map(|x| x.1))
        })
    };
    let gradient_chart = Signal::derive(move || {
        let Some(result) = sweep_out.get() else {
            return ChartSpec::pending(
                "Correct-class gradient against scale",
                "The sweep runs in the worker when the logits change (or press Recompute).",
            );
        };
        let floor = result
            .curves
            .iter()
            .flat_map(|c| c.gradient.iter())
            .map(|g| g.abs())
            .filter(|g| *g > 0.0)
            .fold(1.0f64, f64::min);
        let floor = 10f64.powf(floor.log10().floor() - 1.0);
        let mut series = Vec::new();
        for (i, c) in result.curves.iter().enumerate() {
            series.push(Series::new(
                format!("|∂L/∂z_y| {}", c.precision),
                SeriesKind::Line,
                result.scales.clone(),
                c.gradient.iter().map(|g| g.abs()).collect(),
                PALETTE[i % PALETTE.len()],
            ));
        }
        // Where the gradient is exactly 0: one line per precision just above the axis (breaks
        // where it is not), so thousands of zeros cost one path each.
        for (i, c) in result.curves.iter().enumerate() {
            if c.gradient.contains(&0.0) {
                let level = floor * (1.0 + 0.35 * i as f64);
                series.push(Series::new(
                    format!("exactly 0 in {}", c.precision),
                    SeriesKind::Line,
                    result.scales.clone(),
                    c.gradient
                        .iter()
                        .map(|&g| if g == 0.0 { level } else { f64::NAN })
                        .collect(),
                    PALETTE[i % PALETTE.len()],
                ));
            }
        }
        let selected = precision.get();
        if let Some(Some(onset)) = onset_of(selected) {
            series.insert(
                0,
                Series::band(
                    format!("collapsed in {selected}"),
                    vec![onset, MAX_SCALE],
                    vec![floor, floor],
                    vec![1.0, 1.0],
                    PALETTE[4],
                ),
            );
        }
        let loss = match chart_loss.get() {
            Loss::Softmax => "Softmax",
            Loss::StableMax => "StableMax",
        };
        ChartSpec {
            x_range: Some((MIN_SCALE, MAX_SCALE)),
            y_range: Some((floor * 0.7, 1.0)),
            ..ChartSpec::new(
                format!("{loss} cross-entropy: correct-class gradient against scale"),
                ("logit scale k", ScaleKind::Log),
                ("|∂L/∂z_y|", ScaleKind::Log),
                series,
            )
        }
    });
    let sweep_summary = Signal::derive(move || {
        let Some(r) = sweep_out.get() else {
            return String::new();
        };
        let firsts: Vec<String> = r
            .curves
            .iter()
            .map(|c| match c.first_zero {
                Some(k) => format!("{} from ×{}", c.precision, fmt(k)),
                None => format!("{} never", c.precision),
            })
            .collect();
        let millis = match sweep.state().get() {
            crate::job::JobState::Done { millis } => millis,
            _ => 0.0,
        };
        format!(
            "{} scales × 4 precisions in {millis:.0} ms. Gradient exactly 0: {}.",
            r.points,
            firsts.join(", ")
        )
    });

    view! {
        <h1>"StableMax and Softmax Collapse"</h1>
        <p class="lede">
            "Multiply a logit vector by a growing scale k. In finite precision the max-shifted softmax exp-sum "
            "eventually rounds to exactly 1: the softmax becomes one-hot, the loss rounds to 0 and the "
            "correct-class gradient vanishes (Softmax Collapse, Prieto et al., ICLR 2025). StableMax replaces "
            <code>"exp"</code>" by s(x) = x + 1 for x ≥ 0 and 1/(1 − x) for x < 0, which grows linearly and never collapses. "
            "Paste a whole vocabulary of logits (250 000 is fine): it is evaluated in a background worker."
        </p>
        <section class="controls" aria-label="Inputs">
            <div class="field wide">
                <label for="preset">"Preset"</label>
                <select id="preset" on:change=move |ev| set_preset(&event_target_value(&ev))
                    prop:value=move || logits_text.with(|z| {
                        PRESETS.iter().find(|(p, _)| p == z).map(|(p, _)| p.to_string()).unwrap_or_default()
                    })>
                    <option value="" disabled=true>"Your own logits"</option>
                    {PRESETS.iter().map(|(z, name)| view! { <option value=*z>{*name}</option> }).collect_view()}
                </select>
            </div>
            <Field key="z" label="Logits z (comma or space separated)" text=logits_text error=logits_error wide=true multiline=true />
            <Field key="t" label="Correct class y (0-based)" text=target_text error=target_error />
            <div class="field" class:invalid=move || precision_error.get().is_some()>
                <label for="p">"Precision"</label>
                <select id="p" on:change=move |ev| url.set("p", Some(event_target_value(&ev)))
                    prop:value=move || precision.get().name().to_string()>
                    {Precision::ALL.iter().map(|p| view! { <option value=p.name()>{p.name()}</option> }).collect_view()}
                </select>
                <p class="field-error" id="p-error" role="alert">{move || precision_error.get().unwrap_or_default()}</p>
            </div>
            <div class="field wide scale-field">
                <label for="scale-slider">"Scale k (log slider, ×1 … ×1000)"</label>
                <input id="scale-slider" type="range" min="0" max="3" step="0.001"
                    aria-label="Scale k, logarithmic"
                    prop:value=slider_value on:input=on_slider />
            </div>
            <Field key="k" label="Scale k" text=scale_text error=scale_error hint="1 to 1000" />
        </section>
        {move || logits_local.get().then(|| view! {
            <p class="hint" id="z-local">"These logits are too long for the link: it keeps the other settings only."</p>
        })}

        <section aria-labelledby="status-heading" class="panel">
            <h2 id="status-heading">"Collapse"</h2>
            {move || view_ok.get().map(|v| {
                let p = precision.get();
                let k = scale_parsed.get().unwrap_or(1.0);
                let soft = v.softmax;
                view! {
                    <p id="sc-status" data-collapsed=soft.collapsed.to_string() class:alert=soft.collapsed>
                        {if soft.collapsed {
                            format!("Softmax Collapse at ×{} in {p}: the max-shifted exp-sum is exactly 1, so the softmax is one-hot and the correct-class gradient is exactly 0.", fmt(k))
                        } else {
                            format!("No collapse at ×{} in {p}: the max-shifted exp-sum is {}.", fmt(k), fmt(soft.sum_exp))
                        }}
                    </p>
                }
            })}
            <p><a id="sc-train"
                href=move || url.href_with(&[("g_sp", Some(precision.get().name())), ("g_loss", Some("softmax"))]) + "#grokking"
                on:click=move |ev| {
                    ev.prevent_default();
                    url.set_many(&[("g_sp", Some(precision.get_untracked().name().to_string())), ("g_loss", Some("softmax".into()))]);
                    if let Some(panel) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("grokking")) {
                        panel.scroll_into_view();
                    }
                }>{move || format!("Train a network with softmax CE in {} and watch it collapse →", precision.get())}</a></p>
            <table id="onset-table" class="data">
                <caption>"Smallest scale at which the softmax collapses (bisection on k ∈ [1, 1000])"</caption>
                <thead><tr><th scope="col">"precision"</th><th scope="col">"significand bits"</th><th scope="col">"collapse sets in at k ="</th></tr></thead>
                <tbody>
                    {Precision::ALL.iter().map(|&p| {
                        let onset = move || onset_of(p);
                        view! {
                            <tr data-precision=p.name() class:selected=move || precision.get() == p>
                                <td>{p.name()}</td>
                                <td>{p.significand_bits()}</td>
                                <td class="num" data-onset=move || match onset() { Some(Some(k)) => k.to_string(), _ => String::new() }>
                                    {move || match onset() {
                                        Some(Some(k)) => fmt(k),
                                        Some(None) => "no collapse up to ×1000".to_string(),
                                        None => "…".to_string(),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>

        <section aria-labelledby="side-heading" class="panel">
            <h2 id="side-heading">"Softmax and StableMax side by side"</h2>
            <JobStatus job=explore id="explore" what="Evaluation" idle="Waiting for the worker…" />
            {move || view_ok.get().map(|v| {
                let p = precision.get();
                let k = scale_parsed.get().unwrap_or(1.0);
                let y = target_parsed.get().unwrap_or(0);
                let caption = if v.all_rows {
                    format!("Computed in {p} at scale ×{}; class {y} is correct", fmt(k))
                } else {
                    format!(
                        "The {TOP_ROWS} classes with the largest logits and the correct class {y}, of {} classes — computed in {p} at scale ×{}",
                        v.classes, fmt(k))
                };
                view! {
                    <dl class="losses">
                        <dt>"Softmax cross-entropy"</dt><dd id="loss-softmax" class="num">{fmt(v.softmax.loss)}</dd>
                        <dt>"StableMax cross-entropy"</dt><dd id="loss-stablemax" class="num">{fmt(v.stablemax.loss)}</dd>
                    </dl>
                    <p id="vocab-summary" data-classes=v.classes data-zero=v.zero_softmax>
                        {format!("{} classes; logits from {} to {}; {} classes have softmax probability exactly 0 in {p}.",
                            v.classes, fmt(v.logit_range.1), fmt(v.logit_range.0), v.zero_softmax)}
                    </p>
                    <div class="table-scroll">
                    <table id="probs-table" class="data" data-all=v.all_rows.to_string()>
                        <caption>{caption}</caption>
                        <thead><tr>
                            <th scope="col">"class"</th><th scope="col">"z"</th><th scope="col">"s(k·z)"</th>
                            <th scope="col">"softmax p"</th><th scope="col">"StableMax p"</th>
                            <th scope="col">"∂L/∂z softmax"</th><th scope="col">"∂L/∂z StableMax"</th>
                        </tr></thead>
                        <tbody>
                            {v.rows.into_iter().map(|r| view! {
                                <tr class:selected=r.class == y data-class=r.class>
                                    <td>{r.class}</td>
                                    <td class="num">{fmt(r.z)}</td>
                                    <td class="num" data-col="s">{fmt(r.s)}</td>
                                    <td class="num" data-col="softmax">{fmt(r.softmax)}</td>
                                    <td class="num" data-col="stablemax">{fmt(r.stablemax)}</td>
                                    <td class="num" data-col="grad-softmax">{fmt(r.grad_softmax)}</td>
                                    <td class="num" data-col="grad-stablemax">{fmt(r.grad_stablemax)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }
            })}
            <Chart spec=probs_chart id="probs" />
        </section>

        <section aria-labelledby="sweep-heading" class="panel">
            <h2 id="sweep-heading">"Gradient against scale, all four precisions"</h2>
            <p>"Computed in a background worker over log-spaced scales from ×1 to ×1000; the page stays responsive, and you can pause, step (one scale at a time) or cancel."</p>
            <div class="controls">
                <div class="field">
                    <label for="cl">"Loss"</label>
                    <select id="cl" on:change=move |ev| url.set("cl", Some(event_target_value(&ev)))
                        prop:value=move || match chart_loss.get() { Loss::Softmax => "softmax", Loss::StableMax => "stablemax" }>
                        <option value="softmax">"softmax cross-entropy"</option>
                        <option value="stablemax">"StableMax cross-entropy"</option>
                    </select>
                </div>
                <Field key="n" label="Scales in the sweep" text=points_text error=points_error hint="2 to 200000" />
                <div class="field sweep-actions">
                    <button type="button" id="sweep-run" on:click=move |_| run_sweep()>"Recompute"</button>
                </div>
            </div>
            <JobStatus job=sweep id="sweep" what="Sweep" summary=sweep_summary />
            <Chart spec=gradient_chart id="gradient" />
        </section>

        <grokking::GrokkingPanel />
    }
}
