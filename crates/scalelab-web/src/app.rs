//! The app shell: the lab chosen by the `lab` query key (from the [`Lab`] registry) inside either the
//! site's chrome (header with navigation, backend chip and theme, the lab's Embed button, footer) or
//! the embed's minimal chrome (`embed=1`). Provides the URL state, the theme and the compute worker
//! (started only when a lab that uses it mounts).
//!
//! The site ships as one WebAssembly bundle per built lab plus the home page's ([`Bundle`],
//! [`Lab::bundle`]), each with the same shell: a page loads its own lab's code only, and the home
//! page has no worker client at all. `www/loader.js` loads the bundle of the page's `?lab=`;
//! opening a lab of another bundle loads its page.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::embed::{frame, snippet::EmbedButton};
use crate::job::Worker;
use crate::labs::Lab;
use crate::theme::{provide_theme, Theme, ThemeToggle};
use crate::url_state::UrlState;
use crate::widgets::backend_chip::BackendChip;
use crate::worker::protocol::DeviceStatus;

/// What the `lab` key names.
#[derive(Debug, Clone, PartialEq)]
enum Page {
    Lab(Lab),
    NotFound(String),
}

/// Installs `window.scalelabTest.crashWorker()` (with `?debug=1` only): the browser tests' way to
/// make the worker crash.
fn install_test_hooks(worker: Worker) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hooks = js_sys::Object::new();
    let crash = Closure::<dyn Fn()>::new(move || worker.with_value(|w| w.crash()));
    let _ = js_sys::Reflect::set(&hooks, &"crashWorker".into(), crash.as_ref());
    crash.forget();
    let _ = js_sys::Reflect::set(&window, &"scalelabTest".into(), &hooks);
}

/// Provides the page's compute worker and its device status (`job::provide_worker`).
pub type ProvideWorker = fn() -> (Worker, RwSignal<DeviceStatus>);

/// What one WebAssembly bundle renders (see the module docs).
#[derive(Clone, Copy)]
pub struct Bundle {
    /// The bundle's name: it renders the home page and the labs whose [`Lab::bundle`] this is (the
    /// shell loads the page of any other lab).
    pub name: &'static str,
    /// The page of a lab this bundle renders.
    pub view: fn(Lab) -> AnyView,
    /// Provides the compute worker (bundles whose labs compute).
    pub worker: Option<ProvideWorker>,
}

/// Mounts the site with `bundle`'s pages.
pub fn mount(bundle: Bundle) {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(move || view! { <App bundle=bundle /> });
    // The page is interactive once the app has mounted (read by bench/site.mjs).
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("scalelab-interactive");
    }
}

/// The whole site.
#[component]
pub fn App(
    /// What this bundle renders.
    bundle: Bundle,
) -> impl IntoView {
    let url = UrlState::install(bundle.name);
    provide_context(url);
    let theme = provide_theme();
    let (worker, device) = match bundle.worker {
        Some(provide) => {
            let (w, d) = provide();
            (Some(w), d)
        }
        None => (None, RwSignal::new(DeviceStatus::Unchecked)),
    };
    let generation = match worker {
        Some(w) => w.with_value(|w| w.generation()),
        None => Signal::derive(|| 0),
    };
    let lab_key = url.read("lab");
    let page = Memo::new(move |_| match lab_key.get() {
        None => Page::Lab(Lab::Home),
        Some(k) => Lab::from_key(&k).map_or(Page::NotFound(k), Page::Lab),
    });
    let lab = Memo::new(move |_| match page.get() {
        Page::Lab(l) => l,
        Page::NotFound(_) => Lab::Home,
    });
    let embed = url.read("embed").get_untracked().as_deref() == Some("1");
    if let (Some(w), Some("1")) = (worker, url.read("debug").get_untracked().as_deref()) {
        install_test_hooks(w);
    }
    if let Some(t) = url
        .read("theme")
        .get_untracked()
        .and_then(|t| Theme::from_name(&t))
    {
        theme.set(t);
    }

    Effect::new(move |_| {
        let title = match page.get() {
            Page::Lab(l) => l.title(),
            Page::NotFound(_) => "Not found · Scalelab",
        };
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            d.set_title(title);
        }
    });
    // Labs that compute start the worker as they mount, so its device check runs early.
    Effect::new(move |_| {
        if let (true, Some(w)) = (lab.get().uses_worker(), worker) {
            w.with_value(|w| w.ensure_started());
        }
    });

    let main = move || {
        match page.get() {
        Page::Lab(l) => (bundle.view)(l),
        Page::NotFound(other) => view! {
            <h1>"Not found"</h1>
            <p id="not-found">{format!("There is no lab called “{other}”. ")}
                <a href="./" on:click=move |ev| { ev.prevent_default(); url.open_lab(Lab::Home); }>"Back to the labs"</a>
            </p>
        }
        .into_any(),
    }
    };

    if embed {
        frame::install(lab, theme);
        let open_href = move || url.href_with(&[("embed", None)]);
        return view! {
            <header class="embed-bar">
                <a class="brand" href=open_href target="_blank" rel="noopener" id="embed-open-site">
                    "Open in Scalelab ↗"
                </a>
                <div class="header-tools">
                    <BackendChip device=device generation=generation />
                    <ThemeToggle />
                </div>
            </header>
            <main id="main" class="embedded" tabindex="-1">{main}</main>
        }
        .into_any();
    }

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="./" on:click=move |ev| { ev.prevent_default(); url.open_lab(Lab::Home); }>"Scalelab"</a>
            <nav aria-label="Labs">
                <ul>
                    {Lab::ALL.into_iter().filter_map(|l| l.nav_text().map(|t| (l, t))).map(|(l, text)| {
                        let href = if l == Lab::Home { "./".to_string() } else { format!("?lab={}", l.key()) };
                        view! {
                            <li>
                                <a href=href
                                    aria-current=move || (page.get() == Page::Lab(l)).then_some("page")
                                    on:click=move |ev| { ev.prevent_default(); url.open_lab(l); }>
                                    {text}
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </nav>
            <div class="header-tools">
                <BackendChip device=device generation=generation />
                <ThemeToggle />
            </div>
        </header>
        <main id="main" tabindex="-1">
            {move || match page.get() {
                Page::Lab(l) if l != Lab::Home && l.ready() => Some(view! {
                    <div class="lab-tools"><EmbedButton lab=l /></div>
                }),
                _ => None,
            }}
            {main}
        </main>
        <footer class="site-footer">
            <p>"Scalelab runs entirely in your browser; nothing you enter leaves this page."</p>
        </footer>
    }
    .into_any()
}
