//! Timing a workload on the GPU ([`time_gpu`]) and on the CPU oracle ([`time_cpu`]), with the
//! clock they use ([`now_ms`]).

use super::Workload;
use crate::context::GpuContext;
use crate::error::GpuError;

/// A monotonic clock in milliseconds for [`time_gpu`] and [`time_cpu`]: `performance.now()` of the
/// global object on the web (window, worker or Node), else the time since the first call.
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::wasm_bindgen::{JsCast, JsValue};
        let global: JsValue = js_sys::global().into();
        js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
            .ok()
            .filter(|p| p.is_object())
            .and_then(|p| {
                let now = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
                now.dyn_into::<js_sys::Function>()
                    .ok()?
                    .call0(&p)
                    .ok()?
                    .as_f64()
            })
            .unwrap_or_else(js_sys::Date::now)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// How long a workload took.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Seconds per run of the kernel itself. GPU: `(t(R) − t(1)) / (R − 1)` from one
    /// submission of `R` repeated dispatches against one of a single dispatch (best of three
    /// each), so upload, read-back and launch latency cancel out. CPU: see [`time_cpu`].
    pub seconds: f64,
    /// Seconds of one whole call (upload, dispatch, read-back; best of three).
    pub end_to_end_seconds: f64,
    /// The result of the last run (flattened as [`Workload::run_gpu`]).
    pub output: Vec<f32>,
    /// The measured interval was at least 1 ms (10 ticks of a browser's 0.1 ms clock): GPU, the
    /// difference t(R) − t(1); CPU, the batch. Otherwise raise R for a precise figure.
    pub precise: bool,
}

impl Timing {
    /// Nominal GFLOP/s of `workload` at [`Timing::seconds`].
    pub fn gflops(&self, workload: &Workload) -> f64 {
        workload.flops() / self.seconds / 1e9
    }
}

/// Times `workload` on the GPU with `repeats` dispatches per submission (see [`Timing`]); `now`
/// is a clock in milliseconds (`performance.now()` in browsers). The context's dispatch repeats
/// are restored to 1 afterwards, also on error. A warm-up run compiles the pipeline first.
pub async fn time_gpu(
    ctx: &GpuContext,
    workload: &Workload,
    repeats: u32,
    now: &dyn Fn() -> f64,
) -> Result<Timing, GpuError> {
    let repeats = repeats.max(2);
    let best_of_three = |r: u32| async move {
        ctx.set_dispatch_repeats(r);
        let mut best = f64::INFINITY;
        let mut output = Vec::new();
        for _ in 0..3 {
            let start = now();
            output = workload.run_gpu(ctx).await?;
            best = best.min(now() - start);
        }
        Ok::<_, GpuError>((best / 1e3, output))
    };
    ctx.set_dispatch_repeats(1);
    let timed = async {
        workload.run_gpu(ctx).await?; // warm-up: pipeline compilation
        let (single, _) = best_of_three(1).await?;
        let (many, output) = best_of_three(repeats).await?;
        Ok::<_, GpuError>((single, many, output))
    }
    .await;
    ctx.set_dispatch_repeats(1);
    let (single, many, output) = timed?;
    // Clock resolution (browsers coarsen it to 0.1 ms) can make the difference ≤ 0; fall back
    // to the average over the repeated submission then.
    let per_dispatch = (many - single) / f64::from(repeats - 1);
    let seconds = if per_dispatch > 0.0 {
        per_dispatch
    } else {
        many / f64::from(repeats)
    };
    Ok(Timing {
        seconds,
        end_to_end_seconds: single,
        output,
        precise: many - single >= 1.0,
    })
}

/// Times the CPU path as the CPU backend and the fallback run it ([`super::call::KernelCall::run_fast_cpu`]:
/// matmul in f32 on `scalelab_core::gemm`, the other ops the f64 oracle rounded to f32); `now` in
/// milliseconds. A run of 50 ms or more is timed alone. Faster ones run in batches grown until a
/// batch takes at least 10 ms, so the clock's resolution (browsers round `performance.now()` to
/// 0.1 ms) costs at most 1 %; the time is the best of three batches divided by the batch size.
pub fn time_cpu(workload: &Workload, now: &dyn Fn() -> f64) -> Result<Timing, GpuError> {
    let mut output = Vec::new();
    let mut run_batch = |runs: usize| -> Result<f64, GpuError> {
        let start = now();
        for _ in 0..runs {
            output = workload.call().run_fast_cpu()?;
        }
        Ok(now() - start)
    };
    let first = run_batch(1)?;
    let ms_per_run = if first >= 50.0 {
        first
    } else {
        let mut batch = 1usize;
        let mut block = first;
        while block < 10.0 && batch < 1 << 24 {
            batch = if block > 0.0 {
                ((batch as f64 * 12.0 / block).ceil() as usize).max(2 * batch)
            } else {
                16 * batch
            };
            block = run_batch(batch)?;
        }
        let mut best = block;
        for _ in 0..2 {
            best = best.min(run_batch(batch)?);
        }
        best / batch as f64
    };
    let seconds = (ms_per_run / 1e3).max(1e-12);
    Ok(Timing {
        seconds,
        end_to_end_seconds: seconds,
        output,
        precise: true,
    })
}
