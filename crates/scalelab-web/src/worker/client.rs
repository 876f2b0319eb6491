//! The page side of the compute worker: spawns it from Trunk's loader shim, queues messages until the
//! worker says `Ready`, and routes replies to the callback of the job they belong to.
//!
//! Cancelling a job that yields (see [`Job::yields`]) sends `Cancel`; cancelling one that runs to the
//! end in one go terminates the worker, reports `Cancelled`, fails any other job in flight, and
//! starts a fresh worker.

use super::protocol::{FromWorker, Job, ToWorker};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// File name Trunk's `data-loader-shim` gives the worker binary's loader.
const LOADER: &str = "worker_loader.js";

type Callback = Box<dyn FnMut(FromWorker)>;

struct Running {
    callback: Callback,
    yields: bool,
}

struct Inner {
    worker: RefCell<Option<Worker>>,
    ready: Cell<bool>,
    queued: RefCell<Vec<ToWorker>>,
    jobs: RefCell<HashMap<u64, Running>>,
    next_id: Cell<u64>,
}

/// A handle to the dedicated compute worker (cheap to clone; main thread only).
#[derive(Clone)]
pub struct ComputeWorker {
    inner: Rc<Inner>,
}

fn loader_url() -> Result<String, String> {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or("the page has no base URL")?;
    let url =
        web_sys::Url::new_with_base(LOADER, &base).map_err(|e| format!("bad worker URL: {e:?}"))?;
    Ok(url.href())
}

/// Starts a worker whose messages go to `inner` (resolved against `document.baseURI`, so the site
/// works from any sub-path).
fn attach(weak: Weak<Inner>) -> Result<Worker, String> {
    let worker = Worker::new(&loader_url()?)
        .map_err(|e| format!("the browser refused to start the worker: {e:?}"))?;
    let w = weak.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(inner) = w.upgrade() else { return };
        match serde_wasm_bindgen::from_value::<FromWorker>(ev.data()) {
            Ok(FromWorker::Ready) => {
                inner.ready.set(true);
                for msg in inner.queued.take() {
                    inner.post(&msg);
                }
            }
            Ok(msg) => dispatch(&inner, msg),
            Err(e) => web_sys::console::error_1(
                &format!("scalelab: unreadable worker message: {e}").into(),
            ),
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
        let Some(inner) = weak.upgrade() else { return };
        inner.fail_all(&format!("the compute worker stopped: {}", ev.message()));
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
    Ok(worker)
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

    fn fail_all(&self, message: &str) {
        let ids: Vec<u64> = self.jobs.borrow().keys().copied().collect();
        for id in ids {
            dispatch(
                self,
                FromWorker::Failed {
                    id,
                    code: "WorkerCrashed".into(),
                    message: message.to_string(),
                },
            );
        }
    }
}

impl ComputeWorker {
    /// Starts the worker.
    pub fn spawn() -> Result<ComputeWorker, String> {
        let inner = Rc::new(Inner {
            worker: RefCell::new(None),
            ready: Cell::new(false),
            queued: RefCell::default(),
            jobs: RefCell::default(),
            next_id: Cell::new(1),
        });
        let worker = attach(Rc::downgrade(&inner))?;
        *inner.worker.borrow_mut() = Some(worker);
        Ok(ComputeWorker { inner })
    }

    /// Starts `job`; `on_event` receives its progress and, last, one of `Done`/`Cancelled`/`Failed`.
    pub fn start(&self, job: Job, on_event: impl FnMut(FromWorker) + 'static) -> u64 {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        let yields = job.yields();
        self.inner.jobs.borrow_mut().insert(
            id,
            Running {
                callback: Box::new(on_event),
                yields,
            },
        );
        self.send(ToWorker::Start { id, job });
        id
    }

    /// Stops job `id`: at its next slice boundary if it yields, else at once by restarting the worker.
    pub fn cancel(&self, id: u64) {
        let yields = match self.inner.jobs.borrow().get(&id) {
            Some(r) => r.yields,
            None => return,
        };
        if yields {
            self.send(ToWorker::Cancel { id });
            return;
        }
        if let Some(old) = self.inner.worker.borrow_mut().take() {
            old.terminate();
        }
        self.inner.ready.set(false);
        self.inner.queued.borrow_mut().clear();
        dispatch(&self.inner, FromWorker::Cancelled { id });
        self.inner
            .fail_all("the worker was restarted to cancel another job");
        match attach(Rc::downgrade(&self.inner)) {
            Ok(w) => *self.inner.worker.borrow_mut() = Some(w),
            Err(e) => web_sys::console::error_1(
                &format!("scalelab: could not restart the worker: {e}").into(),
            ),
        }
    }

    fn send(&self, msg: ToWorker) {
        if self.inner.ready.get() {
            self.inner.post(&msg);
        } else {
            self.inner.queued.borrow_mut().push(msg);
        }
    }
}

fn dispatch(inner: &Inner, msg: FromWorker) {
    let (id, last) = match &msg {
        FromWorker::Ready => return,
        FromWorker::Progress { id, .. } => (*id, false),
        FromWorker::Done { id, .. }
        | FromWorker::Cancelled { id }
        | FromWorker::Failed { id, .. } => (*id, true),
    };
    // Take the callback out while it runs, so it may start or cancel other jobs.
    let Some(mut running) = inner.jobs.borrow_mut().remove(&id) else {
        return;
    };
    (running.callback)(msg);
    if !last {
        inner.jobs.borrow_mut().insert(id, running);
    }
}
