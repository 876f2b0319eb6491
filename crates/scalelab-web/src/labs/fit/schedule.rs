//! The Fit lab's learning-rate schedule panel, shown for loss-curve laws: where the schedule of
//! every training step comes from (the learning-rate column, one row per step, or a named schedule
//! with its parameters, for curves logged every few steps), the warmup convention, and Tissue et
//! al.'s momentum decay λ — each parsed with its error beside its field.

use leptos::prelude::*;
use scalelab_core::fit::dataset::{CurveOptions, ScheduleSource};
use scalelab_core::fit::option_names::Named;
use scalelab_core::fit::schedule::{Schedule, WarmupChoice, WarmupConvention, MAX_SCHEDULE_STEPS};
use scalelab_core::CoreError;

use super::options::select;
use super::FitPage;
use crate::format::fmt;
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_positive, parse_whole, Field};

/// Where the schedule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceKind {
    /// The learning-rate column.
    Column,
    /// [`Schedule::Cosine`].
    Cosine,
    /// [`Schedule::Wsd`].
    Wsd,
    /// [`Schedule::Constant`].
    Constant,
}

impl Named for SourceKind {
    const ALL: &'static [Self] = &[
        SourceKind::Column,
        SourceKind::Cosine,
        SourceKind::Wsd,
        SourceKind::Constant,
    ];
    fn name(self) -> &'static str {
        match self {
            SourceKind::Column => "column",
            SourceKind::Cosine => "cosine",
            SourceKind::Wsd => "wsd",
            SourceKind::Constant => "constant",
        }
    }
}

/// The warmup convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConventionKind {
    /// [`WarmupConvention::Paper`].
    Paper,
    /// [`WarmupConvention::ReferenceCode`].
    ReferenceCode,
}

impl Named for ConventionKind {
    const ALL: &'static [Self] = &[ConventionKind::Paper, ConventionKind::ReferenceCode];
    fn name(self) -> &'static str {
        match self {
            ConventionKind::Paper => "paper",
            ConventionKind::ReferenceCode => "reference_code",
        }
    }
}

type Parsed<T> = Memo<Result<T, CoreError>>;

fn err_of<T>(m: Parsed<T>) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + PartialEq + 'static,
{
    Signal::derive(move || m.with(|r| r.as_ref().err().map(|e| e.to_string())))
}

fn named<T: Named>(what: &'static str, text: &str) -> Result<T, CoreError> {
    T::from_name(text).ok_or_else(|| CoreError::InvalidValue {
        what,
        reason: format!("“{text}” is not one of {}", T::names()),
    })
}

/// The schedule fields as typed (`*_text`) and parsed.
#[derive(Clone, Copy)]
pub(crate) struct ScheduleFields {
    source_key: Signal<String>,
    convention_key: Signal<String>,
    steps_text: Signal<String>,
    peak_text: Signal<String>,
    final_text: Signal<String>,
    warmup_text: Signal<String>,
    decay_text: Signal<String>,
    warmup_steps_text: Signal<String>,
    lambda_text: Signal<String>,
    source: Parsed<SourceKind>,
    convention: Parsed<ConventionKind>,
    steps: Parsed<usize>,
    peak: Parsed<f64>,
    final_lr: Parsed<f64>,
    warmup: Parsed<usize>,
    decay: Parsed<usize>,
    /// `None` (blank): detected from the schedule.
    warmup_steps: Parsed<Option<usize>>,
    lambda: Parsed<f64>,
    /// The curve options, or the first field that is wrong.
    pub options: Memo<Result<CurveOptions, String>>,
}

impl ScheduleFields {
    pub fn read(url: UrlState) -> ScheduleFields {
        let raw = move |key: &'static str, default: &'static str| {
            let r = url.read(key);
            Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
        };
        let source_key = raw("src", "column");
        let convention_key = raw("wc", "paper");
        let steps_text = raw("sch_t", "24000");
        let peak_text = raw("sch_pk", "3e-4");
        let final_text = raw("sch_fl", "3e-5");
        let warmup_text = raw("sch_wu", "2160");
        let decay_text = raw("sch_dc", "4000");
        let warmup_steps_text = raw("ws", "");
        let lambda_text = raw("lam", "0.999");
        let source = Memo::new(move |_| source_key.with(|t| named("schedule", t)));
        let convention = Memo::new(move |_| convention_key.with(|t| named("warmup convention", t)));
        let steps = Memo::new(move |_| {
            steps_text.with(|t| parse_whole(t, "schedule steps", 1, MAX_SCHEDULE_STEPS))
        });
        let total = move || steps.get().unwrap_or(MAX_SCHEDULE_STEPS);
        let peak = Memo::new(move |_| peak_text.with(|t| parse_positive(t, "peak learning rate")));
        let final_lr = Memo::new(move |_| {
            final_text.with(|t| parse_in_range(t, "final learning rate", 0.0, f64::MAX))
        });
        let warmup = Memo::new(move |_| {
            let t = total();
            warmup_text.with(|w| parse_whole(w, "warmup steps", 0, t))
        });
        let decay = Memo::new(move |_| {
            let t = total().saturating_sub(warmup.get().unwrap_or(0));
            decay_text.with(|d| parse_whole(d, "decay steps", 0, t))
        });
        let warmup_steps = Memo::new(move |_| {
            warmup_steps_text.with(|t| {
                if t.trim().is_empty() {
                    Ok(None)
                } else {
                    parse_whole(t, "warmup steps", 0, MAX_SCHEDULE_STEPS).map(Some)
                }
            })
        });
        let lambda = Memo::new(move |_| {
            lambda_text.with(|t| parse_in_range(t, "momentum decay λ", 0.0, 1.0))
        });
        let options = Memo::new(move |_| {
            let text = |e: CoreError| e.to_string();
            let source = match source.get().map_err(text)? {
                SourceKind::Column => ScheduleSource::Column,
                kind => {
                    let steps = steps.get().map_err(text)?;
                    let schedule = match kind {
                        SourceKind::Constant => Schedule::Constant {
                            steps,
                            lr: peak.get().map_err(text)?,
                        },
                        SourceKind::Cosine => Schedule::Cosine {
                            steps,
                            peak: peak.get().map_err(text)?,
                            final_lr: final_lr.get().map_err(text)?,
                            warmup: warmup.get().map_err(text)?,
                        },
                        _ => Schedule::Wsd {
                            steps,
                            peak: peak.get().map_err(text)?,
                            final_lr: final_lr.get().map_err(text)?,
                            warmup: warmup.get().map_err(text)?,
                            decay: decay.get().map_err(text)?,
                        },
                    };
                    ScheduleSource::Named { schedule }
                }
            };
            let warmup = match convention.get().map_err(text)? {
                ConventionKind::ReferenceCode => WarmupChoice::ReferenceCode,
                ConventionKind::Paper => match warmup_steps.get().map_err(text)? {
                    None => WarmupChoice::Detected,
                    Some(warmup_steps) => WarmupChoice::Paper { warmup_steps },
                },
            };
            Ok(CurveOptions {
                source,
                warmup,
                momentum_decay: lambda.get().map_err(text)?,
            })
        });
        ScheduleFields {
            source_key,
            convention_key,
            steps_text,
            peak_text,
            final_text,
            warmup_text,
            decay_text,
            warmup_steps_text,
            lambda_text,
            source,
            convention,
            steps,
            peak,
            final_lr,
            warmup,
            decay,
            warmup_steps,
            lambda,
            options,
        }
    }
}

/// The schedule panel (for loss-curve laws).
#[component]
pub(super) fn SchedulePanel(page: FitPage, fields: ScheduleFields) -> impl IntoView {
    let url = page.url;
    let f = fields;
    let named_source = move || f.source.get().is_ok_and(|s| s != SourceKind::Column);
    let kind = move || f.source.get().ok();
    let paper = move || f.convention.get() == Ok(ConventionKind::Paper);
    // What the worker made of the schedule: its length and the warmup in use.
    let summary = Signal::derive(move || {
        page.prep().with(|p| {
            let s = p.as_ref()?.schedule?;
            let warmup = match s.warmup {
                WarmupConvention::Paper { warmup_steps } => format!(
                    "{warmup_steps} warmup steps; their rising rates are not rate changes (the papers)"
                ),
                WarmupConvention::ReferenceCode => {
                    "every rate change counts, warmup included (the reference code)".to_string()
                }
            };
            Some(format!(
                "Schedule of {} steps, peak rate {}: {warmup}.",
                s.steps,
                fmt(s.peak)
            ))
        })
    });
    view! {
        <section class="panel" aria-labelledby="schedule-heading">
            <h2 id="schedule-heading">"Learning-rate schedule"</h2>
            <p class="hint">
                "Step s is the state after s updates with rates η₁…ηₛ. The laws sum over every training step, so a curve \
                 logged every 100 steps needs the schedule of every step: the learning-rate column (one row per step from \
                 step 1; rows without a loss count for the schedule only) or a named schedule."
            </p>
            <div class="controls">
                {select::<SourceKind>(url, "src", "Schedule", f.source_key, err_of(f.source), |s| match s {
                    SourceKind::Column => "the learning-rate column (one row per step)",
                    SourceKind::Cosine => "cosine with linear warmup",
                    SourceKind::Wsd => "warmup–stable–decay (linear decay)",
                    SourceKind::Constant => "constant",
                })}
                {move || named_source().then(|| view! {
                    <Field key="sch_t" id_prefix="fit-" label="Steps T" text=f.steps_text error=err_of(f.steps) />
                    <Field key="sch_pk" id_prefix="fit-" label=if kind() == Some(SourceKind::Constant) { "Rate" } else { "Peak rate" }
                        text=f.peak_text error=err_of(f.peak) />
                })}
                {move || matches!(kind(), Some(SourceKind::Cosine | SourceKind::Wsd)).then(|| view! {
                    <Field key="sch_fl" id_prefix="fit-" label="Final rate" text=f.final_text error=err_of(f.final_lr) />
                    <Field key="sch_wu" id_prefix="fit-" label="Warmup steps (linear)" text=f.warmup_text error=err_of(f.warmup) />
                })}
                {move || (kind() == Some(SourceKind::Wsd)).then(|| view! {
                    <Field key="sch_dc" id_prefix="fit-" label="Decay steps" text=f.decay_text error=err_of(f.decay) />
                })}
                {select::<ConventionKind>(url, "wc", "Warmup convention", f.convention_key, err_of(f.convention), |c| match c {
                    ConventionKind::Paper => "the papers: warmup's rising rates are not rate changes",
                    ConventionKind::ReferenceCode => "the reference code: every rate change counts",
                })}
                {move || paper().then(|| view! {
                    <Field key="ws" id_prefix="fit-" label="Warmup steps (blank: the schedule's own)"
                        text=f.warmup_steps_text error=err_of(f.warmup_steps) />
                })}
                <Field key="lam" id_prefix="fit-" label="LR-annealing momentum decay λ (S2)" text=f.lambda_text error=err_of(f.lambda) />
            </div>
            <p class="hint" id="schedule-summary">{move || summary.get().unwrap_or_default()}</p>
        </section>
    }
}
