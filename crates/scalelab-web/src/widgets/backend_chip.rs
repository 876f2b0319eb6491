//! The header's status chip: the compute worker's GPU device as the worker checked it (WebGPU with
//! the adapter, or the CPU with the reason), or that no lab has needed it yet.

use leptos::prelude::*;

use crate::worker::protocol::DeviceStatus;

/// The chip: `data-backend` is `unchecked`, `probing`, `gpu`, `cpu` or `lost`; `data-worker` counts
/// the workers the page has started.
#[component]
pub fn BackendChip(
    /// The worker's device.
    device: RwSignal<DeviceStatus>,
    /// Workers started so far.
    generation: Signal<u32>,
) -> impl IntoView {
    let body = move || {
        match device.get() {
        DeviceStatus::Unchecked => view! {
            <span class="chip" data-backend="unchecked" data-worker=generation
                title="The GPU is opened and checked when a lab first needs the compute worker">
                "GPU: checked on first use"
            </span>
        }
        .into_any(),
        DeviceStatus::Probing => view! {
            <span class="chip" data-backend="probing" data-worker=generation>"Checking GPU…"</span>
        }
        .into_any(),
        DeviceStatus::Gpu {
            adapter,
            api,
            softmax_err,
            stablemax_err,
        } => {
            let title = format!(
                "{api} adapter “{adapter}” ran the softmax and StableMax kernels in the compute worker; max |GPU−CPU| = {softmax_err:.1e} and {stablemax_err:.1e}"
            );
            let name = if adapter.is_empty() {
                "unnamed adapter".to_string()
            } else {
                adapter
            };
            view! {
                <span class="chip gpu" data-backend="gpu" data-worker=generation
                    data-softmax-err=softmax_err data-stablemax-err=stablemax_err title=title>
                    {format!("{api} · {name}")}
                </span>
            }
            .into_any()
        }
        DeviceStatus::Cpu { reason } => view! {
            <span class="chip cpu" data-backend="cpu" data-worker=generation title=reason.clone()>
                "CPU"<span class="chip-reason">{format!(" — {reason}")}</span>
            </span>
        }
        .into_any(),
        DeviceStatus::Lost { reason } => view! {
            <span class="chip cpu" data-backend="lost" data-worker=generation title=reason.clone()>
                "CPU"<span class="chip-reason">{format!(" — the GPU device was lost ({reason})")}</span>
            </span>
        }
        .into_any(),
    }
    };
    view! { <span class="chip-slot">{body}</span> }
}
