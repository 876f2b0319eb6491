//! Scaling-law fitting: models, robust nonlinear least squares, multi-start grids, uncertainty,
//! extrapolation and compute-optimal allocation.
//!
//! The contract between the pieces (kept stable: the web app, the worker and the npm package use it):
//! - a [`Model`] maps one observation's inputs `x` (e.g. `[N, D]`) and parameters `θ` to a
//!   prediction `f(x; θ)` and its exact gradient `∂f/∂θ` (analytic or forward-mode AD, never finite
//!   differences);
//! - a [`Data`] set holds `n` observations of `k` inputs (row-major), targets `y` and optional weights;
//! - [`FitOptions`] choose the residual space, robust loss, bounds and stopping rules;
//! - every solver returns a [`FitResult`] with an explicit [`Termination`]: "did not converge" is a
//!   field of the result, not an error.
//!
//! Residual convention: `r_i = √w_i · (y_i − f(x_i; θ))` in linear space, `√w_i · (ln y_i − ln f(x_i; θ))`
//! in log space. Cost = `½ Σ ρ(r_i²)` with `ρ` the robust loss (`ρ(s) = s` for L2), as in
//! `scipy.optimize.least_squares`.

use crate::CoreError;
use serde::{Deserialize, Serialize};

pub mod allocation;
pub mod analysis;
pub mod covariance;
pub mod dataset;
pub mod formula;
pub mod hoffmann;
pub mod least_squares;
pub mod losses;
pub mod models;
pub mod multistart;
pub mod option_names;
pub mod presets;
pub mod schedule;
pub mod solvers;
pub mod step_law;
pub mod uncertainty;

/// A differentiable model `y = f(x; θ)`.
pub trait Model: Send + Sync {
    /// Parameter names, in the order of `θ`.
    fn param_names(&self) -> Vec<String>;
    /// Number of inputs per observation (1 for `y(x)`, 2 for `L(N, D)`).
    fn n_inputs(&self) -> usize;
    /// `f(x; θ)`; when `grad` is given (length = number of parameters) it receives `∂f/∂θ_j`.
    /// Returns NaN/±inf where the model is undefined; callers treat that as a failed evaluation.
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64;
    /// A human-readable formula, e.g. `E + A/N^α + B/D^β`.
    fn formula(&self) -> String;
    /// Checks row-major inputs beyond finiteness before a fit (`what` names the rows in errors,
    /// e.g. `"observation"`). Every input is fine by default; the loss-curve laws reject steps
    /// outside their schedule ([`CoreError::StepOutsideSchedule`]).
    fn check_inputs(&self, what: &'static str, x: &[f64]) -> Result<(), CoreError> {
        let _ = (what, x);
        Ok(())
    }
}

/// Observations for a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data {
    /// Inputs per observation.
    pub n_inputs: usize,
    /// Row-major `n × n_inputs` inputs.
    pub x: Vec<f64>,
    /// Targets (length `n`).
    pub y: Vec<f64>,
    /// Optional non-negative weights (length `n`).
    pub weights: Option<Vec<f64>>,
}

impl Data {
    /// Number of observations.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// `true` without observations.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// Inputs of observation `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.n_inputs..(i + 1) * self.n_inputs]
    }
}

/// Where residuals are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidualSpace {
    /// `y − f`.
    Linear,
    /// `ln y − ln f` (needs `y > 0` and `f > 0`).
    Log,
}

/// Robust loss `ρ` applied to squared residuals (scipy `least_squares` conventions, with scale `c`:
/// `ρ_c(s) = c² ρ(s / c²)`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RobustLoss {
    /// `ρ(s) = s`.
    L2,
    /// `ρ(s) = s` for `s ≤ 1`, `2√s − 1` otherwise; residuals beyond `delta` count linearly.
    Huber {
        /// Threshold between the quadratic and the linear part.
        delta: f64,
    },
    /// `ρ(s) = 2(√(1+s) − 1)`.
    SoftL1 {
        /// Scale `c`.
        scale: f64,
    },
    /// `ρ(s) = ln(1 + s)`.
    Cauchy {
        /// Scale `c`.
        scale: f64,
    },
}

/// Options of a least-squares fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Residual space.
    pub residual: ResidualSpace,
    /// Robust loss.
    pub loss: RobustLoss,
    /// Optional `(lower, upper)` bounds per parameter (use ±inf for none).
    pub bounds: Option<Vec<(f64, f64)>>,
    /// Most iterations.
    pub max_iterations: usize,
    /// Stop when the relative reduction of the cost is below this.
    pub ftol: f64,
    /// Stop when the relative step is below this.
    pub xtol: f64,
    /// Stop when the scaled gradient's max-norm is below this.
    pub gtol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            residual: ResidualSpace::Linear,
            loss: RobustLoss::L2,
            bounds: None,
            max_iterations: 1000,
            ftol: 1e-15,
            xtol: 1e-15,
            gtol: 1e-15,
        }
    }
}

/// Why a solver stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Termination {
    /// Relative cost reduction below `ftol`.
    CostConverged,
    /// Relative step below `xtol`.
    StepConverged,
    /// Gradient below `gtol`.
    GradientConverged,
    /// `max_iterations` reached.
    MaxIterations,
    /// The model returned non-finite values that the solver could not step around.
    NumericalFailure {
        /// What happened.
        detail: String,
    },
    /// Stopped by the caller (e.g. a cancelled worker job).
    Cancelled,
}

impl Termination {
    /// Why the solver stopped, for people ("the cost stopped decreasing (converged)", …).
    pub fn describe(&self) -> String {
        match self {
            Termination::CostConverged => "the cost stopped decreasing (converged)".into(),
            Termination::StepConverged => "the step became negligible (converged)".into(),
            Termination::GradientConverged => "the gradient vanished (converged)".into(),
            Termination::MaxIterations => "it reached the iteration limit (not converged)".into(),
            Termination::NumericalFailure { detail } => format!("of a numerical failure: {detail}"),
            Termination::Cancelled => "it was cancelled".into(),
        }
    }

    /// `true` for the three convergence criteria.
    pub fn converged(&self) -> bool {
        matches!(
            self,
            Termination::CostConverged
                | Termination::StepConverged
                | Termination::GradientConverged
        )
    }
}

/// The outcome of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitResult {
    /// Fitted parameters.
    pub params: Vec<f64>,
    /// Final cost `½ Σ ρ(r_i²)`.
    pub cost: f64,
    /// Residual sum of squares `Σ r_i²` (unweighted by ρ).
    pub rss: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Model evaluations (residual vectors) taken.
    pub evaluations: usize,
    /// Why it stopped.
    pub termination: Termination,
    /// Standard errors from the covariance (`s² (JᵀJ)⁻¹`, `s² = RSS/(n − p)`, for L2; Huber's
    /// sandwich for robust losses: [`crate::fit::covariance`]); `None` when singular or `n ≤ p`.
    pub std_errors: Option<Vec<f64>>,
    /// Row-major `p × p` covariance, when available.
    pub covariance: Option<Vec<f64>>,
}
