//! The labs' file inputs: the file chosen in an `<input type=file>` or dropped on a box, and its
//! text read into wasm in chunks (as a paste is: [`super::text_box::js_to_string`]).

use wasm_bindgen::JsCast;

/// The first file chosen in the `<input type=file>` whose `change` event this is.
pub fn chosen_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    input.files()?.get(0)
}

/// The first file of a `drop` event (whose default, opening the file, is prevented).
pub fn dropped_file(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    ev.prevent_default();
    ev.data_transfer()?.files()?.get(0)
}

/// The file's text, or `None` when the browser cannot read it as text.
pub async fn file_text(file: &web_sys::File) -> Option<String> {
    let v = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()?;
    super::text_box::js_to_string(v.unchecked_into()).await
}
