//! The main fit: least squares from one start, Hoffmann's 4500-start grid or a Latin hypercube of
//! random starts; or Hoffmann et al.'s Huber-on-log objective with L-BFGS from the same starts.
//! Starts run one after another, each solver suspended when the slice's budget runs out; the best
//! is kept by [`BestOf`].

use super::{FitRequest, MainOutcome, Method, Starts};
use crate::budget::Budget;
use crate::fit::hoffmann::{
    self, HoffmannFit, HoffmannObjective, HoffmannOptions, HoffmannStarts, Reduction,
};
use crate::fit::least_squares::{self, LeastSquaresRun};
use crate::fit::models::BuiltinModel;
use crate::fit::multistart::{BestOf, GridSpec, StartOutcome};
use crate::fit::solvers::within;
use crate::fit::{Data, FitResult, Model};
use crate::CoreError;

/// The main fit in progress (one per analysis, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum MainFit {
    /// Levenberg–Marquardt from each start.
    LeastSquares(LeastSquaresStarts),
    /// Hoffmann's objective with L-BFGS from each start.
    Hoffmann {
        objective: HoffmannObjective,
        options: HoffmannOptions,
        run: HoffmannStarts,
    },
}

/// Least squares from a list of starts, one [`LeastSquaresRun`] at a time.
pub(super) struct LeastSquaresStarts {
    starts: Vec<Vec<f64>>,
    current: Option<LeastSquaresRun>,
    best: BestOf<FitResult>,
    first_error: Option<CoreError>,
}

impl MainFit {
    /// The starts of `req` (checked against its model and method) and, for Hoffmann's method, the
    /// objective on the request's data.
    pub(super) fn new(req: &FitRequest, model: &dyn Model) -> Result<MainFit, CoreError> {
        let chinchilla = req.model.is(BuiltinModel::Chinchilla);
        if matches!(req.starts, Starts::Hoffmann4500) && !chinchilla {
            return Err(CoreError::InvalidValue {
                what: "starts",
                reason: "the 4500-start grid is defined for the Chinchilla model only".into(),
            });
        }
        match req.method {
            Method::Hoffmann { delta } => {
                if !chinchilla {
                    return Err(CoreError::InvalidValue {
                        what: "method",
                        reason: "Hoffmann's objective applies to the Chinchilla model L(N, D) only"
                            .into(),
                    });
                }
                let options = hoffmann_options(delta, hoffmann_starts(req)?);
                let objective = hoffmann_objective(&req.data, delta)?;
                let run = HoffmannStarts::new(&options)?;
                Ok(MainFit::Hoffmann {
                    objective,
                    options,
                    run,
                })
            }
            Method::LeastSquares => {
                least_squares::validate(model, &req.data, &req.start, &req.options)?;
                let starts = match &req.starts {
                    Starts::Single => vec![req.start.clone()],
                    Starts::Hoffmann4500 => hoffmann::hoffmann_grid()
                        .iter()
                        .map(|&[a, b, e, al, be]| vec![e.exp(), a.exp(), b.exp(), al, be])
                        .collect(),
                    Starts::Random { samples, seed } => GridSpec::LatinHypercube {
                        bounds: random_box(&req.start, req.options.bounds.as_ref()),
                        samples: *samples,
                        seed: *seed,
                    }
                    .starts()?,
                };
                Ok(MainFit::LeastSquares(LeastSquaresStarts {
                    starts,
                    current: None,
                    best: BestOf::default(),
                    first_error: None,
                }))
            }
        }
    }

    /// Starts finished and starts in all.
    pub(super) fn progress(&self) -> (usize, usize) {
        match self {
            MainFit::LeastSquares(s) => (s.best.run, s.starts.len()),
            MainFit::Hoffmann { run, .. } => (run.done(), run.total()),
        }
    }

    /// Runs starts until all are done (`Some`) or the budget ends the slice; every finished start
    /// is appended to `starts`.
    pub(super) fn advance(
        &mut self,
        req: &FitRequest,
        model: &dyn Model,
        budget: &mut Budget<'_>,
        starts: &mut Vec<StartOutcome>,
    ) -> Result<Option<MainOutcome>, CoreError> {
        match self {
            MainFit::LeastSquares(s) => s.advance(req, model, budget, starts),
            MainFit::Hoffmann {
                objective,
                options,
                run,
            } => {
                let fit = run.advance(objective, options, budget, &mut |o| starts.push(*o))?;
                Ok(fit.map(|h| MainOutcome {
                    starts_run: h.starts_run,
                    starts_converged: h.starts_converged,
                    fit: hoffmann_result(&h, &req.data),
                }))
            }
        }
    }
}

impl LeastSquaresStarts {
    fn advance(
        &mut self,
        req: &FitRequest,
        model: &dyn Model,
        budget: &mut Budget<'_>,
        starts: &mut Vec<StartOutcome>,
    ) -> Result<Option<MainOutcome>, CoreError> {
        while self.best.run < self.starts.len() {
            let index = self.best.run;
            let run = match self.current.take() {
                Some(run) => Ok(run),
                None if budget.units_exhausted() => return Ok(None),
                None => LeastSquaresRun::new(model, &req.data, &self.starts[index], &req.options),
            };
            let outcome = match run {
                Ok(mut run) => {
                    let Some(r) = run.advance(model, &req.data, &req.options, &mut within(budget))
                    else {
                        self.current = Some(run);
                        return Ok(None);
                    };
                    let (cost, converged) = (r.cost, r.termination.converged());
                    self.best.offer(index, cost, converged, r);
                    (cost, converged)
                }
                Err(e) => {
                    self.best.fail();
                    self.first_error.get_or_insert(e);
                    (f64::NAN, false)
                }
            };
            starts.push(StartOutcome {
                index,
                cost: outcome.0,
                converged: outcome.1,
                best_cost: self.best.best_cost(),
                converged_so_far: self.best.converged,
            });
            if !budget.unit_done() && self.best.run < self.starts.len() {
                return Ok(None);
            }
        }
        let (run, converged) = (self.best.run, self.best.converged);
        let failed_all = self.best.failed == run;
        match (
            std::mem::take(&mut self.best).into_best(),
            self.first_error.take(),
        ) {
            (Some((_, fit)), _) => Ok(Some(MainOutcome {
                fit,
                starts_run: run,
                starts_converged: converged,
            })),
            (None, Some(e)) if failed_all => Err(e),
            (None, _) => Err(CoreError::InvalidValue {
                what: "fit",
                reason:
                    "no start gave a finite cost; check the model, the data and the starting values"
                        .into(),
            }),
        }
    }
}

/// Chinchilla `[E, A, B, α, β]` → Hoffmann `[a, b, e, α, β]` (logs of the coefficients).
pub(super) fn to_log_form(p: &[f64]) -> Option<[f64; 5]> {
    match *p {
        [e, a, b, alpha, beta] if e > 0.0 && a > 0.0 && b > 0.0 => {
            Some([a.ln(), b.ln(), e.ln(), alpha, beta])
        }
        _ => None,
    }
}

/// The starts of a Hoffmann-method fit, in log form.
fn hoffmann_starts(req: &FitRequest) -> Result<Vec<[f64; 5]>, CoreError> {
    let not_positive = || CoreError::InvalidValue {
        what: "start",
        reason: "E, A and B must be positive for Hoffmann's log-form fit".into(),
    };
    match &req.starts {
        Starts::Hoffmann4500 => Ok(hoffmann::hoffmann_grid()),
        Starts::Single => Ok(vec![to_log_form(&req.start).ok_or_else(not_positive)?]),
        Starts::Random { samples, seed } => {
            let log_start = to_log_form(&req.start).ok_or_else(not_positive)?;
            Ok(GridSpec::LatinHypercube {
                bounds: log_start
                    .iter()
                    .map(|&v| (v - 2.0_f64.max(v.abs()), v + 2.0_f64.max(v.abs())))
                    .collect(),
                samples: *samples,
                seed: *seed,
            }
            .starts()?
            .into_iter()
            .map(|s| [s[0], s[1], s[2], s[3], s[4]])
            .collect())
        }
    }
}

/// Hoffmann's options: Huber `δ`, summed, from `starts`.
pub(super) fn hoffmann_options(delta: f64, starts: Vec<[f64; 5]>) -> HoffmannOptions {
    HoffmannOptions {
        delta,
        reduction: Reduction::Sum,
        starts: Some(starts),
        ..HoffmannOptions::default()
    }
}

/// Hoffmann's objective on two-input data `(N, D)`.
pub(super) fn hoffmann_objective(data: &Data, delta: f64) -> Result<HoffmannObjective, CoreError> {
    let n: Vec<f64> = (0..data.len()).map(|i| data.row(i)[0]).collect();
    let d: Vec<f64> = (0..data.len()).map(|i| data.row(i)[1]).collect();
    HoffmannObjective::new(&n, &d, &data.y, delta, Reduction::Sum)
}

/// The fit as a [`FitResult`]; `rss` is the sum of squared log residuals `Σ (ln L − ln L̂)²`.
fn hoffmann_result(h: &HoffmannFit, data: &Data) -> FitResult {
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

/// The box of random starts: `start/10 … start·10` per parameter (signs kept, `−1 … 1` for a zero
/// start), cut by finite bounds.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_form_needs_positive_coefficients() {
        assert_eq!(
            to_log_form(&[1.0, std::f64::consts::E, 1.0, 0.3, 0.4]),
            Some([1.0, 0.0, 0.0, 0.3, 0.4])
        );
        assert_eq!(to_log_form(&[1.0, -1.0, 1.0, 0.3, 0.4]), None);
        assert_eq!(to_log_form(&[1.0, 1.0]), None);
    }

    #[test]
    fn random_box_keeps_signs_and_bounds() {
        let b = random_box(
            &[2.0, -3.0, 0.0],
            Some(&vec![
                (0.5, 10.0),
                (f64::NEG_INFINITY, f64::INFINITY),
                (0.0, 0.5),
            ]),
        );
        assert_eq!(b, vec![(0.5, 10.0), (-30.0, -0.3), (0.0, 0.5)]);
    }
}
