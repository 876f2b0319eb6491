//! Step Law ("Predictable Scale: Part I", StepFun, arXiv 2503.04715): optimal peak learning rate and
//! batch size from model size and data size.
//!
//! `η_opt(N, D) = 1.79·N^(−0.713)·D^(0.307)` and `B_opt(D) = 0.58·D^(0.571)` (batch size in tokens),
//! with `N` parameters (whether embeddings count is not confirmed) and `D` training tokens. The
//! published constants agree with the mean of the repository's 1000 bootstrap refits.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Coefficient of `η_opt`: 1.79.
pub const LR_COEF: f64 = 1.79;
/// Exponent of `N` in `η_opt`: −0.713.
pub const LR_EXP_N: f64 = -0.713;
/// Exponent of `D` in `η_opt`: 0.307.
pub const LR_EXP_D: f64 = 0.307;
/// Coefficient of `B_opt`: 0.58.
pub const BATCH_COEF: f64 = 0.58;
/// Exponent of `D` in `B_opt`: 0.571.
pub const BATCH_EXP_D: f64 = 0.571;

/// The Step Law's recommendation for one `(N, D)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLaw {
    /// Optimal peak learning rate `η_opt = 1.79·N^(−0.713)·D^(0.307)`.
    pub lr: f64,
    /// Optimal batch size in tokens `B_opt = 0.58·D^(0.571)`.
    pub batch_tokens: f64,
}

/// `η_opt(N, D) = 1.79·N^(−0.713)·D^(0.307)`.
///
/// Errors: [`CoreError::NonFinite`] or [`CoreError::OutOfRange`] unless `N` and `D` are finite and
/// positive.
pub fn optimal_lr(n: f64, d: f64) -> Result<f64, CoreError> {
    CoreError::check_positive("N (parameters)", n)?;
    CoreError::check_positive("D (tokens)", d)?;
    Ok(LR_COEF * n.powf(LR_EXP_N) * d.powf(LR_EXP_D))
}

/// `B_opt(D) = 0.58·D^(0.571)` tokens. Errors as [`optimal_lr`].
pub fn optimal_batch_tokens(d: f64) -> Result<f64, CoreError> {
    CoreError::check_positive("D (tokens)", d)?;
    Ok(BATCH_COEF * d.powf(BATCH_EXP_D))
}

/// Both recommendations at once. Errors as [`optimal_lr`].
pub fn step_law(n: f64, d: f64) -> Result<StepLaw, CoreError> {
    Ok(StepLaw {
        lr: optimal_lr(n, d)?,
        batch_tokens: optimal_batch_tokens(d)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_positive_inputs() {
        assert!(optimal_lr(0.0, 1.0).is_err());
        assert!(optimal_lr(1.0, f64::NAN).is_err());
        assert!(optimal_batch_tokens(-1.0).is_err());
    }
}
