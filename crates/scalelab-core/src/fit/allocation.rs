//! Compute-optimal allocation for the Chinchilla law `L = E + A/N^α + B/D^β` (Hoffmann et al.
//! 2022, Eq. 4) under the budget `C = 6·N·D`.
//!
//! Minimising `L` subject to `6ND = C` gives
//! `N_opt(C) = G·(C/6)^a`, `D_opt(C) = G⁻¹·(C/6)^b`, with `G = (αA/(βB))^(1/(α+β))`,
//! `a = β/(α+β)`, `b = α/(α+β)` (`a + b = 1`; some secondary notes swap `a` and `b`, which is wrong).

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Training FLOPs per parameter per token in `C = 6·N·D`.
pub const FLOPS_PER_PARAM_TOKEN: f64 = 6.0;

/// The allocation rule of one fitted Chinchilla law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChinchillaAllocation {
    /// `G = (αA/(βB))^(1/(α+β))`.
    pub g: f64,
    /// Exponent of compute in `N_opt`: `a = β/(α+β)`.
    pub a: f64,
    /// Exponent of compute in `D_opt`: `b = α/(α+β)`.
    pub b: f64,
}

/// The compute-optimal model at one budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComputeOptimal {
    /// Budget `C` in FLOPs.
    pub compute: f64,
    /// `N_opt(C)` parameters.
    pub params: f64,
    /// `D_opt(C)` tokens.
    pub tokens: f64,
    /// `D_opt/N_opt = G⁻²·(C/6)^(b−a)`.
    pub tokens_per_param: f64,
}

impl ChinchillaAllocation {
    /// The rule for the law's coefficients `A` (`coef_a`), `B` (`coef_b`) and exponents `α`, `β`.
    ///
    /// Errors: [`CoreError::NonFinite`] / [`CoreError::OutOfRange`] unless all four are finite and
    /// positive, or when `G` over/underflows.
    pub fn new(coef_a: f64, coef_b: f64, alpha: f64, beta: f64) -> Result<Self, CoreError> {
        for (what, v) in [
            ("A", coef_a),
            ("B", coef_b),
            ("alpha", alpha),
            ("beta", beta),
        ] {
            CoreError::check_positive(what, v)?;
        }
        let sum = alpha + beta;
        let g = ((alpha * coef_a) / (beta * coef_b)).powf(1.0 / sum);
        if !(g.is_finite() && g > 0.0) {
            return Err(CoreError::OutOfRange {
                what: "G = (αA/(βB))^(1/(α+β))",
                value: g,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            });
        }
        Ok(ChinchillaAllocation {
            g,
            a: beta / sum,
            b: alpha / sum,
        })
    }

    /// The rule for parameters `[E, A, B, alpha, beta]` in [`crate::fit::models::Chinchilla`]'s
    /// order. Errors as [`ChinchillaAllocation::new`], or [`CoreError::DimensionMismatch`] for a
    /// length other than 5.
    pub fn from_chinchilla_params(theta: &[f64]) -> Result<Self, CoreError> {
        match *theta {
            [_, a, b, alpha, beta] => Self::new(a, b, alpha, beta),
            _ => Err(CoreError::DimensionMismatch {
                what: "Chinchilla parameters [E, A, B, alpha, beta]",
                expected: 5,
                got: theta.len(),
            }),
        }
    }

    /// `N_opt(C) = G·(C/6)^a` (NaN for a non-positive `C`).
    pub fn params(&self, compute: f64) -> f64 {
        self.g * positive(compute / FLOPS_PER_PARAM_TOKEN).powf(self.a)
    }

    /// `D_opt(C) = G⁻¹·(C/6)^b` (NaN for a non-positive `C`).
    pub fn tokens(&self, compute: f64) -> f64 {
        positive(compute / FLOPS_PER_PARAM_TOKEN).powf(self.b) / self.g
    }

    /// `D_opt/N_opt = G⁻²·(C/6)^(b−a)` (NaN for a non-positive `C`).
    pub fn tokens_per_param(&self, compute: f64) -> f64 {
        positive(compute / FLOPS_PER_PARAM_TOKEN).powf(self.b - self.a) / (self.g * self.g)
    }

    /// The budget at which `N` parameters are compute-optimal: `C = 6·(N/G)^(1/a)` (NaN for a
    /// non-positive `N`).
    pub fn compute_for_params(&self, params: f64) -> f64 {
        FLOPS_PER_PARAM_TOKEN * (positive(params) / self.g).powf(1.0 / self.a)
    }

    /// Everything at budget `C`. Errors: [`CoreError::NonFinite`] / [`CoreError::OutOfRange`]
    /// unless `C` is finite and positive.
    pub fn at(&self, compute: f64) -> Result<ComputeOptimal, CoreError> {
        CoreError::check_positive("compute C", compute)?;
        Ok(ComputeOptimal {
            compute,
            params: self.params(compute),
            tokens: self.tokens(compute),
            tokens_per_param: self.tokens_per_param(compute),
        })
    }
}

/// `v` when positive, NaN otherwise.
fn positive(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_spent_exactly() {
        let r = ChinchillaAllocation::new(406.4, 410.7, 0.34, 0.28).unwrap();
        let c = 1e22;
        let o = r.at(c).unwrap();
        assert!((6.0 * o.params * o.tokens / c - 1.0).abs() < 1e-12);
        assert!((r.compute_for_params(o.params) / c - 1.0).abs() < 1e-12);
        assert!(r.params(-1.0).is_nan());
        assert!(r.at(0.0).is_err());
        assert!(ChinchillaAllocation::new(1.0, 1.0, 0.0, 0.3).is_err());
        assert!(ChinchillaAllocation::from_chinchilla_params(&[1.0]).is_err());
    }
}
