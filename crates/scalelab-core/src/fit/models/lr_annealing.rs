//! Tissue, Wang & Wang's "scaling law with learning-rate annealing": `L = L0 + A·S1^(−α) − C·S2`.

use super::power_law::floor_below;
use super::{args_ok, fill_nan, linear_least_squares, valid_rows, Data};
use crate::fit::Model;

/// `L(s) = L0 + A·S1^(−α) − C·S2` (Tissue, Wang, Wang, arXiv 2408.11029).
///
/// Inputs `[S1, S2]` per observation: the forward area `S1(s) = Σ_{i≤s} η_i` and the annealing
/// area `S2(s)`, both computed from the learning-rate schedule by
/// [`crate::fit::schedule::tissue_areas`]. Parameters `θ = [L0, A, alpha, C]`. Gradient:
/// `∂L/∂L0 = 1`, `∂L/∂A = S1^(−α)`, `∂L/∂α = −A·S1^(−α)·ln S1`, `∂L/∂C = −S2`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LrAnnealing;

impl LrAnnealing {
    /// Starting values: with `α = 0.5` fixed the model is linear in `L0, A, C`; their least-squares
    /// solution over rows with `S1 > 0` is used when `L0` and `A` are positive, otherwise
    /// `[0.9·min L, 1, 0.5, 1]`.
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let alpha = 0.5;
        let mut design = Vec::new();
        let mut targets = Vec::new();
        for (x, y) in valid_rows(data, 2) {
            if x[0] > 0.0 {
                design.push(vec![1.0, x[0].powf(-alpha), -x[1]]);
                targets.push(y);
            }
        }
        match linear_least_squares(&design, &targets) {
            Some(c) if c[0] > 0.0 && c[1] > 0.0 => vec![c[0], c[1], alpha, c[2]],
            _ => {
                let l0 = floor_below(targets.iter().copied()).unwrap_or(1.0);
                vec![l0, 1.0, alpha, 1.0]
            }
        }
    }
}

impl Model for LrAnnealing {
    fn param_names(&self) -> Vec<String> {
        ["L0", "A", "alpha", "C"].map(String::from).to_vec()
    }
    fn n_inputs(&self) -> usize {
        2
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 2, theta, 4, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let (s1, s2) = (x[0], x[1]);
        let (l0, a, alpha, c) = (theta[0], theta[1], theta[2], theta[3]);
        let p = s1.powf(-alpha);
        if let Some(g) = grad {
            g[0] = 1.0;
            g[1] = p;
            g[2] = -a * p * s1.ln();
            g[3] = -s2;
        }
        l0 + a * p - c * s2
    }
    fn formula(&self) -> String {
        "L0 + A·S1^(−alpha) − C·S2".into()
    }
}
