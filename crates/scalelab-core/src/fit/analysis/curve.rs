//! The curve stage: the fitted curve at the request's curve inputs (or a default grid) with its
//! 95 % band — the delta method where the fit has a covariance (Student's `t` with the fit's `n − p`
//! degrees of freedom, `n` the observations with positive weight), else percentiles of the bootstrap
//! fits' predictions at the same inputs (with at least 20 successful refits).

use super::{predict_all, BandKind, Curve, CurveAxis, FitRequest};
use crate::fit::allocation::ChinchillaAllocation;
use crate::fit::models::BuiltinModel;
use crate::fit::uncertainty::{self, BandOptions, BootstrapResult};
use crate::fit::{FitResult, Model};

/// Most points of a loss curve's default curve.
const MAX_CURVE_STEPS: usize = 400;

/// Fewest successful bootstrap refits for a percentile band.
const MIN_BOOTSTRAP_FOR_BAND: usize = 20;

/// The curve and its band.
pub(super) fn curve(
    req: &FitRequest,
    model: &dyn Model,
    fit: &FitResult,
    bootstrap: Option<&BootstrapResult>,
) -> Curve {
    let k = model.n_inputs();
    let params = &fit.params;
    let (axis, at, curve_x) = if req.curve_inputs.is_empty() {
        default_inputs(req, params)
    } else {
        let at = req.curve_inputs.chunks(k).map(|r| r[0]).collect();
        let axis = if req.schedule.is_some() && loss_curve(req) {
            CurveAxis::Step
        } else {
            CurveAxis::X
        };
        (axis, at, req.curve_inputs.clone())
    };
    let mean = predict_all(model, params, &curve_x, k);
    let n = mean.len();
    let mut curve = Curve {
        axis,
        at,
        mean,
        lower: vec![f64::NAN; n],
        upper: vec![f64::NAN; n],
        band: BandKind::None,
        prediction_lower: vec![f64::NAN; n],
        prediction_upper: vec![f64::NAN; n],
    };
    if let Some(cov) = &fit.covariance {
        // n counts the observations with positive weight, as the solver does.
        let n = match &req.data.weights {
            Some(w) => w.iter().filter(|&&v| v > 0.0).count(),
            None => req.data.len(),
        };
        let dof = n.saturating_sub(params.len());
        let s2 = (dof > 0 && fit.rss.is_finite()).then(|| fit.rss / dof as f64);
        let opts = BandOptions {
            level: 0.95,
            residual_variance: s2,
            space: req.options.residual,
            dof: (dof > 0).then_some(dof),
        };
        if let Ok(band) = uncertainty::delta_method_band(model, params, cov, &curve_x, &opts) {
            curve.lower = band.lower;
            curve.upper = band.upper;
            curve.band = BandKind::DeltaMethod;
            if let (Some(lo), Some(hi)) = (band.prediction_lower, band.prediction_upper) {
                curve.prediction_lower = lo;
                curve.prediction_upper = hi;
            }
        }
    } else if let Some(b) = bootstrap.filter(|b| b.estimates.len() >= MIN_BOOTSTRAP_FOR_BAND) {
        // Every bootstrap fit's prediction at the curve's own inputs.
        let preds: Vec<Vec<f64>> = b
            .estimates
            .iter()
            .map(|p| predict_all(model, p, &curve_x, k))
            .collect();
        for i in 0..n {
            let col: Vec<f64> = preds.iter().map(|p| p[i]).collect();
            curve.lower[i] = percentile(col.clone(), 0.025);
            curve.upper[i] = percentile(col, 0.975);
        }
        curve.band = BandKind::Bootstrap;
    }
    curve
}

fn loss_curve(req: &FitRequest) -> bool {
    req.model.is(BuiltinModel::LrAnnealing) || req.model.is(BuiltinModel::MultiPowerLaw)
}

fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    uncertainty::percentile_sorted(&v, q)
}

fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..n)
        .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp())
        .collect()
}

/// The default curve: for one-input laws a log grid from the smallest x to the largest × the
/// extrapolation factor; for Chinchilla the compute-optimal frontier over the data's compute range
/// (extended likewise); for other two-input laws the runs in order of compute, then the largest run
/// scaled along N and D equally; for loss curves up to [`MAX_CURVE_STEPS`] whole steps from the
/// first logged step to the end of the schedule (the schedule fixes the future, so the extrapolation
/// factor does not apply). Returns (axis, abscissae, row-major inputs).
fn default_inputs(req: &FitRequest, params: &[f64]) -> (CurveAxis, Vec<f64>, Vec<f64>) {
    let data = &req.data;
    let ext = req.extrapolate;
    if let (true, Some(schedule)) = (loss_curve(req), &req.schedule) {
        let first = data.x.iter().copied().fold(f64::INFINITY, f64::min);
        let last = schedule.steps() as f64;
        let steps = if first.is_finite() && first <= last {
            let n = ((last - first) as usize + 1).min(MAX_CURVE_STEPS);
            let mut at: Vec<f64> = (0..n)
                .map(|i| (first + (last - first) * i as f64 / (n - 1).max(1) as f64).round())
                .collect();
            at.dedup();
            at
        } else {
            data.x.clone()
        };
        return (CurveAxis::Step, steps.clone(), steps);
    }
    if data.is_empty() {
        return (CurveAxis::X, Vec::new(), Vec::new());
    }
    if data.n_inputs == 1 {
        let (lo, hi) = data
            .x
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        if lo > 0.0 && hi.is_finite() {
            let xs = log_grid(lo, hi * ext, 200);
            return (CurveAxis::X, xs.clone(), xs);
        }
        return (CurveAxis::X, data.x.clone(), data.x.clone());
    }
    let compute = |i: usize| 6.0 * data.row(i)[0] * data.row(i)[1];
    let (cmin, cmax) = (0..data.len())
        .map(compute)
        .fold((f64::INFINITY, 0.0f64), |(a, b), c| (a.min(c), b.max(c)));
    if req.model.is(BuiltinModel::Chinchilla) && cmin > 0.0 && cmax.is_finite() {
        if let Ok(rule) = ChinchillaAllocation::from_chinchilla_params(params) {
            let cs = log_grid(cmin, cmax * ext, 200);
            let x = cs
                .iter()
                .flat_map(|&c| [rule.params(c), rule.tokens(c)])
                .collect();
            return (CurveAxis::ComputeOptimal, cs, x);
        }
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| compute(a).total_cmp(&compute(b)));
    let mut at: Vec<f64> = order.iter().map(|&i| compute(i)).collect();
    let mut x: Vec<f64> = order.iter().flat_map(|&i| data.row(i).to_vec()).collect();
    if let Some(&last) = order.last() {
        let (n, d) = (data.row(last)[0], data.row(last)[1]);
        if ext > 1.0 {
            for t in log_grid(1.0, ext, 40).into_iter().skip(1) {
                at.push(cmax * t);
                x.extend([n * t.sqrt(), d * t.sqrt()]);
            }
        }
    }
    (CurveAxis::Compute, at, x)
}
