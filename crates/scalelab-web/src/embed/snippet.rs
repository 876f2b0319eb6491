//! Every lab's Embed button: a ready `<iframe>` for the lab's current state, to copy into a page.

use leptos::prelude::*;

use crate::labs::Lab;
use crate::url_state::UrlState;

/// Height the snippet gives the frame (the embed reports its real height to the parent).
const DEFAULT_HEIGHT: u32 = 720;

/// The `<iframe>` element for `src`, titled after `lab`.
pub fn iframe_html(src: &str, lab: Lab) -> String {
    let title = lab.card().map(|c| c.title).unwrap_or("Scalelab");
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
    };
    format!(
        "<iframe src=\"{}\" title=\"Scalelab — {}\" loading=\"lazy\" width=\"100%\" height=\"{DEFAULT_HEIGHT}\" style=\"border:0;max-width:100%\"></iframe>",
        esc(src),
        esc(title)
    )
}

/// The Embed button and, when open, the snippet with a Copy button.
#[component]
pub fn EmbedButton(
    /// The lab shown.
    lab: Lab,
) -> impl IntoView {
    let url = UrlState::get();
    let open = RwSignal::new(false);
    let copied = RwSignal::new(None::<String>);
    let snippet = Memo::new(move |_| iframe_html(&url.href_with(&[("embed", Some("1"))]), lab));
    let copy = move |_| {
        let text = snippet.get_untracked();
        let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let done = wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text)).await;
            copied.set(Some(match done {
                Ok(_) => "Copied.".into(),
                Err(_) => {
                    "The browser refused the clipboard: select the snippet and copy it.".into()
                }
            }));
        });
    };
    view! {
        <div class="embed-tool">
            <button type="button" id="embed-open" aria-expanded=move || open.get().to_string()
                aria-controls="embed-panel" on:click=move |_| { copied.set(None); open.update(|o| *o = !*o) }>
                "Embed"
            </button>
            <div id="embed-panel" class="embed-panel" hidden=move || !open.get()>
                <label for="embed-snippet">"Paste this into your page to embed the lab as it is now:"</label>
                <textarea id="embed-snippet" readonly rows="3" prop:value=move || snippet.get()></textarea>
                <button type="button" id="embed-copy" on:click=copy>"Copy"</button>
                <span class="hint" role="status">{move || copied.get().unwrap_or_default()}</span>
            </div>
        </div>
    }
}
