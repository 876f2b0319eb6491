//! One complete fit as the Fit page and the npm package run it, as a forward pipeline:
//! the request is validated once ([`Analysis::new`]), then the stages run in order —
//! [`main_fit`] (least squares or Hoffmann et al.'s Huber-on-log objective with L-BFGS, from one or
//! many starts) → [`bootstrap`] (seeded resampling) → [`curve`] (the fitted curve with its 95 %
//! band) → [`backtest`] (a refit without the largest runs) → [`allocation`] (the compute-optimal
//! frontier of a Chinchilla fit).
//!
//! The pipeline advances in slices ([`Analysis::advance`] with a [`Budget`]): the solvers stop
//! after any accepted step when the budget runs out and resume with identical arithmetic, so a fit
//! advanced in 20 ms slices gives the same report, bit for bit, as [`analyse`] at once. Each
//! finished start is reported as a [`StartOutcome`] ([`Analysis::take_starts`]) for live charts.

mod allocation;
mod backtest;
mod bootstrap;
mod curve;
mod main_fit;
mod refit;

use serde::{Deserialize, Serialize};

use crate::budget::{run_to_end, Budget};
use crate::fit::allocation::{ChinchillaAllocation, ComputeOptimal};
use crate::fit::formula::FormulaModel;
use crate::fit::models::BuiltinModel;
use crate::fit::multistart::StartOutcome;
use crate::fit::schedule::LrSchedule;
use crate::fit::{Data, FitOptions, FitResult, Model, ResidualSpace, Termination};
use crate::CoreError;

/// Most bootstrap resamples one request may ask for.
pub const MAX_BOOTSTRAP: usize = 10_000;
/// Most random starts one request may ask for.
pub const MAX_RANDOM_STARTS: usize = 100_000;
/// Largest extrapolation factor of the default curve.
pub const MAX_EXTRAPOLATION: f64 = 1e6;

/// Which model to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ModelChoice {
    /// A built-in model.
    Builtin {
        /// Which one.
        model: BuiltinModel,
    },
    /// A model typed as a formula; `inputs` name the data columns it reads (e.g. `["N", "D"]`).
    Formula {
        /// The formula, e.g. `E + A/N^alpha + B/D^beta`.
        text: String,
        /// Input names in the order of the data's inputs.
        inputs: Vec<String>,
    },
}

impl ModelChoice {
    /// The model, built with the learning-rate schedule where it needs one.
    pub fn build(&self, schedule: Option<&LrSchedule>) -> Result<Box<dyn Model>, CoreError> {
        match self {
            ModelChoice::Builtin { model } => match (model.needs_schedule(), schedule) {
                (true, Some(schedule)) => model.model_with_schedule(schedule),
                (true, None) => Err(CoreError::InvalidValue {
                    what: "model",
                    reason: format!(
                        "{} needs the learning-rate schedule of every step; give a learning-rate \
                         column or a named schedule",
                        model.label()
                    ),
                }),
                (false, _) => Ok(model.model()),
            },
            ModelChoice::Formula { text, inputs } => Ok(Box::new(FormulaModel::new(text, inputs)?)),
        }
    }

    fn is(&self, which: BuiltinModel) -> bool {
        matches!(self, ModelChoice::Builtin { model } if *model == which)
    }
}

/// How the main fit minimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Method {
    /// Levenberg–Marquardt on the options' residual space and robust loss.
    LeastSquares,
    /// Hoffmann et al. Approach 3 (Chinchilla only): `Σ Huber_δ(LSE(a − α ln N, b − β ln D, e) − ln L)`
    /// minimised with L-BFGS.
    Hoffmann {
        /// Huber threshold (Hoffmann: 1e-3).
        delta: f64,
    },
}

/// Where the fit starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Starts {
    /// The request's `start` only.
    Single,
    /// Hoffmann et al.'s 4500-start grid (Chinchilla only).
    Hoffmann4500,
    /// A seeded Latin-hypercube sample of `samples` starts in the box `start/10 … start·10` (signs kept;
    /// finite bounds override the box).
    Random {
        /// Number of starts (1 ..= [`MAX_RANDOM_STARTS`]).
        samples: usize,
        /// Seed.
        seed: u64,
    },
}

/// Everything one fit needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRequest {
    /// The model.
    pub model: ModelChoice,
    /// The observations.
    pub data: Data,
    /// The learning-rate schedule of every training step, for the loss-curve laws (whose input is
    /// the step; see [`crate::fit::schedule`] for the step and warmup conventions).
    pub schedule: Option<LrSchedule>,
    /// Starting parameters.
    pub start: Vec<f64>,
    /// Least-squares options (residual space, robust loss, bounds, tolerances).
    pub options: FitOptions,
    /// Least squares or Hoffmann's objective.
    pub method: Method,
    /// Single start, the 4500 grid, or random starts.
    pub starts: Starts,
    /// Bootstrap resamples (0 = none, at most [`MAX_BOOTSTRAP`]).
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Row-major inputs at which to report the fitted curve and its band; empty = chosen by
    /// the analysis from the data and `extrapolate` (see [`FitReport::curve`]).
    pub curve_inputs: Vec<f64>,
    /// How far the default curve extends beyond the largest run: a factor in
    /// `1 ..= MAX_EXTRAPOLATION` on x, or on compute for two-input laws.
    pub extrapolate: f64,
    /// Number of largest runs held out for the backtest (0 = none).
    pub holdout: usize,
}

/// What a [`Curve`] is plotted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurveAxis {
    /// The single input `x` (or the first input of the given curve inputs).
    X,
    /// Compute `C`, along the compute-optimal frontier `N_opt(C), D_opt(C)` of a Chinchilla fit.
    ComputeOptimal,
    /// Compute `C = 6ND` of the runs, then the largest run scaled along N and D equally.
    Compute,
    /// The training step of a loss curve.
    Step,
}

impl CurveAxis {
    /// The axis label for people.
    pub fn label(self) -> &'static str {
        match self {
            CurveAxis::X => "x",
            CurveAxis::ComputeOptimal => "compute-optimal C",
            CurveAxis::Compute => "C = 6ND",
            CurveAxis::Step => "step",
        }
    }
}

/// How a [`Curve`]'s band was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandKind {
    /// The delta method on the fit's covariance.
    DeltaMethod,
    /// Percentiles of the bootstrap fits' predictions.
    Bootstrap,
    /// No band (no covariance and fewer than 20 successful bootstrap fits).
    None,
}

impl BandKind {
    /// The band's name for people.
    pub fn label(self) -> &'static str {
        match self {
            BandKind::DeltaMethod => "delta method",
            BandKind::Bootstrap => "bootstrap",
            BandKind::None => "none",
        }
    }
}

/// The fitted curve at [`FitRequest::curve_inputs`] with a 95 % band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// What the curve is plotted against.
    pub axis: CurveAxis,
    /// The abscissa per point.
    pub at: Vec<f64>,
    /// Prediction per input row.
    pub mean: Vec<f64>,
    /// Lower end of the 95 % band (NaN where unavailable).
    pub lower: Vec<f64>,
    /// Upper end of the 95 % band.
    pub upper: Vec<f64>,
    /// How the band was made.
    pub band: BandKind,
    /// Lower end of the 95 % prediction band (where a new run would fall: the confidence band widened
    /// by the residual variance `s² = RSS/(n − p)`); NaN where unavailable.
    pub prediction_lower: Vec<f64>,
    /// Upper end of the 95 % prediction band.
    pub prediction_upper: Vec<f64>,
}

/// Held-out runs predicted by a fit on the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    /// Indices (into the data) of the held-out runs.
    pub indices: Vec<usize>,
    /// Observed targets.
    pub actual: Vec<f64>,
    /// Predictions of the fit without them.
    pub predicted: Vec<f64>,
    /// `(predicted − actual)/actual`.
    pub relative_error: Vec<f64>,
    /// Parameters fitted without them.
    pub params: Vec<f64>,
    /// Why that fit stopped.
    pub termination: Termination,
}

/// Bootstrap percentile intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapIntervals {
    /// Successful refits.
    pub successful: usize,
    /// Resamples run.
    pub run: usize,
    /// Bootstrap standard error per parameter.
    pub std_errors: Vec<f64>,
    /// 2.5th percentile per parameter.
    pub lower95: Vec<f64>,
    /// 97.5th percentile per parameter.
    pub upper95: Vec<f64>,
}

/// The compute-optimal allocation of a Chinchilla-type fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// `G`, `a`, `b`.
    pub rule: ChinchillaAllocation,
    /// The frontier at budgets 10¹⁸ … 10²⁶ FLOPs.
    pub frontier: Vec<ComputeOptimal>,
}

/// The outcome of [`analyse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Parameter names.
    pub names: Vec<String>,
    /// The model's formula.
    pub formula: String,
    /// The best fit (for the Hoffmann method: parameters `[E, A, B, α, β]`, cost = the Huber objective).
    pub fit: FitResult,
    /// Starts run.
    pub starts_run: usize,
    /// Starts whose fit converged.
    pub starts_converged: usize,
    /// Bootstrap intervals, if requested and at least two refits succeeded.
    pub bootstrap: Option<BootstrapIntervals>,
    /// Fitted curve and band.
    pub curve: Curve,
    /// Prediction at every observation.
    pub fitted: Vec<f64>,
    /// `y − f` at every observation.
    pub residuals: Vec<f64>,
    /// The backtest, if requested.
    pub backtest: Option<Backtest>,
    /// For Chinchilla fits.
    pub allocation: Option<Allocation>,
}

/// The stage an [`Analysis`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Fitting from the starts.
    Fit,
    /// Refitting bootstrap resamples.
    Bootstrap,
    /// The backtest fit.
    Backtest,
}

/// Where an [`Analysis`] is: its stage and the units (starts, resamples) done of that stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisProgress {
    /// The current stage.
    pub stage: Stage,
    /// Units finished in this stage.
    pub done: usize,
    /// Units in this stage.
    pub total: usize,
}

/// The main fit's outcome, handed to the later stages.
struct MainOutcome {
    fit: FitResult,
    starts_run: usize,
    starts_converged: usize,
}

/// The stage in progress with what the earlier stages gave (one per analysis, so the variants'
/// sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Pipeline {
    MainFit(main_fit::MainFit),
    Bootstrap(MainOutcome, bootstrap::BootstrapStage),
    Backtest(
        MainOutcome,
        Option<BootstrapIntervals>,
        Curve,
        backtest::BacktestStage,
    ),
}

/// One fit, advanced stage by stage in slices (see the module docs).
pub struct Analysis {
    req: FitRequest,
    model: Box<dyn Model>,
    pipeline: Option<Pipeline>,
    starts: Vec<StartOutcome>,
}

impl Analysis {
    /// Validates the request — model, data, starts, method, bootstrap, curve inputs, extrapolation,
    /// backtest — once, before any work.
    ///
    /// # Errors
    /// Each [`CoreError`] names what to fix.
    pub fn new(req: FitRequest) -> Result<Analysis, CoreError> {
        let model = validate(&req)?;
        let main = main_fit::MainFit::new(&req, model.as_ref())?;
        Ok(Analysis {
            req,
            model,
            pipeline: Some(Pipeline::MainFit(main)),
            starts: Vec::new(),
        })
    }

    /// Runs stages until the report is ready (`Some`) or the budget ends the slice (`None`; call
    /// again to go on). One budget unit is one start of the main fit, one bootstrap resample, or
    /// the backtest refit.
    ///
    /// # Errors
    /// When no start of the main fit gives a finite cost (the first start's error, or
    /// [`CoreError::InvalidValue`]).
    pub fn advance(&mut self, budget: &mut Budget<'_>) -> Result<Option<FitReport>, CoreError> {
        let (req, model) = (&self.req, self.model.as_ref());
        loop {
            let Some(stage) = self.pipeline.take() else {
                return Err(CoreError::InvalidValue {
                    what: "fit",
                    reason: "this analysis already gave its report".into(),
                });
            };
            let next = match stage {
                Pipeline::MainFit(mut run) => {
                    match run.advance(req, model, budget, &mut self.starts)? {
                        None => {
                            self.pipeline = Some(Pipeline::MainFit(run));
                            return Ok(None);
                        }
                        Some(main) => {
                            Pipeline::Bootstrap(main, bootstrap::BootstrapStage::new(req)?)
                        }
                    }
                }
                Pipeline::Bootstrap(main, mut run) => {
                    match run.advance(req, model, &main.fit.params, budget)? {
                        None => {
                            self.pipeline = Some(Pipeline::Bootstrap(main, run));
                            return Ok(None);
                        }
                        Some(boot) => {
                            let curve = curve::curve(req, model, &main.fit, boot.as_ref());
                            let intervals = boot.and_then(bootstrap::intervals);
                            let backtest =
                                backtest::BacktestStage::new(req, model, &main.fit.params);
                            Pipeline::Backtest(main, intervals, curve, backtest)
                        }
                    }
                }
                Pipeline::Backtest(main, intervals, curve, mut run) => {
                    match run.advance(req, model, budget) {
                        None => {
                            self.pipeline = Some(Pipeline::Backtest(main, intervals, curve, run));
                            return Ok(None);
                        }
                        Some(backtest) => {
                            return Ok(Some(self.report(main, intervals, curve, backtest)));
                        }
                    }
                }
            };
            self.pipeline = Some(next);
        }
    }

    /// The stage and its units done.
    pub fn progress(&self) -> AnalysisProgress {
        let (stage, (done, total)) = match &self.pipeline {
            Some(Pipeline::MainFit(run)) => (Stage::Fit, run.progress()),
            Some(Pipeline::Bootstrap(_, run)) => (Stage::Bootstrap, run.progress()),
            Some(Pipeline::Backtest(.., run)) => (Stage::Backtest, run.progress()),
            None => (Stage::Backtest, (1, 1)),
        };
        AnalysisProgress { stage, done, total }
    }

    /// The starts finished since the last call, in order.
    pub fn take_starts(&mut self) -> Vec<StartOutcome> {
        std::mem::take(&mut self.starts)
    }

    fn report(
        &self,
        main: MainOutcome,
        bootstrap: Option<BootstrapIntervals>,
        curve: Curve,
        backtest: Option<Backtest>,
    ) -> FitReport {
        let (req, model) = (&self.req, self.model.as_ref());
        let params = &main.fit.params;
        let fitted = predict_all(model, params, &req.data.x, req.data.n_inputs);
        let residuals = req.data.y.iter().zip(&fitted).map(|(y, f)| y - f).collect();
        FitReport {
            names: model.param_names(),
            formula: model.formula(),
            allocation: allocation::allocation(req, params),
            fit: main.fit,
            starts_run: main.starts_run,
            starts_converged: main.starts_converged,
            bootstrap,
            curve,
            fitted,
            residuals,
            backtest,
        }
    }
}

/// Runs the whole analysis at once (see the module docs).
///
/// # Errors
/// Invalid model, data, starts or options (each [`CoreError`] names what to fix); a fit that does not
/// converge is not an error (see [`FitResult::termination`]).
pub fn analyse(req: &FitRequest) -> Result<FitReport, CoreError> {
    let mut analysis = Analysis::new(req.clone())?;
    run_to_end(|budget| analysis.advance(budget))
}

/// `true` when a fit in `space` needs positive targets.
pub fn needs_positive_targets(space: ResidualSpace, method: Method) -> bool {
    space == ResidualSpace::Log || matches!(method, Method::Hoffmann { .. })
}

/// The checks of [`Analysis::new`]; returns the built model.
fn validate(req: &FitRequest) -> Result<Box<dyn Model>, CoreError> {
    let model = req.model.build(req.schedule.as_ref())?;
    let k = model.n_inputs();
    if req.data.n_inputs != k {
        return Err(CoreError::DimensionMismatch {
            what: "inputs per observation",
            expected: k,
            got: req.data.n_inputs,
        });
    }
    if req.bootstrap > MAX_BOOTSTRAP {
        return Err(CoreError::OutOfRange {
            what: "bootstrap resamples",
            value: req.bootstrap as f64,
            min: 0.0,
            max: MAX_BOOTSTRAP as f64,
        });
    }
    if let Starts::Random { samples, .. } = req.starts {
        if !(1..=MAX_RANDOM_STARTS).contains(&samples) {
            return Err(CoreError::OutOfRange {
                what: "random starts",
                value: samples as f64,
                min: 1.0,
                max: MAX_RANDOM_STARTS as f64,
            });
        }
    }
    if !(req.extrapolate.is_finite() && (1.0..=MAX_EXTRAPOLATION).contains(&req.extrapolate)) {
        return Err(CoreError::OutOfRange {
            what: "extrapolation factor",
            value: req.extrapolate,
            min: 1.0,
            max: MAX_EXTRAPOLATION,
        });
    }
    if !req.curve_inputs.len().is_multiple_of(k) {
        return Err(CoreError::DimensionMismatch {
            what: "curve inputs (a multiple of the inputs per observation)",
            expected: k,
            got: req.curve_inputs.len() % k,
        });
    }
    CoreError::check_finite("curve inputs", &req.curve_inputs)?;
    model.check_inputs("observation", &req.data.x)?;
    model.check_inputs("curve input", &req.curve_inputs)?;
    let p = model.param_names().len();
    check_distinct_inputs(&req.data, p)?;
    let n = req.data.len();
    if req.holdout > 0 && req.holdout + p > n {
        return Err(CoreError::OutOfRange {
            what: "held-out runs (the rest must have at least one point per parameter)",
            value: req.holdout as f64,
            min: 0.0,
            max: n.saturating_sub(p) as f64,
        });
    }
    Ok(model)
}

/// A one-input law with `p` parameters needs at least `p` distinct inputs: repeated `x` values add
/// no information about the curve's shape.
fn check_distinct_inputs(data: &Data, p: usize) -> Result<(), CoreError> {
    if data.n_inputs != 1 || data.len() < p {
        return Ok(());
    }
    let mut xs: Vec<f64> = data.x.clone();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() < p {
        return Err(CoreError::InvalidValue {
            what: "data",
            reason: format!(
                "only {} distinct x values (the others repeat them) for {p} parameters; add runs at new x values or fit a model with fewer parameters",
                xs.len()
            ),
        });
    }
    Ok(())
}

/// The observations at `idx`, in that order (with repeats).
fn subset(data: &Data, idx: &[usize]) -> Data {
    let k = data.n_inputs;
    Data {
        n_inputs: k,
        x: idx
            .iter()
            .flat_map(|&i| data.row(i).iter().copied())
            .collect(),
        y: idx.iter().map(|&i| data.y[i]).collect(),
        weights: data
            .weights
            .as_ref()
            .map(|w| idx.iter().map(|&i| w[i]).collect()),
    }
}

/// The model at every row of the row-major inputs `x` (`k` per row).
fn predict_all(model: &dyn Model, params: &[f64], x: &[f64], k: usize) -> Vec<f64> {
    x.chunks(k.max(1))
        .map(|row| model.eval(row, params, None))
        .collect()
}
