//! The multi-power law of Luo et al. 2025 (arXiv 2503.12811): loss curves across learning-rate
//! schedules.

use super::power_law::floor_below;
use super::{args_ok, fill_nan, valid_rows, Data};
use crate::fit::schedule::check_rates;
use crate::fit::Model;
use crate::CoreError;

/// The reference repository's fitted parameters for its 100M-parameter model
/// `[L0, A, alpha, B, C, beta, gamma]` (`thu-yao-01-luo/MultiPowerLaw`, `src/config.py`), at peak
/// learning rate 3e-4.
pub const LUO_100M: [f64; 7] = [
    2.6514477,
    0.60115152,
    0.45295811,
    437.9464276,
    2.13245612,
    0.59785199,
    0.65523644,
];

/// One step `m ≥ 1` at which the learning rate changes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Change {
    /// The step `m`.
    step: usize,
    /// `Δη_m = η_m − η_{m−1}`.
    delta: f64,
    /// `ln η_m` (−∞ for `η_m = 0`).
    ln_lr: f64,
    /// `S1(m − 1) = Σ_{j<m} η_j`.
    area_before: f64,
}

/// Multi-power law, exactly as in the reference code (`src/evaluation.py`), with 0-based steps `s`
/// and a per-step learning rate `η[0..T)` that includes the warmup:
///
/// - `S1(s) = Σ_{j=0}^{s} η_j` (the forward area, warmup included);
/// - `LD(s) = Σ_{m=1}^{s} Δη_m · (1 − (1 + C·η_m^(−γ)·Σ_{j=m}^{s} η_j)^(−β))`, `Δη_m = η_m − η_{m−1}`;
/// - `L(s) = L0 + A·S1(s)^(−α) + B·LD(s)`.
///
/// `LD ≤ 0` while the rate decays, so this is the paper's `L0 + A(S1 + S_W)^(−α) − LD` with the
/// opposite sign convention for `LD`. Parameters `θ = [L0, A, alpha, B, C, beta, gamma]` (the
/// reference order). One input: the step `s`, rounded to the nearest integer; steps outside
/// `[0, T)` give NaN. Terms with `η_m = 0` count as fully decayed (`G = 1`, no gradient).
///
/// Gradient, with `x_m = C·η_m^(−γ)·S_m(s)` and `q_m = (1 + x_m)^(−β)`:
/// `∂L/∂L0 = 1`, `∂L/∂A = S1^(−α)`, `∂L/∂α = −A·S1^(−α)·ln S1`, `∂L/∂B = LD`,
/// `∂L/∂C = B Σ Δη_m β q_m/(1 + x_m) · η_m^(−γ) S_m`, `∂L/∂β = B Σ Δη_m q_m ln(1 + x_m)`,
/// `∂L/∂γ = −B Σ Δη_m β q_m/(1 + x_m) · x_m ln η_m`.
///
/// Cost per evaluation: one term per step `m ≤ s` at which the rate changes (none in constant
/// phases).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiPowerLaw {
    /// `S1(s)` for every step.
    area: Vec<f64>,
    /// Steps where the rate changes, ascending.
    changes: Vec<Change>,
    /// Largest learning rate of the schedule.
    peak: f64,
}

impl MultiPowerLaw {
    /// The law for the per-step learning rates `lrs` (`η_0, η_1, …`, warmup included).
    ///
    /// Errors: [`CoreError::EmptyInput`], [`CoreError::NonFinite`], [`CoreError::OutOfRange`] for a
    /// negative rate or more than [`crate::fit::schedule::MAX_SCHEDULE_STEPS`] steps.
    pub fn new(lrs: &[f64]) -> Result<Self, CoreError> {
        check_rates(lrs)?;
        let mut area = Vec::with_capacity(lrs.len());
        let mut changes = Vec::new();
        let mut sum = 0.0;
        for (m, &lr) in lrs.iter().enumerate() {
            if m > 0 && lr != lrs[m - 1] {
                changes.push(Change {
                    step: m,
                    delta: lr - lrs[m - 1],
                    ln_lr: lr.ln(),
                    area_before: sum,
                });
            }
            sum += lr;
            area.push(sum);
        }
        let peak = lrs.iter().copied().fold(0.0, f64::max);
        Ok(MultiPowerLaw {
            area,
            changes,
            peak,
        })
    }

    /// Number of steps `T` of the schedule (0 for the schedule-less placeholder that
    /// [`super::BuiltinModel::model`] returns; it evaluates to NaN).
    pub fn steps(&self) -> usize {
        self.area.len()
    }

    /// `S1(s) = Σ_{j≤s} η_j`, or `None` outside the schedule.
    pub fn forward_area(&self, step: usize) -> Option<f64> {
        self.area.get(step).copied()
    }

    /// Starting values: [`LUO_100M`] with `L0 = 0.8·min L` (when the losses are positive) and `B`
    /// rescaled by `3e-4/η_max` so that `B·Δη` keeps its size at another peak learning rate.
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        let mut theta = LUO_100M.to_vec();
        if let Some(lo) = floor_below(valid_rows(data, 1).map(|r| r.1)) {
            if lo > 0.0 {
                theta[0] = lo / 0.9 * 0.8;
            }
        }
        if self.peak > 0.0 && self.peak.is_finite() {
            theta[3] *= 3e-4 / self.peak;
        }
        theta
    }
}

impl Model for MultiPowerLaw {
    fn param_names(&self) -> Vec<String> {
        ["L0", "A", "alpha", "B", "C", "beta", "gamma"]
            .map(String::from)
            .to_vec()
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 1, theta, 7, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let s = x[0].round();
        if !(s >= 0.0 && s < self.area.len() as f64) {
            fill_nan(grad);
            return f64::NAN;
        }
        let s = s as usize;
        let (l0, a, alpha, b, c, beta, gamma) = (
            theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6],
        );
        let s1 = self.area[s];
        let p = s1.powf(-alpha);
        let (mut ld, mut d_c, mut d_beta, mut d_gamma) = (0.0, 0.0, 0.0, 0.0);
        let want_grad = grad.is_some();
        for ch in self.changes.iter().take_while(|ch| ch.step <= s) {
            if ch.ln_lr == f64::NEG_INFINITY {
                ld += ch.delta;
                continue;
            }
            let sk = s1 - ch.area_before;
            let lr_pow = (-gamma * ch.ln_lr).exp();
            let xm = c * lr_pow * sk;
            let ln1p = xm.ln_1p();
            let q = (-beta * ln1p).exp();
            ld += ch.delta * (1.0 - q);
            if want_grad {
                let dq_dx = beta * q / (1.0 + xm);
                d_c += ch.delta * dq_dx * lr_pow * sk;
                d_beta += ch.delta * q * ln1p;
                d_gamma -= ch.delta * dq_dx * xm * ch.ln_lr;
            }
        }
        if let Some(g) = grad {
            g[0] = 1.0;
            g[1] = p;
            g[2] = -a * p * s1.ln();
            g[3] = ld;
            g[4] = b * d_c;
            g[5] = b * d_beta;
            g[6] = b * d_gamma;
        }
        l0 + a * p + b * ld
    }
    fn formula(&self) -> String {
        "L0 + A·S1(s)^(−alpha) + B·Σ_{m≤s} (η_m − η_{m−1})·(1 − (1 + C·η_m^(−gamma)·Σ_{j=m}^{s} η_j)^(−beta))"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_schedule_is_a_plain_power_law_in_the_area() {
        let m = MultiPowerLaw::new(&[0.5; 10]).unwrap();
        let theta = [2.0, 1.0, 0.5, 100.0, 2.0, 0.6, 0.6];
        let y = m.eval(&[3.0], &theta, None);
        assert!((y - (2.0 + 2.0f64.powf(-0.5))).abs() < 1e-15);
        assert!(m.eval(&[10.0], &theta, None).is_nan());
        assert!(m.eval(&[-1.0], &theta, None).is_nan());
        assert!(MultiPowerLaw::default().eval(&[0.0], &theta, None).is_nan());
    }

    #[test]
    fn bad_schedules_are_errors() {
        assert!(MultiPowerLaw::new(&[]).is_err());
        assert!(MultiPowerLaw::new(&[1.0, -1.0]).is_err());
        assert!(MultiPowerLaw::new(&[1.0, f64::NAN]).is_err());
    }
}
