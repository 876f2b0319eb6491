//! Options objects read from JavaScript, with unknown keys refused by name.

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::ScalelabError;
use scalelab_core::CoreError;

type Result<T> = std::result::Result<T, ScalelabError>;

/// An `InvalidValue` error naming `what`.
pub(crate) fn invalid(what: &'static str, e: impl std::fmt::Display) -> ScalelabError {
    CoreError::InvalidValue {
        what,
        reason: e.to_string(),
    }
    .into()
}

/// An options object (`undefined`/`null`: the defaults). A key not in `known` is an error naming
/// it (serde_wasm_bindgen reads only the fields it knows, so a typo would be ignored silently).
pub(crate) fn options<T: for<'de> Deserialize<'de> + Default>(
    what: &'static str,
    known: &[&str],
    v: Option<js_sys::Object>,
) -> Result<T> {
    let Some(v) = v.map(JsValue::from) else {
        return Ok(T::default());
    };
    if let Some(obj) = v.dyn_ref::<js_sys::Object>() {
        for key in js_sys::Object::keys(obj).iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                return Err(invalid(
                    what,
                    format!("unknown option “{key}” (known: {})", known.join(", ")),
                ));
            }
        }
    }
    serde_wasm_bindgen::from_value(v).map_err(|e| invalid(what, e))
}
