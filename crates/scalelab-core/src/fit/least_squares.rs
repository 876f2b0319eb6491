//! Nonlinear least squares: [`fit`] validates the inputs, builds residuals and their Jacobian from
//! the model's exact gradients and runs Levenberg–Marquardt
//! ([`crate::fit::solvers::levenberg_marquardt`], MINPACK `lmder` with robust losses and bounds):
//! - linear space: `r_i = √w_i (y_i − f_i)`, `∂r_i/∂θ_j = −√w_i ∂f_i/∂θ_j`;
//! - log space: `r_i = √w_i (ln y_i − ln f_i)`, `∂r_i/∂θ_j = −√w_i (∂f_i/∂θ_j) / f_i`;
//! - cost `½ Σ ρ_c(r_i²)` ([`crate::fit::losses`]); `rss = Σ r_i²`.
//!
//! Rows with weight 0 are dropped: the model is not evaluated there and they do not count as
//! observations. Bounds are enforced by an active set plus projection (see
//! [`crate::fit::solvers::levenberg_marquardt`]); start values outside the bounds are clipped into
//! them. The covariance is `s² (JᵀJ)⁻¹` with `s² = rss / (n − p)` for L2 and Huber's sandwich "H1"
//! for robust losses (as statsmodels `RLM`; [`crate::fit::covariance::robust_covariance`]), `J` the
//! Jacobian of `r` at the solution (weights included), `n` the rows with positive weight.
//!
//! [`LeastSquaresRun`] is the same fit advanced in slices (a worker's time budget): it stops after
//! any accepted step and resumes with identical arithmetic.

use crate::fit::solvers::levenberg_marquardt::{Run, Settings};
use crate::fit::solvers::{Control, Progress};
use crate::fit::{covariance, losses, Data, FitOptions, FitResult, Model, ResidualSpace};
use crate::CoreError;

/// Fits `model` to `data` from `start` by Levenberg–Marquardt (see the module docs for the residual
/// conventions and [`crate::fit::solvers::levenberg_marquardt`] for the algorithm and stopping rules).
///
/// Errors (never a panic) for invalid input: sizes that disagree (`DimensionMismatch`), no
/// observations (`EmptyInput`), non-finite data, weights or start values (`NonFinite`), negative
/// weights (`NegativeWeight`), fewer positive-weight rows than parameters (`TooFewPoints`), `y ≤ 0` in
/// log space (`LogOfNonPositive`, naming the row), bad bounds (`InvalidBounds`), a non-positive loss
/// scale or negative/non-finite tolerances (`OutOfRange`), and a model undefined at the (clipped)
/// start values (`ModelUndefined`, naming the row). Not converging is not an error: see
/// [`FitResult::termination`].
pub fn fit(
    model: &dyn Model,
    data: &Data,
    start: &[f64],
    opts: &FitOptions,
) -> Result<FitResult, CoreError> {
    fit_with_monitor(model, data, start, opts, &mut |_| true)
}

/// [`fit`], calling `monitor` after every accepted step; when it returns `false` the fit stops with
/// [`crate::fit::Termination::Cancelled`] and the last accepted parameters (e.g. a cancelled worker
/// job).
pub fn fit_with_monitor(
    model: &dyn Model,
    data: &Data,
    start: &[f64],
    opts: &FitOptions,
    monitor: &mut dyn FnMut(&Progress<'_>) -> bool,
) -> Result<FitResult, CoreError> {
    let mut run = LeastSquaresRun::new(model, data, start, opts)?;
    let mut control = |p: &Progress<'_>| {
        if monitor(p) {
            Control::Continue
        } else {
            Control::Cancel
        }
    };
    loop {
        if let Some(result) = run.advance(model, data, opts, &mut control) {
            return Ok(result);
        }
    }
}

/// Checks a least-squares problem without evaluating the model: the input errors of [`fit`] other
/// than `ModelUndefined` (which depends on the start values).
pub(crate) fn validate(
    model: &dyn Model,
    data: &Data,
    start: &[f64],
    opts: &FitOptions,
) -> Result<(), CoreError> {
    Problem::new(model, data, start, opts).map(|_| ())
}

/// One least-squares fit that can be advanced in slices: [`LeastSquaresRun::advance`] stops when its
/// callback answers [`Control::Suspend`] after an accepted step and goes on from there when called
/// again. The model, data and options must be the ones given to [`LeastSquaresRun::new`] at every
/// call (the run keeps no references, so its owner can hold it beside them).
pub(crate) struct LeastSquaresRun {
    problem: Problem,
    lower: Vec<f64>,
    upper: Vec<f64>,
    grad: Vec<f64>,
    run: Run,
}

impl LeastSquaresRun {
    /// Validates the inputs (the errors of [`fit`]) and evaluates at the start values.
    pub(crate) fn new(
        model: &dyn Model,
        data: &Data,
        start: &[f64],
        opts: &FitOptions,
    ) -> Result<LeastSquaresRun, CoreError> {
        let problem = Problem::new(model, data, start, opts)?;
        let (lower, upper) = problem.bounds(opts);
        let x0: Vec<f64> = start
            .iter()
            .enumerate()
            .map(|(j, &s)| s.clamp(lower[j], upper[j]))
            .collect();
        problem.check_start(model, data, &x0)?;
        let mut grad = vec![0.0; problem.p];
        let settings = settings(opts, &lower, &upper);
        let run = Run::new(
            &mut |theta: &[f64], r: &mut [f64], jac: &mut [f64]| {
                problem
                    .evaluate(model, data, theta, r, Some(jac), &mut grad)
                    .is_ok()
            },
            problem.m,
            x0,
            &settings,
        );
        Ok(LeastSquaresRun {
            problem,
            lower,
            upper,
            grad,
            run,
        })
    }

    /// Iterates until the fit ends (`Some(result)`) or `on_step` answers [`Control::Suspend`]
    /// (`None`).
    pub(crate) fn advance(
        &mut self,
        model: &dyn Model,
        data: &Data,
        opts: &FitOptions,
        on_step: &mut dyn FnMut(&Progress<'_>) -> Control,
    ) -> Option<FitResult> {
        let problem = &self.problem;
        let grad = &mut self.grad;
        let settings = settings(opts, &self.lower, &self.upper);
        let out = self.run.advance(
            &mut |theta: &[f64], r: &mut [f64], jac: &mut [f64]| {
                problem
                    .evaluate(model, data, theta, r, Some(jac), grad)
                    .is_ok()
            },
            &settings,
            on_step,
        )?;
        let (m, p) = (problem.m, problem.p);
        let rss: f64 = out.residuals.iter().map(|r| r * r).sum();
        let dof = problem.n_eff - p;
        // Row-major copy of the kept rows of the column-major Jacobian.
        let mut jac_rows = Vec::with_capacity(problem.n_eff * p);
        for i in 0..m {
            if problem.kept(i) {
                jac_rows.extend((0..p).map(|j| out.jacobian[i + j * m]));
            }
        }
        let kept: Vec<f64> = (0..m)
            .filter(|&i| problem.kept(i))
            .map(|i| out.residuals[i])
            .collect();
        let cov = covariance::robust_covariance(&jac_rows, problem.n_eff, p, &kept, opts.loss, dof);
        let (std_errors, covariance) = match cov {
            Some(c) => (Some(c.std_errors), Some(c.matrix)),
            None => (None, None),
        };
        Some(FitResult {
            params: out.x,
            cost: out.cost,
            rss,
            iterations: out.iterations,
            evaluations: out.evaluations,
            termination: out.termination,
            std_errors,
            covariance,
        })
    }
}

fn settings<'a>(opts: &FitOptions, lower: &'a [f64], upper: &'a [f64]) -> Settings<'a> {
    Settings {
        loss: opts.loss,
        lower,
        upper,
        max_iterations: opts.max_iterations,
        ftol: opts.ftol,
        xtol: opts.xtol,
        gtol: opts.gtol,
    }
}

/// A validated fitting problem: what the residuals need besides the model and the data.
struct Problem {
    space: ResidualSpace,
    /// `√w_i` (1 without weights).
    sqrt_w: Vec<f64>,
    /// `ln y_i` in log space (0 for dropped rows), empty in linear space.
    log_y: Vec<f64>,
    /// Rows.
    m: usize,
    /// Rows with positive weight.
    n_eff: usize,
    /// Parameters.
    p: usize,
}

impl Problem {
    fn new(
        model: &dyn Model,
        data: &Data,
        start: &[f64],
        opts: &FitOptions,
    ) -> Result<Self, CoreError> {
        let p = model.param_names().len();
        if p == 0 {
            return Err(CoreError::EmptyInput {
                what: "model parameters",
            });
        }
        if start.len() != p {
            return Err(CoreError::DimensionMismatch {
                what: "start values (one per model parameter)",
                expected: p,
                got: start.len(),
            });
        }
        if data.n_inputs != model.n_inputs() {
            return Err(CoreError::DimensionMismatch {
                what: "inputs per observation (the model's vs data.n_inputs)",
                expected: model.n_inputs(),
                got: data.n_inputs,
            });
        }
        let m = data.y.len();
        if m == 0 {
            return Err(CoreError::EmptyInput { what: "y" });
        }
        let expected_x = m.saturating_mul(data.n_inputs);
        if data.x.len() != expected_x {
            return Err(CoreError::DimensionMismatch {
                what: "x (n_inputs values per observation)",
                expected: expected_x,
                got: data.x.len(),
            });
        }
        if let Some(w) = &data.weights {
            if w.len() != m {
                return Err(CoreError::DimensionMismatch {
                    what: "weights (one per observation)",
                    expected: m,
                    got: w.len(),
                });
            }
        }
        CoreError::check_finite("x", &data.x)?;
        CoreError::check_finite("y", &data.y)?;
        CoreError::check_finite("start", start)?;
        let sqrt_w = match &data.weights {
            Some(w) => {
                CoreError::check_finite("weights", w)?;
                if let Some(index) = w.iter().position(|&v| v < 0.0) {
                    return Err(CoreError::NegativeWeight {
                        index,
                        value: w[index],
                    });
                }
                w.iter().map(|v| v.sqrt()).collect()
            }
            None => vec![1.0; m],
        };
        losses::validate(opts.loss)?;
        for (what, tol) in [
            ("ftol", opts.ftol),
            ("xtol", opts.xtol),
            ("gtol", opts.gtol),
        ] {
            if !(tol.is_finite() && tol >= 0.0) {
                return Err(CoreError::OutOfRange {
                    what,
                    value: tol,
                    min: 0.0,
                    max: f64::MAX,
                });
            }
        }
        if let Some(b) = &opts.bounds {
            if b.len() != p {
                return Err(CoreError::DimensionMismatch {
                    what: "bounds (one (lower, upper) pair per parameter)",
                    expected: p,
                    got: b.len(),
                });
            }
            for (index, &(lower, upper)) in b.iter().enumerate() {
                // `!(lower < upper)` also rejects NaN.
                if lower.partial_cmp(&upper) != Some(std::cmp::Ordering::Less)
                    || lower == f64::INFINITY
                    || upper == f64::NEG_INFINITY
                {
                    return Err(CoreError::InvalidBounds {
                        index,
                        lower,
                        upper,
                    });
                }
            }
        }
        let n_eff = sqrt_w.iter().filter(|&&s| s > 0.0).count();
        if n_eff < p {
            return Err(CoreError::TooFewPoints { n: n_eff, p });
        }
        let log_y = match opts.residual {
            ResidualSpace::Linear => Vec::new(),
            ResidualSpace::Log => {
                let mut log_y = vec![0.0; m];
                for i in 0..m {
                    if sqrt_w[i] > 0.0 {
                        let y = data.y[i];
                        if y <= 0.0 {
                            return Err(CoreError::LogOfNonPositive {
                                what: "y",
                                index: i,
                                value: y,
                            });
                        }
                        log_y[i] = y.ln();
                    }
                }
                log_y
            }
        };
        Ok(Problem {
            space: opts.residual,
            sqrt_w,
            log_y,
            m,
            n_eff,
            p,
        })
    }

    /// `(lower, upper)` per parameter, ±inf without bounds.
    fn bounds(&self, opts: &FitOptions) -> (Vec<f64>, Vec<f64>) {
        match &opts.bounds {
            Some(b) => b.iter().copied().unzip(),
            None => (vec![f64::NEG_INFINITY; self.p], vec![f64::INFINITY; self.p]),
        }
    }

    /// `true` for rows with positive weight.
    fn kept(&self, i: usize) -> bool {
        self.sqrt_w[i] > 0.0
    }

    /// `Err(ModelUndefined)` at the first kept row where the model is undefined at `theta`.
    fn check_start(&self, model: &dyn Model, data: &Data, theta: &[f64]) -> Result<(), CoreError> {
        let mut r = vec![0.0; self.m];
        let mut grad = Vec::new();
        self.evaluate(model, data, theta, &mut r, None, &mut grad)
            .map_err(|(index, value)| CoreError::ModelUndefined { index, value })
    }

    /// Residuals into `r` and, when given, the residual Jacobian into `jac` (column-major `m × p`);
    /// `Err((row, f))` at the first row where `f` (or, with `jac`, its gradient) is non-finite, or
    /// `f ≤ 0` in log space.
    fn evaluate(
        &self,
        model: &dyn Model,
        data: &Data,
        theta: &[f64],
        r: &mut [f64],
        mut jac: Option<&mut [f64]>,
        grad: &mut [f64],
    ) -> Result<(), (usize, f64)> {
        let m = self.m;
        for i in 0..m {
            let sw = self.sqrt_w[i];
            if sw == 0.0 {
                r[i] = 0.0;
                if let Some(jac) = jac.as_deref_mut() {
                    for j in 0..self.p {
                        jac[i + j * m] = 0.0;
                    }
                }
                continue;
            }
            let x = data.row(i);
            let f = match jac {
                Some(_) => {
                    grad.iter_mut().for_each(|g| *g = 0.0);
                    model.eval(x, theta, Some(grad))
                }
                None => model.eval(x, theta, None),
            };
            if !f.is_finite() {
                return Err((i, f));
            }
            let scale = match self.space {
                ResidualSpace::Linear => {
                    r[i] = sw * (data.y[i] - f);
                    -sw
                }
                ResidualSpace::Log => {
                    if f <= 0.0 {
                        return Err((i, f));
                    }
                    r[i] = sw * (self.log_y[i] - f.ln());
                    -sw / f
                }
            };
            if let Some(jac) = jac.as_deref_mut() {
                for (j, g) in grad.iter().enumerate() {
                    let v = scale * g;
                    if !v.is_finite() {
                        return Err((i, f64::NAN));
                    }
                    jac[i + j * m] = v;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{RobustLoss, Termination};

    /// `f(x) = a · exp(b x)`.
    struct Exp;
    impl Model for Exp {
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn n_inputs(&self) -> usize {
            1
        }
        fn eval(&self, x: &[f64], t: &[f64], grad: Option<&mut [f64]>) -> f64 {
            let e = (t[1] * x[0]).exp();
            if let Some(g) = grad {
                g[0] = e;
                g[1] = t[0] * x[0] * e;
            }
            t[0] * e
        }
        fn formula(&self) -> String {
            "a·exp(b x)".into()
        }
    }

    fn exp_data(a: f64, b: f64) -> Data {
        let xs: Vec<f64> = (0..8).map(|i| i as f64 * 0.25).collect();
        let y = xs.iter().map(|x| a * (b * x).exp()).collect();
        Data {
            n_inputs: 1,
            x: xs,
            y,
            weights: None,
        }
    }

    #[test]
    fn exact_data_is_recovered_in_both_spaces() {
        let data = exp_data(2.0, -0.7);
        for residual in [ResidualSpace::Linear, ResidualSpace::Log] {
            let opts = FitOptions {
                residual,
                ..FitOptions::default()
            };
            let res = fit(&Exp, &data, &[1.0, 0.0], &opts).expect("valid input");
            assert!(res.termination.converged(), "{:?}", res.termination);
            assert!(
                (res.params[0] - 2.0).abs() < 1e-12 && (res.params[1] + 0.7).abs() < 1e-12,
                "{:?}",
                res.params
            );
            assert!(res.rss < 1e-25);
        }
    }

    #[test]
    fn monitor_can_cancel() {
        let data = exp_data(2.0, -0.7);
        let mut calls = 0;
        let res = fit_with_monitor(&Exp, &data, &[1.0, 0.0], &FitOptions::default(), &mut |p| {
            calls += 1;
            assert!(p.cost.is_finite() && p.params.len() == 2);
            false
        })
        .expect("valid input");
        assert_eq!(calls, 1);
        assert_eq!(res.termination, Termination::Cancelled);
    }

    #[test]
    fn robust_loss_with_zero_residuals_still_converges() {
        let data = exp_data(1.5, 0.3);
        let opts = FitOptions {
            loss: RobustLoss::Cauchy { scale: 0.1 },
            ..FitOptions::default()
        };
        let res = fit(&Exp, &data, &[1.0, 0.0], &opts).expect("valid input");
        assert!((res.params[0] - 1.5).abs() < 1e-10, "{:?}", res);
    }

    /// `f(x) = a · exp(b x / 10) + c`.
    struct ExpOffset;
    impl Model for ExpOffset {
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into(), "c".into()]
        }
        fn n_inputs(&self) -> usize {
            1
        }
        fn eval(&self, x: &[f64], t: &[f64], grad: Option<&mut [f64]>) -> f64 {
            let e = (t[1] * x[0] / 10.0).exp();
            if let Some(g) = grad {
                g[0] = e;
                g[1] = t[0] * x[0] / 10.0 * e;
                g[2] = 1.0;
            }
            t[0] * e + t[2]
        }
        fn formula(&self) -> String {
            "a·exp(b x/10) + c".into()
        }
    }

    /// `f(x) = a + b x` (the straight line, for closed-form checks).
    struct Line;
    impl Model for Line {
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
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
            "a + b x".into()
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn robust_fits_match_mpmath_and_scipy() {
        // Data: y = 2 exp(1.5 x/10) + 0.5 + small noise, x = 0…9, with an outlier (+6) at x = 7.
        // References, run here with /tmp/venv-fit (Python float repr):
        // - exact minimisers: mpmath 1.3 (40 digits) `findroot` of the cost gradient
        //   Σ ρ'(r_i²/c²) r_i ∂r_i/∂θ = 0, started from scipy's answers; costs ½ Σ c² ρ(r_i²/c²);
        // - scipy 1.17.1 `least_squares(res, [1, 1, 0], jac=analytic, method='trf', loss=…, f_scale=0.5,
        //   ftol=xtol=gtol=1e-15)`, which stops ~1e-7 (relative) short of those roots.
        let y = vec![
            2.55,
            2.7936684854565663,
            3.2197176151520064,
            3.6366243709803374,
            4.104237600781018,
            4.76400003322535,
            5.4092062223139,
            12.215302236126327,
            7.160233845473094,
            8.19485106139395,
        ];
        let data = Data {
            n_inputs: 1,
            x: (0..10).map(f64::from).collect(),
            y,
            weights: None,
        };
        // (loss, mpmath root, scipy trf answer, cost)
        let cases = [
            (
                RobustLoss::L2,
                [15.363065386329197, 0.42874300980302826, -13.36918954728088],
                [15.363062997978247, 0.4287430651244745, -13.369187132664015],
                14.470583921336411,
            ),
            (
                RobustLoss::Huber { delta: 0.5 },
                [2.5516163898757473, 1.3240758629233904, -0.10462649660437622],
                [2.5516164387505893, 1.3240758483420487, -0.10462655133633336],
                2.8478794909702914,
            ),
            (
                RobustLoss::SoftL1 { scale: 0.5 },
                [2.5671676675382495, 1.319782077476319, -0.1217398569192677],
                [2.5671677700480324, 1.3197820467697994, -0.12173997030452983],
                2.7330483189639745,
            ),
            (
                RobustLoss::Cauchy { scale: 0.5 },
                [1.9945190127207648, 1.501642246994489, 0.5144947739331013],
                [1.994519011923185, 1.5016422473236104, 0.5144947748426004],
                0.6254622347900676,
            ),
        ];
        for (loss, want, scipy, want_cost) in cases {
            let opts = FitOptions {
                loss,
                ..FitOptions::default()
            };
            let res = fit(&ExpOffset, &data, &[1.0, 1.0, 0.0], &opts).expect("valid input");
            assert!(
                res.termination.converged(),
                "{loss:?}: {:?}",
                res.termination
            );
            for ((g, w), sp) in res.params.iter().zip(want).zip(scipy) {
                assert!(
                    close(*g, w, 1e-9),
                    "{loss:?}: {:?} vs mpmath {want:?}",
                    res.params
                );
                assert!(
                    close(*g, sp, 1e-6),
                    "{loss:?}: {:?} vs scipy {scipy:?}",
                    res.params
                );
            }
            assert!(
                close(res.cost, want_cost, 1e-12),
                "{loss:?}: cost {} vs {want_cost}",
                res.cost
            );
            assert!(res.rss >= 2.0 * res.cost - 1e-12, "ρ(s) ≤ s for every loss");
        }
    }

    #[test]
    fn weights_scale_rows_like_repeated_observations() {
        // Weight 2 on a row = that row twice (both minimise Σ w_i r_i²); weight 0 drops a row, even
        // one with y ≤ 0 in log space.
        let x = vec![0.0, 1.0, 2.0, 3.0];
        let y = vec![1.0, 2.5, 2.9, 4.4];
        let weighted = Data {
            n_inputs: 1,
            x: x.clone(),
            y: y.clone(),
            weights: Some(vec![1.0, 2.0, 1.0, 1.0]),
        };
        let repeated = Data {
            n_inputs: 1,
            x: vec![0.0, 1.0, 1.0, 2.0, 3.0],
            y: vec![1.0, 2.5, 2.5, 2.9, 4.4],
            weights: None,
        };
        let opts = FitOptions::default();
        let a = fit(&Line, &weighted, &[0.0, 0.0], &opts).expect("valid");
        let b = fit(&Line, &repeated, &[0.0, 0.0], &opts).expect("valid");
        // Closed form (normal equations of the 5 rows): Σ1 = 5, Σx = 7, Σx² = 15, Σy = 13.3,
        // Σxy = 2.5·2 + 5.8 + 13.2 = 24 → b = (5·24 − 7·13.3)/(5·15 − 49) = 26.9/26, a = (13.3 − 7b)/5.
        let slope = 26.9 / 26.0;
        let icpt = (13.3 - 7.0 * slope) / 5.0;
        for res in [&a, &b] {
            assert!(
                close(res.params[1], slope, 1e-12) && close(res.params[0], icpt, 1e-12),
                "{:?}",
                res.params
            );
        }
        assert!(close(a.rss, b.rss, 1e-12));
        // Zero weight on a bad row: the row is ignored (not evaluated, not counted).
        let mut y0 = y.clone();
        y0.push(-5.0);
        let mut x0 = x.clone();
        x0.push(100.0);
        let dropped = Data {
            n_inputs: 1,
            x: x0,
            y: y0,
            weights: Some(vec![1.0, 1.0, 1.0, 1.0, 0.0]),
        };
        let plain = Data {
            n_inputs: 1,
            x,
            y,
            weights: None,
        };
        let log = FitOptions {
            residual: ResidualSpace::Log,
            ..FitOptions::default()
        };
        let a = fit(&Line, &dropped, &[1.0, 1.0], &log).expect("zero-weight row is dropped");
        let b = fit(&Line, &plain, &[1.0, 1.0], &log).expect("valid");
        assert_eq!(a.params, b.params);
        assert_eq!(a.std_errors, b.std_errors);
    }

    #[test]
    fn bounds_hold_and_active_bounds_give_the_constrained_optimum() {
        // Data from b = −0.7; with b ∈ [−0.5, 0] the optimum sits on b = −0.5 and a minimises
        // Σ (y − a e^{bx})² in closed form: a = Σ y e^{bx} / Σ e^{2bx}.
        let data = exp_data(2.0, -0.7);
        let opts = FitOptions {
            bounds: Some(vec![(f64::NEG_INFINITY, f64::INFINITY), (-0.5, 0.0)]),
            ..FitOptions::default()
        };
        // The start b = −2 lies outside and is clipped to −0.5.
        let res = fit(&Exp, &data, &[1.0, -2.0], &opts).expect("valid input");
        assert!(res.termination.converged(), "{:?}", res.termination);
        assert_eq!(res.params[1], -0.5);
        let (num, den) = data
            .x
            .iter()
            .zip(&data.y)
            .fold((0.0, 0.0), |(n, d), (x, y)| {
                let e = (-0.5 * x).exp();
                (n + y * e, d + e * e)
            });
        assert!(
            close(res.params[0], num / den, 1e-10),
            "{:?} vs {}",
            res.params,
            num / den
        );
        // Inactive bounds change nothing.
        let loose = FitOptions {
            bounds: Some(vec![(0.0, 10.0), (-5.0, 5.0)]),
            ..FitOptions::default()
        };
        let res = fit(&Exp, &data, &[1.0, 0.0], &loose).expect("valid input");
        assert!(
            close(res.params[0], 2.0, 1e-12) && close(res.params[1], -0.7, 1e-12),
            "{:?}",
            res.params
        );
    }

    #[test]
    fn invalid_inputs_are_specific_errors() {
        let good = exp_data(2.0, -0.7);
        let opts = FitOptions::default();
        let code = |r: Result<FitResult, CoreError>| r.map(|_| ()).unwrap_err();

        let e = code(fit(&Exp, &good, &[1.0], &opts));
        assert!(
            matches!(
                e,
                CoreError::DimensionMismatch {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        let few = Data {
            n_inputs: 1,
            x: vec![1.0],
            y: vec![2.0],
            weights: None,
        };
        assert_eq!(
            code(fit(&Exp, &few, &[1.0, 0.0], &opts)),
            CoreError::TooFewPoints { n: 1, p: 2 }
        );
        let zero_w = Data {
            weights: Some(vec![0.0; 8]),
            ..good.clone()
        };
        assert_eq!(
            code(fit(&Exp, &zero_w, &[1.0, 0.0], &opts)),
            CoreError::TooFewPoints { n: 0, p: 2 }
        );
        let mut nan = good.clone();
        nan.y[3] = f64::NAN;
        let e = code(fit(&Exp, &nan, &[1.0, 0.0], &opts));
        assert!(
            matches!(
                e,
                CoreError::NonFinite {
                    what: "y",
                    index: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = code(fit(&Exp, &good, &[1.0, f64::INFINITY], &opts));
        assert!(
            matches!(
                e,
                CoreError::NonFinite {
                    what: "start",
                    index: 1,
                    ..
                }
            ),
            "{e}"
        );
        let mut neg = good.clone();
        neg.y[5] = -0.1;
        let log = FitOptions {
            residual: ResidualSpace::Log,
            ..FitOptions::default()
        };
        let e = code(fit(&Exp, &neg, &[1.0, 0.0], &log));
        assert_eq!(
            e,
            CoreError::LogOfNonPositive {
                what: "y",
                index: 5,
                value: -0.1
            }
        );
        assert!(e.to_string().contains("index 5"), "{e}");
        let e = code(fit(
            &Exp,
            &Data {
                weights: Some(vec![1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
                ..good.clone()
            },
            &[1.0, 0.0],
            &opts,
        ));
        assert_eq!(
            e,
            CoreError::NegativeWeight {
                index: 2,
                value: -1.0
            }
        );
        let e = code(fit(
            &Exp,
            &Data {
                weights: Some(vec![1.0; 3]),
                ..good.clone()
            },
            &[1.0, 0.0],
            &opts,
        ));
        assert!(
            matches!(
                e,
                CoreError::DimensionMismatch {
                    expected: 8,
                    got: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = code(fit(
            &Exp,
            &Data {
                x: vec![0.0; 7],
                ..good.clone()
            },
            &[1.0, 0.0],
            &opts,
        ));
        assert!(
            matches!(
                e,
                CoreError::DimensionMismatch {
                    expected: 8,
                    got: 7,
                    ..
                }
            ),
            "{e}"
        );
        let e = code(fit(
            &Exp,
            &Data {
                n_inputs: 2,
                ..good.clone()
            },
            &[1.0, 0.0],
            &opts,
        ));
        assert!(
            matches!(
                e,
                CoreError::DimensionMismatch {
                    expected: 1,
                    got: 2,
                    ..
                }
            ),
            "{e}"
        );
        let empty = Data {
            n_inputs: 1,
            x: vec![],
            y: vec![],
            weights: None,
        };
        assert_eq!(
            code(fit(&Exp, &empty, &[1.0, 0.0], &opts)),
            CoreError::EmptyInput { what: "y" }
        );
        for (lower, upper) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (f64::NAN, 1.0),
            (f64::INFINITY, f64::INFINITY),
        ] {
            let o = FitOptions {
                bounds: Some(vec![(f64::NEG_INFINITY, f64::INFINITY), (lower, upper)]),
                ..FitOptions::default()
            };
            let e = code(fit(&Exp, &good, &[1.0, 0.0], &o));
            assert_eq!(e.code(), "InvalidBounds", "{lower}, {upper}");
        }
        let o = FitOptions {
            bounds: Some(vec![(0.0, 1.0)]),
            ..FitOptions::default()
        };
        assert_eq!(
            code(fit(&Exp, &good, &[1.0, 0.0], &o)).code(),
            "DimensionMismatch"
        );
        let o = FitOptions {
            loss: RobustLoss::Cauchy { scale: 0.0 },
            ..FitOptions::default()
        };
        assert_eq!(code(fit(&Exp, &good, &[1.0, 0.0], &o)).code(), "OutOfRange");
        let o = FitOptions {
            ftol: -1.0,
            ..FitOptions::default()
        };
        assert_eq!(code(fit(&Exp, &good, &[1.0, 0.0], &o)).code(), "OutOfRange");
        // The model is undefined at the start: a ≤ 0 gives f ≤ 0, which log space cannot take.
        let e = code(fit(&Exp, &good, &[-1.0, 0.0], &log));
        assert_eq!(
            e,
            CoreError::ModelUndefined {
                index: 0,
                value: -1.0
            }
        );
    }

    /// `f = a` where `a = 1` exactly, NaN elsewhere, or with a NaN gradient: every step fails.
    struct Brittle {
        nan_grad: bool,
    }
    impl Model for Brittle {
        fn param_names(&self) -> Vec<String> {
            vec!["a".into()]
        }
        fn n_inputs(&self) -> usize {
            1
        }
        fn eval(&self, _x: &[f64], t: &[f64], grad: Option<&mut [f64]>) -> f64 {
            if let Some(g) = grad {
                g[0] = if self.nan_grad { f64::NAN } else { 1.0 };
            }
            if t[0] == 1.0 {
                1.0
            } else {
                f64::NAN
            }
        }
        fn formula(&self) -> String {
            "a".into()
        }
    }

    #[test]
    fn termination_reasons_are_reported_not_errors() {
        let data = exp_data(2.0, -0.7);
        // Exact solution at the start: zero residuals.
        let res = fit(&Exp, &data, &[2.0, -0.7], &FitOptions::default()).expect("valid");
        assert_eq!(res.termination, Termination::GradientConverged);
        assert_eq!((res.iterations, res.evaluations), (0, 1));
        // Iteration budget.
        for max_iterations in [0, 1, 3] {
            let o = FitOptions {
                max_iterations,
                ..FitOptions::default()
            };
            let res = fit(&Exp, &data, &[1.0, 0.0], &o).expect("valid");
            assert_eq!(res.termination, Termination::MaxIterations);
            assert_eq!(res.iterations, max_iterations);
            assert_eq!(res.evaluations, max_iterations + 1);
            if max_iterations == 0 {
                assert_eq!(res.params, vec![1.0, 0.0]);
            }
        }
        // A loose ftol stops on the cost test (noisy data: the cost levels off; exact data would
        // converge quadratically and stop on the step test).
        let noisy = Data {
            y: data
                .y
                .iter()
                .enumerate()
                .map(|(i, y)| y + 0.01 * if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
            ..data.clone()
        };
        let o = FitOptions {
            ftol: 1e-3,
            ..FitOptions::default()
        };
        let loose = fit(&Exp, &noisy, &[1.0, 0.0], &o).expect("valid");
        assert_eq!(loose.termination, Termination::CostConverged);
        let tight = fit(&Exp, &noisy, &[1.0, 0.0], &FitOptions::default()).expect("valid");
        assert!(tight.evaluations > loose.evaluations && tight.cost <= loose.cost);
        // Every trial point undefined: the solver shrinks its steps, then reports the failure.
        let brittle = Data {
            n_inputs: 1,
            x: vec![0.0, 1.0],
            y: vec![2.0, 3.0],
            weights: None,
        };
        let res = fit(
            &Brittle { nan_grad: false },
            &brittle,
            &[1.0],
            &FitOptions::default(),
        )
        .expect("valid");
        assert!(
            matches!(res.termination, Termination::NumericalFailure { .. }),
            "{:?}",
            res.termination
        );
        assert_eq!(res.params, vec![1.0]);
        assert!(res.cost.is_finite());
        // A non-finite gradient at the start.
        let res = fit(
            &Brittle { nan_grad: true },
            &brittle,
            &[1.0],
            &FitOptions::default(),
        )
        .expect("valid");
        assert!(
            matches!(res.termination, Termination::NumericalFailure { .. }),
            "{:?}",
            res.termination
        );
        assert_eq!(res.std_errors, None);
    }

    #[test]
    fn steps_around_holes_in_the_domain() {
        // Log space needs f = a e^{bx} > 0; from a = 0.05 the first full steps overshoot a below 0
        // (undefined), which the solver treats as failed steps and shrinks around.
        let data = exp_data(3.0, 0.4);
        let log = FitOptions {
            residual: ResidualSpace::Log,
            ..FitOptions::default()
        };
        let res = fit(&Exp, &data, &[0.05, -3.0], &log).expect("valid");
        assert!(res.termination.converged(), "{:?}", res.termination);
        assert!(
            close(res.params[0], 3.0, 1e-10) && close(res.params[1], 0.4, 1e-10),
            "{:?}",
            res.params
        );
    }

    #[test]
    fn covariance_matches_the_straight_line_closed_form() {
        // y = a + b x, x = 0, 1, 2, 3: (JᵀJ)⁻¹ = [[14, −6], [−6, 4]]/20 and s² = RSS/2.
        let data = Data {
            n_inputs: 1,
            x: vec![0.0, 1.0, 2.0, 3.0],
            y: vec![1.0, 2.5, 2.9, 4.4],
            weights: None,
        };
        let res = fit(&Line, &data, &[0.0, 0.0], &FitOptions::default()).expect("valid");
        let s2 = res.rss / 2.0;
        let cov = res.covariance.expect("regular");
        let want = [0.7 * s2, -0.3 * s2, -0.3 * s2, 0.2 * s2];
        for (g, w) in cov.iter().zip(want) {
            assert!(close(*g, w, 1e-10), "{cov:?} vs {want:?}");
        }
        let se = res.std_errors.expect("regular");
        assert!(close(se[1], (0.2 * s2).sqrt(), 1e-10));
        // n = p: no degrees of freedom, no covariance.
        let two = Data {
            n_inputs: 1,
            x: vec![0.0, 1.0],
            y: vec![1.0, 3.0],
            weights: None,
        };
        let res = fit(&Line, &two, &[0.0, 0.0], &FitOptions::default()).expect("n = p is allowed");
        assert!(close(res.params[1], 2.0, 1e-12));
        assert_eq!(res.covariance, None);
    }
}
