//! Vector and matrix scaling (Guo et al. 2017, §4.2): an affine map of the logits, fitted by
//! minimising the mean NLL on a calibration split, with an optional L2 penalty towards the
//! identity map.
//!
//! - **vector scaling**: `a_i = w ⊙ z_i + b`, `w, b ∈ ℝᵏ`, penalty `R = Σ_j (w_j − 1)² + Σ_j b_j²`;
//! - **matrix scaling**: `a_i = W z_i + b`, `W ∈ ℝᵏˣᵏ`, penalty `R = ‖W − I‖²_F + ‖b‖²`;
//!
//! and the objective `F = (1/n) Σ_i [ln Σ_j exp(a_ij) − a_iy_i] + λ R`, convex in the parameters
//! (a log-sum-exp of affine functions plus a convex quadratic). With `λ = 0` the minimiser is not
//! unique (softmax is unchanged by adding a constant to every `a_ij`), but the calibrated
//! probabilities are; `λ > 0` makes `F` strictly convex. The gradient is exact:
//! `∂F/∂a_ij = (softmax(a_i)_j − 1[j = y_i])/n`, chained through the affine map, plus `2λ(θ − θ_I)`.
//! [`fit_scaling`] runs the crate's L-BFGS ([`crate::fit::solvers::lbfgs`]) from the identity map
//! to a gradient max-norm of [`SCALING_GTOL`], or until a step no longer lowers `F` in double
//! precision (on 10 000 rows that happens near `|∇F| ~ 1e-8`), and reports that norm with the
//! answer, as the temperature fit does.

use super::Scores;
use crate::fit::solvers::lbfgs::{minimize, LbfgsOptions};
use crate::fit::Termination;
use crate::CoreError;

/// Largest number of classes matrix scaling accepts (`k² + k` parameters; 100 classes is
/// 10 100 parameters and `n·k²` work per evaluation).
pub const MATRIX_SCALING_MAX_CLASSES: usize = 100;

/// Largest penalty weight `λ`.
pub const MAX_PENALTY: f64 = 1e6;

/// Gradient max-norm at which the fit stops.
pub const SCALING_GTOL: f64 = 1e-9;

/// Which affine map of the logits.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AffineMap {
    /// `w ⊙ z + b`.
    Vector,
    /// `W z + b`.
    Matrix,
}

/// A fitted vector or matrix scaling.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScalingFit {
    /// Which map.
    pub map: AffineMap,
    /// Number of classes `k`.
    pub classes: usize,
    /// `w` (`k` values) or `W` (`k²`, row-major: `a_j = Σ_l W_jl z_l + b_j`).
    pub weights: Vec<f64>,
    /// `b` (`k` values).
    pub bias: Vec<f64>,
    /// The penalty weight `λ`.
    pub penalty: f64,
    /// The objective `F` at the answer.
    pub objective: f64,
    /// Its mean-NLL part.
    pub nll: f64,
    /// Mean NLL of the identity map (the logits as given).
    pub nll_before: f64,
    /// `max |∂F/∂θ|` at the answer (the certificate).
    pub gradient: f64,
    /// L-BFGS steps.
    pub iterations: usize,
    /// Why L-BFGS stopped ([`Termination::GradientConverged`] unless the budget ran out).
    pub termination: Termination,
}

impl ScalingFit {
    /// The calibrated logits `a_i` of every row of `scores` (row-major, `n·k`).
    ///
    /// Errors: [`CoreError::DimensionMismatch`] when `scores` has a different number of classes,
    /// [`CoreError::NonFinite`] for a logit of −∞ (as [`fit_scaling`]).
    pub fn apply(&self, scores: &Scores<'_>) -> Result<Vec<f64>, CoreError> {
        if scores.classes() != self.classes {
            return Err(CoreError::DimensionMismatch {
                what: "classes of the scores the scaling is applied to",
                expected: self.classes,
                got: scores.classes(),
            });
        }
        check_finite_logits(scores)?;
        let k = self.classes;
        let mut out = vec![0.0; scores.len() * k];
        for (i, a) in out.chunks_exact_mut(k).enumerate() {
            affine(self.map, &self.weights, &self.bias, scores.row(i), a);
        }
        Ok(out)
    }
}

fn affine(map: AffineMap, w: &[f64], b: &[f64], z: &[f64], a: &mut [f64]) {
    let k = z.len();
    match map {
        AffineMap::Vector => {
            for j in 0..k {
                a[j] = w[j] * z[j] + b[j];
            }
        }
        AffineMap::Matrix => {
            for j in 0..k {
                let row = &w[j * k..(j + 1) * k];
                a[j] = b[j] + row.iter().zip(z).map(|(x, y)| x * y).sum::<f64>();
            }
        }
    }
}

/// Number of weights of `map` for `k` classes.
fn weight_count(map: AffineMap, k: usize) -> usize {
    match map {
        AffineMap::Vector => k,
        AffineMap::Matrix => k * k,
    }
}

/// The identity map's weights.
fn identity(map: AffineMap, k: usize) -> Vec<f64> {
    match map {
        AffineMap::Vector => vec![1.0; k],
        AffineMap::Matrix => (0..k * k)
            .map(|i| f64::from(u8::from(i / k == i % k)))
            .collect(),
    }
}

/// `F(θ)` and `∇F(θ)` (module docs); `θ = [weights…, bias…]`. Returns `(F, mean NLL)`.
fn objective(
    scores: &Scores<'_>,
    map: AffineMap,
    penalty: f64,
    theta: &[f64],
    grad: &mut [f64],
) -> (f64, f64) {
    let k = scores.classes();
    let nw = weight_count(map, k);
    let (w, b) = theta.split_at(nw);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut a = vec![0.0; k];
    let mut nll = 0.0;
    for i in 0..scores.len() {
        let z = scores.row(i);
        let y = scores.label(i);
        affine(map, w, b, z, &mut a);
        let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let shifted_label = a[y] - m;
        let mut sum = 0.0;
        for v in a.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        // a now holds exp(a − m); the row's NLL is ln Σ − (a_y − m).
        nll += sum.ln() - shifted_label;
        let (gw, gb) = grad.split_at_mut(nw);
        for j in 0..k {
            let r = a[j] / sum - f64::from(u8::from(j == y));
            gb[j] += r;
            match map {
                AffineMap::Vector => gw[j] += r * z[j],
                AffineMap::Matrix => {
                    for (g, &zl) in gw[j * k..(j + 1) * k].iter_mut().zip(z) {
                        *g += r * zl;
                    }
                }
            }
        }
    }
    let n = scores.len() as f64;
    nll /= n;
    grad.iter_mut().for_each(|g| *g /= n);
    let mut reg = 0.0;
    if penalty > 0.0 {
        let id = identity(map, k);
        for (idx, (&t, g)) in theta.iter().zip(grad.iter_mut()).enumerate() {
            let d = t - if idx < nw { id[idx] } else { 0.0 };
            reg += d * d;
            *g += 2.0 * penalty * d;
        }
    }
    (nll + penalty * reg, nll)
}

/// Errors: [`CoreError::NonFinite`] at the first logit of −∞ (a probability of 0): an affine map
/// of it is undefined (`0 · (−∞)`, `−∞ + ∞`), so these maps refuse it rather than guess.
fn check_finite_logits(scores: &Scores<'_>) -> Result<(), CoreError> {
    if scores.all_finite() {
        return Ok(());
    }
    CoreError::check_finite(
        "logits for vector and matrix scaling (a probability of 0 has the logit −∞, and an affine \
         map of it is undefined)",
        scores.logits(),
    )
}

/// Checks a penalty weight: finite and in `[0, MAX_PENALTY]`.
///
/// Errors: [`CoreError::OutOfRange`].
pub fn check_penalty(penalty: f64) -> Result<(), CoreError> {
    if (0.0..=MAX_PENALTY).contains(&penalty) {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what: "L2 penalty λ",
            value: penalty,
            min: 0.0,
            max: MAX_PENALTY,
        })
    }
}

/// Fits `map` with penalty weight `penalty` on `scores` (module docs).
///
/// Errors: [`CoreError::OutOfRange`] for a penalty outside `[0, MAX_PENALTY]` (or not finite) or
/// matrix scaling with more than [`MATRIX_SCALING_MAX_CLASSES`] classes, [`CoreError::NonFinite`]
/// for a logit of −∞.
pub fn fit_scaling(
    scores: &Scores<'_>,
    map: AffineMap,
    penalty: f64,
) -> Result<ScalingFit, CoreError> {
    check_penalty(penalty)?;
    check_finite_logits(scores)?;
    let k = scores.classes();
    if map == AffineMap::Matrix && k > MATRIX_SCALING_MAX_CLASSES {
        return Err(CoreError::OutOfRange {
            what: "number of classes for matrix scaling",
            value: k as f64,
            min: 2.0,
            max: MATRIX_SCALING_MAX_CLASSES as f64,
        });
    }
    let mut theta0 = identity(map, k);
    theta0.extend(std::iter::repeat_n(0.0, k));
    let mut scratch = vec![0.0; theta0.len()];
    let nll_before = objective(scores, map, 0.0, &theta0, &mut scratch).1;
    let opts = LbfgsOptions {
        memory: 20,
        ftol: 0.0,
        gtol: SCALING_GTOL,
        max_iterations: 20_000,
        max_evaluations: 40_000,
        ..LbfgsOptions::default()
    };
    let result = minimize(
        |theta, grad| objective(scores, map, penalty, theta, grad).0,
        &theta0,
        &opts,
    )?;
    let nll = objective(scores, map, penalty, &result.x, &mut scratch).1;
    let gradient = result.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let mut weights = result.x;
    let bias = weights.split_off(weight_count(map, k));
    Ok(ScalingFit {
        map,
        classes: k,
        weights,
        bias,
        penalty,
        objective: result.f,
        nll,
        nll_before,
        gradient,
        iterations: result.iterations,
        termination: result.termination,
    })
}
