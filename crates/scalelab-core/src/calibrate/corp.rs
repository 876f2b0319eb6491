//! CORP reliability diagrams and the Murphy decomposition of the Brier score (Dimitriadis,
//! Gneiting & Jordan 2021, "Stable reliability diagrams for probabilistic classifiers", PNAS).
//!
//! For binary outcomes `y_i ∈ {0, 1}` and forecasts `x_i ∈ [0, 1]` (top-label: the confidence
//! and whether the top class was right; binary: `p(y = 1)` and `y`):
//!
//! - the **CORP curve** is the isotonic regression `x̂` of `y` on `x` by pool-adjacent-violators,
//!   tied forecasts pooled ([`Isotonic`]) — "Consistent, Optimally binned, Reproducible, PAV";
//! - the **Murphy decomposition** of the mean Brier score `S(f) = (1/n) Σ (f_i − y_i)²`:
//!   `S(x) = MCB − DSC + UNC` with miscalibration `MCB = S(x) − S(x̂)`, discrimination
//!   `DSC = S(ȳ) − S(x̂)` and uncertainty `UNC = S(ȳ) = ȳ(1 − ȳ)`, `ȳ` the mean outcome
//!   (the paper's Eq. 3); all three are non-negative because PAV minimises `S` over
//!   non-decreasing maps, which include the identity and the constant `ȳ`;
//! - the **consistency band** at level `1 − α` (the paper's "resampling" method): `B` resamples
//!   that are calibrated by construction — forecasts `x*` drawn from `x` with replacement,
//!   outcomes `y*_i ~ Bernoulli(x*_i)` — each refitted by PAV and evaluated on a grid; the band
//!   is the pointwise `α/2` and `1 − α/2` quantiles (numpy's linear rule). A CORP curve leaving the
//!   band is evidence of miscalibration there.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bootstrap::MAX_RESAMPLES;
use super::recalibrate::Isotonic;
use crate::fit::uncertainty::percentile_sorted;
use crate::CoreError;

/// Largest number of grid points of a band.
pub const MAX_BAND_POINTS: usize = 10_000;

/// The Murphy decomposition of the mean Brier score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Murphy {
    /// `S(x)`, the mean Brier score of the forecasts.
    pub brier: f64,
    /// `MCB = S(x) − S(x̂)`.
    pub miscalibration: f64,
    /// `DSC = S(ȳ) − S(x̂)`.
    pub discrimination: f64,
    /// `UNC = S(ȳ)`.
    pub uncertainty: f64,
}

/// A CORP reliability diagram.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Corp {
    /// The PAV fit: distinct forecasts and their recalibrated values.
    pub curve: Isotonic,
    /// The decomposition.
    pub murphy: Murphy,
    /// The consistency band: grid points, with the band's lower and upper ends at each.
    pub band: Vec<BandPoint>,
}

/// One grid point of a consistency band.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandPoint {
    /// The forecast value.
    pub x: f64,
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

/// The recalibrated value of each `x_i` under `curve` (exactly the fitted block value).
fn fitted_at(curve: &Isotonic, x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| curve.y[curve.x.partition_point(|&c| c < v)])
        .collect()
}

fn mean_brier(f: impl Iterator<Item = f64>, y: &[f64]) -> f64 {
    f.zip(y).map(|(f, &y)| (f - y).powi(2)).sum::<f64>() / y.len() as f64
}

fn check_binary(y: &[f64]) -> Result<(), CoreError> {
    match y.iter().position(|&v| v != 0.0 && v != 1.0) {
        Some(i) => Err(CoreError::OutOfRange {
            what: "binary outcome (must be 0 or 1)",
            value: y[i],
            min: 0.0,
            max: 1.0,
        }),
        None => Ok(()),
    }
}

/// The Murphy decomposition of forecasts `x` for outcomes `y` (module docs) with its PAV fit.
///
/// Errors: as [`Isotonic::fit`], or [`CoreError::OutOfRange`] for an outcome other than 0 or 1.
pub fn murphy(x: &[f64], y: &[f64]) -> Result<(Isotonic, Murphy), CoreError> {
    let curve = Isotonic::fit(x, y)?;
    check_binary(y)?;
    let xhat = fitted_at(&curve, x);
    let ybar = y.iter().sum::<f64>() / y.len() as f64;
    let s_x = mean_brier(x.iter().copied(), y);
    let s_hat = mean_brier(xhat.into_iter(), y);
    let s_clim = mean_brier(std::iter::repeat(ybar), y);
    Ok((
        curve,
        Murphy {
            brier: s_x,
            miscalibration: s_x - s_hat,
            discrimination: s_clim - s_hat,
            uncertainty: s_clim,
        },
    ))
}

/// The CORP diagram of `x` and `y` with a consistency band of `resamples` resamples at `level`,
/// evaluated at `points` equally spaced forecasts from the smallest to the largest `x`.
///
/// Errors: as [`murphy`]; [`CoreError::OutOfRange`] for `resamples` outside `2 ..= MAX_RESAMPLES`,
/// `level` outside `(0, 1)` or `points` outside `2 ..= MAX_BAND_POINTS`.
pub fn corp(
    x: &[f64],
    y: &[f64],
    resamples: usize,
    level: f64,
    points: usize,
    seed: u64,
) -> Result<Corp, CoreError> {
    let (curve, murphy) = murphy(x, y)?;
    super::check_range(
        "band resamples",
        resamples as f64,
        2.0,
        MAX_RESAMPLES as f64,
    )?;
    if !(level > 0.0 && level < 1.0) {
        return Err(CoreError::OutOfRange {
            what: "band level",
            value: level,
            min: 0.0,
            max: 1.0,
        });
    }
    super::check_range(
        "band grid points",
        points as f64,
        2.0,
        MAX_BAND_POINTS as f64,
    )?;
    let (lo, hi) = (curve.x[0], curve.x[curve.x.len() - 1]);
    let grid: Vec<f64> = (0..points)
        .map(|g| lo + (hi - lo) * g as f64 / (points - 1) as f64)
        .collect();
    let n = x.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut at = vec![Vec::with_capacity(resamples); points];
    let (mut xs, mut ys) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..resamples {
        for (xv, yv) in xs.iter_mut().zip(ys.iter_mut()) {
            *xv = x[rng.random_range(0..n)];
            *yv = f64::from(u8::from(rng.random::<f64>() < *xv));
        }
        let fit = Isotonic::fit(&xs, &ys)?;
        for (column, &g) in at.iter_mut().zip(&grid) {
            column.push(fit.apply(g));
        }
    }
    let band = grid
        .iter()
        .zip(at.iter_mut())
        .map(|(&g, column)| {
            column.sort_by(f64::total_cmp);
            BandPoint {
                x: g,
                lower: percentile_sorted(column, (1.0 - level) / 2.0),
                upper: percentile_sorted(column, (1.0 + level) / 2.0),
            }
        })
        .collect();
    Ok(Corp {
        curve,
        murphy,
        band,
    })
}
