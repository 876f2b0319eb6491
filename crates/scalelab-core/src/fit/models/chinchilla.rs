//! Chinchilla's parametric loss `L(N, D) = E + A/N^α + B/D^β` (Hoffmann et al. 2022, Approach 3).

use super::{args_ok, fill_nan, linear_least_squares, valid_rows, Data};
use crate::fit::Model;

/// Hoffmann et al.'s published (rounded) fit `[E, A, B, alpha, beta] = [1.69, 406.4, 410.7, 0.34, 0.28]`
/// (science.md §4a).
pub const HOFFMANN_ROUNDED: [f64; 5] = [1.69, 406.4, 410.7, 0.34, 0.28];

/// Epoch AI's maximum-likelihood refit `[E, A, B, alpha, beta] = [1.81686, 482.01, 2085.43, 0.34781,
/// 0.36585]` (Besiroglu et al. 2024, science.md §4b).
pub const EPOCH_MLE: [f64; 5] = [1.81686, 482.01, 2085.43, 0.34781, 0.36585];

/// `L(N, D) = E + A·N^(−α) + B·D^(−β)`: irreducible loss `E` plus model-size and data terms.
///
/// Inputs `[N, D]` (parameters and training tokens, both > 0). Parameters
/// `θ = [E, A, B, alpha, beta]`. Gradient: `∂L/∂E = 1`, `∂L/∂A = N^(−α)`, `∂L/∂B = D^(−β)`,
/// `∂L/∂α = −A·N^(−α)·ln N`, `∂L/∂β = −B·D^(−β)·ln D`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chinchilla;

impl Chinchilla {
    /// Starting values: with `α, β` fixed at Hoffmann's `0.34, 0.28`, the model is linear in
    /// `E, A, B`; their least-squares solution over the valid rows (`N, D > 0`) is used when all three
    /// come out positive, otherwise [`HOFFMANN_ROUNDED`].
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let [_, _, _, alpha, beta] = HOFFMANN_ROUNDED;
        let mut design = Vec::new();
        let mut targets = Vec::new();
        for (x, y) in valid_rows(data, 2) {
            if x[0] > 0.0 && x[1] > 0.0 {
                design.push(vec![1.0, x[0].powf(-alpha), x[1].powf(-beta)]);
                targets.push(y);
            }
        }
        match linear_least_squares(&design, &targets) {
            Some(c) if c.iter().all(|v| *v > 0.0) => vec![c[0], c[1], c[2], alpha, beta],
            _ => HOFFMANN_ROUNDED.to_vec(),
        }
    }
}

impl Model for Chinchilla {
    fn param_names(&self) -> Vec<String> {
        ["E", "A", "B", "alpha", "beta"].map(String::from).to_vec()
    }
    fn n_inputs(&self) -> usize {
        2
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 2, theta, 5, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let (e, a, b, alpha, beta) = (theta[0], theta[1], theta[2], theta[3], theta[4]);
        let pn = x[0].powf(-alpha);
        let pd = x[1].powf(-beta);
        if let Some(g) = grad {
            g[0] = 1.0;
            g[1] = pn;
            g[2] = pd;
            g[3] = -a * pn * x[0].ln();
            g[4] = -b * pd * x[1].ln();
        }
        e + a * pn + b * pd
    }
    fn formula(&self) -> String {
        "E + A/N^alpha + B/D^beta".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_recovers_linear_part_exactly() {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for n in [1e8, 1e9, 1e10] {
            for d in [1e9, 1e10, 1e11] {
                x.extend([n, d]);
                y.push(Chinchilla.eval(&[n, d], &HOFFMANN_ROUNDED, None));
            }
        }
        let data = Data {
            n_inputs: 2,
            x,
            y,
            weights: None,
        };
        let s = Chinchilla.default_start(&data);
        for (got, want) in s.iter().zip(HOFFMANN_ROUNDED) {
            assert!((got - want).abs() <= 1e-6 * want, "{s:?}");
        }
    }
}
