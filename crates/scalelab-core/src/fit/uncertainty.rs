//! Uncertainty of fitted parameters and of extrapolated predictions.
//!
//! **Bootstrap** ([`bootstrap`]): `B` resamples of the `n` observations, each drawn with
//! replacement (`n` indices uniform on `0..n`) from ChaCha8 seeded with an explicit seed, so a
//! run is reproducible on every platform; the caller's closure refits on each resample. From the
//! successful refits ([`summarize`]):
//! - standard errors `SE_j = √( Σ_b (θ_bj − θ̄_j)² / (B' − 1) )` over the `B'` successful refits
//!   (the `ddof = 1` of `numpy.cov`, which Epoch AI used);
//! - percentile intervals at each level `c`: the `(1−c)/2` and `(1+c)/2` quantiles of each
//!   parameter, by linear interpolation between order statistics (`numpy.percentile`'s default,
//!   Hyndman–Fan type 7): `q(p) = x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)`, `h = (B' − 1) p`, 0-based.
//!
//! Intervals for a transformed parameter (e.g. `A = eᵃ`) should be computed by transforming the
//! estimates first and then calling [`summarize`].
//!
//! **Delta-method bands** ([`delta_method_band`]): for a model `f(x; θ)` with fitted `θ̂` and
//! parameter covariance `Σ` (`p × p`, row-major), at new inputs `x`:
//! - linear space: `se(x) = √(gᵀ Σ g)`, `g = ∂f/∂θ(x; θ̂)`; confidence band `f ± z·se`;
//!   prediction band `f ± z·√(se² + s²)` with `s²` the residual variance (e.g. `RSS/(n − p)`);
//! - log space (fits on `ln y`): the same on `ln f`, with gradient `g/f`, i.e.
//!   `se_ln(x) = √(gᵀ Σ g)/f`; bands `f·exp(±z·se_ln)` and `f·exp(±z·√(se_ln² + s²))` with `s²` the
//!   variance of the log residuals (asymmetric in `f`, never negative).
//!
//! The multiplier is Student's `t` quantile `t_{n−p}((1 + level)/2)` with the fit's residual degrees
//! of freedom `n − p` (`n` the observations with positive weight), as `statsmodels`'
//! `get_prediction(...).conf_int()` and `scipy.stats.t.ppf` give it; without degrees of freedom, the
//! normal `z = Φ⁻¹((1 + level)/2)` ([`quantile`]). Both come from `statrs`. These are first-order
//! (linearised) bands: far outside the data they understate the spread of a nonlinear model; the
//! bootstrap does not.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::CoreError;
use crate::fit::{Model, ResidualSpace};

/// Options of [`bootstrap`].
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapOptions {
    /// Number of resamples `B` (default 1000).
    pub resamples: usize,
    /// Seed of the ChaCha8 generator that draws the resamples (default 0).
    pub seed: u64,
    /// Central interval levels in `(0, 1)` (default `[0.95, 0.80]`: the 2.5–97.5 and 10–90
    /// percentiles).
    pub levels: Vec<f64>,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            resamples: 1000,
            seed: 0,
            levels: vec![0.95, 0.80],
        }
    }
}

/// A central percentile interval per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct PercentileInterval {
    /// Central level (e.g. 0.95 for the 2.5–97.5 percentiles).
    pub level: f64,
    /// Lower end per parameter (the `(1 − level)/2` quantile).
    pub lower: Vec<f64>,
    /// Upper end per parameter (the `(1 + level)/2` quantile).
    pub upper: Vec<f64>,
}

/// Summary statistics of bootstrap estimates (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapSummary {
    /// Mean per parameter.
    pub mean: Vec<f64>,
    /// Standard error per parameter (`ddof = 1`).
    pub std_errors: Vec<f64>,
    /// One interval per requested level, in the order given.
    pub intervals: Vec<PercentileInterval>,
}

/// The outcome of [`bootstrap`].
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapResult {
    /// The parameters of every successful refit, in resample order.
    pub estimates: Vec<Vec<f64>>,
    /// Statistics of [`BootstrapResult::estimates`]; `None` with fewer than 2 successful refits.
    pub summary: Option<BootstrapSummary>,
    /// Resamples whose refit gave no estimate (`Ok(None)`, e.g. not converged).
    pub failed: usize,
    /// Resamples run.
    pub run: usize,
    /// Resamples requested.
    pub total: usize,
    /// `true` when the progress hook asked to stop early.
    pub cancelled: bool,
}

/// The refit closure of [`bootstrap`]: resample indices in, `Some(params)` (or `None` when the
/// refit did not converge) out.
pub type RefitFn<'a> = dyn FnMut(&[usize]) -> Result<Option<Vec<f64>>, CoreError> + 'a;

/// Bootstraps a fit of `n_obs` observations (see the module docs).
///
/// `refit(indices)` refits on the resample `indices` (length `n_obs`, values in `0..n_obs`, with
/// repeats) and returns `Ok(Some(params))`, or `Ok(None)` when that refit failed to converge (it
/// is then counted in [`BootstrapResult::failed`] and left out); an `Err` aborts the bootstrap.
/// `progress(done, total)` is called after each resample and returns `false` to stop early.
/// Resample `b` is the same whatever happened to resamples `0..b`.
///
/// # Errors
/// [`CoreError::EmptyInput`] for `n_obs = 0` or `resamples = 0`; the errors of [`summarize`]
/// (levels, differing parameter counts); any error returned by `refit`.
pub fn bootstrap(
    n_obs: usize,
    refit: &mut RefitFn<'_>,
    opts: &BootstrapOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<BootstrapResult, CoreError> {
    let mut resampler = Resampler::new(n_obs, opts)?;
    let mut estimates = BootstrapEstimates::default();
    let mut cancelled = false;
    while let Some(indices) = resampler.next_resample() {
        estimates.record(refit(indices)?);
        if !progress(resampler.drawn(), opts.resamples) {
            cancelled = resampler.drawn() < opts.resamples;
            break;
        }
    }
    estimates.finish(opts, cancelled)
}

/// The resamples of a bootstrap, drawn one at a time from one ChaCha8 stream seeded with
/// [`BootstrapOptions::seed`]: resample `b` is the same whatever happened to resamples `0..b`, and
/// the same whether the bootstrap runs at once ([`bootstrap`]) or in slices.
#[derive(Debug, Clone)]
pub struct Resampler {
    rng: ChaCha8Rng,
    indices: Vec<usize>,
    drawn: usize,
    total: usize,
}

impl Resampler {
    /// Checks the options (the errors of [`bootstrap`]) and seeds the stream.
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for `n_obs = 0` or `resamples = 0`; [`CoreError::OutOfRange`] for an
    /// interval level outside `(0, 1)`.
    pub fn new(n_obs: usize, opts: &BootstrapOptions) -> Result<Resampler, CoreError> {
        if n_obs == 0 {
            return Err(CoreError::EmptyInput {
                what: "observations",
            });
        }
        if opts.resamples == 0 {
            return Err(CoreError::EmptyInput {
                what: "bootstrap resamples",
            });
        }
        check_levels(&opts.levels)?;
        Ok(Resampler {
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            indices: vec![0; n_obs],
            drawn: 0,
            total: opts.resamples,
        })
    }

    /// The next resample's indices (length `n_obs`, drawn with replacement), or `None` after the
    /// last.
    pub fn next_resample(&mut self) -> Option<&[usize]> {
        if self.drawn == self.total {
            return None;
        }
        let n = self.indices.len();
        for i in self.indices.iter_mut() {
            *i = self.rng.random_range(0..n);
        }
        self.drawn += 1;
        Some(&self.indices)
    }

    /// Resamples drawn so far.
    pub fn drawn(&self) -> usize {
        self.drawn
    }

    /// Resamples in all.
    pub fn total(&self) -> usize {
        self.total
    }
}

/// The refits of a bootstrap as they come in.
#[derive(Debug, Clone, Default)]
pub struct BootstrapEstimates {
    estimates: Vec<Vec<f64>>,
    failed: usize,
}

impl BootstrapEstimates {
    /// Records one refit: `Some(params)`, or `None` when it did not converge.
    pub fn record(&mut self, refit: Option<Vec<f64>>) {
        match refit {
            Some(p) => self.estimates.push(p),
            None => self.failed += 1,
        }
    }

    /// The result: estimates, and their summary when at least two refits succeeded.
    ///
    /// # Errors
    /// The errors of [`summarize`].
    pub fn finish(
        self,
        opts: &BootstrapOptions,
        cancelled: bool,
    ) -> Result<BootstrapResult, CoreError> {
        let summary = if self.estimates.len() >= 2 {
            Some(summarize(&self.estimates, &opts.levels)?)
        } else {
            None
        };
        Ok(BootstrapResult {
            run: self.estimates.len() + self.failed,
            estimates: self.estimates,
            summary,
            failed: self.failed,
            total: opts.resamples,
            cancelled,
        })
    }
}

fn check_levels(levels: &[f64]) -> Result<(), CoreError> {
    for &level in levels {
        if !(level > 0.0 && level < 1.0) {
            return Err(CoreError::OutOfRange {
                what: "interval level",
                value: level,
                min: f64::MIN_POSITIVE,
                max: 1.0 - f64::EPSILON,
            });
        }
    }
    Ok(())
}

/// Mean, standard errors (`ddof = 1`) and percentile intervals of `estimates` (one parameter
/// vector per resample) at each of `levels`.
///
/// # Errors
/// [`CoreError::EmptyInput`] for no estimates; [`CoreError::DimensionMismatch`] when the vectors
/// differ in length; [`CoreError::NonFinite`] for a non-finite estimate; [`CoreError::OutOfRange`]
/// for a level outside `(0, 1)`.
pub fn summarize(estimates: &[Vec<f64>], levels: &[f64]) -> Result<BootstrapSummary, CoreError> {
    check_levels(levels)?;
    let first = estimates.first().ok_or(CoreError::EmptyInput {
        what: "bootstrap estimates",
    })?;
    let p = first.len();
    for e in estimates {
        if e.len() != p {
            return Err(CoreError::DimensionMismatch {
                what: "bootstrap estimates (the same number of parameters in each)",
                expected: p,
                got: e.len(),
            });
        }
        CoreError::check_finite("bootstrap estimates", e)?;
    }
    let b = estimates.len() as f64;
    let mut mean = vec![0.0; p];
    let mut std_errors = vec![0.0; p];
    let mut intervals: Vec<PercentileInterval> = levels
        .iter()
        .map(|&level| PercentileInterval {
            level,
            lower: vec![0.0; p],
            upper: vec![0.0; p],
        })
        .collect();
    let mut column = vec![0.0; estimates.len()];
    for j in 0..p {
        for (c, e) in column.iter_mut().zip(estimates) {
            *c = e[j];
        }
        let m = column.iter().sum::<f64>() / b;
        mean[j] = m;
        std_errors[j] = if estimates.len() > 1 {
            (column.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (b - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        column.sort_by(f64::total_cmp);
        for iv in intervals.iter_mut() {
            iv.lower[j] = percentile_sorted(&column, 0.5 * (1.0 - iv.level));
            iv.upper[j] = percentile_sorted(&column, 0.5 * (1.0 + iv.level));
        }
    }
    Ok(BootstrapSummary {
        mean,
        std_errors,
        intervals,
    })
}

/// The `q`-quantile (`q ∈ [0, 1]`) of ascending `sorted` by linear interpolation
/// (`numpy.percentile(…, 100 q)` default); NaN for an empty slice.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `p` quantile of Student's `t` with `dof` degrees of freedom (`statrs`), or of the standard
/// normal for `dof = None`; `±inf` at 0 and 1, NaN outside `[0, 1]` or for `dof = Some(0)`.
pub fn quantile(p: f64, dof: Option<usize>) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    match dof {
        None => Normal::standard().inverse_cdf(p),
        Some(0) => f64::NAN,
        Some(nu) => StudentsT::new(0.0, 1.0, nu as f64)
            .map(|t| t.inverse_cdf(p))
            .unwrap_or(f64::NAN),
    }
}

/// Options of [`delta_method_band`].
#[derive(Debug, Clone, PartialEq)]
pub struct BandOptions {
    /// Central level in `(0, 1)` (default 0.95).
    pub level: f64,
    /// Residual variance `s²` (in the residual space of the fit); `Some` adds prediction bands.
    pub residual_variance: Option<f64>,
    /// Linear bands on `f`, or bands on `ln f` mapped back by `exp` (for fits in log space).
    pub space: ResidualSpace,
    /// Residual degrees of freedom `n − p` for Student's `t`; `None` uses the normal quantile.
    pub dof: Option<usize>,
}

impl Default for BandOptions {
    fn default() -> Self {
        BandOptions {
            level: 0.95,
            residual_variance: None,
            space: ResidualSpace::Linear,
            dof: None,
        }
    }
}

/// Delta-method bands at new inputs (see the module docs). Rows where the model, its gradient or
/// (in log space) `ln f` is undefined hold NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionBand {
    /// The multiplier: `t_{dof}((1 + level)/2)`, or `Φ⁻¹((1 + level)/2)` without `dof`.
    pub z: f64,
    /// `f(x; θ̂)` per new input.
    pub mean: Vec<f64>,
    /// Standard error of `f` (linear space) or of `ln f` (log space).
    pub std_error: Vec<f64>,
    /// Lower end of the confidence band.
    pub lower: Vec<f64>,
    /// Upper end of the confidence band.
    pub upper: Vec<f64>,
    /// Lower end of the prediction band (with `residual_variance`).
    pub prediction_lower: Option<Vec<f64>>,
    /// Upper end of the prediction band (with `residual_variance`).
    pub prediction_upper: Option<Vec<f64>>,
}

/// Delta-method confidence (and optionally prediction) bands of `model` at `params` with
/// covariance `covariance` (row-major `p × p`) at the new inputs `x_new` (row-major
/// `m × n_inputs`). Negative `gᵀΣg` (a covariance that is not positive semi-definite) is clamped
/// to 0.
///
/// # Errors
/// [`CoreError::DimensionMismatch`] when `params`, `covariance` or `x_new` do not fit the model;
/// [`CoreError::NonFinite`] for non-finite params, covariance or inputs;
/// [`CoreError::OutOfRange`] for a level outside `(0, 1)` or a negative/non-finite
/// residual variance.
pub fn delta_method_band(
    model: &dyn Model,
    params: &[f64],
    covariance: &[f64],
    x_new: &[f64],
    opts: &BandOptions,
) -> Result<PredictionBand, CoreError> {
    let p = model.param_names().len();
    let k = model.n_inputs();
    if params.len() != p {
        return Err(CoreError::DimensionMismatch {
            what: "params (one per model parameter)",
            expected: p,
            got: params.len(),
        });
    }
    if covariance.len() != p * p {
        return Err(CoreError::DimensionMismatch {
            what: "covariance (p × p, row-major)",
            expected: p * p,
            got: covariance.len(),
        });
    }
    if k == 0 || !x_new.len().is_multiple_of(k) {
        return Err(CoreError::DimensionMismatch {
            what: "new inputs (a multiple of the model's inputs per observation)",
            expected: k * (x_new.len() / k.max(1)),
            got: x_new.len(),
        });
    }
    CoreError::check_finite("params", params)?;
    CoreError::check_finite("covariance", covariance)?;
    CoreError::check_finite("new inputs", x_new)?;
    check_levels(&[opts.level])?;
    if let Some(s2) = opts.residual_variance {
        if !(s2 >= 0.0 && s2.is_finite()) {
            return Err(CoreError::OutOfRange {
                what: "residual variance",
                value: s2,
                min: 0.0,
                max: f64::MAX,
            });
        }
    }
    if opts.dof == Some(0) {
        return Err(CoreError::OutOfRange {
            what: "residual degrees of freedom",
            value: 0.0,
            min: 1.0,
            max: f64::MAX,
        });
    }
    let z = quantile(0.5 * (1.0 + opts.level), opts.dof);
    let m = x_new.len() / k;
    let mut band = PredictionBand {
        z,
        mean: vec![f64::NAN; m],
        std_error: vec![f64::NAN; m],
        lower: vec![f64::NAN; m],
        upper: vec![f64::NAN; m],
        prediction_lower: opts.residual_variance.map(|_| vec![f64::NAN; m]),
        prediction_upper: opts.residual_variance.map(|_| vec![f64::NAN; m]),
    };
    let mut g = vec![0.0; p];
    for i in 0..m {
        g.iter_mut().for_each(|v| *v = 0.0);
        let f = model.eval(&x_new[i * k..(i + 1) * k], params, Some(&mut g));
        if !f.is_finite() || !g.iter().all(|v| v.is_finite()) {
            continue;
        }
        // gᵀ Σ g
        let mut var = 0.0;
        for (r, gr) in g.iter().enumerate() {
            let row = &covariance[r * p..(r + 1) * p];
            var += gr * row.iter().zip(&g).map(|(s, gc)| s * gc).sum::<f64>();
        }
        let var = var.max(0.0);
        band.mean[i] = f;
        match opts.space {
            ResidualSpace::Linear => {
                let se = var.sqrt();
                band.std_error[i] = se;
                band.lower[i] = f - z * se;
                band.upper[i] = f + z * se;
                if let (Some(s2), Some(lo), Some(hi)) = (
                    opts.residual_variance,
                    band.prediction_lower.as_mut(),
                    band.prediction_upper.as_mut(),
                ) {
                    let w = z * (var + s2).sqrt();
                    lo[i] = f - w;
                    hi[i] = f + w;
                }
            }
            ResidualSpace::Log => {
                if f <= 0.0 {
                    band.mean[i] = f64::NAN;
                    continue;
                }
                let se = var.sqrt() / f;
                band.std_error[i] = se;
                band.lower[i] = f * (-z * se).exp();
                band.upper[i] = f * (z * se).exp();
                if let (Some(s2), Some(lo), Some(hi)) = (
                    opts.residual_variance,
                    band.prediction_lower.as_mut(),
                    band.prediction_upper.as_mut(),
                ) {
                    let w = z * (se * se + s2).sqrt();
                    lo[i] = f * (-w).exp();
                    hi[i] = f * w.exp();
                }
            }
        }
    }
    Ok(band)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(x) = θ₀ + θ₁ x`.
    struct Line;
    impl Model for Line {
        fn param_names(&self) -> Vec<String> {
            vec!["c".into(), "m".into()]
        }
        fn n_inputs(&self) -> usize {
            1
        }
        fn eval(&self, x: &[f64], t: &[f64], grad: Option<&mut [f64]>) -> f64 {
            if let Some(g) = grad {
                g[0] = 1.0;
                g[1] = x[0];
            }
            t[0] + t[1] * x[0]
        }
        fn formula(&self) -> String {
            "c + m x".into()
        }
    }

    #[test]
    fn quantiles_match_scipy() {
        // scipy.stats.norm.ppf / scipy.stats.t.ppf.
        for (p, dof, q) in [
            (0.975, None, 1.959963984540054),
            (0.95, None, 1.6448536269514722),
            (0.001, None, -3.090232306167813),
            (0.975, Some(3), 3.182446305284263),
            (0.975, Some(5), 2.570581835636314),
            (0.975, Some(20), 2.0859634472658364),
            (0.5, Some(7), 0.0),
        ] {
            assert!(
                (quantile(p, dof) - q).abs() <= 1e-9 * q.abs().max(1.0),
                "{p} {dof:?}"
            );
        }
        assert!(quantile(1.5, None).is_nan());
        assert!(quantile(0.5, Some(0)).is_nan());
        assert_eq!(quantile(0.0, Some(3)), f64::NEG_INFINITY);
    }

    #[test]
    fn percentiles_follow_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        // numpy.percentile([1,2,3,4,10], [2.5, 50, 90, 97.5]) = [1.1, 3.0, 7.6, 9.4]
        for (q, want) in [(0.025, 1.1), (0.5, 3.0), (0.9, 7.6), (0.975, 9.4)] {
            assert!((percentile_sorted(&v, q) - want).abs() < 1e-12, "{q}");
        }
        let s = summarize(
            &[vec![1.0], vec![2.0], vec![3.0], vec![4.0], vec![10.0]],
            &[0.95],
        )
        .unwrap();
        assert!((s.mean[0] - 4.0).abs() < 1e-15);
        // numpy.std([1,2,3,4,10], ddof=1) = 3.5355339059327378
        assert!((s.std_errors[0] - 3.5355339059327378).abs() < 1e-12);
        assert!((s.intervals[0].lower[0] - 1.1).abs() < 1e-12);
        assert_eq!(
            summarize(&[vec![1.0], vec![1.0, 2.0]], &[0.9])
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(summarize(&[], &[0.9]).unwrap_err().code(), "EmptyInput");
        assert_eq!(
            summarize(&[vec![1.0]], &[1.0]).unwrap_err().code(),
            "OutOfRange"
        );
    }

    #[test]
    fn bootstrap_of_the_mean_is_seeded_and_sensible() {
        let y: Vec<f64> = (0..50)
            .map(|i| (i as f64 * 0.37).sin() + i as f64 * 0.01)
            .collect();
        let mut refit = |idx: &[usize]| -> Result<Option<Vec<f64>>, CoreError> {
            Ok(Some(vec![
                idx.iter().map(|&i| y[i]).sum::<f64>() / idx.len() as f64,
            ]))
        };
        let opts = BootstrapOptions {
            resamples: 400,
            seed: 42,
            ..Default::default()
        };
        let a = bootstrap(y.len(), &mut refit, &opts, &mut |_, _| true).unwrap();
        let b = bootstrap(y.len(), &mut refit, &opts, &mut |_, _| true).unwrap();
        assert_eq!(a, b);
        let s = a.summary.as_ref().unwrap();
        // The bootstrap SE of a mean ≈ sd/√n (population sd).
        let m = y.iter().sum::<f64>() / 50.0;
        let sd = (y.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 50.0).sqrt();
        let want = sd / 50f64.sqrt();
        assert!(
            (s.std_errors[0] / want - 1.0).abs() < 0.15,
            "{} vs {want}",
            s.std_errors[0]
        );
        let ci = &s.intervals[0];
        assert!(ci.lower[0] < m && m < ci.upper[0]);
        assert!(s.intervals[1].lower[0] > ci.lower[0]);

        let c = bootstrap(y.len(), &mut refit, &opts, &mut |done, _| done < 10).unwrap();
        assert!(c.cancelled);
        assert_eq!(c.run, 10);
        assert_eq!(c.estimates[..], a.estimates[..10]);

        let mut never = |_: &[usize]| -> Result<Option<Vec<f64>>, CoreError> { Ok(None) };
        let n = bootstrap(5, &mut never, &opts, &mut |_, _| true).unwrap();
        assert_eq!((n.failed, n.summary.is_none()), (400, true));
        assert_eq!(
            bootstrap(0, &mut never, &opts, &mut |_, _| true)
                .unwrap_err()
                .code(),
            "EmptyInput"
        );
    }

    #[test]
    fn delta_method_band_of_a_line_has_the_closed_form() {
        let cov = [0.04, -0.01, -0.01, 0.01];
        let x = [0.0, 1.0, 3.0];
        let opts = BandOptions {
            residual_variance: Some(0.25),
            ..Default::default()
        };
        let band = delta_method_band(&Line, &[1.0, 2.0], &cov, &x, &opts).unwrap();
        for (i, &xi) in x.iter().enumerate() {
            let var: f64 = 0.04 - 2.0 * 0.01 * xi + 0.01 * xi * xi;
            let f = 1.0 + 2.0 * xi;
            assert!((band.mean[i] - f).abs() < 1e-15);
            assert!((band.std_error[i] - var.sqrt()).abs() < 1e-15);
            assert!((band.upper[i] - (f + band.z * var.sqrt())).abs() < 1e-12);
            let w = band.z * (var + 0.25).sqrt();
            assert!((band.prediction_lower.as_ref().unwrap()[i] - (f - w)).abs() < 1e-12);
        }
        // Log space: se of ln f = se/f, band multiplicative.
        let log = BandOptions {
            space: ResidualSpace::Log,
            ..Default::default()
        };
        let b = delta_method_band(&Line, &[1.0, 2.0], &cov, &[3.0], &log).unwrap();
        let se = (0.04f64 - 0.06 + 0.09).sqrt() / 7.0;
        assert!((b.upper[0] - 7.0 * (b.z * se).exp()).abs() < 1e-12);
        assert!((b.lower[0] * b.upper[0] - 49.0).abs() < 1e-12);
        // Undefined rows give NaN (f = 1 − 2·1 < 0 in log space).
        let b = delta_method_band(&Line, &[1.0, -2.0], &cov, &[1.0], &log).unwrap();
        assert!(b.mean[0].is_nan() && b.upper[0].is_nan());
        assert_eq!(
            delta_method_band(&Line, &[1.0], &cov, &x, &opts)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            delta_method_band(&Line, &[1.0, 2.0], &cov[..3], &x, &opts)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
    }
}
