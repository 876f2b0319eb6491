//! The exact conversions between a denoised prediction `x̂₀`, a noise prediction `ε̂` and a
//! velocity `v̂`, in EDM coordinates (`x = x₀ + σ ε`).
//!
//! With the VP view of the same state (`α = 1/√(1+σ²)`, `σ_VP = σ/√(1+σ²)`, `x_VP = α x`):
//! ```text
//! ε̂ = (x − x̂₀)/σ                      x̂₀ = x − σ ε̂
//! v̂ = α ε̂ − σ_VP x̂₀                   x̂₀ = α² x − σ_VP v̂      (α² + σ_VP² = 1)
//! ```
//! (Salimans & Ho 2022's `v = α ε − σ x₀`). All three are affine in the prediction for a fixed
//! `x`, so CFG gives the same `x̂₀` in each; APG's projection does not.

use serde::{Deserialize, Serialize};

/// The space guidance is applied in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The denoised sample `x̂₀` (what the APG authors recommend).
    #[default]
    X0,
    /// The noise `ε̂`.
    Eps,
    /// The velocity `v̂`.
    V,
}

impl Prediction {
    /// Converts denoised rows `d` (at states `x`, level `sigma > 0`) into this space, in place.
    pub fn from_denoised(self, x: &[f64], sigma: f64, d: &mut [f64]) {
        match self {
            Self::X0 => {}
            Self::Eps => {
                for (p, &xi) in d.iter_mut().zip(x) {
                    *p = (xi - *p) / sigma;
                }
            }
            Self::V => {
                let (alpha, sigma_vp) = vp(sigma);
                for (p, &xi) in d.iter_mut().zip(x) {
                    let eps = (xi - *p) / sigma;
                    *p = alpha * eps - sigma_vp * *p;
                }
            }
        }
    }

    /// Converts predictions `p` in this space back into denoised rows, in place.
    pub fn to_denoised(self, x: &[f64], sigma: f64, p: &mut [f64]) {
        match self {
            Self::X0 => {}
            Self::Eps => {
                for (v, &xi) in p.iter_mut().zip(x) {
                    *v = xi - sigma * *v;
                }
            }
            Self::V => {
                let (alpha, sigma_vp) = vp(sigma);
                for (v, &xi) in p.iter_mut().zip(x) {
                    *v = alpha * alpha * xi - sigma_vp * *v;
                }
            }
        }
    }
}

/// `(α, σ_VP) = (1/√(1+σ²), σ/√(1+σ²))`.
fn vp(sigma: f64) -> (f64, f64) {
    let r = (1.0 + sigma * sigma).sqrt();
    (1.0 / r, sigma / r)
}
