//! Limited-memory BFGS (L-BFGS) for smooth unconstrained minimisation, with the Moré–Thuente
//! strong-Wolfe line search.
//!
//! Minimises `f: ℝⁿ → ℝ` given `f(x)` and its exact gradient `∇f(x)`. The iteration mirrors
//! scipy's `minimize(method="L-BFGS-B")` without bounds, so that tolerances mean the same thing:
//!
//! - **direction** `d_k = −H_k ∇f(x_k)`, with `H_k` the L-BFGS inverse-Hessian approximation built
//!   by the two-loop recursion from the last `m` pairs `s_i = x_{i+1} − x_i`,
//!   `y_i = ∇f(x_{i+1}) − ∇f(x_i)` and the initial scaling `H⁰ = (sᵀy / yᵀy) I` of the newest pair
//!   (for unconstrained problems this is the same direction as L-BFGS-B's compact form with
//!   `θ = yᵀy / sᵀy`). A pair with `sᵀy ≤ ε · (−stp · ∇fᵀd)` is skipped, as in L-BFGS-B.
//! - **step** `x_{k+1} = x_k + stp · d_k` from MINPACK-2's `dcsrch`/`dcstep` (Moré & Thuente 1994)
//!   with L-BFGS-B's constants: sufficient decrease `f(stp) ≤ f(0) + c₁ · stp · f'(0)` with
//!   `c₁ = 10⁻³`, curvature `|f'(stp)| ≤ c₂ |f'(0)|` with `c₂ = 0.9`, interval tolerance 0.1,
//!   at most 20 evaluations. The first trial step is `min(1/‖d₀‖₂, 10¹⁰)` on the first iteration and
//!   1 afterwards. A failed line search clears the memory and retries along `−∇f`; failing with an
//!   empty memory ends the run with [`Termination::NumericalFailure`].
//! - **stopping**: [`Termination::GradientConverged`] when `max_i |∂f/∂x_i| ≤ gtol` (scipy `pgtol`,
//!   also tested at `x₀`); [`Termination::CostConverged`] when
//!   `(f_k − f_{k+1}) ≤ ftol · max(|f_k|, |f_{k+1}|, 1)` (scipy's `factr · ε_mach`, i.e.
//!   `ftol = 1e7 · 2.22e-16 = 2.22e-9` by default — note the `1` in the max: for objectives below
//!   one this is an *absolute* test); [`Termination::MaxIterations`] when `max_iterations` accepted
//!   steps or `max_evaluations` objective evaluations are used up.
//!
//! Extension beyond MINPACK: a trial step where `f` or its gradient is not finite is halved towards
//! the best step of the current line search instead of being handed to `dcstep`.
//!
//! Pure computation (no clocks, threads or allocation inside the iteration beyond the `O(m n)`
//! history set up once): it builds for `wasm32-unknown-unknown`.

use crate::error::CoreError;
use crate::fit::solvers::{Control, Progress};
use crate::fit::Termination;

/// Options of [`minimize`]. The defaults are scipy's `L-BFGS-B` defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsOptions {
    /// Number of correction pairs kept (`m`; scipy `maxcor`, default 10).
    pub memory: usize,
    /// Relative-reduction tolerance: stop when `f_k − f_{k+1} ≤ ftol · max(|f_k|, |f_{k+1}|, 1)`
    /// (scipy `ftol = factr · ε_mach`, default `2.220446049250313e-9`). 0 disables the test.
    pub ftol: f64,
    /// Gradient tolerance: stop when `max_i |∂f/∂x_i| ≤ gtol` (scipy `gtol`/`pgtol`, default `1e-5`).
    /// 0 disables the test.
    pub gtol: f64,
    /// Most accepted steps (scipy `maxiter`, default 15000).
    pub max_iterations: usize,
    /// Most objective evaluations (scipy `maxfun`, default 15000).
    pub max_evaluations: usize,
    /// Most objective evaluations in one line search (scipy `maxls`, default 20).
    pub max_line_search: usize,
    /// Sufficient-decrease constant `c₁` of the Wolfe conditions (L-BFGS-B: `1e-3`).
    pub wolfe_c1: f64,
    /// Curvature constant `c₂` of the strong Wolfe conditions (L-BFGS-B: `0.9`).
    pub wolfe_c2: f64,
    /// Relative width of the bracketing interval at which the line search gives up refining
    /// (MINPACK `xtol`; L-BFGS-B: `0.1`).
    pub line_search_xtol: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            memory: 10,
            ftol: 1e7 * f64::EPSILON,
            gtol: 1e-5,
            max_iterations: 15_000,
            max_evaluations: 15_000,
            max_line_search: 20,
            wolfe_c1: 1e-3,
            wolfe_c2: 0.9,
            line_search_xtol: 0.1,
        }
    }
}

impl LbfgsOptions {
    /// Checks the options: `memory ≥ 1`, `max_line_search ≥ 1`, finite non-negative tolerances,
    /// `0 < c₁ < c₂ < 1`.
    pub fn validate(&self) -> Result<(), CoreError> {
        let nonneg = |what: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(CoreError::OutOfRange {
                    what,
                    value: v,
                    min: 0.0,
                    max: f64::MAX,
                })
            }
        };
        nonneg("ftol", self.ftol)?;
        nonneg("gtol", self.gtol)?;
        nonneg("line_search_xtol", self.line_search_xtol)?;
        if self.memory == 0 {
            return Err(CoreError::InvalidValue {
                what: "memory",
                reason: "the L-BFGS memory must keep at least 1 correction pair; give 3 to 20"
                    .into(),
            });
        }
        if self.max_line_search == 0 {
            return Err(CoreError::InvalidValue {
                what: "max_line_search",
                reason: "a line search needs at least 1 evaluation; give 20".into(),
            });
        }
        if !(self.wolfe_c1 > 0.0 && self.wolfe_c1 < 1.0) {
            return Err(CoreError::OutOfRange {
                what: "wolfe_c1",
                value: self.wolfe_c1,
                min: f64::MIN_POSITIVE,
                max: 1.0 - f64::EPSILON,
            });
        }
        if !(self.wolfe_c2 > self.wolfe_c1 && self.wolfe_c2 < 1.0) {
            return Err(CoreError::OutOfRange {
                what: "wolfe_c2",
                value: self.wolfe_c2,
                min: self.wolfe_c1,
                max: 1.0 - f64::EPSILON,
            });
        }
        Ok(())
    }
}

/// The outcome of [`minimize`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsResult {
    /// The last accepted point (the best point seen).
    pub x: Vec<f64>,
    /// `f(x)`.
    pub f: f64,
    /// `∇f(x)`.
    pub grad: Vec<f64>,
    /// Accepted steps.
    pub iterations: usize,
    /// Objective (value + gradient) evaluations.
    pub evaluations: usize,
    /// Why it stopped; [`Termination::converged`] is scipy's `result.success`.
    pub termination: Termination,
}

/// Minimises `objective` from `x0` by L-BFGS (see the module docs for the exact algorithm).
///
/// `objective(x, grad)` returns `f(x)` and writes `∇f(x)` into `grad` (same length as `x`). It
/// may return NaN/±inf where `f` is undefined.
///
/// # Errors
/// [`CoreError::EmptyInput`] for an empty `x0`, [`CoreError::NonFinite`] for a non-finite `x0`,
/// and the errors of [`LbfgsOptions::validate`]. Non-convergence is reported in
/// [`LbfgsResult::termination`], never as an error.
pub fn minimize<F>(
    mut objective: F,
    x0: &[f64],
    opts: &LbfgsOptions,
) -> Result<LbfgsResult, CoreError>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let mut run = LbfgsRun::new(&mut objective, x0, opts)?;
    loop {
        if let Some(result) = run.advance(&mut objective, opts, &mut |_| Control::Continue) {
            return Ok(result);
        }
    }
}

/// The objective of an [`LbfgsRun`]: `f(x)`, with `∇f(x)` written into the second argument.
pub type Objective<'a> = dyn FnMut(&[f64], &mut [f64]) -> f64 + 'a;

/// One L-BFGS run that can stop after any accepted step and go on later with identical
/// arithmetic (a worker's slices): [`minimize`] is `new` followed by `advance` to the end.
#[derive(Debug, Clone)]
pub struct LbfgsRun {
    x: Vec<f64>,
    g: Vec<f64>,
    f: f64,
    evaluations: usize,
    iterations: usize,
    memory: History,
    d: Vec<f64>,
    alpha_work: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// Set when the run ended before its first step (undefined or stationary start).
    ended: Option<Termination>,
}

impl LbfgsRun {
    /// Validates `x0` and the options and evaluates `f(x₀)`.
    ///
    /// # Errors
    /// As [`minimize`].
    pub fn new(
        objective: &mut Objective<'_>,
        x0: &[f64],
        opts: &LbfgsOptions,
    ) -> Result<LbfgsRun, CoreError> {
        CoreError::check_finite_nonempty("x0", x0)?;
        opts.validate()?;
        let n = x0.len();
        let x = x0.to_vec();
        let mut g = vec![0.0; n];
        let f = objective(&x, &mut g);
        let ended = if !f.is_finite() || !g.iter().all(|v| v.is_finite()) {
            Some(Termination::NumericalFailure {
                detail: format!(
                    "the objective or its gradient is not finite at the start (f = {f})"
                ),
            })
        } else if max_abs(&g) <= opts.gtol {
            Some(Termination::GradientConverged)
        } else {
            None
        };
        Ok(LbfgsRun {
            x,
            g,
            f,
            evaluations: 1,
            iterations: 0,
            memory: History::new(opts.memory, n),
            d: vec![0.0; n],
            alpha_work: vec![0.0; opts.memory],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            ended,
        })
    }

    /// Iterates until a stopping rule holds (`Some(result)`) or `on_step`, called after every
    /// accepted step that ends no test, answers [`Control::Suspend`] (`None`: call again with the
    /// same objective and options to go on). [`Control::Cancel`] ends the run with
    /// [`Termination::Cancelled`].
    pub fn advance(
        &mut self,
        objective: &mut Objective<'_>,
        opts: &LbfgsOptions,
        on_step: &mut dyn FnMut(&Progress<'_>) -> Control,
    ) -> Option<LbfgsResult> {
        if let Some(t) = self.ended.take() {
            return Some(self.finish(t));
        }
        let n = self.x.len();
        loop {
            // Search direction d = −H g.
            self.memory
                .apply_inverse_hessian(&self.g, &mut self.d, &mut self.alpha_work);
            let gd = dot(&self.g, &self.d);
            let failure = if gd.is_finite() && gd < 0.0 {
                let dnorm = dot(&self.d, &self.d).sqrt();
                let stp0 = if self.iterations == 0 {
                    (1.0 / dnorm).min(STEP_MAX)
                } else {
                    1.0
                };
                let budget = opts.max_evaluations.saturating_sub(self.evaluations);
                let search = line_search(
                    objective,
                    &self.x,
                    self.f,
                    gd,
                    &self.d,
                    stp0,
                    opts,
                    budget,
                    &mut self.x_trial,
                    &mut self.g_trial,
                );
                self.evaluations += search.evaluations;
                match search.outcome {
                    SearchOutcome::Accepted { stp, f_new } if f_new <= self.f => {
                        // s = stp·d, y = g_new − g.
                        let f_old = self.f;
                        for i in 0..n {
                            self.d[i] *= stp;
                            self.g[i] = self.g_trial[i] - self.g[i];
                        }
                        // Now d = s and g = y; store the pair before restoring g.
                        let sy = dot(&self.d, &self.g);
                        if sy > f64::EPSILON * (-gd * stp) {
                            self.memory.push(&self.d, &self.g, sy);
                        }
                        self.x.copy_from_slice(&self.x_trial);
                        self.g.copy_from_slice(&self.g_trial);
                        self.f = f_new;
                        self.iterations += 1;

                        if max_abs(&self.g) <= opts.gtol {
                            return Some(self.finish(Termination::GradientConverged));
                        }
                        if f_old - self.f <= opts.ftol * f_old.abs().max(self.f.abs()).max(1.0) {
                            return Some(self.finish(Termination::CostConverged));
                        }
                        if self.iterations >= opts.max_iterations
                            || self.evaluations >= opts.max_evaluations
                        {
                            return Some(self.finish(Termination::MaxIterations));
                        }
                        let progress = Progress {
                            iteration: self.iterations,
                            evaluations: self.evaluations,
                            cost: self.f,
                            params: &self.x,
                        };
                        match on_step(&progress) {
                            Control::Continue => continue,
                            Control::Suspend => return None,
                            Control::Cancel => {
                                return Some(self.finish(Termination::Cancelled));
                            }
                        }
                    }
                    SearchOutcome::Accepted { f_new, .. } => {
                        format!(
                            "the line search ended at a higher value ({f_new:e} > {:e})",
                            self.f
                        )
                    }
                    SearchOutcome::Budget => {
                        return Some(self.finish(Termination::MaxIterations));
                    }
                    SearchOutcome::Failed(why) => why.to_string(),
                }
            } else {
                format!("the search direction is not a descent direction (gᵀd = {gd:e})")
            };

            // Line search failed: restart from steepest descent, or give up if already there.
            if self.memory.is_empty() {
                let detail = format!("line search failed along −∇f: {failure}");
                return Some(self.finish(Termination::NumericalFailure { detail }));
            }
            self.memory.clear();
        }
    }

    fn finish(&mut self, termination: Termination) -> LbfgsResult {
        LbfgsResult {
            x: std::mem::take(&mut self.x),
            f: self.f,
            grad: std::mem::take(&mut self.g),
            iterations: self.iterations,
            evaluations: self.evaluations,
            termination,
        }
    }
}

/// Largest step the line search may take (L-BFGS-B's `stpmx` without bounds).
const STEP_MAX: f64 = 1e10;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// The last `m` correction pairs, in a ring buffer.
#[derive(Debug, Clone)]
struct History {
    s: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    rho: Vec<f64>,
    /// Index of the oldest pair.
    start: usize,
    len: usize,
}

impl History {
    fn new(m: usize, n: usize) -> Self {
        History {
            s: vec![vec![0.0; n]; m],
            y: vec![vec![0.0; n]; m],
            rho: vec![0.0; m],
            start: 0,
            len: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
    }

    fn capacity(&self) -> usize {
        self.rho.len()
    }

    /// Adds `(s, y)` with `sᵀy = sy > 0`, dropping the oldest pair when full.
    fn push(&mut self, s: &[f64], y: &[f64], sy: f64) {
        let m = self.capacity();
        let slot = if self.len < m {
            self.len += 1;
            (self.start + self.len - 1) % m
        } else {
            let slot = self.start;
            self.start = (self.start + 1) % m;
            slot
        };
        self.s[slot].copy_from_slice(s);
        self.y[slot].copy_from_slice(y);
        self.rho[slot] = 1.0 / sy;
    }

    /// `d = −H g` by the two-loop recursion (`d = −g` with an empty history).
    fn apply_inverse_hessian(&self, g: &[f64], d: &mut [f64], alpha: &mut [f64]) {
        let m = self.capacity();
        for (di, gi) in d.iter_mut().zip(g) {
            *di = -gi;
        }
        if self.len == 0 {
            return;
        }
        // First loop, newest to oldest, on q = −g (signs carry through linearly).
        for k in (0..self.len).rev() {
            let i = (self.start + k) % m;
            let a = self.rho[i] * dot(&self.s[i], d);
            alpha[k] = a;
            for (dj, yj) in d.iter_mut().zip(&self.y[i]) {
                *dj -= a * yj;
            }
        }
        let newest = (self.start + self.len - 1) % m;
        let yy = dot(&self.y[newest], &self.y[newest]);
        let gamma = 1.0 / (self.rho[newest] * yy);
        for dj in d.iter_mut() {
            *dj *= gamma;
        }
        // Second loop, oldest to newest.
        for (k, &alpha_k) in alpha.iter().enumerate().take(self.len) {
            let i = (self.start + k) % m;
            let b = self.rho[i] * dot(&self.y[i], d);
            let c = alpha_k - b;
            for (dj, sj) in d.iter_mut().zip(&self.s[i]) {
                *dj += c * sj;
            }
        }
    }
}

enum SearchOutcome {
    /// The step `stp` was accepted; `x_trial`, `g_trial` hold the new point and gradient.
    Accepted { stp: f64, f_new: f64 },
    /// The evaluation budget ran out.
    Budget,
    /// No acceptable step.
    Failed(&'static str),
}

struct Search {
    outcome: SearchOutcome,
    evaluations: usize,
}

/// Runs [`Dcsrch`] along `d` from `x` (value `f0`, slope `gd0 < 0`), writing the trial point into
/// `x_trial` and its gradient into `g_trial`.
#[allow(clippy::too_many_arguments)]
fn line_search<F>(
    objective: &mut F,
    x: &[f64],
    f0: f64,
    gd0: f64,
    d: &[f64],
    stp0: f64,
    opts: &LbfgsOptions,
    budget: usize,
    x_trial: &mut [f64],
    g_trial: &mut [f64],
) -> Search
where
    F: ?Sized + FnMut(&[f64], &mut [f64]) -> f64,
{
    let mut ls = Dcsrch::new(
        opts.wolfe_c1,
        opts.wolfe_c2,
        opts.line_search_xtol,
        0.0,
        STEP_MAX,
    );
    let mut stp = stp0;
    let mut evaluations = 0;
    let mut task = ls.start(stp, f0, gd0);
    loop {
        match task {
            Task::Fg => {}
            Task::Converged | Task::Warning(_) => {
                // L-BFGS-B accepts the last evaluated point after a MINPACK warning too.
                let f_new = ls.f_last;
                return Search {
                    outcome: SearchOutcome::Accepted { stp, f_new },
                    evaluations,
                };
            }
            Task::Error(why) => {
                return Search {
                    outcome: SearchOutcome::Failed(why),
                    evaluations,
                }
            }
        }
        if evaluations >= opts.max_line_search {
            return Search {
                outcome: SearchOutcome::Failed(
                    "no acceptable step within max_line_search evaluations",
                ),
                evaluations,
            };
        }
        if evaluations >= budget {
            return Search {
                outcome: SearchOutcome::Budget,
                evaluations,
            };
        }
        for ((xt, xi), di) in x_trial.iter_mut().zip(x).zip(d) {
            *xt = xi + stp * di;
        }
        let f = objective(x_trial, g_trial);
        evaluations += 1;
        let g = dot(g_trial, d);
        if !f.is_finite() || !g.is_finite() || !g_trial.iter().all(|v| v.is_finite()) {
            // Not in MINPACK: step back halfway towards the best step so far.
            let next = ls.stx + 0.5 * (stp - ls.stx);
            if !(next != stp && next > 0.0) {
                return Search {
                    outcome: SearchOutcome::Failed(
                        "the objective is not finite along the search direction",
                    ),
                    evaluations,
                };
            }
            stp = next;
            continue;
        }
        let (next, t) = ls.iterate(stp, f, g);
        if let Task::Fg = t {
            if !next.is_finite() {
                return Search {
                    outcome: SearchOutcome::Failed("the line search produced a non-finite step"),
                    evaluations,
                };
            }
            stp = next;
        }
        task = t;
    }
}

/// What the line search asks for next.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Task {
    /// Evaluate `f` and `f'` at the returned step.
    Fg,
    /// Both Wolfe conditions hold at the last step.
    Converged,
    /// MINPACK warning (rounding errors, xtol, stpmax/stpmin); the last step is used anyway.
    Warning(&'static str),
    /// Invalid input.
    Error(&'static str),
}

/// MINPACK-2 `dcsrch` (Moré & Thuente, "Line search algorithms with guaranteed sufficient
/// decrease", ACM TOMS 20 (1994) 286–307), as a state machine: find `stp` with
/// `φ(stp) ≤ φ(0) + ftol · stp · φ'(0)` and `|φ'(stp)| ≤ gtol · |φ'(0)|`.
struct Dcsrch {
    ftol: f64,
    gtol: f64,
    xtol: f64,
    stpmin: f64,
    stpmax: f64,
    brackt: bool,
    stage: u8,
    finit: f64,
    ginit: f64,
    gtest: f64,
    width: f64,
    width1: f64,
    stx: f64,
    fx: f64,
    gx: f64,
    sty: f64,
    fy: f64,
    gy: f64,
    stmin: f64,
    stmax: f64,
    /// `φ` at the last step handed to [`Dcsrch::iterate`].
    f_last: f64,
}

impl Dcsrch {
    fn new(ftol: f64, gtol: f64, xtol: f64, stpmin: f64, stpmax: f64) -> Self {
        Dcsrch {
            ftol,
            gtol,
            xtol,
            stpmin,
            stpmax,
            brackt: false,
            stage: 1,
            finit: 0.0,
            ginit: 0.0,
            gtest: 0.0,
            width: 0.0,
            width1: 0.0,
            stx: 0.0,
            fx: 0.0,
            gx: 0.0,
            sty: 0.0,
            fy: 0.0,
            gy: 0.0,
            stmin: 0.0,
            stmax: 0.0,
            f_last: 0.0,
        }
    }

    /// `task = 'START'`: `f = φ(0)`, `g = φ'(0) < 0`, `stp` the first trial step.
    fn start(&mut self, stp: f64, f: f64, g: f64) -> Task {
        const XTRAPU: f64 = 4.0;
        if stp < self.stpmin {
            return Task::Error("initial step below stpmin");
        }
        if stp > self.stpmax {
            return Task::Error("initial step above stpmax");
        }
        if g >= 0.0 {
            return Task::Error("initial slope is not negative");
        }
        self.brackt = false;
        self.stage = 1;
        self.finit = f;
        self.ginit = g;
        self.gtest = self.ftol * g;
        self.width = self.stpmax - self.stpmin;
        self.width1 = self.width / 0.5;
        self.stx = 0.0;
        self.fx = f;
        self.gx = g;
        self.sty = 0.0;
        self.fy = f;
        self.gy = g;
        self.stmin = 0.0;
        self.stmax = stp + XTRAPU * stp;
        self.f_last = f;
        Task::Fg
    }

    /// One call with `f = φ(stp)`, `g = φ'(stp)`; returns the next step and what to do.
    fn iterate(&mut self, stp: f64, f: f64, g: f64) -> (f64, Task) {
        const XTRAPL: f64 = 1.1;
        const XTRAPU: f64 = 4.0;
        self.f_last = f;
        let ftest = self.finit + stp * self.gtest;
        if self.stage == 1 && f <= ftest && g >= 0.0 {
            self.stage = 2;
        }
        let mut task = None;
        if self.brackt && (stp <= self.stmin || stp >= self.stmax) {
            task = Some(Task::Warning("rounding errors prevent progress"));
        }
        if self.brackt && self.stmax - self.stmin <= self.xtol * self.stmax {
            task = Some(Task::Warning("xtol test satisfied"));
        }
        if stp == self.stpmax && f <= ftest && g <= self.gtest {
            task = Some(Task::Warning("stp = stpmax"));
        }
        if stp == self.stpmin && (f > ftest || g >= self.gtest) {
            task = Some(Task::Warning("stp = stpmin"));
        }
        if f <= ftest && g.abs() <= self.gtol * (-self.ginit) {
            task = Some(Task::Converged);
        }
        if let Some(t) = task {
            return (stp, t);
        }

        let mut step = Step {
            stx: self.stx,
            fx: self.fx,
            dx: self.gx,
            sty: self.sty,
            fy: self.fy,
            dy: self.gy,
            stp,
            brackt: self.brackt,
        };
        if self.stage == 1 && f <= self.fx && f > ftest {
            // Use the modified function ψ(α) = φ(α) − φ(0) − ftol·α·φ'(0).
            step.fx -= self.stx * self.gtest;
            step.fy -= self.sty * self.gtest;
            step.dx -= self.gtest;
            step.dy -= self.gtest;
            step.dcstep(f - stp * self.gtest, g - self.gtest, self.stmin, self.stmax);
            step.fx += step.stx * self.gtest;
            step.fy += step.sty * self.gtest;
            step.dx += self.gtest;
            step.dy += self.gtest;
        } else {
            step.dcstep(f, g, self.stmin, self.stmax);
        }
        self.stx = step.stx;
        self.fx = step.fx;
        self.gx = step.dx;
        self.sty = step.sty;
        self.fy = step.fy;
        self.gy = step.dy;
        self.brackt = step.brackt;
        let mut stp = step.stp;

        if self.brackt {
            if (self.sty - self.stx).abs() >= 0.66 * self.width1 {
                stp = self.stx + 0.5 * (self.sty - self.stx);
            }
            self.width1 = self.width;
            self.width = (self.sty - self.stx).abs();
            self.stmin = self.stx.min(self.sty);
            self.stmax = self.stx.max(self.sty);
        } else {
            self.stmin = stp + XTRAPL * (stp - self.stx);
            self.stmax = stp + XTRAPU * (stp - self.stx);
        }
        stp = stp.max(self.stpmin).min(self.stpmax);
        if self.brackt
            && (stp <= self.stmin
                || stp >= self.stmax
                || self.stmax - self.stmin <= self.xtol * self.stmax)
        {
            stp = self.stx;
        }
        (stp, Task::Fg)
    }
}

/// `numpy.sign`: −1, 0 or 1.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The interval state of MINPACK-2 `dcstep`.
struct Step {
    stx: f64,
    fx: f64,
    dx: f64,
    sty: f64,
    fy: f64,
    dy: f64,
    stp: f64,
    brackt: bool,
}

impl Step {
    /// MINPACK-2 `dcstep`: a safeguarded cubic/quadratic step from the interval `[stx, sty]` and
    /// the trial `stp` with `φ(stp) = fp`, `φ'(stp) = dp`; updates the interval.
    fn dcstep(&mut self, fp: f64, dp: f64, stpmin: f64, stpmax: f64) {
        let (stx, fx, dx) = (self.stx, self.fx, self.dx);
        let (sty, fy, dy) = (self.sty, self.fy, self.dy);
        let stp = self.stp;
        let sgnd = sign(dp) * sign(dx);
        let stpf;
        if fp > fx {
            // Case 1: higher value; the minimum is bracketed.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp < stx {
                gamma = -gamma;
            }
            let p = (gamma - dx) + theta;
            let q = ((gamma - dx) + gamma) + dp;
            let r = p / q;
            let stpc = stx + r * (stp - stx);
            let stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
            stpf = if (stpc - stx).abs() <= (stpq - stx).abs() {
                stpc
            } else {
                stpc + (stpq - stpc) / 2.0
            };
            self.brackt = true;
        } else if sgnd < 0.0 {
            // Case 2: lower value, derivatives of opposite sign; bracketed.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dx;
            let r = p / q;
            let stpc = stp + r * (stx - stp);
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            stpf = if (stpc - stp).abs() > (stpq - stp).abs() {
                stpc
            } else {
                stpq
            };
            self.brackt = true;
        } else if dp.abs() < dx.abs() {
            // Case 3: lower value, same-sign derivative decreasing in magnitude.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).max(0.0).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = (gamma + (dx - dp)) + gamma;
            let r = p / q;
            let stpc = if r < 0.0 && gamma != 0.0 {
                stp + r * (stx - stp)
            } else if stp > stx {
                stpmax
            } else {
                stpmin
            };
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            if self.brackt {
                let mut f = if (stpc - stp).abs() < (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                f = if stp > stx {
                    f.min(stp + 0.66 * (sty - stp))
                } else {
                    f.max(stp + 0.66 * (sty - stp))
                };
                stpf = f;
            } else {
                let f = if (stpc - stp).abs() > (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                stpf = f.max(stpmin).min(stpmax);
            }
        } else {
            // Case 4: lower value, same-sign derivative not decreasing.
            stpf = if self.brackt {
                let theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
                let s = theta.abs().max(dy.abs()).max(dp.abs());
                let mut gamma = s * ((theta / s).powi(2) - (dy / s) * (dp / s)).sqrt();
                if stp > sty {
                    gamma = -gamma;
                }
                let p = (gamma - dp) + theta;
                let q = ((gamma - dp) + gamma) + dy;
                let r = p / q;
                stp + r * (sty - stp)
            } else if stp > stx {
                stpmax
            } else {
                stpmin
            };
        }

        // Update the interval that contains a minimiser.
        if fp > fx {
            self.sty = stp;
            self.fy = fp;
            self.dy = dp;
        } else {
            if sgnd < 0.0 {
                self.sty = stx;
                self.fy = fx;
                self.dy = dx;
            }
            self.stx = stp;
            self.fx = fp;
            self.dx = dp;
        }
        self.stp = stpf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let n = x.len();
        let mut f = 0.0;
        g.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n - 1 {
            let t1 = x[i + 1] - x[i] * x[i];
            let t2 = 1.0 - x[i];
            f += 100.0 * t1 * t1 + t2 * t2;
            g[i] += -400.0 * x[i] * t1 - 2.0 * t2;
            g[i + 1] += 200.0 * t1;
        }
        f
    }

    #[test]
    fn minimizes_rosenbrock_like_scipy() {
        let opts = LbfgsOptions {
            gtol: 1e-8,
            ftol: 0.0,
            ..Default::default()
        };
        let r = minimize(rosenbrock, &[-1.2, 1.0], &opts).unwrap();
        assert_eq!(r.termination, Termination::GradientConverged, "{r:?}");
        for xi in &r.x {
            assert!((xi - 1.0).abs() < 1e-7, "{r:?}");
        }
        // scipy L-BFGS-B (jac given) needs ~35 iterations here; ours should be comparable.
        assert!(r.iterations < 60, "{r:?}");

        let r = minimize(rosenbrock, &[-1.2, 1.0, -1.2, 1.0, 0.5], &opts).unwrap();
        assert!(r.termination.converged(), "{r:?}");
        assert!(r.f < 1e-12, "{r:?}");
    }

    #[test]
    fn quadratic_converges_and_respects_ftol() {
        // f = Σ i·(x_i − i)², minimum 0 at x_i = i.
        let quad = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for (i, (xi, gi)) in x.iter().zip(g.iter_mut()).enumerate() {
                let w = (i + 1) as f64;
                let t = xi - w;
                f += w * t * t;
                *gi = 2.0 * w * t;
            }
            f
        };
        let r = minimize(quad, &[0.0; 6], &LbfgsOptions::default()).unwrap();
        assert!(r.termination.converged(), "{r:?}");
        assert!(r.f < 1e-8, "{r:?}");
        // At the start the gradient test passes immediately.
        let r = minimize(
            quad,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &LbfgsOptions::default(),
        )
        .unwrap();
        assert_eq!(r.termination, Termination::GradientConverged);
        assert_eq!((r.iterations, r.evaluations), (0, 1));
    }

    #[test]
    fn max_iterations_and_non_finite_are_reported_not_errors() {
        let opts = LbfgsOptions {
            max_iterations: 3,
            gtol: 0.0,
            ftol: 0.0,
            ..Default::default()
        };
        let r = minimize(rosenbrock, &[-1.2, 1.0], &opts).unwrap();
        assert_eq!(r.termination, Termination::MaxIterations);
        assert_eq!(r.iterations, 3);

        let nan_start = |_: &[f64], g: &mut [f64]| {
            g[0] = 0.0;
            f64::NAN
        };
        let r = minimize(nan_start, &[1.0], &LbfgsOptions::default()).unwrap();
        assert!(matches!(
            r.termination,
            Termination::NumericalFailure { .. }
        ));
    }

    #[test]
    fn non_finite_trial_steps_are_halved() {
        // f = −ln x + x (min at 1), undefined for x ≤ 0: the first step from 3 overshoots past 0.
        let f = |x: &[f64], g: &mut [f64]| {
            if x[0] <= 0.0 {
                g[0] = f64::NAN;
                return f64::NAN;
            }
            g[0] = 1.0 - 1.0 / x[0];
            x[0] - x[0].ln()
        };
        let opts = LbfgsOptions {
            gtol: 1e-10,
            ..Default::default()
        };
        let r = minimize(f, &[30.0], &opts).unwrap();
        assert!(r.termination.converged(), "{r:?}");
        assert!((r.x[0] - 1.0).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let opts = LbfgsOptions::default();
        assert_eq!(
            minimize(rosenbrock, &[], &opts).unwrap_err(),
            CoreError::EmptyInput { what: "x0" }
        );
        assert_eq!(
            minimize(rosenbrock, &[f64::NAN, 1.0], &opts)
                .unwrap_err()
                .code(),
            "NonFinite"
        );
        let bad = LbfgsOptions {
            memory: 0,
            ..Default::default()
        };
        assert_eq!(
            minimize(rosenbrock, &[0.0, 0.0], &bad).unwrap_err().code(),
            "InvalidValue"
        );
        let bad = LbfgsOptions {
            wolfe_c2: 1e-4,
            ..Default::default()
        };
        assert_eq!(
            minimize(rosenbrock, &[0.0, 0.0], &bad).unwrap_err().code(),
            "OutOfRange"
        );
    }
}
