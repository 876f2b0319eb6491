//! The Fit lab: paste, upload or drop a CSV of runs (or load a generated preset), map its columns,
//! pick a law, and fit it in the worker — parameters with standard errors and bootstrap intervals,
//! the fit with its extrapolation band, residuals, the compute-optimal frontier of a Chinchilla fit,
//! a backtest on the largest runs, and exports.
//!
//! [`FitLab`] holds the page's state ([`FitPage`]) and lays out its parts, each a component of its
//! own module: [`data`] (the table and its columns), [`model`] (the law, its formula, start values
//! and bounds), [`schedule`] (a loss curve's learning-rate schedule and warmup convention),
//! [`options`] (method, residuals, loss, starts, bootstrap, backtest; the Fit button
//! and the job's status with a live chart of the multi-start), [`results`] (tables, exports,
//! charts) and [`step_law`]. The table is read, mapped and checked in the worker ([`FitInput`]), so
//! the page stays responsive with a 10⁵-row loss curve.

mod data;
mod model;
mod options;
mod results;
mod schedule;
mod step_law;

use std::sync::Arc;

use leptos::prelude::*;
use scalelab_core::fit::dataset::CurveOptions;
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::multistart::StartOutcome;
use scalelab_core::fit::presets::Preset;
use scalelab_core::CoreError;

use crate::job::{use_job, JobHandle, JobState};
use crate::url_state::UrlState;
use crate::worker::jobs::fit::prepare::{
    ColumnChoice, FitData, FitInput, FitPreparation, ModelPick, Pick,
};
use crate::worker::jobs::fit::FitJob;

/// URL keys of the column choices, in [`ColumnChoice`] order, with their labels.
const COLUMN_KEYS: [(&str, &str); 7] = [
    ("cx", "x"),
    ("cn", "Model size N"),
    ("cd", "Tokens D"),
    ("cc", "Compute C (D = C/6N without tokens)"),
    ("cs", "Step"),
    ("clr", "Learning rate"),
    ("cy", "Loss (target)"),
];

/// A start value or bound as typed, and what it parses to.
pub(super) type Entry = (String, Result<f64, CoreError>);

/// The page's state, shared by its components (all fields are signal handles: `Copy`).
#[derive(Clone, Copy)]
pub(super) struct FitPage {
    pub url: UrlState,
    /// The generated example in use when there is no user data.
    pub preset: Memo<Result<Preset, String>>,
    /// The user's data text (from the link, or kept in the page when too long for it).
    pub data: Memo<Option<Arc<str>>>,
    /// Whether the data is too long for the link.
    pub data_local: Memo<bool>,
    /// The model key in the URL (`""` = the preset's law, `"formula"` = the custom formula).
    pub model_key: Signal<String>,
    /// The built-in law, or `None` for the custom formula.
    pub builtin: Memo<Option<BuiltinModel>>,
    /// The formula text.
    pub formula: Signal<String>,
    /// A loss curve's schedule fields.
    pub schedule: schedule::ScheduleFields,
    /// Whether the law reads a loss curve (its inputs include the step, the rate or the areas).
    pub curve_law: Memo<bool>,
    /// What the worker prepares.
    pub input: Memo<FitInput>,
    /// The preparation job.
    pub prepare: JobHandle<FitInput>,
    /// The fit job.
    pub fit: JobHandle<FitJob>,
    /// Every start streamed by the running fit.
    pub stream: RwSignal<Vec<StartOutcome>>,
}

impl FitPage {
    /// The last preparation.
    pub fn prep(&self) -> RwSignal<Option<FitPreparation>> {
        self.prepare.output()
    }

    /// Replaces the data with `text` (typed, uploaded or dropped). Without an explicit model the
    /// preset's would apply, so the model in use is pinned first.
    pub fn set_text(&self, text: Arc<str>) {
        let mut entries: Vec<(&str, Option<Arc<str>>)> =
            vec![("preset", None), ("data", Some(text))];
        if self.model_key.get_untracked().is_empty() {
            if let Some(b) = self.builtin.get_untracked() {
                entries.push(("m", Some(b.name().into())));
            }
        }
        self.url.set_shared(&entries);
    }
}

fn pick(text: Option<String>) -> Pick {
    match text.as_deref() {
        None => Pick::Guess,
        Some("") | Some("none") => Pick::Unmapped,
        Some(v) => v.parse().map(Pick::Column).unwrap_or(Pick::Guess),
    }
}

/// The Fit lab page.
#[component]
pub fn FitLab() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let preset_key = raw("preset", "chinchilla");
    let preset = Memo::new(move |_| {
        preset_key.with(|k| {
            Preset::from_name(k).ok_or_else(|| {
                format!("“{k}” is not one of the examples; choose one from the list.")
            })
        })
    });
    let data = url.read_shared("data");
    let data_local = url.is_local("data");
    let model_key = raw("m", "");
    let formula = raw("f", "E + A/N^alpha + B/D^beta");
    let builtin = Memo::new(move |_| {
        let k = model_key.get();
        if k == "formula" {
            return None;
        }
        Some(k.parse::<BuiltinModel>().unwrap_or_else(|_| {
            preset
                .get()
                .map(|p| p.model())
                .unwrap_or(BuiltinModel::Chinchilla)
        }))
    });
    let schedule = schedule::ScheduleFields::read(url);
    // A bad schedule field is shown by its field; the preparation keeps the last valid options.
    let curve = Memo::new(
        move |last: Option<&CurveOptions>| match schedule.options.get() {
            Ok(o) => o,
            Err(_) => last.cloned().unwrap_or_default(),
        },
    );
    let options = options::Options::read(url, builtin);
    let positive = Memo::new(move |_| options.needs_positive_targets());
    let column_texts: Vec<Memo<Option<String>>> =
        COLUMN_KEYS.iter().map(|(k, _)| url.read(*k)).collect();
    let columns = Memo::new(move |_| {
        let p: Vec<Pick> = column_texts.iter().map(|t| pick(t.get())).collect();
        ColumnChoice {
            x: p[0],
            params: p[1],
            tokens: p[2],
            compute: p[3],
            step: p[4],
            lr: p[5],
            loss: p[6],
        }
    });
    let input = Memo::new(move |_| FitInput {
        data: match data.get() {
            Some(t) => FitData::Text(t),
            None => FitData::Preset(preset.get().unwrap_or(Preset::Chinchilla)),
        },
        columns: columns.get(),
        model: match builtin.get() {
            Some(b) => ModelPick::Builtin(b),
            None => ModelPick::Formula(formula.get()),
        },
        curve: curve.get(),
        positive: positive.get(),
    });
    let prepare = use_job::<FitInput>();
    let fit = use_job::<FitJob>();
    let stream = RwSignal::new(Vec::<StartOutcome>::new());
    let curve_law = Memo::new(move |_| {
        prepare.output().with(|p| {
            p.as_ref().is_some_and(|p| {
                p.inputs
                    .iter()
                    .any(|n| matches!(n.as_str(), "S1" | "S2" | "step" | "lr"))
            })
        })
    });
    fit.on_partials(move |mut starts| stream.update(|s| s.append(&mut starts)));
    let page = FitPage {
        url,
        preset,
        data,
        data_local,
        model_key,
        builtin,
        formula,
        schedule,
        curve_law,
        input,
        prepare,
        fit,
        stream,
    };
    Effect::new(move |_| prepare.run(input.get()));

    let params = model::ParamTable::read(page);
    let request = Memo::new(move |_| options.request(page, params));
    let start_fit = move || {
        // `None` once the page is gone (a deferred start below).
        if let Some(Ok(job)) = request.try_get_untracked() {
            stream.set(Vec::new());
            fit.run(job);
        }
    };
    // Fit once on arrival (when the data are ready), so a shared link shows its result. The
    // start is a task of its own: drawing the prepared data and sending a large data set to the
    // worker are each tens of milliseconds.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let ready = prepare.state().with(|s| matches!(s, JobState::Done { .. }))
            && request.with(|r| r.is_ok());
        if ready {
            set_timeout(start_fit, std::time::Duration::ZERO);
        }
        ready
    });

    view! {
        <h1>"Fit a scaling law"</h1>
        <p class="lede">
            "Paste, upload or drop a CSV of your runs (model size, tokens, compute, loss — or a loss curve with its \
             learning rate), choose a law and fit it with Levenberg–Marquardt on exact Jacobians, or with Hoffmann et al.'s \
             Huber objective and L-BFGS over their 4500-start grid. The data never leave your browser."
        </p>
        <div class="fit-layout">
            <div class="fit-controls">
                <data::DataPanel page=page />
                <model::ModelPanel page=page params=params />
                <Show when=move || curve_law.get()>
                    <schedule::SchedulePanel page=page fields=schedule />
                </Show>
                <options::OptionsPanel page=page options=options request=request start_fit=start_fit />
                <results::ResultPanel page=page />
                <step_law::StepLawPanel />
            </div>
            <div class="fit-charts-column">
                <results::Charts page=page />
            </div>
        </div>
    }
}
