//! The Fit lab's downloads, built in the worker from the full report when the user asks for one:
//! parameters and predictions as CSV (the `csv` crate, so every cell is quoted as needed) and JSON
//! (`serde_json` from typed records; non-finite numbers become `null`). Every observation is
//! exported, not the thinned series the page draws.
//!
//! A finished fit is kept in the worker ([`keep`]) and the page asks for one download at a time
//! ([`FitExport`]), so a 10⁵-row curve's megabytes of CSV and JSON cross to the page only when
//! they are wanted, not with every result.

use scalelab_core::fit::analysis::{CurveAxis, FitReport};
use serde::{Deserialize, Serialize};

use super::prepare::DataAxis;
use crate::worker::kept::Kept;
use crate::worker::protocol::{JobFailure, Output, WorkerError};
use crate::worker::task::{Once, StartTask, Task};

/// One download of a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportKind {
    /// One row per parameter: value, standard error, bootstrap SE and 95 % interval.
    ParamsCsv,
    /// The same with the formula, cost, RSS and iterations.
    ParamsJson,
    /// Every run (observed, predicted) and every point of the fitted curve with its band.
    PredictionsCsv,
    /// The same as JSON.
    PredictionsJson,
}

impl ExportKind {
    /// The file's name.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportKind::ParamsCsv => "fit-parameters.csv",
            ExportKind::ParamsJson => "fit-parameters.json",
            ExportKind::PredictionsCsv => "fit-predictions.csv",
            ExportKind::PredictionsJson => "fit-predictions.json",
        }
    }

    /// The file's MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ExportKind::ParamsCsv | ExportKind::PredictionsCsv => "text/csv",
            ExportKind::ParamsJson | ExportKind::PredictionsJson => "application/json",
        }
    }
}

/// What a fit's downloads are built from: the full report (every fitted value and curve point)
/// and the runs' abscissae `x` (on `axis`) and observed targets `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptFit {
    /// The report, before thinning.
    pub report: FitReport,
    /// The runs' abscissa.
    pub axis: DataAxis,
    /// Abscissae of the runs.
    pub x: Vec<f64>,
    /// Observed targets.
    pub y: Vec<f64>,
}

thread_local! {
    /// The worker's last finished fit, with its number.
    static KEPT: Kept<KeptFit> = const { Kept::new() };
}

/// Keeps `fit` in the worker for [`FitExport`] (replacing the previous one); returns its number.
pub fn keep(fit: KeptFit) -> u64 {
    KEPT.with(|k| k.keep(fit))
}

/// Input of a download: the kept fit's number and which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitExport {
    /// The number [`keep`] gave the fit (the page has it from the fit's outcome).
    pub fit: u64,
    /// Which download.
    pub kind: ExportKind,
}

/// A download's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportText {
    /// Which download.
    pub kind: ExportKind,
    /// Its contents.
    pub text: String,
}

impl StartTask for FitExport {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(Once::new(move || {
            KEPT.with(|k| {
                k.with(self.fit, |fit| {
                    Output::FitExport(ExportText {
                        kind: self.kind,
                        text: export(fit, self.kind),
                    })
                })
                .ok_or_else(|| WorkerError::FitGone.into())
            })
        })))
    }
}

#[derive(Serialize)]
struct ParamRecord<'a> {
    parameter: &'a str,
    value: f64,
    std_error: Option<f64>,
    boot_se: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
}

#[derive(Serialize)]
struct ParamsJson<'a> {
    formula: &'a str,
    cost: f64,
    rss: f64,
    iterations: usize,
    params: Vec<ParamRecord<'a>>,
}

#[derive(Serialize)]
struct PredictionRecord {
    kind: &'static str,
    at: f64,
    observed: Option<f64>,
    predicted: f64,
    lower95: Option<f64>,
    upper95: Option<f64>,
    prediction_lower95: Option<f64>,
    prediction_upper95: Option<f64>,
}

#[derive(Serialize)]
struct RunsJson<'a> {
    axis: DataAxis,
    at: &'a [f64],
    observed: &'a [f64],
    predicted: &'a [f64],
}

#[derive(Serialize)]
struct CurveJson<'a> {
    axis: CurveAxis,
    at: &'a [f64],
    predicted: &'a [f64],
    lower95: &'a [f64],
    upper95: &'a [f64],
    prediction_lower95: &'a [f64],
    prediction_upper95: &'a [f64],
}

#[derive(Serialize)]
struct PredictionsJson<'a> {
    runs: RunsJson<'a>,
    curve: CurveJson<'a>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn params(r: &FitReport) -> Vec<ParamRecord<'_>> {
    r.names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let boot = r.bootstrap.as_ref();
            ParamRecord {
                parameter: name,
                value: r.fit.params[i],
                std_error: r.fit.std_errors.as_ref().and_then(|s| finite(s[i])),
                boot_se: boot.and_then(|b| finite(b.std_errors[i])),
                ci95_low: boot.and_then(|b| finite(b.lower95[i])),
                ci95_high: boot.and_then(|b| finite(b.upper95[i])),
            }
        })
        .collect()
}

fn csv_of<T: Serialize>(records: impl IntoIterator<Item = T>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        // Writing plain records of numbers and names into memory cannot fail.
        let _ = w.serialize(r);
    }
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

fn json_of<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// The download `kind` of `fit`.
pub fn export(fit: &KeptFit, kind: ExportKind) -> String {
    let (r, x, y) = (&fit.report, &fit.x, &fit.y);
    let c = &r.curve;
    let runs = r.fitted.iter().enumerate().map(|(i, &f)| PredictionRecord {
        kind: "run",
        at: x.get(i).copied().unwrap_or(f64::NAN),
        observed: y.get(i).copied(),
        predicted: f,
        lower95: None,
        upper95: None,
        prediction_lower95: None,
        prediction_upper95: None,
    });
    let curve = (0..c.mean.len()).map(|i| PredictionRecord {
        kind: "curve",
        at: c.at[i],
        observed: None,
        predicted: c.mean[i],
        lower95: finite(c.lower[i]),
        upper95: finite(c.upper[i]),
        prediction_lower95: finite(c.prediction_lower[i]),
        prediction_upper95: finite(c.prediction_upper[i]),
    });
    match kind {
        ExportKind::ParamsCsv => csv_of(params(r)),
        ExportKind::ParamsJson => json_of(&ParamsJson {
            formula: &r.formula,
            cost: r.fit.cost,
            rss: r.fit.rss,
            iterations: r.fit.iterations,
            params: params(r),
        }),
        ExportKind::PredictionsCsv => csv_of(runs.chain(curve)),
        ExportKind::PredictionsJson => json_of(&PredictionsJson {
            runs: RunsJson {
                axis: fit.axis,
                at: x,
                observed: y,
                predicted: &r.fitted,
            },
            curve: CurveJson {
                axis: c.axis,
                at: &c.at,
                predicted: &c.mean,
                lower95: &c.lower,
                upper95: &c.upper,
                prediction_lower95: &c.prediction_lower,
                prediction_upper95: &c.prediction_upper,
            },
        }),
    }
}
