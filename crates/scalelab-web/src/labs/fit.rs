//! The Fit lab: paste, upload or drop a CSV of runs (or load a generated preset), map its columns,
//! pick a law, and fit it in the worker — parameters with standard errors and bootstrap intervals,
//! the fit with its extrapolation band, residuals, the compute-optimal frontier of a Chinchilla fit,
//! a backtest on the largest runs, and exports.

use crate::download::download_text;
use crate::labs::stablemax::fmt;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::worker::client::ComputeWorker;
use crate::worker::protocol::{FromWorker, Job, JobOutput};
use leptos::prelude::*;
use scalelab_core::fit::analysis::{FitReport, FitRequest, Method, ModelChoice, Starts};
use scalelab_core::fit::dataset::{observations, Columns, Observations};
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::presets::Preset;
use scalelab_core::fit::{FitOptions, ResidualSpace, RobustLoss};
use scalelab_core::io::csv::{read_table, CsvOptions, Table};
use scalelab_core::CoreError;

/// Data longer than this stays out of the URL (the link then keeps only the settings).
const MAX_URL_DATA: usize = 4000;
/// Names a custom formula may use for data columns.
const FORMULA_INPUTS: [&str; 7] = ["x", "N", "D", "C", "S1", "S2", "step"];

#[derive(Clone, PartialEq)]
enum Run {
    Idle,
    Running {
        stage: String,
        done: u32,
        total: u32,
    },
    Done {
        report: Box<FitReport>,
        millis: f64,
    },
    Cancelled,
    Failed(String),
}

fn err_text<T>(r: &Result<T, CoreError>) -> Option<String> {
    r.as_ref().err().map(|e| e.to_string())
}

/// Identifiers of a formula that name data columns, in [`FORMULA_INPUTS`] order.
fn formula_inputs(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    FORMULA_INPUTS
        .iter()
        .filter(|n| words.contains(n))
        .map(|n| n.to_string())
        .collect()
}

fn not_a_number(what: &'static str, text: &str, expected: &str) -> CoreError {
    let shown: String = text.chars().take(40).collect();
    CoreError::InvalidValue {
        what,
        reason: format!("“{shown}” is not {expected}"),
    }
}

fn parse_f64(text: &str, what: &'static str) -> Result<f64, CoreError> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "∞" => return Ok(f64::INFINITY),
        "-inf" | "−inf" | "-∞" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let v: f64 = t
        .replace('\u{2212}', "-")
        .parse()
        .map_err(|_| not_a_number(what, t, "a number (e.g. 0.5, 1e-3, inf)"))?;
    if v.is_nan() {
        return Err(not_a_number(what, t, "a number, not NaN"));
    }
    Ok(v)
}

fn parse_count(text: &str, what: &'static str, max: usize) -> Result<usize, CoreError> {
    let t = text.trim();
    let v: usize = t
        .parse()
        .map_err(|_| not_a_number(what, t, "a whole number ≥ 0"))?;
    if v > max {
        return Err(CoreError::OutOfRange {
            what,
            value: v as f64,
            min: 0.0,
            max: max as f64,
        });
    }
    Ok(v)
}

fn csv_line(cells: &[String]) -> String {
    cells.join(",") + "\n"
}

/// The Fit lab page.
#[component]
pub fn FitLab() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let opt = move |key: &'static str| url.read(key);

    // ---- data -------------------------------------------------------------------------------
    let preset_key = raw("preset", "chinchilla");
    let url_data = opt("data");
    let local_data = RwSignal::new(None::<String>);
    let text = Memo::new(move |_| {
        local_data
            .get()
            .or_else(|| url_data.get())
            .unwrap_or_else(|| {
                Preset::from_name(&preset_key.get())
                    .unwrap_or(Preset::Chinchilla)
                    .csv(0)
            })
    });
    let table = Memo::new(move |_| text.with(|t| read_table(t, &CsvOptions::default())));
    let data_error = Signal::derive(move || table.with(err_text));

    let col_key = |k: &'static str| url.read(k);
    let (cx, cn, cd, cc, cs, clr, cy) = (
        col_key("cx"),
        col_key("cn"),
        col_key("cd"),
        col_key("cc"),
        col_key("cs"),
        col_key("clr"),
        col_key("cy"),
    );
    let columns = Memo::new(move |_| {
        let Ok(t) = table.get() else {
            return Columns::default();
        };
        let mut c = Columns::guess(&t);
        let pick = |s: Option<String>, cur: Option<usize>| match s.as_deref() {
            Some("") | Some("none") => None,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&j| j < t.columns.len())
                .or(cur),
            None => cur,
        };
        c.x = pick(cx.get(), c.x);
        c.params = pick(cn.get(), c.params);
        c.tokens = pick(cd.get(), c.tokens);
        c.compute = pick(cc.get(), c.compute);
        c.step = pick(cs.get(), c.step);
        c.lr = pick(clr.get(), c.lr);
        c.loss = pick(cy.get(), c.loss);
        c
    });

    // ---- model ------------------------------------------------------------------------------
    let model_key = raw("m", "");
    let formula_text = raw("f", "E + A/N^alpha + B/D^beta");
    let builtin = Memo::new(move |_| {
        let k = model_key.get();
        if k == "formula" {
            return None;
        }
        Some(k.parse::<BuiltinModel>().unwrap_or_else(|_| {
            Preset::from_name(&preset_key.get())
                .map(|p| p.model())
                .unwrap_or(BuiltinModel::Chinchilla)
        }))
    });
    // New data keep the model in use (without an explicit model the preset's would apply).
    let set_text = move |t: String| {
        let m = (model_key.get_untracked().is_empty())
            .then(|| builtin.get_untracked().map(|b| b.name().to_string()))
            .flatten();
        let pin = m.map(|m| ("m", Some(m)));
        let mut entries: Vec<(&str, Option<String>)> = vec![("preset", None)];
        if t.len() <= MAX_URL_DATA {
            local_data.set(None);
            entries.push(("data", Some(t)));
        } else {
            local_data.set(Some(t));
            entries.push(("data", None));
        }
        entries.extend(pin);
        url.set_many(&entries);
    };
    let choice = Memo::new(move |_| match builtin.get() {
        Some(model) => ModelChoice::Builtin { model },
        None => {
            let text = formula_text.get();
            ModelChoice::Formula {
                inputs: formula_inputs(&text),
                text,
            }
        }
    });
    let inputs = Memo::new(move |_| match choice.get() {
        ModelChoice::Builtin { model } => model
            .input_names()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ModelChoice::Formula { inputs, .. } => inputs,
    });

    // ---- options ----------------------------------------------------------------------------
    let residual_key = raw("rs", "log");
    let loss_key = raw("loss", "l2");
    let scale_text = raw("fs", "0.001");
    let method_key = raw("meth", "ls");
    let starts_key = raw("st", "single");
    let random_text = raw("ns", "200");
    let boot_text = raw("boot", "0");
    let seed_text = raw("seed", "42");
    let holdout_text = raw("ho", "0");
    let ext_text = raw("ext", "10");
    let lambda_text = raw("lam", "0.999");
    let step_n_text = raw("sn", "1e9");
    let step_d_text = raw("sd", "1e11");

    let residual = Memo::new(move |_| {
        if residual_key.get() == "linear" {
            ResidualSpace::Linear
        } else {
            ResidualSpace::Log
        }
    });
    let method_is_hoffmann = Memo::new(move |_| {
        method_key.get() == "hoffmann" && builtin.get() == Some(BuiltinModel::Chinchilla)
    });
    let scale = Memo::new(move |_| {
        scale_text
            .with(|t| parse_f64(t, "loss scale"))
            .and_then(|v| {
                if v > 0.0 && v.is_finite() {
                    Ok(v)
                } else {
                    Err(CoreError::OutOfRange {
                        what: "loss scale",
                        value: v,
                        min: f64::MIN_POSITIVE,
                        max: f64::MAX,
                    })
                }
            })
    });
    let boot =
        Memo::new(move |_| boot_text.with(|t| parse_count(t, "bootstrap resamples", 10_000)));
    let seed = Memo::new(move |_| seed_text.with(|t| parse_count(t, "seed", usize::MAX)));
    let holdout =
        Memo::new(move |_| holdout_text.with(|t| parse_count(t, "held-out runs", 1_000_000)));
    let random_n =
        Memo::new(move |_| random_text.with(|t| parse_count(t, "random starts", 100_000)));
    let ext = Memo::new(move |_| {
        ext_text
            .with(|t| parse_f64(t, "extrapolation factor"))
            .and_then(|v| {
                if (1.0..=1e6).contains(&v) {
                    Ok(v)
                } else {
                    Err(CoreError::OutOfRange {
                        what: "extrapolation factor",
                        value: v,
                        min: 1.0,
                        max: 1e6,
                    })
                }
            })
    });

    let lambda = Memo::new(move |_| {
        lambda_text
            .with(|t| parse_f64(t, "momentum decay λ"))
            .and_then(|v| {
                if (0.0..=1.0).contains(&v) {
                    Ok(v)
                } else {
                    Err(CoreError::OutOfRange {
                        what: "momentum decay λ",
                        value: v,
                        min: 0.0,
                        max: 1.0,
                    })
                }
            })
    });
    let positive = |text: &str, what: &'static str| -> Result<f64, CoreError> {
        let v = parse_f64(text, what)?;
        if v > 0.0 && v.is_finite() {
            Ok(v)
        } else {
            Err(CoreError::OutOfRange {
                what,
                value: v,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            })
        }
    };
    let step_n = Memo::new(move |_| step_n_text.with(|t| positive(t, "model size N")));
    let step_d = Memo::new(move |_| step_d_text.with(|t| positive(t, "training tokens D")));
    let obs = Memo::new(move |_| -> Result<Observations, CoreError> {
        let t = table.get()?;
        let positive = residual.get() == ResidualSpace::Log || method_is_hoffmann.get();
        let lambda = lambda.get().map_err(|e| CoreError::InvalidValue {
            what: "momentum decay λ",
            reason: e.to_string(),
        })?;
        observations(&t, &inputs.get(), &columns.get(), Some(lambda), positive)
    });
    let model = Memo::new(move |_| {
        let o = obs.get().ok();
        choice
            .get()
            .build(o.as_ref().and_then(|o| o.schedule.as_deref()))
            .map(|m| (m.param_names(), m.formula()))
    });
    let formula_error = Signal::derive(move || {
        if builtin.get().is_none() {
            model.with(err_text)
        } else {
            None
        }
    });
    let names = Memo::new(move |_| model.get().map(|(n, _)| n).unwrap_or_default());
    let default_start = Memo::new(move |_| {
        let n = names.get().len();
        match (builtin.get(), obs.get()) {
            (Some(b), Ok(o)) => b.default_start(&o.data),
            _ => vec![1.0; n],
        }
    });
    let default_bounds = Memo::new(move |_| match builtin.get() {
        Some(b) => b.suggested_bounds(),
        None => vec![(f64::NEG_INFINITY, f64::INFINITY); names.get().len()],
    });
    let param_text = move |prefix: &'static str, i: usize| url.read(format!("{prefix}{i}"));
    // Start and bounds per parameter: (start, lower, upper), each parsed or defaulted.
    type Entry = (String, Result<f64, CoreError>);
    type ParamRow = (Entry, Entry, Entry);
    let params_in = Memo::new(move |_| {
        let n = names.get().len();
        let ds = default_start.get();
        let db = default_bounds.get();
        (0..n)
            .map(|i| {
                let get = |prefix: &'static str, d: f64| -> (String, Result<f64, CoreError>) {
                    match param_text(prefix, i).get() {
                        Some(t) => {
                            let r = parse_f64(&t, "parameter value");
                            (t, r)
                        }
                        None => (fmt_bound(d), Ok(d)),
                    }
                };
                let s = get("s", ds.get(i).copied().unwrap_or(1.0));
                let lo = get("lo", db.get(i).map(|b| b.0).unwrap_or(f64::NEG_INFINITY));
                let hi = get("hi", db.get(i).map(|b| b.1).unwrap_or(f64::INFINITY));
                (s, lo, hi)
            })
            .collect::<Vec<_>>()
    });

    let request = Memo::new(move |_| -> Result<FitRequest, String> {
        let o = obs.get().map_err(|e| e.to_string())?;
        model.get().map_err(|e| e.to_string())?;
        let p = params_in.get();
        let mut start = Vec::new();
        let mut bounds = Vec::new();
        for (i, (s, lo, hi)) in p.iter().enumerate() {
            let name = names.with(|n| n.get(i).cloned().unwrap_or_default());
            let s = s.1.clone().map_err(|e| format!("start of {name}: {e}"))?;
            let lo =
                lo.1.clone()
                    .map_err(|e| format!("lower bound of {name}: {e}"))?;
            let hi =
                hi.1.clone()
                    .map_err(|e| format!("upper bound of {name}: {e}"))?;
            start.push(s);
            bounds.push((lo, hi));
        }
        let loss = match loss_key.get().as_str() {
            "huber" => RobustLoss::Huber {
                delta: scale.get().map_err(|e| e.to_string())?,
            },
            "soft_l1" => RobustLoss::SoftL1 {
                scale: scale.get().map_err(|e| e.to_string())?,
            },
            "cauchy" => RobustLoss::Cauchy {
                scale: scale.get().map_err(|e| e.to_string())?,
            },
            _ => RobustLoss::L2,
        };
        let method = if method_is_hoffmann.get() {
            Method::Hoffmann {
                delta: scale.get().unwrap_or(1e-3),
            }
        } else {
            Method::LeastSquares
        };
        let starts = match starts_key.get().as_str() {
            "grid" => Starts::Hoffmann4500,
            "random" => Starts::Random {
                samples: random_n.get().map_err(|e| e.to_string())?,
                seed: seed.get().map_err(|e| e.to_string())? as u64,
            },
            _ => Starts::Single,
        };
        let bounded = bounds.iter().any(|(l, h)| l.is_finite() || h.is_finite());
        Ok(FitRequest {
            model: choice.get(),
            data: o.data,
            schedule: o.schedule,
            start,
            options: FitOptions {
                residual: residual.get(),
                loss,
                bounds: bounded.then_some(bounds),
                ..FitOptions::default()
            },
            method,
            starts,
            bootstrap: boot.get().map_err(|e| e.to_string())?,
            seed: seed.get().map_err(|e| e.to_string())? as u64,
            curve_inputs: vec![],
            extrapolate: ext.get().map_err(|e| e.to_string())?,
            holdout: holdout.get().map_err(|e| e.to_string())?,
        })
    });

    // ---- running in the worker ----------------------------------------------------------------
    let run = RwSignal::new(Run::Idle);
    let job = StoredValue::new(None::<u64>);
    let worker = use_context::<StoredValue<Option<ComputeWorker>, LocalStorage>>();
    let start_fit = move || {
        let req = match request.get_untracked() {
            Ok(r) => r,
            Err(e) => {
                run.set(Run::Failed(e));
                return;
            }
        };
        let Some(w) = worker.and_then(|w| w.get_value()) else {
            run.set(Run::Failed(
                "The compute worker could not be started in this browser.".into(),
            ));
            return;
        };
        if let Some(old) = job.get_value() {
            w.cancel(old);
        }
        run.set(Run::Running {
            stage: "fit".into(),
            done: 0,
            total: 1,
        });
        let id = w.start(Job::Fit(Box::new(req)), move |msg| {
            let mine = |id: u64| job.get_value() == Some(id);
            match msg {
                FromWorker::Progress {
                    id,
                    stage,
                    done,
                    total,
                } if mine(id) => run.set(Run::Running { stage, done, total }),
                FromWorker::Done {
                    id,
                    output: JobOutput::Fit { report, millis },
                } if mine(id) => run.set(Run::Done { report, millis }),
                FromWorker::Cancelled { id } if mine(id) => run.set(Run::Cancelled),
                FromWorker::Failed { id, message, .. } if mine(id) => run.set(Run::Failed(message)),
                _ => {}
            }
        });
        job.set_value(Some(id));
    };
    // Fit once on arrival, so a shared link shows its result.
    Effect::new(move |first: Option<()>| {
        if first.is_none() && request.with_untracked(|r| r.is_ok()) {
            start_fit();
        }
    });
    let cancel = move |_| {
        if let (Some(w), Some(id)) = (worker.and_then(|w| w.get_value()), job.get_value()) {
            w.cancel(id);
        }
    };

    // ---- file input and drop ------------------------------------------------------------------
    let read_file = move |file: web_sys::File| {
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(v) => set_text(v.as_string().unwrap_or_default()),
                Err(_) => run.set(Run::Failed(format!(
                    "Could not read the file “{}”.",
                    file.name()
                ))),
            }
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(f) = input.files().and_then(|l| l.get(0)) {
            read_file(f);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        if let Some(f) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0))
        {
            read_file(f);
        }
    };

    // ---- charts -------------------------------------------------------------------------------
    let done_report = Memo::new(move |_| match run.get() {
        Run::Done { report, .. } => Some(report),
        _ => None,
    });
    let data_axis = Memo::new(move |_| -> (String, Vec<f64>) {
        let Ok(o) = obs.get() else {
            return ("x".into(), vec![]);
        };
        let d = &o.data;
        match choice.get() {
            ModelChoice::Builtin {
                model: BuiltinModel::LrAnnealing | BuiltinModel::MultiPowerLaw,
            } => (
                "observation".into(),
                (0..d.len()).map(|i| i as f64 + 1.0).collect(),
            ),
            _ if d.n_inputs == 2 => (
                "compute C = 6ND".into(),
                (0..d.len())
                    .map(|i| 6.0 * d.row(i)[0] * d.row(i)[1])
                    .collect(),
            ),
            _ => ("x".into(), (0..d.len()).map(|i| d.row(i)[0]).collect()),
        }
    });
    let fit_chart = Signal::derive(move || {
        let (axis, xs) = data_axis.get();
        let Ok(o) = obs.get() else {
            return ChartSpec::empty("Data and fit");
        };
        let mut series = Vec::new();
        let report = done_report.get();
        if let Some(r) = &report {
            let c = &r.curve;
            if c.prediction_lower.iter().any(|v| v.is_finite()) {
                series.push(Series::band(
                    "95 % prediction band",
                    c.at.clone(),
                    c.prediction_lower.clone(),
                    c.prediction_upper.clone(),
                    PALETTE[5],
                ));
            }
            if c.lower.iter().any(|v| v.is_finite()) {
                series.push(Series::band(
                    format!("95 % band ({})", c.band),
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
            xs.clone(),
            o.data.y.clone(),
            PALETTE[1],
        ));
        if let Some(r) = &report {
            let label = if r.curve.axis.starts_with("compute-optimal") {
                "fit: compute-optimal frontier"
            } else {
                "fit"
            };
            series.push(Series::new(
                label,
                SeriesKind::Line,
                r.curve.at.clone(),
                r.curve.mean.clone(),
                PALETTE[0],
            ));
            if let Some(b) = &r.backtest {
                let bx = b
                    .indices
                    .iter()
                    .map(|&i| xs.get(i).copied().unwrap_or(f64::NAN))
                    .collect();
                series.push(Series::new(
                    "held out (backtest prediction)",
                    SeriesKind::Scatter,
                    bx,
                    b.predicted.clone(),
                    PALETTE[3],
                ));
            }
        }
        let curve_axis = axis.starts_with("observation");
        ChartSpec {
            title: "Data and fit".into(),
            x_label: axis,
            y_label: "loss".into(),
            x_scale: if curve_axis {
                ScaleKind::Linear
            } else {
                ScaleKind::Log
            },
            y_scale: ScaleKind::Log,
            x_range: None,
            y_range: None,
            categories: vec![],
            series,
        }
    });
    let residual_chart = Signal::derive(move || {
        let (axis, xs) = data_axis.get();
        let Some(r) = done_report.get() else {
            return ChartSpec::empty("Residuals");
        };
        ChartSpec {
            title: "Residuals y − f".into(),
            x_label: axis.clone(),
            y_label: "residual".into(),
            x_scale: if axis.starts_with("observation") {
                ScaleKind::Linear
            } else {
                ScaleKind::Log
            },
            y_scale: ScaleKind::Linear,
            x_range: None,
            y_range: None,
            categories: vec![],
            series: vec![Series::new(
                "residual",
                SeriesKind::Scatter,
                xs,
                r.residuals.clone(),
                PALETTE[2],
            )],
        }
    });
    let frontier_chart = Signal::derive(move || {
        let Some(a) = done_report.get().and_then(|r| r.allocation.clone()) else {
            return ChartSpec::empty("Compute-optimal allocation");
        };
        let cs: Vec<f64> = a.frontier.iter().map(|f| f.compute).collect();
        ChartSpec {
            title: "Compute-optimal allocation".into(),
            x_label: "compute C (FLOPs)".into(),
            y_label: "N_opt (parameters), D_opt (tokens)".into(),
            x_scale: ScaleKind::Log,
            y_scale: ScaleKind::Log,
            x_range: None,
            y_range: None,
            categories: vec![],
            series: vec![
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
        }
    });

    // ---- exports ------------------------------------------------------------------------------
    let export = move |kind: &'static str| {
        let Some(r) = done_report.get_untracked() else {
            return;
        };
        let (name, mime, body) = match kind {
            "params-json" => ("fit-parameters.json", "application/json", params_json(&r)),
            "params-csv" => ("fit-parameters.csv", "text/csv", params_csv(&r)),
            "predictions-json" => (
                "fit-predictions.json",
                "application/json",
                predictions_json(
                    &r,
                    &data_axis.get_untracked().1,
                    obs.get_untracked()
                        .ok()
                        .map(|o| o.data.y)
                        .unwrap_or_default(),
                ),
            ),
            _ => (
                "fit-predictions.csv",
                "text/csv",
                predictions_csv(
                    &r,
                    &data_axis.get_untracked().1,
                    obs.get_untracked()
                        .ok()
                        .map(|o| o.data.y)
                        .unwrap_or_default(),
                ),
            ),
        };
        if let Err(e) = download_text(name, mime, &body) {
            run.set(Run::Failed(format!("Export failed: {e:?}")));
        }
    };

    // ---- view ---------------------------------------------------------------------------------
    let column_select = move |key: &'static str,
                              label: &'static str,
                              get: fn(&Columns) -> Option<usize>| {
        view! {
            <div class="field">
                <label for=format!("map-{key}")>{label}</label>
                <select id=format!("map-{key}") on:change=move |ev| url.set(key, Some(event_target_value(&ev)))
                    prop:value=move || get(&columns.get()).map(|j| j.to_string()).unwrap_or_else(|| "none".into())>
                    <option value="none">"—"</option>
                    {move || table.get().ok().map(|t: Table| t.columns.iter().enumerate().map(|(j, c)| {
                        view! { <option value=j.to_string()>{c.clone()}</option> }
                    }).collect_view())}
                </select>
            </div>
        }
    };
    let text_field = move |key: &'static str,
                           label: &'static str,
                           value: Signal<String>,
                           error: Signal<Option<String>>| {
        let error_id = format!("{key}-error");
        view! {
            <div class="field" class:invalid=move || error.get().is_some()>
                <label for=format!("fit-{key}")>{label}</label>
                <input id=format!("fit-{key}") type="text" prop:value=move || value.get()
                    aria-invalid=move || error.get().is_some().to_string() aria-describedby=error_id.clone()
                    on:input=move |ev| url.set(key, Some(event_target_value(&ev))) />
                <p class="field-error" id=error_id role="alert">{move || error.get().unwrap_or_default()}</p>
            </div>
        }
    };

    view! {
        <h1>"Fit a scaling law"</h1>
        <p class="lede">
            "Paste, upload or drop a CSV of your runs (model size, tokens, compute, loss — or a loss curve with its \
             learning rate), choose a law and fit it with Levenberg–Marquardt on exact Jacobians, or with Hoffmann et al.'s \
             Huber objective and L-BFGS over their 4500-start grid. The data never leave your browser."
        </p>

        <section class="panel" aria-labelledby="data-heading">
            <h2 id="data-heading">"Data"</h2>
            <div class="controls">
                <div class="field wide">
                    <label for="fit-preset">"Generated example"</label>
                    <select id="fit-preset" on:change=move |ev| {
                        local_data.set(None);
                        url.set_many(&[("preset", Some(event_target_value(&ev))), ("data", None), ("m", None)]);
                    } prop:value=move || if url_data.get().is_some() || local_data.get().is_some() { String::new() } else { preset_key.get() }>
                        <option value="" disabled=true>"Your data"</option>
                        {Preset::ALL.iter().map(|p| view! { <option value=p.name()>{p.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="fit-file">"Upload a CSV"</label>
                    <input id="fit-file" type="file" accept=".csv,.tsv,.txt,text/csv,text/plain" on:change=on_file />
                </div>
            </div>
            <div class="dropzone" on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default() on:drop=on_drop>
                <label for="fit-data">"CSV (with or without a header; comma, semicolon, tab or spaces) — or drop a file here"</label>
                <textarea id="fit-data" rows="8" spellcheck="false" prop:value=move || text.get()
                    aria-invalid=move || data_error.get().is_some().to_string() aria-describedby="fit-data-error"
                    on:input=move |ev| set_text(event_target_value(&ev))></textarea>
                <p class="field-error" id="fit-data-error" role="alert">{move || data_error.get().unwrap_or_default()}</p>
                <p class="hint" id="fit-data-summary">{move || match table.get() {
                    Ok(t) => format!("{} rows × {} columns, {}, delimiter {:?}{}", t.n_rows(), t.columns.len(),
                        if t.has_header { "header found" } else { "no header" }, t.delimiter,
                        if local_data.get().is_some() { " — too large for the link: share the file with it" } else { "" }),
                    Err(_) => String::new(),
                }}</p>
            </div>
            <div class="controls" aria-label="Column mapping">
                {column_select("cy", "Loss (target)", |c| c.loss)}
                {move || {
                    let names = inputs.get();
                    let has = |n: &str| names.iter().any(|m| m == n);
                    view! {
                        {has("x").then(|| column_select("cx", "x", |c| c.x))}
                        {(has("N") || has("D")).then(|| column_select("cn", "Model size N", |c| c.params))}
                        {(has("D") || has("C")).then(|| column_select("cd", "Tokens D", |c| c.tokens))}
                        {(has("D") || has("C")).then(|| column_select("cc", "Compute C (D = C/6N without tokens)", |c| c.compute))}
                        {(has("S1") || has("S2") || has("step")).then(|| column_select("clr", "Learning rate", |c| c.lr))}
                        {(has("S1") || has("S2") || has("step")).then(|| column_select("cs", "Step", |c| c.step))}
                    }
                }}
            </div>
            <p class="field-error" id="fit-obs-error" role="alert">{move || if data_error.get().is_none() { obs.with(err_text).unwrap_or_default() } else { String::new() }}</p>
        </section>

        <section class="panel" aria-labelledby="model-heading">
            <h2 id="model-heading">"Model"</h2>
            <div class="controls">
                <div class="field wide">
                    <label for="fit-model">"Law"</label>
                    <select id="fit-model" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        // Starting values and bounds belong to the old model.
                        let n = names.get_untracked().len();
                        let mut entries: Vec<(String, Option<String>)> = vec![("m".into(), Some(v))];
                        for i in 0..n.max(8) {
                            for p in ["s", "lo", "hi"] { entries.push((format!("{p}{i}"), None)); }
                        }
                        let refs: Vec<(&str, Option<String>)> = entries.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                        url.set_many(&refs);
                    } prop:value=move || builtin.get().map(|b| b.name().to_string()).unwrap_or_else(|| "formula".into())>
                        {BuiltinModel::ALL.iter().map(|b| view! { <option value=b.name()>{b.label()}</option> }).collect_view()}
                        <option value="formula">"Custom formula…"</option>
                    </select>
                </div>
                {move || builtin.get().is_none().then(|| text_field("f", "Formula (inputs: x, N, D, C, S1, S2, step; other names are parameters)", formula_text, formula_error))}
            </div>
            <p id="fit-formula-display">"Formula: "<code>{move || model.get().map(|(_, f)| f).unwrap_or_default()}</code></p>
            <div class="table-scroll">
                <table class="data" id="fit-start-table">
                    <caption>"Starting values and bounds (edit to override the defaults)"</caption>
                    <thead><tr><th scope="col">"parameter"</th><th scope="col">"start"</th><th scope="col">"lower"</th><th scope="col">"upper"</th></tr></thead>
                    <tbody>
                        {move || names.get().into_iter().enumerate().map(|(i, name)| {
                            let cell = move |prefix: &'static str, pick: fn(&ParamRow) -> &Entry| {
                                let key = format!("{prefix}{i}");
                                let input_id = format!("fit-{key}");
                                let entry = move || params_in.with(|p| p.get(i).map(|e| pick(e).clone()));
                                view! {
                                    <td>
                                        <input type="text" id=input_id aria-label=format!("{prefix} {i}")
                                            prop:value=move || entry().map(|e| e.0).unwrap_or_default()
                                            aria-invalid=move || entry().map(|e| e.1.is_err()).unwrap_or(false).to_string()
                                            on:input=move |ev| url.set(&key, Some(event_target_value(&ev))) />
                                        <span class="field-error" role="alert">{move || entry().and_then(|e| e.1.err()).map(|e| e.to_string()).unwrap_or_default()}</span>
                                    </td>
                                }
                            };
                            view! {
                                <tr><th scope="row">{name}</th>{cell("s", |e| &e.0)}{cell("lo", |e| &e.1)}{cell("hi", |e| &e.2)}</tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>

        <section class="panel" aria-labelledby="options-heading">
            <h2 id="options-heading">"Fitting"</h2>
            <div class="controls">
                <div class="field">
                    <label for="fit-meth">"Method"</label>
                    <select id="fit-meth" on:change=move |ev| url.set("meth", Some(event_target_value(&ev))) prop:value=move || method_key.get()>
                        <option value="ls">"Least squares (Levenberg–Marquardt)"</option>
                        <option value="hoffmann">"Hoffmann: Huber on log loss, L-BFGS (Chinchilla)"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="fit-rs">"Residuals"</label>
                    <select id="fit-rs" on:change=move |ev| url.set("rs", Some(event_target_value(&ev))) prop:value=move || residual_key.get()>
                        <option value="log">"log space: ln y − ln f"</option>
                        <option value="linear">"linear: y − f"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="fit-loss">"Robust loss"</label>
                    <select id="fit-loss" on:change=move |ev| url.set("loss", Some(event_target_value(&ev))) prop:value=move || loss_key.get()>
                        <option value="l2">"L2"</option>
                        <option value="huber">"Huber"</option>
                        <option value="soft_l1">"soft L1"</option>
                        <option value="cauchy">"Cauchy"</option>
                    </select>
                </div>
                {text_field("fs", "Huber δ / loss scale", scale_text, Signal::derive(move || scale.with(err_text)))}
                <div class="field">
                    <label for="fit-st">"Starts"</label>
                    <select id="fit-st" on:change=move |ev| url.set("st", Some(event_target_value(&ev))) prop:value=move || starts_key.get()>
                        <option value="single">"the starting values"</option>
                        <option value="grid">"Hoffmann's 4500-start grid (Chinchilla)"</option>
                        <option value="random">"random (Latin hypercube)"</option>
                    </select>
                </div>
                {text_field("ns", "Random starts", random_text, Signal::derive(move || random_n.with(err_text)))}
                {text_field("boot", "Bootstrap resamples (0 = off)", boot_text, Signal::derive(move || boot.with(err_text)))}
                {text_field("seed", "Seed", seed_text, Signal::derive(move || seed.with(err_text)))}
                {text_field("ho", "Backtest: hold out the largest runs", holdout_text, Signal::derive(move || holdout.with(err_text)))}
                {text_field("ext", "Extrapolate to × largest run", ext_text, Signal::derive(move || ext.with(err_text)))}
                {move || inputs.get().iter().any(|n| n == "S1" || n == "S2").then(|| {
                    text_field("lam", "LR-annealing momentum decay λ (S2)", lambda_text, Signal::derive(move || lambda.with(err_text)))
                })}
            </div>
            <div class="controls sweep-actions">
                <button type="button" id="fit-run" on:click=move |_| start_fit()
                    disabled=move || request.with(|r| r.is_err())>"Fit"</button>
                <button type="button" id="fit-cancel" on:click=cancel disabled=move || !matches!(run.get(), Run::Running { .. })>"Cancel"</button>
            </div>
            <p class="field-error" id="fit-request-error" role="alert">{move || request.with(|r| r.as_ref().err().cloned()).unwrap_or_default()}</p>
            <div id="fit-status" aria-live="polite" data-state=move || match run.get() {
                Run::Idle => "idle", Run::Running { .. } => "running", Run::Done { .. } => "done", Run::Cancelled => "cancelled", Run::Failed(_) => "failed",
            }>
                {move || match run.get() {
                    Run::Idle => view! { <span>"Ready."</span> }.into_any(),
                    Run::Running { stage, done, total } => view! {
                        <progress max=total value=done></progress>
                        <span>{format!(" {stage}: {done} of {total}")}</span>
                    }.into_any(),
                    Run::Done { report, millis } => view! {
                        <span data-millis=millis.to_string()>{format!(
                            "{} in {:.0} ms: {} of {} starts converged; stopped because {}.",
                            if report.cancelled { "Stopped early" } else { "Done" }, millis, report.starts_converged, report.starts_run,
                            termination_text(&report.fit.termination))}</span>
                    }.into_any(),
                    Run::Cancelled => view! { <span>"Cancelled."</span> }.into_any(),
                    Run::Failed(m) => view! { <span class="field-error" role="alert">{m}</span> }.into_any(),
                }}
            </div>
        </section>

        {move || done_report.get().map(|r| {
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
                        <button type="button" id="export-params-csv" on:click=move |_| export("params-csv")>"Parameters (CSV)"</button>
                        <button type="button" id="export-params-json" on:click=move |_| export("params-json")>"Parameters (JSON)"</button>
                        <button type="button" id="export-predictions" on:click=move |_| export("predictions")>"Predictions (CSV)"</button>
                        <button type="button" id="export-predictions-json" on:click=move |_| export("predictions-json")>"Predictions (JSON)"</button>
                    </div>
                    {r.backtest.clone().map(|b| view! {
                        <div class="table-scroll">
                        <table class="data" id="fit-backtest">
                            <caption>{format!("Backtest: fitted without the {} largest runs, then predicted them", b.indices.len())}</caption>
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
        })}
        <section class="panel" aria-labelledby="steplaw-heading">
            <h2 id="steplaw-heading">"Step Law: optimal learning rate and batch size"</h2>
            <p class="hint">"η_opt = 1.79·N^−0.713·D^0.307 and B_opt = 0.58·D^0.571 tokens (Li et al., “Predictable Scale: Part I”, 2025)."</p>
            <div class="controls">
                {text_field("sn", "Model size N (parameters)", step_n_text, Signal::derive(move || step_n.with(err_text)))}
                {text_field("sd", "Training tokens D", step_d_text, Signal::derive(move || step_d.with(err_text)))}
            </div>
            <p id="steplaw-result">{move || match (step_n.get(), step_d.get()) {
                (Ok(n), Ok(d)) => match scalelab_core::fit::step_law::step_law(n, d) {
                    Ok(s) => format!("η_opt = {:.4e}, B_opt = {:.4e} tokens", s.lr, s.batch_tokens),
                    Err(e) => e.to_string(),
                },
                _ => String::new(),
            }}</p>
        </section>
        <section class="panel" aria-label="Charts">
            <Chart spec=fit_chart id="fit" />
            <Chart spec=residual_chart id="residuals" />
            {move || done_report.get().and_then(|r| r.allocation.clone()).map(|_| view! { <Chart spec=frontier_chart id="frontier" /> })}
        </section>
    }
}

fn fmt_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "inf".into()
    } else if v == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        fmt(v)
    }
}

fn termination_text(t: &scalelab_core::fit::Termination) -> String {
    use scalelab_core::fit::Termination as T;
    match t {
        T::CostConverged => "the cost stopped decreasing (converged)".into(),
        T::StepConverged => "the step became negligible (converged)".into(),
        T::GradientConverged => "the gradient vanished (converged)".into(),
        T::MaxIterations => "it reached the iteration limit (not converged)".into(),
        T::NumericalFailure { detail } => format!("of a numerical failure: {detail}"),
        T::Cancelled => "it was cancelled".into(),
    }
}

fn params_csv(r: &FitReport) -> String {
    let mut out = csv_line(&[
        "parameter".into(),
        "value".into(),
        "std_error".into(),
        "boot_se".into(),
        "ci95_low".into(),
        "ci95_high".into(),
    ]);
    for (i, n) in r.names.iter().enumerate() {
        let se = r
            .fit
            .std_errors
            .as_ref()
            .map(|s| s[i].to_string())
            .unwrap_or_default();
        let (bs, lo, hi) = match &r.bootstrap {
            Some(b) => (
                b.std_errors[i].to_string(),
                b.lower95[i].to_string(),
                b.upper95[i].to_string(),
            ),
            None => Default::default(),
        };
        out.push_str(&csv_line(&[
            n.clone(),
            r.fit.params[i].to_string(),
            se,
            bs,
            lo,
            hi,
        ]));
    }
    out
}

fn params_json(r: &FitReport) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let num = |v: f64| {
        if v.is_finite() {
            v.to_string()
        } else {
            "null".into()
        }
    };
    let params: Vec<String> = r
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let se = r
                .fit
                .std_errors
                .as_ref()
                .map(|s| num(s[i]))
                .unwrap_or_else(|| "null".into());
            format!(
                "{{\"name\":\"{}\",\"value\":{},\"std_error\":{}}}",
                escape(n),
                num(r.fit.params[i]),
                se
            )
        })
        .collect();
    format!(
        "{{\"formula\":\"{}\",\"cost\":{},\"rss\":{},\"iterations\":{},\"params\":[{}]}}\n",
        escape(&r.formula),
        num(r.fit.cost),
        num(r.fit.rss),
        r.fit.iterations,
        params.join(",")
    )
}

fn json_numbers(v: &[f64]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|x| {
            if x.is_finite() {
                x.to_string()
            } else {
                "null".into()
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn predictions_json(r: &FitReport, xs: &[f64], ys: Vec<f64>) -> String {
    format!(
        "{{\"runs\":{{\"at\":{},\"observed\":{},\"predicted\":{}}},\"curve\":{{\"axis\":\"{}\",\"at\":{},\"predicted\":{},\"lower95\":{},\"upper95\":{},\"prediction_lower95\":{},\"prediction_upper95\":{}}}}}\n",
        json_numbers(xs),
        json_numbers(&ys),
        json_numbers(&r.fitted),
        r.curve.axis.replace('"', "'"),
        json_numbers(&r.curve.at),
        json_numbers(&r.curve.mean),
        json_numbers(&r.curve.lower),
        json_numbers(&r.curve.upper),
        json_numbers(&r.curve.prediction_lower),
        json_numbers(&r.curve.prediction_upper),
    )
}

fn predictions_csv(r: &FitReport, xs: &[f64], ys: Vec<f64>) -> String {
    let mut out = String::from("kind,at,observed,predicted,lower95,upper95\n");
    for (i, f) in r.fitted.iter().enumerate() {
        out.push_str(&format!(
            "run,{},{},{},,\n",
            xs.get(i).copied().unwrap_or(f64::NAN),
            ys.get(i).copied().unwrap_or(f64::NAN),
            f
        ));
    }
    for (i, m) in r.curve.mean.iter().enumerate() {
        out.push_str(&format!(
            "curve,{},,{},{},{}\n",
            r.curve.at[i], m, r.curve.lower[i], r.curve.upper[i]
        ));
    }
    out
}
