//! StableMax, softmax, their cross-entropies and gradients, emulated precisions and the
//! Softmax-Collapse detector.

use crate::ScalelabError;
use scalelab_core::stablemax::{self as core, Loss};
use scalelab_core::{io, Precision};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Emulated floating-point formats. */
export type Precision = "f16" | "bf16" | "f32" | "f64";
/** Which cross-entropy. */
export type Loss = "softmax" | "stablemax";
/** A logit vector: a Float64Array or a plain array of numbers. */
export type Logits = Float64Array | number[];
/** Result of `evaluate`: every step computed in the chosen precision. */
export interface Evaluation {
  /** Class probabilities. */
  probs: number[];
  /** Cross-entropy of the correct class. */
  loss: number;
  /** Gradient of the loss with respect to the (scaled) logits. */
  grad: number[];
  /** The max-shifted softmax exp-sum in that precision. */
  sumExp: number;
  /** Softmax Collapse: `sumExp` is exactly 1. */
  collapsed: boolean;
}
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

fn precision(name: &str) -> Result<Precision> {
    Ok(name.parse::<Precision>()?)
}

fn loss(name: &str) -> Result<Loss> {
    Ok(name.parse::<Loss>()?)
}

/// `s(x) = x + 1` for `x ≥ 0`, `1 / (1 − x)` for `x < 0` (Prieto et al. 2025, Def. 4).
#[wasm_bindgen]
pub fn s(x: f64) -> f64 {
    core::s(x)
}

/// `StableMax(z)_i = s(z_i) / Σ_j s(z_j)`.
#[wasm_bindgen]
pub fn stablemax(#[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64]) -> Result<Vec<f64>> {
    Ok(core::stablemax(z)?)
}

/// `log StableMax(z)`.
#[wasm_bindgen(js_name = logStablemax)]
pub fn log_stablemax(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
) -> Result<Vec<f64>> {
    Ok(core::log_stablemax(z)?)
}

/// Numerically stable softmax (max-shifted).
#[wasm_bindgen]
pub fn softmax(#[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64]) -> Result<Vec<f64>> {
    Ok(core::softmax(z)?)
}

/// Numerically stable log-softmax (log-sum-exp).
#[wasm_bindgen(js_name = logSoftmax)]
pub fn log_softmax(#[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64]) -> Result<Vec<f64>> {
    Ok(core::log_softmax(z)?)
}

/// Softmax cross-entropy `−log softmax(z)_target`.
#[wasm_bindgen(js_name = softmaxCrossEntropy)]
pub fn softmax_cross_entropy(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    target: usize,
) -> Result<f64> {
    Ok(core::softmax_cross_entropy(z, target)?)
}

/// StableMax cross-entropy `−log StableMax(z)_target`.
#[wasm_bindgen(js_name = stablemaxCrossEntropy)]
pub fn stablemax_cross_entropy(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    target: usize,
) -> Result<f64> {
    Ok(core::stablemax_cross_entropy(z, target)?)
}

/// Gradient of the softmax cross-entropy with respect to the logits: `softmax(z) − onehot(target)`.
#[wasm_bindgen(js_name = softmaxCrossEntropyGrad)]
pub fn softmax_cross_entropy_grad(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    target: usize,
) -> Result<Vec<f64>> {
    Ok(core::softmax_cross_entropy_grad(z, target)?)
}

/// Gradient of the StableMax cross-entropy with respect to the logits.
#[wasm_bindgen(js_name = stablemaxCrossEntropyGrad)]
pub fn stablemax_cross_entropy_grad(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    target: usize,
) -> Result<Vec<f64>> {
    Ok(core::stablemax_cross_entropy_grad(z, target)?)
}

/// `x` rounded to nearest-even in `precision`.
#[wasm_bindgen(js_name = roundTo)]
pub fn round_to(
    x: f64,
    #[wasm_bindgen(unchecked_param_type = "Precision")] precision_name: &str,
) -> Result<f64> {
    Ok(precision(precision_name)?.round(x))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationDto {
    probs: Vec<f64>,
    loss: f64,
    grad: Vec<f64>,
    sum_exp: f64,
    collapsed: bool,
}

/// Probabilities, loss and gradient of `loss` for `scale · z` with every operation rounded to
/// `precision`, plus the Softmax-Collapse check.
#[wasm_bindgen(unchecked_return_type = "Evaluation")]
pub fn evaluate(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    target: usize,
    scale: f64,
    #[wasm_bindgen(unchecked_param_type = "Loss")] loss_name: &str,
    #[wasm_bindgen(unchecked_param_type = "Precision")] precision_name: &str,
) -> Result<JsValue> {
    let e = core::evaluate(
        z,
        target,
        scale,
        loss(loss_name)?,
        precision(precision_name)?,
    )?;
    let dto = EvaluationDto {
        probs: e.probs,
        loss: e.loss,
        grad: e.grad,
        sum_exp: e.sum_exp,
        collapsed: e.collapsed,
    };
    Ok(serde_wasm_bindgen::to_value(&dto).unwrap_or(JsValue::UNDEFINED))
}

/// Softmax Collapse of one row as the paper's logger tests it: the max-shifted exp-sum is exactly 1 in
/// `precision`.
#[wasm_bindgen(js_name = isCollapsed)]
pub fn is_collapsed(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Precision")] precision_name: &str,
) -> Result<bool> {
    Ok(core::is_collapsed(z, precision(precision_name)?)?)
}

/// Fraction of the rows of a row-major batch (`nCols` per row) that are collapsed in `precision`.
#[wasm_bindgen(js_name = softmaxCollapseFraction)]
pub fn softmax_collapse_fraction(
    #[wasm_bindgen(unchecked_param_type = "Logits")] rows: &[f64],
    n_cols: usize,
    #[wasm_bindgen(unchecked_param_type = "Precision")] precision_name: &str,
) -> Result<f64> {
    Ok(core::softmax_collapse_fraction(
        rows,
        n_cols,
        precision(precision_name)?,
    )?)
}

/// The smallest scale `k` in `[minScale, maxScale]` at which `k · z` collapses in `precision`, or
/// `undefined` if it does not collapse within the range.
#[wasm_bindgen(js_name = collapseOnsetScale)]
pub fn collapse_onset_scale(
    #[wasm_bindgen(unchecked_param_type = "Logits")] z: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Precision")] precision_name: &str,
    min_scale: f64,
    max_scale: f64,
) -> Result<Option<f64>> {
    Ok(core::collapse_onset_scale(
        z,
        precision(precision_name)?,
        min_scale,
        max_scale,
    )?)
}

/// Parses a typed or pasted list of numbers (`"2, 1 0.5; -1"`, `"[0, 1, 2]"`).
#[wasm_bindgen(js_name = parseNumbers)]
pub fn parse_numbers(text: &str) -> Result<Vec<f64>> {
    Ok(io::parse_numbers(text, "numbers")?)
}
