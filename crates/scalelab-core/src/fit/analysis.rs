//! One complete fit as the Fit page and the npm package run it: the main fit (least squares, or
//! Hoffmann et al.'s Huber-on-log objective with L-BFGS), optional multi-start, a seeded bootstrap,
//! an extrapolation band, a backtest on the largest runs, and the compute-optimal allocation of a
//! Chinchilla fit.

use serde::{Deserialize, Serialize};

use crate::fit::allocation::{ChinchillaAllocation, ComputeOptimal};
use crate::fit::formula::FormulaModel;
use crate::fit::hoffmann::{self, HoffmannObjective, HoffmannOptions, Reduction};
use crate::fit::models::BuiltinModel;
use crate::fit::multistart::{self, GridSpec};
use crate::fit::solvers::fit;
use crate::fit::uncertainty::{self, BandOptions, BootstrapOptions};
use crate::fit::{Data, FitOptions, FitResult, Model, ResidualSpace, Termination};
use crate::CoreError;

/// Most bootstrap resamples one request may ask for.
pub const MAX_BOOTSTRAP: usize = 10_000;
/// Most random starts one request may ask for.
pub const MAX_RANDOM_STARTS: usize = 100_000;

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
    pub fn build(&self, schedule: Option<&[f64]>) -> Result<Box<dyn Model>, CoreError> {
        match self {
            ModelChoice::Builtin { model } => match (model.needs_schedule(), schedule) {
                (true, Some(lrs)) => model.model_with_schedule(lrs),
                (true, None) => Err(CoreError::InvalidValue {
                    what: "model",
                    reason: format!(
                        "{} needs the learning-rate schedule; map a learning-rate column",
                        model.label()
                    ),
                }),
                (false, _) => Ok(model.model()),
            },
            ModelChoice::Formula { text, inputs } => Ok(Box::new(FormulaModel::new(text, inputs)?)),
        }
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
        /// Number of starts.
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
    /// Per-step learning rates, for models that need them.
    pub schedule: Option<Vec<f64>>,
    /// Starting parameters.
    pub start: Vec<f64>,
    /// Least-squares options (residual space, robust loss, bounds, tolerances).
    pub options: FitOptions,
    /// Least squares or Hoffmann's objective.
    pub method: Method,
    /// Single start, the 4500 grid, or random starts.
    pub starts: Starts,
    /// Bootstrap resamples (0 = none) and their seed.
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Row-major inputs at which to report the fitted curve and its band; empty = chosen by
    /// the analysis from the data and `extrapolate` (see `FitReport::curve`).
    pub curve_inputs: Vec<f64>,
    /// How far the default curve extends beyond the largest run (a factor ≥ 1 on x, or on compute
    /// for two-input laws).
    pub extrapolate: f64,
    /// Number of largest runs held out for the backtest (0 = none).
    pub holdout: usize,
}

/// The fitted curve at [`FitRequest::curve_inputs`] with a 95 % band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// What the curve is plotted against: `x`, compute `C = 6ND`, or the step.
    pub axis: String,
    /// The abscissa per point.
    pub at: Vec<f64>,
    /// Prediction per input row.
    pub mean: Vec<f64>,
    /// Lower end of the 95 % band (NaN where unavailable).
    pub lower: Vec<f64>,
    /// Upper end of the 95 % band.
    pub upper: Vec<f64>,
    /// How the band was made: `"delta method"`, `"bootstrap"` or `"none"`.
    pub band: String,
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
    /// Starts run, and how many converged.
    pub starts_run: usize,
    /// Starts whose fit converged.
    pub starts_converged: usize,
    /// Bootstrap intervals, if requested.
    pub bootstrap: Option<BootstrapIntervals>,
    /// Fitted curve and band at the requested inputs.
    pub curve: Curve,
    /// Prediction at every observation.
    pub fitted: Vec<f64>,
    /// `y − f` at every observation.
    pub residuals: Vec<f64>,
    /// The backtest, if requested.
    pub backtest: Option<Backtest>,
    /// For Chinchilla fits.
    pub allocation: Option<Allocation>,
    /// `true` when the progress hook stopped the work early.
    pub cancelled: bool,
}

/// The stage [`analyse`] reports progress for.
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

fn is_chinchilla(model: &ModelChoice) -> bool {
    matches!(
        model,
        ModelChoice::Builtin {
            model: BuiltinModel::Chinchilla
        }
    )
}

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

/// Chinchilla `[E, A, B, α, β]` → Hoffmann `[a, b, e, α, β]` (logs of the coefficients).
fn to_log_form(p: &[f64]) -> Option<[f64; 5]> {
    match *p {
        [e, a, b, alpha, beta] if e > 0.0 && a > 0.0 && b > 0.0 => {
            Some([a.ln(), b.ln(), e.ln(), alpha, beta])
        }
        _ => None,
    }
}

fn random_box(start: &[f64], bounds: Option<&Vec<(f64, f64)>>) -> Vec<(f64, f64)> {
    start
        .iter()
        .enumerate()
        .map(|(j, &s)| {
            let (lo, hi) = if s == 0.0 {
                (-1.0, 1.0)
            } else if s > 0.0 {
                (s / 10.0, s * 10.0)
            } else {
                (s * 10.0, s / 10.0)
            };
            match bounds.and_then(|b| b.get(j)) {
                Some(&(l, h)) => (
                    if l.is_finite() { lo.max(l) } else { lo },
                    if h.is_finite() { hi.min(h) } else { hi },
                ),
                None => (lo, hi),
            }
        })
        .collect()
}

struct MainFit {
    fit: FitResult,
    run: usize,
    converged: usize,
    cancelled: bool,
}

fn hoffmann_options(delta: f64, starts: Vec<[f64; 5]>) -> HoffmannOptions {
    HoffmannOptions {
        delta,
        reduction: Reduction::Sum,
        starts: Some(starts),
        ..HoffmannOptions::default()
    }
}

fn hoffmann_columns(data: &Data) -> (Vec<f64>, Vec<f64>) {
    (
        (0..data.len()).map(|i| data.row(i)[0]).collect(),
        (0..data.len()).map(|i| data.row(i)[1]).collect(),
    )
}

/// The fit as a [`FitResult`]; `rss` is the sum of squared log residuals `Σ (ln L − ln L̂)²`.
fn hoffmann_result(h: &hoffmann::HoffmannFit, data: &Data) -> FitResult {
    let rss = (0..data.len())
        .map(|i| {
            let r = data.row(i);
            (data.y[i].ln() - h.predict(r[0], r[1]).ln()).powi(2)
        })
        .sum();
    FitResult {
        params: h.coefficients.to_vec(),
        cost: h.objective,
        rss,
        iterations: h.iterations,
        evaluations: h.evaluations,
        termination: h.termination.clone(),
        std_errors: None,
        covariance: None,
    }
}

fn main_fit(
    req: &FitRequest,
    model: &dyn Model,
    progress: &mut dyn FnMut(Stage, usize, usize) -> bool,
) -> Result<MainFit, CoreError> {
    let mut hook = |d: usize, t: usize| progress(Stage::Fit, d, t);
    match req.method {
        Method::Hoffmann { delta } => {
            if !is_chinchilla(&req.model) {
                return Err(CoreError::InvalidValue {
                    what: "method",
                    reason: "Hoffmann's objective applies to the Chinchilla model L(N, D) only"
                        .into(),
                });
            }
            let starts = match &req.starts {
                Starts::Hoffmann4500 => hoffmann::hoffmann_grid(),
                Starts::Single => {
                    vec![
                        to_log_form(&req.start).ok_or_else(|| CoreError::InvalidValue {
                            what: "start",
                            reason: "E, A and B must be positive for Hoffmann's log-form fit"
                                .into(),
                        })?,
                    ]
                }
                Starts::Random { samples, seed } => {
                    let log_start = to_log_form(&req.start).unwrap_or([6.0, 6.0, 0.5, 0.3, 0.3]);
                    GridSpec::LatinHypercube {
                        bounds: log_start
                            .iter()
                            .map(|&v| (v - 2.0_f64.max(v.abs()), v + 2.0_f64.max(v.abs())))
                            .collect(),
                        samples: (*samples).min(MAX_RANDOM_STARTS),
                        seed: *seed,
                    }
                    .starts()?
                    .into_iter()
                    .map(|s| [s[0], s[1], s[2], s[3], s[4]])
                    .collect()
                }
            };
            let (n, d) = hoffmann_columns(&req.data);
            let h = hoffmann::fit_hoffmann_with(
                &n,
                &d,
                &req.data.y,
                &hoffmann_options(delta, starts),
                &mut hook,
            )?;
            Ok(MainFit {
                fit: hoffmann_result(&h, &req.data),
                run: h.starts_run,
                converged: h.starts_converged,
                cancelled: h.cancelled,
            })
        }
        Method::LeastSquares => {
            let fit_fn = |s: &[f64]| fit(model, &req.data, s, &req.options);
            let starts: Vec<Vec<f64>> = match &req.starts {
                Starts::Single => {
                    let r = fit_fn(&req.start)?;
                    let converged = r.termination.converged() as usize;
                    return Ok(MainFit {
                        fit: r,
                        run: 1,
                        converged,
                        cancelled: false,
                    });
                }
                Starts::Hoffmann4500 => {
                    if !is_chinchilla(&req.model) {
                        return Err(CoreError::InvalidValue {
                            what: "starts",
                            reason: "the 4500-start grid is defined for the Chinchilla model only"
                                .into(),
                        });
                    }
                    hoffmann::hoffmann_grid()
                        .iter()
                        .map(|&[a, b, e, al, be]| vec![e.exp(), a.exp(), b.exp(), al, be])
                        .collect()
                }
                Starts::Random { samples, seed } => GridSpec::LatinHypercube {
                    bounds: random_box(&req.start, req.options.bounds.as_ref()),
                    samples: (*samples).min(MAX_RANDOM_STARTS),
                    seed: *seed,
                }
                .starts()?,
            };
            let m = multistart::multistart_from(&fit_fn, &starts, &mut hook)?;
            let best = m.best.ok_or_else(|| CoreError::InvalidValue {
                what: "fit",
                reason:
                    "no start gave a finite cost; check the model, the data and the starting values"
                        .into(),
            })?;
            Ok(MainFit {
                fit: best,
                run: m.run,
                converged: m.converged,
                cancelled: m.cancelled,
            })
        }
    }
}

/// Refits on `data` from `from` (one start); returns the parameters and why the solver stopped.
fn refit(
    req: &FitRequest,
    model: &dyn Model,
    data: &Data,
    from: &[f64],
) -> Result<(Vec<f64>, Termination), CoreError> {
    match req.method {
        Method::Hoffmann { delta } => {
            let (n, d) = hoffmann_columns(data);
            let objective = HoffmannObjective::new(&n, &d, &data.y, delta, Reduction::Sum)?;
            let start = to_log_form(from).ok_or_else(|| CoreError::InvalidValue {
                what: "fit",
                reason: "the fitted E, A, B are not positive".into(),
            })?;
            let h = hoffmann::fit_objective_with(
                &objective,
                &hoffmann_options(delta, vec![start]),
                &mut |_, _| true,
            )?;
            Ok((h.coefficients.to_vec(), h.termination))
        }
        Method::LeastSquares => {
            let r = fit(model, data, from, &req.options)?;
            Ok((r.params, r.termination))
        }
    }
}

fn predict_all(model: &dyn Model, params: &[f64], x: &[f64], k: usize) -> Vec<f64> {
    x.chunks(k.max(1))
        .map(|row| model.eval(row, params, None))
        .collect()
}

fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    uncertainty::percentile_sorted(&v, q)
}

/// Runs the whole analysis. `progress(stage, done, total)` is called as work proceeds; returning
/// `false` stops early (the report then has `cancelled` set and covers what was done).
///
/// # Errors
/// Invalid model, data, starts or options (each [`CoreError`] names what to fix); a fit that does not
/// converge is not an error (see [`FitResult::termination`]).
pub fn analyse(
    req: &FitRequest,
    progress: &mut dyn FnMut(Stage, usize, usize) -> bool,
) -> Result<FitReport, CoreError> {
    let model = req.model.build(req.schedule.as_deref())?;
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
    if !req.curve_inputs.len().is_multiple_of(k) {
        return Err(CoreError::DimensionMismatch {
            what: "curve inputs (a multiple of the inputs per observation)",
            expected: k,
            got: req.curve_inputs.len() % k,
        });
    }
    check_distinct_inputs(&req.data, model.param_names().len())?;
    let main = main_fit(req, model.as_ref(), progress)?;
    let params = main.fit.params.clone();
    let mut cancelled = main.cancelled;

    let bootstrap = if req.bootstrap > 0 && !cancelled {
        let opts = BootstrapOptions {
            resamples: req.bootstrap,
            seed: req.seed,
            levels: vec![0.95],
        };
        let mut one = |idx: &[usize]| {
            let (p, t) = refit(req, model.as_ref(), &subset(&req.data, idx), &params)?;
            Ok(t.converged().then_some(p))
        };
        let b = uncertainty::bootstrap(req.data.len(), &mut one, &opts, &mut |d, t| {
            progress(Stage::Bootstrap, d, t)
        })?;
        cancelled |= b.cancelled;
        Some(b)
    } else {
        None
    };

    // The curve and its 95 % band: delta method where the covariance exists, else bootstrap percentiles.
    let (axis, at, curve_x) = if req.curve_inputs.is_empty() {
        curve_inputs(req, &params)
    } else {
        let at = req.curve_inputs.chunks(k).map(|r| r[0]).collect();
        ("x".to_string(), at, req.curve_inputs.clone())
    };
    let mean = predict_all(model.as_ref(), &params, &curve_x, k);
    let n_curve = mean.len();
    let mut curve = Curve {
        axis,
        at,
        mean: mean.clone(),
        lower: vec![f64::NAN; n_curve],
        upper: vec![f64::NAN; n_curve],
        band: "none".into(),
        prediction_lower: vec![f64::NAN; n_curve],
        prediction_upper: vec![f64::NAN; n_curve],
    };
    if let Some(cov) = &main.fit.covariance {
        let space = req.options.residual;
        let dof = req.data.len().saturating_sub(params.len());
        let s2 = (dof > 0 && main.fit.rss.is_finite()).then(|| main.fit.rss / dof as f64);
        let opts = BandOptions {
            level: 0.95,
            residual_variance: s2,
            space,
        };
        if let Ok(band) =
            uncertainty::delta_method_band(model.as_ref(), &params, cov, &curve_x, &opts)
        {
            curve.lower = band.lower;
            curve.upper = band.upper;
            curve.band = "delta method".into();
            if let (Some(lo), Some(hi)) = (band.prediction_lower, band.prediction_upper) {
                curve.prediction_lower = lo;
                curve.prediction_upper = hi;
            }
        }
    } else if let Some(b) = bootstrap.as_ref().filter(|b| b.estimates.len() >= 20) {
        let preds: Vec<Vec<f64>> = b
            .estimates
            .iter()
            .map(|p| predict_all(model.as_ref(), p, &req.curve_inputs, k))
            .collect();
        for i in 0..n_curve {
            let col: Vec<f64> = preds.iter().map(|p| p[i]).collect();
            curve.lower[i] = percentile(col.clone(), 0.025);
            curve.upper[i] = percentile(col, 0.975);
        }
        curve.band = "bootstrap".into();
    }

    let fitted = predict_all(model.as_ref(), &params, &req.data.x, k);
    let residuals = req.data.y.iter().zip(&fitted).map(|(y, f)| y - f).collect();

    let backtest = if req.holdout > 0 && !cancelled {
        Some(run_backtest(req, model.as_ref(), &params, progress)?)
    } else {
        None
    };

    let allocation = if is_chinchilla(&req.model) {
        ChinchillaAllocation::from_chinchilla_params(&params)
            .ok()
            .map(|rule| Allocation {
                rule,
                frontier: (0..=16)
                    .filter_map(|i| rule.at(10f64.powf(18.0 + 0.5 * i as f64)).ok())
                    .collect(),
            })
    } else {
        None
    };

    Ok(FitReport {
        names: model.param_names(),
        formula: model.formula(),
        fit: main.fit,
        starts_run: main.run,
        starts_converged: main.converged,
        bootstrap: bootstrap.and_then(|b| {
            let s = b.summary?;
            let iv = s.intervals.first()?.clone();
            Some(BootstrapIntervals {
                successful: b.estimates.len(),
                run: b.run,
                std_errors: s.std_errors,
                lower95: iv.lower,
                upper95: iv.upper,
            })
        }),
        curve,
        fitted,
        residuals,
        backtest,
        allocation,
        cancelled,
    })
}

fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..n)
        .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp())
        .collect()
}

/// The default curve: for one-input laws a log grid from the smallest x to the largest × the
/// extrapolation factor; for Chinchilla the compute-optimal frontier over the data's compute range
/// (extended likewise); for other two-input laws the runs in order of compute, then the largest run
/// scaled along N and D equally; for loss curves every observation (the schedule fixes the future).
/// Returns (axis name, abscissae, row-major inputs).
fn curve_inputs(req: &FitRequest, params: &[f64]) -> (String, Vec<f64>, Vec<f64>) {
    let data = &req.data;
    let ext = if req.extrapolate.is_finite() && req.extrapolate >= 1.0 {
        req.extrapolate
    } else {
        1.0
    };
    let curve_model = matches!(
        req.model,
        ModelChoice::Builtin {
            model: BuiltinModel::LrAnnealing | BuiltinModel::MultiPowerLaw
        }
    );
    if curve_model || data.is_empty() {
        let at = (0..data.len()).map(|i| i as f64 + 1.0).collect();
        return ("observation".into(), at, data.x.clone());
    }
    if data.n_inputs == 1 {
        let (lo, hi) = data
            .x
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        if lo > 0.0 && hi.is_finite() {
            let xs = log_grid(lo, hi * ext, 200);
            return ("x".into(), xs.clone(), xs);
        }
        return ("x".into(), data.x.clone(), data.x.clone());
    }
    let compute = |i: usize| 6.0 * data.row(i)[0] * data.row(i)[1];
    let (cmin, cmax) = (0..data.len())
        .map(compute)
        .fold((f64::INFINITY, 0.0f64), |(a, b), c| (a.min(c), b.max(c)));
    if is_chinchilla(&req.model) {
        if let Ok(rule) = ChinchillaAllocation::from_chinchilla_params(params) {
            let cs = log_grid(cmin, cmax * ext, 200);
            let x = cs
                .iter()
                .flat_map(|&c| [rule.params(c), rule.tokens(c)])
                .collect();
            return ("compute-optimal C".into(), cs, x);
        }
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| compute(a).total_cmp(&compute(b)));
    let mut at: Vec<f64> = order.iter().map(|&i| compute(i)).collect();
    let mut x: Vec<f64> = order.iter().flat_map(|&i| data.row(i).to_vec()).collect();
    if let Some(&last) = order.last() {
        let (n, d) = (data.row(last)[0], data.row(last)[1]);
        for t in log_grid(1.0, ext.max(1.0 + 1e-9), 40).into_iter().skip(1) {
            at.push(cmax * t);
            x.extend([n * t.sqrt(), d * t.sqrt()]);
        }
    }
    ("C = 6ND".into(), at, x)
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

/// "Size" of observation `i` for the backtest: the product of its inputs (N·D ∝ compute for
/// two-input laws; x itself for one-input laws).
fn run_size(data: &Data, i: usize) -> f64 {
    data.row(i).iter().product()
}

fn run_backtest(
    req: &FitRequest,
    model: &dyn Model,
    params: &[f64],
    progress: &mut dyn FnMut(Stage, usize, usize) -> bool,
) -> Result<Backtest, CoreError> {
    let n = req.data.len();
    let p = params.len();
    if req.holdout + p > n {
        return Err(CoreError::OutOfRange {
            what: "held-out runs (the rest must have at least one point per parameter)",
            value: req.holdout as f64,
            min: 0.0,
            max: n.saturating_sub(p) as f64,
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| run_size(&req.data, a).total_cmp(&run_size(&req.data, b)));
    let (keep, held) = order.split_at(n - req.holdout);
    progress(Stage::Backtest, 0, 1);
    let train = subset(&req.data, keep);
    let (fitted, termination) = refit(req, model, &train, params)?;
    progress(Stage::Backtest, 1, 1);
    let held = held.to_vec();
    let actual: Vec<f64> = held.iter().map(|&i| req.data.y[i]).collect();
    let predicted: Vec<f64> = held
        .iter()
        .map(|&i| model.eval(req.data.row(i), &fitted, None))
        .collect();
    let relative_error = predicted
        .iter()
        .zip(&actual)
        .map(|(p, a)| (p - a) / a)
        .collect();
    Ok(Backtest {
        indices: held,
        actual,
        predicted,
        relative_error,
        params: fitted,
        termination,
    })
}

/// `true` when a fit in `space` needs positive targets.
pub fn needs_positive_targets(space: ResidualSpace, method: Method) -> bool {
    space == ResidualSpace::Log || matches!(method, Method::Hoffmann { .. })
}
