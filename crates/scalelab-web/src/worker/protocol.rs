//! Typed messages between the page and the compute worker (serialised with `serde-wasm-bindgen`).
//!
//! The page starts a job with [`ToWorker::Start`] under an id it chooses and steers it with
//! [`ToWorker::Control`] (pause, resume, step, cancel). The worker answers any number of
//! [`FromWorker::Progress`] messages — each with the job's [`Progress`] and the partial results
//! ([`Partial`]) finished since the last one — and exactly one of `Done`, `Cancelled` or `Failed`
//! per id. Which output and partials belong to which job is fixed by the job registry
//! ([`super::jobs`]): [`JobSpec`] pairs each request type with its output and partial types, so a
//! reply of the wrong kind is a [`WorkerError::WrongOutput`], never silently dropped.

use scalelab_core::{CoreError, CoreErrorCode};
use scalelab_gpu::{GpuError, GpuErrorCode};
use serde::{Deserialize, Serialize};

pub use super::jobs::{Job, Output, Partial};

/// Page → worker (a message in flight, so its variants' sizes do not matter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum ToWorker {
    /// Start `job` under `id`.
    Start {
        /// Chosen by the page, unique per worker.
        id: u64,
        /// What to compute.
        job: Job,
    },
    /// Steer job `id`.
    Control {
        /// The job.
        id: u64,
        /// What to do.
        control: Control,
    },
    /// Test hook: make the worker throw from its message handler, as a crash would.
    Crash,
}

/// How the page steers a running job. Every job stops at its next slice boundary (within about
/// 20 ms of work); pausing keeps its state, so resuming or stepping goes on exactly where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// Stop after the current slice and wait.
    Pause,
    /// Go on after a pause.
    Resume,
    /// Run one unit (a start, a resample, an epoch), then pause.
    Step,
    /// Stop for good; the worker answers [`FromWorker::Cancelled`].
    Cancel,
}

/// Worker → page (a message in flight, so its variants' sizes do not matter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum FromWorker {
    /// The worker's message handler is installed; messages sent before this are lost.
    Ready,
    /// The worker's GPU device: its start-up check, or its loss.
    Device(DeviceStatus),
    /// Job `id` went on.
    Progress {
        /// The job.
        id: u64,
        /// Where it is.
        progress: Progress,
        /// Partial results finished since the last message, in order.
        partials: Vec<Partial>,
        /// `true` when the job is paused (after a pause or a step).
        paused: bool,
    },
    /// Job `id` finished.
    Done {
        /// The job.
        id: u64,
        /// Its result.
        output: Output,
        /// Milliseconds from start to finish in the worker, pauses excluded.
        millis: f64,
    },
    /// Job `id` stopped after [`Control::Cancel`].
    Cancelled {
        /// The job.
        id: u64,
    },
    /// Job `id` failed.
    Failed {
        /// The job.
        id: u64,
        /// Why.
        failure: JobFailure,
    },
    /// A message the worker could not read (no job id to answer).
    Unreadable {
        /// Why.
        failure: JobFailure,
    },
}

/// How far a job is: `done` of `total` units of its current stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// What it is doing.
    pub stage: Stage,
    /// Units finished.
    pub done: u64,
    /// Units in the stage.
    pub total: u64,
}

impl Progress {
    /// `done` of `total` in `stage`.
    pub fn new(stage: Stage, done: u64, total: u64) -> Progress {
        Progress { stage, done, total }
    }
}

/// The stages of the jobs, as the status line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Starting.
    Starting,
    /// Reading pasted or uploaded data.
    Reading,
    /// Evaluating at the chosen settings.
    Evaluating,
    /// Sweeping scales.
    Scales,
    /// Fitting from the starts.
    Starts,
    /// Refitting bootstrap resamples.
    Bootstrap,
    /// The backtest refit.
    Backtest,
    /// Timing a kernel at each size.
    Sizes,
    /// Checking every kernel.
    Checks,
    /// Training epochs.
    Epochs,
    /// Reading a text file, in KiB.
    ReadingKib,
    /// Sampler steps.
    Steps,
    /// Runs of a chart's points.
    Points,
}

impl Stage {
    /// The stage and its unit for people.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Reading => "reading the data",
            Stage::Evaluating => "evaluating",
            Stage::Scales => "scales",
            Stage::Starts => "starts",
            Stage::Bootstrap => "bootstrap resamples",
            Stage::Backtest => "backtest refit",
            Stage::Sizes => "sizes",
            Stage::Checks => "checks",
            Stage::Epochs => "epochs",
            Stage::ReadingKib => "reading the data, KiB",
            Stage::Steps => "sampler steps",
            Stage::Points => "runs",
        }
    }
}

/// The errors of the worker machinery itself (the jobs' own errors are [`CoreError`] and
/// [`GpuError`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(WorkerErrorCode),
    derive(
        strum::IntoStaticStr,
        strum::VariantArray,
        Hash,
        Serialize,
        Deserialize
    )
)]
pub enum WorkerError {
    /// A message could not be read (a bug: both sides are built from the same types).
    #[error("the compute worker could not read a message: {reason}")]
    BadMessage {
        /// The decoder's complaint.
        reason: String,
    },
    /// The worker stopped (an uncaught error); a new one was started.
    #[error("the compute worker stopped while running this job ({reason}); a new worker has been started, so run it again")]
    WorkerCrashed {
        /// The browser's error message.
        reason: String,
    },
    /// A job was answered with another job's kind of result (a bug).
    #[error("the worker answered a {expected} job with a {got} result")]
    WrongOutput {
        /// The job's kind.
        expected: &'static str,
        /// The result's kind.
        got: String,
    },
    /// A download was asked of a fit the worker no longer keeps.
    #[error("this fit's downloads are no longer in the worker (a newer fit replaced it, or the worker restarted); fit again, then download")]
    FitGone,
    /// A Calibrate job asked for scores the worker no longer keeps.
    #[error("these scores are no longer in the worker (newer data replaced them, or the worker restarted); the page analyses them again")]
    ScoresGone,
    /// The browser refused to start a worker.
    #[error("this browser could not start the compute worker: {reason}")]
    Unavailable {
        /// The browser's error message.
        reason: String,
    },
}

/// A stable error code: a [`CoreError`], [`GpuError`] or [`WorkerError`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// From the numerics.
    Core(CoreErrorCode),
    /// From the GPU kernels.
    Gpu(GpuErrorCode),
    /// From the worker machinery.
    Worker(WorkerErrorCode),
}

impl ErrorCode {
    /// The variant name (`"OutOfRange"`, `"DeviceLost"`, `"WorkerCrashed"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Core(c) => c.as_str(),
            ErrorCode::Gpu(c) => c.as_str(),
            ErrorCode::Worker(c) => c.into(),
        }
    }
}

/// Why a job failed: its code and the message for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFailure {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<CoreError> for JobFailure {
    fn from(e: CoreError) -> Self {
        JobFailure {
            code: ErrorCode::Core(CoreErrorCode::from(&e)),
            message: e.to_string(),
        }
    }
}

impl From<GpuError> for JobFailure {
    fn from(e: GpuError) -> Self {
        JobFailure {
            code: ErrorCode::Gpu(GpuErrorCode::from(&e)),
            message: e.to_string(),
        }
    }
}

impl From<WorkerError> for JobFailure {
    fn from(e: WorkerError) -> Self {
        JobFailure {
            code: ErrorCode::Worker(WorkerErrorCode::from(&e)),
            message: e.to_string(),
        }
    }
}

/// The worker's GPU device as the status chip shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeviceStatus {
    /// No worker yet: the device is checked when a lab first needs the worker.
    Unchecked,
    /// The worker is opening and checking its device.
    Probing,
    /// A GPU adapter ran the softmax and StableMax kernels and matched the f64 oracle.
    Gpu {
        /// Adapter name as the browser reports it.
        adapter: String,
        /// API in use ("WebGPU").
        api: String,
        /// Largest |GPU − CPU| of the softmax kernel.
        softmax_err: f64,
        /// Largest |GPU − CPU| of the StableMax kernel.
        stablemax_err: f64,
    },
    /// Computation stays on the CPU.
    Cpu {
        /// Why no GPU is used.
        reason: String,
    },
    /// The device was lost after it worked; the CPU answers until a job retries the GPU.
    Lost {
        /// The reason the browser gave.
        reason: String,
    },
}

/// A job request type: its result, its partial results and how it can be steered. Implemented
/// for every request by the job registry ([`super::jobs`]).
pub trait JobSpec: Sized + 'static {
    /// What the job gives when it is done.
    type Output: serde::de::DeserializeOwned + 'static;
    /// What the job streams while it runs.
    type Partial: serde::de::DeserializeOwned + 'static;
    /// The job's name (its [`Job`] variant).
    const NAME: &'static str;
    /// Whether Pause, Resume and Step mean something for this job (it runs in units).
    const PAUSABLE: bool;
    /// The request as a [`Job`].
    fn into_job(self) -> Job;
    /// This job's output, or the name of the job the output belongs to.
    fn output(output: Output) -> Result<Self::Output, &'static str>;
    /// This job's partial result, or the name of the job the partial belongs to.
    fn partial(partial: Partial) -> Result<Self::Partial, &'static str>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_variants_across_all_three_error_types() {
        let core: JobFailure = CoreError::EmptyInput { what: "logits" }.into();
        assert_eq!(core.code.as_str(), "EmptyInput");
        assert!(core.message.contains("logits"));
        let gpu: JobFailure = GpuError::DeviceLost { reason: "r".into() }.into();
        assert_eq!(gpu.code.as_str(), "DeviceLost");
        let worker: JobFailure = WorkerError::WorkerCrashed {
            reason: "boom".into(),
        }
        .into();
        assert_eq!(worker.code.as_str(), "WorkerCrashed");
        assert!(worker.message.contains("boom") && worker.message.contains("run it again"));
        let wrong: JobFailure = WorkerError::WrongOutput {
            expected: "Fit",
            got: "Kernel".into(),
        }
        .into();
        assert_eq!(wrong.code, ErrorCode::Worker(WorkerErrorCode::WrongOutput));
    }

    #[test]
    fn stages_have_labels() {
        for s in [
            Stage::Starts,
            Stage::Bootstrap,
            Stage::Scales,
            Stage::Checks,
        ] {
            assert!(!s.label().is_empty());
        }
    }
}
