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

use super::row_moments::{row_max, row_moments, row_moments_with_zeros};
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

/// `(f(β), f′(β), f″(β))` of the mean NLL (module docs), in one pass over the scores
/// ([`row_moments`]: the variance as `E[d²] − E[d]²` of the max-shifted logits).
pub fn nll_derivatives(scores: &Scores<'_>, beta: f64) -> (f64, f64, f64) {
    derivatives(scores, &row_maxima(scores), beta)
}

/// Every row's largest logit (computed once per fit, not once per Newton step).
fn row_maxima(scores: &Scores<'_>) -> Vec<f64> {
    (0..scores.len()).map(|i| row_max(scores.row(i))).collect()
}

fn derivatives(scores: &Scores<'_>, maxima: &[f64], beta: f64) -> (f64, f64, f64) {
    // One loop per kind of row, each with its moments inlined.
    if scores.all_finite() {
        sums(scores, maxima, beta, row_moments)
    } else {
        sums(scores, maxima, beta, row_moments_with_zeros)
    }
}

#[inline(always)]
fn sums(
    scores: &Scores<'_>,
    maxima: &[f64],
    beta: f64,
    moments: impl Fn(&[f64], f64, f64) -> (f64, f64, f64),
) -> (f64, f64, f64) {
    let (mut f, mut d1, mut d2) = (0.0, 0.0, 0.0);
    for (i, &m) in maxima.iter().enumerate() {
        let z = scores.row(i);
        let zy = z[scores.label(i)] - m;
        let (s0, s1, s2) = moments(z, m, beta);
        let mean = s1 / s0;
        f += s0.ln() - beta * zy;
        d1 += mean - zy;
        d2 += (s2 / s0 - mean * mean).max(0.0);
    }
    let n = scores.len() as f64;
    (f / n, d1 / n, d2 / n)
}

/// `f′(0⁺) = (1/n) Σ_i (mean_j z_ij − z_iy_i)` (no exponentials), the mean over a row's finite
/// logits: for any `β > 0` a logit of −∞ has weight 0, so as `β → 0⁺` the softmax tends to the
/// uniform distribution over the others.
fn gradient_at_zero(scores: &Scores<'_>) -> f64 {
    let (finite, k) = (scores.all_finite(), scores.classes() as f64);
    let sum: f64 = (0..scores.len())
        .map(|i| {
            let z = scores.row(i);
            let mean = if finite {
                z.iter().sum::<f64>() / k
            } else {
                let (total, count) = z
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
                total / count as f64
            };
            mean - z[scores.label(i)]
        })
        .sum();
    sum / scores.len() as f64
}

/// Mean NLL of `scores` at temperature `t > 0`.
pub fn nll_at(scores: &Scores<'_>, t: f64) -> f64 {
    nll_derivatives(scores, 1.0 / t).0
}

/// The mean NLL at `points` temperatures log-spaced from `t / 8` to `8 t` (`[T, NLL]` pairs,
/// `t` itself in the middle when `points` is odd).
pub fn nll_curve(scores: &Scores<'_>, t: f64, points: usize) -> Vec<[f64; 2]> {
    let last = points.saturating_sub(1).max(1) as f64;
    (0..points)
        .map(|i| {
            let tt = t * 2f64.powf(-3.0 + 6.0 * i as f64 / last);
            [tt, nll_at(scores, tt)]
        })
        .collect()
}

/// The mean NLL at `t` read off a [`nll_curve`] (linear in ln T between its points), or `None`
/// off the curve.
pub fn nll_on_curve(curve: &[[f64; 2]], t: f64) -> Option<f64> {
    let i = curve
        .windows(2)
        .position(|w| w[0][0] <= t && t <= w[1][0])?;
    let ([t0, y0], [t1, y1]) = (curve[i], curve[i + 1]);
    let u = (t.ln() - t0.ln()) / (t1.ln() - t0.ln());
    Some(y0 + u * (y1 - y0))
}

/// The NLL-optimal temperature (module docs).
///
/// Errors: [`CoreError::NoOptimalTemperature`] when the optimum is not a finite positive `T`:
/// `f′(0) ≥ 0` (the scores are no better than uniform, so `T → ∞`), or `f′(β) < 0` up to
/// [`BETA_MAX`] (every row's label has the largest logit, so `T → 0`; checked first).
pub fn fit_temperature(scores: &Scores<'_>) -> Result<TemperatureFit, CoreError> {
    let g0 = gradient_at_zero(scores);
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
    // Newton from β = 1 (T = 1, where the NLL before scaling is computed anyway), safeguarded by
    // the bracket [lo, hi] of the root of f′ (hi = ∞ until a point with f′ > 0 is seen; a root
    // exists because some row's label is below its largest logit, and that row's term of f′
    // tends to a positive gap as β grows). Outside the bracket the step is a bisection, or while
    // hi = ∞ a growth of β by at most 8×.
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    let mut beta = 1.0;
    let maxima = row_maxima(scores);
    let (mut f, mut g, mut h) = derivatives(scores, &maxima, beta);
    let nll_before = f;
    let mut iterations = 0;
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
        // Converged: the Newton step is below the spacing of doubles at β.
        if h > 0.0 && (newton - beta).abs() <= 4.0 * f64::EPSILON * beta {
            break;
        }
        let cap = if hi.is_finite() { hi } else { 8.0 * beta };
        let next = if h > 0.0 && newton > lo && newton < cap {
            newton
        } else if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            cap
        };
        if next > BETA_MAX {
            return Err(CoreError::NoOptimalTemperature {
                reason: format!(
                    "∂NLL/∂β < 0 up to β = 1/T = {BETA_MAX:e}: the label has the largest logit in \
                     every row, so the NLL falls as T → 0"
                ),
            });
        }
        if (next - beta).abs() <= 4.0 * f64::EPSILON * beta.abs()
            || (hi.is_finite() && hi - lo <= f64::EPSILON * hi)
        {
            break;
        }
        iterations += 1;
        beta = next;
        (f, g, h) = derivatives(scores, &maxima, beta);
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
