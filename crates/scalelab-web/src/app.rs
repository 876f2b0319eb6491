//! The app shell: header with navigation, backend chip and theme toggle; the lab chosen by the `lab`
//! query key; the worker and GPU probe shared by every lab.

use crate::compute_backend::{start_probe, BackendChip};
use crate::labs::{fit::FitLab, home::Home, kernels::KernelsLab, stablemax::StableMaxLab};
use crate::theme::ThemeToggle;
use crate::url_state::UrlState;
use crate::worker::client::ComputeWorker;
use leptos::prelude::*;

/// Labs reachable from the navigation: (query value, link text).
const NAV: [(&str, &str); 4] = [
    ("home", "Home"),
    ("stablemax", "StableMax"),
    ("fit", "Fit"),
    ("kernels", "Kernels"),
];

/// The whole site.
#[component]
pub fn App() -> impl IntoView {
    let url = UrlState::install();
    provide_context(url);
    let worker = match ComputeWorker::spawn() {
        Ok(w) => Some(w),
        Err(e) => {
            web_sys::console::warn_1(&format!("scalelab: no compute worker: {e}").into());
            None
        }
    };
    provide_context(StoredValue::new_local(worker));
    let backend = start_probe();
    let lab = url.read("lab");
    let current = Memo::new(move |_| lab.get().unwrap_or_else(|| "home".into()));

    Effect::new(move |_| {
        let title = match current.get().as_str() {
            "stablemax" => "StableMax & Softmax Collapse · Scalelab",
            "fit" => "Fit a scaling law · Scalelab",
            "kernels" => "Kernels on WebGPU · Scalelab",
            "home" => "Scalelab — interactive, exact ML-scaling mathematics",
            _ => "Not found · Scalelab",
        };
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            d.set_title(title);
        }
    });

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="./" on:click=move |ev| { ev.prevent_default(); url.open_lab("home"); }>"Scalelab"</a>
            <nav aria-label="Labs">
                <ul>
                    {NAV.iter().map(|&(key, text)| {
                        let href = if key == "home" { "./".to_string() } else { format!("?lab={key}") };
                        view! {
                            <li>
                                <a href=href
                                    aria-current=move || (current.get() == key).then_some("page")
                                    on:click=move |ev| { ev.prevent_default(); url.open_lab(key); }>
                                    {text}
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </nav>
            <div class="header-tools">
                <BackendChip backend=backend />
                <ThemeToggle />
            </div>
        </header>
        <main id="main" tabindex="-1">
            {move || match current.get().as_str() {
                "home" => view! { <Home /> }.into_any(),
                "stablemax" => view! { <StableMaxLab /> }.into_any(),
                "fit" => view! { <FitLab /> }.into_any(),
                "kernels" => view! { <KernelsLab /> }.into_any(),
                other => {
                    let other = other.to_string();
                    view! {
                        <h1>"Not found"</h1>
                        <p id="not-found">{format!("There is no lab called “{other}”. ")}
                            <a href="./" on:click=move |ev| { ev.prevent_default(); url.open_lab("home"); }>"Back to the labs"</a>
                        </p>
                    }.into_any()
                }
            }}
        </main>
        <footer class="site-footer">
            <p>"Scalelab runs entirely in your browser; nothing you enter leaves this page."</p>
        </footer>
    }
}
