//! A sampling run's configuration: the toy, the class, the particles and their seed, the sampler
//! and the guidance; its checks (each error names its field) and its seeded start.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::mixture::{Mixture, Model};
use super::rule::Guidance;
use super::sampler::{SamplerConfig, Sampling};
use super::toys::Toy;
use crate::CoreError;

/// The most particles of a run.
pub const MAX_PARTICLES: usize = 100_000;

/// The most values (`particles × dim`) of a run: 2²¹ (16 MiB per `f64` buffer; a run keeps
/// about eight).
pub const MAX_VALUES: usize = 1 << 21;

/// The most sampler steps.
pub const MAX_STEPS: usize = 1000;

/// The largest guidance scale.
pub const MAX_SCALE: f64 = 100.0;

/// The largest norm threshold `r`.
pub const MAX_THRESHOLD: f64 = 1e4;

/// The momentum range: `β ∈ [−1.5, 0.99]` (|β| ≥ 1 diverges without a threshold; the lab shows
/// that as an unstable run).
pub const BETA_RANGE: (f64, f64) = (-1.5, 0.99);

/// The field of a [`GuidanceRun`] an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuidanceField {
    /// The toy's image side.
    Side,
    /// The class.
    Class,
    /// The number of particles (and their values).
    Particles,
    /// The number of steps.
    Steps,
    /// The schedule's parameters.
    Schedule,
    /// The guidance scale `w`.
    Scale,
    /// APG's `η`.
    Eta,
    /// APG's norm threshold `r`.
    Threshold,
    /// APG's momentum `β`.
    Momentum,
}

/// An error with the field it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct GuidanceError {
    /// The field.
    pub field: GuidanceField,
    /// What is wrong with it.
    pub error: CoreError,
}

/// A sampling run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuidanceRun {
    /// The mixture.
    pub toy: Toy,
    /// The class sampled (conditional model).
    pub class: usize,
    /// Number of particles.
    pub particles: usize,
    /// Seed of the starting noise (ChaCha8, standard normal draws row by row).
    pub seed: u64,
    /// Sampler and guidance.
    pub sampler: SamplerConfig,
}

fn range(what: &'static str, value: f64, min: f64, max: f64) -> Result<(), CoreError> {
    CoreError::check_finite(what, &[value])?;
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

/// Checks a guidance rule: `w ∈ [0, 100]`, and for APG `η ∈ [0, 1]`, `r ∈ [0, 10⁴]`,
/// `β ∈ [−1.5, 0.99]`.
pub fn check_guidance(guidance: &Guidance) -> Result<(), GuidanceError> {
    let at = |field| move |error| GuidanceError { field, error };
    range("guidance scale w", guidance.scale(), 0.0, MAX_SCALE)
        .map_err(at(GuidanceField::Scale))?;
    if let Guidance::Apg(apg) = guidance {
        range("eta", apg.eta, 0.0, 1.0).map_err(at(GuidanceField::Eta))?;
        range("norm threshold r", apg.r, 0.0, MAX_THRESHOLD)
            .map_err(at(GuidanceField::Threshold))?;
        range("momentum beta", apg.beta, BETA_RANGE.0, BETA_RANGE.1)
            .map_err(at(GuidanceField::Momentum))?;
    }
    Ok(())
}

/// Checks a sampler: `steps ∈ [1, 1000]`, the schedule, the guidance.
pub fn check_sampler(sampler: &SamplerConfig) -> Result<(), GuidanceError> {
    let at = |field| move |error| GuidanceError { field, error };
    range("steps", sampler.steps as f64, 1.0, MAX_STEPS as f64)
        .map_err(at(GuidanceField::Steps))?;
    sampler
        .schedule
        .validate()
        .map_err(at(GuidanceField::Schedule))?;
    check_guidance(&sampler.guidance)
}

impl GuidanceRun {
    /// Checks every field; returns the mixture.
    pub fn check(&self) -> Result<Mixture, GuidanceError> {
        let at = |field| move |error| GuidanceError { field, error };
        let mixture = self.toy.mixture().map_err(at(GuidanceField::Side))?;
        mixture
            .members(Model::Class(self.class))
            .map_err(at(GuidanceField::Class))?;
        range(
            "particles",
            self.particles as f64,
            1.0,
            MAX_PARTICLES as f64,
        )
        .map_err(at(GuidanceField::Particles))?;
        let values = self.particles.saturating_mul(mixture.dim());
        if values > MAX_VALUES {
            return Err(at(GuidanceField::Particles)(CoreError::OutOfRange {
                what: "particles × values per sample",
                value: values as f64,
                min: 1.0,
                max: MAX_VALUES as f64,
            }));
        }
        check_sampler(&self.sampler)?;
        Ok(mixture)
    }

    /// The starting standard normal draws, `particles × dim`.
    pub fn noise(&self, dim: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.particles * dim)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect()
    }

    /// Exact samples of the class, as many as the particles, from another seeded stream.
    pub fn reference(&self, mixture: &Mixture) -> Result<Vec<f64>, CoreError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5eed_7e57_5a3b_1e00);
        mixture.sample(Model::Class(self.class), self.particles, &mut rng)
    }

    /// Checks and starts the run: the mixture and the sampler at its first step.
    pub fn start(&self) -> Result<(Mixture, Sampling), GuidanceError> {
        let mixture = self.check()?;
        let sampling = Sampling::new(self.sampler, mixture.dim(), &self.noise(mixture.dim()))
            .map_err(|error| GuidanceError {
                field: GuidanceField::Steps,
                error,
            })?;
        Ok((mixture, sampling))
    }
}
