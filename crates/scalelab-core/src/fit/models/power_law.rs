//! Single-input power laws: `y = A·x^(−α)` and `y = E + A·x^(−α)`.

use super::{args_ok, fill_nan, log_log_line, positive_pairs, Data};
use crate::fit::Model;

/// Pure power law `y = A·x^(−α)` (Kaplan's single-variable laws `(x_c/x)^α` are this form with
/// `A = x_c^α`).
///
/// Parameters `θ = [A, alpha]`, one input `x` (> 0). Gradient:
/// `∂y/∂A = x^(−α)`, `∂y/∂α = −A·x^(−α)·ln x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PowerLaw;

impl PowerLaw {
    /// Starting values from an ordinary least-squares line through `(ln x, ln y)` over the rows with
    /// `x > 0` and `y > 0`: `ln y = ln A − α ln x`. Falls back to `[1, 0.5]` with fewer than two
    /// usable rows (or a degenerate line).
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let pairs = positive_pairs(data, 0.0);
        match log_log_line(&pairs) {
            Some((intercept, slope)) => vec![intercept.exp(), -slope],
            None => vec![1.0, 0.5],
        }
    }
}

impl Model for PowerLaw {
    fn param_names(&self) -> Vec<String> {
        vec!["A".into(), "alpha".into()]
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 1, theta, 2, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let (a, alpha) = (theta[0], theta[1]);
        let ln_x = x[0].ln();
        let p = x[0].powf(-alpha);
        if let Some(g) = grad {
            g[0] = p;
            g[1] = -a * p * ln_x;
        }
        a * p
    }
    fn formula(&self) -> String {
        "A·x^(−alpha)".into()
    }
}

/// Power law plus constant `y = E + A·x^(−α)` (Hestness et al. 2017 learning curves; Henighan et
/// al. 2020 `L = L_∞ + (x₀/x)^α` with `E = L_∞`, `A = x₀^α`).
///
/// Parameters `θ = [E, A, alpha]`, one input `x` (> 0). Gradient:
/// `∂y/∂E = 1`, `∂y/∂A = x^(−α)`, `∂y/∂α = −A·x^(−α)·ln x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PowerLawPlusConstant;

impl PowerLawPlusConstant {
    /// Starting values: `E₀ = 0.9·min y` when `min y > 0` (else `min y − 0.1·(max y − min y) − 1e-3`,
    /// below every target), then a log-log line through `(ln x, ln(y − E₀))` for `A` and `α`.
    /// Falls back to `[E₀, 1, 0.5]` (or `[0, 1, 0.5]` without data).
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let pairs = positive_pairs(data, f64::NEG_INFINITY);
        let Some(e0) = floor_below(pairs.iter().map(|p| p.1)) else {
            return vec![0.0, 1.0, 0.5];
        };
        let shifted: Vec<(f64, f64)> = pairs
            .iter()
            .filter(|(x, y)| *x > 0.0 && *y > e0)
            .map(|&(x, y)| (x, y - e0))
            .collect();
        match log_log_line(&shifted) {
            Some((intercept, slope)) => vec![e0, intercept.exp(), -slope],
            None => vec![e0, 1.0, 0.5],
        }
    }
}

/// A value a little below every target: `0.9·min` for positive targets, else `min − 0.1·range − 1e-3`.
/// `None` without finite targets.
pub(crate) fn floor_below(ys: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for y in ys.filter(|y| y.is_finite()) {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    if !lo.is_finite() {
        return None;
    }
    Some(if lo > 0.0 {
        0.9 * lo
    } else {
        lo - 0.1 * (hi - lo) - 1e-3
    })
}

impl Model for PowerLawPlusConstant {
    fn param_names(&self) -> Vec<String> {
        vec!["E".into(), "A".into(), "alpha".into()]
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 1, theta, 3, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let (e, a, alpha) = (theta[0], theta[1], theta[2]);
        let p = x[0].powf(-alpha);
        if let Some(g) = grad {
            g[0] = 1.0;
            g[1] = p;
            g[2] = -a * p * x[0].ln();
        }
        e + a * p
    }
    fn formula(&self) -> String {
        "E + A·x^(−alpha)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_recovers_an_exact_power_law() {
        let xs = [1.0, 10.0, 100.0, 1000.0];
        let data = Data {
            n_inputs: 1,
            x: xs.to_vec(),
            y: xs.iter().map(|x: &f64| 3.0 * x.powf(-0.4)).collect(),
            weights: None,
        };
        let s = PowerLaw.default_start(&data);
        assert!(
            (s[0] - 3.0).abs() < 1e-12 && (s[1] - 0.4).abs() < 1e-12,
            "{s:?}"
        );
    }

    #[test]
    fn wrong_lengths_give_nan_not_panic() {
        let mut g = [0.0; 3];
        assert!(PowerLaw.eval(&[], &[1.0, 1.0], None).is_nan());
        assert!(PowerLaw.eval(&[1.0], &[1.0], None).is_nan());
        assert!(PowerLawPlusConstant
            .eval(&[1.0], &[1.0, 1.0, 1.0], Some(&mut g[..2]))
            .is_nan());
        assert!(g[0].is_nan() && g[1].is_nan());
        let empty = Data {
            n_inputs: 0,
            x: vec![1.0],
            y: vec![],
            weights: None,
        };
        assert_eq!(
            PowerLawPlusConstant.default_start(&empty),
            vec![0.0, 1.0, 0.5]
        );
    }
}
