//! Robust losses `ρ` on squared residuals, in the conventions of `scipy.optimize.least_squares`.
//!
//! With scale `c` (Huber's `delta`, or `scale`) and `z = s / c²` where `s = r²`, the scaled loss is
//! `ρ_c(s) = c² ρ(z)`, its derivatives `ρ_c'(s) = ρ'(z)` and `ρ_c''(s) = ρ''(z) / c²`, and the cost of a
//! residual vector is `½ Σ ρ_c(r_i²)`. The unscaled losses are
//! - L2: `ρ(z) = z`;
//! - Huber: `ρ(z) = z` for `z ≤ 1`, `2√z − 1` otherwise (so `ρ_c(r²) = r²` for `|r| ≤ c` and
//!   `2c|r| − c²` beyond);
//! - soft-L1: `ρ(z) = 2(√(1 + z) − 1)`;
//! - Cauchy: `ρ(z) = ln(1 + z)`.
//!
//! A Gauss–Newton-type solver minimises the robust cost by rescaling each residual and its Jacobian
//! row (Triggs et al., "Bundle adjustment — a modern synthesis", 2000; scipy's
//! `scale_for_robust_loss_function`): with `k = √max(ρ_c'(s) + 2 ρ_c''(s) s, ε)`, the row becomes
//! `k · J_i` and the residual `ρ_c'(s) · r / k`. Then `J̃ᵀ r̃ = Jᵀ(ρ' r)` is the exact gradient of the
//! cost and `J̃ᵀ J̃` its Gauss–Newton Hessian including the curvature of `ρ`.

use crate::fit::RobustLoss;
use crate::CoreError;

/// The loss's scale `c`: Huber's `delta`, soft-L1's and Cauchy's `scale`, 1 for L2.
pub fn scale(loss: RobustLoss) -> f64 {
    match loss {
        RobustLoss::L2 => 1.0,
        RobustLoss::Huber { delta } => delta,
        RobustLoss::SoftL1 { scale } | RobustLoss::Cauchy { scale } => scale,
    }
}

/// `Err(OutOfRange)` unless the loss's scale is finite and `> 0`.
pub fn validate(loss: RobustLoss) -> Result<(), CoreError> {
    let c = scale(loss);
    if c.is_finite() && c > 0.0 {
        Ok(())
    } else {
        let what = match loss {
            RobustLoss::Huber { .. } => "huber delta",
            _ => "loss scale",
        };
        Err(CoreError::OutOfRange {
            what,
            value: c,
            min: f64::MIN_POSITIVE,
            max: f64::MAX,
        })
    }
}

/// `[ρ_c(s), ρ_c'(s), ρ_c''(s)]` at `s = r² ≥ 0` (see the module docs for the formulas).
pub fn rho(loss: RobustLoss, s: f64) -> [f64; 3] {
    let c = scale(loss);
    let c2 = c * c;
    let z = s / c2;
    let [r0, r1, r2] = match loss {
        RobustLoss::L2 => return [s, 1.0, 0.0],
        RobustLoss::Huber { .. } => {
            if z <= 1.0 {
                [z, 1.0, 0.0]
            } else {
                let sq = z.sqrt();
                [2.0 * sq - 1.0, 1.0 / sq, -0.5 / (z * sq)]
            }
        }
        RobustLoss::SoftL1 { .. } => {
            let t = 1.0 + z;
            let sq = t.sqrt();
            [2.0 * (sq - 1.0), 1.0 / sq, -0.5 / (t * sq)]
        }
        RobustLoss::Cauchy { .. } => {
            let t = 1.0 + z;
            [z.ln_1p(), 1.0 / t, -1.0 / (t * t)]
        }
    };
    [c2 * r0, r1, r2 / c2]
}

/// `(ψ(r), ψ'(r))` of a residual: the derivative of the per-residual cost `½ ρ_c(r²)` in `r`,
/// `ψ(r) = ρ_c'(r²) r`, and its derivative `ψ'(r) = ρ_c'(r²) + 2 r² ρ_c''(r²)` — Huber's
/// `ψ(r) = clip(r, −c, c)` with `ψ' = 1{|r| < c}`, and `(r, 1)` for L2. The M-estimator's influence
/// function, as in `statsmodels.robust.norms` (there on standardised residuals).
pub fn psi(loss: RobustLoss, r: f64) -> (f64, f64) {
    let s = r * r;
    let [_, d1, d2] = rho(loss, s);
    (d1 * r, d1 + 2.0 * s * d2)
}

/// The robust cost `½ Σ ρ_c(r_i²)` of a residual vector.
pub fn cost(loss: RobustLoss, residuals: &[f64]) -> f64 {
    match loss {
        RobustLoss::L2 => 0.5 * residuals.iter().map(|r| r * r).sum::<f64>(),
        _ => 0.5 * residuals.iter().map(|r| rho(loss, r * r)[0]).sum::<f64>(),
    }
}

/// Triggs's correction of one residual `r`: returns `(r̃, k)` with
/// `k = √max(ρ_c'(r²) + 2 ρ_c''(r²) r², ε)` (the factor for the Jacobian row) and `r̃ = ρ_c'(r²) r / k`.
/// For L2 it is `(r, 1)`.
pub fn robust_row_scaling(loss: RobustLoss, r: f64) -> (f64, f64) {
    if loss == RobustLoss::L2 {
        return (r, 1.0);
    }
    let s = r * r;
    let [_, d1, d2] = rho(loss, s);
    let k = (d1 + 2.0 * d2 * s).max(f64::EPSILON).sqrt();
    (d1 * r / k, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values: scipy 1.17.1 `scipy.optimize._lsq.least_squares.IMPLEMENTED_LOSSES`
    // (huber, soft_l1, cauchy) evaluated at z = s/c² and scaled as in `construct_loss_function`
    // (rho[0] *= c², rho[2] /= c²), run with /tmp/venv-fit/bin/python:
    //   from scipy.optimize._lsq.least_squares import huber, soft_l1, cauchy
    //   for f, c, s in cases: z = np.array([s/c**2]); rho = np.empty((3, 1)); f(z, rho, False)
    //   print(rho[0]*c*c, rho[1], rho[2]/c/c)
    #[test]
    fn rho_matches_scipy() {
        let cases: [(RobustLoss, f64, [f64; 3]); 7] = [
            (RobustLoss::Huber { delta: 1.5 }, 1.0, [1.0, 1.0, 0.0]),
            (
                RobustLoss::Huber { delta: 1.5 },
                9.0,
                [6.75, 0.5, -0.027777777777777776],
            ),
            (RobustLoss::SoftL1 { scale: 1.0 }, 3.0, [2.0, 0.5, -0.0625]),
            (
                RobustLoss::SoftL1 { scale: 2.0 },
                0.25,
                [
                    0.24621125123532117,
                    0.9701425001453319,
                    -0.11413441178180375,
                ],
            ),
            (
                RobustLoss::Cauchy { scale: 1.0 },
                1.0,
                [std::f64::consts::LN_2, 0.5, -0.25],
            ),
            (
                RobustLoss::Cauchy { scale: 0.5 },
                2.0,
                [0.5493061443340549, 0.1111111111111111, -0.04938271604938271],
            ),
            (RobustLoss::L2, 7.0, [7.0, 1.0, 0.0]),
        ];
        for (loss, s, want) in cases {
            let got = rho(loss, s);
            for k in 0..3 {
                let tol = 1e-15 * want[k].abs().max(1e-300);
                assert!(
                    (got[k] - want[k]).abs() <= tol,
                    "{loss:?} s={s} rho[{k}] = {} want {}",
                    got[k],
                    want[k]
                );
            }
        }
    }

    #[test]
    fn cost_is_half_sum_of_scaled_rho() {
        // Huber, delta 1: |r| = 0.5 → r² = 0.25; |r| = 3 → 2·1·3 − 1 = 5. Cost = ½(0.25 + 5).
        let c = cost(RobustLoss::Huber { delta: 1.0 }, &[0.5, -3.0]);
        assert!((c - 2.625).abs() < 1e-15, "{c}");
        let c = cost(RobustLoss::L2, &[3.0, 4.0]);
        assert_eq!(c, 12.5);
    }

    #[test]
    fn triggs_scaling_gives_the_exact_gradient() {
        // d/dr (½ ρ_c(r²)) = ρ_c'(r²) r = r̃ · k for every loss.
        for loss in [
            RobustLoss::L2,
            RobustLoss::Huber { delta: 0.7 },
            RobustLoss::SoftL1 { scale: 0.3 },
            RobustLoss::Cauchy { scale: 2.0 },
        ] {
            for r in [-4.0, -0.2, 0.0, 0.1, 1.3, 25.0] {
                let (rt, k) = robust_row_scaling(loss, r);
                let h = 1e-6 * r.abs().max(1.0);
                let num = (cost(loss, &[r + h]) - cost(loss, &[r - h])) / (2.0 * h);
                assert!(
                    (rt * k - num).abs() <= 1e-7 * num.abs().max(1.0),
                    "{loss:?} r={r}: {} vs {num}",
                    rt * k
                );
            }
        }
    }

    #[test]
    fn scales_must_be_positive_and_finite() {
        assert!(validate(RobustLoss::L2).is_ok());
        assert!(validate(RobustLoss::Cauchy { scale: 0.1 }).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = validate(RobustLoss::SoftL1 { scale: bad }).unwrap_err();
            assert_eq!(e.code(), "OutOfRange");
            let e = validate(RobustLoss::Huber { delta: bad }).unwrap_err();
            assert!(e.to_string().contains("huber delta"), "{e}");
        }
    }
}
