//! The Fit lab's worker jobs: preparing the page's data ([`prepare`]) and the fit itself, run as a
//! sliced [`Analysis`] that streams every finished start ([`StartOutcome`]) and can be paused,
//! stepped one start at a time and cancelled without restarting the worker.

pub mod export;
pub mod prepare;

use scalelab_core::fit::analysis::{self, Analysis, Curve, FitReport, FitRequest, Method, Starts};
use scalelab_core::fit::dataset::Observations;
use scalelab_core::fit::FitOptions;
use serde::{Deserialize, Serialize};

use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage};
use crate::worker::task::{Once, Slice, SliceBudget, StartTask, SyncTask, Task};
use crate::worker::thin::{pick, strided_indices};
use export::{keep, KeptFit};
use prepare::{data_axis, DataAxis, FitInput, PLOTTED_POINTS};

/// Most points of the fitted curve sent to the page.
pub const CURVE_POINTS: usize = 600;

impl StartTask for FitInput {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(Once::new(move || {
            Ok(Output::FitPrepare(self.preparation()))
        })))
    }
}

/// Input of a fit: the data as for [`prepare`], and the fit's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitJob {
    /// The table, columns and model.
    pub input: FitInput,
    /// Start values, one per parameter.
    pub start: Vec<f64>,
    /// Residual space, robust loss and bounds.
    pub options: FitOptions,
    /// Least squares or Hoffmann's objective.
    pub method: Method,
    /// Single start, Hoffmann's grid or random starts.
    pub starts: Starts,
    /// Bootstrap resamples (0 = none).
    pub bootstrap: usize,
    /// Seed of the random starts and the bootstrap.
    pub seed: u64,
    /// Extrapolation factor of the default curve.
    pub extrapolate: f64,
    /// Largest runs held out for the backtest.
    pub holdout: usize,
}

/// The runs as drawn: thinned to at most [`PLOTTED_POINTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsPlot {
    /// Runs in all.
    pub count: usize,
    /// The abscissa.
    pub axis: DataAxis,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Observed targets.
    pub y: Vec<f64>,
    /// Fitted values.
    pub fitted: Vec<f64>,
    /// Residuals `y − f`.
    pub residuals: Vec<f64>,
}

/// Output of a fit: the report with its curve thinned to at most [`CURVE_POINTS`] and its
/// per-observation arrays (`fitted`, `residuals`) moved, thinned, into [`RunsPlot`]; every point is
/// kept in the worker for the downloads ([`export`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOutcome {
    /// The report (see above for what is thinned).
    pub report: FitReport,
    /// The runs with their fit.
    pub runs: RunsPlot,
    /// Abscissae of the held-out runs.
    pub backtest_x: Vec<f64>,
    /// The number of the full fit kept in the worker for its downloads ([`export::FitExport`]).
    pub kept: u64,
}

/// A fit in progress.
struct FitTask {
    analysis: Analysis,
    observations: Observations,
    axis: DataAxis,
    x: Vec<f64>,
}

impl StartTask for FitJob {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        let prepared = self.input.prepare()?;
        let (axis, x) = data_axis(&prepared.choice, &prepared.observations);
        let req = FitRequest {
            model: prepared.choice,
            data: prepared.observations.data.clone(),
            schedule: prepared.observations.schedule.clone(),
            start: self.start,
            options: self.options,
            method: self.method,
            starts: self.starts,
            bootstrap: self.bootstrap,
            seed: self.seed,
            curve_inputs: Vec::new(),
            extrapolate: self.extrapolate,
            holdout: self.holdout,
        };
        Ok(Box::new(FitTask {
            analysis: Analysis::new(req)?,
            observations: prepared.observations,
            axis,
            x,
        }))
    }
}

impl FitTask {
    fn outcome(&self, mut r: FitReport) -> FitOutcome {
        let y = &self.observations.data.y;
        let kept = keep(KeptFit {
            report: r.clone(),
            axis: self.axis,
            x: self.x.clone(),
            y: y.clone(),
        });
        let keep = strided_indices(self.x.len(), PLOTTED_POINTS);
        let runs = RunsPlot {
            count: self.x.len(),
            axis: self.axis,
            x: pick(&self.x, &keep),
            y: pick(y, &keep),
            fitted: pick(&std::mem::take(&mut r.fitted), &keep),
            residuals: pick(&std::mem::take(&mut r.residuals), &keep),
        };
        let c = &r.curve;
        let ck = strided_indices(c.at.len(), CURVE_POINTS);
        r.curve = Curve {
            axis: c.axis,
            band: c.band,
            at: pick(&c.at, &ck),
            mean: pick(&c.mean, &ck),
            lower: pick(&c.lower, &ck),
            upper: pick(&c.upper, &ck),
            prediction_lower: pick(&c.prediction_lower, &ck),
            prediction_upper: pick(&c.prediction_upper, &ck),
        };
        let backtest_x = r
            .backtest
            .as_ref()
            .map(|b| pick(&self.x, &b.indices))
            .unwrap_or_default();
        FitOutcome {
            report: r,
            runs,
            backtest_x,
            kept,
        }
    }
}

impl SyncTask for FitTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (report, units) = budget.run(|b| self.analysis.advance(b));
        let partials = self
            .analysis
            .take_starts()
            .into_iter()
            .map(Partial::Fit)
            .collect();
        match report? {
            Some(r) => Ok(Slice::Done {
                partials,
                output: Output::Fit(self.outcome(r)),
            }),
            None => {
                let p = self.analysis.progress();
                let stage = match p.stage {
                    analysis::Stage::Fit => Stage::Starts,
                    analysis::Stage::Bootstrap => Stage::Bootstrap,
                    analysis::Stage::Backtest => Stage::Backtest,
                };
                Ok(Slice::More {
                    progress: Progress::new(stage, p.done as u64, p.total as u64),
                    partials,
                    units,
                })
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::export::{ExportKind, FitExport};
    use super::prepare::{ColumnChoice, FitData, ModelPick};
    use super::*;
    use crate::worker::protocol::JobSpec;
    use crate::worker::task::run_to_end;
    use scalelab_core::fit::dataset::CurveOptions;
    use scalelab_core::fit::models::BuiltinModel;
    use scalelab_core::fit::presets::Preset;
    use scalelab_core::fit::{ResidualSpace, RobustLoss};

    fn chinchilla_job(starts: Starts) -> FitJob {
        let input = FitInput {
            data: FitData::Preset(Preset::Chinchilla),
            columns: ColumnChoice::default(),
            model: ModelPick::Builtin(BuiltinModel::Chinchilla),
            curve: CurveOptions::default(),
            positive: true,
        };
        let prep = input.preparation();
        FitJob {
            input,
            start: prep.default_start,
            options: FitOptions {
                residual: ResidualSpace::Log,
                loss: RobustLoss::L2,
                bounds: Some(prep.default_bounds),
                ..FitOptions::default()
            },
            method: Method::LeastSquares,
            starts,
            bootstrap: 0,
            seed: 0,
            extrapolate: 10.0,
            holdout: 0,
        }
    }

    fn download(fit: u64, kind: ExportKind) -> Result<String, JobFailure> {
        let (out, _, _) = run_to_end(FitExport { fit, kind }.start()?, None)?;
        Ok(FitExport::output(out).unwrap().text)
    }

    #[test]
    fn a_stepped_fit_streams_one_start_per_step_and_equals_the_fit_at_once() {
        let job = chinchilla_job(Starts::Random {
            samples: 8,
            seed: 2,
        });
        let (whole, partials, _) = run_to_end(job.clone().start().unwrap(), None).unwrap();
        let (stepped, stepped_partials, slices) =
            run_to_end(job.start().unwrap(), Some(1)).unwrap();
        assert_eq!(slices, 8, "one start per step");
        assert_eq!(partials, stepped_partials);
        assert_eq!(partials.len(), 8);
        let (a, b) = (
            FitJob::output(whole).unwrap(),
            FitJob::output(stepped).unwrap(),
        );
        assert_eq!(format!("{:?}", a.report), format!("{:?}", b.report));
        assert_eq!((&a.runs, &a.backtest_x), (&b.runs, &b.backtest_x));
        assert_eq!(b.kept, a.kept + 1, "each fit is kept under a new number");
        assert_eq!(a.report.starts_run, 8);
        // Hoffmann et al.'s law generated the preset: E ≈ 1.69, α ≈ 0.34, β ≈ 0.28.
        let p = &a.report.fit.params;
        assert!(
            (p[0] - 1.69).abs() < 0.1 && (p[3] - 0.34).abs() < 0.05 && (p[4] - 0.28).abs() < 0.05,
            "{p:?}"
        );
        // The downloads are built from the full report of the fit the worker keeps: the last one.
        assert_eq!(
            download(a.kept, ExportKind::ParamsCsv)
                .unwrap_err()
                .code
                .as_str(),
            "FitGone"
        );
        assert!(download(b.kept, ExportKind::ParamsCsv)
            .unwrap()
            .starts_with("parameter,value,std_error"));
        assert_eq!(
            download(b.kept, ExportKind::PredictionsCsv)
                .unwrap()
                .lines()
                .count(),
            1 + 54 + 200,
            "every run and every point of the unthinned curve"
        );
    }

    #[test]
    fn exports_quote_names_and_write_null_for_missing_values() {
        let mut job = chinchilla_job(Starts::Single);
        job.input.data = FitData::Text("x,y\n1,2.1\n2,1.6\n4,1.3\n8,1.2\n16,1.1\n".into());
        job.input.model = ModelPick::Formula("c + a*x^(-b)".into());
        job.start = vec![1.0, 1.0, 0.5];
        job.options.bounds = None;
        job.method = Method::Hoffmann { delta: 1e-3 };
        assert_eq!(
            job.clone().start().err().unwrap().code.as_str(),
            "InvalidValue",
            "Hoffmann's method needs the Chinchilla model"
        );
        job.method = Method::LeastSquares;
        let (out, _, _) = run_to_end(job.start().unwrap(), None).unwrap();
        let out = FitJob::output(out).unwrap();
        assert!(download(out.kept, ExportKind::ParamsJson)
            .unwrap()
            .contains("\"parameter\": \"c\""));
        let json = download(out.kept, ExportKind::PredictionsJson).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["runs"]["at"].as_array().unwrap().len(), 5);
        assert_eq!(v["curve"]["axis"], "x");
    }
}
