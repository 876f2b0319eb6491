//! Classifier-free guidance and Adaptive Projected Guidance (Sadat, Hilliges, Weber, ICLR 2025),
//! per sample (a row; norms over all its values), in the paper's and diffusers' conventions.
//!
//! With conditional and unconditional predictions `P_c`, `P_u` (in the space of
//! [`Prediction`](super::Prediction)):
//! ```text
//! CFG:  P̂ = P_c + (w − 1)(P_c − P_u)                                    (w = 1: no guidance)
//! APG:  Δ = P_c − P_u
//!       Δ ← Δ + β·Δ̄  (Δ̄ the running value, then Δ̄ ← Δ; not an EMA)       [momentum β ≠ 0]
//!       Δ ← Δ · min(1, r/‖Δ‖)                                            [threshold r > 0]
//!       u = P_c / max(‖P_c‖, 1e-12);  Δ∥ = ⟨Δ, u⟩ u;  Δ⊥ = Δ − Δ∥;  U = Δ⊥ + η Δ∥
//!       paper:               P̂ = P_c + (w − 1) U
//!       diffusers:           P̂ = P_u + w U   (normalized_guidance, use_original_formulation=False)
//!       diffusers original:  P̂ = P_c + w U   (use_original_formulation=True; ComfyUI's result)
//! ```
//! The paper's form with η = 1, r = 0, β = 0 is CFG; diffusers' default form agrees with the paper
//! only at η = 1. ComfyUI also empties the running value when σ rises between evaluations
//! ([`Apg::reset_on_sigma_increase`]). Everything is in `f64`, which covers the listing's float64
//! projection.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Where APG's update is added, and with which scale (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApgForm {
    /// `P_c + (w − 1) U` (the paper's Algorithm 1).
    #[default]
    Paper,
    /// `P_u + w U` (diffusers' default, `use_original_formulation=False`).
    Diffusers,
    /// `P_c + w U` (diffusers with `use_original_formulation=True`; ComfyUI's net result).
    DiffusersOriginal,
}

/// APG's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Apg {
    /// Guidance scale `w`.
    pub w: f64,
    /// Weight `η` of the parallel component (the paper recommends 0).
    pub eta: f64,
    /// Norm threshold `r` (0: no rescaling).
    pub r: f64,
    /// Momentum `β` (0: none; the paper uses negative values).
    pub beta: f64,
    /// The convention.
    pub form: ApgForm,
    /// Empty the running value when σ rises between evaluations (ComfyUI).
    #[serde(default)]
    pub reset_on_sigma_increase: bool,
}

/// A guidance rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Guidance {
    /// Classifier-free guidance with scale `w` (the paper's parametrisation).
    Cfg {
        /// Guidance scale `w`.
        w: f64,
    },
    /// Adaptive Projected Guidance.
    Apg(Apg),
}

impl Guidance {
    /// The guidance scale.
    pub fn scale(&self) -> f64 {
        match self {
            Self::Cfg { w } => *w,
            Self::Apg(a) => a.w,
        }
    }

    /// A copy with another guidance scale.
    pub fn with_scale(mut self, scale: f64) -> Self {
        match &mut self {
            Self::Cfg { w } => *w = scale,
            Self::Apg(a) => a.w = scale,
        }
        self
    }
}

/// The state guidance keeps across evaluations: the momentum buffer (diffusers'
/// `MomentumBuffer.running_average`, one row per sample), the last σ, and the last evaluation's
/// parallel and orthogonal parts per sample (after momentum and rescaling, before `η`).
#[derive(Debug, Clone, Default)]
pub struct GuidanceState {
    /// The running value `Δ̄`, `n × dim` (empty until the first APG evaluation with `β ≠ 0`).
    pub running: Vec<f64>,
    last_sigma: Option<f64>,
    /// `Δ∥` of the last APG evaluation, `n × dim`.
    pub parallel: Vec<f64>,
    /// `Δ⊥` of the last APG evaluation, `n × dim`.
    pub orthogonal: Vec<f64>,
}

/// Mean norms of one evaluation's guidance split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitNorms {
    /// Mean over samples of `‖Δ∥‖`.
    pub parallel: f64,
    /// Mean over samples of `‖Δ⊥‖`.
    pub orthogonal: f64,
}

impl GuidanceState {
    /// An empty state (the start of a sampling run).
    pub fn new() -> Self {
        Self::default()
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

impl Guidance {
    /// Guides `n = p_c.len() / dim` samples into `out` (formula in the [module docs](self));
    /// `sigma` is this evaluation's noise level (for the ComfyUI reset). Returns the mean split
    /// norms for APG, `None` for CFG. The caller passes equal lengths, a multiple of `dim ≥ 1`.
    pub fn apply(
        &self,
        p_c: &[f64],
        p_u: &[f64],
        dim: usize,
        sigma: f64,
        state: &mut GuidanceState,
        out: &mut [f64],
    ) -> Option<SplitNorms> {
        match self {
            Self::Cfg { w } => {
                for ((o, &c), &u) in out.iter_mut().zip(p_c).zip(p_u) {
                    *o = c + (w - 1.0) * (c - u);
                }
                None
            }
            Self::Apg(apg) => Some(apg.apply(p_c, p_u, dim, sigma, state, out)),
        }
    }
}

impl Guidance {
    /// [`Guidance::apply`] on `batch` rows with its inputs checked: `p_c` a whole number of
    /// rows (`DimensionMismatch`), `p_u` as long, every value finite (`NonFinite`).
    pub fn apply_checked(
        &self,
        p_c: &[f64],
        p_u: &[f64],
        batch: usize,
        sigma: f64,
        state: &mut GuidanceState,
    ) -> Result<(Vec<f64>, Option<SplitNorms>), CoreError> {
        if batch == 0 || p_c.is_empty() || !p_c.len().is_multiple_of(batch) {
            return Err(CoreError::DimensionMismatch {
                what: "conditional prediction length (batch × dim values)",
                expected: batch.max(1) * (p_c.len() / batch.max(1)).max(1),
                got: p_c.len(),
            });
        }
        if p_u.len() != p_c.len() {
            return Err(CoreError::DimensionMismatch {
                what: "unconditional prediction length (as the conditional one)",
                expected: p_c.len(),
                got: p_u.len(),
            });
        }
        CoreError::check_finite("conditional prediction", p_c)?;
        CoreError::check_finite("unconditional prediction", p_u)?;
        CoreError::check_positive("sigma", sigma)?;
        if let Some(running) = (!state.running.is_empty()).then_some(state.running.len()) {
            if running != p_c.len() {
                return Err(CoreError::DimensionMismatch {
                    what: "batch × dim (the momentum buffer holds another size)",
                    expected: running,
                    got: p_c.len(),
                });
            }
        }
        let mut out = vec![0.0; p_c.len()];
        let split = self.apply(p_c, p_u, p_c.len() / batch, sigma, state, &mut out);
        Ok((out, split))
    }
}

impl Apg {
    fn apply(
        &self,
        p_c: &[f64],
        p_u: &[f64],
        dim: usize,
        sigma: f64,
        state: &mut GuidanceState,
        out: &mut [f64],
    ) -> SplitNorms {
        let len = p_c.len();
        if self.reset_on_sigma_increase && state.last_sigma.is_some_and(|last| sigma > last) {
            state.running.clear();
        }
        state.last_sigma = Some(sigma);
        if self.beta != 0.0 && state.running.len() != len {
            state.running = vec![0.0; len];
        }
        state.parallel.resize(len, 0.0);
        state.orthogonal.resize(len, 0.0);
        let (scale, base_is_cond) = match self.form {
            ApgForm::Paper => (self.w - 1.0, true),
            ApgForm::Diffusers => (self.w, false),
            ApgForm::DiffusersOriginal => (self.w, true),
        };
        let n = len / dim.max(1);
        let (mut par_sum, mut orth_sum) = (0.0, 0.0);
        let mut diff = vec![0.0; dim];
        for i in 0..n {
            let rows = i * dim..(i + 1) * dim;
            let (c, u) = (&p_c[rows.clone()], &p_u[rows.clone()]);
            for j in 0..dim {
                diff[j] = c[j] - u[j];
            }
            if self.beta != 0.0 {
                let run = &mut state.running[rows.clone()];
                for j in 0..dim {
                    run[j] = diff[j] + self.beta * run[j];
                    diff[j] = run[j];
                }
            }
            if self.r > 0.0 {
                let n = norm(&diff);
                let factor = if n > 0.0 { (self.r / n).min(1.0) } else { 1.0 };
                diff.iter_mut().for_each(|v| *v *= factor);
            }
            let c_norm = norm(c).max(1e-12);
            let dot: f64 = diff.iter().zip(c).map(|(a, b)| a * b / c_norm).sum();
            let par = &mut state.parallel[rows.clone()];
            let orth = &mut state.orthogonal[rows.clone()];
            let o = &mut out[rows];
            for j in 0..dim {
                par[j] = dot * c[j] / c_norm;
                orth[j] = diff[j] - par[j];
                let base = if base_is_cond { c[j] } else { u[j] };
                o[j] = base + scale * (orth[j] + self.eta * par[j]);
            }
            par_sum += norm(par);
            orth_sum += norm(orth);
        }
        let n = n.max(1) as f64;
        SplitNorms {
            parallel: par_sum / n,
            orthogonal: orth_sum / n,
        }
    }
}
