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
    top_label_pass, Norm, Reliability,
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
    if n == 0 {
        return Err(CoreError::EmptyInput { what: "rows" });
    }
    if !(2..=MAX_RESAMPLES).contains(&resamples) {
        return Err(CoreError::OutOfRange {
            what: "bootstrap resamples",
            value: resamples as f64,
            min: 2.0,
            max: MAX_RESAMPLES as f64,
        });
    }
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
        let v = f(&rows)?;
        if v.is_finite() {
            values.push(v);
        }
    }
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
/// Errors: as [`bootstrap_metric`] and [`reliability`].
pub fn metric_intervals(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<MetricIntervals, CoreError> {
    let n = scores.len();
    let pass = top_label_pass(scores, t);
    let mean =
        |v: &[f64], rows: &[usize]| rows.iter().map(|&r| v[r]).sum::<f64>() / rows.len() as f64;
    let binned = |rows: &[usize]| -> Result<Reliability, CoreError> {
        let c: Vec<f64> = rows.iter().map(|&r| pass.conf[r]).collect();
        let o: Vec<f64> = rows.iter().map(|&r| pass.correct[r]).collect();
        reliability(&c, &o, binning)
    };
    let one = |f: &dyn Fn(&[usize]) -> Result<f64, CoreError>| {
        bootstrap_metric(n, resamples, level, seed, f)
    };
    Ok(MetricIntervals {
        accuracy: one(&|rows| Ok(mean(&pass.correct, rows)))?,
        nll: one(&|rows| Ok(mean(&pass.nll_terms, rows)))?,
        brier: one(&|rows| Ok(mean(&pass.brier_terms, rows)))?,
        ece: one(&|rows| Ok(calibration_error(&binned(rows)?, Norm::L1)))?,
        mce: one(&|rows| Ok(calibration_error(&binned(rows)?, Norm::Max)))?,
        rms: one(&|rows| Ok(calibration_error(&binned(rows)?, Norm::L2)))?,
        ace: one(&|rows| Ok(average_calibration_error(&binned(rows)?)))?,
        debiased_l2: one(&|rows| Ok(debiased_calibration_error(&binned(rows)?)))?,
    })
}
