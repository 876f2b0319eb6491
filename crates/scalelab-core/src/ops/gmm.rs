//! CPU oracle of the `gmm_denoiser` kernel (`scalelab-gpu`): the posterior-mean denoiser of a
//! mixture of isotropic Gaussians, in `f64`, for the Guidance lab.
//!
//! Data `x₀ ~ Σ_k π_k N(μ_k, s_k² I)` in `d` dimensions, noised as `x_t = x₀ + σ ε`,
//! `ε ~ N(0, I)`. Per sample `x_t`, with `v_k = s_k² + σ²`:
//! ```text
//! log w_k = ln π_k − (d/2) ln(2π v_k) − ‖x_t − μ_k‖² / (2 v_k)
//! w_k     = e^{log w_k − m} / Σ_j e^{log w_j − m},   m = max_j log w_j   (max-shift)
//! E[x₀ | x_t] = Σ_k w_k · (s_k² x_t + σ² μ_k) / v_k
//! ```
//! The weights `π_k > 0` need not sum to 1 (only their ratios matter).

use crate::CoreError;

/// Posterior mean `E[x₀ | x_t]` of a Gaussian mixture (formula in the [module docs](self)), for
/// every row of `x` (row-major, `x.len() / d` samples of dimension `d`; zero samples give an
/// empty output). The mixture has `K = stds.len()` components: `means` is `K × d` row-major,
/// `stds[k] = s_k > 0`, `weights[k] = π_k > 0` (unnormalised is fine).
///
/// Errors: `d == 0` (`InvalidValue`); `x.len()` not a multiple of `d`, `means.len() ≠ K·d` or
/// `weights.len() ≠ K` (`DimensionMismatch`); no component (`EmptyInput` naming `"stds"`);
/// NaN/±inf anywhere (`NonFinite`); `σ ≤ 0`, some `s_k ≤ 0` or `π_k ≤ 0` (`OutOfRange`), or
/// `s_k² + σ²` outside the normal `f64` range (`OutOfRange`); a sample so far from every mean that
/// every `log w_k` overflows to −∞ (`OutOfRange`).
pub fn gmm_denoiser(
    x: &[f64],
    d: usize,
    sigma: f64,
    means: &[f64],
    stds: &[f64],
    weights: &[f64],
) -> Result<Vec<f64>, CoreError> {
    CoreError::check_rows("x", x, d)?;
    let k_count = stds.len();
    if k_count == 0 {
        return Err(CoreError::EmptyInput { what: "stds" });
    }
    if weights.len() != k_count {
        return Err(CoreError::DimensionMismatch {
            what: "weights length (must equal the number of components, stds length)",
            expected: k_count,
            got: weights.len(),
        });
    }
    let means_len = k_count.saturating_mul(d);
    if means.len() != means_len {
        return Err(CoreError::DimensionMismatch {
            what: "means length (must be components × d, row-major)",
            expected: means_len,
            got: means.len(),
        });
    }
    CoreError::check_positive("sigma", sigma)?;
    CoreError::check_finite("means", means)?;
    CoreError::check_finite("stds", stds)?;
    CoreError::check_finite("weights", weights)?;
    let positive = |what, values: &[f64]| match values.iter().find(|&&v| v <= 0.0) {
        Some(&value) => Err(CoreError::OutOfRange {
            what,
            value,
            min: f64::MIN_POSITIVE,
            max: f64::MAX,
        }),
        None => Ok(()),
    };
    positive("stds (component standard deviations are > 0)", stds)?;
    positive("weights (mixture weights are > 0)", weights)?;

    let sigma2 = sigma * sigma;
    let half_d = d as f64 / 2.0;
    // Per component: v_k, ln π_k − (d/2) ln(2π v_k), s_k²/v_k, σ²/v_k.
    let mut comps = Vec::with_capacity(k_count);
    for (&s, &pi) in stds.iter().zip(weights) {
        let var = s * s + sigma2;
        if !var.is_normal() {
            return Err(CoreError::OutOfRange {
                what: "s_k² + σ² (must be a normal f64; rescale the data)",
                value: var,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            });
        }
        let log_norm = pi.ln() - half_d * (2.0 * std::f64::consts::PI * var).ln();
        comps.push((var, log_norm, s * s / var, sigma2 / var));
    }

    let mut out = Vec::with_capacity(x.len());
    let mut log_w = vec![0.0; k_count];
    for row in x.chunks_exact(d) {
        let mut max = f64::NEG_INFINITY;
        for ((lw, &(var, log_norm, _, _)), mu) in
            log_w.iter_mut().zip(&comps).zip(means.chunks_exact(d))
        {
            let dist2: f64 = row.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum();
            *lw = log_norm - dist2 / (2.0 * var);
            max = max.max(*lw);
        }
        if !max.is_finite() {
            return Err(CoreError::OutOfRange {
                what: "largest log w_k of a sample (x_t too far from every mean for f64)",
                value: max,
                min: f64::MIN,
                max: f64::MAX,
            });
        }
        let mut total = 0.0;
        for lw in &mut log_w {
            *lw = (*lw - max).exp();
            total += *lw;
        }
        for (j, &xj) in row.iter().enumerate() {
            let mut acc = 0.0;
            for ((&e, &(_, _, a, b)), mu) in log_w.iter().zip(&comps).zip(means.chunks_exact(d)) {
                acc += e * (a * xj + b * mu[j]);
            }
            out.push(acc / total);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
        }
    }

    /// K = 1: the weight is 1 and x̂₀ = (s² x + σ² μ)/(s² + σ²), whatever π.
    #[test]
    fn one_component_is_the_gaussian_closed_form() {
        let (s, sigma) = (0.5, 2.0);
        let mu = [1.0, -3.0];
        let x = [0.0, 0.0, 4.0, 1.5, -10.0, 7.0];
        let got = gmm_denoiser(&x, 2, sigma, &mu, &[s], &[3.7]).unwrap();
        let want: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, &xi)| (s * s * xi + sigma * sigma * mu[i % 2]) / (s * s + sigma * sigma))
            .collect();
        assert_close(&got, &want, 1e-12);
    }

    /// Two equal components at ±μ: x_t = 0 is equidistant, the posterior mean is 0 by symmetry.
    #[test]
    fn symmetric_pair_denoises_origin_to_zero() {
        let mu = [1.5, -0.5, 2.0, -1.5, 0.5, -2.0];
        let got = gmm_denoiser(&[0.0; 3], 3, 0.7, &mu, &[0.3, 0.3], &[2.0, 2.0]).unwrap();
        assert_close(&got, &[0.0; 3], 1e-12);
    }

    /// σ → 0: no noise, E[x₀ | x_t] ≈ x_t (error of order σ²/s²).
    #[test]
    fn tiny_sigma_returns_x() {
        let mu = [-1.0, 0.0, 2.0, 1.0];
        let x = [0.3, -0.2, 5.0, 4.0, -2.0, 1.0];
        let got = gmm_denoiser(&x, 2, 1e-6, &mu, &[1.0, 0.5], &[0.2, 0.8]).unwrap();
        assert_close(&got, &x, 1e-10);
    }

    /// 1-D, π = (1, 3) (unnormalised), μ = (−1, 2), s = (1, 1), σ = 1, x_t = 0.5: v = 2 for both,
    /// the normalisers cancel, log w = ln π − (x − μ)²/4: −2.25/4 and ln 3 − 2.25/4, so
    /// w = (1/4, 3/4). Component means (x + μ)/2 = −0.25 and 1.25, so x̂₀ = 0.875.
    /// A second sample x_t = 2 with s = (1, √3) by hand: v = (2, 4),
    /// log w₁ = −½ ln 4π − 9/4, log w₂ = ln 3 − ½ ln 8π, means (2 − 1)/2 = 0.5 and (3·2 + 2)/4 = 2.
    #[test]
    fn hand_computed_one_dimensional_pair() {
        let got = gmm_denoiser(&[0.5], 1, 1.0, &[-1.0, 2.0], &[1.0, 1.0], &[1.0, 3.0]).unwrap();
        assert_close(&got, &[0.875], 1e-12);

        let pi = std::f64::consts::PI;
        let l1 = -0.5 * (4.0 * pi).ln() - 2.25;
        let l2 = 3f64.ln() - 0.5 * (8.0 * pi).ln();
        let w1 = 1.0 / (1.0 + (l2 - l1).exp());
        let want = w1 * 0.5 + (1.0 - w1) * 2.0;
        let got = gmm_denoiser(
            &[2.0],
            1,
            1.0,
            &[-1.0, 2.0],
            &[1.0, 3f64.sqrt()],
            &[1.0, 3.0],
        )
        .unwrap();
        assert_close(&got, &[want], 1e-12);
    }

    /// Far from every mean the max-shift keeps the weights finite (no 0/0).
    #[test]
    fn far_samples_stay_finite() {
        let got = gmm_denoiser(&[1e6], 1, 0.1, &[-1.0, 1.0], &[0.1, 0.1], &[1.0, 1.0]).unwrap();
        // The nearer component (μ = 1) takes all the weight: (0.01·1e6 + 0.01·1)/0.02.
        assert_close(&got, &[(1e6 + 1.0) / 2.0], 1e-6);
    }

    #[test]
    fn empty_batch_and_errors() {
        let ok = |x: &[f64]| gmm_denoiser(x, 2, 1.0, &[0.0, 0.0], &[1.0], &[1.0]);
        assert!(ok(&[]).unwrap().is_empty());
        let code = |r: Result<Vec<f64>, CoreError>| r.unwrap_err().code();
        assert_eq!(code(ok(&[1.0, 2.0, 3.0])), "DimensionMismatch");
        assert_eq!(code(ok(&[1.0, f64::NAN])), "NonFinite");
        let m = [0.0, 0.0];
        assert_eq!(
            code(gmm_denoiser(&[1.0], 0, 1.0, &m, &[1.0], &[1.0])),
            "InvalidValue"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 1, 1.0, &[], &[], &[])),
            "EmptyInput"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 2, 1.0, &m, &[1.0], &[1.0])),
            "DimensionMismatch"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 1, 1.0, &m, &[1.0], &[1.0])),
            "DimensionMismatch"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 1, 1.0, &m, &[1.0, 1.0], &[1.0])),
            "DimensionMismatch"
        );
        for sigma in [0.0, -1.0] {
            assert_eq!(
                code(gmm_denoiser(&[1.0], 1, sigma, &m, &[1.0, 1.0], &[1.0, 1.0])),
                "OutOfRange"
            );
        }
        assert_eq!(
            code(gmm_denoiser(
                &[1.0],
                1,
                f64::NAN,
                &m,
                &[1.0, 1.0],
                &[1.0, 1.0]
            )),
            "NonFinite"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 1, 1.0, &m, &[1.0, 0.0], &[1.0, 1.0])),
            "OutOfRange"
        );
        assert_eq!(
            code(gmm_denoiser(&[1.0], 1, 1.0, &m, &[1.0, 1.0], &[1.0, -0.5])),
            "OutOfRange"
        );
        assert_eq!(
            code(gmm_denoiser(
                &[1.0],
                1,
                1e-170,
                &m,
                &[1e-170, 1.0],
                &[1.0, 1.0]
            )),
            "OutOfRange"
        );
        assert_eq!(
            code(gmm_denoiser(&[1e300], 1, 1.0, &m, &[1.0, 1.0], &[1.0, 1.0])),
            "OutOfRange"
        );
    }
}
