//! The worker side: receives [`ToWorker`] messages, runs each job's [`Task`] in slices of about
//! 20 ms, applies Pause / Resume / Step / Cancel between slices, and posts progress, partial results
//! and the outcome. Between slices it yields to its event loop through a `MessageChannel` (unlike
//! `setTimeout(0)`, not clamped to 4 ms), which is when control messages are read: a cancel or a
//! pause takes effect within one slice, without restarting the worker.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::StreamExt;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent, MessagePort};

use super::protocol::{Control, FromWorker, Job, JobFailure, ToWorker, WorkerError};
use super::task::{Slice, SliceBudget, Task};

/// Time budget of one slice of work before the worker yields to its event loop.
const SLICE_MS: f64 = 20.0;

fn now() -> f64 {
    scalelab_gpu::workload::now_ms()
}

struct Runtime {
    scope: DedicatedWorkerGlobalScope,
    controls: RefCell<HashMap<u64, UnboundedSender<Control>>>,
}

impl Runtime {
    fn post(&self, msg: &FromWorker) {
        match serde_wasm_bindgen::to_value(msg) {
            Ok(v) => {
                if let Err(e) = self.scope.post_message(&v) {
                    web_sys::console::error_2(&"scalelab worker: postMessage failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(
                &format!("scalelab worker: cannot encode reply: {e}").into(),
            ),
        }
    }
}

/// A job's steering state between slices.
struct Steering {
    paused: bool,
    /// Units left of a step, when stepping.
    step: Option<u64>,
    cancelled: bool,
}

impl Steering {
    fn apply(&mut self, c: Control) {
        match c {
            Control::Pause => {
                self.paused = true;
                self.step = None;
            }
            Control::Resume => {
                self.paused = false;
                self.step = None;
            }
            Control::Step => {
                self.paused = false;
                self.step = Some(1);
            }
            Control::Cancel => self.cancelled = true,
        }
    }
}

/// Runs job `id` to its end, steered by `controls`.
async fn drive(rt: Rc<Runtime>, id: u64, job: Job, mut controls: UnboundedReceiver<Control>) {
    let mut task: Box<dyn Task> = match job.start() {
        Ok(t) => t,
        Err(failure) => {
            rt.controls.borrow_mut().remove(&id);
            rt.post(&FromWorker::Failed { id, failure });
            return;
        }
    };
    let mut s = Steering {
        paused: false,
        step: None,
        cancelled: false,
    };
    let mut last = None;
    // Whether the page last heard that the job is paused.
    let mut told_paused = false;
    let mut active_ms = 0.0;
    let reply = loop {
        // Controls that arrived during the last slice; then wait while paused (saying so first).
        while let Ok(c) = controls.try_recv() {
            s.apply(c);
        }
        if s.paused && !s.cancelled && !told_paused {
            if let Some(progress) = last {
                rt.post(&FromWorker::Progress {
                    id,
                    progress,
                    partials: Vec::new(),
                    paused: true,
                });
            }
        }
        while s.paused && !s.cancelled {
            match controls.next().await {
                Some(c) => s.apply(c),
                None => s.cancelled = true,
            }
        }
        if s.cancelled {
            break FromWorker::Cancelled { id };
        }
        let t0 = now();
        let budget = SliceBudget {
            now,
            deadline_ms: t0 + SLICE_MS,
            units: s.step,
        };
        let slice = task.slice(budget).await;
        active_ms += now() - t0;
        match slice {
            Err(failure) => break FromWorker::Failed { id, failure },
            Ok(Slice::Done { partials, output }) => {
                if !partials.is_empty() {
                    if let Some(progress) = last {
                        rt.post(&FromWorker::Progress {
                            id,
                            progress,
                            partials,
                            paused: false,
                        });
                    }
                }
                break FromWorker::Done {
                    id,
                    output,
                    millis: active_ms,
                };
            }
            Ok(Slice::More {
                progress,
                partials,
                units,
            }) => {
                if let Some(left) = s.step {
                    if units >= left {
                        s.step = None;
                        s.paused = true;
                    } else {
                        s.step = Some(left - units);
                    }
                }
                last = Some(progress);
                while let Ok(c) = controls.try_recv() {
                    s.apply(c);
                }
                rt.post(&FromWorker::Progress {
                    id,
                    progress,
                    partials,
                    paused: s.paused,
                });
                told_paused = s.paused;
            }
        }
        yield_now().await;
    };
    rt.controls.borrow_mut().remove(&id);
    rt.post(&reply);
}

thread_local! {
    static YIELD: RefCell<Option<Yielder>> = const { RefCell::new(None) };
}

/// A `MessageChannel` whose messages resolve the waiting [`yield_now`] futures in order.
struct Yielder {
    port: MessagePort,
    waiting: Rc<RefCell<std::collections::VecDeque<js_sys::Function>>>,
    _channel: MessageChannel,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
}

fn yielder() -> Result<Yielder, JsValue> {
    let channel = MessageChannel::new()?;
    let waiting: Rc<RefCell<std::collections::VecDeque<js_sys::Function>>> = Rc::default();
    let w = Rc::clone(&waiting);
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |_| {
        if let Some(resolve) = w.borrow_mut().pop_front() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    channel
        .port1()
        .set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    Ok(Yielder {
        port: channel.port2(),
        waiting,
        _channel: channel,
        _onmessage: onmessage,
    })
}

/// Lets the worker's event loop run (and read messages) before going on.
async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        YIELD.with(|y| {
            let mut y = y.borrow_mut();
            if y.is_none() {
                *y = yielder().ok();
            }
            match y.as_ref() {
                Some(y) => {
                    y.waiting.borrow_mut().push_back(resolve);
                    let _ = y.port.post_message(&JsValue::NULL);
                }
                None => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        })
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Entry point of the `worker` binary: installs the message handler, announces `Ready`, then opens
/// and checks the GPU device (its status goes to the page as [`FromWorker::Device`]).
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let rt = Rc::new(Runtime {
        scope,
        controls: RefCell::default(),
    });
    let handler_rt = Rc::clone(&rt);
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToWorker>(ev.data()) {
            Ok(ToWorker::Start { id, job }) => {
                let (tx, rx) = unbounded();
                handler_rt.controls.borrow_mut().insert(id, tx);
                wasm_bindgen_futures::spawn_local(drive(Rc::clone(&handler_rt), id, job, rx));
            }
            Ok(ToWorker::Control { id, control }) => {
                if let Some(tx) = handler_rt.controls.borrow().get(&id) {
                    let _ = tx.unbounded_send(control);
                }
            }
            Ok(ToWorker::Crash) => {
                wasm_bindgen::throw_str("scalelab worker: crash requested by the page (test hook)")
            }
            Err(e) => handler_rt.post(&FromWorker::Unreadable {
                failure: JobFailure::from(WorkerError::BadMessage {
                    reason: e.to_string(),
                }),
            }),
        }
    });
    rt.scope
        .set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    rt.post(&FromWorker::Ready);
    let device_rt = Rc::clone(&rt);
    crate::worker::device::on_device_status(move |status| {
        device_rt.post(&FromWorker::Device(status.clone()))
    });
    wasm_bindgen_futures::spawn_local(async {
        crate::worker::device::probe_device().await;
    });
}
