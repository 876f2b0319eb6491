//! The one place where Rust errors become JavaScript errors.

use scalelab_core::CoreError;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** The `name` of every Error thrown by this package: a stable code to branch on. */
export type ScalelabErrorName =
  | "EmptyInput"
  | "NonFinite"
  | "NotANumber"
  | "OutOfRange"
  | "IndexOutOfRange"
  | "DimensionMismatch"
  | "InvalidValue"
  | "TooFewPoints"
  | "LogOfNonPositive"
  | "NegativeWeight"
  | "InvalidBounds"
  | "ModelUndefined"
  | "InvalidFormula"
  | "InvalidCsv";
"#;

/// An error on its way to JavaScript.
#[derive(Debug)]
pub struct ScalelabError(pub CoreError);

impl From<CoreError> for ScalelabError {
    fn from(e: CoreError) -> Self {
        ScalelabError(e)
    }
}

impl From<ScalelabError> for JsValue {
    /// A real `Error` (with a stack) whose `name` is the variant name and whose `message` says what to fix.
    fn from(e: ScalelabError) -> JsValue {
        let err = js_sys::Error::new(&e.0.to_string());
        err.set_name(e.0.code());
        err.into()
    }
}
