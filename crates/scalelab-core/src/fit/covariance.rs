//! Asymptotic covariance of least-squares parameters: `C = s² (JᵀJ)⁻¹` with `s² = RSS / (n − p)`,
//! and, for robust losses, Huber's sandwich ([`robust_covariance`]).
//!
//! `J` is the `n × p` Jacobian of the (weighted) residuals at the solution. `(JᵀJ)⁻¹` is formed from the
//! SVD of the column-equilibrated Jacobian `J D⁻¹` (`D` = column norms), never from `JᵀJ` itself:
//! with `J D⁻¹ = U Σ Vᵀ`, `(JᵀJ)⁻¹ = D⁻¹ V Σ⁻² Vᵀ D⁻¹`. The matrix counts as singular (no covariance)
//! when a column is zero or `σ_min ≤ ε · max(n, p) · σ_max` (numpy's `matrix_rank` tolerance), so the
//! test does not depend on the parameters' units. Standard errors are `√C_jj`.

use nalgebra::DMatrix;

use crate::fit::{losses, RobustLoss};

/// A covariance matrix and the standard errors on its diagonal.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariance {
    /// Row-major `p × p` covariance `s² (JᵀJ)⁻¹`.
    pub matrix: Vec<f64>,
    /// Standard errors `√C_jj`.
    pub std_errors: Vec<f64>,
}

/// `s² (JᵀJ)⁻¹` from a row-major `n × p` residual Jacobian, `s² = rss / dof`.
///
/// Returns `None` when the sizes disagree, `dof == 0`, any input is non-finite, or `J` is
/// rank-deficient (see the module docs).
pub fn covariance(
    jacobian: &[f64],
    n: usize,
    p: usize,
    rss: f64,
    dof: usize,
) -> Option<Covariance> {
    if p == 0
        || n < p
        || dof == 0
        || jacobian.len() != n.checked_mul(p)?
        || !rss.is_finite()
        || rss < 0.0
    {
        return None;
    }
    let inverse = inverse_normal_matrix(jacobian, n, p)?;
    Some(scaled(inverse, p, rss / dof as f64))
}

/// Huber's covariance of an M-estimator, "H1" (Huber 1981, §7.6; statsmodels `RLM`'s default):
///
/// `C = k² · [Σ ψ(rᵢ)² / (n − p)] / [Σ ψ'(rᵢ) / n]² · (JᵀJ)⁻¹`, `k = 1 + (p / n) · var(ψ') / mean(ψ')²`
///
/// with `ψ` the derivative of the per-residual cost ([`crate::fit::losses::psi`]), `var` the population
/// variance, `J` the residual Jacobian and `dof = n − p`. The residuals the loss down-weights no longer
/// inflate the errors. For L2 (`ψ(r) = r`, `ψ' = 1`, `k = 1`) this is `s² (JᵀJ)⁻¹`. `None` as for
/// [`covariance`], or when `Σ ψ' ≤ 0` (every residual beyond the loss's threshold).
pub fn robust_covariance(
    jacobian: &[f64],
    n: usize,
    p: usize,
    residuals: &[f64],
    loss: RobustLoss,
    dof: usize,
) -> Option<Covariance> {
    if residuals.len() != n || dof == 0 || n == 0 {
        return None;
    }
    if loss == RobustLoss::L2 {
        let rss = residuals.iter().map(|r| r * r).sum();
        return covariance(jacobian, n, p, rss, dof);
    }
    let (mut ss_psi, mut sum_d, mut sum_d2) = (0.0, 0.0, 0.0);
    for &r in residuals {
        let (psi, d) = losses::psi(loss, r);
        ss_psi += psi * psi;
        sum_d += d;
        sum_d2 += d * d;
    }
    let nf = n as f64;
    let mean_d = sum_d / nf;
    if !(mean_d > 0.0 && ss_psi.is_finite()) {
        return None;
    }
    let var_d = (sum_d2 / nf - mean_d * mean_d).max(0.0);
    let k = 1.0 + (p as f64 / nf) * var_d / (mean_d * mean_d);
    let factor = k * k * (ss_psi / dof as f64) / (mean_d * mean_d);
    if !factor.is_finite() {
        return None;
    }
    let inverse = inverse_normal_matrix(jacobian, n, p)?;
    Some(scaled(inverse, p, factor))
}

/// `factor · inverse` with its standard errors.
fn scaled(mut matrix: Vec<f64>, p: usize, factor: f64) -> Covariance {
    matrix.iter_mut().for_each(|v| *v *= factor);
    let std_errors = (0..p).map(|k| matrix[k * p + k].max(0.0).sqrt()).collect();
    Covariance { matrix, std_errors }
}

/// `(JᵀJ)⁻¹` (row-major) from the SVD of the column-equilibrated Jacobian; `None` when singular.
fn inverse_normal_matrix(jacobian: &[f64], n: usize, p: usize) -> Option<Vec<f64>> {
    if p == 0 || n < p || jacobian.len() != n.checked_mul(p)? {
        return None;
    }
    if jacobian.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut j = DMatrix::from_row_slice(n, p, jacobian);
    let mut norms = Vec::with_capacity(p);
    for mut col in j.column_iter_mut() {
        let norm = col.norm();
        if norm == 0.0 || !norm.is_finite() {
            return None;
        }
        col /= norm;
        norms.push(norm);
    }
    let svd = nalgebra::linalg::SVD::try_new(j, false, true, f64::EPSILON, 200 * p.max(10))?;
    let v_t = svd.v_t?;
    let sigma = &svd.singular_values;
    let s_max = sigma.iter().cloned().fold(0.0_f64, f64::max);
    let s_min = sigma.iter().cloned().fold(f64::INFINITY, f64::min);
    if s_max == 0.0 || s_min <= f64::EPSILON * (n.max(p) as f64) * s_max {
        return None;
    }
    let mut matrix = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..=a {
            let mut sum = 0.0;
            for (k, s) in sigma.iter().enumerate() {
                sum += v_t[(k, a)] * v_t[(k, b)] / (s * s);
            }
            let c = sum / (norms[a] * norms[b]);
            matrix[a * p + b] = c;
            matrix[b * p + a] = c;
        }
    }
    Some(matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_matches_the_closed_form() {
        // y = a + b x at x = 0, 1, 2, 3: JᵀJ = [[4, 6], [6, 14]], det = 20,
        // (JᵀJ)⁻¹ = [[14, −6], [−6, 4]] / 20. With rss = 2, dof = 2: s² = 1.
        let jac = [1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0];
        let c = covariance(&jac, 4, 2, 2.0, 2).expect("regular");
        let want = [0.7, -0.3, -0.3, 0.2];
        for (g, w) in c.matrix.iter().zip(want) {
            assert!((g - w).abs() < 1e-14, "{:?}", c.matrix);
        }
        assert!((c.std_errors[0] - 0.7_f64.sqrt()).abs() < 1e-14);
        assert!((c.std_errors[1] - 0.2_f64.sqrt()).abs() < 1e-14);
    }

    #[test]
    fn sign_and_scale_of_columns_do_not_matter() {
        // Residual Jacobians carry a minus sign and columns of wildly different scale.
        let jac = [-1.0, 0.0, -1.0, -1e8, -1.0, -2e8, -1.0, -3e8];
        let c = covariance(&jac, 4, 2, 2.0, 2).expect("regular");
        assert!((c.matrix[0] - 0.7).abs() < 1e-14);
        assert!((c.matrix[3] - 0.2e-16).abs() < 1e-29);
    }

    #[test]
    fn singular_or_degenerate_gives_none() {
        // Two equal columns.
        assert_eq!(
            covariance(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0], 3, 2, 1.0, 1),
            None
        );
        // A zero column.
        assert_eq!(
            covariance(&[1.0, 0.0, 2.0, 0.0, 3.0, 0.0], 3, 2, 1.0, 1),
            None
        );
        // No degrees of freedom, wrong size, non-finite.
        assert_eq!(covariance(&[1.0, 2.0], 2, 1, 1.0, 0), None);
        assert_eq!(covariance(&[1.0, 2.0, 3.0], 2, 2, 1.0, 1), None);
        assert_eq!(covariance(&[1.0, f64::NAN], 2, 1, 1.0, 1), None);
        assert_eq!(covariance(&[1.0, 2.0], 2, 1, f64::NAN, 1), None);
    }
}
