//! The multi-power law of Luo et al. 2025 (arXiv 2503.12811): loss curves across learning-rate
//! schedules.

use super::power_law::floor_below;
use super::{args_ok, fill_nan, valid_rows, Data};
use crate::fit::schedule::{step_index, LrSchedule};
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

/// One step `m ≥ 2` at which the learning rate changes and the change counts.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Change {
    /// The step `m` (1-based).
    step: usize,
    /// `Δη_m = η_m − η_{m−1}`.
    delta: f64,
    /// `ln η_m` (−∞ for `η_m = 0`).
    ln_lr: f64,
    /// `S1(m − 1) = Σ_{i<m} η_i`.
    area_before: f64,
}

/// Multi-power law (Luo et al. 2025, arXiv 2503.12811) over a per-step schedule `η_1 … η_T`
/// ([`LrSchedule`], with the crate's step convention: step `s` is after `s` updates):
///
/// - `S1(s) = Σ_{i=1}^{s} η_i` (the forward area, warmup included: the paper's `S1(t) + S_W`);
/// - `LD(s) = Σ_{m=f}^{s} Δη_m · (1 − (1 + C·η_m^(−γ)·Σ_{i=m}^{s} η_i)^(−β))`, `Δη_m = η_m − η_{m−1}`,
///   summed from `f` = [`crate::fit::schedule::WarmupConvention::first_change`]: after the warmup in the paper's
///   convention (its `LD(t)` over post-warmup steps `k = 1 … t`, with `η_0` the last warmup
///   rate), or from step 2 in the reference code's (`src/evaluation.py`, which also counts the
///   warmup's rising rates);
/// - `L(s) = L0 + A·S1(s)^(−α) + B·LD(s)`.
///
/// `LD ≤ 0` while the rate decays, so this is the paper's `L0 + A(S1 + S_W)^(−α) − LD` with the
/// opposite sign convention for `LD`. Parameters `θ = [L0, A, alpha, B, C, beta, gamma]` (the
/// reference order). One input: the step `s`, a whole number in `1 ..= T` (others give NaN;
/// [`Model::check_inputs`] names them). Terms with `η_m = 0` count as fully decayed (`G = 1`, no
/// gradient). The reference code's step `s` (0-based rates, `S1 = cumsum(lrs)[s]`) is step
/// `s + 1` here.
///
/// Gradient, with `x_m = C·η_m^(−γ)·S_m(s)` and `q_m = (1 + x_m)^(−β)`:
/// `∂L/∂L0 = 1`, `∂L/∂A = S1^(−α)`, `∂L/∂α = −A·S1^(−α)·ln S1`, `∂L/∂B = LD`,
/// `∂L/∂C = B Σ Δη_m β q_m/(1 + x_m) · η_m^(−γ) S_m`, `∂L/∂β = B Σ Δη_m q_m ln(1 + x_m)`,
/// `∂L/∂γ = −B Σ Δη_m β q_m/(1 + x_m) · x_m ln η_m`.
///
/// Cost per evaluation at step `s`: one term per counted rate change up to `s` (none in constant
/// phases, one per step in a cosine decay) — the law's sum has no shortcut.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiPowerLaw {
    /// `S1(s)` for every step (index `s − 1`).
    area: Vec<f64>,
    /// Counted rate changes, ascending by step.
    changes: Vec<Change>,
    /// Largest learning rate of the schedule.
    peak: f64,
}

impl MultiPowerLaw {
    /// The law for `schedule`.
    ///
    /// Errors: as [`LrSchedule::check`].
    pub fn new(schedule: &LrSchedule) -> Result<Self, CoreError> {
        schedule.check()?;
        let lrs = &schedule.rates;
        let first = schedule.warmup.first_change();
        let mut area = Vec::with_capacity(lrs.len());
        let mut changes = Vec::new();
        let mut sum = 0.0;
        for (k, &lr) in lrs.iter().enumerate() {
            let step = k + 1;
            if step >= first && lr != lrs[k - 1] {
                changes.push(Change {
                    step,
                    delta: lr - lrs[k - 1],
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

    /// `S1(s) = Σ_{i≤s} η_i`, or `None` outside `1 ..= T`.
    pub fn forward_area(&self, step: usize) -> Option<f64> {
        step.checked_sub(1).and_then(|k| self.area.get(k)).copied()
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
    fn check_inputs(&self, what: &'static str, x: &[f64]) -> Result<(), CoreError> {
        check_steps(what, x, self.area.len())
    }
    fn eval(&self, x: &[f64], theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !args_ok(x, 1, theta, 7, grad.as_deref()) {
            fill_nan(grad);
            return f64::NAN;
        }
        let Some(k) = step_index(x[0], self.area.len()) else {
            fill_nan(grad);
            return f64::NAN;
        };
        let s = k + 1;
        let (l0, a, alpha, b, c, beta, gamma) = (
            theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6],
        );
        let s1 = self.area[k];
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
        "L0 + A·S1(s)^(−alpha) + B·Σ_{m≤s} (η_m − η_{m−1})·(1 − (1 + C·η_m^(−gamma)·Σ_{i=m}^{s} η_i)^(−beta))"
            .into()
    }
}

/// [`Model::check_inputs`] of the loss-curve laws: every value of `x` a step of a `len`-step
/// schedule.
pub(super) fn check_steps(what: &'static str, x: &[f64], len: usize) -> Result<(), CoreError> {
    match x.iter().position(|&v| step_index(v, len).is_none()) {
        Some(index) => Err(CoreError::StepOutsideSchedule {
            what,
            index,
            step: x[index],
            steps: len,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn law(rates: Vec<f64>) -> MultiPowerLaw {
        MultiPowerLaw::new(&LrSchedule::new(rates)).unwrap()
    }

    #[test]
    fn constant_schedule_is_a_plain_power_law_in_the_area() {
        let m = law(vec![0.5; 10]);
        let theta = [2.0, 1.0, 0.5, 100.0, 2.0, 0.6, 0.6];
        // Step 4 = after four updates of 0.5: S1 = 2.
        let y = m.eval(&[4.0], &theta, None);
        assert!((y - (2.0 + 2.0f64.powf(-0.5))).abs() < 1e-15);
        assert!(m.eval(&[11.0], &theta, None).is_nan());
        assert!(m.eval(&[0.0], &theta, None).is_nan());
        assert!(m.eval(&[2.5], &theta, None).is_nan());
        assert!(MultiPowerLaw::default().eval(&[1.0], &theta, None).is_nan());
        assert!(m.check_inputs("observation", &[1.0, 10.0]).is_ok());
        assert!(matches!(
            m.check_inputs("observation", &[1.0, 11.0]),
            Err(CoreError::StepOutsideSchedule {
                index: 1,
                steps: 10,
                ..
            })
        ));
    }

    #[test]
    fn bad_schedules_are_errors() {
        assert!(MultiPowerLaw::new(&LrSchedule::new(vec![])).is_err());
        assert!(MultiPowerLaw::new(&LrSchedule::new(vec![1.0, -1.0])).is_err());
        assert!(MultiPowerLaw::new(&LrSchedule::new(vec![1.0, f64::NAN])).is_err());
    }
}
