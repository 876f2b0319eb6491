//! The one status widget of every job: a progress bar with the stage and the elapsed time, Cancel,
//! (for jobs that run in units) Pause / Resume / Step / Reset, and the error with its code.
//!
//! Element ids derive from `id` (`{id}-status`, `{id}-cancel`, `{id}-pause`, `{id}-step`,
//! `{id}-reset`), and `data-state` on the status line is the [`JobState::key`].

use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::job::{now_ms, JobHandle, JobState};
use crate::worker::protocol::JobSpec;

fn seconds(ms: f64) -> String {
    if ms < 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.0} s", ms / 1000.0)
    }
}

/// The status line and controls of `job`.
#[component]
pub fn JobStatus<J: JobSpec>(
    /// The job.
    job: JobHandle<J>,
    /// The prefix of the widget's element ids.
    id: &'static str,
    /// What the job is, for the status line (e.g. "Fit").
    what: &'static str,
    /// The line shown when the job is done (the lab's summary of the output).
    #[prop(into, optional)]
    summary: Option<Signal<String>>,
    /// Text of the idle line.
    #[prop(optional)]
    idle: &'static str,
) -> impl IntoView
where
    J::Output: Clone + Send + Sync,
{
    let state = job.state();
    let pausable = J::PAUSABLE;
    // Elapsed time: a tick every 200 ms while running.
    let now = RwSignal::new(now_ms());
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if state.with_untracked(JobState::is_running) {
                now.set(now_ms());
            }
        },
        Duration::from_millis(200),
    ) {
        let handle = SendWrapper::new(handle);
        on_cleanup(move || handle.take().clear());
    }
    let running = move || state.with(JobState::is_running);
    let paused = move || state.with(|s| matches!(s, JobState::Running { paused: true, .. }));
    let idle_text = if idle.is_empty() { "Ready." } else { idle };
    let line = move || match state.get() {
        JobState::Idle => view! { <span>{idle_text}</span> }.into_any(),
        JobState::Running {
            progress,
            paused,
            started_ms,
        } => {
            let elapsed = seconds((now.get() - started_ms).max(0.0));
            let (value, max, text) = match progress {
                Some(p) => (
                    p.done as f64,
                    p.total.max(1) as f64,
                    format!("{what}: {} {} of {}", p.stage.label(), p.done, p.total),
                ),
                None => (0.0, 1.0, format!("{what}: starting")),
            };
            let text = if paused {
                format!("Paused — {text} · {elapsed}")
            } else {
                format!("{text} · {elapsed}")
            };
            view! {
                <progress prop:max=max prop:value=value></progress>
                <span data-role="progress">{" "}{text}</span>
            }
            .into_any()
        }
        JobState::Done { millis } => {
            let text = summary
                .map(|s| s.get())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{what} done in {millis:.0} ms."));
            view! { <span data-millis=millis.to_string()>{text}</span> }.into_any()
        }
        JobState::Cancelled => view! { <span>{format!("{what} cancelled.")}</span> }.into_any(),
        JobState::Failed(f) => {
            let code = f.code.as_str();
            view! {
                <span class="field-error" role="alert" data-code=code>
                    <code>{code}</code>{format!(": {}", f.message)}
                </span>
            }
            .into_any()
        }
    };
    view! {
        <div class="job-status">
            <div class="job-line" id=format!("{id}-status") aria-live="polite"
                data-state=move || state.with(|s| s.key())>
                {line}
            </div>
            <div class="job-controls">
                <button type="button" id=format!("{id}-cancel") on:click=move |_| job.cancel()
                    disabled=move || !running()>"Cancel"</button>
                {pausable.then(|| view! {
                    <button type="button" id=format!("{id}-pause")
                        on:click=move |_| if paused() { job.resume() } else { job.pause() }
                        disabled=move || !running()>
                        {move || if paused() { "Resume" } else { "Pause" }}
                    </button>
                    <button type="button" id=format!("{id}-step") on:click=move |_| job.step()
                        disabled=move || !paused()
                        title="Run one unit (a start, a resample, a scale), then pause">"Step"</button>
                    <button type="button" id=format!("{id}-reset") on:click=move |_| job.reset()
                        disabled=move || state.with(|s| *s == JobState::Idle)>"Reset"</button>
                })}
            </div>
        </div>
    }
}
