//! Tensor kernels on WebGPU with a CPU fallback: the `ComputeContext` class.
//!
//! On the GPU each method calls the `scalelab-gpu` launcher; on the CPU the fast f32 path
//! ([`KernelCall::run_fast_cpu`]: matmul on `scalelab_core::gemm`, the other kernels the f64
//! oracle from `scalelab_core::ops` rounded to f32). Both validate the same way: bad input is an
//! `InvalidInput` error on either backend. With `backend: "auto"` (the default) a missing
//! adapter or a lost device moves the context to the CPU and says why in `fallbackReason`.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Float32Array, Promise, Reflect};
use scalelab_core::stablemax::Loss;
use scalelab_gpu::workload::{self, KernelCall, KernelOp, RowKernel, Workload};
use scalelab_gpu::{GpuContext, GpuError, ReduceOp};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::ScalelabError;

#[wasm_bindgen(typescript_custom_section)]
const TS_COMPUTE: &'static str = r#"
/** Where `ComputeContext.create` may run kernels: "auto" (WebGPU if available, else the CPU,
 *  also after a device loss), "gpu" (WebGPU or a NoAdapter error) or "cpu". */
export type BackendChoice = "auto" | "gpu" | "cpu";
/** Options of `ComputeContext.create`. */
export interface ComputeOptions { backend?: BackendChoice }
/** Options of `ComputeContext.matmul`. */
export interface MatmulOptions {
  /** `a` holds A as k × m; the product uses Aᵀ. */
  transposeA?: boolean;
  /** `b` holds B as n × k; the product uses Bᵀ. */
  transposeB?: boolean;
  /** Added to every row of the product (length n). */
  bias?: Float32Array | number[];
  /** Applied last: max(C, 0). */
  relu?: boolean;
}
/** Row reductions. */
export type ReduceOp = "sum" | "max" | "argmax" | "mean";
/** Result of `crossEntropyRows`: one loss per row and the gradient w.r.t. the logits. */
export interface CrossEntropyResult { loss: Float32Array; grad: Float32Array }
/** Keys of the kernel workloads (`kernelOps()`). */
export type KernelOpKey =
  | "matmul" | "matmul-at" | "matmul-bt" | "matmul-bias-relu"
  | "softmax" | "stablemax" | "log-softmax" | "log-stablemax" | "softmax-ce" | "stablemax-ce"
  | "sum-rows" | "max-rows" | "argmax-rows" | "mean-rows" | "sum-all"
  | "axpy" | "scale" | "relu" | "relu-grad" | "adamw" | "orthogonal-grad" | "gmm-denoiser";
/** One kernel at one size, compared with its f64 CPU oracle. */
export interface KernelCheck {
  op: KernelOpKey; size: number; passed: boolean;
  maxAbsErr?: number; maxRelErr?: number;
  /** Largest error / tolerance (≤ 1 passes). */
  worstRatio?: number;
  error?: string;
}
/** Result of `timeKernel`. */
export interface KernelTiming {
  op: KernelOpKey; size: number; backend: "webgpu" | "cpu";
  /** Seconds per kernel run (GPU: from repeated dispatches, upload and read-back excluded). */
  seconds: number;
  /** Seconds of one whole call, upload and read-back included. */
  endToEndSeconds: number;
  /** Nominal GFLOP/s at `seconds`. */
  gflops: number;
  /** The timed interval was at least 1 ms (GPU: t(R) − t(1)); otherwise raise `repeats`. */
  precise: boolean;
}
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

/// Which backend a context asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Auto,
    Gpu,
    Cpu,
}

struct State {
    gpu: Option<Rc<GpuContext>>,
    fallback_reason: Option<String>,
}

struct Inner {
    choice: Choice,
    state: RefCell<State>,
}

impl Inner {
    /// The GPU context, unless the context runs on the CPU.
    fn gpu(&self) -> Option<Rc<GpuContext>> {
        self.state.borrow().gpu.clone()
    }

    /// Runs `gpu` on the GPU, or `cpu` on the CPU; with `auto`, a lost device moves the
    /// context to the CPU and the call is answered there.
    async fn run<T, G, F>(
        &self,
        gpu: G,
        cpu: impl FnOnce() -> std::result::Result<T, GpuError>,
    ) -> Result<T>
    where
        G: FnOnce(Rc<GpuContext>) -> F,
        F: Future<Output = std::result::Result<T, GpuError>>,
    {
        let Some(ctx) = self.gpu() else {
            return Ok(cpu()?);
        };
        match gpu(ctx).await {
            Err(GpuError::DeviceLost { reason }) if self.choice == Choice::Auto => {
                self.fall_back(&reason);
                Ok(cpu()?)
            }
            other => Ok(other?),
        }
    }

    /// After a lost device with `auto`: the context runs on the CPU from now on.
    fn fall_back(&self, reason: &str) {
        let mut state = self.state.borrow_mut();
        state.gpu = None;
        state.fallback_reason = Some(format!(
            "the GPU device was lost ({reason}); running on the CPU"
        ));
    }

    /// Runs `call` on the GPU launcher or the fast CPU path, as [`Inner::run`].
    async fn call(&self, call: &KernelCall) -> Result<Vec<f32>> {
        self.run(
            |ctx| async move { call.run_gpu(&ctx).await },
            || call.run_fast_cpu(),
        )
        .await
    }
}

/// A handle for running tensor kernels: WebGPU when available, else the CPU.
///
/// Create with `await ComputeContext.create({ backend })`. Every method takes row-major
/// `Float32Array`s and resolves to new `Float32Array`s; errors are `Error`s whose `name` is a
/// `ScalelabErrorName` (`InvalidInput`, `TooLarge`, `NoAdapter`, `DeviceLost`, …).
#[wasm_bindgen]
pub struct ComputeContext {
    inner: Rc<Inner>,
}

fn promise<T, F>(future: F) -> Promise
where
    T: Into<JsValue>,
    F: Future<Output = Result<T>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(async move {
        future.await.map(Into::into).map_err(Into::into)
    })
}

fn to_js<T: Serialize>(value: &T) -> std::result::Result<JsValue, ScalelabError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|err| {
        ScalelabError::from(GpuError::InvalidInput {
            what: "result",
            reason: err.to_string(),
        })
    })
}

fn f32_array(data: Vec<f32>) -> JsValue {
    Float32Array::from(&data[..]).into()
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn flag(obj: &JsValue, key: &'static str) -> std::result::Result<bool, GpuError> {
    match get(obj, key) {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or_else(|| GpuError::InvalidInput {
            what: key,
            reason: "must be true or false".to_owned(),
        }),
    }
}

fn reduce_op(name: &str) -> std::result::Result<ReduceOp, GpuError> {
    match name {
        "sum" => Ok(ReduceOp::Sum),
        "max" => Ok(ReduceOp::Max),
        "argmax" => Ok(ReduceOp::ArgMax),
        "mean" => Ok(ReduceOp::Mean),
        other => Err(GpuError::InvalidInput {
            what: "op",
            reason: format!("\"{other}\" is not one of \"sum\", \"max\", \"argmax\", \"mean\""),
        }),
    }
}

fn kernel_op(key: &str) -> std::result::Result<KernelOp, GpuError> {
    KernelOp::from_key(key).ok_or_else(|| GpuError::InvalidInput {
        what: "op",
        reason: format!(
            "\"{key}\" is not a kernel; use one of {}",
            KernelOp::ALL.map(KernelOp::key).join(", ")
        ),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckDto {
    op: &'static str,
    size: usize,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_abs_err: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_rel_err: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimingDto {
    op: &'static str,
    size: usize,
    backend: &'static str,
    seconds: f64,
    end_to_end_seconds: f64,
    gflops: f64,
    precise: bool,
}

impl ComputeContext {
    /// The GPU while the context runs there, and whether a lost device may fall back to the
    /// CPU (`auto`); the callback records such a fallback on the context.
    pub(crate) fn device(&self) -> Option<(Rc<GpuContext>, ComputeFallback)> {
        let ctx = self.inner.gpu()?;
        Some((
            ctx,
            ComputeFallback {
                inner: Rc::clone(&self.inner),
            },
        ))
    }
}

/// What a lost device does to the [`ComputeContext`] a run came from.
pub(crate) struct ComputeFallback {
    inner: Rc<Inner>,
}

impl ComputeFallback {
    /// Whether the context was created with `auto` (a lost device continues on the CPU).
    pub(crate) fn allowed(&self) -> bool {
        self.inner.choice == Choice::Auto
    }

    /// Records the loss on the context (it runs on the CPU from now on).
    pub(crate) fn lost(&self, reason: &str) {
        self.inner.fall_back(reason);
    }
}

#[wasm_bindgen]
impl ComputeContext {
    /// Opens a context. `backend` "auto" (default) uses WebGPU when there is an adapter and
    /// the CPU otherwise (`fallbackReason` says why); "gpu" fails with `NoAdapter` /
    /// `RequestDevice` instead; "cpu" never touches the GPU.
    #[wasm_bindgen(unchecked_return_type = "Promise<ComputeContext>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "ComputeOptions | undefined")] options: JsValue,
    ) -> Promise {
        promise(async move {
            let choice = match get(&options, "backend").map(|v| v.as_string()) {
                None => Choice::Auto,
                Some(Some(s)) if s == "auto" => Choice::Auto,
                Some(Some(s)) if s == "gpu" => Choice::Gpu,
                Some(Some(s)) if s == "cpu" => Choice::Cpu,
                Some(other) => {
                    return Err(GpuError::InvalidInput {
                        what: "backend",
                        reason: format!(
                            "{} is not \"auto\", \"gpu\" or \"cpu\"",
                            other.map_or_else(|| "a non-string".to_owned(), |s| format!("\"{s}\""))
                        ),
                    }
                    .into())
                }
            };
            let state = match choice {
                Choice::Cpu => State {
                    gpu: None,
                    fallback_reason: Some("the CPU backend was requested".to_owned()),
                },
                _ => match GpuContext::new().await {
                    Ok(ctx) => State {
                        gpu: Some(Rc::new(ctx)),
                        fallback_reason: None,
                    },
                    Err(err) if choice == Choice::Auto => State {
                        gpu: None,
                        fallback_reason: Some(err.to_string()),
                    },
                    Err(err) => return Err(err.into()),
                },
            };
            Ok(ComputeContext {
                inner: Rc::new(Inner {
                    choice,
                    state: RefCell::new(state),
                }),
            })
        })
    }

    /// `"webgpu"` while kernels run on the GPU, `"cpu"` otherwise.
    #[wasm_bindgen(getter, unchecked_return_type = "\"webgpu\" | \"cpu\"")]
    pub fn backend(&self) -> String {
        if self.inner.gpu().is_some() {
            "webgpu"
        } else {
            "cpu"
        }
        .to_owned()
    }

    /// The GPU adapter (e.g. "google swiftshader"), or "CPU".
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.inner
            .gpu()
            .map_or_else(|| "CPU".to_owned(), |ctx| ctx.adapter_name())
    }

    /// Why the context runs on the CPU (no adapter, device lost, or requested); undefined on
    /// the GPU.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.inner.state.borrow().fallback_reason.clone()
    }

    /// `C = relu?(op(A)·op(B) + bias)`, `m × n` row-major (`a` is m × k, or k × m with
    /// `transposeA`; `b` is k × n, or n × k with `transposeB`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn matmul(
        &self,
        a: Vec<f32>,
        b: Vec<f32>,
        m: usize,
        k: usize,
        n: usize,
        #[wasm_bindgen(unchecked_param_type = "MatmulOptions | undefined")] options: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = KernelCall::Matmul {
                a,
                b,
                m,
                k,
                n,
                bias: get(&options, "bias").map(|v| Float32Array::new(&v).to_vec()),
                transpose_a: flag(&options, "transposeA")?,
                transpose_b: flag(&options, "transposeB")?,
                relu: flag(&options, "relu")?,
            };
            Ok(f32_array(inner.call(&call).await?))
        })
    }

    /// Softmax of each row of a row-major matrix with `cols` columns.
    #[wasm_bindgen(js_name = softmaxRows, unchecked_return_type = "Promise<Float32Array>")]
    pub fn softmax_rows(&self, data: Vec<f32>, cols: usize) -> Promise {
        self.rows(RowKernel::Softmax, data, cols)
    }

    /// StableMax of each row.
    #[wasm_bindgen(js_name = stablemaxRows, unchecked_return_type = "Promise<Float32Array>")]
    pub fn stablemax_rows(&self, data: Vec<f32>, cols: usize) -> Promise {
        self.rows(RowKernel::Stablemax, data, cols)
    }

    /// Log-softmax of each row.
    #[wasm_bindgen(js_name = logSoftmaxRows, unchecked_return_type = "Promise<Float32Array>")]
    pub fn log_softmax_rows(&self, data: Vec<f32>, cols: usize) -> Promise {
        self.rows(RowKernel::LogSoftmax, data, cols)
    }

    /// Log-StableMax of each row.
    #[wasm_bindgen(js_name = logStablemaxRows, unchecked_return_type = "Promise<Float32Array>")]
    pub fn log_stablemax_rows(&self, data: Vec<f32>, cols: usize) -> Promise {
        self.rows(RowKernel::LogStablemax, data, cols)
    }

    /// Cross-entropy of each row of logits against its label (`"softmax"` or `"stablemax"`),
    /// and its gradient with respect to the logits.
    #[wasm_bindgen(
        js_name = crossEntropyRows,
        unchecked_return_type = "Promise<CrossEntropyResult>"
    )]
    pub fn cross_entropy_rows(
        &self,
        logits: Vec<f32>,
        cols: usize,
        labels: Vec<u32>,
        #[wasm_bindgen(unchecked_param_type = "\"softmax\" | \"stablemax\"")] loss: String,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let loss: Loss =
                loss.parse()
                    .map_err(|err: scalelab_core::CoreError| GpuError::InvalidInput {
                        what: "loss",
                        reason: err.to_string(),
                    })?;
            let rows = labels.len();
            let call = KernelCall::CrossEntropy {
                logits,
                cols,
                labels,
                loss,
            };
            // Flattened as the per-row losses, then the gradient.
            let mut out = inner.call(&call).await?;
            let grad = out.split_off(rows.min(out.len()));
            let result = js_sys::Object::new();
            for (key, values) in [("loss", out), ("grad", grad)] {
                let _ = Reflect::set(&result, &JsValue::from_str(key), &f32_array(values));
            }
            Ok(JsValue::from(result))
        })
    }

    /// A reduction (`"sum"`, `"max"`, `"argmax"` (index as a float), `"mean"`) of each row.
    #[wasm_bindgen(js_name = reduceRows, unchecked_return_type = "Promise<Float32Array>")]
    pub fn reduce_rows(
        &self,
        data: Vec<f32>,
        cols: usize,
        #[wasm_bindgen(unchecked_param_type = "ReduceOp")] op: String,
    ) -> Promise {
        self.reduce(data, Some(cols), op)
    }

    /// A reduction of all elements (at least one).
    #[wasm_bindgen(js_name = reduceAll, unchecked_return_type = "Promise<number>")]
    pub fn reduce_all(
        &self,
        data: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "ReduceOp")] op: String,
    ) -> Promise {
        self.reduce(data, None, op)
    }

    /// Runs every kernel at sizes 0, 1, 63, 64, 65 and 512 on the GPU and compares each with
    /// its f64 CPU oracle and documented tolerance. Needs the GPU (`NoAdapter` on the CPU).
    #[wasm_bindgen(js_name = verifyKernels, unchecked_return_type = "Promise<KernelCheck[]>")]
    pub fn verify_kernels(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let ctx = inner.gpu().ok_or_else(|| GpuError::NoAdapter {
                reason: format!(
                    "verifyKernels compares GPU results with the CPU oracle, but this context \
                     runs on the CPU ({})",
                    inner
                        .state
                        .borrow()
                        .fallback_reason
                        .clone()
                        .unwrap_or_default()
                ),
            })?;
            let checks = workload::verify(&ctx, |_, _| {}).await;
            let dtos: Vec<CheckDto> = checks
                .iter()
                .map(|c| CheckDto {
                    op: c.op.key(),
                    size: c.size,
                    passed: c.passed,
                    max_abs_err: c.comparison.map(|x| x.max_abs_err),
                    max_rel_err: c.comparison.map(|x| x.max_rel_err),
                    worst_ratio: c.comparison.map(|x| x.worst_ratio),
                    error: c.error.as_ref().map(|e| format!("{}: {e}", e.code())),
                })
                .collect();
            to_js(&dtos)
        })
    }

    /// Times kernel `op` at size `size` on this context's backend (seeded inputs, see
    /// `kernelOps()`); on the GPU `repeats` (default 10) dispatches per submission measure the
    /// kernel alone.
    #[wasm_bindgen(js_name = timeKernel, unchecked_return_type = "Promise<KernelTiming>")]
    pub fn time_kernel(
        &self,
        #[wasm_bindgen(unchecked_param_type = "KernelOpKey")] op: String,
        size: usize,
        repeats: Option<u32>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let op = kernel_op(&op)?;
            let w = Workload::new(op, size, 1);
            let timing = inner
                .run(
                    |ctx| {
                        let w = w.clone();
                        async move {
                            workload::time_gpu(&ctx, &w, repeats.unwrap_or(10), &workload::now_ms)
                                .await
                        }
                    },
                    || workload::time_cpu(&w, &workload::now_ms),
                )
                .await?;
            to_js(&TimingDto {
                op: op.key(),
                size,
                backend: if inner.gpu().is_some() {
                    "webgpu"
                } else {
                    "cpu"
                },
                seconds: timing.seconds,
                end_to_end_seconds: timing.end_to_end_seconds,
                gflops: timing.gflops(&w),
                precise: timing.precise,
            })
        })
    }

    /// Destroys the GPU device, as a driver reset would, to test the fallback: with "auto"
    /// the next call runs on the CPU and `fallbackReason` says the device was lost; with
    /// "gpu" it fails with `DeviceLost`.
    #[wasm_bindgen(js_name = loseDevice)]
    pub fn lose_device(&self) {
        if let Some(ctx) = self.inner.gpu() {
            ctx.destroy();
        }
    }
}

impl ComputeContext {
    fn rows(&self, kind: RowKernel, data: Vec<f32>, cols: usize) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = KernelCall::Rows { kind, data, cols };
            Ok(f32_array(inner.call(&call).await?))
        })
    }

    /// Row reductions with `Some(cols)`, one global reduction (a number) with `None`.
    fn reduce(&self, data: Vec<f32>, cols: Option<usize>, op: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = KernelCall::Reduce {
                data,
                cols,
                op: reduce_op(&op)?,
            };
            let out = inner.call(&call).await?;
            Ok(match cols {
                Some(_) => f32_array(out),
                None => JsValue::from_f64(out.first().copied().map_or(f64::NAN, f64::from)),
            })
        })
    }
}

/// The kernel workloads `timeKernel` accepts: `{ key, label, shape }` with the shape at size n
/// written with "n".
#[wasm_bindgen(js_name = kernelOps, unchecked_return_type = "{ key: KernelOpKey; label: string }[]")]
pub fn kernel_ops() -> JsValue {
    #[derive(Serialize)]
    struct OpDto {
        key: &'static str,
        label: &'static str,
    }
    let ops: Vec<OpDto> = KernelOp::ALL
        .iter()
        .map(|op| OpDto {
            key: op.key(),
            label: op.label(),
        })
        .collect();
    to_js(&ops).unwrap_or(JsValue::NULL)
}
