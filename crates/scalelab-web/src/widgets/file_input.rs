//! The labs' file inputs: the file chosen in an `<input type=file>` or dropped on a box, and its
//! text read into wasm in chunks (as a paste is: [`super::text_box::js_to_string`]).

use wasm_bindgen::JsCast;

/// The first file chosen in the `<input type=file>` whose `change` event this is.
pub fn chosen_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    chosen_files(ev).into_iter().next()
}

/// Every file chosen in the `<input type=file multiple>` whose `change` event this is.
pub fn chosen_files(ev: &web_sys::Event) -> Vec<web_sys::File> {
    let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
    input.and_then(|i| i.files()).map(list).unwrap_or_default()
}

/// The first file of a `drop` event (whose default, opening the file, is prevented).
pub fn dropped_file(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    dropped_files(ev).into_iter().next()
}

/// Every file of a `drop` event (whose default, opening the files, is prevented).
pub fn dropped_files(ev: &web_sys::DragEvent) -> Vec<web_sys::File> {
    ev.prevent_default();
    ev.data_transfer()
        .and_then(|d| d.files())
        .map(list)
        .unwrap_or_default()
}

fn list(files: web_sys::FileList) -> Vec<web_sys::File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

/// The file's bytes, or `None` when the browser cannot read it.
pub async fn file_bytes(file: &web_sys::File) -> Option<Vec<u8>> {
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buf).to_vec())
}

/// The file's text, or `None` when the browser cannot read it as text.
pub async fn file_text(file: &web_sys::File) -> Option<String> {
    let v = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()?;
    super::text_box::js_to_string(v.unchecked_into()).await
}
