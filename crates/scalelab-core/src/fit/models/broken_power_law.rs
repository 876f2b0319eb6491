//! Broken neural scaling laws (BNSL, Caballero et al., ICLR 2023) with 1 to 3 breaks.

use super::power_law::floor_below;
use super::{args_ok, fill_nan, log_log_line, positive_pairs, valid_rows, Data};
use crate::fit::Model;
use crate::CoreError;

/// Most breaks a [`BrokenPowerLaw`] may have.
pub const MAX_BREAKS: usize = 3;

/// Broken power law with `n` breaks (BNSL):
/// `y = a + b·x^(−c0)·Π_{i=1}^{n} (1 + (x/d_i)^(1/f_i))^(−c_i·f_i)`.
///
/// `a` is the limit, `b` the offset, `c0` the initial slope, `c_i` the change of slope at break
/// `d_i` and `f_i` its sharpness. One input `x > 0`. Parameters, in the order of the reference code's
/// `bnsl_with_1_break(x, a, b, c0, c1, d1, f1)`:
/// `θ = [a, b, c0, c1, d1, f1, c2, d2, f2, …]` (`3 + 3n` values).
///
/// Evaluated in log space for stability: with `ℓ_i = ln(x/d_i)/f_i`,
/// `ln(1 + (x/d_i)^(1/f_i)) = softplus(ℓ_i)`, and `P = b·exp(−c0·ln x − Σ c_i f_i softplus(ℓ_i))`,
/// `y = a + P`. Gradient (σ = logistic sigmoid):
/// `∂y/∂a = 1`, `∂y/∂b = P/b`, `∂y/∂c0 = −P ln x`, `∂y/∂c_i = −P f_i softplus(ℓ_i)`,
/// `∂y/∂d_i = P c_i σ(ℓ_i)/d_i`, `∂y/∂f_i = P c_i (σ(ℓ_i) ℓ_i − softplus(ℓ_i))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenPowerLaw {
    /// Number of breaks `n`, 1 to [`MAX_BREAKS`] as [`BrokenPowerLaw::new`] checks. A struct literal
    /// may also say 0 (then `y = a + b·x^(−c0)`); values above [`MAX_BREAKS`] act as [`MAX_BREAKS`].
    pub breaks: usize,
}

impl BrokenPowerLaw {
    /// A BNSL with `breaks` breaks (1 to [`MAX_BREAKS`]; otherwise [`CoreError::OutOfRange`]).
    pub fn new(breaks: usize) -> Result<Self, CoreError> {
        if (1..=MAX_BREAKS).contains(&breaks) {
            Ok(BrokenPowerLaw { breaks })
        } else {
            Err(CoreError::OutOfRange {
                what: "number of breaks",
                value: breaks as f64,
                min: 1.0,
                max: MAX_BREAKS as f64,
            })
        }
    }

    /// The number of breaks `n` in effect (`breaks` capped at [`MAX_BREAKS`]).
    pub fn breaks(&self) -> usize {
        self.breaks.min(MAX_BREAKS)
    }

    fn n_params(&self) -> usize {
        3 + 3 * self.breaks()
    }

    /// Starting values: `a` a little below the smallest target, `b` and `c0` from a log-log line
    /// through `(ln x, ln(y − a))`, every `c_i = 0.1`, the breaks `d_i` spread geometrically over the
    /// range of `x` (at fractions `i/(n+1)` of `[ln x_min, ln x_max]`), and `f_i = 1`.
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let a = floor_below(valid_rows(data, 1).map(|r| r.1)).unwrap_or(0.0);
        let shifted: Vec<(f64, f64)> = positive_pairs(data, a)
            .into_iter()
            .map(|(x, y)| (x, y - a))
            .collect();
        let (b, c0) = match log_log_line(&shifted) {
            Some((intercept, slope)) => (intercept.exp(), -slope),
            None => (1.0, 0.5),
        };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(x, _) in &shifted {
            lo = lo.min(x.ln());
            hi = hi.max(x.ln());
        }
        if !(lo.is_finite() && hi.is_finite()) {
            (lo, hi) = (0.0, 4.0 * std::f64::consts::LN_10);
        }
        let mut theta = vec![a, b, c0];
        for i in 1..=self.breaks() {
            let frac = i as f64 / (self.breaks() + 1) as f64;
            theta.extend([0.1, (lo + frac * (hi - lo)).exp(), 1.0]);
        }
        theta
    }
}

/// `ln(1 + e^t)` without overflow.
fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

/// `1 / (1 + e^(−t))` without overflow.
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl Model for BrokenPowerLaw {
    fn param_names(&self) -> Vec<String> {
        let mut names = vec!["a".to_string(), "b".into(), "c0".into()];
        for i in 1..=self.breaks() {
            names.extend([format!("c{i}"), format!("d{i}"), format!("f{i}")]);
        }
        names
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = self.n_params();
        if !args_ok(x, 1, theta, p, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let ln_x = x[0].ln();
        let (a, b, c0) = (theta[0], theta[1], theta[2]);
        let mut ell = [0.0; MAX_BREAKS];
        let mut sp = [0.0; MAX_BREAKS];
        let mut log_base = -c0 * ln_x;
        for i in 0..self.breaks() {
            let (ci, di, fi) = (theta[3 + 3 * i], theta[4 + 3 * i], theta[5 + 3 * i]);
            ell[i] = (ln_x - di.ln()) / fi;
            sp[i] = softplus(ell[i]);
            log_base -= ci * fi * sp[i];
        }
        let base = log_base.exp();
        let pw = b * base;
        if let Some(g) = grad {
            g[0] = 1.0;
            g[1] = base;
            g[2] = -pw * ln_x;
            for i in 0..self.breaks() {
                let (ci, di, fi) = (theta[3 + 3 * i], theta[4 + 3 * i], theta[5 + 3 * i]);
                let sg = sigmoid(ell[i]);
                g[3 + 3 * i] = -pw * fi * sp[i];
                g[4 + 3 * i] = pw * ci * sg / di;
                // σ(ℓ)·ℓ → 0 as ℓ → −∞; guard 0·∞.
                let sl = if sg == 0.0 { 0.0 } else { sg * ell[i] };
                g[5 + 3 * i] = pw * ci * (sl - sp[i]);
            }
        }
        a + pw
    }
    fn formula(&self) -> String {
        let mut s = "a + b·x^(−c0)".to_string();
        for i in 1..=self.breaks() {
            s.push_str(&format!("·(1 + (x/d{i})^(1/f{i}))^(−c{i}·f{i})"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_out_of_range_are_errors() {
        assert!(BrokenPowerLaw::new(0).is_err());
        assert!(BrokenPowerLaw::new(4).is_err());
        assert_eq!(BrokenPowerLaw::new(2).unwrap().param_names().len(), 9);
    }

    #[test]
    fn extreme_sharpness_stays_finite() {
        let m = BrokenPowerLaw::new(1).unwrap();
        let mut g = [0.0; 6];
        let y = m.eval(&[1e6], &[0.1, 1.0, 0.2, 0.3, 100.0, 1e-3], Some(&mut g));
        assert!(
            y.is_finite() && g.iter().all(|v| v.is_finite()),
            "{y} {g:?}"
        );
        let y = m.eval(&[1.0], &[0.1, 1.0, 0.2, 0.3, 100.0, 1e-3], Some(&mut g));
        assert!(
            y.is_finite() && g.iter().all(|v| v.is_finite()),
            "{y} {g:?}"
        );
    }
}
