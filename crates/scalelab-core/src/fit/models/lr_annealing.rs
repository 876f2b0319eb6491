//! Tissue, Wang & Wang's "scaling law with learning-rate annealing": `L = L0 + A·S1^(−α) − C·S2`.

use super::multi_power_law::check_steps;
use super::power_law::floor_below;
use super::{args_ok, fill_nan, linear_least_squares, valid_rows, Data};
use crate::fit::schedule::{step_index, tissue_areas, LrSchedule, TissueAreas};
use crate::fit::Model;
use crate::CoreError;

/// `L(s) = L0 + A·S1(s)^(−α) − C·S2(s)` (Tissue, Wang, Wang, arXiv 2408.11029) over a per-step
/// schedule ([`LrSchedule`], the crate's step convention: step `s` is after `s` updates).
///
/// One input: the step `s`, a whole number in `1 ..= T` (others give NaN; [`Model::check_inputs`]
/// names them). The forward area `S1(s) = Σ_{i≤s} η_i` and the annealing area `S2(s)` run over
/// every step of the schedule ([`tissue_areas`], which states the warmup convention), whatever
/// steps the loss was logged at. Parameters `θ = [L0, A, alpha, C]`. Gradient:
/// `∂L/∂L0 = 1`, `∂L/∂A = S1^(−α)`, `∂L/∂α = −A·S1^(−α)·ln S1`, `∂L/∂C = −S2`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LrAnnealing {
    areas: TissueAreas,
}

impl LrAnnealing {
    /// The law for `schedule`. Errors: as [`LrSchedule::check`].
    pub fn new(schedule: &LrSchedule) -> Result<Self, CoreError> {
        Ok(LrAnnealing {
            areas: tissue_areas(schedule)?,
        })
    }

    /// `(S1(s), S2(s))`, or `None` for a step outside `1 ..= T`.
    pub fn areas_at(&self, step: f64) -> Option<(f64, f64)> {
        step_index(step, self.areas.s1.len()).map(|k| (self.areas.s1[k], self.areas.s2[k]))
    }

    /// Starting values: with `α = 0.5` fixed the model is linear in `L0, A, C`; their least-squares
    /// solution over the observations is used when `L0` and `A` are positive, otherwise
    /// `[0.9·min L, 1, 0.5, 1]`.
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let alpha = 0.5;
        let mut design = Vec::new();
        let mut targets = Vec::new();
        for (x, y) in valid_rows(data, 1) {
            if let Some((s1, s2)) = self.areas_at(x[0]).filter(|a| a.0 > 0.0) {
                design.push(vec![1.0, s1.powf(-alpha), -s2]);
                targets.push(y);
            }
        }
        match linear_least_squares(&design, &targets) {
            Some(c) if c[0] > 0.0 && c[1] > 0.0 => vec![c[0], c[1], alpha, c[2]],
            _ => {
                let l0 = floor_below(valid_rows(data, 1).map(|r| r.1)).unwrap_or(1.0);
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
        1
    }
    fn check_inputs(&self, what: &'static str, x: &[f64]) -> Result<(), CoreError> {
        check_steps(what, x, self.areas.s1.len())
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 1, theta, 4, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let Some((s1, s2)) = self.areas_at(x[0]) else {
            fill_nan(grad);
            return f64::NAN;
        };
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
        "L0 + A·S1(s)^(−alpha) − C·S2(s)".into()
    }
}
