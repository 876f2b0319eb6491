//! The worker side: receives [`ToWorker`] messages, runs jobs in slices of about 20 ms so that a
//! `Cancel` is seen between slices, and reports progress.

use super::kernels;
use super::protocol::{
    FromWorker, GradientSweep, GradientSweepResult, Job, JobOutput, PrecisionCurve, ToWorker,
};
use scalelab_core::fit::analysis::{analyse, FitRequest, Stage};
use scalelab_core::stablemax::{collapse_onset_scale, correct_class_gradient};
use scalelab_core::{CoreError, Precision};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Time budget of one slice of work before the worker yields to its event loop.
const SLICE_MS: f64 = 20.0;

#[derive(Clone)]
struct Runtime {
    scope: DedicatedWorkerGlobalScope,
    cancelled: Rc<RefCell<HashSet<u64>>>,
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

    fn is_cancelled(&self, id: u64) -> bool {
        self.cancelled.borrow().contains(&id)
    }

    async fn run(self, id: u64, job: Job) {
        let outcome = match job {
            Job::GradientSweep(req) => self
                .gradient_sweep(id, &req)
                .await
                .map(|r| r.map(JobOutput::GradientSweep)),
            Job::Fit(req) => self.fit(id, &req).map(Some),
            Job::Kernel(req) => kernels::run_kernel_job(&req, |done, total| {
                self.post(&FromWorker::Progress {
                    id,
                    stage: "kernel".into(),
                    done,
                    total,
                })
            })
            .await
            .map(Some),
            Job::VerifyKernels { retry_gpu } => {
                kernels::verify_kernels(retry_gpu, |done, total| {
                    self.post(&FromWorker::Progress {
                        id,
                        stage: "verify".into(),
                        done: done as u32,
                        total: total as u32,
                    })
                })
                .await
                .map(Some)
            }
            Job::LoseGpuDevice => Ok(Some(kernels::lose_device())),
        };
        let reply = match outcome {
            Ok(Some(output)) => FromWorker::Done { id, output },
            Ok(None) => FromWorker::Cancelled { id },
            Err(e) => FromWorker::Failed {
                id,
                code: e.code().to_string(),
                message: e.to_string(),
            },
        };
        self.cancelled.borrow_mut().remove(&id);
        self.post(&reply);
    }

    /// `Ok(None)` when cancelled.
    async fn gradient_sweep(
        &self,
        id: u64,
        req: &GradientSweep,
    ) -> Result<Option<GradientSweepResult>, CoreError> {
        req.validate()?;
        let scales = req.scales();
        let mut curves: Vec<PrecisionCurve> = Precision::ALL
            .iter()
            .map(|&precision| {
                Ok(PrecisionCurve {
                    precision,
                    gradient: Vec::with_capacity(scales.len()),
                    first_zero: None,
                    collapse_onset: collapse_onset_scale(
                        &req.logits,
                        precision,
                        req.min_scale,
                        req.max_scale,
                    )?,
                })
            })
            .collect::<Result<_, CoreError>>()?;
        let total = scales.len() as u32;
        let mut done = 0usize;
        while done < scales.len() {
            let start = js_sys::Date::now();
            while done < scales.len() && js_sys::Date::now() - start < SLICE_MS {
                for curve in curves.iter_mut() {
                    let g = correct_class_gradient(
                        &req.logits,
                        req.target,
                        scales[done],
                        req.loss,
                        curve.precision,
                    )?;
                    if g == 0.0 && curve.first_zero.is_none() {
                        curve.first_zero = Some(scales[done]);
                    }
                    curve.gradient.push(g);
                }
                done += 1;
            }
            self.post(&FromWorker::Progress {
                id,
                stage: String::new(),
                done: done as u32,
                total,
            });
            gloo_timers::future::TimeoutFuture::new(0).await;
            if self.is_cancelled(id) {
                return Ok(None);
            }
        }
        let keep = GradientSweepResult::returned_indices(scales.len());
        for curve in curves.iter_mut() {
            curve.gradient = keep.iter().map(|&i| curve.gradient[i]).collect();
        }
        let scales = keep.iter().map(|&i| scales[i]).collect();
        Ok(Some(GradientSweepResult { scales, curves }))
    }
}

impl Runtime {
    /// Runs a fit to the end (it does not yield; the page cancels it by restarting the worker),
    /// posting progress at most every 50 ms.
    fn fit(&self, id: u64, req: &FitRequest) -> Result<JobOutput, CoreError> {
        let started = js_sys::Date::now();
        let mut last = 0.0;
        let mut progress = |stage: Stage, done: usize, total: usize| {
            let now = js_sys::Date::now();
            if now - last >= 50.0 || done == total {
                last = now;
                let stage = match stage {
                    Stage::Fit => "fit",
                    Stage::Bootstrap => "bootstrap",
                    Stage::Backtest => "backtest",
                };
                self.post(&FromWorker::Progress {
                    id,
                    stage: stage.into(),
                    done: done as u32,
                    total: total as u32,
                });
            }
            true
        };
        let report = analyse(req, &mut progress)?;
        Ok(JobOutput::Fit {
            report: Box::new(report),
            millis: js_sys::Date::now() - started,
        })
    }
}

/// Entry point of the `worker` binary: installs the message handler, then announces `Ready`.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let rt = Runtime {
        scope: scope.clone(),
        cancelled: Rc::default(),
    };
    let handler_rt = rt.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToWorker>(ev.data()) {
            Ok(ToWorker::Start { id, job }) => {
                wasm_bindgen_futures::spawn_local(handler_rt.clone().run(id, job))
            }
            Ok(ToWorker::Cancel { id }) => {
                handler_rt.cancelled.borrow_mut().insert(id);
            }
            Err(e) => handler_rt.post(&FromWorker::Failed {
                id: 0,
                code: "BadMessage".into(),
                message: format!("the worker could not read a message: {e}"),
            }),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    rt.post(&FromWorker::Ready);
}
