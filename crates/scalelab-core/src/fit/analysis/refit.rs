//! One refit from the main fit's parameters on other data (a bootstrap resample, the backtest's
//! training runs), with the request's method, advanced in slices like the main fit.

use super::main_fit::{hoffmann_objective, hoffmann_options, to_log_form};
use super::{FitRequest, Method};
use crate::budget::Budget;
use crate::fit::hoffmann::{self, HoffmannObjective, HoffmannOptions};
use crate::fit::least_squares::LeastSquaresRun;
use crate::fit::solvers::lbfgs::LbfgsRun;
use crate::fit::solvers::within;
use crate::fit::{Data, Model, Termination};
use crate::CoreError;

/// A refit in progress (one at a time, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Refit {
    /// Levenberg–Marquardt on `data`.
    LeastSquares { data: Data, run: LeastSquaresRun },
    /// L-BFGS on Hoffmann's objective over `data`.
    Hoffmann {
        objective: HoffmannObjective,
        options: HoffmannOptions,
        run: LbfgsRun,
    },
}

impl Refit {
    /// Prepares a refit on `data` from `from` (the main fit's parameters).
    ///
    /// # Errors
    /// When the refit cannot start: too few points, a model undefined at `from`, Hoffmann
    /// coefficients that are not positive.
    pub(super) fn new(
        req: &FitRequest,
        model: &dyn Model,
        data: Data,
        from: &[f64],
    ) -> Result<Refit, CoreError> {
        match req.method {
            Method::LeastSquares => {
                let run = LeastSquaresRun::new(model, &data, from, &req.options)?;
                Ok(Refit::LeastSquares { data, run })
            }
            Method::Hoffmann { delta } => {
                let objective = hoffmann_objective(&data, delta)?;
                let start = to_log_form(from).ok_or_else(|| CoreError::InvalidValue {
                    what: "fit",
                    reason: "the fitted E, A, B are not positive".into(),
                })?;
                let options = hoffmann_options(delta, vec![start]);
                let run = LbfgsRun::new(
                    &mut |x: &[f64], g: &mut [f64]| objective.value_and_gradient(x, g),
                    &start,
                    &options.lbfgs,
                )?;
                Ok(Refit::Hoffmann {
                    objective,
                    options,
                    run,
                })
            }
        }
    }

    /// Iterates until the refit ends (`Some((params, termination))`, parameters in the model's
    /// order) or the budget's time runs out (`None`).
    pub(super) fn advance(
        &mut self,
        req: &FitRequest,
        model: &dyn Model,
        budget: &mut Budget<'_>,
    ) -> Option<(Vec<f64>, Termination)> {
        let mut step = within(budget);
        match self {
            Refit::LeastSquares { data, run } => run
                .advance(model, data, &req.options, &mut step)
                .map(|r| (r.params, r.termination)),
            Refit::Hoffmann {
                objective,
                options,
                run,
            } => run
                .advance(
                    &mut |x: &[f64], g: &mut [f64]| objective.value_and_gradient(x, g),
                    &options.lbfgs,
                    &mut step,
                )
                .map(|r| {
                    let theta = [r.x[0], r.x[1], r.x[2], r.x[3], r.x[4]];
                    (hoffmann::coefficients(&theta).to_vec(), r.termination)
                }),
        }
    }
}
