//! Inside an embedding `<iframe>`: reports the content height to the parent whenever it changes
//! (a `ResizeObserver` on the document) and applies the parent's `set-theme` messages.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::messages::{FrameEvent, FrameMessage, HostMessage, HostRequest};
use crate::labs::Lab;
use crate::theme::Theme;

fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok().flatten()?;
    // Not framed: the parent is the window itself.
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

fn content_height() -> u32 {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .map(|e| e.scroll_height().max(0) as u32)
        .unwrap_or(0)
}

fn post(event: FrameEvent, lab: Lab, height: u32) {
    let Some(parent) = parent() else { return };
    if let Ok(msg) = serde_wasm_bindgen::to_value(&FrameMessage::new(event, lab.key(), height)) {
        let _ = parent.post_message(&msg, "*");
    }
}

/// Starts the height reports and the theme listener for the page's lab.
pub fn install(lab: Memo<Lab>, theme: RwSignal<Theme>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let last = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
        let h = content_height();
        if h != last.get() {
            let event = if last.get() == 0 {
                FrameEvent::Ready
            } else {
                FrameEvent::Resize
            };
            last.set(h);
            post(event, lab.get_untracked(), h);
        }
    });
    if let (Ok(observer), Some(root)) = (
        web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()),
        document.document_element(),
    ) {
        observer.observe(&root);
        if let Some(body) = document.body() {
            observer.observe(&body);
        }
        std::mem::forget(observer);
    }
    on_resize.forget();
    let handle = window_event_listener(leptos::ev::message, move |ev| {
        let Ok(msg) = serde_wasm_bindgen::from_value::<HostMessage>(ev.data()) else {
            return;
        };
        if !msg.is_ours() {
            return;
        }
        match msg.request {
            HostRequest::SetTheme => {
                if let Some(t) = Theme::from_name(&msg.theme) {
                    theme.set(t);
                }
            }
        }
    });
    on_cleanup(move || handle.remove());
}
