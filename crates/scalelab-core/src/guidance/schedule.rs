//! Noise schedules as sequences of EDM noise levels `σ_0 > … > σ_{N−1} > σ_N = 0`.
//!
//! - **EDM** (Karras et al. 2022, eq. 5): `σ_i = (σ_max^{1/ρ} + i/(N−1) (σ_min^{1/ρ} −
//!   σ_max^{1/ρ}))^ρ`, `i = 0 … N−1` (`N = 1`: `σ_0 = σ_max`). Start `x = σ_0 z`.
//! - **VP** (Song et al. 2021, linear β): `β(t) = β_min + t (β_max − β_min)`,
//!   `α(t) = exp(−½ (β_min t + ½ (β_max − β_min) t²))`, `σ_VP(t) = √(1 − α²)`. A VP state
//!   `x_VP = α x₀ + σ_VP ε` is the EDM state `x = x_VP / α = x₀ + σ ε` with
//!   `σ(t) = σ_VP/α = √(e^{β_min t + ½(β_max−β_min) t²} − 1)` — an exact change of variables, so
//!   the VP model's denoiser is the EDM denoiser at `σ(t)`, and DDIM (η = 0) on the VP model is
//!   the Euler step in these coordinates (Karras et al. 2022, §3). Timesteps
//!   `t_i = 1 + i/(N−1) (t_min − 1)`; the VP prior `x_VP = z ~ N(0, I)` starts at
//!   `x = z √(1 + σ_0²)` (`1/α = √(1 + σ²)`).

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// A noise schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Karras et al.'s EDM schedule.
    Edm {
        /// Smallest noise level (> 0).
        sigma_min: f64,
        /// Largest noise level (> `sigma_min`).
        sigma_max: f64,
        /// Spacing exponent ρ (> 0; 7 in the paper).
        rho: f64,
    },
    /// Variance preserving with a linear β(t), through its exact change of variables.
    Vp {
        /// β at t = 0 (≥ 0).
        beta_min: f64,
        /// β at t = 1 (> `beta_min`).
        beta_max: f64,
        /// Last timestep (in (0, 1)).
        t_min: f64,
    },
}

impl Default for Schedule {
    fn default() -> Self {
        Self::EDM_DEFAULT
    }
}

impl Schedule {
    /// EDM with σ ∈ [0.002, 80], ρ = 7 (Karras et al. 2022).
    pub const EDM_DEFAULT: Self = Self::Edm {
        sigma_min: 0.002,
        sigma_max: 80.0,
        rho: 7.0,
    };

    /// VP with β ∈ [0.1, 20], t_min = 10⁻³ (Song et al. 2021).
    pub const VP_DEFAULT: Self = Self::Vp {
        beta_min: 0.1,
        beta_max: 20.0,
        t_min: 1e-3,
    };

    /// Checks the parameters: each error is an `OutOfRange`/`NonFinite` naming the parameter.
    pub fn validate(&self) -> Result<(), CoreError> {
        let range = |what, value: f64, min: f64, max: f64| {
            CoreError::check_finite(what, &[value])?;
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(CoreError::OutOfRange {
                    what,
                    value,
                    min,
                    max,
                })
            }
        };
        match *self {
            Self::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => {
                range("sigma_min", sigma_min, 1e-6, 1e3)?;
                range(
                    "sigma_max (must exceed sigma_min)",
                    sigma_max,
                    sigma_min,
                    1e5,
                )?;
                range("rho", rho, 1e-3, 100.0)
            }
            Self::Vp {
                beta_min,
                beta_max,
                t_min,
            } => {
                range("beta_min", beta_min, 0.0, 100.0)?;
                range("beta_max (must exceed beta_min)", beta_max, beta_min, 100.0)?;
                if beta_max == beta_min && beta_min == 0.0 {
                    return Err(CoreError::OutOfRange {
                        what: "beta_max (must be > 0)",
                        value: beta_max,
                        min: f64::MIN_POSITIVE,
                        max: 100.0,
                    });
                }
                range("t_min", t_min, 1e-6, 0.5)
            }
        }
    }

    /// The `N + 1` noise levels of `steps = N ≥ 1` steps, the last 0. Errors: `steps == 0`
    /// (`OutOfRange`) or invalid parameters.
    pub fn sigmas(&self, steps: usize) -> Result<Vec<f64>, CoreError> {
        self.validate()?;
        if steps == 0 {
            return Err(CoreError::OutOfRange {
                what: "steps",
                value: 0.0,
                min: 1.0,
                max: f64::MAX,
            });
        }
        let frac = |i: usize| {
            if steps == 1 {
                0.0
            } else {
                i as f64 / (steps - 1) as f64
            }
        };
        let mut sigmas: Vec<f64> = (0..steps)
            .map(|i| match *self {
                Self::Edm {
                    sigma_min,
                    sigma_max,
                    rho,
                } => {
                    let a = sigma_max.powf(1.0 / rho);
                    let b = sigma_min.powf(1.0 / rho);
                    (a + frac(i) * (b - a)).powf(rho)
                }
                Self::Vp {
                    beta_min,
                    beta_max,
                    t_min,
                } => {
                    let t = 1.0 + frac(i) * (t_min - 1.0);
                    (beta_min * t + 0.5 * (beta_max - beta_min) * t * t)
                        .exp_m1()
                        .sqrt()
                }
            })
            .collect();
        sigmas.push(0.0);
        Ok(sigmas)
    }

    /// The factor the standard normal start `z` is scaled by at the first level `σ_0`: `σ_0`
    /// (EDM) or `√(1 + σ_0²)` (VP).
    pub fn start_scale(&self, sigma0: f64) -> f64 {
        match self {
            Self::Edm { .. } => sigma0,
            Self::Vp { .. } => (1.0 + sigma0 * sigma0).sqrt(),
        }
    }
}
