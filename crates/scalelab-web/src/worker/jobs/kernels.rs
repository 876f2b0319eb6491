//! The Kernels lab's jobs: timing a kernel on the GPU and the CPU, the all-kernel check, and a
//! simulated device loss ([`LoseGpuDevice`]) of the worker's device ([`crate::worker::device`]).

use scalelab_core::CoreError;
use scalelab_gpu::workload::{
    self, compare, now_ms, time_cpu, time_gpu, KernelOp, Timing, Workload,
};
use scalelab_gpu::GpuError;
use serde::{Deserialize, Serialize};

use crate::worker::device::{destroy_device, device, mark_lost};
use crate::worker::protocol::{JobFailure, Output, Progress, Stage};
use crate::worker::task::{LocalBoxFuture, Slice, SliceBudget, StartTask, Task};

/// Seed of the kernel page's inputs.
const SEED: u64 = 1;

/// Where a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KernelBackend {
    /// WebGPU in the worker.
    Gpu,
    /// The f64 CPU oracle (rounded to f32), in the worker.
    Cpu,
}

/// Input of the kernel timing job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelJob {
    /// The operation.
    pub op: KernelOp,
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

    /// Why the request is not valid: no sizes or no backends, a size or repeats out of range.
    pub fn validate(&self) -> Result<(), CoreError> {
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
        Ok(())
    }
}

/// One timed run of a [`KernelJob`].
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

/// Output of a [`KernelJob`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelRuns {
    /// The operation.
    pub op: KernelOp,
    /// The runs, size by size, in the order of the request's backends.
    pub runs: Vec<KernelRun>,
    /// The GPU adapter used, if any.
    pub adapter: Option<String>,
    /// Set when a GPU run was asked for but the CPU answered (no adapter, or the device was lost).
    pub notice: Option<String>,
}

fn gpu_failure(err: GpuError) -> JobFailure {
    err.into()
}

/// The timing job in progress: one size (on every backend) is one unit.
struct KernelTask {
    job: KernelJob,
    next: usize,
    out: KernelRuns,
}

impl StartTask for KernelJob {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        self.validate()?;
        Ok(Box::new(KernelTask {
            out: KernelRuns {
                op: self.op,
                runs: Vec::new(),
                adapter: None,
                notice: None,
            },
            job: self,
            next: 0,
        }))
    }
}

impl KernelTask {
    async fn run_size(&mut self, i: usize) -> Result<(), JobFailure> {
        let n = self.job.sizes[i];
        let w = Workload::new(self.job.op, n, SEED);
        let want = w.run_cpu().map_err(gpu_failure)?;
        let tolerance = w.tolerance(&want);
        for b in 0..self.job.backends.len() {
            let (used, timing) = match self.job.backends[b] {
                KernelBackend::Cpu => (KernelBackend::Cpu, cpu(&w)?),
                KernelBackend::Gpu => match device(self.job.retry_gpu && i == 0).await {
                    Ok(ctx) => match time_gpu(&ctx, &w, self.job.repeats, &now_ms).await {
                        Ok(timing) => {
                            self.out.adapter = Some(ctx.adapter_name());
                            (KernelBackend::Gpu, timing)
                        }
                        Err(GpuError::DeviceLost { reason }) => {
                            self.out.notice = Some(mark_lost(&reason).fallback_notice());
                            (KernelBackend::Cpu, cpu(&w)?)
                        }
                        Err(err) => return Err(gpu_failure(err)),
                    },
                    Err(no_device) => {
                        self.out.notice = Some(no_device.fallback_notice());
                        (KernelBackend::Cpu, cpu(&w)?)
                    }
                },
            };
            let cmp = compare(&timing.output, &want, &tolerance);
            self.out.runs.push(KernelRun {
                size: n,
                backend: used,
                seconds: timing.seconds,
                end_to_end_seconds: timing.end_to_end_seconds,
                gflops: timing.gflops(&w),
                max_abs_err: cmp.max_abs_err,
                max_rel_err: cmp.max_rel_err,
                worst_ratio: cmp.worst_ratio,
                passed: cmp.passed,
                precise: timing.precise,
            });
        }
        Ok(())
    }
}

impl Task for KernelTask {
    fn slice(&mut self, _budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>> {
        Box::pin(async move {
            let i = self.next;
            self.run_size(i).await?;
            self.next += 1;
            let total = self.job.sizes.len();
            if self.next < total {
                return Ok(Slice::More {
                    progress: Progress::new(Stage::Sizes, self.next as u64, total as u64),
                    partials: Vec::new(),
                    units: 1,
                });
            }
            Ok(Slice::Done {
                partials: Vec::new(),
                output: Output::Kernel(std::mem::replace(
                    &mut self.out,
                    KernelRuns {
                        op: self.job.op,
                        runs: Vec::new(),
                        adapter: None,
                        notice: None,
                    },
                )),
            })
        })
    }
}

fn cpu(w: &Workload) -> Result<Timing, JobFailure> {
    time_cpu(w, &now_ms).map_err(gpu_failure)
}

/// Input of the all-kernel check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyKernels {
    /// Open a new GPU device first if the last one was lost.
    pub retry_gpu: bool,
}

/// One kernel at one size of the all-kernel check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelCheckRow {
    /// The operation.
    pub op: KernelOp,
    /// The size `n`.
    pub size: usize,
    /// Met its tolerance (or gave the expected error).
    pub passed: bool,
    /// Largest |GPU − oracle|, when it ran.
    pub max_abs_err: Option<f64>,
    /// Largest error / tolerance, when it ran.
    pub worst_ratio: Option<f64>,
    /// The GPU error, if any.
    pub error: Option<JobFailure>,
}

/// Output of the all-kernel check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelChecks {
    /// The GPU adapter.
    pub adapter: String,
    /// One row per kernel and size.
    pub checks: Vec<KernelCheckRow>,
}

/// The check in progress: one kernel at one size is one unit.
struct VerifyTask {
    retry_gpu: bool,
    cases: Vec<(KernelOp, usize, u64)>,
    rows: Vec<KernelCheckRow>,
}

impl StartTask for VerifyKernels {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(VerifyTask {
            retry_gpu: self.retry_gpu,
            cases: workload::verify_cases(),
            rows: Vec::new(),
        }))
    }
}

impl Task for VerifyTask {
    fn slice(&mut self, budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>> {
        Box::pin(async move {
            let ctx = device(std::mem::take(&mut self.retry_gpu))
                .await
                .map_err(|no_device| {
                    JobFailure::from(CoreError::InvalidValue {
                        what: "GPU",
                        reason: format!("{}. The check needs a GPU.", no_device.why()),
                    })
                })?;
            let total = self.cases.len();
            let mut units = 0;
            while self.rows.len() < total {
                let (op, size, seed) = self.cases[self.rows.len()];
                let c = workload::check(&ctx, &Workload::new(op, size, seed)).await;
                self.rows.push(KernelCheckRow {
                    op: c.op,
                    size: c.size,
                    passed: c.passed,
                    max_abs_err: c.comparison.map(|x| x.max_abs_err),
                    worst_ratio: c.comparison.map(|x| x.worst_ratio),
                    error: c.error.map(JobFailure::from),
                });
                units += 1;
                if (budget.now)() >= budget.deadline_ms || budget.units == Some(units) {
                    break;
                }
            }
            if let Some(reason) = ctx.lost_reason() {
                mark_lost(&reason);
            }
            if self.rows.len() < total {
                return Ok(Slice::More {
                    progress: Progress::new(Stage::Checks, self.rows.len() as u64, total as u64),
                    partials: Vec::new(),
                    units,
                });
            }
            Ok(Slice::Done {
                partials: Vec::new(),
                output: Output::VerifyKernels(KernelChecks {
                    adapter: ctx.adapter_name(),
                    checks: std::mem::take(&mut self.rows),
                }),
            })
        })
    }
}

/// Input of the simulated device loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoseGpuDevice;

/// Output of the simulated device loss: whether there was a device to lose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuDeviceLost {
    /// `false` when the worker had no GPU device open.
    pub had_device: bool,
}

impl StartTask for LoseGpuDevice {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(crate::worker::task::Once::new(|| {
            let had_device = destroy_device();
            Ok(Output::LoseGpuDevice(GpuDeviceLost { had_device }))
        })))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn sweep_sizes_double_up_to_n() {
        assert_eq!(KernelJob::sweep_sizes(100), vec![16, 32, 64, 100]);
        assert_eq!(KernelJob::sweep_sizes(64), vec![16, 32, 64]);
        assert_eq!(KernelJob::sweep_sizes(8), vec![8]);
    }

    #[test]
    fn kernel_jobs_are_checked_before_work() {
        let ok = KernelJob {
            op: KernelOp::Matmul,
            sizes: vec![1, 2048],
            backends: vec![KernelBackend::Gpu, KernelBackend::Cpu],
            repeats: 10,
            retry_gpu: false,
        };
        assert!(ok.validate().is_ok());
        let cases = [
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
}
