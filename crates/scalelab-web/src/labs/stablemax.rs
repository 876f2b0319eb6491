//! The StableMax numerics explorer: softmax against StableMax on a logit vector under a scale and an
//! emulated precision, where Softmax Collapse sets in, and (computed in the worker) the correct-class
//! gradient against the scale in all four precisions.

use crate::labs::field::{parse_whole, Field};
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::worker::client::ComputeWorker;
use crate::worker::protocol::{FromWorker, GradientSweep, GradientSweepResult, Job, JobOutput};
use leptos::prelude::*;
use scalelab_core::io::parse_numbers;
use scalelab_core::stablemax::{collapse_onset_scale, evaluate, s, Evaluation, Loss};
use scalelab_core::{CoreError, Precision};

const DEFAULT_LOGITS: &str = "2, 1, 0.5, -1";
const MIN_SCALE: f64 = 1.0;
const MAX_SCALE: f64 = 1000.0;
const DEFAULT_POINTS: usize = 400;

const PRESETS: [(&str, &str); 5] = [
    ("2, 1, 0.5, -1", "Four classes"),
    ("0, 1, 2", "[0, 1, 2]: StableMax = [1/6, 1/3, 1/2]"),
    ("5, -5, 0", "[5, −5, 0]: StableMax = [36/43, 1/43, 6/43]"),
    ("-1, -3, 0, 2", "[−1, −3, 0, 2]: s = [1/2, 1/4, 1, 3]"),
    ("1, 0", "Two classes [Δ, 0]: collapse at Δ ≈ p·ln 2"),
];

/// A number for the tables: 12 significant digits, scientific outside [1e-4, 1e6).
pub fn fmt(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    if (1e-4..1e6).contains(&v.abs()) {
        let digits = (11 - v.abs().log10().floor() as i32).clamp(0, 15) as usize;
        let s = format!("{v:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        return s;
    }
    format!("{v:.6e}")
}

fn parse_scale(text: &str) -> Result<f64, CoreError> {
    let v = text
        .trim()
        .parse::<f64>()
        .map_err(|_| CoreError::InvalidValue {
            what: "scale",
            reason: format!(
                "“{}” is not a number; enter a scale between 1 and 1000",
                text.trim()
            ),
        })?;
    if !v.is_finite() || !(MIN_SCALE..=MAX_SCALE).contains(&v) {
        return Err(CoreError::OutOfRange {
            what: "scale",
            value: v,
            min: MIN_SCALE,
            max: MAX_SCALE,
        });
    }
    Ok(v)
}

fn parse_target(text: &str, classes: usize) -> Result<usize, CoreError> {
    let t = text.trim();
    let v = t.parse::<usize>().map_err(|_| CoreError::InvalidValue {
        what: "correct class",
        reason: format!(
            "“{t}” is not a class index; enter a whole number from 0 to {}",
            classes.saturating_sub(1)
        ),
    })?;
    if v >= classes {
        return Err(CoreError::IndexOutOfRange {
            what: "correct class",
            index: v,
            len: classes,
        });
    }
    Ok(v)
}

#[derive(Clone, PartialEq)]
enum Sweep {
    Idle,
    Running {
        done: u32,
        total: u32,
    },
    Done {
        result: GradientSweepResult,
        points: usize,
        millis: f64,
    },
    Cancelled,
    Failed(String),
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
    let target_text = raw("t", "0");
    let scale_text = raw("k", "1");
    let precision_text = raw("p", "f32");
    let points_text = raw("n", "400");
    let chart_loss_text = raw("cl", "softmax");

    // Parsed values; on an error the last valid value stays in use and the error shows by the field.
    let logits_parsed = Memo::new(move |_| logits_text.with(|t| parse_numbers(t, "logits")));
    let logits = Memo::new(move |prev: Option<&Vec<f64>>| match logits_parsed.get() {
        Ok(v) => v,
        Err(_) => prev
            .cloned()
            .unwrap_or_else(|| parse_numbers(DEFAULT_LOGITS, "logits").unwrap_or_default()),
    });
    let target_parsed =
        Memo::new(move |_| target_text.with(|t| parse_target(t, logits.with(Vec::len))));
    let target = Memo::new(move |prev: Option<&usize>| match target_parsed.get() {
        Ok(v) => v,
        Err(_) => prev
            .copied()
            .filter(|&p| p < logits.with(Vec::len))
            .unwrap_or(0),
    });
    let scale_parsed = Memo::new(move |_| scale_text.with(|t| parse_scale(t)));
    let scale = Memo::new(move |prev: Option<&f64>| {
        scale_parsed
            .get()
            .unwrap_or_else(|_| prev.copied().unwrap_or(1.0))
    });
    let precision_parsed = Memo::new(move |_| precision_text.with(|t| t.parse::<Precision>()));
    let precision = Memo::new(move |prev: Option<&Precision>| {
        precision_parsed
            .get()
            .unwrap_or_else(|_| prev.copied().unwrap_or(Precision::F32))
    });
    let points_parsed = Memo::new(move |_| {
        points_text.with(|t| parse_whole(t, "number of scales", 2, GradientSweep::MAX_POINTS))
    });
    let points = Memo::new(move |prev: Option<&usize>| {
        points_parsed
            .get()
            .unwrap_or_else(|_| prev.copied().unwrap_or(DEFAULT_POINTS))
    });
    let chart_loss =
        Memo::new(move |_| chart_loss_text.with(|t| t.parse::<Loss>().unwrap_or(Loss::Softmax)));

    let logits_error =
        Signal::derive(move || logits_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));
    let target_error =
        Signal::derive(move || target_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));
    let scale_error =
        Signal::derive(move || scale_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));
    let points_error =
        Signal::derive(move || points_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));
    let precision_error =
        Signal::derive(move || precision_parsed.with(|r| r.as_ref().err().map(|e| e.to_string())));

    // Main-thread evaluation: a handful of logits, microseconds.
    let evals = Memo::new(move |_| -> Result<(Evaluation, Evaluation), CoreError> {
        let (z, t, k, p) = (logits.get(), target.get(), scale.get(), precision.get());
        Ok((
            evaluate(&z, t, k, Loss::Softmax, p)?,
            evaluate(&z, t, k, Loss::StableMax, p)?,
        ))
    });
    let onsets = Memo::new(move |_| {
        let z = logits.get();
        Precision::ALL
            .iter()
            .map(|&p| (p, collapse_onset_scale(&z, p, MIN_SCALE, MAX_SCALE)))
            .collect::<Vec<_>>()
    });

    // The sweep runs in the worker whenever its inputs change; a newer request cancels the older one.
    let sweep = RwSignal::new(Sweep::Idle);
    let job = StoredValue::new(None::<u64>);
    let worker = use_context::<StoredValue<Option<ComputeWorker>, LocalStorage>>();
    let run_sweep = move || {
        let req = GradientSweep {
            logits: logits.get(),
            target: target.get(),
            loss: chart_loss.get(),
            min_scale: MIN_SCALE,
            max_scale: MAX_SCALE,
            points: points.get(),
        };
        let Some(worker) = worker.and_then(|w| w.get_value()) else {
            sweep.set(Sweep::Failed(
                "The compute worker could not be started in this browser.".into(),
            ));
            return;
        };
        if let Some(old) = job.get_value() {
            worker.cancel(old);
        }
        let started = now_ms();
        let n = req.points;
        sweep.set(Sweep::Running {
            done: 0,
            total: n as u32,
        });
        let id = worker.start(Job::GradientSweep(req), move |msg| {
            let current = job.get_value();
            let mine = |id: u64| current == Some(id);
            match msg {
                FromWorker::Progress {
                    id, done, total, ..
                } if mine(id) => sweep.set(Sweep::Running { done, total }),
                FromWorker::Done {
                    id,
                    output: JobOutput::GradientSweep(result),
                } if mine(id) => sweep.set(Sweep::Done {
                    result,
                    points: n,
                    millis: now_ms() - started,
                }),
                FromWorker::Cancelled { id } if mine(id) => sweep.set(Sweep::Cancelled),
                FromWorker::Failed { id, message, .. } if mine(id) => {
                    sweep.set(Sweep::Failed(message))
                }
                _ => {}
            }
        });
        job.set_value(Some(id));
    };
    Effect::new(move |_| run_sweep());
    let cancel = move |_| {
        if let (Some(w), Some(id)) = (worker.and_then(|w| w.get_value()), job.get_value()) {
            w.cancel(id);
        }
    };

    let set_preset =
        move |z: &str| url.set_many(&[("z", Some(z.to_string())), ("t", Some("0".into()))]);
    let slider_value = move || format!("{:.3}", scale.get().log10());
    let on_slider = move |ev| {
        let v: f64 = event_target_value(&ev).parse().unwrap_or(0.0);
        let k = 10f64.powf(v).clamp(MIN_SCALE, MAX_SCALE);
        url.set("k", Some(fmt((k * 1000.0).round() / 1000.0)));
    };

    let probs_chart = Signal::derive(move || {
        let (n, (soft, stable)) = match evals.get() {
            Ok(e) => (e.0.probs.len(), e),
            Err(_) => return ChartSpec::empty("Probabilities"),
        };
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        ChartSpec {
            title: format!(
                "Probabilities at ×{} in {}",
                fmt(scale.get()),
                precision.get()
            ),
            x_label: "class".into(),
            y_label: "probability".into(),
            x_scale: ScaleKind::Linear,
            y_scale: ScaleKind::Linear,
            x_range: None,
            y_range: Some((0.0, 1.0)),
            categories: (0..n).map(|i| i.to_string()).collect(),
            series: vec![
                Series::new(
                    "softmax",
                    SeriesKind::Bars,
                    x.clone(),
                    soft.probs,
                    PALETTE[0],
                ),
                Series::new("StableMax", SeriesKind::Bars, x, stable.probs, PALETTE[1]),
            ],
        }
    });

    let gradient_chart = Signal::derive(move || {
        let Sweep::Done { result, .. } = sweep.get() else {
            return ChartSpec::empty("Correct-class gradient against scale");
        };
        let loss = chart_loss.get();
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
            let color = PALETTE[i % PALETTE.len()];
            let mag: Vec<f64> = c.gradient.iter().map(|g| g.abs()).collect();
            series.push(Series::new(
                format!("|∂L/∂z_y| {}", c.precision),
                SeriesKind::Line,
                result.scales.clone(),
                mag,
                color,
            ));
        }
        for (i, c) in result.curves.iter().enumerate() {
            let (zx, zy): (Vec<f64>, Vec<f64>) = result
                .scales
                .iter()
                .zip(&c.gradient)
                .filter(|(_, g)| **g == 0.0)
                .map(|(x, _)| (*x, floor * (1.0 + 0.35 * i as f64)))
                .unzip();
            if !zx.is_empty() {
                series.push(Series::new(
                    format!("exactly 0 in {}", c.precision),
                    SeriesKind::Scatter,
                    zx,
                    zy,
                    PALETTE[i % PALETTE.len()],
                ));
            }
        }
        let selected = precision.get();
        if let Some(onset) = result
            .curves
            .iter()
            .find(|c| c.precision == selected)
            .and_then(|c| c.collapse_onset)
        {
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
        ChartSpec {
            title: format!(
                "{} cross-entropy: correct-class gradient against scale",
                match loss {
                    Loss::Softmax => "Softmax",
                    Loss::StableMax => "StableMax",
                }
            ),
            x_label: "logit scale k".into(),
            y_label: "|∂L/∂z_y|".into(),
            x_scale: ScaleKind::Log,
            y_scale: ScaleKind::Log,
            x_range: Some((MIN_SCALE, MAX_SCALE)),
            y_range: Some((floor * 0.7, 1.0)),
            categories: vec![],
            series,
        }
    });

    view! {
        <h1>"StableMax and Softmax Collapse"</h1>
        <p class="lede">
            "Multiply a logit vector by a growing scale k. In finite precision the max-shifted softmax exp-sum "
            "eventually rounds to exactly 1: the softmax becomes one-hot, the loss rounds to 0 and the "
            "correct-class gradient vanishes (Softmax Collapse, Prieto et al., ICLR 2025). StableMax replaces "
            <code>"exp"</code>" by s(x) = x + 1 for x ≥ 0 and 1/(1 − x) for x < 0, which grows linearly and never collapses."
        </p>
        <section class="controls" aria-label="Inputs">
            <div class="field wide">
                <label for="preset">"Preset"</label>
                <select id="preset" on:change=move |ev| set_preset(&event_target_value(&ev))
                    prop:value=move || {
                        let z = logits_text.get();
                        PRESETS.iter().find(|(p, _)| *p == z).map(|(p, _)| p.to_string()).unwrap_or_default()
                    }>
                    <option value="" disabled=true>"Your own logits"</option>
                    {PRESETS.iter().map(|(z, name)| view! { <option value=*z>{*name}</option> }).collect_view()}
                </select>
            </div>
            <Field key="z" label="Logits z (comma or space separated)" text=logits_text error=logits_error wide=true />
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

        <section aria-labelledby="status-heading" class="panel">
            <h2 id="status-heading">"Collapse"</h2>
            {move || evals.get().ok().map(|(soft, _)| {
                let p = precision.get();
                let k = scale.get();
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
            <table id="onset-table" class="data">
                <caption>"Smallest scale at which the softmax collapses (bisection on k ∈ [1, 1000])"</caption>
                <thead><tr><th scope="col">"precision"</th><th scope="col">"significand bits"</th><th scope="col">"collapse sets in at k ="</th></tr></thead>
                <tbody>
                    {move || onsets.get().into_iter().map(|(p, onset)| {
                        let onset_attr = match &onset { Ok(Some(k)) => k.to_string(), _ => String::new() };
                        view! {
                        <tr data-precision=p.name() class:selected=move || precision.get() == p>
                            <td>{p.name()}</td>
                            <td>{p.significand_bits()}</td>
                            <td class="num" data-onset=onset_attr>
                                {match onset {
                                    Ok(Some(k)) => fmt(k),
                                    Ok(None) => "no collapse up to ×1000".to_string(),
                                    Err(e) => e.to_string(),
                                }}
                            </td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </section>

        <section aria-labelledby="side-heading" class="panel">
            <h2 id="side-heading">"Softmax and StableMax side by side"</h2>
            {move || match evals.get() {
                Err(e) => view! { <p class="field-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok((soft, stable)) => {
                    let z = logits.get();
                    let p = precision.get();
                    let k = scale.get();
                    let y = target.get();
                    view! {
                        <dl class="losses">
                            <dt>"Softmax cross-entropy"</dt><dd id="loss-softmax" class="num">{fmt(soft.loss)}</dd>
                            <dt>"StableMax cross-entropy"</dt><dd id="loss-stablemax" class="num">{fmt(stable.loss)}</dd>
                        </dl>
                        <div class="table-scroll">
                        <table id="probs-table" class="data">
                            <caption>{format!("Computed in {p} at scale ×{}; class {y} is correct", fmt(k))}</caption>
                            <thead><tr>
                                <th scope="col">"class"</th><th scope="col">"z"</th><th scope="col">"s(k·z)"</th>
                                <th scope="col">"softmax p"</th><th scope="col">"StableMax p"</th>
                                <th scope="col">"∂L/∂z softmax"</th><th scope="col">"∂L/∂z StableMax"</th>
                            </tr></thead>
                            <tbody>
                                {z.iter().enumerate().map(|(i, &zi)| view! {
                                    <tr class:selected=i == y data-class=i>
                                        <td>{i}</td>
                                        <td class="num">{fmt(zi)}</td>
                                        <td class="num" data-col="s">{fmt(s(p.round(k * zi)))}</td>
                                        <td class="num" data-col="softmax">{fmt(soft.probs[i])}</td>
                                        <td class="num" data-col="stablemax">{fmt(stable.probs[i])}</td>
                                        <td class="num" data-col="grad-softmax">{fmt(soft.grad[i])}</td>
                                        <td class="num" data-col="grad-stablemax">{fmt(stable.grad[i])}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any()
                }
            }}
            <Chart spec=probs_chart id="probs" />
        </section>

        <section aria-labelledby="sweep-heading" class="panel">
            <h2 id="sweep-heading">"Gradient against scale, all four precisions"</h2>
            <p>"Computed in a background worker over log-spaced scales from ×1 to ×1000; the page stays responsive and you can cancel."</p>
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
                    <button type="button" id="sweep-cancel" on:click=cancel
                        disabled=move || !matches!(sweep.get(), Sweep::Running { .. })>"Cancel"</button>
                </div>
            </div>
            <div id="sweep-status" aria-live="polite" data-state=move || match sweep.get() {
                Sweep::Idle => "idle", Sweep::Running { .. } => "running", Sweep::Done { .. } => "done",
                Sweep::Cancelled => "cancelled", Sweep::Failed(_) => "failed",
            }>
                {move || match sweep.get() {
                    Sweep::Idle => view! { <span>"Waiting for the worker…"</span> }.into_any(),
                    Sweep::Running { done, total } => view! {
                        <progress max=total value=done></progress>
                        <span>{format!(" Computing… {done} of {total} scales")}</span>
                    }.into_any(),
                    Sweep::Done { result, points, millis } => {
                        let firsts: Vec<String> = result.curves.iter().map(|c| match c.first_zero {
                            Some(k) => format!("{} from ×{}", c.precision, fmt(k)),
                            None => format!("{} never", c.precision),
                        }).collect();
                        view! { <span>{format!("{points} scales × 4 precisions in {:.0} ms. Gradient exactly 0: {}.", millis, firsts.join(", "))}</span> }.into_any()
                    }
                    Sweep::Cancelled => view! { <span>"Cancelled."</span> }.into_any(),
                    Sweep::Failed(m) => view! { <span class="field-error" role="alert">{m}</span> }.into_any(),
                }}
            </div>
            <Chart spec=gradient_chart id="gradient" />
        </section>
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}
