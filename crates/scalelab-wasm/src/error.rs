//! The one place where Rust errors become JavaScript errors.

use scalelab_core::grokking::{ConfigError, ConfigField};
use scalelab_core::guidance::{GuidanceError, GuidanceField};
use scalelab_core::CoreError;
use scalelab_gpu::GpuError;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The TypeScript union of every error `name`; a test checks it lists exactly the variants of
/// `CoreError` and `GpuError` and this package's own [`OWN_CODES`] (a new variant without its
/// name here fails the build's tests).
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
  | "DeviceLost"
  // From this package's handles (`Trainer`):
  | "Disposed"
  | "Busy";

/** A configuration field an error belongs to, as the core names it (`Trainer`'s configuration
 *  errors carry it as `field`; an unknown key carries the key as written). */
export type TrainerConfigField =
  | "p" | "train_fraction" | "hidden" | "lr" | "beta1" | "beta2" | "eps" | "momentum"
  | "weight_decay" | "eval_every" | "memory";

/** A guidance run's field an error belongs to (`sampleGuided`, `evaluateGuidance`, `guide`). */
export type GuidanceField =
  | "side" | "class" | "particles" | "steps" | "schedule" | "scale" | "eta" | "threshold" | "momentum";

/** What every Error thrown by this package carries: `name` is the code; `field`, on errors in one
 *  field of an input object (a `Trainer` configuration), names that field. */
export interface ScalelabError extends Error {
  name: ScalelabErrorName;
  field?: TrainerConfigField | GuidanceField | (string & {});
}
"#;

/// The codes of this package's own errors (not from `scalelab-core` or `scalelab-gpu`).
pub(crate) const OWN_CODES: [&str; 2] = ["Disposed", "Busy"];

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = TS_ERROR_NAMES;

/// An error on its way to JavaScript: from the numerics core or from the GPU kernels.
#[derive(Debug)]
pub enum ScalelabError {
    /// From `scalelab-core`.
    Core(CoreError),
    /// From `scalelab-gpu` (also the CPU fallback's input errors, reported the same way).
    Gpu(GpuError),
    /// A `scalelab-core` error in one field of an input object; the JS error carries the field's
    /// name (as [`Field`] serializes) as `field`.
    InField {
        /// The field.
        field: Field,
        /// What is wrong with it.
        error: CoreError,
    },
    /// A handle used after its `dispose()`.
    Disposed {
        /// The handle (`"Trainer"`).
        what: &'static str,
    },
    /// A handle used while one of its asynchronous calls runs (e.g. `stepAsync`).
    Busy {
        /// The handle (`"Trainer"`).
        what: &'static str,
    },
}

/// The field of an input object an error belongs to, serialized as its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Field {
    /// A configuration's field as the core names it (serde's snake_case: `"train_fraction"`).
    Config(ConfigField),
    /// A guidance run's field (`"scale"`, `"momentum"`, …).
    Guidance(GuidanceField),
    /// A key by name (one the core's fields do not cover, or an unknown key as written).
    Key(String),
}

impl ScalelabError {
    /// The stable code that becomes the JS error's `name`.
    pub fn code(&self) -> &'static str {
        match self {
            ScalelabError::Core(e) | ScalelabError::InField { error: e, .. } => e.code(),
            ScalelabError::Gpu(e) => e.code(),
            ScalelabError::Disposed { .. } => OWN_CODES[0],
            ScalelabError::Busy { .. } => OWN_CODES[1],
        }
    }

    /// The input field the error belongs to, if one.
    pub fn field(&self) -> Option<&Field> {
        match self {
            ScalelabError::InField { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl std::fmt::Display for ScalelabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalelabError::Core(e) | ScalelabError::InField { error: e, .. } => e.fmt(f),
            ScalelabError::Gpu(e) => e.fmt(f),
            ScalelabError::Disposed { what } => write!(
                f,
                "this {what} was disposed (dispose() frees it); create a new {what}"
            ),
            ScalelabError::Busy { what } => write!(
                f,
                "this {what} is busy with an asynchronous call; await it before calling again"
            ),
        }
    }
}

impl From<scalelab_gpu::GpuTrainError> for ScalelabError {
    fn from(e: scalelab_gpu::GpuTrainError) -> Self {
        match e {
            scalelab_gpu::GpuTrainError::Run(e) => ScalelabError::Core(e),
            scalelab_gpu::GpuTrainError::Gpu(e) => ScalelabError::Gpu(e),
        }
    }
}

impl From<ConfigError> for ScalelabError {
    fn from(e: ConfigError) -> Self {
        ScalelabError::InField {
            field: Field::Config(e.field),
            error: e.error,
        }
    }
}

impl From<GuidanceError> for ScalelabError {
    fn from(e: GuidanceError) -> Self {
        ScalelabError::InField {
            field: Field::Guidance(e.field),
            error: e.error,
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
    /// A real `Error` (with a stack) whose `name` is the variant name and whose `message` says
    /// what to fix; with a [`ScalelabError::field`], its name as the property `field`.
    fn from(e: ScalelabError) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        err.set_name(e.code());
        if let Some(field) = e.field().and_then(|f| serde_wasm_bindgen::to_value(f).ok()) {
            let _ = js_sys::Reflect::set(&err, &JsValue::from_str("field"), &field);
        }
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use super::{ScalelabError, OWN_CODES, TS_ERROR_NAMES as TS_ERROR};
    use scalelab_core::CoreErrorCode;
    use scalelab_gpu::GpuErrorCode;
    use strum::VariantArray;

    #[test]
    fn the_typescript_union_lists_every_rust_error_code() {
        let mut ts: Vec<&str> = TS_ERROR
            .split("export type TrainerConfigField")
            .next()
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("| \""))
            .map(|l| l.trim_end_matches(';').trim_end_matches('"'))
            .collect();
        let mut rust: Vec<&str> = CoreErrorCode::VARIANTS
            .iter()
            .map(|c| c.as_str())
            .chain(GpuErrorCode::VARIANTS.iter().map(|c| c.as_str()))
            .chain(OWN_CODES)
            .collect();
        ts.sort_unstable();
        rust.sort_unstable();
        assert_eq!(ts, rust);
        assert_eq!(
            ScalelabError::Disposed { what: "Trainer" }.code(),
            OWN_CODES[0]
        );
        assert_eq!(ScalelabError::Busy { what: "Trainer" }.code(), OWN_CODES[1]);
    }

    /// Every guidance field's serde name is in the TypeScript union `GuidanceField`, and only those.
    #[test]
    fn the_typescript_guidance_field_union_lists_every_guidance_field() {
        use scalelab_core::guidance::GuidanceField as G;
        let all = [
            G::Side,
            G::Class,
            G::Particles,
            G::Steps,
            G::Schedule,
            G::Scale,
            G::Eta,
            G::Threshold,
            G::Momentum,
        ];
        for f in all {
            match f {
                G::Side | G::Class | G::Particles | G::Steps | G::Schedule => {}
                G::Scale | G::Eta | G::Threshold | G::Momentum => {}
            }
        }
        let union = TS_ERROR
            .split("export type GuidanceField =")
            .nth(1)
            .and_then(|s| s.split(';').next())
            .unwrap_or_default();
        let mut ts: Vec<String> = union
            .split('|')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let mut rust: Vec<String> = all
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        ts.sort();
        rust.sort();
        assert_eq!(ts, rust);
    }

    /// Every configuration field's serde name (what the JS error's `field` carries) is in the
    /// TypeScript union `TrainerConfigField`, and the union lists nothing else.
    #[test]
    fn the_typescript_field_union_lists_every_config_field() {
        use scalelab_core::grokking::ConfigField as F;
        let all = [
            F::P,
            F::TrainFraction,
            F::Hidden,
            F::Lr,
            F::Beta1,
            F::Beta2,
            F::Eps,
            F::Momentum,
            F::WeightDecay,
            F::EvalEvery,
            F::Memory,
        ];
        // A new variant fails to compile here until it is listed above (and in the union).
        for f in all {
            match f {
                F::P | F::TrainFraction | F::Hidden | F::Lr | F::Beta1 | F::Beta2 | F::Eps => {}
                F::Momentum | F::WeightDecay | F::EvalEvery | F::Memory => {}
            }
        }
        let union = TS_ERROR
            .split("export type TrainerConfigField =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_default();
        let mut ts: Vec<&str> = union
            .split('|')
            .map(|s| s.trim().trim_matches('"'))
            .filter(|s| !s.is_empty())
            .collect();
        let mut rust: Vec<String> = all
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        ts.sort_unstable();
        rust.sort_unstable();
        assert_eq!(ts, rust);
    }
}
