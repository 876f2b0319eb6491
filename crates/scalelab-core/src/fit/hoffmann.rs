//! Hoffmann et al. (2022) "Approach 3": the Chinchilla parametric fit by Huber regression on
//! log-loss, minimised by L-BFGS from a 4500-point grid of starts (science.md §4a, and Epoch AI's
//! replication, §4b).
//!
//! Parameters are `θ = (a, b, e, α, β)` with `A = eᵃ`, `B = eᵇ`, `E = eᵉ`. For observation `i`
//! (parameters `N_i`, tokens `D_i`, loss `L_i`):
//!
//! ```text
//! pred_i = LSE(a − α ln N_i, b − β ln D_i, e)        = ln(E + A/N_i^α + B/D_i^β)
//! r_i    = pred_i − ln L_i
//! F(θ)   = Σ_i Huber_δ(r_i)          (Reduction::Sum, Hoffmann/Epoch; δ = 10⁻³)
//!        = (1/n) Σ_i Huber_δ(r_i)    (Reduction::Mean, Epoch's hypothesis for Hoffmann's fit)
//! Huber_δ(r) = ½ r²            if |r| ≤ δ
//!            = δ (|r| − δ/2)   otherwise
//! ```
//!
//! The gradient is exact: with softmax weights `w_k = exp(u_k − pred_i)` of the three LSE terms
//! `u = (a − α ln N_i, b − β ln D_i, e)` and `ψ(r) = Huber'_δ(r) = clamp(r, −δ, δ)`,
//! `∂F/∂a = Σ ψ(r_i) w₁`, `∂F/∂b = Σ ψ(r_i) w₂`, `∂F/∂e = Σ ψ(r_i) w₃`,
//! `∂F/∂α = −Σ ψ(r_i) w₁ ln N_i`, `∂F/∂β = −Σ ψ(r_i) w₂ ln D_i` (divided by `n` for the mean).
//! The LSE never overflows: it is summed directly when every term is within `e^{±700}` and as
//! `m + ln Σ exp(u_k − m)`, `m = max u_k`, otherwise (see
//! [`HoffmannObjective::value_and_gradient`]).
//!
//! Note on the stopping rule: scipy's relative-reduction test compares the decrease of one step
//! with `ftol · max(|F|, 1)`, an *absolute* `2.2·10⁻⁹` for `F ≈ 10⁻³`. On Epoch's data single
//! starts can stop there early in a flat valley (e.g. at 0.00111 instead of 0.0010183), which is
//! why the grid matters; `LbfgsOptions { ftol: 0.0, .. }` stops on the gradient only.
//!
//! Each start is minimised by [`crate::fit::solvers::lbfgs::minimize`] with scipy's L-BFGS-B
//! default tolerances; the best start is the one with the lowest objective among those whose
//! L-BFGS run converged (scipy's `result.success`), earliest start on ties — Epoch's
//! `if result.success and result.fun < best_loss` rule.

use crate::budget::Budget;
use crate::error::CoreError;
use crate::fit::multistart::{BestOf, StartOutcome};
use crate::fit::solvers::lbfgs::{LbfgsOptions, LbfgsResult, LbfgsRun};
use crate::fit::solvers::within;
use crate::fit::Termination;

/// Hoffmann et al.'s Huber threshold `δ = 10⁻³` (science.md §4a).
pub const HOFFMANN_DELTA: f64 = 1e-3;

/// Hoffmann et al.'s unrounded fit in log form `(a, b, e, α, β)` as used by Epoch's notebook
/// (`true_params`, science.md §4b): `A = 406.40, B = 410.72, E = 1.6934`.
pub const HOFFMANN_UNROUNDED_THETA: [f64; 5] =
    [6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083];

/// Grid of starting `α` values: `0, 0.5, …, 2`.
pub const GRID_ALPHA: [f64; 5] = [0.0, 0.5, 1.0, 1.5, 2.0];
/// Grid of starting `β` values: `0, 0.5, …, 2`.
pub const GRID_BETA: [f64; 5] = [0.0, 0.5, 1.0, 1.5, 2.0];
/// Grid of starting `e = ln E` values: `−1, −0.5, …, 1`.
pub const GRID_E: [f64; 5] = [-1.0, -0.5, 0.0, 0.5, 1.0];
/// Grid of starting `a = ln A` values: `0, 5, …, 25`.
pub const GRID_A: [f64; 6] = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0];
/// Grid of starting `b = ln B` values: `0, 5, …, 25`.
pub const GRID_B: [f64; 6] = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0];

/// The 4500 starts `(a, b, e, α, β)` of Hoffmann et al.'s grid, in the order of Epoch's notebook:
/// `itertools.product(alpha_vals, beta_vals, e_vals, a_vals, b_vals)`, i.e. `α` outermost and `b`
/// fastest (`5·5·5·6·6 = 4500`).
pub fn hoffmann_grid() -> Vec<[f64; 5]> {
    let mut starts = Vec::with_capacity(4500);
    for &alpha in &GRID_ALPHA {
        for &beta in &GRID_BETA {
            for &e in &GRID_E {
                for &a in &GRID_A {
                    for &b in &GRID_B {
                        starts.push([a, b, e, alpha, beta]);
                    }
                }
            }
        }
    }
    starts
}

/// How the per-point Huber losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `Σ_i Huber_δ(r_i)` (Hoffmann et al. as replicated by Epoch).
    #[default]
    Sum,
    /// `(1/n) Σ_i Huber_δ(r_i)`.
    Mean,
}

/// `Huber_δ(r) = ½r²` for `|r| ≤ δ`, `δ(|r| − δ/2)` otherwise.
pub fn huber(delta: f64, r: f64) -> f64 {
    if r.abs() <= delta {
        0.5 * r * r
    } else {
        delta * (r.abs() - 0.5 * delta)
    }
}

/// `ln L̂(N, D) = LSE(a − α ln N, b − β ln D, e)` for `θ = (a, b, e, α, β)`, evaluated stably.
pub fn log_prediction(theta: &[f64; 5], n: f64, d: f64) -> f64 {
    let [a, b, e, alpha, beta] = *theta;
    lse3(a - alpha * n.ln(), b - beta * d.ln(), e)
}

/// `ln(eˣ + eʸ + eᶻ)` without overflow.
fn lse3(x: f64, y: f64, z: f64) -> f64 {
    let m = x.max(y).max(z);
    if !m.is_finite() {
        return m + (x + y + z); // ±inf or NaN, propagated
    }
    m + ((x - m).exp() + (y - m).exp() + (z - m).exp()).ln()
}

/// The Hoffmann objective `F(θ)` on one data set (logs precomputed).
#[derive(Debug, Clone, PartialEq)]
pub struct HoffmannObjective {
    ln_n: Vec<f64>,
    ln_d: Vec<f64>,
    ln_l: Vec<f64>,
    /// Distinct values of `ln N` and, per point, the index of its value (model sizes repeat
    /// across compute budgets, so `exp(a − α ln N)` is computed once per distinct `N`).
    unique_ln_n: Vec<f64>,
    n_index: Vec<usize>,
    /// The same for `ln D`.
    unique_ln_d: Vec<f64>,
    d_index: Vec<usize>,
    max_abs_ln_n: f64,
    max_abs_ln_d: f64,
    delta: f64,
    reduction: Reduction,
}

/// Distinct values of `v` (by bit pattern, in order of first appearance) and each entry's index
/// into them.
fn distinct(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]).then(i.cmp(&j)));
    let mut first_of = vec![0usize; v.len()];
    let mut k = 0;
    while k < order.len() {
        let mut m = k;
        while m < order.len() && v[order[m]].to_bits() == v[order[k]].to_bits() {
            first_of[order[m]] = order[k];
            m += 1;
        }
        k = m;
    }
    let mut unique = Vec::new();
    let mut slot = vec![usize::MAX; v.len()];
    let mut index = Vec::with_capacity(v.len());
    for (i, &x) in v.iter().enumerate() {
        let f = first_of[i];
        if slot[f] == usize::MAX {
            slot[f] = unique.len();
            unique.push(x);
        }
        index.push(slot[f]);
    }
    (unique, index)
}

impl HoffmannObjective {
    /// Builds the objective for parameters `n` (N_i), tokens `d` (D_i) and losses `loss` (L_i).
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`], [`CoreError::DimensionMismatch`] (unequal lengths),
    /// [`CoreError::NonFinite`], [`CoreError::InvalidValue`] for a value `≤ 0`, and
    /// [`CoreError::OutOfRange`] for `delta` not in `(0, ∞)`.
    pub fn new(
        n: &[f64],
        d: &[f64],
        loss: &[f64],
        delta: f64,
        reduction: Reduction,
    ) -> Result<Self, CoreError> {
        CoreError::check_finite_nonempty("model sizes N", n)?;
        for (what, v) in [("training tokens D", d), ("losses L", loss)] {
            if v.len() != n.len() {
                return Err(CoreError::DimensionMismatch {
                    what: if what == "losses L" {
                        "losses L (one per model size N)"
                    } else {
                        "training tokens D (one per model size N)"
                    },
                    expected: n.len(),
                    got: v.len(),
                });
            }
            CoreError::check_finite(what, v)?;
        }
        for (what, v) in [
            ("model sizes N", n),
            ("training tokens D", d),
            ("losses L", loss),
        ] {
            if let Some(i) = v.iter().position(|x| *x <= 0.0) {
                return Err(CoreError::InvalidValue {
                    what,
                    reason: format!(
                        "value {} at index {i} (0-based) must be positive (the fit takes logs)",
                        v[i]
                    ),
                });
            }
        }
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(CoreError::OutOfRange {
                what: "Huber delta",
                value: delta,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            });
        }
        Ok(Self::from_logs(
            n.iter().map(|v| v.ln()).collect(),
            d.iter().map(|v| v.ln()).collect(),
            loss.iter().map(|v| v.ln()).collect(),
            delta,
            reduction,
        ))
    }

    fn from_logs(
        ln_n: Vec<f64>,
        ln_d: Vec<f64>,
        ln_l: Vec<f64>,
        delta: f64,
        reduction: Reduction,
    ) -> Self {
        let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let (unique_ln_n, n_index) = distinct(&ln_n);
        let (unique_ln_d, d_index) = distinct(&ln_d);
        HoffmannObjective {
            max_abs_ln_n: max_abs(&ln_n),
            max_abs_ln_d: max_abs(&ln_d),
            unique_ln_n,
            n_index,
            unique_ln_d,
            d_index,
            ln_n,
            ln_d,
            ln_l,
            delta,
            reduction,
        }
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.ln_l.len()
    }

    /// `true` without observations (never, for a constructed objective).
    pub fn is_empty(&self) -> bool {
        self.ln_l.is_empty()
    }

    /// The objective restricted to (a resample of) its observations: row `k` of the result is row
    /// `indices[k]` of `self` (indices may repeat, as in a bootstrap).
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for no indices, [`CoreError::IndexOutOfRange`] for a bad index.
    pub fn resample(&self, indices: &[usize]) -> Result<Self, CoreError> {
        if indices.is_empty() {
            return Err(CoreError::EmptyInput {
                what: "resample indices",
            });
        }
        if let Some(&index) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(CoreError::IndexOutOfRange {
                what: "resample",
                index,
                len: self.len(),
            });
        }
        let pick = |v: &[f64]| indices.iter().map(|&i| v[i]).collect();
        Ok(Self::from_logs(
            pick(&self.ln_n),
            pick(&self.ln_d),
            pick(&self.ln_l),
            self.delta,
            self.reduction,
        ))
    }

    /// `F(θ)` for `θ = (a, b, e, α, β)` (NaN when `theta` does not have 5 entries).
    pub fn value(&self, theta: &[f64]) -> f64 {
        let Ok(&[a, b, e, alpha, beta]) = <&[f64; 5]>::try_from(theta) else {
            return f64::NAN;
        };
        let mut sum = 0.0;
        for ((ln_n, ln_d), ln_l) in self.ln_n.iter().zip(&self.ln_d).zip(&self.ln_l) {
            let pred = lse3(a - alpha * ln_n, b - beta * ln_d, e);
            sum += huber(self.delta, pred - ln_l);
        }
        self.reduce(sum)
    }

    /// `F(θ)`, writing the exact gradient `∂F/∂θ` into `grad` (formulas in the module docs).
    /// Returns NaN (and a NaN gradient) when `theta` or `grad` do not have 5 entries.
    ///
    /// When every LSE term lies within `e^{±700}` (checked once per call from
    /// `|a| + |α|·max|ln N|`, `|b| + |β|·max|ln D|` and `|e|`), the terms are summed directly,
    /// `ln(eᵘ¹ + eᵘ² + eᵉ)`, with `eᵘ¹` computed once per distinct `N`, `eᵘ²` once per distinct
    /// `D` and `eᵉ` once; otherwise with the max shift per point. Both are accurate to a few ulps.
    pub fn value_and_gradient(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (Ok(&[a, b, e, alpha, beta]), Ok(g)) = (
            <&[f64; 5]>::try_from(theta),
            <&mut [f64; 5]>::try_from(&mut *grad),
        ) else {
            grad.iter_mut().for_each(|v| *v = f64::NAN);
            return f64::NAN;
        };
        const SAFE: f64 = 700.0;
        let direct = a.abs() + alpha.abs() * self.max_abs_ln_n <= SAFE
            && b.abs() + beta.abs() * self.max_abs_ln_d <= SAFE
            && e.abs() <= SAFE;
        let delta = self.delta;
        let (mut sum, mut ga, mut gb, mut ge, mut galpha, mut gbeta) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        if direct {
            // Three passes keep the libm calls out of the accumulating loop (a call there makes
            // every live accumulator spill to the stack): the distinct exp terms, then s_i and
            // ln s_i, then the residuals and sums.
            let big_e = e.exp();
            let pn: Vec<f64> = self
                .unique_ln_n
                .iter()
                .map(|l| (a - alpha * l).exp())
                .collect();
            let pd: Vec<f64> = self
                .unique_ln_d
                .iter()
                .map(|l| (b - beta * l).exp())
                .collect();
            let term = |table: &[f64], j: usize| table.get(j).copied().unwrap_or(f64::NAN);
            let s_all: Vec<f64> = self
                .n_index
                .iter()
                .zip(&self.d_index)
                .map(|(&jn, &jd)| term(&pn, jn) + term(&pd, jd) + big_e)
                .collect();
            let ln_s: Vec<f64> = s_all.iter().map(|s| s.ln()).collect();
            let points = self.ln_n.iter().zip(&self.ln_d).zip(&self.ln_l);
            let terms = self
                .n_index
                .iter()
                .zip(&self.d_index)
                .zip(s_all.iter().zip(&ln_s));
            for (((&ln_n, &ln_d), &ln_l), ((&jn, &jd), (&s, &ln_s))) in points.zip(terms) {
                let r = ln_s - ln_l;
                // ψ = Huber'(r) = clamp(r, −δ, δ); Huber(r) = ψ (r − ψ/2) in both branches.
                let psi = if r > delta {
                    delta
                } else if r < -delta {
                    -delta
                } else {
                    r
                };
                sum += psi * (r - 0.5 * psi);
                let k = psi / s;
                let (w1, w2) = (k * term(&pn, jn), k * term(&pd, jd));
                ga += w1;
                gb += w2;
                ge += k * big_e;
                galpha -= w1 * ln_n;
                gbeta -= w2 * ln_d;
            }
        } else {
            for ((&ln_n, &ln_d), &ln_l) in self.ln_n.iter().zip(&self.ln_d).zip(&self.ln_l) {
                let u1 = a - alpha * ln_n;
                let u2 = b - beta * ln_d;
                let m = u1.max(u2).max(e);
                let (t1, t2, t3) = ((u1 - m).exp(), (u2 - m).exp(), (e - m).exp());
                let s = t1 + t2 + t3;
                let r = m + s.ln() - ln_l;
                let psi = r.max(-delta).min(delta);
                sum += psi * (r - 0.5 * psi);
                let k = psi / s;
                let (w1, w2) = (k * t1, k * t2);
                ga += w1;
                gb += w2;
                ge += k * t3;
                galpha -= w1 * ln_n;
                gbeta -= w2 * ln_d;
            }
        }
        *g = [ga, gb, ge, galpha, gbeta].map(|v| self.reduce(v));
        self.reduce(sum)
    }

    fn reduce(&self, v: f64) -> f64 {
        match self.reduction {
            Reduction::Sum => v,
            Reduction::Mean => v / self.len() as f64,
        }
    }
}

/// Options of [`fit_hoffmann`].
#[derive(Debug, Clone, PartialEq)]
pub struct HoffmannOptions {
    /// Huber threshold `δ` (default [`HOFFMANN_DELTA`] = 10⁻³).
    pub delta: f64,
    /// Sum (default, Hoffmann/Epoch) or mean of the per-point losses.
    pub reduction: Reduction,
    /// L-BFGS options (default: scipy L-BFGS-B defaults).
    pub lbfgs: LbfgsOptions,
    /// Starts `(a, b, e, α, β)`; `None` = [`hoffmann_grid`] (4500 starts).
    pub starts: Option<Vec<[f64; 5]>>,
}

impl Default for HoffmannOptions {
    fn default() -> Self {
        HoffmannOptions {
            delta: HOFFMANN_DELTA,
            reduction: Reduction::Sum,
            lbfgs: LbfgsOptions::default(),
            starts: None,
        }
    }
}

/// The outcome of [`fit_hoffmann`].
#[derive(Debug, Clone, PartialEq)]
pub struct HoffmannFit {
    /// Fitted `θ = (a, b, e, α, β)` (log form).
    pub theta: [f64; 5],
    /// Fitted `[E, A, B, α, β]` with `E = eᵉ, A = eᵃ, B = eᵇ` — the parameter order of
    /// [`crate::fit::models::Chinchilla`].
    pub coefficients: [f64; 5],
    /// `F(θ)` at the fit.
    pub objective: f64,
    /// The start `(a, b, e, α, β)` that led to the fit.
    pub best_start: [f64; 5],
    /// 0-based index of that start in the list of starts.
    pub best_start_index: usize,
    /// `true` when the chosen start's L-BFGS run converged. `false` only when no start converged;
    /// the fit is then the lowest objective among all starts.
    pub converged: bool,
    /// Why the chosen start's L-BFGS run stopped.
    pub termination: Termination,
    /// L-BFGS iterations of the chosen start.
    pub iterations: usize,
    /// Starts whose L-BFGS run converged.
    pub starts_converged: usize,
    /// Starts run (less than [`HoffmannFit::starts_total`] when cancelled).
    pub starts_run: usize,
    /// Starts requested.
    pub starts_total: usize,
    /// Objective evaluations over all starts run.
    pub evaluations: usize,
    /// `true` when the progress hook asked to stop early.
    pub cancelled: bool,
}

impl HoffmannFit {
    /// `E` (irreducible loss).
    pub fn e(&self) -> f64 {
        self.coefficients[0]
    }
    /// `A` (model-size coefficient).
    pub fn a(&self) -> f64 {
        self.coefficients[1]
    }
    /// `B` (data coefficient).
    pub fn b(&self) -> f64 {
        self.coefficients[2]
    }
    /// `α` (model-size exponent).
    pub fn alpha(&self) -> f64 {
        self.coefficients[3]
    }
    /// `β` (data exponent).
    pub fn beta(&self) -> f64 {
        self.coefficients[4]
    }
    /// `L̂(N, D) = E + A/N^α + B/D^β` at the fit.
    pub fn predict(&self, n: f64, d: f64) -> f64 {
        log_prediction(&self.theta, n, d).exp()
    }
}

/// `[E, A, B, α, β] = [eᵉ, eᵃ, eᵇ, α, β]` from the log form `θ = (a, b, e, α, β)`.
pub fn coefficients(theta: &[f64; 5]) -> [f64; 5] {
    [
        theta[2].exp(),
        theta[0].exp(),
        theta[1].exp(),
        theta[3],
        theta[4],
    ]
}

/// Fits Hoffmann et al.'s Approach 3 (see the module docs) from every start of `opts.starts`
/// (default: the 4500-start grid) and keeps the best converged one.
///
/// # Errors
/// The data errors of [`HoffmannObjective::new`]; [`CoreError::EmptyInput`] for an empty list of
/// starts; [`CoreError::NonFinite`] for a non-finite start; the option errors of
/// [`LbfgsOptions::validate`]; [`CoreError::InvalidValue`] when no start gives a finite objective.
pub fn fit_hoffmann(
    n: &[f64],
    d: &[f64],
    loss: &[f64],
    opts: &HoffmannOptions,
) -> Result<HoffmannFit, CoreError> {
    fit_hoffmann_with(n, d, loss, opts, &mut |_, _| true)
}

/// [`fit_hoffmann`] with a progress hook: `progress(done, total)` is called after each start; it
/// returns `true` to go on, `false` to stop (the result then covers the starts run so far and has
/// [`HoffmannFit::cancelled`] set).
///
/// # Errors
/// As [`fit_hoffmann`].
pub fn fit_hoffmann_with(
    n: &[f64],
    d: &[f64],
    loss: &[f64],
    opts: &HoffmannOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<HoffmannFit, CoreError> {
    let objective = HoffmannObjective::new(n, d, loss, opts.delta, opts.reduction)?;
    fit_objective_with(&objective, opts, progress)
}

/// [`fit_hoffmann_with`] on a prepared [`HoffmannObjective`] (e.g. a bootstrap resample); the
/// objective's own `δ` and reduction are used, `opts.delta`/`opts.reduction` are ignored.
///
/// # Errors
/// As [`fit_hoffmann`], less the data errors.
pub fn fit_objective_with(
    objective: &HoffmannObjective,
    opts: &HoffmannOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<HoffmannFit, CoreError> {
    let mut run = HoffmannStarts::new(opts)?;
    let total = run.total();
    let mut time_left = || true;
    loop {
        let mut budget = Budget::new(&mut time_left, Some(1));
        if let Some(fit) = run.advance(objective, opts, &mut budget, &mut |_| {})? {
            progress(total, total);
            return Ok(fit);
        }
        if budget.units_done() > 0 && !progress(run.done(), total) {
            return run.finish(true);
        }
    }
}

/// Hoffmann's fit from a list of starts, advanced in slices: one L-BFGS run per start, each
/// suspended after any accepted step when the slice's [`Budget`] runs out, and the best kept by
/// [`BestOf`]. [`fit_objective_with`] is this run to the end.
#[derive(Debug, Clone)]
pub struct HoffmannStarts {
    starts: Vec<[f64; 5]>,
    current: Option<LbfgsRun>,
    best: BestOf<LbfgsResult>,
    evaluations: usize,
}

impl HoffmannStarts {
    /// Checks the L-BFGS options and the starts (`opts.starts`, default the 4500-start grid).
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for no starts, [`CoreError::NonFinite`] for a non-finite start,
    /// the errors of [`LbfgsOptions::validate`].
    pub fn new(opts: &HoffmannOptions) -> Result<HoffmannStarts, CoreError> {
        opts.lbfgs.validate()?;
        let starts = opts.starts.clone().unwrap_or_else(hoffmann_grid);
        if starts.is_empty() {
            return Err(CoreError::EmptyInput { what: "starts" });
        }
        if let Some(i) = starts.iter().position(|s| !s.iter().all(|v| v.is_finite())) {
            let j = starts[i].iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(CoreError::NonFinite {
                what: "starts",
                index: 5 * i + j,
                value: starts[i][j],
            });
        }
        Ok(HoffmannStarts {
            starts,
            current: None,
            best: BestOf::default(),
            evaluations: 0,
        })
    }

    /// Starts finished.
    pub fn done(&self) -> usize {
        self.best.run
    }

    /// Starts in all.
    pub fn total(&self) -> usize {
        self.starts.len()
    }

    /// Runs starts until all are done (`Some(fit)`) or the budget ends the slice (`None`); `on_start`
    /// hears of every finished start.
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] when no start gave a finite objective.
    pub fn advance(
        &mut self,
        objective: &HoffmannObjective,
        opts: &HoffmannOptions,
        budget: &mut Budget<'_>,
        on_start: &mut dyn FnMut(&StartOutcome),
    ) -> Result<Option<HoffmannFit>, CoreError> {
        let mut f = |x: &[f64], g: &mut [f64]| objective.value_and_gradient(x, g);
        while self.best.run < self.starts.len() {
            let index = self.best.run;
            let mut run = match self.current.take() {
                Some(run) => run,
                None if budget.units_exhausted() => return Ok(None),
                None => LbfgsRun::new(&mut f, &self.starts[index], &opts.lbfgs)?,
            };
            let Some(r) = run.advance(&mut f, &opts.lbfgs, &mut within(budget)) else {
                self.current = Some(run);
                return Ok(None);
            };
            self.evaluations += r.evaluations;
            let (cost, converged) = (r.f, r.termination.converged());
            self.best.offer(index, cost, converged, r);
            on_start(&StartOutcome {
                index,
                cost,
                converged,
                best_cost: self.best.best_cost(),
                converged_so_far: self.best.converged,
            });
            if !budget.unit_done() && self.best.run < self.starts.len() {
                return Ok(None);
            }
        }
        self.fit(false).map(Some)
    }

    /// The fit from the starts finished so far (all of them unless the run was stopped early, which
    /// `cancelled` records in the result).
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] when no finished start gave a finite objective.
    pub fn finish(self, cancelled: bool) -> Result<HoffmannFit, CoreError> {
        self.fit(cancelled)
    }

    fn fit(&self, cancelled: bool) -> Result<HoffmannFit, CoreError> {
        let run = self.best.run;
        let best_converged = self.best.best_converged();
        let starts_converged = self.best.converged;
        let Some((index, r)) = self.best.clone().into_best() else {
            return Err(CoreError::InvalidValue {
                what: "Hoffmann fit",
                reason: format!("none of the {run} starts gave a finite objective; check the data"),
            });
        };
        let theta = [r.x[0], r.x[1], r.x[2], r.x[3], r.x[4]];
        Ok(HoffmannFit {
            theta,
            coefficients: coefficients(&theta),
            objective: r.f,
            best_start: self.starts[index],
            best_start_index: index,
            converged: best_converged,
            termination: r.termination,
            iterations: r.iterations,
            starts_converged,
            starts_run: run,
            starts_total: self.starts.len(),
            evaluations: self.evaluations,
            cancelled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        // Exact Chinchilla losses (Hoffmann rounded constants) on a 4×4 grid, with ±0.5% wiggle.
        let (mut n, mut d, mut l) = (vec![], vec![], vec![]);
        let mut k = 0.0;
        for &ni in &[1e8, 4e8, 1.6e9, 6.4e9] {
            for &di in &[2e9, 8e9, 3.2e10, 1.28e11] {
                let li: f64 = 1.69 + 406.4 / f64::powf(ni, 0.34) + 410.7 / f64::powf(di, 0.28);
                k += 1.0;
                n.push(ni);
                d.push(di);
                l.push(li * (1.0 + 0.005 * (k * 1.7_f64).sin()));
            }
        }
        (n, d, l)
    }

    #[test]
    fn grid_has_4500_starts_in_epoch_order() {
        let g = hoffmann_grid();
        assert_eq!(g.len(), 4500);
        assert_eq!(g[0], [0.0, 0.0, -1.0, 0.0, 0.0]);
        assert_eq!(g[1], [0.0, 5.0, -1.0, 0.0, 0.0]); // b fastest
        assert_eq!(g[6], [5.0, 0.0, -1.0, 0.0, 0.0]); // then a
        assert_eq!(g[36], [0.0, 0.0, -0.5, 0.0, 0.0]); // then e
        assert_eq!(g[180], [0.0, 0.0, -1.0, 0.0, 0.5]); // then β
        assert_eq!(g[900], [0.0, 0.0, -1.0, 0.5, 0.0]); // α outermost
        assert_eq!(g[4499], [25.0, 25.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn gradient_matches_central_differences() {
        let (n, d, l) = toy();
        for reduction in [Reduction::Sum, Reduction::Mean] {
            // A large δ puts some residuals in the quadratic part, a small one in the linear part.
            for delta in [1e-3, 0.05] {
                let obj = HoffmannObjective::new(&n, &d, &l, delta, reduction).unwrap();
                let theta = [6.1, 6.0, 0.5, 0.35, 0.29];
                let mut g = [0.0; 5];
                let f = obj.value_and_gradient(&theta, &mut g);
                assert!((f - obj.value(&theta)).abs() <= 1e-13 * f.abs());
                for j in 0..5 {
                    let h = 1e-6;
                    let (mut tp, mut tm) = (theta, theta);
                    tp[j] += h;
                    tm[j] -= h;
                    let fd = (obj.value(&tp) - obj.value(&tm)) / (2.0 * h);
                    assert!(
                        (fd - g[j]).abs() <= 1e-6 * g[j].abs().max(1e-3),
                        "{reduction:?} δ={delta} ∂{j}: {fd} vs {}",
                        g[j]
                    );
                }
            }
        }
    }

    #[test]
    fn distinct_values_and_indices() {
        let (u, i) = distinct(&[3.0, 1.0, 3.0, 2.0, 1.0, -0.0, 0.0]);
        assert_eq!(u, vec![3.0, 1.0, 2.0, -0.0, 0.0]);
        assert_eq!(i, vec![0, 1, 0, 2, 1, 3, 4]);
        assert_eq!(distinct(&[]), (vec![], vec![]));
    }

    #[test]
    fn far_parameters_use_the_shifted_lse() {
        let (n, d, l) = toy();
        let obj = HoffmannObjective::new(&n, &d, &l, 1e-3, Reduction::Sum).unwrap();
        for theta in [
            [1000.0, 5.0, 0.5, 0.0, 0.3],
            [5.0, 6.0, -800.0, 0.3, 0.3],
            [3.0, 900.0, 0.5, 0.3, 40.0],
        ] {
            let mut g = [0.0; 5];
            let f = obj.value_and_gradient(&theta, &mut g);
            assert!(
                f.is_finite() && g.iter().all(|v| v.is_finite()),
                "{theta:?}"
            );
            assert!(
                (f - obj.value(&theta)).abs() <= 1e-13 * f.abs(),
                "{theta:?}"
            );
        }
    }

    #[test]
    fn lse_is_stable_and_matches_the_power_law() {
        let theta = [406.4f64.ln(), 410.7f64.ln(), 1.69f64.ln(), 0.34, 0.28];
        let direct = 1.69 + 406.4 / 70e9f64.powf(0.34) + 410.7 / 1.4e12f64.powf(0.28);
        // science.md §7 item 15: L(70e9, 1.4e12) = 1.9366454706.
        assert!((direct - 1.9366454706).abs() < 1e-9);
        assert!((log_prediction(&theta, 70e9, 1.4e12).exp() - direct).abs() < 1e-13);
        assert!(
            (lse3(1000.0, 999.0, -5.0) - (1000.0 + (1.0 + (-1.0f64).exp()).ln())).abs() < 1e-12
        );
        assert_eq!(huber(1e-3, 2e-3), 1e-3 * (2e-3 - 0.5e-3));
        assert_eq!(huber(1e-3, -5e-4), 0.5 * 25e-8);
    }

    #[test]
    fn recovers_toy_parameters_and_reports_progress() {
        let (n, d, l) = toy();
        let starts: Vec<[f64; 5]> = hoffmann_grid().into_iter().step_by(150).collect();
        let mut calls = 0;
        let fit = fit_hoffmann_with(
            &n,
            &d,
            &l,
            &HoffmannOptions {
                starts: Some(starts.clone()),
                ..Default::default()
            },
            &mut |done, total| {
                calls += 1;
                assert_eq!((done, total), (calls, starts.len()));
                true
            },
        )
        .unwrap();
        assert_eq!(calls, starts.len());
        assert!(fit.converged && !fit.cancelled, "{fit:?}");
        assert_eq!(fit.starts_run, starts.len());
        // The wiggle is ±0.5%; the exponents come back to within a few hundredths.
        assert!((fit.alpha() - 0.34).abs() < 0.05, "{fit:?}");
        assert!((fit.e() - 1.69).abs() < 0.1, "{fit:?}");

        // Cancel after 3 starts.
        let fit = fit_hoffmann_with(
            &n,
            &d,
            &l,
            &HoffmannOptions {
                starts: Some(starts.clone()),
                ..Default::default()
            },
            &mut |done, _| done < 3,
        )
        .unwrap();
        assert!(fit.cancelled);
        assert_eq!(fit.starts_run, 3);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let opts = HoffmannOptions::default();
        assert_eq!(
            fit_hoffmann(&[], &[], &[], &opts).unwrap_err().code(),
            "EmptyInput"
        );
        assert_eq!(
            fit_hoffmann(&[1.0, 2.0], &[1.0], &[1.0, 2.0], &opts)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            fit_hoffmann(&[1.0], &[-1.0], &[1.0], &opts)
                .unwrap_err()
                .code(),
            "InvalidValue"
        );
        assert_eq!(
            fit_hoffmann(&[1.0], &[1.0], &[f64::NAN], &opts)
                .unwrap_err()
                .code(),
            "NonFinite"
        );
        let bad_delta = HoffmannOptions {
            delta: 0.0,
            ..Default::default()
        };
        assert_eq!(
            fit_hoffmann(&[1.0], &[1.0], &[1.0], &bad_delta)
                .unwrap_err()
                .code(),
            "OutOfRange"
        );
        let no_starts = HoffmannOptions {
            starts: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            fit_hoffmann(&[1.0], &[1.0], &[1.0], &no_starts)
                .unwrap_err()
                .code(),
            "EmptyInput"
        );
        let obj = HoffmannObjective::new(&[1.0], &[1.0], &[1.0], 1e-3, Reduction::Sum).unwrap();
        assert!(obj.value(&[1.0]).is_nan());
        assert_eq!(obj.resample(&[1]).unwrap_err().code(), "IndexOutOfRange");
    }
}
