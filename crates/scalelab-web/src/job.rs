//! The one job lifecycle every lab uses: [`use_job`] gives a [`JobHandle`] for one kind of job,
//! typed by its request ([`JobSpec`]). Starting a job cancels the one it replaces; the handle's
//! [`JobState`] and last output are signals; partial results go to a callback; and the job is
//! cancelled when the page that owns the handle unmounts, so no callback ever touches a disposed
//! signal. The status widget (`widgets::job_status`) shows any handle.

use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::worker::client::{ComputeWorker, JobEvent, JobId};
use crate::worker::protocol::{Control, DeviceStatus, JobFailure, JobSpec, Progress};

/// The page's compute worker, provided by the app shell.
pub type Worker = StoredValue<ComputeWorker, LocalStorage>;

/// Provides the worker (not started until a lab needs it) and returns it with its device status.
pub fn provide_worker() -> (Worker, RwSignal<DeviceStatus>) {
    let device = RwSignal::new(DeviceStatus::Unchecked);
    let worker = StoredValue::new_local(ComputeWorker::new(device));
    provide_context(worker);
    (worker, device)
}

/// The page's worker.
pub fn use_worker() -> Worker {
    expect_context::<Worker>()
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Nothing started yet (or reset).
    Idle,
    /// Running (or paused); `progress` is `None` until the first report.
    Running {
        /// The last report.
        progress: Option<Progress>,
        /// Whether it is paused.
        paused: bool,
        /// When it started (`performance.now()`, ms).
        started_ms: f64,
    },
    /// Finished; its output is in [`JobHandle::output`].
    Done {
        /// Milliseconds of work in the worker.
        millis: f64,
    },
    /// Cancelled.
    Cancelled,
    /// Failed.
    Failed(JobFailure),
}

impl JobState {
    /// The state's name, for `data-state` attributes.
    pub fn key(&self) -> &'static str {
        match self {
            JobState::Idle => "idle",
            JobState::Running { paused: true, .. } => "paused",
            JobState::Running { .. } => "running",
            JobState::Done { .. } => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed(_) => "failed",
        }
    }

    /// `true` while running or paused.
    pub fn is_running(&self) -> bool {
        matches!(self, JobState::Running { .. })
    }
}

type PartialsFn<P> = Rc<dyn Fn(Vec<P>)>;

/// One kind of job on one page (see the module docs). Copy it into as many closures as needed.
pub struct JobHandle<J: JobSpec>
where
    J::Output: Clone + Send + Sync,
{
    worker: Worker,
    state: RwSignal<JobState>,
    output: RwSignal<Option<J::Output>>,
    current: StoredValue<Option<JobId>>,
    on_partials: StoredValue<Option<PartialsFn<J::Partial>>, LocalStorage>,
}

impl<J: JobSpec> Clone for JobHandle<J>
where
    J::Output: Clone + Send + Sync,
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<J: JobSpec> Copy for JobHandle<J> where J::Output: Clone + Send + Sync {}

/// `performance.now()` of the page, in ms.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// A handle for jobs of type `J`, cancelled when the calling component unmounts.
pub fn use_job<J: JobSpec>() -> JobHandle<J>
where
    J::Output: Clone + Send + Sync,
{
    let handle = JobHandle {
        worker: use_worker(),
        state: RwSignal::new(JobState::Idle),
        output: RwSignal::new(None),
        current: StoredValue::new(None),
        on_partials: StoredValue::new_local(None),
    };
    let cleanup = SendWrapper::new(move || handle.forget_current());
    on_cleanup(move || (cleanup.take())());
    handle
}

impl<J: JobSpec> JobHandle<J>
where
    J::Output: Clone + Send + Sync,
{
    /// Where the job is.
    pub fn state(&self) -> RwSignal<JobState> {
        self.state
    }

    /// The last finished job's output (kept while the next one runs; cleared by [`Self::reset`]).
    pub fn output(&self) -> RwSignal<Option<J::Output>> {
        self.output
    }

    /// Sends partial results to `f` (set once, before the first run).
    pub fn on_partials(&self, f: impl Fn(Vec<J::Partial>) + 'static) {
        self.on_partials.set_value(Some(Rc::new(f)));
    }

    /// Starts `job`, cancelling the one in flight.
    pub fn run(&self, job: J) {
        self.forget_current();
        let me = *self;
        self.state.set(JobState::Running {
            progress: None,
            paused: false,
            started_ms: now_ms(),
        });
        let id = self
            .worker
            .with_value(|w| w.start(job, move |event| me.event(event)));
        // A job that failed at once (no worker) has already ended.
        if self.state.get_untracked().is_running() {
            self.current.set_value(Some(id));
        }
    }

    fn event(&self, event: JobEvent<J>) {
        match event {
            JobEvent::Progress {
                progress,
                partials,
                paused,
            } => {
                if !partials.is_empty() {
                    if let Some(f) = self.on_partials.try_get_value().flatten() {
                        f(partials);
                    }
                }
                self.state.try_update(|s| {
                    if let JobState::Running { started_ms, .. } = *s {
                        *s = JobState::Running {
                            progress: Some(progress),
                            paused,
                            started_ms,
                        };
                    }
                });
            }
            JobEvent::Done { output, millis } => {
                self.current.try_set_value(None);
                self.output.try_set(Some(output));
                self.state.try_set(JobState::Done { millis });
            }
            JobEvent::Cancelled => {
                self.current.try_set_value(None);
                self.state.try_set(JobState::Cancelled);
            }
            JobEvent::Failed(failure) => {
                self.current.try_set_value(None);
                self.state.try_set(JobState::Failed(failure));
            }
        }
    }

    fn control(&self, control: Control) {
        if let Some(id) = self.current.try_get_value().flatten() {
            self.worker.with_value(|w| w.control(id, control));
        }
    }

    /// Cancels the running job (the worker answers, and the state becomes `Cancelled`).
    pub fn cancel(&self) {
        self.control(Control::Cancel);
    }

    /// Pauses the running job after its current slice.
    pub fn pause(&self) {
        self.control(Control::Pause);
    }

    /// Resumes a paused job.
    pub fn resume(&self) {
        self.control(Control::Resume);
    }

    /// Runs one unit of a paused job, then pauses it again.
    pub fn step(&self) {
        self.control(Control::Step);
    }

    /// Stops the job, if any, and forgets its output.
    pub fn reset(&self) {
        self.forget_current();
        self.output.set(None);
        self.state.set(JobState::Idle);
    }

    fn forget_current(&self) {
        if let Some(id) = self.current.try_get_value().flatten() {
            self.current.try_set_value(None);
            let _ = self.worker.try_with_value(|w| w.forget(id));
        }
    }
}
