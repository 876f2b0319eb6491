//! A job as the worker runs it: a [`Task`] advanced one slice at a time.
//!
//! The worker's driver ([`super::runtime`]) calls [`Task::slice`] with a [`SliceBudget`] of about
//! 20 ms (or of one unit, for a step), posts the slice's progress and partial results, yields to
//! the event loop so that control messages (pause, cancel) are read, and calls again until the task
//! is done. Tasks build and run natively too, so their slicing is tested without a browser.

use std::future::Future;
use std::pin::Pin;

use scalelab_core::Budget;

use super::protocol::{JobFailure, Output, Partial, Progress};

/// A boxed future that need not be `Send` (the worker is single-threaded).
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// How much one slice may do.
#[derive(Debug, Clone, Copy)]
pub struct SliceBudget {
    /// The clock, in milliseconds (`performance.now()` in the worker).
    pub now: fn() -> f64,
    /// Stop once `now()` passes this.
    pub deadline_ms: f64,
    /// Stop after this many whole units (a step), if set.
    pub units: Option<u64>,
}

impl SliceBudget {
    /// Runs `work` with this budget as a core [`Budget`]; returns its result and the units done.
    pub fn run<T>(self, work: impl FnOnce(&mut Budget<'_>) -> T) -> (T, u64) {
        let (now, deadline) = (self.now, self.deadline_ms);
        let mut time_left = move || now() < deadline;
        let mut budget = Budget::new(&mut time_left, self.units);
        let out = work(&mut budget);
        (out, budget.units_done())
    }
}

impl SliceBudget {
    /// Calls `step` (one unit each) until it gives a result or the budget runs out: `Some` with
    /// the result, or `None` to continue in the next slice; and the units done.
    ///
    /// # Errors
    /// The first error of `step`.
    pub fn steps<T, E>(
        self,
        mut step: impl FnMut() -> Result<Option<T>, E>,
    ) -> (Result<Option<T>, E>, u64) {
        self.run(|b| loop {
            if let Some(done) = step()? {
                return Ok(Some(done));
            }
            if !b.unit_done() {
                return Ok(None);
            }
        })
    }
}

/// What one slice achieved (returned at once, so the variants' sizes do not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Slice {
    /// The task goes on.
    More {
        /// Where it is.
        progress: Progress,
        /// Partial results finished in this slice.
        partials: Vec<Partial>,
        /// Whole units finished in this slice (for steps).
        units: u64,
    },
    /// The task is done.
    Done {
        /// Partial results finished in the last slice.
        partials: Vec<Partial>,
        /// The result.
        output: Output,
    },
}

/// A running job.
pub trait Task {
    /// Advances the job within `budget`.
    fn slice(&mut self, budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>>;
}

/// A task that computes synchronously in slices.
pub trait SyncTask {
    /// Advances the job within `budget`.
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure>;
}

impl<T: SyncTask> Task for T {
    fn slice(&mut self, budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>> {
        Box::pin(std::future::ready(SyncTask::slice(self, budget)))
    }
}

/// A task that is done in one go (quick jobs): the first slice computes the output.
pub struct Once<F>(Option<F>);

impl<F> Once<F> {
    /// The task that calls `work` once.
    pub fn new(work: F) -> Once<F> {
        Once(Some(work))
    }
}

impl<F: FnOnce() -> Result<Output, JobFailure>> SyncTask for Once<F> {
    fn slice(&mut self, _budget: SliceBudget) -> Result<Slice, JobFailure> {
        let work = self.0.take().ok_or_else(|| {
            JobFailure::from(scalelab_core::CoreError::InvalidValue {
                what: "job",
                reason: "it already finished".into(),
            })
        })?;
        Ok(Slice::Done {
            partials: Vec::new(),
            output: work()?,
        })
    }
}

/// How a request becomes a running task (implemented by every job's request type).
pub trait StartTask {
    /// Validates the request and prepares its task.
    ///
    /// # Errors
    /// What is wrong with the request.
    fn start(self) -> Result<Box<dyn Task>, JobFailure>;
}

/// Runs `task` to the end natively, each slice limited to `units` whole units (or unlimited), and
/// returns the output with every partial result and the number of slices (for tests).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub fn run_to_end(
    mut task: Box<dyn Task>,
    units: Option<u64>,
) -> Result<(Output, Vec<Partial>, usize), JobFailure> {
    fn never() -> f64 {
        0.0
    }
    let mut partials = Vec::new();
    let mut slices = 0;
    loop {
        slices += 1;
        let budget = SliceBudget {
            now: never,
            deadline_ms: 1.0,
            units,
        };
        match pollster::block_on(task.slice(budget))? {
            Slice::More { partials: p, .. } => partials.extend(p),
            Slice::Done {
                partials: p,
                output,
            } => {
                partials.extend(p);
                return Ok((output, partials, slices));
            }
        }
    }
}
