//! Bootstrap intervals for any calibration metric: the percentile interval (Efron & Tibshirani
//! 1993, §13.3) — the `(1 − level)/2` and `(1 + level)/2` quantiles of the metric over `B`
//! resamples of the rows with replacement, quantiles by numpy's linear rule
//! ([`percentile_sorted`]) — and the bootstrap standard error (the resampled values' standard
//! deviation, `ddof = 1`). Resamples are drawn with a seeded ChaCha8 generator, so a seed gives the
//! same interval everywhere.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::binning::Binning;
use super::metrics::{
    average_calibration_error, calibration_error, debiased_calibration_error, reliability,
    top_label_pass, Norm,
};
use super::Scores;
use crate::fit::uncertainty::percentile_sorted;
use crate::CoreError;

/// Most resamples.
pub const MAX_RESAMPLES: usize = 100_000;

/// A metric with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricInterval {
    /// The metric on all rows.
    pub estimate: f64,
    /// Lower end of the percentile interval.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// Bootstrap standard error.
    pub std_error: f64,
    /// Resamples whose metric was finite (the others, e.g. a resample with no sample in any bin,
    /// are left out and counted here).
    pub finite: usize,
}

/// The metric `f(rows)` on all `n` rows (`0..n`) and on `resamples` bootstrap resamples (each `n`
/// row indices drawn with replacement), with the interval at `level`.
///
/// Errors: [`CoreError::EmptyInput`] for `n = 0`; [`CoreError::OutOfRange`] for `resamples`
/// outside `2 ..= MAX_RESAMPLES`, `level` outside `(0, 1)`, or fewer than two finite resamples;
/// `f`'s own errors.
pub fn bootstrap_metric(
    n: usize,
    resamples: usize,
    level: f64,
    seed: u64,
    mut f: impl FnMut(&[usize]) -> Result<f64, CoreError>,
) -> Result<MetricInterval, CoreError> {
    let (estimate, values) = bootstrap_values(n, resamples, level, seed, |rows| Ok([f(rows)?]))?;
    interval(
        estimate[0],
        values.into_iter().map(|v| v[0]).collect(),
        resamples,
        level,
    )
}

/// `M` metrics `f(rows)` on all rows and on each resample (one pass of the resamples for all).
fn bootstrap_values<const M: usize>(
    n: usize,
    resamples: usize,
    level: f64,
    seed: u64,
    mut f: impl FnMut(&[usize]) -> Result<[f64; M], CoreError>,
) -> Result<([f64; M], Vec<[f64; M]>), CoreError> {
    if n == 0 {
        return Err(CoreError::EmptyInput { what: "rows" });
    }
    super::check_range(
        "bootstrap resamples",
        resamples as f64,
        2.0,
        MAX_RESAMPLES as f64,
    )?;
    if !(level > 0.0 && level < 1.0) {
        return Err(CoreError::OutOfRange {
            what: "confidence level",
            value: level,
            min: 0.0,
            max: 1.0,
        });
    }
    let all: Vec<usize> = (0..n).collect();
    let estimate = f(&all)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = vec![0usize; n];
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for r in rows.iter_mut() {
            *r = rng.random_range(0..n);
        }
        values.push(f(&rows)?);
    }
    Ok((estimate, values))
}

/// The interval of metric `m` of [`bootstrap_values`]' output.
fn column_interval<const M: usize>(
    estimate: &[f64; M],
    values: &[[f64; M]],
    m: usize,
    resamples: usize,
    level: f64,
) -> Result<MetricInterval, CoreError> {
    interval(
        estimate[m],
        values.iter().map(|v| v[m]).collect(),
        resamples,
        level,
    )
}

/// The percentile interval and standard error of the finite `values` around `estimate`.
fn interval(
    estimate: f64,
    mut values: Vec<f64>,
    resamples: usize,
    level: f64,
) -> Result<MetricInterval, CoreError> {
    values.retain(|v| v.is_finite());
    if values.len() < 2 {
        return Err(CoreError::OutOfRange {
            what: "finite bootstrap resamples",
            value: values.len() as f64,
            min: 2.0,
            max: resamples as f64,
        });
    }
    values.sort_by(f64::total_cmp);
    let m = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    Ok(MetricInterval {
        estimate,
        lower: percentile_sorted(&values, (1.0 - level) / 2.0),
        upper: percentile_sorted(&values, (1.0 + level) / 2.0),
        std_error: var.sqrt(),
        finite: values.len(),
    })
}

/// Percentile intervals of the top-label metrics of one model (the rows resampled together).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricIntervals {
    /// Accuracy.
    pub accuracy: MetricInterval,
    /// Mean NLL.
    pub nll: MetricInterval,
    /// Brier score summed over classes.
    pub brier: MetricInterval,
    /// Brier score divided by the number of classes (the same resamples, scaled by `1/k`).
    pub brier_per_class: MetricInterval,
    /// ECE under the binning asked for.
    pub ece: MetricInterval,
    /// MCE.
    pub mce: MetricInterval,
    /// RMS calibration error.
    pub rms: MetricInterval,
    /// netcal's ACE.
    pub ace: MetricInterval,
    /// Kumar et al.'s debiased L2.
    pub debiased_l2: MetricInterval,
}

/// Bootstrap intervals of every top-label metric of `scores` at temperature `t` under `binning`:
/// one softmax pass ([`top_label_pass`]) keeps each row's confidence, outcome, NLL and Brier
/// terms, so a resample costs `O(n)` whatever the number of classes; data-dependent binnings
/// (equal mass, quantiles) are rebuilt on every resample, so their intervals include the binning's
/// own variability.
///
/// Errors: as [`bootstrap_metric`] and [`reliability`], and [`super::check_temperature`] for `t`.
pub fn metric_intervals(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<MetricIntervals, CoreError> {
    super::check_temperature(t)?;
    let n = scores.len();
    let pass = top_label_pass(scores, t);
    let mean =
        |v: &[f64], rows: &[usize]| rows.iter().map(|&r| v[r]).sum::<f64>() / rows.len() as f64;
    // Every metric of a resample from one binning of it.
    let (estimate, values) = bootstrap_values(n, resamples, level, seed, |rows| {
        let c: Vec<f64> = rows.iter().map(|&r| pass.conf[r]).collect();
        let o: Vec<f64> = rows.iter().map(|&r| pass.correct[r]).collect();
        let r = reliability(&c, &o, binning)?;
        Ok([
            mean(&pass.correct, rows),
            mean(&pass.nll_terms, rows),
            mean(&pass.brier_terms, rows),
            calibration_error(&r, Norm::L1),
            calibration_error(&r, Norm::Max),
            calibration_error(&r, Norm::L2),
            average_calibration_error(&r),
            debiased_calibration_error(&r),
        ])
    })?;
    let one = |m: usize| column_interval(&estimate, &values, m, resamples, level);
    let brier = one(2)?;
    let k = scores.classes() as f64;
    Ok(MetricIntervals {
        accuracy: one(0)?,
        nll: one(1)?,
        brier,
        brier_per_class: MetricInterval {
            estimate: brier.estimate / k,
            lower: brier.lower / k,
            upper: brier.upper / k,
            std_error: brier.std_error / k,
            finite: brier.finite,
        },
        ece: one(3)?,
        mce: one(4)?,
        rms: one(5)?,
        ace: one(6)?,
        debiased_l2: one(7)?,
    })
}

/// Most bootstrap work `n·k·B` (rows × classes × resamples) of [`classwise_intervals`]: each
/// resample recomputes every class's confidences, so a 50 000 × 1000 set with 200 resamples
/// (10¹⁰) is refused and a 10 000 × 10 set with 200 (2·10⁷) is not.
pub const MAX_CLASSWISE_WORK: f64 = 2e8;

/// Whether [`classwise_intervals`] takes `rows` × `classes` × `resamples` (at most
/// [`MAX_CLASSWISE_WORK`]).
pub fn classwise_work_fits(rows: usize, classes: usize, resamples: usize) -> bool {
    rows as f64 * classes as f64 * resamples as f64 <= MAX_CLASSWISE_WORK
}

/// Intervals of the class-wise metrics (the same resamples as [`metric_intervals`] with the same
/// seed).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClasswiseIntervals {
    /// Class-wise ECE under the binning asked for.
    pub classwise_ece: MetricInterval,
    /// Nixon et al.'s adaptive CE with `binning.bins()` ranges per class.
    pub adaptive_ce: MetricInterval,
}

/// Bootstrap intervals of the class-wise ECE and Nixon's adaptive CE of `scores` at `t`: each
/// resample's rows are copied and both metrics recomputed on them.
///
/// Errors: [`CoreError::OutOfRange`] when `n·k·B` exceeds [`MAX_CLASSWISE_WORK`] (lower the
/// resamples); as [`bootstrap_metric`] and the metrics otherwise.
pub fn classwise_intervals(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<ClasswiseIntervals, CoreError> {
    use super::metrics::{adaptive_calibration_error, classwise_calibration_error};
    super::check_temperature(t)?;
    let (n, k) = (scores.len(), scores.classes());
    if !classwise_work_fits(n, k, resamples) {
        return Err(CoreError::OutOfRange {
            what: "bootstrap work rows × classes × resamples of the class-wise intervals",
            value: n as f64 * k as f64 * resamples as f64,
            min: 0.0,
            max: MAX_CLASSWISE_WORK,
        });
    }
    let (estimate, values) = bootstrap_values(n, resamples, level, seed, |rows| {
        let rows = super::ScoreRows::select(scores, rows)?;
        let s = rows.scores()?;
        Ok([
            classwise_calibration_error(&s, t, binning)?,
            adaptive_calibration_error(&s, t, binning.bins())?,
        ])
    })?;
    let one = |m: usize| column_interval(&estimate, &values, m, resamples, level);
    Ok(ClasswiseIntervals {
        classwise_ece: one(0)?,
        adaptive_ce: one(1)?,
    })
}
