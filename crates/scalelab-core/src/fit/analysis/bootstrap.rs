//! The bootstrap stage: `B` seeded resamples of the observations (with replacement), each refitted
//! from the main fit's parameters with the request's method ([`Refit`]), one resample per budget
//! unit. A resample whose refit cannot start (e.g. too few distinct points) or does not converge
//! counts as failed and is left out of the intervals.

use super::refit::Refit;
use super::{subset, BootstrapIntervals, FitRequest};
use crate::budget::Budget;
use crate::fit::uncertainty::{BootstrapEstimates, BootstrapOptions, BootstrapResult, Resampler};
use crate::fit::Model;
use crate::CoreError;

/// The bootstrap in progress (or nothing to do without resamples).
pub(super) struct BootstrapStage {
    run: Option<(Resampler, BootstrapOptions)>,
    estimates: BootstrapEstimates,
    current: Option<Refit>,
    done: usize,
}

impl BootstrapStage {
    /// The stage of `req`: its resamples and seed.
    pub(super) fn new(req: &FitRequest) -> Result<BootstrapStage, CoreError> {
        let run = if req.bootstrap == 0 {
            None
        } else {
            let opts = BootstrapOptions {
                resamples: req.bootstrap,
                seed: req.seed,
                levels: vec![0.95],
            };
            Some((Resampler::new(req.data.len(), &opts)?, opts))
        };
        Ok(BootstrapStage {
            run,
            estimates: BootstrapEstimates::default(),
            current: None,
            done: 0,
        })
    }

    /// Resamples refitted and resamples in all.
    pub(super) fn progress(&self) -> (usize, usize) {
        (self.done, self.run.as_ref().map_or(0, |(r, _)| r.total()))
    }

    /// Refits resamples until all are done or the budget ends the slice. `None` while running;
    /// `Some(result)` when finished, the result `None` when no resamples were asked for.
    pub(super) fn advance(
        &mut self,
        req: &FitRequest,
        model: &dyn Model,
        params: &[f64],
        budget: &mut Budget<'_>,
    ) -> Result<Option<Option<BootstrapResult>>, CoreError> {
        let Some((resampler, opts)) = self.run.as_mut() else {
            return Ok(Some(None));
        };
        loop {
            let refit = match self.current.take() {
                Some(refit) => Some(refit),
                None if budget.units_exhausted() && self.done < resampler.total() => {
                    return Ok(None);
                }
                None => match resampler.next_resample() {
                    None => break,
                    Some(idx) => Refit::new(req, model, subset(&req.data, idx), params).ok(),
                },
            };
            if let Some(mut refit) = refit {
                match refit.advance(req, model, budget) {
                    None => {
                        self.current = Some(refit);
                        return Ok(None);
                    }
                    Some((p, t)) => self.estimates.record(t.converged().then_some(p)),
                }
            } else {
                self.estimates.record(None);
            }
            self.done += 1;
            if !budget.unit_done() && self.done < resampler.total() {
                return Ok(None);
            }
        }
        let estimates = std::mem::take(&mut self.estimates);
        estimates.finish(opts, false).map(|b| Some(Some(b)))
    }
}

/// The report's intervals: the 95 % percentile interval and bootstrap standard errors, when at
/// least two refits succeeded.
pub(super) fn intervals(b: BootstrapResult) -> Option<BootstrapIntervals> {
    let s = b.summary?;
    let iv = s.intervals.into_iter().next()?;
    Some(BootstrapIntervals {
        successful: b.estimates.len(),
        run: b.run,
        std_errors: s.std_errors,
        lower95: iv.lower,
        upper95: iv.upper,
    })
}
