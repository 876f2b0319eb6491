//! The Fit lab's fitting panel: method, residual space, robust loss and its scale, starts,
//! bootstrap, seed, backtest and extrapolation (a loss curve's curve runs to the end of its
//! schedule instead) — each parsed with its error beside its field,
//! never replaced by a default — the Fit button, the job's status (Pause / Step / Cancel) and a
//! live chart of the multi-start.

use leptos::prelude::*;
use scalelab_core::fit::analysis::{MAX_BOOTSTRAP, MAX_EXTRAPOLATION, MAX_RANDOM_STARTS};
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::option_names::{LossKind, MethodKind, Named, StartsKind};
use scalelab_core::fit::{FitOptions, ResidualSpace};
use scalelab_core::CoreError;

use super::model::ParamTable;
use super::FitPage;
use crate::format::fmt;
use crate::job::JobState;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_positive, parse_whole, Field};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::fit::FitJob;

/// Links written before the option names were shared with the npm package used these.
fn legacy(name: &str) -> &str {
    match name {
        "ls" => "least_squares",
        "grid" => "hoffmann4500",
        other => other,
    }
}

fn named<T: Named>(what: &'static str, text: &str) -> Result<T, CoreError> {
    T::from_name(legacy(text)).ok_or_else(|| CoreError::InvalidValue {
        what,
        reason: format!("“{text}” is not one of {}", T::names()),
    })
}

type Parsed<T> = Memo<Result<T, CoreError>>;

/// The fitting options as typed (`*_text`) and parsed.
#[derive(Clone, Copy)]
pub(super) struct Options {
    residual_key: Signal<String>,
    loss_key: Signal<String>,
    method_key: Signal<String>,
    starts_key: Signal<String>,
    scale_text: Signal<String>,
    random_text: Signal<String>,
    boot_text: Signal<String>,
    seed_text: Signal<String>,
    holdout_text: Signal<String>,
    ext_text: Signal<String>,
    residual: Parsed<ResidualSpace>,
    loss: Parsed<LossKind>,
    method: Parsed<MethodKind>,
    starts: Parsed<StartsKind>,
    scale: Parsed<f64>,
    random: Parsed<usize>,
    boot: Parsed<usize>,
    seed: Parsed<usize>,
    holdout: Parsed<usize>,
    ext: Parsed<f64>,
}

fn err_of<T>(m: Parsed<T>) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + PartialEq + 'static,
{
    Signal::derive(move || m.with(|r| r.as_ref().err().map(|e| e.to_string())))
}

impl Options {
    pub fn read(url: UrlState, builtin: Memo<Option<BuiltinModel>>) -> Options {
        let raw = move |key: &'static str, default: &'static str| {
            let r = url.read(key);
            Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
        };
        let residual_key = raw("rs", "log");
        let loss_key = raw("loss", "l2");
        let method_key = raw("meth", "least_squares");
        let starts_key = raw("st", "single");
        let scale_text = raw("fs", "0.001");
        let random_text = raw("ns", "200");
        let boot_text = raw("boot", "0");
        let seed_text = raw("seed", "42");
        let holdout_text = raw("ho", "0");
        let ext_text = raw("ext", "10");
        let chinchilla = move || builtin.get() == Some(BuiltinModel::Chinchilla);
        Options {
            residual: Memo::new(move |_| residual_key.with(|t| named("residuals", t))),
            loss: Memo::new(move |_| loss_key.with(|t| named("robust loss", t))),
            method: Memo::new(move |_| {
                let m = method_key.with(|t| named::<MethodKind>("method", t))?;
                if m == MethodKind::Hoffmann && !chinchilla() {
                    return Err(CoreError::InvalidValue {
                        what: "method",
                        reason: "Hoffmann's objective applies to the Chinchilla model L(N, D) only; choose least squares or the Chinchilla law".into(),
                    });
                }
                Ok(m)
            }),
            starts: Memo::new(move |_| {
                let s = starts_key.with(|t| named::<StartsKind>("starts", t))?;
                if s == StartsKind::Hoffmann4500 && !chinchilla() {
                    return Err(CoreError::InvalidValue {
                        what: "starts",
                        reason: "the 4500-start grid is defined for the Chinchilla model only"
                            .into(),
                    });
                }
                Ok(s)
            }),
            scale: Memo::new(move |_| scale_text.with(|t| parse_positive(t, "loss scale"))),
            random: Memo::new(move |_| {
                random_text.with(|t| parse_whole(t, "random starts", 1, MAX_RANDOM_STARTS))
            }),
            boot: Memo::new(move |_| {
                boot_text.with(|t| parse_whole(t, "bootstrap resamples", 0, MAX_BOOTSTRAP))
            }),
            seed: Memo::new(move |_| seed_text.with(|t| parse_whole(t, "seed", 0, usize::MAX))),
            holdout: Memo::new(move |_| {
                holdout_text.with(|t| parse_whole(t, "held-out runs", 0, 1_000_000))
            }),
            ext: Memo::new(move |_| {
                ext_text.with(|t| parse_in_range(t, "extrapolation factor", 1.0, MAX_EXTRAPOLATION))
            }),
            residual_key,
            loss_key,
            method_key,
            starts_key,
            scale_text,
            random_text,
            boot_text,
            seed_text,
            holdout_text,
            ext_text,
        }
    }

    /// Whether the fit needs positive targets (log residuals, or Hoffmann's method).
    pub fn needs_positive_targets(&self) -> bool {
        self.residual.get() == Ok(ResidualSpace::Log)
            || self.method.get() == Ok(MethodKind::Hoffmann)
    }

    /// The fit request, or the first field that is wrong.
    pub fn request(&self, page: FitPage, params: ParamTable) -> Result<FitJob, String> {
        fn text<T>(r: Result<T, CoreError>) -> Result<T, String> {
            r.map_err(|e| e.to_string())
        }
        let prep = page.prep().get().ok_or("the data are being read")?;
        prep.table.as_ref().map_err(|e| e.message.clone())?;
        prep.observations.as_ref().map_err(|e| e.message.clone())?;
        prep.model.as_ref().map_err(|e| e.message.clone())?;
        if page.curve_law.get() {
            page.schedule.options.get()?;
        }
        let rows = params.0.get();
        let mut start = Vec::with_capacity(rows.len());
        let mut bounds = Vec::with_capacity(rows.len());
        for r in &rows {
            let name = &r.name;
            start.push(
                r.start
                    .1
                    .clone()
                    .map_err(|e| format!("start of {name}: {e}"))?,
            );
            let lo = r
                .lower
                .1
                .clone()
                .map_err(|e| format!("lower bound of {name}: {e}"))?;
            let hi = r
                .upper
                .1
                .clone()
                .map_err(|e| format!("upper bound of {name}: {e}"))?;
            bounds.push((lo, hi));
        }
        let loss = text(self.loss.get())?;
        let method = text(self.method.get())?;
        let scale = if loss.has_scale() || method == MethodKind::Hoffmann {
            text(self.scale.get())?
        } else {
            1.0
        };
        let starts = text(self.starts.get())?;
        let samples = if starts == StartsKind::Random {
            text(self.random.get())?
        } else {
            0
        };
        let seed = text(self.seed.get())? as u64;
        let bounded = bounds.iter().any(|(l, h)| l.is_finite() || h.is_finite());
        Ok(FitJob {
            input: page.input.get(),
            start,
            options: FitOptions {
                residual: text(self.residual.get())?,
                loss: loss.with_scale(scale),
                bounds: bounded.then_some(bounds),
                ..FitOptions::default()
            },
            method: method.with_delta(scale),
            starts: starts.with(samples, seed),
            bootstrap: text(self.boot.get())?,
            seed,
            extrapolate: text(self.ext.get())?,
            holdout: text(self.holdout.get())?,
        })
    }
}

/// A menu of `T`'s values under `key` in the URL, with its error beside it.
pub(super) fn select<T: Named>(
    url: UrlState,
    key: &'static str,
    label: &'static str,
    current: Signal<String>,
    error: Signal<Option<String>>,
    text: fn(T) -> &'static str,
) -> impl IntoView {
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=format!("fit-{key}")>{label}</label>
            <select id=format!("fit-{key}") on:change=move |ev| url.set(key, Some(event_target_value(&ev)))
                prop:value=move || legacy(&current.get()).to_string()>
                {T::ALL.iter().map(|&v| view! { <option value=v.name()>{text(v)}</option> }).collect_view()}
            </select>
            <p class="field-error" id=format!("{key}-error") role="alert">{move || error.get().unwrap_or_default()}</p>
        </div>
    }
}

/// The fitting panel.
#[component]
pub(super) fn OptionsPanel(
    page: FitPage,
    options: Options,
    request: Memo<Result<FitJob, String>>,
    start_fit: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let url = page.url;
    let o = options;
    let fit = page.fit;
    let curve_law = page.curve_law;
    let summary = Signal::derive(move || {
        let (Some(r), JobState::Done { millis }) = (fit.output().get(), fit.state().get()) else {
            return String::new();
        };
        format!(
            "Done in {millis:.0} ms: {} of {} starts converged; stopped because {}.",
            r.report.starts_converged,
            r.report.starts_run,
            r.report.fit.termination.describe()
        )
    });
    // The multi-start, live: the best objective so far and the converged starts, per start.
    let stream_chart = Signal::derive(move || {
        let s = page.stream.get();
        if s.len() < 2 {
            return ChartSpec::pending(
                "Multi-start: best objective so far",
                "With Hoffmann's grid or random starts, each finished start is drawn here as the fit runs.",
            );
        }
        let stride = s.len().div_ceil(600).max(1);
        let pts: Vec<_> = s.iter().step_by(stride).chain(s.last()).collect();
        let x: Vec<f64> = pts.iter().map(|p| p.index as f64 + 1.0).collect();
        ChartSpec::new(
            format!(
                "Multi-start: best objective {} after {} starts, {} converged",
                s.last()
                    .and_then(|p| p.best_cost)
                    .map(fmt)
                    .unwrap_or_else(|| "—".into()),
                s.len(),
                s.last().map_or(0, |p| p.converged_so_far)
            ),
            ("starts finished", ScaleKind::Linear),
            ("best objective so far", ScaleKind::Log),
            vec![Series::new(
                "best objective",
                SeriesKind::Line,
                x.clone(),
                pts.iter()
                    .map(|p| p.best_cost.unwrap_or(f64::NAN))
                    .collect(),
                PALETTE[0],
            )],
        )
    });
    let converged_chart = Signal::derive(move || {
        let s = page.stream.get();
        if s.len() < 2 {
            return ChartSpec::pending("Converged starts", "Streams with the multi-start.");
        }
        let stride = s.len().div_ceil(600).max(1);
        let pts: Vec<_> = s.iter().step_by(stride).chain(s.last()).collect();
        ChartSpec::new(
            "Converged starts",
            ("starts finished", ScaleKind::Linear),
            ("converged", ScaleKind::Linear),
            vec![Series::new(
                "converged starts",
                SeriesKind::Line,
                pts.iter().map(|p| p.index as f64 + 1.0).collect(),
                pts.iter().map(|p| p.converged_so_far as f64).collect(),
                PALETTE[2],
            )],
        )
    });
    let show_stream = Signal::derive(move || {
        o.starts.get().is_ok_and(|s| s != StartsKind::Single) || page.stream.with(|s| s.len() > 1)
    });

    view! {
        <section class="panel" aria-labelledby="options-heading">
            <h2 id="options-heading">"Fitting"</h2>
            <div class="controls">
                {select::<MethodKind>(url, "meth", "Method", o.method_key, err_of(o.method), |m| match m {
                    MethodKind::LeastSquares => "Least squares (Levenberg–Marquardt)",
                    MethodKind::Hoffmann => "Hoffmann: Huber on log loss, L-BFGS (Chinchilla)",
                })}
                {select::<ResidualSpace>(url, "rs", "Residuals", o.residual_key, err_of(o.residual), |r| match r {
                    ResidualSpace::Log => "log space: ln y − ln f",
                    ResidualSpace::Linear => "linear: y − f",
                })}
                {select::<LossKind>(url, "loss", "Robust loss", o.loss_key, err_of(o.loss), |l| match l {
                    LossKind::L2 => "L2",
                    LossKind::Huber => "Huber",
                    LossKind::SoftL1 => "soft L1",
                    LossKind::Cauchy => "Cauchy",
                })}
                <Field key="fs" id_prefix="fit-" label="Huber δ / loss scale" text=o.scale_text error=err_of(o.scale) />
                {select::<StartsKind>(url, "st", "Starts", o.starts_key, err_of(o.starts), |s| match s {
                    StartsKind::Single => "the starting values",
                    StartsKind::Hoffmann4500 => "Hoffmann's 4500-start grid (Chinchilla)",
                    StartsKind::Random => "random (Latin hypercube)",
                })}
                <Field key="ns" id_prefix="fit-" label="Random starts" text=o.random_text error=err_of(o.random) />
                <Field key="boot" id_prefix="fit-" label="Bootstrap resamples (0 = off)" text=o.boot_text error=err_of(o.boot) />
                <Field key="seed" id_prefix="fit-" label="Seed" text=o.seed_text error=err_of(o.seed) />
                <Field key="ho" id_prefix="fit-" label="Backtest: hold out the largest runs (a curve's last points)" text=o.holdout_text error=err_of(o.holdout) />
                {move || (!curve_law.get()).then(|| view! {
                    <Field key="ext" id_prefix="fit-" label="Extrapolate to × largest run" text=o.ext_text error=err_of(o.ext) />
                })}
            </div>
            <div class="controls sweep-actions">
                <button type="button" id="fit-run" on:click=move |_| start_fit()
                    disabled=move || request.with(|r| r.is_err())>"Fit"</button>
            </div>
            <p class="field-error" id="fit-request-error" role="alert">{move || request.with(|r| r.as_ref().err().cloned()).unwrap_or_default()}</p>
            <JobStatus job=fit id="fit" what="Fit" summary=summary />
            <Show when=move || show_stream.get()>
                <div class="chart-pair">
                    <Chart spec=stream_chart id="fit-stream" />
                    <Chart spec=converged_chart id="fit-converged" />
                </div>
            </Show>
        </section>
    }
}
