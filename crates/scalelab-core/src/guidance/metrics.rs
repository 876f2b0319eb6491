//! How generated samples `X` (`n × d`) of class `c` compare with the true conditional
//! distribution, known exactly, and with exact samples `Y` (`m × d`) from it:
//! ```text
//! saturation_fraction  fraction of the values of X outside the data range [lo, hi]
//! excess_norm          mean over rows of ‖x − clip(x, lo, hi)‖
//! mean_error           ‖mean(X) − μ_c‖,   μ_c = Σ_k p_k μ_k (exact)
//! diversity            tr Cov(X) / tr Cov_c   (population covariance; 1 = the true spread)
//! sliced_wasserstein   √( mean_l mean_i (sort(X θ_l)_i − sort(Y θ_l)_i)² )   (n = m, unit θ_l)
//! precision, recall    k-NN manifolds (Kynkäänniemi et al. 2019): a real y covers the ball of
//!                      radius ‖y − its k-th nearest other real‖; precision = fraction of X inside
//!                      some real ball, recall = fraction of Y inside some generated ball
//! ```
//! Precision and recall cost `O(n m d)`: [`SampleMetrics::compute`] uses at most
//! [`MAX_KNN_SAMPLES`] rows of each (the first ones).

use serde::{Deserialize, Serialize};

use super::mixture::{Mixture, Model};
use crate::CoreError;

/// The most rows of each set the k-NN precision and recall use.
pub const MAX_KNN_SAMPLES: usize = 2000;

/// Metrics of a sample set (definitions in the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleMetrics {
    /// Fraction of the values outside the data range (clipped pixels, for images).
    pub saturation_fraction: f64,
    /// Mean norm of the part of a sample outside the data range.
    pub excess_norm: f64,
    /// Distance of the sample mean from the class mean.
    pub mean_error: f64,
    /// Total variance relative to the class's.
    pub diversity: f64,
    /// Sliced 2-Wasserstein distance to exact samples.
    pub sliced_wasserstein: f64,
    /// k-NN precision.
    pub precision: f64,
    /// k-NN recall.
    pub recall: f64,
}

/// The data range and the comparison's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsInput<'a> {
    /// The mixture.
    pub mixture: &'a Mixture,
    /// The class sampled.
    pub class: usize,
    /// Lower end of the data range.
    pub lo: f64,
    /// Upper end of the data range.
    pub hi: f64,
    /// Exact samples of the class (`m × d`, `m = n`).
    pub reference: &'a [f64],
    /// Unit projection directions (`L × d`).
    pub directions: &'a [f64],
    /// `k` of the k-NN radii.
    pub k: usize,
}

impl SampleMetrics {
    /// The metrics of `x` (`n × d`). Errors: sizes that do not match the mixture's dimension, a
    /// reference of another size, fewer than `k + 1` rows, no direction.
    pub fn compute(x: &[f64], input: &MetricsInput<'_>) -> Result<Self, CoreError> {
        let d = input.mixture.dim();
        CoreError::check_rows("samples", x, d)?;
        CoreError::check_rows("reference samples", input.reference, d)?;
        CoreError::check_rows("directions", input.directions, d)?;
        if input.reference.len() != x.len() {
            return Err(CoreError::DimensionMismatch {
                what: "reference samples length (as many as the samples)",
                expected: x.len(),
                got: input.reference.len(),
            });
        }
        let n = x.len() / d;
        if n < input.k + 1 || input.k == 0 {
            return Err(CoreError::OutOfRange {
                what: "number of samples (must exceed k ≥ 1)",
                value: n as f64,
                min: (input.k.max(1) + 1) as f64,
                max: f64::MAX,
            });
        }
        if input.directions.is_empty() {
            return Err(CoreError::EmptyInput { what: "directions" });
        }
        let (lo, hi) = (input.lo, input.hi);
        let mut outside = 0usize;
        let mut excess = 0.0;
        let mut mean = vec![0.0; d];
        for row in x.chunks_exact(d) {
            let e2: f64 = row
                .iter()
                .map(|&v| {
                    let c = v.clamp(lo, hi);
                    (v - c) * (v - c)
                })
                .sum();
            outside += row.iter().filter(|&&v| v < lo || v > hi).count();
            excess += e2.sqrt();
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v / n as f64;
            }
        }
        let truth = input.mixture.mean(Model::Class(input.class))?;
        let mean_error = mean
            .iter()
            .zip(&truth)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        let spread: f64 = x
            .chunks_exact(d)
            .map(|row| {
                row.iter()
                    .zip(&mean)
                    .map(|(v, m)| (v - m) * (v - m))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / n as f64;
        let diversity = spread / input.mixture.covariance_trace(Model::Class(input.class))?;
        let sliced_wasserstein = sliced_wasserstein(x, input.reference, input.directions, d);
        let take = n.min(MAX_KNN_SAMPLES) * d;
        let (gen, real) = (&x[..take], &input.reference[..take]);
        let precision = coverage(gen, real, d, input.k);
        let recall = coverage(real, gen, d, input.k);
        Ok(Self {
            saturation_fraction: outside as f64 / x.len() as f64,
            excess_norm: excess / n as f64,
            mean_error,
            diversity,
            sliced_wasserstein,
            precision,
            recall,
        })
    }
}

fn sliced_wasserstein(x: &[f64], y: &[f64], directions: &[f64], d: usize) -> f64 {
    let project = |rows: &[f64], theta: &[f64]| {
        let mut p: Vec<f64> = rows
            .chunks_exact(d)
            .map(|r| r.iter().zip(theta).map(|(a, b)| a * b).sum())
            .collect();
        p.sort_by(f64::total_cmp);
        p
    };
    let l = directions.len() / d;
    let total: f64 = directions
        .chunks_exact(d)
        .map(|theta| {
            let (px, py) = (project(x, theta), project(y, theta));
            px.iter()
                .zip(&py)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                / px.len() as f64
        })
        .sum();
    (total / l as f64).sqrt()
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Fraction of `points` inside some ball of `manifold` (radius: each manifold point's distance
/// to its `k`-th nearest other manifold point), squared distances throughout.
fn coverage(points: &[f64], manifold: &[f64], d: usize, k: usize) -> f64 {
    let rows: Vec<&[f64]> = manifold.chunks_exact(d).collect();
    let radii: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut near: Vec<f64> = rows
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, b)| dist2(a, b))
                .collect();
            let (_, kth, _) = near.select_nth_unstable_by(k - 1, f64::total_cmp);
            *kth
        })
        .collect();
    let inside = points
        .chunks_exact(d)
        .filter(|p| rows.iter().zip(&radii).any(|(m, &r)| dist2(p, m) <= r))
        .count();
    inside as f64 / (points.len() / d) as f64
}
