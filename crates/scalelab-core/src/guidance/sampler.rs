//! Deterministic samplers (Euler = DDIM with η = 0, and Heun, Karras et al. 2022 Algorithm 1)
//! with guidance at every denoiser evaluation, as a state machine: [`Sampling::pending`] names
//! the states to denoise next, [`Sampling::feed`] takes the exact conditional and unconditional
//! denoised predictions there (from the CPU, [`Sampling::advance`], or from a GPU) and moves on.
//!
//! In EDM coordinates with the levels `σ_0 > … > σ_N = 0` of a [`Schedule`] and the guided
//! denoiser `D̂`:
//! ```text
//! Euler:  d = (x − D̂(x; σ_i))/σ_i;   x ← x + (σ_{i+1} − σ_i) d
//! Heun:   x' = x + h d (h = σ_{i+1} − σ_i);  if σ_{i+1} > 0:
//!         d' = (x' − D̂(x'; σ_{i+1}))/σ_{i+1};  x ← x + h (d + d')/2,   else x ← x'
//! ```
//! Every `D̂` is one guidance evaluation (APG's momentum advances at each). A state whose largest
//! magnitude exceeds [`UNSTABLE_LIMIT`] or is not finite stops the run as
//! [`Outcome::Unstable`] (never NaNs handed on).

use serde::{Deserialize, Serialize};

use super::mixture::{Mixture, Model};
use super::prediction::Prediction;
use super::rule::{Guidance, GuidanceState, SplitNorms};
use super::schedule::Schedule;
use crate::CoreError;

/// A state beyond this magnitude (or not finite) has diverged.
pub const UNSTABLE_LIMIT: f64 = 1e6;

/// The sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// First order (DDIM with η = 0 on a VP model).
    #[default]
    Euler,
    /// Second order (two evaluations per step but the last).
    Heun,
}

/// How to sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// Noise schedule.
    pub schedule: Schedule,
    /// Number of steps `N`.
    pub steps: usize,
    /// Euler or Heun.
    pub sampler: SamplerKind,
    /// The space guidance is applied in.
    pub prediction: Prediction,
    /// The guidance rule.
    pub guidance: Guidance,
}

/// How a run ended, or that it is still going.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Steps remain.
    Running,
    /// All steps taken.
    Finished,
    /// The state diverged at this step (0-based) and evaluation; sampling stopped there.
    Unstable {
        /// The step.
        step: usize,
        /// The largest magnitude in the state (or NaN/∞).
        max_abs: f64,
    },
}

/// One guidance evaluation's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvaluationTrace {
    /// The sampler step (0-based).
    pub step: usize,
    /// The noise level.
    pub sigma: f64,
    /// Mean `‖Δ∥‖` and `‖Δ⊥‖` over samples (APG only).
    pub split: Option<SplitNorms>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Evaluate at `x`, `σ_step`.
    First,
    /// Heun's second evaluation at `x'`, `σ_{step+1}`.
    Second,
}

/// A sampling run over `n` samples of dimension `dim`.
#[derive(Debug, Clone)]
pub struct Sampling {
    config: SamplerConfig,
    dim: usize,
    sigmas: Vec<f64>,
    x: Vec<f64>,
    x_prime: Vec<f64>,
    slope: Vec<f64>,
    guided: Vec<f64>,
    step: usize,
    phase: Phase,
    state: GuidanceState,
    trace: Vec<EvaluationTrace>,
    outcome: Outcome,
}

impl Sampling {
    /// A run from standard normal draws `z` (`n × dim` row-major), scaled to the first level.
    /// Errors: `dim == 0` or `z` not whole finite rows, an invalid schedule or `steps == 0`.
    pub fn new(config: SamplerConfig, dim: usize, z: &[f64]) -> Result<Self, CoreError> {
        CoreError::check_rows("z", z, dim)?;
        let sigmas = config.schedule.sigmas(config.steps)?;
        let scale = config.schedule.start_scale(sigmas[0]);
        let x: Vec<f64> = z.iter().map(|v| v * scale).collect();
        let len = x.len();
        Ok(Self {
            config,
            dim,
            sigmas,
            x,
            x_prime: vec![0.0; len],
            slope: vec![0.0; len],
            guided: vec![0.0; len],
            step: 0,
            phase: Phase::First,
            state: GuidanceState::new(),
            trace: Vec::new(),
            outcome: Outcome::Running,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// The dimension of a sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The noise levels, `steps + 1` of them.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// Steps taken.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The current states (`n × dim`; the samples once finished).
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The guidance state: the momentum buffer and the last split per sample.
    pub fn guidance_state(&self) -> &GuidanceState {
        &self.state
    }

    /// One record per guidance evaluation so far.
    pub fn trace(&self) -> &[EvaluationTrace] {
        &self.trace
    }

    /// Running, finished or unstable.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The states and noise level to denoise next, or `None` when the run has ended.
    pub fn pending(&self) -> Option<(&[f64], f64)> {
        if self.outcome != Outcome::Running {
            return None;
        }
        Some(match self.phase {
            Phase::First => (&self.x, self.sigmas[self.step]),
            Phase::Second => (&self.x_prime, self.sigmas[self.step + 1]),
        })
    }

    /// Takes the exact conditional and unconditional denoised predictions `D_c`, `D_u` at the
    /// [`Sampling::pending`] states, guides them and moves on (one evaluation). Returns whether a
    /// sampler step was completed. Errors: lengths that differ from the states
    /// (`DimensionMismatch`), or a run that has ended (`InvalidValue`).
    pub fn feed(&mut self, d_cond: &[f64], d_uncond: &[f64]) -> Result<bool, CoreError> {
        let Some((at, sigma)) = self.pending() else {
            return Err(CoreError::InvalidValue {
                what: "sampling",
                reason: "the run has ended; start a new one".into(),
            });
        };
        let len = at.len();
        for (what, got) in [
            ("conditional prediction length", d_cond.len()),
            ("unconditional prediction length", d_uncond.len()),
        ] {
            if got != len {
                return Err(CoreError::DimensionMismatch {
                    what,
                    expected: len,
                    got,
                });
            }
        }
        let at = at.to_vec();
        let prediction = self.config.prediction;
        let mut p_c = d_cond.to_vec();
        let mut p_u = d_uncond.to_vec();
        prediction.from_denoised(&at, sigma, &mut p_c);
        prediction.from_denoised(&at, sigma, &mut p_u);
        let split = self.config.guidance.apply(
            &p_c,
            &p_u,
            self.dim,
            sigma,
            &mut self.state,
            &mut self.guided,
        );
        prediction.to_denoised(&at, sigma, &mut self.guided);
        self.trace.push(EvaluationTrace {
            step: self.step,
            sigma,
            split,
        });

        let (s0, s1) = (self.sigmas[self.step], self.sigmas[self.step + 1]);
        let h = s1 - s0;
        let finished_step = match (self.config.sampler, self.phase) {
            (SamplerKind::Euler, _) => {
                for (x, &g) in self.x.iter_mut().zip(&self.guided) {
                    *x += h * (*x - g) / s0;
                }
                true
            }
            (SamplerKind::Heun, Phase::First) => {
                for (((s, xp), &x), &g) in self
                    .slope
                    .iter_mut()
                    .zip(&mut self.x_prime)
                    .zip(&self.x)
                    .zip(&self.guided)
                {
                    *s = (x - g) / s0;
                    *xp = x + h * *s;
                }
                if s1 > 0.0 {
                    self.phase = Phase::Second;
                    false
                } else {
                    std::mem::swap(&mut self.x, &mut self.x_prime);
                    true
                }
            }
            (SamplerKind::Heun, Phase::Second) => {
                for (((x, &s), &xp), &g) in self
                    .x
                    .iter_mut()
                    .zip(&self.slope)
                    .zip(&self.x_prime)
                    .zip(&self.guided)
                {
                    *x += h * 0.5 * (s + (xp - g) / s1);
                }
                self.phase = Phase::First;
                true
            }
        };
        let check = if self.phase == Phase::Second {
            &self.x_prime
        } else {
            &self.x
        };
        let max_abs = check
            .iter()
            .map(|v| {
                if v.is_finite() {
                    v.abs()
                } else {
                    f64::INFINITY
                }
            })
            .fold(0.0, f64::max);
        if max_abs > UNSTABLE_LIMIT {
            self.outcome = Outcome::Unstable {
                step: self.step,
                max_abs,
            };
            return Ok(finished_step);
        }
        if finished_step {
            self.step += 1;
            if self.step == self.config.steps {
                self.outcome = Outcome::Finished;
            }
        }
        Ok(finished_step)
    }

    /// One evaluation on the CPU with `mixture`'s exact denoisers for class `class` and
    /// unconditionally. Returns whether a sampler step was completed (`false` also once ended).
    pub fn advance(&mut self, mixture: &Mixture, class: usize) -> Result<bool, CoreError> {
        let Some((at, sigma)) = self.pending() else {
            return Ok(false);
        };
        let (d_c, d_u) = denoise_pair(mixture, class, at, sigma)?;
        self.feed(&d_c, &d_u)
    }

    /// [`Sampling::advance`] until a whole sampler step is done or the run ends.
    pub fn advance_step(&mut self, mixture: &Mixture, class: usize) -> Result<(), CoreError> {
        while self.outcome == Outcome::Running && !self.advance(mixture, class)? {}
        Ok(())
    }

    /// [`Sampling::advance_step`] until the run ends.
    pub fn run(&mut self, mixture: &Mixture, class: usize) -> Result<Outcome, CoreError> {
        while self.outcome == Outcome::Running {
            self.advance_step(mixture, class)?;
        }
        Ok(self.outcome)
    }
}

/// The conditional (class `class`) and unconditional exact denoised predictions at `x`.
pub fn denoise_pair(
    mixture: &Mixture,
    class: usize,
    x: &[f64],
    sigma: f64,
) -> Result<(Vec<f64>, Vec<f64>), CoreError> {
    let mut d_c = vec![0.0; x.len()];
    let mut d_u = vec![0.0; x.len()];
    mixture
        .denoiser(Model::Class(class), sigma)?
        .apply(x, &mut d_c);
    mixture
        .denoiser(Model::Unconditional, sigma)?
        .apply(x, &mut d_u);
    Ok((d_c, d_u))
}
