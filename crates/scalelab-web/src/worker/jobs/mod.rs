//! The job registry: every job the worker runs, with its request, output and partial-result types.
//!
//! One line per job generates the [`Job`], [`Output`] and [`Partial`] enums, the [`JobSpec`] impl
//! that pairs a request with its output (so the page's job handle is typed and a reply of the wrong
//! kind is caught), and the worker's dispatch to the request's [`StartTask`] impl. A lab's worker
//! job is its module here plus its lines in the list below.

pub mod calibrate;
pub mod fit;
pub mod grokking;
pub mod guidance;
pub mod kernels;
pub mod stablemax;

use serde::{Deserialize, Serialize};

use super::protocol::{JobFailure, JobSpec};
use super::task::{StartTask, Task};

/// The partial-result type of jobs that stream nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoPartial {}

macro_rules! jobs {
    ($( $(#[$doc:meta])* $name:ident($req:ty) -> $out:ty, partial $part:ty, pausable $pausable:literal; )*) => {
        /// Every job the worker runs.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub enum Job {
            $( $(#[$doc])* $name($req), )*
        }

        /// Every job's result, by job.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum Output {
            $( $(#[$doc])* $name($out), )*
        }

        /// Every job's partial result, by job.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub enum Partial {
            $( $(#[$doc])* $name($part), )*
        }

        impl Job {
            /// The job's name.
            pub fn name(&self) -> &'static str {
                match self { $( Job::$name(_) => stringify!($name), )* }
            }

            /// Validates the request and prepares its task (in the worker).
            ///
            /// # Errors
            /// What is wrong with the request.
            pub fn start(self) -> Result<Box<dyn Task>, JobFailure> {
                match self { $( Job::$name(r) => r.start(), )* }
            }
        }

        impl Output {
            /// The name of the job the output belongs to.
            pub fn name(&self) -> &'static str {
                match self { $( Output::$name(_) => stringify!($name), )* }
            }
        }

        impl Partial {
            /// The name of the job the partial result belongs to.
            pub fn name(&self) -> &'static str {
                match self { $( Partial::$name(_) => stringify!($name), )* }
            }
        }

        $(
            impl JobSpec for $req {
                type Output = $out;
                type Partial = $part;
                const NAME: &'static str = stringify!($name);
                const PAUSABLE: bool = $pausable;
                fn into_job(self) -> Job {
                    Job::$name(self)
                }
                fn output(output: Output) -> Result<$out, &'static str> {
                    match output {
                        Output::$name(o) => Ok(o),
                        other => Err(other.name()),
                    }
                }
                fn partial(partial: Partial) -> Result<$part, &'static str> {
                    match partial {
                        Partial::$name(p) => Ok(p),
                        other => Err(other.name()),
                    }
                }
            }
        )*
    };
}

jobs! {
    /// The StableMax explorer at one scale and precision: losses, probabilities, top classes.
    Explore(stablemax::Explore) -> stablemax::Exploration, partial NoPartial, pausable false;
    /// Where Softmax Collapse sets in, per precision.
    CollapseOnsets(stablemax::CollapseOnsets) -> stablemax::Onsets, partial NoPartial, pausable false;
    /// The correct-class gradient over a log-spaced range of scales, in every precision.
    GradientSweep(stablemax::GradientSweep) -> stablemax::GradientSweepResult, partial NoPartial, pausable true;
    /// A Fit lab table read and mapped to a model: columns, parameters, starts, observations.
    FitPrepare(fit::prepare::FitInput) -> fit::prepare::FitPreparation, partial NoPartial, pausable false;
    /// A scaling-law fit with its multi-start, bootstrap, band and backtest.
    Fit(fit::FitJob) -> fit::FitOutcome, partial scalelab_core::fit::multistart::StartOutcome, pausable true;
    /// One download of the worker's last fit, built from its full report.
    FitExport(fit::export::FitExport) -> fit::export::ExportText, partial NoPartial, pausable false;
    /// One kernel timed at one or more sizes on the GPU and/or the CPU, checked against its oracle.
    Kernel(kernels::KernelJob) -> kernels::KernelRuns, partial NoPartial, pausable false;
    /// Every kernel at sizes 0, 1, 63, 64, 65 and 512 on the GPU against its oracle.
    VerifyKernels(kernels::VerifyKernels) -> kernels::KernelChecks, partial NoPartial, pausable false;
    /// Calibrate: a score file (or a generated set) read and analysed — temperature, metrics, intervals, conventions, CORP.
    CalibrateAnalyse(calibrate::Analyse) -> calibrate::Analysis, partial NoPartial, pausable false;
    /// Calibrate: every recalibration method fitted on a calibration split of the kept scores and scored on the test split.
    CalibrateMethods(calibrate::CompareMethods) -> scalelab_core::calibrate::methods::MethodComparison, partial NoPartial, pausable false;
    /// Calibrate: which bin each library's convention put one row of the kept scores in.
    CalibrateSample(calibrate::LocateSample) -> calibrate::SampleBins, partial NoPartial, pausable false;
    /// Calibrate: one run of the class-overlap experiment, one epoch per unit.
    CalibrateOverlap(calibrate::Overlap) -> calibrate::OverlapOutcome, partial calibrate::OverlapEpoch, pausable true;
    /// Calibrate: the overlap experiment at every separation, ERM and Mixup, one epoch per unit; each finished run streamed.
    CalibrateOverlapSweep(calibrate::OverlapSweep) -> u64, partial calibrate::SweepPoint, pausable true;
    /// StableMax lab: one or two grokking runs trained side by side, one epoch of each per unit, every epoch streamed.
    Train(grokking::Train) -> grokking::Trained, partial grokking::RunEvent, pausable true;
    /// Guidance lab: one or two runs (CFG and APG on the same seeds) sampled side by side, one step of each per unit, every step streamed.
    GuidanceSample(guidance::Sample) -> guidance::Sampled, partial guidance::SampleEvent, pausable true;
    /// Guidance lab: runs sampled to the end, one per unit, each streamed with its metrics (the charts' points, the stability map).
    GuidancePoints(guidance::Points) -> u64, partial guidance::PointEvent, pausable true;
    /// Destroys the worker's GPU device, as a driver reset would (to try the CPU fallback).
    LoseGpuDevice(kernels::LoseGpuDevice) -> kernels::GpuDeviceLost, partial NoPartial, pausable false;
}
