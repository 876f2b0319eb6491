//! The page side of the compute worker: spawns it from Trunk's loader shim, queues messages until the
//! worker says `Ready`, and routes replies to the callback of the job they belong to.

use super::protocol::{FromWorker, Job, ToWorker};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// File name Trunk's `data-loader-shim` gives the worker binary's loader.
const LOADER: &str = "worker_loader.js";

type Callback = Box<dyn FnMut(FromWorker)>;

struct Inner {
    worker: Worker,
    ready: Cell<bool>,
    queued: RefCell<Vec<ToWorker>>,
    jobs: RefCell<HashMap<u64, Callback>>,
    next_id: Cell<u64>,
}

/// A handle to the dedicated compute worker (cheap to clone; main thread only).
#[derive(Clone)]
pub struct ComputeWorker {
    inner: Rc<Inner>,
}

impl ComputeWorker {
    /// Starts the worker next to the page (resolved against `document.baseURI`, so the site works from
    /// any sub-path).
    pub fn spawn() -> Result<ComputeWorker, String> {
        let base = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.base_uri().ok().flatten())
            .ok_or("the page has no base URL")?;
        let url = web_sys::Url::new_with_base(LOADER, &base)
            .map_err(|e| format!("bad worker URL: {e:?}"))?;
        let worker = Worker::new(&url.href())
            .map_err(|e| format!("the browser refused to start the worker: {e:?}"))?;
        let inner = Rc::new(Inner {
            worker,
            ready: Cell::new(false),
            queued: RefCell::default(),
            jobs: RefCell::default(),
            next_id: Cell::new(1),
        });
        let weak = Rc::downgrade(&inner);
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(inner) = weak.upgrade() else { return };
            match serde_wasm_bindgen::from_value::<FromWorker>(ev.data()) {
                Ok(FromWorker::Ready) => {
                    inner.ready.set(true);
                    for msg in inner.queued.take() {
                        post(&inner.worker, &msg);
                    }
                }
                Ok(msg) => dispatch(&inner, msg),
                Err(e) => web_sys::console::error_1(
                    &format!("scalelab: unreadable worker message: {e}").into(),
                ),
            }
        });
        inner
            .worker
            .set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        onmessage.forget();
        let weak = Rc::downgrade(&inner);
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
            let Some(inner) = weak.upgrade() else { return };
            let message = format!("the compute worker stopped: {}", ev.message());
            let ids: Vec<u64> = inner.jobs.borrow().keys().copied().collect();
            for id in ids {
                dispatch(
                    &inner,
                    FromWorker::Failed {
                        id,
                        code: "WorkerCrashed".into(),
                        message: message.clone(),
                    },
                );
            }
        });
        inner
            .worker
            .set_onerror(Some(onerror.as_ref().unchecked_ref()));
        onerror.forget();
        Ok(ComputeWorker { inner })
    }

    /// Starts `job`; `on_event` receives its progress and, last, one of `Done`/`Cancelled`/`Failed`.
    pub fn start(&self, job: Job, on_event: impl FnMut(FromWorker) + 'static) -> u64 {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        self.inner.jobs.borrow_mut().insert(id, Box::new(on_event));
        self.send(ToWorker::Start { id, job });
        id
    }

    /// Asks the worker to stop job `id` at its next slice boundary.
    pub fn cancel(&self, id: u64) {
        if self.inner.jobs.borrow().contains_key(&id) {
            self.send(ToWorker::Cancel { id });
        }
    }

    fn send(&self, msg: ToWorker) {
        if self.inner.ready.get() {
            post(&self.inner.worker, &msg);
        } else {
            self.inner.queued.borrow_mut().push(msg);
        }
    }
}

fn post(worker: &Worker, msg: &ToWorker) {
    match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => {
            if let Err(e) = worker.post_message(&v) {
                web_sys::console::error_2(&"scalelab: postMessage to the worker failed".into(), &e);
            }
        }
        Err(e) => web_sys::console::error_1(
            &format!("scalelab: cannot encode a worker message: {e}").into(),
        ),
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
    let Some(mut cb) = inner.jobs.borrow_mut().remove(&id) else {
        return;
    };
    cb(msg);
    if !last {
        inner.jobs.borrow_mut().insert(id, cb);
    }
}
