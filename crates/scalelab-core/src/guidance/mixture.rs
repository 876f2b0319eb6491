//! Class-conditional Gaussian mixtures and their exact denoisers.
//!
//! Component `k` is `N(μ_k, diag(s²_k))` with weight `π_k > 0` (unnormalised) and a class label
//! `c_k`. The conditional model of class `c` is the components with `c_k = c`; the unconditional
//! model is all of them. Data are noised in the EDM form `x = x₀ + σ ε`, `ε ~ N(0, I)`. The exact
//! denoiser `D(x; σ) = E[x₀ | x]` of a model `S` is, with `v_kj = s²_kj + σ²`,
//! ```text
//! log w_k = ln π_k − ½ Σ_j ln(2π v_kj) − ½ Σ_j (x_j − μ_kj)² / v_kj      (k ∈ S)
//! w_k     = e^{log w_k − m} / Σ_{l∈S} e^{log w_l − m},   m = max_{l∈S} log w_l
//! D_j     = Σ_k w_k (s²_kj x_j + σ² μ_kj) / v_kj
//! ```
//! (the posterior over components times each component's Gaussian posterior mean). The isotropic
//! case is the `gmm_denoiser` kernel's oracle, [`crate::ops::gmm::gmm_denoiser`].

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The most components a mixture may have (the GPU kernel's private array holds this many).
pub const MAX_COMPONENTS: usize = 64;

/// The most classes.
pub const MAX_CLASSES: usize = 16;

/// Which model a denoiser evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Conditional on a class: only its components.
    Class(usize),
    /// All components.
    Unconditional,
}

/// A class-conditional mixture of diagonal Gaussians in `dim` dimensions, checked on
/// construction ([`Mixture::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    dim: usize,
    /// `K × dim` row-major.
    means: Vec<f64>,
    /// `K × dim` row-major, every value > 0.
    variances: Vec<f64>,
    weights: Vec<f64>,
    classes: Vec<usize>,
}

/// One evaluation's per-component constants at a noise level (see [`Mixture::denoiser`]).
#[derive(Debug, Clone)]
pub struct Denoiser<'a> {
    mixture: &'a Mixture,
    members: Vec<usize>,
    /// Per member: ln π_k − ½ Σ_j ln(2π v_kj).
    log_norm: Vec<f64>,
    /// Per member × dim: 1 / v_kj.
    inv_var: Vec<f64>,
    /// Per member × dim: s²_kj / v_kj.
    keep: Vec<f64>,
    /// Per member × dim: σ² μ_kj / v_kj.
    shift: Vec<f64>,
}

impl Mixture {
    /// A mixture from `means` and `variances` (`K × dim` row-major each; one value per
    /// component in `variances` is also accepted for isotropic components), `weights` (`K`,
    /// each > 0) and `classes` (`K`, each `< MAX_CLASSES`).
    ///
    /// Errors: `dim == 0` (`InvalidValue`), no component (`EmptyInput`), more than
    /// [`MAX_COMPONENTS`] (`OutOfRange`), lengths that do not match (`DimensionMismatch`), a
    /// non-finite value (`NonFinite`), a variance or weight ≤ 0 or a class ≥ [`MAX_CLASSES`]
    /// (`OutOfRange`).
    pub fn new(
        dim: usize,
        means: Vec<f64>,
        variances: Vec<f64>,
        weights: Vec<f64>,
        classes: Vec<usize>,
    ) -> Result<Self, CoreError> {
        if dim == 0 {
            return Err(CoreError::InvalidValue {
                what: "dim",
                reason: "a mixture needs at least one dimension".into(),
            });
        }
        let k = weights.len();
        if k == 0 {
            return Err(CoreError::EmptyInput {
                what: "mixture components",
            });
        }
        if k > MAX_COMPONENTS {
            return Err(CoreError::OutOfRange {
                what: "number of mixture components",
                value: k as f64,
                min: 1.0,
                max: MAX_COMPONENTS as f64,
            });
        }
        let mismatch = |what, expected: usize, got: usize| {
            (expected != got).then_some(CoreError::DimensionMismatch {
                what,
                expected,
                got,
            })
        };
        if let Some(e) = mismatch("means length (components × dim)", k * dim, means.len()) {
            return Err(e);
        }
        if let Some(e) = mismatch("classes length (one per component)", k, classes.len()) {
            return Err(e);
        }
        let variances = if variances.len() == k && dim > 1 {
            variances
                .iter()
                .flat_map(|&v| std::iter::repeat_n(v, dim))
                .collect()
        } else {
            variances
        };
        if let Some(e) = mismatch(
            "variances length (components × dim, or one per component)",
            k * dim,
            variances.len(),
        ) {
            return Err(e);
        }
        CoreError::check_finite("means", &means)?;
        CoreError::check_finite("variances", &variances)?;
        CoreError::check_finite("weights", &weights)?;
        let positive = |what, values: &[f64]| match values.iter().find(|&&v| v <= 0.0) {
            Some(&value) => Err(CoreError::OutOfRange {
                what,
                value,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            }),
            None => Ok(()),
        };
        positive("variances (component variances must be > 0)", &variances)?;
        positive("weights (mixture weights must be > 0)", &weights)?;
        if let Some(&c) = classes.iter().find(|&&c| c >= MAX_CLASSES) {
            return Err(CoreError::OutOfRange {
                what: "class label",
                value: c as f64,
                min: 0.0,
                max: (MAX_CLASSES - 1) as f64,
            });
        }
        Ok(Self {
            dim,
            means,
            variances,
            weights,
            classes,
        })
    }

    /// The dimension of a sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of components.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// Component means, `K × dim` row-major.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// Component variances, `K × dim` row-major.
    pub fn variances(&self) -> &[f64] {
        &self.variances
    }

    /// Component weights (unnormalised).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Component classes.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// One more than the largest class label.
    pub fn class_count(&self) -> usize {
        self.classes.iter().max().map_or(0, |&c| c + 1)
    }

    /// `true` when every component's variance is the same in every dimension (what the GPU
    /// kernel supports).
    pub fn is_isotropic(&self) -> bool {
        self.variances
            .chunks_exact(self.dim)
            .all(|v| v.iter().all(|&s| s == v[0]))
    }

    /// The components of a model. Errors: a class with no component (`InvalidValue`).
    pub fn members(&self, model: Model) -> Result<Vec<usize>, CoreError> {
        let members: Vec<usize> = match model {
            Model::Unconditional => (0..self.components()).collect(),
            Model::Class(c) => (0..self.components())
                .filter(|&k| self.classes[k] == c)
                .collect(),
        };
        if members.is_empty() {
            return Err(CoreError::InvalidValue {
                what: "class",
                reason: format!(
                    "no component of the mixture has class {model:?}; choose a class from 0 to {}",
                    self.class_count().saturating_sub(1)
                ),
            });
        }
        Ok(members)
    }

    /// The exact denoiser of `model` at noise level `sigma > 0` (formula in the
    /// [module docs](self)), its per-component constants computed once.
    ///
    /// Errors: `sigma` not finite or ≤ 0 (`NonFinite` / `OutOfRange`), a class with no component.
    pub fn denoiser(&self, model: Model, sigma: f64) -> Result<Denoiser<'_>, CoreError> {
        CoreError::check_positive("sigma", sigma)?;
        let members = self.members(model)?;
        let d = self.dim;
        let s2 = sigma * sigma;
        let mut log_norm = Vec::with_capacity(members.len());
        let mut inv_var = Vec::with_capacity(members.len() * d);
        let mut keep = Vec::with_capacity(members.len() * d);
        let mut shift = Vec::with_capacity(members.len() * d);
        for &k in &members {
            let mut ln = self.weights[k].ln();
            for j in 0..d {
                let var = self.variances[k * d + j];
                let v = var + s2;
                ln -= 0.5 * (2.0 * std::f64::consts::PI * v).ln();
                inv_var.push(1.0 / v);
                keep.push(var / v);
                shift.push(s2 * self.means[k * d + j] / v);
            }
            log_norm.push(ln);
        }
        Ok(Denoiser {
            mixture: self,
            members,
            log_norm,
            inv_var,
            keep,
            shift,
        })
    }

    /// The mean of a model, `Σ p_k μ_k` with `p_k = π_k / Σ π`.
    pub fn mean(&self, model: Model) -> Result<Vec<f64>, CoreError> {
        let members = self.members(model)?;
        let total: f64 = members.iter().map(|&k| self.weights[k]).sum();
        let d = self.dim;
        let mut mean = vec![0.0; d];
        for &k in &members {
            let p = self.weights[k] / total;
            for (m, mu) in mean.iter_mut().zip(&self.means[k * d..(k + 1) * d]) {
                *m += p * mu;
            }
        }
        Ok(mean)
    }

    /// The trace of a model's covariance,
    /// `Σ p_k (Σ_j s²_kj + ‖μ_k‖²) − ‖Σ p_k μ_k‖²`.
    pub fn covariance_trace(&self, model: Model) -> Result<f64, CoreError> {
        let members = self.members(model)?;
        let total: f64 = members.iter().map(|&k| self.weights[k]).sum();
        let d = self.dim;
        let mean = self.mean(model)?;
        let second: f64 = members
            .iter()
            .map(|&k| {
                let p = self.weights[k] / total;
                let var: f64 = self.variances[k * d..(k + 1) * d].iter().sum();
                let norm2: f64 = self.means[k * d..(k + 1) * d].iter().map(|m| m * m).sum();
                p * (var + norm2)
            })
            .sum();
        Ok(second - mean.iter().map(|m| m * m).sum::<f64>())
    }

    /// `n` exact samples of a model (row-major `n × dim`): a component drawn by weight, then
    /// its Gaussian.
    pub fn sample(
        &self,
        model: Model,
        n: usize,
        rng: &mut impl Rng,
    ) -> Result<Vec<f64>, CoreError> {
        let members = self.members(model)?;
        let total: f64 = members.iter().map(|&k| self.weights[k]).sum();
        let d = self.dim;
        let mut out = Vec::with_capacity(n * d);
        for _ in 0..n {
            let mut u: f64 = rng.random::<f64>() * total;
            let mut chosen = *members.last().expect("members is not empty");
            for &k in &members {
                if u < self.weights[k] {
                    chosen = k;
                    break;
                }
                u -= self.weights[k];
            }
            for j in 0..d {
                let z: f64 = StandardNormal.sample(rng);
                out.push(self.means[chosen * d + j] + self.variances[chosen * d + j].sqrt() * z);
            }
        }
        Ok(out)
    }

    /// The log density of a model at the noise level `sigma ≥ 0` (σ = 0: the data density) at
    /// each row of `x` (`n × dim`), for contour plots. Errors: `sigma` negative or not finite,
    /// `x` not whole rows.
    pub fn log_density(&self, model: Model, sigma: f64, x: &[f64]) -> Result<Vec<f64>, CoreError> {
        CoreError::check_finite("sigma", &[sigma])?;
        if sigma < 0.0 {
            return Err(CoreError::OutOfRange {
                what: "sigma",
                value: sigma,
                min: 0.0,
                max: f64::MAX,
            });
        }
        CoreError::check_rows("x", x, self.dim)?;
        let members = self.members(model)?;
        let total: f64 = members.iter().map(|&k| self.weights[k]).sum();
        let d = self.dim;
        let s2 = sigma * sigma;
        Ok(x.chunks_exact(d)
            .map(|row| {
                let terms: Vec<f64> = members
                    .iter()
                    .map(|&k| {
                        let mut lw = (self.weights[k] / total).ln();
                        for (j, &xj) in row.iter().enumerate() {
                            let v = self.variances[k * d + j] + s2;
                            let diff = xj - self.means[k * d + j];
                            lw -= 0.5 * ((2.0 * std::f64::consts::PI * v).ln() + diff * diff / v);
                        }
                        lw
                    })
                    .collect();
                log_sum_exp(&terms)
            })
            .collect())
    }
}

fn log_sum_exp(terms: &[f64]) -> f64 {
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
}

impl Denoiser<'_> {
    /// `D(x; σ)` for each row of `x` into `out` (both `n × dim`; the caller sizes them). A row
    /// whose log-weights are all `−∞` (impossible in `f64` for finite input: the distance term
    /// is finite) would give NaN, which the sampler's stability check reports.
    pub fn apply(&self, x: &[f64], out: &mut [f64]) {
        let d = self.mixture.dim;
        let m = self.members.len();
        let mut log_w = vec![0.0; m];
        for (row, dst) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let mut top = f64::NEG_INFINITY;
            for (i, lw) in log_w.iter_mut().enumerate() {
                let k = self.members[i];
                let mu = &self.mixture.means[k * d..(k + 1) * d];
                let iv = &self.inv_var[i * d..(i + 1) * d];
                let mut q = 0.0;
                for j in 0..d {
                    let diff = row[j] - mu[j];
                    q += diff * diff * iv[j];
                }
                *lw = self.log_norm[i] - 0.5 * q;
                top = top.max(*lw);
            }
            let mut total = 0.0;
            for lw in &mut log_w {
                *lw = (*lw - top).exp();
                total += *lw;
            }
            dst.fill(0.0);
            for (i, &e) in log_w.iter().enumerate() {
                let w = e / total;
                let keep = &self.keep[i * d..(i + 1) * d];
                let shift = &self.shift[i * d..(i + 1) * d];
                for j in 0..d {
                    dst[j] += w * (keep[j] * row[j] + shift[j]);
                }
            }
        }
    }

    /// [`Denoiser::apply`] into a new vector. Errors: `x` not whole finite rows.
    pub fn denoise(&self, x: &[f64]) -> Result<Vec<f64>, CoreError> {
        CoreError::check_rows("x", x, self.mixture.dim)?;
        let mut out = vec![0.0; x.len()];
        self.apply(x, &mut out);
        Ok(out)
    }
}
