//! A multi-line text box for what users paste — a vocabulary of logits, a 10⁵-row loss curve —
//! that never lays out megabytes of text: above [`LARGE_TEXT`] characters it shows a summary of
//! what it holds (kept whole in the page) with a button to show the text anyway. A large paste is
//! taken from the clipboard event itself, so the browser never inserts it into the textarea (its
//! editing and layout of megabytes of text would be one long task).

/// Texts longer than this are summarised instead of shown: the browser's own layout of a textarea
/// is a long task from a few tens of kilobytes on (measured in headless Chromium: a 1000-line,
/// 30 KB loss curve, 120 ms each time the page around it changes).
pub const LARGE_TEXT: usize = 20_000;

/// The byte offset in `s` of the UTF-16 offset `u16_offset` (a selection bound from the DOM).
fn byte_offset(s: &str, u16_offset: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in s.char_indices() {
        if units >= u16_offset {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    s.len()
}

/// `value` with its UTF-16 selection `[start, end)` replaced by `pasted`.
pub fn insert(value: &str, start: u32, end: u32, pasted: &str) -> String {
    let (a, b) = (
        byte_offset(value, start),
        byte_offset(value, end.max(start)),
    );
    let mut out = String::with_capacity(value.len() + pasted.len());
    out.push_str(&value[..a]);
    out.push_str(pasted);
    out.push_str(&value[b..]);
    out
}

#[cfg(target_arch = "wasm32")]
pub use component::{js_to_string, TextBox};

#[cfg(target_arch = "wasm32")]
mod component {
    use super::{insert, LARGE_TEXT};
    use leptos::prelude::*;
    use std::sync::Arc;
    use wasm_bindgen::JsCast;

    /// UTF-16 units copied per task: ≈ 5 ms of the browser's `TextEncoder` each.
    const CHUNK: u32 = 1 << 19;

    /// Lets the page's event loop run before going on.
    async fn next_task() {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback(&resolve);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    /// A JS string as a Rust string through the browser's `TextEncoder` (native speed, not
    /// wasm-bindgen's character-by-character copy), [`CHUNK`] units a task so that a 30 MB paste
    /// is no long task. Chunks end before a lone high surrogate, so pairs are never split.
    pub async fn js_to_string(s: js_sys::JsString) -> Option<String> {
        let encoder = web_sys::TextEncoder::new().ok()?;
        let encode = js_sys::Reflect::get(&encoder, &"encode".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let len = s.length();
        let mut bytes = Vec::with_capacity(len as usize);
        let mut at = 0;
        while at < len {
            let mut end = (at + CHUNK).min(len);
            // 0xD800 ≤ unit < 0xDC00: a high surrogate.
            if end < len && (55296.0..56320.0).contains(&s.char_code_at(end - 1)) {
                end -= 1;
            }
            let chunk = encode
                .call1(&encoder, &s.slice(at, end))
                .ok()?
                .dyn_into::<js_sys::Uint8Array>()
                .ok()?;
            let start = bytes.len();
            bytes.resize(start + chunk.length() as usize, 0);
            chunk.copy_to(&mut bytes[start..]);
            at = end;
            if at < len {
                next_task().await;
            }
        }
        String::from_utf8(bytes).ok()
    }

    /// A textarea, or for a large text its summary.
    #[component]
    pub fn TextBox(
        /// The element id.
        #[prop(into)]
        id: String,
        /// The text (shared: a large one is not copied by the box).
        #[prop(into)]
        text: Signal<Arc<str>>,
        /// Called with the new text on every edit.
        on_input: Callback<String>,
        /// Whether the text is invalid (for `aria-invalid`).
        #[prop(into)]
        invalid: Signal<bool>,
        /// The id of the element that describes the error.
        #[prop(into)]
        described_by: String,
        /// Rows of the textarea.
        #[prop(optional)]
        rows: u32,
    ) -> impl IntoView {
        let show_large = RwSignal::new(false);
        // A large paste on its way in (the box already shows its summary).
        let pasting = RwSignal::new(false);
        let large = Memo::new(move |_| text.with(|t| t.len() > LARGE_TEXT));
        // Counted once per text, as bytes (`str::lines` is several times slower).
        let lines = Memo::new(move |_| {
            text.with(|t| {
                if t.len() <= LARGE_TEXT {
                    return 0;
                }
                let breaks = t.as_bytes().iter().filter(|&&b| b == b'\n').count();
                breaks + usize::from(!t.ends_with('\n'))
            })
        });
        let summary = move || {
            if pasting.get() {
                return "Reading the pasted text…".to_string();
            }
            text.with(|t| {
                let lines = lines.get();
                format!(
                    "{} {}, {:.1} KiB — too long to show here without slowing the page; it is kept whole.",
                    lines,
                    if lines == 1 { "line" } else { "lines" },
                    t.len() as f64 / 1024.0
                )
            })
        };
        let rows = if rows == 0 { 3 } else { rows };
        let (summary_id, show_id, clear_id) = (
            format!("{id}-summary"),
            format!("{id}-show"),
            format!("{id}-clear"),
        );
        view! {
            <Show when=move || !pasting.get() && (!large.get() || show_large.get()) fallback=move || view! {
                <div class="text-summary" id=summary_id.clone() role="status">
                    <span>{summary}</span>
                    <button type="button" id=show_id.clone() on:click=move |_| show_large.set(true)>"Show the text"</button>
                    <button type="button" id=clear_id.clone() on:click=move |_| on_input.run(String::new())>"Clear"</button>
                </div>
            }>
                <textarea id=id.clone() rows=rows spellcheck="false" autocomplete="off"
                    prop:value=move || text.with(|t| t.to_string())
                    aria-invalid=move || invalid.get().to_string()
                    aria-describedby=described_by.clone()
                    on:paste=move |ev: web_sys::ClipboardEvent| {
                    // The pasted text stays a JS string here; it becomes a Rust string in a task of
                    // its own below.
                    let Some(data) = ev.clipboard_data() else { return };
                    let get = js_sys::Reflect::get(&data, &"getData".into())
                        .ok()
                        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
                    let Some(pasted) = get.and_then(|f| f.call1(&data, &"text/plain".into()).ok()) else {
                        return;
                    };
                    let Ok(pasted) = pasted.dyn_into::<js_sys::JsString>() else { return };
                    if pasted.length() as usize <= LARGE_TEXT {
                        return;
                    }
                    ev.prevent_default();
                    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()) else {
                        return;
                    };
                    let value = el.value();
                    let end = value.encode_utf16().count() as u32;
                    let start = el.selection_start().ok().flatten().unwrap_or(end);
                    let stop = el.selection_end().ok().flatten().unwrap_or(end);
                    // The textarea leaves the page in this task, the text arrives in the next.
                    show_large.set(false);
                    pasting.set(true);
                    // The text is copied into wasm in chunks, then handed on, each in tasks of
                    // their own.
                    leptos::task::spawn_local(async move {
                        next_task().await;
                        let text = js_to_string(pasted).await.unwrap_or_default();
                        next_task().await;
                        on_input.run(insert(&value, start, stop, &text));
                        pasting.set(false);
                    });
                }
                on:input=move |ev| {
                        let t = event_target_value(&ev);
                        // A large paste is summarised before the browser lays it out.
                        if t.len() > LARGE_TEXT {
                            show_large.set(false);
                        }
                        on_input.run(t);
                    }></textarea>
            </Show>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::insert;

    #[test]
    fn a_paste_replaces_the_selection_counted_in_utf16_units() {
        assert_eq!(insert("a,b", 1, 1, "X"), "aX,b");
        assert_eq!(insert("a,b", 0, 3, "X"), "X");
        // "é" is one UTF-16 unit, "𝑥" two.
        assert_eq!(insert("é𝑥,1", 3, 3, "Y"), "é𝑥Y,1");
    }
}
