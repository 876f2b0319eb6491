//! The page side of the compute worker: starts it when a lab first needs it (from Trunk's loader
//! shim), queues messages until it says `Ready`, and routes replies to the job they belong to,
//! converted to the job's own output and partial types ([`JobSpec`]).
//!
//! A worker that crashes (an uncaught error in it) fails the jobs it was running with
//! [`WorkerError::WorkerCrashed`] and is replaced at once, so the next job works.
//!
//! Messages to the worker are posted one per task of the page's event loop (a zero-delay timeout),
//! so that encoding several jobs that each carry megabytes of pasted text never adds up to one long
//! task.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use serde::Deserialize;

use super::protocol::{
    Control, DeviceStatus, JobFailure, JobSpec, Progress, ToWorker, WorkerError,
};

/// File name Trunk's `data-loader-shim` gives the worker binary's loader.
const LOADER: &str = "worker_loader.js";

/// What a job's callback hears, in the job's own types.
pub enum JobEvent<J: JobSpec> {
    /// The job went on.
    Progress {
        /// Where it is.
        progress: Progress,
        /// Partial results finished since the last event.
        partials: Vec<J::Partial>,
        /// Whether it is paused.
        paused: bool,
    },
    /// The job finished.
    Done {
        /// Its result.
        output: J::Output,
        /// Milliseconds of work in the worker.
        millis: f64,
    },
    /// The job was cancelled.
    Cancelled,
    /// The job failed.
    Failed(JobFailure),
}

/// A job's id on this page.
pub type JobId = u64;

/// The internal callback: `false` once the job has ended (or its reply was of the wrong kind).
type Callback = Box<dyn FnMut(Incoming) -> bool>;

struct Inner {
    worker: RefCell<Option<Worker>>,
    ready: Cell<bool>,
    /// Messages waiting for the worker's `Ready`.
    queued: RefCell<Vec<ToWorker>>,
    /// Messages waiting for their own task (see the module docs).
    outbox: RefCell<std::collections::VecDeque<ToWorker>>,
    /// Whether a task to post the outbox's next message is scheduled.
    flushing: Cell<bool>,
    jobs: RefCell<HashMap<JobId, Callback>>,
    next_id: Cell<JobId>,
    generation: RwSignal<u32>,
    device: RwSignal<DeviceStatus>,
}

/// A handle to the dedicated compute worker (cheap to clone; main thread only).
#[derive(Clone)]
pub struct ComputeWorker {
    inner: Rc<Inner>,
}

fn loader_url() -> Result<String, WorkerError> {
    let unavailable = |reason: String| WorkerError::Unavailable { reason };
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or_else(|| unavailable("the page has no base URL".into()))?;
    web_sys::Url::new_with_base(LOADER, &base)
        .map(|u| u.href())
        .map_err(|e| unavailable(format!("bad worker URL: {e:?}")))
}

/// A [`super::protocol::FromWorker`] as the page reads it: a job's output and partial results
/// stay JS values (`{ "<JobName>": … }`) until that job's handle decodes them as its own types
/// ([`decode`]). So a lab's bundle links the decoders of its own jobs only, not of every lab's
/// (the registry's `Output` enum would pull in all of them).
#[derive(Deserialize)]
enum Incoming {
    Ready,
    Device(DeviceStatus),
    Progress {
        id: JobId,
        progress: Progress,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        partials: JsValue,
        paused: bool,
    },
    Done {
        id: JobId,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        output: JsValue,
        millis: f64,
    },
    Cancelled {
        id: JobId,
    },
    Failed {
        id: JobId,
        failure: JobFailure,
    },
    Unreadable {
        failure: JobFailure,
    },
}

/// Job `J`'s `T` (its output or a partial result) from the worker's `{ "<JobName>": value }`; a
/// value of another job is [`WorkerError::WrongOutput`], one that does not decode is
/// [`WorkerError::Unreadable`]-like (its message says why).
fn decode<J: JobSpec, T: serde::de::DeserializeOwned>(tagged: JsValue) -> Result<T, JobFailure> {
    let value = js_sys::Reflect::get(&tagged, &J::NAME.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() {
        let got = if tagged.is_object() {
            js_sys::Object::keys(tagged.unchecked_ref::<js_sys::Object>())
                .get(0)
                .as_string()
                .unwrap_or_default()
        } else {
            String::new()
        };
        return Err(WorkerError::WrongOutput {
            expected: J::NAME,
            got,
        }
        .into());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        WorkerError::WrongOutput {
            expected: J::NAME,
            got: format!("undecodable value ({e})"),
        }
        .into()
    })
}

/// Starts a worker whose messages go to `inner` (its URL resolved against `document.baseURI`, so
/// the site works from any sub-path).
fn attach(weak: Weak<Inner>) -> Result<Worker, WorkerError> {
    let worker = Worker::new(&loader_url()?).map_err(|e| WorkerError::Unavailable {
        reason: format!("{e:?}"),
    })?;
    let w = weak.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(inner) = w.upgrade() else { return };
        match serde_wasm_bindgen::from_value::<Incoming>(ev.data()) {
            Ok(Incoming::Ready) => {
                inner.ready.set(true);
                for msg in inner.queued.take() {
                    inner.post(&msg);
                }
            }
            Ok(Incoming::Device(status)) => inner.device.set(status),
            Ok(Incoming::Unreadable { failure }) => web_sys::console::error_1(
                &format!("scalelab: the worker could not read a message: {failure}").into(),
            ),
            Ok(msg) => dispatch(&inner, msg),
            Err(e) => web_sys::console::error_1(
                &format!("scalelab: unreadable worker message: {e}").into(),
            ),
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
        ev.prevent_default();
        let Some(inner) = weak.upgrade() else { return };
        replace(&inner, &ev.message());
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
    Ok(worker)
}

/// After a crash: fails the running jobs once each, and starts a new worker.
fn replace(inner: &Rc<Inner>, reason: &str) {
    if let Some(old) = inner.worker.borrow_mut().take() {
        old.terminate();
    }
    inner.ready.set(false);
    inner.queued.borrow_mut().clear();
    inner.outbox.borrow_mut().clear();
    let ids: Vec<JobId> = inner.jobs.borrow().keys().copied().collect();
    for id in ids {
        dispatch(
            inner,
            Incoming::Failed {
                id,
                failure: WorkerError::WorkerCrashed {
                    reason: reason.to_string(),
                }
                .into(),
            },
        );
    }
    if let Err(e) = inner.spawn() {
        inner.device.set(DeviceStatus::Cpu {
            reason: e.to_string(),
        });
    }
}

impl Inner {
    fn post(&self, msg: &ToWorker) {
        let Some(worker) = self.worker.borrow().clone() else {
            return;
        };
        match serde_wasm_bindgen::to_value(msg) {
            Ok(v) => {
                if let Err(e) = worker.post_message(&v) {
                    web_sys::console::error_2(
                        &"scalelab: postMessage to the worker failed".into(),
                        &e,
                    );
                }
            }
            Err(e) => web_sys::console::error_1(
                &format!("scalelab: cannot encode a worker message: {e}").into(),
            ),
        }
    }

    /// Starts a worker if none runs; `Err` when the browser refuses.
    fn spawn(self: &Rc<Inner>) -> Result<(), WorkerError> {
        if self.worker.borrow().is_some() {
            return Ok(());
        }
        self.device.set(DeviceStatus::Probing);
        let worker = attach(Rc::downgrade(self))?;
        *self.worker.borrow_mut() = Some(worker);
        self.generation.update(|g| *g += 1);
        Ok(())
    }
}

impl ComputeWorker {
    /// A handle whose worker starts on first use; device status messages go to `device`.
    pub fn new(device: RwSignal<DeviceStatus>) -> ComputeWorker {
        ComputeWorker {
            inner: Rc::new(Inner {
                worker: RefCell::new(None),
                ready: Cell::new(false),
                queued: RefCell::default(),
                outbox: RefCell::default(),
                flushing: Cell::new(false),
                jobs: RefCell::default(),
                next_id: Cell::new(1),
                generation: RwSignal::new(0),
                device,
            }),
        }
    }

    /// Starts the worker now (a lab that will need it, so its device check runs early).
    pub fn ensure_started(&self) {
        if let Err(e) = self.inner.spawn() {
            self.inner.device.set(DeviceStatus::Cpu {
                reason: e.to_string(),
            });
        }
    }

    /// How many workers this page has started (a crash starts a new one; a cancel does not).
    pub fn generation(&self) -> Signal<u32> {
        self.inner.generation.into()
    }

    /// Starts `job`; `on_event` receives its progress and, last, one of `Done` / `Cancelled` /
    /// `Failed`.
    pub fn start<J: JobSpec>(
        &self,
        job: J,
        mut on_event: impl FnMut(JobEvent<J>) + 'static,
    ) -> JobId {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        if let Err(e) = self.inner.spawn() {
            on_event(JobEvent::Failed(e.into()));
            return id;
        }
        let callback = move |msg: Incoming| -> bool {
            match msg {
                Incoming::Progress {
                    progress,
                    partials,
                    paused,
                    ..
                } => {
                    let partials: js_sys::Array = partials.unchecked_into();
                    let mut typed = Vec::with_capacity(partials.length() as usize);
                    for p in partials.iter() {
                        match decode::<J, J::Partial>(p) {
                            Ok(p) => typed.push(p),
                            Err(failure) => {
                                on_event(JobEvent::Failed(failure));
                                return false;
                            }
                        }
                    }
                    on_event(JobEvent::Progress {
                        progress,
                        partials: typed,
                        paused,
                    });
                    true
                }
                Incoming::Done { output, millis, .. } => {
                    match decode::<J, J::Output>(output) {
                        Ok(output) => on_event(JobEvent::Done { output, millis }),
                        Err(failure) => on_event(JobEvent::Failed(failure)),
                    }
                    false
                }
                Incoming::Cancelled { .. } => {
                    on_event(JobEvent::Cancelled);
                    false
                }
                Incoming::Failed { failure, .. } => {
                    on_event(JobEvent::Failed(failure));
                    false
                }
                Incoming::Ready | Incoming::Device(_) | Incoming::Unreadable { .. } => true,
            }
        };
        self.inner.jobs.borrow_mut().insert(id, Box::new(callback));
        self.send(ToWorker::Start {
            id,
            job: job.into_job(),
        });
        id
    }

    /// Pauses, resumes, steps or cancels job `id`.
    pub fn control(&self, id: JobId, control: Control) {
        if self.inner.jobs.borrow().contains_key(&id) {
            self.send(ToWorker::Control { id, control });
        }
    }

    /// Cancels job `id` and drops its callback: nothing more is heard of it (its page is gone, or
    /// a newer job replaces it).
    pub fn forget(&self, id: JobId) {
        if self.inner.jobs.borrow_mut().remove(&id).is_some() {
            self.send(ToWorker::Control {
                id,
                control: Control::Cancel,
            });
        }
    }

    /// Test hook: makes the worker throw from its message handler, as a crash would.
    pub fn crash(&self) {
        self.send(ToWorker::Crash);
    }

    fn send(&self, msg: ToWorker) {
        self.inner.outbox.borrow_mut().push_back(msg);
        flush_later(&self.inner);
    }
}

/// Posts the outbox's next message in a task of its own, and schedules the next.
fn flush_later(inner: &Rc<Inner>) {
    if inner.flushing.replace(true) {
        return;
    }
    let weak = Rc::downgrade(inner);
    set_timeout(
        move || {
            let Some(inner) = weak.upgrade() else { return };
            inner.flushing.set(false);
            let next = inner.outbox.borrow_mut().pop_front();
            if let Some(msg) = next {
                if inner.ready.get() {
                    inner.post(&msg);
                } else {
                    inner.queued.borrow_mut().push(msg);
                }
            }
            if !inner.outbox.borrow().is_empty() {
                flush_later(&inner);
            }
        },
        std::time::Duration::ZERO,
    );
}

fn dispatch(inner: &Inner, msg: Incoming) {
    let id = match &msg {
        Incoming::Progress { id, .. }
        | Incoming::Done { id, .. }
        | Incoming::Cancelled { id }
        | Incoming::Failed { id, .. } => *id,
        Incoming::Ready | Incoming::Device(_) | Incoming::Unreadable { .. } => return,
    };
    let terminal = !matches!(msg, Incoming::Progress { .. });
    // Take the callback out while it runs, so it may start or cancel other jobs.
    let Some(mut callback) = inner.jobs.borrow_mut().remove(&id) else {
        return;
    };
    if callback(msg) {
        inner.jobs.borrow_mut().insert(id, callback);
    } else if !terminal {
        // A reply of the wrong kind ended the job on the page; stop it in the worker too.
        inner.post(&ToWorker::Control {
            id,
            control: Control::Cancel,
        });
    }
}
