//! Typed messages between the page and the compute worker (serialised with `serde-wasm-bindgen`).
//!
//! A job is started with [`ToWorker::Start`] under an id chosen by the page; the worker answers with any
//! number of [`FromWorker::Progress`] messages and exactly one of `Done`, `Cancelled` or `Failed` for that
//! id. Long-running streams (training epochs in later labs) add an output variant that carries a partial
//! result in each progress step; the framing stays the same.

use scalelab_core::fit::analysis::{FitReport, FitRequest};
use scalelab_core::stablemax::Loss;
use scalelab_core::{CoreError, Precision};
use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Start `job` under `id`.
    Start {
        /// Chosen by the page, unique per worker.
        id: u64,
        /// What to compute.
        job: Job,
    },
    /// Stop job `id` at its next chunk boundary.
    Cancel {
        /// The job to stop.
        id: u64,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's message handler is installed; messages sent before this are lost.
    Ready,
    /// `done` of `total` units of job `id` are finished.
    Progress {
        /// The job.
        id: u64,
        /// What is being done (e.g. "fit", "bootstrap"); empty for single-stage jobs.
        stage: String,
        /// Finished units.
        done: u32,
        /// All units.
        total: u32,
    },
    /// Job `id` finished.
    Done {
        /// The job.
        id: u64,
        /// Its result.
        output: JobOutput,
    },
    /// Job `id` stopped after a [`ToWorker::Cancel`].
    Cancelled {
        /// The job.
        id: u64,
    },
    /// Job `id` was rejected; `code` is the error's variant name.
    Failed {
        /// The job.
        id: u64,
        /// Stable error code.
        code: String,
        /// What to fix.
        message: String,
    },
}

/// The jobs the worker runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// The correct-class gradient over a log-spaced range of logit scales, in every precision.
    GradientSweep(GradientSweep),
    /// A scaling-law fit with its multi-start, bootstrap, band and backtest.
    Fit(Box<FitRequest>),
}

impl Job {
    /// `true` for jobs that yield between slices and so see a [`ToWorker::Cancel`]; the others run
    /// to the end in one go, and the page cancels them by restarting the worker.
    pub fn yields(&self) -> bool {
        matches!(self, Job::GradientSweep(_))
    }
}

/// Input of [`Job::GradientSweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientSweep {
    /// Unscaled logits.
    pub logits: Vec<f64>,
    /// The correct class.
    pub target: usize,
    /// Softmax or StableMax cross-entropy.
    pub loss: Loss,
    /// Smallest scale (> 0).
    pub min_scale: f64,
    /// Largest scale.
    pub max_scale: f64,
    /// Number of log-spaced scales (2 ..= [`GradientSweep::MAX_POINTS`]).
    pub points: usize,
}

impl GradientSweep {
    /// Upper bound on `points`, so one request cannot exhaust the worker's memory.
    pub const MAX_POINTS: usize = 200_000;

    /// Checks the request before any work starts: finite logits and a valid target are checked by the
    /// core functions; here the scale range and the number of points.
    pub fn validate(&self) -> Result<(), CoreError> {
        for (what, v) in [
            ("smallest scale", self.min_scale),
            ("largest scale", self.max_scale),
        ] {
            if !v.is_finite() || v <= 0.0 || v > 1e12 {
                return Err(CoreError::OutOfRange {
                    what,
                    value: v,
                    min: f64::MIN_POSITIVE,
                    max: 1e12,
                });
            }
        }
        if self.max_scale <= self.min_scale {
            return Err(CoreError::OutOfRange {
                what: "largest scale",
                value: self.max_scale,
                min: self.min_scale,
                max: 1e12,
            });
        }
        if !(2..=Self::MAX_POINTS).contains(&self.points) {
            return Err(CoreError::OutOfRange {
                what: "number of points",
                value: self.points as f64,
                min: 2.0,
                max: Self::MAX_POINTS as f64,
            });
        }
        Ok(())
    }

    /// The log-spaced scales of the sweep.
    pub fn scales(&self) -> Vec<f64> {
        let n = self.points.max(2);
        let (a, b) = (self.min_scale.ln(), self.max_scale.ln());
        (0..n)
            .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp())
            .collect()
    }
}

/// The results of the jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobOutput {
    /// Result of [`Job::GradientSweep`].
    GradientSweep(GradientSweepResult),
    /// Result of [`Job::Fit`], with the time the worker spent on it.
    Fit {
        /// The report.
        report: Box<FitReport>,
        /// Milliseconds of computation in the worker.
        millis: f64,
    },
}

/// Output of [`Job::GradientSweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientSweepResult {
    /// The scales returned: every scale of the sweep, thinned to at most
    /// [`GradientSweepResult::RETURNED_POINTS`] evenly strided ones (the last always kept).
    pub scales: Vec<f64>,
    /// One curve per precision.
    pub curves: Vec<PrecisionCurve>,
}

impl GradientSweepResult {
    /// Upper bound on the points sent back to the page, so a large sweep stays cheap to receive and draw.
    pub const RETURNED_POINTS: usize = 600;

    /// The indices of a sweep of `n` points that are returned.
    pub fn returned_indices(n: usize) -> Vec<usize> {
        let stride = n.div_ceil(Self::RETURNED_POINTS).max(1);
        let mut idx: Vec<usize> = (0..n).step_by(stride).collect();
        if n > 0 && idx.last() != Some(&(n - 1)) {
            idx.push(n - 1);
        }
        idx
    }
}

/// The correct-class gradient against the scale in one precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionCurve {
    /// The emulated precision.
    pub precision: Precision,
    /// ∂L/∂z_y at each scale (exactly 0 once Softmax Collapse has set in).
    pub gradient: Vec<f64>,
    /// The smallest scale in range at which the softmax exp-sum is exactly 1, if any (bisection).
    pub collapse_onset: Option<f64>,
    /// The smallest swept scale at which the gradient was exactly 0, if any.
    pub first_zero: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ranges_are_rejected_before_work() {
        let ok = GradientSweep {
            logits: vec![1.0, 0.0],
            target: 0,
            loss: Loss::Softmax,
            min_scale: 1.0,
            max_scale: 1000.0,
            points: 10,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            GradientSweep {
                min_scale: 0.0,
                ..ok.clone()
            },
            GradientSweep {
                max_scale: f64::INFINITY,
                ..ok.clone()
            },
            GradientSweep {
                max_scale: 0.5,
                ..ok.clone()
            },
            GradientSweep {
                points: 1,
                ..ok.clone()
            },
            GradientSweep {
                points: GradientSweep::MAX_POINTS + 1,
                ..ok.clone()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(CoreError::OutOfRange { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn returned_points_are_bounded_and_keep_both_ends() {
        assert_eq!(
            GradientSweepResult::returned_indices(5),
            vec![0, 1, 2, 3, 4]
        );
        let big = GradientSweepResult::returned_indices(200_000);
        assert!(big.len() <= GradientSweepResult::RETURNED_POINTS + 1);
        assert_eq!((big[0], *big.last().unwrap()), (0, 199_999));
        assert!(GradientSweepResult::returned_indices(0).is_empty());
    }

    #[test]
    fn scales_are_log_spaced_and_hit_both_ends() {
        let s = GradientSweep {
            logits: vec![1.0, 0.0],
            target: 0,
            loss: Loss::Softmax,
            min_scale: 1.0,
            max_scale: 1000.0,
            points: 4,
        }
        .scales();
        let expected = [1.0, 10.0, 100.0, 1000.0];
        for (a, b) in s.iter().zip(expected) {
            assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
        }
    }
}
