//! Sampling runs summarised by their metrics, one point of a chart at a time: the metrics against
//! the guidance scale for CFG and APG, and the stability map (saturation over momentum β × scale).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::config::{GuidanceError, GuidanceRun};
use super::metrics::{MetricsInput, SampleMetrics};
use super::rule::Guidance;
use super::sampler::Outcome;

/// Projection directions of the sliced Wasserstein distance per run.
pub const DIRECTIONS: usize = 64;

/// `k` of the k-NN precision and recall.
pub const KNN_K: usize = 3;

/// One run's summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The guidance scale of the run.
    pub scale: f64,
    /// How sampling ended (finished or unstable).
    pub outcome: Outcome,
    /// Its metrics (`None` when unstable).
    pub metrics: Option<SampleMetrics>,
}

/// `count` unit directions in `dim` dimensions, seeded (normalised standard normal draws).
pub fn directions(dim: usize, count: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(dim * count);
    for _ in 0..count {
        let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
        let n = v
            .iter()
            .map(|a| a * a)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        out.extend(v.iter().map(|a| a / n));
    }
    out
}

/// Samples `run` on the CPU to the end and measures the result against exact samples.
pub fn evaluate(run: &GuidanceRun) -> Result<Point, GuidanceError> {
    let (mixture, mut sampling) = run.start()?;
    let class_error = |error| GuidanceError {
        field: super::config::GuidanceField::Class,
        error,
    };
    let outcome = sampling.run(&mixture, run.class).map_err(class_error)?;
    let metrics = match outcome {
        Outcome::Finished => {
            let reference = run.reference(&mixture).map_err(class_error)?;
            let dirs = directions(mixture.dim(), DIRECTIONS, run.seed.wrapping_add(1));
            let (lo, hi) = run.toy.data_range();
            let input = MetricsInput {
                mixture: &mixture,
                class: run.class,
                lo,
                hi,
                reference: &reference,
                directions: &dirs,
                k: KNN_K,
            };
            Some(
                SampleMetrics::compute(sampling.x(), &input).map_err(|error| GuidanceError {
                    field: super::config::GuidanceField::Particles,
                    error,
                })?,
            )
        }
        _ => None,
    };
    Ok(Point {
        scale: run.sampler.guidance.scale(),
        outcome,
        metrics,
    })
}

/// `run` with another guidance rule.
pub fn with_guidance(run: &GuidanceRun, guidance: Guidance) -> GuidanceRun {
    let mut out = *run;
    out.sampler.guidance = guidance;
    out
}

/// `count ≥ 2` evenly spaced values from `lo` to `hi` (one value `lo` for `count = 1`).
pub fn grid(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    match count {
        0 => Vec::new(),
        1 => vec![lo],
        _ => (0..count)
            .map(|i| lo + (hi - lo) * i as f64 / (count - 1) as f64)
            .collect(),
    }
}
