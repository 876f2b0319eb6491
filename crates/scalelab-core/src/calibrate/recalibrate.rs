//! Recalibration maps of a confidence, fitted on a calibration split: histogram binning
//! (Zadrozny & Elkan 2001: each bin's confidence replaced by its accuracy) and isotonic
//! regression (pool-adjacent-violators, as scikit-learn's `IsotonicRegression(out_of_bounds=
//! "clip")`: ties in the confidence pooled first, predictions linearly interpolated between the
//! fitted points and clipped outside them); and the seeded split itself.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::binning::{equal_width, EdgeConvention};
use super::metrics::{check_pairs, check_unit};
use crate::CoreError;

/// Histogram binning: `bins` equal-width `(lo, hi]` bins, each mapped to its calibration accuracy
/// (an empty bin maps to its own mid-point, which it then reports as [`HistogramBinning::empty`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistogramBinning {
    /// Each bin's calibrated confidence.
    pub values: Vec<f64>,
    /// Bins that held no calibration sample.
    pub empty: Vec<usize>,
}

impl HistogramBinning {
    /// Fits the map. Errors: as the inputs' checks, or [`CoreError::OutOfRange`] for `bins`.
    pub fn fit(conf: &[f64], outcome: &[f64], bins: usize) -> Result<Self, CoreError> {
        check_pairs(conf, outcome)?;
        if bins == 0 || bins > super::binning::MAX_BINS {
            return Err(CoreError::OutOfRange {
                what: "number of bins",
                value: bins as f64,
                min: 1.0,
                max: super::binning::MAX_BINS as f64,
            });
        }
        let mut sums = vec![(0usize, 0.0); bins];
        for (&c, &o) in conf.iter().zip(outcome) {
            let b = equal_width(c, bins, EdgeConvention::UpperClosed).unwrap_or(0);
            sums[b].0 += 1;
            sums[b].1 += o;
        }
        let empty = (0..bins).filter(|&b| sums[b].0 == 0).collect();
        let values = sums
            .iter()
            .enumerate()
            .map(|(b, &(n, s))| {
                if n == 0 {
                    (b as f64 + 0.5) / bins as f64
                } else {
                    s / n as f64
                }
            })
            .collect();
        Ok(HistogramBinning { values, empty })
    }

    /// The calibrated confidence of `c` in `[0, 1]` (a confidence of 0 takes bin 0); use
    /// [`HistogramBinning::apply_all`] for values not yet checked.
    pub fn apply(&self, c: f64) -> f64 {
        let b = equal_width(c, self.values.len(), EdgeConvention::UpperClosed).unwrap_or(0);
        self.values[b]
    }

    /// The calibrated confidences of `conf`. Errors: [`CoreError::NonFinite`] or
    /// [`CoreError::OutOfRange`] for a value outside `[0, 1]` (never clamped).
    pub fn apply_all(&self, conf: &[f64]) -> Result<Vec<f64>, CoreError> {
        check_unit("confidence", conf)?;
        Ok(conf.iter().map(|&c| self.apply(c)).collect())
    }
}

/// An isotonic (non-decreasing) map fitted by pool-adjacent-violators.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Isotonic {
    /// Distinct calibration confidences, ascending.
    pub x: Vec<f64>,
    /// The fitted, non-decreasing value at each.
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits the map to `(conf, outcome)` with unit weights.
    pub fn fit(conf: &[f64], outcome: &[f64]) -> Result<Self, CoreError> {
        check_pairs(conf, outcome)?;
        let mut order: Vec<usize> = (0..conf.len()).collect();
        order.sort_by(|&a, &b| conf[a].total_cmp(&conf[b]));
        // Ties pooled: (x, mean outcome, weight).
        let mut pts: Vec<(f64, f64, f64)> = Vec::new();
        for &i in &order {
            match pts.last_mut() {
                Some(p) if p.0 == conf[i] => {
                    p.1 += outcome[i];
                    p.2 += 1.0;
                }
                _ => pts.push((conf[i], outcome[i], 1.0)),
            }
        }
        // PAV over blocks of (sum, weight, points).
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
        for &(_, s, w) in &pts {
            blocks.push((s, w, 1));
            while blocks.len() > 1 {
                let (s2, w2, n2) = blocks[blocks.len() - 1];
                let (s1, w1, n1) = blocks[blocks.len() - 2];
                if s1 / w1 <= s2 / w2 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, w1 + w2, n1 + n2);
            }
        }
        let mut y = Vec::with_capacity(pts.len());
        for (s, w, n) in blocks {
            y.extend(std::iter::repeat_n(s / w, n));
        }
        Ok(Isotonic {
            x: pts.iter().map(|p| p.0).collect(),
            y,
        })
    }

    /// The calibrated value of `c`: linear interpolation between fitted points, clipped outside.
    pub fn apply(&self, c: f64) -> f64 {
        let n = self.x.len();
        if c <= self.x[0] {
            return self.y[0];
        }
        if c >= self.x[n - 1] {
            return self.y[n - 1];
        }
        let j = self.x.partition_point(|&v| v <= c);
        let (x0, x1, y0, y1) = (self.x[j - 1], self.x[j], self.y[j - 1], self.y[j]);
        y0 + (y1 - y0) * (c - x0) / (x1 - x0)
    }

    /// The calibrated values of `conf`. Errors: [`CoreError::NonFinite`] or
    /// [`CoreError::OutOfRange`] for a value outside `[0, 1]` (never clamped).
    pub fn apply_all(&self, conf: &[f64]) -> Result<Vec<f64>, CoreError> {
        check_unit("confidence", conf)?;
        Ok(conf.iter().map(|&c| self.apply(c)).collect())
    }
}

/// A seeded split of `n` rows: `(calibration rows, test rows)`, the calibration share
/// `round(fraction·n)` of a ChaCha8 Fisher–Yates permutation, each part ascending.
///
/// Errors: [`CoreError::OutOfRange`] for a fraction outside `(0, 1)` or a split that leaves
/// either part empty.
pub fn split(n: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>), CoreError> {
    let cal = (fraction * n as f64).round();
    if !(fraction > 0.0 && fraction < 1.0) || cal < 1.0 || cal > n as f64 - 1.0 {
        return Err(CoreError::OutOfRange {
            what: "calibration fraction",
            value: fraction,
            min: 1.0 / n.max(1) as f64,
            max: 1.0 - 1.0 / n.max(1) as f64,
        });
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Fisher–Yates.
    for i in (1..n).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let (a, b) = idx.split_at(cal as usize);
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    Ok((a, b))
}
