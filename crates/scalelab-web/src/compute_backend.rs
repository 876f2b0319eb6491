//! Which compute backend the page runs on: a WebGPU adapter that passed the kernel check, or the CPU
//! with the reason why. The status chip in the header shows it.

use leptos::prelude::*;
use scalelab_gpu::{probe, GpuContext};

/// The outcome of the start-up GPU probe.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// The probe is still running.
    Probing,
    /// A GPU adapter ran the softmax and StableMax kernels and matched the CPU oracle.
    Gpu {
        /// Adapter name as the browser reports it.
        adapter: String,
        /// API in use ("WebGPU").
        api: String,
        /// Largest |GPU − CPU| of the softmax kernel.
        softmax_err: f64,
        /// Largest |GPU − CPU| of the StableMax kernel.
        stablemax_err: f64,
    },
    /// Computation stays on the CPU.
    Cpu {
        /// Why no GPU is used.
        reason: String,
    },
}

/// Starts the probe and returns the signal it fills in.
pub fn start_probe() -> RwSignal<Backend> {
    let backend = RwSignal::new(Backend::Probing);
    leptos::task::spawn_local(async move {
        let result = match GpuContext::new().await {
            Ok(ctx) => match probe(&ctx).await {
                Ok(report) if report.passed => Backend::Gpu {
                    adapter: ctx.adapter_name(),
                    api: ctx.backend_name().to_string(),
                    softmax_err: report.softmax_max_abs_err,
                    stablemax_err: report.stablemax_max_abs_err,
                },
                Ok(report) => Backend::Cpu {
                    reason: format!(
                        "the GPU kernels disagreed with the CPU (max error {:.2e} / {:.2e})",
                        report.softmax_max_abs_err, report.stablemax_max_abs_err
                    ),
                },
                Err(e) => Backend::Cpu {
                    reason: e.to_string(),
                },
            },
            Err(e) => Backend::Cpu {
                reason: e.to_string(),
            },
        };
        backend.set(result);
    });
    backend
}

/// The header chip: "WebGPU · adapter" or "CPU" with the reason in its tooltip and in the page.
#[component]
pub fn BackendChip(
    /// The probe's outcome.
    backend: RwSignal<Backend>,
) -> impl IntoView {
    move || match backend.get() {
        Backend::Probing => {
            view! { <span class="chip" data-backend="probing">"Checking GPU…"</span> }.into_any()
        }
        Backend::Gpu {
            adapter,
            api,
            softmax_err,
            stablemax_err,
        } => {
            let title = format!(
                "{api} adapter “{adapter}” ran the softmax and StableMax kernels; max |GPU−CPU| = {softmax_err:.1e} and {stablemax_err:.1e}"
            );
            let name = if adapter.is_empty() {
                "unnamed adapter".to_string()
            } else {
                adapter
            };
            view! {
                <span class="chip gpu" data-backend="gpu" data-softmax-err=softmax_err data-stablemax-err=stablemax_err title=title>
                    {format!("{api} · {name}")}
                </span>
            }
            .into_any()
        }
        Backend::Cpu { reason } => view! {
            <span class="chip cpu" data-backend="cpu" title=reason.clone()>
                "CPU"<span class="chip-reason">{format!(" — {reason}")}</span>
            </span>
        }
        .into_any(),
    }
}
