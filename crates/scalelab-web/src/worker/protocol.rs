//! Typed messages between the page and the compute worker (serialised with `serde-wasm-bindgen`).
//!
//! A job is started with [`ToWorker::Start`] under an id chosen by the page; the worker answers with any
//! number of [`FromWorker::Progress`] messages and exactly one of `Done`, `Cancelled` or `Failed` for that
//! id. Long-running streams (training epochs in later labs) add an output variant that carries a partial
//! result in each progress step; the framing stays the same.

use scalelab_core::fit::analysis::{FitReport, FitRequest};
use scalelab_core::stablemax::Loss;
use scalelab_core::{CoreError, Precision};
use scalelab_gpu::workload::KernelOp;
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
    /// Time one kernel at one or more sizes on the GPU and/or the CPU, checked against the oracle.
    Kernel(KernelJob),
    /// Every kernel at sizes 0, 1, 63, 64, 65 and 512 on the GPU against its oracle.
    VerifyKernels {
        /// Open a new GPU device first if the last one was lost.
        retry_gpu: bool,
    },
    /// Destroy the worker's GPU device, as a driver reset would (to try the CPU fallback).
    LoseGpuDevice,
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

/// Where a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KernelBackend {
    /// WebGPU in the worker.
    Gpu,
    /// The f64 CPU oracle (rounded to f32), in the worker.
    Cpu,
}

/// Input of [`Job::Kernel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelJob {
    /// The operation's key (`scalelab_gpu::workload::KernelOp::key`).
    pub op: String,
    /// Sizes `n` to run, in order.
    pub sizes: Vec<usize>,
    /// Backends to run at each size.
    pub backends: Vec<KernelBackend>,
    /// GPU dispatches per submission for the timing (2 ..= [`KernelJob::MAX_REPEATS`]).
    pub repeats: u32,
    /// Open a new GPU device first if the last one was lost.
    pub retry_gpu: bool,
}

impl KernelJob {
    /// Largest size `n`: the CPU oracle of a 2048³ product takes seconds, and at `n²` = 4 M elements
    /// the f64 oracle's copies of the other kernels' inputs already take a few hundred MB of the
    /// worker's memory.
    pub const MAX_SIZE: usize = 2048;
    /// Largest number of repeated dispatches.
    pub const MAX_REPEATS: u32 = 1000;

    /// Sizes of a GFLOP/s sweep up to `n`: powers of two from 16 below `n`, then `n` itself.
    pub fn sweep_sizes(n: usize) -> Vec<usize> {
        let mut sizes: Vec<usize> = std::iter::successors(Some(16usize), |s| s.checked_mul(2))
            .take_while(|&s| s < n)
            .collect();
        sizes.push(n);
        sizes
    }

    /// The operation, or why the request is not valid (unknown op, size out of range, repeats out
    /// of range, no sizes or no backends).
    pub fn validate(&self) -> Result<KernelOp, CoreError> {
        let op = KernelOp::from_key(&self.op).ok_or_else(|| CoreError::InvalidValue {
            what: "operation",
            reason: format!("“{}” is not a kernel", self.op),
        })?;
        if self.sizes.is_empty() {
            return Err(CoreError::EmptyInput { what: "sizes" });
        }
        if self.backends.is_empty() {
            return Err(CoreError::EmptyInput { what: "backends" });
        }
        let max = Self::MAX_SIZE;
        for &n in &self.sizes {
            if !(1..=max).contains(&n) {
                return Err(CoreError::OutOfRange {
                    what: "size n",
                    value: n as f64,
                    min: 1.0,
                    max: max as f64,
                });
            }
        }
        if !(2..=Self::MAX_REPEATS).contains(&self.repeats) {
            return Err(CoreError::OutOfRange {
                what: "repeats",
                value: f64::from(self.repeats),
                min: 2.0,
                max: f64::from(Self::MAX_REPEATS),
            });
        }
        Ok(op)
    }
}

/// One timed run of [`Job::Kernel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelRun {
    /// The size `n`.
    pub size: usize,
    /// Where it ran (the CPU when the GPU was asked for but lost or missing).
    pub backend: KernelBackend,
    /// Seconds per kernel run (GPU: from repeated dispatches, upload and read-back excluded).
    pub seconds: f64,
    /// Seconds of one whole call, upload and read-back included.
    pub end_to_end_seconds: f64,
    /// Nominal GFLOP/s at `seconds`.
    pub gflops: f64,
    /// Largest |result − f64 oracle|.
    pub max_abs_err: f64,
    /// Largest relative error against the oracle.
    pub max_rel_err: f64,
    /// Largest error / documented tolerance (≤ 1 passes).
    pub worst_ratio: f64,
    /// Within tolerance everywhere, nothing left unwritten.
    pub passed: bool,
    /// The timed interval was long enough (≥ 1 ms) for the clock; otherwise raise the repeats.
    pub precise: bool,
}

/// Output of [`Job::Kernel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelRuns {
    /// The runs, size by size, in the order of the request's backends.
    pub runs: Vec<KernelRun>,
    /// The GPU adapter used, if any.
    pub adapter: Option<String>,
    /// Set when a GPU run was asked for but the CPU answered (no adapter, or the device was lost).
    pub notice: Option<String>,
}

/// One kernel at one size in [`Job::VerifyKernels`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelCheckRow {
    /// The operation's key.
    pub op: String,
    /// The size `n`.
    pub size: usize,
    /// Met its tolerance (or gave the expected error).
    pub passed: bool,
    /// Largest |GPU − oracle|, when it ran.
    pub max_abs_err: Option<f64>,
    /// Largest error / tolerance, when it ran.
    pub worst_ratio: Option<f64>,
    /// The GPU error, if any.
    pub error: Option<String>,
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
    /// Result of [`Job::Kernel`].
    Kernel(KernelRuns),
    /// Result of [`Job::VerifyKernels`].
    KernelChecks {
        /// The GPU adapter.
        adapter: String,
        /// One row per kernel and size.
        checks: Vec<KernelCheckRow>,
    },
    /// Result of [`Job::LoseGpuDevice`]: whether there was a device to lose.
    GpuDeviceLost {
        /// `false` when the worker had no GPU device open.
        had_device: bool,
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
    fn sweep_sizes_double_up_to_n() {
        assert_eq!(KernelJob::sweep_sizes(100), vec![16, 32, 64, 100]);
        assert_eq!(KernelJob::sweep_sizes(64), vec![16, 32, 64]);
        assert_eq!(KernelJob::sweep_sizes(8), vec![8]);
    }

    #[test]
    fn kernel_jobs_are_checked_before_work() {
        let ok = KernelJob {
            op: "matmul".into(),
            sizes: vec![1, 2048],
            backends: vec![KernelBackend::Gpu, KernelBackend::Cpu],
            repeats: 10,
            retry_gpu: false,
        };
        assert_eq!(ok.validate().unwrap(), KernelOp::Matmul);
        let softmax = KernelJob {
            op: "softmax".into(),
            ..ok.clone()
        };
        assert_eq!(softmax.validate().unwrap(), KernelOp::SoftmaxRows);
        let cases = [
            (
                KernelJob {
                    op: "conv".into(),
                    ..ok.clone()
                },
                "InvalidValue",
            ),
            (
                KernelJob {
                    sizes: vec![],
                    ..ok.clone()
                },
                "EmptyInput",
            ),
            (
                KernelJob {
                    backends: vec![],
                    ..ok.clone()
                },
                "EmptyInput",
            ),
            (
                KernelJob {
                    sizes: vec![0],
                    ..ok.clone()
                },
                "OutOfRange",
            ),
            (
                KernelJob {
                    sizes: vec![2049],
                    ..ok.clone()
                },
                "OutOfRange",
            ),
            (
                KernelJob {
                    repeats: 1,
                    ..ok.clone()
                },
                "OutOfRange",
            ),
            (
                KernelJob {
                    repeats: 1001,
                    ..ok.clone()
                },
                "OutOfRange",
            ),
        ];
        for (job, code) in cases {
            assert_eq!(job.validate().unwrap_err().code(), code, "{job:?}");
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
