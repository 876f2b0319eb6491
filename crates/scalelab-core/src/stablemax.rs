//! StableMax, softmax, their cross-entropies and gradients, and the Softmax-Collapse (SC)
//! detector, in `f64` and in emulated reduced precision.
//!
//! Reference: Prieto, Barsbey, Mediano, Birdal, "Grokking at the Edge of Numerical Stability"
//! (ICLR 2025), and its code (`utils.py`, `logger.py`); see `science.md` §1.1–1.3.
//!
//! Conventions:
//! - `z` are the logits of one sample, `target` (`y`) the 0-based index of the correct class.
//! - Softmax: `p_i = e^{z_i − m} / Σ_j e^{z_j − m}` with `m = max_j z_j`; cross-entropy
//!   `L = −log p_y = −(z_y − m − log Σ_j e^{z_j − m})`; `∂L/∂z_i = p_i − 1{i=y}`.
//! - StableMax: `s(x) = x + 1` for `x ≥ 0`, `1/(1 − x)` for `x < 0`; `p_i = s(z_i) / Σ_j s(z_j)`;
//!   `L = −log p_y`; `∂L/∂z_i = s'(z_i)/Σ_j s(z_j) − 1{i=y} s'(z_y)/s(z_y)`.
//! - Sums are sequential, left to right (index 0 first).
//! - Every public function validates its input: empty → [`CoreError::EmptyInput`], NaN/±inf →
//!   [`CoreError::NonFinite`] (with the index), bad target → [`CoreError::IndexOutOfRange`].

use std::fmt;
use std::str::FromStr;

use crate::{CoreError, Precision};

/// `Result` with [`CoreError`].
pub type Result<T> = std::result::Result<T, CoreError>;

/// Largest number of bisection steps [`collapse_onset_scale`] takes (far more than the
/// ≈ 2100 halvings between `f64::MIN_POSITIVE` and `f64::MAX` would need at relative 1e-9 —
/// a guard, not a tolerance).
const MAX_BISECTION_STEPS: usize = 4096;

/// Relative width at which [`collapse_onset_scale`] stops bisecting.
const ONSET_REL_TOL: f64 = 1e-9;

// ---------------------------------------------------------------------------------------------
// s and s'
// ---------------------------------------------------------------------------------------------

/// StableMax's positive map: `s(x) = x + 1` for `x ≥ 0`, `s(x) = 1/(1 − x)` for `x < 0`.
///
/// `s` is C¹ (`s(0) = 1`, `s'(0) = 1`), positive and increasing. Examples (science.md §7.1):
/// `s(−1) = 0.5`, `s(−3) = 0.25`, `s(0) = 1`, `s(2) = 3`.
pub fn s(x: f64) -> f64 {
    s_in(x, Precision::F64)
}

/// Derivative of [`s`]: `s'(x) = 1` for `x ≥ 0`, `s'(x) = 1/(1 − x)² = s(x)²` for `x < 0`.
pub fn s_prime(x: f64) -> f64 {
    s_prime_in(x, s(x), Precision::F64)
}

/// `s(x)` with each operation rounded to `p`: `round(x + 1)` or `round(1 / round(1 − x))`.
fn s_in(x: f64, p: Precision) -> f64 {
    if x >= 0.0 {
        p.round(x + 1.0)
    } else {
        p.round(1.0 / p.round(1.0 - x))
    }
}

/// `s'(x)` given `sx = s(x)` (already in `p`): `1`, or `round(sx · sx)` for `x < 0`.
fn s_prime_in(x: f64, sx: f64, p: Precision) -> f64 {
    if x >= 0.0 {
        1.0
    } else {
        p.round(sx * sx)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn check_logits(z: &[f64]) -> Result<()> {
    CoreError::check_finite_nonempty("logits", z)
}

fn check_target(z: &[f64], target: usize) -> Result<()> {
    if target < z.len() {
        Ok(())
    } else {
        Err(CoreError::IndexOutOfRange {
            what: "target",
            index: target,
            len: z.len(),
        })
    }
}

fn check_scale(what: &'static str, scale: f64) -> Result<()> {
    if !scale.is_finite() {
        return Err(CoreError::NonFinite {
            what,
            index: 0,
            value: scale,
        });
    }
    if scale <= 0.0 {
        return Err(CoreError::OutOfRange {
            what,
            value: scale,
            min: f64::MIN_POSITIVE,
            max: f64::MAX,
        });
    }
    Ok(())
}

/// The `what` of a cast overflow: names the format and the fix.
fn cast_overflow_what(p: Precision) -> &'static str {
    match p {
        Precision::F16 => "logit × scale, cast to f16 (lower the scale or pick a wider precision)",
        Precision::BF16 => {
            "logit × scale, cast to bf16 (lower the scale or pick a wider precision)"
        }
        Precision::F32 => "logit × scale, cast to f32 (lower the scale or pick a wider precision)",
        Precision::F64 => "logit × scale (lower the scale)",
    }
}

/// `round_p(scale · z_i)` for every logit, or `OutOfRange` if one overflows the format.
fn cast_scaled(z: &[f64], scale: f64, p: Precision) -> Result<Vec<f64>> {
    z.iter()
        .map(|&zi| {
            let v = scale * zi;
            let r = p.round(v);
            if r.is_finite() {
                Ok(r)
            } else {
                Err(CoreError::OutOfRange {
                    what: cast_overflow_what(p),
                    value: v,
                    min: -p.max_finite(),
                    max: p.max_finite(),
                })
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The two op sequences, parameterised by the precision (identity rounding for f64)
// ---------------------------------------------------------------------------------------------

/// Sequential sum, rounding after every addition.
fn sum_in(values: &[f64], p: Precision) -> f64 {
    values.iter().fold(0.0, |acc, &v| p.round(acc + v))
}

/// Shifted exponentials `e_i = round(exp(round(z_i − m)))`, the shifted logits, and `Σ e_i`.
struct SoftmaxParts {
    shifted: Vec<f64>,
    exps: Vec<f64>,
    sum_exp: f64,
}

/// The logger's and `log_softmax`'s first steps: `m = max z`, `o_i = round(z_i − m)`,
/// `e_i = round(exp(o_i))`, `Σ` sequential with rounding. `z` must already be in `p`.
fn softmax_parts(z: &[f64], p: Precision) -> SoftmaxParts {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let shifted: Vec<f64> = z.iter().map(|&zi| p.round(zi - m)).collect();
    let exps: Vec<f64> = shifted.iter().map(|&o| p.round(o.exp())).collect();
    let sum_exp = sum_in(&exps, p);
    SoftmaxParts {
        shifted,
        exps,
        sum_exp,
    }
}

/// `p_i = round(e_i / Σ)`.
fn divide_all(values: &[f64], sum: f64, p: Precision) -> Vec<f64> {
    values.iter().map(|&v| p.round(v / sum)).collect()
}

/// Softmax CE `round(o_y − round(ln Σ))`, negated exactly (`0 − x`, so never `−0`).
fn softmax_loss(parts: &SoftmaxParts, target: usize, p: Precision) -> f64 {
    let log_p_y = p.round(parts.shifted[target] - p.round(parts.sum_exp.ln()));
    0.0 - log_p_y
}

/// `round(p_i − 1{i=y})`.
fn softmax_grad(probs: &[f64], target: usize, p: Precision) -> Vec<f64> {
    let mut g = probs.to_vec();
    g[target] = p.round(g[target] - 1.0);
    g
}

/// `s_i = s(z_i)` in `p` and `Σ s_i` (sequential, rounded). `z` must already be in `p`.
fn stablemax_parts(z: &[f64], p: Precision) -> (Vec<f64>, f64) {
    let sv: Vec<f64> = z.iter().map(|&zi| s_in(zi, p)).collect();
    let sum = sum_in(&sv, p);
    (sv, sum)
}

/// [`stablemax_parts`] in `f64`, refusing a sum that overflows (logits summing beyond `f64::MAX`),
/// where every probability would silently become 0.
fn stablemax_parts_f64(z: &[f64]) -> Result<(Vec<f64>, f64)> {
    let (sv, sum) = stablemax_parts(z, Precision::F64);
    if sum.is_finite() {
        Ok((sv, sum))
    } else {
        Err(CoreError::OutOfRange {
            what: "sum of s(logit) over the row (scale the logits down)",
            value: sum,
            min: 0.0,
            max: f64::MAX,
        })
    }
}

/// StableMax CE as in the reference code `torch.log(s_x / Σ s)`: `0 − round(ln p_y)`.
fn stablemax_loss(probs: &[f64], target: usize, p: Precision) -> f64 {
    0.0 - p.round(probs[target].ln())
}

/// `g_i = round(s'(z_i)/Σ)`, then `g_y = round(g_y − round(s'(z_y)/s(z_y)))`.
fn stablemax_grad(z: &[f64], sv: &[f64], sum: f64, target: usize, p: Precision) -> Vec<f64> {
    let sp: Vec<f64> = z
        .iter()
        .zip(sv)
        .map(|(&zi, &si)| s_prime_in(zi, si, p))
        .collect();
    let mut g = divide_all(&sp, sum, p);
    g[target] = p.round(g[target] - p.round(sp[target] / sv[target]));
    g
}

// ---------------------------------------------------------------------------------------------
// Plain f64 functions
// ---------------------------------------------------------------------------------------------

/// StableMax: `p_i = s(z_i) / Σ_j s(z_j)` (sequential sum).
///
/// Example (science.md §7.2–7.3): `[0, 1, 2] → [1/6, 1/3, 1/2]`, `[−1, 0, 1] → [1/7, 2/7, 4/7]`.
/// `OutOfRange` if `Σ s(z_j)` overflows `f64` (the StableMax functions share this rule).
pub fn stablemax(z: &[f64]) -> Result<Vec<f64>> {
    check_logits(z)?;
    let (sv, sum) = stablemax_parts_f64(z)?;
    Ok(divide_all(&sv, sum, Precision::F64))
}

/// `ln StableMax(z)_i = ln s(z_i) − ln Σ_j s(z_j)`, computed stably:
/// `ln s(x) = ln1p(x)` for `x ≥ 0`, `−ln1p(−x)` for `x < 0`, and
/// `ln Σ s = ln s_max + ln Σ_j (s_j / s_max)`, so nothing overflows or underflows for any finite
/// `z` (the reference code's `log(s / Σ s)` gives `−inf` when `s_i / Σ` underflows).
pub fn log_stablemax(z: &[f64]) -> Result<Vec<f64>> {
    check_logits(z)?;
    let log_s: Vec<f64> = z
        .iter()
        .map(|&x| if x >= 0.0 { x.ln_1p() } else { -(-x).ln_1p() })
        .collect();
    let sv: Vec<f64> = z.iter().map(|&x| s(x)).collect();
    let (i_max, s_max) =
        sv.iter()
            .copied()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, v)| {
                if v > best.1 {
                    (i, v)
                } else {
                    best
                }
            });
    let rel_sum: f64 = sv.iter().map(|&v| v / s_max).sum();
    let log_s_max = log_s[i_max];
    let log_rel_sum = rel_sum.ln();
    Ok(log_s
        .iter()
        .map(|&l| (l - log_s_max) - log_rel_sum)
        .collect())
}

/// Softmax: `p_i = e^{z_i − m} / Σ_j e^{z_j − m}`, `m = max z` (sequential sum).
///
/// Example (science.md §7.2): `[0, 1, 2] → [0.0900305732, 0.2447284711, 0.6652409558]`.
pub fn softmax(z: &[f64]) -> Result<Vec<f64>> {
    check_logits(z)?;
    let parts = softmax_parts(z, Precision::F64);
    Ok(divide_all(&parts.exps, parts.sum_exp, Precision::F64))
}

/// `ln softmax(z)_i = (z_i − m) − ln Σ_j e^{z_j − m}` (log-sum-exp with the max shift).
pub fn log_softmax(z: &[f64]) -> Result<Vec<f64>> {
    check_logits(z)?;
    let parts = softmax_parts(z, Precision::F64);
    let lse = parts.sum_exp.ln();
    Ok(parts.shifted.iter().map(|&o| o - lse).collect())
}

/// Softmax cross-entropy `L = −(z_y − m − ln Σ_j e^{z_j − m})` (science.md Eq. 1).
pub fn softmax_cross_entropy(z: &[f64], target: usize) -> Result<f64> {
    check_logits(z)?;
    check_target(z, target)?;
    let parts = softmax_parts(z, Precision::F64);
    Ok(softmax_loss(&parts, target, Precision::F64))
}

/// StableMax cross-entropy `L = −ln(s(z_y) / Σ_j s(z_j))`, the reference code's op sequence.
///
/// Example (science.md §7.2–7.3): `([0,1,2], 0) → ln 6`, `([5,−5,0], 0) → 0.1776811772`.
/// Its value agrees with `−log_stablemax(z)[y]` to rounding, except that it gives `+inf` when
/// `p_y` underflows `f64` (`|z_y| · Σ s ≳ 1e323`); use [`log_stablemax`] there.
pub fn stablemax_cross_entropy(z: &[f64], target: usize) -> Result<f64> {
    check_logits(z)?;
    check_target(z, target)?;
    let (sv, sum) = stablemax_parts_f64(z)?;
    let probs = divide_all(&sv, sum, Precision::F64);
    Ok(stablemax_loss(&probs, target, Precision::F64))
}

/// Gradient of the softmax cross-entropy: `∂L/∂z_i = p_i − 1{i=y}`.
pub fn softmax_cross_entropy_grad(z: &[f64], target: usize) -> Result<Vec<f64>> {
    check_logits(z)?;
    check_target(z, target)?;
    let parts = softmax_parts(z, Precision::F64);
    let probs = divide_all(&parts.exps, parts.sum_exp, Precision::F64);
    Ok(softmax_grad(&probs, target, Precision::F64))
}

/// Gradient of the StableMax cross-entropy `L = −ln s(z_y) + ln Σ_j s(z_j)`:
/// `∂L/∂z_i = s'(z_i)/Σ_j s(z_j) − 1{i=y} · s'(z_y)/s(z_y)`, with `s'` from [`s_prime`].
pub fn stablemax_cross_entropy_grad(z: &[f64], target: usize) -> Result<Vec<f64>> {
    check_logits(z)?;
    check_target(z, target)?;
    let (sv, sum) = stablemax_parts_f64(z)?;
    Ok(stablemax_grad(z, &sv, sum, target, Precision::F64))
}

// ---------------------------------------------------------------------------------------------
// Loss choice and emulated evaluation
// ---------------------------------------------------------------------------------------------

/// Which output map and cross-entropy to use. Serialized (serde) as `"softmax"` / `"stablemax"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Softmax cross-entropy (SCE).
    Softmax,
    /// StableMax cross-entropy (StCE).
    StableMax,
}

impl Loss {
    /// `"softmax"` or `"stablemax"` (also the serde form).
    pub fn name(self) -> &'static str {
        match self {
            Loss::Softmax => "softmax",
            Loss::StableMax => "stablemax",
        }
    }
}

impl fmt::Display for Loss {
    /// Writes [`Loss::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = CoreError;

    /// Parses `softmax` or `stablemax`, ignoring case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "softmax" => Ok(Loss::Softmax),
            "stablemax" => Ok(Loss::StableMax),
            _ => Err(CoreError::InvalidValue {
                what: "loss",
                reason: format!("unknown loss {s:?}; use \"softmax\" or \"stablemax\""),
            }),
        }
    }
}

/// One sample evaluated in an emulated precision (see [`evaluate`]). All values are exactly
/// representable in that precision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Output probabilities of the selected loss's map (softmax or StableMax).
    pub probs: Vec<f64>,
    /// Cross-entropy of the selected loss (`+inf` if `p_y` underflows, or an intermediate
    /// overflows, in that precision — as the real format would give).
    pub loss: f64,
    /// `∂loss/∂z` (with respect to the scaled logits).
    pub grad: Vec<f64>,
    /// Softmax's max-shifted exp-sum `Σ_j e^{z_j − m}` in that precision (always softmax).
    pub sum_exp: f64,
    /// Softmax Collapse: `sum_exp == 1` exactly (the logger's criterion, whatever the loss).
    pub collapsed: bool,
}

/// Evaluates one sample with logits `scale · z`, emulating computation in `precision`.
///
/// Steps (each arithmetic result rounded to `precision` with [`Precision::round`], sums
/// sequential left to right), mirroring the reference code run with `--softmax_precision`:
/// 1. `z'_i = round(scale · z_i)` (the cast); an overflow of the format is `OutOfRange`.
/// 2. Softmax path (always computed): `m = max z'`, `o_i = round(z'_i − m)`,
///    `e_i = round(exp o_i)`, `sum_exp = Σ e_i`, `p_i = round(e_i / sum_exp)`,
///    `loss = −round(o_y − round(ln sum_exp))`, `grad_i = round(p_i − 1{i=y})`,
///    `collapsed = (sum_exp == 1)`.
/// 3. StableMax path (if selected): `s_i = round(z'_i + 1)` or `round(1/round(1 − z'_i))`,
///    `Σ s`, `p_i = round(s_i / Σ)`, `loss = −round(ln p_y)`, `s'_i = 1` or `round(s_i²)`,
///    `grad_i = round(s'_i / Σ)`, `grad_y = round(grad_y − round(s'_y / s_y))`.
///
/// Deviations from PyTorch: `exp`/`ln` are rounded from `f64` (PyTorch evaluates them in `f32`
/// for `f16`/`bf16`; results differ by at most one unit in the last place), and sums are
/// sequential in the format (PyTorch accumulates `f16`/`bf16` sums in `f32`; this only differs
/// with more than two classes). With [`Precision::F64`] the result equals [`softmax`],
/// [`softmax_cross_entropy`], … of `scale · z` exactly (where those return `Ok`: the plain
/// StableMax functions refuse an overflowing `Σ s`, `evaluate` reports the `inf` it produces).
///
/// Errors: empty/non-finite `z`, `target ≥ z.len()`, non-finite or non-positive `scale`,
/// or `scale · z_i` beyond the format's largest finite value.
pub fn evaluate(
    z: &[f64],
    target: usize,
    scale: f64,
    loss: Loss,
    precision: Precision,
) -> Result<Evaluation> {
    check_logits(z)?;
    check_target(z, target)?;
    check_scale("scale", scale)?;
    let zc = cast_scaled(z, scale, precision)?;
    let p = precision;

    let parts = softmax_parts(&zc, p);
    let sum_exp = parts.sum_exp;
    let collapsed = sum_exp == 1.0;

    let (probs, loss_value, grad) = match loss {
        Loss::Softmax => {
            let probs = divide_all(&parts.exps, parts.sum_exp, p);
            let l = softmax_loss(&parts, target, p);
            let g = softmax_grad(&probs, target, p);
            (probs, l, g)
        }
        Loss::StableMax => {
            let (sv, sum) = stablemax_parts(&zc, p);
            let probs = divide_all(&sv, sum, p);
            let l = stablemax_loss(&probs, target, p);
            let g = stablemax_grad(&zc, &sv, sum, target, p);
            (probs, l, g)
        }
    };
    Ok(Evaluation {
        probs,
        loss: loss_value,
        grad,
        sum_exp,
        collapsed,
    })
}

/// `evaluate(z, target, scale, loss, precision)?.grad[target]`: the correct-class gradient
/// (`p_y − 1` for softmax), which Softmax Collapse drives to exactly 0 (science.md Eq. 4).
pub fn correct_class_gradient(
    z: &[f64],
    target: usize,
    scale: f64,
    loss: Loss,
    precision: Precision,
) -> Result<f64> {
    Ok(evaluate(z, target, scale, loss, precision)?.grad[target])
}

// ---------------------------------------------------------------------------------------------
// Softmax Collapse detector
// ---------------------------------------------------------------------------------------------

/// The logger's SC test on one already-cast row: shifted exp-sum `== 1` exactly.
fn collapsed_in(zc: &[f64], p: Precision) -> bool {
    softmax_parts(zc, p).sum_exp == 1.0
}

/// Softmax Collapse of one sample, by the reference logger's procedure
/// (`logger.py::compute_softmax_collapse`, science.md §1.3): cast `z` to `precision`,
/// `o = z − max z`, `sum_exp = Σ exp(o)` (each op rounded, sequential sum), collapsed iff
/// `sum_exp == 1` exactly.
///
/// Example (science.md §7.4): `[16.7, 0]` is collapsed in `f32`, `[16.5, 0]` is not.
pub fn is_collapsed(z: &[f64], precision: Precision) -> Result<bool> {
    check_logits(z)?;
    let zc = cast_scaled(z, 1.0, precision)?;
    Ok(collapsed_in(&zc, precision))
}

/// Fraction of collapsed rows (see [`is_collapsed`]) in a row-major batch of `rows.len() / n_cols`
/// samples: `mean_r 1{sum_exp_r == 1}`, the logger's `softmax_collapse` metric.
///
/// Errors: `n_cols == 0` (`InvalidValue`), empty batch (`EmptyInput`), `rows.len()` not a
/// multiple of `n_cols` (`DimensionMismatch`), non-finite values (`NonFinite`, flat index),
/// values beyond the format's range (`OutOfRange`).
pub fn softmax_collapse_fraction(rows: &[f64], n_cols: usize, precision: Precision) -> Result<f64> {
    CoreError::check_rows("rows", rows, n_cols)?;
    if rows.is_empty() {
        return Err(CoreError::EmptyInput { what: "rows" });
    }
    let zc = cast_scaled(rows, 1.0, precision)?;
    let n_rows = rows.len() / n_cols;
    let collapsed = zc
        .chunks_exact(n_cols)
        .filter(|row| collapsed_in(row, precision))
        .count();
    Ok(collapsed as f64 / n_rows as f64)
}

/// The smallest scale `k ∈ [min_scale, max_scale]` at which `is_collapsed(k · z, precision)`
/// holds, by bisection to relative width 1e-9 (the value returned is collapsed; the shifted
/// exp-sum is non-increasing in `k`, which bisection assumes).
///
/// `None` if `k · z` is not collapsed at `max_scale` (e.g. tied maxima never collapse);
/// `Some(min_scale)` if it already is at `min_scale`. For logits `[1, 0]` the onset is close to
/// `p · ln 2` (science.md §1.3: 7.6246 / 16.6355 / 36.7368 for f16 / f32 / f64), up to the
/// format's spacing of the cast logit.
///
/// Errors: invalid `z`; scales non-finite, `≤ 0`, or `min_scale > max_scale`; `max_scale · z`
/// beyond the format's range.
pub fn collapse_onset_scale(
    z: &[f64],
    precision: Precision,
    min_scale: f64,
    max_scale: f64,
) -> Result<Option<f64>> {
    check_logits(z)?;
    check_scale("min_scale", min_scale)?;
    check_scale("max_scale", max_scale)?;
    if min_scale > max_scale {
        return Err(CoreError::OutOfRange {
            what: "min_scale (must not exceed max_scale)",
            value: min_scale,
            min: f64::MIN_POSITIVE,
            max: max_scale,
        });
    }
    let collapsed_at =
        |k: f64| -> Result<bool> { Ok(collapsed_in(&cast_scaled(z, k, precision)?, precision)) };
    if !collapsed_at(max_scale)? {
        return Ok(None);
    }
    if collapsed_at(min_scale)? {
        return Ok(Some(min_scale));
    }
    // Invariant: not collapsed at `lo`, collapsed at `hi`.
    let (mut lo, mut hi) = (min_scale, max_scale);
    for _ in 0..MAX_BISECTION_STEPS {
        if hi - lo <= ONSET_REL_TOL * hi {
            break;
        }
        let mid = lo + 0.5 * (hi - lo);
        if mid <= lo || mid >= hi {
            break;
        }
        if collapsed_at(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_and_s_prime_examples() {
        // science.md §7 item 1.
        assert_eq!(s(-1.0), 0.5);
        assert_eq!(s(-3.0), 0.25);
        assert_eq!(s(0.0), 1.0);
        assert_eq!(s(2.0), 3.0);
        // s'(x) = 1/(1-x)^2 for x < 0 (science.md §1.1 definition, differentiated by hand).
        assert_eq!(s_prime(-1.0), 0.25);
        assert_eq!(s_prime(-3.0), 0.0625);
        assert_eq!(s_prime(0.0), 1.0);
        assert_eq!(s_prime(5.0), 1.0);
    }

    #[test]
    fn sum_is_sequential_and_rounded() {
        // In f16, 1 + 2^-11 rounds to 1 (tie to even) and stays 1 when added again: sequential
        // rounding loses both; the exact sum 1 + 2^-10 is representable.
        let tiny = 2f64.powi(-11);
        assert_eq!(sum_in(&[1.0, tiny, tiny], Precision::F16), 1.0);
        // Adding the small ones first keeps them.
        assert_eq!(
            sum_in(&[tiny, tiny, 1.0], Precision::F16),
            1.0 + 2f64.powi(-10)
        );
    }

    #[test]
    fn cast_overflow_is_out_of_range() {
        let err = cast_scaled(&[1.0, 70000.0], 1.0, Precision::F16).unwrap_err();
        assert_eq!(err.code(), "OutOfRange");
        // bf16 has the f32 exponent range, so the same value is fine there.
        assert!(cast_scaled(&[1.0, 70000.0], 1.0, Precision::BF16).is_ok());
    }
}
