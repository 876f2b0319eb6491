//! The one place where Rust errors become JavaScript errors.

use scalelab_core::CoreError;
use scalelab_gpu::GpuError;
use wasm_bindgen::prelude::*;

/// The TypeScript union of every error `name`; a test checks it lists exactly the variants of
/// `CoreError` and `GpuError` (a new variant without its name here fails the build's tests).
// Read by the custom section below through const evaluation, which the dead-code lint does not see.
#[allow(dead_code)]
const TS_ERROR_NAMES: &str = r#"
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
  | "StepOutsideSchedule"
  | "NoOptimalTemperature"
  | "ZeroLabelProbability"
  | "InvalidArrayFile"
  | "InvalidFormula"
  | "InvalidCsv"
  // From the GPU kernels (`ComputeContext`):
  | "NoAdapter"
  | "RequestDevice"
  | "TooLarge"
  | "InvalidInput"
  | "Validation"
  | "Readback"
  | "DeviceLost";
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = TS_ERROR_NAMES;

/// An error on its way to JavaScript: from the numerics core or from the GPU kernels.
#[derive(Debug)]
pub enum ScalelabError {
    /// From `scalelab-core`.
    Core(CoreError),
    /// From `scalelab-gpu` (also the CPU fallback's input errors, reported the same way).
    Gpu(GpuError),
}

impl ScalelabError {
    /// The stable code that becomes the JS error's `name`.
    pub fn code(&self) -> &'static str {
        match self {
            ScalelabError::Core(e) => e.code(),
            ScalelabError::Gpu(e) => e.code(),
        }
    }
}

impl std::fmt::Display for ScalelabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalelabError::Core(e) => e.fmt(f),
            ScalelabError::Gpu(e) => e.fmt(f),
        }
    }
}

impl From<CoreError> for ScalelabError {
    fn from(e: CoreError) -> Self {
        ScalelabError::Core(e)
    }
}

impl From<GpuError> for ScalelabError {
    fn from(e: GpuError) -> Self {
        ScalelabError::Gpu(e)
    }
}

impl From<ScalelabError> for JsValue {
    /// A real `Error` (with a stack) whose `name` is the variant name and whose `message` says what to fix.
    fn from(e: ScalelabError) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        err.set_name(e.code());
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use super::TS_ERROR_NAMES as TS_ERROR;
    use scalelab_core::CoreErrorCode;
    use scalelab_gpu::GpuErrorCode;
    use strum::VariantArray;

    #[test]
    fn the_typescript_union_lists_every_rust_error_code() {
        let mut ts: Vec<&str> = TS_ERROR
            .lines()
            .filter_map(|l| l.trim().strip_prefix("| \""))
            .map(|l| l.trim_end_matches(';').trim_end_matches('"'))
            .collect();
        let mut rust: Vec<&str> = CoreErrorCode::VARIANTS
            .iter()
            .map(|c| c.as_str())
            .chain(GpuErrorCode::VARIANTS.iter().map(|c| c.as_str()))
            .collect();
        ts.sort_unstable();
        rust.sort_unstable();
        assert_eq!(ts, rust);
    }
}
