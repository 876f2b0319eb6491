//! Kaplan et al. 2020's joint law `L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D` (their Eq. 1.5).

use super::{args_ok, fill_nan, Data};
use crate::fit::Model;

/// Kaplan et al.'s Table 2 fit `[N_c, D_c, alpha_N, alpha_D] = [6.4e13, 1.8e13, 0.076, 0.103]`
/// (science.md §4c).
pub const KAPLAN_TABLE2: [f64; 4] = [6.4e13, 1.8e13, 0.076, 0.103];

/// `L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D`, in nats per token.
///
/// Inputs `[N, D]` (non-embedding parameters and tokens, > 0). Parameters
/// `θ = [N_c, D_c, alpha_N, alpha_D]`. With `r = α_N/α_D`, `u = (N_c/N)^r`, `s = u + D_c/D`,
/// `L = s^α_D`, the gradient is
/// `∂L/∂N_c = α_D·s^(α_D−1)·r·u/N_c`, `∂L/∂D_c = α_D·s^(α_D−1)/D`,
/// `∂L/∂α_N = s^(α_D−1)·u·ln(N_c/N)`,
/// `∂L/∂α_D = L·ln s − s^(α_D−1)·u·ln(N_c/N)·α_N/α_D`.
/// As `D → ∞` it tends to `(N_c/N)^α_N`, Kaplan's Eq. 1.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kaplan;

impl Kaplan {
    /// Starting values: [`KAPLAN_TABLE2`] (the law's constants are not identifiable from a
    /// log-log line, and Table 2 is the natural prior).
    pub fn default_start(&self, _data: &Data) -> Vec<f64> {
        KAPLAN_TABLE2.to_vec()
    }
}

impl Model for Kaplan {
    fn param_names(&self) -> Vec<String> {
        ["N_c", "D_c", "alpha_N", "alpha_D"]
            .map(String::from)
            .to_vec()
    }
    fn n_inputs(&self) -> usize {
        2
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 2, theta, 4, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let (n, d) = (x[0], x[1]);
        let (nc, dc, an, ad) = (theta[0], theta[1], theta[2], theta[3]);
        let r = an / ad;
        let ln_ratio = (nc / n).ln();
        let u = (nc / n).powf(r);
        let s = u + dc / d;
        let l = s.powf(ad);
        if let Some(g) = grad {
            // s^(α_D − 1) = L / s, except at s = 0 where the power is computed directly.
            let s_pow = if s != 0.0 { l / s } else { s.powf(ad - 1.0) };
            let u_ln = if u != 0.0 { u * ln_ratio } else { 0.0 };
            g[0] = ad * s_pow * r * u / nc;
            g[1] = ad * s_pow / d;
            g[2] = s_pow * u_ln;
            g[3] = l * s.ln() - s_pow * u_ln * an / ad;
        }
        l
    }
    fn formula(&self) -> String {
        "((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D".into()
    }
}
