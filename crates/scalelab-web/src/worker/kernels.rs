//! The worker's GPU device and the kernel jobs: timing a kernel on the GPU and the CPU, the
//! all-kernel check, and a simulated device loss.
//!
//! The device is opened on first use and kept. When it is lost (a driver reset, or
//! [`Job::LoseGpuDevice`](super::protocol::Job::LoseGpuDevice)) GPU requests are answered on the CPU
//! with a notice until a job asks to retry the GPU, which opens a new device.

use std::cell::RefCell;
use std::rc::Rc;

use scalelab_core::CoreError;
use scalelab_gpu::workload::{self, compare, now_ms, time_cpu, time_gpu, Timing, Workload};
use scalelab_gpu::{GpuContext, GpuError};

use super::protocol::{JobOutput, KernelBackend, KernelCheckRow, KernelJob, KernelRun, KernelRuns};

/// Seed of the kernel page's inputs.
const SEED: u64 = 1;

enum Device {
    /// Not opened yet.
    Closed,
    /// Open and (as far as we know) alive.
    Open(Rc<GpuContext>),
    /// No adapter or no device: the reason.
    Unavailable(String),
    /// Lost: the reason. GPU requests use the CPU until a retry.
    Lost(String),
}

thread_local! {
    static DEVICE: RefCell<Device> = const { RefCell::new(Device::Closed) };
}

/// Why the worker has no GPU device to run on.
enum NoDevice {
    /// No adapter or no device.
    Unavailable(String),
    /// The device was lost.
    Lost(String),
}

impl NoDevice {
    fn why(&self) -> String {
        match self {
            NoDevice::Unavailable(reason) => format!("No GPU: {reason}"),
            NoDevice::Lost(reason) => format!("The GPU device was lost ({reason})"),
        }
    }

    /// The notice shown when the CPU answered a GPU request.
    fn fallback_notice(&self) -> String {
        match self {
            NoDevice::Unavailable(_) => format!("{}. The CPU ran this instead.", self.why()),
            NoDevice::Lost(_) => format!(
                "{}. The CPU ran this instead; choose “Use the GPU again” to open a new device.",
                self.why()
            ),
        }
    }
}

/// The open device, opening it if needed (again after a loss when `retry`).
async fn device(retry: bool) -> Result<Rc<GpuContext>, NoDevice> {
    let state = DEVICE.with(|d| match &*d.borrow() {
        Device::Open(ctx) => Ok(Some(Rc::clone(ctx))),
        Device::Closed => Ok(None),
        Device::Unavailable(_) | Device::Lost(_) if retry => Ok(None),
        Device::Unavailable(reason) => Err(NoDevice::Unavailable(reason.clone())),
        Device::Lost(reason) => Err(NoDevice::Lost(reason.clone())),
    })?;
    if let Some(ctx) = state {
        return Ok(ctx);
    }
    match GpuContext::new().await {
        Ok(ctx) => {
            let ctx = Rc::new(ctx);
            DEVICE.with(|d| *d.borrow_mut() = Device::Open(Rc::clone(&ctx)));
            Ok(ctx)
        }
        Err(err) => {
            DEVICE.with(|d| *d.borrow_mut() = Device::Unavailable(err.to_string()));
            Err(NoDevice::Unavailable(err.to_string()))
        }
    }
}

/// Records a lost device.
fn mark_lost(reason: &str) -> NoDevice {
    DEVICE.with(|d| *d.borrow_mut() = Device::Lost(reason.to_owned()));
    NoDevice::Lost(reason.to_owned())
}

fn gpu_error(err: GpuError) -> CoreError {
    CoreError::InvalidValue {
        what: "GPU run",
        reason: format!("{}: {err}", err.code()),
    }
}

/// Runs [`Job::Kernel`](super::protocol::Job::Kernel); `progress(done, total)` after each size.
pub async fn run_kernel_job(
    job: &KernelJob,
    mut progress: impl FnMut(u32, u32),
) -> Result<JobOutput, CoreError> {
    let op = job.validate()?;
    let mut runs = Vec::new();
    let mut notice = None;
    let mut adapter = None;
    let total = job.sizes.len() as u32;
    for (i, &n) in job.sizes.iter().enumerate() {
        let w = Workload::new(op, n, SEED);
        let want = w.run_cpu().map_err(gpu_error)?;
        let tolerance = w.tolerance(&want);
        for &backend in &job.backends {
            let (used, timing) = match backend {
                KernelBackend::Cpu => (KernelBackend::Cpu, cpu(&w)?),
                KernelBackend::Gpu => match device(job.retry_gpu && i == 0).await {
                    Ok(ctx) => match time_gpu(&ctx, &w, job.repeats, &now_ms).await {
                        Ok(timing) => {
                            adapter = Some(ctx.adapter_name());
                            (KernelBackend::Gpu, timing)
                        }
                        Err(GpuError::DeviceLost { reason }) => {
                            notice = Some(mark_lost(&reason).fallback_notice());
                            (KernelBackend::Cpu, cpu(&w)?)
                        }
                        Err(err) => return Err(gpu_error(err)),
                    },
                    Err(no_device) => {
                        notice = Some(no_device.fallback_notice());
                        (KernelBackend::Cpu, cpu(&w)?)
                    }
                },
            };
            let cmp = compare(&timing.output, &want, &tolerance);
            runs.push(KernelRun {
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
        progress(i as u32 + 1, total);
    }
    Ok(JobOutput::Kernel(KernelRuns {
        runs,
        adapter,
        notice,
    }))
}

fn cpu(w: &Workload) -> Result<Timing, CoreError> {
    time_cpu(w, &now_ms).map_err(gpu_error)
}

/// Runs [`Job::VerifyKernels`](super::protocol::Job::VerifyKernels).
pub async fn verify_kernels(
    retry_gpu: bool,
    progress: impl FnMut(usize, usize),
) -> Result<JobOutput, CoreError> {
    let ctx = device(retry_gpu)
        .await
        .map_err(|no_device| CoreError::InvalidValue {
            what: "GPU",
            reason: format!("{}. The check needs a GPU.", no_device.why()),
        })?;
    let checks = workload::verify(&ctx, progress).await;
    if let Some(reason) = ctx.lost_reason() {
        mark_lost(&reason);
    }
    Ok(JobOutput::KernelChecks {
        adapter: ctx.adapter_name(),
        checks: checks
            .into_iter()
            .map(|c| KernelCheckRow {
                op: c.op.key().to_owned(),
                size: c.size,
                passed: c.passed,
                max_abs_err: c.comparison.map(|x| x.max_abs_err),
                worst_ratio: c.comparison.map(|x| x.worst_ratio),
                error: c.error,
            })
            .collect(),
    })
}

/// Runs [`Job::LoseGpuDevice`](super::protocol::Job::LoseGpuDevice).
pub fn lose_device() -> JobOutput {
    let had_device = DEVICE.with(|d| match &*d.borrow() {
        Device::Open(ctx) => {
            ctx.destroy();
            true
        }
        _ => false,
    });
    JobOutput::GpuDeviceLost { had_device }
}
