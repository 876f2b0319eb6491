//! The npm package `scalelab`: thin `wasm-bindgen` exports over `scalelab-core` and `scalelab-gpu`,
//! with TypeScript types.
//!
//! No numerics live here. Inputs are converted, the core is called, and every error crosses into
//! JavaScript through one conversion ([`ScalelabError`] → JS `Error` whose `name` is the stable code).
#![warn(missing_docs)]

mod calibrate;
mod compute;
mod error;
mod fit;
mod grokking;
mod guidance;
mod options;
mod stablemax;

pub use calibrate::*;
pub use compute::*;
pub use error::ScalelabError;
pub use fit::*;
pub use grokking::*;
pub use guidance::*;
pub use stablemax::*;

/// Runs when the module is instantiated: a panic (a bug, never expected from user input) then
/// reports its message on the console instead of a bare `RuntimeError: unreachable`.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A result as a plain JS value (the one serializer of the exports: absent options as `null`).
fn to_js<T: serde::Serialize>(v: &T) -> wasm_bindgen::JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true))
        .unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
}
