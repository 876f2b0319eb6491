//! Temperature scaling (Guo et al. 2017, Eq. 9) solved to a certificate.
//!
//! With `β = 1/T`, the mean negative log-likelihood
//! `f(β) = (1/n) Σ_i [ln Σ_j exp(β z_ij) − β z_iy_i]` has
//! `f′(β) = (1/n) Σ_i (E_{p_i(β)}[z_i] − z_iy_i)` and `f″(β) = (1/n) Σ_i Var_{p_i(β)}[z_i] ≥ 0`,
//! so `f` is convex in `β` and a root of `f′` is the global optimum. [`fit_temperature`] brackets
//! the root (`f′(0) < 0 < f′(β_hi)`) and runs Newton's method safeguarded by bisection inside the
//! bracket, then reports `|f′(β*)|` — the certificate — with the answer. It cannot stop early the
//! way a fixed-iteration LBFGS on `T` can (gpleiss/temperature_scaling: `max_iter = 50`, later
//! 200), nor run away to a negative `T` (`T` is never a free parameter).

use super::Scores;
use crate::CoreError;

/// Largest `β = 1/T` searched (`T = 1e-6`): beyond it every row's softmax is one-hot to double
/// precision.
pub const BETA_MAX: f64 = 1e6;

/// The fitted temperature with its certificate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TemperatureFit {
    /// The NLL-optimal temperature `T* = 1/β*`.
    pub temperature: f64,
    /// Mean NLL at `T = 1`.
    pub nll_before: f64,
    /// Mean NLL at `T*`.
    pub nll: f64,
    /// `|∂NLL/∂β|` at `β*` (mean over rows; 0 at the exact optimum).
    pub gradient: f64,
    /// `∂²NLL/∂β²` at `β*` (its reciprocal over `n` is the delta-method variance scale of `β*`).
    pub curvature: f64,
    /// Newton and bisection steps taken.
    pub iterations: usize,
}

/// `(f(β), f′(β), f″(β))` of the mean NLL (module docs), in one pass over the scores.
pub fn nll_derivatives(scores: &Scores<'_>, beta: f64) -> (f64, f64, f64) {
    let (mut f, mut d1, mut d2) = (0.0, 0.0, 0.0);
    let mut w = vec![0.0; scores.classes()];
    for i in 0..scores.len() {
        let z = scores.row(i);
        let zy = z[scores.label(i)];
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for (wj, &zj) in w.iter_mut().zip(z) {
            *wj = (beta * (zj - m)).exp();
            sum += *wj;
        }
        let mut mean = 0.0;
        for (wj, &zj) in w.iter().zip(z) {
            mean += wj * (zj - m);
        }
        mean /= sum;
        let mut var = 0.0;
        for (wj, &zj) in w.iter().zip(z) {
            let d = zj - m - mean;
            var += wj * d * d;
        }
        var /= sum;
        f += sum.ln() - beta * (zy - m);
        d1 += mean - (zy - m);
        d2 += var;
    }
    let n = scores.len() as f64;
    (f / n, d1 / n, d2 / n)
}

/// Mean NLL of `scores` at temperature `t > 0`.
pub fn nll_at(scores: &Scores<'_>, t: f64) -> f64 {
    nll_derivatives(scores, 1.0 / t).0
}

/// The NLL-optimal temperature (module docs).
///
/// Errors: [`CoreError::NoOptimalTemperature`] when the optimum is not a finite positive `T`:
/// `f′(0) ≥ 0` (the scores are no better than uniform, so `T → ∞`), or `f′(β) < 0` up to
/// [`BETA_MAX`] (every row's label has the largest logit, so `T → 0`; checked first).
pub fn fit_temperature(scores: &Scores<'_>) -> Result<TemperatureFit, CoreError> {
    let nll_before = nll_derivatives(scores, 1.0).0;
    let (_, g0, _) = nll_derivatives(scores, 0.0);
    if g0 >= 0.0 {
        return Err(CoreError::NoOptimalTemperature {
            reason: "the scores are no better than uniform (∂NLL/∂β ≥ 0 at β = 1/T = 0), so the \
                     NLL falls as T grows without bound"
                .into(),
        });
    }
    let label_is_a_largest = (0..scores.len()).all(|i| {
        let z = scores.row(i);
        z.iter().all(|&v| v <= z[scores.label(i)])
    });
    if label_is_a_largest {
        return Err(CoreError::NoOptimalTemperature {
            reason: "the label has the largest logit in every row, so the NLL falls as T → 0"
                .into(),
        });
    }
    // Bracket: lo with f′ < 0, hi with f′ > 0 (exists: some row's label is below its largest
    // logit, and that row's term of f′ tends to a positive gap as β grows).
    let mut lo = 0.0;
    let mut hi = 1.0;
    let mut iterations = 0;
    let (mut f, mut g, mut h) = nll_derivatives(scores, hi);
    while g < 0.0 {
        lo = hi;
        hi *= 2.0;
        iterations += 1;
        if hi > BETA_MAX {
            return Err(CoreError::NoOptimalTemperature {
                reason: format!(
                    "∂NLL/∂β < 0 up to β = 1/T = {BETA_MAX:e}: the label has the largest logit in \
                     every row, so the NLL falls as T → 0"
                ),
            });
        }
        (f, g, h) = nll_derivatives(scores, hi);
    }
    let mut beta = hi;
    // Safeguarded Newton inside [lo, hi].
    for _ in 0..200 {
        if g == 0.0 {
            break;
        }
        if g > 0.0 {
            hi = beta;
        } else {
            lo = beta;
        }
        let newton = beta - g / h;
        let next = if h > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        iterations += 1;
        if (next - beta).abs() <= 4.0 * f64::EPSILON * beta.abs() || hi - lo <= f64::EPSILON * hi {
            break;
        }
        beta = next;
        (f, g, h) = nll_derivatives(scores, beta);
    }
    Ok(TemperatureFit {
        temperature: 1.0 / beta,
        nll_before,
        nll: f,
        gradient: g.abs(),
        curvature: h,
        iterations,
    })
}
