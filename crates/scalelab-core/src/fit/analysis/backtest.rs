//! The backtest stage: the largest runs (by the product of their inputs: N·D ∝ compute for
//! two-input laws, x for one-input laws) are held out, the rest refitted from the main fit's
//! parameters, and the held-out runs predicted.

use super::refit::Refit;
use super::{subset, Backtest, FitRequest};
use crate::budget::Budget;
use crate::fit::{Data, Model, Termination};

/// The backtest in progress (or nothing to do without held-out runs).
pub(super) struct BacktestStage {
    held: Vec<usize>,
    refit: Option<Result<Refit, String>>,
}

/// "Size" of observation `i`: the product of its inputs.
fn run_size(data: &Data, i: usize) -> f64 {
    data.row(i).iter().product()
}

impl BacktestStage {
    /// The stage of `req` (whose hold-out count the analysis has checked).
    pub(super) fn new(req: &FitRequest, model: &dyn Model, params: &[f64]) -> BacktestStage {
        if req.holdout == 0 {
            return BacktestStage {
                held: Vec::new(),
                refit: None,
            };
        }
        let n = req.data.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| run_size(&req.data, a).total_cmp(&run_size(&req.data, b)));
        let (keep, held) = order.split_at(n - req.holdout.min(n));
        let train = subset(&req.data, keep);
        let held = held.to_vec();
        let refit = Some(Refit::new(req, model, train, params).map_err(|e| e.to_string()));
        BacktestStage { held, refit }
    }

    /// Refits done and refits in all (one with held-out runs).
    pub(super) fn progress(&self) -> (usize, usize) {
        (0, usize::from(self.refit.is_some()))
    }

    /// Advances the refit. `None` while running; `Some(backtest)` when finished (`None` without
    /// held-out runs). A refit that cannot start is reported in the backtest's termination.
    pub(super) fn advance(
        &mut self,
        req: &FitRequest,
        model: &dyn Model,
        budget: &mut Budget<'_>,
    ) -> Option<Option<Backtest>> {
        let (params, termination) = match self.refit.as_mut() {
            None => return Some(None),
            Some(Err(why)) => (
                vec![f64::NAN; model.param_names().len()],
                Termination::NumericalFailure {
                    detail: format!("the backtest refit could not start: {why}"),
                },
            ),
            Some(Ok(_)) if budget.units_exhausted() => return None,
            Some(Ok(refit)) => refit.advance(req, model, budget)?,
        };
        budget.unit_done();
        let held = std::mem::take(&mut self.held);
        let actual: Vec<f64> = held.iter().map(|&i| req.data.y[i]).collect();
        let predicted: Vec<f64> = held
            .iter()
            .map(|&i| model.eval(req.data.row(i), &params, None))
            .collect();
        let relative_error = predicted
            .iter()
            .zip(&actual)
            .map(|(p, a)| (p - a) / a)
            .collect();
        Some(Some(Backtest {
            indices: held,
            actual,
            predicted,
            relative_error,
            params,
            termination,
        }))
    }
}
